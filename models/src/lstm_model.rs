//! The paper's LSTM model: LSTM 70 -> 50 -> 60 (the last returns its final
//! state); Dense 48 ReLU; Dense `N` (logits).

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::Classifier;
use crate::cnn::N_MFCC;
use crate::init::{Init, InitRng};
use crate::layers::{init_linear_keras, Batch, Lstm, Seq};

/// The LSTM model's weights, `N` classes.
#[derive(Debug, Clone)]
pub struct LstmModel<const N: usize, E: Dtype, D: Storage<E>> {
    /// 40 -> 70, all states.
    pub lstm1: Lstm<N_MFCC, 70, E, D>,
    /// 70 -> 50, all states.
    pub lstm2: Lstm<70, 50, E, D>,
    /// 50 -> 60, last state.
    pub lstm3: Lstm<50, 60, E, D>,
    /// Dense 48.
    pub dense1: Linear<60, 48, E, D>,
    /// Dense N (logits).
    pub dense2: Linear<48, N, E, D>,
}

impl<const N: usize, E, D> TensorCollection<E, D> for LstmModel<N, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = LstmModel<N, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("lstm1", |s| &s.lstm1, |s| &mut s.lstm1),
                Self::module("lstm2", |s| &s.lstm2, |s| &mut s.lstm2),
                Self::module("lstm3", |s| &s.lstm3, |s| &mut s.lstm3),
                Self::module("dense1", |s| &s.dense1, |s| &mut s.dense1),
                Self::module("dense2", |s| &s.dense2, |s| &mut s.dense2),
            ),
            |(lstm1, lstm2, lstm3, dense1, dense2)| LstmModel {
                lstm1,
                lstm2,
                lstm3,
                dense1,
                dense2,
            },
        )
    }
}

impl<const N: usize, E: Dtype, D: Device<E>> LstmModel<N, E, D> {
    /// The reference forward pass from dfdx ops, reading the state at the
    /// last frame (no lengths).
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let x = self.lstm1.try_forward_seq(x)?; // [b, l, 70]
        let x = self.lstm2.try_forward_seq(x)?; // [b, l, 50]
        let h = self.lstm3.try_forward_last(x)?; // [b, 60]
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        self.dense2.try_forward(h) // [b, N]
    }

    /// Keras' initialisers for every layer (see [`crate::init`]).
    pub fn init_keras(&mut self, seed: u64)
    where
        E: num_traits::Float + crate::kernels::Float,
    {
        let mut rng = InitRng::new(seed);
        self.lstm1.init_keras(&mut rng);
        self.lstm2.init_keras(&mut rng);
        self.lstm3.init_keras(&mut rng);
        init_linear_keras(&mut self.dense1, &mut rng);
        init_linear_keras(&mut self.dense2, &mut rng);
    }
}

impl<const N: usize, E: Dtype + crate::kernels::Float> LstmModel<N, E, Cpu>
where
    Cpu: Device<E>,
{
    /// Logits `[batch, N]` of MFCC sequences `[batch, frames, 40]`, the
    /// last layer's state read at each example's last real frame
    /// (`lengths`; `None`: the last frame). Fast kernels.
    pub fn try_forward<T: Tape<E, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, Cpu, T>,
        lengths: Option<&[usize]>,
    ) -> Result<Batch<N, E, Cpu, T>, CpuError> {
        let x = self.lstm1.try_forward_seq_fast(x)?; // [b, l, 70]
        let x = self.lstm2.try_forward_seq_fast(x)?; // [b, l, 50]
        let h = self.lstm3.try_forward_last_fast(x, lengths)?; // [b, 60]
        let h = self.dense1.try_forward(h)?.try_relu()?; // [b, 48]
        self.dense2.try_forward(h) // [b, N]
    }
}

impl<const N: usize> Classifier<N> for LstmModel<N, f32, Cpu> {
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        lengths: &[usize],
        _train: bool,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError> {
        self.try_forward(x, Some(lengths))
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
    fn shapes_parameter_count_and_loss_falls() {
        let dev = Cpu::seed_from_u64(2);
        let mut m = LstmModel::<3, f32, Cpu>::build(&dev);
        let lstm = |i: usize, h: usize| 4 * (i * h + h * h + h); // as Keras counts
        let want = lstm(40, 70) + lstm(70, 50) + lstm(50, 60) + (60 * 48 + 48) + (48 * 3 + 3);
        assert_eq!(m.num_trainable_params(), want);
        let (x, y) = crate::testdata::separable_batch::<3>(&dev, 6, 8);
        assert_eq!(
            *m.try_forward(x.clone(), None).unwrap().shape(),
            (6, Const::<3>)
        );
        let fast = m.try_forward(x.clone(), None).unwrap().as_vec();
        let slow = m.try_forward_reference(x.clone()).unwrap().as_vec();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let losses = crate::testdata::adam_losses::<3, _>(&mut m, &x, &y, 15, 1e-2);
        assert!(
            losses[14] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
