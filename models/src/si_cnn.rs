//! `si-cnn`: our model for speakers it has never heard (beyond the paper).
//!
//! The paper's CNN (3.7 M weights, 1.3 GFLOP per clip) learns the speakers
//! of a random split by heart; on held-out speakers it needs what the field
//! uses for that case, at a fraction of the cost:
//!
//! - MFCCs standardised with the training side's statistics (per-clip
//!   normalisation, `--norm clip`, was measured and lost 5 points of UAR:
//!   it also removes loudness, which carries emotion);
//! - a **compact conv stack** with **batch normalisation**: Conv1D 64 (k5),
//!   ReLU, MaxPool 2, BN; Conv1D 128 (k5), ReLU, MaxPool 2, BN; Conv1D 128
//!   (k3), ReLU, BN (about 120 k weights, 12 MFLOP per clip forward);
//! - **mean and standard-deviation pooling** over time (statistics
//!   pooling, as x-vectors): how a feature varies, not only its level;
//! - **dropout** 0.3, Dense 64 ReLU, Dense N;
//! - **SpecAugment-style masks** while training: two runs of up to 12
//!   frames and two bands of up to 5 coefficients set to 0 (the mean);
//! - its training recipe (in [`crate::zoo::ModelKind::recipe`]): AdamW,
//!   a one-cycle learning rate, label smoothing 0.1, 60 epochs.
//!
//! Each ingredient's measured effect is in the README's ablation table.

use dfdx::nn::modules::{BatchNorm1D, Linear};
use dfdx::prelude::*;

use crate::classifier::Classifier;
use crate::cnn::N_MFCC;
use crate::init::{Init, InitRng};
use crate::layers::{batchnorm_eval, batchnorm_train, init_linear_keras, Batch, Conv1D, Seq};
use crate::split::SplitMix;

/// Settings of the model that are not weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiCnnConfig {
    /// Dropout before the dense layers.
    pub dropout: f64,
    /// Time masks per training example.
    pub time_masks: usize,
    /// Longest time mask, frames.
    pub time_mask: usize,
    /// Coefficient masks per training example.
    pub coef_masks: usize,
    /// Widest coefficient mask.
    pub coef_mask: usize,
}

impl SiCnnConfig {
    /// The defaults the README's ablation chose.
    pub const DEFAULT: SiCnnConfig = SiCnnConfig {
        dropout: 0.3,
        time_masks: 2,
        time_mask: 12,
        coef_masks: 2,
        coef_mask: 5,
    };
}

/// The weights: `N` classes.
#[derive(Debug, Clone)]
pub struct SiCnn<const N: usize, E: Dtype, D: Storage<E>> {
    /// 40 -> 64, kernel 5.
    pub conv1: Conv1D<N_MFCC, 64, 5, E, D>,
    /// Batch norm after block 1.
    pub bn1: BatchNorm1D<64, E, D>,
    /// 64 -> 128, kernel 5.
    pub conv2: Conv1D<64, 128, 5, E, D>,
    /// Batch norm after block 2.
    pub bn2: BatchNorm1D<128, E, D>,
    /// 128 -> 128, kernel 3.
    pub conv3: Conv1D<128, 128, 3, E, D>,
    /// Batch norm after block 3.
    pub bn3: BatchNorm1D<128, E, D>,
    /// Mean and std (256) -> 64.
    pub dense1: Linear<256, 64, E, D>,
    /// 64 -> N (logits).
    pub dense2: Linear<64, N, E, D>,
}

impl<const N: usize, E, D> TensorCollection<E, D> for SiCnn<N, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = SiCnn<N, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                (
                    Self::module("conv1", |s| &s.conv1, |s| &mut s.conv1),
                    Self::module("bn1", |s| &s.bn1, |s| &mut s.bn1),
                    Self::module("conv2", |s| &s.conv2, |s| &mut s.conv2),
                    Self::module("bn2", |s| &s.bn2, |s| &mut s.bn2),
                ),
                (
                    Self::module("conv3", |s| &s.conv3, |s| &mut s.conv3),
                    Self::module("bn3", |s| &s.bn3, |s| &mut s.bn3),
                    Self::module("dense1", |s| &s.dense1, |s| &mut s.dense1),
                    Self::module("dense2", |s| &s.dense2, |s| &mut s.dense2),
                ),
            ),
            |((conv1, bn1, conv2, bn2), (conv3, bn3, dense1, dense2))| SiCnn {
                conv1,
                bn1,
                conv2,
                bn2,
                conv3,
                bn3,
                dense1,
                dense2,
            },
        )
    }
}

