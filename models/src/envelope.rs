//! The log-mel envelope that standardised MFCCs describe, and back: the
//! round trip the feature-domain augmentations that mix powers
//! ([`crate::babble`], [`crate::reverb`]) share. With the orthonormal DCT
//! `D` (`[40, n_mels]`) of the feature path, an example's log-mel envelope
//! (dB) is `D^T c` and its cepstra `D m`; inputs go through the run's
//! standardisation both ways.

use crate::dataset::N_MFCC;

/// A feature path's DCT and a run's standardisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Orthonormal DCT-II rows, `[40, n_mels]` (the feature path's).
    pub dct: Vec<f32>,
    /// Mel bands of `dct`.
    pub n_mels: usize,
    /// Standardisation of the examples: `x = (mfcc - mean) / std`, `[40]` each.
    pub mean: Vec<f32>,
    /// See `mean`.
    pub std: Vec<f32>,
}

impl Envelope {
    /// Whether the DCT and standardisation have the shapes 40 coefficients need.
    pub fn is_valid(&self) -> bool {
        self.n_mels > 0
            && self.dct.len() == N_MFCC * self.n_mels
            && self.mean.len() == N_MFCC
            && self.std.len() == N_MFCC
    }

    /// Log-mel (dB), `[len, n_mels]`, of the first `len` frames of one
    /// standardised example (`[frames, 40]`).
    pub fn log_mel(&self, ex: &[f32], len: usize) -> Vec<f32> {
        let m = self.n_mels;
        let mut out = vec![0f32; len * m];
        for (row, dst) in ex.chunks_exact(N_MFCC).zip(out.chunks_exact_mut(m)) {
            for (k, &v) in row.iter().enumerate() {
                let c = v * self.std[k] + self.mean[k];
                let basis = &self.dct[k * m..(k + 1) * m];
                dst.iter_mut().zip(basis).for_each(|(d, &w)| *d += c * w);
            }
        }
        out
    }

    /// Power, `[len, n_mels]`, of the envelope of the first `len` frames.
    pub fn power(&self, ex: &[f32], len: usize) -> Vec<f32> {
        let to_power = std::f32::consts::LN_10 / 10.0;
        let mut mel = self.log_mel(ex, len);
        mel.iter_mut().for_each(|d| *d = (*d * to_power).exp());
        mel
    }

    /// The 40 cepstra `D v` of one frame's log-mel values `v` (dB,
    /// `[n_mels]`), not standardised: a spectrum's coefficients, or a
    /// filter's change to them.
    pub fn cepstra(&self, v: &[f32]) -> Vec<f32> {
        self.dct
            .chunks_exact(self.n_mels)
            .map(|basis| v.iter().zip(basis).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// Writes log-mel (dB) `[len, n_mels]` back as the first `len` frames
    /// of a standardised example (`[frames, 40]`).
    pub fn to_features(&self, mel: &[f32], len: usize, ex: &mut [f32]) {
        for (src, dst) in mel
            .chunks_exact(self.n_mels)
            .take(len)
            .zip(ex.chunks_exact_mut(N_MFCC))
        {
            for (k, (d, c)) in dst.iter_mut().zip(self.cepstra(src)).enumerate() {
                *d = (c - self.mean[k]) / self.std[k];
            }
        }
    }

    /// Writes powers `[len, n_mels]` back as standardised features.
    pub fn power_to_features(&self, power: &[f32], len: usize, ex: &mut [f32]) {
        let mel: Vec<f32> = power.iter().map(|&p| 10.0 * p.max(1e-30).log10()).collect();
        self.to_features(&mel, len, ex);
    }
}

/// Mean of powers, in f64.
pub fn mean_power(v: &[f32]) -> f64 {
    v.iter().map(|&p| p as f64).sum::<f64>() / v.len().max(1) as f64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testdata::dct_rows;

    /// A square (exact) envelope over 40 bands.
    pub(crate) fn square() -> Envelope {
        Envelope {
            dct: dct_rows(40),
            n_mels: 40,
            mean: vec![-100.0; N_MFCC],
            std: vec![50.0; N_MFCC],
        }
    }

    /// Standardised features of log-mel rows (dB) `mel` `[frames, 40]`.
    pub(crate) fn features(env: &Envelope, mel: &[f32], frames: usize) -> Vec<f32> {
        let mut x = vec![0f32; frames * N_MFCC];
        env.to_features(mel, frames, &mut x);
        x
    }

    /// A batch step `apply(p, x, lengths)` switched off (`p` 0) leaves the
    /// one example `x` as it is; switched on, with `real` real frames, it
    /// changes those and leaves the padding after them.
    pub(crate) fn assert_off_and_padding_stay(
        x: &[f32],
        real: usize,
        apply: impl Fn(f64, &mut [f32], &[usize]),
    ) {
        let frames = x.len() / N_MFCC;
        let mut off = x.to_vec();
        apply(0.0, &mut off, &[frames]);
        assert_eq!(off, x);
        let mut short = x.to_vec();
        apply(1.0, &mut short, &[real]);
        assert_ne!(short[..real * N_MFCC], x[..real * N_MFCC]);
        assert_eq!(short[real * N_MFCC..], x[real * N_MFCC..]);
    }

    #[test]
    fn features_round_trip_through_log_mel_and_power() {
        // With as many bands as coefficients the DCT is square: exact.
        let env = square();
        let mel: Vec<f32> = (0..3 * 40).map(|i| -60.0 + (i % 17) as f32).collect();
        let x = features(&env, &mel, 3);
        let back = env.log_mel(&x, 3);
        for (a, c) in mel.iter().zip(&back) {
            assert!((a - c).abs() < 1e-3, "{a} vs {c}");
        }
        let mut again = vec![0f32; x.len()];
        env.power_to_features(&env.power(&x, 3), 3, &mut again);
        for (a, c) in x.iter().zip(&again) {
            assert!((a - c).abs() < 1e-4, "{a} vs {c}");
        }
        assert!(env.is_valid());
    }
}
