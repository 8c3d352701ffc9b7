//! What `ser predict` and `ser listen` share: how a recording is cut into
//! a timeline (flags), and a segment, a file's class or a timeline's
//! summary as a line of the table, of CSV, or of JSON. The JSON lines are
//! `serde` structs whose fields are in alphabetical order, as the keys
//! have always been printed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use pipeline::bounds;
use pipeline::timeline::{dominant, Segment, SegmentConfig};
use pipeline::train::Predictor;
use serde::Serialize;

use crate::flags::{usage, within};

/// How a recording is cut into a timeline (`predict --timeline`, `listen`).
#[derive(clap::Args, Debug, Clone)]
pub struct SegmentArgs {
    /// Segment length in seconds, 0.1..=600 [default: the run's window, 3 s for the defaults].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::SEGMENT_S))]
    pub segment: Option<f64>,
    /// Step between segment starts, seconds, 0.01..=600 (more than a
    /// segment skips the audio between) [default: half a segment].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::HOP_S))]
    pub hop: Option<f64>,
    /// Floor of speech (dBFS, -200..=0): nothing quieter is speech. A segment
    /// with under 0.2 s of speech, judged against its own quiet frames, is
    /// marked silent and not classified.
    #[arg(long, value_name = "DB", default_value_t = pipeline::timeline::SILENCE_DB,
          allow_hyphen_values = true, value_parser = within(bounds::SILENCE_DB))]
    pub silence_db: f64,
}

impl SegmentArgs {
    /// The segmenting of a run's timeline; a usage error if invalid.
    pub fn config(&self, p: &Predictor) -> Result<SegmentConfig> {
        let d = SegmentConfig::for_predictor(p);
        let segment_s = self.segment.unwrap_or(d.segment_s);
        let cfg = SegmentConfig {
            segment_s,
            hop_s: self.hop.unwrap_or(segment_s / 2.0),
            silence_db: self.silence_db,
        };
        cfg.validate().map_err(usage)?;
        Ok(cfg)
    }
}

/// Every class's probability by name (JSON numbers as `f64`, as printed
/// before).
fn by_class<'a>(classes: &'a [String], p: &[f32]) -> BTreeMap<&'a str, f64> {
    classes
        .iter()
        .map(String::as_str)
        .zip(p.iter().map(|&q| f64::from(q)))
        .collect()
}

/// A file's class, as a JSON line of `ser predict --json`.
#[derive(Serialize)]
pub struct FileLine<'a> {
    pub path: &'a str,
    pub predicted: &'a str,
    pub probabilities: BTreeMap<&'a str, f64>,
    /// The top probability; null for no speech.
    pub probability: Option<f64>,
    pub run: &'a str,
}

impl<'a> FileLine<'a> {
    pub fn new(p: &'a Predictor, path: &'a str, predicted: &'a str, probs: &[f32]) -> Self {
        FileLine {
            path,
            predicted,
            probabilities: by_class(&p.config.classes, probs),
            probability: (!probs.is_empty())
                .then(|| f64::from(probs.iter().cloned().fold(0f32, f32::max))),
            run: &p.config.run,
        }
    }
}

/// A segment, as a JSON line (`label`, `probability` and `probabilities`
/// null when silent).
#[derive(Serialize)]
struct SegmentLine<'a> {
    end_s: f64,
    label: Option<&'a str>,
    path: &'a str,
    probabilities: Option<BTreeMap<&'a str, f64>>,
    probability: Option<f64>,
    rms_db: f64,
    run: &'a str,
    segment: usize,
    silent: bool,
    start_s: f64,
}

/// A timeline's summary, as a JSON line.
#[derive(Serialize)]
struct SummaryLine<'a> {
    dominant: Option<&'a str>,
    path: &'a str,
    probability: Option<f64>,
    run: &'a str,
    segments: usize,
    summary: bool,
    voiced: usize,
}

/// A line struct as one line of JSON (it cannot fail: every map key is a
/// string and every value plain data).
pub fn json(line: &impl Serialize) -> String {
    serde_json::to_string(line).unwrap_or_default()
}