/// Mean and standard deviation over frames: `[b, l, C]` -> `[b, 2C]`.
fn stats_pool<const C: usize, T: Tape<f32, Cpu> + Merge<T>>(
    x: Seq<C, f32, Cpu, T>,
) -> Result<Tensor<(usize, usize), f32, Cpu, T>, CpuError> {
    let shape = *x.shape();
    let mean = x.retaped::<T>().try_mean::<(usize, Const<C>), Axis<1>>()?; // [b, C]
    let centered = x.try_sub(
        mean.retaped::<T>()
            .try_broadcast_like::<_, Axis<1>>(&shape)?,
    )?;
    let std = centered
        .try_square()?
        .try_mean::<(usize, Const<C>), Axis<1>>()?
        .try_add(1e-5)?
        .try_sqrt()?; // [b, C]
    let b = shape.0;
    let mean = mean.try_reshape_like(&(b, C))?;
    let std = std.try_reshape_like(&(b, C))?;
    (mean, std).try_concat_along(Axis::<1>)
}

/// Batch-norm layers a training step updates (copies of the model's).
struct TrainNorms {
    bn1: BatchNorm1D<64, f32, Cpu>,
    bn2: BatchNorm1D<128, f32, Cpu>,
    bn3: BatchNorm1D<128, f32, Cpu>,
}

impl<const N: usize> SiCnn<N, f32, Cpu> {
    /// Logits `[batch, N]` of `[batch, frames, 40]` (at least 4 frames).
    /// With `norms`, batch norm uses (and updates) the batch's statistics;
    /// without, the running ones.
    fn forward<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        mut norms: Option<&mut TrainNorms>,
        dropout: Option<f64>,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError> {
        let x = self.conv1.try_forward_block(x, 2, false)?; // [b, l/2, 64]
        let x = match norms.as_deref_mut() {
            Some(n) => batchnorm_train(&mut n.bn1, x)?,
            None => batchnorm_eval(&self.bn1, x)?,
        };
        let x = self.conv2.try_forward_block(x, 2, true)?; // [b, l/4, 128]
        let x = match norms.as_deref_mut() {
            Some(n) => batchnorm_train(&mut n.bn2, x)?,
            None => batchnorm_eval(&self.bn2, x)?,
        };
        let x = self.conv3.try_forward_block(x, 1, true)?; // [b, l/4, 128]
        let x = match norms {
            Some(n) => batchnorm_train(&mut n.bn3, x)?,
            None => batchnorm_eval(&self.bn3, x)?,
        };
        let b = x.shape().0;
        let x = stats_pool(x)?.try_reshape_like(&(b, Const::<256>))?; // [b, 256]
        let x = match dropout {
            Some(p) if p > 0.0 => x.try_dropout(p)?,
            _ => x,
        };
        let x = self.dense1.try_forward(x)?.try_relu()?; // [b, 64]
        self.dense2.try_forward(x) // [b, N]
    }

    /// Keras' initialisers (Glorot-uniform kernels, zero biases; batch
    /// norm scale 1, shift 0).
    pub fn init_keras(&mut self, seed: u64) {
        let mut rng = InitRng::new(seed);
        self.conv1.init_keras(&mut rng);
        self.conv2.init_keras(&mut rng);
        self.conv3.init_keras(&mut rng);
        init_linear_keras(&mut self.dense1, &mut rng);
        init_linear_keras(&mut self.dense2, &mut rng);
    }
}

/// Sets up to `masks` runs of at most `widest` consecutive positions of
/// `0..len` to zero, through `set(position)`.
fn masks(rng: &mut SplitMix, masks: usize, widest: usize, len: usize, mut set: impl FnMut(usize)) {
    for _ in 0..masks {
        let w = rng.below(widest + 1).min(len);
        let start = rng.below(len - w + 1);
        (start..start + w).for_each(&mut set);
    }
}

