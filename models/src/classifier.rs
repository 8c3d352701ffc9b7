//! What the training loop needs of a model.

use dfdx::prelude::*;

use crate::cnn::N_MFCC;
use crate::init::Init;
use crate::layers::{Batch, Seq};

/// A model that maps MFCC sequences to `N` class logits.
pub trait Classifier<const N: usize>: TensorCollection<f32, Cpu> + Clone {
    /// Logits `[batch, N]` of `[batch, frames, 40]` whose examples hold
    /// `lengths[e]` real frames (then padding); `train` enables dropout.
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Seq<N_MFCC, f32, Cpu, T>,
        lengths: &[usize],
        train: bool,
    ) -> Result<Batch<N, f32, Cpu, T>, CpuError>;

    /// Draws every weight again as `init` says, from `seed` (dfdx's own
    /// `build` already gives [`Init::Uniform`]).
    fn initialize(&mut self, init: Init, seed: u64);
}
