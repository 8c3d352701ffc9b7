//! Layers dfdx 0.13 lacks on stable Rust: [`Conv1D`] (kernel width at
//! run time), [`Dense`] (output width at run time: the classifier head),
//! [`max_pool1d`], [`global_avg_pool1d`], [`FrameAttention`] (attentive
//! statistics pooling, width at run time) and [`Lstm`] (four gates, all
//! states or the last). Sequences are `[batch, frames, channels]`
//! throughout.
//!
//! Each layer has two forward paths over the same parameters:
//! - the **fast** one the models use: a single operation on dfdx's tape
//!   that runs a hand-written kernel ([`crate::kernels`]) and records its
//!   own backward closure (`Conv1D::try_forward_block`: conv + bias + ReLU
//!   + max-pool fused; `Lstm::try_forward_seq_fast`; [`last_frames`]);
//! - the **reference** one built from dfdx tensor ops, so autodiff covers
//!   it (`Module::try_forward`, `Lstm::try_forward_seq`): the tests check
//!   every fast op against it and against finite differences in f64.

use dfdx::prelude::{
    Const, Cpu, CpuError, Device, Dtype, Gradients, HasErr, HasShape, Shape, Tensor,
};
use rand_distr::Uniform;

/// A batch of sequences: `[batch, frames, C]` (batch and frames at run time).
pub type Seq<const C: usize, E, D, T> = Tensor<(usize, usize, Const<C>), E, D, T>;
/// A batch of vectors: `[batch, C]`.
pub type Batch<const C: usize, E, D, T> = Tensor<(usize, Const<C>), E, D, T>;

/// How dfdx redraws a tensor (`TensorOptions::reset`).
pub(crate) type Reset<S, E, D> = fn(&mut Tensor<S, E, D>) -> Result<(), <D as HasErr>::Err>;

/// dfdx's options for a tensor whose shape is known only at run time.
///
/// dfdx 0.13 visits a module's tensors through `TensorOptions`, which it
/// makes only for shapes known at compile time (the struct is
/// `#[non_exhaustive]`, its three fields public). Our run-time layers
/// ([`Conv1D`]'s kernel, [`Dense`]'s outputs) need the same options for a
/// shape like `(usize, Const<I>)`: this writes the three fields in place.
/// The shape is only read by dfdx's `build`, which these layers don't use.
pub(crate) fn runtime_options<S: Shape, E: Dtype, D: Device<E>>(
    reset: Reset<S, E, D>,
    shape: S,
) -> dfdx::nn::tensor_collection::TensorOptions<S, E, D> {
    use dfdx::nn::tensor_collection::TensorOptions;
    use std::mem::MaybeUninit;
    use std::ptr::addr_of_mut;
    let mut o = MaybeUninit::<TensorOptions<S, E, D>>::uninit();
    let p = o.as_mut_ptr();
    // SAFETY: every field of the struct is written before `assume_init`:
    // dfdx is pinned to =0.13.0, whose `TensorOptions` has exactly these
    // three fields (the assertion below fails the build if its size ever
    // differs from theirs).
    unsafe {
        addr_of_mut!((*p).do_gradient_update).write(true);
        addr_of_mut!((*p).reset).write(reset);
        addr_of_mut!((*p).shape).write(shape);
        o.assume_init()
    }
}

// `TensorOptions` holds exactly its three known fields.
const _: () = assert!(
    std::mem::size_of::<dfdx::nn::tensor_collection::TensorOptions<(usize, usize), f32, Cpu>>()
        == std::mem::size_of::<(bool, Reset<(usize, usize), f32, Cpu>, (usize, usize))>()
);

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

mod attention;
mod batchnorm;
mod conv1d;
mod dense;
mod lstm;
mod pool;

