//! The paper's 1-D CNN: Conv1D 1024 -> 512 -> 256 -> 128 (kernel `kernel`,
//! same padding, ReLU), each followed by MaxPool1D(2); GlobalAveragePooling1D;
//! Dense 64 ReLU; Dropout; Dense `classes` (logits).

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::{Classifier, Input, ModelTape, Output};
use crate::layers::{collection, global_avg_pool1d, max_pool1d, Conv1D, Dense, Logits, Seq};

pub use crate::dataset::N_MFCC;

/// The CNN's shape and settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CnnConfig {
    /// Classes (the head's width).
    pub classes: usize,
    /// Convolution kernel width (the paper: 5).
    pub kernel: usize,
    /// Dropout before the last layer (the paper: 0.2).
    pub dropout: f64,
    /// Max-pool window after each convolution (the paper: 2).
    pub pool: usize,
}

impl CnnConfig {
    /// The paper's CNN for `classes` classes and kernel width `kernel`.
    pub fn new(classes: usize, kernel: usize) -> CnnConfig {
        CnnConfig {
            classes,
            kernel,
            dropout: 0.2,
            pool: 2,
        }
    }

    /// The model, weights drawn from `dev`'s generator (`U(±1/sqrt(fan_in))`).
    pub fn init(&self, dev: &Cpu) -> Result<Cnn<f32, Cpu>, CpuError> {
        Ok(Cnn {
            conv1: Conv1D::new(dev, self.kernel)?,
            conv2: Conv1D::new(dev, self.kernel)?,
            conv3: Conv1D::new(dev, self.kernel)?,
            conv4: Conv1D::new(dev, self.kernel)?,
            dense1: Linear::try_build(dev)?,
            dense2: Dense::new(dev, self.classes)?,
            dropout: self.dropout,
            pool: self.pool,
        })
    }
}

/// The CNN's weights and settings.
#[derive(Debug, Clone)]
pub struct Cnn<E: Dtype, D: Storage<E>> {
    /// 40 -> 1024.
    pub conv1: Conv1D<N_MFCC, 1024, E, D>,
    /// 1024 -> 512.
    pub conv2: Conv1D<1024, 512, E, D>,
    /// 512 -> 256.
    pub conv3: Conv1D<512, 256, E, D>,
    /// 256 -> 128.
    pub conv4: Conv1D<256, 128, E, D>,
    /// Dense 64.
    pub dense1: Linear<128, 64, E, D>,
    /// Dense `classes` (logits).
    pub dense2: Dense<64, E, D>,
    /// Dropout before `dense2`.
    pub dropout: f64,
    /// Max-pool window.
    pub pool: usize,
}

collection!(Cnn { [conv1, conv2, conv3, conv4, dense1, dense2]; dropout = 0.2, pool = 2 });

impl<E: Dtype, D: Device<E>> Cnn<E, D> {
    /// The reference forward pass from dfdx ops (conv, ReLU and pool as
    /// separate ops); [`Classifier::logits`] must give the same logits.
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
        train: bool,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let p = self.pool;
        let x = max_pool1d(self.conv1.try_forward(x)?.try_relu()?, p)?; // [b, l/2, 1024]
        let x = max_pool1d(self.conv2.try_forward(x)?.try_relu()?, p)?; // [b, l/4, 512]
        let x = max_pool1d(self.conv3.try_forward(x)?.try_relu()?, p)?; // [b, l/8, 256]
        let x = max_pool1d(self.conv4.try_forward(x)?.try_relu()?, p)?; // [b, l/16, 128]
        self.head(x, train)
    }

    /// Global average pool, Dense 64 ReLU, dropout, Dense `classes`.
    fn head<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<128, E, D, T>,
        train: bool,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let x = global_avg_pool1d(x)?; // [b, 128]
        let x = self.dense1.try_forward(x)?.try_relu()?; // [b, 64]
        let x = if train && self.dropout > 0.0 {
            x.try_dropout(self.dropout)?
        } else {
            x
        };
        self.dense2.try_forward(x) // [b, classes]
    }
}

impl Classifier for Cnn<f32, Cpu> {
    fn classes(&self) -> usize {
        self.dense2.outputs()
    }

    /// Each conv + ReLU + pool is one fused op (the fast kernels); inputs
    /// need `pool^4` frames.
    fn logits<T: ModelTape>(&self, x: Input<T>, _lengths: &[usize], train: bool) -> Output<T> {
        let p = self.pool;
        let x = self.conv1.try_forward_block(x, p, false)?; // [b, l/2, 1024]
        let x = self.conv2.try_forward_block(x, p, true)?; // [b, l/4, 512]
        let x = self.conv3.try_forward_block(x, p, true)?; // [b, l/8, 256]
        let x = self.conv4.try_forward_block(x, p, true)?; // [b, l/16, 128]
        self.head(x, train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Dev = Cpu;

    #[test]
    fn shapes_and_parameter_count() {
        let dev = Dev::seed_from_u64(0);
        let cnn = CnnConfig::new(14, 5).init(&dev).unwrap();
        let x: Seq<N_MFCC, f32, Dev, NoneTape> = dev.sample_normal_like(&(3, 130, Const::<N_MFCC>));
        let y = cnn.logits(x, &[130; 3], false).unwrap();
        assert_eq!(*y.shape(), (3, 14));
        let convs = 5 * (40 * 1024 + 1024 * 512 + 512 * 256 + 256 * 128) + 1024 + 512 + 256 + 128;
        let dense = 128 * 64 + 64 + 64 * 14 + 14;
        assert_eq!(cnn.num_trainable_params(), convs + dense);
    }

    #[test]
    fn fused_forward_matches_the_reference_ops() {
        let dev = Dev::seed_from_u64(4);
        let mut cnn = CnnConfig::new(14, 5).init(&dev).unwrap();
        cnn.initialize(crate::Init::Keras, 4);
        let x: Seq<N_MFCC, f32, Dev, NoneTape> = dev.sample_normal_like(&(2, 37, Const::<N_MFCC>));
        let fast = cnn.logits(x.clone(), &[37; 2], false).unwrap().as_vec();
        let slow = cnn.try_forward_reference(x, false).unwrap().as_vec();
        let scale = slow.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * scale, "{a} vs {b}");
        }
    }

    #[test]
    fn adam_steps_reduce_the_loss_on_a_separable_batch() {
        let dev = Dev::seed_from_u64(1);
        let mut cnn = CnnConfig::new(3, 3).init(&dev).unwrap();
        let (x, y) = crate::testdata::separable_batch(&dev, 3, 6, 16);
        let losses = crate::testdata::adam_losses(&mut cnn, &x, &y, 12, 1e-3);
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(
            losses[11] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
