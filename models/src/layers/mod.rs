//! Layers dfdx 0.13 lacks on stable Rust: [`Conv1D`], [`max_pool1d`],
//! [`global_avg_pool1d`] and [`Lstm`] (four gates, all states or the
//! last). Sequences are `[batch, frames, channels]` throughout.
//!
//! Each layer has two forward paths over the same parameters:
//! - the **fast** one the models use: a single operation on dfdx's tape
//!   that runs a hand-written kernel ([`crate::kernels`]) and records its
//!   own backward closure (`Conv1D::try_forward_block`: conv + bias + ReLU
//!   + max-pool fused; `Lstm::try_forward_seq_fast`; [`last_frames`]);
//! - the **reference** one built from dfdx tensor ops, so autodiff covers
//!   it (`Module::try_forward`, `Lstm::try_forward_seq`): the tests check
//!   every fast op against it and against finite differences in f64.

use dfdx::prelude::{Const, Cpu, CpuError, Device, Dtype, Gradients, HasShape, Shape, Tensor};
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

/// A tensor's values, row-major (the tensor must be contiguous: every
/// tensor an op allocates is; `try_contiguous` makes a view one).
pub(crate) fn values<S: Shape, E: Dtype, T>(t: &Tensor<S, E, Cpu, T>) -> Vec<E>
where
    Cpu: Device<E>,
{
    let mut v = vec![E::default(); t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// Moves `t`'s gradient out of `grads` (allocating zeros if it had none),
/// so several gradients can be written at once; [`put_grad`] returns it.
pub(crate) fn take_grad<S: Shape, E: Dtype>(
    grads: &mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> Result<Vec<E>, CpuError> {
    Ok(std::mem::take(&mut **grads.get_or_alloc_mut(t)?))
}

/// Puts back a gradient taken with [`take_grad`].
pub(crate) fn put_grad<S: Shape, E: Dtype>(
    grads: &mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
    v: Vec<E>,
) -> Result<(), CpuError> {
    **grads.get_or_alloc_mut(t)? = v;
    Ok(())
}

mod batchnorm;
mod conv1d;
mod lstm;
mod pool;

pub use batchnorm::{batchnorm_eval, batchnorm_train};
pub use conv1d::Conv1D;
pub use lstm::{last_frames, Lstm};
pub use pool::{global_avg_pool1d, max_pool1d};

/// Keras' Dense init: Glorot-uniform kernel, zero bias.
pub fn init_linear_keras<
    const I: usize,
    const O: usize,
    E: Dtype + num_traits::Float,
    D: Device<E>,
>(
    l: &mut dfdx::nn::modules::Linear<I, O, E, D>,
    rng: &mut crate::init::InitRng,
) {
    l.weight
        .copy_from(&crate::init::cast(rng.glorot(O * I, I, O)));
    l.bias.copy_from(&vec![E::zero(); O]);
}

#[cfg(test)]
mod fastcheck;
#[cfg(test)]
pub(crate) mod gradcheck;
