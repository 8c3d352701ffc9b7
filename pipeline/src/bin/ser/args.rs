//! Flags of the stages that build a config: every flag has a field in the
//! stage's JSON config (`--config FILE`); flags override the file. Every
//! numeric flag is checked against its range in [`pipeline::bounds`] when
//! parsed (exit 2, the message names the range); the assembled config is
//! validated again (a value from `--config`, or one flag against another),
//! and a bad one is a [`UsageError`] (exit 2 too).

use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result};
use models::{Init, LabelSet, Loss, ModelKind, Schedule};
use pipeline::audio::ResamplerConfig;
use pipeline::bounds::{self, Bound};
use pipeline::dsp::noise::NoiseConfig;
use pipeline::features::{FeatureConfig, ShardSpec};
use pipeline::train::{Crop, Norm, Readout, SplitKind, TrainStageConfig, Window};

/// A bad command line found after parsing (a value against another, or a
/// bad `--config` field): `ser` exits 2 with it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow` error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// A clap value parser checking `b`'s range.
pub fn within<T>(b: Bound<T>) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: Copy + PartialOrd + Display + FromStr + Send + Sync + 'static,
{
    move |s: &str| b.parse(s)
}

/// `--window`: `auto` or 1..=4096 frames.
fn parse_window(s: &str) -> Result<Window, String> {
    s.parse()
}

/// `--kernel`: 3, 5 or 7.
fn parse_kernel(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if models::zoo::KERNELS.contains(&k) => Ok(k),
        _ => Err(format!("`{s}`: the kernel width must be 3, 5 or 7")),
    }
}

/// A `--corpus` value: a named reader, or `auto` (`None`: told from the
/// file names).
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusArg(pub Option<pipeline::corpora::CorpusKind>);

/// `--corpus`, checked when parsed (exit 2 before any folder is read).
pub fn parse_corpus(s: &str) -> Result<CorpusArg, String> {
    match s {
        "auto" => Ok(CorpusArg(None)),
        kind => kind.parse().map(|k| CorpusArg(Some(k))),
    }
}

/// A feature sample rate: Hz (4000..=384000) or `native` (`None`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateArg(pub Option<u32>);

fn parse_rate(s: &str) -> Result<RateArg, String> {
    match s {
        "native" => Ok(RateArg(None)),
        hz => bounds::SAMPLE_RATE
            .parse(hz)
            .map(|r| RateArg(Some(r)))
            .map_err(|e| format!("{e}, or `native`")),
    }
}

#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub s: crate::cli::StoreFlags,
    /// JSON train config (its fields are the flags below); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `cnn`, `lstm`, `cnn-lstm` (the paper's) or `si-cnn` (ours, for unseen speakers) [default: cnn].
    #[arg(long)]
    pub model: Option<String>,
    /// Label set [default: gender-emotion14]: `gender-emotion14` = the paper's 14
    /// classes, gender x 7 emotions with calm merged into neutral; `emotion8` = all
    /// 8 RAVDESS emotions; `emotion7` = 7 emotions, calm merged into neutral;
    /// `emotions` = one class per emotion the data has (a manifest's own set, the
    /// emotions both sides of a cross-corpus run share); or a list such as
    /// `neutral,happy,sad,angry` (other clips left out).
    #[arg(long)]
    pub labels: Option<String>,
    /// `random` (stratified by clip, the paper's), `speakers` (no speaker on
    /// both sides; `actors` is accepted for it) or `corpus` (set by
    /// --train-on/--test-on) [default: random].
    #[arg(long)]
    pub split: Option<String>,
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
    pub schedule: Option<String>,
    /// Decoupled weight decay (AdamW), in [0, 1) [default: the model's: 0 for the paper's].
    #[arg(long, value_parser = within(bounds::WEIGHT_DECAY))]
    pub weight_decay: Option<f64>,
    /// Label smoothing, in [0, 1) [default: the model's: 0 for the paper's, 0.1 for si-cnn].
    #[arg(long, value_parser = within(bounds::LABEL_SMOOTHING))]
    pub label_smoothing: Option<f64>,
    /// Training-time augmentation of the models that have it (si-cnn's
    /// time and coefficient masks): `on` or `off` [default: on].
    #[arg(long)]
    pub augment: Option<String>,
    /// Standardisation: `train` (the training side's per-coefficient
    /// statistics) or `clip` (each clip by its own) [default: the model's].
    #[arg(long)]
    pub norm: Option<String>,
    /// Seed of weights, dropout and shuffles [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// `cross-entropy` or `mse` (the paper's wording) [default: cross-entropy].
    #[arg(long)]
    pub loss: Option<String>,
    /// Convolution kernel width, 3, 5 or 7 [default: 5].
    #[arg(long, value_parser = parse_kernel)]
    pub kernel: Option<usize>,
    /// Frames per example: `auto` (the first 3 s of each clip, or the median
    /// clip length when that is shorter) or a number, 1..=4096 (and at least
    /// the model's minimum) [default: auto].
    #[arg(long, value_parser = parse_window)]
    pub window: Option<Window>,
    /// Which frames of a clip longer than the window to keep: `start` (the
    /// first ones, as the Keras notebooks) or `centre` [default: start].
    #[arg(long)]
    pub crop: Option<String>,
    /// Weight init: `keras` (Glorot-uniform, orthogonal recurrent, zero
    /// biases) or `uniform` (U(±1/sqrt(fan_in)), dfdx's) [default: keras].
    #[arg(long)]
    pub init: Option<String>,
    /// Where LSTM models read their final state: `last-real` (each clip's last
    /// real frame) or `last-frame` (after the padding) [default: last-real].
    #[arg(long)]
    pub readout: Option<String>,
    /// Adam's epsilon, in (0, 1] [default: 1e-7, as Keras].
    #[arg(long, value_parser = within(bounds::ADAM_EPS))]
    pub adam_eps: Option<f64>,
    /// Worker threads for training, 1..=1024 [default: RAYON_NUM_THREADS, else one per core].
    #[arg(long, value_parser = within(bounds::THREADS))]
    pub threads: Option<usize>,
    /// Variants to train on, comma-separated [default: clean,noisy].
    #[arg(long)]
    pub train_variants: Option<String>,
    /// Feature set id [default: the store's only set, or the default config's].
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

