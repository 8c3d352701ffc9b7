//! CNN+LSTM. The paper gives no layers ("conv front end feeding LSTM
//! layers"); ours, and why:
//!
//! Conv1D 128 (kernel `K`, same, ReLU) + MaxPool1D(2) -> Conv1D 128 + MaxPool1D(2)
//! -> LSTM 64 (all states) -> LSTM 64 (last state) -> Dense 48 ReLU -> Dropout
//! -> Dense `N`.
//!
//! The convolutions learn local spectro-temporal patterns and shorten the
//! sequence four times (130 frames -> 32), so the unrolled LSTMs, the slow
//! part on a CPU, run a quarter of the steps; 128 filters and 64 units keep
//! the model about the size of the paper's LSTM, so the two compare at a
//! similar budget.

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::Classifier;
use crate::cnn::N_MFCC;
use crate::init::{Init, InitRng};
use crate::layers::{init_linear_keras, max_pool1d, Batch, Conv1D, Lstm, Seq};

/// The CNN+LSTM model's weights: `N` classes, kernel width `K`.
#[derive(Debug, Clone)]
pub struct CnnLstm<const N: usize, const K: usize, E: Dtype, D: Storage<E>> {
    /// 40 -> 128.
    pub conv1: Conv1D<N_MFCC, 128, K, E, D>,
    /// 128 -> 128.
    pub conv2: Conv1D<128, 128, K, E, D>,
    /// 128 -> 64, all states.
    pub lstm1: Lstm<128, 64, E, D>,
    /// 64 -> 64, last state.
    pub lstm2: Lstm<64, 64, E, D>,
    /// Dense 48.
    pub dense1: Linear<64, 48, E, D>,
    /// Dense N (logits).
    pub dense2: Linear<48, N, E, D>,
}

impl<const N: usize, const K: usize, E, D> TensorCollection<E, D> for CnnLstm<N, K, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = CnnLstm<N, K, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("conv1", |s| &s.conv1, |s| &mut s.conv1),
                Self::module("conv2", |s| &s.conv2, |s| &mut s.conv2),
                Self::module("lstm1", |s| &s.lstm1, |s| &mut s.lstm1),
                Self::module("lstm2", |s| &s.lstm2, |s| &mut s.lstm2),
                Self::module("dense1", |s| &s.dense1, |s| &mut s.dense1),
                Self::module("dense2", |s| &s.dense2, |s| &mut s.dense2),
            ),
            |(conv1, conv2, lstm1, lstm2, dense1, dense2)| CnnLstm {
                conv1,
                conv2,
                lstm1,
                lstm2,
                dense1,
                dense2,
            },
        )
    }
}

/// Frames after the two pools for `len` real input frames: every pooled
/// frame that saw a real one, at most `pooled`.
pub fn pooled_length(len: usize, pooled: usize) -> usize {
    len.div_ceil(4).clamp(1, pooled.max(1))
}

impl<const N: usize, const K: usize, E: Dtype, D: Device<E>> CnnLstm<N, K, E, D> {
    /// The reference forward pass from dfdx ops (state at the last frame).
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
        dropout: Option<f64>,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let x = max_pool1d(self.conv1.try_forward(x)?.try_relu()?, 2)?; // [b, l/2, 128]
        let x = max_pool1d(self.conv2.try_forward(x)?.try_relu()?, 2)?; // [b, l/4, 128]
        let x = self.lstm1.try_forward_seq(x)?; // [b, l/4, 64]
        let h = self.lstm2.try_forward_last(x)?; // [b, 64]
        self.head(h, dropout)
    }

    fn head<T: Tape<E, D> + Merge<T>>(
        &self,
        h: Batch<64, E, D, T>,
        dropout: Option<f64>,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        let h = match dropout {
            Some(p) if p > 0.0 => h.try_dropout(p)?,
            _ => h,
        };
        self.dense2.try_forward(h) // [b, N]
    }

    /// Keras' initialisers for every layer (see [`crate::init`]).
    pub fn init_keras(&mut self, seed: u64)
    where
        E: num_traits::Float + crate::kernels::Float,
    {
        let mut rng = InitRng::new(seed);
        self.conv1.init_keras(&mut rng);
        self.conv2.init_keras(&mut rng);
        self.lstm1.init_keras(&mut rng);
        self.lstm2.init_keras(&mut rng);
        init_linear_keras(&mut self.dense1, &mut rng);
        init_linear_keras(&mut self.dense2, &mut rng);
    }
}

impl<const N: usize, const K: usize, E: Dtype + crate::kernels::Float> CnnLstm<N, K, E, Cpu>
where
    Cpu: Device<E>,
{
    /// Logits `[batch, N]` of MFCC sequences `[batch, frames, 40]` (at least
    /// 4 frames), the LSTM state read at each example's last real (pooled)
    /// frame; `dropout` is applied when given (training). Fast kernels.
    pub fn try_forward<T: Tape<E, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, Cpu, T>,
        lengths: Option<&[usize]>,
        dropout: Option<f64>,
    ) -> Result<Batch<N, E, Cpu, T>, CpuError> {
        let x = self.conv1.try_forward_block(x, 2, false)?; // [b, l/2, 128]
        let x = self.conv2.try_forward_block(x, 2, true)?; // [b, l/4, 128]
        let pooled = x.shape().1;
        let lengths: Option<Vec<usize>> =
            lengths.map(|v| v.iter().map(|&n| pooled_length(n, pooled)).collect());
        let x = self.lstm1.try_forward_seq_fast(x)?; // [b, l/4, 64]
        let h = self.lstm2.try_forward_last_fast(x, lengths.as_deref())?; // [b, 64]
        self.head(h, dropout)
    }
}

impl<const N: usize, const K: usize> Classifier<N> for CnnLstm<N, K, f32, Cpu> {
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        lengths: &[usize],
        train: bool,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError> {
        self.try_forward(x, Some(lengths), train.then_some(0.2))
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
    fn shapes_and_loss_falls() {
        let dev = Cpu::seed_from_u64(4);
        let mut m = CnnLstm::<3, 5, f32, Cpu>::build(&dev);
        let (x, y) = crate::testdata::separable_batch::<3>(&dev, 6, 16);
        assert_eq!(
            *m.try_forward(x.clone(), None, None).unwrap().shape(),
            (6, Const::<3>)
        );
        let fast = m.try_forward(x.clone(), None, None).unwrap().as_vec();
        let slow = m.try_forward_reference(x.clone(), None).unwrap().as_vec();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        assert_eq!(pooled_length(160, 40), 40);
        assert_eq!(pooled_length(133, 40), 34);
        assert_eq!(pooled_length(1, 40), 1);
        let losses = crate::testdata::adam_losses::<3, _>(&mut m, &x, &y, 25, 1e-3);
        assert!(
            losses[24] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
