//! Recording conditions applied to a waveform: level, band limit, a
//! microphone's high-pass or spectral tilt, a telephone codec, additive
//! noise, room reverberation, speed and the quiet before the speech. Each is
//! seeded by (seed, clip id), so a clip meets the same condition in every
//! run and on every machine. `ser robustness` measures models under them
//! (before the run's own feature path); [`super::augment`] draws training
//! copies from them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::audio::{resample, ResamplerConfig};
use crate::dsp::rng::{fnv1a, Rng};

/// The kind of additive noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    /// Gaussian white noise.
    White,
    /// Other speakers talking: a sum of clips of speakers other than the
    /// clip's own.
    Babble,
}

/// One recording condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// As recorded.
    Clean,
    /// RMS set to this level, dBFS (samples clipped to ±1 as a recorder
    /// would).
    Level(f64),
    /// Band-limited by resampling to this rate, Hz (8000: telephone,
    /// 16000: wideband).
    Band(u32),
    /// A 4th-order Butterworth high-pass at this cut-off, Hz (the
    /// roll-off of a phone's microphone or a telephone line; zero phase).
    HighPass(f64),
    /// A spectral tilt of this many dB per octave about 1 kHz
    /// ([`models::mic::tilt_db`]; above 0 brighter, below 0 duller; zero
    /// phase), the RMS kept: a microphone or phone whose response is not
    /// the studio's.
    Tilt(f64),
    /// G.711 μ-law at 8 kHz (the telephone codec).
    MuLaw,
    /// Additive noise at this SNR, dB, over the whole clip.
    Noise(NoiseKind, f64),
    /// A synthetic room (exponentially decaying noise) with this RT60, s.
    Reverb(f64),
    /// Played this many times faster (pitch moves with it, as tape does).
    Speed(f64),
    /// The quiet before the first speech ([`crate::speech`]) made this many
    /// seconds long: cut (0: a recording trimmed at its first word) or
    /// lengthened with the clip's own quiet (a recorder started earlier).
    /// RAVDESS's clips have up to a second of it (0.44 s at the 5th
    /// percentile, 1.0 s at the median).
    Lead(f64),
}

/// The conditions `ser robustness` measures unless told otherwise.
pub const DEFAULT_CONDITIONS: &str = "clean,level:-20,level:-60,band:8000,band:16000,mulaw,\
white:20,white:10,white:5,babble:20,babble:10,babble:5,reverb:0.3,reverb:0.6,reverb:0.9,\
speed:0.9,speed:1.1";

impl FromStr for Condition {
    type Err = String;

    /// `clean`, `level:DB`, `band:HZ`, `highpass:HZ`, `tilt:DB`, `mulaw`, `white:SNR`,
    /// `babble:SNR`, `reverb:RT60`, `speed:FACTOR`, `lead:SECONDS`.
    fn from_str(s: &str) -> Result<Condition, String> {
        let (kind, value) = s.split_once(':').map_or((s, None), |(k, v)| (k, Some(v)));
        let num = |lo: f64, hi: f64| -> Result<f64, String> {
            let v = value.ok_or_else(|| format!("`{s}`: `{kind}` needs a value (`{kind}:N`)"))?;
            let x: f64 = v
                .parse()
                .map_err(|_| format!("`{s}`: `{v}` is not a number"))?;
            if x.is_finite() && (lo..=hi).contains(&x) {
                Ok(x)
            } else {
                Err(format!("`{s}`: {kind} must be in {lo}..={hi}"))
            }
        };
        let c = match kind {
            "clean" if value.is_none() => Condition::Clean,
            "mulaw" if value.is_none() => Condition::MuLaw,
            "level" => Condition::Level(num(-120.0, 0.0)?),
            "band" => Condition::Band(num(1000.0, 192000.0)? as u32),
            "highpass" => Condition::HighPass(num(1.0, 20000.0)?),
            "tilt" => Condition::Tilt(num(-24.0, 24.0)?),
            "white" => Condition::Noise(NoiseKind::White, num(-20.0, 80.0)?),
            "babble" => Condition::Noise(NoiseKind::Babble, num(-20.0, 80.0)?),
            "reverb" => Condition::Reverb(num(0.05, 5.0)?),
            "speed" => Condition::Speed(num(0.5, 2.0)?),
            "lead" => Condition::Lead(num(0.0, 30.0)?),
            _ => {
                return Err(format!(
                    "unknown condition `{s}`: use clean, level:DB, band:HZ, highpass:HZ, tilt:DB, mulaw, \
                     white:SNR, babble:SNR, reverb:RT60, speed:FACTOR or lead:SECONDS"
                ))
            }
        };
        Ok(c)
    }
}

