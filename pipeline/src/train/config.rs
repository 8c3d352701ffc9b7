//! The training stage's config (`ser train` flags or `--config FILE`), and
//! the resolved form saved as `runs/<run>/config.json`, whose hash (with
//! the feature set and the data fingerprint) names the run.

use models::{Init, LabelSet, Loss, ModelKind};
use serde::{Deserialize, Serialize};
use store::fingerprint::short_id;

use crate::features::FeatureConfig;

/// Bumped when the training code changes its results for the same config,
/// so that old runs are not reused for new code.
pub const TRAIN_CODE_VERSION: u32 = 2;

/// How clips are split into train and test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Stratified random split of clips (the paper's protocol; speakers on both sides).
    Random,
    /// Speaker-independent folds: no actor on both sides.
    Actors,
}

impl SplitKind {
    /// Parses `random` or `actors`.
    pub fn parse(s: &str) -> Result<SplitKind, String> {
        match s {
            "random" => Ok(SplitKind::Random),
            "actors" => Ok(SplitKind::Actors),
            _ => Err(format!("unknown split `{s}`: use random or actors")),
        }
    }

    /// The name `parse` accepts.
    pub fn name(self) -> &'static str {
        match self {
            SplitKind::Random => "random",
            SplitKind::Actors => "actors",
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

impl Window {
    /// Parses `auto` or a frame count.
    pub fn parse(s: &str) -> Result<Window, String> {
        match s {
            "auto" => Ok(Window::Auto),
            n => n
                .parse()
                .map(Window::Frames)
                .map_err(|_| format!("window `{s}`: expected `auto` or a number of frames")),
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
}

impl Crop {
    /// Parses `start` or `centre` (`center` too).
    pub fn parse(s: &str) -> Result<Crop, String> {
        match s {
            "start" => Ok(Crop::Start),
            "centre" | "center" => Ok(Crop::Centre),
            _ => Err(format!("unknown crop `{s}`: use start or centre")),
        }
    }

    /// The name `parse` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Crop::Start => "start",
            Crop::Centre => "centre",
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

impl Readout {
    /// Parses `last-real` or `last-frame`.
    pub fn parse(s: &str) -> Result<Readout, String> {
        match s {
            "last-real" => Ok(Readout::LastReal),
            "last-frame" => Ok(Readout::LastFrame),
            _ => Err(format!(
                "unknown readout `{s}`: use last-real or last-frame"
            )),
        }
    }
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
    /// `actors` split: `None` uses EmoBox's six RAVDESS folds; `Some(k)`
    /// groups actors into `k` folds balanced by gender and clip count.
    pub folds: Option<usize>,
    /// Train and test only the first this many folds (quick looks).
    pub max_folds: Option<usize>,
    /// Epochs; `None`: the paper's (CNN 100, LSTM and CNN+LSTM 50).
    pub epochs: Option<usize>,
    /// Batch size; `None`: the paper's (CNN 30, LSTM and CNN+LSTM 28).
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    pub lr: f64,
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
            max_folds: None,
            epochs: None,
            batch_size: None,
            lr: 1e-3,
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
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(format!(
                "test_fraction must be in (0, 1), got {}",
                self.test_fraction
            ));
        }
        if matches!(self.folds, Some(k) if k < 2) {
            return Err("folds must be at least 2".into());
        }
        if self.max_folds == Some(0) {
            return Err("max_folds must be at least 1".into());
        }
        if self.epochs == Some(0) || self.batch_size == Some(0) {
            return Err("epochs and batch_size must be at least 1".into());
        }
        if !(self.adam_eps > 0.0 && self.adam_eps.is_finite()) {
            return Err(format!("adam_eps must be positive, got {}", self.adam_eps));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(format!("lr must be positive, got {}", self.lr));
        }
        if self.model != ModelKind::Lstm && !models::zoo::KERNELS.contains(&self.kernel) {
            return Err(format!("kernel must be 3, 5 or 7, got {}", self.kernel));
        }
        if let Window::Frames(n) = self.window {
            if n < self.model.min_frames() {
                return Err(format!(
                    "window must be at least {} frames for {}, got {n}",
                    self.model.min_frames(),
                    self.model.name()
                ));
            }
        }
        if self.train_variants.is_empty()
            || self
                .train_variants
                .iter()
                .any(|v| v != "clean" && v != "noisy")
        {
            return Err(format!(
                "train_variants must be clean and/or noisy, got {:?}",
                self.train_variants
            ));
        }
        Ok(())
    }

    /// Whether recurrent models read their state after the padding.
    pub fn readout_last_frame(&self) -> bool {
        self.readout == Readout::LastFrame
    }

    /// Epochs and batch size after the paper's defaults.
    pub fn schedule(&self) -> (usize, usize) {
        let (e, b) = self.model.paper_schedule();
        (self.epochs.unwrap_or(e), self.batch_size.unwrap_or(b))
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
    /// Test actors of each trained fold.
    pub test_actors: Vec<Vec<u32>>,
}

impl RunConfig {
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
    /// short hash of everything that determines the results.
    pub fn name_for(
        train: &TrainStageConfig,
        window: usize,
        feature_set: &str,
        data_fingerprint: &str,
    ) -> String {
        let body = serde_json::json!({
            "code": TRAIN_CODE_VERSION,
            "train": train,
            "window": window,
            "feature_set": feature_set,
            "data": data_fingerprint,
        });
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
}
