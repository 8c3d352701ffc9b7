//! Batch normalisation of channels-last sequences `[batch, frames, C]`:
//! statistics over the batch and the frames of each channel. The
//! parameters are dfdx's `BatchNorm1D` (scale, bias, running mean and
//! variance as non-trained buffers, momentum 0.1, epsilon 1e-5); the
//! forward passes are ours because dfdx's expect `[batch, C, frames]`
//! and give inference only without a tape.

use dfdx::nn::modules::BatchNorm1D;
use dfdx::prelude::*;

use super::Seq;

/// The epsilon of every batch-norm layer: dfdx 0.13's `BatchNorm1D`
/// default, which the models keep (it is not saved with the weights, so a
/// loaded model has it too). An exporter of a network needs the same number.
pub const BN_EPSILON: f64 = 1e-5;

/// Training: normalise with the batch's statistics and move the running
/// ones towards them (unbiased variance, as PyTorch and dfdx).
pub fn batchnorm_train<const C: usize, E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<T>>(
    bn: &mut BatchNorm1D<C, E, D>,
    x: Seq<C, E, D, T>,
) -> Result<Seq<C, E, D, T>, D::Err> {
    let shape = *x.shape();
    let n = (shape.0 * shape.1) as f64;
    let mean = x.retaped::<T>().try_mean::<Rank1<C>, Axes2<0, 1>>()?; // [C]
    bn.running_mean
        .try_axpy(1.0 - bn.momentum, &mean, bn.momentum)?;
    let centered = x.try_sub(mean.try_broadcast_like(&shape)?)?;
    let var = centered
        .retaped::<T>()
        .try_square()?
        .try_mean::<Rank1<C>, Axes2<0, 1>>()?; // [C]
    let unbiased = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
    bn.running_var
        .try_axpy(1.0 - bn.momentum, &var, bn.momentum * unbiased)?;
    scale_and_shift(bn, centered, var)
}

/// Inference: normalise with the running statistics.
pub fn batchnorm_eval<const C: usize, E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<T>>(
    bn: &BatchNorm1D<C, E, D>,
    x: Seq<C, E, D, T>,
) -> Result<Seq<C, E, D, T>, D::Err> {
    let mean = bn.running_mean.clone().try_broadcast_like(x.shape())?;
    scale_and_shift(bn, x.try_sub(mean)?, bn.running_var.clone())
}

/// The part both modes share: `centered / sqrt(var + epsilon) * scale +
/// bias`, per channel. `centered` is `x - mean`; `var` is `[C]`, on the
/// tape in training and a constant in inference.
fn scale_and_shift<const C: usize, E: Dtype, D: Device<E>, T, S>(
    bn: &BatchNorm1D<C, E, D>,
    centered: Seq<C, E, D, T>,
    var: Tensor<Rank1<C>, E, D, S>,
) -> Result<Seq<C, E, D, T>, D::Err>
where
    T: Tape<E, D> + Merge<S> + Merge<T>,
    S: Tape<E, D>,
{
    let shape = *centered.shape();
    let std = var
        .try_add(E::from_f64(bn.epsilon).unwrap_or_default())?
        .try_sqrt()?;
    let scale = bn
        .scale
        .retaped::<T>()
        .try_div(std)?
        .try_broadcast_like(&shape)?;
    let bias = bn.bias.retaped::<T>().try_broadcast_like(&shape)?;
    centered.try_mul(scale)?.try_add(bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epsilon_is_dfdx_default() {
        let bn = BatchNorm1D::<3, f32, Cpu>::build(&Cpu::default());
        assert_eq!(bn.epsilon, BN_EPSILON);
    }

    #[test]
    fn train_normalises_each_channel_and_eval_uses_running_statistics() {
        let dev = Cpu::seed_from_u64(3);
        let mut bn = BatchNorm1D::<3, f64, Cpu>::build(&dev);
        let x: Seq<3, f64, Cpu, NoneTape> = dev.sample_normal_like(&(4, 5, Const::<3>));
        let shifted = (x.clone() * 2.0 + 7.0).as_vec();
        let x: Seq<3, f64, Cpu, NoneTape> = dev.tensor_from_vec(shifted, (4, 5, Const::<3>));
        let y = batchnorm_train(&mut bn, x.clone()).unwrap().as_vec();
        for c in 0..3 {
            let v: Vec<f64> = y.iter().skip(c).step_by(3).copied().collect();
            let mean = v.iter().sum::<f64>() / 20.0;
            let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / 20.0;
            assert!(
                mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-3,
                "channel {c}: {mean} {var}"
            );
        }
        assert!(
            bn.running_mean
                .as_vec()
                .iter()
                .all(|m| (m - 0.7).abs() < 0.5),
            "moved towards 7 by 0.1"
        );
        // Many training passes: eval matches train on the same data, up to
        // the running variance being unbiased (n / (n - 1) = 20 / 19).
        for _ in 0..200 {
            batchnorm_train(&mut bn, x.clone()).unwrap();
        }
        let e = batchnorm_eval(&bn, x.clone()).unwrap().as_vec();
        let shrink = (19.0f64 / 20.0).sqrt();
        for (a, b) in e.iter().zip(&y) {
            assert!((a - b * shrink).abs() < 1e-3, "{a} vs {b}");
        }
    }
}
