//! One fold: train it, score its test side, and keep the result under
//! `runs/.folds/<run>/fold-<k>/` until the run is collected. A fold's
//! result holds everything the run's tables need (history, predictions,
//! train accuracy, timing) plus its weights and standardisation.

use std::time::Instant;

use models::test_warp::predict_heard;
use models::zoo::{encode_safetensors, read_tensors, NamedTensor};
use models::{EpochRecord, Metrics, ModelError, TrainConfig, TrainError, TrainEvent};
use serde::{Deserialize, Serialize};
use store::Store;

use super::config::RunConfig;
use super::plan::TrainPlan;
use crate::error::{PipelineError, Result};

/// A side's scores after an epoch (a `history.parquet` row without the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochScores {
    /// 1-based epoch.
    pub epoch: usize,
    /// `train` or `test`.
    pub split: String,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Unweighted average recall.
    pub uar: f64,
    /// Seconds.
    pub seconds: f64,
}

impl From<&EpochRecord> for EpochScores {
    fn from(r: &EpochRecord) -> Self {
        EpochScores {
            epoch: r.epoch,
            split: r.split.to_string(),
            loss: r.loss,
            accuracy: r.accuracy,
            uar: r.uar,
            seconds: r.seconds,
        }
    }
}

/// One test example's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestPrediction {
    /// Clip id.
    pub clip_id: String,
    /// `clean` or `noisy`.
    pub variant: String,
    /// Actor.
    pub actor: u32,
    /// True class index.
    pub actual: usize,
    /// Predicted class index.
    pub predicted: usize,
    /// Probability per class.
    pub probabilities: Vec<f32>,
}

/// What a trained fold leaves for the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// Fold number (from 1).
    pub fold: usize,
    /// Its test actors.
    pub test_actors: Vec<u32>,
    /// Per-epoch scores, train and test.
    pub history: Vec<EpochScores>,
    /// Accuracy on the training side after training (dropout off).
    pub train_accuracy: f64,
    /// Training examples.
    pub n_train: usize,
    /// Seconds of training and evaluation.
    pub seconds: f64,
    /// Every test example's prediction.
    pub predictions: Vec<TestPrediction>,
}

impl FoldResult {
    /// Metrics of its test side: all copies, then clean, then noisy.
    pub fn scores(&self, classes: usize) -> [Metrics; 3] {
        let pick = |v: Option<&str>| {
            let (a, p): (Vec<usize>, Vec<usize>) = self
                .predictions
                .iter()
                .filter(|r| v.is_none_or(|v| r.variant == v))
                .map(|r| (r.actual, r.predicted))
                .unzip();
            Metrics::compute(&a, &p, classes)
        };
        [pick(None), pick(Some("clean")), pick(Some("noisy"))]
    }

    /// The first value that is NaN or infinite (JSON would write it as
    /// `null`, which no reader takes back), named; `None` if all are finite.
    pub fn first_non_finite(&self) -> Option<String> {
        let scores = self.history.iter().find_map(|h| {
            [("loss", h.loss), ("accuracy", h.accuracy), ("uar", h.uar)]
                .into_iter()
                .find(|(_, v)| !v.is_finite())
                .map(|(what, v)| format!("{} {what} {v} in epoch {}", h.split, h.epoch))
        });
        scores
            .or_else(|| {
                (!self.train_accuracy.is_finite())
                    .then(|| format!("train accuracy {}", self.train_accuracy))
            })
            .or_else(|| {
                self.predictions.iter().find_map(|p| {
                    p.probabilities
                        .iter()
                        .find(|v| !v.is_finite())
                        .map(|v| format!("probability {v} for clip {}", p.clip_id))
                })
            })
    }
}

/// The models crate's training settings for a run, with `seed`.
pub fn train_config(c: &RunConfig, seed: u64) -> TrainConfig {
    let r = c.resolved();
    TrainConfig {
        loss: c.train.loss,
        adam_eps: c.train.adam_eps,
        weight_decay: r.weight_decay,
        schedule: r.schedule,
        label_smoothing: r.label_smoothing,
        augment: r.augment,
        mixup: r.mixup,
        swa: r.swa,
        ..TrainConfig::new(r.epochs, r.batch_size, r.lr, seed)
    }
}

/// The seed of member `j` of a fold whose first model has `seed`: member 0
/// keeps it, so a one-member run trains exactly as before members existed.
pub fn member_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add(1_000_003u64.wrapping_mul(j as u64))
}

/// The weight-name prefix of member `j` of fold `k`: `fold<k>/` for the
/// first, `fold<k>/m<j>/` for the others.
pub fn member_prefix(k: usize, j: usize) -> String {
    if j == 0 {
        format!("fold{k}/")
    } else {
        format!("fold{k}/m{j}/")
    }
}

