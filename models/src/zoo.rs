//! The three models behind one runtime handle: class count and kernel width
//! are const generics in the modules, chosen here from run-time values, so
//! callers (the `ser train` stage) never name a type.
//!
//! Weights travel as safetensors *bytes* (the caller decides where they
//! live); extra named tensors (e.g. normalisation statistics) and string
//! metadata ride along in the same file.

use std::collections::HashMap;

use ::safetensors::tensor::{Dtype as SDtype, SafeTensors, TensorView};
use dfdx::nn::tensor_collection::{
    RecursiveWalker, ScalarOptions, TensorOptions, TensorVisitor, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cnn::Cnn;
use crate::cnn_lstm::CnnLstm;
use crate::init::Init;
use crate::lstm_model::LstmModel;
use crate::metrics::Metrics;
use crate::si_cnn::SiCnn;
use crate::train::{self, Classifier, Dataset, EpochRecord, TrainConfig, TrainError, TrainEvent};

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The paper's 1-D CNN.
    Cnn,
    /// The paper's LSTM 70/50/60.
    Lstm,
    /// Our conv front end + LSTM.
    CnnLstm,
    /// Our compact CNN for speakers it has never heard ([`crate::si_cnn`]).
    SiCnn,
}

/// How a model is trained unless the config says otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// Epochs.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// (Peak) learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: crate::train::Schedule,
    /// Decoupled weight decay (0: Adam).
    pub weight_decay: f64,
    /// Label smoothing.
    pub label_smoothing: f64,
    /// Standardise each clip by its own statistics (instead of the
    /// training side's).
    pub clip_norm: bool,
}

impl ModelKind {
    /// Parses `cnn`, `lstm` or `cnn-lstm`.
    pub fn parse(s: &str) -> Result<ModelKind, String> {
        match s {
            "cnn" => Ok(ModelKind::Cnn),
            "lstm" => Ok(ModelKind::Lstm),
            "cnn-lstm" | "cnn+lstm" => Ok(ModelKind::CnnLstm),
            "si-cnn" => Ok(ModelKind::SiCnn),
            _ => Err(format!(
                "unknown model `{s}`: use cnn, lstm, cnn-lstm or si-cnn"
            )),
        }
    }

    /// The name `parse` accepts.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Cnn => "cnn",
            ModelKind::Lstm => "lstm",
            ModelKind::CnnLstm => "cnn-lstm",
            ModelKind::SiCnn => "si-cnn",
        }
    }

    /// Every model, the paper's first.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Cnn,
        ModelKind::Lstm,
        ModelKind::CnnLstm,
        ModelKind::SiCnn,
    ];

    /// Whether the model is one of the paper's.
    pub fn is_paper(self) -> bool {
        self != ModelKind::SiCnn
    }

    /// The training recipe: the paper's for its models (Adam 1e-3, CNN
    /// 100 epochs / batch 30, the LSTMs 50 / 28); ours for `si-cnn`
    /// (AdamW, one-cycle to 3e-3, weight decay 1e-2, label smoothing 0.1,
    /// 60 epochs of 32; the training side's standardisation, which measured
    /// better than per-clip normalisation: README, ablation).
    pub fn recipe(self) -> Recipe {
        let paper = |epochs, batch_size| Recipe {
            epochs,
            batch_size,
            lr: 1e-3,
            schedule: crate::train::Schedule::Constant,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            clip_norm: false,
        };
        match self {
            ModelKind::Cnn => paper(100, 30),
            ModelKind::Lstm | ModelKind::CnnLstm => paper(50, 28),
            ModelKind::SiCnn => Recipe {
                epochs: 60,
                batch_size: 32,
                lr: 3e-3,
                schedule: crate::train::Schedule::OneCycle,
                weight_decay: 1e-2,
                label_smoothing: 0.1,
                clip_norm: false,
            },
        }
    }

    /// The paper's epochs and batch size (the recipe's).
    pub fn paper_schedule(self) -> (usize, usize) {
        let r = self.recipe();
        (r.epochs, r.batch_size)
    }

    /// Fewest frames an input needs (the CNN pools four times by 2, ours twice).
    pub fn min_frames(self) -> usize {
        match self {
            ModelKind::Cnn => 16,
            ModelKind::CnnLstm | ModelKind::SiCnn => 4,
            ModelKind::Lstm => 1,
        }
    }
}

/// Class counts the label sets need.
pub const CLASS_COUNTS: [usize; 3] = [7, 8, 14];
/// Kernel widths the convolutional models are built for.
pub const KERNELS: [usize; 3] = [3, 5, 7];

