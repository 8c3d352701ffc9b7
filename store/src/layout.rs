//! Where each file of a store lives: one function per line of the layout
//! in `docs/store-format.md`, in its order.
//!
//! ```text
//! STORE.json                                   info_path
//! LOCK                                         lock_path
//! COMMIT.lock                                  commit_lock_path
//! metadata.parquet (+ .sha256)                 metadata_path (table::sum_path)
//! rejects/<stage>.parquet (+ .sha256)          rejects_dir, rejects_path
//! features/set=<fs>/config.json                features_dir, set_dir, set_config_path
//! features/set=<fs>/variant=<v>/actor=<aa>/part-<digest>.parquet   part_rel_path, resolve
//! manifest/<n:020>.json                        manifest_dir, manifest_path
//! runs/<run>/                                  runs_dir, run_dir
//! runs/.folds/<run>/fold-<k>/                  folds_dir, fold_dir, collect_lock_path
//! figures/*.png                                figures_dir
//! reports/paper/                               paper_report_dir
//! ```

use std::path::{Path, PathBuf};

use crate::manifest::Manifest;
use crate::open::Store;

impl Store {
    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `STORE.json`.
    pub fn info_path(&self) -> PathBuf {
        self.root.join("STORE.json")
    }

    /// `LOCK`: the writer lock.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("LOCK")
    }

    /// `COMMIT.lock`: serialises manifest commits.
    pub fn commit_lock_path(&self) -> PathBuf {
        self.root.join("COMMIT.lock")
    }

    /// `metadata.parquet`.
    pub fn metadata_path(&self) -> PathBuf {
        self.root.join("metadata.parquet")
    }

    /// `rejects/`.
    pub fn rejects_dir(&self) -> PathBuf {
        self.root.join("rejects")
    }

    /// `rejects/<stage>.parquet`.
    pub fn rejects_path(&self, stage: &str) -> PathBuf {
        self.rejects_dir().join(format!("{stage}.parquet"))
    }

    /// `features/`.
    pub fn features_dir(&self) -> PathBuf {
        self.root.join("features")
    }

    /// `features/set=<fs>/`.
    pub fn set_dir(&self, set: &str) -> PathBuf {
        self.features_dir().join(format!("set={set}"))
    }

    /// `features/set=<fs>/config.json`: the feature config `<fs>` hashes.
    pub fn set_config_path(&self, set: &str) -> PathBuf {
        self.set_dir(set).join("config.json")
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

    /// `manifest/<n:020>.json`: manifest version `version`.
    pub fn manifest_path(&self, version: u64) -> PathBuf {
        self.manifest_dir().join(Manifest::file_name(version))
    }

    /// `runs/`.
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// `runs/<run>/`.
    pub fn run_dir(&self, run: &str) -> PathBuf {
        self.runs_dir().join(run)
    }

    /// `runs/.folds/<run>/`: the finished folds of a run not yet published.
    pub fn folds_dir(&self, run: &str) -> PathBuf {
        self.runs_dir().join(".folds").join(run)
    }

    /// `runs/.folds/<run>/fold-<k>/`.
    pub fn fold_dir(&self, run: &str, fold: usize) -> PathBuf {
        self.folds_dir(run).join(format!("fold-{fold}"))
    }

    /// `runs/.folds/<run>/COLLECT.lock`: lets one process publish the run.
    pub fn collect_lock_path(&self, run: &str) -> PathBuf {
        self.folds_dir(run).join("COLLECT.lock")
    }

    /// `figures/`: data figures written by `ser report`.
    pub fn figures_dir(&self) -> PathBuf {
        self.root.join("figures")
    }

    /// `reports/paper/`: written by `ser reproduce`.
    pub fn paper_report_dir(&self) -> PathBuf {
        self.root.join("reports").join("paper")
    }
}
