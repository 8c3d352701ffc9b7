//! Training copies of a clip under random recording conditions (`ser
//! features --augment N` stores them as variants `aug1`..`augN`): a chain
//! of speed, room, band limit (and the telephone codec), coloured noise
//! and level, each step drawn on its own. The distributions are wider
//! than and different from `ser robustness`'s fixed conditions, and use
//! no other clip (no babble: it would mix other speakers, possibly test
//! speakers, into training copies).

use super::conditions::{add_at_snr, band_limit, mulaw_round_trip, reverberate, set_level};
use super::rng::{fnv1a, Rng};
use crate::audio::{resample, ResamplerConfig};

/// The copies' longest room (RT60, s) before it could be chosen; their
/// rooms are drawn from 0.2 s up to the longest.
pub const FIRST_LONGEST_ROOM: f64 = 0.8;

/// Copy `copy` (from 1) of a clip's samples `y` at `rate` Hz: the same
/// length scale and rate out (speed changes the length), seeded by
/// (`seed`, `clip_id`, `copy`), its room (if any) at most `longest_room`
/// s of RT60. The error is one line.
pub fn augmented(
    y: &[f32],
    rate: u32,
    seed: u64,
    clip_id: &str,
    copy: usize,
    resampler: &ResamplerConfig,
    longest_room: f64,
) -> Result<Vec<f32>, String> {
    let mut rng =
        Rng::new(seed ^ fnv1a(clip_id.as_bytes()) ^ (copy as u64).wrapping_mul(0x9e37_79b9));
    let mut chance = |p: f64| rng.uniform() < p;
    let (speed, room, band, codec, noise) = (
        chance(0.5),
        chance(0.4),
        chance(0.5),
        chance(0.2),
        chance(0.6),
    );
    let mut x = y.to_vec();
    if speed {
        // Said to be at rate * f, brought back to rate: f times faster.
        let f = 0.9 + 0.2 * rng.uniform();
        let claimed = (rate as f64 * f).round() as u32;
        x = resample(&x, claimed, rate, resampler)?;
    }
    if room {
        let rt60 = room_rt60(rng.uniform(), longest_room);
        x = reverberate(&x, rate, rt60, &mut rng);
    }
    if band || codec {
        let to = if codec {
            8000
        } else {
            [8000, 11025, 16000][(rng.next_u64() % 3) as usize]
        };
        if to < rate {
            let mut narrow = band_limit(&x, rate, to)?;
            if codec {
                narrow.iter_mut().for_each(|v| *v = mulaw_round_trip(*v));
            }
            x = resample(&narrow, to, rate, resampler)?;
        }
    }
    if noise {
        let snr = 5.0 + 25.0 * rng.uniform();
        // White, or brown-ish (a one-pole low-pass of white: more
        // energy low, as room and traffic noise).
        let pole = if rng.uniform() < 0.5 { 0.0 } else { 0.95 };
        let mut last = 0.0f64;
        let n: Vec<f32> = (0..x.len())
            .map(|_| {
                last = pole * last + rng.normal();
                last as f32
            })
            .collect();
        x = add_at_snr(&x, &n, snr);
    }
    // Any level a microphone gives: -60 to -15 dBFS.
    let level = -60.0 + 45.0 * rng.uniform();
    Ok(set_level(&x, level))
}

/// A room's RT60 from a uniform draw `u`: 0.2 s up to `longest` s.
fn room_rt60(u: f64, longest: f64) -> f64 {
    // 0.8 - 0.2 is not 0.6 in f64: the first chain keeps its own
    // arithmetic, so the copies of sets made before are computed the same.
    let span = match longest == FIRST_LONGEST_ROOM {
        true => 0.6,
        false => longest - 0.2,
    };
    0.2 + span * u
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::conditions::rms;

    fn tone(rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.01 * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn copies_are_seeded_distinct_and_at_a_microphone_level() {
        let y = tone(22050, 1.0);
        let r = ResamplerConfig::default();
        let a = augmented(&y, 22050, 42, "clip", 1, &r, FIRST_LONGEST_ROOM).unwrap();
        assert_eq!(
            a,
            augmented(&y, 22050, 42, "clip", 1, &r, FIRST_LONGEST_ROOM).unwrap(),
            "seeded"
        );
        let copies: Vec<Vec<f32>> = (1..=12)
            .map(|k| augmented(&y, 22050, 42, "clip", k, &r, FIRST_LONGEST_ROOM).unwrap())
            .collect();
        for (k, c) in copies.iter().enumerate() {
            assert!(
                c.iter().all(|v| v.is_finite() && v.abs() <= 1.0),
                "copy {k}"
            );
            let db = 20.0 * rms(c).log10();
            assert!((-61.0..=-14.0).contains(&db), "copy {k}: {db} dBFS");
            // Speed changes the length by at most 10 %.
            let ratio = c.len() as f64 / y.len() as f64;
            assert!((0.89..=1.12).contains(&ratio), "copy {k}: {ratio}");
        }
        let distinct = copies.iter().filter(|c| *c != &copies[0]).count();
        assert_eq!(distinct, 11, "every copy its own draw");
        // Over many copies each step is used, and sometimes not.
        let lengths: std::collections::BTreeSet<usize> = copies.iter().map(|c| c.len()).collect();
        assert!(
            lengths.len() > 2 && lengths.contains(&y.len()),
            "{lengths:?}"
        );
    }

    #[test]
    fn rooms_reach_the_longest_and_the_first_chain_keeps_its_draws() {
        for i in 0..=1000 {
            let u = i as f64 / 1000.0;
            // Bit for bit the first chain's draw: its sets stay as computed.
            assert_eq!(room_rt60(u, FIRST_LONGEST_ROOM), 0.2 + 0.6 * u);
            let long = room_rt60(u, 1.2);
            assert!((0.2..=1.2 + 1e-12).contains(&long), "{long}");
        }
        assert!((room_rt60(1.0, 1.2) - 1.2).abs() < 1e-12);
        // A longer room changes some copies (those that drew a room) and
        // leaves others as they were.
        let y = tone(22050, 1.0);
        let r = ResamplerConfig::default();
        let (mut same, mut changed) = (0, 0);
        for k in 1..=12 {
            let a = augmented(&y, 22050, 42, "clip", k, &r, FIRST_LONGEST_ROOM).unwrap();
            let b = augmented(&y, 22050, 42, "clip", k, &r, 1.2).unwrap();
            match a == b {
                true => same += 1,
                false => changed += 1,
            }
        }
        assert!(same > 0 && changed > 0, "same {same}, changed {changed}");
    }
}
