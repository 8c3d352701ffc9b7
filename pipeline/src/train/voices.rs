//! Other voices in the training copies, mixed per fold (`ser train
//! --voices P`): speech under speech, which the feature-domain steps can
//! only approximate.
//!
//! A share P of each training clip's copies (`aug1`..`augN`) is made again
//! from the clip's audio with one to five talkers mixed in before the
//! copy's own chain (so the voices share its room, band, codec, noise and
//! level; the chain draws as the stored copy did). The talkers are clips
//! of the fold's *training* speakers other than the clip's own: no test
//! speaker of the fold can enter its training. Needs the clips' files
//! (their paths in `metadata.parquet`).

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use store::MetadataRow;

use super::data::{Clip, Variant};
use crate::dsp::augment::augmented;
use crate::dsp::conditions::{add_at_snr, talkers};
use crate::dsp::rng::{fnv1a, Rng};
use crate::dsp::FeatureExtractor;
use crate::error::{PipelineError, Result};
use crate::features::{load_resampled, mel_and_mfcc, FeatureConfig};

/// Fewest and most talkers mixed into one copy.
const TALKERS: (usize, usize) = (1, 5);
/// Speech-to-voices ratio range, dB (over the whole clip).
const SNR_DB: (f64, f64) = (0.0, 20.0);

/// Every clip's clean samples at the feature rate, by clip index.
pub struct ClipAudio {
    rate: u32,
    samples: Vec<Vec<f32>>,
}

impl ClipAudio {
    /// Decodes every clip of `clips` from its path in `metadata` (a
    /// store's `metadata.parquet`), as `ser features` does. The error names
    /// the file and the reason.
    pub fn load(metadata: &Path, clips: &[Clip], features: &FeatureConfig) -> Result<ClipAudio> {
        let paths: HashMap<String, String> = MetadataRow::read(metadata)?
            .into_iter()
            .map(|m| (m.clip_id, m.path))
            .collect();
        let decoded: Vec<(Vec<f32>, u32)> = clips
            .par_iter()
            .map(|c| {
                let path = paths.get(&c.clip_id).ok_or_else(|| {
                    PipelineError::Config(format!(
                        "--voices mixes the clips' audio, and clip {} is not in metadata.parquet",
                        c.clip_id
                    ))
                })?;
                load_resampled(Path::new(path), features).map_err(|e| {
                    PipelineError::Config(format!("{path}: {e} (--voices mixes the clips' audio)"))
                })
            })
            .collect::<Result<_>>()?;
        let rate = decoded.first().map(|d| d.1).unwrap_or(22050);
        if let Some((_, r)) = decoded.iter().find(|d| d.1 != rate) {
            return Err(PipelineError::Config(format!(
                "--voices needs one feature rate, and the set has {rate} and {r} Hz"
            )));
        }
        Ok(ClipAudio {
            rate,
            samples: decoded.into_iter().map(|d| d.0).collect(),
        })
    }
}

