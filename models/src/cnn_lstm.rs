//! CNN+LSTM. The paper gives no layers ("conv front end feeding LSTM
//! layers"); ours, and why:
//!
//! Conv1D 128 (kernel `kernel`, same, ReLU) + MaxPool1D(2) -> Conv1D 128 +
//! MaxPool1D(2) -> LSTM 64 (all states) -> LSTM 64 (last state) -> Dense 48
//! ReLU -> Dropout -> Dense `classes`.
//!
//! The convolutions learn local spectro-temporal patterns and shorten the
//! sequence four times (130 frames -> 32), so the unrolled LSTMs, the slow
//! part on a CPU, run a quarter of the steps; 128 filters and 64 units keep
//! the model about the size of the paper's LSTM, so the two compare at a
//! similar budget.

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::{Classifier, Input, ModelTape, Output};
use crate::dataset::N_MFCC;
use crate::layers::{collection, max_pool1d, Conv1D, Dense, Logits, Lstm, Seq};

/// The CNN+LSTM's shape and settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CnnLstmConfig {
    /// Classes (the head's width).
    pub classes: usize,
    /// Convolution kernel width.
    pub kernel: usize,
    /// Dropout before the last layer while training.
    pub dropout: f64,
}

impl CnnLstmConfig {
    /// Our CNN+LSTM for `classes` classes, kernel `kernel`, dropout 0.2.
    pub fn new(classes: usize, kernel: usize) -> CnnLstmConfig {
        CnnLstmConfig {
            classes,
            kernel,
            dropout: 0.2,
        }
    }

    /// The model, weights drawn from `dev`'s generator.
    pub fn init(&self, dev: &Cpu) -> Result<CnnLstm<f32, Cpu>, CpuError> {
        Ok(CnnLstm {
            conv1: Conv1D::new(dev, self.kernel)?,
            conv2: Conv1D::new(dev, self.kernel)?,
            lstm1: Lstm::try_build(dev)?,
            lstm2: Lstm::try_build(dev)?,
            dense1: Linear::try_build(dev)?,
            dense2: Dense::new(dev, self.classes)?,
            dropout: self.dropout,
        })
    }
}

/// The CNN+LSTM model's weights and dropout.
#[derive(Debug, Clone)]
pub struct CnnLstm<E: Dtype, D: Storage<E>> {
    /// 40 -> 128.
    pub conv1: Conv1D<N_MFCC, 128, E, D>,
    /// 128 -> 128.
    pub conv2: Conv1D<128, 128, E, D>,
    /// 128 -> 64, all states.
    pub lstm1: Lstm<128, 64, E, D>,
    /// 64 -> 64, last state.
    pub lstm2: Lstm<64, 64, E, D>,
    /// Dense 48.
    pub dense1: Linear<64, 48, E, D>,
    /// Dense `classes` (logits).
    pub dense2: Dense<48, E, D>,
    /// Dropout before `dense2` while training.
    pub dropout: f64,
}

collection!(CnnLstm { [conv1, conv2, lstm1, lstm2, dense1, dense2]; dropout = 0.2 });

/// Frames after the two pools for `len` real input frames: every pooled
/// frame that saw a real one, at most `pooled`.
pub fn pooled_length(len: usize, pooled: usize) -> usize {
    len.div_ceil(4).clamp(1, pooled.max(1))
}

impl<E: Dtype, D: Device<E>> CnnLstm<E, D> {
    /// The reference forward pass from dfdx ops (state at the last frame).
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
        train: bool,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let x = max_pool1d(self.conv1.try_forward(x)?.try_relu()?, 2)?; // [b, l/2, 128]
        let x = max_pool1d(self.conv2.try_forward(x)?.try_relu()?, 2)?; // [b, l/4, 128]
        let x = self.lstm1.try_forward_seq(x)?; // [b, l/4, 64]
        let h = self.lstm2.try_forward_last(x)?; // [b, 64]
        self.head(h, train)
    }

    fn head<T: Tape<E, D> + Merge<T>>(
        &self,
        h: crate::layers::Batch<64, E, D, T>,
        train: bool,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        let h = if train && self.dropout > 0.0 {
            h.try_dropout(self.dropout)?
        } else {
            h
        };
        self.dense2.try_forward(h) // [b, classes]
    }
}

impl Classifier for CnnLstm<f32, Cpu> {
    fn classes(&self) -> usize {
        self.dense2.outputs()
    }

    /// Fast kernels; the LSTM state is read at each example's last real
    /// (pooled) frame. Inputs need 4 frames.
    fn logits<T: ModelTape>(&self, x: Input<T>, lengths: &[usize], train: bool) -> Output<T> {
        let x = self.conv1.try_forward_block(x, 2, false)?; // [b, l/2, 128]
        let x = self.conv2.try_forward_block(x, 2, true)?; // [b, l/4, 128]
        let pooled = x.shape().1;
        let lengths: Vec<usize> = lengths.iter().map(|&n| pooled_length(n, pooled)).collect();
        let x = self.lstm1.try_forward_seq_fast(x)?; // [b, l/4, 64]
        let h = self.lstm2.try_forward_last_fast(x, Some(&lengths))?; // [b, 64]
        self.head(h, train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_loss_falls() {
        let dev = Cpu::seed_from_u64(4);
        let mut m = CnnLstmConfig::new(3, 5).init(&dev).unwrap();
        let (x, y) = crate::testdata::separable_batch(&dev, 3, 6, 16);
        assert_eq!(
            *m.logits(x.clone(), &[16; 6], false).unwrap().shape(),
            (6, 3)
        );
        let fast = m.logits(x.clone(), &[16; 6], false).unwrap().as_vec();
        let slow = m.try_forward_reference(x.clone(), false).unwrap().as_vec();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        assert_eq!(pooled_length(160, 40), 40);
        assert_eq!(pooled_length(133, 40), 34);
        assert_eq!(pooled_length(1, 40), 1);
        let losses = crate::testdata::adam_losses(&mut m, &x, &y, 25, 1e-3);
        assert!(
            losses[24] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
