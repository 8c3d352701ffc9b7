//! Resampling with rubato, one resampler per (rates, config) per thread,
//! reused across clips.

use std::cell::RefCell;
use std::collections::HashMap;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};
use serde::{Deserialize, Serialize};

/// Which rubato resampler, and its quality knob. (rubato's sinc resampler
/// was tried and dropped: its delay is a fraction of an output sample that
/// rubato rounds, so its output is misaligned by up to half a sample.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResamplerConfig {
    /// Synchronous FFT resampler (`rubato::Fft`). `block` is the FFT block
    /// on the output side, in output frames, rounded up to what the rate
    /// pair allows (and to an even size, see [`fft_block_in`]). It sets the
    /// anti-aliasing filter's transition just below Nyquist: larger blocks
    /// put the cutoff closer to Nyquist.
    Fft {
        /// Output frames per FFT block.
        block: usize,
    },
}

impl Default for ResamplerConfig {
    /// Chosen by measuring log-mel error against librosa + soxr HQ on
    /// `shared/golden` at 22050 and 16000 Hz (see README).
    fn default() -> Self {
        ResamplerConfig::Fft {
            block: DEFAULT_BLOCK,
        }
    }
}

impl std::str::FromStr for ResamplerConfig {
    type Err = String;

    /// Parses `fft` or `fft:BLOCK`.
    fn from_str(s: &str) -> Result<ResamplerConfig, String> {
        let (kind, value) = s.split_once(':').map_or((s, None), |(k, v)| (k, Some(v)));
        let num = |v: Option<&str>, d: usize| -> Result<usize, String> {
            v.map_or(Ok(d), |v| {
                v.parse()
                    .map_err(|_| format!("`{v}` is not a whole number"))
            })
        };
        let cfg = match kind {
            "fft" => ResamplerConfig::Fft {
                block: num(value, DEFAULT_BLOCK)?,
            },
            _ => return Err(format!("unknown resampler `{s}`: use fft[:BLOCK]")),
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

impl ResamplerConfig {
    /// Checks the knob is in range.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            ResamplerConfig::Fft { block } if !(16..=1 << 20).contains(&block) => Err(format!(
                "fft block (output frames) must be in 16..=1048576, got {block}"
            )),
            _ => Ok(()),
        }
    }

    fn build(&self, from: u32, to: u32) -> Result<Box<dyn Resampler<f32>>, String> {
        let (from_u, to_u) = (from as usize, to as usize);
        match *self {
            ResamplerConfig::Fft { block } => Fft::<f32>::new_custom(
                from_u,
                to_u,
                fft_block_in(from_u, to_u, block),
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Input,
            )
            .map(|r| Box::new(r) as Box<dyn Resampler<f32>>)
            .map_err(|e| e.to_string()),
        }
    }
}

/// Output-side FFT block of the default resampler, in output frames.
/// Measured against soxr HQ on `shared/golden`: 320 gives the smallest
/// log-mel error at 16000 Hz (1.2e-3; 280 gives 7.4e-3, 400 gives 8.7e-3),
/// and rounds to 294 at 22050 Hz (3.5e-3; 588 gives 1.4e-2).
pub const DEFAULT_BLOCK: usize = 320;

/// The input-side FFT block for an output-side target `block`: among the
/// sizes rubato accepts for this rate pair (multiples of `to / gcd`) whose
/// output size is even, the one nearest to `block`. rubato's delay is half
/// the output block; with an odd block it is rounded and the output lands
/// half a sample early (seen as a 0.06 error on a 440 Hz tone, 48 -> 22.05 kHz).
pub fn fft_block_in(from: usize, to: usize, block: usize) -> usize {
    let g = gcd(from, to);
    let (min_in, min_out) = (from / g, to / g);
    // Output sizes allowed: multiples of `step` (min_out, doubled if odd).
    let step = if min_out % 2 == 1 {
        2 * min_out
    } else {
        min_out
    };
    let below = (block / step).max(1) * step;
    let above = below + step;
    let out = if block - below.min(block) < above - block {
        below
    } else {
        above
    };
    out / min_out * min_in
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

type Key = (u32, u32, ResamplerConfig);

thread_local! {
    static RESAMPLERS: RefCell<HashMap<Key, Box<dyn Resampler<f32>>>> = RefCell::new(HashMap::new());
}

/// Resamples mono `x` from `from` Hz to `to` Hz; the output has
/// `ceil(len * to / from)` samples, aligned with the input (the filter delay
/// is removed), as `librosa.resample` gives.
///
/// NaN or infinite input is an error (the FFT would spread it over the
/// whole output, and rubato panics on it). Any finite input works: very
/// large values are scaled down around the FFT so that it cannot overflow,
/// and a panic inside rubato, as a last resort, is an error too.
pub fn resample(x: &[f32], from: u32, to: u32, cfg: &ResamplerConfig) -> Result<Vec<f32>, String> {
    if from == to {
        return Ok(x.to_vec());
    }
    if x.is_empty() {
        return Ok(Vec::new());
    }
    if from == 0 || to == 0 {
        return Err(format!("cannot resample {from} Hz to {to} Hz"));
    }
    let bad = x.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(format!("{bad} non-finite samples (NaN/Inf)"));
    }
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    // Audio is within [-1, 1]; far above, an FFT block's sums could overflow.
    let scale = if peak > SAFE_PEAK {
        SAFE_PEAK / peak
    } else {
        1.0
    };
    let scaled;
    let input = if scale == 1.0 {
        x
    } else {
        scaled = x.iter().map(|v| v * scale).collect::<Vec<f32>>();
        &scaled
    };
    let key = (from, to, *cfg);
    let out = crate::panic_guard::catch(|| run_cached(input, key)).unwrap_or_else(|why| {
        // The cached resampler may be left half-way: build a new one next time.
        RESAMPLERS.with(|cell| cell.borrow_mut().remove(&key));
        Err(format!("resampler failed: {why}"))
    })?;
    if scale == 1.0 {
        return Ok(out);
    }
    Ok(out
        .into_iter()
        .map(|v| (v / scale).clamp(-f32::MAX, f32::MAX))
        .collect())
}

