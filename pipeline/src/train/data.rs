//! From feature shards to model inputs: load a set's clips, fix the window,
//! standardise with training-side statistics, and build datasets.
//!
//! **Window.** Every example is `window` frames of 40 MFCCs ([`Framing`]).
//! `auto` ([`auto_window`]) is the first 3 seconds (130 frames at 22050 Hz
//! / hop 512, what the Keras notebooks the paper follows take), or the
//! median clip length if that is shorter. RAVDESS clips are 3.1-4.9 s
//! (133-216 frames) with the speech in the first 3 s, so nothing is padded
//! and the recurrent models read their state right after the speech, not
//! after a second of trailing silence. A longer clip keeps its first
//! `window` frames (`crop start`), its middle ones (`crop centre`), or
//! those from a third of a window before its speech begins (`crop
//! speech`: more quiet before the first word than RAVDESS's second does
//! not push the speech out of the window); a shorter one is padded at the end with the training mean (0 after
//! standardisation), and its real length travels with it, so the recurrent
//! models read their state at its last real frame, not after the padding.

use std::collections::BTreeMap;

use models::Dataset;

use super::config::{Crop, Readout};
use sha2::{Digest, Sha256};
use store::manifest::FeatureSetEntry;
use store::{FeatureRow, Store};

use crate::error::{PipelineError, Result};

/// The two test copies, reported separately.
pub const TEST_VARIANTS: [&str; 2] = ["clean", "noisy"];

/// Coefficients the models take per frame.
pub const N_MFCC: usize = models::cnn::N_MFCC;

/// One variant of a clip: `[frames, 40]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Frames.
    pub frames: usize,
    /// MFCCs, `[frames, 40]`.
    pub mfcc: Vec<f32>,
}

/// A clip with its copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Clip id.
    pub clip_id: String,
    /// Actor.
    pub actor: u32,
    /// Emotion code 1-8.
    pub emotion: u32,
    /// `male` / `female`.
    pub gender: String,
    /// Rate the features were computed at, Hz.
    pub sample_rate: u32,
    /// Corpus (from `metadata.parquet`; `ravdess` when absent).
    pub corpus: String,
    /// Copies by variant name (`clean`, `noisy`).
    pub variants: BTreeMap<String, Variant>,
}

/// Reads every part file of a set into clips, sorted by clip id.
pub fn load_clips(
    store: &Store,
    set_id: &str,
    entry: &FeatureSetEntry,
    mut on_part: impl FnMut(),
) -> Result<Vec<Clip>> {
    let mut clips: BTreeMap<String, Clip> = BTreeMap::new();
    for shard in entry.shards.values() {
        for part in &shard.parts {
            let path = store.resolve(&part.path);
            if !part.size_matches(&path) {
                return Err(store::StoreError::damaged(
                    &path,
                    "missing, or not the size its manifest recorded",
                )
                .into());
            }
            for row in store::shard::read_shard(&path)? {
                add_row(&mut clips, row, set_id)?;
            }
            on_part();
        }
    }
    Ok(clips.into_values().collect())
}

fn add_row(clips: &mut BTreeMap<String, Clip>, row: FeatureRow, set_id: &str) -> Result<()> {
    if row.n_mfcc as usize != N_MFCC {
        return Err(PipelineError::Config(format!(
            "feature set {set_id} has {} MFCCs per frame; the models take {N_MFCC} \
             (compute a set with `ser features --n-mfcc 40`)",
            row.n_mfcc
        )));
    }
    let clip = clips.entry(row.clip_id.clone()).or_insert_with(|| Clip {
        clip_id: row.clip_id.clone(),
        actor: row.actor.max(0) as u32,
        emotion: row.emotion.max(0) as u32,
        gender: row.gender.clone(),
        sample_rate: row.sample_rate.max(0) as u32,
        corpus: "ravdess".into(),
        variants: BTreeMap::new(),
    });
    clip.variants.insert(
        row.variant,
        Variant {
            frames: row.n_frames.max(0) as usize,
            mfcc: row.mfcc,
        },
    );
    Ok(())
}