/// Why a model could not be built, loaded or trained.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No build for this shape.
    #[error("no {kind} model with {classes} classes and kernel {kernel} (classes: 7, 8, 14; kernel: 3, 5, 7)")]
    Unsupported {
        /// Model name.
        kind: &'static str,
        /// Classes asked for.
        classes: usize,
        /// Kernel asked for.
        kernel: usize,
    },
    /// Training or inference failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The weights could not be encoded or decoded.
    #[error("weights: {0}")]
    Weights(String),
}

/// A model of any kind and class count, ready to train or predict.
pub trait Net {
    /// Trains on `train`, evaluating `test` after each epoch.
    fn fit(
        &mut self,
        train: &Dataset,
        test: &Dataset,
        cfg: &TrainConfig,
        on_event: &mut dyn FnMut(TrainEvent<'_>),
    ) -> Result<Vec<EpochRecord>, ModelError>;
    /// Class probabilities, one row per example (dropout off).
    fn predict(&self, data: &Dataset, batch_size: usize) -> Result<Vec<Vec<f32>>, ModelError>;
    /// Mean loss and metrics on `data` (dropout off).
    fn evaluate(&self, data: &Dataset, cfg: &TrainConfig) -> Result<(f64, Metrics), ModelError>;
    /// Trainable parameters.
    fn num_params(&self) -> usize;
    /// Named weight tensors (`prefix` + dfdx's field path), for [`encode_safetensors`].
    fn weights(&self, prefix: &str) -> Vec<NamedTensor>;
    /// Loads the weights saved under `prefix` from a safetensors file's bytes.
    fn load(&mut self, bytes: &[u8], prefix: &str) -> Result<(), ModelError>;
}

struct Handle<const N: usize, M: Classifier<N>> {
    model: M,
    dev: Cpu,
}

impl<const N: usize, M: Classifier<N>> Net for Handle<N, M> {
    fn fit(
        &mut self,
        train_set: &Dataset,
        test: &Dataset,
        cfg: &TrainConfig,
        on_event: &mut dyn FnMut(TrainEvent<'_>),
    ) -> Result<Vec<EpochRecord>, ModelError> {
        Ok(train::train::<N, M>(
            &mut self.model,
            &self.dev,
            train_set,
            test,
            cfg,
            on_event,
        )?)
    }

    fn predict(&self, data: &Dataset, batch_size: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let p = train::predict::<N, M>(&self.model, &self.dev, data, batch_size)
            .map_err(TrainError::from)?;
        Ok(p.into_iter().map(|row| row.to_vec()).collect())
    }

    fn evaluate(&self, data: &Dataset, cfg: &TrainConfig) -> Result<(f64, Metrics), ModelError> {
        Ok(train::evaluate::<N, M>(&self.model, &self.dev, data, cfg).map_err(TrainError::from)?)
    }

    fn num_params(&self) -> usize {
        self.model.num_trainable_params()
    }

    fn weights(&self, prefix: &str) -> Vec<NamedTensor> {
        let mut w = Collect {
            prefix: prefix.to_string(),
            out: Vec::new(),
        };
        let walked = M::iter_tensors(&mut RecursiveWalker {
            m: (&self.model, String::new()),
            f: &mut w,
        });
        debug_assert!(walked.is_ok(), "collecting weights cannot fail");
        w.out
    }

    fn load(&mut self, bytes: &[u8], prefix: &str) -> Result<(), ModelError> {
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::Weights(format!("{e:?}")))?;
        let mut reader = Prefixed {
            tensors,
            prefix: prefix.to_string(),
        };
        M::iter_tensors(&mut RecursiveWalker {
            m: (&mut self.model, String::new()),
            f: &mut reader,
        })
        .map_err(ModelError::Weights)?;
        Ok(())
    }
}

/// A tensor by name, row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Name in the file.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

struct Collect {
    prefix: String,
    out: Vec<NamedTensor>,
}

impl TensorVisitor<f32, Cpu> for Collect {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = String;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> Result<Option<Tensor<S, f32, Cpu>>, String> {
        self.out.push(NamedTensor {
            name: format!("{}{name}", self.prefix),
            shape: t.shape().concrete().into(),
            data: t.as_vec(),
        });
        Ok(None)
    }

