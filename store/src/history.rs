//! The manifest history: reading the newest manifest that parses, commits
//! of new versions, and the clean-up of files no kept version lists.
//!
//! A damaged or missing manifest version never costs a good part file: a
//! reader falls back to the newest version that parses (and says so once on
//! stderr), and no part file that any kept version lists is deleted. When a
//! kept version cannot be read at all, nothing is deleted.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::atomic::{dir_entries, remove_file_if_exists, TEMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::lock::StoreLock;
use crate::manifest::{Manifest, MANIFEST_FORMAT, MANIFEST_KEEP};
use crate::open::{writer, Store};

/// Damaged manifest files already warned about by this process.
static WARNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// One manifest version on disk and what reading it gave.
#[derive(Debug)]
pub struct ManifestFile {
    /// Version number (from the file name).
    pub version: u64,
    /// The file.
    pub path: PathBuf,
    /// The manifest, or why it cannot be read.
    pub manifest: Result<Manifest>,
}

/// The part files listed by the kept manifest versions.
#[derive(Debug, Default)]
pub struct KeptParts {
    /// Root-relative paths listed by any readable kept version.
    pub paths: BTreeSet<String>,
    /// Whether every kept version could be read (if not, some listed
    /// files are unknown and nothing may be deleted).
    pub complete: bool,
}

