//! The on-disk feature store of `ser`.
//!
//! It keeps typed tables and feature shards safely: the layout (hive-
//! partitioned Parquet that DuckDB and polars read directly), versioned
//! manifests committed atomically, content fingerprints, and writer locks.
//! It knows nothing of audio or models: callers hand it rows.
//!
//! Where each file lives (`docs/store-format.md`'s layout) is in one
//! place, `layout.rs`: one `Store` method per path.
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
pub mod stage;
pub mod table;

mod layout;
mod open;

pub use error::{Result, StoreError};
pub use lock::{LockMode, StoreLock};
pub use manifest::{ClipInput, FeatureSetEntry, Manifest, PartEntry, Rejected, ShardEntry};
pub use open::{Store, OLDEST_FORMAT, STORE_FORMAT};
pub use shard::FeatureRow;
pub use stage::Stage;
pub use table::{MetadataRow, RejectRow, TableRow};