impl TrainArgs {
    pub fn to_config(&self) -> Result<TrainStageConfig> {
        let mut cfg: TrainStageConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => TrainStageConfig::default(),
        };
        let bad = |flag: &'static str| move |e: String| usage(format!("--{flag}: {e}"));
        if let Some(m) = &self.model {
            cfg.model = m.parse::<ModelKind>().map_err(bad("model"))?;
        }
        if let Some(l) = &self.labels {
            cfg.labels = l.parse::<LabelSet>().map_err(bad("labels"))?;
        }
        if let Some(s) = &self.split {
            cfg.split = s.parse::<SplitKind>().map_err(bad("split"))?;
        }
        if let Some(l) = &self.loss {
            cfg.loss = l.parse::<Loss>().map_err(bad("loss"))?;
        }
        if let Some(w) = self.window {
            cfg.window = w;
        }
        if let Some(c) = &self.crop {
            cfg.crop = c.parse::<Crop>().map_err(bad("crop"))?;
        }
        if let Some(i) = &self.init {
            cfg.init = i.parse::<Init>().map_err(bad("init"))?;
        }
        if let Some(r) = &self.readout {
            cfg.readout = r.parse::<Readout>().map_err(bad("readout"))?;
        }
        cfg.adam_eps = self.adam_eps.unwrap_or(cfg.adam_eps);
        if let Some(v) = &self.train_variants {
            cfg.train_variants = v.split(',').map(|s| s.trim().to_string()).collect();
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
        if let Some(s) = &self.schedule {
            cfg.schedule = Some(s.parse::<Schedule>().map_err(bad("schedule"))?);
        }
        if let Some(a) = &self.augment {
            cfg.augment = Some(match a.as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(usage(format!("--augment: use on or off, got `{a}`"))),
            });
        }
        if let Some(n) = &self.norm {
            cfg.norm = Some(n.parse::<Norm>().map_err(bad("norm"))?);
        }
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        cfg.kernel = self.kernel.unwrap_or(cfg.kernel);
        cfg.feature_set = self.set.clone().or(cfg.feature_set);
        cfg.validate()
            .map_err(|e| usage(format!("invalid train config: {e}")))?;
        Ok(cfg)
    }
}

#[derive(clap::Args)]
pub struct FeatureArgs {
    #[command(flatten)]
    pub s: crate::cli::StoreFlags,
    /// JSON feature config (its fields are the flags below); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Target rate in Hz, 4000..=384000, or `native` to keep each file's rate [default: 22050].
    #[arg(long, value_parser = parse_rate)]
    pub sample_rate: Option<RateArg>,
    /// Cepstral coefficients, 1..=512 and at most --n-mels [default: 40].
    #[arg(long, value_parser = within(bounds::N_MFCC))]
    pub n_mfcc: Option<usize>,
    /// Mel bands, 1..=512 [default: 128].
    #[arg(long, value_parser = within(bounds::N_MELS))]
    pub n_mels: Option<usize>,
    /// FFT size, an even number in 16..=65536 [default: 2048].
    #[arg(long, value_parser = within(bounds::N_FFT))]
    pub n_fft: Option<usize>,
    /// Hop length, 1..=65536 and at most --n-fft [default: 512].
    #[arg(long, value_parser = within(bounds::HOP_LENGTH))]
    pub hop_length: Option<usize>,
    /// Also store the log-mel spectrogram (`mel_db` column).
    #[arg(long)]
    pub mel: bool,
    /// Noise of the noisy copy: `gaussian[:AMP]` (AMP 0..=10) or `snr:DB`
    /// (DB -60..=120) [default: gaussian:0.035].
    #[arg(long)]
    pub noise: Option<NoiseConfig>,
    /// Noise seed [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Resampler: `fft[:BLOCK]`, BLOCK = FFT block in output frames, 16..=1048576 [default: fft:320].
    #[arg(long)]
    pub resampler: Option<ResamplerConfig>,
    /// Compute only slice K of N (1 <= K <= N), e.g. for a job array.
    #[arg(long)]
    pub shard: Option<ShardSpec>,
    /// Commit finished shards at most every this many ms, 0..=86400000 (0: after each shard).
    #[arg(long, default_value_t = 1000, value_parser = within(bounds::COMMIT_EVERY_MS))]
    pub commit_every_ms: u64,
}

