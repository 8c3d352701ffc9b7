//! The on-disk feature store of `ser`.
//!
//! It keeps typed tables and feature shards safely: the layout (hive-
//! partitioned Parquet that DuckDB and polars read directly), versioned
//! manifests committed atomically, content fingerprints, and writer locks.
//! It knows nothing of audio or models: callers hand it rows.
//!
//! ```text
//! store/
//!   STORE.json                                        format version
//!   metadata.parquet (+ .sha256)                      one row per clip
//!   rejects/<stage>.parquet (+ .sha256)               inputs a stage skipped, with the reason
//!   features/set=<fs>/config.json                     the config <fs> hashes
//!   features/set=<fs>/variant=<v>/actor=<aa>/part-<digest>.parquet
//!   manifest/<n:020>.json                             versioned manifest
//!   runs/<run>/{config.json, *.parquet, model.safetensors}  training runs
//!   runs/.folds/<run>/fold-<k>/                       finished folds of a run not yet published
//! ```
//!
//! Every write goes through [`atomic`]: temp sibling, fsync, rename, fsync
//! of the folder. Part files are immutable and named by the digest of their
//! inputs, so a commit never edits a file in place.

#![deny(missing_docs)]

pub mod atomic;
pub mod check;
pub mod error;
pub mod fingerprint;
pub mod history;
pub mod lock;
pub mod manifest;
pub mod runs;
pub mod shard;
pub mod table;

mod layout;

pub use error::{Result, StoreError};
pub use layout::{Store, OLDEST_FORMAT, STORE_FORMAT};
pub use lock::{LockMode, StoreLock};
pub use manifest::{ClipInput, FeatureSetEntry, Manifest, PartEntry, Rejected, ShardEntry};
pub use shard::FeatureRow;
pub use table::{MetadataRow, RejectRow};
