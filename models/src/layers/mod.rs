//! Layers dfdx 0.13 lacks on stable Rust, built from its tensor ops so
//! that autodiff covers them: [`Conv1D`] (zero-pad, one matmul per tap),
//! [`max_pool1d`], [`global_avg_pool1d`] and [`Lstm`] (four gates,
//! unrolled over time, all states or the last). Sequences are
//! `[batch, frames, channels]` throughout.

use dfdx::prelude::{Const, Device, Dtype, Shape, Tensor};
use rand_distr::Uniform;

/// A batch of sequences: `[batch, frames, C]` (batch and frames at run time).
pub type Seq<const C: usize, E, D, T> = Tensor<(usize, usize, Const<C>), E, D, T>;
/// A batch of vectors: `[batch, C]`.
pub type Batch<const C: usize, E, D, T> = Tensor<(usize, Const<C>), E, D, T>;

/// Keras/PyTorch-style init: `U(-b, b)` with `b = 1/sqrt(fan_in)`.
pub(crate) fn uniform_fan_in<S, E, D>(t: &mut Tensor<S, E, D>, fan_in: usize) -> Result<(), D::Err>
where
    S: Shape,
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    let b = E::from_usize(fan_in).map_or(E::ONE, |n| E::ONE / n.sqrt());
    t.try_fill_with_distr(Uniform::new(-b, b))
}

mod conv1d;
mod lstm;
mod pool;

pub use conv1d::Conv1D;
pub use lstm::Lstm;
pub use pool::{global_avg_pool1d, max_pool1d};

#[cfg(test)]
pub(crate) mod gradcheck;
