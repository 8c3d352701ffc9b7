//! `ser predict`: a finished run classifies new audio (any format `ser`
//! decodes), through the same feature path (`clean_mfcc`), window and
//! standardisation as training.

use std::path::{Path, PathBuf};

use models::calibration::Temperature;
use models::test_warp::{predict_heard, TestWarp};
use models::zoo::read_tensor;
use models::Net;
use store::Store;

use super::config::{Norm, RunConfig};
use super::data::{Standardizer, Variant, N_MFCC};
use crate::audio::read_audio;
use crate::error::{FileError, PipelineError, PredictError, Result};
use crate::features::clean_mfcc_of;
use crate::recording::RecordingAnswer;

/// What a file holds when it holds no speech.
pub const NO_SPEECH: &str = "no speech";

/// A fold's number (from 1), its models (one, or a seed ensemble's
/// members), its standardisation and its test-time warp (if the run has
/// one).
type FoldModels = (usize, Vec<Box<dyn Net>>, Standardizer, Option<TestWarp>);

/// A loaded run or model file: its config and each trained fold's model
/// and statistics.
pub struct Predictor {
    /// The run's `config.json` (a model file's: the run it holds).
    pub config: RunConfig,
    /// Each fold: its number, its models (one, or a seed ensemble's
    /// members), its standardisation and its test-time warp.
    folds: Vec<FoldModels>,
    /// Applied to the (fold-averaged) probabilities: a model file's
    /// calibration, 1 for a run.
    pub temperature: Temperature,
}

/// The run `--run` names: a run folder (it holds `config.json`; no store
/// needed), else a run name, a unique prefix of one or of its hash (the
/// name's last part, `d1ecf452`) in the store at `store`.
pub fn find_run(store: &Path, run: &str) -> Result<PathBuf> {
    let as_dir = Path::new(run);
    if as_dir.join("config.json").is_file() {
        Ok(as_dir.to_path_buf())
    } else if as_dir.is_dir() && run.contains(std::path::MAIN_SEPARATOR) {
        Err(PipelineError::NotARun {
            path: as_dir.to_path_buf(),
        })
    } else {
        resolve_run(&Store::open(store)?, run)
    }
}

/// Finds a run by exact name, unique prefix of a name or of its hash (the
/// part after the name's last `-`), or folder path.
pub fn resolve_run(store: &Store, run: &str) -> Result<PathBuf> {
    let as_path = Path::new(run);
    if as_path.join("config.json").is_file() {
        return Ok(as_path.to_path_buf());
    }
    let names = store.runs()?;
    if names.iter().any(|n| n == run) {
        return Ok(store.run_dir(run));
    }
    let matches: Vec<&String> = names.iter().filter(|n| names_run(n, run)).collect();
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

/// Whether `asked` names the run `name`: a prefix of the name or of its
/// hash (the part after its last `-`).
fn names_run(name: &str, asked: &str) -> bool {
    let hash = name.rsplit('-').next().unwrap_or(name);
    !asked.is_empty() && (name.starts_with(asked) || hash.starts_with(asked))
}

/// What to do about a damaged file of the published run in `dir`.
fn retrain_advice(dir: &Path) -> String {
    format!(
        "this run cannot be used: train it again (`ser train --force` with the flags that \
         made it), or remove {}; `ser check` looks for other damage in the store",
        dir.display()
    )
}

impl RunConfig {
    /// Reads the `config.json` of the run folder `dir`; a file that does
    /// not parse is a [`PipelineError::DamagedRun`] saying what to do.
    pub fn read(dir: &Path) -> Result<RunConfig> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
        RunConfig::from_json(&text)
            .map_err(|e| PipelineError::damaged_run(&path, e, retrain_advice(dir)))
    }
}

impl Predictor {
    /// Loads the run `--run` names ([`find_run`]) and checks that it has
    /// fold `fold` (every fold: `None`).
    pub fn open(store: &Path, run: &str, fold: Option<usize>) -> Result<Predictor> {
        let p = Predictor::load(&find_run(store, run)?)?;
        p.check_fold(fold)?;
        Ok(p)
    }