impl Store {
    /// Committed manifest versions on disk, ascending.
    pub fn manifest_versions(&self) -> Result<Vec<u64>> {
        let mut versions = Vec::new();
        for entry in dir_entries(&self.manifest_dir())? {
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

    /// Reads manifest `version`. A file that does not parse, or holds
    /// another version than its name says, is [`StoreError::Damaged`]; one
    /// of a newer manifest format is [`StoreError::Version`].
    pub fn read_manifest(&self, version: u64) -> Result<Manifest> {
        let path = self.manifest_path(version);
        let bytes = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::damaged(&path, e))?;
        if m.format != MANIFEST_FORMAT {
            return Err(StoreError::Version {
                path,
                found: m.format,
                supported: MANIFEST_FORMAT,
            });
        }
        if m.version != version {
            return Err(StoreError::damaged(
                &path,
                format!("holds version {} but is named {version}", m.version),
            ));
        }
        Ok(m)
    }

    /// Every manifest version on disk, ascending, each read.
    pub fn manifest_files(&self) -> Result<Vec<ManifestFile>> {
        Ok(self
            .manifest_versions()?
            .into_iter()
            .map(|version| ManifestFile {
                version,
                path: self.manifest_path(version),
                manifest: self.read_manifest(version),
            })
            .collect())
    }

    /// The newest manifest that can be read, or the empty one (version 0)
    /// when there is none, with the newer versions skipped as damaged
    /// (file, reason). Fails if versions exist but none can be read, or on
    /// a manifest of a newer format.
    pub fn newest_readable_manifest(&self) -> Result<(Manifest, Vec<(PathBuf, String)>)> {
        let mut skipped = Vec::new();
        for v in self.manifest_versions()?.into_iter().rev() {
            match self.read_manifest(v) {
                Ok(m) => return Ok((m, skipped)),
                Err(e @ StoreError::Version { .. }) => return Err(e),
                // Removed since it was listed (a commit pruning it).
                Err(e) if e.is_not_found() => {}
                Err(StoreError::Damaged { path, reason }) => skipped.push((path, reason)),
                Err(e) => return Err(e),
            }
        }
        match skipped.into_iter().next() {
            None => Ok((Manifest::empty(), Vec::new())),
            Some((path, reason)) => Err(StoreError::Damaged {
                path,
                reason: format!("{reason}; no kept manifest version can be read"),
            }),
        }
    }

    /// The latest committed manifest that can be read, or the empty one
    /// (version 0). Newer damaged versions are skipped with one warning
    /// each on stderr, naming the file.
    pub fn latest_manifest(&self) -> Result<Manifest> {
        let (m, skipped) = self.newest_readable_manifest()?;
        for (path, reason) in skipped {
            let first = WARNED
                .lock()
                .map(|mut w| w.insert(path.clone()))
                .unwrap_or(true);
            if first {
                eprintln!(
                    "warning: {} is damaged ({reason}); reading manifest version {} instead: run `ser check` to see what is damaged and how to repair it",
                    path.display(),
                    m.version
                );
            }
        }
        Ok(m)
    }

    /// The part files every kept manifest version lists.
    pub fn kept_parts(&self) -> Result<KeptParts> {
        let mut kept = KeptParts {
            complete: true,
            ..KeptParts::default()
        };
        for f in self.manifest_files()? {
            match f.manifest {
                Ok(m) => kept
                    .paths
                    .extend(m.part_paths().into_iter().map(str::to_string)),
                Err(e) if e.is_not_found() => {}
                Err(_) => kept.complete = false,
            }
        }
        Ok(kept)
    }

    /// Commits a new manifest version: under `COMMIT.lock` (waiting for
    /// other committers), reads the latest manifest, lets `update` change
    /// it, writes the next version atomically (after every version on
    /// disk, damaged ones included), keeps the last [`MANIFEST_KEEP`]
    /// versions, and deletes the part files it dropped that no kept version
    /// lists. Returns the committed manifest.
    ///
    /// `update` returning `false` means "nothing changed": no version is written.
    pub fn commit<F>(&self, what: &str, update: F) -> Result<Manifest>
    where
        F: FnOnce(&mut Manifest) -> Result<bool>,
    {
        let _guard = StoreLock::acquire_blocking(&self.commit_lock_path(), what)?;
        let old = self.latest_manifest()?;
        let mut new = old.clone();
        if !update(&mut new)? {
            return Ok(old);
        }
        let newest = self.manifest_versions()?.last().copied().unwrap_or(0);
        new.format = MANIFEST_FORMAT;
        new.version = old.version.max(newest) + 1;
        new.writer = writer();
        let path = self.manifest_path(new.version);
        self.write_json(&path, &new)?;

        let listed = new.part_paths();
        let mut dropped: BTreeSet<String> = old
            .part_paths()
            .difference(&listed)
            .map(|s| s.to_string())
            .collect();
        let versions = self.manifest_versions()?;
        if versions.len() > MANIFEST_KEEP {
            for &v in &versions[..versions.len() - MANIFEST_KEEP] {
                if let Ok(m) = self.read_manifest(v) {
                    dropped.extend(m.part_paths().into_iter().map(str::to_string));
                }
                let _ = fs::remove_file(self.manifest_path(v));
            }
        }
        if !dropped.is_empty() {
            let kept = self.kept_parts()?;
            if kept.complete {
                for gone in dropped.difference(&kept.paths) {
                    remove_file_if_exists(&self.resolve(gone))?;
                }
            }
        }
        Ok(new)
    }

    /// Removes what a crashed writer may have left: temp files (in the
    /// root, `features/`, `rejects/`, `manifest/`), and part files that no
    /// kept manifest version lists. If a kept version cannot be read, part
    /// files are left alone. Call it only while holding the exclusive store
    /// lock, after the run adopted the parts it can use. Returns the number
    /// of files removed.
    pub fn gc(&self, _lock: &StoreLock) -> Result<usize> {
        let kept = self.kept_parts()?;
        let mut removed = remove_temps_in(self.root())?;
        let mut stack = vec![self.features_dir(), self.rejects_dir(), self.manifest_dir()];
        while let Some(dir) = stack.pop() {
            for entry in dir_entries(&dir)? {
                let path = entry.path();
                let ft = entry.file_type().map_err(|e| StoreError::io(&path, e))?;
                if ft.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = path
                    .strip_prefix(self.root())
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let orphan_part = kept.complete
                    && name.starts_with("part-")
                    && name.ends_with(".parquet")
                    && !kept.paths.contains(rel.as_str());
                if name.starts_with(TEMP_PREFIX) || orphan_part {
                    fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn remove_temps_in(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in dir_entries(dir)? {
        let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
        if is_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
            fs::remove_file(entry.path()).map_err(|e| StoreError::io(entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic;
    use crate::lock::LockMode;
    use crate::manifest::{PartEntry, ShardEntry};

    fn shard(path: &str) -> ShardEntry {
        ShardEntry {
            digest: path.into(),
            parts: vec![PartEntry {
                variant: "clean".into(),
                path: path.into(),
                rows: 1,
                ..PartEntry::default()
            }],
            ..ShardEntry::default()
        }
    }

    fn put(store: &Store, key: &str, rel: &str) -> Manifest {
        store
            .commit("t", |m| {
                m.sets
                    .entry("x".into())
                    .or_default()
                    .shards
                    .insert(key.into(), shard(rel));
                Ok(true)
            })
            .unwrap()
    }

    fn part(n: usize) -> String {
        format!("features/set=x/variant=clean/actor=01/part-{n}.parquet")
    }

    #[test]
    fn commit_keeps_parts_until_no_kept_version_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        assert_eq!(store.latest_manifest().unwrap().version, 0);
        for n in 0..=MANIFEST_KEEP {
            atomic::write_bytes_atomic(&store.resolve(&part(n)), b"p").unwrap();
        }
        put(&store, "k", &part(0));
        let m = put(&store, "k", &part(1));
        assert_eq!(m.version, 2);
        assert_eq!(store.latest_manifest().unwrap(), m);
        assert!(store.resolve(&part(0)).exists(), "version 1 still lists it");
        for n in 2..=MANIFEST_KEEP {
            put(&store, "k", &part(n));
        }
        assert_eq!(store.manifest_versions().unwrap().len(), MANIFEST_KEEP);
        assert!(
            !store.resolve(&part(0)).exists(),
            "no kept version lists it"
        );
        assert!(store.resolve(&part(1)).exists());
        let unchanged = store.commit("t", |_| Ok(false)).unwrap();
        assert_eq!(unchanged.version, MANIFEST_KEEP as u64 + 1);
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
        put(&store, "k", live);
        let lock = store.lock(LockMode::Exclusive, "gc").unwrap();
        assert_eq!(store.gc(&lock).unwrap(), 3);
        assert!(store.resolve(live).exists());
        assert!(store.resolve(config).exists());
        assert!(!store.resolve(orphan).exists());
    }

    /// Issue 19 item 3: a garbled latest manifest falls back to the one
    /// before; a deleted one leaves the older versions' parts alone.
    #[test]
    fn regression_damaged_latest_manifest_falls_back_and_deletes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        for n in 0..3 {
            atomic::write_bytes_atomic(&store.resolve(&part(n)), b"p").unwrap();
        }
        put(&store, "a", &part(0));
        let second = put(&store, "b", &part(1));
        let third = put(&store, "c", &part(2));
        let latest = store.manifest_path(third.version);
        fs::write(&latest, b"{ garbled").unwrap();
        assert_eq!(store.latest_manifest().unwrap(), second);
        let (_, skipped) = store.newest_readable_manifest().unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0, latest);
        let lock = store.lock(LockMode::Exclusive, "gc").unwrap();
        assert_eq!(
            store.gc(&lock).unwrap(),
            0,
            "a garbled version: delete nothing"
        );
        fs::remove_file(&latest).unwrap();
        assert_eq!(
            store.gc(&lock).unwrap(),
            1,
            "part 2 is listed by no kept version"
        );
        assert!(store.resolve(&part(0)).exists());
        assert!(store.resolve(&part(1)).exists());
        drop(lock);
        let next = put(&store, "d", &part(0));
        assert_eq!(next.version, 3);
        for v in store.manifest_versions().unwrap() {
            fs::write(store.manifest_path(v), b"[]").unwrap();
        }
        let err = store.latest_manifest().unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("ser check"), "{err}");
    }
}
