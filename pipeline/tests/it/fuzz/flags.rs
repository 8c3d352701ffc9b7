//! Flag values and configs: the library parsers `ser`'s flags go through,
//! every config's `validate()` with hostile numbers (0, negatives, NaN,
//! infinities, extremes), configs read from damaged JSON (`--config`), and
//! the DSP run on whatever a feature config's `validate()` lets through.

use models::{Init, LabelSet, Loss, ModelKind, Schedule};
use pipeline::audio::ResamplerConfig;
use pipeline::corpora::CorpusKind;
use pipeline::corpus::Checksums;
use pipeline::dsp::noise::NoiseConfig;
use pipeline::dsp::rng::Rng;
use pipeline::features::{clean_mfcc_of, FeatureConfig, ShardSpec};
use pipeline::listen::PcmFormat;
use pipeline::reproduce::Protocol;
use pipeline::timeline::SegmentConfig;
use pipeline::train::{Crop, Norm, Readout, SplitKind, TrainStageConfig, Window};

use super::mutate::{below, count, input, number, number_text, one_in, pick, soup};
use super::{fuzz, reason, show_bytes};

const TOKENS: [&str; 40] = [
    "gaussian",
    "snr",
    "fft",
    "auto",
    "random",
    "actors",
    "speakers",
    "corpus",
    "start",
    "centre",
    "last-real",
    "last-frame",
    "train",
    "clip",
    "cross-entropy",
    "mse",
    "constant",
    "one-cycle",
    "cnn",
    "lstm",
    "cnn-lstm",
    "si-cnn",
    "emotion8",
    "gender-emotion14",
    "ravdess",
    "csv:",
    "paper",
    "glorot",
    ":",
    "/",
    ",",
    "-",
    " ",
    "e",
    ".",
    "0",
    "1",
    "320",
    "2/8",
    "00000000000000000000000000000000000000000000000000000000000000ab  Actor_01/x.wav",
];

/// Each parser `s` can reach; `Err` carries the reason.
fn parse_all(s: &str) -> Result<(), String> {
    fn plain<T>(what: &str, r: Result<T, String>) -> Result<Option<T>, String> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) => reason(what, e).map(|_| None),
        }
    }
    if let Some(c) = plain("NoiseConfig::from_str", s.parse::<NoiseConfig>())? {
        c.validate()
            .map_err(|e| format!("NoiseConfig::from_str accepted an invalid {c:?}: {e}"))?;
        if c.to_string().parse::<NoiseConfig>() != Ok(c) {
            return Err(format!(
                "NoiseConfig {c:?} does not round-trip through Display"
            ));
        }
    }
    if let Some(c) = plain("ResamplerConfig::from_str", s.parse::<ResamplerConfig>())? {
        c.validate()
            .map_err(|e| format!("ResamplerConfig::from_str accepted an invalid {c:?}: {e}"))?;
    }
    if let Some(sp) = plain("ShardSpec::from_str", s.parse::<ShardSpec>())? {
        if !(1..=sp.count).contains(&sp.index) {
            return Err(format!("ShardSpec::from_str accepted {sp:?}"));
        }
        // Asking which items a shard owns must not panic either.
        for i in 0..4 {
            std::hint::black_box(sp.owns(i));
        }
    }
    plain("Window::from_str", s.parse::<Window>())?;
    plain("SplitKind::from_str", s.parse::<SplitKind>())?;
    plain("Crop::from_str", s.parse::<Crop>())?;
    plain("Readout::from_str", s.parse::<Readout>())?;
    plain("Norm::from_str", s.parse::<Norm>())?;
    plain("Loss::from_str", s.parse::<Loss>())?;
    plain("Schedule::from_str", s.parse::<Schedule>())?;
    plain("Init::from_str", s.parse::<Init>())?;
    plain("ModelKind::from_str", s.parse::<ModelKind>())?;
    plain("LabelSet::from_str", s.parse::<LabelSet>())?;
    plain("CorpusKind::from_str", s.parse::<CorpusKind>())?;
    plain("Protocol::from_str", s.parse::<Protocol>())?;
    if let Err(e) = Checksums::parse(s) {
        reason("Checksums::parse", e)?;
    }
    Ok(())
}

