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
//!   with `attention H` (an option, measured and not in the recipe) the
//!   frames are scored and weighted instead
//!   ([`crate::layers::FrameAttention`]);
//! - **dropout** 0.3, Dense 64 ReLU, Dense N;
//! - **SpecAugment-style masks** while training: two runs of up to 12
//!   frames and two bands of up to 5 coefficients set to 0 (the mean);
//! - its training recipe (in [`crate::zoo::ModelKind::recipe`]): AdamW,
//!   a one-cycle learning rate, label smoothing 0.1, mixup
//!   ([`crate::mixup`], alpha 0.4), 60 epochs;
//! - its training data (chosen by the pipeline, which knows the store):
//!   each clip's clean and noisy copies and two *training copies* through
//!   random recording conditions (speed, room, band limit, codec, noise,
//!   level), which is what makes it hold at a normal microphone level, on
//!   a telephone band and through a codec. Weight averaging
//!   ([`crate::average`]), a vocal-tract-length warp ([`crate::warp`]),
//!   a random gain on some examples ([`crate::gain`]), other talkers in
//!   the quiet frames ([`crate::talkers`]) and a microphone's high-pass
//!   ([`crate::mic`]) are in the recipe; feature-domain babble
//!   ([`crate::babble`]) and rooms ([`crate::reverb`]) are options
//!   (README, what each measured).
//!
//! Each ingredient's measured effect is in the README's ablation table.

use dfdx::nn::modules::{BatchNorm1D, Linear};
use dfdx::prelude::*;

use crate::augment::SpecAugment;
use crate::classifier::{Classifier, Input, ModelTape, Output, Owned};
use crate::dataset::N_MFCC;
use crate::layers::{
    batchnorm_eval, batchnorm_train, collection, Conv1D, Dense, FrameAttention, Logits, Seq,
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
    /// Masks of training batches.
    pub augment: SpecAugment,
    /// Hidden units of attentive statistics pooling (0: plain statistics
    /// pooling, every frame weighing the same).
    pub attention: usize,
}

impl SiCnnConfig {
    /// The defaults the README's ablation chose, for `classes` and `kernel`.
    pub fn new(classes: usize, kernel: usize) -> SiCnnConfig {
        SiCnnConfig {
            classes,
            kernel,
            dropout: 0.3,
            augment: SpecAugment::default(),
            attention: 0,
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
            pool: FrameAttention::new(dev, self.attention)?,
            augment: self.augment,
            dropout: self.dropout,
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
    /// Pooling over frames: attentive statistics, or with no hidden
    /// units plain statistics.
    pub pool: FrameAttention<128, E, D>,
    /// Masks of training batches.
    pub augment: SpecAugment,
    /// Dropout before the dense layers.
    pub dropout: f64,
}

collection!(SiCnn { [conv1, bn1, conv2, bn2], [conv3, bn3, dense1, dense2], [pool, augment]; dropout = 0.3 });

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
        let x = self
            .pool
            .try_pool(x)?
            .try_reshape_like(&(b, Const::<256>))?; // [b, 256]
        let x = if train && self.dropout > 0.0 {
            x.try_dropout(self.dropout)?
        } else {
            x
        };
        let x = self.dense1.try_forward(x)?.try_relu()?; // [b, 64]
        self.dense2.try_forward(x) // [b, classes]
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
        self.augment.apply(x, frames, lengths, rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_statistics_pooling_and_loss_falls() {
        let dev = Cpu::seed_from_u64(6);
        let mut m = SiCnnConfig::new(3, 5).init(&dev).unwrap();
        m.initialize(crate::Init::Keras, 6);
        let params = 5 * 40 * 64 + 64 + 5 * 64 * 128 + 128 + 3 * 128 * 128 + 128;
        let bn = 2 * (64 + 128 + 128);
        let dense = 256 * 64 + 64 + 64 * 3 + 3;
        assert_eq!(m.num_trainable_params(), params + bn + dense);
        let mut cfg = SiCnnConfig::new(3, 5);
        cfg.attention = 16;
        let mut attentive = cfg.init(&dev).unwrap();
        attentive.initialize(crate::Init::Keras, 6);
        let att = 16 * 128 + 16 + 16;
        assert_eq!(attentive.num_trainable_params(), params + bn + dense + att);
        let (x, y) = crate::testdata::separable_batch(&dev, 3, 6, 16);
        let losses = crate::testdata::adam_losses(&mut attentive, &x, &y, 20, 1e-2);
        assert!(
            losses[19] < 0.5 * losses[0],
            "attentive pooling: loss did not fall: {losses:?}"
        );
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
}
