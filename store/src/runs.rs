//! Training runs: `runs/<run>/` with the result tables of DESIGN.md
//! section 4 (`history`, `metrics`, `confusion`, `predictions`, `summary`).
//!
//! A run is written into a staging folder (`runs/.tmp-<run>-<pid>/`), each
//! file atomically, and published by one `rename` of the folder: a run
//! folder that exists is complete. Re-publishing a name (`--force`) moves
//! the old folder aside first and deletes it only after the new one is in
//! place.
//!
//! Folds are the unit of scale-out: each trained fold is kept under
//! `runs/.folds/<run>/fold-<k>/` (written in a temp folder and renamed, so
//! a fold folder that exists is complete) until the run is collected and
//! published; then the run's `.folds` folder is removed. Workers of a job
//! array fill it side by side; `COLLECT.lock` lets one of them publish.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::atomic::{self, dir_entries, TEMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::table::{read_frame, write_frame};
use crate::Store;

/// One row of `history.parquet`: a side's scores after an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// Run name.
    pub run: String,
    /// Fold number (from 1).
    pub fold: i32,
    /// 1-based epoch.
    pub epoch: i32,
    /// `train` or `test`.
    pub split: String,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy, 0-1.
    pub accuracy: f64,
    /// Unweighted average recall, 0-1.
    pub uar: f64,
    /// Seconds the epoch took (training for `train`, evaluation for `test`).
    pub seconds: f64,
}

/// One row of `metrics.parquet`: a class's scores on a test side.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Run name.
    pub run: String,
    /// Fold number (from 1); `None`: all folds' test predictions pooled.
    pub fold: Option<i32>,
    /// `all`, `clean` or `noisy`: which test copies were scored.
    pub variant: String,
    /// Class name.
    pub class: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// True instances.
    pub support: i64,
}

/// One row of `confusion.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionRow {
    /// Run name.
    pub run: String,
    /// Fold number (from 1); `None`: all folds pooled.
    pub fold: Option<i32>,
    /// `all`, `clean` or `noisy`.
    pub variant: String,
    /// True class.
    pub actual: String,
    /// Predicted class.
    pub predicted: String,
    /// Test examples with this pair.
    pub count: i64,
}

/// One row of `predictions.parquet`: a test example's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    /// Run name.
    pub run: String,
    /// Fold number (from 1) the clip was tested in.
    pub fold: i32,
    /// Clip id.
    pub clip_id: String,
    /// `clean` or `noisy`.
    pub variant: String,
    /// Actor.
    pub actor: i32,
    /// True class.
    pub actual: String,
    /// Predicted class.
    pub predicted: String,
    /// Probability of each class, in the run's class order.
    pub probabilities: Vec<f32>,
}

/// One row of `summary.parquet`: a fold, or (fold `None`) the mean of folds.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Run name.
    pub run: String,
    /// `cnn`, `lstm`, `cnn-lstm`.
    pub model: String,
    /// Label set.
    pub labels: String,
    /// `random` or `actors`.
    pub split: String,
    /// Fold number (from 1); `None`: mean over folds.
    pub fold: Option<i32>,
    /// Epochs trained.
    pub epochs: i32,
    /// Accuracy on the training side after training (dropout off).
    pub train_accuracy: f64,
    /// Accuracy on the test side, clean and noisy copies together.
    pub test_accuracy: f64,
    /// UAR on the test side.
    pub test_uar: f64,
    /// Macro F1 on the test side.
    pub test_macro_f1: f64,
    /// Test accuracy on the clean copies only.
    pub test_accuracy_clean: f64,
    /// Test accuracy on the noisy copies only.
    pub test_accuracy_noisy: f64,
    /// Training examples.
    pub n_train: i64,
    /// Test examples.
    pub n_test: i64,
    /// Wall-clock seconds (training and evaluation).
    pub seconds: f64,
}

macro_rules! col {
    ($rows:expr, $name:literal, $f:expr) => {
        Column::new($name.into(), $rows.iter().map($f).collect::<Vec<_>>())
    };
}

