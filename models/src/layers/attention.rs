//! Attentive statistics pooling (Okabe et al., 2018) with its width at run
//! time: each frame gets a score `v · tanh(W h_t + b)`, a softmax over the
//! frames turns the scores into weights `a_t`, and the output is the
//! weighted mean and standard deviation, `[b, l, C]` -> `[b, 2C]`:
//! `mean = Σ a_t h_t`, `std = sqrt(Σ a_t (h_t - mean)^2 + STATS_EPSILON)`.
//!
//! Frames the network scores low (a pause filled by someone else's voice,
//! a room's tail) count less than in [`stats_pool`], where every frame
//! counts the same. With a hidden width of 0 the layer has no weights and
//! *is* [`stats_pool`]: its tensors hold no elements, which weight files
//! neither write nor ask for ([`crate::weights`]), so models saved before
//! it load unchanged.

use dfdx::prelude::*;

use super::{
    runtime_options, stats_pool, tensor_field, uniform_fan_in, KerasInit, Logits, Seq,
    STATS_EPSILON,
};
use crate::init::{cast, InitRng};

/// Frame scores and the weighted statistics of `C` channels.
#[derive(Debug, Clone)]
pub struct FrameAttention<const C: usize, E: Dtype, D: Storage<E>> {
    /// `[hidden, C]`.
    pub weight: Tensor<(usize, Const<C>), E, D>,
    /// `[hidden]`.
    pub bias: Tensor<(usize,), E, D>,
    /// `[hidden]`: the score of a frame is this times its hidden units.
    /// (A bias of the score would add the same to every frame, which the
    /// softmax ignores.)
    pub score: Tensor<(usize,), E, D>,
}

impl<const C: usize, E, D> FrameAttention<C, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    /// `hidden` units (0: plain statistics pooling, no weights), drawn
    /// `U(±1/sqrt(fan_in))` from the device's generator.
    pub fn new(dev: &D, hidden: usize) -> Result<Self, D::Err> {
        let mut weight = dev.try_zeros_like(&(hidden, Const::<C>))?;
        uniform_fan_in(&mut weight, C)?;
        let mut bias = dev.try_zeros_like(&(hidden,))?;
        uniform_fan_in(&mut bias, C)?;
        let mut score = dev.try_zeros_like(&(hidden,))?;
        uniform_fan_in(&mut score, hidden.max(1))?;
        Ok(FrameAttention {
            weight,
            bias,
            score,
        })
    }
}

impl<const C: usize, E: Dtype, D: Device<E>> FrameAttention<C, E, D> {
    /// Hidden units (0: statistics pooling).
    pub fn hidden(&self) -> usize {
        self.weight.shape().0
    }

    /// Weighted mean and standard deviation over frames: `[b, l, C]` ->
    /// `[b, 2C]`.
    pub fn try_pool<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<C, E, D, T>,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let h = self.hidden();
        if h == 0 {
            return stats_pool(x);
        }
        let shape = *x.shape();
        let (b, l, _) = shape;
        let flat = x.retaped::<T>().try_reshape_like(&(b * l, Const::<C>))?; // [b l, C]
        let units = flat
            .try_matmul(self.weight.retaped::<T>().try_permute::<_, Axes2<1, 0>>()?)?
            .try_add(
                self.bias
                    .retaped::<T>()
                    .try_broadcast_like::<_, Axis<0>>(&(b * l, h))?,
            )?
            .try_tanh()?; // [b l, hidden]
        let v = self.score.retaped::<T>().try_reshape_like(&(h, 1usize))?; // [hidden, 1]
        let w = units
            .try_matmul(v)?
            .try_reshape_like(&(b, l))?
            .try_softmax::<Axis<1>>()?
            .try_broadcast_like::<_, Axis<2>>(&shape)?; // [b, l, C]
        let mean = x
            .retaped::<T>()
            .try_mul(w.retaped::<T>())?
            .try_sum::<(usize, Const<C>), Axis<1>>()?; // [b, C]
        let centred = x.try_sub(
            mean.retaped::<T>()
                .try_broadcast_like::<_, Axis<1>>(&shape)?,
        )?;
        let std = centred
            .try_square()?
            .try_mul(w)?
            .try_sum::<(usize, Const<C>), Axis<1>>()?
            .try_add(E::from_f64(STATS_EPSILON).unwrap_or_default())?
            .try_sqrt()?; // [b, C]
        let mean = mean.try_reshape_like(&(b, C))?;
        let std = std.try_reshape_like(&(b, C))?;
        (mean, std).try_concat_along(Axis::<1>)
    }
}

