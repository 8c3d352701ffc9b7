//! Training copies of a clip under random recording conditions (`ser
//! features --augment N` stores them as variants `aug1`..`augN`): a chain
//! of speed, room, band limit (and the telephone codec), noise and level,
//! each step drawn on its own. The noise is white or brown, or with a
//! share set by `--shaped-noise` the clip's own long-term spectrum
//! ([`speech_shaped`]). The distributions are wider than and different
//! from `ser robustness`'s fixed conditions, and use no other clip (no
//! babble: it would mix other speakers, possibly test speakers, into
//! training copies).

use realfft::num_complex::Complex;

use super::conditions::{add_at_snr, band_limit, mulaw_round_trip, reverberate, set_level};
use super::rng::{fnv1a, Rng};
use crate::audio::{resample, ResamplerConfig};

/// The copies' longest room (RT60, s) before it could be chosen; their
/// rooms are drawn from 0.2 s up to the longest.
pub const FIRST_LONGEST_ROOM: f64 = 0.8;

/// The copies' loudest level (RMS, dBFS) before it could be chosen; their
/// levels are drawn from -60 dBFS up to the loudest, clipped at full scale.
pub const FIRST_LOUDEST_LEVEL: f64 = -15.0;

/// The share of the copies' noise shaped like the clip before it could be
/// chosen: none (white or brown only, and no draw for it).
pub const FIRST_SHAPED_NOISE: f64 = 0.0;

/// The ranges of the chain's draws that a feature config can choose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranges {
    /// Longest room, RT60 in s (rooms are drawn from 0.2 s up to it).
    pub longest_room: f64,
    /// Loudest level, RMS in dBFS (levels are drawn from -60 up to it;
    /// above about -20 a RAVDESS clip's peaks are cut at full scale).
    pub loudest_level: f64,
    /// Share of the copies' noise that has the clip's own long-term
    /// spectrum ([`speech_shaped`]: what many voices at once approach)
    /// instead of white or brown; 0 draws nothing for it.
    pub shaped_noise: f64,
}

impl Ranges {
    /// The first chain's: rooms up to 0.8 s, levels up to -15 dBFS, white
    /// or brown noise.
    pub const FIRST: Ranges = Ranges {
        longest_room: FIRST_LONGEST_ROOM,
        loudest_level: FIRST_LOUDEST_LEVEL,
        shaped_noise: FIRST_SHAPED_NOISE,
    };
}

/// Copy `copy` (from 1) of a clip's samples `y` at `rate` Hz: the same
/// length scale and rate out (speed changes the length), seeded by
/// (`seed`, `clip_id`, `copy`), its room, the kind of its noise and its
/// level drawn within `ranges`. The error is one line.
pub fn augmented(
    y: &[f32],
    rate: u32,
    seed: u64,
    clip_id: &str,
    copy: usize,
    resampler: &ResamplerConfig,
    ranges: &Ranges,
) -> Result<Vec<f32>, String> {
    let mut rng = copy_rng(seed, clip_id, copy);
    let mut chance = |p: f64| rng.uniform() < p;
    let (speed, room, band, codec, noise) = (
        chance(0.5),
        chance(0.4),
        chance(0.5),
        chance(0.2),
        chance(0.6),
    );
    let mut x = y.to_vec();
    if speed {
        // Said to be at rate * f, brought back to rate: f times faster.
        let f = 0.9 + 0.2 * rng.uniform();
        let claimed = (rate as f64 * f).round() as u32;
        x = resample(&x, claimed, rate, resampler)?;
    }
    if room {
        let rt60 = room_rt60(rng.uniform(), ranges.longest_room);
        x = reverberate(&x, rate, rt60, &mut rng);
    }
    if band || codec {
        let to = if codec {
            8000
        } else {
            [8000, 11025, 16000][(rng.next_u64() % 3) as usize]
        };
        if to < rate {
            let mut narrow = band_limit(&x, rate, to)?;
            if codec {
                narrow.iter_mut().for_each(|v| *v = mulaw_round_trip(*v));
            }
            x = resample(&narrow, to, rate, resampler)?;
        }
    }
    if noise {
        let snr = 5.0 + 25.0 * rng.uniform();
        // Drawn only when asked for, so the first chain's draws stay.
        let shaped = ranges.shaped_noise > 0.0 && rng.uniform() < ranges.shaped_noise;
        let n = match shaped {
            true => speech_shaped(&x, &mut rng)?,
            false => coloured(x.len(), &mut rng),
        };
        x = add_at_snr(&x, &n, snr);
    }
    // Any level a microphone gives: -60 to -15 dBFS, or up to a
    // recorder set too hot (peaks cut at full scale by `set_level`).
    let level = copy_level(rng.uniform(), ranges.loudest_level);
    Ok(set_level(&x, level))
}

