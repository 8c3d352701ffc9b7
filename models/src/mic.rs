//! Microphones for training batches in the feature domain: a chosen
//! example sounds as if recorded through a microphone (or a telephone
//! line) that rolls off the low frequencies, a Butterworth high-pass of
//! random cut-off and order, and (with a tilt) brighter or duller than
//! the studio's by a random slope. RAVDESS's studio microphone keeps the
//! voice's fundamental; a phone's does not, and si-cnn trained without
//! this lost 9 points of UAR behind a 300 Hz high-pass, 20 on each of the
//! two folds whose speakers are men (`bench/held_back.py`, seed 42). A
//! brighter spectrum is also what vocal effort gives: a si-cnn trained
//! without a tilt called 12 % of the subset's clips angry as recorded and
//! 31 % tilted by +6 dB per octave (`ser robustness --conditions tilt:6`
//! costs it 10.6 points).
//!
//! A filter multiplies each mel band's power by its gain: it adds `g =
//! 10 log10 |H(f)|^2` dB to the log-mel band centred at `f`, which in the
//! kept cepstra is `c + D g` (`D` the feature path's orthonormal DCT;
//! exact while no band meets the floor, so `g` stops at
//! [`DEEPEST_DB`]). The feature path floors log-mel values 80 dB below
//! the clip's loudest one; flat frames (a studio clip's silence, about a
//! third of RAVDESS's values) sit on that floor and move with it, by as
//! much as the loudest frame's loudest band moved. A test in `pipeline`
//! checks this against MFCCs of high-passed audio. No weights, no files.

use crate::dataset::N_MFCC;
use crate::drawn::each_drawn;
use crate::envelope::Envelope;
use crate::split::SplitMix;

/// Which microphones, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMic {
    /// The feature path's DCT and the run's standardisation.
    pub envelope: Envelope,
    /// Centre frequency of each mel band, Hz, `[n_mels]`.
    pub centres_hz: Vec<f64>,
    /// Share of training examples given a microphone.
    pub p: f64,
    /// Cut-off range, Hz, drawn log-uniformly.
    pub cutoff_hz: (f64, f64),
    /// Orders of the high-pass, drawn uniformly from this range (inclusive).
    pub orders: (usize, usize),
    /// Spectral tilt range, dB per octave about 1 kHz ([`tilt_db`]),
    /// drawn uniformly (`(0, 0)`: none, and nothing drawn).
    pub tilts: (f64, f64),
}

impl FeatureMic {
    /// High-passes at 50 to 500 Hz, of order 1 to 4, for a share `p` of
    /// the examples, in a feature path whose bands are centred at
    /// `centres_hz`.
    pub fn new(envelope: Envelope, centres_hz: Vec<f64>, p: f64) -> FeatureMic {
        FeatureMic {
            envelope,
            centres_hz,
            p,
            cutoff_hz: (50.0, 500.0),
            orders: (1, 4),
            tilts: (0.0, 0.0),
        }
    }

    /// The same microphones, each also tilted by up to `t` dB per octave
    /// either way.
    pub fn with_tilt(self, t: f64) -> FeatureMic {
        FeatureMic {
            tilts: (-t, t),
            ..self
        }
    }

    /// The gain at each band's centre, dB, `[n_mels]`, of the high-pass
    /// and a tilt of `tilt` dB per octave.
    pub fn response_db(&self, cutoff_hz: f64, order: usize, tilt: f64) -> Vec<f32> {
        self.centres_hz
            .iter()
            .map(|&f| (high_pass_db(f, cutoff_hz, order) + tilt_db(f, tilt)) as f32)
            .collect()
    }

