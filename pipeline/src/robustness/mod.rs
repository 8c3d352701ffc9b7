//! `ser robustness`: how a run's models hold when the recording changes.
//!
//! Each fold's model classifies its own test clips (the speakers it never
//! saw, in a speaker-split run) as recorded and under seeded
//! [`conditions`]: louder or quieter, band-limited, through a telephone
//! codec, in noise or babble, in a room, faster or slower. A clip is
//! decoded and resampled as `ser features` does, the condition is applied
//! to that waveform, and the rest is the run's own path (`Predictor`, as
//! `ser predict`): MFCCs, window, the fold's standardisation and model.
//! Nothing here trains or selects anything; the scores name their protocol.

mod figure;
mod scores;
pub use scores::most_answered;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use store::runs::{RobustnessClassRow, RobustnessRow};
use store::{MetadataRow, Store, TableRow};

use crate::audio::read_audio;
use crate::dsp::conditions;
pub use crate::dsp::conditions::{parse_conditions, Condition, Conditions, DEFAULT_CONDITIONS};
use crate::error::{PipelineError, Result};
use crate::features::resampled;
use crate::report::columns::{col_opt_i64, col_str, frame};
use crate::train::{resolve_run, Predictor};

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustnessConfig {
    /// Conditions, `clean` first if asked for (drops are measured from it).
    pub conditions: Vec<Condition>,
    /// Seed of every noise, room and babble draw.
    pub seed: u64,
}

impl Default for RobustnessConfig {
    fn default() -> Self {
        RobustnessConfig {
            conditions: parse_conditions(DEFAULT_CONDITIONS).unwrap_or_default(),
            seed: 7,
        }
    }
}

/// A test clip of one fold.
struct TestClip {
    fold: usize,
    clip_id: String,
    actor: i64,
    path: PathBuf,
    class: usize,
}