impl fmt::Display for Condition {
    /// The name [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Clean => f.write_str("clean"),
            Condition::Level(db) => write!(f, "level:{db}"),
            Condition::Band(hz) => write!(f, "band:{hz}"),
            Condition::HighPass(hz) => write!(f, "highpass:{hz}"),
            Condition::Tilt(db) => write!(f, "tilt:{db}"),
            Condition::MuLaw => f.write_str("mulaw"),
            Condition::Noise(NoiseKind::White, snr) => write!(f, "white:{snr}"),
            Condition::Noise(NoiseKind::Babble, snr) => write!(f, "babble:{snr}"),
            Condition::Reverb(rt60) => write!(f, "reverb:{rt60}"),
            Condition::Speed(x) => write!(f, "speed:{x}"),
            Condition::Lead(x) => write!(f, "lead:{x}"),
        }
    }
}

/// Parses a comma-separated list of conditions.
pub fn parse_conditions(s: &str) -> Result<Vec<Condition>, String> {
    s.split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<Vec<_>, _>>()
}

/// A comma-separated list of conditions, as one flag's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions(pub Vec<Condition>);

impl FromStr for Conditions {
    type Err = String;

    fn from_str(s: &str) -> Result<Conditions, String> {
        parse_conditions(s).map(Conditions)
    }
}

/// A clip and what the condition needs beyond it: the seed, the clip's id
/// (so its noise, room and babble are its own), and other speakers' speech
/// for babble.
pub struct Apply<'a> {
    /// Seed of the measurement.
    pub seed: u64,
    /// The clip's id.
    pub clip_id: &'a str,
    /// Other speakers' clips (mono, at `rate`) babble is mixed from.
    pub babble: &'a [&'a [f32]],
}

impl Condition {
    /// The waveform `y` (mono, `rate` Hz) under this condition, and its
    /// rate (band limits and speed change it). The error is one line.
    pub fn apply(&self, y: &[f32], rate: u32, with: &Apply<'_>) -> Result<(Vec<f32>, u32), String> {
        let mut rng = Rng::new(
            with.seed ^ fnv1a(with.clip_id.as_bytes()) ^ fnv1a(self.to_string().as_bytes()),
        );
        Ok(match *self {
            Condition::Clean => (y.to_vec(), rate),
            Condition::Level(db) => (set_level(y, db), rate),
            Condition::Band(to) => (band_limit(y, rate, to)?, to.min(rate)),
            Condition::HighPass(hz) => (high_pass(y, rate, hz, 4), rate),
            Condition::Tilt(db) => (tilt(y, rate, db), rate),
            Condition::MuLaw => {
                let narrow = band_limit(y, rate, 8000)?;
                (
                    narrow.iter().map(|&v| mulaw_round_trip(v)).collect(),
                    8000.min(rate),
                )
            }
            Condition::Noise(kind, snr) => {
                let noise = match kind {
                    NoiseKind::White => (0..y.len()).map(|_| rng.normal() as f32).collect(),
                    NoiseKind::Babble => babble(with.babble, y.len(), &mut rng)?,
                };
                (add_at_snr(y, &noise, snr), rate)
            }
            Condition::Reverb(rt60) => (reverberate(y, rate, rt60, &mut rng), rate),
            // The same samples said to be at a higher rate play faster.
            Condition::Speed(x) => (y.to_vec(), (rate as f64 * x).round() as u32),
            Condition::Lead(seconds) => (with_lead(y, rate, seconds), rate),
        })
    }
}