    /// Puts examples of `x` (`[b, frames, 40]`, standardised; `lengths`
    /// real frames each) behind a microphone, each with chance `p`. The
    /// draws are made in order; the filtering runs in parallel. Padding
    /// frames stay.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        if !self.envelope.is_valid() || self.centres_hz.len() != self.envelope.n_mels {
            return;
        }
        let log_cutoffs = (self.cutoff_hz.0.ln(), self.cutoff_hz.1.ln());
        let (first, last) = (
            self.orders.0.max(1),
            self.orders.1.max(self.orders.0).max(1),
        );
        let tilts = self.tilts;
        let draw = |rng: &mut SplitMix| {
            let cutoff = rng.uniform(log_cutoffs).exp();
            let order = first + rng.below(last - first + 1);
            // Drawn only for a tilted microphone: without one, the draws
            // (and runs trained before it) are as they were.
            let tilt = match tilts == (0.0, 0.0) {
                true => 0.0,
                false => rng.uniform(tilts),
            };
            (cutoff, order, tilt)
        };
        each_drawn(
            x,
            frames,
            lengths,
            self.p,
            rng,
            draw,
            |ex, len, &(cutoff, order, tilt)| {
                self.filter(ex, len, &self.response_db(cutoff, order, tilt))
            },
        );
    }

    /// Filters the first `len` frames of one standardised example by
    /// `gain` (dB per band). Frames with a spectral shape move by the
    /// gain's cepstra, `D g`; flat frames, the feature path's floor (the
    /// silence of a studio clip), move with the floor, by the change of
    /// the loudest frame's loudest band.
    fn filter(&self, ex: &mut [f32], len: usize, gain: &[f32]) {
        let env = &self.envelope;
        let m = env.n_mels;
        let raw = |row: &[f32], k: usize| row[k] * env.std[k] + env.mean[k];
        let Some(loudest) = (0..len)
            .max_by(|&a, &b| raw(&ex[a * N_MFCC..], 0).total_cmp(&raw(&ex[b * N_MFCC..], 0)))
        else {
            return;
        };
        let peak = env.log_mel(&ex[loudest * N_MFCC..(loudest + 1) * N_MFCC], 1);
        let top = peak.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let shifted = peak
            .iter()
            .zip(gain)
            .map(|(v, g)| v + g)
            .fold(f32::NEG_INFINITY, f32::max);
        let floor_c0 = (shifted - top) * (m as f32).sqrt();
        // A band cannot fall below the floor: within speech, bands sit
        // about this far above it.
        let floored: Vec<f32> = gain.iter().map(|g| g.max(-DEEPEST_DB)).collect();
        let dg = env.cepstra(&floored);
        for row in ex.chunks_exact_mut(N_MFCC).take(len) {
            let shape: f32 = (1..N_MFCC).map(|k| raw(row, k).powi(2)).sum::<f32>() / m as f32;
            if shape.sqrt() < FLAT_DB {
                row[0] += floor_c0 / env.std[0];
            } else {
                row.iter_mut()
                    .zip(&dg)
                    .zip(&env.std)
                    .for_each(|((v, d), s)| *v += d / s);
            }
        }
    }
}

/// The gain, dB, of an `order`-pole Butterworth high-pass at `cutoff_hz`
/// at `f_hz`: `-10 log10(1 + (cutoff / f)^(2 order))`.
pub fn high_pass_db(f_hz: f64, cutoff_hz: f64, order: usize) -> f64 {
    let ratio = cutoff_hz / f_hz.max(1e-3);
    -10.0 * (1.0 + ratio.powi(2 * order as i32)).log10()
}

/// The gain, dB, of a spectral tilt of `db_per_octave` at `f_hz`: 0 at
/// [`TILT_PIVOT_HZ`], `db_per_octave` more each octave above it (less
/// below), and flat under [`TILT_LOWEST_HZ`]. A microphone, a phone or a
/// room's furnishings make a recording brighter or duller than
/// RAVDESS's studio; a brighter long-term spectrum is also what more
/// vocal effort gives.
pub fn tilt_db(f_hz: f64, db_per_octave: f64) -> f64 {
    db_per_octave * (f_hz.max(TILT_LOWEST_HZ) / TILT_PIVOT_HZ).log2()
}

/// Where a tilt leaves the spectrum as it is, Hz.
pub const TILT_PIVOT_HZ: f64 = 1000.0;

/// Below this a tilt stops changing, Hz (under a voice's fundamental).
pub const TILT_LOWEST_HZ: f64 = 50.0;

/// The most a band of a speech frame is taken down, dB: the feature
/// path's floor is 80 dB below the clip's loudest value, and the bands
/// under 300 Hz of RAVDESS's speech frames sit 27 to 54 dB above it
/// (quartiles; median 41; librosa on 12 clips).
pub const DEEPEST_DB: f32 = 30.0;

