//! The paper's 1-D CNN: Conv1D 1024 -> 512 -> 256 -> 128 (kernel `K`, same
//! padding, ReLU), each followed by MaxPool1D(2); GlobalAveragePooling1D;
//! Dense 64 ReLU; Dropout; Dense `N` (logits).

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;

use crate::classifier::Classifier;
use crate::init::{Init, InitRng};
use crate::layers::{global_avg_pool1d, init_linear_keras, max_pool1d, Batch, Conv1D, Seq};

/// Coefficients per input frame (40 MFCCs).
pub const N_MFCC: usize = 40;

/// Training-time settings of the CNN that are not part of its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CnnConfig {
    /// Dropout before the last layer (the paper: 0.2).
    pub dropout: f64,
    /// Max-pool window after each convolution (the paper: 2).
    pub pool: usize,
}

impl Default for CnnConfig {
    fn default() -> Self {
        CnnConfig {
            dropout: 0.2,
            pool: 2,
        }
    }
}

impl CnnConfig {
    /// Fewest frames an input needs: each pool halves the sequence.
    pub fn min_frames(&self) -> usize {
        self.pool.max(1).pow(4)
    }
}

/// The CNN's weights: `N` classes, kernel width `K`.
#[derive(Debug, Clone)]
pub struct Cnn<const N: usize, const K: usize, E: Dtype, D: Storage<E>> {
    /// 40 -> 1024.
    pub conv1: Conv1D<N_MFCC, 1024, K, E, D>,
    /// 1024 -> 512.
    pub conv2: Conv1D<1024, 512, K, E, D>,
    /// 512 -> 256.
    pub conv3: Conv1D<512, 256, K, E, D>,
    /// 256 -> 128.
    pub conv4: Conv1D<256, 128, K, E, D>,
    /// Dense 64.
    pub dense1: Linear<128, 64, E, D>,
    /// Dense N (logits).
    pub dense2: Linear<64, N, E, D>,
}

impl<const N: usize, const K: usize, E, D> TensorCollection<E, D> for Cnn<N, K, E, D>
where
    E: Dtype + num_traits::Float + rand_distr::uniform::SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Cnn<N, K, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("conv1", |s| &s.conv1, |s| &mut s.conv1),
                Self::module("conv2", |s| &s.conv2, |s| &mut s.conv2),
                Self::module("conv3", |s| &s.conv3, |s| &mut s.conv3),
                Self::module("conv4", |s| &s.conv4, |s| &mut s.conv4),
                Self::module("dense1", |s| &s.dense1, |s| &mut s.dense1),
                Self::module("dense2", |s| &s.dense2, |s| &mut s.dense2),
            ),
            |(conv1, conv2, conv3, conv4, dense1, dense2)| Cnn {
                conv1,
                conv2,
                conv3,
                conv4,
                dense1,
                dense2,
            },
        )
    }
}

impl<const N: usize, const K: usize, E: Dtype, D: Device<E>> Cnn<N, K, E, D> {
    /// The reference forward pass from dfdx ops (conv, ReLU and pool as
    /// separate ops); [`Cnn::try_forward`] must give the same logits.
    pub fn try_forward_reference<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, D, T>,
        cfg: &CnnConfig,
        train: bool,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let x = max_pool1d(self.conv1.try_forward(x)?.try_relu()?, cfg.pool)?; // [b, l/2, 1024]
        let x = max_pool1d(self.conv2.try_forward(x)?.try_relu()?, cfg.pool)?; // [b, l/4, 512]
        let x = max_pool1d(self.conv3.try_forward(x)?.try_relu()?, cfg.pool)?; // [b, l/8, 256]
        let x = max_pool1d(self.conv4.try_forward(x)?.try_relu()?, cfg.pool)?; // [b, l/16, 128]
        self.head(x, cfg, train)
    }

    /// Global average pool, Dense 64 ReLU, dropout, Dense N.
    fn head<T: Tape<E, D> + Merge<T>>(
        &self,
        x: Seq<128, E, D, T>,
        cfg: &CnnConfig,
        train: bool,
    ) -> Result<Batch<N, E, D, T>, D::Err> {
        let x = global_avg_pool1d(x)?; // [b, 128]
        let x = self.dense1.try_forward(x)?.try_relu()?; // [b, 64]
        let x = if train && cfg.dropout > 0.0 {
            x.try_dropout(cfg.dropout)?
        } else {
            x
        };
        self.dense2.try_forward(x) // [b, N]
    }

    /// Keras' initialisers for every layer (see [`crate::init`]).
    pub fn init_keras(&mut self, seed: u64)
    where
        E: num_traits::Float + crate::kernels::Float,
    {
        let mut rng = InitRng::new(seed);
        self.conv1.init_keras(&mut rng);
        self.conv2.init_keras(&mut rng);
        self.conv3.init_keras(&mut rng);
        self.conv4.init_keras(&mut rng);
        init_linear_keras(&mut self.dense1, &mut rng);
        init_linear_keras(&mut self.dense2, &mut rng);
    }
}