impl FeatureArgs {
    pub fn to_config(&self) -> Result<FeatureConfig> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => FeatureConfig::default(),
        };
        if let Some(RateArg(sr)) = self.sample_rate {
            cfg.sample_rate = sr;
        }
        if let Some(v) = self.n_mfcc {
            cfg.mfcc.n_mfcc = v;
        }
        if let Some(v) = self.n_mels {
            cfg.mfcc.n_mels = v;
        }
        if let Some(v) = self.n_fft {
            cfg.mfcc.n_fft = v;
        }
        if let Some(v) = self.hop_length {
            cfg.mfcc.hop_length = v;
        }
        cfg.mel_db |= self.mel;
        if let Some(n) = self.noise {
            cfg.noise = n;
        }
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(r) = self.resampler {
            cfg.resampler = r;
        }
        cfg.validate()
            .map_err(|e| usage(format!("invalid feature config: {e}")))?;
        Ok(cfg)
    }
}

/// How a recording is cut into a timeline (`predict --timeline`, `listen`).
#[derive(clap::Args, Debug, Clone)]
pub struct SegmentArgs {
    /// Segment length in seconds, 0.1..=600 [default: the run's window, 3 s for the defaults].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::SEGMENT_S))]
    pub segment: Option<f64>,
    /// Step between segment starts, seconds, 0.01..=600 (more than a
    /// segment skips the audio between) [default: half a segment].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::HOP_S))]
    pub hop: Option<f64>,
    /// Segments quieter than this RMS level (dBFS, -200..=0) are marked silent, not classified.
    #[arg(long, value_name = "DB", default_value_t = pipeline::timeline::SILENCE_DB,
          allow_hyphen_values = true, value_parser = within(bounds::SILENCE_DB))]
    pub silence_db: f64,
}

impl SegmentArgs {
    /// The segmenting of a run's timeline; a [`UsageError`] if invalid.
    pub fn config(
        &self,
        p: &pipeline::train::Predictor,
    ) -> Result<pipeline::timeline::SegmentConfig> {
        let d = pipeline::timeline::SegmentConfig::for_predictor(p);
        let segment_s = self.segment.unwrap_or(d.segment_s);
        let cfg = pipeline::timeline::SegmentConfig {
            segment_s,
            hop_s: self.hop.unwrap_or(segment_s / 2.0),
            silence_db: self.silence_db,
        };
        cfg.validate().map_err(usage)?;
        Ok(cfg)
    }
}

#[derive(clap::Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub s: crate::cli::StoreFlags,
    /// Run name, unique prefix of one, or run folder.
    #[arg(long)]
    pub run: String,
    /// Audio files (WAV, FLAC, MP3, Ogg/Vorbis, M4A/AAC; any rate, any channels).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per line (every class's probability) instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with every class's probability instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Use this fold's model only (folds count from 1, as in the run's
    /// tables) [default: mean of every fold's probabilities].
    #[arg(long, value_parser = within(bounds::FOLD))]
    pub fold: Option<usize>,
    /// A timeline: classify segments of each file (see --segment, --hop,
    /// --silence-db) instead of one window per file.
    #[arg(long)]
    pub timeline: bool,
    #[command(flatten)]
    pub seg: SegmentArgs,
    /// Also write the timeline as Parquet (one row per segment, every file).
    /// Never an input, a file inside a store, or anything but a regular file.
    #[arg(long, value_name = "FILE.parquet")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

impl PredictArgs {
    /// Whether the files are cut into a timeline.
    pub fn wants_timeline(&self) -> bool {
        self.timeline || self.seg.segment.is_some() || self.seg.hop.is_some() || self.out.is_some()
    }
}

#[derive(clap::Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub s: crate::cli::StoreFlags,
    /// Run name, unique prefix of one, or run folder.
    #[arg(long)]
    pub run: String,
    /// Read raw signed 16-bit little-endian PCM from standard input
    /// (needs --rate) instead of the microphone.
    #[arg(long)]
    pub stdin: bool,
    /// Sample rate of the PCM on standard input, Hz, 4000..=384000.
    #[arg(long, required_if_eq("stdin", "true"), value_parser = within(bounds::SAMPLE_RATE))]
    pub rate: Option<u32>,
    /// Channels of the PCM on standard input (mixed to mono), 1..=32.
    #[arg(long, default_value_t = 1, value_parser = within(bounds::CHANNELS))]
    pub channels: u16,
    /// JSON lines, one per segment, instead of the live view (a pipe gets
    /// tab-separated text without it).
    #[arg(long)]
    pub json: bool,
    /// Use this fold's model only [default: mean of every fold's].
    #[arg(long, value_parser = within(bounds::FOLD))]
    pub fold: Option<usize>,
    #[command(flatten)]
    pub seg: SegmentArgs,
}