/// A frame whose bands deviate from their mean by less than this (rms,
/// dB) is flat: the feature path's floor.
pub const FLAT_DB: f32 = 1.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::tests::{assert_off_and_padding_stay, features, square};

    fn mic(p: f64) -> FeatureMic {
        let centres = (0..40).map(|k| 25.0 * (k + 1) as f64).collect();
        FeatureMic::new(square(), centres, p)
    }

    #[test]
    fn a_high_pass_takes_the_low_bands_of_speech_down_and_the_floor_with_its_peak() {
        let m = mic(1.0);
        let db = m.response_db(300.0, 2, 0.0);
        // -3 dB at the cut-off (band 11 is at 300 Hz), -12 dB per octave below.
        assert!((db[11] + 3.01).abs() < 0.01, "{}", db[11]);
        assert!((db[5] - db[11] + 9.3).abs() < 0.2, "{} {}", db[5], db[11]);
        assert!(db[39] > -0.1);
        // Frame 0: speech, loudest in band 4 (125 Hz); frame 1: the flat floor.
        let speech: Vec<f32> = (0..40).map(|b| -20.0 - (b as f32 - 4.0).abs()).collect();
        let mel: Vec<f32> = speech
            .iter()
            .copied()
            .chain(std::iter::repeat_n(-100.0, 40))
            .collect();
        let mut x = features(&m.envelope, &mel, 2);
        let tight = FeatureMic {
            cutoff_hz: (300.0, 300.0),
            orders: (2, 2),
            ..m
        };
        tight.apply(&mut x, 2, &[2], &mut SplitMix(9));
        let out = tight.envelope.log_mel(&x, 2);
        for b in 0..40 {
            let want = speech[b] + db[b].max(-DEEPEST_DB);
            assert!(
                (out[b] - want).abs() < 1e-2,
                "band {b}: {} vs {want}",
                out[b]
            );
        }
        // The floor follows the loudest value down, and stays flat.
        let peak = (0..40).map(|b| speech[b] + db[b]).fold(f32::MIN, f32::max);
        let drop = peak - -20.0;
        assert!(drop < -1.0);
        for v in &out[40..] {
            assert!(
                (v - (-100.0 + drop)).abs() < 1e-2,
                "{v} vs {}",
                -100.0 + drop
            );
        }
    }

    #[test]
    fn a_tilted_microphone_moves_bands_by_a_slope_within_its_range() {
        let t = 4.0;
        let m = FeatureMic {
            cutoff_hz: (1.0, 1.0),
            orders: (4, 4),
            ..mic(1.0).with_tilt(t)
        };
        let db = m.response_db(1.0, 4, -2.0);
        for (f, d) in m.centres_hz.iter().zip(&db) {
            let want = -2.0 * (f.max(TILT_LOWEST_HZ) / TILT_PIVOT_HZ).log2();
            assert!((f64::from(*d) - want).abs() < 1e-4, "{f} Hz: {d} vs {want}");
        }
        // Speech in every band (no floor met): each example's log-mel moves
        // by one slope per octave, a different one each, within +-t.
        let speech: Vec<f32> = (0..40).map(|b| -30.0 - (b % 7) as f32).collect();
        let x1 = features(&m.envelope, &speech, 1);
        let mut x: Vec<f32> = (0..8).flat_map(|_| x1.clone()).collect();
        m.apply(&mut x, 1, &[1; 8], &mut SplitMix(3));
        let octaves = |b: usize| (m.centres_hz[b] / TILT_PIVOT_HZ).log2();
        let mut slopes = Vec::new();
        for e in 0..8 {
            let out = m.envelope.log_mel(&x[e * N_MFCC..(e + 1) * N_MFCC], 1);
            let moved = |b: usize| f64::from(out[b] - speech[b]);
            let slope = (moved(39) - moved(1)) / (octaves(39) - octaves(1));
            for b in 1..40 {
                let want = slope * (octaves(b) - octaves(1)) + moved(1);
                assert!((moved(b) - want).abs() < 1e-2, "example {e} band {b}");
            }
            assert!(slope.abs() <= t, "{slope}");
            slopes.push(slope);
        }
        assert!(slopes.iter().any(|s| *s > 0.5) && slopes.iter().any(|s| *s < -0.5));
    }

    #[test]
    fn an_untilted_microphone_draws_and_filters_as_the_high_pass_alone() {
        // Runs trained before the tilt keep their draws: replayed by hand,
        // each chosen example gets a cut-off and an order and nothing more.
        let m = mic(0.6);
        assert_eq!(m.tilts, (0.0, 0.0));
        let speech: Vec<f32> = (0..40).map(|b| -30.0 - (b % 5) as f32).collect();
        let x1 = features(&m.envelope, &speech, 1);
        let x: Vec<f32> = (0..6).flat_map(|_| x1.clone()).collect();
        let (mut got, mut want) = (x.clone(), x);
        let (mut rng, mut replay) = (SplitMix(11), SplitMix(11));
        m.apply(&mut got, 1, &[1; 6], &mut rng);
        let log_cutoffs = (m.cutoff_hz.0.ln(), m.cutoff_hz.1.ln());
        for ex in want.chunks_exact_mut(N_MFCC) {
            if replay.unit() < m.p {
                let cutoff = replay.uniform(log_cutoffs).exp();
                let order = m.orders.0 + replay.below(m.orders.1 - m.orders.0 + 1);
                m.filter(ex, 1, &m.response_db(cutoff, order, 0.0));
            }
        }
        assert_eq!(got, want);
        assert_eq!(rng.unit(), replay.unit(), "no draw more");
        let alone: Vec<f32> = (m.centres_hz.iter())
            .map(|&f| high_pass_db(f, 300.0, 2) as f32)
            .collect();
        assert_eq!(m.response_db(300.0, 2, 0.0), alone);
    }

    #[test]
    fn off_or_padding_stay_as_they_are() {
        let frames = 4;
        let env = square();
        let mel: Vec<f32> = (0..frames * 40).map(|i| -40.0 + (i % 13) as f32).collect();
        let x = features(&env, &mel, frames);
        assert_off_and_padding_stay(&x, 2, |p, x, lengths| {
            mic(p).apply(x, frames, lengths, &mut SplitMix(4))
        });
    }
}
