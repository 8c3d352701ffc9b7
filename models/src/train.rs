//! The training loop: minibatches shuffled with a fixed seed, Adam,
//! cross-entropy (or the paper's "mean squared error" on softmax outputs),
//! and per-epoch loss / accuracy / UAR on the train and test sides.
//! Arrays in, history and probabilities out; no files.

use std::time::Instant;

use dfdx::optim::{Adam, Optimizer};
use dfdx::prelude::*;

use crate::average::{refresh_batch_norm, WeightAverage, SWA_LR};
use crate::babble::FeatureBabble;
pub use crate::classifier::Classifier;
pub use crate::dataset::Dataset;
use crate::dataset::N_MFCC;
use crate::gain::FeatureGain;
use crate::layers::Logits;
use crate::metrics::Metrics;
use crate::mic::FeatureMic;
use crate::mixup::Mixup;
use crate::reverb::FeatureReverb;
use crate::split::SplitMix;
use crate::talkers::FrameTalkers;
use crate::warp::FeatureWarp;

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor operation failed (e.g. out of memory).
    #[error("tensor computation failed: {0:?}")]
    Tensor(CpuError),
    /// The optimizer could not update the weights.
    #[error("optimizer update failed: {0}")]
    Update(String),
    /// A loss became NaN or infinite: the weights blew up (usually a
    /// learning rate too high for the model), and nothing more can be learned.
    #[error(
        "training diverged in epoch {epoch}{where_}: the {split} loss is {loss} \
         (the weights blew up); try a lower --lr",
        where_ = .step.map(|s| format!(", step {s}")).unwrap_or_default()
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch (training side), or `None` (the
        /// test side's evaluation after the epoch).
        step: Option<usize>,
        /// `train` or `test`.
        split: &'static str,
        /// The loss seen (NaN or infinite).
        loss: f64,
    },
}

impl From<CpuError> for TrainError {
    fn from(e: CpuError) -> Self {
        TrainError::Tensor(e)
    }
}

/// The loss minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Cross-entropy on logits.
    CrossEntropy,
    /// Mean squared error between softmax outputs and one-hot targets (the paper's wording).
    Mse,
}

impl std::str::FromStr for Loss {
    type Err = String;

    /// Parses `cross-entropy` (or `ce`) or `mse`.
    fn from_str(s: &str) -> Result<Loss, String> {
        match s {
            "cross-entropy" | "ce" => Ok(Loss::CrossEntropy),
            "mse" => Ok(Loss::Mse),
            _ => Err(format!("unknown loss `{s}`: use cross-entropy or mse")),
        }
    }
}

impl std::fmt::Display for Loss {
    /// The name [`FromStr`](std::str::FromStr) accepts (as in configs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "mse",
        })
    }
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Epochs.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Shuffle seed.
    pub seed: u64,
    /// Loss.
    pub loss: Loss,
    /// Adam's epsilon (Keras: 1e-7; dfdx and PyTorch: 1e-8).
    pub adam_eps: f64,
    /// Decoupled weight decay (AdamW); 0 for plain Adam.
    pub weight_decay: f64,
    /// Learning rate over the run.
    pub schedule: Schedule,
    /// Target smoothing: the true class gets `1 - s`, every class `s / N`
    /// (cross-entropy only; 0 for one-hot targets).
    pub label_smoothing: f64,
    /// Let the model augment its training batches ([`Classifier::augment`]).
    pub augment: bool,
    /// Mixup of training batches ([`crate::mixup::Mixup`]): Beta's alpha,
    /// 0 for none.
    pub mixup: f64,
    /// Babble of training batches in the feature domain, if any.
    pub babble: Option<FeatureBabble>,
    /// Stochastic weight averaging ([`crate::average`]): the share of the
    /// epochs, at the end, trained at [`SWA_LR`] x `lr` and averaged (one
    /// point per epoch); the schedule runs over the epochs before them.
    /// 0 for none.
    pub swa: f64,
    /// Vocal-tract-length perturbation of training batches in the feature
    /// domain ([`crate::warp`]), if any.
    pub warp: Option<FeatureWarp>,
    /// A random gain of training batches in the feature domain
    /// ([`crate::gain`]), if any.
    pub gain: Option<FeatureGain>,
    /// Other talkers in the quiet frames of training examples
    /// ([`crate::talkers`]), if any.
    pub talkers: Option<FrameTalkers>,
    /// Rooms for training examples ([`crate::reverb`]), if any.
    pub reverb: Option<FeatureReverb>,
    /// Microphones for training examples ([`crate::mic`]), if any.
    pub mic: Option<FeatureMic>,
}

