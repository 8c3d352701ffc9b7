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

use crate::cnn::N_MFCC;
use crate::layers::{max_pool1d, Batch, Conv1D, Lstm, Seq};

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

impl<const N: usize, const K: usize, E: Dtype, D: Device<E>> CnnLstm<N, K, E, D> {
    /// Logits `[batch, N]` of MFCC sequences `[batch, frames, 40]` (at least
    /// 4 frames); `dropout` is applied when given (training).
    pub fn try_forward<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
        dropout: Option<f64>,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let x = max_pool1d(self.conv1.try_forward(x)?.try_relu()?, 2)?; // [b, l/2, 128]
        let x = max_pool1d(self.conv2.try_forward(x)?.try_relu()?, 2)?; // [b, l/4, 128]
        let x = self.lstm1.try_forward_seq(x)?; // [b, l/4, 64]
        let h = self.lstm2.try_forward_last(x)?; // [b, 64]
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        let h = match dropout {
            Some(p) if p > 0.0 => h.try_dropout(p)?,
            _ => h,
        };
        self.dense2.try_forward(h) // [b, N]
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
            *m.try_forward(x.clone(), None).unwrap().shape(),
            (6, Const::<3>)
        );
        let losses = crate::testdata::adam_losses::<3, _>(&mut m, &x, &y, 25, 1e-3);
        assert!(
            losses[24] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
