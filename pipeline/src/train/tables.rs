//! The run's result tables, gathered fold by fold and written together.

use models::Metrics;
use store::runs::{ConfusionRow, HistoryRow, MetricRow, PredictionRow, SummaryRow};
use store::{Stage, TableRow};

use crate::error::Result;

/// Metrics of a test side: all copies and each variant.
pub(crate) struct ByVariant {
    pub all: Metrics,
    pub clean: Metrics,
    pub noisy: Metrics,
}

/// Test predictions of every fold, pooled (each clip is tested once per
/// fold it is in; in `actors` splits, exactly once overall).
#[derive(Debug, Default)]
pub(crate) struct Pooled {
    actual: Vec<usize>,
    pred: Vec<usize>,
    variant: Vec<String>,
}

impl Pooled {
    pub(crate) fn add(&mut self, actual: &[usize], pred: &[usize], variants: &[&str]) {
        self.actual.extend_from_slice(actual);
        self.pred.extend_from_slice(pred);
        self.variant.extend(variants.iter().map(|v| v.to_string()));
    }
}

/// Rows of `history`, `metrics`, `confusion`, `predictions`, `summary`.
pub(crate) struct Tables {
    run: String,
    classes: Vec<String>,
    pub(crate) history: Vec<HistoryRow>,
    pub(crate) metrics: Vec<MetricRow>,
    pub(crate) confusion: Vec<ConfusionRow>,
    pub(crate) predictions: Vec<PredictionRow>,
    pub(crate) summary: Vec<SummaryRow>,
}

impl Tables {
    pub(crate) fn new(run: &str, classes: &[String]) -> Tables {
        Tables {
            run: run.to_string(),
            classes: classes.to_vec(),
            history: Vec::new(),
            metrics: Vec::new(),
            confusion: Vec::new(),
            predictions: Vec::new(),
            summary: Vec::new(),
        }
    }

    /// Scores of all test copies and of each variant (`variants[i]` is
    /// example `i`'s); adds their metric and confusion rows under `fold`.
    pub(crate) fn scores(
        &mut self,
        fold: Option<usize>,
        actual: &[usize],
        pred: &[usize],
        variants: &[&str],
    ) -> ByVariant {
        let n = self.classes.len();
        let subset = |name: &str| {
            let (a, p): (Vec<usize>, Vec<usize>) = (0..actual.len())
                .filter(|&i| variants[i] == name)
                .map(|i| (actual[i], pred[i]))
                .unzip();
            Metrics::compute(&a, &p, n)
        };
        let out = ByVariant {
            all: Metrics::compute(actual, pred, n),
            clean: subset("clean"),
            noisy: subset("noisy"),
        };
        for (name, m) in [
            ("all", &out.all),
            ("clean", &out.clean),
            ("noisy", &out.noisy),
        ] {
            self.add_metric_rows(fold, name, m);
        }
        out
    }

    fn add_metric_rows(&mut self, fold: Option<usize>, variant: &str, m: &Metrics) {
        let fold = fold.map(|k| k as i32);
        for (c, s) in m.per_class.iter().enumerate() {
            self.metrics.push(MetricRow {
                run: self.run.clone(),
                fold,
                variant: variant.to_string(),
                class: self.classes[c].clone(),
                precision: s.precision,
                recall: s.recall,
                f1: s.f1,
                support: s.support as i64,
            });
        }
        for (a, row) in m.confusion.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                self.confusion.push(ConfusionRow {
                    run: self.run.clone(),
                    fold,
                    variant: variant.to_string(),
                    actual: self.classes[a].clone(),
                    predicted: self.classes[p].clone(),
                    count: count as i64,
                });
            }
        }
    }

    /// Metric and confusion rows with fold `None`: every fold's test side pooled.
    pub(crate) fn pooled(&mut self, p: &Pooled) {
        let variants: Vec<&str> = p.variant.iter().map(String::as_str).collect();
        self.scores(None, &p.actual, &p.pred, &variants);
    }

    /// The fold `None` summary row: the folds' scores averaged, their
    /// examples and seconds summed.
    pub(crate) fn mean_summary(&mut self) {
        let folds: Vec<&SummaryRow> = self.summary.iter().filter(|r| r.fold.is_some()).collect();
        let Some(first) = folds.first() else { return };
        let k = folds.len() as f64;
        let mean = |f: fn(&SummaryRow) -> f64| folds.iter().map(|r| f(r)).sum::<f64>() / k;
        let row = SummaryRow {
            fold: None,
            train_accuracy: mean(|r| r.train_accuracy),
            test_accuracy: mean(|r| r.test_accuracy),
            test_uar: mean(|r| r.test_uar),
            test_macro_f1: mean(|r| r.test_macro_f1),
            test_accuracy_clean: mean(|r| r.test_accuracy_clean),
            test_accuracy_noisy: mean(|r| r.test_accuracy_noisy),
            n_train: folds.iter().map(|r| r.n_train).sum(),
            n_test: folds.iter().map(|r| r.n_test).sum(),
            seconds: folds.iter().map(|r| r.seconds).sum(),
            ..(*first).clone()
        };
        self.summary.push(row);
    }

    pub(crate) fn write(&self, stage: &Stage) -> Result<()> {
        fn put<R: TableRow>(stage: &Stage, rows: &[R]) -> store::Result<()> {
            R::write(&stage.path(R::FILE), rows)
        }
        put(stage, &self.history)?;
        put(stage, &self.metrics)?;
        put(stage, &self.confusion)?;
        put(stage, &self.predictions)?;
        put(stage, &self.summary)?;
        Ok(())
    }
}