/// A hash of a set's shard digests: changes when any clip or file changes.
pub fn data_fingerprint(set_id: &str, entry: &FeatureSetEntry) -> String {
    let mut h = Sha256::new();
    h.update(set_id.as_bytes());
    for (key, shard) in &entry.shards {
        h.update(key.as_bytes());
        h.update(shard.digest.as_bytes());
    }
    store::fingerprint::hex(&h.finalize()[..8])
}

/// Seconds of audio the `auto` window covers (unless clips are shorter).
pub const AUTO_WINDOW_SECONDS: f64 = 3.0;

/// The `auto` window in frames: [`AUTO_WINDOW_SECONDS`] at the set's rate
/// and hop (`1 + floor(seconds * rate / hop)`, librosa's centred frame
/// count), or the median clean-clip length if that is shorter; at least `min`.
pub fn auto_window(clips: &[Clip], hop: usize, min: usize) -> usize {
    let mut lens: Vec<usize> = clips
        .iter()
        .filter_map(|c| c.variants.get("clean").map(|v| v.frames))
        .collect();
    lens.sort_unstable();
    let mut rates: Vec<u32> = clips.iter().map(|c| c.sample_rate).collect();
    rates.sort_unstable();
    let Some(&median) = lens.get(lens.len() / 2) else {
        return min;
    };
    let rate = rates[rates.len() / 2] as f64;
    let seconds = 1 + (AUTO_WINDOW_SECONDS * rate / hop.max(1) as f64).floor() as usize;
    seconds.min(median).max(min)
}

/// How a clip becomes a fixed-length example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// Frames per example.
    pub window: usize,
    /// Which frames a longer clip keeps.
    pub crop: Crop,
    /// Where the recurrent models read their state: at an example's last
    /// real frame, or (`last-frame`) after the padding, at the window's end.
    pub readout: Readout,
    /// Mel bands behind the cepstra (`c0` is `sqrt(n_mels)` times a
    /// frame's mean log-mel level, dB): where `crop speech` finds speech.
    pub n_mels: usize,
}

/// `crop speech`: a frame is speech once its mean log-mel level is within
/// this many dB of the clip's loudest frame's. RAVDESS's studio floor lies
/// about 42 dB below its speech.
pub const SPEECH_WITHIN_DB: f32 = 25.0;

/// `crop speech`'s frames of quiet kept before the speech: a third of the
/// window (RAVDESS's second before its first word in a 3-s window).
pub fn speech_lead(window: usize) -> usize {
    window / 3
}

/// The first frame of `mfcc` (`[frames, 40]`, raw) whose mean log-mel level
/// is within [`SPEECH_WITHIN_DB`] of the loudest frame's; 0 for an empty
/// clip.
pub fn speech_onset(mfcc: &[f32], n_mels: usize) -> usize {
    let c0 = || mfcc.chunks_exact(N_MFCC).map(|f| f[0]);
    let loudest = c0().fold(f32::NEG_INFINITY, f32::max);
    let floor = loudest - SPEECH_WITHIN_DB * (n_mels.max(1) as f32).sqrt();
    c0().position(|c| c >= floor).unwrap_or(0)
}

impl Framing {
    /// Frames `[start, start + n)` of clip `v` that the window keeps (`n <
    /// window`: the rest of the clip, padded after).
    pub fn span(&self, v: &Variant) -> (usize, usize) {
        let frames = v.frames;
        match self.crop {
            // `speech_lead` frames of quiet before the speech, as far as
            // the clip allows.
            Crop::Speech => {
                let onset = speech_onset(&v.mfcc[..frames * N_MFCC], self.n_mels);
                let start = onset
                    .saturating_sub(speech_lead(self.window))
                    .min(frames.saturating_sub(self.window));
                (start, (frames - start).min(self.window))
            }
            _ if frames <= self.window => (0, frames),
            Crop::Start => (0, self.window),
            Crop::Centre => ((frames - self.window) / 2, self.window),
        }
    }

    /// The length a model reads an example of `real` frames at: its real
    /// length, or the whole window under the `last-frame` readout (the one
    /// place the readout is applied, in training and prediction alike).
    pub fn read_length(&self, real: usize) -> usize {
        match self.readout {
            Readout::LastReal => real,
            Readout::LastFrame => self.window,
        }
    }
}

