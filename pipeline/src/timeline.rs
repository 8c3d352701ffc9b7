//! Long recordings as an emotion timeline: a stream of mono samples cut
//! into segments of `segment` seconds every `hop` seconds, each silent one
//! marked, each voiced one classified by a run (the feature path of
//! training, [`Predictor::predict_samples`]). The same [`Segmenter`] serves
//! `ser predict --timeline` (decoded files, streamed packet by packet) and
//! `ser listen` (live PCM), so both give the same labels for the same audio.
//!
//! Segment `k` covers `[k * hop, min(k * hop + segment, end)]`; it is
//! classified when it holds at least half a segment of audio (the first one
//! always), so a recording of `D` seconds gives every `k` with `k * hop < D`
//! and (`k` = 0 or `D - k * hop >= segment / 2`). Memory holds one segment.

use std::path::Path;

use crate::audio::AudioStream;
use crate::error::{FileError, PredictError};
use crate::output::{OutputError, OutputFile};
use crate::train::Predictor;

/// How a stream is cut and what counts as silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentConfig {
    /// Segment length, seconds.
    pub segment_s: f64,
    /// Step between segment starts, seconds.
    pub hop_s: f64,
    /// Floor of speech, dBFS: 20 ms frames below it are never speech. A
    /// segment is marked silent (and not classified) when it holds less
    /// than [`crate::speech::MIN_SPEECH_S`] of speech, judged relative to
    /// the segment itself ([`crate::speech`]): quiet speech (RAVDESS's
    /// calm clips, near -50 dBFS) is speech, steady room noise is not.
    pub silence_db: f64,
}

/// The label of a segment without speech (every output format).
pub const SILENT: &str = "silent";

/// The default floor of speech, dBFS (see [`SegmentConfig::silence_db`]).
pub const SILENCE_DB: f64 = crate::speech::FLOOR_DB;

impl SegmentConfig {
    /// Segments of the run's window, half overlapping.
    pub fn for_predictor(p: &Predictor) -> SegmentConfig {
        SegmentConfig::for_window_seconds(p.window_seconds())
    }

    /// Segments of a window of `seconds`, rounded to 10 ms (a 130-frame
    /// window is 2.9954 s: segments of 3.00 s every 1.50 s, so times read
    /// as the user would write them and match `--segment 3`), half
    /// overlapping.
    pub fn for_window_seconds(seconds: f64) -> SegmentConfig {
        let w = ((seconds * 100.0).round() / 100.0)
            .clamp(crate::bounds::SEGMENT_S.lo, crate::bounds::SEGMENT_S.hi);
        SegmentConfig {
            segment_s: w,
            hop_s: w / 2.0,
            silence_db: SILENCE_DB,
        }
    }

    /// Checks the lengths and the threshold against [`crate::bounds`]
    /// (segment 0.1..=600 s, hop 0.01..=600 s, silence -200..=0 dBFS), so
    /// a segment's buffer is at most 600 s of audio and a stream of `D`
    /// seconds gives at most `100 D + 1` segments.
    pub fn validate(&self) -> Result<(), String> {
        use crate::bounds as b;
        b::SEGMENT_S.check(self.segment_s)?;
        b::HOP_S.check(self.hop_s)?;
        b::SILENCE_DB.check(self.silence_db)?;
        Ok(())
    }
}

/// One segment of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// 0-based index.
    pub index: usize,
    /// Start, seconds from the start of the stream.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// RMS level, dBFS.
    pub rms_db: f64,
    /// Below the silence threshold (not classified).
    pub silent: bool,
    /// Class probabilities (voiced segments).
    pub probabilities: Option<Vec<f32>>,
}

/// RMS level of samples in dB relative to full scale (-inf for silence).
pub fn rms_db(y: &[f32]) -> f64 {
    if y.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = y.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / y.len() as f64;
    10.0 * ms.max(1e-20).log10()
}

/// The highest stream rate a [`Segmenter`] takes, Hz (a header claiming
/// more is not audio this tool can classify).
pub const MAX_STREAM_RATE: u32 = 1_000_000;

/// Cuts a stream into segments and classifies them.
pub struct Segmenter<'a> {
    predictor: &'a Predictor,
    fold: Option<usize>,
    cfg: SegmentConfig,
    rate: u32,
    seg: usize,
    hop: usize,
    buf: Vec<f32>,
    /// Stream position (samples) of `buf[0]`.
    offset: u64,
    /// Samples still to drop before buffering (when `hop` > `segment`).
    skip: usize,
    next: usize,
}

