//! Features of one clip: decode, resample, clean and noisy log-mel + MFCC.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use store::{FeatureRow, MetadataRow};

use super::FeatureConfig;
use crate::audio::{read_audio, resample};
use crate::dsp::augment::augmented;
use crate::dsp::{FeatureExtractor, Scratch};

/// Feature extractors by sample rate, built once per run and shared.
pub struct Extractors {
    by_rate: HashMap<u32, FeatureExtractor>,
}

impl Extractors {
    /// Builds an extractor for every rate features will be computed at:
    /// the configured rate, or each file rate in `clips` when native.
    pub fn new(cfg: &FeatureConfig, clips: &[&MetadataRow]) -> Result<Extractors, String> {
        let mut by_rate = HashMap::new();
        let rates: Vec<u32> = match cfg.sample_rate {
            Some(sr) => vec![sr],
            None => clips.iter().map(|c| c.sample_rate as u32).collect(),
        };
        for sr in rates {
            if let std::collections::hash_map::Entry::Vacant(e) = by_rate.entry(sr) {
                e.insert(
                    FeatureExtractor::new(sr, &cfg.mfcc)
                        .map_err(|e| format!("{e} (at {sr} Hz)"))?,
                );
            }
        }
        Ok(Extractors { by_rate })
    }

    fn get(&self, sr: u32) -> Result<&FeatureExtractor, String> {
        self.by_rate
            .get(&sr)
            .ok_or_else(|| format!("no feature extractor for {sr} Hz"))
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Decodes `path` and resamples it to the config's rate: `(samples, rate)`.
/// The error is one line saying why (the caller adds the file name).
pub fn load_resampled(path: &Path, cfg: &FeatureConfig) -> Result<(Vec<f32>, u32), String> {
    let audio = read_audio(path).map_err(|e| e.to_string())?;
    resampled(&audio.samples, audio.info.sample_rate, cfg)
}

/// Mono samples at `from` Hz resampled to the config's rate.
pub fn resampled(y: &[f32], from: u32, cfg: &FeatureConfig) -> Result<(Vec<f32>, u32), String> {
    let to = cfg.sample_rate.unwrap_or(from);
    let y = resample(y, from, to, &cfg.resampler)
        .map_err(|e| format!("resampling {from} -> {to} Hz failed: {e}"))?;
    Ok((y, to))
}

/// `(frames, mel_db, mfcc)` of samples, both row-major by frame.
pub fn mel_and_mfcc(
    y: &[f32],
    extractor: &FeatureExtractor,
) -> Result<(usize, Vec<f32>, Vec<f32>), String> {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let mut mel_db = Vec::new();
        let n = extractor
            .mel_db_into(y, &mut s, &mut mel_db)
            .map_err(|e| e.to_string())?;
        let mut mfcc = Vec::new();
        extractor.mfcc_from_mel_db(&mel_db, &mut mfcc);
        Ok((n, mel_db, mfcc))
    })
}

/// The clean MFCCs of any audio file, exactly as `ser features` computes a
/// clip's `clean` row: `(frames, [frames, n_mfcc])`.
pub fn clean_mfcc(path: &Path, cfg: &FeatureConfig) -> Result<(usize, Vec<f32>), String> {
    let audio = read_audio(path).map_err(|e| e.to_string())?;
    clean_mfcc_of(&audio.samples, audio.info.sample_rate, cfg)
}

/// The clean MFCCs of mono samples at `rate` Hz (resampled first, as
/// `ser features` does): `(frames, [frames, n_mfcc])`.
pub fn clean_mfcc_of(
    y: &[f32],
    rate: u32,
    cfg: &FeatureConfig,
) -> Result<(usize, Vec<f32>), String> {
    let (y, rate) = resampled(y, rate, cfg)?;
    let extractor =
        FeatureExtractor::new(rate, &cfg.mfcc).map_err(|e| format!("{e} (at {rate} Hz)"))?;
    let (n, _, mfcc) = mel_and_mfcc(&y, &extractor)?;
    Ok((n, mfcc))
}

/// Computes the rows of one clip, one per variant of
/// [`FeatureConfig::variants`] in that order (`clean`, `noisy`, then any
/// training copies). The error is one line saying why the clip was skipped
/// (the caller adds the file name).
pub fn compute_clip(
    meta: &MetadataRow,
    cfg: &FeatureConfig,
    ex: &Extractors,
) -> Result<Vec<FeatureRow>, String> {
    let (clean, to) = load_resampled(Path::new(&meta.path), cfg)?;
    let noisy = cfg.noise.apply(&clean, cfg.seed, &meta.clip_id);
    let extractor = ex.get(to)?;
    let n_mels = extractor.config().n_mels;
    let n_mfcc = extractor.config().n_mfcc;
    let row = |variant: &str, y: &[f32]| -> Result<FeatureRow, String> {
        let (n_frames, mel_db, mfcc) = mel_and_mfcc(y, extractor)?;
        Ok(FeatureRow {
            clip_id: meta.clip_id.clone(),
            variant: variant.into(),
            actor: meta.actor,
            emotion: meta.emotion,
            emotion_name: meta.emotion_name.clone(),
            gender: meta.gender.clone(),
            intensity: meta.intensity,
            statement: meta.statement,
            repetition: meta.repetition,
            fingerprint: meta.fingerprint.clone(),
            sample_rate: to as i32,
            n_frames: n_frames as i32,
            n_mfcc: n_mfcc as i32,
            mfcc,
            n_mels: if cfg.mel_db { n_mels as i32 } else { 0 },
            mel_db: cfg.mel_db.then_some(mel_db),
        })
    };
    let mut rows = vec![row("clean", &clean)?, row("noisy", &noisy)?];
    for k in 1..=cfg.augment {
        let y = augmented(
            &clean,
            to,
            cfg.seed,
            &meta.clip_id,
            k,
            &cfg.resampler,
            &cfg.ranges(),
        )?;
        rows.push(row(&format!("aug{k}"), &y)?);
    }
    Ok(rows)
}
