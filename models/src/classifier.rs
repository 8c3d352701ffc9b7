//! What the training loop needs of a model.

use dfdx::prelude::*;

use crate::dataset::N_MFCC;
use crate::init::{Init, InitRng};
use crate::layers::KerasInit;
use crate::layers::{Logits, Seq};
use crate::split::SplitMix;

/// The tapes a forward pass runs on: none (inference) or one that
/// records (training, gradient checks).
pub trait ModelTape: Tape<f32, Cpu> + Merge<Self> {}
impl<T: Tape<f32, Cpu> + Merge<T>> ModelTape for T {}

/// A model's input: MFCC sequences `[batch, frames, 40]`.
pub type Input<T> = Seq<N_MFCC, f32, Cpu, T>;
/// A model's logits `[batch, classes]`, or why the forward pass failed.
pub type Output<T> = Result<Logits<f32, Cpu, T>, CpuError>;

/// The tape of a training step.
pub type Owned = OwnedTape<f32, Cpu>;

/// A model that maps MFCC sequences to class logits; the number of
/// classes is the model's own (its head's width, chosen at run time).
pub trait Classifier: TensorCollection<f32, Cpu> + KerasInit + Clone {
    /// Classes the head predicts.
    fn classes(&self) -> usize;

    /// Logits `[batch, classes]` of `[batch, frames, 40]` whose examples
    /// hold `lengths[e]` real frames (then padding); `train` enables
    /// dropout. Layers with running statistics (batch norm) use them here.
    fn logits<T: ModelTape>(&self, x: Input<T>, lengths: &[usize], train: bool) -> Output<T>;

    /// Logits of a training step: dropout on, batch norm on the batch's
    /// statistics (updating the running ones). Models without such layers
    /// keep the default, [`Classifier::logits`] with `train` set.
    fn train_logits(&mut self, x: Input<Owned>, lengths: &[usize]) -> Output<Owned> {
        self.logits(x, lengths, true)
    }

    /// Changes a training batch `[b, frames, 40]` in place before the step
    /// (data augmentation); the default leaves it as it is.
    fn augment(&self, _x: &mut [f32], _frames: usize, _lengths: &[usize], _rng: &mut SplitMix) {}

    /// Draws every weight again as `init` says, from `seed` (the model's
    /// constructor already gives [`Init::Uniform`]).
    fn initialize(&mut self, init: Init, seed: u64) {
        if init == Init::Keras {
            self.init_keras(&mut InitRng::new(seed));
        }
    }
}
