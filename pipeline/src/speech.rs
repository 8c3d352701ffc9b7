//! Where a recording holds speech, judged relative to the recording: 20 ms
//! frames are speech when they are louder than an absolute floor *and*
//! stand [`ABOVE_QUIET_DB`] above the recording's own quiet frames (its
//! 10th percentile of frame levels). A fixed level cannot do this:
//! RAVDESS's calm and neutral clips sit near −50 dBFS, a phone recording
//! near −20; room noise of any level is steady, speech is not. Pure memory:
//! samples in, a mask out.

/// Frame length, seconds.
pub const FRAME_S: f64 = 0.02;

/// How far above the recording's quiet frames (10th percentile) a frame
/// must be to count as speech, dB.
pub const ABOVE_QUIET_DB: f64 = 12.0;

/// The default absolute floor, dBFS: a frame below it is never speech
/// (digital silence, dither, a muted input).
pub const FLOOR_DB: f64 = -65.0;

/// Speech present in a stretch of audio: at least this much of it, seconds.
pub const MIN_SPEECH_S: f64 = 0.2;

/// Levels (dBFS) of consecutive 20 ms frames of `y` at `rate` Hz (a
/// shorter last frame counts when at least half a frame).
pub fn frame_levels(y: &[f32], rate: u32) -> Vec<f64> {
    let n = ((FRAME_S * rate as f64).round() as usize).max(1);
    y.chunks(n)
        .filter(|c| 2 * c.len() >= n)
        .map(crate::timeline::rms_db)
        .collect()
}

/// Which 20 ms frames of `y` hold speech (see the module), with frames
/// below `floor_db` never speech.
pub fn speech_frames(y: &[f32], rate: u32, floor_db: f64) -> Vec<bool> {
    let levels = frame_levels(y, rate);
    let threshold = speech_threshold(&levels, floor_db);
    levels.iter().map(|&l| l >= threshold).collect()
}

/// The level (dBFS) from which a frame of a recording whose frame levels
/// are `levels` is speech: `floor_db`, or [`ABOVE_QUIET_DB`] above its
/// quiet frames if that is higher.
pub fn speech_threshold(levels: &[f64], floor_db: f64) -> f64 {
    floor_db.max(quiet_level(levels) + ABOVE_QUIET_DB)
}

/// The level of a recording's quiet frames: the 10th percentile of its
/// frame `levels` (dBFS, finite ones), `-inf` if none.
pub fn quiet_level(levels: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = levels.iter().copied().filter(|l| l.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(sorted.len() / 10)
        .copied()
        .unwrap_or(f64::NEG_INFINITY)
}

/// Seconds of speech in `y` (20 ms frames, see [`speech_frames`]).
pub fn speech_seconds(y: &[f32], rate: u32, floor_db: f64) -> f64 {
    speech_frames(y, rate, floor_db)
        .iter()
        .filter(|&&s| s)
        .count() as f64
        * FRAME_S
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 220 Hz tone whose loudness follows syllables (4 per second).
    fn speechlike(rate: u32, seconds: f64, amp: f32) -> Vec<f32> {
        let n = (seconds * rate as f64) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let env = (std::f32::consts::PI * 4.0 * t).sin().abs();
                amp * env * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
            })
            .collect()
    }

    fn noise(n: usize, amp: f32, seed: u64) -> Vec<f32> {
        let mut rng = crate::dsp::rng::Rng::new(seed);
        (0..n)
            .map(|_| amp * ((rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32 - 0.5))
            .collect()
    }

    #[test]
    fn quiet_speech_after_silence_is_speech_at_any_level() {
        let rate = 16_000;
        for amp in [0.003f32, 0.03, 0.5] {
            // 1 s of near silence, then 2 s of speech-like sound.
            let mut y = noise(rate as usize, 1e-4, 1);
            y.extend(speechlike(rate, 2.0, amp));
            let s = speech_seconds(&y, rate, FLOOR_DB);
            assert!(s > 1.0, "amp {amp}: {s} s of speech");
            let mask = speech_frames(&y, rate, FLOOR_DB);
            assert!(
                !mask[..45].iter().any(|&m| m),
                "amp {amp}: the silence is not speech"
            );
        }
    }

    #[test]
    fn silence_and_steady_noise_hold_no_speech() {
        let rate = 16_000;
        assert_eq!(speech_seconds(&vec![0.0; 48_000], rate, FLOOR_DB), 0.0);
        assert_eq!(speech_seconds(&noise(48_000, 1e-5, 2), rate, FLOOR_DB), 0.0);
        // Loud steady noise: above the floor, but not above itself.
        assert!(speech_seconds(&noise(48_000, 0.2, 3), rate, FLOOR_DB) < MIN_SPEECH_S);
        assert!(speech_frames(&[], rate, FLOOR_DB).is_empty());
    }
}
