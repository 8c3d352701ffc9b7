//! The training stage's config (`ser train` flags or `--config FILE`), and
//! the resolved form saved as `runs/<run>/config.json`, whose hash (with
//! the feature set and the data fingerprint) names the run.

use std::fmt;
use std::str::FromStr;

use models::warp::FIRST_RANGE;
use models::{Init, LabelSet, Loss, ModelKind, Schedule};
use serde::{Deserialize, Serialize};
use store::fingerprint::short_id;

use crate::features::FeatureConfig;
use crate::train::data::Framing;

/// Bumped when the training code changes its results for the same config,
/// so that old runs are not reused for new code.
pub const TRAIN_CODE_VERSION: u32 = 2;

/// How clips are split into train and test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Stratified random split of clips (the paper's protocol; speakers on both sides).
    Random,
    /// Speaker-independent folds: no speaker on both sides (`speakers`;
    /// configs and runs written before it was named so say `actors`).
    #[serde(alias = "actors")]
    Speakers,
    /// Cross-corpus: train on the `train_on` corpora, test on the
    /// `test_on` ones, over the emotions both sides have.
    Corpus,
    /// Every clip trains one model; nothing is tested (the model a model
    /// file ships, `ser model build`; its estimate comes from a
    /// speaker-split run of the same recipe).
    All,
}

impl FromStr for SplitKind {
    type Err = String;

    /// Parses `random`, `speakers` (or its old name `actors`) or `corpus`.
    fn from_str(s: &str) -> Result<SplitKind, String> {
        match s {
            "random" => Ok(SplitKind::Random),
            "speakers" | "actors" => Ok(SplitKind::Speakers),
            "corpus" => Ok(SplitKind::Corpus),
            "all" => Ok(SplitKind::All),
            _ => Err(format!(
                "unknown split `{s}`: use random, speakers, corpus or all"
            )),
        }
    }
}

impl fmt::Display for SplitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl SplitKind {
    /// The name [`FromStr`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            SplitKind::Random => "random",
            SplitKind::Speakers => "speakers",
            SplitKind::Corpus => "corpus",
            SplitKind::All => "all",
        }
    }
}

/// The fixed number of frames every clip is cropped or padded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// The median clip length of the feature set (see [`crate::train::data`]).
    Auto,
    /// This many frames.
    Frames(usize),
}

impl FromStr for Window {
    type Err = String;

    /// Parses `auto` or a frame count.
    fn from_str(s: &str) -> Result<Window, String> {
        match s {
            "auto" => Ok(Window::Auto),
            n => match n.parse() {
                Ok(frames) => crate::bounds::WINDOW
                    .check(frames)
                    .map(Window::Frames)
                    .map_err(|_| {
                        format!(
                            "window {frames} is out of range (allowed: `auto` or {})",
                            crate::bounds::WINDOW.range()
                        )
                    }),
                Err(_) => Err(format!(
                    "window `{s}`: expected `auto` or a number of frames ({})",
                    crate::bounds::WINDOW.range()
                )),
            },
        }
    }
}

/// Which frames of a clip longer than the window are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Crop {
    /// The first `window` frames (what the Keras notebooks the paper
    /// follows take).
    #[default]
    Start,
    /// The middle `window` frames.
    Centre,
    /// `window` frames from a third of a window before the clip's speech
    /// begins ([`super::data::speech_onset`]; a 3-s window keeps a second
    /// of quiet, as RAVDESS's clips have), or from its start if less quiet
    /// comes first, or its last `window` frames if fewer follow, in
    /// training and prediction alike: more quiet before a recording's first
    /// word does not push its speech out of the window.
    Speech,
}

impl FromStr for Crop {
    type Err = String;

    /// Parses `start`, `centre` (`center` too) or `speech`.
    fn from_str(s: &str) -> Result<Crop, String> {
        match s {
            "start" => Ok(Crop::Start),
            "centre" | "center" => Ok(Crop::Centre),
            "speech" => Ok(Crop::Speech),
            _ => Err(format!("unknown crop `{s}`: use start, centre or speech")),
        }
    }
}

impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Crop {
    /// The name [`FromStr`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Crop::Start => "start",
            Crop::Centre => "centre",
            Crop::Speech => "speech",
        }
    }
}

/// Where the recurrent models (LSTM, CNN+LSTM) read their final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// At each clip's last real frame (padding after it is never read).
    #[default]
    LastReal,
    /// At the window's last frame, after any padding (ser before code version 2).
    LastFrame,
}

impl FromStr for Readout {
    type Err = String;

    /// Parses `last-real` or `last-frame`.
    fn from_str(s: &str) -> Result<Readout, String> {
        match s {
            "last-real" => Ok(Readout::LastReal),
            "last-frame" => Ok(Readout::LastFrame),
            _ => Err(format!(
                "unknown readout `{s}`: use last-real or last-frame"
            )),
        }
    }
}

/// How MFCCs are standardised before the model sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// Per coefficient, with the training side's mean and deviation (the
    /// same numbers for every clip, saved with the run).
    Train,
    /// Each clip by its own mean and deviation per coefficient (removes a
    /// speaker's and a recording's offsets).
    Clip,
    /// As `train`, with c0 (log energy) first centred on each clip's own
    /// mean: the recording's level is removed, its loudness contour kept.
    Level,
}

impl FromStr for Norm {
    type Err = String;

    /// Parses `train`, `clip` or `level`.
    fn from_str(s: &str) -> Result<Norm, String> {
        match s {
            "train" => Ok(Norm::Train),
            "clip" => Ok(Norm::Clip),
            "level" => Ok(Norm::Level),
            _ => Err(format!("unknown norm `{s}`: use train, clip or level")),
        }
    }
}

