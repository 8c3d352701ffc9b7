//! The runs `ser reproduce` trains: each model under each protocol, with
//! the paper's settings.

use models::{LabelSet, ModelKind};

use crate::error::{PipelineError, Result};
use crate::train::{default_train_variants, SplitKind, TrainStageConfig, Window};

use super::ReproduceConfig;

/// An evaluation protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The paper's: random 75/25 split by clip (speakers on both sides),
    /// 14 classes (gender x emotion).
    Paper,
    /// Speaker-independent: EmoBox's six folds, 8 emotions.
    Speakers,
}

impl std::str::FromStr for Protocol {
    type Err = String;

    /// Parses `paper` or `speakers`.
    fn from_str(s: &str) -> std::result::Result<Protocol, String> {
        match s {
            "paper" => Ok(Protocol::Paper),
            "speakers" => Ok(Protocol::Speakers),
            _ => Err(format!("unknown protocol `{s}`: use paper or speakers")),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Protocol {
    /// The name [`FromStr`](std::str::FromStr) accepts.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Paper => "paper",
            Protocol::Speakers => "speakers",
        }
    }
}

/// One run of the reproduction.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Which protocol.
    pub protocol: Protocol,
    /// Its `ser train` config.
    pub config: TrainStageConfig,
}

impl PlannedRun {
    /// `cnn / paper`.
    pub fn label(&self) -> String {
        format!("{} / {}", self.config.model.name(), self.protocol.name())
    }
}

/// The models of each protocol, in report order: the paper's under both,
/// ours (`si-cnn`) under the speaker-independent one it was made for.
fn models(protocol: Protocol) -> Vec<ModelKind> {
    match protocol {
        Protocol::Paper => vec![ModelKind::Cnn, ModelKind::Lstm, ModelKind::CnnLstm],
        Protocol::Speakers => ModelKind::ALL.to_vec(),
    }
}

/// The runs `cfg` asks for.
pub fn planned(cfg: &ReproduceConfig) -> Result<Vec<PlannedRun>> {
    let protocols = if cfg.protocols.is_empty() {
        vec![Protocol::Paper, Protocol::Speakers]
    } else {
        cfg.protocols.clone()
    };
    let mut out = Vec::new();
    for protocol in protocols {
        for model in models(protocol) {
            if !cfg.only.is_empty() && !cfg.only.contains(&model) {
                continue;
            }
            let mut c = TrainStageConfig {
                model,
                train_variants: default_train_variants(model),
                ..TrainStageConfig::default()
            };
            match protocol {
                Protocol::Paper => {
                    c.labels = LabelSet::GenderEmotion14;
                    c.split = SplitKind::Random;
                }
                Protocol::Speakers => {
                    c.labels = LabelSet::Emotion8;
                    c.split = SplitKind::Speakers;
                    if model == ModelKind::Cnn {
                        c.max_folds = cfg.max_folds;
                    }
                }
            }
            if cfg.quick {
                c.epochs = Some(2);
                c.window = Window::Frames(64);
            }
            c.validate().map_err(PipelineError::Config)?;
            out.push(PlannedRun {
                protocol,
                config: c,
            });
        }
    }
    if out.is_empty() {
        return Err(PipelineError::Config(
            "nothing to run: --only and --protocol leave no run".into(),
        ));
    }
    Ok(out)
}
