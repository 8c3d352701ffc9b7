//! Layers dfdx 0.13 lacks on stable Rust, built from its tensor ops so
//! that autodiff covers them: [`Conv1D`] (zero-pad, one matmul per tap),
//! [`max_pool1d`], [`global_avg_pool1d`] and [`Lstm`] (four gates,
//! unrolled over time, all states or the last). Sequences are
//! `[batch, frames, channels]` throughout.

use dfdx::prelude::{Const, Tensor};

/// A batch of sequences: `[batch, frames, C]` (batch and frames at run time).
pub type Seq<const C: usize, E, D, T> = Tensor<(usize, usize, Const<C>), E, D, T>;
/// A batch of vectors: `[batch, C]`.
pub type Batch<const C: usize, E, D, T> = Tensor<(usize, Const<C>), E, D, T>;

mod conv1d;
mod lstm;
mod pool;

pub use conv1d::Conv1D;
pub use lstm::Lstm;
pub use pool::{global_avg_pool1d, max_pool1d};

#[cfg(test)]
pub(crate) mod gradcheck;