    /// Loads `config.json` and `model.safetensors` of the run folder `dir`.
    pub fn load(dir: &Path) -> Result<Predictor> {
        let config = RunConfig::read(dir)?;
        let w_path = dir.join("model.safetensors");
        let bytes = std::fs::read(&w_path).map_err(|e| PipelineError::io(&w_path, e))?;
        Predictor::from_weights(config, &bytes, &w_path, &retrain_advice(dir))
    }

    /// Loads a model file (`ser model build`): its card's run, weights
    /// and calibration; no store.
    pub fn from_model_file(path: &Path) -> Result<Predictor> {
        let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
        Predictor::from_model_bytes(path, &bytes)
    }

    /// [`Predictor::from_model_file`] of bytes already read from `path`.
    pub(crate) fn from_model_bytes(path: &Path, bytes: &[u8]) -> Result<Predictor> {
        let card = crate::model_file::card_of(path, bytes)?;
        Predictor::from_model_card(path, bytes, card)
    }

    /// [`Predictor::from_model_bytes`] with the card already read from them.
    pub(crate) fn from_model_card(
        path: &Path,
        bytes: &[u8],
        card: crate::model_file::ModelCard,
    ) -> Result<Predictor> {
        let mut p = Predictor::from_weights(
            card.run,
            bytes,
            path,
            "this model file cannot be used: build it again (`ser model build`)",
        )?;
        p.temperature = Temperature(card.temperature);
        Ok(p)
    }

    /// Builds each fold's model of `config` from safetensors `bytes` (read
    /// from `w_path`; `advice` says what to do if they are damaged).
    fn from_weights(
        config: RunConfig,
        bytes: &[u8],
        w_path: &Path,
        advice: &str,
    ) -> Result<Predictor> {
        let bad = |e: models::ModelError| PipelineError::damaged_run(w_path, e, advice.to_string());
        // Runs of code version 1 numbered folds from 0 (in their weights'
        // names too); users see every fold from 1.
        let shown = usize::from(config.code < 2);
        let members = config.resolved().members.max(1);
        let mut folds = Vec::new();
        for &k in &config.folds {
            let norm = Standardizer {
                mean: read_tensor(bytes, &format!("fold{k}/norm.mean"))
                    .map_err(bad)?
                    .data,
                std: read_tensor(bytes, &format!("fold{k}/norm.std"))
                    .map_err(bad)?
                    .data,
                per_clip: config.resolved().norm == Norm::Clip,
                level: config.resolved().norm == Norm::Level,
            };
            let mut nets = Vec::with_capacity(members);
            for j in 0..members {
                let mut net = models::build(
                    config.train.model,
                    config.classes.len(),
                    config.train.kernel,
                    config.resolved().attention,
                    0,
                    config.train.init,
                )
                .map_err(bad)?;
                net.load(bytes, &super::fold::member_prefix(k, j))
                    .map_err(bad)?;
                nets.push(net);
            }
            let heard = super::steps::test_warp(&config, &norm);
            folds.push((k + shown, nets, norm, heard));
        }
        Ok(Predictor {
            config,
            folds,
            temperature: Temperature::default(),
        })
    }

    /// The test-time warp of the `i`-th loaded fold (in the run's order),
    /// if the run has one.
    pub fn test_warp(&self, i: usize) -> Option<&TestWarp> {
        self.folds.get(i).and_then(|f| f.3.as_ref())
    }

    /// Folds this run trained (1-based numbers).
    pub fn folds(&self) -> Vec<usize> {
        self.folds.iter().map(|f| f.0).collect()
    }

