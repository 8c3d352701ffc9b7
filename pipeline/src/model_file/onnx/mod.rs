//! `ser export --onnx`: the network of a model file as an ONNX model, so
//! that other runtimes (onnxruntime from Python, C++, C#, the browser)
//! classify with it. Raw MFCC frames `[batch, frames, 40]` go in; out
//! come the probabilities `ser` gives for the same frames
//! ([`crate::train::Predictor::predict_mfcc`]): the window, the
//! standardisation, the test-time warp, the network (each member's, for a
//! seed ensemble, and the mean of their probabilities), the softmax and the
//! temperature are all in the graph ([`graph`]). Computing the MFCCs stays outside: the
//! model's metadata says how (`feature_config`, with the `classes` in
//! output order and the whole card under `ser.card`).
//!
//! Only what the graph expresses exactly is exported: the si-cnn, with
//! the training side's standardisation (`norm train`), one trained model
//! or one seed ensemble (what `ser model build` writes, with `--members K`
//! or without); anything else is refused with an error naming the file.
//!
//! The file is ONNX IR version [`IR_VERSION`], operator set [`OPSET`],
//! written by [`proto`] (no protobuf dependency).

pub mod graph;
pub mod proto;

use std::io::Write;
use std::path::{Path, PathBuf};

use models::zoo::read_tensors;
use models::ModelKind;

use self::graph::{Spec, Weights, INPUT, OUTPUT};
use self::proto::Model;
use super::{card_of, ModelCard};
use crate::error::PipelineError;
use crate::output::{OutputError, OutputFile};
use crate::train::data::{speech_lead, SPEECH_WITHIN_DB};
use crate::train::fold::member_prefix;
use crate::train::{Crop, Norm, Predictor};

/// ONNX IR version written (onnxruntime 1.14 and later read it).
pub const IR_VERSION: i64 = 8;
/// Version of the default operator set the graph uses.
pub const OPSET: i64 = 13;

/// Why a model file was not exported. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The model is one the exporter cannot express exactly.
    #[error("{path}: cannot export to ONNX: {why}")]
    Unsupported {
        /// The model file.
        path: PathBuf,
        /// What it holds that ONNX export does not cover.
        why: String,
    },
    /// The model file could not be read (missing, not a model file, damaged).
    #[error(transparent)]
    Model(#[from] PipelineError),
    /// The ONNX file could not be written.
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// An exported model: what was written, and what it expects.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The model file's card.
    pub card: ModelCard,
    /// The ONNX file's bytes.
    pub bytes: Vec<u8>,
    /// Nodes in its graph.
    pub nodes: usize,
}

impl Exported {
    /// One paragraph for the user: input, output, the features to compute.
    pub fn describe(&self) -> String {
        let r = &self.card.run;
        let f = &r.features;
        let m = &f.mfcc;
        let w = r.window;
        let kept = match r.answer_crop() {
            Crop::Start => format!("the first {w} are used"),
            Crop::Centre => format!("the middle {w} are used"),
            Crop::Speech => format!(
                "{w} are used from {} before the first whose c0 is within {SPEECH_WITHIN_DB} dB \
                 times sqrt(n_mels) of the loudest",
                speech_lead(w)
            ),
        };
        let rate = f
            .sample_rate
            .map_or("each file's own rate".to_string(), |s| format!("{s} Hz"));
        let fmax = m.fmax.map_or("Nyquist".to_string(), |v| format!("{v} Hz"));
        let top_db = m.top_db.map_or("none".to_string(), |t| t.to_string());
        format!(
            "input  `{INPUT}`: raw MFCCs [batch, frames, {}], any number of frames ({kept}, \
             fewer are padded)\n\
             output `{OUTPUT}`: [batch, {}], in the order {}\n\
             features: mono, {rate}, centred STFT n_fft {} hop {}, {} Slaney mel bands {} Hz \
             to {fmax}, power_to_db (ref 1, amin {:e}, top_db {top_db}), {} MFCCs (DCT-II, \
             ortho), frames x coefficients\n\
             {} nodes, {} bytes, ONNX IR {IR_VERSION}, opset {OPSET}, temperature {:.3}{}{}",
            m.n_mfcc,
            r.classes.len(),
            r.classes.join(", "),
            m.n_fft,
            m.hop_length,
            m.n_mels,
            m.fmin,
            m.amin,
            m.n_mfcc,
            self.nodes,
            self.bytes.len(),
            self.card.temperature,
            super::card::heard_as(r.resolved().test_warp)
                .map_or_else(String::new, |heard| format!(
                    "\ntest-time warp: the mean over {heard} (in the graph)"
                )),
            match r.resolved().members {
                0 | 1 => String::new(),
                k =>
                    format!("\nseed ensemble: the mean of {k} models' probabilities (in the graph)"),
            },
        )
    }
}