/// How the learning rate moves during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// `lr` throughout (the paper's).
    #[default]
    Constant,
    /// One cycle: linear warm-up from `lr / 25` to `lr` over the first 30 %
    /// of the steps, then cosine down to `lr / 1e4` (Smith's one-cycle,
    /// PyTorch's `OneCycleLR` defaults).
    OneCycle,
}

impl std::str::FromStr for Schedule {
    type Err = String;

    /// Parses `constant` or `one-cycle`.
    fn from_str(s: &str) -> Result<Schedule, String> {
        match s {
            "constant" => Ok(Schedule::Constant),
            "one-cycle" => Ok(Schedule::OneCycle),
            _ => Err(format!("unknown schedule `{s}`: use constant or one-cycle")),
        }
    }
}

impl std::fmt::Display for Schedule {
    /// The name [`FromStr`](std::str::FromStr) accepts (as in configs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Schedule::Constant => "constant",
            Schedule::OneCycle => "one-cycle",
        })
    }
}

impl Schedule {
    /// The learning rate at `step` of `total` (0-based) for peak `lr`.
    pub fn lr_at(self, lr: f64, step: usize, total: usize) -> f64 {
        match self {
            Schedule::Constant => lr,
            Schedule::OneCycle => {
                let total = total.max(1) as f64;
                let warm = (0.3 * total).max(1.0);
                let s = step as f64;
                if s < warm {
                    lr / 25.0 + (lr - lr / 25.0) * s / warm
                } else {
                    let p = ((s - warm) / (total - warm).max(1.0)).min(1.0);
                    let low = lr / 1e4;
                    low + (lr - low) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
                }
            }
        }
    }
}

impl TrainConfig {
    /// Epochs of the averaging phase: `swa` of `epochs`, at least one when
    /// `swa` > 0, and never all of them.
    pub fn swa_epochs(&self) -> usize {
        if self.swa <= 0.0 || self.epochs < 2 {
            return 0;
        }
        ((self.swa * self.epochs as f64).round() as usize).clamp(1, self.epochs - 1)
    }

    /// The learning rate at `step` (0-based, counted over the whole run)
    /// of a run of `steps` steps per epoch: the schedule over the epochs
    /// before the averaging phase, then [`SWA_LR`] x `lr`.
    pub fn lr_at(&self, step: usize, steps: usize) -> f64 {
        let main = (self.epochs - self.swa_epochs()) * steps;
        if step < main {
            self.schedule.lr_at(self.lr, step, main)
        } else {
            self.lr * SWA_LR
        }
    }

    /// The paper's optimiser (Adam, `lr`) with Keras' epsilon, cross-entropy.
    pub fn new(epochs: usize, batch_size: usize, lr: f64, seed: u64) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size,
            lr,
            seed,
            loss: Loss::CrossEntropy,
            adam_eps: 1e-7,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            label_smoothing: 0.0,
            augment: true,
            mixup: 0.0,
            babble: None,
            swa: 0.0,
            warp: None,
            gain: None,
            talkers: None,
            reverb: None,
            mic: None,
        }
    }
}

/// One row of the history: a side's scores after an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// `train` or `test`.
    pub split: &'static str,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Unweighted average recall.
    pub uar: f64,
    /// Seconds spent on the epoch (training, for `train`; evaluation, for `test`).
    pub seconds: f64,
}

fn loss_of<T: Tape<f32, Cpu>>(
    logits: Logits<f32, Cpu, T>,
    y: Logits<f32, Cpu, NoneTape>,
    loss: Loss,
) -> Tensor<Rank0, f32, Cpu, T> {
    match loss {
        Loss::CrossEntropy => cross_entropy_with_logits_loss(logits, y),
        Loss::Mse => mse_loss(logits.softmax::<Axis<1>>(), y),
    }
}

