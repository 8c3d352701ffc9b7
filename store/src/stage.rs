//! Staging: a run or a fold is written into a hidden temp folder and
//! published by one `rename`, so a run or fold folder that exists is
//! complete.
//!
//! A run is staged in `runs/.tmp-<run>-<pid>/` and published as
//! `runs/<run>/`. Re-publishing a name (`--force`) moves the old folder
//! aside first and deletes it only after the new one is in place.
//!
//! Folds are the unit of scale-out: each trained fold is staged in
//! `runs/.folds/<run>/.tmp-fold-<k>-<pid>/` and published as
//! `runs/.folds/<run>/fold-<k>/` until the run is collected and published;
//! then the run's `.folds` folder is removed. Workers of a job array fill
//! it side by side; `COLLECT.lock` lets one of them publish.

use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic::{self, dir_entries, remove_dir_if_exists, TEMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::lock::StoreLock;
use crate::Store;

/// A run or fold being written: files go into a hidden temp folder until
/// [`Stage::publish`]. Dropped unpublished (an error or a panic), the
/// folder is removed: nothing half-written is left behind.
#[derive(Debug)]
pub struct Stage {
    dir: PathBuf,
    target: PathBuf,
}

impl Stage {
    /// A fresh (empty) staging folder `dir` for `target`.
    fn new(dir: PathBuf, target: PathBuf) -> Result<Stage> {
        remove_dir_if_exists(&dir)?;
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(Stage { dir, target })
    }

    /// A file of the staged folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Moves the staged folder to its target, replacing an existing one
    /// only after the new one is in place. Returns the target.
    pub fn publish(self) -> Result<PathBuf> {
        let old = self.target.with_file_name(format!(
            "{TEMP_PREFIX}old-{}-{}",
            file_name(&self.target),
            std::process::id()
        ));
        let had_old = self.target.exists();
        if had_old {
            fs::rename(&self.target, &old).map_err(|e| StoreError::io(&self.target, e))?;
        }
        atomic::rename_durable(&self.dir, &self.target)?;
        if had_old {
            fs::remove_dir_all(&old).map_err(|e| StoreError::io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Store {
    /// Names of the published runs, sorted.
    pub fn runs(&self) -> Result<Vec<String>> {
        let mut runs = Vec::new();
        for entry in dir_entries(&self.runs_dir())? {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Hidden folders are staging areas (`.tmp-*`, `.folds`), not runs.
            if !name.starts_with('.') && entry.path().is_dir() {
                runs.push(name);
            }
        }
        runs.sort();
        Ok(runs)
    }

    /// Starts writing run `run` in a fresh staging folder (removing stale
    /// staging folders a crashed writer left).
    pub fn stage_run(&self, run: &str) -> Result<Stage> {
        let runs = self.runs_dir();
        fs::create_dir_all(&runs).map_err(|e| StoreError::io(&runs, e))?;
        let stale = [
            format!("{TEMP_PREFIX}{run}-"),
            format!("{TEMP_PREFIX}old-{run}-"),
        ];
        for entry in dir_entries(&runs).unwrap_or_default() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if stale.iter().any(|s| name.starts_with(s)) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let dir = runs.join(format!("{TEMP_PREFIX}{run}-{}", std::process::id()));
        Stage::new(dir, self.run_dir(run))
    }

    /// Folds of `run` already finished (numbers, sorted).
    pub fn folds_done(&self, run: &str) -> Result<Vec<usize>> {
        let mut done: Vec<usize> = dir_entries(&self.folds_dir(run))?
            .into_iter()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("fold-")?.parse().ok()
            })
            .collect();
        done.sort_unstable();
        Ok(done)
    }

    /// Starts writing fold `fold` of `run` in a fresh temp folder;
    /// [`Stage::publish`] moves it to `runs/.folds/<run>/fold-<k>/`
    /// (replacing an older copy of the same fold).
    pub fn stage_fold(&self, run: &str, fold: usize) -> Result<Stage> {
        let parent = self.folds_dir(run);
        let dir = parent.join(format!("{TEMP_PREFIX}fold-{fold}-{}", std::process::id()));
        Stage::new(dir, self.fold_dir(run, fold))
    }

    /// Takes the lock that lets one process collect `run`'s folds, waiting
    /// for another collector to finish.
    pub fn collect_lock(&self, run: &str) -> Result<StoreLock> {
        let dir = self.folds_dir(run);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        StoreLock::acquire_blocking(&self.collect_lock_path(run), "ser train --collect")
    }

    /// Removes `run`'s finished folds (after its publication, or to retrain).
    pub fn remove_folds(&self, run: &str) -> Result<()> {
        remove_dir_if_exists(&self.folds_dir(run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::SummaryRow;
    use crate::table::TableRow;

    fn summary(run: &str) -> SummaryRow {
        SummaryRow {
            run: run.into(),
            model: "cnn".into(),
            labels: "emotion8".into(),
            split: "random".into(),
            fold: None,
            epochs: 2,
            train_accuracy: 0.5,
            test_accuracy: 0.25,
            test_uar: 0.25,
            test_macro_f1: 0.2,
            test_accuracy_clean: 0.3,
            test_accuracy_noisy: 0.2,
            n_train: 6,
            n_test: 2,
            seconds: 1.0,
        }
    }

    #[test]
    fn staged_runs_appear_only_when_published_and_replace_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::create(tmp.path()).unwrap();
        let stage = store.stage_run("r1").unwrap();
        SummaryRow::write(&stage.path("summary.parquet"), &[summary("r1")]).unwrap();
        assert_eq!(
            store.runs().unwrap(),
            Vec::<String>::new(),
            "not yet published"
        );
        stage.publish().unwrap();
        assert_eq!(store.runs().unwrap(), vec!["r1".to_string()]);
        let df = crate::runs::read_summary(&store.run_dir("r1").join("summary.parquet")).unwrap();
        assert_eq!(df.height(), 1);
        assert!(df.column("fold").unwrap().is_null().get(0).unwrap());

        // A failed rewrite (dropped stage) leaves the old run untouched.
        let stage = store.stage_run("r1").unwrap();
        std::fs::write(stage.path("junk"), b"x").unwrap();
        drop(stage);
        assert!(store.run_dir("r1").join("summary.parquet").exists());
        assert_eq!(std::fs::read_dir(store.runs_dir()).unwrap().count(), 1);

        // A forced rewrite replaces it.
        let stage = store.stage_run("r1").unwrap();
        let mut row = summary("r1");
        row.epochs = 9;
        SummaryRow::write(&stage.path("summary.parquet"), &[row]).unwrap();
        stage.publish().unwrap();
        let df = crate::runs::read_summary(&store.run_dir("r1").join("summary.parquet")).unwrap();
        assert_eq!(df.column("epochs").unwrap().i32().unwrap().get(0), Some(9));
        assert_eq!(std::fs::read_dir(store.runs_dir()).unwrap().count(), 1);
    }
}