/// The optimisation settings a run trains with: the config's, else the
/// model's recipe ([`ModelKind::recipe`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// (Peak) learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Label smoothing.
    pub label_smoothing: f64,
    /// Standardisation.
    pub norm: Norm,
    /// Training-time augmentation (where the model has one).
    #[serde(default = "yes")]
    pub augment: bool,
    /// Mixup's alpha (0: none).
    #[serde(default)]
    pub mixup: f64,
    /// Share of training examples given feature-domain babble (0: none).
    #[serde(default)]
    pub babble: f64,
    /// Models trained per fold, each from its own seed; their mean
    /// probabilities are the fold's answer (1: one model). Left out of the
    /// JSON when 1, so runs named before it keep their names.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
    /// Share of the epochs, at the end, whose weights are averaged (0:
    /// none). Left out of the JSON when 0, so runs named before it keep
    /// their names.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub swa: f64,
    /// Share of training examples given a vocal-tract-length warp (0:
    /// none). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warp: f64,
    /// How far the warp stretches: factors `1 - r` to `1 + r`. Left out of
    /// the JSON at the first range, 0.1, so runs named before it keep
    /// their names.
    #[serde(
        default = "first_warp_range",
        skip_serializing_if = "is_first_warp_range"
    )]
    pub warp_range: f64,
    /// Random gain of training examples, +-dB (0: none). Left out of the
    /// JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gain: f64,
    /// Share of training examples the gain moves (1: every one). Left out
    /// of the JSON when 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub gain_share: f64,
    /// Share of training examples given other talkers in their quiet
    /// frames (0: none). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub talkers: f64,
    /// Share of training examples put in a feature-domain room (0: none).
    /// Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reverb: f64,
    /// Share of training examples given a microphone's high-pass (0:
    /// none). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mic: f64,
    /// The largest spectral tilt of those microphones, dB per octave (0:
    /// none). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tilt: f64,
    /// Hidden units of si-cnn's attentive pooling (0: statistics
    /// pooling). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attention: usize,
    /// How far above an example other talkers may be, dB (0: always
    /// below). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub talkers_louder: f64,
    /// Share of training copies made again with other voices of the
    /// fold's training speakers in their audio (0: none). Left out of the
    /// JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub voices: f64,
    /// The test-time warp's range: each answer is the mean over the clip as
    /// it is and warped by `1 - r` and `1 + r` ([`models::test_warp`]; 0:
    /// the clip as it is only). Left out of the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub test_warp: f64,
    /// Which frames a test clip and every answer keep, when not the
    /// training examples' (`crop`): si-cnn's recipe answers with `speech`
    /// ([`Crop::Speech`]) after training on `start`. Left out of the JSON
    /// when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_crop: Option<Crop>,
}

impl Resolved {
    /// The settings that only shape a step, each as (name, value asked,
    /// the step it shapes, that step's value here, its neutral value):
    /// one asked away from neutral for a step this run does not take is
    /// refused.
    fn shapers(
        &self,
        asked: &TrainStageConfig,
    ) -> [(&'static str, Option<f64>, &'static str, f64, f64); 4] {
        [
            (
                "warp_range",
                asked.warp_range,
                "warp",
                self.warp,
                FIRST_RANGE,
            ),
            ("gain_share", asked.gain_share, "gain", self.gain, 1.0),
            (
                "talkers_louder",
                asked.talkers_louder,
                "talkers",
                self.talkers,
                0.0,
            ),
            ("tilt", asked.tilt, "mic", self.mic, 0.0),
        ]
    }

