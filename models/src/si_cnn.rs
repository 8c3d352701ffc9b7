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

use crate::classifier::{Classifier, Input, ModelTape, Output, Owned};
use crate::cnn::N_MFCC;
use crate::init::InitRng;
use crate::layers::{
    batchnorm_eval, batchnorm_train, collection, init_linear_keras, Conv1D, Dense, Logits, Seq,
};
use crate::split::SplitMix;

/// The model's shape and the settings that are not weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiCnnConfig {
    /// Classes (the head's width).
    pub classes: usize,
    /// Kernel width of the first two convolutions (the third's is 3).
    pub kernel: usize,
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
    /// The defaults the README's ablation chose, for `classes` and `kernel`.
    pub fn new(classes: usize, kernel: usize) -> SiCnnConfig {
        SiCnnConfig {
            classes,
            kernel,
            dropout: 0.3,
            time_masks: 2,
            time_mask: 12,
            coef_masks: 2,
            coef_mask: 5,
        }
    }

    /// The model, weights drawn from `dev`'s generator.
    pub fn init(&self, dev: &Cpu) -> Result<SiCnn<f32, Cpu>, CpuError> {
        Ok(SiCnn {
            conv1: Conv1D::new(dev, self.kernel)?,
            bn1: BatchNorm1D::try_build(dev)?,
            conv2: Conv1D::new(dev, self.kernel)?,
            bn2: BatchNorm1D::try_build(dev)?,
            conv3: Conv1D::new(dev, 3)?,
            bn3: BatchNorm1D::try_build(dev)?,
            dense1: Linear::try_build(dev)?,
            dense2: Dense::new(dev, self.classes)?,
            dropout: self.dropout,
            time_masks: self.time_masks,
            time_mask: self.time_mask,
            coef_masks: self.coef_masks,
            coef_mask: self.coef_mask,
        })
    }
}