/// `y` with the quiet before its first speech frame (as
/// [`crate::speech::speech_frames`] finds it, the default floor) cut or lengthened
/// to `seconds`: lengthened with the frames before it that are within
/// [`QUIET_WITHIN_DB`] of the clip's quiet ([`crate::speech::quiet_level`];
/// not a breath or a soft first syllable under the floor), mirrored at
/// each seam (backwards into the clip's first sample, forwards before
/// that, …) so that no seam clicks (digital silence if there are none). A
/// clip without speech is kept as it is.
pub fn with_lead(y: &[f32], rate: u32, seconds: f64) -> Vec<f32> {
    use crate::speech::{frame_levels, quiet_level, speech_threshold, FLOOR_DB, FRAME_S};
    let levels = frame_levels(y, rate);
    let speech = speech_threshold(&levels, FLOOR_DB);
    let Some(first) = levels.iter().position(|&l| l >= speech) else {
        return y.to_vec();
    };
    // In the samples `speech_frames` steps by.
    let frame = ((FRAME_S * rate as f64).round() as usize).max(1);
    let onset = (first * frame).min(y.len());
    let want = (seconds * rate as f64).round() as usize;
    if want <= onset {
        return y[onset - want..].to_vec();
    }
    let extra = want - onset;
    let hush = quiet_level(&levels) + QUIET_WITHIN_DB;
    let quiet: Vec<f32> = y[..onset]
        .chunks(frame)
        .zip(&levels)
        .filter(|(_, &l)| l <= hush)
        .flat_map(|(c, _)| c.iter().copied())
        .collect();
    // Built from the clip's first sample leftwards, then turned round.
    let mut left: Vec<f32> = Vec::with_capacity(extra);
    let mut forwards = true;
    while left.len() < extra {
        let n = extra - left.len();
        match (quiet.is_empty(), forwards) {
            (true, _) => left.resize(extra, 0.0),
            (false, true) => left.extend(quiet.iter().take(n)),
            (false, false) => left.extend(quiet.iter().rev().take(n)),
        }
        forwards = !forwards;
    }
    left.reverse();
    left.extend_from_slice(y);
    left
}

/// How far above a clip's quiet level (dB) a frame before its speech may
/// be and still lengthen its quiet ([`with_lead`]).
pub const QUIET_WITHIN_DB: f64 = 6.0;

/// Root mean square.
pub fn rms(y: &[f32]) -> f64 {
    if y.is_empty() {
        return 0.0;
    }
    (y.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
}

/// `y` scaled to RMS `db` dBFS, clipped to ±1 (silence stays silent).
pub fn set_level(y: &[f32], db: f64) -> Vec<f32> {
    let r = rms(y);
    if r == 0.0 {
        return y.to_vec();
    }
    let g = (10f64.powf(db / 20.0) / r) as f32;
    y.iter().map(|&v| (v * g).clamp(-1.0, 1.0)).collect()
}

/// `y` resampled to `to` Hz (its band limited to `to / 2`), when `to` is
/// below `rate`.
pub fn band_limit(y: &[f32], rate: u32, to: u32) -> Result<Vec<f32>, String> {
    if to >= rate {
        return Ok(y.to_vec());
    }
    resample(y, rate, to, &ResamplerConfig::default())
}

/// One sample through G.711 μ-law (encode to 8 bits, decode), as 16-bit
/// PCM: Sun's reference algorithm (bias 132, clip 32635).
pub fn mulaw_round_trip(v: f32) -> f32 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = (v.clamp(-1.0, 1.0) * 32767.0).round() as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let exponent = (31 - ((s >> 7) as u32 | 1).leading_zeros()) as i32; // 0..=7
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    let code = !(sign | (exponent << 4) | mantissa) & 0xFF;
    // Decode.
    let u = !code & 0xFF;
    let exponent = (u >> 4) & 7;
    let mantissa = u & 0x0F;
    let mut x = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    if u & 0x80 != 0 {
        x = -x;
    }
    x as f32 / 32768.0
}