/// What of `card` the graph cannot express, if anything.
fn unsupported(card: &ModelCard) -> Option<String> {
    let r = &card.run;
    if r.train.model != ModelKind::SiCnn {
        return Some(format!(
            "it holds a `{}` model; only si-cnn (what `ser model build` trains) is exported",
            r.train.model.name()
        ));
    }
    let norm = r.resolved().norm;
    if norm != Norm::Train {
        let name = format!("{norm:?}").to_lowercase();
        return Some(format!(
            "it standardises each clip with that clip's statistics (`norm {name}`); only `norm \
             train` (the training statistics) is exported"
        ));
    }
    if r.folds.len() != 1 {
        return Some(format!(
            "it holds the models of {} folds ({:?}) whose probabilities are averaged; only \
             one training on every clip (what `ser model build` writes: one model or a seed \
             ensemble) is exported",
            r.folds.len(),
            r.folds
        ));
    }
    None
}

/// The ONNX model of the model file at `path` (not written anywhere).
pub fn onnx_of(path: &Path) -> Result<Exported, OnnxError> {
    let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
    let card = card_of(path, &bytes)?;
    if let Some(why) = unsupported(&card) {
        return Err(OnnxError::Unsupported {
            path: path.to_path_buf(),
            why,
        });
    }
    // Loads as `ser predict --model` would: the same errors for a damaged file.
    let predictor = Predictor::from_model_card(path, &bytes, card.clone())?;
    let damaged = |why: String| {
        PipelineError::damaged_run(
            path,
            why,
            "this model file cannot be used: build it again (`ser model build`)",
        )
    };
    let r = &card.run;
    // The weights are saved under `fold{k}/` (a seed ensemble's other
    // members under `fold{k}/m{j}/`), k as the run lists its folds.
    let tensors = read_tensors(&bytes).map_err(|e| damaged(e.to_string()))?;
    let members: Vec<Weights> = (0..r.resolved().members.max(1))
        .map(|j| Weights::with_prefix(&tensors, &member_prefix(r.folds[0], j)))
        .collect();
    let spec = Spec {
        window: r.window,
        crop: r.answer_crop(),
        n_mels: r.features.mfcc.n_mels,
        temperature: card.temperature,
        heard: predictor
            .test_warp(0)
            .map_or_else(Vec::new, |t| t.row_matrices().to_vec()),
    };
    let graph = graph::si_cnn(&members, &spec, r.classes.len()).map_err(damaged)?;
    let nodes = graph.nodes.len();
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let model = Model {
        ir_version: IR_VERSION,
        opset: OPSET,
        producer: "ser".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc: format!(
            "{} of {file} ({}): raw MFCCs [batch, frames, 40] -> class probabilities \
             [batch, {}]; see metadata `feature_config` and `classes`",
            r.train.model.name(),
            r.run,
            r.classes.len()
        ),
        graph,
        metadata: vec![
            ("classes".into(), json(&r.classes)?),
            ("feature_config".into(), json(&r.features)?),
            ("window".into(), r.window.to_string()),
            ("temperature".into(), card.temperature.to_string()),
            ("ser.card".into(), json(&card)?),
        ],
    };
    Ok(Exported {
        bytes: model.encode(),
        card,
        nodes,
    })
}

/// Exports the model file `model` to `out` (checked by the caller before
/// any work; written atomically).
pub fn export_onnx(model: &Path, out: &OutputFile) -> Result<Exported, OnnxError> {
    let e = onnx_of(model)?;
    out.write_with(|f| f.write_all(&e.bytes).map_err(|err| err.to_string()))?;
    Ok(e)
}

/// `v` as JSON text (a metadata value).
fn json<T: serde::Serialize>(v: &T) -> Result<String, PipelineError> {
    serde_json::to_string(v).map_err(|e| PipelineError::Config(format!("ONNX metadata: {e}")))
}
