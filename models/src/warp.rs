//! Vocal-tract-length perturbation of training batches in the feature
//! domain (after Jaitly and Hinton, 2013): each chosen example sounds as
//! if a speaker with a vocal tract a few percent shorter or longer had
//! said it, its spectral envelope stretched along frequency by a factor
//! `alpha` (formants at `alpha` times their frequency). Training speakers
//! are few; this draws more voices from them.
//!
//! The stretch is linear in the kept cepstra. With the orthonormal DCT
//! `D` (`[40, n_mels]`) of the feature path, an example's log-mel envelope
//! is `D^T c`; stretched, it is `W_alpha D^T c` (`W_alpha` interpolates
//! each mel band's value from the band at `1 / alpha` its frequency), and
//! back in cepstra `c' = D W_alpha D^T c`: one `[40, 40]` matrix per
//! factor, computed once. Standardised inputs go through the run's
//! standardisation both ways. No weights, no files.

use crate::dataset::N_MFCC;
use crate::split::SplitMix;

/// The warp of training batches: factors, their matrices, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureWarp {
    /// The stretch factors drawn from (uniformly).
    pub factors: Vec<f64>,
    /// One `[40, 40]` matrix per factor (`c' = M c`), stored by columns:
    /// `m[j * 40 + k]` is coefficient `j`'s weight in output `k`.
    pub columns: Vec<Vec<f32>>,
    /// Standardisation of the examples: `x = (mfcc - mean) / std`, `[40]` each.
    pub mean: Vec<f32>,
    /// See `mean`.
    pub std: Vec<f32>,
    /// Share of training examples warped.
    pub p: f64,
}

impl FeatureWarp {
    /// The warp for the feature path whose DCT rows are `dct` (`[40,
    /// n_mels]`, orthonormal) over mel bands centred at `centres_hz`
    /// (ascending), for each of `factors`.
    pub fn new(
        dct: &[f32],
        centres_hz: &[f64],
        factors: Vec<f64>,
        mean: Vec<f32>,
        std: Vec<f32>,
        p: f64,
    ) -> FeatureWarp {
        let columns = factors
            .iter()
            .map(|&a| transpose(&cepstral_matrix(dct, centres_hz, a)))
            .collect();
        FeatureWarp {
            factors,
            columns,
            mean,
            std,
            p,
        }
    }

    /// Warps examples of `x` (`[b, frames, 40]`, standardised; `lengths`
    /// real frames each), each with chance `p`, by a factor drawn for it.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let width = frames * N_MFCC;
        if self.columns.is_empty() || x.len() != lengths.len() * width {
            return;
        }
        for (e, &len) in lengths.iter().enumerate() {
            if rng.unit() >= self.p {
                continue;
            }
            let m = &self.columns[rng.below(self.columns.len())];
            self.warp_example(m, &mut x[e * width..(e + 1) * width], len.min(frames));
        }
    }

    /// Warps every example of `x` (`[b, frames, 40]`, standardised;
    /// `lengths` real frames each) by factor `i` of [`FeatureWarp::factors`]
    /// (no draws: what a test-time warp hears, [`crate::test_warp`]).
    pub fn apply_factor(&self, i: usize, x: &mut [f32], frames: usize, lengths: &[usize]) {
        let width = frames * N_MFCC;
        let Some(m) = self.columns.get(i) else {
            return;
        };
        if x.len() != lengths.len() * width {
            return;
        }
        for (e, &len) in lengths.iter().enumerate() {
            self.warp_example(m, &mut x[e * width..(e + 1) * width], len.min(frames));
        }
    }

    /// The first `len` frames of one example (`[frames, 40]`, standardised)
    /// through the matrix whose columns are `m`.
    fn warp_example(&self, m: &[f32], ex: &mut [f32], len: usize) {
        let mut out = [0f32; N_MFCC];
        for row in ex.chunks_exact_mut(N_MFCC).take(len) {
            // out[k] = sum over j, in order, of M[k][j] * c[j]: column
            // by column, so the inner loop runs over contiguous outputs.
            out.fill(0.0);
            for (j, col) in m.chunks_exact(N_MFCC).enumerate() {
                let cj = row[j] * self.std[j] + self.mean[j];
                out.iter_mut().zip(col).for_each(|(o, &w)| *o += w * cj);
            }
            for (k, v) in row.iter_mut().enumerate() {
                *v = (out[k] - self.mean[k]) / self.std[k];
            }
        }
    }
}