/// Targets `[b, n]`: one-hot, or smoothed (`1 - s` on the class plus
/// `s / n` everywhere).
fn targets(labels: &[usize], n: usize, smoothing: f64, dev: &Cpu) -> Logits<f32, Cpu, NoneTape> {
    dev.tensor_from_vec(
        target_values(labels, n, smoothing),
        (labels.len(), n.max(1)),
    )
}

/// The values of [`targets`], row by row.
fn target_values(labels: &[usize], n: usize, smoothing: f64) -> Vec<f32> {
    let n = n.max(1);
    let s = smoothing as f32;
    let mut v = vec![s / n as f32; labels.len() * n];
    for (i, &c) in labels.iter().enumerate() {
        v[i * n + c.min(n - 1)] += 1.0 - s;
    }
    v
}

/// Class probabilities of every example (one row of
/// [`Classifier::classes`] values each), in batches.
pub fn predict<M: Classifier>(
    model: &M,
    dev: &Cpu,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<Vec<f32>>, CpuError> {
    let n = model.classes();
    let idx: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len());
    for chunk in idx.chunks(batch_size.max(1)) {
        let (x, lengths) = data.batch(chunk, dev);
        let p = model
            .logits(x, &lengths, false)?
            .softmax::<Axis<1>>()
            .as_vec();
        out.extend(p.chunks_exact(n).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Mean loss and metrics of `model` on `data` (dropout off).
pub fn evaluate<M: Classifier>(
    model: &M,
    dev: &Cpu,
    data: &Dataset,
    cfg: &TrainConfig,
) -> Result<(f64, Metrics), CpuError> {
    let n = model.classes();
    // One forward pass per batch gives both the loss and the predictions.
    let mut loss = 0.0;
    let mut pred = Vec::with_capacity(data.len());
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(cfg.batch_size.max(1)) {
        let labels: Vec<usize> = chunk.iter().map(|&i| data.labels[i]).collect();
        let (x, lengths) = data.batch(chunk, dev);
        let logits = model.logits(x, &lengths, false)?;
        pred.extend(logits.as_vec().chunks_exact(n).map(argmax));
        loss += loss_of(logits, targets(&labels, n, 0.0, dev), cfg.loss).array() as f64
            * chunk.len() as f64;
    }
    Ok((
        loss / data.len().max(1) as f64,
        Metrics::compute(&data.labels, &pred, n),
    ))
}

/// Index of the largest value (the predicted class of a probability or logit row).
pub fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or(0)
}

/// The order examples are visited in, epoch after epoch: a fresh seeded
/// shuffle each epoch (what [`train`] uses; exported by the Keras parity
/// tool so both frameworks see the same batches).
pub struct EpochOrders {
    rng: SplitMix,
    order: Vec<usize>,
}

impl EpochOrders {
    /// Orders of `n` examples from `seed`.
    pub fn new(n: usize, seed: u64) -> EpochOrders {
        EpochOrders {
            rng: SplitMix(seed),
            order: (0..n).collect(),
        }
    }

    /// The next epoch's order.
    pub fn next_epoch(&mut self) -> &[usize] {
        self.rng.shuffle(&mut self.order);
        &self.order
    }
}

/// What the training loop reports as it goes (progress bars, logs).
#[derive(Debug, Clone, Copy)]
pub enum TrainEvent<'a> {
    /// A step finished.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// Mean loss so far this epoch.
        loss: f64,
        /// Accuracy so far this epoch (dropout on).
        accuracy: f64,
    },
    /// An epoch's record (train, then test).
    Epoch(&'a EpochRecord),
}

/// Trains `model` on `train` for `cfg.epochs`. After each epoch it records
/// the `train` side's scores as Keras reports them (running means over the
/// epoch's batches, dropout on, no extra pass) and evaluates the `test` side
/// (dropout off). `on_event` sees every step and record (progress bars).
/// A loss that is not finite (either side) stops training with
/// [`TrainError::Diverged`]: every record returned is finite.
pub fn train<M: Classifier>(
    model: &mut M,
    dev: &Cpu,
    train: &Dataset,
    test: &Dataset,
    cfg: &TrainConfig,
    mut on_event: impl FnMut(TrainEvent<'_>),
) -> Result<Vec<EpochRecord>, TrainError> {
    let mut opt = Adam::new(
        model,
        AdamConfig {
            lr: cfg.lr,
            eps: cfg.adam_eps,
            weight_decay: (cfg.weight_decay > 0.0)
                .then_some(WeightDecay::Decoupled(cfg.weight_decay)),
            ..AdamConfig::default()
        },
    );
    let n = model.classes();
    let mut orders = EpochOrders::new(train.len(), cfg.seed);
    // Augmentation draws from its own stream, so models without it train
    // exactly as before.
    let mut aug_rng = SplitMix(cfg.seed ^ 0xa5a5_5a5a_0f0f_f0f0);
    let mut mix_rng = SplitMix(cfg.seed ^ 0x6d69_7875_7000_0001);
    let mut babble_rng = SplitMix(cfg.seed ^ 0x6261_6262_6c65_0001);
    let mut warp_rng = SplitMix(cfg.seed ^ 0x7761_7270_0000_0001);
    let mut gain_rng = SplitMix(cfg.seed ^ 0x6761_696e_0000_0001);
    let mut talkers_rng = SplitMix(cfg.seed ^ 0x7461_6c6b_0000_0001);
    let mut reverb_rng = SplitMix(cfg.seed ^ 0x7265_7662_0000_0001);
    let mut mic_rng = SplitMix(cfg.seed ^ 0x6d69_6300_0000_0001);
    let mixup = Mixup { alpha: cfg.mixup };
    let batch = cfg.batch_size.max(1);
    let steps = train.len().div_ceil(batch);
    let averaged_from = cfg.epochs - cfg.swa_epochs();
    let mut average = WeightAverage::default();
    let mut history = Vec::new();
    for epoch in 1..=cfg.epochs {
        let t0 = Instant::now();
        let order = orders.next_epoch();
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        let (mut actual, mut pred) = (Vec::with_capacity(train.len()), Vec::new());
        for (s, chunk) in order.chunks(batch).enumerate() {
            opt.cfg.lr = cfg.lr_at((epoch - 1) * steps + s, steps);
            let labels: Vec<usize> = chunk.iter().map(|&i| train.labels[i]).collect();
            let grads = model.alloc_grads();
            let (mut v, mut lengths) = train.batch_values(chunk);
            if let Some(b) = &cfg.babble {
                b.apply(&mut v, train.frames, &lengths, &mut babble_rng);
            }
            if let Some(t) = &cfg.talkers {
                t.apply(&mut v, train.frames, &lengths, &mut talkers_rng);
            }
            if let Some(r) = &cfg.reverb {
                r.apply(&mut v, train.frames, &lengths, &mut reverb_rng);
            }
            if let Some(m) = &cfg.mic {
                m.apply(&mut v, train.frames, &lengths, &mut mic_rng);
            }
            if let Some(w) = &cfg.warp {
                w.apply(&mut v, train.frames, &lengths, &mut warp_rng);
            }
            if let Some(g) = &cfg.gain {
                g.apply(&mut v, train.frames, &lengths, &mut gain_rng);
            }
            if cfg.augment {
                model.augment(&mut v, train.frames, &lengths, &mut aug_rng);
            }
            let mut y = target_values(&labels, n, cfg.label_smoothing);
            mixup.apply(&mut v, &mut lengths, &mut y, &mut mix_rng);
            let x = dev.tensor_from_vec(v, (chunk.len(), train.frames, Const::<N_MFCC>));
            let logits = model.train_logits(x.traced(grads), &lengths)?; // [b, n]
            pred.extend(logits.as_vec().chunks_exact(n).map(argmax));
            actual.extend_from_slice(&labels);
            let loss = loss_of(logits, dev.tensor_from_vec(y, (chunk.len(), n)), cfg.loss);
            let batch_loss = loss.array() as f64;
            if !batch_loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: Some(s + 1),
                    split: "train",
                    loss: batch_loss,
                });
            }
            loss_sum += batch_loss * chunk.len() as f64;
            seen += chunk.len();
            let grads = loss.backward();
            opt.update(model, &grads)
                .map_err(|e| TrainError::Update(format!("{e:?}")))?;
            let correct = actual.iter().zip(&pred).filter(|(a, p)| a == p).count();
            on_event(TrainEvent::Step {
                epoch,
                step: s + 1,
                steps,
                loss: loss_sum / seen as f64,
                accuracy: correct as f64 / seen as f64,
            });
        }
        let m = Metrics::compute(&actual, &pred, n);
        let rec = EpochRecord {
            epoch,
            split: "train",
            loss: loss_sum / seen.max(1) as f64,
            accuracy: m.accuracy,
            uar: m.uar,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_event(TrainEvent::Epoch(&rec));
        history.push(rec);
        if epoch > averaged_from {
            average.add(model);
        }
        if !test.is_empty() {
            let t1 = Instant::now();
            let (loss, m) = evaluate(model, dev, test, cfg)?;
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: None,
                    split: "test",
                    loss,
                });
            }
            let rec = EpochRecord {
                epoch,
                split: "test",
                loss,
                accuracy: m.accuracy,
                uar: m.uar,
                seconds: t1.elapsed().as_secs_f64(),
            };
            on_event(TrainEvent::Epoch(&rec));
            history.push(rec);
        }
    }
    if average.points() > 0 {
        average
            .write(model)
            .map_err(|e| TrainError::Update(e.to_string()))?;
        refresh_batch_norm(model, dev, train, batch, cfg.seed)?;
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(dev: &Cpu, n: usize) -> Dataset {
        let (x, y) = crate::testdata::separable_batch(dev, 3, n, 16);
        let labels = y
            .as_vec()
            .chunks_exact(3)
            .map(|r| r.iter().position(|&v| v == 1.0).unwrap_or(0))
            .collect();
        Dataset::new(x.as_vec(), 16, labels)
    }

    fn run(loss: Loss) -> Vec<EpochRecord> {
        let dev = Cpu::seed_from_u64(7);
        let (tr, te) = (data(&dev, 24), data(&dev, 9));
        let mut m = crate::CnnLstmConfig::new(3, 5).init(&dev).unwrap();
        let cfg = TrainConfig {
            loss,
            ..TrainConfig::new(8, 8, 1e-3, 42)
        };
        let mut seen = 0;
        let h = train(&mut m, &dev, &tr, &te, &cfg, |e| {
            if let TrainEvent::Epoch(_) = e {
                seen += 1
            }
        })
        .unwrap();
        assert_eq!(seen, h.len());
        let probs = predict(&m, &dev, &te, 4).unwrap();
        assert_eq!(probs.len(), 9);
        assert!(probs
            .iter()
            .all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
        h
    }

    #[test]
    fn training_learns_records_both_sides_and_is_deterministic() {
        let h = run(Loss::CrossEntropy);
        assert_eq!(h.len(), 16, "train and test per epoch");
        let tr: Vec<&EpochRecord> = h.iter().filter(|r| r.split == "train").collect();
        assert!(
            tr[7].loss < 0.5 * tr[0].loss && tr[7].accuracy == 1.0,
            "{tr:?}"
        );
        let te_acc = h
            .iter()
            .rfind(|r| r.split == "test")
            .map(|r| r.accuracy)
            .unwrap_or(0.0);
        assert!(te_acc > 0.66, "held-out accuracy {te_acc}");
        let again = run(Loss::CrossEntropy);
        let losses = |h: &[EpochRecord]| h.iter().map(|r| r.loss).collect::<Vec<_>>();
        assert_eq!(losses(&h), losses(&again), "same seed, same history");
    }

    #[test]
    fn swa_epochs_end_the_run_at_a_tenth_of_the_peak() {
        let cfg = TrainConfig {
            schedule: Schedule::OneCycle,
            swa: 0.25,
            ..TrainConfig::new(8, 8, 1e-2, 1)
        };
        assert_eq!(cfg.swa_epochs(), 2);
        let steps = 5;
        for step in 0..6 * steps {
            assert_eq!(
                cfg.lr_at(step, steps),
                Schedule::OneCycle.lr_at(1e-2, step, 6 * steps),
                "the schedule runs over the first six epochs"
            );
        }
        for step in 6 * steps..8 * steps {
            assert!((cfg.lr_at(step, steps) - 1e-3).abs() < 1e-12);
        }
        let off = TrainConfig {
            swa: 0.0,
            ..cfg.clone()
        };
        assert_eq!(off.swa_epochs(), 0);
        assert_eq!(off.lr_at(39, steps), Schedule::OneCycle.lr_at(1e-2, 39, 40));
        let most = TrainConfig {
            swa: 0.9,
            epochs: 2,
            ..cfg.clone()
        };
        assert_eq!(most.swa_epochs(), 1, "never every epoch");
        let tiny = TrainConfig { swa: 0.01, ..cfg };
        assert_eq!(tiny.swa_epochs(), 1, "at least one when asked");
    }

    #[test]
    fn swa_training_learns_is_deterministic_and_changes_the_model() {
        let fit = |swa: f64| {
            let dev = Cpu::seed_from_u64(7);
            let (tr, te) = (data(&dev, 24), data(&dev, 9));
            let mut m = crate::SiCnnConfig::new(3, 5).init(&dev).unwrap();
            let cfg = TrainConfig {
                schedule: Schedule::OneCycle,
                swa,
                ..TrainConfig::new(8, 8, 3e-3, 42)
            };
            train(&mut m, &dev, &tr, &te, &cfg, |_| {}).unwrap();
            let probs = predict(&m, &dev, &te, 4).unwrap();
            let acc = probs
                .iter()
                .zip(&te.labels)
                .filter(|(p, &y)| argmax(p) == y)
                .count() as f64
                / te.len() as f64;
            (crate::weights::collect(&m, ""), probs, acc)
        };
        let (w, p, acc) = fit(0.5);
        assert!(acc > 0.66, "held-out accuracy {acc} after averaging");
        assert!(p.iter().flatten().all(|v| v.is_finite()));
        let (w2, p2, _) = fit(0.5);
        assert_eq!((&w, &p), (&w2, &p2), "same seed, same averaged model");
        let (plain, _, _) = fit(0.0);
        assert_ne!(
            w, plain,
            "averaging and its learning rate change the weights"
        );
    }

    #[test]
    fn regression_diverged_training_stops_with_the_epoch_and_advice() {
        let dev = Cpu::seed_from_u64(7);
        let (tr, te) = (data(&dev, 24), data(&dev, 9));
        let mut m = crate::CnnLstmConfig::new(3, 5).init(&dev).unwrap();
        // A learning rate no validator lets through, and decoupled weight
        // decay that multiplies every weight by (1 - lr * wd) each step.
        let cfg = TrainConfig {
            weight_decay: 0.5,
            ..TrainConfig::new(3, 8, 1e30, 42)
        };
        let mut records = 0;
        let err = train(&mut m, &dev, &tr, &te, &cfg, |e| {
            if let TrainEvent::Epoch(r) = e {
                assert!(
                    r.loss.is_finite(),
                    "a non-finite record was reported: {r:?}"
                );
                records += 1;
            }
        })
        .expect_err("a blown-up run must not finish");
        let TrainError::Diverged {
            epoch, split, loss, ..
        } = &err
        else {
            panic!("wrong error: {err}");
        };
        assert!(!loss.is_finite(), "{err}");
        assert_eq!((*epoch, *split), (1, "train"), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("epoch 1") && msg.contains("try a lower --lr"),
            "{msg}"
        );
        assert_eq!(records, 0, "{msg}");
    }

    #[test]
    fn mse_loss_trains_too() {
        let h = run(Loss::Mse);
        let tr: Vec<&EpochRecord> = h.iter().filter(|r| r.split == "train").collect();
        assert!(tr[7].loss < tr[0].loss, "{tr:?}");
    }
}