/// A segment as a line of the table, CSV or JSON.
pub fn segment_line(p: &Predictor, file: &str, s: &Segment, json_out: bool, csv: bool) -> String {
    let classes = &p.config.classes;
    let best = s.probabilities.as_ref().map(|q| {
        let k = models::argmax(q);
        (classes[k].as_str(), q[k])
    });
    let (label, prob) = match best {
        Some((l, q)) => (l, Some(q)),
        None => ("(silent)", None),
    };
    if json_out {
        json(&SegmentLine {
            end_s: s.end_s,
            label: best.map(|b| b.0),
            path: file,
            probabilities: s.probabilities.as_ref().map(|q| by_class(classes, q)),
            probability: prob.map(f64::from),
            rms_db: s.rms_db,
            run: &p.config.run,
            segment: s.index,
            silent: s.silent,
            start_s: s.start_s,
        })
    } else if csv {
        let probs: Vec<String> = match &s.probabilities {
            Some(q) => q.iter().map(|v| format!("{v:.6}")).collect(),
            None => vec![String::new(); classes.len()],
        };
        format!(
            "{file},{},{:.3},{:.3},{:.1},{},{},{},{}",
            s.index,
            s.start_s,
            s.end_s,
            s.rms_db,
            s.silent,
            if s.silent { "" } else { label },
            prob.map(|v| format!("{v:.6}")).unwrap_or_default(),
            probs.join(",")
        )
    } else {
        format!(
            "{file}\t{:8.2}\t{:8.2}\t{label}\t{}",
            s.start_s,
            s.end_s,
            prob.map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into())
        )
    }
}

/// The summary of a timeline: its dominant class over voiced segments.
pub fn summary(p: &Predictor, file: &str, segs: &[Segment]) -> String {
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

/// The summary as a JSON line.
pub fn summary_json(p: &Predictor, file: &str, segs: &[Segment]) -> String {
    let d = dominant(segs);
    json(&SummaryLine {
        dominant: d.map(|x| p.config.classes[x.0].as_str()),
        path: file,
        probability: d.map(|x| f64::from(x.1)),
        run: &p.config.run,
        segments: segs.len(),
        summary: true,
        voiced: d.map(|x| x.2).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines are byte for byte what `serde_json::json!` printed before
    /// (keys sorted, `f32` widened to `f64`, a non-finite number null).
    #[test]
    fn json_lines_match_the_old_hand_built_ones() {
        let classes = vec!["sad".to_string(), "angry".to_string()];
        let q = [0.25f32, 0.75];
        let old = serde_json::json!({
            "path": "a.wav",
            "run": "r",
            "segment": 3,
            "start_s": 1.5,
            "end_s": 4.5,
            "rms_db": f64::NEG_INFINITY,
            "silent": false,
            "label": Some("angry"),
            "probability": Some(q[1]),
            "probabilities": Some(classes.iter().zip(q).map(|(c, v)| (c.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>()),
        });
        let new = json(&SegmentLine {
            end_s: 4.5,
            label: Some("angry"),
            path: "a.wav",
            probabilities: Some(by_class(&classes, &q)),
            probability: Some(f64::from(q[1])),
            rms_db: f64::NEG_INFINITY,
            run: "r",
            segment: 3,
            silent: false,
            start_s: 1.5,
        });
        assert_eq!(new, old.to_string());
        let old = serde_json::json!({
            "path": "a.wav", "run": "r", "predicted": "angry", "probability": q[1],
            "probabilities": classes.iter().zip(q).map(|(c, v)| (c.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
        });
        let new = json(&FileLine {
            path: "a.wav",
            predicted: "angry",
            probabilities: by_class(&classes, &q),
            probability: Some(f64::from(q[1])),
            run: "r",
        });
        assert_eq!(new, old.to_string());
        let old = serde_json::json!({
            "path": "a.wav", "run": "r", "summary": true, "segments": 2,
            "voiced": 0, "dominant": None::<String>, "probability": None::<f32>,
        });
        let new = json(&SummaryLine {
            dominant: None,
            path: "a.wav",
            probability: None,
            run: "r",
            segments: 2,
            summary: true,
            voiced: 0,
        });
        assert_eq!(new, old.to_string());
    }
}

/// Which model classifies: a run (`--run`) or a model file (`--model`).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct ModelFlags {
    /// Run name, unique prefix of one, or run folder.
    #[arg(long)]
    pub run: Option<String>,
    /// A model file (`ser model build`); no store needed.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

impl ModelFlags {
    /// Loads the run or model file, and checks that it has fold `fold`.
    pub fn open(&self, store: &std::path::Path, fold: Option<usize>) -> anyhow::Result<Predictor> {
        let p = match (&self.model, &self.run) {
            (Some(file), _) => Predictor::from_model_file(file)?,
            (None, Some(run)) => Predictor::open(store, run, fold)?,
            (None, None) => anyhow::bail!("give --run RUN or --model FILE"),
        };
        p.check_fold(fold)?;
        Ok(p)
    }
}