#[test]
fn flag_values() {
    fuzz(
        "flags::flag_values",
        |r| {
            let mut s = soup(r, &TOKENS, 4);
            if one_in(r, 2) {
                s.push_str(&number_text(r));
            }
            if one_in(r, 4) {
                s = format!("{s}\n{}", soup(r, &TOKENS, 3));
            }
            s
        },
        |s| format!("{s:?}"),
        |s| parse_all(s),
    );
}

fn maybe<T>(r: &mut Rng, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    (!one_in(r, 3)).then(|| f(r))
}

/// A training config with hostile numbers everywhere.
fn train_config(r: &mut Rng) -> TrainStageConfig {
    let mut c = TrainStageConfig {
        model: *pick(r, &ModelKind::ALL),
        test_fraction: number(r),
        folds: maybe(r, count),
        max_folds: maybe(r, count),
        epochs: maybe(r, count),
        batch_size: maybe(r, count),
        lr: maybe(r, number),
        weight_decay: maybe(r, number),
        label_smoothing: maybe(r, number),
        swa: maybe(r, number),
        warp: maybe(r, number),
        gain: maybe(r, number),
        talkers: maybe(r, number),
        reverb: maybe(r, number),
        mic: maybe(r, number),
        attention: maybe(r, count),
        talkers_louder: maybe(r, number),
        gain_share: maybe(r, number),
        voices: maybe(r, number),
        warp_range: maybe(r, number),
        adam_eps: number(r),
        kernel: count(r),
        window: if one_in(r, 3) {
            Window::Auto
        } else {
            Window::Frames(count(r))
        },
        ..TrainStageConfig::default()
    };
    if one_in(r, 3) {
        c.split = SplitKind::Corpus;
        c.train_on = (0..below(r, 3)).map(|_| "ravdess".to_string()).collect();
        c.test_on = (0..below(r, 3)).map(|_| "tess".to_string()).collect();
    }
    if one_in(r, 4) {
        c.train_variants = (0..below(r, 3))
            .map(|_| pick(r, &["clean", "noisy", "", "x"]).to_string())
            .collect();
    }
    c
}

/// A feature config with hostile numbers everywhere.
fn feature_config(r: &mut Rng) -> FeatureConfig {
    let mut c = FeatureConfig::default();
    let rate = |r: &mut Rng| {
        let any = (r.next_u64() >> 40) as u32;
        *pick(
            r,
            &[
                0,
                1,
                3999,
                4000,
                8000,
                16000,
                22050,
                44100,
                48000,
                384_000,
                384_001,
                u32::MAX,
                any,
            ],
        )
    };
    c.sample_rate = maybe(r, rate);
    let small = |r: &mut Rng| {
        if one_in(r, 2) {
            below(r, 4097)
        } else {
            count(r)
        }
    };
    c.mfcc.n_fft = small(r);
    c.mfcc.hop_length = small(r);
    c.mfcc.n_mels = small(r);
    c.mfcc.n_mfcc = small(r);
    c.mfcc.fmin = number(r);
    c.mfcc.fmax = maybe(r, number);
    c.mfcc.top_db = maybe(r, |r| number(r) as f32);
    c.mfcc.amin = number(r) as f32;
    c.noise = if one_in(r, 2) {
        NoiseConfig::Gaussian {
            amplitude: number(r) as f32,
        }
    } else {
        NoiseConfig::Snr {
            db: number(r) as f32,
        }
    };
    c.resampler = ResamplerConfig::Fft { block: small(r) };
    c
}