/// `len` samples of white noise, or of brown-ish (a one-pole low-pass of
/// white: more energy low, as room and traffic noise), at even odds.
fn coloured(len: usize, rng: &mut Rng) -> Vec<f32> {
    let pole = if rng.uniform() < 0.5 { 0.0 } else { 0.95 };
    let mut last = 0.0f64;
    (0..len)
        .map(|_| {
            last = pole * last + rng.normal();
            last as f32
        })
        .collect()
}

/// Noise with `y`'s long-term power spectrum: `y` with every frequency's
/// phase drawn at random (the spectrum of many voices talking at once,
/// stationary, with none of `y`'s own timing). Same length as `y`; DC and
/// (for an even length) Nyquist keep their value, so under two samples
/// it is `y` itself. The error is one line.
pub fn speech_shaped(y: &[f32], rng: &mut Rng) -> Result<Vec<f32>, String> {
    let n = y.len();
    if n < 2 {
        return Ok(y.to_vec());
    }
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let (fwd, inv) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let mut time: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let mut spec = fwd.make_output_vec();
    let failed = |e: realfft::FftError| format!("speech-shaped noise: {e}");
    fwd.process(&mut time, &mut spec).map_err(failed)?;
    let last = spec.len() - 1;
    for (k, c) in spec.iter_mut().enumerate() {
        *c = match k == 0 || (k == last && n.is_multiple_of(2)) {
            // Real by definition: their sign kept, nothing drawn.
            true => Complex::new(c.re, 0.0),
            false => Complex::from_polar(c.norm(), std::f64::consts::TAU * rng.uniform()),
        };
    }
    inv.process(&mut spec, &mut time).map_err(failed)?;
    Ok(time.iter().map(|&v| (v / n as f64) as f32).collect())
}

/// The generator of copy `copy` of clip `clip_id` under `seed`: every
/// draw of the copy's chain comes from it, in the chain's order.
fn copy_rng(seed: u64, clip_id: &str, copy: usize) -> Rng {
    Rng::new(seed ^ fnv1a(clip_id.as_bytes()) ^ (copy as u64).wrapping_mul(0x9e37_79b9))
}

/// A copy's level (dBFS) from a uniform draw `u`: -60 up to `loudest`.
/// At the first chain's -15 the span is 45 exactly (integers are exact
/// in f64), so the copies of sets made before are computed the same.
fn copy_level(u: f64, loudest: f64) -> f64 {
    -60.0 + (loudest + 60.0) * u
}

