//! Where things live in a store, and the operations that span files:
//! opening, manifest commits, garbage collection of unreferenced parts.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{self, TEMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::lock::{LockMode, StoreLock};
use crate::manifest::{Manifest, MANIFEST_FORMAT, MANIFEST_KEEP};

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
    root: PathBuf,
}

impl Store {
    /// Opens the existing store at `root`. A folder without `STORE.json`
    /// (a mistyped `--store`) is an error naming it: reading commands never
    /// create a store. Fails if the folder holds a store of another format.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        let info = store.info_path();
        match fs::read(&info) {
            Ok(bytes) => {
                store.check_format(&bytes)?;
                Ok(store)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoStore {
                path: store.root.clone(),
            }),
            Err(e) => Err(StoreError::io(&info, e)),
        }
    }

    /// Opens the store at `root`, or creates one there if the folder is
    /// absent or empty. A non-empty folder that is not a store (a source
    /// folder, a data folder) is refused, so a store is never mixed into
    /// other files.
    pub fn create(root: impl Into<PathBuf>) -> Result<Store> {
        let root = root.into();
        if root.join("STORE.json").exists() {
            return Store::open(root);
        }
        Self::create_new(root)
    }

    /// The format of the store's `STORE.json`.
    pub fn format(&self) -> Result<u32> {
        let info = self.info_path();
        let bytes = fs::read(&info).map_err(|e| StoreError::io(&info, e))?;
        let found: StoreInfo =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                path: info.clone(),
                source,
            })?;
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
        match fs::read_dir(&root) {
            Ok(entries) => {
                // Leftovers of a creation cut short (temp files) do not count.
                let other = entries
                    .flatten()
                    .any(|e| !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX));
                if other {
                    return Err(StoreError::NotEmpty { path: root });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&root, e)),
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

    fn info_path(&self) -> PathBuf {
        self.root.join("STORE.json")
    }

    fn check_format(&self, bytes: &[u8]) -> Result<()> {
        let info = self.info_path();
        let found: StoreInfo =
            serde_json::from_slice(bytes).map_err(|source| StoreError::Json {
                path: info.clone(),
                source,
            })?;
        if !(OLDEST_FORMAT..=STORE_FORMAT).contains(&found.format) {
            return Err(StoreError::Version {
                path: info,
                found: found.format,
                supported: STORE_FORMAT,
            });
        }
        Ok(())
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `metadata.parquet`.
    pub fn metadata_path(&self) -> PathBuf {
        self.root.join("metadata.parquet")
    }

    /// `rejects/<stage>.parquet`.
    pub fn rejects_path(&self, stage: &str) -> PathBuf {
        self.root.join("rejects").join(format!("{stage}.parquet"))
    }

    /// `features/`.
    pub fn features_dir(&self) -> PathBuf {
        self.root.join("features")
    }

    /// `features/set=<fs>/`.
    pub fn set_dir(&self, set: &str) -> PathBuf {
        self.features_dir().join(format!("set={set}"))
    }

    /// Path of a part file relative to the root, `/`-separated (as the
    /// manifest records it).
    pub fn part_rel_path(set: &str, variant: &str, actor: u32, digest: &str) -> String {
        format!("features/set={set}/variant={variant}/actor={actor:02}/part-{digest}.parquet")
    }

    /// Absolute path of a root-relative path from the manifest.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `manifest/`.
    pub fn manifest_dir(&self) -> PathBuf {
        self.root.join("manifest")
    }

    /// Takes the store's writer lock without waiting (see [`crate::lock`]).
    pub fn lock(&self, mode: LockMode, what: &str) -> Result<StoreLock> {
        StoreLock::try_acquire(&self.root.join("LOCK"), mode, what)
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

    /// The latest committed manifest, or the empty one (version 0).
    pub fn latest_manifest(&self) -> Result<Manifest> {
        let versions = self.manifest_versions()?;
        let Some(&last) = versions.last() else {
            return Ok(Manifest::empty());
        };
        let path = self.manifest_dir().join(Manifest::file_name(last));
        let bytes = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
            path: path.clone(),
            source,
        })?;
        if m.format != MANIFEST_FORMAT {
            return Err(StoreError::Version {
                path,
                found: m.format,
                supported: MANIFEST_FORMAT,
            });
        }
        if m.version != last {
            return Err(StoreError::invalid(
                path,
                format!("holds version {} but is named {last}", m.version),
            ));
        }
        Ok(m)
    }

    /// Committed manifest versions on disk, ascending.
    fn manifest_versions(&self) -> Result<Vec<u64>> {
        let dir = self.manifest_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&dir, e)),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            {
                versions.push(n);
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    /// Commits a new manifest version: under `COMMIT.lock` (waiting for
    /// other committers), reads the latest manifest, lets `update` change
    /// it, writes version `n+1` atomically, then deletes the part files the
    /// new version no longer references and all but the last
    /// [`MANIFEST_KEEP`] versions. Returns the committed manifest.
    ///
    /// `update` returning `false` means "nothing changed": no version is written.
    pub fn commit<F>(&self, what: &str, update: F) -> Result<Manifest>
    where
        F: FnOnce(&mut Manifest) -> Result<bool>,
    {
        let _guard = StoreLock::acquire_blocking(&self.root.join("COMMIT.lock"), what)?;
        let old = self.latest_manifest()?;
        let mut new = old.clone();
        if !update(&mut new)? {
            return Ok(old);
        }
        new.format = MANIFEST_FORMAT;
        new.version = old.version + 1;
        new.writer = writer();
        let path = self.manifest_dir().join(Manifest::file_name(new.version));
        self.write_json(&path, &new)?;

        let keep = new.part_paths();
        for gone in old.part_paths().difference(&keep) {
            let p = self.resolve(gone);
            if let Err(e) = fs::remove_file(&p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(StoreError::io(&p, e));
                }
            }
        }
        let versions = self.manifest_versions()?;
        if versions.len() > MANIFEST_KEEP {
            for v in &versions[..versions.len() - MANIFEST_KEEP] {
                let p = self.manifest_dir().join(Manifest::file_name(*v));
                let _ = fs::remove_file(p);
            }
        }
        Ok(new)
    }

    /// Removes what a crashed writer may have left: temp files (in the
    /// root, `features/`, `rejects/`, `manifest/`), and part files the
    /// latest manifest does not reference. Call it only while holding the
    /// exclusive store lock. Returns the number of files removed.
    pub fn gc(&self, _lock: &StoreLock) -> Result<usize> {
        let manifest = self.latest_manifest()?;
        let keep = manifest.part_paths();
        let mut removed = 0;
        let mut stack = vec![
            self.features_dir(),
            self.root.join("rejects"),
            self.manifest_dir(),
        ];
        removed += self.remove_temps_in(&self.root)?;
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
                let path = entry.path();
                let ft = entry.file_type().map_err(|e| StoreError::io(&path, e))?;
                if ft.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = path
                    .strip_prefix(&self.root)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let orphan_part = name.starts_with("part-")
                    && name.ends_with(".parquet")
                    && !keep.contains(rel.as_str());
                if name.starts_with(TEMP_PREFIX) || orphan_part {
                    fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

impl Store {
    fn remove_temps_in(&self, dir: &Path) -> Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
            if is_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(entry.path()).map_err(|e| StoreError::io(entry.path(), e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn writer() -> String {
    format!("ser {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PartEntry, ShardEntry};

    fn shard(path: &str) -> ShardEntry {
        ShardEntry {
            digest: path.into(),
            parts: vec![PartEntry {
                variant: "clean".into(),
                path: path.into(),
                rows: 1,
            }],
            ..ShardEntry::default()
        }
    }

    #[test]
    fn commit_versions_and_deletes_superseded_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        assert_eq!(store.latest_manifest().unwrap().version, 0);
        let a = "features/set=x/variant=clean/actor=01/part-a.parquet";
        let b = "features/set=x/variant=clean/actor=01/part-b.parquet";
        for rel in [a, b] {
            atomic::write_bytes_atomic(&store.resolve(rel), b"p").unwrap();
        }
        store
            .commit("t", |m| {
                m.sets
                    .entry("x".into())
                    .or_default()
                    .shards
                    .insert("k".into(), shard(a));
                Ok(true)
            })
            .unwrap();
        let m = store
            .commit("t", |m| {
                m.sets
                    .get_mut("x")
                    .unwrap()
                    .shards
                    .insert("k".into(), shard(b));
                Ok(true)
            })
            .unwrap();
        assert_eq!(m.version, 2);
        assert_eq!(store.latest_manifest().unwrap(), m);
        assert!(!store.resolve(a).exists(), "superseded part kept");
        assert!(store.resolve(b).exists());
        let unchanged = store.commit("t", |_| Ok(false)).unwrap();
        assert_eq!(unchanged.version, 2);
    }

    #[test]
    fn gc_removes_orphans_and_temps_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        let live = "features/set=x/variant=clean/actor=01/part-live.parquet";
        let orphan = "features/set=x/variant=clean/actor=01/part-orphan.parquet";
        let temp = "features/set=x/variant=clean/actor=01/.tmp-1-0-part-z.parquet";
        let temp_manifest = "manifest/.tmp-1-1-00000000000000000002.json";
        let config = "features/set=x/config.json";
        for rel in [live, orphan, temp, config, temp_manifest] {
            atomic::write_bytes_atomic(&store.resolve(rel), b"p").unwrap();
        }
        store
            .commit("t", |m| {
                m.sets
                    .entry("x".into())
                    .or_default()
                    .shards
                    .insert("k".into(), shard(live));
                Ok(true)
            })
            .unwrap();
        let lock = store.lock(LockMode::Exclusive, "gc").unwrap();
        assert_eq!(store.gc(&lock).unwrap(), 3);
        assert!(store.resolve(live).exists());
        assert!(store.resolve(config).exists());
        assert!(!store.resolve(orphan).exists());
    }

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
}