/// `clips` with the copies of the fold's training clips (`train`) that
/// draw other voices (chance `p` each) made again with them; the rest as
/// stored. Seeded by (`seed`, fold `fold`, clip, copy).
#[allow(clippy::too_many_arguments)]
pub fn with_voices(
    clips: &[Clip],
    train: &[usize],
    variants: &[String],
    audio: &ClipAudio,
    features: &FeatureConfig,
    p: f64,
    seed: u64,
    fold: usize,
) -> Result<Vec<Clip>> {
    let extractor = FeatureExtractor::new(audio.rate, &features.mfcc)
        .map_err(|e| PipelineError::Config(format!("{e} (at {} Hz)", audio.rate)))?;
    let copies: Vec<(usize, &String)> = variants
        .iter()
        .filter_map(|v| FeatureConfig::copy_number(v).map(|k| (k, v)))
        .collect();
    let remade: Vec<(usize, String, Variant)> = train
        .par_iter()
        .map(|&i| {
            let c = &clips[i];
            // Gathered once a copy of the clip draws voices.
            let mut others: Option<Vec<&[f32]>> = None;
            let mut out = Vec::new();
            for &(k, name) in &copies {
                let tag = format!("{}/{fold}/{k}", c.clip_id);
                let mut rng = Rng::new(seed ^ fnv1a(tag.as_bytes()) ^ 0x0766_01ce5);
                if rng.uniform() >= p {
                    continue;
                }
                let n = TALKERS.0 + (rng.next_u64() % (TALKERS.1 - TALKERS.0 + 1) as u64) as usize;
                let snr = SNR_DB.0 + (SNR_DB.1 - SNR_DB.0) * rng.uniform();
                let y = &audio.samples[i];
                let others = others.get_or_insert_with(|| {
                    pool(clips, train, i)
                        .map(|j| audio.samples[j].as_slice())
                        .collect()
                });
                let voices = talkers(others, n, y.len(), &mut rng).map_err(bad(c))?;
                let copy = voiced_copy(y, &voices, snr, audio.rate, features, &c.clip_id, k)
                    .map_err(bad(c))?;
                let (frames, _, mfcc) = mel_and_mfcc(&copy, &extractor).map_err(bad(c))?;
                out.push((i, name.clone(), Variant { frames, mfcc }));
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut clips = clips.to_vec();
    for (i, name, v) in remade {
        clips[i].variants.insert(name, v);
    }
    Ok(clips)
}

/// Where clip `i`'s voices come from: the fold's training clips (`train`)
/// of every other speaker.
fn pool<'a>(clips: &'a [Clip], train: &'a [usize], i: usize) -> impl Iterator<Item = usize> + 'a {
    train
        .iter()
        .copied()
        .filter(move |&j| clips[j].actor != clips[i].actor)
}

/// Copy `k` of clip `clip_id` (samples `y`) with `voices` mixed in at
/// `snr` dB before the copy's chain, which draws as the stored copy's did.
fn voiced_copy(
    y: &[f32],
    voices: &[f32],
    snr: f64,
    rate: u32,
    features: &FeatureConfig,
    clip_id: &str,
    k: usize,
) -> std::result::Result<Vec<f32>, String> {
    let mixed = add_at_snr(y, voices, snr);
    augmented(
        &mixed,
        rate,
        features.seed,
        clip_id,
        k,
        &features.resampler,
        &features.ranges(),
    )
}

fn bad(c: &Clip) -> impl Fn(String) -> PipelineError + '_ {
    move |e| PipelineError::Config(format!("clip {}: {e} (--voices)", c.clip_id))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn clip(id: &str, actor: u32) -> Clip {
        Clip {
            clip_id: id.into(),
            actor,
            emotion: 1,
            gender: "female".into(),
            sample_rate: 22050,
            corpus: "ravdess".into(),
            variants: BTreeMap::new(),
        }
    }

    fn tone(hz: f32, seconds: f32) -> Vec<f32> {
        (0..(22050.0 * seconds) as usize)
            .map(|i| 0.05 * (2.0 * std::f32::consts::PI * hz * i as f32 / 22050.0).sin())
            .collect()
    }

    #[test]
    fn voices_come_from_the_folds_training_side_and_never_the_clips_own_speaker() {
        // Actors 1 and 2 train, 3 is the fold's test speaker.
        let clips: Vec<Clip> = [(1, "a"), (1, "b"), (2, "c"), (3, "d"), (2, "e")]
            .iter()
            .map(|&(actor, id)| clip(id, actor))
            .collect();
        let train = [0, 1, 2, 4];
        assert_eq!(pool(&clips, &train, 0).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(pool(&clips, &train, 2).collect::<Vec<_>>(), [0, 1]);
        for &i in &train {
            assert!(pool(&clips, &train, i).all(|j| j != 3 && clips[j].actor != clips[i].actor));
        }
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn a_copy_with_inaudible_voices_is_the_stored_copy_and_audible_ones_change_it() {
        // The chain after the voices draws as `ser features` drew the
        // stored copy: at 300 dB SNR the copy is that copy.
        let features = FeatureConfig {
            augment: 2,
            ..FeatureConfig::default()
        };
        let y = tone(220.0, 1.0);
        let voices = tone(330.0, 0.7);
        for k in 1..=2 {
            let stored = augmented(
                &y,
                22050,
                42,
                "clip",
                k,
                &features.resampler,
                &features.ranges(),
            )
            .unwrap();
            let quiet = voiced_copy(&y, &voices, 300.0, 22050, &features, "clip", k).unwrap();
            assert_eq!(stored.len(), quiet.len());
            let worst = max_diff(&stored, &quiet);
            assert!(worst < 1e-6, "copy {k}: {worst}");
            let loud = voiced_copy(&y, &voices, 0.0, 22050, &features, "clip", k).unwrap();
            assert_eq!(loud.len(), stored.len(), "the same speed");
            let peak = stored.iter().fold(0f32, |m, v| m.max(v.abs()));
            let moved = max_diff(&stored, &loud);
            assert!(
                moved > 0.1 * peak,
                "copy {k}: voices at 0 dB moved it by {moved} of {peak}"
            );
        }
    }

    #[test]
    fn a_share_of_the_copies_is_remade_seeded_by_fold() {
        let features = FeatureConfig {
            augment: 2,
            ..FeatureConfig::default()
        };
        let stored = Variant {
            frames: 1,
            mfcc: vec![0.0; 40],
        };
        let clips: Vec<Clip> = (0..8)
            .map(|i| {
                let mut c = clip(&format!("c{i}"), 1 + i % 2);
                for v in ["clean", "aug1", "aug2"] {
                    c.variants.insert(v.into(), stored.clone());
                }
                c
            })
            .collect();
        let audio = ClipAudio {
            rate: 22050,
            samples: (0..8).map(|i| tone(150.0 + 40.0 * i as f32, 0.5)).collect(),
        };
        let train: Vec<usize> = (0..8).collect();
        let variants: Vec<String> = ["clean", "aug1", "aug2"].map(String::from).to_vec();
        let remade = |p: f64, fold: usize| -> Vec<(usize, String)> {
            let out =
                with_voices(&clips, &train, &variants, &audio, &features, p, 42, fold).unwrap();
            assert!(
                out.iter().all(|c| c.variants["clean"] == stored),
                "clean is never remade"
            );
            out.iter()
                .enumerate()
                .flat_map(|(i, c)| {
                    c.variants
                        .iter()
                        .filter(|(_, v)| **v != stored)
                        .map(move |(name, _)| (i, name.clone()))
                })
                .collect()
        };
        assert!(remade(0.0, 1).is_empty());
        assert_eq!(remade(1.0, 1).len(), 16);
        let half = remade(0.5, 1);
        assert!((3..=13).contains(&half.len()), "{half:?}");
        assert_eq!(half, remade(0.5, 1), "seeded");
        assert_ne!(half, remade(0.5, 2), "each fold draws its own");
    }
}
