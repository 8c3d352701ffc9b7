//! A random microphone gain for training batches in the feature domain.
//!
//! A gain of `g` dB adds `g` to every log-mel band (dB); the feature
//! path's `top_db` floor is relative to the clip's loudest value, so it
//! moves with it. Through the orthonormal DCT only the first coefficient
//! changes, by `g * sqrt(n_mels)`: a level change is an exact shift of
//! `c0` (up to samples a recorder would clip). Shifting every example by
//! its own random gain takes away what absolute level told the network
//! about a corpus recorded at one level (RAVDESS sits near -50 dBFS;
//! people's recordings do not), and keeps the loudness contour within a
//! clip. No weights, no files.

use crate::dataset::N_MFCC;
use crate::split::SplitMix;

/// The gain of training batches: how far, how often, and what one dB is
/// in the standardised first coefficient.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureGain {
    /// Gains are drawn uniformly from `[-db, db]`.
    pub db: f64,
    /// Share of examples given a gain (1: every one). Below 1, the rest
    /// keep their recorded level, and so what it tells within a corpus
    /// recorded at one level.
    pub share: f64,
    /// One dB of gain in the standardised first coefficient:
    /// `sqrt(n_mels) / std[0]`.
    pub per_db: f32,
}

/// One dB of level in the standardised first coefficient of a feature path
/// with `n_mels` bands (orthonormal DCT) whose first coefficient's standard
/// deviation, in the run's standardisation, is `std0`.
pub fn c0_per_db(n_mels: usize, std0: f32) -> f32 {
    (n_mels as f32).sqrt() / std0
}

impl FeatureGain {
    /// Gains of -`db` to +`db` dB on a share `share` of the examples (1:
    /// every one), for a feature path with `n_mels` bands whose first
    /// coefficient's standard deviation (of the run's standardisation) is
    /// `std0`.
    pub fn new(db: f64, share: f64, n_mels: usize, std0: f32) -> FeatureGain {
        FeatureGain {
            db,
            share,
            per_db: c0_per_db(n_mels, std0),
        }
    }

    /// Shifts the first coefficient of each example of `x` (`[b, frames,
    /// 40]`, standardised; `lengths` real frames each) by a gain drawn for
    /// it (a share [`FeatureGain::share`] of them, drawn first when below
    /// 1); padding frames stay as they are.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let width = frames * N_MFCC;
        if self.db <= 0.0 || x.len() != lengths.len() * width {
            return;
        }
        for (e, &len) in lengths.iter().enumerate() {
            // At a share of 1 nothing is drawn for it: the gains of runs
            // made before the share existed stay as they were.
            if self.share < 1.0 && rng.unit() >= self.share {
                continue;
            }
            let g = (self.db * (2.0 * rng.unit() - 1.0)) as f32;
            let shift = g * self.per_db;
            let ex = &mut x[e * width..(e + 1) * width];
            ex.chunks_exact_mut(N_MFCC)
                .take(len.min(frames))
                .for_each(|row| row[0] += shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_coefficient_of_real_frames_moves_within_the_range() {
        let frames = 5;
        let gain = FeatureGain::new(30.0, 1.0, 128, 200.0);
        let x0: Vec<f32> = (0..3 * frames * N_MFCC).map(|i| (i % 7) as f32).collect();
        let lengths = [5, 3, 0];
        let mut x = x0.clone();
        gain.apply(&mut x, frames, &lengths, &mut SplitMix(9));
        let most = 30.0 * 128f32.sqrt() / 200.0 + 1e-5;
        for (e, &len) in lengths.iter().enumerate() {
            let shifts: Vec<f32> = (0..frames)
                .map(|t| {
                    let i = (e * frames + t) * N_MFCC;
                    assert_eq!(x[i + 1..i + N_MFCC], x0[i + 1..i + N_MFCC]);
                    x[i] - x0[i]
                })
                .collect();
            assert!(shifts[len..].iter().all(|&s| s == 0.0), "padding of {e}");
            if len > 0 {
                // One gain per example, the same on every real frame.
                assert!(shifts[..len].iter().all(|&s| (s - shifts[0]).abs() < 1e-5));
                assert!(shifts[0].abs() <= most && shifts[0] != 0.0, "{shifts:?}");
            }
        }
        // Seeded; other examples get other gains.
        let mut again = x0.clone();
        gain.apply(&mut again, frames, &lengths, &mut SplitMix(9));
        assert_eq!(again, x);
        assert_ne!(x[0] - x0[0], x[frames * N_MFCC] - x0[frames * N_MFCC]);
    }

    #[test]
    fn no_gain_leaves_the_batch_as_it_is() {
        let mut x = vec![1.0f32; 2 * N_MFCC];
        FeatureGain::new(0.0, 1.0, 40, 1.0).apply(&mut x, 2, &[2], &mut SplitMix(1));
        assert_eq!(x, vec![1.0f32; 2 * N_MFCC]);
    }

    #[test]
    fn a_share_leaves_the_rest_at_their_level_and_one_is_every_example() {
        let (frames, b) = (2, 400);
        let lengths = vec![frames; b];
        let x0 = vec![0.5f32; b * frames * N_MFCC];
        let moved = |share: f64, seed: u64| {
            let mut x = x0.clone();
            FeatureGain::new(20.0, share, 128, 100.0).apply(
                &mut x,
                frames,
                &lengths,
                &mut SplitMix(seed),
            );
            (0..b)
                .filter(|e| x[e * frames * N_MFCC] != x0[e * frames * N_MFCC])
                .count()
        };
        assert_eq!(moved(1.0, 3), b);
        let some = moved(0.3, 3);
        assert!((80..=160).contains(&some), "{some} of {b}");
        assert_eq!(moved(0.0, 3), 0);
        // A share of 1 draws exactly what the gain drew before it existed:
        // one uniform per example.
        let mut x = x0.clone();
        let mut rng = SplitMix(5);
        FeatureGain::new(20.0, 1.0, 128, 100.0).apply(&mut x, frames, &lengths, &mut rng);
        let mut alone = SplitMix(5);
        (0..b).for_each(|_| {
            alone.unit();
        });
        assert_eq!(rng.unit(), alone.unit());
    }
}
