//! Opening and creating a store: `STORE.json`, its format, the writer
//! lock, JSON writes. Where each file lives is in [`crate::layout`].

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{self, dir_entries, if_exists, TEMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::lock::{LockMode, StoreLock};

/// The store format this build writes (`STORE.json`). Format 2 added the
/// `corpus` and `speaker` columns of `metadata.parquet`.
pub const STORE_FORMAT: u32 = 2;

/// The oldest format this build reads: format 1 stores held RAVDESS only,
/// and their metadata reads as such; `ser metadata` rewrites them as 2.
pub const OLDEST_FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct StoreInfo {
    format: u32,
    writer: String,
}

/// A store rooted at a folder.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) root: PathBuf,
}

impl Store {
    /// Opens the existing store at `root`. A folder without `STORE.json`
    /// (a mistyped `--store`) is an error naming it: reading commands never
    /// create a store. Fails if the folder holds a store of another format.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        let info = store.info_path();
        match if_exists(fs::read(&info)).map_err(|e| StoreError::io(&info, e))? {
            Some(bytes) => {
                store.check_format(&bytes)?;
                Ok(store)
            }
            None => Err(store.missing_info()),
        }
    }

    /// The error for a folder without `STORE.json`: [`StoreError::NoStoreInfo`]
    /// when it clearly holds a store (`ser check --repair` restores the
    /// file), else [`StoreError::NoStore`].
    fn missing_info(&self) -> StoreError {
        if self.looks_like_store() {
            StoreError::NoStoreInfo {
                path: self.root.clone(),
            }
        } else {
            StoreError::NoStore {
                path: self.root.clone(),
            }
        }
    }

    /// Whether the folder holds what only a store holds (`metadata.parquet`,
    /// `manifest/`, `features/`), with or without `STORE.json`.
    pub fn looks_like_store(&self) -> bool {
        self.metadata_path().is_file()
            || self.manifest_dir().is_dir()
            || self.features_dir().is_dir()
    }

    /// Opens the store at `root` even if its `STORE.json` is missing or
    /// unreadable (for `ser check`, which reports and restores it).
    pub fn open_unchecked(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// Writes `STORE.json` for `format` (`ser check --repair` restoring a
    /// lost one).
    pub fn write_info(&self, format: u32) -> Result<()> {
        let body = StoreInfo {
            format,
            writer: writer(),
        };
        self.write_json(&self.info_path(), &body)
    }

    /// Opens the store at `root`, or creates one there if the folder is
    /// absent or empty. A non-empty folder that is not a store (a source
    /// folder, a data folder) is refused, so a store is never mixed into
    /// other files.
    pub fn create(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        if store.info_path().exists() {
            return Store::open(store.root);
        }
        if store.looks_like_store() {
            return Err(store.missing_info());
        }
        Self::create_new(store.root)
    }

    /// The format of the store's `STORE.json`.
    pub fn format(&self) -> Result<u32> {
        let info = self.info_path();
        let bytes = fs::read(&info).map_err(|e| StoreError::io(&info, e))?;
        let found: StoreInfo =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::damaged(&info, e))?;
        Ok(found.format)
    }

    /// Marks the store as written in this build's format (after a writer
    /// rewrote what the older format lacked, e.g. `metadata.parquet`).
    pub fn upgrade_format(&self) -> Result<()> {
        if self.format()? < STORE_FORMAT {
            let body = StoreInfo {
                format: STORE_FORMAT,
                writer: writer(),
            };
            self.write_json(&self.info_path(), &body)?;
        }
        Ok(())
    }

    fn create_new(root: PathBuf) -> Result<Store> {
        // Leftovers of a creation cut short (temp files) do not count.
        let other = dir_entries(&root)?
            .iter()
            .any(|e| !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX));
        if other {
            return Err(StoreError::NotEmpty { path: root });
        }
        fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let store = Store { root };
        let body = StoreInfo {
            format: STORE_FORMAT,
            writer: writer(),
        };
        store.write_json(&store.info_path(), &body)?;
        Ok(store)
    }

    fn check_format(&self, bytes: &[u8]) -> Result<()> {
        let info = self.info_path();
        let found: StoreInfo =
            serde_json::from_slice(bytes).map_err(|e| StoreError::damaged(&info, e))?;
        if !(OLDEST_FORMAT..=STORE_FORMAT).contains(&found.format) {
            return Err(StoreError::Version {
                path: info,
                found: found.format,
                supported: STORE_FORMAT,
            });
        }
        Ok(())
    }

    /// Takes the store's writer lock without waiting (see [`crate::lock`]).
    pub fn lock(&self, mode: LockMode, what: &str) -> Result<StoreLock> {
        StoreLock::try_acquire(&self.lock_path(), mode, what)
    }

    /// Writes `value` as pretty JSON, atomically.
    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        bytes.push(b'\n');
        atomic::write_bytes_atomic(path, &bytes)
    }
}

pub(crate) fn writer() -> String {
    format!("ser {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_store_of_another_format() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("STORE.json"),
            r#"{"format": 99, "writer": "future"}"#,
        )
        .unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("format 99"), "{err}");
    }

    #[test]
    fn regression_open_never_creates_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nonexist");
        let err = Store::open(&missing).unwrap_err();
        assert!(matches!(err, StoreError::NoStore { .. }), "{err}");
        assert!(err.to_string().contains("nonexist"), "{err}");
        assert!(!missing.exists(), "open created {}", missing.display());
        let empty = dir.path();
        assert!(Store::open(empty).is_err());
        assert!(!empty.join("STORE.json").exists());
    }

    #[test]
    fn create_refuses_a_folder_that_holds_other_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        let err = Store::create(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::NotEmpty { .. }), "{err}");
        assert!(!dir.path().join("STORE.json").exists());
        let fresh = dir.path().join("new/store");
        Store::create(&fresh).unwrap();
        Store::open(&fresh).unwrap();
        Store::create(&fresh).unwrap();
    }

    #[test]
    fn regression_missing_store_json_points_at_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        fs::write(store.metadata_path(), b"x").unwrap();
        fs::remove_file(store.info_path()).unwrap();
        for err in [
            Store::open(dir.path()).unwrap_err(),
            Store::create(dir.path()).unwrap_err(),
        ] {
            assert!(matches!(err, StoreError::NoStoreInfo { .. }), "{err}");
            assert!(err.to_string().contains("ser check --repair"), "{err}");
        }
        store.write_info(STORE_FORMAT).unwrap();
        Store::open(dir.path()).unwrap();
    }
}
