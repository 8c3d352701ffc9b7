//! Other talkers in the quiet frames of training examples, in the feature
//! domain.
//!
//! Speech of other people hurts a model trained on studio clips most where
//! the clip itself is quiet: in its pauses and before and after the
//! sentence, another voice is all there is to hear (on the subset, seed 42,
//! `bench/babble_where.py`: four-talker babble at 20 and 10 dB confined to
//! a clip's speech moved UAR by +0.3 and -1.2 points, confined to its quiet
//! frames by -13.4 and -15.3). Where one source is much louder
//! than the other, the log spectrum of their sum is about the louder one's
//! (the log-max approximation), so frame by frame: where another example
//! of the batch, set to a random level below this one (or, with `louder`,
//! up to that far above it), is louder (its first coefficient, the
//! frame's log-energy, is higher), its frame replaces this one's: a
//! talker above the example takes its softer speech frames too. Talkers are other examples of the same batch, so
//! no clip outside the training side (a test speaker's) is ever mixed in.
//! No weights, no files.

use crate::dataset::N_MFCC;
use crate::split::SplitMix;

/// How often, how loud and how many talkers.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTalkers {
    /// Share of training examples that get talkers.
    pub p: f64,
    /// How far below the example its talkers are, dB (of mean
    /// log-energy), drawn uniformly from this range (below 0: louder).
    pub below_db: (f64, f64),
    /// Most talkers per example (at least 1).
    pub talkers: usize,
    /// One dB in the standardised first coefficient
    /// ([`crate::gain::c0_per_db`]).
    pub per_db: f32,
}

impl FrameTalkers {
    /// Talkers for a share `p` of the examples, from `louder` dB above them
    /// to 25 dB below (mean log-energy; `louder` 0: always below), one to
    /// three at a time, for a feature path with `n_mels` bands whose first
    /// coefficient's standard deviation is `std0`.
    ///
    /// Why louder at all: a clip's mean log-energy counts its pauses, a
    /// continuous babble's does not, so babble at 5 dB SNR (power, over the
    /// clip) sits at about the clip's own mean log-energy and at 10 dB SNR
    /// about 5 dB below it (RAVDESS, four-talker babble; docs/robustness-rounds.md): a range
    /// that stops at 0 dB below trains for 10 dB SNR rarely and 5 dB hardly.
    pub fn new(p: f64, louder: f64, n_mels: usize, std0: f32) -> FrameTalkers {
        FrameTalkers {
            p,
            below_db: (-louder, 25.0),
            talkers: 3,
            per_db: crate::gain::c0_per_db(n_mels, std0),
        }
    }

    /// Mixes talkers into examples of `x` (`[b, frames, 40]`, standardised;
    /// `lengths` real frames each). Each talker is another example of the
    /// batch as it came in, from a random frame, looped over the target's
    /// real frames. A batch of one is left alone; padding frames stay.
    pub fn apply(&self, x: &mut [f32], frames: usize, lengths: &[usize], rng: &mut SplitMix) {
        let b = lengths.len();
        let width = frames * N_MFCC;
        if b < 2 || self.p <= 0.0 || x.len() != b * width {
            return;
        }
        let src = x.to_vec();
        let example = |e: usize| &src[e * width..(e + 1) * width];
        for e in 0..b {
            if rng.unit() >= self.p {
                continue;
            }
            let len = lengths[e].min(frames);
            let n = 1 + rng.below(self.talkers.max(1));
            let below = rng.uniform(self.below_db) as f32;
            let level = mean_c0(example(e), len);
            for _ in 0..n {
                let o = (e + 1 + rng.below(b - 1)) % b;
                let olen = lengths[o].min(frames);
                if len == 0 || olen == 0 {
                    continue;
                }
                let other = example(o);
                let shift = level - mean_c0(other, olen) - below * self.per_db;
                let start = rng.below(olen);
                let dst = &mut x[e * width..(e + 1) * width];
                for (t, row) in dst.chunks_exact_mut(N_MFCC).take(len).enumerate() {
                    let s = (start + t) % olen;
                    let from = &other[s * N_MFCC..(s + 1) * N_MFCC];
                    if from[0] + shift > row[0] {
                        row.copy_from_slice(from);
                        row[0] += shift;
                    }
                }
            }
        }
    }
}