/// `y + g * noise` with `g` such that the speech-to-noise power ratio is
/// `snr` dB (noise looped or cut to `y`'s length).
pub fn add_at_snr(y: &[f32], noise: &[f32], snr: f64) -> Vec<f32> {
    let (ps, pn) = (rms(y), rms(noise));
    if ps == 0.0 || pn == 0.0 {
        return y.to_vec();
    }
    let g = (ps / pn / 10f64.powf(snr / 20.0)) as f32;
    y.iter()
        .zip(noise.iter().cycle())
        .map(|(&s, &n)| s + g * n)
        .collect()
}

/// Babble of `len` samples: four of `others` (chosen by `rng`), each at
/// the same RMS and from a random offset, summed.
fn babble(others: &[&[f32]], len: usize, rng: &mut Rng) -> Result<Vec<f32>, String> {
    talkers(others, 4, len, rng)
}

/// `n` talkers of `len` samples: `n` of `others` (chosen by `rng`, with
/// repeats), each at the same RMS and from a random offset (looped),
/// summed.
pub fn talkers(others: &[&[f32]], n: usize, len: usize, rng: &mut Rng) -> Result<Vec<f32>, String> {
    let usable: Vec<&[f32]> = others.iter().copied().filter(|c| rms(c) > 0.0).collect();
    if usable.is_empty() {
        return Err("babble needs clips of other speakers; none given".into());
    }
    let mut out = vec![0f32; len];
    for _ in 0..n {
        let c = usable[(rng.next_u64() % usable.len() as u64) as usize];
        let g = (1.0 / rms(c)) as f32;
        let start = (rng.next_u64() % c.len() as u64) as usize;
        for (i, o) in out.iter_mut().enumerate() {
            *o += g * c[(start + i) % c.len()];
        }
    }
    Ok(out)
}

/// `y` in a synthetic room: convolved with a unit direct path plus
/// Gaussian noise decaying by 60 dB over `rt60` seconds (Polack's model),
/// then set back to `y`'s RMS.
pub fn reverberate(y: &[f32], rate: u32, rt60: f64, rng: &mut Rng) -> Vec<f32> {
    let taps = ((rt60 * rate as f64) as usize).max(1);
    let decay = 6.9078 / (rt60 * rate as f64); // ln(1000) per second of samples
                                               // The tail's energy relative to the direct path: a mid-sized room
                                               // (direct-to-reverberant ratio about 0 dB at RT60 0.5 s).
    let mut h: Vec<f32> = (0..taps)
        .map(|n| (rng.normal() * (-decay * n as f64).exp()) as f32)
        .collect();
    let tail = rms(&h) * (taps as f64).sqrt();
    let scale = (1.0 / tail.max(1e-12)) as f32;
    h.iter_mut().for_each(|v| *v *= scale);
    h[0] = 1.0;
    let wet = convolve(y, &h);
    let out: Vec<f32> = wet[..y.len()].to_vec();
    let (a, b) = (rms(y), rms(&out));
    if b == 0.0 {
        return out;
    }
    let g = (a / b) as f32;
    out.iter().map(|&v| v * g).collect()
}

/// `y` through the magnitude of an `order`-pole Butterworth high-pass at
/// `cutoff` Hz ([`models::mic::high_pass_db`], the response training's
/// microphones use), with zero phase (one FFT of the whole clip).
pub fn high_pass(y: &[f32], rate: u32, cutoff: f64, order: usize) -> Vec<f32> {
    filter_db(y, rate, |f| models::mic::high_pass_db(f, cutoff, order))
}

/// `y` through a spectral tilt of `db_per_octave` about 1 kHz
/// ([`models::mic::tilt_db`], the response training's microphones use),
/// zero phase, set back to its RMS.
pub fn tilt(y: &[f32], rate: u32, db_per_octave: f64) -> Vec<f32> {
    let out = filter_db(y, rate, |f| models::mic::tilt_db(f, db_per_octave));
    let (a, b) = (rms(y), rms(&out));
    match b > 0.0 {
        true => out.iter().map(|&v| v * (a / b) as f32).collect(),
        false => out,
    }
}