/// Per-coefficient mean and standard deviation: the training side's, or
/// each clip's own (`per_clip`).
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Means, `[40]` (zeros when per clip).
    pub mean: Vec<f32>,
    /// Standard deviations, `[40]` (at least 1e-6; ones when per clip).
    pub std: Vec<f32>,
    /// Standardise each clip by the statistics of its own kept frames.
    pub per_clip: bool,
    /// Centre the first coefficient (c0, the frame's log energy) on each
    /// clip's own mean over its kept frames before standardising: a gain
    /// adds the same number to every frame's c0 (the other coefficients
    /// and the 80 dB floor follow the peak), so the recording's level is
    /// removed and its loudness contour kept.
    pub level: bool,
}

/// Mean of c0 over `frames` (`[n, 40]`).
fn c0_mean(frames: &[f32]) -> f32 {
    let n = frames.len() / N_MFCC;
    if n == 0 {
        return 0.0;
    }
    (frames
        .iter()
        .step_by(N_MFCC)
        .map(|&v| v as f64)
        .sum::<f64>()
        / n as f64) as f32
}

impl Standardizer {
    /// Each clip by its own statistics.
    pub fn per_clip() -> Standardizer {
        Standardizer {
            mean: vec![0.0; N_MFCC],
            std: vec![1.0; N_MFCC],
            per_clip: true,
            level: false,
        }
    }

    /// Statistics over the windowed frames of the given copies (the
    /// training side only, so nothing of the test side leaks in); with
    /// `level`, of c0 centred per copy ([`Standardizer::level`]).
    pub fn fit<'a>(
        copies: impl Iterator<Item = &'a Variant>,
        framing: Framing,
        level: bool,
    ) -> Standardizer {
        let mut sum = [0f64; N_MFCC];
        let mut sq = [0f64; N_MFCC];
        let mut n = 0usize;
        for v in copies {
            let (start, len) = framing.span(v);
            let kept = &v.mfcc[start * N_MFCC..(start + len) * N_MFCC];
            let shift = if level { c0_mean(kept) } else { 0.0 };
            for frame in kept.chunks_exact(N_MFCC) {
                for (k, &x) in frame.iter().enumerate() {
                    let x = if k == 0 { x - shift } else { x };
                    sum[k] += x as f64;
                    sq[k] += (x as f64) * (x as f64);
                }
                n += 1;
            }
        }
        let n = n.max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum
            .iter()
            .zip(&sq)
            .map(|(s, q)| ((q / n - (s / n) * (s / n)).max(0.0).sqrt() as f32).max(1e-6))
            .collect();
        Standardizer {
            mean,
            std,
            per_clip: false,
            level,
        }
    }

    /// One example `[window, 40]`: the kept frames (or the whole clip,
    /// then zeros), standardised, appended to `out`. Returns the length the
    /// model reads it at ([`Framing::read_length`] of its real length).
    pub fn example_into(&self, v: &Variant, framing: Framing, out: &mut Vec<f32>) -> usize {
        let (start, len) = framing.span(v);
        let kept = &v.mfcc[start * N_MFCC..(start + len) * N_MFCC];
        let own;
        let (mean, std) = if self.per_clip {
            own = Standardizer::fit(
                std::iter::once(&Variant {
                    frames: len,
                    mfcc: kept.to_vec(),
                }),
                Framing {
                    window: len,
                    ..framing
                },
                false,
            );
            (&own.mean, &own.std)
        } else {
            (&self.mean, &self.std)
        };
        let shift = if self.level { c0_mean(kept) } else { 0.0 };
        for frame in kept.chunks_exact(N_MFCC) {
            let at = out.len();
            out.extend(
                frame
                    .iter()
                    .zip(mean.iter().zip(std))
                    .map(|(x, (m, s))| (x - m) / s),
            );
            if self.level {
                out[at] = (frame[0] - shift - mean[0]) / std[0];
            }
        }
        out.resize(out.len() + (framing.window - len) * N_MFCC, 0.0);
        framing.read_length(len.max(1))
    }
}