/// `D W_alpha D^T` (`[40, 40]`, row-major) for DCT rows `dct` over bands
/// centred at `centres_hz`.
pub fn cepstral_matrix(dct: &[f32], centres_hz: &[f64], alpha: f64) -> Vec<f32> {
    let n = centres_hz.len();
    let w = stretch(centres_hz, alpha);
    // t = W D^T: [n, 40]
    let mut t = vec![0f64; n * N_MFCC];
    for (m, row) in w.iter().enumerate() {
        for &(j, wt) in row {
            for k in 0..N_MFCC {
                t[m * N_MFCC + k] += wt * f64::from(dct[k * n + j]);
            }
        }
    }
    // D t: [40, 40]
    let mut out = vec![0f32; N_MFCC * N_MFCC];
    for i in 0..N_MFCC {
        for k in 0..N_MFCC {
            let s: f64 = (0..n)
                .map(|m| f64::from(dct[i * n + m]) * t[m * N_MFCC + k])
                .sum();
            out[i * N_MFCC + k] = s as f32;
        }
    }
    out
}

/// A `[40, 40]` matrix's rows as columns.
fn transpose(m: &[f32]) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for i in 0..N_MFCC {
        for k in 0..N_MFCC {
            t[k * N_MFCC + i] = m[i * N_MFCC + k];
        }
    }
    t
}

/// `W_alpha` as sparse rows: band `m` takes the envelope at `centre[m] /
/// alpha`, linearly between the two bands around it (the first or last
/// band beyond the ends).
fn stretch(centres_hz: &[f64], alpha: f64) -> Vec<Vec<(usize, f64)>> {
    let n = centres_hz.len();
    centres_hz
        .iter()
        .map(|&f| {
            let src = f / alpha;
            let hi = centres_hz.partition_point(|&c| c < src);
            if hi == 0 {
                vec![(0, 1.0)]
            } else if hi >= n {
                vec![(n - 1, 1.0)]
            } else {
                let (a, b) = (centres_hz[hi - 1], centres_hz[hi]);
                let u = ((src - a) / (b - a)).clamp(0.0, 1.0);
                vec![(hi - 1, 1.0 - u), (hi, u)]
            }
        })
        .collect()
}

/// The warp's first range: factors 0.9 to 1.1.
pub const FIRST_RANGE: f64 = 0.1;

/// Factors `1 - r` to `1 + r` in steps of 0.01 (the first range's are
/// `factors(0.9, 1.1)`'s, bit for bit).
pub fn factors_within(r: f64) -> Vec<f64> {
    factors(1.0 - r, 1.0 + r)
}

