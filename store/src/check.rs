//! `ser check`: finds damage in a store and says, per damaged file, the
//! command that repairs it; [`repair`] drops damaged derived data (feature
//! shards, their manifest entries, damaged manifest versions and rejects
//! tables) so that the next `ser features` rebuilds it, and restores a
//! missing `STORE.json` of a folder that clearly holds a store.
//!
//! What is checked: `STORE.json` parses; `metadata.parquet` and
//! `rejects/*.parquet` read and match their checksum files; every kept
//! manifest version parses; every part file the newest readable manifest
//! lists exists with the recorded size and SHA-256 (a footer check where an
//! older manifest recorded none); every run table reads.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic::{dir_entries, if_exists, remove_file_if_exists};
use crate::error::{Result, StoreError};
use crate::fingerprint::file_sha256;
use crate::lock::LockMode;
use crate::open::{Store, STORE_FORMAT};
use crate::shard::check_footer;
use crate::table::{read_frame, sum_path, MetadataRow, RejectRow};

/// What `--repair` does about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Write `STORE.json` for this format.
    RestoreInfo(u32),
    /// Delete a damaged manifest version.
    RemoveManifest(PathBuf),
    /// Drop a shard from the manifest and delete its damaged file.
    DropShard {
        /// Feature set id.
        set: String,
        /// Shard key (`actor=NN`).
        key: String,
    },
    /// Delete a damaged derived table and its checksum file.
    RemoveTable(PathBuf),
    /// Nothing `--repair` can do: the finding's command rebuilds it.
    Manual,
}

/// One damaged (or missing) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (one line).
    pub problem: String,
    /// The exact command (or commands) that repair it.
    pub repair: String,
    /// What `--repair` does.
    pub fix: Fix,
}

/// The result of [`check`].
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Files checked.
    pub checked: usize,
    /// Damaged files, in the order found.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

fn one_line(e: &StoreError, path: &Path) -> String {
    match e {
        StoreError::Damaged { reason, .. } => reason.clone(),
        other => {
            let text = other.to_string();
            let prefix = format!("{}: ", path.display());
            text.strip_prefix(&prefix).unwrap_or(&text).to_string()
        }
    }
}

/// Checks the store at `root`. Fails only if `root` holds no store at
/// all, or one of a newer format.
pub fn check(root: &Path) -> Result<CheckReport> {
    let store = Store::open_unchecked(root);
    let s = root.display().to_string();
    let repair_cmd = format!("ser check --repair --store {s}");
    let mut r = CheckReport::default();
    check_info(&store, &repair_cmd, &mut r)?;

    let meta = store.metadata_path();
    if meta.exists() {
        r.checked += 1;
        if let Err(e) = MetadataRow::read(&meta) {
            r.findings.push(Finding {
                problem: one_line(&e, &meta),
                path: meta,
                repair: format!(
                    "ser metadata --store {s} --data DIR (DIR: each corpus folder the store was made from)"
                ),
                fix: Fix::Manual,
            });
        }
    }
    check_rejects(&store, &repair_cmd, &mut r)?;
    check_manifests(&store, &repair_cmd, &mut r)?;
    check_runs(&store, &mut r)?;
    Ok(r)
}

fn check_info(store: &Store, repair_cmd: &str, r: &mut CheckReport) -> Result<()> {
    let info = store.info_path();
    r.checked += 1;
    let problem = match if_exists(fs::read(&info)) {
        Ok(None) => {
            if !store.looks_like_store() {
                return Err(StoreError::NoStore {
                    path: store.root().to_path_buf(),
                });
            }
            "missing".to_string()
        }
        Err(e) => return Err(StoreError::io(&info, e)),
        Ok(Some(_)) => match store.format() {
            Ok(_) => match Store::open(store.root()) {
                Ok(_) => return Ok(()),
                Err(e @ StoreError::Version { .. }) => return Err(e),
                Err(e) => one_line(&e, &info),
            },
            Err(e) => one_line(&e, &info),
        },
    };
    r.findings.push(Finding {
        path: info,
        problem,
        repair: repair_cmd.to_string(),
        fix: Fix::RestoreInfo(format_of(store)),
    });
    Ok(())
}

/// The format a lost `STORE.json` said: 1 if `metadata.parquet` lacks the
/// `corpus` column format 2 added, else this build's.
fn format_of(store: &Store) -> u32 {
    match read_frame(&store.metadata_path()) {
        Ok(df) if df.column("corpus").is_err() => 1,
        _ => STORE_FORMAT,
    }
}

