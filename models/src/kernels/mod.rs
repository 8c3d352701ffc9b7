//! Hand-written forward and backward kernels for the layers that cost the
//! training time: a fused Conv1D + bias + ReLU + MaxPool1D block
//! ([`conv`]) and an LSTM layer with backpropagation through time by hand
//! ([`lstm`]). They compute on slices (row-major, `[batch, frames, C]`),
//! in `f32` for training and `f64` for the finite-difference checks, and
//! hand every matrix product to one gemm ([`gemm::gemm`]) with explicit
//! strides, so shifted and transposed views cost no copies.
//!
//! The layers in [`crate::layers`] wrap them as operations on dfdx's tape
//! (each records its own backward closure); the dfdx-op versions of the
//! same layers stay as the reference the tests compare against.

pub mod act;
pub mod conv;
pub mod gemm;
pub mod lstm;

/// The element types the kernels run in (what the gemm crate multiplies).
pub trait Float:
    num_traits::Float
    + act::Activations
    + Copy
    + Default
    + Send
    + Sync
    + std::fmt::Debug
    + std::iter::Sum
    + 'static
{
}

impl Float for f32 {}
impl Float for f64 {}
