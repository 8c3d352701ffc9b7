//! SpecAugment-style masks of training batches: runs of frames and bands
//! of coefficients set to 0 (the training side's mean, after
//! standardisation), drawn per example from the training loop's seeded
//! generator. No weights: dfdx sees the settings as scalars.

use dfdx::nn::tensor_collection::ScalarOptions;
use dfdx::prelude::*;

use crate::dataset::N_MFCC;
use crate::init::InitRng;
use crate::layers::KerasInit;
use crate::split::SplitMix;

/// How many masks, and how wide at most.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecAugment {
    /// Time masks per training example.
    pub time_masks: usize,
    /// Longest time mask, frames.
    pub time_mask: usize,
    /// Coefficient masks per training example.
    pub coef_masks: usize,
    /// Widest coefficient mask.
    pub coef_mask: usize,
}

impl Default for SpecAugment {
    /// Two runs of up to 12 frames and two bands of up to 5 coefficients
    /// (the README's ablation).
    fn default() -> Self {
        SpecAugment {
            time_masks: 2,
            time_mask: 12,
            coef_masks: 2,
            coef_mask: 5,
        }
    }
}

impl SpecAugment {
    /// Masks each example of `x` (`[b, frames, 40]`) within its real
    /// length (`lengths`; padding is left alone).
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        if frames == 0 {
            return;
        }
        for (e, ex) in x.chunks_exact_mut(frames * N_MFCC).enumerate() {
            let len = lengths.get(e).copied().unwrap_or(frames).min(frames);
            masks(rng, self.time_masks, self.time_mask, len, |t| {
                ex[t * N_MFCC..(t + 1) * N_MFCC].fill(0.0)
            });
            masks(rng, self.coef_masks, self.coef_mask, N_MFCC, |k| {
                ex.iter_mut().skip(k).step_by(N_MFCC).for_each(|v| *v = 0.0)
            });
        }
    }
}

/// Sets up to `masks` runs of at most `widest` consecutive positions of
/// `0..len` to zero, through `set(position)`.
fn masks(rng: &mut SplitMix, masks: usize, widest: usize, len: usize, mut set: impl FnMut(usize)) {
    for _ in 0..masks {
        let w = rng.below(widest + 1).min(len);
        let start = rng.below(len - w + 1);
        (start..start + w).for_each(&mut set);
    }
}

impl<E: Dtype, D: Device<E>> TensorCollection<E, D> for SpecAugment {
    type To<E2: Dtype, D2: Device<E2>> = SpecAugment;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        let d = SpecAugment::default();
        visitor.visit_fields(
            (
                <Self as TensorCollection<E, D>>::scalar(
                    "time_masks",
                    |s| &s.time_masks,
                    |s| &mut s.time_masks,
                    ScalarOptions::from_default(d.time_masks),
                ),
                <Self as TensorCollection<E, D>>::scalar(
                    "time_mask",
                    |s| &s.time_mask,
                    |s| &mut s.time_mask,
                    ScalarOptions::from_default(d.time_mask),
                ),
                <Self as TensorCollection<E, D>>::scalar(
                    "coef_masks",
                    |s| &s.coef_masks,
                    |s| &mut s.coef_masks,
                    ScalarOptions::from_default(d.coef_masks),
                ),
                <Self as TensorCollection<E, D>>::scalar(
                    "coef_mask",
                    |s| &s.coef_mask,
                    |s| &mut s.coef_mask,
                    ScalarOptions::from_default(d.coef_mask),
                ),
            ),
            |(time_masks, time_mask, coef_masks, coef_mask)| SpecAugment {
                time_masks,
                time_mask,
                coef_masks,
                coef_mask,
            },
        )
    }
}

impl KerasInit for SpecAugment {
    fn init_keras(&mut self, _: &mut InitRng) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zeroed frames and coefficients of each of `n` masked examples.
    fn masked(n: usize, frames: usize, len: usize) -> Vec<(Vec<usize>, usize)> {
        let mut x = vec![1f32; n * frames * N_MFCC];
        SpecAugment::default().apply(&mut x, frames, &vec![len; n], &mut SplitMix(3));
        x.chunks_exact(frames * N_MFCC)
            .map(|ex| {
                let zero_frames = (0..frames)
                    .filter(|&t| ex[t * N_MFCC..(t + 1) * N_MFCC].iter().all(|&v| v == 0.0))
                    .collect();
                let zero_coefs = (0..N_MFCC)
                    .filter(|&k| (0..frames).all(|t| ex[t * N_MFCC + k] == 0.0))
                    .count();
                (zero_frames, zero_coefs)
            })
            .collect()
    }

    #[test]
    fn masks_zero_whole_frames_and_coefficients_within_the_real_length() {
        let (frames, len, n) = (60, 40, 400);
        let out = masked(n, frames, len);
        for (zero_frames, zero_coefs) in &out {
            assert!(zero_frames.iter().all(|&t| t < len), "{zero_frames:?}");
            assert!(zero_frames.len() <= 2 * 12, "{zero_frames:?}");
            assert!(*zero_coefs <= 2 * 5, "{zero_coefs}");
        }
        // Masks of uniform width 0..=12 (frames) and 0..=5 (coefficients),
        // two of each: about 11.5 frames and 4.7 coefficients per example
        // after overlaps. A no-op (or a mask of the padding) is far off.
        let frames_mean = out.iter().map(|o| o.0.len()).sum::<usize>() as f64 / n as f64;
        let coefs_mean = out.iter().map(|o| o.1).sum::<usize>() as f64 / n as f64;
        assert!((9.0..=13.0).contains(&frames_mean), "{frames_mean}");
        assert!((3.5..=6.0).contains(&coefs_mean), "{coefs_mean}");
    }
}
