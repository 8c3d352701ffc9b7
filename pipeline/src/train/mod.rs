//! The `train` stage and `predict`: from feature shards to runs.
//!
//! `ser train` ([`run_train`]) reads as its steps, each module using only
//! those before it (config ← data ← plan ← steps ← fold ← collect ← run):
//! 1. [`plan`]: load a feature set's clips, label and split them (a clip's
//!    clean and noisy copies always on the same side), fix the window, and
//!    name the run by a hash of the config, the feature set and the data;
//! 2. [`fold`]: train each fold still missing (standardised with its
//!    training side's statistics, with the feature-domain training steps
//!    of `steps`; the `models` crate does the arithmetic) and keep it
//!    under `runs/.folds/<run>/`;
//! 3. `collect`: once every fold is in, write `runs/<run>/` (the store
//!    format's tables and weights) and publish it with one rename.
//!
//! An unchanged re-run reuses the published run; a killed one keeps its
//! finished folds. `ser predict` ([`Predictor`]) loads a run and
//! classifies new audio through exactly the feature path of training.

mod collect;
pub mod config;
pub mod data;
pub mod fold;
pub mod plan;
mod predict;
mod run;
mod steps;
mod tables;
mod voices;

pub use config::{
    default_train_variants, Crop, Norm, Readout, Resolved, RunConfig, SplitKind, TrainStageConfig,
    Window, TRAIN_CODE_VERSION,
};
pub use data::TEST_VARIANTS;
pub use fold::KeptFolds;
pub use plan::{FoldData, TrainPlan};
pub use predict::{find_run, resolve_run, Predictor, NO_SPEECH};
pub use run::{run_train, steps_of, RunState, TrainOptions, TrainOutcome};
