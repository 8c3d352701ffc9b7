//! `ser report`: the table of runs and the paper's figures as PNG.
//!
//! The table reads each run's `summary.parquet` (the fold-mean row). Run
//! figures go to `runs/<run>/figures/` (training curves, confusion matrix,
//! per-class scores); store figures to `figures/` (clean vs noisy
//! waveform, female vs male mel spectrograms, male vs female mean MFCCs).
//! Text is drawn with a font compiled into the binary, so figures render
//! the same on a machine with no fonts installed.

pub(crate) mod columns;
pub(crate) mod figures;
pub(crate) mod grid;
pub mod plot;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use store::table::read_frame;
use store::Store;

use crate::error::{PipelineError, Result};
use crate::train::{resolve_run, RunConfig};

/// One line of the run table (the fold-mean row of `summary.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunLine {
    /// Run name.
    pub run: String,
    /// Model.
    pub model: String,
    /// Label set.
    pub labels: String,
    /// Split.
    pub split: String,
    /// Folds trained.
    pub folds: usize,
    /// Epochs.
    pub epochs: i64,
    /// Train accuracy after training.
    pub train_accuracy: f64,
    /// Test accuracy (clean + noisy).
    pub test_accuracy: f64,
    /// Test accuracy on clean copies.
    pub test_accuracy_clean: f64,
    /// Test accuracy on noisy copies.
    pub test_accuracy_noisy: f64,
    /// Test UAR.
    pub test_uar: f64,
    /// Test macro F1.
    pub test_macro_f1: f64,
    /// Minutes of training and evaluation.
    pub minutes: f64,
}

/// What `ser report` produced.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per run.
    pub lines: Vec<RunLine>,
    /// Figures written.
    pub figures: Vec<PathBuf>,
    /// Figures (or runs) that could not be drawn, with the reason.
    pub skipped: Vec<String>,
    /// What some runs were trained and tested on (other corpora than RAVDESS).
    pub notes: Vec<String>,
}

fn read_line(dir: &Path) -> Result<RunLine> {
    let path = dir.join("summary.parquet");
    let df = read_frame(&path)?;
    let bad = |e: PolarsError| PipelineError::Config(format!("{}: {e}", path.display()));
    let folds = df.column("fold").map_err(bad)?;
    let mean_row = (0..df.height())
        .find(|&i| folds.get(i).map(|v| v.is_null()).unwrap_or(false))
        .unwrap_or(0);
    let row = df.get_row(mean_row).map_err(bad)?;
    let names = df.get_column_names();
    let get = |name: &str| -> AnyValue<'_> {
        names
            .iter()
            .position(|n| n.as_str() == name)
            .map(|i| row.0[i].clone())
            .unwrap_or(AnyValue::Null)
    };
    let f = |name: &str| get(name).extract::<f64>().unwrap_or(f64::NAN);
    let s = |name: &str| get(name).str_value().to_string();
    Ok(RunLine {
        run: s("run"),
        model: s("model"),
        labels: s("labels"),
        split: s("split"),
        folds: df.height().saturating_sub(1).max(1),
        epochs: get("epochs").extract::<i64>().unwrap_or(0),
        train_accuracy: f("train_accuracy"),
        test_accuracy: f("test_accuracy"),
        test_accuracy_clean: f("test_accuracy_clean"),
        test_accuracy_noisy: f("test_accuracy_noisy"),
        test_uar: f("test_uar"),
        test_macro_f1: f("test_macro_f1"),
        minutes: f("seconds") / 60.0,
    })
}

/// What the run table's columns mean, printed under it.
pub const LEGEND: &str = "\
train% accuracy on the training side after training; test% accuracy on the test side, each test \
clip counted twice (its clean and its noisy copy); clean% / noisy% each copy alone; UAR% \
unweighted average recall (mean over classes of each class's recall: chance = 100 / classes, \
7.1 for gender-emotion14, 12.5 for emotion8, 14.3 for emotion7); F1% macro F1; folds: the mean \
of the folds' scores; min: minutes of training and evaluation.";

/// The run table as aligned text (accuracies in %).
pub fn format_table(lines: &[RunLine]) -> String {
    let header = [
        "run", "model", "labels", "split", "folds", "epochs", "train%", "test%", "clean%",
        "noisy%", "UAR%", "F1%", "min",
    ];
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let pct = |v: f64| format!("{:.1}", 100.0 * v);
            vec![
                l.run.clone(),
                l.model.clone(),
                l.labels.clone(),
                l.split.clone(),
                l.folds.to_string(),
                l.epochs.to_string(),
                pct(l.train_accuracy),
                pct(l.test_accuracy),
                pct(l.test_accuracy_clean),
                pct(l.test_accuracy_noisy),
                pct(l.test_uar),
                pct(l.test_macro_f1),
                format!("{:.1}", l.minutes),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fmt = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(c, v)| {
                if c < 4 {
                    format!("{v:<w$}", w = widths[c])
                } else {
                    format!("{v:>w$}", w = widths[c])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = fmt(header.iter().map(|s| s.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&fmt(r));
        out.push('\n');
    }
    out
}

/// The run table (and, with `figures`, every figure) for `runs` (all runs
/// when empty).
pub fn run_report(store: &Store, runs: &[String], figures: bool) -> Result<Report> {
    let dirs: Vec<PathBuf> = if runs.is_empty() {
        store.runs()?.iter().map(|r| store.run_dir(r)).collect()
    } else {
        runs.iter()
            .map(|r| resolve_run(store, r))
            .collect::<Result<_>>()?
    };
    let mut report = Report::default();
    for dir in &dirs {
        match read_line(dir) {
            Ok(line) => report.lines.push(line),
            Err(e) => report.skipped.push(format!("{}: {e}", dir.display())),
        }
        let cfg_path = dir.join("config.json");
        let cfg: RunConfig = match std::fs::read_to_string(&cfg_path)
            .map_err(|e| e.to_string())
            .and_then(|b| RunConfig::from_json(&b).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                report.skipped.push(format!("{}: {e}", cfg_path.display()));
                continue;
            }
        };
        if !cfg.train.train_on.is_empty() {
            report.notes.push(format!(
                "{}: trained on {}, tested on {}, emotions {}",
                cfg.run,
                cfg.train.train_on.join(", "),
                cfg.train.test_on.join(", "),
                cfg.emotions.join(", ")
            ));
        } else if cfg.corpora.iter().any(|c| c != "ravdess") {
            report
                .notes
                .push(format!("{}: corpora {}", cfg.run, cfg.corpora.join(", ")));
        }
        if !figures {
            continue;
        }
        for fig in [
            figures::history(dir, &cfg),
            figures::confusion(dir, &cfg),
            figures::class_scores(dir, &cfg),
        ] {
            match fig {
                Ok(p) => report.figures.push(p),
                Err(e) => report.skipped.push(format!("{}: {e}", dir.display())),
            }
        }
    }
    if figures {
        // `skipped FOLDER: reason`, as for a run's figures.
        let out = store.figures_dir();
        for fig in figures::data_figures(store, &out) {
            match fig {
                Ok(p) => report.figures.push(p),
                Err(e) => report.skipped.push(format!("{}: {e}", out.display())),
            }
        }
    }
    Ok(report)
}