    /// The steps that work on standardised features through the training
    /// side's standardisation (`norm train` only), by name, with their
    /// values (0: off): those of training, and the test-time warp.
    pub fn feature_steps(&self) -> [(&'static str, f64); 7] {
        [
            ("test_warp", self.test_warp),
            ("babble", self.babble),
            ("warp", self.warp),
            ("gain", self.gain),
            ("talkers", self.talkers),
            ("reverb", self.reverb),
            ("mic", self.mic),
        ]
    }
}

fn is_zero<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

fn yes() -> bool {
    true
}

fn first_warp_range() -> f64 {
    FIRST_RANGE
}

fn is_first_warp_range(r: &f64) -> bool {
    *r == FIRST_RANGE
}

/// A setting that only shapes another step (the warp's range, the gain's
/// share, how loud other talkers may be): asked, else the recipe's, where
/// the step runs; its neutral value where it does not, which moves
/// nothing and names nothing.
fn shaping(step: f64, asked: Option<f64>, recipe: f64, neutral: f64) -> f64 {
    match step > 0.0 {
        true => asked.unwrap_or(recipe),
        false => neutral,
    }
}

/// 1 of any number type: the neutral value of `members` and `gain_share`.
fn one<T: From<u8>>() -> T {
    T::from(1)
}

fn is_one<T: From<u8> + PartialEq>(x: &T) -> bool {
    *x == T::from(1)
}

/// The variants a model trains on unless asked otherwise: the clean and
/// noisy copies for the paper's models (their recipe); for si-cnn also two
/// training copies of `ser features --augment 2` (random speed, room, band
/// limit, codec, noise and level), which is what makes it hold at a normal
/// microphone level, on a telephone band and through a codec
/// (docs/robustness-rounds.md, *Training copies and mixup*).
pub fn default_train_variants(model: ModelKind) -> Vec<String> {
    let mut v = vec!["clean".to_string(), "noisy".to_string()];
    if model == ModelKind::SiCnn {
        v.extend(["aug1".to_string(), "aug2".to_string()]);
    }
    v
}

/// Everything `ser train` is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainStageConfig {
    /// Which network.
    pub model: ModelKind,
    /// Label set.
    pub labels: LabelSet,
    /// Split protocol.
    pub split: SplitKind,
    /// Test share of each class in the `random` split.
    pub test_fraction: f64,
    /// Seed of the `random` split.
    pub split_seed: u64,
    /// `actors` split: `None` uses EmoBox's six RAVDESS folds (six folds
    /// balanced by gender and clip count when the data is not all
    /// RAVDESS); `Some(k)` groups speakers into `k` such folds.
    pub folds: Option<usize>,
    /// `corpus` split: the corpora trained on (names as in `metadata`).
    pub train_on: Vec<String>,
    /// `corpus` split: the corpora tested on.
    pub test_on: Vec<String>,
    /// Train and test only the first this many folds (quick looks).
    pub max_folds: Option<usize>,
    /// Epochs; `None`: the paper's (CNN 100, LSTM and CNN+LSTM 50).
    pub epochs: Option<usize>,
    /// Batch size; `None`: the paper's (CNN 30, LSTM and CNN+LSTM 28).
    pub batch_size: Option<usize>,
    /// (Peak) learning rate; `None`: the model's (1e-3 for the paper's).
    pub lr: Option<f64>,
    /// Learning-rate schedule; `None`: the model's (constant for the paper's).
    pub schedule: Option<Schedule>,
    /// Decoupled weight decay (AdamW); `None`: the model's (0 for the paper's).
    pub weight_decay: Option<f64>,
    /// Label smoothing; `None`: the model's (0 for the paper's).
    pub label_smoothing: Option<f64>,
    /// Mixup of training batches, Beta's alpha; `None`: the model's (0,
    /// none, for the paper's). Left out of the JSON when `None`, so runs
    /// named before it keep their names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mixup: Option<f64>,
    /// Share of training examples given babble of other training examples
    /// (feature domain, [`models::babble`]); `None`: the model's (0 for
    /// the paper's). Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub babble: Option<f64>,
    /// Models per fold, each from its own seed, averaged (a seed
    /// ensemble); `None`: one. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
    /// Stochastic weight averaging: the share of the epochs, at the end,
    /// trained at a tenth of the peak learning rate and averaged
    /// ([`models::average`]); `None`: the model's. Left out of the JSON
    /// when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swa: Option<f64>,
    /// Share of training examples whose spectral envelope is stretched by
    /// a factor of `1 - r` to `1 + r` (`warp_range`; vocal-tract-length perturbation in the
    /// feature domain, [`models::warp`]); `None`: the model's. Left out of
    /// the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warp: Option<f64>,
    /// How far the warp stretches: factors `1 - r` to `1 + r`; `None`: the
    /// model's. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warp_range: Option<f64>,
    /// Random gain of training examples: each (or a share, `gain_share`)
    /// shifted by -G to +G dB in the feature domain ([`models::gain`]); `None`: the model's. Left
    /// out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain: Option<f64>,
    /// Share of training examples the gain moves, in (0, 1]; the rest keep
    /// their recorded level; `None`: the model's (1). Left out of the JSON
    /// when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain_share: Option<f64>,
    /// Share of training examples given other training examples of their
    /// batch as talkers in their quiet frames ([`models::talkers`]);
    /// `None`: the model's. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub talkers: Option<f64>,
    /// Share of training examples put in a room of RT60 0.2 to 1.2 s in
    /// the feature domain ([`models::reverb`]); `None`: the model's. Left
    /// out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverb: Option<f64>,
    /// Share of training examples given a microphone's high-pass at 50 to
    /// 500 Hz in the feature domain ([`models::mic`]); `None`: the
    /// model's. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mic: Option<f64>,
    /// The largest spectral tilt those microphones also have: each tilts
    /// by a slope drawn from `-t` to `+t` dB per octave about 1 kHz
    /// ([`models::mic`]); `None`: the model's. Left out of the JSON when
    /// `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tilt: Option<f64>,
    /// Hidden units of si-cnn's attentive statistics pooling (0: plain
    /// statistics pooling; [`models::layers::FrameAttention`]); `None`:
    /// the model's. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<usize>,
    /// How far above an example its other talkers may be, dB of mean
    /// log-energy (0: always below; [`models::talkers`]); `None`: the
    /// model's. Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub talkers_louder: Option<f64>,
    /// Share of training copies (`augK`) made again from the clip's audio
    /// with one to five of the fold's other training speakers mixed in
    /// (`train::voices`); `None`: the model's. Left out of the JSON when
    /// `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voices: Option<f64>,
    /// The test-time warp's range: the run answers with the mean over a
    /// clip as it is and warped by `1 - r` and `1 + r`
    /// ([`models::test_warp`]; 0: as it is only); `None`: the model's.
    /// Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_warp: Option<f64>,
    /// Which frames a test clip and every answer keep (`crop` for the
    /// training examples); `None`: the model's (si-cnn after `crop start`:
    /// `speech`; else `crop`). Left out of the JSON when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_crop: Option<Crop>,
    /// Standardisation; `None`: the model's (`train` for the paper's).
    pub norm: Option<Norm>,
    /// Training-time augmentation of the models that have it (si-cnn's
    /// masks); `None`: on.
    pub augment: Option<bool>,
    /// Seed of weights, dropout and shuffles.
    pub seed: u64,
    /// Loss.
    pub loss: Loss,
    /// Convolution kernel width (CNN, CNN+LSTM): 3, 5 or 7.
    pub kernel: usize,
    /// Frames per example.
    pub window: Window,
    /// Which frames of a longer clip the window keeps.
    pub crop: Crop,
    /// Weight initialisation.
    pub init: Init,
    /// Where recurrent models read their final state.
    pub readout: Readout,
    /// Adam's epsilon (Keras 1e-7; dfdx and PyTorch 1e-8).
    pub adam_eps: f64,
    /// Variants trained on (`clean`, `noisy`); test reports both, separately.
    pub train_variants: Vec<String>,
    /// Feature set id; `None`: the store's only set, or the default config's.
    pub feature_set: Option<String>,
}

impl Default for TrainStageConfig {
    fn default() -> Self {
        TrainStageConfig {
            model: ModelKind::Cnn,
            labels: LabelSet::GenderEmotion14,
            split: SplitKind::Random,
            test_fraction: 0.25,
            split_seed: 42,
            folds: None,
            train_on: Vec::new(),
            test_on: Vec::new(),
            max_folds: None,
            epochs: None,
            batch_size: None,
            lr: None,
            schedule: None,
            weight_decay: None,
            label_smoothing: None,
            mixup: None,
            babble: None,
            members: None,
            swa: None,
            warp: None,
            warp_range: None,
            gain: None,
            talkers: None,
            reverb: None,
            mic: None,
            tilt: None,
            attention: None,
            talkers_louder: None,
            voices: None,
            test_warp: None,
            test_crop: None,
            gain_share: None,
            norm: None,
            augment: None,
            seed: 42,
            loss: Loss::CrossEntropy,
            kernel: 5,
            window: Window::Auto,
            crop: Crop::default(),
            init: Init::default(),
            readout: Readout::default(),
            adam_eps: 1e-7,
            train_variants: vec!["clean".into(), "noisy".into()],
            feature_set: None,
        }
    }
}

