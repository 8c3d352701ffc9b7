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
pub mod workspace;

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
    /// The buffer pool of this type ([`workspace`]).
    fn pool() -> &'static workspace::Pool<Self>;
}

static POOL_F32: workspace::Pool<f32> = workspace::Pool::new();
static POOL_F64: workspace::Pool<f64> = workspace::Pool::new();

impl Float for f32 {
    fn pool() -> &'static workspace::Pool<f32> {
        &POOL_F32
    }
}

impl Float for f64 {
    fn pool() -> &'static workspace::Pool<f64> {
        &POOL_F64
    }
}
