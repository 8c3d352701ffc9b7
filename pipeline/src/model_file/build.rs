//! `ser model build`: the recommended model as one file. Its steps
//! ([`build_model`]):
//! 1. metadata for `--data` and the feature sets the recipe trains on (the
//!    default set and two training copies per clip);
//! 2. the recipe on the speaker folds: every clip is predicted by a model
//!    that never heard its speaker (the estimate, and the held-out
//!    predictions the confidence is calibrated on);
//! 3. the same recipe once more on every clip of every speaker (the
//!    weights the file ships);
//! 4. the file: those weights, their standardisation, and the card.

use std::path::{Path, PathBuf};

use models::zoo::read_tensors;
use models::{LabelSet, ModelKind};

use super::card::{licence_of, ModelCard, TrainingData, MODEL_FORMAT};
use super::estimate::{Calibration, OutOfFold};
use super::write_model_file;
use crate::error::{PipelineError, Result};
use crate::features::FeatureConfig;
use crate::output::OutputFile;
use crate::reproduce::prepare_data;
use crate::train::{
    default_train_variants, run_train, RunConfig, SplitKind, TrainOptions, TrainStageConfig, Window,
};

/// What `ser model build` is asked to do.
pub struct ModelBuildConfig {
    /// Corpus folder; `None`: the store's metadata as it is.
    pub data: Option<PathBuf>,
    /// The model file to write (checked before any work).
    pub out: OutputFile,
    /// Label set.
    pub labels: LabelSet,
    /// Seed of weights and shuffles.
    pub seed: u64,
    /// Epochs; `None`: the recipe's (a quick check, not a model).
    pub epochs: Option<usize>,
    /// Window; `None`: the recipe's.
    pub window: Option<Window>,
    /// Models per fold (a seed ensemble); `None`: the recipe's, one.
    pub members: Option<usize>,
}

/// What it did.
#[derive(Debug)]
pub struct ModelBuildOutcome {
    /// The card written.
    pub card: ModelCard,
    /// The file.
    pub path: PathBuf,
    /// The reliability diagram of the speaker folds (in their run's figures).
    pub reliability: PathBuf,
}

/// The recipe under `split`.
fn stage(cfg: &ModelBuildConfig, split: SplitKind) -> Result<TrainStageConfig> {
    let model = ModelKind::SiCnn;
    let train_variants = default_train_variants(model);
    let c = TrainStageConfig {
        model,
        labels: cfg.labels.clone(),
        split,
        seed: cfg.seed,
        epochs: cfg.epochs,
        members: cfg.members,
        window: cfg.window.unwrap_or(Window::Auto),
        // The set `prepare_data` made, whatever other sets the store holds.
        feature_set: Some(
            FeatureConfig {
                augment: FeatureConfig::copies_for(&train_variants),
                ..FeatureConfig::default()
            }
            .id(),
        ),
        train_variants,
        ..TrainStageConfig::default()
    };
    c.validate().map_err(PipelineError::Config)?;
    Ok(c)
}

/// Builds the model file `cfg` asks for from the store at `root`.
pub fn build_model(root: &Path, cfg: &ModelBuildConfig, show: bool) -> Result<ModelBuildOutcome> {
    let copies = FeatureConfig::copies_for(&default_train_variants(ModelKind::SiCnn));
    let store = prepare_data(root, cfg.data.as_deref(), copies, show)?;
    let opts = || TrainOptions {
        show_progress: show,
        ..TrainOptions::default()
    };
    let folds = run_train(&store, &stage(cfg, SplitKind::Speakers)?, &opts())?;
    let oof = OutOfFold::read(&folds.dir, &folds.config.classes)?;
    let cal = oof.calibrate();
    let reliability = oof.draw_reliability(
        &cal,
        &folds.dir.join("figures").join("reliability.png"),
        &format!("Confidence of {} on unseen speakers", folds.run),
    )?;
    let all = run_train(&store, &stage(cfg, SplitKind::All)?, &opts())?;
    if all.config.classes != folds.config.classes {
        return Err(PipelineError::Config(format!(
            "the speaker folds found classes {:?} and every clip {:?}",
            folds.config.classes, all.config.classes
        )));
    }
    let card = card(&all.config, &folds.config, &oof, &cal);
    let w_path = all.dir.join("model.safetensors");
    let bytes = std::fs::read(&w_path).map_err(|e| PipelineError::io(&w_path, e))?;
    write_model_file(&cfg.out, &card, &read_tensors(&bytes)?)?;
    Ok(ModelBuildOutcome {
        card,
        path: cfg.out.path().to_path_buf(),
        reliability,
    })
}

fn card(all: &RunConfig, folds: &RunConfig, oof: &OutOfFold, cal: &Calibration) -> ModelCard {
    ModelCard {
        format: MODEL_FORMAT,
        ser_version: env!("CARGO_PKG_VERSION").to_string(),
        run: all.clone(),
        temperature: cal.temperature.0,
        estimate: oof.estimate(&folds.run, &folds.classes, cal),
        data: TrainingData {
            fingerprint: all.data_fingerprint.clone(),
            corpora: all.corpora.clone(),
            clips: all.clips,
            licences: all.corpora.iter().map(|c| licence_of(c)).collect(),
        },
    }
}
