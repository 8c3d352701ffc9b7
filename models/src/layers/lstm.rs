//! LSTM (Keras gate order: input, forget, cell, output), unrolled over time.

use super::{uniform_fan_in, Batch, Seq};
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
                Self::tensor(
                    "w_x",
                    |s| &s.w_x,
                    |s| &mut s.w_x,
                    TensorOptions::reset_with(|t| uniform_fan_in(t, H)),
                ),
                Self::tensor(
                    "w_h",
                    |s| &s.w_h,
                    |s| &mut s.w_h,
                    TensorOptions::reset_with(|t| uniform_fan_in(t, H)),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_with(|t| {
                        let v: Vec<E> = (0..4 * H)
                            .map(|i| if i / H == 1 { E::ONE } else { E::default() })
                            .collect();
                        t.copy_from(&v);
                        Ok(())
                    }),
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
