//! The allowed range of every numeric setting a user can give (a flag of
//! `ser` or a field of a `--config` JSON file). The command line checks
//! them when it parses (exit 2, the message names the range) and the
//! configs' `validate()` check them again, so that nothing is sized from a
//! value outside them (a `--config` file bypasses the command line).

use std::fmt::Display;
use std::str::FromStr;

/// A closed or half-open range of one setting, with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound<T> {
    /// The setting's name as the error shows it (`window`, `lr`).
    pub name: &'static str,
    /// Lowest allowed value.
    pub lo: T,
    /// Highest allowed value.
    pub hi: T,
    /// `lo` itself is not allowed.
    pub lo_open: bool,
    /// `hi` itself is not allowed.
    pub hi_open: bool,
    /// Unit shown after the range (may be empty).
    pub unit: &'static str,
}

impl<T: Copy + PartialOrd + Display + FromStr> Bound<T> {
    /// `lo..=hi`.
    pub const fn closed(name: &'static str, lo: T, hi: T, unit: &'static str) -> Self {
        Bound {
            name,
            lo,
            hi,
            lo_open: false,
            hi_open: false,
            unit,
        }
    }

    /// The range as the messages write it: `1..=4096 frames`, `(0, 10]`.
    pub fn range(&self) -> String {
        let body = if self.lo_open || self.hi_open {
            format!(
                "{}{}, {}{}",
                if self.lo_open { '(' } else { '[' },
                self.lo,
                self.hi,
                if self.hi_open { ')' } else { ']' }
            )
        } else {
            format!("{}..={}", self.lo, self.hi)
        };
        if self.unit.is_empty() {
            body
        } else {
            format!("{body} {}", self.unit)
        }
    }

    /// Whether `v` is inside (false for NaN).
    pub fn contains(&self, v: T) -> bool {
        let above = if self.lo_open {
            v > self.lo
        } else {
            v >= self.lo
        };
        let below = if self.hi_open {
            v < self.hi
        } else {
            v <= self.hi
        };
        above && below
    }

    /// `v`, or an error naming the setting, the range and the value.
    pub fn check(&self, v: T) -> Result<T, String> {
        if self.contains(v) {
            Ok(v)
        } else {
            Err(format!(
                "{} must be in {}, got {v}",
                self.name,
                self.range()
            ))
        }
    }

    /// Parses and checks a command-line value; the error names the range.
    pub fn parse(&self, s: &str) -> Result<T, String> {
        let v: T = s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a number (allowed: {})", self.range()))?;
        if self.contains(v) {
            Ok(v)
        } else {
            Err(format!("{v} is out of range (allowed: {})", self.range()))
        }
    }
}

/// Frames per training example (`--window`): about 95 s at the default hop.
pub const WINDOW: Bound<usize> = Bound::closed("window", 1, 4096, "frames");
/// Training epochs.
pub const EPOCHS: Bound<usize> = Bound::closed("epochs", 1, 100_000, "");
/// Examples per batch.
pub const BATCH_SIZE: Bound<usize> = Bound::closed("batch_size", 1, 4096, "");
/// (Peak) learning rate.
pub const LR: Bound<f64> = Bound {
    lo_open: true,
    ..Bound::closed("lr", 0.0, 10.0, "")
};
/// Adam's epsilon.
pub const ADAM_EPS: Bound<f64> = Bound {
    lo_open: true,
    ..Bound::closed("adam_eps", 0.0, 1.0, "")
};
/// Decoupled weight decay.
pub const WEIGHT_DECAY: Bound<f64> = Bound {
    hi_open: true,
    ..Bound::closed("weight_decay", 0.0, 1.0, "")
};
/// A probability (`--min-confidence`).
pub const PROBABILITY: Bound<f64> = Bound::closed("probability", 0.0, 1.0, "");
/// Share of training examples given babble.
pub const BABBLE: Bound<f64> = Bound::closed("babble", 0.0, 1.0, "");
/// Mixup's alpha (0: none).
pub const MIXUP: Bound<f64> = Bound::closed("mixup", 0.0, 4.0, "");
/// Share of a run's epochs whose weights are averaged (`--swa`).
pub const SWA: Bound<f64> = Bound::closed("swa", 0.0, 0.9, "");
/// Share of training examples given a vocal-tract-length warp (`--warp`).
pub const WARP: Bound<f64> = Bound::closed("warp", 0.0, 1.0, "");

/// Random gain of training examples, +-dB (`--gain`).
pub const GAIN: Bound<f64> = Bound::closed("gain", 0.0, 60.0, " dB");
/// How far the warp stretches (`--warp-range`).
pub const WARP_RANGE: Bound<f64> = Bound::closed("warp_range", 0.01, 0.3, "");
/// The test-time warp's range (`--test-warp`; 0: none).
pub const TEST_WARP: Bound<f64> = Bound::closed("test_warp", 0.0, 0.3, "");
/// Share of training copies given other voices (`--voices`).
pub const VOICES: Bound<f64> = Bound::closed("voices", 0.0, 1.0, "");
/// Share of training examples the gain moves (`--gain-share`).
pub const GAIN_SHARE: Bound<f64> = Bound {
    lo_open: true,
    ..Bound::closed("gain_share", 0.0, 1.0, "")
};

