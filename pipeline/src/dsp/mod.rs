//! DSP on in-memory samples: STFT, Slaney mel filterbank, `power_to_db`,
//! DCT-II MFCCs (librosa-compatible), and seeded noise.
//!
//! Everything here takes `&[f32]` and a config; nothing reads files.

pub mod augment;
pub mod conditions;
pub mod mel;
pub mod mfcc;
pub mod noise;
pub mod rng;

pub use mfcc::{mfcc, FeatureExtractor, Features, MfccConfig, Scratch};

/// Errors of the DSP layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DspError {
    /// A parameter is out of range.
    #[error("invalid feature parameter: {0}")]
    Config(String),
    /// The signal is shorter than one analysis window.
    #[error("too short: {samples} samples at {sample_rate} Hz ({:.3} s); at least {needed} are needed (one n_fft window)", *samples as f64 / *sample_rate as f64)]
    TooShort {
        /// Samples in the signal.
        samples: usize,
        /// Sample rate.
        sample_rate: u32,
        /// Minimum number of samples.
        needed: usize,
    },
}
