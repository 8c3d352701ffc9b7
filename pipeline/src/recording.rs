//! One answer per recording: a recording longer than the run's window is
//! classified over its windows that hold speech (never only its first
//! window), and a recording without speech says so.
//!
//! How ([`Predictor::classify_recording`]):
//! 1. speech is found relative to the recording ([`crate::speech`]); less
//!    than [`MIN_SPEECH_S`] of it is *no speech*;
//! 2. a recording up to one and a half windows long is one window, as
//!    training saw its clips (crop, padding, standardisation);
//! 3. a longer one is cut into windows every half window; each window
//!    with at least [`MIN_SPEECH_S`] of speech is classified, and the
//!    answer is the mean of their probabilities weighted by their seconds
//!    of speech.

use crate::error::PredictError;
use crate::speech::{speech_frames, FRAME_S, MIN_SPEECH_S};
use crate::train::Predictor;

/// The answer for one recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingAnswer {
    /// Class probabilities (the run's class order); `None`: no speech.
    pub probabilities: Option<Vec<f32>>,
    /// Windows classified.
    pub windows: usize,
    /// Seconds of speech found.
    pub speech_s: f64,
    /// Length of the recording, seconds.
    pub duration_s: f64,
}

impl Predictor {
    /// Classifies mono samples `y` at `rate` Hz as one recording (see the
    /// module); `floor_db` is the level below which nothing is speech.
    pub fn classify_recording(
        &self,
        y: &[f32],
        rate: u32,
        fold: Option<usize>,
        floor_db: f64,
    ) -> Result<RecordingAnswer, PredictError> {
        let rate_f = rate.max(1) as f64;
        let duration_s = y.len() as f64 / rate_f;
        let mask = speech_frames(y, rate, floor_db);
        let speech_in = |a: f64, b: f64| {
            let (i, j) = (
                (a / FRAME_S) as usize,
                ((b / FRAME_S).ceil() as usize).min(mask.len()),
            );
            mask.get(i..j)
                .map_or(0, |m| m.iter().filter(|&&s| s).count()) as f64
                * FRAME_S
        };
        let speech_s = speech_in(0.0, duration_s);
        let mut answer = RecordingAnswer {
            probabilities: None,
            windows: 0,
            speech_s,
            duration_s,
        };
        if speech_s < MIN_SPEECH_S {
            return Ok(answer);
        }
        let win = self.window_seconds().max(FRAME_S);
        let hop = win / 2.0;
        if duration_s <= win + hop {
            answer.probabilities = Some(self.predict_samples(y, rate, fold)?);
            answer.windows = 1;
            return Ok(answer);
        }
        let classes = self.config.classes.len();
        let mut sum = vec![0f64; classes];
        let mut weight = 0.0;
        let mut start = 0.0;
        while start < duration_s {
            let end = (start + win).min(duration_s);
            let s = speech_in(start, end);
            // A tail shorter than half a window is covered by the window before.
            if s >= MIN_SPEECH_S && (end - start >= hop || start == 0.0) {
                let (a, b) = (
                    (start * rate_f) as usize,
                    ((end * rate_f) as usize).min(y.len()),
                );
                let p = self.predict_samples(&y[a..b], rate, fold)?;
                sum.iter_mut()
                    .zip(&p)
                    .for_each(|(m, q)| *m += s * *q as f64);
                weight += s;
                answer.windows += 1;
            }
            start += hop;
        }
        if weight > 0.0 {
            answer.probabilities = Some(sum.iter().map(|m| (m / weight) as f32).collect());
        }
        Ok(answer)
    }
}
