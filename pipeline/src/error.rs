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
    /// A file of a trained run (its `config.json`, its weights, a kept
    /// fold's `fold.json`) exists but cannot be read back; the message
    /// names it and says what to do.
    #[error("{path} is damaged ({reason}): {advice}")]
    DamagedRun {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (one line).
        reason: String,
        /// What to do about it.
        advice: String,
    },
    /// `--run` names a folder that is not a run (no `config.json` in it).
    #[error("{path}: not a run folder (no config.json in it)")]
    NotARun {
        /// The folder.
        path: PathBuf,
    },
    /// `--model` names a file that is not a model file `ser` can read.
    #[error("{path}: not a ser model file: {why}")]
    NotAModel {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A run could not classify what it was given (see [`PredictError`]).
    #[error(transparent)]
    Predict(#[from] PredictError),
    /// A stage needs the output of an earlier one.
    #[error("{path} not found: run `ser metadata --data DIR` first")]
    NoMetadata {
        /// Where metadata was expected.
        path: PathBuf,
    },
}

impl PipelineError {
    /// A [`PipelineError::DamagedRun`], the reason on one line.
    pub(crate) fn damaged_run(
        path: impl Into<PathBuf>,
        reason: impl std::fmt::Display,
        advice: impl Into<String>,
    ) -> Self {
        PipelineError::DamagedRun {
            path: path.into(),
            reason: one_line(&reason.to_string()),
            advice: advice.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PipelineError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for pipeline stages.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why a run could not classify audio: a file, a segment of a stream.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The audio could not be decoded.
    #[error(transparent)]
    Decode(#[from] crate::audio::AudioError),
    /// The samples could not be turned into the run's features.
    #[error("{0}")]
    Features(String),
    /// The features do not have the run's coefficients per frame.
    #[error("{got} MFCCs per frame, the run needs {need}")]
    Coefficients {
        /// Coefficients per frame given.
        got: usize,
        /// Coefficients per frame the run was trained on.
        need: usize,
    },
    /// `--fold` names a fold the run does not have.
    #[error("run {run} has no fold {fold} (folds: {folds})")]
    NoFold {
        /// The run.
        run: String,
        /// The fold asked for (from 1).
        fold: usize,
        /// The run's folds, comma-separated.
        folds: String,
    },
    /// How a stream is cut is invalid (a segment length, a hop, a rate).
    #[error("{0}")]
    Segments(String),
    /// The model failed on the features.
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// A bug in this input's work, caught ([`crate::panic_guard`]).
    #[error("{0}")]
    Internal(String),
}

/// A file a run could not classify, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: PredictError,
}

impl FileError {
    /// `source` on `path`.
    pub fn new(path: impl Into<PathBuf>, source: impl Into<PredictError>) -> Self {
        FileError {
            path: path.into(),
            source: source.into(),
        }
    }
}