/// Input peaks above this are scaled down to it for the FFT.
const SAFE_PEAK: f32 = 1e6;

fn run_cached(x: &[f32], key: Key) -> Result<Vec<f32>, String> {
    let (from, to, cfg) = key;
    RESAMPLERS.with(|cell| {
        let mut map = cell.borrow_mut();
        let r = match map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(cfg.build(from, to)?),
        };
        r.reset();
        let needed = r.process_all_needed_output_len(x.len());
        let mut out = vec![0f32; needed];
        let input = InterleavedSlice::new(x, 1, x.len()).map_err(|e| e.to_string())?;
        let mut output =
            InterleavedSlice::new_mut(&mut out, 1, needed).map_err(|e| e.to_string())?;
        let (_, n) = r
            .process_all_into_buffer(&input, &mut output, x.len(), None)
            .map_err(|e| e.to_string())?;
        out.truncate(n);
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(sr: u32, hz: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / sr as f32).sin())
            .collect()
    }

    #[test]
    fn length_and_alignment_match_librosa_convention() {
        for cfg in [
            ResamplerConfig::default(),
            ResamplerConfig::Fft { block: 1024 },
        ] {
            let x = tone(48000, 440.0, 48000);
            let y = resample(&x, 48000, 22050, &cfg).unwrap();
            assert_eq!(y.len(), 22050);
            let want = tone(22050, 440.0, 22050);
            let err: f32 = y[2000..20000]
                .iter()
                .zip(&want[2000..20000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-2, "{cfg:?}: max error {err}");
            // Reused resampler gives the same answer.
            assert_eq!(resample(&x, 48000, 22050, &cfg).unwrap(), y);
        }
    }

    #[test]
    fn fft_blocks_have_an_even_output_size() {
        for (from, to) in [
            (48000, 22050),
            (44100, 16000),
            (16000, 22050),
            (8000, 22050),
        ] {
            let b = fft_block_in(from, to, 320);
            assert_eq!(b % (from / gcd(from, to)), 0);
            let out = b * to / from;
            assert_eq!(out % 2, 0, "{from} -> {to}: block {b}");
        }
        assert_eq!(fft_block_in(48000, 22050, 320) * 22050 / 48000, 294);
        assert_eq!(fft_block_in(48000, 16000, 320) * 16000 / 48000, 320);
        assert_eq!(fft_block_in(44100, 22050, 320), 640);
    }

    #[test]
    fn regression_non_finite_input_is_an_error_and_any_finite_input_works() {
        let cfg = ResamplerConfig::default();
        let mut x = tone(48000, 440.0, 4800);
        x[100] = f32::NAN;
        x[200] = f32::INFINITY;
        let e = resample(&x, 48000, 22050, &cfg).unwrap_err();
        assert!(e.contains("2 non-finite samples (NaN/Inf)"), "{e}");
        let big = vec![f32::MAX; 4800];
        let alternating: Vec<f32> = (0..4801)
            .map(|i| if i % 2 == 0 { f32::MAX } else { -f32::MAX })
            .collect();
        let tiny = vec![f32::MIN_POSITIVE / 4.0; 333];
        for (x, name) in [
            (&big, "f32::MAX"),
            (&alternating, "alternating f32::MAX"),
            (&tiny, "subnormals"),
            (&vec![], "empty"),
            (&vec![0.5], "one sample"),
        ] {
            for (from, to) in [(48000, 22050), (8000, 22050), (44100, 16000), (7, 5)] {
                let y = resample(x, from, to, &cfg)
                    .unwrap_or_else(|e| panic!("{name} {from}->{to}: {e}"));
                assert!(y.iter().all(|v| v.is_finite()), "{name} {from}->{to}");
            }
        }
        // A huge constant stays close to itself (scaled around the FFT).
        let y = resample(&vec![1e30f32; 48000], 48000, 16000, &cfg).unwrap();
        let mid = y[y.len() / 2];
        assert!((mid / 1e30 - 1.0).abs() < 1e-2, "{mid}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let x = tone(48000, 15000.0, 48000);
        let y = resample(&x, 48000, 22050, &ResamplerConfig::default()).unwrap();
        let rms = (y[2000..20000].iter().map(|v| v * v).sum::<f32>() / 18000.0).sqrt();
        assert!(rms < 1e-3, "alias rms {rms}");
    }
}