#[test]
fn config_values() {
    let train_json = serde_json::to_vec_pretty(&TrainStageConfig::default()).unwrap();
    let feature_json = serde_json::to_vec_pretty(&FeatureConfig::default()).unwrap();
    let seeds = vec![train_json, feature_json];
    fuzz(
        "flags::config_values",
        |r| {
            let json = input(r, &seeds, b"{}[]\":,0123456789-e.nul", 2048);
            (
                train_config(r),
                feature_config(r),
                number(r),
                number(r),
                number(r),
                json,
            )
        },
        |(t, f, a, b, c, json)| {
            format!(
                "{t:?}\n    {f:?}\n    numbers {a} {b} {c}\n    json {}",
                show_bytes(json)
            )
        },
        |(t, f, a, b, c, json)| {
            match t.validate() {
                Err(e) => reason("TrainStageConfig::validate", e)?,
                Ok(()) => {
                    let res = t.resolved();
                    if !(res.lr > 0.0 && res.lr.is_finite() && res.epochs > 0 && res.batch_size > 0)
                    {
                        return Err(format!("validate() passed but resolved to {res:?}"));
                    }
                    let total = res.epochs.saturating_mul(10);
                    for step in [0, 1, total / 2, total.saturating_sub(1)] {
                        let lr = res.schedule.lr_at(res.lr, step, total);
                        if !lr.is_finite() {
                            return Err(format!("lr_at({step}/{total}) = {lr}"));
                        }
                    }
                }
            }
            if let Err(e) = f.validate() {
                reason("FeatureConfig::validate", e)?;
            }
            let seg = SegmentConfig {
                segment_s: *a,
                hop_s: *b,
                silence_db: *c,
            };
            if let Err(e) = seg.validate() {
                reason("SegmentConfig::validate", e)?;
            }
            let pcm = PcmFormat {
                rate: (*a as i64) as u32,
                channels: (*b as i64) as u16,
            };
            if let Err(e) = pcm.validate() {
                reason("PcmFormat::validate", e)?;
            }
            if let Ok(cfg) = serde_json::from_slice::<TrainStageConfig>(json) {
                if let Err(e) = cfg.validate() {
                    reason("TrainStageConfig::validate (JSON)", e)?;
                }
            }
            if let Ok(cfg) = serde_json::from_slice::<FeatureConfig>(json) {
                if let Err(e) = cfg.validate() {
                    reason("FeatureConfig::validate (JSON)", e)?;
                }
            }
            Ok(())
        },
    );
}

/// A signal: silence, a tone, noise, or a few extreme but finite values.
fn signal(r: &mut Rng, n: usize) -> Vec<f32> {
    let kind = below(r, 4);
    (0..n)
        .map(|i| match kind {
            0 => 0.0,
            1 => (i as f32 * 0.05).sin(),
            2 => (r.uniform() * 2.0 - 1.0) as f32,
            _ => *pick(r, &[0.0, 1.0, -1.0, f32::MIN_POSITIVE, 1e-30]),
        })
        .collect()
}

#[test]
fn dsp_configs() {
    fuzz(
        "flags::dsp_configs",
        |r| {
            // Sizes a machine can afford (huge ones are the validators' business).
            let mut f = feature_config(r);
            f.mfcc.n_fft = f.mfcc.n_fft.min(1 << 14);
            // At most 16 frames per FFT length: hop 2 with a 16384-point FFT
            // at 384 kHz is valid but hours of work, not a hang.
            f.mfcc.hop_length = f.mfcc.hop_length.min(1 << 14).max(f.mfcc.n_fft / 16);
            f.mfcc.n_mels = f.mfcc.n_mels.min(512);
            f.mfcc.n_mfcc = f.mfcc.n_mfcc.min(512);
            let ResamplerConfig::Fft { block } = &mut f.resampler;
            *block = (*block).min(1 << 12);
            let from = *pick(
                r,
                &[
                    4000u32, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 192_000,
                ],
            );
            let n = below(r, 3 * f.mfcc.n_fft.max(16) + 1);
            (f, from, signal(r, n))
        },
        |(f, from, y)| {
            format!(
                "{f:?}, {} samples at {from} Hz: {:?}…",
                y.len(),
                &y[..y.len().min(8)]
            )
        },
        |(f, from, y)| {
            if let Err(e) = f.validate() {
                return reason("FeatureConfig::validate", e);
            }
            let noisy = f.noise.apply(y, f.seed, "03-01-05-01-02-01-12");
            if let Some(v) = noisy.iter().find(|v| !v.is_finite()) {
                return Err(format!(
                    "noise {:?} made a sample {v} from a finite clip",
                    f.noise
                ));
            }
            match clean_mfcc_of(y, *from, f) {
                Err(e) => reason("clean_mfcc_of", e),
                Ok((_, mfcc)) => match mfcc.iter().find(|v| !v.is_finite()) {
                    Some(v) => Err(format!("an MFCC of {v} from a finite clip")),
                    None => Ok(()),
                },
            }
        },
    );
}
