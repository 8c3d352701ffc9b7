//! `ser train`: train (or reuse) a run and print its table. Every flag has
//! a field in the JSON config (`--config FILE`); flags override the file.
//! Every numeric flag is checked against its range in
//! [`pipeline::bounds`] and every word flag by its type's `FromStr` when
//! parsed (exit 2, the message names what is allowed); the assembled
//! config is validated again (a value from `--config`, or one flag against
//! another), and a bad one is a usage error (exit 2 too).

use std::path::PathBuf;

use anyhow::{Context, Result};
use models::{Init, LabelSet, Loss, ModelKind, Schedule};
use pipeline::bounds;
use pipeline::report::{format_table, run_report};
use pipeline::train::{
    default_train_variants, run_train, Crop, Norm, Readout, RunState, SplitKind, TrainOptions,
    TrainStageConfig, Window,
};
use store::Store;

use crate::flags::{read_config, set_threads, usage, within, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub s: StoreFlags,
    /// JSON train config (its fields are the flags below); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `cnn`, `lstm`, `cnn-lstm` (the paper's) or `si-cnn` (ours, for unseen
    /// speakers and people's recordings: a small CNN with statistics pooling,
    /// masks, label smoothing, mixup, a vocal-tract-length warp, a random
    /// gain on some examples, other talkers in the quiet frames, a
    /// microphone's high-pass and tilt, and AdamW one-cycle
    /// ending in weight averaging, trained on each clip's clean and noisy
    /// copies and its two training copies, the feature set made with augment
    /// 2; it answers with the mean over a clip as it is and warped by 0.9
    /// and 1.1, from a third of a window before the clip's speech)
    /// [default: cnn].
    #[arg(long)]
    pub model: Option<ModelKind>,
    /// Label set [default: gender-emotion14]: `gender-emotion14` = the paper's 14
    /// classes, gender x 7 emotions with calm merged into neutral; `emotion8` = all
    /// 8 RAVDESS emotions; `emotion7` = 7 emotions, calm merged into neutral;
    /// `emotions` = one class per emotion the data has (a manifest's own set, the
    /// emotions both sides of a cross-corpus run share); or a list such as
    /// `neutral,happy,sad,angry` (other clips left out).
    #[arg(long)]
    pub labels: Option<LabelSet>,
    /// `random` (stratified by clip, the paper's), `speakers` (no speaker on
    /// both sides; `actors` is accepted for it), `corpus` (set by
    /// --train-on/--test-on) or `all` (every clip trains one model, nothing
    /// is tested: what `ser model build` ships) [default: random].
    #[arg(long)]
    pub split: Option<SplitKind>,
    /// Test share per class in the random split, in (0, 1) [default: 0.25].
    #[arg(long, value_parser = within(bounds::TEST_FRACTION))]
    pub test_fraction: Option<f64>,
    /// Seed of the random split [default: 42].
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// `--split speakers`: K folds of speakers balanced by gender and clip
    /// count, 2..=64 [default: EmoBox's six folds on RAVDESS].
    #[arg(long, value_parser = within(bounds::FOLDS))]
    pub folds: Option<usize>,
    /// Cross-corpus: train on these corpora (comma-separated names as in
    /// metadata, e.g. crema-d,tess); needs --test-on.
    #[arg(long, value_delimiter = ',')]
    pub train_on: Vec<String>,
    /// Cross-corpus: test on these corpora; the run keeps the emotions both
    /// sides have.
    #[arg(long, value_delimiter = ',')]
    pub test_on: Vec<String>,
    /// Train only the first N folds, 1..=64.
    #[arg(long, value_parser = within(bounds::FOLD))]
    pub max_folds: Option<usize>,
    /// Epochs, 1..=100000 [default: CNN 100, LSTM and CNN+LSTM 50, si-cnn 60].
    #[arg(long, value_parser = within(bounds::EPOCHS))]
    pub epochs: Option<usize>,
    /// Batch size, 1..=4096 [default: CNN 30, LSTM and CNN+LSTM 28, si-cnn 32].
    #[arg(long, value_parser = within(bounds::BATCH_SIZE))]
    pub batch_size: Option<usize>,
    /// (Peak) learning rate, in (0, 10] [default: the model's: 0.001 for the paper's, 0.003 for si-cnn].
    #[arg(long, value_parser = within(bounds::LR))]
    pub lr: Option<f64>,
    /// `constant` or `one-cycle` [default: the model's: constant for the paper's].
    #[arg(long)]
    pub schedule: Option<Schedule>,
    /// Decoupled weight decay (AdamW), in [0, 1) [default: the model's: 0 for the paper's].
    #[arg(long, value_parser = within(bounds::WEIGHT_DECAY))]
    pub weight_decay: Option<f64>,
    /// Label smoothing, in [0, 1) [default: the model's: 0 for the paper's, 0.1 for si-cnn].
    #[arg(long, value_parser = within(bounds::LABEL_SMOOTHING))]
    pub label_smoothing: Option<f64>,
    /// Mixup of training batches: Beta's alpha, in [0, 4]; 0 for none
    /// [default: the model's: 0 for the paper's, 0.4 for si-cnn].
    #[arg(long, value_parser = within(bounds::MIXUP))]
    pub mixup: Option<f64>,
    /// Share of training examples, in [0, 1], given babble: one to four other
    /// training examples of the batch mixed in at 0-20 dB SNR (feature domain;
    /// needs `--norm train`) [default: the model's: 0 for the paper's and si-cnn].
    #[arg(long, value_parser = within(bounds::BABBLE))]
    pub babble: Option<f64>,
    /// Stochastic weight averaging: the share of the epochs, in [0, 0.9], at
    /// the end, trained at a tenth of the peak learning rate and averaged
    /// into one model (the schedule runs over the epochs before); 0 for none
    /// [default: the model's: 0 for the paper's, 0.25 for si-cnn].
    #[arg(long, value_parser = within(bounds::SWA))]
    pub swa: Option<f64>,
    /// Share of training examples, in [0, 1], whose spectral envelope is
    /// stretched by a factor of 1-R to 1+R (`--warp-range R`), as a shorter or
    /// longer vocal tract would (feature domain; needs `--norm train`) [default: the model's: 0 for
    /// the paper's, 1 for si-cnn with `--norm train`].
    #[arg(long, value_parser = within(bounds::WARP))]
    pub warp: Option<f64>,
    /// How far the warp stretches, 0.01..=0.3: factors 1-R to 1+R; needs
    /// a warp [default: the model's: 0.2 for si-cnn, 0.1 for the others].
    #[arg(long, value_name = "R", value_parser = within(bounds::WARP_RANGE))]
    pub warp_range: Option<f64>,
    /// Random microphone gain of training examples, each (or a share:
    /// `--gain-share`) moved by -DB to +DB (feature domain, where a gain shifts only the first coefficient;
    /// needs `--norm train`), so that absolute level stops telling emotions
    /// apart; 30 on every example makes si-cnn level-blind, at some cost in
    /// rooms and slowed speech (README) [default: the model's: 0 for the
    /// paper's, 30 for si-cnn with `--norm train`].
    #[arg(long, value_name = "DB", value_parser = within(bounds::GAIN))]
    pub gain: Option<f64>,
    /// Share of training examples, in (0, 1], that `--gain` moves; the rest
    /// keep their recorded level and what it tells within the corpus; needs
    /// a gain [default: the model's: 0.3 for si-cnn, 1 for the others].
    #[arg(long, value_name = "P", value_parser = within(bounds::GAIN_SHARE))]
    pub gain_share: Option<f64>,
    /// Share of training examples, in [0, 1], that get other talkers (one to
    /// three other examples of the batch, up to 25 dB below them, or above:
    /// `--talkers-louder`) in their quiet frames, where another voice hurts
    /// most (feature domain; needs `--norm train`) [default: the model's:
    /// 0 for the paper's, 0.5 for si-cnn with `--norm train`].
    #[arg(long, value_name = "P", value_parser = within(bounds::TALKERS))]
    pub talkers: Option<f64>,
    /// How far above an example its talkers may be, 0..=30 dB of mean
    /// log-energy (a clip's pauses pull its mean down, continuous babble's
    /// do not: babble at 5 dB SNR sits at about the clip's own mean); 0:
    /// always below; needs talkers (measured, not in the recipe: README)
    /// [default: the model's: 0].
    #[arg(long, value_name = "DB", value_parser = within(bounds::TALKERS_LOUDER))]
    pub talkers_louder: Option<f64>,
    /// Share of training copies, in [0, 1], made again from the clip's
    /// audio with one to five other voices mixed in at 0-20 dB SNR, from
    /// the fold's own training speakers (no test speaker enters); needs
    /// augK train variants and the clips' files (measured, not in the
    /// recipe: README) [default: the model's: 0].
    #[arg(long, value_name = "P", value_parser = within(bounds::VOICES))]
    pub voices: Option<f64>,
    /// Share of training examples, in [0, 1], put in a room (RT60 0.2-1.2
    /// s, direct-to-reverberant ratio -3 to +9 dB; a new room each epoch;
    /// feature domain; needs `--norm train`) [default: the model's: 0].
    #[arg(long, value_name = "P", value_parser = within(bounds::REVERB))]
    pub reverb: Option<f64>,
    /// Share of training examples, in [0, 1], heard through a microphone
    /// or telephone line that rolls off the low frequencies (a high-pass
    /// at 50-500 Hz of order 1-4; feature domain; needs `--norm train`)
    /// [default: the model's: 0 for the paper's, 0.4 for si-cnn with
    /// `--norm train`].
    #[arg(long, value_name = "P", value_parser = within(bounds::MIC))]
    pub mic: Option<f64>,
    /// Those microphones are also brighter or duller than RAVDESS's
    /// studio: each tilts the spectrum by a slope drawn from -DB to +DB
    /// per octave about 1 kHz, 0..=12 (needs `--mic` above 0) [default:
    /// the model's: 0 for the paper's, 4 for si-cnn with `--mic` above 0].
    #[arg(long, value_name = "DB", value_parser = within(bounds::TILT))]
    pub tilt: Option<f64>,
    /// si-cnn's pooling over frames: H hidden units, 0..=512, score each
    /// frame and weigh its statistics (attentive statistics pooling: a
    /// pause filled by another voice can count less); 0 weighs every
    /// frame the same (measured, not in the recipe: README) [default: the
    /// model's: 0].
    #[arg(long, value_name = "H", value_parser = within(bounds::ATTENTION))]
    pub attention: Option<usize>,
    /// A test-time warp, 0..=0.3: the run answers for each clip with the
    /// mean of its probabilities as it is and with its spectral envelope
    /// stretched by 1-R and 1+R (three forward passes, no training cost;
    /// needs `--norm train`); 0: the clip as it is only [default: the
    /// model's: 0 for the paper's, 0.1 for si-cnn with `--norm train`].
    #[arg(long, value_name = "R", value_parser = within(bounds::TEST_WARP))]
    pub test_warp: Option<f64>,
    /// Models per fold, 1..=16, each from its own seed; the fold answers
    /// with their mean probabilities (a seed ensemble: K times the
    /// training time, and K models in the run and its model file) [default: 1].
    #[arg(long, value_name = "K", value_parser = within(bounds::MEMBERS))]
    pub members: Option<usize>,
    /// Training-time augmentation of the models that have it (si-cnn's
    /// time and coefficient masks): `on` or `off` [default: on].
    #[arg(long, value_parser = on_off)]
    pub augment: Option<bool>,
    /// Standardisation: `train` (the training side's per-coefficient
    /// statistics), `clip` (each clip by its own) or `level` (as `train`, with
    /// each clip's level removed: c0 centred on the clip) [default: train].
    #[arg(long)]
    pub norm: Option<Norm>,
    /// Seed of weights, dropout and shuffles [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// `cross-entropy` or `mse` (the paper's wording) [default: cross-entropy].
    #[arg(long)]
    pub loss: Option<Loss>,
    /// Convolution kernel width, 3, 5 or 7 [default: 5].
    #[arg(long, value_parser = kernel)]
    pub kernel: Option<usize>,
    /// Frames per example: `auto` (the first 3 s of each clip, or the median
    /// clip length when that is shorter) or a number, 1..=4096 (and at least
    /// the model's minimum) [default: auto].
    #[arg(long)]
    pub window: Option<Window>,
    /// Which frames of a clip to keep: `start` (the first ones, as the Keras
    /// notebooks), `centre` (the middle ones of a longer clip) or `speech`
    /// (from a third of a window before its speech begins: more quiet before
    /// the first word does not push the speech out) [default: start].
    #[arg(long)]
    pub crop: Option<Crop>,
    /// Which frames of a test clip, and of every clip the run answers for,
    /// to keep when not `--crop`'s: `start`, `centre` or `speech` [default:
    /// si-cnn after `--crop start`: `speech` (recordings with more quiet
    /// before the first word than RAVDESS's keep their speech); else
    /// `--crop`].
    #[arg(long)]
    pub test_crop: Option<Crop>,
    /// Weight init: `keras` (Glorot-uniform, orthogonal recurrent, zero
    /// biases) or `uniform` (U(±1/sqrt(fan_in)), dfdx's) [default: keras].
    #[arg(long)]
    pub init: Option<Init>,
    /// Where LSTM models read their final state: `last-real` (each clip's last
    /// real frame) or `last-frame` (after the padding) [default: last-real].
    #[arg(long)]
    pub readout: Option<Readout>,
    /// Adam's epsilon, in (0, 1] [default: 1e-7, as Keras].
    #[arg(long, value_parser = within(bounds::ADAM_EPS))]
    pub adam_eps: Option<f64>,
    /// Worker threads for training, 1..=1024 [default: RAYON_NUM_THREADS, else one per core].
    #[arg(long, value_parser = within(bounds::THREADS))]
    pub threads: Option<usize>,
    /// Variants to train on, comma-separated [default: clean,noisy; si-cnn:
    /// clean,noisy,aug1,aug2, the training copies of a feature set made with
    /// augment 2].
    #[arg(long, value_delimiter = ',', value_parser = trimmed)]
    pub train_variants: Option<Vec<String>>,
    /// Feature set id [default: the store's only set; of several, the
    /// default config's if it holds the training variants, else the one
    /// set that does].
    #[arg(long)]
    pub set: Option<String>,
    /// Retrain even if this run already finished (with --fold: that fold).
    #[arg(long)]
    pub force: bool,
    /// Train only fold K (from 1, at most 64) and keep it under runs/.folds/;
    /// the worker that completes the set publishes the run (one job of a job array).
    #[arg(long, value_name = "K", value_parser = within(bounds::FOLD))]
    pub fold: Option<usize>,
    /// Train nothing: publish the run if all its folds are in, else list the missing ones (exit 1).
    #[arg(long, conflicts_with = "fold")]
    pub collect: bool,
}

