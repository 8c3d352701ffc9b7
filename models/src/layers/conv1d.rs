//! 1-D convolution, stride 1, "same" zero padding. The fast path fuses
//! bias, ReLU and max-pooling into one tape op over [`crate::kernels::conv`];
//! the reference path zero-pads, then runs one dfdx matmul per tap on a
//! shifted slice, summed.

use super::{
    put_grad, runtime_options, take_grad, tensor_field, uniform_fan_in, values, Batch, KerasInit,
    Seq,
};
use crate::init::{cast, InitRng};
use crate::kernels::conv::{self, ConvShape};
use crate::kernels::Float;
use dfdx::prelude::*;

/// Filters `[kernel, I, O]`: the width is a run-time value.
pub type Filters<const I: usize, const O: usize, E, D> = Tensor<(usize, Const<I>, Const<O>), E, D>;

/// A 1-D convolution with `I` input channels and `O` filters whose width
/// (the kernel) is chosen at run time ([`Conv1D::new`]).
#[derive(Debug, Clone)]
pub struct Conv1D<const I: usize, const O: usize, E: Dtype, D: Storage<E>> {
    /// Filters: `[kernel, I, O]` (tap, input channel, filter).
    pub weight: Filters<I, O, E, D>,
    /// One bias per filter: `[O]`.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, E, D> Conv1D<I, O, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    /// Filters of width `kernel` (at least 1) drawn as dfdx draws them,
    /// `U(±1/sqrt(kernel * I))` for the filters then the biases, from the
    /// device's generator.
    pub fn new(dev: &D, kernel: usize) -> Result<Self, D::Err> {
        let kernel = kernel.max(1);
        let mut weight = dev.try_zeros_like(&(kernel, Const::<I>, Const::<O>))?;
        uniform_fan_in(&mut weight, I * kernel)?;
        let mut bias = dev.try_zeros::<Rank1<O>>()?;
        uniform_fan_in(&mut bias, I * kernel)?;
        Ok(Conv1D { weight, bias })
    }
}

impl<const I: usize, const O: usize, E: Dtype, D: Storage<E>> Conv1D<I, O, E, D> {
    /// The filters' width.
    pub fn kernel(&self) -> usize {
        self.weight.shape().0
    }
}

// The filters' shape is a run-time value, so dfdx's `build` (which makes
// tensors from a shape known at compile time) cannot make this layer:
// [`Conv1D::new`] does. The visit below serves dfdx's optimisers,
// gradients and parameter counts (`reset` redraws the filters and zeroes
// the biases; ser draws weights with `new` and `init_keras`).
impl<const I: usize, const O: usize, E, D> TensorCollection<E, D> for Conv1D<I, O, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Conv1D<I, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                tensor_field!(
                    weight,
                    runtime_options(
                        |t| {
                            let fan_in = t.shape().0 * I;
                            uniform_fan_in(t, fan_in)
                        },
                        (1, Const, Const),
                    )
                ),
                tensor_field!(bias, TensorOptions::reset_to_zeros()),
            ),
            |(weight, bias)| Conv1D { weight, bias },
        )
    }
}

impl<const I: usize, const O: usize, E, D, T> Module<Seq<I, E, D, T>> for Conv1D<I, O, E, D>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D> + Merge<T>,
{
    type Output = Seq<O, E, D, T>;
    type Error = D::Err;