impl<'a> Segmenter<'a> {
    /// A segmenter for a stream at `rate` Hz.
    pub fn new(
        predictor: &'a Predictor,
        rate: u32,
        cfg: SegmentConfig,
        fold: Option<usize>,
    ) -> Result<Self, PredictError> {
        cfg.validate().map_err(PredictError::Segments)?;
        if !(1..=MAX_STREAM_RATE).contains(&rate) {
            return Err(PredictError::Segments(format!(
                "sample rate {rate} Hz is not supported (1..={MAX_STREAM_RATE} Hz)"
            )));
        }
        let seg = ((cfg.segment_s * rate as f64).round() as usize).max(1);
        let hop = ((cfg.hop_s * rate as f64).round() as usize).max(1);
        Ok(Segmenter {
            predictor,
            fold,
            cfg,
            rate,
            seg,
            hop,
            // Grows to one segment as audio comes; no large reservation up front.
            buf: Vec::with_capacity(seg.min(1 << 20)),
            offset: 0,
            skip: 0,
            next: 0,
        })
    }

    /// Adds samples; returns the segments they completed.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<Segment>, PredictError> {
        let dropped = self.skip.min(samples.len());
        self.skip -= dropped;
        self.buf.extend_from_slice(&samples[dropped..]);
        let mut out = Vec::new();
        while self.buf.len() >= self.seg {
            out.push(self.emit(self.seg)?);
            self.advance();
        }
        Ok(out)
    }

    /// The stream ended: the segments of its tail.
    pub fn finish(&mut self) -> Result<Vec<Segment>, PredictError> {
        let mut out = Vec::new();
        while !self.buf.is_empty() && (self.next == 0 || 2 * self.buf.len() >= self.seg) {
            out.push(self.emit(self.buf.len().min(self.seg))?);
            self.advance();
        }
        self.buf.clear();
        Ok(out)
    }

    fn advance(&mut self) {
        let n = self.hop.min(self.buf.len());
        self.buf.drain(..n);
        self.offset += self.hop as u64;
        self.skip = self.hop - n;
    }

    fn emit(&mut self, len: usize) -> Result<Segment, PredictError> {
        let y = &self.buf[..len];
        let db = rms_db(y);
        let seconds = len as f64 / self.rate as f64;
        let speech = crate::speech::speech_seconds(y, self.rate, self.cfg.silence_db);
        let silent = speech < crate::speech::MIN_SPEECH_S.min(seconds / 2.0);
        let probabilities = if silent {
            None
        } else {
            Some(self.predictor.predict_samples(y, self.rate, self.fold)?)
        };
        let start_s = self.offset as f64 / self.rate as f64;
        let seg = Segment {
            index: self.next,
            start_s,
            end_s: start_s + len as f64 / self.rate as f64,
            rms_db: db,
            silent,
            probabilities,
        };
        self.next += 1;
        Ok(seg)
    }
}

/// The timeline of an audio file, decoded packet by packet (memory stays
/// at one segment however long the file); `on_segment` sees each segment
/// as it is classified. The error names the file and why (a panic in
/// this file's work too: `internal error: …`, see [`crate::panic_guard`]).
pub fn file_timeline(
    predictor: &Predictor,
    path: &Path,
    cfg: SegmentConfig,
    fold: Option<usize>,
    on_segment: impl FnMut(&Segment),
) -> Result<Vec<Segment>, FileError> {
    crate::panic_guard::catch(|| timeline_of(predictor, path, cfg, fold, on_segment))
        .map_err(PredictError::Internal)
        .and_then(|r| r)
        .map_err(|e| FileError::new(path, e))
}

fn timeline_of(
    predictor: &Predictor,
    path: &Path,
    cfg: SegmentConfig,
    fold: Option<usize>,
    mut on_segment: impl FnMut(&Segment),
) -> Result<Vec<Segment>, PredictError> {
    let mut stream = AudioStream::open(path)?;
    let mut seg = Segmenter::new(predictor, stream.info.sample_rate, cfg, fold)?;
    let mut all = Vec::new();
    while let Some(chunk) = stream.next_chunk()? {
        for s in seg.push(&chunk)? {
            on_segment(&s);
            all.push(s);
        }
    }
    for s in seg.finish()? {
        on_segment(&s);
        all.push(s);
    }
    Ok(all)
}

/// The mean class probabilities over the voiced segments, and how many
/// there are. `None` when every segment is silent.
pub fn voiced_mean(segments: &[Segment]) -> Option<(Vec<f32>, usize)> {
    let voiced: Vec<&Vec<f32>> = segments
        .iter()
        .filter_map(|s| s.probabilities.as_ref())
        .collect();
    let n = voiced.first()?.len();
    let mut mean = vec![0f32; n];
    for p in &voiced {
        for (m, q) in mean.iter_mut().zip(p.iter()) {
            *m += q / voiced.len() as f32;
        }
    }
    Some((mean, voiced.len()))
}

/// The dominant class over the voiced segments: the largest mean
/// probability ([`voiced_mean`]). `None` when every segment is silent.
pub fn dominant(segments: &[Segment]) -> Option<(usize, f32, usize)> {
    let (mean, voiced) = voiced_mean(segments)?;
    let k = models::argmax(&mean);
    Some((k, mean[k], voiced))
}

/// Segments of one input, for [`write_parquet`].
pub struct FileTimeline<'a> {
    /// The input (a path, or `-` for standard input).
    pub file: String,
    /// Its segments.
    pub segments: &'a [Segment],
}

