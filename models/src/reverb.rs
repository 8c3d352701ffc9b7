//! Rooms for training batches in the feature domain: a chosen example
//! sounds as if said in a room whose late reverberation decays by 60 dB
//! over a random RT60, at a random direct-to-reverberant ratio. The
//! training copies of `ser features --augment` hold waveform rooms too,
//! but only a share of them and only one room per copy for all epochs;
//! here every epoch draws new rooms, wider than those copies.
//!
//! Frame by frame in the power of the log-mel envelope
//! ([`crate::envelope`]): the tail of frame `t` is the decaying sum of the
//! frames up to it, `S[t] = P[t] + a S[t-1]` with `a = 10^(-6 hop /
//! RT60)` (power, per frame of `hop` seconds), scaled so that its energy
//! over all lags is `10^(-DRR/10)` of the direct path's: `Y = P + r (1 -
//! a) S`. The result is set back to the example's mean power (a recording
//! is levelled after the room, as `ser robustness` does). No weights, no
//! files.

use crate::drawn::each_drawn;
use crate::envelope::{mean_power, Envelope};
use crate::split::SplitMix;

/// How often and which rooms.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureReverb {
    /// The feature path's DCT and the run's standardisation.
    pub envelope: Envelope,
    /// Seconds between frames (hop over sample rate).
    pub frame_s: f64,
    /// Share of training examples put in a room.
    pub p: f64,
    /// RT60 range, s, drawn uniformly.
    pub rt60_s: (f64, f64),
    /// Direct-to-reverberant ratio range, dB, drawn uniformly.
    pub drr_db: (f64, f64),
}

impl FeatureReverb {
    /// Rooms of RT60 0.2 to 1.2 s at direct-to-reverberant ratios of -3 to
    /// +9 dB for a share `p` of the examples.
    pub fn new(envelope: Envelope, frame_s: f64, p: f64) -> FeatureReverb {
        FeatureReverb {
            envelope,
            frame_s,
            p,
            rt60_s: (0.2, 1.2),
            drr_db: (-3.0, 9.0),
        }
    }

    /// Puts examples of `x` (`[b, frames, 40]`, standardised; `lengths`
    /// real frames each) in rooms, each with chance `p`. The draws are
    /// made in order; the rooms are computed in parallel. Padding frames
    /// stay.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        if !self.envelope.is_valid() || self.frame_s <= 0.0 {
            return;
        }
        let draw = |rng: &mut SplitMix| {
            let rt60 = rng.uniform(self.rt60_s);
            (rt60, rng.uniform(self.drr_db))
        };
        each_drawn(
            x,
            frames,
            lengths,
            self.p,
            rng,
            draw,
            |ex, len, &(rt60, drr)| {
                let wet = self.room(&self.envelope.power(ex, len), rt60, drr);
                self.envelope.power_to_features(&wet, len, ex);
            },
        );
    }

    /// Power `[len, n_mels]` in a room of `rt60` s at `drr_db`, set back to
    /// the mean power of `dry`.
    fn room(&self, dry: &[f32], rt60: f64, drr_db: f64) -> Vec<f32> {
        let m = self.envelope.n_mels;
        let a = 10f64.powf(-6.0 * self.frame_s / rt60.max(1e-3)) as f32;
        let tail = (10f64.powf(-drr_db / 10.0) as f32) * (1.0 - a);
        let mut sum = vec![0f32; m];
        let mut wet = Vec::with_capacity(dry.len());
        for frame in dry.chunks_exact(m) {
            for (s, &p) in sum.iter_mut().zip(frame) {
                *s = p + a * *s;
                wet.push(p + tail * *s);
            }
        }
        let level = (mean_power(dry) / mean_power(&wet).max(1e-30)) as f32;
        wet.iter_mut().for_each(|v| *v *= level);
        wet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::tests::{assert_off_and_padding_stay, features, square};

    fn reverb(p: f64, rt60: f64, drr: f64) -> FeatureReverb {
        FeatureReverb {
            rt60_s: (rt60, rt60),
            drr_db: (drr, drr),
            ..FeatureReverb::new(square(), 512.0 / 22_050.0, p)
        }
    }

    #[test]
    fn a_room_fills_the_pause_after_a_sound_with_its_decaying_tail() {
        // One loud frame (-20 dB) then silence (-100 dB): in a room the
        // frames after it hold its tail, 60 dB down after RT60 seconds.
        let (rt60, frames) = (0.5, 30);
        let r = reverb(1.0, rt60, 0.0);
        let mut mel = vec![-100.0; frames * 40];
        mel[..40].fill(-20.0);
        let mut x = features(&r.envelope, &mel, frames);
        r.apply(&mut x, frames, &[frames], &mut SplitMix(5));
        let wet = r.envelope.log_mel(&x, frames);
        let band0: Vec<f32> = wet.chunks_exact(40).map(|f| f[0]).collect();
        assert!(band0[1] > -60.0, "{band0:?}");
        assert!(band0.windows(2).skip(1).all(|w| w[1] < w[0]), "{band0:?}");
        // dB per frame: 60 over the frames in RT60.
        let per_frame = 60.0 * r.frame_s / rt60;
        let slope = (band0[5] - band0[15]) as f64 / 10.0;
        assert!((slope - per_frame).abs() < 0.05, "{slope} vs {per_frame}");
        // The mean power is the dry one's.
        let dry = r
            .envelope
            .power(&features(&r.envelope, &mel, frames), frames);
        let ratio = mean_power(&r.envelope.power(&x, frames)) / mean_power(&dry);
        assert!((ratio - 1.0).abs() < 1e-3, "{ratio}");
    }

    #[test]
    fn off_or_padding_stay_as_they_are() {
        let frames = 6;
        let env = square();
        let mel: Vec<f32> = (0..frames * 40).map(|i| -50.0 + (i % 23) as f32).collect();
        let x = features(&env, &mel, frames);
        assert_off_and_padding_stay(&x, 3, |p, x, lengths| {
            reverb(p, 0.9, 0.0).apply(x, frames, lengths, &mut SplitMix(2))
        });
    }
}
