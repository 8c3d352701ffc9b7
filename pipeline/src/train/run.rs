//! `ser train`: load a feature set, split, train each fold, write the run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use models::split::{actor_folds, balanced_groups, emobox_groups, random_split, SplitClip};
use models::zoo::{encode_safetensors, NamedTensor};
use models::{Metrics, TrainConfig, TrainEvent};
use polars::prelude::DataFrame;
use store::manifest::FeatureSetEntry;
use store::runs::{self, PredictionRow, SummaryRow};
use store::{LockMode, Store};

use super::config::{RunConfig, SplitKind, TrainStageConfig, Window, TRAIN_CODE_VERSION};
use super::data::{
    auto_window, data_fingerprint, dataset, load_clips, Clip, Framing, Standardizer,
};
use super::tables::{Pooled, Tables};
use crate::error::{PipelineError, Result};
use crate::features::FeatureConfig;

/// The two test copies, reported separately.
pub const TEST_VARIANTS: [&str; 2] = ["clean", "noisy"];

/// How to run the stage.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Retrain even if a finished run of the same name exists.
    pub force: bool,
    /// Draw a progress bar.
    pub show_progress: bool,
}

/// What a training run did.
#[derive(Debug)]
pub struct TrainOutcome {
    /// Run name.
    pub run: String,
    /// `runs/<run>/`.
    pub dir: PathBuf,
    /// A finished run of that name existed and was reused.
    pub reused: bool,
    /// `summary.parquet`.
    pub summary: DataFrame,
}