    /// `[batch, frames, I]` -> `[batch, frames, O]`.
    fn try_forward(&self, x: Seq<I, E, D, T>) -> Result<Self::Output, D::Err> {
        let (b, l, _) = *x.shape();
        let dev = x.device().clone();
        let kernel = self.kernel();
        let left = (kernel - 1) / 2;
        let right = kernel - 1 - left;
        // Zero padding: [b, left + l + right, I].
        let zeros = |n: usize| {
            dev.try_zeros_like(&(b, n, Const::<I>))
                .map(|z| z.retaped::<T>())
        };
        let padded = (zeros(left)?, x).try_concat_along(Axis::<1>)?;
        let padded = (padded, zeros(right)?).try_concat_along(Axis::<1>)?;
        // Tap k of output frame t reads padded frame t + k:
        // y = sum_k padded[:, k..k+l, :] x W[k]   ([b, l, I] x [I, O] -> [b, l, O]).
        // This is im2col's single matmul split by tap, without materialising
        // the K-times larger [b, l, K*I] matrix.
        //
        // dfdx 0.13's slice backward *assigns* its gradient instead of adding
        // it, so a tensor sliced twice keeps only the last slice's gradient
        // (the finite-difference check in `gradcheck.rs` caught this). Each
        // tap therefore slices its own copy (`* 1`, whose backward adds).
        let (padded, tape) = padded.split_tape();
        // Each tap is one 2-D matmul over all frames of the batch,
        // [b * l, I] x [I, O]: dfdx runs a 3-D matmul as one small gemm per
        // example (and the weight gradient as b gemms with k = l), which
        // threads poorly; one tall gemm keeps both cores busy.
        let tap = |k: usize, t: T| -> Result<Batch<O, E, D, T>, D::Err> {
            // Disjoint slices of the weight, so the assigning backward is safe here.
            let w = self.weight.retaped::<T>().try_slice((k..k + 1, .., ..))?;
            let w = w.try_reshape_like(&(Const::<I>, Const::<O>))?;
            padded
                .clone()
                .put_tape(t)
                .try_mul(E::ONE)?
                .try_slice((.., k..k + l, ..))?
                .try_reshape_like(&(b * l, Const::<I>))?
                .try_matmul(w)
        };
        let mut y = tap(0, tape)?; // [b * l, O]
        for k in 1..kernel {
            y = y.try_add(tap(k, T::default())?)?;
        }
        let shape = *y.shape();
        y.try_add(self.bias.retaped::<T>().try_broadcast_like(&shape)?)?
            .try_reshape_like(&(b, l, Const::<O>)) // [b, l, O]
    }
}

/// Keras' Conv1D init: Glorot-uniform kernel (fans `kernel * I`,
/// `kernel * O`), zero bias.
impl<const I: usize, const O: usize, E: Dtype + Float, D: Device<E>> KerasInit
    for Conv1D<I, O, E, D>
{
    fn init_keras(&mut self, rng: &mut InitRng) {
        let k = self.kernel();
        self.weight
            .copy_from(&cast(rng.glorot(k * I * O, k * I, k * O)));
        self.bias.copy_from(&vec![E::zero(); O]);
    }
}

impl<const I: usize, const O: usize, E: Dtype + Float> Conv1D<I, O, E, Cpu>
where
    Cpu: Device<E>,
{
    /// `maxpool(relu(conv(x) + bias), pool)` as one operation on the tape:
    /// `[batch, frames, I]` -> `[batch, frames / pool, O]` (pool 1: no
    /// pooling). With `input_grad` unset, backward skips `dL/dx` (the
    /// first layer, whose input needs none).
    pub fn try_forward_block<T: Tape<E, Cpu>>(
        &self,
        x: Seq<I, E, Cpu, T>,
        pool: usize,
        input_grad: bool,
    ) -> Result<Seq<O, E, Cpu, T>, CpuError> {
        let x = x.try_contiguous()?;
        let (b, l, _) = *x.shape();
        let s = ConvShape {
            batch: b,
            frames: l,
            inputs: I,
            filters: O,
            kernel: self.kernel(),
            pool: pool.max(1),
        };
        let (x, mut tape) = x.split_tape();
        let w = values(&self.weight);
        let (y, saved) = conv::forward(&s, &values(&x), &w, &values(&self.bias), T::OWNS_TAPE);
        let out = x
            .device()
            .try_tensor_from_vec(y, (b, s.out_frames(), Const::<O>))?;
        if let Some(saved) = saved {
            let (out_id, x_id) = (out.clone(), x.clone());
            let (w_id, b_id) = (self.weight.clone(), self.bias.clone());
            tape.add_backward_op(move |grads| {
                let dy = take_grad(grads, &out_id)?;
                let mut dw = take_grad(grads, &w_id)?;
                let mut db = take_grad(grads, &b_id)?;
                let mut dx = if input_grad {
                    Some(take_grad(grads, &x_id)?)
                } else {
                    None
                };
                conv::backward(&s, &saved, &w, &dy, &mut dw, &mut db, dx.as_deref_mut());
                put_grad(grads, &w_id, dw)?;
                put_grad(grads, &b_id, db)?;
                if let Some(dx) = dx {
                    put_grad(grads, &x_id, dx)?;
                }
                Ok(())
            });
        }
        Ok(out.put_tape(tape))
    }
}
