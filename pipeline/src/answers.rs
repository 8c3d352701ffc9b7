//! What `ser predict`, `ser listen` and `ser serve` answer: every answer (a recording, a
//! segment of a timeline, a timeline's summary) has the same columns in
//! the table, CSV and JSON (and the timeline's Parquet): `file`,
//! `start_s`, `end_s`, `label`, `confidence`, then one column per class,
//! named by the class; what only some answers have (`segment`, `rms_db`,
//! `silent`, `windows`, `speech_s`, `summary`, …) comes after.

use crate::recording::RecordingAnswer;
use crate::timeline::{dominant, voiced_mean, Segment, SILENT};
use crate::train::{Predictor, NO_SPEECH};
use serde_json::{Map, Value};

/// The label of an answer whose top probability is below `--min-confidence`.
pub const UNCERTAIN: &str = "uncertain";

/// One answer in the shared columns.
pub struct Answer<'a> {
    /// The input (`-` for standard input, `session` for a live summary).
    pub file: &'a str,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Class probabilities (the run's order); `None`: no speech or silent.
    pub probs: Option<Vec<f32>>,
    /// The label when there are no probabilities (`no speech`, `silent`).
    pub none_label: &'static str,
    /// Columns only this kind of answer has, in order.
    pub extra: Vec<(&'static str, Value)>,
}

impl<'a> Answer<'a> {
    /// The top probability.
    pub fn confidence(&self) -> Option<f32> {
        self.probs
            .as_ref()
            .map(|p| p.iter().cloned().fold(0f32, f32::max))
    }

    /// The label shown: the top class, `uncertain` below `min_confidence`,
    /// or the no-probability label.
    pub fn label<'c>(&self, classes: &'c [String], min_confidence: Option<f64>) -> &'c str
    where
        'a: 'c,
    {
        match (&self.probs, self.confidence()) {
            (Some(_), Some(c)) if min_confidence.is_some_and(|m| f64::from(c) < m) => UNCERTAIN,
            (Some(p), _) => classes[models::argmax(p)].as_str(),
            _ => self.none_label,
        }
    }

    /// One JSON object: the shared keys, one per class (null without
    /// probabilities), the extra ones, and `run`.
    pub fn json(&self, p: &Predictor, min_confidence: Option<f64>) -> String {
        let classes = &p.config.classes;
        let mut m = Map::new();
        m.insert("file".into(), self.file.into());
        m.insert("start_s".into(), self.start_s.into());
        m.insert("end_s".into(), self.end_s.into());
        m.insert("label".into(), self.label(classes, min_confidence).into());
        m.insert("confidence".into(), num(self.confidence()));
        for (k, c) in classes.iter().enumerate() {
            let v = self.probs.as_ref().and_then(|q| q.get(k).copied());
            m.insert(c.clone(), num(v));
        }
        for (k, v) in &self.extra {
            m.insert((*k).into(), v.clone());
        }
        m.insert("run".into(), p.config.run.clone().into());
        Value::Object(m).to_string()
    }

    /// The CSV header of answers with `extra` columns.
    pub fn csv_header(classes: &[String], extra: &[&str]) -> String {
        let mut h = vec!["file", "start_s", "end_s", "label", "confidence"];
        h.extend(classes.iter().map(String::as_str));
        h.extend(extra);
        h.join(",")
    }

    /// One CSV row (see [`Answer::csv_header`]); empty cells without
    /// probabilities.
    pub fn csv(&self, classes: &[String], min_confidence: Option<f64>) -> String {
        let mut cells = vec![
            csv_cell(self.file),
            format!("{:.3}", self.start_s),
            format!("{:.3}", self.end_s),
            csv_cell(self.label(classes, min_confidence)),
            self.confidence()
                .map(|c| format!("{c:.6}"))
                .unwrap_or_default(),
        ];
        for k in 0..classes.len() {
            let v = self.probs.as_ref().and_then(|q| q.get(k));
            cells.push(v.map(|v| format!("{v:.6}")).unwrap_or_default());
        }
        for (_, v) in &self.extra {
            cells.push(match v {
                Value::String(s) => csv_cell(s),
                Value::Null => String::new(),
                other => other.to_string(),
            });
        }
        cells.join(",")
    }

    /// The table's header.
    pub fn table_header(run: &str) -> String {
        format!("file\tstart_s\tend_s\tlabel\tconfidence\ttop 3 (run {run})")
    }

    /// One table row: the shared columns and the top three classes.
    pub fn table(&self, classes: &[String], min_confidence: Option<f64>) -> String {
        let top = match &self.probs {
            Some(q) => {
                let mut ranked: Vec<(usize, f32)> = q.iter().cloned().enumerate().collect();
                ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
                ranked
                    .iter()
                    .take(3)
                    .map(|(c, v)| format!("{} {v:.3}", classes[*c]))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            None => "-".into(),
        };
        format!(
            "{}\t{:.2}\t{:.2}\t{}\t{}\t{top}",
            self.file,
            self.start_s,
            self.end_s,
            self.label(classes, min_confidence),
            self.confidence()
                .map(|c| format!("{c:.3}"))
                .unwrap_or_else(|| "-".into()),
        )
    }
}

