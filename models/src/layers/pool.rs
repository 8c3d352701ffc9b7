//! Pooling over frames.

use dfdx::prelude::*;

use super::{Batch, Seq};

/// `MaxPooling1D(size)`, Keras "valid": `[b, l, c]` -> `[b, l / size, c]`
/// (trailing frames that do not fill a window are dropped).
pub fn max_pool1d<const C: usize, E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Seq<C, E, D, T>,
    size: usize,
) -> Result<Seq<C, E, D, T>, D::Err> {
    let (b, l, _) = *x.shape();
    let out = l / size.max(1);
    let x = x.try_slice((.., 0..out * size, ..))?;
    let x = x.try_reshape_like(&(b, out, size, Const::<C>))?;
    x.try_max::<(usize, usize, Const<C>), Axis<2>>()
}

/// `GlobalAveragePooling1D`: `[b, l, c]` -> `[b, c]`.
pub fn global_avg_pool1d<const C: usize, E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Seq<C, E, D, T>,
) -> Result<Batch<C, E, D, T>, D::Err> {
    x.try_mean::<(usize, Const<C>), Axis<1>>()
}