/// `--kernel`: 3, 5 or 7.
fn kernel(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if models::zoo::KERNELS.contains(&k) => Ok(k),
        _ => Err(format!("`{s}`: the kernel width must be 3, 5 or 7")),
    }
}

/// `--augment`: `on` or `off`.
fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("use on or off, got `{s}`")),
    }
}

/// One name of a comma-separated list, without the spaces around it.
fn trimmed(s: &str) -> Result<String, String> {
    Ok(s.trim().to_string())
}

impl Args {
    /// The config: `--config` (or the default), then the flags; a
    /// [`crate::flags::UsageError`] if invalid.
    pub fn to_config(&self) -> Result<TrainStageConfig> {
        let mut cfg: TrainStageConfig = read_config(self.config.as_deref())?;
        cfg.model = self.model.unwrap_or(cfg.model);
        if let Some(l) = &self.labels {
            cfg.labels = l.clone();
        }
        cfg.split = self.split.unwrap_or(cfg.split);
        cfg.loss = self.loss.unwrap_or(cfg.loss);
        cfg.window = self.window.unwrap_or(cfg.window);
        cfg.crop = self.crop.unwrap_or(cfg.crop);
        cfg.test_crop = self.test_crop.or(cfg.test_crop);
        cfg.init = self.init.unwrap_or(cfg.init);
        cfg.readout = self.readout.unwrap_or(cfg.readout);
        cfg.adam_eps = self.adam_eps.unwrap_or(cfg.adam_eps);
        if let Some(v) = &self.train_variants {
            cfg.train_variants = v.clone();
        } else if self.config.is_none() {
            cfg.train_variants = default_train_variants(cfg.model);
        }
        cfg.test_fraction = self.test_fraction.unwrap_or(cfg.test_fraction);
        cfg.split_seed = self.split_seed.unwrap_or(cfg.split_seed);
        cfg.folds = self.folds.or(cfg.folds);
        if !self.train_on.is_empty() || !self.test_on.is_empty() {
            cfg.train_on = self.train_on.clone();
            cfg.test_on = self.test_on.clone();
            cfg.split = SplitKind::Corpus;
        }
        cfg.max_folds = self.max_folds.or(cfg.max_folds);
        cfg.epochs = self.epochs.or(cfg.epochs);
        cfg.batch_size = self.batch_size.or(cfg.batch_size);
        cfg.lr = self.lr.or(cfg.lr);
        cfg.weight_decay = self.weight_decay.or(cfg.weight_decay);
        cfg.label_smoothing = self.label_smoothing.or(cfg.label_smoothing);
        cfg.mixup = self.mixup.or(cfg.mixup);
        cfg.babble = self.babble.or(cfg.babble);
        cfg.swa = self.swa.or(cfg.swa);
        cfg.warp = self.warp.or(cfg.warp);
        cfg.warp_range = self.warp_range.or(cfg.warp_range);
        cfg.gain = self.gain.or(cfg.gain);
        cfg.gain_share = self.gain_share.or(cfg.gain_share);
        cfg.talkers = self.talkers.or(cfg.talkers);
        cfg.talkers_louder = self.talkers_louder.or(cfg.talkers_louder);
        cfg.voices = self.voices.or(cfg.voices);
        cfg.reverb = self.reverb.or(cfg.reverb);
        cfg.mic = self.mic.or(cfg.mic);
        cfg.tilt = self.tilt.or(cfg.tilt);
        cfg.attention = self.attention.or(cfg.attention);
        cfg.test_warp = self.test_warp.or(cfg.test_warp);
        cfg.members = self.members.or(cfg.members);
        cfg.schedule = self.schedule.or(cfg.schedule);
        cfg.augment = self.augment.or(cfg.augment);
        cfg.norm = self.norm.or(cfg.norm);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        cfg.kernel = self.kernel.unwrap_or(cfg.kernel);
        cfg.feature_set = self.set.clone().or(cfg.feature_set);
        cfg.validate()
            .map_err(|e| usage(format!("invalid train config: {e}")))?;
        Ok(cfg)
    }
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let cfg = a.to_config()?;
    set_threads(a.threads)?;
    let store = Store::open(&env.store)?;
    let opts = TrainOptions {
        force: a.force,
        show_progress: env.progress,
        fold: a.fold,
        collect_only: a.collect,
        bar: None,
    };
    let out = run_train(&store, &cfg, &opts)?;
    match &out.state {
        RunState::Reused => println!(
            "train: run {} already finished with this config and data: reused (--force retrains)",
            out.run
        ),
        RunState::Published => println!("train: run {} -> {}", out.run, out.dir.display()),
        RunState::Waiting { done, missing } => {
            println!(
                "train: run {}: folds {} of {} done; waiting for fold{} {}. The worker that trains \
                 the last one publishes the run, or run the same command with --collect.",
                out.run,
                list(done),
                done.len() + missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                list(missing)
            );
            if a.collect {
                anyhow::bail!(
                    "cannot collect run {}: folds {} are missing",
                    out.run,
                    list(missing)
                );
            }
            return Ok(0);
        }
    }
    let c = &out.config;
    if !c.train.train_on.is_empty() {
        println!(
            "train: cross-corpus: trained on {}, tested on {}, over the emotions both have: {}",
            c.train.train_on.join(", "),
            c.train.test_on.join(", "),
            c.emotions.join(", ")
        );
    } else if c.corpora.len() > 1 || c.corpora.first().is_some_and(|k| k != "ravdess") {
        println!("train: corpora {}", c.corpora.join(", "));
    }
    let r = run_report(&store, std::slice::from_ref(&out.run), false)?;
    print!("{}", format_table(&r.lines));
    if let Some(summary) = &out.summary {
        print_folds(summary)?;
    }
    Ok(0)
}

/// One line per fold of a multi-fold run (the table shows their mean).
fn print_folds(df: &polars::prelude::DataFrame) -> Result<()> {
    if df.height() <= 2 {
        return Ok(());
    }
    let columns = [
        "fold",
        "train_accuracy",
        "test_accuracy",
        "test_uar",
        "n_test",
    ];
    let csv = pipeline::query::to_csv(
        &df.select(columns)
            .context("summary.parquet lacks a column")?,
    );
    for line in csv.lines() {
        println!("  {}", line.replace(',', "  "));
    }
    Ok(())
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