fn frame(path: &Path, cols: Vec<Column>) -> Result<DataFrame> {
    DataFrame::new_infer_height(cols).map_err(|source| StoreError::Polars {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `history.parquet` at `path`.
pub fn write_history(path: &Path, rows: &[HistoryRow]) -> Result<()> {
    let mut df = frame(
        path,
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "epoch", |r| r.epoch),
            col!(rows, "split", |r| r.split.clone()),
            col!(rows, "loss", |r| r.loss),
            col!(rows, "accuracy", |r| r.accuracy),
            col!(rows, "uar", |r| r.uar),
            col!(rows, "seconds", |r| r.seconds),
        ],
    )?;
    write_frame(path, &mut df)
}

/// Writes `metrics.parquet` at `path`.
pub fn write_metrics(path: &Path, rows: &[MetricRow]) -> Result<()> {
    let mut df = frame(
        path,
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "class", |r| r.class.clone()),
            col!(rows, "precision", |r| r.precision),
            col!(rows, "recall", |r| r.recall),
            col!(rows, "f1", |r| r.f1),
            col!(rows, "support", |r| r.support),
        ],
    )?;
    write_frame(path, &mut df)
}

/// Writes `confusion.parquet` at `path`.
pub fn write_confusion(path: &Path, rows: &[ConfusionRow]) -> Result<()> {
    let mut df = frame(
        path,
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "actual", |r| r.actual.clone()),
            col!(rows, "predicted", |r| r.predicted.clone()),
            col!(rows, "count", |r| r.count),
        ],
    )?;
    write_frame(path, &mut df)
}

/// Writes `predictions.parquet` at `path`.
pub fn write_predictions(path: &Path, rows: &[PredictionRow]) -> Result<()> {
    let probs: Vec<Series> = rows
        .iter()
        .map(|r| Series::new("".into(), r.probabilities.as_slice()))
        .collect();
    let mut df = frame(
        path,
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "clip_id", |r| r.clip_id.clone()),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "actor", |r| r.actor),
            col!(rows, "actual", |r| r.actual.clone()),
            col!(rows, "predicted", |r| r.predicted.clone()),
            col!(rows, "correct", |r| r.actual == r.predicted),
            Column::new("probabilities".into(), probs),
        ],
    )?;
    write_frame(path, &mut df)
}

/// Writes `summary.parquet` at `path`.
pub fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<()> {
    let mut df = frame(
        path,
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "model", |r| r.model.clone()),
            col!(rows, "labels", |r| r.labels.clone()),
            col!(rows, "split", |r| r.split.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "epochs", |r| r.epochs),
            col!(rows, "train_accuracy", |r| r.train_accuracy),
            col!(rows, "test_accuracy", |r| r.test_accuracy),
            col!(rows, "test_uar", |r| r.test_uar),
            col!(rows, "test_macro_f1", |r| r.test_macro_f1),
            col!(rows, "test_accuracy_clean", |r| r.test_accuracy_clean),
            col!(rows, "test_accuracy_noisy", |r| r.test_accuracy_noisy),
            col!(rows, "n_train", |r| r.n_train),
            col!(rows, "n_test", |r| r.n_test),
            col!(rows, "seconds", |r| r.seconds),
        ],
    )?;
    write_frame(path, &mut df)
}

/// Reads a run's `summary.parquet`.
pub fn read_summary(path: &Path) -> Result<DataFrame> {
    read_frame(path)
}

/// A run being written: files go into a staging folder until [`RunStage::publish`].
#[derive(Debug)]
pub struct RunStage {
    dir: PathBuf,
    target: PathBuf,
}

