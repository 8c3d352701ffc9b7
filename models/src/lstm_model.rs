//! The paper's LSTM model: LSTM 70 -> 50 -> 60 (the last returns its final
//! state); Dense 48 ReLU; Dense `classes` (logits).

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::{Classifier, Input, ModelTape, Output};
use crate::dataset::N_MFCC;
use crate::layers::{collection, Dense, Logits, Lstm, Seq};

/// The LSTM model's shape: only its classes vary (it has no kernel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmConfig {
    /// Classes (the head's width).
    pub classes: usize,
}

impl LstmConfig {
    /// The model, weights drawn from `dev`'s generator.
    pub fn init(&self, dev: &Cpu) -> Result<LstmModel<f32, Cpu>, CpuError> {
        Ok(LstmModel {
            lstm1: Lstm::try_build(dev)?,
            lstm2: Lstm::try_build(dev)?,
            lstm3: Lstm::try_build(dev)?,
            dense1: Linear::try_build(dev)?,
            dense2: Dense::new(dev, self.classes)?,
        })
    }
}

/// The LSTM model's weights.
#[derive(Debug, Clone)]
pub struct LstmModel<E: Dtype, D: Storage<E>> {
    /// 40 -> 70, all states.
    pub lstm1: Lstm<N_MFCC, 70, E, D>,
    /// 70 -> 50, all states.
    pub lstm2: Lstm<70, 50, E, D>,
    /// 50 -> 60, last state.
    pub lstm3: Lstm<50, 60, E, D>,
    /// Dense 48.
    pub dense1: Linear<60, 48, E, D>,
    /// Dense `classes` (logits).
    pub dense2: Dense<48, E, D>,
}

collection!(LstmModel { [lstm1, lstm2, lstm3, dense1, dense2] });

impl<E: Dtype, D: Device<E>> LstmModel<E, D> {
    /// The reference forward pass from dfdx ops, reading the state at the
    /// last frame (no lengths).
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
    ) -> Result<Logits<E, D, T>, D::Err> {
        let x = self.lstm1.try_forward_seq(x)?; // [b, l, 70]
        let x = self.lstm2.try_forward_seq(x)?; // [b, l, 50]
        let h = self.lstm3.try_forward_last(x)?; // [b, 60]
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        self.dense2.try_forward(h) // [b, classes]
    }
}

impl Classifier for LstmModel<f32, Cpu> {
    fn classes(&self) -> usize {
        self.dense2.outputs()
    }

    /// Fast kernels; the last layer's state is read at each example's last
    /// real frame.
    fn logits<T: ModelTape>(&self, x: Input<T>, lengths: &[usize], _train: bool) -> Output<T> {
        let x = self.lstm1.try_forward_seq_fast(x)?; // [b, l, 70]
        let x = self.lstm2.try_forward_seq_fast(x)?; // [b, l, 50]
        let h = self.lstm3.try_forward_last_fast(x, Some(lengths))?; // [b, 60]
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        self.dense2.try_forward(h) // [b, classes]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parameter_count_and_loss_falls() {
        let dev = Cpu::seed_from_u64(2);
        let mut m = LstmConfig { classes: 3 }.init(&dev).unwrap();
        let lstm = |i: usize, h: usize| 4 * (i * h + h * h + h); // as Keras counts
        let want = lstm(40, 70) + lstm(70, 50) + lstm(50, 60) + (60 * 48 + 48) + (48 * 3 + 3);
        assert_eq!(m.num_trainable_params(), want);
        let (x, y) = crate::testdata::separable_batch(&dev, 3, 6, 8);
        assert_eq!(
            *m.logits(x.clone(), &[8; 6], false).unwrap().shape(),
            (6, 3)
        );
        let fast = m.logits(x.clone(), &[8; 6], false).unwrap().as_vec();
        let slow = m.try_forward_reference(x.clone()).unwrap().as_vec();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let losses = crate::testdata::adam_losses(&mut m, &x, &y, 15, 1e-2);
        assert!(
            losses[14] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