/// A room's RT60 from a uniform draw `u`: 0.2 s up to `longest` s.
fn room_rt60(u: f64, longest: f64) -> f64 {
    // 0.8 - 0.2 is not 0.6 in f64: the first chain keeps its own
    // arithmetic, so the copies of sets made before are computed the same.
    let span = match longest == FIRST_LONGEST_ROOM {
        true => 0.6,
        false => longest - 0.2,
    };
    0.2 + span * u
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::conditions::rms;

    fn tone(rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.01 * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn copies_are_seeded_distinct_and_at_a_microphone_level() {
        let y = tone(22050, 1.0);
        let r = ResamplerConfig::default();
        let a = augmented(&y, 22050, 42, "clip", 1, &r, &Ranges::FIRST).unwrap();
        assert_eq!(
            a,
            augmented(&y, 22050, 42, "clip", 1, &r, &Ranges::FIRST).unwrap(),
            "seeded"
        );
        let copies: Vec<Vec<f32>> = (1..=12)
            .map(|k| augmented(&y, 22050, 42, "clip", k, &r, &Ranges::FIRST).unwrap())
            .collect();
        for (k, c) in copies.iter().enumerate() {
            assert!(
                c.iter().all(|v| v.is_finite() && v.abs() <= 1.0),
                "copy {k}"
            );
            let db = 20.0 * rms(c).log10();
            assert!((-61.0..=-14.0).contains(&db), "copy {k}: {db} dBFS");
            // Speed changes the length by at most 10 %.
            let ratio = c.len() as f64 / y.len() as f64;
            assert!((0.89..=1.12).contains(&ratio), "copy {k}: {ratio}");
        }
        let distinct = copies.iter().filter(|c| *c != &copies[0]).count();
        assert_eq!(distinct, 11, "every copy its own draw");
        // Over many copies each step is used, and sometimes not.
        let lengths: std::collections::BTreeSet<usize> = copies.iter().map(|c| c.len()).collect();
        assert!(
            lengths.len() > 2 && lengths.contains(&y.len()),
            "{lengths:?}"
        );
    }

    #[test]
    fn rooms_reach_the_longest_and_the_first_chain_keeps_its_draws() {
        for i in 0..=1000 {
            let u = i as f64 / 1000.0;
            // Bit for bit the first chain's draw: its sets stay as computed.
            assert_eq!(room_rt60(u, FIRST_LONGEST_ROOM), 0.2 + 0.6 * u);
            let long = room_rt60(u, 1.2);
            assert!((0.2..=1.2 + 1e-12).contains(&long), "{long}");
        }
        assert!((room_rt60(1.0, 1.2) - 1.2).abs() < 1e-12);
        // A longer room changes some copies (those that drew a room) and
        // leaves others as they were.
        let y = tone(22050, 1.0);
        let r = ResamplerConfig::default();
        let (mut same, mut changed) = (0, 0);
        for k in 1..=12 {
            let a = augmented(&y, 22050, 42, "clip", k, &r, &Ranges::FIRST).unwrap();
            let longer = Ranges {
                longest_room: 1.2,
                ..Ranges::FIRST
            };
            let b = augmented(&y, 22050, 42, "clip", k, &r, &longer).unwrap();
            match a == b {
                true => same += 1,
                false => changed += 1,
            }
        }
        assert!(same > 0 && changed > 0, "same {same}, changed {changed}");
    }

    /// Power at `f` Hz of `x` at `rate`, by correlation with a sine and a
    /// cosine.
    fn power_at(x: &[f32], rate: u32, f: f64) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let w = std::f64::consts::TAU * f * i as f64 / rate as f64;
            s += v as f64 * w.sin();
            c += v as f64 * w.cos();
        }
        s * s + c * c
    }

    #[test]
    fn shaped_noise_keeps_the_clips_spectrum_and_none_of_its_timing() {
        let rate = 22050;
        // Even and odd lengths: a 300 Hz tone in the first half, a 2 kHz
        // one in the second.
        for len in [22050usize, 22051] {
            let half = len / 2;
            let y: Vec<f32> = (0..len)
                .map(|i| {
                    let f = if i < half { 300.0 } else { 2000.0 };
                    0.1 * (std::f32::consts::TAU * f * i as f32 / rate as f32).sin()
                })
                .collect();
            let n = speech_shaped(&y, &mut Rng::new(3)).unwrap();
            assert_eq!(n.len(), y.len());
            // The same power (Parseval), and the same power at each tone.
            assert!((rms(&n) / rms(&y) - 1.0).abs() < 1e-4, "{len}");
            for f in [300.0, 2000.0] {
                let (a, b) = (power_at(&y, rate, f), power_at(&n, rate, f));
                // Within 2 %: off a bin (odd length) the neighbours leak in.
                assert!((b / a - 1.0).abs() < 0.02, "{len}, {f} Hz: {b} against {a}");
            }
            // Each half of the noise holds both tones: the timing is gone.
            assert!(power_at(&y[..half], rate, 2000.0) < 1e-3 * power_at(&y[..half], rate, 300.0));
            for part in [&n[..half], &n[half..]] {
                let ratio = power_at(part, rate, 2000.0) / power_at(part, rate, 300.0);
                assert!((0.05..20.0).contains(&ratio), "{len}: {ratio}");
            }
            // Seeded, and another draw is other noise.
            assert_eq!(n, speech_shaped(&y, &mut Rng::new(3)).unwrap());
            assert_ne!(n, speech_shaped(&y, &mut Rng::new(4)).unwrap());
        }
        // DC keeps its sign; under two samples the clip is its own noise.
        let dc = speech_shaped(&[-0.5, -0.5, -0.5], &mut Rng::new(1)).unwrap();
        assert!(dc.iter().all(|v| (v + 0.5).abs() < 1e-6), "{dc:?}");
        let two = speech_shaped(&[0.25, -0.75], &mut Rng::new(1)).unwrap();
        assert!((two[0] - 0.25).abs() < 1e-6 && (two[1] + 0.75).abs() < 1e-6);
        assert_eq!(speech_shaped(&[0.5], &mut Rng::new(1)).unwrap(), [0.5]);
        assert!(speech_shaped(&[], &mut Rng::new(1)).unwrap().is_empty());
    }

    #[test]
    fn shaped_noise_changes_exactly_the_copies_that_draw_noise() {
        let rate = 22050;
        let y = tone(rate, 1.0);
        let r = ResamplerConfig::default();
        let shaped = Ranges {
            shaped_noise: 1.0,
            ..Ranges::FIRST
        };
        // The chain's first five draws: speed, room, band, codec, noise.
        let draws = |k: usize| {
            let mut rng = copy_rng(42, "clip", k);
            let u: Vec<f64> = (0..5).map(|_| rng.uniform()).collect();
            (u[3] < 0.2, u[4] < 0.6)
        };
        let high = |x: &[f32]| {
            // Power from 4 to 5 kHz against power at the tone (220 Hz,
            // moved by at most 10 % by speed).
            let hi: f64 = (0..10)
                .map(|j| power_at(x, rate, 4000.0 + 100.0 * j as f64))
                .sum();
            let lo: f64 = (0..9)
                .map(|j| power_at(x, rate, 196.0 + 6.0 * j as f64))
                .sum();
            hi / lo
        };
        let (mut kept, mut shaped_seen, mut white_hi) = (0, 0, 0.0f64);
        for k in 1..=16 {
            let a = augmented(&y, rate, 42, "clip", k, &r, &Ranges::FIRST).unwrap();
            let b = augmented(&y, rate, 42, "clip", k, &r, &shaped).unwrap();
            let (codec, noise) = draws(k);
            assert_eq!(a == b, !noise, "copy {k}: noise {noise}");
            kept += usize::from(!noise);
            if noise && !codec {
                // Noise with the tone's spectrum adds nothing at 4-5 kHz;
                // white or brown noise does.
                shaped_seen += 1;
                assert!(high(&b) < 1e-6, "copy {k}: {}", high(&b));
                white_hi = white_hi.max(high(&a));
            }
        }
        assert!(
            kept > 0 && shaped_seen > 0,
            "kept {kept}, shaped {shaped_seen}"
        );
        assert!(white_hi > 1e-6, "{white_hi}");
    }

    #[test]
    fn regression_the_first_chains_copies_stay_bit_for_bit() {
        // The hash of twelve copies of a tone through the first chain,
        // pinned when `shaped_noise` joined the chain; the same code made
        // all 1920 rows of the subset's `--augment 2` set exactly as the
        // store made them sessions before.
        let y = tone(22050, 1.0);
        let r = ResamplerConfig::default();
        let bytes: Vec<u8> = (1..=12)
            .flat_map(|k| augmented(&y, 22050, 42, "clip", k, &r, &Ranges::FIRST).unwrap())
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(format!("{:016x}", fnv1a(&bytes)), "f9a6af4da92d97ed");
    }

    #[test]
    fn levels_reach_the_loudest_and_the_first_chain_keeps_its_draws() {
        for i in 0..=1000 {
            let u = i as f64 / 1000.0;
            // Bit for bit the first chain's draw: its sets stay as computed.
            assert_eq!(copy_level(u, FIRST_LOUDEST_LEVEL), -60.0 + 45.0 * u);
            let hot = copy_level(u, -5.0);
            assert!((-60.0..=-5.0).contains(&hot), "{hot}");
        }
        assert_eq!(copy_level(1.0, -5.0), -5.0);
        // Every copy's level moves (the level is always drawn), and a hot
        // recorder cuts the peaks of the loudest copies at full scale. A
        // tone with a click every 50 ms peaks about 25 dB over its RMS, as
        // speech's plosives do.
        let mut y = tone(22050, 1.0);
        y.iter_mut().step_by(1102).for_each(|v| *v += 0.5);
        let r = ResamplerConfig::default();
        let hot = Ranges {
            loudest_level: -5.0,
            ..Ranges::FIRST
        };
        let full = |c: &[f32]| usize::from(c.iter().any(|v| v.abs() == 1.0));
        let (mut cut, mut cut_first, mut changed) = (0, 0, 0);
        for k in 1..=40 {
            let a = augmented(&y, 22050, 42, "clip", k, &r, &Ranges::FIRST).unwrap();
            let b = augmented(&y, 22050, 42, "clip", k, &r, &hot).unwrap();
            assert_eq!(a.len(), b.len(), "the same chain up to the level");
            changed += usize::from(a != b);
            cut += full(&b);
            cut_first += full(&a);
        }
        assert_eq!(changed, 40);
        assert!(
            (4..=36).contains(&cut),
            "{cut} of 40 copies cut at full scale"
        );
        assert!(cut > cut_first, "{cut} cut, {cut_first} in the first chain");
    }
}