impl RunStage {
    /// The staging folder to write the run's files into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of the staged run.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Moves the staged run to `runs/<run>/`, replacing an existing run of
    /// that name only after the new one is in place.
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

impl Drop for RunStage {
    fn drop(&mut self) {
        // Not published (an error or a panic): leave no half-written run behind.
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fold being written: files go into a temp folder until [`FoldStage::finish`].
#[derive(Debug)]
pub struct FoldStage {
    dir: PathBuf,
    target: PathBuf,
}

impl FoldStage {
    /// A file of the staged fold.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Moves the fold to `runs/.folds/<run>/fold-<k>/` (replacing an older
    /// copy of the same fold).
    pub fn finish(self) -> Result<PathBuf> {
        if self.target.exists() {
            fs::remove_dir_all(&self.target).map_err(|e| StoreError::io(&self.target, e))?;
        }
        atomic::rename_durable(&self.dir, &self.target)?;
        Ok(self.target.clone())
    }
}

impl Drop for FoldStage {
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
    /// `runs/`.
    pub fn runs_dir(&self) -> PathBuf {
        self.root().join("runs")
    }

    /// `runs/<run>/`.
    pub fn run_dir(&self, run: &str) -> PathBuf {
        self.runs_dir().join(run)
    }

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

    /// `runs/.folds/<run>/`: the finished folds of a run not yet published.
    pub fn folds_dir(&self, run: &str) -> PathBuf {
        self.runs_dir().join(".folds").join(run)
    }

    /// `runs/.folds/<run>/fold-<k>/`.
    pub fn fold_dir(&self, run: &str, fold: usize) -> PathBuf {
        self.folds_dir(run).join(format!("fold-{fold}"))
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

    /// Starts writing fold `fold` of `run` in a fresh temp folder.
    pub fn stage_fold(&self, run: &str, fold: usize) -> Result<FoldStage> {
        let parent = self.folds_dir(run);
        fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, e))?;
        let dir = parent.join(format!("{TEMP_PREFIX}fold-{fold}-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(FoldStage {
            dir,
            target: self.fold_dir(run, fold),
        })
    }

    /// Takes the lock that lets one process collect `run`'s folds, waiting
    /// for another collector to finish.
    pub fn collect_lock(&self, run: &str) -> Result<crate::StoreLock> {
        let dir = self.folds_dir(run);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        crate::StoreLock::acquire_blocking(&dir.join("COLLECT.lock"), "ser train --collect")
    }

    /// Removes `run`'s finished folds (after its publication, or to retrain).
    pub fn remove_folds(&self, run: &str) -> Result<()> {
        let dir = self.folds_dir(run);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&dir, e)),
        }
    }

    /// Starts writing run `run` in a fresh staging folder (removing stale
    /// staging folders a crashed writer left).
    pub fn stage_run(&self, run: &str) -> Result<RunStage> {
        let runs = self.runs_dir();
        fs::create_dir_all(&runs).map_err(|e| StoreError::io(&runs, e))?;
        if let Ok(entries) = fs::read_dir(&runs) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!("{TEMP_PREFIX}{run}-"))
                    || name.starts_with(&format!("{TEMP_PREFIX}old-{run}-"))
                {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = runs.join(format!("{TEMP_PREFIX}{run}-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(RunStage {
            dir,
            target: self.run_dir(run),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        write_summary(&stage.path("summary.parquet"), &[summary("r1")]).unwrap();
        assert_eq!(
            store.runs().unwrap(),
            Vec::<String>::new(),
            "not yet published"
        );
        stage.publish().unwrap();
        assert_eq!(store.runs().unwrap(), vec!["r1".to_string()]);
        let df = read_summary(&store.run_dir("r1").join("summary.parquet")).unwrap();
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
        write_summary(&stage.path("summary.parquet"), &[row]).unwrap();
        stage.publish().unwrap();
        let df = read_summary(&store.run_dir("r1").join("summary.parquet")).unwrap();
        assert_eq!(df.column("epochs").unwrap().i32().unwrap().get(0), Some(9));
        assert_eq!(std::fs::read_dir(store.runs_dir()).unwrap().count(), 1);
    }

    #[test]
    fn predictions_keep_probabilities_as_a_list_column() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.parquet");
        let row = PredictionRow {
            run: "r".into(),
            fold: 0,
            clip_id: "03-01-01-01-01-01-01".into(),
            variant: "clean".into(),
            actor: 1,
            actual: "neutral".into(),
            predicted: "calm".into(),
            probabilities: vec![0.25, 0.75],
        };
        write_predictions(&path, &[row.clone(), row]).unwrap();
        let df = read_frame(&path).unwrap();
        assert_eq!(df.height(), 2);
        let probs = df
            .column("probabilities")
            .unwrap()
            .list()
            .unwrap()
            .get_as_series(1)
            .unwrap();
        assert_eq!(probs.f32().unwrap().get(1), Some(0.75));
        assert_eq!(
            df.column("correct").unwrap().bool().unwrap().get(0),
            Some(false)
        );
    }
}