/// One trained member: its history, train accuracy, test probabilities
/// and weights.
struct Member {
    history: Vec<EpochRecord>,
    train_accuracy: f64,
    probs: Vec<Vec<f32>>,
    weights: Vec<NamedTensor>,
}

/// Trains member `j` of fold `k` on `data`; its test probabilities are the
/// mean over the test side and its `warped` versions (the run's test-time
/// warp; none: the test side alone).
fn train_member(
    plan: &TrainPlan,
    k: usize,
    j: usize,
    data: &super::plan::FoldData,
    warped: &[models::Dataset],
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Member> {
    let cfg = &plan.config.train;
    let seed = member_seed(cfg.seed.wrapping_add(k as u64 - 1), j);
    let mut tc = train_config(&plan.config, seed);
    super::steps::attach(&plan.config, &data.norm, &mut tc);
    let classes = plan.config.classes.len();
    let attention = plan.config.resolved().attention;
    let mut net = models::build(cfg.model, classes, cfg.kernel, attention, seed, cfg.init)?;
    let history = net
        .fit(&data.train, &data.test, &tc, on_event)
        .map_err(|e| match e {
            ModelError::Train(source @ TrainError::Diverged { .. }) => PipelineError::Diverged {
                run: plan.run().to_string(),
                fold: k,
                source,
            },
            other => PipelineError::Model(other),
        })?;
    let (_, train_m) = net.evaluate(&data.train, &tc)?;
    let probs = predict_heard(net.as_ref(), &data.test, warped, plan.config.batch_size)?;
    Ok(Member {
        history,
        train_accuracy: train_m.accuracy,
        probs,
        weights: net.weights(&member_prefix(k, j)),
    })
}

/// Trains fold `k` of `plan` (each of its members, in turn); `on_event`
/// sees every step and epoch. Returns the result and the weights
/// ([`member_prefix`]`…`, with `fold<k>/norm.mean` and `norm.std`). With
/// several members, test probabilities are their mean, and the history
/// and train accuracy the mean of theirs (seconds summed).
pub fn train_fold(
    plan: &TrainPlan,
    k: usize,
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<(FoldResult, Vec<NamedTensor>)> {
    let t0 = Instant::now();
    let fold = plan
        .fold(k)
        .ok_or_else(|| PipelineError::Config(format!("run {} has no fold {k}", plan.run())))?;
    let data = plan.fold_data(fold)?;
    // The test side as the run's test-time warp hears it, warped once for
    // every member.
    let warped = super::steps::test_warp(&plan.config, &data.norm)
        .map(|w| w.warped_versions(&data.test))
        .unwrap_or_default();
    let n = plan.config.resolved().members.max(1);
    let mut members = Vec::with_capacity(n);
    for j in 0..n {
        members.push(train_member(plan, k, j, &data, &warped, on_event)?);
    }
    let probs = mean_probabilities(&members);
    let predictions = data
        .which
        .iter()
        .zip(probs)
        .map(|((ci, variant), p)| {
            let clip = &plan.clips[*ci];
            TestPrediction {
                clip_id: clip.clip_id.clone(),
                variant: variant.clone(),
                actor: clip.actor,
                actual: plan.classes[*ci],
                predicted: models::argmax(&p),
                probabilities: p,
            }
        })
        .collect();
    let mut weights: Vec<NamedTensor> = Vec::new();
    for m in &mut members {
        weights.append(&mut m.weights);
    }
    for (name, v) in [("mean", &data.norm.mean), ("std", &data.norm.std)] {
        weights.push(NamedTensor {
            name: format!("fold{k}/norm.{name}"),
            shape: vec![v.len()],
            data: v.clone(),
        });
    }
    let result = FoldResult {
        fold: k,
        test_actors: plan
            .folds
            .iter()
            .position(|f| f.number == k)
            .map(|i| plan.config.test_actors[i].clone())
            .unwrap_or_default(),
        history: mean_history(&members),
        train_accuracy: members.iter().map(|m| m.train_accuracy).sum::<f64>() / n as f64,
        n_train: data.train.len(),
        seconds: t0.elapsed().as_secs_f64(),
        predictions,
    };
    Ok((result, weights))
}

/// The members' mean probabilities per test example (one member's own,
/// untouched, when there is one).
fn mean_probabilities(members: &[Member]) -> Vec<Vec<f32>> {
    let Some((first, rest)) = members.split_first() else {
        return Vec::new();
    };
    if rest.is_empty() {
        return first.probs.clone();
    }
    let n = members.len() as f32;
    (0..first.probs.len())
        .map(|i| {
            let mut p = vec![0f32; first.probs[i].len()];
            for m in members {
                for (acc, q) in p.iter_mut().zip(&m.probs[i]) {
                    *acc += q / n;
                }
            }
            p
        })
        .collect()
}

/// The members' mean scores per epoch and side (seconds summed).
fn mean_history(members: &[Member]) -> Vec<EpochScores> {
    let Some(first) = members.first() else {
        return Vec::new();
    };
    let n = members.len() as f64;
    first
        .history
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut s = EpochScores::from(r);
            if members.len() > 1 {
                let rows: Vec<&EpochRecord> =
                    members.iter().filter_map(|m| m.history.get(i)).collect();
                s.loss = rows.iter().map(|r| r.loss).sum::<f64>() / n;
                s.accuracy = rows.iter().map(|r| r.accuracy).sum::<f64>() / n;
                s.uar = rows.iter().map(|r| r.uar).sum::<f64>() / n;
                s.seconds = rows.iter().map(|r| r.seconds).sum::<f64>();
            }
            s
        })
        .collect()
}