/// The weights and settings.
#[derive(Debug, Clone)]
pub struct SiCnn<E: Dtype, D: Storage<E>> {
    /// 40 -> 64, kernel `kernel`.
    pub conv1: Conv1D<N_MFCC, 64, E, D>,
    /// Batch norm after block 1.
    pub bn1: BatchNorm1D<64, E, D>,
    /// 64 -> 128, kernel `kernel`.
    pub conv2: Conv1D<64, 128, E, D>,
    /// Batch norm after block 2.
    pub bn2: BatchNorm1D<128, E, D>,
    /// 128 -> 128, kernel 3.
    pub conv3: Conv1D<128, 128, E, D>,
    /// Batch norm after block 3.
    pub bn3: BatchNorm1D<128, E, D>,
    /// Mean and std (256) -> 64.
    pub dense1: Linear<256, 64, E, D>,
    /// 64 -> `classes` (logits).
    pub dense2: Dense<64, E, D>,
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

collection!(SiCnn {
    [conv1, bn1, conv2, bn2],
    [conv3, bn3, dense1, dense2];
    dropout = 0.3,
    time_masks = 2,
    time_mask = 12,
    coef_masks = 2,
    coef_mask = 5,
});

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

impl SiCnn<f32, Cpu> {
    /// Logits `[batch, classes]` of `[batch, frames, 40]` (at least 4 frames).
    /// With `norms`, batch norm uses (and updates) the batch's statistics;
    /// without, the running ones.
    fn forward<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        mut norms: Option<&mut TrainNorms>,
        train: bool,
    ) -> Result<Logits<f32, Cpu, T>, CpuError> {
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
        let x = if train && self.dropout > 0.0 {
            x.try_dropout(self.dropout)?
        } else {
            x
        };
        let x = self.dense1.try_forward(x)?.try_relu()?; // [b, 64]
        self.dense2.try_forward(x) // [b, classes]
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

impl Classifier for SiCnn<f32, Cpu> {
    fn classes(&self) -> usize {
        self.dense2.outputs()
    }

    fn logits<T: ModelTape>(&self, x: Input<T>, _lengths: &[usize], train: bool) -> Output<T> {
        self.forward(x, None, train)
    }

    fn train_logits(&mut self, x: Input<Owned>, _lengths: &[usize]) -> Output<Owned> {
        // Copies of the batch-norm layers (same tensor ids, so their
        // gradients reach the model's); their running statistics are kept.
        let mut n = TrainNorms {
            bn1: self.bn1.clone(),
            bn2: self.bn2.clone(),
            bn3: self.bn3.clone(),
        };
        let y = self.forward(x, Some(&mut n), true)?;
        self.bn1.running_mean = n.bn1.running_mean;
        self.bn1.running_var = n.bn1.running_var;
        self.bn2.running_mean = n.bn2.running_mean;
        self.bn2.running_var = n.bn2.running_var;
        self.bn3.running_mean = n.bn3.running_mean;
        self.bn3.running_var = n.bn3.running_var;
        Ok(y)
    }

    fn augment(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        for (e, ex) in x.chunks_exact_mut(frames * N_MFCC).enumerate() {
            let len = lengths.get(e).copied().unwrap_or(frames).min(frames);
            masks(rng, self.time_masks, self.time_mask, len, |t| {
                ex[t * N_MFCC..(t + 1) * N_MFCC].fill(0.0)
            });
            masks(rng, self.coef_masks, self.coef_mask, N_MFCC, |k| {
                ex.iter_mut().skip(k).step_by(N_MFCC).for_each(|v| *v = 0.0)
            });
        }
    }

    /// Keras' initialisers (Glorot-uniform kernels, zero biases; batch
    /// norm scale 1, shift 0).
    fn init_keras(&mut self, seed: u64) {
        let mut rng = InitRng::new(seed);
        self.conv1.init_keras(&mut rng);
        self.conv2.init_keras(&mut rng);
        self.conv3.init_keras(&mut rng);
        init_linear_keras(&mut self.dense1, &mut rng);
        self.dense2.init_keras(&mut rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_statistics_pooling_and_loss_falls() {
        let dev = Cpu::seed_from_u64(6);
        let mut m = SiCnnConfig::new(3, 5).init(&dev).unwrap();
        m.init_keras(6);
        let params = 5 * 40 * 64 + 64 + 5 * 64 * 128 + 128 + 3 * 128 * 128 + 128;
        let bn = 2 * (64 + 128 + 128);
        let dense = 256 * 64 + 64 + 64 * 3 + 3;
        assert_eq!(m.num_trainable_params(), params + bn + dense);
        let (x, y) = crate::testdata::separable_batch(&dev, 3, 6, 16);
        assert_eq!(
            *m.logits(x.clone(), &[16; 6], false).unwrap().shape(),
            (6, 3)
        );
        let before = m.bn1.running_mean.as_vec();
        let losses = crate::testdata::adam_losses(&mut m, &x, &y, 20, 1e-2);
        assert!(
            losses[19] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
        // A training step moves the running statistics.
        let g = m.alloc_grads();
        m.train_logits(x.traced(g), &[16; 6]).unwrap();
        assert_ne!(m.bn1.running_mean.as_vec(), before);
    }

    /// Zeroed frames and coefficients of each of `n` masked examples.
    fn masked(n: usize, frames: usize, len: usize) -> Vec<(Vec<usize>, usize)> {
        let m = SiCnnConfig::new(3, 5).init(&Cpu::seed_from_u64(0)).unwrap();
        let mut x = vec![1f32; n * frames * N_MFCC];
        m.augment(&mut x, frames, &vec![len; n], &mut SplitMix(3));
        x.chunks_exact(frames * N_MFCC)
            .map(|ex| {
                let zero_frames = (0..frames)
                    .filter(|&t| ex[t * N_MFCC..(t + 1) * N_MFCC].iter().all(|&v| v == 0.0))
                    .collect();
                let zero_coefs = (0..N_MFCC)
                    .filter(|&k| (0..frames).all(|t| ex[t * N_MFCC + k] == 0.0))
                    .count();
                (zero_frames, zero_coefs)
            })
            .collect()
    }

    #[test]
    fn masks_zero_whole_frames_and_coefficients_within_the_real_length() {
        let (frames, len, n) = (60, 40, 400);
        let out = masked(n, frames, len);
        for (zero_frames, zero_coefs) in &out {
            assert!(zero_frames.iter().all(|&t| t < len), "{zero_frames:?}");
            assert!(zero_frames.len() <= 2 * 12, "{zero_frames:?}");
            assert!(*zero_coefs <= 2 * 5, "{zero_coefs}");
        }
        // Masks of uniform width 0..=12 (frames) and 0..=5 (coefficients),
        // two of each: about 11.5 frames and 4.7 coefficients per example
        // after overlaps. A no-op (or a mask of the padding) is far off.
        let frames_mean = out.iter().map(|o| o.0.len()).sum::<usize>() as f64 / n as f64;
        let coefs_mean = out.iter().map(|o| o.1).sum::<usize>() as f64 / n as f64;
        assert!((9.0..=13.0).contains(&frames_mean), "{frames_mean}");
        assert!((3.5..=6.0).contains(&coefs_mean), "{coefs_mean}");
    }
}
