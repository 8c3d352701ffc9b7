//! Babble of training batches in the feature domain: a training example
//! gets the speech of one to four *other examples of the same batch*
//! added at a random SNR, so the network hears emotion under other voices
//! while no clip outside the training side (a test speaker's) is ever
//! mixed in. Waveforms are not at hand here, so the mixing goes through
//! the features: standardised MFCCs are turned back into log-mel (dB) by
//! the transposed orthonormal DCT (the spectral envelope the kept
//! coefficients describe), powers are added, and the sum goes back to
//! MFCCs and the same standardisation. No weights, no files.

use crate::dataset::N_MFCC;
use crate::split::SplitMix;

/// How often, how loud and how many talkers.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBabble {
    /// Orthonormal DCT-II rows, `[40, n_mels]` (the feature path's).
    pub dct: Vec<f32>,
    /// Mel bands of `dct`.
    pub n_mels: usize,
    /// Standardisation of the examples: `x = (mfcc - mean) / std`, `[40]` each.
    pub mean: Vec<f32>,
    /// See `mean`.
    pub std: Vec<f32>,
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
    /// length. A batch of one is left alone.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let b = lengths.len();
        let width = frames * N_MFCC;
        if b < 2 || frames == 0 || x.len() != b * width || self.dct.len() != N_MFCC * self.n_mels {
            return;
        }
        let mels: Vec<Vec<f32>> = (0..b)
            .map(|e| self.log_mel(&x[e * width..(e + 1) * width], lengths[e].min(frames)))
            .collect();
        for e in 0..b {
            if rng.unit() >= self.p {
                continue;
            }
            let len = lengths[e].min(frames);
            let talkers = 1 + rng.below(self.talkers.max(1));
            let others: Vec<usize> = (0..talkers)
                .map(|_| (e + 1 + rng.below(b - 1)) % b)
                .collect();
            let snr = self.snr_db.0 + rng.unit() * (self.snr_db.1 - self.snr_db.0);
            let noise = self.babble_power(&mels, &others, lengths, frames, len, rng);
            let speech: Vec<f64> = mels[e].iter().map(|&d| db_to_power(d)).collect();
            let gain = mean(&speech) / (mean(&noise).max(1e-30) * 10f64.powf(snr / 10.0));
            let mixed: Vec<f32> = speech
                .iter()
                .zip(&noise)
                .map(|(s, n)| (10.0 * (s + gain * n).max(1e-30).log10()) as f32)
                .collect();
            self.to_features(&mixed, len, &mut x[e * width..(e + 1) * width]);
        }
    }

    /// Log-mel (dB), `[len, n_mels]`, of the first `len` frames of one
    /// standardised example.
    fn log_mel(&self, ex: &[f32], len: usize) -> Vec<f32> {
        let m = self.n_mels;
        let mut out = vec![0f32; len * m];
        for t in 0..len {
            let row = &ex[t * N_MFCC..(t + 1) * N_MFCC];
            let dst = &mut out[t * m..(t + 1) * m];
            for (k, &v) in row.iter().enumerate() {
                let c = v * self.std[k] + self.mean[k];
                let basis = &self.dct[k * m..(k + 1) * m];
                dst.iter_mut().zip(basis).for_each(|(d, &w)| *d += c * w);
            }
        }
        out
    }

    /// Summed power, `[len, n_mels]`, of `others` each from a random start.
    fn babble_power(
        &self,
        mels: &[Vec<f32>],
        others: &[usize],
        lengths: &[usize],
        frames: usize,
        len: usize,
        rng: &mut SplitMix,
    ) -> Vec<f64> {
        let m = self.n_mels;
        let mut sum = vec![0f64; len * m];
        for &o in others {
            let olen = lengths[o].min(frames).max(1);
            let start = rng.below(olen);
            for t in 0..len {
                let src = (start + t) % olen;
                let row = &mels[o][src * m..(src + 1) * m];
                let dst = &mut sum[t * m..(t + 1) * m];
                dst.iter_mut()
                    .zip(row)
                    .for_each(|(d, &v)| *d += db_to_power(v));
            }
        }
        sum
    }

    /// Writes log-mel `[len, n_mels]` back as standardised MFCCs.
    fn to_features(&self, mel: &[f32], len: usize, ex: &mut [f32]) {
        let m = self.n_mels;
        for t in 0..len {
            let src = &mel[t * m..(t + 1) * m];
            for k in 0..N_MFCC {
                let basis = &self.dct[k * m..(k + 1) * m];
                let c: f32 = src.iter().zip(basis).map(|(a, b)| a * b).sum();
                ex[t * N_MFCC + k] = (c - self.mean[k]) / self.std[k];
            }
        }
    }
}

fn db_to_power(d: f32) -> f64 {
    10f64.powf(d as f64 / 10.0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::dct_rows;

    fn babble(p: f64, snr: f64) -> FeatureBabble {
        FeatureBabble {
            dct: dct_rows(40),
            n_mels: 40,
            mean: vec![-100.0; N_MFCC],
            std: vec![50.0; N_MFCC],
            p,
            snr_db: (snr, snr),
            talkers: 1,
        }
    }

    /// Standardised MFCCs of log-mel rows (dB) `mel` `[frames, 40]`.
    fn features(b: &FeatureBabble, mel: &[f32], frames: usize) -> Vec<f32> {
        let mut x = vec![0f32; frames * N_MFCC];
        b.to_features(mel, frames, &mut x);
        x
    }

    #[test]
    fn features_round_trip_through_log_mel() {
        // With as many bands as coefficients the DCT is square: exact.
        let b = babble(1.0, 10.0);
        let mel: Vec<f32> = (0..3 * 40).map(|i| -60.0 + (i % 17) as f32).collect();
        let x = features(&b, &mel, 3);
        let back = b.log_mel(&x, 3);
        for (a, c) in mel.iter().zip(&back) {
            assert!((a - c).abs() < 1e-3, "{a} vs {c}");
        }
    }

    #[test]
    fn babble_adds_the_other_examples_power_at_the_snr() {
        // Example 0: flat -20 dB; example 1: flat -40 dB. At 0 dB SNR the
        // babble is scaled to example 0's power: the sum is 3 dB up.
        let b = babble(1.0, 0.0);
        let frames = 4;
        let mut x = features(&b, &vec![-20.0; frames * 40], frames);
        x.extend(features(&b, &vec![-40.0; frames * 40], frames));
        let before = x.clone();
        b.apply(&mut x, frames, &[frames, frames], &mut SplitMix(1));
        let mel0 = b.log_mel(&x[..frames * N_MFCC], frames);
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
        let mut x = features(&b, &vec![-30.0; 2 * frames * 40], 2 * frames);
        let before = x.clone();
        b.apply(&mut x, frames, &[frames, frames], &mut SplitMix(3));
        assert_eq!(x, before);
        let one = babble(1.0, 5.0);
        let mut single = before[..frames * N_MFCC].to_vec();
        one.apply(&mut single, frames, &[frames], &mut SplitMix(3));
        assert_eq!(single, before[..frames * N_MFCC]);
    }
}