/// Examples for `clips[idx]` in the given variants (clip order, then
/// variant order), with the `(clip index, variant)` of each example.
pub fn dataset(
    clips: &[Clip],
    idx: &[usize],
    classes: &[usize],
    variants: &[String],
    norm: &Standardizer,
    framing: Framing,
) -> (Dataset, Vec<(usize, String)>) {
    let mut x = Vec::with_capacity(idx.len() * variants.len() * framing.window * N_MFCC);
    let mut labels = Vec::new();
    let mut lengths = Vec::new();
    let mut which = Vec::new();
    for &i in idx {
        for name in variants {
            if let Some(v) = clips[i].variants.get(name) {
                lengths.push(norm.example_into(v, framing, &mut x));
                labels.push(classes[i]);
                which.push((i, name.clone()));
            }
        }
    }
    let data = Dataset {
        x,
        frames: framing.window,
        labels,
        lengths,
    };
    (data, which)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(frames: usize, f: impl Fn(usize, usize) -> f32) -> Variant {
        Variant {
            frames,
            mfcc: (0..frames * N_MFCC)
                .map(|i| f(i / N_MFCC, i % N_MFCC))
                .collect(),
        }
    }

    const CENTRE4: Framing = Framing {
        window: 4,
        crop: Crop::Centre,
        readout: Readout::LastReal,
        n_mels: 128,
    };
    const START4: Framing = Framing {
        window: 4,
        crop: Crop::Start,
        readout: Readout::LastReal,
        n_mels: 128,
    };

    #[test]
    fn level_norm_removes_a_gain_and_keeps_the_loudness_contour() {
        // c0 follows a contour; a gain adds the same number to every frame.
        let quiet = variant(10, |t, k| {
            if k == 0 {
                -300.0 + 5.0 * t as f32
            } else {
                k as f32
            }
        });
        let loud = variant(10, |t, k| {
            if k == 0 {
                -100.0 + 5.0 * t as f32
            } else {
                k as f32
            }
        });
        let example = |norm: &Standardizer, v: &Variant| {
            let mut out = Vec::new();
            norm.example_into(v, START4, &mut out);
            out
        };
        let level = Standardizer::fit([&quiet, &loud].into_iter(), START4, true);
        assert_eq!(example(&level, &quiet), example(&level, &loud));
        let c0: Vec<f32> = example(&level, &quiet)
            .iter()
            .step_by(N_MFCC)
            .copied()
            .collect();
        assert!(c0.windows(2).all(|w| w[1] > w[0]), "contour kept: {c0:?}");
        assert!(c0.iter().sum::<f32>().abs() < 1e-4, "centred: {c0:?}");
        // Without it, the two recordings differ by their level.
        let train = Standardizer::fit([&quiet, &loud].into_iter(), START4, false);
        assert_ne!(example(&train, &quiet), example(&train, &loud));
    }

    #[test]
    fn windows_crop_and_pad_with_the_mean_and_report_real_lengths() {
        let long = variant(10, |t, _| t as f32);
        let short3 = variant(3, |_, _| 0.0);
        assert_eq!(CENTRE4.span(&long), (3, 4));
        assert_eq!(CENTRE4.span(&short3), (0, 3));
        assert_eq!(START4.span(&long), (0, 4), "start: the first frames");
        assert_eq!(START4.span(&short3), (0, 3));
        let norm = Standardizer {
            mean: vec![1.0; N_MFCC],
            std: vec![2.0; N_MFCC],
            per_clip: false,
            level: false,
        };
        let firsts = |framing: Framing| {
            let mut out = Vec::new();
            assert_eq!(norm.example_into(&long, framing, &mut out), 4);
            out.chunks(N_MFCC).map(|f| f[0]).collect::<Vec<f32>>()
        };
        assert_eq!(
            firsts(CENTRE4),
            vec![1.0, 1.5, 2.0, 2.5],
            "frames 3..7, (t - 1) / 2"
        );
        assert_eq!(firsts(START4), vec![-0.5, 0.0, 0.5, 1.0], "frames 0..4");
        let short = variant(2, |_, _| 5.0);
        let mut out = Vec::new();
        assert_eq!(
            norm.example_into(&short, START4, &mut out),
            2,
            "real length"
        );
        assert_eq!(out.len(), 4 * N_MFCC);
        assert_eq!(out[0], 2.0);
        assert_eq!(out[3 * N_MFCC], 0.0, "padding is the mean");
    }

    #[test]
    fn the_speech_crop_keeps_a_third_of_a_window_of_quiet_before_the_speech() {
        let quiet = -42.0 * 128f32.sqrt(); // 42 dB below the speech
        let speech9 = Framing {
            window: 9,
            crop: Crop::Speech,
            ..START4
        };
        // Speech from frame `at` of `frames`; c0 marks its time from `at`.
        let clip = |frames: usize, at: usize| {
            variant(frames, move |t, k| match k {
                0 if t < at => quiet,
                0 => -((t - at) as f32) * 0.01,
                _ => 0.0,
            })
        };
        assert_eq!(speech9.span(&clip(30, 10)), (7, 9), "3 frames before it");
        assert_eq!(
            speech9.span(&clip(30, 2)),
            (0, 9),
            "less quiet than that: from the start"
        );
        assert_eq!(speech9.span(&clip(14, 10)), (5, 9), "a full window first");
        assert_eq!(speech9.span(&clip(6, 5)), (0, 6), "a short clip: all of it");
        // The same speech after 3, 10 or 20 frames of quiet: the same window.
        let kept = |at: usize| {
            let v = clip(at + 20, at);
            let (start, len) = speech9.span(&v);
            v.mfcc[start * N_MFCC..(start + len) * N_MFCC].to_vec()
        };
        assert_eq!(kept(3), kept(10));
        assert_eq!(kept(10), kept(20));
        assert_eq!(speech_onset(&[], 128), 0, "an empty clip");
        // Within 25 dB of the loudest is speech, 26 dB below is not.
        let step = variant(10, |t, k| match (k, t) {
            (0, 0..=4) => -26.0 * 128f32.sqrt(),
            (0, 5) => -24.0 * 128f32.sqrt(),
            _ => 0.0,
        });
        assert_eq!(speech_onset(&step.mfcc, 128), 5);
    }

    #[test]
    fn statistics_come_from_the_given_copies_only() {
        let a = variant(4, |t, k| (t + k) as f32);
        let b = variant(4, |t, k| (t + k) as f32 + 100.0);
        let w16 = Framing {
            window: 16,
            crop: Crop::Start,
            readout: Readout::LastReal,
            n_mels: 128,
        };
        let s = Standardizer::fit([&a].into_iter(), w16, false);
        assert!((s.mean[0] - 1.5).abs() < 1e-6, "{}", s.mean[0]);
        assert!((s.std[0] - 1.25f32.sqrt()).abs() < 1e-6);
        let both = Standardizer::fit([&a, &b].into_iter(), w16, false);
        assert!(both.mean[0] > 50.0);
        let flat = variant(3, |_, _| 7.0);
        let w3 = Framing { window: 3, ..w16 };
        assert_eq!(
            Standardizer::fit([&flat].into_iter(), w3, false).std[0],
            1e-6
        );
    }

    #[test]
    fn auto_window_is_three_seconds_or_the_median_if_shorter() {
        let clip = |n: usize| Clip {
            clip_id: format!("c{n}"),
            actor: 1,
            emotion: 1,
            gender: "male".into(),
            sample_rate: 22050,
            corpus: "ravdess".into(),
            variants: BTreeMap::from([("clean".to_string(), variant(n, |_, _| 0.0))]),
        };
        // 3 s at 22050 Hz / hop 512 is 130 frames.
        let clips: Vec<Clip> = [140, 150, 200, 160, 220].into_iter().map(clip).collect();
        assert_eq!(auto_window(&clips, 512, 16), 130);
        // Shorter clips: their median.
        let clips: Vec<Clip> = [100, 150, 110, 60, 120].into_iter().map(clip).collect();
        assert_eq!(auto_window(&clips, 512, 16), 110);
        assert_eq!(
            auto_window(&clips[..1], 512, 128),
            128,
            "at least the model's minimum"
        );
        assert_eq!(auto_window(&[], 512, 16), 16);
    }
}