/// What a measurement found.
pub struct RobustnessReport {
    /// The run.
    pub run: String,
    /// How the clips were split (`speakers`: unseen speakers).
    pub split: String,
    /// Scores per fold and condition, then pooled (fold `None`).
    pub rows: Vec<RobustnessRow>,
    /// Per condition and class, over every fold's clips pooled.
    pub classes: Vec<RobustnessClassRow>,
    /// `robustness.parquet`, `robustness_classes.parquet` and the figure.
    pub written: Vec<PathBuf>,
    /// Clips that could not be read or classified, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Measures run `run` of `store` under `cfg`'s conditions and writes
/// `runs/<run>/robustness.parquet`, `robustness_classes.parquet` and
/// `figures/robustness.png`.
pub fn run_robustness(
    store: &Store,
    run: &str,
    cfg: &RobustnessConfig,
    show_progress: bool,
) -> Result<RobustnessReport> {
    let dir = resolve_run(store, run)?;
    let predictor = Predictor::load(&dir)?;
    let clips = test_clips(store, &dir, &predictor)?;
    let babble = babble_pool(&clips, &predictor, cfg.seed);
    let pb = crate::progress::bar(clips.len() as u64, "robustness", show_progress);
    let outcomes: Vec<std::result::Result<Vec<usize>, String>> = clips
        .par_iter()
        .map(|c| {
            let r = classify_under(c, &predictor, cfg, &babble);
            pb.inc(1);
            r.map_err(|e| format!("{}: {e}", c.path.display()))
        })
        .collect();
    pb.finish_and_clear();
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (c, o) in clips.iter().zip(outcomes) {
        match o {
            Ok(pred) => kept.push((c, pred)),
            Err(e) => skipped.push((c.clip_id.clone(), e)),
        }
    }
    let rows = scores::score(&predictor, cfg, &kept);
    let classes = scores::class_rows(&predictor.config.run, &predictor.config.classes, cfg, &kept);
    let table = dir.join(RobustnessRow::FILE);
    RobustnessRow::write(&table, &rows)?;
    let class_table = dir.join(RobustnessClassRow::FILE);
    RobustnessClassRow::write(&class_table, &classes)?;
    let figure = figure::draw(&dir, &predictor.config, &rows).map_err(PipelineError::Config)?;
    Ok(RobustnessReport {
        run: predictor.config.run.clone(),
        split: predictor.config.train.split.name().to_string(),
        rows,
        classes,
        written: vec![table, class_table, figure],
        skipped,
    })
}

/// Whether run folder `dir` already holds a measurement of `cfg`'s
/// conditions with its seed, per class too (so `ser reproduce` need not
/// measure again).
pub fn measured(dir: &Path, cfg: &RobustnessConfig) -> bool {
    let Ok(df) = frame(&dir.join(RobustnessRow::FILE)) else {
        return false;
    };
    let (Ok(fold), Ok(cond), Ok(seed)) = (
        col_opt_i64(&df, "fold"),
        col_str(&df, "condition"),
        col_opt_i64(&df, "seed"),
    ) else {
        return false;
    };
    let have: Vec<&String> = (0..df.height())
        .filter(|&i| fold[i].is_none() && seed[i] == Some(cfg.seed as i64))
        .map(|i| &cond[i])
        .collect();
    let want: Vec<String> = cfg.conditions.iter().map(|c| c.to_string()).collect();
    have.len() == want.len()
        && have.iter().zip(&want).all(|(a, b)| *a == b)
        && dir.join(RobustnessClassRow::FILE).is_file()
}

/// Each fold's clean test clips, from the run's `predictions.parquet`,
/// with their files from `metadata.parquet`.
fn test_clips(store: &Store, dir: &Path, p: &Predictor) -> Result<Vec<TestClip>> {
    let bad = |e: String| PipelineError::Config(format!("{}: {e}", dir.display()));
    let df = frame(&dir.join("predictions.parquet")).map_err(bad)?;
    let (fold, clip, variant, actual) = (
        col_opt_i64(&df, "fold").map_err(bad)?,
        col_str(&df, "clip_id").map_err(bad)?,
        col_str(&df, "variant").map_err(bad)?,
        col_str(&df, "actual").map_err(bad)?,
    );
    let paths: HashMap<String, (PathBuf, i64)> = MetadataRow::read(&store.metadata_path())?
        .into_iter()
        .map(|m| (m.clip_id, (PathBuf::from(m.path), m.actor as i64)))
        .collect();
    let mut out = Vec::new();
    for i in 0..df.height() {
        let (Some(k), "clean") = (fold[i], variant[i].as_str()) else {
            continue;
        };
        let Some((path, actor)) = paths.get(&clip[i]) else {
            return Err(bad(format!("clip {} is not in metadata.parquet", clip[i])));
        };
        let Some(class) = p.config.classes.iter().position(|c| *c == actual[i]) else {
            return Err(bad(format!(
                "class `{}` is not one of the run's",
                actual[i]
            )));
        };
        out.push(TestClip {
            fold: k as usize,
            clip_id: clip[i].clone(),
            actor: *actor,
            path: path.clone(),
            class,
        });
    }
    if out.is_empty() {
        return Err(bad("the run has no clean test clips".into()));
    }
    out.sort_by(|a, b| (a.fold, &a.clip_id).cmp(&(b.fold, &b.clip_id)));
    Ok(out)
}

/// Speech babble is mixed from: up to 32 test clips spread over the
/// speakers (seeded), decoded at the feature rate, with their speaker.
fn babble_pool(clips: &[TestClip], p: &Predictor, seed: u64) -> Vec<(i64, Vec<f32>)> {
    let mut order: Vec<usize> = (0..clips.len()).collect();
    let mut rng = crate::dsp::rng::Rng::new(seed ^ 0xbabb1e);
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut per_actor: HashMap<i64, usize> = HashMap::new();
    order
        .into_iter()
        .filter(|&i| {
            let n = per_actor.entry(clips[i].actor).or_default();
            *n += 1;
            *n <= 2
        })
        .take(32)
        .filter_map(|i| {
            decode(&clips[i].path, p)
                .ok()
                .map(|(y, _)| (clips[i].actor, y))
        })
        .collect()
}

/// A clip decoded and resampled as `ser features` does.
fn decode(path: &Path, p: &Predictor) -> std::result::Result<(Vec<f32>, u32), String> {
    let audio = read_audio(path).map_err(|e| e.to_string())?;
    resampled(&audio.samples, audio.info.sample_rate, &p.config.features)
}

/// The class the clip's fold model predicts under each condition.
fn classify_under(
    c: &TestClip,
    p: &Predictor,
    cfg: &RobustnessConfig,
    babble: &[(i64, Vec<f32>)],
) -> std::result::Result<Vec<usize>, String> {
    let (y, rate) = decode(&c.path, p)?;
    let others: Vec<&[f32]> = babble
        .iter()
        .filter(|(actor, _)| *actor != c.actor)
        .map(|(_, y)| y.as_slice())
        .collect();
    let with = conditions::Apply {
        seed: cfg.seed,
        clip_id: &c.clip_id,
        babble: &others,
    };
    cfg.conditions
        .iter()
        .map(|cond| {
            let (y, rate) = cond.apply(&y, rate, &with)?;
            let probs = p
                .predict_samples(&y, rate, Some(c.fold))
                .map_err(|e| e.to_string())?;
            Ok(models::argmax(&probs))
        })
        .collect()
}
