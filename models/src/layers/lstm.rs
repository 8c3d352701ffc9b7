//! LSTM (Keras gate order: input, forget, cell, output). The fast path
//! is one tape op over [`crate::kernels::lstm`]; the reference path unrolls
//! dfdx ops over time.

use super::{put_grad, take_grad, tensor_field, uniform_fan_in, values, Batch, KerasInit, Seq};
use crate::init::{cast, InitRng};
use crate::kernels::lstm::{self as kernel, LstmShape};
use crate::kernels::Float;
use dfdx::prelude::*;

/// An LSTM layer with `I` inputs and `H` units.
#[derive(Debug, Clone)]
pub struct Lstm<const I: usize, const H: usize, E: Dtype, D: Storage<E>> {
    /// Input weights per gate (input, forget, cell, output): `[4, I, H]`.
    pub w_x: Tensor<Rank3<4, I, H>, E, D>,
    /// Recurrent weights per gate: `[4, H, H]`.
    pub w_h: Tensor<Rank3<4, H, H>, E, D>,
    /// Bias per gate: `[4, H]`; the forget gate's starts at 1 (Keras `unit_forget_bias`).
    pub bias: Tensor<Rank2<4, H>, E, D>,
}

impl<const I: usize, const H: usize, E, D> TensorCollection<E, D> for Lstm<I, H, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Lstm<I, H, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                tensor_field!(w_x, TensorOptions::reset_with(|t| uniform_fan_in(t, H))),
                tensor_field!(w_h, TensorOptions::reset_with(|t| uniform_fan_in(t, H))),
                tensor_field!(
                    bias,
                    TensorOptions::reset_with(|t| {
                        let v: Vec<E> = (0..4 * H)
                            .map(|i| if i / H == 1 { E::ONE } else { E::default() })
                            .collect();
                        t.copy_from(&v);
                        Ok(())
                    })
                ),
            ),
            |(w_x, w_h, bias)| Lstm { w_x, w_h, bias },
        )
    }
}

type Step<const C: usize, E, D, T> = Batch<C, E, D, T>;

/// Splits off a tensor's tape into `acc`, so the tensor can be reused
/// through empty-tape copies while its own backward ops run exactly once.
fn detach<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<T>>(
    t: Tensor<S, E, D, T>,
    acc: &mut Option<T>,
) -> Tensor<S, E, D, NoneTape> {
    let (t, tape) = t.split_tape();
    *acc = Some(match acc.take() {
        Some(a) => a.merge(tape),
        None => tape,
    });
    t
}

impl<const I: usize, const H: usize, E: Dtype, D: Device<E>> Lstm<I, H, E, D> {
    /// All hidden states: `[batch, frames, I]` -> `[batch, frames, H]`.
    pub fn try_forward_seq<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<I, E, D, T>,
    ) -> Result<Seq<H, E, D, T>, D::Err> {
        let (b, l, _) = *x.shape();
        let dev = x.device().clone();
        let mut acc: Option<T> = None;
        let x = detach(x, &mut acc);
        // Each gate's weights are sliced once (disjoint slices; dfdx 0.13's
        // slice backward assigns, so slicing the same region per step would
        // lose gradient) and reused through empty-tape copies.
        let mut wx = Vec::with_capacity(4);
        let mut wh = Vec::with_capacity(4);
        let mut bs = Vec::with_capacity(4);
        for g in 0..4 {
            let w = self
                .w_x
                .retaped::<T>()
                .try_slice((g..g + 1, .., ..))?
                .try_reshape_like(&(Const::<I>, Const::<H>))?;
            wx.push(detach(w, &mut acc));
            let w = self
                .w_h
                .retaped::<T>()
                .try_slice((g..g + 1, .., ..))?
                .try_reshape_like(&(Const::<H>, Const::<H>))?;
            wh.push(detach(w, &mut acc));
            let bias = self
                .bias
                .retaped::<T>()
                .try_slice((g..g + 1, ..))?
                .try_reshape_like(&(Const::<H>,))?;
            bs.push(detach(bias, &mut acc));
        }
        let mut h: Step<H, E, D, NoneTape> = dev.try_zeros_like(&(b, Const::<H>))?;
        let mut c: Step<H, E, D, NoneTape> = dev.try_zeros_like(&(b, Const::<H>))?;
        let mut outs: Vec<Step<H, E, D, NoneTape>> = Vec::with_capacity(l);
        for t in 0..l {
            let xt = x
                .retaped::<T>()
                .try_slice((.., t..t + 1, ..))?
                .try_reshape_like(&(b, Const::<I>))?;
            let xt = detach(xt, &mut acc);
            let gate = |g: usize| -> Result<Step<H, E, D, T>, D::Err> {
                let a = xt.retaped::<T>().try_matmul(wx[g].retaped::<T>())?;
                let r = h.retaped::<T>().try_matmul(wh[g].retaped::<T>())?;
                (a + r).try_add(bs[g].retaped::<T>().try_broadcast_like(&(b, Const::<H>))?)
            };
            let i = gate(0)?.try_sigmoid()?;
            let f = gate(1)?.try_sigmoid()?;
            let g = gate(2)?.try_tanh()?;
            let o = gate(3)?.try_sigmoid()?;
            let c_new = f.try_mul(c.retaped::<T>())?.try_add(i.try_mul(g)?)?;
            c = detach(c_new, &mut acc);
            let h_new = o.try_mul(c.retaped::<T>().try_tanh()?)?;
            h = detach(h_new, &mut acc);
            outs.push(h.clone());
        }
        // One stack of the states, [l, b, H] -> [b, l, H]. (Concatenating
        // step by step would copy the growing prefix: quadratic in frames.)
        let seq: Seq<H, E, D, T> = if outs.is_empty() {
            dev.try_zeros_like(&(b, 0usize, Const::<H>))?.retaped::<T>()
        } else {
            let steps: Vec<Step<H, E, D, T>> = outs.iter().map(|s| s.retaped::<T>()).collect();
            steps
                .try_stack()?
                .try_permute::<(usize, usize, Const<H>), Axes3<1, 0, 2>>()?
        };
        let (seq, tape) = seq.split_tape();
        Ok(seq.put_tape(match acc {
            Some(a) => tape.merge(a),
            None => tape,
        }))
    }

    /// The last hidden state: `[batch, frames, I]` -> `[batch, H]`.
    pub fn try_forward_last<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<I, E, D, T>,
    ) -> Result<Step<H, E, D, T>, D::Err> {
        let seq = self.try_forward_seq(x)?;
        let (b, l, _) = *seq.shape();
        seq.try_slice((.., l.saturating_sub(1)..l, ..))?
            .try_reshape_like(&(b, Const::<H>))
    }
}

