//! Weights as safetensors *bytes*: a model's tensors out and in by name
//! (`prefix` + dfdx's field path, e.g. `fold1/conv1.weight`), extra named
//! tensors (normalisation statistics) and string metadata in the same
//! file. The caller decides where the bytes live.

use std::collections::HashMap;

use ::safetensors::tensor::{Dtype as SDtype, SafeTensors, TensorView};
use dfdx::nn::tensor_collection::{
    RecursiveWalker, ScalarOptions, TensorOptions, TensorVisitor, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;

use crate::error::ModelError;

/// The named weight tensors of `model` (`prefix` + field path).
pub fn collect<M: TensorCollection<f32, Cpu>>(model: &M, prefix: &str) -> Vec<NamedTensor> {
    let mut w = Collect {
        prefix: prefix.to_string(),
        out: Vec::new(),
    };
    let walked = M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut w,
    });
    debug_assert!(walked.is_ok(), "collecting weights cannot fail");
    w.out
}

/// Loads `model`'s tensors saved under `prefix` from safetensors bytes;
/// a missing tensor or a shape that differs is an error naming it. A
/// tensor with no elements (a layer its width switched off) is not
/// written by [`collect`] and need not be in the file.
pub fn load<M: TensorCollection<f32, Cpu>>(
    model: &mut M,
    bytes: &[u8],
    prefix: &str,
) -> Result<(), ModelError> {
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| ModelError::Weights(format!("{e:?}")))?;
    let mut reader = Prefixed {
        tensors,
        prefix: prefix.to_string(),
    };
    M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut reader,
    })
    .map_err(ModelError::Weights)?;
    Ok(())
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
        // A layer switched off by its width (si-cnn's attention at 0)
        // holds no elements: nothing to write, so files stay as before it.
        if t.shape().num_elements() == 0 {
            return Ok(None);
        }
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
        if t.shape().num_elements() == 0 && self.tensors.tensor(&key).is_err() {
            return Ok(None);
        }
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