/// Share of training examples given other talkers in their quiet frames
/// (`--talkers`).
pub const TALKERS: Bound<f64> = Bound::closed("talkers", 0.0, 1.0, "");
/// Share of training examples put in a feature-domain room (`--reverb`).
pub const REVERB: Bound<f64> = Bound::closed("reverb", 0.0, 1.0, "");
/// Share of training examples given a microphone's high-pass (`--mic`).
pub const MIC: Bound<f64> = Bound::closed("mic", 0.0, 1.0, "");
/// The largest spectral tilt of those microphones, dB per octave
/// (`--tilt`).
pub const TILT: Bound<f64> = Bound::closed("tilt", 0.0, 12.0, " dB per octave");
/// How far above an example its other talkers may be, dB
/// (`--talkers-louder`).
pub const TALKERS_LOUDER: Bound<f64> = Bound::closed("talkers_louder", 0.0, 30.0, " dB");
/// Hidden units of si-cnn's attentive pooling (`--attention`; 0: plain
/// statistics pooling).
pub const ATTENTION: Bound<usize> = Bound::closed("attention", 0, 512, "");
/// Models per fold (a seed ensemble).
pub const MEMBERS: Bound<usize> = Bound::closed("members", 1, 16, "");
/// Label smoothing.
pub const LABEL_SMOOTHING: Bound<f64> = Bound {
    hi_open: true,
    ..Bound::closed("label_smoothing", 0.0, 1.0, "")
};
/// Test share per class of the random split.
pub const TEST_FRACTION: Bound<f64> = Bound {
    lo_open: true,
    hi_open: true,
    ..Bound::closed("test_fraction", 0.0, 1.0, "")
};
/// Speaker folds (`--folds`).
pub const FOLDS: Bound<usize> = Bound::closed("folds", 2, 64, "");
/// A fold number or a count of folds (`--fold`, `--max-folds`).
pub const FOLD: Bound<usize> = Bound::closed("fold", 1, 64, "");
/// Worker threads.
pub const THREADS: Bound<usize> = Bound::closed("threads", 1, 1024, "");
/// Feature sample rate, and the rate of PCM on standard input.
pub const SAMPLE_RATE: Bound<u32> = Bound::closed("sample_rate", 4000, 384_000, "Hz");
/// FFT size (also even: see `MfccConfig::validate`).
pub const N_FFT: Bound<usize> = Bound::closed("n_fft", 16, 65_536, "samples");
/// STFT hop (also at most `n_fft`).
pub const HOP_LENGTH: Bound<usize> = Bound::closed("hop_length", 1, 65_536, "samples");
/// Mel bands.
pub const N_MELS: Bound<usize> = Bound::closed("n_mels", 1, 512, "");
/// Cepstral coefficients (also at most `n_mels`).
pub const N_MFCC: Bound<usize> = Bound::closed("n_mfcc", 1, 512, "");
/// Training copies per clip (`ser features --augment`).
pub const AUGMENT: Bound<usize> = Bound::closed("augment", 0, 8, "");
/// Longest room of the training copies, RT60 (`ser features --longest-room`).
pub const LONGEST_ROOM: Bound<f64> = Bound::closed("longest_room", 0.3, 3.0, "s");
/// Loudest level of the training copies, RMS (`ser features --loudest-level`).
pub const LOUDEST_LEVEL: Bound<f64> = Bound::closed("loudest_level", -30.0, 0.0, "dBFS");
/// Share of the training copies' noise shaped like the clip (`ser features --shaped-noise`).
pub const SHAPED_NOISE: Bound<f64> = Bound::closed("shaped_noise", 0.0, 1.0, "");
/// How often `ser features` commits, milliseconds.
pub const COMMIT_EVERY_MS: Bound<u64> = Bound::closed("commit_every_ms", 0, 86_400_000, "ms");
/// Timeline segment length.
pub const SEGMENT_S: Bound<f64> = Bound::closed("segment", 0.1, 600.0, "s");
/// Step between timeline segments (may exceed the segment: gaps are skipped).
pub const HOP_S: Bound<f64> = Bound::closed("hop", 0.01, 600.0, "s");
/// Silence threshold, dBFS.
pub const SILENCE_DB: Bound<f64> = Bound::closed("silence_db", -200.0, 0.0, "dBFS");
/// Channels of PCM on standard input.
pub const CHANNELS: Bound<u16> = Bound::closed("channels", 1, 32, "");
/// Actors of the demo corpus.
pub const SYNTH_ACTORS: Bound<u32> = Bound::closed("actors", 1, 24, "");
/// Sample rate of the demo corpus.
pub const SYNTH_RATE: Bound<u32> = Bound::closed("sample_rate", 8000, 192_000, "Hz");
/// `ser serve --max-upload-mb`.
pub const UPLOAD_MB: Bound<u64> = Bound::closed("max_upload_mb", 1, 65_536, "MB");
/// `ser serve`'s request threads.
pub const SERVE_WORKERS: Bound<usize> = Bound::closed("workers", 1, 256, "");
/// Download timeouts, seconds.
pub const TIMEOUT_S: Bound<u64> = Bound::closed("timeout_s", 1, 86_400, "s");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_written_and_reject_nan() {
        assert_eq!(WINDOW.range(), "1..=4096 frames");
        assert_eq!(LR.range(), "(0, 10]");
        assert_eq!(TEST_FRACTION.range(), "(0, 1)");
        assert!(LR.check(0.0).unwrap_err().contains("(0, 10]"));
        assert!(SILENCE_DB.parse("nan").is_err());
        assert!(SILENCE_DB.parse("inf").is_err());
        assert_eq!(SILENCE_DB.parse("-45").unwrap(), -45.0);
        assert!(WINDOW.parse("100000").unwrap_err().contains("1..=4096"));
        assert!(WINDOW.parse("x").unwrap_err().contains("not a number"));
        assert!(WEIGHT_DECAY.contains(0.0) && !WEIGHT_DECAY.contains(1.0));
    }
}
