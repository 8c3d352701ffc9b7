//! Versioned manifests: `manifest/<n:020>.json`, one file per commit.
//!
//! Shard files are immutable and named by the digest of their inputs; a
//! commit writes manifest `n+1` atomically and only then removes the files
//! it superseded. A crash at any point leaves manifest `n` valid.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// How many manifest versions are kept on disk after a commit.
pub const MANIFEST_KEEP: usize = 10;

/// The state of the store's feature sets at one version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// Version number; 0 is the empty store.
    pub version: u64,
    /// Program and version that committed it.
    pub writer: String,
    /// Feature sets by id (the hash of their config).
    pub sets: BTreeMap<String, FeatureSetEntry>,
}

/// One feature set: its shards by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureSetEntry {
    /// Shards by key (e.g. `actor=01`).
    pub shards: BTreeMap<String, ShardEntry>,
}

/// One shard: the clips it was computed from and the files it produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Digest of the set id and the inputs; names the part files.
    pub digest: String,
    /// Clips (and their content fingerprints) the shard was computed from.
    pub inputs: Vec<ClipInput>,
    /// Part files, one per variant.
    pub parts: Vec<PartEntry>,
    /// Clips that could not be computed, with the reason.
    pub rejected: Vec<Rejected>,
}

/// A clip and the fingerprint of its file's content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClipInput {
    /// Clip id (file stem).
    pub clip_id: String,
    /// SHA-256 of the file's bytes, hex.
    pub fingerprint: String,
}

/// A Parquet part file of a shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// Variant (`clean`, `noisy`).
    pub variant: String,
    /// Path relative to the store root, `/`-separated.
    pub path: String,
    /// Number of rows.
    pub rows: u64,
    /// Size of the file in bytes (absent in manifests written before
    /// `ser check` existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the file's bytes, hex (absent in older manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl PartEntry {
    /// The entry of a part file of `rows` rows at `path` (relative to the
    /// store) whose bytes have `sum`.
    pub fn new(
        variant: &str,
        path: String,
        rows: usize,
        sum: crate::fingerprint::FileSum,
    ) -> PartEntry {
        PartEntry {
            variant: variant.into(),
            path,
            rows: rows as u64,
            size: Some(sum.size),
            sha256: Some(sum.sha256),
        }
    }

    /// Whether the file at `path` has the recorded size (true when no size
    /// is recorded and the file exists). Cheap: one `stat`.
    pub fn size_matches(&self, path: &std::path::Path) -> bool {
        match (std::fs::metadata(path), self.size) {
            (Ok(m), Some(size)) => m.is_file() && m.len() == size,
            (Ok(m), None) => m.is_file(),
            (Err(_), _) => false,
        }
    }
}

/// A clip that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Clip id.
    pub clip_id: String,
    /// The file.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

impl Manifest {
    /// The empty manifest (version 0).
    pub fn empty() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            ..Manifest::default()
        }
    }

    /// Every part file path the manifest references.
    pub fn part_paths(&self) -> BTreeSet<&str> {
        self.sets
            .values()
            .flat_map(|s| s.shards.values())
            .flat_map(|sh| sh.parts.iter().map(|p| p.path.as_str()))
            .collect()
    }

    /// The file name of this version: `<n:020>.json`.
    pub fn file_name(version: u64) -> String {
        format!("{version:020}.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_paths_lists_every_part_once() {
        let mut m = Manifest::empty();
        let shard = ShardEntry {
            digest: "d".into(),
            parts: vec![
                PartEntry {
                    variant: "clean".into(),
                    path: "a".into(),
                    rows: 1,
                    ..PartEntry::default()
                },
                PartEntry {
                    variant: "noisy".into(),
                    path: "b".into(),
                    rows: 1,
                    ..PartEntry::default()
                },
            ],
            ..ShardEntry::default()
        };
        m.sets
            .entry("s".into())
            .or_default()
            .shards
            .insert("actor=01".into(), shard);
        assert_eq!(
            m.part_paths().into_iter().collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(Manifest::file_name(7), "00000000000000000007.json");
    }

    /// Manifests written before `size` / `sha256` existed still read.
    #[test]
    fn part_entries_without_size_and_hash_read() {
        let p: PartEntry =
            serde_json::from_str(r#"{"variant": "clean", "path": "a", "rows": 2}"#).unwrap();
        assert_eq!(p.size, None);
        assert_eq!(p.sha256, None);
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("size"), "{json}");
    }
}