/// `[4, A, H]` (gate, row, unit) -> `[A, 4H]` (row, gate-major units).
fn gates_side_by_side<E: Copy>(w: &[E], rows: usize, h: usize) -> Vec<E> {
    let mut out = Vec::with_capacity(w.len());
    for r in 0..rows {
        for g in 0..4 {
            out.extend_from_slice(&w[(g * rows + r) * h..(g * rows + r + 1) * h]);
        }
    }
    out
}

/// `[A, 4H]` -> `[4, A, H]`, the inverse of [`gates_side_by_side`].
fn gates_apart<E: Copy + Default>(w: &[E], rows: usize, h: usize) -> Vec<E> {
    let mut out = vec![E::default(); w.len()];
    for r in 0..rows {
        for g in 0..4 {
            out[(g * rows + r) * h..(g * rows + r + 1) * h]
                .copy_from_slice(&w[(r * 4 + g) * h..(r * 4 + g + 1) * h]);
        }
    }
    out
}

/// Keras' LSTM init: Glorot-uniform input kernel over `[I, 4H]`,
/// orthogonal recurrent kernel `[H, 4H]` (orthonormal rows), zero bias but
/// 1 for the forget gate.
impl<const I: usize, const H: usize, E: Dtype + Float, D: Device<E>> KerasInit
    for Lstm<I, H, E, D>
{
    fn init_keras(&mut self, rng: &mut InitRng) {
        let wx = cast::<E>(rng.glorot(I * 4 * H, I, 4 * H));
        self.w_x.copy_from(&gates_apart(&wx, I, H));
        let wh = cast::<E>(rng.orthogonal(H, 4 * H));
        self.w_h.copy_from(&gates_apart(&wh, H, H));
        let bias: Vec<E> = (0..4 * H)
            .map(|k| if k / H == 1 { E::one() } else { E::zero() })
            .collect();
        self.bias.copy_from(&bias);
    }
}

/// Adds a `[A, 4H]` gradient into a `[4, A, H]` one.
fn add_gates_back<E: Float>(acc: &mut [E], d: &[E], rows: usize, h: usize) {
    for r in 0..rows {
        for g in 0..4 {
            let src = &d[(r * 4 + g) * h..(r * 4 + g + 1) * h];
            let dst = &mut acc[(g * rows + r) * h..(g * rows + r + 1) * h];
            for (a, v) in dst.iter_mut().zip(src) {
                *a = *a + *v;
            }
        }
    }
}

