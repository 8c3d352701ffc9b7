//! Training runs: the rows of a run's result tables (`history`, `metrics`,
//! `confusion`, `predictions`, `summary`, and `robustness` and
//! `robustness_classes` once measured; columns in
//! `docs/store-format.md`), each written by [`TableRow::write`]. How a run
//! is staged and published is in [`crate::stage`].

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::table::{col, read_frame, TableRow};

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

impl TableRow for HistoryRow {
    const FILE: &'static str = "history.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[HistoryRow]) -> Vec<Column> {
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "epoch", |r| r.epoch),
            col!(rows, "split", |r| r.split.clone()),
            col!(rows, "loss", |r| r.loss),
            col!(rows, "accuracy", |r| r.accuracy),
            col!(rows, "uar", |r| r.uar),
            col!(rows, "seconds", |r| r.seconds),
        ]
    }
}

impl TableRow for MetricRow {
    const FILE: &'static str = "metrics.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[MetricRow]) -> Vec<Column> {
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "class", |r| r.class.clone()),
            col!(rows, "precision", |r| r.precision),
            col!(rows, "recall", |r| r.recall),
            col!(rows, "f1", |r| r.f1),
            col!(rows, "support", |r| r.support),
        ]
    }
}

impl TableRow for ConfusionRow {
    const FILE: &'static str = "confusion.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[ConfusionRow]) -> Vec<Column> {
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "actual", |r| r.actual.clone()),
            col!(rows, "predicted", |r| r.predicted.clone()),
            col!(rows, "count", |r| r.count),
        ]
    }
}

impl TableRow for PredictionRow {
    const FILE: &'static str = "predictions.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[PredictionRow]) -> Vec<Column> {
        let probs: Vec<Series> = rows
            .iter()
            .map(|r| Series::new("".into(), r.probabilities.as_slice()))
            .collect();
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "clip_id", |r| r.clip_id.clone()),
            col!(rows, "variant", |r| r.variant.clone()),
            col!(rows, "actor", |r| r.actor),
            col!(rows, "actual", |r| r.actual.clone()),
            col!(rows, "predicted", |r| r.predicted.clone()),
            col!(rows, "correct", |r| r.actual == r.predicted),
            probabilities_column(probs),
        ]
    }
}

/// A `probabilities` column of lists of `f32`, typed so even when empty
/// (an empty column of lists would otherwise be written as `null`, and
/// stacking it with a run's real one would fail).
fn probabilities_column(probs: Vec<Series>) -> Column {
    if probs.is_empty() {
        Column::new_empty(
            "probabilities".into(),
            &DataType::List(Box::new(DataType::Float32)),
        )
    } else {
        Column::new("probabilities".into(), probs)
    }
}

impl TableRow for SummaryRow {
    const FILE: &'static str = "summary.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[SummaryRow]) -> Vec<Column> {
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
        ]
    }
}

/// One row of `robustness.parquet`: a fold's (or all folds') scores on
/// its own test clips under one recording condition.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustnessRow {
    /// Run name.
    pub run: String,
    /// Fold number (from 1); `None`: all folds' test clips pooled.
    pub fold: Option<i32>,
    /// The condition (`clean`, `level:-20`, `white:10`, …).
    pub condition: String,
    /// Test clips scored.
    pub clips: i64,
    /// Accuracy, 0-1.
    pub accuracy: f64,
    /// Unweighted average recall, 0-1.
    pub uar: f64,
    /// UAR as recorded minus UAR under the condition (same fold), 0-1.
    pub uar_drop: f64,
    /// The seed the conditions were drawn with.
    pub seed: i64,
}

impl TableRow for RobustnessRow {
    const FILE: &'static str = "robustness.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[RobustnessRow]) -> Vec<Column> {
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "fold", |r| r.fold),
            col!(rows, "condition", |r| r.condition.clone()),
            col!(rows, "clips", |r| r.clips),
            col!(rows, "accuracy", |r| r.accuracy),
            col!(rows, "uar", |r| r.uar),
            col!(rows, "uar_drop", |r| r.uar_drop),
            col!(rows, "seed", |r| r.seed),
        ]
    }
}

/// One row of `robustness_classes.parquet`: under one recording
/// condition, how one class fared over every fold's test clips pooled
/// (each clip judged by its own fold's model).
#[derive(Debug, Clone, PartialEq)]
pub struct RobustnessClassRow {
    /// Run name.
    pub run: String,
    /// The condition (`clean`, `babble:10`, …).
    pub condition: String,
    /// The class.
    pub class: String,
    /// Test clips of the class.
    pub clips: i64,
    /// Of those, the share answered as the class (recall), 0-1; `None`
    /// when no test clip is of the class.
    pub recall: Option<f64>,
    /// Of every test clip, the share answered as this class, 0-1 (the
    /// class's share of the clips is what an unbiased model would give).
    pub answered: f64,
    /// The seed the conditions were drawn with.
    pub seed: i64,
}

impl TableRow for RobustnessClassRow {
    const FILE: &'static str = "robustness_classes.parquet";
    const CHECKSUM: bool = false;

    fn columns(rows: &[RobustnessClassRow]) -> Vec<Column> {
        vec![
            col!(rows, "run", |r| r.run.clone()),
            col!(rows, "condition", |r| r.condition.clone()),
            col!(rows, "class", |r| r.class.clone()),
            col!(rows, "clips", |r| r.clips),
            col!(rows, "recall", |r| r.recall),
            col!(rows, "answered", |r| r.answered),
            col!(rows, "seed", |r| r.seed),
        ]
    }
}

/// Reads a run's `summary.parquet`.
pub fn read_summary(path: &Path) -> Result<DataFrame> {
    read_frame(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        PredictionRow::write(&path, &[row.clone(), row]).unwrap();
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
