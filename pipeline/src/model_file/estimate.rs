//! The estimate and calibration a model file carries, from a
//! speaker-split run's out-of-fold predictions (`predictions.parquet`):
//! every clip was predicted by the fold model that never heard its speaker.

use std::path::{Path, PathBuf};

use models::calibration::{ece, reliability, Temperature};
use models::Metrics;

use super::card::Estimate;
use crate::error::{PipelineError, Result};
use crate::report::columns::{col_f32_lists, col_opt_i64, col_str, frame};
use crate::report::plot::{lines, save_png};

/// Bins of the expected calibration error.
pub const ECE_BINS: usize = 15;

/// The confidence calibration of a speaker-split run.
pub struct Calibration {
    /// Fitted on every fold's held-out predictions.
    pub temperature: Temperature,
    /// Every fold's probabilities scaled by the temperature fitted on the
    /// other folds only.
    pub held_out: Vec<Vec<f32>>,
    /// Expected calibration error (15 bins) as trained, %.
    pub ece_before: f64,
    /// The same of `held_out` (measured on predictions the fit never saw), %.
    pub ece_after: f64,
}

/// Held-out predictions of the clean copies: fold, class, probabilities.
pub struct OutOfFold {
    /// Fold of each clip.
    pub fold: Vec<usize>,
    /// True class of each clip.
    pub class: Vec<usize>,
    /// Probabilities of each clip, in `classes` order.
    pub probs: Vec<Vec<f32>>,
}

impl OutOfFold {
    /// Reads the clean rows of the run folder `dir`'s predictions.
    pub fn read(dir: &Path, classes: &[String]) -> Result<OutOfFold> {
        let bad = |e: String| PipelineError::Config(format!("{}: {e}", dir.display()));
        let df = frame(&dir.join("predictions.parquet")).map_err(bad)?;
        let fold = col_opt_i64(&df, "fold").map_err(bad)?;
        let variant = col_str(&df, "variant").map_err(bad)?;
        let actual = col_str(&df, "actual").map_err(bad)?;
        let probs = col_f32_lists(&df, "probabilities").map_err(bad)?;
        let mut out = OutOfFold {
            fold: Vec::new(),
            class: Vec::new(),
            probs: Vec::new(),
        };
        for i in 0..df.height() {
            let (Some(k), "clean") = (fold[i], variant[i].as_str()) else {
                continue;
            };
            let Some(c) = classes.iter().position(|n| *n == actual[i]) else {
                return Err(bad(format!(
                    "class `{}` is not one of the run's",
                    actual[i]
                )));
            };
            if probs[i].len() != classes.len() {
                return Err(bad(format!("a row has {} probabilities", probs[i].len())));
            }
            out.fold.push(k as usize);
            out.class.push(c);
            out.probs.push(probs[i].clone());
        }
        if out.fold.is_empty() {
            return Err(bad("no clean out-of-fold predictions".into()));
        }
        Ok(out)
    }

    fn folds(&self) -> Vec<usize> {
        let mut f = self.fold.clone();
        f.sort_unstable();
        f.dedup();
        f
    }

    /// Fits the calibration: the temperature on every fold's predictions
    /// (what a model file applies), and the held-out check of it.
    pub fn calibrate(&self) -> Calibration {
        let held_out = self.held_out_scaled();
        Calibration {
            temperature: Temperature::fit(&self.probs, &self.class),
            ece_before: 100.0 * ece(&self.probs, &self.class, ECE_BINS),
            ece_after: 100.0 * ece(&held_out, &self.class, ECE_BINS),
            held_out,
        }
    }

    /// Every fold's probabilities scaled by the temperature fitted on the
    /// other folds.
    fn held_out_scaled(&self) -> Vec<Vec<f32>> {
        let mut scaled = self.probs.clone();
        for k in self.folds() {
            let (p, c): (Vec<Vec<f32>>, Vec<usize>) = self
                .rows(|f| f != k)
                .map(|i| (self.probs[i].clone(), self.class[i]))
                .unzip();
            let t = Temperature::fit(&p, &c);
            for i in self.rows(|f| f == k) {
                scaled[i] = t.apply(&self.probs[i]);
            }
        }
        scaled
    }

    /// Draws the reliability diagram (before, and after held-out
    /// temperature scaling) to `path`.
    pub fn draw_reliability(&self, cal: &Calibration, path: &Path, title: &str) -> Result<PathBuf> {
        let curve = |probs: &[Vec<f32>]| -> Vec<(f64, f64)> {
            reliability(probs, &self.class, 10)
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.confidence, b.accuracy))
                .collect()
        };
        let (before, after) = (cal.ece_before, cal.ece_after);
        let series = [
            ("perfectly calibrated", vec![(0.0, 0.0), (1.0, 1.0)]),
            (
                &*format!("as trained (ECE {before:.1} %)"),
                curve(&self.probs),
            ),
            (
                &*format!("temperature from the other folds (ECE {after:.1} %)"),
                curve(&cal.held_out),
            ),
        ];
        save_png(path, (900, 720), |root| {
            lines(
                root,
                title,
                ("confidence (top probability)", "accuracy"),
                &series,
            )
        })
        .map_err(PipelineError::Config)
    }

    fn rows<'a>(&'a self, keep: impl Fn(usize) -> bool + 'a) -> impl Iterator<Item = usize> + 'a {
        (0..self.fold.len()).filter(move |&i| keep(self.fold[i]))
    }

    /// UAR and accuracy per fold (mean and sd of UAR, mean accuracy) and
    /// pooled recall per class, in %.
    pub fn estimate(&self, run: &str, classes: &[String], cal: &Calibration) -> Estimate {
        let n = classes.len();
        let mut uars = Vec::new();
        let mut accs = Vec::new();
        for k in self.folds() {
            let idx: Vec<usize> = self.rows(|f| f == k).collect();
            let actual: Vec<usize> = idx.iter().map(|&i| self.class[i]).collect();
            let pred: Vec<usize> = idx
                .iter()
                .map(|&i| models::argmax(&self.probs[i]))
                .collect();
            let m = Metrics::compute(&actual, &pred, n);
            uars.push(100.0 * m.uar);
            accs.push(100.0 * m.accuracy);
        }
        let pred: Vec<usize> = self.probs.iter().map(|p| models::argmax(p)).collect();
        let pooled = Metrics::compute(&self.class, &pred, n);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let m = mean(&uars);
        let sd = (uars.iter().map(|u| (u - m).powi(2)).sum::<f64>()
            / (uars.len().max(2) - 1) as f64)
            .sqrt();
        Estimate {
            protocol: "each speaker fold's model on the clean clips of speakers it never heard; \
                       UAR and accuracy are means over folds"
                .into(),
            run: run.to_string(),
            folds: uars.len(),
            uar: m,
            uar_sd: sd,
            accuracy: mean(&accs),
            recall: classes
                .iter()
                .zip(&pooled.per_class)
                .map(|(c, s)| (c.clone(), 100.0 * s.recall))
                .collect(),
            ece_before: cal.ece_before,
            ece_after: cal.ece_after,
        }
    }
}
