//! A dense layer whose output width is chosen at run time: the classifier
//! head of every model, so one compiled model serves any label set. Its
//! weights, draws and arithmetic are those of dfdx's `Linear<I, O>`
//! (weight `[O, I]`, `x · Wᵀ + b`), so runs saved before it load unchanged.

use dfdx::prelude::*;

use super::{runtime_options, tensor_field, uniform_fan_in, Batch, KerasInit};
use crate::init::{cast, InitRng};

/// Logits: `[batch, classes]`, both at run time.
pub type Logits<E, D, T> = Tensor<(usize, usize), E, D, T>;

/// `I` inputs to a run-time number of outputs.
#[derive(Debug, Clone)]
pub struct Dense<const I: usize, E: Dtype, D: Storage<E>> {
    /// `[outputs, I]`.
    pub weight: Tensor<(usize, Const<I>), E, D>,
    /// `[outputs]`.
    pub bias: Tensor<(usize,), E, D>,
}

impl<const I: usize, E, D> Dense<I, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    /// `outputs` units drawn as dfdx's `Linear` draws them:
    /// `U(±1/sqrt(I))`, weight then bias, from the device's generator.
    pub fn new(dev: &D, outputs: usize) -> Result<Self, D::Err> {
        let mut weight = dev.try_zeros_like(&(outputs, Const::<I>))?;
        uniform_fan_in(&mut weight, I)?;
        let mut bias = dev.try_zeros_like(&(outputs,))?;
        uniform_fan_in(&mut bias, I)?;
        Ok(Dense { weight, bias })
    }
}

impl<const I: usize, E: Dtype, D: Device<E>> Dense<I, E, D> {
    /// Output units.
    pub fn outputs(&self) -> usize {
        self.weight.shape().0
    }

    /// `[batch, I]` -> `[batch, outputs]`.
    pub fn try_forward<T: Tape<E, D>>(
        &self,
        x: Batch<I, E, D, T>,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let y = x.try_matmul(self.weight.retaped::<T>().try_permute::<_, Axes2<1, 0>>()?)?;
        let shape = *y.shape();
        y.try_add(
            self.bias
                .retaped::<T>()
                .try_broadcast_like::<_, Axis<0>>(&shape)?,
        )
    }
}

/// Keras' Dense init: Glorot-uniform kernel, zero bias.
impl<const I: usize, E: Dtype + num_traits::Float, D: Device<E>> KerasInit for Dense<I, E, D> {
    fn init_keras(&mut self, rng: &mut InitRng) {
        let o = self.outputs();
        self.weight.copy_from(&cast(rng.glorot(o * I, I, o)));
        self.bias.copy_from(&vec![E::zero(); o]);
    }
}

// Built by [`Dense::new`] (the width is a run-time value, which dfdx's
// `build` cannot make); the visit serves optimisers, gradients and counts.
impl<const I: usize, E, D> TensorCollection<E, D> for Dense<I, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Dense<I, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                tensor_field!(
                    weight,
                    runtime_options(|t| uniform_fan_in(t, I), (1, Const))
                ),
                tensor_field!(bias, runtime_options(|t| uniform_fan_in(t, I), (1,))),
            ),
            |(weight, bias)| Dense { weight, bias },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::nn::modules::Linear;

    #[test]
    fn draws_and_computes_what_dfdx_linear_does() {
        let a = Cpu::seed_from_u64(11);
        let b = Cpu::seed_from_u64(11);
        let linear = Linear::<6, 4, f32, Cpu>::build(&a);
        let dense = Dense::<6, f32, Cpu>::new(&b, 4).unwrap();
        assert_eq!(linear.weight.as_vec(), dense.weight.as_vec());
        assert_eq!(linear.bias.as_vec(), dense.bias.as_vec());
        // The generators are in the same state afterwards (dropout draws).
        let (x, y): (Tensor<Rank1<3>, f32, Cpu>, Tensor<Rank1<3>, f32, Cpu>) =
            (a.sample_normal(), b.sample_normal());
        assert_eq!(x.as_vec(), y.as_vec());
        let input: Tensor<(usize, Const<6>), f32, Cpu> = a.sample_normal_like(&(5, Const));
        let want = linear.forward(input.clone()).as_vec();
        assert_eq!(dense.try_forward(input).unwrap().as_vec(), want);
        let mut rng = (InitRng::new(3), InitRng::new(3));
        let mut keras = linear.clone();
        keras.init_keras(&mut rng.0);
        let mut ours = dense.clone();
        ours.init_keras(&mut rng.1);
        assert_eq!(keras.weight.as_vec(), ours.weight.as_vec());
        assert_eq!(ours.outputs(), 4);
        assert_eq!(ours.num_trainable_params(), 6 * 4 + 4);
    }
}