impl TrainStageConfig {
    /// Checks every field; the error names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        use crate::bounds as b;
        b::TEST_FRACTION.check(self.test_fraction)?;
        if (self.split == SplitKind::Corpus)
            != (!self.train_on.is_empty() || !self.test_on.is_empty())
        {
            return Err(
                "train_on and test_on go with the corpus split (--train-on A --test-on B)".into(),
            );
        }
        if self.split == SplitKind::Corpus && (self.train_on.is_empty() || self.test_on.is_empty())
        {
            return Err("the corpus split needs both train_on and test_on".into());
        }
        if let Some(k) = self.folds {
            b::FOLDS.check(k)?;
        }
        if let Some(k) = self.max_folds {
            b::Bound {
                name: "max_folds",
                ..b::FOLD
            }
            .check(k)?;
        }
        if let Some(e) = self.epochs {
            b::EPOCHS.check(e)?;
        }
        if let Some(n) = self.batch_size {
            b::BATCH_SIZE.check(n)?;
        }
        b::ADAM_EPS.check(self.adam_eps)?;
        if let Some(lr) = self.lr {
            b::LR.check(lr)?;
        }
        if let Some(w) = self.weight_decay {
            b::WEIGHT_DECAY.check(w)?;
        }
        if let Some(s) = self.label_smoothing {
            b::LABEL_SMOOTHING.check(s)?;
        }
        if let Some(a) = self.mixup {
            b::MIXUP.check(a)?;
        }
        if let Some(p) = self.babble {
            b::BABBLE.check(p)?;
        }
        if let Some(m) = self.members {
            b::MEMBERS.check(m)?;
        }
        if let Some(f) = self.swa {
            b::SWA.check(f)?;
        }
        if let Some(p) = self.warp {
            b::WARP.check(p)?;
        }
        if let Some(r) = self.warp_range {
            b::WARP_RANGE.check(r)?;
        }
        if let Some(g) = self.gain {
            b::GAIN.check(g)?;
        }
        if let Some(p) = self.talkers {
            b::TALKERS.check(p)?;
        }
        if let Some(p) = self.reverb {
            b::REVERB.check(p)?;
        }
        if let Some(p) = self.mic {
            b::MIC.check(p)?;
        }
        if let Some(t) = self.tilt {
            b::TILT.check(t)?;
        }
        if let Some(db) = self.talkers_louder {
            b::TALKERS_LOUDER.check(db)?;
        }
        if let Some(p) = self.gain_share {
            b::GAIN_SHARE.check(p)?;
        }
        if let Some(p) = self.voices {
            b::VOICES.check(p)?;
        }
        if let Some(r) = self.test_warp {
            b::TEST_WARP.check(r)?;
        }
        if let Some(h) = self.attention {
            b::ATTENTION.check(h)?;
            if h > 0 && self.model != ModelKind::SiCnn {
                return Err(format!(
                    "attention is si-cnn's pooling, not {}'s: use --model si-cnn or attention 0",
                    self.model.name()
                ));
            }
        }
        let r = self.resolved();
        for (name, asked, step, on, neutral) in r.shapers(self) {
            if let Some(v) = asked.filter(|v| on == 0.0 && *v != neutral) {
                return Err(format!(
                    "{name} {v} shapes the {step}, and this run has none: use {step} above 0 or {name} {neutral}"
                ));
            }
        }
        if r.voices > 0.0 && FeatureConfig::copies_for(&self.train_variants) == 0 {
            return Err(format!(
                "voices {} remakes the training copies, and this run trains on none: train on augK variants (ser features --augment N) or use voices 0",
                r.voices
            ));
        }
        if r.norm != Norm::Train {
            if let Some((step, _)) = r.feature_steps().into_iter().find(|(_, v)| *v > 0.0) {
                return Err(format!(
                    "{step} goes through the training side's standardisation: use norm train or {step} 0, got norm {:?}",
                    r.norm
                ));
            }
        }
        if self.model != ModelKind::Lstm && !models::zoo::KERNELS.contains(&self.kernel) {
            return Err(format!("kernel must be 3, 5 or 7, got {}", self.kernel));
        }
        if let Window::Frames(n) = self.window {
            b::WINDOW.check(n)?;
            if n < self.model.min_frames() {
                return Err(format!(
                    "window must be at least {} frames for {}, got {n}",
                    self.model.min_frames(),
                    self.model.name()
                ));
            }
        }
        if self.train_variants.is_empty()
            || !self
                .train_variants
                .iter()
                .all(|v| FeatureConfig::is_variant_name(v))
        {
            return Err(format!(
                "train_variants must be clean, noisy or augK (the copies of `ser features --augment`), got {:?}",
                self.train_variants
            ));
        }
        Ok(())
    }

    /// si-cnn's recipe answers from a third of a window before the speech
    /// after training on the clips' first frames (RAVDESS's clips have
    /// about that much quiet first, so the two windows see alike): a
    /// recording with more quiet before its first word keeps its speech.
    fn recipe_test_crop(&self) -> Option<Crop> {
        (self.model == ModelKind::SiCnn && self.crop == Crop::Start).then_some(Crop::Speech)
    }

    /// Epochs and batch size after the model's defaults.
    pub fn schedule(&self) -> (usize, usize) {
        let r = self.resolved();
        (r.epochs, r.batch_size)
    }

    /// The optimisation settings: the config's, else the model's recipe.
    pub fn resolved(&self) -> Resolved {
        let r = self.model.recipe();
        // The recipe's warp, gain, talkers, reverb, mic and test-time warp need the
        // training side's standardisation; with another, only an explicit
        // one (refused) applies.
        let train_norm = self.norm.unwrap_or(Norm::Train) == Norm::Train;
        let recipe_step = |v: f64| if train_norm { v } else { 0.0 };
        let warp = self.warp.unwrap_or(recipe_step(r.warp));
        let gain = self.gain.unwrap_or(recipe_step(r.gain));
        let talkers = self.talkers.unwrap_or(recipe_step(r.talkers));
        let mic = self.mic.unwrap_or(recipe_step(r.mic));
        Resolved {
            epochs: self.epochs.unwrap_or(r.epochs),
            batch_size: self.batch_size.unwrap_or(r.batch_size),
            lr: self.lr.unwrap_or(r.lr),
            schedule: self.schedule.unwrap_or(r.schedule),
            weight_decay: self.weight_decay.unwrap_or(r.weight_decay),
            label_smoothing: self.label_smoothing.unwrap_or(r.label_smoothing),
            mixup: self.mixup.unwrap_or(r.mixup),
            babble: self.babble.unwrap_or(r.babble),
            members: self.members.unwrap_or(1),
            swa: self.swa.unwrap_or(r.swa),
            warp,
            warp_range: shaping(warp, self.warp_range, r.warp_range, FIRST_RANGE),
            gain,
            gain_share: shaping(gain, self.gain_share, r.gain_share, 1.0),
            talkers,
            reverb: self.reverb.unwrap_or(recipe_step(r.reverb)),
            mic,
            tilt: shaping(mic, self.tilt, r.tilt, 0.0),
            attention: self.attention.unwrap_or(r.attention),
            talkers_louder: shaping(talkers, self.talkers_louder, r.talkers_louder, 0.0),
            voices: self.voices.unwrap_or(r.voices),
            test_warp: self.test_warp.unwrap_or(recipe_step(r.test_warp)),
            test_crop: self.test_crop.or(self.recipe_test_crop()),
            norm: self.norm.unwrap_or(Norm::Train),
            augment: self.augment.unwrap_or(true),
        }
    }
}