/// Mean first coefficient of the first `len` frames of one example.
fn mean_c0(ex: &[f32], len: usize) -> f32 {
    let sum: f32 = ex.chunks_exact(N_MFCC).take(len).map(|r| r[0]).sum();
    sum / len.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An example of `frames` rows whose first coefficient is `c0[t]` and
    /// the others `fill`.
    fn example(c0: &[f32], fill: f32) -> Vec<f32> {
        c0.iter()
            .flat_map(|&c| {
                let mut row = vec![fill; N_MFCC];
                row[0] = c;
                row
            })
            .collect()
    }

    fn talkers(p: f64, below: f64) -> FrameTalkers {
        FrameTalkers {
            p,
            below_db: (below, below),
            talkers: 1,
            per_db: 0.1,
        }
    }

    #[test]
    fn another_voice_fills_the_quiet_frames_and_leaves_the_loud_ones() {
        // Example 0: speech (c0 10, 10, 20) with a pause (c0 -10), mean
        // 7.5; example 1: steady speech (c0 4), other coefficients 7. Set
        // 10 dB (10 x 0.1) below example 0's mean, the talker sits at c0
        // 6.5: above the pause, below the speech.
        let frames = 4;
        let mut x = example(&[10.0, 10.0, -10.0, 20.0], 1.0);
        x.extend(example(&[4.0; 4], 7.0));
        let before = x.clone();
        let t = talkers(1.0, 10.0);
        t.apply(&mut x, frames, &[4, 4], &mut SplitMix(5));
        let row = |x: &[f32], t: usize| x[t * N_MFCC..(t + 1) * N_MFCC].to_vec();
        for t in [0, 1, 3] {
            assert_eq!(row(&x, t), row(&before, t), "loud frame {t} kept");
        }
        let filled = row(&x, 2);
        assert!((filled[0] - 6.5).abs() < 1e-5, "{}", filled[0]);
        assert!(
            filled[1..].iter().all(|&v| v == 7.0),
            "the talker's spectrum"
        );
        // Example 1 got example 0 as its talker, moved to a mean 10 dB below
        // its own (c0 5.5, 5.5, -14.5, 15.5 from some start): those above
        // 4 replace its frames, the pause does not.
        let got: Vec<f32> = (0..frames).map(|t| row(&x, frames + t)[0]).collect();
        assert!(got.iter().all(|&c| c >= 4.0), "{got:?}");
        assert!(got.iter().any(|&c| c > 4.0), "{got:?}");
    }

    #[test]
    fn a_talker_above_the_example_takes_its_softer_speech_frames_too() {
        assert_eq!(
            FrameTalkers::new(1.0, 10.0, 128, 2.0).below_db,
            (-10.0, 25.0)
        );
        assert_eq!(FrameTalkers::new(1.0, 0.0, 128, 2.0).below_db, (0.0, 25.0));
        // Example 0 (c0 10, 10, -10, 20; mean 7.5) gets the steady talker
        // (c0 4) 50 dB x 0.1 above its mean: c0 12.5, louder than every
        // frame but the loudest.
        let frames = 4;
        let mut x = example(&[10.0, 10.0, -10.0, 20.0], 1.0);
        x.extend(example(&[4.0; 4], 7.0));
        talkers(1.0, -50.0).apply(&mut x, frames, &[4, 4], &mut SplitMix(5));
        let c0: Vec<f32> = (0..frames).map(|t| x[t * N_MFCC]).collect();
        assert_eq!(c0, [12.5, 12.5, 12.5, 20.0]);
        assert_eq!(x[3 * N_MFCC + 1], 1.0, "the loudest frame is its own");
    }

    #[test]
    fn off_alone_or_padding_leave_frames_as_they_are() {
        let frames = 3;
        let mut x = example(&[-10.0; 6], 0.0);
        let before = x.clone();
        talkers(0.0, 0.0).apply(&mut x, frames, &[3, 3], &mut SplitMix(1));
        assert_eq!(x, before, "p = 0");
        let mut one = example(&[-10.0; 3], 0.0);
        talkers(1.0, 0.0).apply(&mut one, frames, &[3], &mut SplitMix(1));
        assert_eq!(one, example(&[-10.0; 3], 0.0), "a batch of one");
        // Example 0 has two real frames (c0 -10 and 10, mean 0): a talker
        // at its level (c0 0) fills the quiet one only; padding stays.
        let mut x = example(&[-10.0, 10.0, -99.0], 0.0);
        x.extend(example(&[50.0; 3], 2.0));
        talkers(1.0, 0.0).apply(&mut x, frames, &[2, 3], &mut SplitMix(2));
        assert_eq!(x[..N_MFCC], example(&[0.0], 2.0)[..], "the quiet frame");
        assert_eq!(x[N_MFCC..2 * N_MFCC], example(&[10.0], 0.0)[..]);
        assert_eq!(x[2 * N_MFCC..3 * N_MFCC], example(&[-99.0], 0.0)[..]);
    }
}
