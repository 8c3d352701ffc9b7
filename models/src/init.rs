//! Weight initialisation schemes.
//!
//! - [`Init::Keras`] (the default): what Keras gives the paper's layers.
//!   Conv1D and Dense kernels Glorot-uniform, `U(±sqrt(6 / (fan_in +
//!   fan_out)))`, biases zero; LSTM input kernels Glorot-uniform over
//!   `[I, 4H]`, recurrent kernels orthogonal (`[H, 4H]` with orthonormal
//!   rows), biases zero but the forget gate's 1.
//! - [`Init::Uniform`]: dfdx's / PyTorch's `U(±1/sqrt(fan_in))` for every
//!   weight and bias (ser before code version 2), kept for comparison.
//!
//! Orthogonal recurrent weights keep the state's scale over 100+ frames;
//! measured on the paper LSTM, see the README's accuracy notes.

use serde::{Deserialize, Serialize};

use crate::split::SplitMix;

/// How weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Keras' initialisers (Glorot-uniform, orthogonal recurrent, zero biases).
    #[default]
    Keras,
    /// `U(±1/sqrt(fan_in))` everywhere (dfdx / PyTorch).
    Uniform,
}

impl std::str::FromStr for Init {
    type Err = String;

    /// Parses `keras` or `uniform`.
    fn from_str(s: &str) -> Result<Init, String> {
        match s {
            "keras" => Ok(Init::Keras),
            "uniform" => Ok(Init::Uniform),
            _ => Err(format!("unknown init `{s}`: use keras or uniform")),
        }
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Init {
    /// The name [`FromStr`](std::str::FromStr) accepts.
    pub fn name(self) -> &'static str {
        match self {
            Init::Keras => "keras",
            Init::Uniform => "uniform",
        }
    }
}

/// A seeded source of the random numbers initialisers draw.
pub struct InitRng(SplitMix);

impl InitRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> InitRng {
        InitRng(SplitMix(seed ^ 0x5eed_1417_0000_0001))
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `n` values of Glorot-uniform for the given fans.
    pub fn glorot(&mut self, n: usize, fan_in: usize, fan_out: usize) -> Vec<f64> {
        let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
        (0..n)
            .map(|_| (2.0 * self.uniform() - 1.0) * limit)
            .collect()
    }

    /// A `rows x cols` matrix (row-major) with orthonormal rows when
    /// `rows <= cols` (orthonormal columns otherwise), as Keras'
    /// `Orthogonal`: QR of a Gaussian matrix, signs fixed by `diag(R)`.
    pub fn orthogonal(&mut self, rows: usize, cols: usize) -> Vec<f64> {
        // Orthonormalise the shorter side's vectors (modified Gram-Schmidt,
        // which is QR with a positive diagonal).
        let (n, len) = if rows <= cols {
            (rows, cols)
        } else {
            (cols, rows)
        };
        let mut v: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..len).map(|_| self.normal()).collect())
            .collect();
        for i in 0..n {
            let (done, rest) = v.split_at_mut(i);
            let vi = &mut rest[0];
            for vj in done.iter() {
                let d: f64 = vi.iter().zip(vj).map(|(a, b)| a * b).sum();
                for (a, b) in vi.iter_mut().zip(vj) {
                    *a -= d * b;
                }
            }
            let norm = vi
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            for x in vi.iter_mut() {
                *x /= norm;
            }
        }
        let mut out = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                out[r * cols + c] = if rows <= cols { v[r][c] } else { v[c][r] };
            }
        }
        out
    }
}

/// Converts f64 values to a layer's element type.
pub(crate) fn cast<E: num_traits::Float>(v: Vec<f64>) -> Vec<E> {
    v.into_iter()
        .map(|x| E::from(x).unwrap_or_else(E::zero))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        let mut rng = InitRng::new(3);
        let (h, g4) = (7, 28);
        let w = rng.orthogonal(h, g4);
        for a in 0..h {
            for b in 0..h {
                let d: f64 = (0..g4).map(|k| w[a * g4 + k] * w[b * g4 + k]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-12, "rows {a}, {b}: {d}");
            }
        }
        let tall = rng.orthogonal(6, 3);
        for a in 0..3 {
            let d: f64 = (0..6).map(|k| tall[k * 3 + a] * tall[k * 3 + a]).sum();
            assert!((d - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn glorot_stays_in_its_limit_and_seeds_repeat() {
        let mut rng = InitRng::new(1);
        let v = rng.glorot(1000, 40, 280);
        let limit = (6.0f64 / 320.0).sqrt();
        assert!(v.iter().all(|x| x.abs() <= limit));
        assert!(v.iter().any(|x| x.abs() > 0.9 * limit));
        assert_eq!(InitRng::new(1).glorot(5, 40, 280), v[..5]);
    }
}