/// Writes timelines as Parquet, one row per segment, the same columns for
/// every file and the same first ones as `predict`'s and `listen`'s other
/// formats: `file`, `start_s`, `end_s`, `label` (`silent` for a segment
/// without speech), `confidence` (the top probability; null when silent),
/// one `float32` column per class named by the class (null when silent),
/// then `run`, `segment`, `rms_db`, `silent` and `probabilities` (every
/// class, in `classes` order). Through the output guard: atomic, and never
/// over a file the guard refused.
pub fn write_parquet(
    out: &OutputFile,
    run: &str,
    classes: &[String],
    timelines: &[FileTimeline<'_>],
) -> Result<(), OutputError> {
    use polars::prelude::*;
    let path = out.path();
    let rows: Vec<(&str, &Segment)> = timelines
        .iter()
        .flat_map(|t| t.segments.iter().map(move |s| (t.file.as_str(), s)))
        .collect();
    let label = |s: &Segment| match &s.probabilities {
        Some(p) => classes[models::argmax(p)].clone(),
        None => SILENT.to_string(),
    };
    let prob = |s: &Segment| s.probabilities.as_ref().map(|p| p[models::argmax(p)]);
    let probs: Vec<Option<Series>> = rows
        .iter()
        .map(|(_, s)| {
            s.probabilities
                .as_ref()
                .map(|p| Series::new("".into(), p.as_slice()))
        })
        .collect();
    // One column per class, named: `SELECT start_s, angry FROM …`.
    let by_class = classes.iter().enumerate().map(|(k, name)| {
        Column::new(
            name.as_str().into(),
            rows.iter()
                .map(|(_, s)| s.probabilities.as_ref().and_then(|p| p.get(k).copied()))
                .collect::<Vec<Option<f32>>>(),
        )
    });
    let head = [
        Column::new(
            "file".into(),
            rows.iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>(),
        ),
        Column::new(
            "start_s".into(),
            rows.iter().map(|(_, s)| s.start_s).collect::<Vec<_>>(),
        ),
        Column::new(
            "end_s".into(),
            rows.iter().map(|(_, s)| s.end_s).collect::<Vec<_>>(),
        ),
        Column::new(
            "label".into(),
            rows.iter().map(|(_, s)| label(s)).collect::<Vec<_>>(),
        ),
        Column::new(
            "confidence".into(),
            rows.iter().map(|(_, s)| prob(s)).collect::<Vec<_>>(),
        ),
    ];
    let tail = [
        Column::new("run".into(), vec![run.to_string(); rows.len()]),
        Column::new(
            "segment".into(),
            rows.iter().map(|(_, s)| s.index as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "rms_db".into(),
            rows.iter().map(|(_, s)| s.rms_db).collect::<Vec<_>>(),
        ),
        Column::new(
            "silent".into(),
            rows.iter().map(|(_, s)| s.silent).collect::<Vec<_>>(),
        ),
        Column::new("probabilities".into(), probs),
    ];
    let mut df =
        DataFrame::new_infer_height(head.into_iter().chain(by_class).chain(tail).collect())
            .map_err(|e| OutputError::Write {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
    out.write_with(|file| {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_default_segments_are_round_like_the_docs_say() {
        // 130 frames of hop 512 at 22050 Hz: 2.9954 s.
        let c = SegmentConfig::for_window_seconds(129.0 * 512.0 / 22050.0);
        assert_eq!((c.segment_s, c.hop_s), (3.0, 1.5));
        // The 7th hop starts at 10.50 s, as with `--segment 3` (not 10.48).
        assert_eq!(format!("{:.2}", 7.0 * c.hop_s), "10.50");
        c.validate().unwrap();
        assert!(SegmentConfig::for_window_seconds(0.0).validate().is_ok());
    }

    #[test]
    fn rms_levels_in_dbfs() {
        assert!((rms_db(&[1.0, -1.0]) - 0.0).abs() < 1e-9);
        assert!((rms_db(&[0.1; 100]) + 20.0).abs() < 1e-6);
        assert!(rms_db(&[0.0; 10]) < -150.0);
        assert_eq!(rms_db(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn regression_segment_config_is_bounded() {
        let ok = SegmentConfig {
            segment_s: 3.0,
            hop_s: 1.5,
            silence_db: SILENCE_DB,
        };
        ok.validate().unwrap();
        for (bad, field) in [
            (
                SegmentConfig {
                    segment_s: 1e9,
                    ..ok
                },
                "segment",
            ),
            (
                SegmentConfig {
                    segment_s: 0.0,
                    ..ok
                },
                "segment",
            ),
            (SegmentConfig { hop_s: 1e-9, ..ok }, "hop"),
            (
                SegmentConfig {
                    silence_db: f64::NAN,
                    ..ok
                },
                "silence_db",
            ),
        ] {
            let e = bad.validate().unwrap_err();
            assert!(e.contains(field), "{e}");
        }
    }
}