/// Picks the feature set: the one asked for, the store's only one, or the
/// one the default feature config computes.
pub fn pick_set(store: &Store, want: Option<&str>) -> Result<(String, FeatureSetEntry)> {
    let manifest = store.latest_manifest()?;
    let ids: Vec<&String> = manifest.sets.keys().collect();
    let id = match want {
        Some(id) => id.to_string(),
        None if ids.len() == 1 => ids[0].clone(),
        None if manifest.sets.contains_key(&FeatureConfig::default().id()) => {
            FeatureConfig::default().id()
        }
        None if ids.is_empty() => {
            return Err(PipelineError::Config(format!(
                "no feature sets in {}: run `ser features` first",
                store.root().display()
            )))
        }
        None => {
            return Err(PipelineError::Config(format!(
                "several feature sets ({}): pick one with --set",
                ids.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let entry = manifest.sets.get(&id).cloned().ok_or_else(|| {
        PipelineError::Config(format!(
            "feature set `{id}` not in the store (have: {})",
            ids.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok((id, entry))
}

/// The feature config a set hashes (`features/set=<id>/config.json`).
pub(crate) fn read_feature_config(store: &Store, set: &str) -> Result<FeatureConfig> {
    let path = store.set_dir(set).join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))
}

/// Trains (or reuses) the run that `cfg` names on the store's feature set.
pub fn run_train(
    store: &Store,
    cfg: &TrainStageConfig,
    opts: &TrainOptions,
) -> Result<TrainOutcome> {
    cfg.validate().map_err(PipelineError::Config)?;
    let _lock = store.lock(LockMode::Shared, "ser train")?;
    let (set_id, entry) = pick_set(store, cfg.feature_set.as_deref())?;
    let features = read_feature_config(store, &set_id)?;
    let fingerprint = data_fingerprint(&set_id, &entry);
    let parts: usize = entry.shards.values().map(|s| s.parts.len()).sum();
    let pb = crate::progress::bar(parts as u64, "load", opts.show_progress);
    let clips = load_clips(store, &set_id, &entry, || pb.inc(1))?;
    pb.finish_and_clear();
    let window = match cfg.window {
        Window::Frames(n) => n,
        Window::Auto => auto_window(&clips, cfg.model.min_frames()),
    };
    let run = RunConfig::name_for(cfg, window, &set_id, &fingerprint);
    let dir = store.run_dir(&run);
    if !opts.force && dir.join("summary.parquet").exists() {
        return Ok(TrainOutcome {
            summary: runs::read_summary(&dir.join("summary.parquet"))?,
            run,
            dir,
            reused: true,
        });
    }

    // Labels and folds over clips (a clip's copies travel together).
    let names = cfg.labels.classes();
    let mut kept: Vec<Clip> = Vec::with_capacity(clips.len());
    let mut classes = Vec::with_capacity(clips.len());
    for c in clips {
        if let Some(k) = cfg.labels.class_of(c.emotion, &c.gender) {
            classes.push(k);
            kept.push(c);
        }
    }
    let clips = kept;
    if clips.is_empty() {
        return Err(PipelineError::Config(format!(
            "feature set {set_id} has no clips with {} labels",
            cfg.labels.name()
        )));
    }
    let split_clips: Vec<SplitClip> = clips
        .iter()
        .zip(&classes)
        .map(|(c, &class)| SplitClip {
            clip_id: c.clip_id.clone(),
            actor: c.actor,
            gender: c.gender.clone(),
            class,
        })
        .collect();
    let mut folds = match cfg.split {
        SplitKind::Random => vec![random_split(
            &split_clips,
            cfg.test_fraction,
            cfg.split_seed,
        )],
        SplitKind::Actors => {
            let groups = match cfg.folds {
                Some(k) => balanced_groups(&split_clips, k),
                None => emobox_groups(),
            };
            actor_folds(&split_clips, &groups)
        }
    };
    folds.retain(|f| !f.train.is_empty() && !f.test.is_empty());
    folds.truncate(cfg.max_folds.unwrap_or(usize::MAX));
    if folds.is_empty() {
        return Err(PipelineError::Config(
            "the split has no fold with clips on both sides (too few actors?)".into(),
        ));
    }

    let (epochs, batch_size) = cfg.schedule();
    let config = RunConfig {
        run: run.clone(),
        code: TRAIN_CODE_VERSION,
        train: cfg.clone(),
        epochs,
        batch_size,
        window,
        classes: names.clone(),
        feature_set: set_id.clone(),
        features,
        data_fingerprint: fingerprint,
        clips: clips.len(),
        folds: folds.iter().map(|f| f.number).collect(),
        test_actors: folds
            .iter()
            .map(|f| {
                let mut a: Vec<u32> = f.test.iter().map(|&i| clips[i].actor).collect();
                a.sort_unstable();
                a.dedup();
                a
            })
            .collect(),
    };

    let steps_per_epoch = |n: usize| n.div_ceil(batch_size);
    let total: usize = folds
        .iter()
        .map(|f| epochs * steps_per_epoch(f.train.len() * cfg.train_variants.len()))
        .sum();
    let pb = crate::progress::bar(total as u64, cfg.model.name(), opts.show_progress);
    let log_lines = opts.show_progress && pb.is_hidden();
    let test_variants: Vec<String> = TEST_VARIANTS.iter().map(|s| s.to_string()).collect();
    let mut tables = Tables::new(&run, &names);
    let mut pooled = Pooled::default();
    let mut weights: Vec<NamedTensor> = Vec::new();
    let framing = Framing {
        window,
        crop: cfg.crop,
    };
    for (n, fold) in folds.iter().enumerate() {
        let t0 = Instant::now();
        let k = fold.number; // 1-based, as users see it
        let clips_ref = &clips;
        let norm = Standardizer::fit(
            fold.train.iter().flat_map(|&i| {
                cfg.train_variants
                    .iter()
                    .filter_map(move |v| clips_ref[i].variants.get(v))
            }),
            framing,
        );
        let (train_set, _) = dataset(
            &clips,
            &fold.train,
            &classes,
            &cfg.train_variants,
            &norm,
            framing,
        );
        let (test_set, which) =
            dataset(&clips, &fold.test, &classes, &test_variants, &norm, framing);
        let seed = cfg.seed.wrapping_add(k as u64 - 1);
        let tc = TrainConfig {
            loss: cfg.loss,
            ..TrainConfig::new(epochs, batch_size, cfg.lr, seed)
        };
        let mut net = models::build(cfg.model, names.len(), cfg.kernel, seed, cfg.init)?;
        let mut last_test = f64::NAN;
        let history = net.fit(&train_set, &test_set, &tc, &mut |ev| match ev {
            TrainEvent::Step {
                epoch,
                loss,
                accuracy,
                ..
            } => {
                pb.inc(1);
                pb.set_message(format!(
                    "fold {}/{} epoch {epoch}/{epochs} loss {loss:.3} acc {accuracy:.3} test acc {last_test:.3}",
                    n + 1,
                    folds.len()
                ));
            }
            TrainEvent::Epoch(r) if r.split == "test" => {
                last_test = r.accuracy;
                // No terminal (a log file, CI): a plain line now and then instead of the bar.
                if log_lines && (r.epoch == 1 || r.epoch % 10 == 0 || r.epoch == epochs) {
                    eprintln!(
                        "{}: fold {}/{} epoch {}/{epochs}: test loss {:.3} acc {:.3} uar {:.3}",
                        cfg.model.name(),
                        n + 1,
                        folds.len(),
                        r.epoch,
                        r.loss,
                        r.accuracy,
                        r.uar
                    );
                }
            }
            TrainEvent::Epoch(_) => {}
        })?;
        tables.history(k, &history);
        let (_, train_m) = net.evaluate(&train_set, &tc)?;
        let probs = net.predict(&test_set, batch_size)?;
        let pred: Vec<usize> = probs.iter().map(|p| models::argmax(p)).collect();
        let mut preds = Vec::with_capacity(pred.len());
        for (((ci, variant), p), &y) in which.iter().zip(&probs).zip(&pred) {
            let clip = &clips[*ci];
            preds.push(PredictionRow {
                run: run.clone(),
                fold: k as i32,
                clip_id: clip.clip_id.clone(),
                variant: variant.clone(),
                actor: clip.actor as i32,
                actual: names[classes[*ci]].clone(),
                predicted: names[y].clone(),
                probabilities: p.clone(),
            });
        }
        let by_variant = tables.scores(Some(k), &test_set.labels, &pred, &which);
        pooled.add(&test_set.labels, &pred, &which);
        tables.summary(SummaryRow {
            run: run.clone(),
            model: cfg.model.name().into(),
            labels: cfg.labels.name().into(),
            split: cfg.split.name().into(),
            fold: Some(k as i32),
            epochs: epochs as i32,
            train_accuracy: train_m.accuracy,
            test_accuracy: by_variant.all.accuracy,
            test_uar: by_variant.all.uar,
            test_macro_f1: by_variant.all.macro_f1,
            test_accuracy_clean: by_variant.clean.accuracy,
            test_accuracy_noisy: by_variant.noisy.accuracy,
            n_train: train_set.len() as i64,
            n_test: test_set.len() as i64,
            seconds: t0.elapsed().as_secs_f64(),
        });
        tables.predictions.extend(preds);
        weights.extend(net.weights(&format!("fold{k}/")));
        weights.push(NamedTensor {
            name: format!("fold{k}/norm.mean"),
            shape: vec![norm.mean.len()],
            data: norm.mean.clone(),
        });
        weights.push(NamedTensor {
            name: format!("fold{k}/norm.std"),
            shape: vec![norm.std.len()],
            data: norm.std.clone(),
        });
        let line = format!(
            "fold {}/{} (test actors {:?}): train acc {:.3}, test acc {:.3} (clean {:.3}, noisy {:.3}), UAR {:.3}, {:.0}s",
            n + 1,
            folds.len(),
            config.test_actors[n],
            train_m.accuracy,
            by_variant.all.accuracy,
            by_variant.clean.accuracy,
            by_variant.noisy.accuracy,
            by_variant.all.uar,
            t0.elapsed().as_secs_f64()
        );
        if log_lines {
            eprintln!("{line}");
        } else {
            pb.println(line);
        }
    }
    pb.finish_and_clear();
    tables.pooled(&pooled);
    tables.mean_summary();

    let stage = store.stage_run(&run)?;
    store.write_json(&stage.path("config.json"), &config)?;
    tables.write(&stage)?;
    let meta = HashMap::from([
        ("run".to_string(), run.clone()),
        ("model".to_string(), cfg.model.name().to_string()),
        ("classes".to_string(), names.join(",")),
        ("window".to_string(), window.to_string()),
    ]);
    let bytes = encode_safetensors(&weights, meta)?;
    store::atomic::write_bytes_atomic(&stage.path("model.safetensors"), &bytes)?;
    let dir = stage.publish()?;
    Ok(TrainOutcome {
        summary: runs::read_summary(&dir.join("summary.parquet"))?,
        run,
        dir,
        reused: false,
    })
}

/// Metrics of the test side, all copies and each variant.
pub(crate) struct ByVariant {
    pub all: Metrics,
    pub clean: Metrics,
    pub noisy: Metrics,
}
