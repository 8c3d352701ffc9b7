//! Babble of training batches in the feature domain: a training example
//! gets the speech of one to four *other examples of the same batch*
//! added at a random SNR, so the network hears emotion under other voices
//! while no clip outside the training side (a test speaker's) is ever
//! mixed in. Waveforms are not at hand here, so the mixing goes through
//! the features: standardised MFCCs are turned back into log-mel (dB) by
//! the transposed orthonormal DCT (the spectral envelope the kept
//! coefficients describe), powers are added, and the sum goes back to
//! MFCCs and the same standardisation ([`crate::envelope`]). The draws are
//! made in order; the mixing runs in parallel over examples. No weights,
//! no files.

use crate::dataset::N_MFCC;
use crate::envelope::{mean_power, Envelope};
use crate::split::SplitMix;
use rayon::prelude::*;

/// How often, how loud and how many talkers.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBabble {
    /// The feature path's DCT and the run's standardisation.
    pub envelope: Envelope,
    /// Share of training examples that get babble.
    pub p: f64,
    /// SNR range, dB (speech over babble).
    pub snr_db: (f64, f64),
    /// Most talkers mixed into one example (at least 1).
    pub talkers: usize,
}

impl FeatureBabble {
    /// Mixes babble into examples of `x` (`[b, frames, 40]`, standardised;
    /// `lengths` real frames each). Talkers are other examples of the
    /// batch, each started at a random frame and looped over the target's
    /// length. A batch of one is left alone. The draws are made in order
    /// from `rng`; the mixing runs in parallel over examples.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let b = lengths.len();
        let width = frames * N_MFCC;
        if b < 2 || frames == 0 || x.len() != b * width || !self.envelope.is_valid() {
            return;
        }
        let len = |e: usize| lengths[e].min(frames);
        let mixes: Vec<Option<Mix>> = (0..b).map(|e| self.draw(e, b, &len, rng)).collect();
        if mixes.iter().all(Option::is_none) {
            return;
        }
        // Powers, `[len, n_mels]`, of every example some mix reads.
        let needed: Vec<bool> = (0..b)
            .map(|e| {
                mixes.iter().enumerate().any(|(t, m)| {
                    m.as_ref()
                        .is_some_and(|m| t == e || m.talkers.iter().any(|&(o, _)| o == e))
                })
            })
            .collect();
        let powers: Vec<Vec<f32>> = (0..b)
            .into_par_iter()
            .map(|e| match needed[e] {
                true => self.envelope.power(&x[e * width..(e + 1) * width], len(e)),
                false => Vec::new(),
            })
            .collect();
        x.par_chunks_mut(width)
            .zip(mixes.par_iter())
            .enumerate()
            .for_each(|(e, (ex, mix))| {
                if let Some(mix) = mix {
                    let mixed = self.mixed(&powers, e, len(e), mix, &len);
                    self.envelope.power_to_features(&mixed, len(e), ex);
                }
            });
    }

    /// What example `e` gets, drawn from `rng`: `None` for no babble.
    fn draw(
        &self,
        e: usize,
        b: usize,
        len: &dyn Fn(usize) -> usize,
        rng: &mut SplitMix,
    ) -> Option<Mix> {
        if rng.unit() >= self.p {
            return None;
        }
        let n = 1 + rng.below(self.talkers.max(1));
        let others: Vec<usize> = (0..n).map(|_| (e + 1 + rng.below(b - 1)) % b).collect();
        let snr_db = rng.uniform(self.snr_db);
        let talkers = others
            .into_iter()
            .map(|o| (o, rng.below(len(o).max(1))))
            .collect();
        Some(Mix { talkers, snr_db })
    }

    /// Power, `[len, n_mels]`, of speech plus babble at the mix's SNR
    /// (mean power over the example's frames and bands).
    fn mixed(
        &self,
        powers: &[Vec<f32>],
        e: usize,
        len: usize,
        mix: &Mix,
        lens: &dyn Fn(usize) -> usize,
    ) -> Vec<f32> {
        let m = self.envelope.n_mels;
        let mut noise = vec![0f32; len * m];
        for &(o, start) in &mix.talkers {
            let olen = lens(o).max(1);
            for t in 0..len {
                let src = (start + t) % olen;
                let row = powers[o].get(src * m..(src + 1) * m).unwrap_or(&[]);
                noise[t * m..(t + 1) * m]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(d, &v)| *d += v);
            }
        }
        let speech = &powers[e];
        let gain =
            mean_power(speech) / (mean_power(&noise).max(1e-30) * 10f64.powf(mix.snr_db / 10.0));
        let gain = gain as f32;
        speech
            .iter()
            .zip(&noise)
            .map(|(s, n)| s + gain * n)
            .collect()
    }
}

/// One example's babble: `(talker, start frame)` each, and the SNR.
#[derive(Debug)]
struct Mix {
    talkers: Vec<(usize, usize)>,
    snr_db: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::tests::{features, square};

    fn babble(p: f64, snr: f64) -> FeatureBabble {
        FeatureBabble {
            envelope: square(),
            p,
            snr_db: (snr, snr),
            talkers: 1,
        }
    }

    #[test]
    fn babble_adds_the_other_examples_power_at_the_snr() {
        // Example 0: flat -20 dB; example 1: flat -40 dB. At 0 dB SNR the
        // babble is scaled to example 0's power: the sum is 3 dB up.
        let b = babble(1.0, 0.0);
        let env = &b.envelope;
        let frames = 4;
        let mut x = features(env, &vec![-20.0; frames * 40], frames);
        x.extend(features(env, &vec![-40.0; frames * 40], frames));
        let before = x.clone();
        b.apply(&mut x, frames, &[frames, frames], &mut SplitMix(1));
        let mel0 = env.log_mel(&x[..frames * N_MFCC], frames);
        let want = -20.0 + 10.0 * 2f32.log10();
        assert!(
            mel0.iter().all(|v| (v - want).abs() < 1e-2),
            "{:?}",
            &mel0[..4]
        );
        // p = 1: the other one gets babble too, from example 0.
        assert_ne!(x[frames * N_MFCC..], before[frames * N_MFCC..]);
    }

    #[test]
    fn off_or_alone_leaves_the_batch_as_it_is() {
        let frames = 2;
        let b = babble(0.0, 5.0);
        let mut x = features(&b.envelope, &vec![-30.0; 2 * frames * 40], 2 * frames);
        let before = x.clone();
        b.apply(&mut x, frames, &[frames, frames], &mut SplitMix(3));
        assert_eq!(x, before);
        let one = babble(1.0, 5.0);
        let mut single = before[..frames * N_MFCC].to_vec();
        one.apply(&mut single, frames, &[frames], &mut SplitMix(3));
        assert_eq!(single, before[..frames * N_MFCC]);
    }
}