/// Keeps a trained fold under `runs/.folds/<run>/fold-<k>/`, atomically.
/// A result holding a NaN or infinite value is refused (nothing is
/// written): it could not be read back.
pub fn save_fold(store: &Store, run: &str, r: &FoldResult, weights: &[NamedTensor]) -> Result<()> {
    if let Some(what) = r.first_non_finite() {
        return Err(PipelineError::Config(format!(
            "run {run}, fold {}: not kept, it holds a {what} (training diverged?): try a lower --lr",
            r.fold
        )));
    }
    let stage = store.stage_fold(run, r.fold)?;
    store.write_json(&stage.path("fold.json"), r)?;
    let bytes = encode_safetensors(weights, Default::default())?;
    store::atomic::write_bytes_atomic(&stage.path("weights.safetensors"), &bytes)?;
    stage.publish()?;
    Ok(())
}

/// Reads back a fold [`save_fold`] kept. A file that does not read back
/// is a [`PipelineError::DamagedRun`] saying to train the fold again.
pub fn load_fold(store: &Store, run: &str, k: usize) -> Result<(FoldResult, Vec<NamedTensor>)> {
    let dir = store.fold_dir(run, k);
    let damaged = |path: &std::path::Path, reason: &dyn std::fmt::Display| {
        PipelineError::damaged_run(
            path,
            reason,
            format!(
                "train fold {k} again: `ser train` with the run's flags (and `--fold {k}` \
                 in a job array) retrains it"
            ),
        )
    };
    let path = dir.join("fold.json");
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
    let r: FoldResult = serde_json::from_str(&text).map_err(|e| damaged(&path, &e))?;
    if r.fold != k {
        let why = format!("it holds fold {}, not fold {k}", r.fold);
        return Err(damaged(&path, &why));
    }
    let path = dir.join("weights.safetensors");
    let bytes = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
    let weights = read_tensors(&bytes).map_err(|e| damaged(&path, &e))?;
    Ok((r, weights))
}

/// A kept fold that cannot be read back (e.g. the `"loss": null` that an
/// older `ser` wrote for a diverged fold), and why.
#[derive(Debug)]
pub struct UnreadableFold {
    /// Fold number (from 1).
    pub fold: usize,
    /// Why (the error names the file).
    pub error: PipelineError,
}

/// Where a run's folds stand: kept under `runs/.folds/<run>/` and
/// readable, kept but unreadable, and left to train. The one answer to
/// "which folds are left".
#[derive(Debug)]
pub struct KeptFolds {
    /// Kept folds that read back whole, sorted.
    pub done: Vec<usize>,
    /// Kept folds that do not: they count as absent (training one again
    /// replaces it).
    pub unreadable: Vec<UnreadableFold>,
    /// The run's folds not in `done`, in the run's order.
    pub left: Vec<usize>,
}

impl KeptFolds {
    /// Reads back every kept fold of the run `config` names.
    pub fn read(store: &Store, config: &RunConfig) -> Result<KeptFolds> {
        let (mut done, mut unreadable) = (Vec::new(), Vec::new());
        for k in store.folds_done(&config.run)? {
            match load_fold(store, &config.run, k) {
                Ok(_) => done.push(k),
                Err(error) => unreadable.push(UnreadableFold { fold: k, error }),
            }
        }
        let left = config
            .folds
            .iter()
            .copied()
            .filter(|k| !done.contains(k))
            .collect();
        Ok(KeptFolds {
            done,
            unreadable,
            left,
        })
    }
}