    /// Checks that fold `k` (1-based) exists; `None` (every fold) always does.
    pub fn check_fold(&self, fold: Option<usize>) -> Result<(), PredictError> {
        match fold {
            Some(k) if !self.folds.iter().any(|f| f.0 == k) => Err(PredictError::NoFold {
                run: self.config.run.clone(),
                fold: k,
                folds: self
                    .folds()
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
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
    ) -> Result<Vec<f32>, PredictError> {
        self.check_fold(fold)?;
        let chosen: Vec<&FoldModels> = match fold {
            Some(k) => self.folds.iter().filter(|f| f.0 == k).collect(),
            None => self.folds.iter().collect(),
        };
        // Every model counts once: a fold's members and the folds alike.
        let models = chosen.iter().map(|f| f.1.len()).sum::<usize>() as f32;
        let v = Variant {
            frames,
            mfcc: mfcc.to_vec(),
        };
        let framing = self.config.answer_framing();
        let mut mean = vec![0f32; self.config.classes.len()];
        for (_, nets, norm, heard) in &chosen {
            // Standardised once per fold, whatever its number of members.
            let mut x = Vec::with_capacity(framing.window * N_MFCC);
            let len = norm.example_into(&v, framing, &mut x);
            let data = models::Dataset {
                x,
                frames: framing.window,
                labels: vec![0],
                lengths: vec![len],
            };
            // As training scored its test clips: the mean over the versions
            // the test-time warp hears, if the run has one (warped once for
            // every member).
            let warped = heard
                .as_ref()
                .map(|w| w.warped_versions(&data))
                .unwrap_or_default();
            for net in nets {
                let p = predict_heard(net.as_ref(), &data, &warped, 1)?;
                for (m, q) in mean.iter_mut().zip(&p[0]) {
                    *m += q / models;
                }
            }
        }
        // A run has no calibration: its probabilities stay bit for bit
        // those of training (p^(1/1) renormalised would round differently).
        Ok(if self.temperature == Temperature::default() {
            mean
        } else {
            self.temperature.apply(&mean)
        })
    }

    /// Decodes a file and classifies it as one recording
    /// ([`Predictor::classify_recording`], nothing below `floor_db` is
    /// speech) through the run's feature path. The error names the file and
    /// why (a panic in this file's work too: `internal error: …`, see
    /// [`crate::panic_guard`]).
    pub fn predict_file(
        &self,
        path: &Path,
        fold: Option<usize>,
        floor_db: f64,
    ) -> Result<RecordingAnswer, FileError> {
        crate::panic_guard::catch(|| {
            let audio = read_audio(path)?;
            self.classify_recording(&audio.samples, audio.info.sample_rate, fold, floor_db)
        })
        .map_err(PredictError::Internal)
        .and_then(|r| r)
        .map_err(|e| FileError::new(path, e))
    }

    /// Class probabilities of mono samples at `rate` Hz, through the run's
    /// feature path (resampling, MFCC, window, standardisation).
    pub fn predict_samples(
        &self,
        y: &[f32],
        rate: u32,
        fold: Option<usize>,
    ) -> Result<Vec<f32>, PredictError> {
        let (frames, mfcc) =
            clean_mfcc_of(y, rate, &self.config.features).map_err(PredictError::Features)?;
        if mfcc.len() != frames * N_MFCC {
            return Err(PredictError::Coefficients {
                got: mfcc.len() / frames.max(1),
                need: N_MFCC,
            });
        }
        self.predict_mfcc(frames, &mfcc, fold)
    }

    /// The length of audio the run's window covers, seconds.
    pub fn window_seconds(&self) -> f64 {
        let f = &self.config.features;
        let rate = f.sample_rate.unwrap_or(22050) as f64;
        self.config.window.saturating_sub(1) as f64 * f.mfcc.hop_length as f64 / rate
    }
}

#[cfg(test)]
mod tests {
    use super::names_run;

    #[test]
    fn a_run_is_named_by_a_prefix_of_its_name_or_of_its_hash() {
        let run = "si-cnn-emotion8-speakers-d1ecf452";
        for asked in [run, "si-cnn", "si-cnn-emotion8-sp", "d1ecf452", "d1ec"] {
            assert!(names_run(run, asked), "{asked}");
        }
        for asked in ["", "cnn", "ecf452", "speakers-d1", "d1ecf4520", "emotion8"] {
            assert!(!names_run(run, asked), "{asked}");
        }
    }
}
