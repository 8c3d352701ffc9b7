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

/// Per condition and class of run `run` (its `classes`, in order), over
/// every fold's clips pooled: the class's recall (none when no clip is of
/// the class), and the share of all clips answered as it (a condition that
/// pulls answers towards one class shows there).
pub(super) fn class_rows(
    run: &str,
    classes: &[String],
    cfg: &RobustnessConfig,
    kept: &[(&TestClip, Vec<usize>)],
) -> Vec<RobustnessClassRow> {
    let total = kept.len().max(1) as f64;
    let mut rows = Vec::new();
    for (j, cond) in cfg.conditions.iter().enumerate() {
        for (k, class) in classes.iter().enumerate() {
            let of_class = kept.iter().filter(|(c, _)| c.class == k);
            let clips = of_class.clone().count();
            let right = of_class.filter(|(_, answers)| answers[j] == k).count();
            let said = kept.iter().filter(|(_, answers)| answers[j] == k).count();
            rows.push(RobustnessClassRow {
                run: run.to_string(),
                condition: cond.to_string(),
                class: class.clone(),
                clips: clips as i64,
                recall: (clips > 0).then(|| right as f64 / clips as f64),
                answered: said as f64 / total,
                seed: cfg.seed as i64,
            });
        }
    }
    rows
}

/// The class answered most often under `condition` in `classes` (the
/// first in the run's class order on a tie), with the share of the clips
/// that are of that class (an unbiased model answers each class about as
/// often as it occurs).
pub fn most_answered<'a>(
    classes: &'a [RobustnessClassRow],
    condition: &str,
) -> Option<(&'a RobustnessClassRow, f64)> {
    let of: Vec<&RobustnessClassRow> = classes
        .iter()
        .filter(|c| c.condition == condition)
        .collect();
    let all: i64 = of.iter().map(|c| c.clips).sum();
    let top = of
        .iter()
        .copied()
        .fold(None::<&RobustnessClassRow>, |best, c| match best {
            Some(b) if b.answered >= c.answered => Some(b),
            _ => Some(c),
        })?;
    Some((top, top.clips as f64 / all.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::robustness::parse_conditions;

    fn clip(class: usize) -> TestClip {
        TestClip {
            fold: 1,
            clip_id: format!("c{class}"),
            actor: 1,
            path: PathBuf::new(),
            class,
        }
    }

    #[test]
    fn each_condition_counts_its_own_answers() {
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let cfg = RobustnessConfig {
            conditions: parse_conditions("clean,white:5").unwrap(),
            seed: 1,
        };
        // Four clips: two of a, one of b, none of c. As recorded every
        // answer is right; under white noise every answer is c.
        let clips = [clip(0), clip(0), clip(1)];
        let kept: Vec<(&TestClip, Vec<usize>)> = vec![
            (&clips[0], vec![0, 2]),
            (&clips[1], vec![0, 2]),
            (&clips[2], vec![1, 2]),
            (&clips[0], vec![1, 2]),
        ];
        let rows = class_rows("r", &classes, &cfg, &kept);
        let got: Vec<(&str, &str, i64, Option<f64>, f64)> = rows
            .iter()
            .map(|r| {
                (
                    r.condition.as_str(),
                    r.class.as_str(),
                    r.clips,
                    r.recall,
                    r.answered,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("clean", "a", 3, Some(2.0 / 3.0), 0.5),
                ("clean", "b", 1, Some(1.0), 0.5),
                ("clean", "c", 0, None, 0.0),
                ("white:5", "a", 3, Some(0.0), 0.0),
                ("white:5", "b", 1, Some(0.0), 0.0),
                ("white:5", "c", 0, None, 1.0),
            ]
        );
        assert!(rows.iter().all(|r| r.run == "r" && r.seed == 1));
        // a and b tie as recorded: the first in class order is named.
        let (top, share) = most_answered(&rows, "clean").unwrap();
        assert_eq!((top.class.as_str(), share), ("a", 0.75));
        assert_eq!(most_answered(&rows, "white:5").unwrap().0.class, "c");
        assert!(most_answered(&rows, "speed:2").is_none());
    }
}