/// The Parquet files directly in `dir`, sorted (none if it does not exist).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = dir_entries(dir)?
        .into_iter()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

fn check_rejects(store: &Store, repair_cmd: &str, r: &mut CheckReport) -> Result<()> {
    for path in parquet_files(&store.rejects_dir())? {
        r.checked += 1;
        if let Err(e) = RejectRow::read(&path) {
            let stage = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            r.findings.push(Finding {
                problem: one_line(&e, &path),
                repair: format!("{repair_cmd} (the next `ser {stage}` writes it again)"),
                fix: Fix::RemoveTable(path.clone()),
                path,
            });
        }
    }
    Ok(())
}

fn check_manifests(store: &Store, repair_cmd: &str, r: &mut CheckReport) -> Result<()> {
    for f in store.manifest_files()? {
        r.checked += 1;
        match f.manifest {
            Ok(_) => {}
            Err(e @ StoreError::Version { .. }) => return Err(e),
            Err(e) => r.findings.push(Finding {
                problem: one_line(&e, &f.path),
                repair: format!(
                    "{repair_cmd} (then `ser features` adopts or rebuilds the shards it listed)"
                ),
                fix: Fix::RemoveManifest(f.path.clone()),
                path: f.path,
            }),
        }
    }
    let manifest = match store.newest_readable_manifest() {
        Ok((m, _)) => m,
        // Every version is damaged: each is a finding already.
        Err(StoreError::Damaged { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    for (set, entry) in &manifest.sets {
        let config = store.set_config_path(set);
        let rebuild = format!(
            "{repair_cmd}, then `ser features --store {} --config {}`",
            store.root().display(),
            config.display()
        );
        for (key, shard) in &entry.shards {
            for part in &shard.parts {
                let path = store.resolve(&part.path);
                r.checked += 1;
                if let Some(problem) = part_problem(part, &path) {
                    r.findings.push(Finding {
                        path,
                        problem,
                        repair: rebuild.clone(),
                        fix: Fix::DropShard {
                            set: set.clone(),
                            key: key.clone(),
                        },
                    });
                }
            }
        }
    }
    Ok(())
}

/// Why a part file does not match its manifest entry, if it does not.
fn part_problem(part: &crate::manifest::PartEntry, path: &Path) -> Option<String> {
    let meta = match fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Some("not a file".into()),
        Err(_) => return Some("missing".into()),
    };
    if let Some(size) = part.size {
        if meta.len() != size {
            return Some(format!(
                "{} bytes, the manifest recorded {size}",
                meta.len()
            ));
        }
    }
    match &part.sha256 {
        Some(want) => match file_sha256(path) {
            Ok(got) if got == *want => None,
            Ok(_) => Some("its SHA-256 is not the one the manifest recorded".into()),
            Err(e) => Some(one_line(&e, path)),
        },
        None => check_footer(path).err().map(|e| one_line(&e, path)),
    }
}

fn check_runs(store: &Store, r: &mut CheckReport) -> Result<()> {
    for run in store.runs()? {
        let dir = store.run_dir(&run);
        for path in parquet_files(&dir)? {
            r.checked += 1;
            if let Err(e) = read_frame(&path) {
                r.findings.push(Finding {
                    problem: one_line(&e, &path),
                    path,
                    repair: format!(
                        "rm -r {} and train run {run} again (`ser train --store {} --config {}`)",
                        dir.display(),
                        store.root().display(),
                        dir.join("config.json").display()
                    ),
                    fix: Fix::Manual,
                });
            }
        }
    }
    Ok(())
}

/// Applies the fixes of `report` under the exclusive store lock: restores
/// `STORE.json`, deletes damaged manifest versions and rejects tables,
/// and commits a manifest without the damaged shards (deleting their
/// files). Returns one line per action; [`Fix::Manual`] findings are left
/// for their command.
pub fn repair(root: &Path, report: &CheckReport) -> Result<Vec<String>> {
    let store = Store::open_unchecked(root);
    let mut done = Vec::new();
    for f in &report.findings {
        if let Fix::RestoreInfo(format) = f.fix {
            store.write_info(format)?;
            done.push(format!(
                "restored {} (store format {format})",
                f.path.display()
            ));
        }
    }
    let _lock = store.lock(LockMode::Exclusive, "ser check --repair")?;
    for f in &report.findings {
        match &f.fix {
            Fix::RemoveManifest(path) => {
                remove_file_if_exists(path)?;
                done.push(format!("removed damaged manifest {}", path.display()));
            }
            Fix::RemoveTable(path) => {
                remove_file_if_exists(path)?;
                remove_file_if_exists(&sum_path(path))?;
                done.push(format!("removed damaged table {}", path.display()));
            }
            _ => {}
        }
    }
    let mut dropped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut files = Vec::new();
    for f in &report.findings {
        if let Fix::DropShard { set, key } = &f.fix {
            dropped.entry(set.as_str()).or_default().push(key.as_str());
            files.push(&f.path);
        }
    }
    if !dropped.is_empty() {
        let m = store.commit("ser check --repair", |m| {
            for (set, keys) in &dropped {
                if let Some(entry) = m.sets.get_mut(*set) {
                    for k in keys {
                        entry.shards.remove(*k);
                    }
                }
            }
            Ok(true)
        })?;
        for path in files {
            remove_file_if_exists(path)?;
            done.push(format!(
                "dropped damaged shard {} (manifest version {}); `ser features` rebuilds it",
                path.display(),
                m.version
            ));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PartEntry, ShardEntry};
    use crate::shard::tests::row;
    use crate::shard::write_shard;
    use crate::table::TableRow;

    fn store_with_shard() -> (tempfile::TempDir, Store, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("s")).unwrap();
        MetadataRow::write(&store.metadata_path(), &[]).unwrap();
        RejectRow::write(&store.rejects_path("metadata"), &[]).unwrap();
        let rel = Store::part_rel_path("x", "clean", 1, "d");
        let sum = write_shard(&store.resolve(&rel), &[row("a", false), row("b", false)]).unwrap();
        store
            .commit("t", |m| {
                let shard = ShardEntry {
                    digest: "d".into(),
                    parts: vec![PartEntry {
                        variant: "clean".into(),
                        path: rel.clone(),
                        rows: 2,
                        size: Some(sum.size),
                        sha256: Some(sum.sha256.clone()),
                    }],
                    ..ShardEntry::default()
                };
                m.sets
                    .entry("x".into())
                    .or_default()
                    .shards
                    .insert("actor=01".into(), shard);
                Ok(true)
            })
            .unwrap();
        let part = store.resolve(&rel);
        (dir, store, part)
    }

    #[test]
    fn a_good_store_is_clean() {
        let (_d, store, _) = store_with_shard();
        let r = check(store.root()).unwrap();
        assert!(r.is_clean(), "{:?}", r.findings);
        assert_eq!(r.checked, 5);
    }

    #[test]
    fn regression_check_finds_and_repairs_each_damage() {
        let (_d, store, part) = store_with_shard();
        let bytes = fs::read(&part).unwrap();
        fs::write(&part, &bytes[..bytes.len() - 10]).unwrap();
        fs::write(store.metadata_path(), b"random bytes").unwrap();
        fs::write(store.rejects_path("metadata"), b"junk").unwrap();
        fs::remove_file(store.info_path()).unwrap();
        let r = check(store.root()).unwrap();
        let damaged: Vec<_> = r.findings.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            damaged,
            vec![
                store.info_path(),
                store.metadata_path(),
                store.rejects_path("metadata"),
                part.clone()
            ],
            "{:?}",
            r.findings
        );
        assert!(r.findings[1].repair.starts_with("ser metadata"));
        assert!(r.findings[3].repair.contains("ser features"));
        let done = repair(store.root(), &r).unwrap();
        assert_eq!(done.len(), 3, "{done:?}");
        Store::open(store.root()).unwrap();
        assert!(!part.exists());
        assert!(store.latest_manifest().unwrap().sets["x"].shards.is_empty());
        let again = check(store.root()).unwrap();
        assert_eq!(again.findings.len(), 1, "{:?}", again.findings);
        assert_eq!(again.findings[0].fix, Fix::Manual);
    }

    #[test]
    fn a_garbled_manifest_is_found_and_removed() {
        let (_d, store, part) = store_with_shard();
        let latest = store.manifest_path(1);
        fs::write(&latest, b"{").unwrap();
        let r = check(store.root()).unwrap();
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert_eq!(r.findings[0].fix, Fix::RemoveManifest(latest.clone()));
        repair(store.root(), &r).unwrap();
        assert!(!latest.exists());
        assert!(
            part.exists(),
            "the part is left for `ser features` to adopt"
        );
        assert!(check(store.root()).unwrap().is_clean());
    }

    #[test]
    fn a_folder_that_is_no_store_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::NoStore { .. }), "{err}");
    }
}