    fn visit_scalar<Num: num_traits::NumCast>(
        &mut self,
        _: ScalarOptions<Num>,
        _: (&Num, String),
    ) -> Result<Option<Num>, String> {
        Ok(None)
    }
}

struct Prefixed<'a> {
    tensors: SafeTensors<'a>,
    prefix: String,
}

impl TensorVisitor<f32, Cpu> for Prefixed<'_> {
    type Viewer = (dfdx::nn::tensor_collection::ViewTensorMut, ViewTensorName);
    type Err = String;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&mut Tensor<S, f32, Cpu>, String),
    ) -> Result<Option<Tensor<S, f32, Cpu>>, String> {
        let key = format!("{}{name}", self.prefix);
        let view = self
            .tensors
            .tensor(&key)
            .map_err(|_| format!("tensor `{key}` missing"))?;
        let want: Vec<usize> = t.shape().concrete().into();
        if view.dtype() != SDtype::F32 || view.shape() != want.as_slice() {
            return Err(format!(
                "tensor `{key}`: {:?} {:?}, expected F32 {want:?}",
                view.dtype(),
                view.shape()
            ));
        }
        let v: Vec<f32> = le_f32s(view.data());
        t.copy_from(&v);
        Ok(None)
    }

    fn visit_scalar<Num: num_traits::NumCast>(
        &mut self,
        _: ScalarOptions<Num>,
        _: (&mut Num, String),
    ) -> Result<Option<Num>, String> {
        Ok(None)
    }
}

/// Little-endian `f32` values of a safetensors buffer.
fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Encodes tensors and string metadata as a safetensors file's bytes.
pub fn encode_safetensors(
    tensors: &[NamedTensor],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, ModelError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(SDtype::F32, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| ModelError::Weights(format!("{}: {e:?}", t.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ::safetensors::tensor::serialize(views, &Some(metadata))
        .map_err(|e| ModelError::Weights(format!("{e:?}")))
}

/// Reads one named tensor (values and shape) from safetensors bytes.
pub fn read_tensor(bytes: &[u8], name: &str) -> Result<NamedTensor, ModelError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Weights(format!("{e:?}")))?;
    let view = st
        .tensor(name)
        .map_err(|_| ModelError::Weights(format!("tensor `{name}` missing")))?;
    if view.dtype() != SDtype::F32 {
        return Err(ModelError::Weights(format!("tensor `{name}` is not F32")));
    }
    Ok(NamedTensor {
        name: name.to_string(),
        shape: view.shape().to_vec(),
        data: le_f32s(view.data()),
    })
}

/// Every tensor in safetensors bytes (F32 only), in name order.
pub fn read_tensors(bytes: &[u8]) -> Result<Vec<NamedTensor>, ModelError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Weights(format!("{e:?}")))?;
    let mut names: Vec<String> = st.names().into_iter().cloned().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let view = st
                .tensor(&name)
                .map_err(|_| ModelError::Weights(format!("tensor `{name}` missing")))?;
            if view.dtype() != SDtype::F32 {
                return Err(ModelError::Weights(format!("tensor `{name}` is not F32")));
            }
            Ok(NamedTensor {
                shape: view.shape().to_vec(),
                data: le_f32s(view.data()),
                name,
            })
        })
        .collect()
}

/// The string metadata of safetensors bytes.
pub fn read_metadata(bytes: &[u8]) -> Result<HashMap<String, String>, ModelError> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Weights(format!("{e:?}")))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

fn handle<const N: usize, M: Classifier<N> + 'static>(
    mut model: M,
    dev: Cpu,
    (init, seed): (Init, u64),
) -> Box<dyn Net> {
    model.initialize(init, seed);
    Box::new(Handle::<N, M> { model, dev })
}

macro_rules! by_kernel {
    ($model:ident, $n:literal, $kernel:expr, $dev:expr, $kind:expr, $init:expr) => {
        match $kernel {
            3 => Ok(handle::<$n, _>(
                $model::<$n, 3, f32, Cpu>::build(&$dev),
                $dev,
                $init,
            )),
            5 => Ok(handle::<$n, _>(
                $model::<$n, 5, f32, Cpu>::build(&$dev),
                $dev,
                $init,
            )),
            7 => Ok(handle::<$n, _>(
                $model::<$n, 7, f32, Cpu>::build(&$dev),
                $dev,
                $init,
            )),
            k => Err(ModelError::Unsupported {
                kind: $kind.name(),
                classes: $n,
                kernel: k,
            }),
        }
    };
}

