//! The `train` stage and `predict`: from feature shards to runs.
//!
//! `ser train` loads a feature set's shards, labels and splits the clips
//! (a clip's clean and noisy copies always on the same side), standardises
//! with training-side statistics, trains one model per fold (the `models`
//! crate does the arithmetic), and writes `runs/<run>/` (DESIGN.md section
//! 4) in one atomic publish. The run name hashes the config, the feature
//! set and the data, so an unchanged re-run reuses the finished run.
//! `ser predict` loads a run and classifies new WAV files through exactly
//! the feature path of training.

pub mod config;
pub mod data;
mod predict;
mod run;
mod tables;

pub use config::{Crop, RunConfig, SplitKind, TrainStageConfig, Window, TRAIN_CODE_VERSION};
pub use predict::{resolve_run, FilePrediction, Predictor};
pub(crate) use run::read_feature_config;
pub use run::{pick_set, run_train, TrainOptions, TrainOutcome, TEST_VARIANTS};
