//! Model files (`NAME.ser`): one self-contained file a user carries to
//! classify recordings with no store. It is a safetensors file: the
//! weights (and standardisation statistics) of a model trained on every
//! clip, and in its metadata the [`ModelCard`] (JSON under `ser.card`):
//! feature config, classes, calibration, the speaker-fold estimate, the
//! training data's fingerprint, corpora and licences.
//!
//! [`build::build_model`] makes one; [`read_card`] and
//! [`crate::train::Predictor::from_model_file`] read one;
//! [`onnx::export_onnx`] writes its network as an ONNX model.

pub mod build;
pub mod card;
pub mod estimate;
pub mod onnx;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use models::zoo::{encode_safetensors, read_metadata, NamedTensor};

pub use card::{licence_of, Estimate, ModelCard, TrainingData, MODEL_FORMAT};

use crate::error::{PipelineError, Result};
use crate::output::OutputFile;

/// Metadata key of the card.
pub const CARD_KEY: &str = "ser.card";

/// Writes `card` and `tensors` to `out` (checked by the caller before any
/// work: never an input or a store's file; temp file, fsync, rename).
pub fn write_model_file(out: &OutputFile, card: &ModelCard, tensors: &[NamedTensor]) -> Result<()> {
    let json = serde_json::to_string(card)
        .map_err(|e| PipelineError::Config(format!("model card: {e}")))?;
    let meta = HashMap::from([(CARD_KEY.to_string(), json)]);
    let bytes = encode_safetensors(tensors, meta)?;
    out.write_with(|f| f.write_all(&bytes).map_err(|e| e.to_string()))
        .map_err(|e| PipelineError::Config(e.to_string()))
}

/// The card of model-file bytes read from `path` (named in errors).
pub fn card_of(path: &Path, bytes: &[u8]) -> Result<ModelCard> {
    let not_model = |why: String| PipelineError::NotAModel {
        path: path.to_path_buf(),
        why,
    };
    let meta =
        read_metadata(bytes).map_err(|e| not_model(format!("not a safetensors file ({e})")))?;
    let json = meta
        .get(CARD_KEY)
        .ok_or_else(|| not_model(format!("no `{CARD_KEY}` in its metadata")))?;
    let card: ModelCard = serde_json::from_str(json)
        .map_err(|e| not_model(format!("its card does not parse: {e}")))?;
    if card.format > MODEL_FORMAT {
        return Err(not_model(format!(
            "model format {} is newer than this ser reads ({MODEL_FORMAT}): update ser",
            card.format
        )));
    }
    Ok(card)
}

/// Reads the card of the model file at `path`.
pub fn read_card(path: &Path) -> Result<ModelCard> {
    let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
    card_of(path, &bytes)
}