impl<const N: usize, const K: usize, E: Dtype + crate::kernels::Float> Cnn<N, K, E, Cpu>
where
    Cpu: Device<E>,
{
    /// Logits `[batch, N]` of MFCC sequences `[batch, frames, 40]`; dropout
    /// only when `train` is set. Inputs need [`CnnConfig::min_frames`]
    /// frames. Each conv + ReLU + pool is one fused op (the fast kernels).
    pub fn try_forward<T: Tape<E, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, E, Cpu, T>,
        cfg: &CnnConfig,
        train: bool,
    ) -> Result<Batch<N, E, Cpu, T>, CpuError> {
        let x = self.conv1.try_forward_block(x, cfg.pool, false)?; // [b, l/2, 1024]
        let x = self.conv2.try_forward_block(x, cfg.pool, true)?; // [b, l/4, 512]
        let x = self.conv3.try_forward_block(x, cfg.pool, true)?; // [b, l/8, 256]
        let x = self.conv4.try_forward_block(x, cfg.pool, true)?; // [b, l/16, 128]
        self.head(x, cfg, train)
    }
}

impl<const N: usize, const K: usize> Classifier<N> for Cnn<N, K, f32, Cpu> {
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        _lengths: &[usize],
        train: bool,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError> {
        self.try_forward(x, &CnnConfig::default(), train)
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

    type Dev = Cpu;

    #[test]
    fn shapes_and_parameter_count() {
        let dev = Dev::seed_from_u64(0);
        let cnn = Cnn::<14, 5, f32, Dev>::build(&dev);
        let x: Seq<N_MFCC, f32, Dev, NoneTape> = dev.sample_normal_like(&(3, 130, Const::<N_MFCC>));
        let y = cnn.try_forward(x, &CnnConfig::default(), false).unwrap();
        assert_eq!(*y.shape(), (3, Const::<14>));
        let convs = 5 * (40 * 1024 + 1024 * 512 + 512 * 256 + 256 * 128) + 1024 + 512 + 256 + 128;
        let dense = 128 * 64 + 64 + 64 * 14 + 14;
        assert_eq!(cnn.num_trainable_params(), convs + dense);
    }

    #[test]
    fn fused_forward_matches_the_reference_ops() {
        let dev = Dev::seed_from_u64(4);
        let mut cnn = Cnn::<14, 5, f32, Dev>::build(&dev);
        cnn.init_keras(4);
        let x: Seq<N_MFCC, f32, Dev, NoneTape> = dev.sample_normal_like(&(2, 37, Const::<N_MFCC>));
        let cfg = CnnConfig::default();
        let fast = cnn.try_forward(x.clone(), &cfg, false).unwrap().as_vec();
        let slow = cnn.try_forward_reference(x, &cfg, false).unwrap().as_vec();
        let scale = slow.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-5 * scale, "{a} vs {b}");
        }
    }

    #[test]
    fn adam_steps_reduce_the_loss_on_a_separable_batch() {
        let dev = Dev::seed_from_u64(1);
        let mut cnn = Cnn::<3, 3, f32, Dev>::build(&dev);
        let (x, y) = crate::testdata::separable_batch::<3>(&dev, 6, 16);
        let losses = crate::testdata::adam_losses::<3, _>(&mut cnn, &x, &y, 12, 1e-3);
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(
            losses[11] < 0.5 * losses[0],
            "loss did not fall: {losses:?}"
        );
    }
}
