//! Scores of a measurement: per fold and condition, and per class.

use store::runs::{RobustnessClassRow, RobustnessRow};

use super::{RobustnessConfig, TestClip};
use crate::dsp::conditions::Condition;
use crate::train::Predictor;

/// UAR and accuracy per (fold, condition), then their mean over folds
/// (fold `None`, as `summary.parquet`'s fold-mean row); drops from the
/// same fold's `clean` score (0 when `clean` was not measured).
pub(super) fn score(
    p: &Predictor,
    cfg: &RobustnessConfig,
    kept: &[(&TestClip, Vec<usize>)],
) -> Vec<RobustnessRow> {
    let n = p.config.classes.len();
    let mut folds: Vec<usize> = kept.iter().map(|(c, _)| c.fold).collect();
    folds.sort_unstable();
    folds.dedup();
    let mut rows = Vec::new();
    for &fold in &folds {
        let mine: Vec<&(&TestClip, Vec<usize>)> =
            kept.iter().filter(|(c, _)| c.fold == fold).collect();
        let actual: Vec<usize> = mine.iter().map(|(c, _)| c.class).collect();
        for (j, cond) in cfg.conditions.iter().enumerate() {
            let pred: Vec<usize> = mine.iter().map(|(_, p)| p[j]).collect();
            let m = models::Metrics::compute(&actual, &pred, n);
            rows.push(RobustnessRow {
                run: p.config.run.clone(),
                fold: Some(fold as i32),
                condition: cond.to_string(),
                clips: mine.len() as i64,
                accuracy: m.accuracy,
                uar: m.uar,
                uar_drop: 0.0,
                seed: cfg.seed as i64,
            });
        }
    }
    let k = folds.len().max(1) as f64;
    for (j, cond) in cfg.conditions.iter().enumerate() {
        let of_cond = || rows.iter().skip(j).step_by(cfg.conditions.len());
        let mean = RobustnessRow {
            run: p.config.run.clone(),
            fold: None,
            condition: cond.to_string(),
            clips: of_cond().map(|r| r.clips).sum(),
            accuracy: of_cond().map(|r| r.accuracy).sum::<f64>() / k,
            uar: of_cond().map(|r| r.uar).sum::<f64>() / k,
            uar_drop: 0.0,
            seed: cfg.seed as i64,
        };
        rows.push(mean);
    }
    // Drops from the same fold's (or the mean's) clean score.
    if let Some(c) = cfg.conditions.iter().position(|c| *c == Condition::Clean) {
        for block in rows.chunks_mut(cfg.conditions.len()) {
            let clean = block[c].uar;
            block.iter_mut().for_each(|r| r.uar_drop = clean - r.uar);
        }
    }
    rows
}

/// Per condition and class, over every fold's clips pooled: the class's
/// recall, and the share of all clips predicted as it (a condition that
/// pulls answers towards one class shows there).
pub(super) fn class_rows(
    p: &Predictor,
    cfg: &RobustnessConfig,
    kept: &[(&TestClip, Vec<usize>)],
) -> Vec<RobustnessClassRow> {
    let classes = &p.config.classes;
    let total = kept.len().max(1) as f64;
    let mut rows = Vec::new();
    for (j, cond) in cfg.conditions.iter().enumerate() {
        for (k, class) in classes.iter().enumerate() {
            let of_class = kept.iter().filter(|(c, _)| c.class == k);
            let clips = of_class.clone().count();
            let right = of_class.filter(|(_, pred)| pred[j] == k).count();
            let said = kept.iter().filter(|(_, pred)| pred[j] == k).count();
            rows.push(RobustnessClassRow {
                run: p.config.run.clone(),
                condition: cond.to_string(),
                class: class.clone(),
                clips: clips as i64,
                recall: if clips == 0 {
                    0.0
                } else {
                    right as f64 / clips as f64
                },
                predicted: said as f64 / total,
                seed: cfg.seed as i64,
            });
        }
    }
    rows
}