/// What a run did, fully resolved: saved as `runs/<run>/config.json` and
/// read back by `ser predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Run name (`<model>-<labels>-<split>-<hash>`).
    pub run: String,
    /// Training code version ([`TRAIN_CODE_VERSION`]).
    pub code: u32,
    /// The stage config as asked.
    pub train: TrainStageConfig,
    /// Epochs trained.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Every optimisation setting as trained (absent before code version 2,
    /// whose runs used the paper's: see [`RunConfig::resolved`]).
    #[serde(default)]
    pub optimisation: Option<Resolved>,
    /// Frames per example, resolved.
    pub window: usize,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Feature set id.
    pub feature_set: String,
    /// The feature config of that set (what `ser predict` recomputes).
    pub features: FeatureConfig,
    /// Hash of the set's shard digests (which clips, which file contents).
    pub data_fingerprint: String,
    /// Clips seen.
    pub clips: usize,
    /// Folds trained, by number (1-based since code version 2; 0-based
    /// before). Weights are saved as `fold<number>/...`.
    pub folds: Vec<usize>,
    /// Test speakers (store numbers) of each trained fold.
    pub test_actors: Vec<Vec<u32>>,
    /// Corpora of the clips used, and (cross-corpus) the emotions kept.
    #[serde(default)]
    pub corpora: Vec<String>,
    /// Emotions kept by a cross-corpus split (those both sides have).
    #[serde(default)]
    pub emotions: Vec<String>,
}

impl RunConfig {
    /// The optimisation settings the run trained with.
    pub fn resolved(&self) -> Resolved {
        self.optimisation.unwrap_or_else(|| self.train.resolved())
    }

    /// Which frames a test clip and every answer keep: the run's test crop
    /// if it has one, else its training examples' crop (runs trained
    /// before test crops had none).
    pub fn answer_crop(&self) -> Crop {
        self.resolved().test_crop.unwrap_or(self.train.crop)
    }

    /// How the run makes its training examples of clips.
    pub fn framing(&self) -> Framing {
        Framing {
            window: self.window,
            crop: self.train.crop,
            readout: self.train.readout,
            n_mels: self.features.mfcc.n_mels,
        }
    }

    /// How the run frames its test clips and every clip it answers for:
    /// as its training examples, with [`RunConfig::answer_crop`].
    pub fn answer_framing(&self) -> Framing {
        Framing {
            crop: self.answer_crop(),
            ..self.framing()
        }
    }

    /// Parses a run's `config.json`, filling what older code versions did
    /// not record with what they did: before code version 2, windows were
    /// centre crops and weights started `U(±1/sqrt(fan_in))`.
    pub fn from_json(text: &str) -> Result<RunConfig, serde_json::Error> {
        let mut c: RunConfig = serde_json::from_str(text)?;
        if c.code < 2 {
            c.train.crop = Crop::Centre;
            c.train.init = Init::Uniform;
            c.train.readout = Readout::LastFrame;
            c.train.adam_eps = 1e-8;
        }
        Ok(c)
    }

