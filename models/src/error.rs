//! Why a model could not be built, loaded or trained (shared by
//! [`crate::zoo`] and [`crate::weights`], which import it from here so
//! neither imports the other's module).

use dfdx::prelude::CpuError;

use crate::train::TrainError;

/// Why a model could not be built, loaded or trained.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model of this shape.
    #[error("no {kind} model with {classes} classes and kernel {kernel} (classes: at least 2; kernel: at least 1)")]
    Unsupported {
        /// Model name.
        kind: &'static str,
        /// Classes asked for.
        classes: usize,
        /// Kernel asked for.
        kernel: usize,
    },
    /// Training or inference failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The weights could not be encoded or decoded.
    #[error("weights: {0}")]
    Weights(String),
}

impl From<CpuError> for ModelError {
    fn from(e: CpuError) -> Self {
        ModelError::Train(TrainError::from(e))
    }
}