/// Builds a freshly initialised model (weights drawn from `seed` as
/// `init` says; dropout and shuffles of its training also use `seed`).
pub fn build(
    kind: ModelKind,
    classes: usize,
    kernel: usize,
    seed: u64,
    init: Init,
) -> Result<Box<dyn Net>, ModelError> {
    let dev = Cpu::seed_from_u64(seed);
    let i = (init, seed);
    match (kind, classes) {
        (ModelKind::Cnn, 7) => by_kernel!(Cnn, 7, kernel, dev, kind, i),
        (ModelKind::Cnn, 8) => by_kernel!(Cnn, 8, kernel, dev, kind, i),
        (ModelKind::Cnn, 14) => by_kernel!(Cnn, 14, kernel, dev, kind, i),
        (ModelKind::CnnLstm, 7) => by_kernel!(CnnLstm, 7, kernel, dev, kind, i),
        (ModelKind::CnnLstm, 8) => by_kernel!(CnnLstm, 8, kernel, dev, kind, i),
        (ModelKind::CnnLstm, 14) => by_kernel!(CnnLstm, 14, kernel, dev, kind, i),
        (ModelKind::Lstm, 7) => Ok(handle::<7, _>(
            LstmModel::<7, f32, Cpu>::build(&dev),
            dev,
            i,
        )),
        (ModelKind::Lstm, 8) => Ok(handle::<8, _>(
            LstmModel::<8, f32, Cpu>::build(&dev),
            dev,
            i,
        )),
        (ModelKind::Lstm, 14) => Ok(handle::<14, _>(
            LstmModel::<14, f32, Cpu>::build(&dev),
            dev,
            i,
        )),
        (ModelKind::SiCnn, 7) => Ok(handle::<7, _>(SiCnn::<7, f32, Cpu>::build(&dev), dev, i)),
        (ModelKind::SiCnn, 8) => Ok(handle::<8, _>(SiCnn::<8, f32, Cpu>::build(&dev), dev, i)),
        (ModelKind::SiCnn, 14) => Ok(handle::<14, _>(SiCnn::<14, f32, Cpu>::build(&dev), dev, i)),
        (k, n) => Err(ModelError::Unsupported {
            kind: k.name(),
            classes: n,
            kernel,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_through_safetensors_bytes() {
        let a = build(ModelKind::CnnLstm, 7, 3, 1, Init::Keras).unwrap();
        let mut b = build(ModelKind::CnnLstm, 7, 3, 2, Init::Keras).unwrap();
        let mut tensors = a.weights("fold0/");
        assert_ne!(
            tensors,
            b.weights("fold0/"),
            "different seeds, different weights"
        );
        tensors.push(NamedTensor {
            name: "norm.mean".into(),
            shape: vec![2],
            data: vec![1.5, -2.0],
        });
        let meta = HashMap::from([("classes".to_string(), "a,b".to_string())]);
        let bytes = encode_safetensors(&tensors, meta).unwrap();
        b.load(&bytes, "fold0/").unwrap();
        assert_eq!(a.weights("x"), b.weights("x"));
        assert_eq!(
            read_tensor(&bytes, "norm.mean").unwrap().data,
            vec![1.5, -2.0]
        );
        assert_eq!(read_metadata(&bytes).unwrap()["classes"], "a,b");
        let all = read_tensors(&bytes).unwrap();
        assert_eq!(all.len(), tensors.len());
        assert!(all
            .iter()
            .any(|t| t.name == "norm.mean" && t.data == [1.5, -2.0]));
        let err = b.load(&bytes, "fold1/").unwrap_err().to_string();
        assert!(err.contains("fold1/conv1.weight"), "{err}");
    }

    #[test]
    fn unsupported_shapes_are_errors_not_panics() {
        assert!(build(ModelKind::Cnn, 14, 4, 0, Init::Keras).is_err());
        assert!(build(ModelKind::Lstm, 5, 5, 0, Init::Keras).is_err());
        // si-cnn saves its batch-norm statistics with its weights.
        let si = build(ModelKind::SiCnn, 8, 5, 0, Init::Keras).unwrap();
        let names: Vec<String> = si.weights("").into_iter().map(|t| t.name).collect();
        assert!(names.iter().any(|n| n == "bn1.running_mean"), "{names:?}");
        // The LSTM has no kernel: any width builds the same network.
        assert_eq!(
            build(ModelKind::Lstm, 14, 4, 0, Init::Keras)
                .unwrap()
                .num_params(),
            build(ModelKind::Lstm, 14, 5, 0, Init::Keras)
                .unwrap()
                .num_params()
        );
    }
}