impl<const I: usize, const H: usize, E: Dtype + Float> Lstm<I, H, E, Cpu>
where
    Cpu: Device<E>,
{
    /// All hidden states, `[batch, frames, I]` -> `[batch, frames, H]`, as
    /// one operation on the tape (the same values as
    /// [`Lstm::try_forward_seq`], computed by [`crate::kernels::lstm`]).
    pub fn try_forward_seq_fast<T: Tape<E, Cpu>>(
        &self,
        x: Seq<I, E, Cpu, T>,
    ) -> Result<Seq<H, E, Cpu, T>, CpuError> {
        let x = x.try_contiguous()?;
        let (b, l, _) = *x.shape();
        let s = LstmShape {
            batch: b,
            frames: l,
            inputs: I,
            units: H,
        };
        let (x, mut tape) = x.split_tape();
        let wx = gates_side_by_side(&values(&self.w_x), I, H);
        let wh = gates_side_by_side(&values(&self.w_h), H, H);
        let (y, saved) =
            kernel::forward(&s, &values(&x), &wx, &wh, &values(&self.bias), T::OWNS_TAPE);
        let out = x.device().try_tensor_from_vec(y, (b, l, Const::<H>))?;
        if let Some(saved) = saved {
            let (out_id, x_id) = (out.clone(), x.clone());
            let (wx_id, wh_id, b_id) = (self.w_x.clone(), self.w_h.clone(), self.bias.clone());
            tape.add_backward_op(move |grads| {
                let dy = take_grad(grads, &out_id)?;
                let mut dx = take_grad(grads, &x_id)?;
                let (mut dwx, mut dwh) = (vec![E::zero(); wx.len()], vec![E::zero(); wh.len()]);
                // The bias is [4, H], already gate-major: accumulate in place.
                let mut db = take_grad(grads, &b_id)?;
                kernel::backward(
                    &s,
                    &saved,
                    &wx,
                    &wh,
                    &dy,
                    &mut dwx,
                    &mut dwh,
                    &mut db,
                    Some(&mut dx),
                );
                put_grad(grads, &x_id, dx)?;
                put_grad(grads, &b_id, db)?;
                let mut acc = take_grad(grads, &wx_id)?;
                add_gates_back(&mut acc, &dwx, I, H);
                put_grad(grads, &wx_id, acc)?;
                let mut acc = take_grad(grads, &wh_id)?;
                add_gates_back(&mut acc, &dwh, H, H);
                put_grad(grads, &wh_id, acc)
            });
        }
        Ok(out.put_tape(tape))
    }

    /// The state at each example's last real frame (`lengths[e] - 1`, or
    /// the last frame when `lengths` is `None`): `[batch, frames, I]` ->
    /// `[batch, H]`, fast path.
    pub fn try_forward_last_fast<T: Tape<E, Cpu>>(
        &self,
        x: Seq<I, E, Cpu, T>,
        lengths: Option<&[usize]>,
    ) -> Result<Batch<H, E, Cpu, T>, CpuError> {
        last_frames(self.try_forward_seq_fast(x)?, lengths)
    }
}

/// Row `lengths[e] - 1` of each example of `x` (clamped to `1..=frames`;
/// the last frame when `lengths` is `None`): `[batch, frames, C]` ->
/// `[batch, C]`, one op on the tape. Reading a padded sequence's state at
/// its last real frame makes the padding after it irrelevant.
pub fn last_frames<const C: usize, E: Dtype + Float, T: Tape<E, Cpu>>(
    x: Seq<C, E, Cpu, T>,
    lengths: Option<&[usize]>,
) -> Result<Batch<C, E, Cpu, T>, CpuError>
where
    Cpu: Device<E>,
{
    let x = x.try_contiguous()?;
    let (b, l, _) = *x.shape();
    let rows: Vec<usize> = (0..b)
        .map(|e| {
            let n = lengths.and_then(|v| v.get(e).copied()).unwrap_or(l);
            e * l + n.clamp(1, l.max(1)) - 1
        })
        .collect();
    let (x, mut tape) = x.split_tape();
    let xv = values(&x);
    let mut y = Vec::with_capacity(b * C);
    if l > 0 {
        for &r in &rows {
            y.extend_from_slice(&xv[r * C..(r + 1) * C]);
        }
    } else {
        y.resize(b * C, E::zero());
    }
    let out = x.device().try_tensor_from_vec(y, (b, Const::<C>))?;
    if T::OWNS_TAPE && l > 0 {
        let (out_id, x_id) = (out.clone(), x.clone());
        tape.add_backward_op(move |grads| {
            let dy = take_grad(grads, &out_id)?;
            let mut dx = take_grad(grads, &x_id)?;
            for (e, &r) in rows.iter().enumerate() {
                for (a, v) in dx[r * C..(r + 1) * C]
                    .iter_mut()
                    .zip(&dy[e * C..(e + 1) * C])
                {
                    *a += *v;
                }
            }
            put_grad(grads, &x_id, dx)
        });
    }
    Ok(out.put_tape(tape))
}