impl<const N: usize> Classifier<N> for SiCnn<N, f32, Cpu> {
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        _lengths: &[usize],
        train: bool,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError> {
        let dropout = train.then_some(SiCnnConfig::DEFAULT.dropout);
        self.forward(x, None, dropout)
    }

    fn train_logits(
        &mut self,
        x: Seq<N_MFCC, f32, Cpu, OwnedTape<f32, Cpu>>,
        _lengths: &[usize],
    ) -> Result<Batch<N, f32, Cpu, OwnedTape<f32, Cpu>>, CpuError> {
        // Copies of the batch-norm layers (same tensor ids, so their
        // gradients reach the model's); their running statistics are kept.
        let mut n = TrainNorms {
            bn1: self.bn1.clone(),
            bn2: self.bn2.clone(),
            bn3: self.bn3.clone(),
        };
        let y = self.forward(x, Some(&mut n), Some(SiCnnConfig::DEFAULT.dropout))?;
        self.bn1.running_mean = n.bn1.running_mean;
        self.bn1.running_var = n.bn1.running_var;
        self.bn2.running_mean = n.bn2.running_mean;
        self.bn2.running_var = n.bn2.running_var;
        self.bn3.running_mean = n.bn3.running_mean;
        self.bn3.running_var = n.bn3.running_var;
        Ok(y)
    }

    fn augment(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let c = SiCnnConfig::DEFAULT;
        for (e, ex) in x.chunks_exact_mut(frames * N_MFCC).enumerate() {
            let len = lengths.get(e).copied().unwrap_or(frames).min(frames);
            masks(rng, c.time_masks, c.time_mask, len, |t| {
                ex[t * N_MFCC..(t + 1) * N_MFCC].fill(0.0)
            });
            masks(rng, c.coef_masks, c.coef_mask, N_MFCC, |k| {
                ex.iter_mut().skip(k).step_by(N_MFCC).for_each(|v| *v = 0.0)
            });
        }
    }

    fn initialize(&mut self, init: Init, seed: u64) {
        if init == Init::Keras {
            self.init_keras(seed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_statistics_pooling_and_loss_falls() {
        let dev = Cpu::seed_from_u64(6);
        let mut m = SiCnn::<3, f32, Cpu>::build(&dev);
        m.init_keras(6);
        let params = 5 * 40 * 64 + 64 + 5 * 64 * 128 + 128 + 3 * 128 * 128 + 128;
        let bn = 2 * (64 + 128 + 128);
        let dense = 256 * 64 + 64 + 64 * 3 + 3;
        assert_eq!(m.num_trainable_params(), params + bn + dense);
        let (x, y) = crate::testdata::separable_batch::<3>(&dev, 6, 16);
        assert_eq!(
            *m.logits(x.clone(), &[16; 6], false).unwrap().shape(),
            (6, Const::<3>)
        );
        let before = m.bn1.running_mean.as_vec();
        let losses = crate::testdata::adam_losses::<3, _>(&mut m, &x, &y, 20, 1e-2);
        assert!(
            losses[19] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
        // A training step moves the running statistics.
        let g = m.alloc_grads();
        m.train_logits(x.traced(g), &[16; 6]).unwrap();
        assert_ne!(m.bn1.running_mean.as_vec(), before);
    }

    #[test]
    fn masks_zero_whole_frames_and_coefficients_within_the_real_length() {
        let m = SiCnn::<3, f32, Cpu>::build(&Cpu::seed_from_u64(0));
        let (frames, len) = (20, 10);
        let mut x = vec![1f32; frames * N_MFCC];
        m.augment(&mut x, frames, &[len], &mut SplitMix(3));
        let zero_frames: Vec<usize> = (0..frames)
            .filter(|&t| x[t * N_MFCC..(t + 1) * N_MFCC].iter().all(|&v| v == 0.0))
            .collect();
        assert!(zero_frames.iter().all(|&t| t < len), "{zero_frames:?}");
        assert!(zero_frames.len() <= 2 * 12);
        let zero_coefs = (0..N_MFCC)
            .filter(|&k| (0..frames).all(|t| x[t * N_MFCC + k] == 0.0))
            .count();
        assert!(zero_coefs <= 2 * 5);
    }
}