    /// The run name for a config, feature set and data: readable prefix +
    /// short hash of everything that determines the results. For si-cnn
    /// that includes its recipe as resolved (epochs, schedule, mixup, …),
    /// not only the flags as asked: our recipe evolves, and a run trained
    /// with an older one must not be reused for a newer one. The paper's
    /// models keep the paper's recipe, so their names hash the flags alone
    /// (and stay what they were).
    pub fn name_for(
        train: &TrainStageConfig,
        window: usize,
        feature_set: &str,
        data_fingerprint: &str,
    ) -> String {
        let mut body = serde_json::json!({
            "code": TRAIN_CODE_VERSION,
            "train": train,
            "window": window,
            "feature_set": feature_set,
            "data": data_fingerprint,
        });
        if train.model == ModelKind::SiCnn {
            body["recipe"] = serde_json::json!(train.resolved());
        }
        format!(
            "{}-{}-{}-{}",
            train.model.name(),
            train.labels.name(),
            train.split.name(),
            &short_id(body.to_string().as_bytes())[..8]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_paper_and_validate() {
        let c = TrainStageConfig::default();
        c.validate().unwrap();
        assert_eq!(c.schedule(), (100, 30));
        let l = TrainStageConfig {
            model: ModelKind::Lstm,
            ..c.clone()
        };
        assert_eq!(l.schedule(), (50, 28));
    }

    #[test]
    fn json_uses_the_cli_names_and_rejects_unknown_fields() {
        let c: TrainStageConfig = serde_json::from_str(
            r#"{"model":"cnn-lstm","labels":"emotion8","split":"actors","loss":"mse","window":{"frames":64}}"#,
        )
        .unwrap();
        assert_eq!(c.model, ModelKind::CnnLstm);
        assert_eq!(c.labels, LabelSet::Emotion8);
        assert_eq!(c.window, Window::Frames(64));
        assert_eq!(c.loss, Loss::Mse);
        assert!(serde_json::from_str::<TrainStageConfig>(r#"{"epoch": 3}"#).is_err());
    }

    #[test]
    fn regression_config_file_values_are_bounded_like_the_flags() {
        let cases: Vec<(&str, TrainStageConfig)> = vec![
            (
                "window",
                TrainStageConfig {
                    window: Window::Frames(100_000),
                    ..Default::default()
                },
            ),
            (
                "epochs",
                TrainStageConfig {
                    epochs: Some(10_000_000),
                    ..Default::default()
                },
            ),
            (
                "batch_size",
                TrainStageConfig {
                    batch_size: Some(1 << 20),
                    ..Default::default()
                },
            ),
            (
                "lr",
                TrainStageConfig {
                    lr: Some(1e30),
                    ..Default::default()
                },
            ),
            (
                "lr",
                TrainStageConfig {
                    lr: Some(f64::NAN),
                    ..Default::default()
                },
            ),
            (
                "folds",
                TrainStageConfig {
                    folds: Some(1000),
                    ..Default::default()
                },
            ),
            (
                "max_folds",
                TrainStageConfig {
                    max_folds: Some(0),
                    ..Default::default()
                },
            ),
            (
                "adam_eps",
                TrainStageConfig {
                    adam_eps: 5.0,
                    ..Default::default()
                },
            ),
        ];
        for (field, c) in cases {
            let e = c.validate().unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!("100000".parse::<Window>().unwrap_err().contains("1..=4096"));
        assert_eq!("4096".parse(), Ok(Window::Frames(4096)));
    }

    #[test]
    fn validate_names_the_bad_field_and_names_change_with_inputs() {
        let bad = TrainStageConfig {
            kernel: 4,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("kernel"));
        let bad = TrainStageConfig {
            window: Window::Frames(8),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("window"));
        let c = TrainStageConfig::default();
        let a = RunConfig::name_for(&c, 128, "set", "data");
        assert!(a.starts_with("cnn-gender-emotion14-random-"), "{a}");
        assert_eq!(a, RunConfig::name_for(&c, 128, "set", "data"));
        assert_ne!(a, RunConfig::name_for(&c, 128, "set", "data2"));
        let e = TrainStageConfig {
            epochs: Some(3),
            ..c
        };
        assert_ne!(a, RunConfig::name_for(&e, 128, "set", "data"));
    }

    #[test]
    fn members_swa_and_feature_steps_at_their_neutral_value_leave_names_as_they_were() {
        let c = TrainStageConfig::default();
        let r = serde_json::to_value(c.resolved()).unwrap();
        let asked = serde_json::to_value(&c).unwrap();
        let old: Resolved = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(
            (
                old.members,
                old.swa,
                old.warp,
                old.gain,
                old.talkers,
                old.reverb,
                old.mic,
                old.test_warp
            ),
            (1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            "a run recorded before them had one model and none of the others"
        );
        let name = |c: &TrainStageConfig| RunConfig::name_for(c, 128, "set", "data");
        let with = |f: &dyn Fn(&mut TrainStageConfig)| {
            let mut x = c.clone();
            f(&mut x);
            x
        };
        let cases = [
            (
                "members",
                with(&|x| x.members = Some(2)),
                serde_json::json!(2),
                with(&|x| x.members = Some(0)),
            ),
            (
                "swa",
                with(&|x| x.swa = Some(0.25)),
                serde_json::json!(0.25),
                with(&|x| x.swa = Some(1.0)),
            ),
            (
                "warp",
                with(&|x| x.warp = Some(0.5)),
                serde_json::json!(0.5),
                with(&|x| x.warp = Some(1.5)),
            ),
            (
                "gain",
                with(&|x| x.gain = Some(20.0)),
                serde_json::json!(20.0),
                with(&|x| x.gain = Some(61.0)),
            ),
            (
                "talkers",
                with(&|x| x.talkers = Some(0.5)),
                serde_json::json!(0.5),
                with(&|x| x.talkers = Some(-0.1)),
            ),
            (
                "reverb",
                with(&|x| x.reverb = Some(0.3)),
                serde_json::json!(0.3),
                with(&|x| x.reverb = Some(1.1)),
            ),
            (
                "mic",
                with(&|x| x.mic = Some(0.4)),
                serde_json::json!(0.4),
                with(&|x| x.mic = Some(f64::NAN)),
            ),
            (
                "tilt",
                with(&|x| {
                    x.mic = Some(0.4);
                    x.tilt = Some(4.0)
                }),
                serde_json::json!(4.0),
                with(&|x| {
                    x.mic = Some(0.4);
                    x.tilt = Some(13.0)
                }),
            ),
            (
                "talkers_louder",
                with(&|x| {
                    x.talkers = Some(0.5);
                    x.talkers_louder = Some(10.0)
                }),
                serde_json::json!(10.0),
                with(&|x| x.talkers_louder = Some(31.0)),
            ),
            (
                "warp_range",
                with(&|x| {
                    x.warp = Some(1.0);
                    x.warp_range = Some(0.15)
                }),
                serde_json::json!(0.15),
                with(&|x| {
                    x.warp = Some(1.0);
                    x.warp_range = Some(0.5)
                }),
            ),
            (
                "voices",
                with(&|x| {
                    x.train_variants = vec!["clean".into(), "aug1".into()];
                    x.voices = Some(0.5)
                }),
                serde_json::json!(0.5),
                with(&|x| {
                    x.train_variants = vec!["clean".into(), "aug1".into()];
                    x.voices = Some(1.5)
                }),
            ),
            (
                "gain_share",
                with(&|x| {
                    x.gain = Some(30.0);
                    x.gain_share = Some(0.3)
                }),
                serde_json::json!(0.3),
                with(&|x| {
                    x.gain = Some(30.0);
                    x.gain_share = Some(0.0)
                }),
            ),
            (
                "test_warp",
                with(&|x| x.test_warp = Some(0.1)),
                serde_json::json!(0.1),
                with(&|x| x.test_warp = Some(0.31)),
            ),
        ];
        for (field, set, value, bad) in cases {
            assert!(r.get(field).is_none(), "{field}: {r}");
            assert!(asked.get(field).is_none(), "{field}: {asked}");
            set.validate().unwrap();
            let resolved = serde_json::to_value(set.resolved()).unwrap();
            assert_eq!(resolved[field], value, "{field}");
            assert_ne!(name(&c), name(&set), "{field} renames");
            let e = bad.validate().unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn attention_is_si_cnns_renames_its_runs_and_is_absent_from_older_ones() {
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        // The recipe pools every frame alike (attention was measured and
        // not kept): left out of the recipe, as in runs from before it.
        assert_eq!(ModelKind::SiCnn.recipe().attention, 0);
        let r = serde_json::to_value(si.resolved()).unwrap();
        assert!(r.get("attention").is_none(), "{r}");
        let old: Resolved = serde_json::from_value(r).unwrap();
        assert_eq!(old.attention, 0);
        // Asked for, it is in the recipe and renames the run.
        let att = TrainStageConfig {
            attention: Some(16),
            ..si.clone()
        };
        att.validate().unwrap();
        let r = serde_json::to_value(att.resolved()).unwrap();
        assert_eq!(r["attention"], serde_json::json!(16));
        let name = |c: &TrainStageConfig| RunConfig::name_for(c, 128, "set", "data");
        assert_ne!(name(&si), name(&att));
        // The paper's models have none; too wide is refused.
        let cnn = TrainStageConfig {
            attention: Some(16),
            ..Default::default()
        };
        assert!(cnn.validate().unwrap_err().contains("attention"));
        let wide = TrainStageConfig {
            attention: Some(513),
            ..si
        };
        assert!(wide.validate().unwrap_err().contains("attention"));
    }

    #[test]
    fn louder_talkers_without_talkers_are_refused_not_silently_hashed() {
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            talkers_louder: Some(5.0),
            ..Default::default()
        };
        si.validate().unwrap();
        let none = [
            TrainStageConfig {
                talkers: Some(0.0),
                ..si.clone()
            },
            TrainStageConfig {
                norm: Some(Norm::Clip),
                ..si.clone()
            },
            TrainStageConfig {
                model: ModelKind::Cnn,
                ..si
            },
        ];
        for c in none {
            let e = c.validate().unwrap_err();
            assert!(e.contains("talkers_louder"), "{e}");
        }
    }

    #[test]
    fn a_setting_that_shapes_a_step_is_refused_only_away_from_its_neutral_value() {
        type Ask = fn(&mut TrainStageConfig);
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        let cases: [(&str, Ask, Ask, Ask); 4] = [
            (
                "warp",
                |x| x.warp = Some(0.0),
                |x| x.warp_range = Some(FIRST_RANGE),
                |x| x.warp_range = Some(0.2),
            ),
            (
                "gain",
                |x| x.gain = Some(0.0),
                |x| x.gain_share = Some(1.0),
                |x| x.gain_share = Some(0.3),
            ),
            (
                "talkers",
                |x| x.talkers = Some(0.0),
                |x| x.talkers_louder = Some(0.0),
                |x| x.talkers_louder = Some(5.0),
            ),
            (
                "mic",
                |x| x.mic = Some(0.0),
                |x| x.tilt = Some(0.0),
                |x| x.tilt = Some(4.0),
            ),
        ];
        for (step, off, neutral, shaped) in cases {
            let mut c = si.clone();
            off(&mut c);
            neutral(&mut c);
            c.validate().unwrap();
            let mut plain = si.clone();
            off(&mut plain);
            assert_eq!(c.resolved(), plain.resolved(), "{step}");
            shaped(&mut c);
            let e = c.validate().unwrap_err();
            assert!(
                e.contains(&format!("shapes the {step}, and this run has none")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_gain_share_without_a_gain_is_refused_not_silently_hashed() {
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        let name = |c: &TrainStageConfig| RunConfig::name_for(c, 128, "set", "data");
        // si-cnn's recipe shares out its gain; spelled out, it is the same.
        let r = si.resolved();
        assert_eq!((r.gain, r.gain_share), (30.0, 0.3));
        let spelled = TrainStageConfig {
            gain: Some(30.0),
            gain_share: Some(0.3),
            ..si.clone()
        };
        spelled.validate().unwrap();
        assert_eq!(spelled.resolved(), si.resolved());
        // A gain on every example is left out of the recipe at 1, as runs
        // before the share recorded it, and is named apart.
        let every = TrainStageConfig {
            gain_share: Some(1.0),
            ..si.clone()
        };
        every.validate().unwrap();
        let recipe = serde_json::to_value(every.resolved()).unwrap();
        assert!(recipe.get("gain_share").is_none(), "{recipe}");
        assert_eq!(recipe["gain"], serde_json::json!(30.0));
        assert_ne!(name(&every), name(&si));
        // A run recorded before the share existed moved every example.
        let recorded = serde_json::to_value(TrainStageConfig::default().resolved()).unwrap();
        assert!(recorded.get("gain_share").is_none(), "{recorded}");
        let old: Resolved = serde_json::from_value(recorded).unwrap();
        assert_eq!(old.gain_share, 1.0);
        // Without a gain (asked, or given way to another norm), the
        // recipe's share moves nothing and names nothing: not refused.
        for c in [
            TrainStageConfig {
                gain: Some(0.0),
                ..si.clone()
            },
            TrainStageConfig {
                norm: Some(Norm::Clip),
                ..si.clone()
            },
        ] {
            c.validate().unwrap();
            let r = c.resolved();
            assert_eq!((r.gain, r.gain_share), (0.0, 1.0), "{c:?}");
            let json = serde_json::to_value(r).unwrap();
            assert!(json.get("gain_share").is_none(), "{json}");
        }
        // A share asked for where there is no gain is refused.
        for c in [
            TrainStageConfig {
                gain: Some(0.0),
                ..spelled.clone()
            },
            TrainStageConfig {
                gain: None,
                model: ModelKind::Cnn,
                ..spelled.clone()
            },
            TrainStageConfig {
                gain: None,
                norm: Some(Norm::Clip),
                ..spelled
            },
        ] {
            let e = c.validate().unwrap_err();
            assert!(e.contains("gain_share 0.3"), "{e}");
        }
    }

    #[test]
    fn the_recipes_feature_steps_give_way_to_another_norm_but_asked_ones_are_refused() {
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        let recipe = ModelKind::SiCnn.recipe();
        let steps = |c: &TrainStageConfig| {
            let r = c.resolved();
            (r.warp, r.gain, r.talkers, r.mic, r.tilt, r.test_warp)
        };
        assert_eq!(
            steps(&si),
            (
                recipe.warp,
                recipe.gain,
                recipe.talkers,
                recipe.mic,
                recipe.tilt,
                recipe.test_warp
            )
        );
        assert!(recipe.mic > 0.0 && recipe.tilt > 0.0 && recipe.test_warp > 0.0);
        let clip = TrainStageConfig {
            norm: Some(Norm::Clip),
            ..si.clone()
        };
        clip.validate().unwrap();
        assert_eq!(steps(&clip), (0.0, 0.0, 0.0, 0.0, 0.0, 0.0));
        type Ask = fn(&mut TrainStageConfig);
        let asked: [(&str, Ask); 6] = [
            ("test_warp", |x| x.test_warp = Some(0.1)),
            ("warp", |x| x.warp = Some(0.5)),
            ("gain", |x| x.gain = Some(10.0)),
            ("talkers", |x| x.talkers = Some(0.5)),
            ("reverb", |x| x.reverb = Some(0.3)),
            ("mic", |x| x.mic = Some(0.3)),
        ];
        for (step, ask) in asked {
            let mut c = clip.clone();
            ask(&mut c);
            assert!(c.validate().unwrap_err().contains(step), "{step}");
        }
    }

    #[test]
    fn a_si_cnn_name_follows_its_resolved_recipe_not_only_its_flags() {
        let asked = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        let name = |c: &TrainStageConfig| RunConfig::name_for(c, 128, "set", "data");
        // The same recipe asked for explicitly trains the same thing …
        let explicit = TrainStageConfig {
            mixup: Some(asked.resolved().mixup),
            ..asked.clone()
        };
        assert_eq!(asked.resolved(), explicit.resolved());
        // … and another recipe is another run, even with the same flags.
        let other = TrainStageConfig {
            mixup: Some(asked.resolved().mixup + 0.1),
            ..asked.clone()
        };
        assert_ne!(name(&asked), name(&other));
        let mut body_without_recipe = serde_json::json!({
            "code": TRAIN_CODE_VERSION,
            "train": &asked,
            "window": 128,
            "feature_set": "set",
            "data": "data",
        });
        let old_style = short_id(body_without_recipe.to_string().as_bytes());
        assert!(
            !name(&asked).ends_with(&old_style[..8]),
            "the recipe is hashed"
        );
        body_without_recipe["recipe"] = serde_json::json!(asked.resolved());
        let new_style = short_id(body_without_recipe.to_string().as_bytes());
        assert!(name(&asked).ends_with(&new_style[..8]));
    }

    #[test]
    fn si_cnn_answers_with_the_speech_crop_after_training_on_first_frames_only() {
        let si = TrainStageConfig {
            model: ModelKind::SiCnn,
            ..Default::default()
        };
        let resolved = |c: &TrainStageConfig| c.resolved().test_crop;
        assert_eq!(resolved(&si), Some(Crop::Speech), "the recipe");
        let centre = TrainStageConfig {
            crop: Crop::Centre,
            ..si.clone()
        };
        assert_eq!(resolved(&centre), None, "another training crop: its own");
        let cnn = TrainStageConfig::default();
        assert_eq!(resolved(&cnn), None, "the paper's models: as trained");
        let asked = TrainStageConfig {
            test_crop: Some(Crop::Start),
            ..si.clone()
        };
        assert_eq!(resolved(&asked), Some(Crop::Start));
        let name = |c: &TrainStageConfig| RunConfig::name_for(c, 128, "set", "data");
        assert_ne!(name(&si), name(&asked), "the test crop names the run");
        // A run's answers follow what it recorded: one trained before test
        // crops recorded none and answers with its training crop.
        let run = |optimisation: Resolved| RunConfig {
            run: "r".into(),
            code: TRAIN_CODE_VERSION,
            train: si.clone(),
            epochs: 60,
            batch_size: 32,
            optimisation: Some(optimisation),
            window: 130,
            classes: vec![],
            feature_set: "set".into(),
            features: FeatureConfig::default(),
            data_fingerprint: "data".into(),
            clips: 0,
            folds: vec![1],
            test_actors: vec![vec![1]],
            corpora: vec![],
            emotions: vec![],
        };
        assert_eq!(run(si.resolved()).answer_crop(), Crop::Speech);
        let mut before = serde_json::to_value(si.resolved()).unwrap();
        before.as_object_mut().unwrap().remove("test_crop");
        let before: Resolved = serde_json::from_value(before).unwrap();
        assert_eq!(run(before).answer_crop(), Crop::Start);
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    /// `docs/examples/*.json` are the defaults, so a user can start from them.
    #[test]
    fn example_configs_are_the_defaults() {
        let train: TrainStageConfig =
            serde_json::from_str(include_str!("../../../docs/examples/train.json")).unwrap();
        assert_eq!(train, TrainStageConfig::default());
        let features: FeatureConfig =
            serde_json::from_str(include_str!("../../../docs/examples/features.json")).unwrap();
        assert_eq!(features, FeatureConfig::default());
    }

    #[test]
    #[ignore = "writes docs/examples/ (run by hand after changing a default)"]
    fn write_example_configs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
        std::fs::create_dir_all(&dir).unwrap();
        let train = serde_json::to_string_pretty(&TrainStageConfig::default()).unwrap();
        std::fs::write(dir.join("train.json"), train + "\n").unwrap();
        let features = serde_json::to_string_pretty(&FeatureConfig::default()).unwrap();
        std::fs::write(dir.join("features.json"), features + "\n").unwrap();
    }
}
