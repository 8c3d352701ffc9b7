//! The pipeline's error type. Per-file problems are not errors: they are
//! reported as rejects and the run goes on; these stop a stage.

use std::path::PathBuf;

/// What stops a stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed (I/O, lock held, bad format); the message names the file.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// An I/O error on a named path outside the store.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A model could not be built, trained or loaded.
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// A SQL query failed (one line: polars' message and the tables there are).
    #[error("query failed: {0}")]
    Query(String),
    /// A data folder holds no audio file at all (nothing to do is not success).
    #[error("no audio files (WAV, FLAC, MP3, Ogg, M4A) found under {dir}")]
    NoAudio {
        /// The folder searched (symbolic links followed).
        dir: PathBuf,
    },
    /// `ser metadata` could label no file at all: nothing was written.
    #[error("no file could be labelled, so {kept}: {what}; first reasons: {reasons}")]
    NothingLabelled {
        /// Each source: what it was read as, how many files labelled.
        what: String,
        /// The first few rejects, `PATH: REASON`.
        reasons: String,
        /// What was left alone.
        kept: String,
    },
    /// `metadata.parquet` exists but holds no clip.
    #[error("{path} holds no clips ({rejected} files were skipped, see {rejects}): run `ser metadata --data DIR` on a folder of RAVDESS-named WAVs first")]
    NoClips {
        /// The metadata table.
        path: PathBuf,
        /// Files `ser metadata` skipped.
        rejected: usize,
        /// Where their reasons are.
        rejects: PathBuf,
    },
    /// A fold's training diverged (a loss became NaN or infinite); nothing
    /// of it was kept.
    #[error("run {run}, fold {fold}: {source}")]
    Diverged {
        /// Run name.
        run: String,
        /// Fold number (from 1).
        fold: usize,
        /// Where it diverged (epoch, side, loss) and the advice.
        source: models::TrainError,
    },
    /// A stage needs the output of an earlier one.
    #[error("{path} not found: run `ser metadata --data DIR` first")]
    NoMetadata {
        /// Where metadata was expected.
        path: PathBuf,
    },
}

impl PipelineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PipelineError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for pipeline stages.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