/// A JSON number, or null (also for a non-finite one).
fn num(v: Option<f32>) -> Value {
    v.and_then(|v| serde_json::Number::from_f64(f64::from(v)))
        .map_or(Value::Null, Value::Number)
}

/// A CSV cell, quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The extra columns of a whole recording.
pub const RECORDING_EXTRA: [&str; 2] = ["windows", "speech_s"];

/// A whole recording's answer ([`crate::recording`]).
pub fn of_recording<'a>(file: &'a str, r: &RecordingAnswer) -> Answer<'a> {
    Answer {
        file,
        start_s: 0.0,
        end_s: r.duration_s,
        none_label: NO_SPEECH,
        extra: vec![
            ("windows", r.windows.into()),
            ("speech_s", ((r.speech_s * 100.0).round() / 100.0).into()),
        ],
        probs: r.probabilities.clone(),
    }
}

/// The extra columns of a segment.
pub const SEGMENT_EXTRA: [&str; 3] = ["segment", "rms_db", "silent"];

/// A segment of a timeline as an answer.
pub fn of_segment<'a>(file: &'a str, s: &Segment) -> Answer<'a> {
    Answer {
        file,
        start_s: s.start_s,
        end_s: s.end_s,
        probs: s.probabilities.clone(),
        none_label: SILENT,
        extra: vec![
            ("segment", s.index.into()),
            (
                "rms_db",
                serde_json::Number::from_f64(s.rms_db).map_or(Value::Null, Value::Number),
            ),
            ("silent", s.silent.into()),
        ],
    }
}

/// A timeline's summary as an answer: the mean probabilities over its
/// voiced segments (`label` their dominant class), with `summary: true`.
pub fn of_summary<'a>(file: &'a str, segs: &[Segment]) -> Answer<'a> {
    let (probs, voiced) = match voiced_mean(segs) {
        Some((mean, n)) => (Some(mean), n),
        None => (None, 0),
    };
    Answer {
        file,
        start_s: segs.first().map_or(0.0, |s| s.start_s),
        end_s: segs.last().map_or(0.0, |s| s.end_s),
        probs,
        none_label: SILENT,
        extra: vec![
            ("summary", true.into()),
            ("segments", segs.len().into()),
            ("voiced", voiced.into()),
        ],
    }
}

/// The summary as one line of text.
pub fn summary_text(p: &Predictor, file: &str, segs: &[Segment]) -> String {
    let silent = segs.iter().filter(|s| s.silent).count();
    match dominant(segs) {
        Some((k, q, voiced)) => format!(
            "summary {file}: dominant {} (mean probability {q:.3}) over {voiced} voiced of {} segments ({silent} silent)",
            p.config.classes[k],
            segs.len()
        ),
        None => format!("summary {file}: all {} segments silent", segs.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(probs: Option<Vec<f32>>) -> Answer<'static> {
        Answer {
            file: "a,b.wav",
            start_s: 0.0,
            end_s: 3.5,
            probs,
            none_label: "no speech",
            extra: vec![("windows", 1.into())],
        }
    }

    #[test]
    fn every_format_has_the_shared_columns_in_order() {
        let classes = vec!["sad".to_string(), "angry".to_string()];
        let a = answer(Some(vec![0.25, 0.75]));
        assert_eq!(
            Answer::csv_header(&classes, &["windows"]),
            "file,start_s,end_s,label,confidence,sad,angry,windows"
        );
        assert_eq!(
            a.csv(&classes, None),
            "\"a,b.wav\",0.000,3.500,angry,0.750000,0.250000,0.750000,1"
        );
        assert_eq!(a.label(&classes, Some(0.8)), UNCERTAIN);
        let none = answer(None);
        assert_eq!(
            none.csv(&classes, Some(0.8)),
            "\"a,b.wav\",0.000,3.500,no speech,,,,1"
        );
        assert!(none.table(&classes, None).contains("no speech\t-\t-"));
    }
}