pub use attention::FrameAttention;
pub use batchnorm::{batchnorm_eval, batchnorm_train, BN_EPSILON};
pub use conv1d::{Conv1D, Filters};
pub use dense::{Dense, Logits};
pub use lstm::{last_frames, Lstm};
pub use pool::{global_avg_pool1d, max_pool1d, stats_pool, STATS_EPSILON};

/// A layer or model as Keras would initialise it: its weights drawn from
/// `rng`, field after field ([`crate::init`]); a model's impl comes from
/// `collection!`, in its field order.
pub trait KerasInit {
    /// Draws every weight again.
    fn init_keras(&mut self, rng: &mut crate::init::InitRng);
}

/// Keras' Dense init: Glorot-uniform kernel, zero bias.
impl<const I: usize, const O: usize, E: Dtype + num_traits::Float, D: Device<E>> KerasInit
    for dfdx::nn::modules::Linear<I, O, E, D>
{
    fn init_keras(&mut self, rng: &mut crate::init::InitRng) {
        self.weight
            .copy_from(&crate::init::cast(rng.glorot(O * I, I, O)));
        self.bias.copy_from(&vec![E::zero(); O]);
    }
}

/// Batch norm starts as Keras starts it: scale 1, shift 0 (as built).
impl<const C: usize, E: Dtype, D: Device<E>> KerasInit for dfdx::nn::modules::BatchNorm1D<C, E, D> {
    fn init_keras(&mut self, _: &mut crate::init::InitRng) {}
}

#[cfg(test)]
mod fastcheck;
#[cfg(test)]
pub(crate) mod gradcheck;

/// One tensor field of a layer for dfdx's visitor, saved under the
/// field's name: `tensor_field!(weight, options)` in a
/// `TensorCollection::iter_tensors` of a struct with a field `weight`.
macro_rules! tensor_field {
    ($field:ident, $options:expr $(,)?) => {
        Self::tensor(
            stringify!($field),
            |s| &s.$field,
            |s| &mut s.$field,
            $options,
        )
    };
}
pub(crate) use tensor_field;

/// Implements dfdx's `TensorCollection` and [`KerasInit`] for a model
/// `Name<E, D>` from its field list, written once: layers in groups of at
/// most six (dfdx visits tuples up to six), then `;` and plain settings
/// with their defaults (`dropout = 0.2`), which dfdx visits as scalars.
/// Weights are saved under the layer names (`conv1.weight`); Keras' init
/// draws them in the order listed.
macro_rules! collection {
    ($name:ident { $([$($m:ident),+ $(,)?]),+ $(; $($s:ident = $d:expr),+ $(,)?)? }) => {
        impl<E, D> dfdx::prelude::TensorCollection<E, D> for $name<E, D>
        where
            E: dfdx::prelude::Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
            D: dfdx::prelude::Device<E>,
        {
            type To<E2: dfdx::prelude::Dtype, D2: dfdx::prelude::Device<E2>> = $name<E2, D2>;

            fn iter_tensors<V: dfdx::prelude::ModuleVisitor<Self, E, D>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields(
                    (
                        $( ( $( Self::module(stringify!($m), |s| &s.$m, |s| &mut s.$m), )+ ), )+
                        $( ( $( Self::scalar(
                            stringify!($s),
                            |s| &s.$s,
                            |s| &mut s.$s,
                            dfdx::nn::tensor_collection::ScalarOptions::from_default($d),
                        ), )+ ), )?
                    ),
                    |( $( ( $($m,)+ ), )+ $( ( $($s,)+ ), )? )| $name {
                        $($($m,)+)+
                        $($($s,)+)?
                    },
                )
            }
        }

        impl<E, D> $crate::layers::KerasInit for $name<E, D>
        where
            E: dfdx::prelude::Dtype + $crate::kernels::Float,
            D: dfdx::prelude::Device<E>,
        {
            fn init_keras(&mut self, rng: &mut $crate::init::InitRng) {
                $($( $crate::layers::KerasInit::init_keras(&mut self.$m, rng); )+)+
            }
        }
    };
}
pub(crate) use collection;