/// Stretch factors from `lo` to `hi` in steps of 0.01 (both included).
pub fn factors(lo: f64, hi: f64) -> Vec<f64> {
    let steps = ((hi - lo) / 0.01).round().max(0.0) as usize;
    (0..=steps).map(|i| lo + 0.01 * i as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::dct_rows;

    const MELS: usize = 128;

    /// Mel-like centres: linear to 1 kHz, then logarithmic to 11 kHz.
    fn centres() -> Vec<f64> {
        (0..MELS)
            .map(|m| {
                let u = m as f64 / (MELS - 1) as f64;
                if u < 0.25 {
                    50.0 + u / 0.25 * 950.0
                } else {
                    1000.0 * 11.0f64.powf((u - 0.25) / 0.75)
                }
            })
            .collect()
    }

    #[test]
    fn the_first_range_keeps_its_factors_and_wider_ones_reach_further() {
        assert_eq!(factors_within(FIRST_RANGE), factors(0.9, 1.1));
        for (r, n, lo, hi) in [(0.15, 31, 0.85, 1.15), (0.2, 41, 0.8, 1.2)] {
            let wide = factors_within(r);
            assert_eq!(wide.len(), n, "{r}");
            assert!((wide[0] - lo).abs() < 1e-12 && (wide[n - 1] - hi).abs() < 1e-12);
            assert!(
                wide.iter().any(|a| (a - 1.0).abs() < 1e-12),
                "{r}: 1 is a factor"
            );
        }
    }

    #[test]
    fn a_factor_of_one_changes_nothing() {
        let m = cepstral_matrix(&dct_rows(MELS), &centres(), 1.0);
        for i in 0..N_MFCC {
            for k in 0..N_MFCC {
                let want = if i == k { 1.0 } else { 0.0 };
                assert!((m[i * N_MFCC + k] - want).abs() < 1e-4, "({i}, {k})");
            }
        }
    }

    #[test]
    fn a_formant_moves_by_the_factor() {
        let (d, c) = (dct_rows(MELS), centres());
        // A smooth envelope (dB): one formant at band 60.
        let env: Vec<f32> = (0..MELS)
            .map(|m| 30.0 * (-((m as f32 - 60.0) / 6.0).powi(2)).exp())
            .collect();
        let cep: Vec<f32> = (0..N_MFCC)
            .map(|k| (0..MELS).map(|m| d[k * MELS + m] * env[m]).sum())
            .collect();
        for alpha in [0.9, 1.1] {
            let w = cepstral_matrix(&d, &c, alpha);
            let out: Vec<f32> = (0..N_MFCC)
                .map(|i| (0..N_MFCC).map(|k| w[i * N_MFCC + k] * cep[k]).sum())
                .collect();
            let back: Vec<f32> = (0..MELS)
                .map(|m| (0..N_MFCC).map(|k| d[k * MELS + m] * out[k]).sum())
                .collect();
            let peak = (0..MELS)
                .max_by(|&a, &b| back[a].total_cmp(&back[b]))
                .unwrap();
            let want = c[60] * alpha;
            let near = (0..MELS)
                .min_by(|&a, &b| (c[a] - want).abs().total_cmp(&(c[b] - want).abs()))
                .unwrap();
            assert!(
                peak.abs_diff(near) <= 1,
                "alpha {alpha}: peak {peak}, want {near}"
            );
            assert!(peak != 60, "alpha {alpha} moved it");
        }
    }

    #[test]
    fn warping_touches_only_chosen_examples_and_real_frames() {
        let (d, c) = (dct_rows(MELS), centres());
        let w = FeatureWarp::new(
            &d,
            &c,
            factors(0.9, 1.1),
            vec![0.5; N_MFCC],
            vec![2.0; N_MFCC],
            1.0,
        );
        assert_eq!(w.factors.len(), 21);
        let frames = 6;
        let mut rng = SplitMix(3);
        let x0: Vec<f32> = (0..2 * frames * N_MFCC)
            .map(|_| rng.unit() as f32 - 0.5)
            .collect();
        let mut x = x0.clone();
        w.apply(&mut x, frames, &[4, 6], &mut SplitMix(9));
        let width = frames * N_MFCC;
        assert_eq!(x[4 * N_MFCC..width], x0[4 * N_MFCC..width], "padding kept");
        assert_ne!(x[..4 * N_MFCC], x0[..4 * N_MFCC]);
        // The column order gives exactly the row-by-row dot products.
        let mut rows = x0.clone();
        let mut r = SplitMix(9);
        for (e, &len) in [4usize, 6].iter().enumerate() {
            assert!(r.unit() < w.p);
            let m = transpose(&w.columns[r.below(w.columns.len())]);
            for row in rows[e * width..(e + 1) * width]
                .chunks_exact_mut(N_MFCC)
                .take(len)
            {
                let c: Vec<f32> = (0..N_MFCC).map(|k| row[k] * w.std[k] + w.mean[k]).collect();
                for (k, v) in row.iter_mut().enumerate() {
                    let dot: f32 = m[k * N_MFCC..(k + 1) * N_MFCC]
                        .iter()
                        .zip(&c)
                        .map(|(a, b)| a * b)
                        .sum();
                    *v = (dot - w.mean[k]) / w.std[k];
                }
            }
        }
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x), bits(&rows));
        let never = FeatureWarp { p: 0.0, ..w };
        let mut y = x0.clone();
        never.apply(&mut y, frames, &[4, 6], &mut SplitMix(9));
        assert_eq!(y, x0);
    }
}