/// `y` through a zero-phase filter of gain `db(f)` dB at `f` Hz (one FFT
/// of the whole clip).
pub(crate) fn filter_db(y: &[f32], rate: u32, db: impl Fn(f64) -> f64) -> Vec<f32> {
    let n = y.len();
    if n == 0 {
        return Vec::new();
    }
    let fft = Fft::new(n);
    let mut spectrum = fft.spectrum(y);
    for (i, v) in spectrum.iter_mut().enumerate() {
        let f = i as f64 * f64::from(rate) / n as f64;
        let gain = 10f64.powf(db(f) / 20.0);
        *v *= (gain / n as f64) as f32;
    }
    fft.inverse(&mut spectrum)
}

/// Linear convolution of `x` and `h` (FFT), `x.len() + h.len() - 1` samples.
fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let fft = Fft::new(n);
    let (a, b) = (fft.spectrum(x), fft.spectrum(h));
    let mut prod: Vec<_> = a.iter().zip(&b).map(|(p, q)| p * q).collect();
    let mut out = fft.inverse(&mut prod);
    let norm = 1.0 / n as f32;
    out.truncate(x.len() + h.len() - 1);
    out.iter_mut().for_each(|v| *v *= norm);
    out
}

/// A real FFT of one length, forward and back.
struct Fft {
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl Fft {
    fn new(n: usize) -> Fft {
        let mut planner = RealFftPlanner::<f32>::new();
        Fft {
            fwd: planner.plan_fft_forward(n),
            inv: planner.plan_fft_inverse(n),
        }
    }

    /// The spectrum of `v` zero-padded to the length (`v` no longer).
    fn spectrum(&self, v: &[f32]) -> Vec<Complex<f32>> {
        let mut buf = self.fwd.make_input_vec();
        buf[..v.len()].copy_from_slice(v);
        let mut out = self.fwd.make_output_vec();
        // The buffers have the planner's lengths: the transform cannot fail.
        let _ = self.fwd.process(&mut buf, &mut out);
        out
    }

    /// The signal of `spectrum` (consumed as scratch), not scaled by 1/n.
    fn inverse(&self, spectrum: &mut [Complex<f32>]) -> Vec<f32> {
        let mut out = self.inv.make_output_vec();
        let _ = self.inv.process(spectrum, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, seconds: f32, hz: f32, amp: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    const NONE: Apply<'static> = Apply {
        seed: 1,
        clip_id: "clip",
        babble: &[],
    };

    #[test]
    fn names_round_trip_and_bad_ones_say_why() {
        let all = parse_conditions(DEFAULT_CONDITIONS).unwrap();
        assert_eq!(all.len(), 17);
        for c in &all {
            assert_eq!(&c.to_string().parse::<Condition>().unwrap(), c);
        }
        let hp: Condition = "highpass:300".parse().unwrap();
        assert_eq!(
            (hp, hp.to_string().as_str()),
            (Condition::HighPass(300.0), "highpass:300")
        );
        for bad in [
            "loud",
            "level",
            "level:3",
            "white:x",
            "speed:9",
            "clean:1",
            "highpass:0",
            "tilt:30",
            "tilt",
            "lead",
            "lead:-1",
        ] {
            assert!(bad.parse::<Condition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn level_sets_the_rms_and_clips() {
        let y = tone(16000, 1.0, 440.0, 0.01);
        let (out, rate) = Condition::Level(-20.0).apply(&y, 16000, &NONE).unwrap();
        assert_eq!(rate, 16000);
        assert!((db(rms(&out)) + 20.0).abs() < 0.01, "{}", db(rms(&out)));
        let (loud, _) = Condition::Level(0.0).apply(&y, 16000, &NONE).unwrap();
        assert!(loud.iter().all(|v| v.abs() <= 1.0));
    }

    #[test]
    fn band_limit_removes_what_is_above_its_nyquist() {
        let rate = 48000;
        let low = tone(rate, 0.5, 1000.0, 0.3);
        let high = tone(rate, 0.5, 6000.0, 0.3);
        let (l, r) = Condition::Band(8000).apply(&low, rate, &NONE).unwrap();
        let (h, _) = Condition::Band(8000).apply(&high, rate, &NONE).unwrap();
        assert_eq!(r, 8000);
        assert!((db(rms(&l)) - db(rms(&low))).abs() < 0.5, "1 kHz kept");
        assert!(db(rms(&h)) < db(rms(&high)) - 40.0, "6 kHz removed");
    }

    #[test]
    fn a_high_pass_takes_low_tones_down_by_its_response_and_keeps_high_ones() {
        let rate = 16000;
        let c = Condition::HighPass(300.0);
        for (hz, want_db) in [
            (150.0, -10.0 * (1.0f64 + 2f64.powi(8)).log10()),
            (300.0, -3.01),
            (2000.0, 0.0),
        ] {
            let y = tone(rate, 1.0, hz as f32, 0.3);
            let (out, r) = c.apply(&y, rate, &NONE).unwrap();
            assert_eq!(r, rate);
            let got = db(rms(&out) / rms(&y));
            assert!(
                (got - want_db).abs() < 0.1,
                "{hz} Hz: {got} dB vs {want_db}"
            );
        }
    }

    #[test]
    fn a_tilt_moves_tones_by_its_octaves_from_1_khz_and_keeps_the_rms() {
        let rate = 16000;
        let (lo, hi) = (tone(rate, 1.0, 250.0, 0.3), tone(rate, 1.0, 4000.0, 0.3));
        let both: Vec<f32> = lo.iter().zip(&hi).map(|(a, b)| a + b).collect();
        let (out, r) = Condition::Tilt(3.0).apply(&both, rate, &NONE).unwrap();
        assert_eq!(r, rate);
        assert!((db(rms(&out) / rms(&both))).abs() < 0.01);
        // Alone, 250 Hz goes down 6 dB and 4 kHz up 6 (two octaves each way).
        for (y, want) in [(&lo, -6.0), (&hi, 6.0)] {
            let wet = tilt(y, rate, 3.0);
            let filtered = filter_db(y, rate, |f| models::mic::tilt_db(f, 3.0));
            assert!((db(rms(&filtered) / rms(y)) - want).abs() < 0.05);
            assert!((db(rms(&wet) / rms(y))).abs() < 0.01, "the RMS is kept");
        }
        let named: Condition = "tilt:-3".parse().unwrap();
        assert_eq!(
            (named, named.to_string()),
            (Condition::Tilt(-3.0), "tilt:-3".into())
        );
    }

    #[test]
    fn mulaw_keeps_about_38_db_of_snr_and_small_values_exact() {
        let y = tone(8000, 0.5, 440.0, 0.5);
        let (out, rate) = Condition::MuLaw.apply(&y, 8000, &NONE).unwrap();
        assert_eq!(rate, 8000);
        let err: Vec<f32> = y.iter().zip(&out).map(|(a, b)| a - b).collect();
        let snr = db(rms(&y) / rms(&err));
        // G.711's SNR for a loud sine is about 38 dB.
        assert!((33.0..45.0).contains(&snr), "{snr}");
        assert_eq!(mulaw_round_trip(0.0), 0.0);
        assert!(mulaw_round_trip(1.0) > 0.97 && mulaw_round_trip(-1.0) < -0.97);
    }

    #[test]
    fn noise_is_added_at_the_asked_snr_and_seeded_by_clip() {
        let y = tone(16000, 1.0, 300.0, 0.1);
        let c = Condition::Noise(NoiseKind::White, 10.0);
        let (a, _) = c.apply(&y, 16000, &NONE).unwrap();
        let noise: Vec<f32> = a.iter().zip(&y).map(|(p, q)| p - q).collect();
        assert!((db(rms(&y) / rms(&noise)) - 10.0).abs() < 0.01);
        assert_eq!(a, c.apply(&y, 16000, &NONE).unwrap().0, "seeded");
        let other = Apply {
            clip_id: "other",
            ..NONE
        };
        assert_ne!(a, c.apply(&y, 16000, &other).unwrap().0, "per clip");
        // Babble needs other speakers, and uses them.
        let b = Condition::Noise(NoiseKind::Babble, 5.0);
        assert!(b.apply(&y, 16000, &NONE).is_err());
        let voices = [tone(16000, 0.7, 200.0, 0.2), tone(16000, 0.4, 350.0, 0.05)];
        let refs: Vec<&[f32]> = voices.iter().map(|v| v.as_slice()).collect();
        let with = Apply {
            babble: &refs,
            ..NONE
        };
        let (out, _) = b.apply(&y, 16000, &with).unwrap();
        let noise: Vec<f32> = out.iter().zip(&y).map(|(p, q)| p - q).collect();
        assert!((db(rms(&y) / rms(&noise)) - 5.0).abs() < 0.01);
    }

    #[test]
    fn reverb_keeps_the_level_and_spreads_energy_in_time() {
        let rate = 16000;
        let mut click = vec![0f32; rate as usize];
        click[100] = 1.0;
        let (out, _) = Condition::Reverb(0.6).apply(&click, rate, &NONE).unwrap();
        assert!((rms(&out) - rms(&click)).abs() < 1e-4);
        // Energy 0.3 s after the click is about 30 dB below the start.
        let window = |from: usize| rms(&out[from..from + 800]);
        let drop = db(window(100 + 4800) / window(100));
        assert!((-40.0..-20.0).contains(&drop), "{drop}");
        assert!(convolve(&[1.0, 2.0], &[1.0, 1.0])
            .iter()
            .zip([1.0, 3.0, 2.0])
            .all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn lead_cuts_or_lengthens_the_quiet_before_the_speech_and_keeps_the_speech() {
        let rate = 1000;
        // 0.5 s of quiet (-80 dBFS), then 1 s of a loud tone.
        let quiet: Vec<f32> = (0..500).map(|i| 1e-4 * ((i % 7) as f32 - 3.0)).collect();
        let tone: Vec<f32> = (0..1000).map(|i| 0.3 * (i as f32 * 0.7).sin()).collect();
        let y = [&quiet[..], &tone[..]].concat();
        let lead = |s: f64| Condition::Lead(s).apply(&y, rate, &NONE).unwrap();
        let (cut, r) = lead(0.0);
        assert!(cut == tone && r == rate, "trimmed at the speech");
        assert!(
            lead(0.2).0 == [&quiet[300..], &tone[..]].concat(),
            "0.2 s left"
        );
        let (long, _) = lead(1.2);
        assert_eq!(long.len(), 1200 + 1000);
        assert!(long[700..] == y[..], "the clip as it was, after more quiet");
        // Mirrored into the clip's first sample: its quiet backwards just
        // before it, forwards before that.
        let back: Vec<f32> = quiet.iter().rev().copied().collect();
        assert!(long[200..700] == back[..], "backwards into the clip");
        assert!(long[..200] == quiet[300..], "forwards before that");
        // A breath 8 dB above the quiet (under the speech floor) is not
        // copied into the longer quiet.
        let mut breathy = y.clone();
        for (i, v) in breathy[400..420].iter_mut().enumerate() {
            *v = 7e-4 * (i as f32).sin();
        }
        let (long, _) = Condition::Lead(1.2).apply(&breathy, rate, &NONE).unwrap();
        assert!(long[700..] == breathy[..], "the clip itself is kept");
        assert!(
            long[..700].iter().all(|v| v.abs() <= 3e-4),
            "only its quiet frames"
        );
        let silent = vec![0f32; 300];
        assert!(with_lead(&silent, rate, 1.0) == silent, "no speech: kept");
        // Speech from the first sample (the quiet after it sets the floor).
        let early = [&tone[..], &quiet[..]].concat();
        let (padded, _) = Condition::Lead(0.1).apply(&early, rate, &NONE).unwrap();
        assert!(
            padded == [&[0f32; 100][..], &early[..]].concat(),
            "no quiet: silence"
        );
    }

    #[test]
    fn speed_changes_the_claimed_rate_only() {
        let y = tone(16000, 0.1, 300.0, 0.1);
        let (out, rate) = Condition::Speed(1.1).apply(&y, 16000, &NONE).unwrap();
        assert_eq!((out, rate), (y, 17600));
    }
}