/// Keras-style: Glorot-uniform hidden and score weights, zero bias.
impl<const C: usize, E: Dtype + num_traits::Float, D: Device<E>> KerasInit
    for FrameAttention<C, E, D>
{
    fn init_keras(&mut self, rng: &mut InitRng) {
        let h = self.hidden();
        if h == 0 {
            return;
        }
        self.weight.copy_from(&cast(rng.glorot(h * C, C, h)));
        self.bias.copy_from(&vec![E::zero(); h]);
        self.score.copy_from(&cast(rng.glorot(h, h, 1)));
    }
}

// Built by [`FrameAttention::new`] (the width is a run-time value).
impl<const C: usize, E, D> TensorCollection<E, D> for FrameAttention<C, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = FrameAttention<C, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                tensor_field!(
                    weight,
                    runtime_options(|t| uniform_fan_in(t, C), (1, Const))
                ),
                tensor_field!(bias, runtime_options(|t| uniform_fan_in(t, C), (1,))),
                tensor_field!(
                    score,
                    runtime_options(
                        |t| {
                            let hidden = t.shape().0.max(1);
                            uniform_fan_in(t, hidden)
                        },
                        (1,),
                    )
                ),
            ),
            |(weight, bias, score)| FrameAttention {
                weight,
                bias,
                score,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{assert_close, numeric_grad, Dev, Seq};
    use super::*;

    type Att = FrameAttention<3, f64, Dev>;

    fn loss(att: &Att, x: &Seq<3, NoneTape>, r: &Tensor<(usize, usize), f64, Dev>) -> f64 {
        (att.try_pool(x.clone()).unwrap() * r.clone())
            .sum::<(), _>()
            .array()
    }

    #[test]
    fn flat_scores_and_no_width_are_statistics_pooling() {
        let dev = Dev::seed_from_u64(12);
        let x: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 5, Const::<3>));
        let plain = stats_pool(x.clone()).unwrap().as_vec();
        let none = Att::new(&dev, 0).unwrap();
        assert_eq!(none.num_trainable_params(), 0);
        assert_eq!(none.try_pool(x.clone()).unwrap().as_vec(), plain);
        let mut flat = Att::new(&dev, 4).unwrap();
        assert_eq!(flat.num_trainable_params(), 4 * 3 + 4 + 4);
        flat.score.copy_from(&[0.0; 4]);
        let y = flat.try_pool(x.clone()).unwrap();
        assert_eq!(*y.shape(), (2, 6));
        assert_close(&y.as_vec(), &plain, "equal weights vs stats pool");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let dev = Dev::seed_from_u64(13);
        let x: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 5, Const::<3>));
        let r: Tensor<(usize, usize), f64, Dev> = dev.sample_normal_like(&(2, 6));
        let att = Att::new(&dev, 4).unwrap();
        let y = att.try_pool(x.clone().leaky_trace()).unwrap();
        let g = (y * r.clone()).sum::<(), _>().backward();
        assert_close(
            &g.get(&x).as_vec(),
            &numeric_grad(&x, |x| loss(&att, x, &r)),
            "dx",
        );
        let with = |f: &dyn Fn(&mut Att)| {
            let mut a = att.clone();
            f(&mut a);
            a
        };
        let gw = numeric_grad(&att.weight, |w| {
            loss(&with(&|a| a.weight = w.clone()), &x, &r)
        });
        assert_close(&g.get(&att.weight).as_vec(), &gw, "d weight");
        let gb = numeric_grad(&att.bias, |b| loss(&with(&|a| a.bias = b.clone()), &x, &r));
        assert_close(&g.get(&att.bias).as_vec(), &gb, "d bias");
        let gs = numeric_grad(&att.score, |s| {
            loss(&with(&|a| a.score = s.clone()), &x, &r)
        });
        assert_close(&g.get(&att.score).as_vec(), &gs, "d score");
    }

    #[test]
    fn a_frame_scored_higher_weighs_more() {
        // One channel, hidden unit = the channel itself, score 5: the
        // frame with the larger value dominates the mean.
        let dev = Dev::seed_from_u64(1);
        let mut att = FrameAttention::<1, f64, Dev>::new(&dev, 1).unwrap();
        att.weight.copy_from(&[1.0]);
        att.bias.copy_from(&[0.0]);
        att.score.copy_from(&[5.0]);
        let x: Tensor<(usize, usize, Const<1>), f64, Dev> = dev.zeros_like(&(1, 2, Const));
        let mut x = x;
        x.copy_from(&[0.0, 1.0]);
        let mean = att.try_pool(x).unwrap().as_vec()[0];
        let a1 = (5.0 * 1f64.tanh()).exp() / (1.0 + (5.0 * 1f64.tanh()).exp());
        assert!((mean - a1).abs() < 1e-12, "{mean} vs {a1}");
        assert!(mean > 0.9);
    }
}
