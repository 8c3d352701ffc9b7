//! Examples as the models take them: equal-length (padded) MFCC sequences
//! with each one's real length, and a class per example.

use dfdx::prelude::*;

use crate::layers::Seq;

/// Coefficients per input frame (40 MFCCs): every model's input width.
pub const N_MFCC: usize = 40;

/// Examples of equal length: `x` is `[n, frames, 40]` row-major; example
/// `e` holds `lengths[e]` real frames, then padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Inputs, `[n, frames, 40]`.
    pub x: Vec<f32>,
    /// Frames per example.
    pub frames: usize,
    /// Class per example.
    pub labels: Vec<usize>,
    /// Real (unpadded) frames per example, each `1..=frames`.
    pub lengths: Vec<usize>,
}

impl Dataset {
    /// Examples with no padding (every length is `frames`).
    pub fn new(x: Vec<f32>, frames: usize, labels: Vec<usize>) -> Dataset {
        let lengths = vec![frames; labels.len()];
        Dataset {
            x,
            frames,
            labels,
            lengths,
        }
    }

    /// Examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples `idx`, `[b, frames, 40]` row-major, and their lengths.
    pub(crate) fn batch_values(&self, idx: &[usize]) -> (Vec<f32>, Vec<usize>) {
        let width = self.frames * N_MFCC;
        let mut v = Vec::with_capacity(idx.len() * width);
        for &i in idx {
            v.extend_from_slice(&self.x[i * width..(i + 1) * width]);
        }
        let lengths = idx
            .iter()
            .map(|&i| self.lengths.get(i).copied().unwrap_or(self.frames))
            .collect();
        (v, lengths)
    }

    /// The examples `idx` as a batch `[b, frames, 40]` and their lengths.
    pub(crate) fn batch(
        &self,
        idx: &[usize],
        dev: &Cpu,
    ) -> (Seq<N_MFCC, f32, Cpu, NoneTape>, Vec<usize>) {
        let (v, lengths) = self.batch_values(idx);
        let shape = (idx.len(), self.frames, Const::<N_MFCC>);
        (dev.tensor_from_vec(v, shape), lengths)
    }
}
