//! `ser predict`: a finished run classifies new audio (any format `ser`
//! decodes), through the same feature path (`clean_mfcc`), window and
//! standardisation as training.

use std::path::{Path, PathBuf};

use models::zoo::read_tensor;
use models::Net;
use store::Store;

use super::config::{Norm, RunConfig};
use super::data::{Framing, Standardizer, Variant, N_MFCC};
use crate::error::{PipelineError, Result};
use crate::features::{clean_mfcc, clean_mfcc_of};

/// One file's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePrediction {
    /// The file.
    pub path: PathBuf,
    /// Predicted class name.
    pub predicted: String,
    /// Probability per class, in the run's class order.
    pub probabilities: Vec<f32>,
}

/// A loaded run: its config and each trained fold's model and statistics.
pub struct Predictor {
    /// The run's `config.json`.
    pub config: RunConfig,
    folds: Vec<(usize, Box<dyn Net>, Standardizer)>,
}

/// Finds a run by exact name, unique prefix, or folder path.
pub fn resolve_run(store: &Store, run: &str) -> Result<PathBuf> {
    let as_path = Path::new(run);
    if as_path.join("config.json").is_file() {
        return Ok(as_path.to_path_buf());
    }
    let names = store.runs()?;
    if names.iter().any(|n| n == run) {
        return Ok(store.run_dir(run));
    }
    let matches: Vec<&String> = names.iter().filter(|n| n.starts_with(run)).collect();
    match matches.as_slice() {
        [one] => Ok(store.run_dir(one)),
        [] => Err(PipelineError::Config(format!(
            "no run `{run}` in {} (runs: {})",
            store.runs_dir().display(),
            if names.is_empty() {
                "none; run `ser train` first".to_string()
            } else {
                names.join(", ")
            }
        ))),
        many => Err(PipelineError::Config(format!(
            "run `{run}` is ambiguous: {}",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

impl Predictor {
    /// Loads `config.json` and `model.safetensors` of the run folder `dir`.
    pub fn load(dir: &Path) -> Result<Predictor> {
        let cfg_path = dir.join("config.json");
        let text =
            std::fs::read_to_string(&cfg_path).map_err(|e| PipelineError::io(&cfg_path, e))?;
        let config = RunConfig::from_json(&text)
            .map_err(|e| PipelineError::Config(format!("{}: {e}", cfg_path.display())))?;
        let w_path = dir.join("model.safetensors");
        let bytes = std::fs::read(&w_path).map_err(|e| PipelineError::io(&w_path, e))?;
        let bad =
            |e: models::ModelError| PipelineError::Config(format!("{}: {e}", w_path.display()));
        // Runs of code version 1 numbered folds from 0 (in their weights'
        // names too); users see every fold from 1.
        let shown = usize::from(config.code < 2);
        let mut folds = Vec::new();
        for &k in &config.folds {
            let mut net = models::build(
                config.train.model,
                config.classes.len(),
                config.train.kernel,
                0,
                config.train.init,
            )
            .map_err(bad)?;
            net.load(&bytes, &format!("fold{k}/")).map_err(bad)?;
            let norm = Standardizer {
                mean: read_tensor(&bytes, &format!("fold{k}/norm.mean"))
                    .map_err(bad)?
                    .data,
                std: read_tensor(&bytes, &format!("fold{k}/norm.std"))
                    .map_err(bad)?
                    .data,
                per_clip: config.resolved().norm == Norm::Clip,
                level: config.resolved().norm == Norm::Level,
            };
            folds.push((k + shown, net, norm));
        }
        Ok(Predictor { config, folds })
    }

    /// Folds this run trained (1-based numbers).
    pub fn folds(&self) -> Vec<usize> {
        self.folds.iter().map(|f| f.0).collect()
    }

    /// Checks that fold `k` (1-based) exists; `None` (every fold) always does.
    pub fn check_fold(&self, fold: Option<usize>) -> Result<()> {
        match fold {
            Some(k) if !self.folds.iter().any(|f| f.0 == k) => Err(PipelineError::Config(format!(
                "run {} has no fold {k} (folds: {})",
                self.config.run,
                self.folds()
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            _ => Ok(()),
        }
    }

    /// Class probabilities of MFCCs `[frames, 40]`: from fold `fold`'s
    /// model (1-based), or the mean over every fold's model when `None`.
    pub fn predict_mfcc(
        &self,
        frames: usize,
        mfcc: &[f32],
        fold: Option<usize>,
    ) -> Result<Vec<f32>> {
        self.check_fold(fold)?;
        let chosen: Vec<&(usize, Box<dyn Net>, Standardizer)> = match fold {
            Some(k) => self.folds.iter().filter(|f| f.0 == k).collect(),
            None => self.folds.iter().collect(),
        };
        let v = Variant {
            frames,
            mfcc: mfcc.to_vec(),
        };
        let framing = Framing {
            window: self.config.window,
            crop: self.config.train.crop,
            readout: self.config.train.readout,
        };
        let mut mean = vec![0f32; self.config.classes.len()];
        for (_, net, norm) in &chosen {
            let mut x = Vec::with_capacity(framing.window * N_MFCC);
            let len = norm.example_into(&v, framing, &mut x);
            let data = models::Dataset {
                x,
                frames: framing.window,
                labels: vec![0],
                lengths: vec![len],
            };
            let p = net.predict(&data, 1)?;
            for (m, q) in mean.iter_mut().zip(&p[0]) {
                *m += q / chosen.len() as f32;
            }
        }
        Ok(mean)
    }

    /// Computes a file's clean MFCCs with the run's feature config and
    /// classifies them. The error is one line naming why.
    pub fn predict_file(&self, path: &Path, fold: Option<usize>) -> Result<FilePrediction, String> {
        let (frames, mfcc) = clean_mfcc(path, &self.config.features)?;
        let probabilities = self.classify(frames, &mfcc, fold)?;
        Ok(FilePrediction {
            path: path.to_path_buf(),
            predicted: self.config.classes[models::argmax(&probabilities)].clone(),
            probabilities,
        })
    }

    /// Class probabilities of mono samples at `rate` Hz, through the run's
    /// feature path (resampling, MFCC, window, standardisation).
    pub fn predict_samples(
        &self,
        y: &[f32],
        rate: u32,
        fold: Option<usize>,
    ) -> Result<Vec<f32>, String> {
        let (frames, mfcc) = clean_mfcc_of(y, rate, &self.config.features)?;
        self.classify(frames, &mfcc, fold)
    }

    fn classify(
        &self,
        frames: usize,
        mfcc: &[f32],
        fold: Option<usize>,
    ) -> Result<Vec<f32>, String> {
        if mfcc.len() != frames * N_MFCC {
            return Err(format!(
                "{} MFCCs per frame, the run needs {N_MFCC}",
                mfcc.len() / frames.max(1)
            ));
        }
        self.predict_mfcc(frames, mfcc, fold)
            .map_err(|e| e.to_string())
    }

    /// The length of audio the run's window covers, seconds.
    pub fn window_seconds(&self) -> f64 {
        let f = &self.config.features;
        let rate = f.sample_rate.unwrap_or(22050) as f64;
        self.config.window.saturating_sub(1) as f64 * f.mfcc.hop_length as f64 / rate
    }
}
