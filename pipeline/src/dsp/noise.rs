//! Seeded noise for the `noisy` variant.
//!
//! The generator ([`super::rng`]) is our own so that a clip's noise depends
//! only on (seed, clip id) and never changes with a dependency upgrade:
//! the feature-set id hashes the config, not the versions of our crates.

use serde::{Deserialize, Serialize};

use super::rng::{fnv1a, Rng};

/// How the noisy copy of a clip is made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NoiseConfig {
    /// Additive Gaussian noise of amplitude `amplitude * U(0,1) * max|x|`
    /// (the rule of the Kaggle notebooks the paper follows).
    Gaussian {
        /// Scale of the amplitude (default 0.035).
        amplitude: f32,
    },
    /// Additive white Gaussian noise at a fixed signal-to-noise ratio.
    Snr {
        /// Signal-to-noise ratio in dB.
        db: f32,
    },
}

/// The largest `gaussian:AMP` (noise up to ten times the clip's peak).
pub const AMPLITUDE_MAX: f32 = 10.0;
/// The signal-to-noise ratios `snr:DB` takes, dB.
pub const SNR_DB: std::ops::RangeInclusive<f32> = -60.0..=120.0;

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig::Gaussian { amplitude: 0.035 }
    }
}

impl std::str::FromStr for NoiseConfig {
    type Err = String;

    /// Parses `gaussian`, `gaussian:0.035` or `snr:20`.
    fn from_str(s: &str) -> Result<NoiseConfig, String> {
        let (kind, value) = match s.split_once(':') {
            Some((k, v)) => (k, Some(v)),
            None => (s, None),
        };
        let num = |v: Option<&str>, default: Option<f32>| -> Result<f32, String> {
            match (v, default) {
                (Some(v), _) => v
                    .parse::<f32>()
                    .map_err(|_| format!("`{v}` is not a number")),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(format!("`{kind}` needs a value, e.g. {kind}:20")),
            }
        };
        let cfg = match kind {
            "gaussian" => NoiseConfig::Gaussian {
                amplitude: num(value, Some(0.035))?,
            },
            "snr" => NoiseConfig::Snr {
                db: num(value, None)?,
            },
            _ => return Err(format!("unknown noise `{s}`: use gaussian[:AMP] or snr:DB")),
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

impl std::fmt::Display for NoiseConfig {
    /// The spelling [`FromStr`](std::str::FromStr) accepts, e.g. `gaussian:0.035`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            NoiseConfig::Gaussian { amplitude } => write!(f, "gaussian:{amplitude}"),
            NoiseConfig::Snr { db } => write!(f, "snr:{db}"),
        }
    }
}

impl NoiseConfig {
    /// Checks the values are in [`AMPLITUDE_MAX`] / [`SNR_DB`], so a noisy
    /// copy is always finite (`snr:-1000` made it infinite).
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            NoiseConfig::Gaussian { amplitude } if !(0.0..=AMPLITUDE_MAX).contains(&amplitude) => {
                Err(format!(
                    "noise amplitude must be in 0..={AMPLITUDE_MAX}, got {amplitude}"
                ))
            }
            NoiseConfig::Snr { db } if !SNR_DB.contains(&db) => Err(format!(
                "snr must be in {}..={} dB, got {db}",
                SNR_DB.start(),
                SNR_DB.end()
            )),
            _ => Ok(()),
        }
    }

    /// Returns `x` plus noise drawn from a generator seeded by (`seed`, `key`).
    pub fn apply(&self, x: &[f32], seed: u64, key: &str) -> Vec<f32> {
        let mut rng = Rng::new(seed ^ fnv1a(key.as_bytes()));
        let scale = match *self {
            NoiseConfig::Gaussian { amplitude } => {
                let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                amplitude as f64 * rng.uniform() * peak as f64
            }
            NoiseConfig::Snr { db } => {
                let power =
                    x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len().max(1) as f64;
                (power / 10f64.powf(db as f64 / 10.0)).sqrt()
            }
        };
        let mut out = vec![0f32; x.len()];
        rng.fill_normal(&mut out, |i, z| x[i] + (scale * z) as f32);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone() -> Vec<f32> {
        (0..20001).map(|i| 0.5 * (i as f32 * 0.01).sin()).collect()
    }

    #[test]
    fn regression_extreme_noise_is_refused_and_allowed_noise_stays_finite() {
        for bad in [
            "snr:-1000",
            "snr:1e30",
            "gaussian:1e30",
            "gaussian:-1",
            "snr:nan",
        ] {
            assert!(bad.parse::<NoiseConfig>().is_err(), "{bad}");
        }
        let x = tone();
        for ok in ["snr:-60", "snr:120", "gaussian:10", "gaussian:0"] {
            let n: NoiseConfig = ok.parse().unwrap();
            assert!(n.apply(&x, 1, "a").iter().all(|v| v.is_finite()), "{ok}");
        }
    }

    #[test]
    fn noise_is_deterministic_per_seed_and_clip() {
        let x = tone();
        let n = NoiseConfig::default();
        assert_eq!(n.apply(&x, 42, "a"), n.apply(&x, 42, "a"));
        assert_ne!(n.apply(&x, 42, "a"), n.apply(&x, 42, "b"));
        assert_ne!(n.apply(&x, 42, "a"), n.apply(&x, 43, "a"));
        assert_eq!(n.apply(&x, 42, "a").len(), x.len());
    }

    #[test]
    fn snr_noise_has_the_requested_ratio() {
        let x = tone();
        let y = NoiseConfig::Snr { db: 10.0 }.apply(&x, 7, "clip");
        let ps: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        let pn: f64 = x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| (b as f64 - a as f64).powi(2))
            .sum();
        let snr = 10.0 * (ps / pn).log10();
        assert!((snr - 10.0).abs() < 0.2, "snr {snr}");
    }

    #[test]
    fn gaussian_noise_stays_within_its_amplitude_rule() {
        let x = tone();
        let y = NoiseConfig::default().apply(&x, 1, "c");
        let rms = (x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| (b as f64 - a as f64).powi(2))
            .sum::<f64>()
            / x.len() as f64)
            .sqrt();
        assert!(rms > 0.0 && rms <= 0.035 * 0.5 * 1.05, "rms {rms}");
    }

    #[test]
    fn parse_accepts_the_documented_forms_only() {
        assert_eq!(
            "snr:20".parse::<NoiseConfig>().unwrap(),
            NoiseConfig::Snr { db: 20.0 }
        );
        assert_eq!(
            "gaussian".parse::<NoiseConfig>().unwrap(),
            NoiseConfig::default()
        );
        assert!("snr".parse::<NoiseConfig>().is_err());
        assert!("pink:3".parse::<NoiseConfig>().is_err());
        assert!("gaussian:-1".parse::<NoiseConfig>().is_err());
    }
}
