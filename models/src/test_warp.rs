//! A test-time warp: a model answers for a clip as it is and as if a
//! speaker with a shorter and a longer vocal tract had said it, and its
//! probabilities are the mean of the three.
//!
//! The warp is the one training draws from ([`crate::warp`]: the clip's
//! spectral envelope stretched along frequency, one `[40, 40]` matrix per
//! factor on the kept cepstra), at two fixed factors, `1 - r` and `1 + r`.
//! A model that trained with the warp has heard such voices; averaging
//! over them makes its answer depend less on where one speaker's formants
//! happen to sit. It costs three forward passes per clip at inference and
//! nothing in training: no weights, no draws, no files.

use crate::dataset::Dataset;
use crate::envelope::Envelope;
use crate::warp::FeatureWarp;
use crate::zoo::{ModelError, Net};

/// The factors and matrices of a test-time warp of range `r`, for one
/// standardisation.
#[derive(Debug, Clone, PartialEq)]
pub struct TestWarp {
    warp: FeatureWarp,
}

impl TestWarp {
    /// The warp by `1 - range` and `1 + range` in the feature path and
    /// standardisation `env` (its DCT, `[40, n_mels]`, over mel bands
    /// centred at `centres_hz`).
    pub fn new(env: &Envelope, centres_hz: &[f64], range: f64) -> TestWarp {
        let factors = vec![1.0 - range, 1.0 + range];
        TestWarp {
            warp: FeatureWarp::new(
                &env.dct,
                centres_hz,
                factors,
                env.mean.clone(),
                env.std.clone(),
                1.0,
            ),
        }
    }

    /// The warped factors (the clip as it is, factor 1, is heard too).
    pub fn factors(&self) -> &[f64] {
        &self.warp.factors
    }

    /// Each factor's matrix `W` in raw coefficients, `[40, 40]` row-major,
    /// so that a frame `c` (`[40]`, a row) becomes `c W`: what an exported
    /// graph multiplies by.
    pub fn row_matrices(&self) -> &[Vec<f32>] {
        &self.warp.columns
    }

    /// `data` with every example warped by factor `i` (real frames only;
    /// padding kept).
    pub fn warped(&self, data: &Dataset, i: usize) -> Dataset {
        let mut out = data.clone();
        self.warp
            .apply_factor(i, &mut out.x, data.frames, &data.lengths);
        out
    }

    /// `data` warped by each factor in turn: the versions a model hears
    /// besides `data` itself. Computed once per set of examples, whatever
    /// the number of models that answer for them.
    pub fn warped_versions(&self, data: &Dataset) -> Vec<Dataset> {
        (0..self.factors().len())
            .map(|i| self.warped(data, i))
            .collect()
    }
}

/// Class probabilities of every example of `data` (one row each): `net`'s
/// own, or the mean over `data` and its `warped` versions
/// ([`TestWarp::warped_versions`]; none: `net`'s own), summed in that
/// order and divided by their number.
pub fn predict_heard(
    net: &dyn Net,
    data: &Dataset,
    warped: &[Dataset],
    batch_size: usize,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let mut probs = net.predict(data, batch_size)?;
    if warped.is_empty() {
        return Ok(probs);
    }
    for version in warped {
        let p = net.predict(version, batch_size)?;
        for (acc, row) in probs.iter_mut().zip(&p) {
            acc.iter_mut().zip(row).for_each(|(a, q)| *a += q);
        }
    }
    let n = (1 + warped.len()) as f32;
    for row in &mut probs {
        row.iter_mut().for_each(|a| *a /= n);
    }
    Ok(probs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::N_MFCC;
    use crate::testdata::dct_rows;
    use crate::zoo::{build, ModelKind};
    use crate::{Init, SplitMix};

    const MELS: usize = 128;

    fn centres() -> Vec<f64> {
        (0..MELS).map(|m| 40.0 + 85.0 * m as f64).collect()
    }

    fn warp() -> TestWarp {
        let env = Envelope {
            dct: dct_rows(MELS),
            n_mels: MELS,
            mean: vec![0.3; N_MFCC],
            std: vec![1.5; N_MFCC],
        };
        TestWarp::new(&env, &centres(), 0.1)
    }

    fn data(frames: usize, lengths: Vec<usize>) -> Dataset {
        let mut rng = SplitMix(5);
        let x = (0..lengths.len() * frames * N_MFCC)
            .map(|_| rng.unit() as f32 * 2.0 - 1.0)
            .collect();
        Dataset {
            x,
            frames,
            labels: vec![0; lengths.len()],
            lengths,
        }
    }

    #[test]
    fn the_factors_are_one_minus_and_one_plus_the_range() {
        let w = warp();
        assert_eq!(w.factors(), &[0.9, 1.1]);
        assert_eq!(w.warped_versions(&data(4, vec![4])).len() + 1, 3);
        assert_eq!(w.row_matrices().len(), 2);
        assert!(w.row_matrices().iter().all(|m| m.len() == N_MFCC * N_MFCC));
    }

    #[test]
    fn a_warped_version_keeps_the_padding_and_matches_the_raw_matrix() {
        let w = warp();
        let d = data(8, vec![5, 8]);
        let v = w.warped(&d, 1);
        let width = 8 * N_MFCC;
        assert_eq!(v.x[5 * N_MFCC..width], d.x[5 * N_MFCC..width], "padding");
        assert_ne!(v.x[..5 * N_MFCC], d.x[..5 * N_MFCC]);
        // Raw coefficients times the row matrix, standardised again: what
        // an exported graph computes.
        let m = &w.row_matrices()[1];
        for t in 0..5 {
            let row = &d.x[t * N_MFCC..(t + 1) * N_MFCC];
            let c: Vec<f32> = row.iter().map(|v| v * 1.5 + 0.3).collect();
            for k in 0..N_MFCC {
                let out: f32 = (0..N_MFCC).map(|j| c[j] * m[j * N_MFCC + k]).sum();
                let want = (out - 0.3) / 1.5;
                let got = v.x[t * N_MFCC + k];
                assert!((got - want).abs() < 1e-4, "frame {t}, {k}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn heard_probabilities_are_the_mean_over_the_versions() {
        let net = build(ModelKind::SiCnn, 4, 5, 0, 7, Init::default()).unwrap();
        let (w, d) = (warp(), data(16, vec![16, 9, 12]));
        let alone = predict_heard(net.as_ref(), &d, &[], 2).unwrap();
        assert_eq!(alone, net.predict(&d, 2).unwrap(), "no warp: the net's own");
        let heard = predict_heard(net.as_ref(), &d, &w.warped_versions(&d), 2).unwrap();
        let versions = [
            alone.clone(),
            net.predict(&w.warped(&d, 0), 2).unwrap(),
            net.predict(&w.warped(&d, 1), 2).unwrap(),
        ];
        for (e, row) in heard.iter().enumerate() {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "example {e} sums to {sum}");
            for (c, p) in row.iter().enumerate() {
                let want = (versions[0][e][c] + versions[1][e][c] + versions[2][e][c]) / 3.0;
                assert_eq!(p.to_bits(), want.to_bits(), "example {e}, class {c}");
            }
        }
        assert_ne!(heard, alone, "the warped versions count");
    }
}
