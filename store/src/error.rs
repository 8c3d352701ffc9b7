//! The store's error type: every variant names the file it is about.

use std::io;
use std::path::PathBuf;

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong while reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a named file or folder.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow array did not have the expected shape or type.
    #[error("{path}: arrow: {source}")]
    Arrow {
        /// The file the arrays belong to.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// A polars table could not be read or written.
    #[error("{path}: {source}")]
    Polars {
        /// The table's file.
        path: PathBuf,
        /// The underlying error.
        source: polars::error::PolarsError,
    },
    /// A JSON file (manifest, config, STORE.json) could not be parsed or written.
    #[error("{path}: json: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The store was written by a format this build does not read.
    #[error("{path}: store format {found} was written by a newer ser (this build reads formats 1 to {supported}): upgrade ser")]
    Version {
        /// STORE.json or the manifest.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// Another process holds the store's writer lock.
    #[error(
        "store {path} is locked by another writer ({holder}); wait for it to finish and try again"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its holder (pid, command, start time).
        holder: String,
    },
    /// A file of the store exists but cannot be read as what it should be
    /// (garbled, truncated, wrong columns, wrong size or hash).
    #[error(
        "{path} is damaged ({reason}): run `ser check` to see what is damaged and how to repair it"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (one line).
        reason: String,
    },
    /// The folder holds a store whose `STORE.json` is missing.
    #[error("{path} holds a store but its STORE.json is missing: run `ser check --repair --store {path}` to restore it")]
    NoStoreInfo {
        /// The store's folder.
        path: PathBuf,
    },
    /// No store at this path (no `STORE.json`).
    #[error("no store at {path} (no STORE.json): check --store, or create one with `ser metadata --data DIR`")]
    NoStore {
        /// The folder asked for.
        path: PathBuf,
    },
    /// A store would be created in a folder that holds other files.
    #[error("{path} is not empty and not a store: refusing to create a store there (pick another --store)")]
    NotEmpty {
        /// The folder asked for.
        path: PathBuf,
    },
    /// A file exists but does not hold what the store expects.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`StoreError::Damaged`] for `path`, the reason on one line.
    pub fn damaged(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string();
        StoreError::Damaged {
            path: path.into(),
            reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// What a reader found wrong with the file at `path`, as
    /// [`StoreError::Damaged`] (its message without the leading path); an
    /// I/O error or one that already says damaged stays as it is.
    pub(crate) fn into_damaged(self, path: &std::path::Path) -> Self {
        match self {
            e @ (StoreError::Io { .. } | StoreError::Damaged { .. }) => e,
            other => {
                let prefix = format!("{}: ", path.display());
                let text = other.to_string();
                StoreError::damaged(path, text.strip_prefix(&prefix).unwrap_or(&text))
            }
        }
    }

    /// Whether this is the I/O error of a file or folder that does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
