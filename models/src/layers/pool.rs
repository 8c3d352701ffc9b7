//! Pooling over frames: max, average, and statistics (mean and standard
//! deviation, as x-vectors).

use dfdx::prelude::*;

use super::{Batch, Seq};

/// Added to the variance before the square root in [`stats_pool`] (an
/// exporter of the network needs the same number).
pub const STATS_EPSILON: f64 = 1e-5;

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

/// Mean and standard deviation over frames: `[b, l, C]` -> `[b, 2C]`
/// (`std = sqrt(mean((x - mean)^2) + STATS_EPSILON)`).
pub fn stats_pool<const C: usize, E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<T>>(
    x: Seq<C, E, D, T>,
) -> Result<super::Logits<E, D, T>, D::Err> {
    let shape = *x.shape();
    let mean = x.retaped::<T>().try_mean::<(usize, Const<C>), Axis<1>>()?; // [b, C]
    let centered = x.try_sub(
        mean.retaped::<T>()
            .try_broadcast_like::<_, Axis<1>>(&shape)?,
    )?;
    let std = centered
        .try_square()?
        .try_mean::<(usize, Const<C>), Axis<1>>()?
        .try_add(E::from_f64(STATS_EPSILON).unwrap_or_default())?
        .try_sqrt()?; // [b, C]
    let b = shape.0;
    let mean = mean.try_reshape_like(&(b, C))?;
    let std = std.try_reshape_like(&(b, C))?;
    (mean, std).try_concat_along(Axis::<1>)
}
