//! `ser predict`: load a run, classify files (one label each, or a
//! timeline of segments), print.

use std::path::PathBuf;

use anyhow::Result;
use pipeline::output::OutputFile;
use pipeline::timeline::{file_timeline, write_parquet, FileTimeline, Segment};
use pipeline::train::Predictor;
use pipeline::EXIT_SKIPPED;

use super::segments::{AnswerFlags, ModelFlags, SegmentArgs};
use crate::flags::{Env, StoreFlags};
use pipeline::answers::{
    of_recording, of_segment, of_summary, summary_text, Answer, RECORDING_EXTRA, SEGMENT_EXTRA,
};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub s: StoreFlags,
    #[command(flatten)]
    pub from: ModelFlags,
    /// Audio files (WAV, FLAC, MP3, Ogg/Vorbis, M4A/AAC; any rate, any channels).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per line (every class's probability) instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with every class's probability instead of a table.
    #[arg(long)]
    pub csv: bool,
    #[command(flatten)]
    pub ans: AnswerFlags,
    /// A timeline: classify segments of each file (see --segment, --hop,
    /// --silence-db) instead of one window per file.
    #[arg(long)]
    pub timeline: bool,
    #[command(flatten)]
    pub seg: SegmentArgs,
    /// Also write the timeline as Parquet (one row per segment, every file).
    /// Never an input, a file inside a store, or anything but a regular file.
    #[arg(long, value_name = "FILE.parquet")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

impl Args {
    /// Whether the files are cut into a timeline.
    fn wants_timeline(&self) -> bool {
        self.timeline || self.seg.segment.is_some() || self.seg.hop.is_some() || self.out.is_some()
    }
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    // Refused before any work: an input, a store's file, a device, or an
    // existing file without --force.
    let out = a
        .out
        .as_deref()
        .map(|o| OutputFile::check(o, &a.files, a.force))
        .transpose()?;
    let p = a.from.open(&env.store, a.ans.fold)?;
    let failed = if a.wants_timeline() {
        timelines(&p, a, out.as_ref())?
    } else {
        whole_files(&p, a)
    };
    if failed == a.files.len() {
        anyhow::bail!("no file could be classified ({failed} skipped, each named above)");
    }
    Ok(if failed > 0 { EXIT_SKIPPED } else { 0 })
}

/// One answer per file; returns how many failed.
fn whole_files(p: &Predictor, a: &Args) -> usize {
    let classes = &p.config.classes;
    if a.csv {
        println!("{}", Answer::csv_header(classes, &RECORDING_EXTRA));
    } else if !a.json {
        println!("{}", Answer::table_header(&p.config.run));
    }
    let mut failed = 0;
    for file in &a.files {
        let r = match p.predict_file(file, a.ans.fold, a.seg.silence_db) {
            Ok(r) => r,
            Err(why) => {
                failed += 1;
                eprintln!("skipped {why}");
                continue;
            }
        };
        let name = file.display().to_string();
        let answer = of_recording(&name, &r);
        println!("{}", print(&answer, p, a));
    }
    failed
}

/// An answer in the format asked for.
fn print(answer: &Answer<'_>, p: &Predictor, a: &Args) -> String {
    let classes = &p.config.classes;
    if a.json {
        answer.json(p, a.ans.min_confidence)
    } else if a.csv {
        answer.csv(classes, a.ans.min_confidence)
    } else {
        answer.table(classes, a.ans.min_confidence)
    }
}

/// Segments of every file; returns how many files failed.
fn timelines(p: &Predictor, a: &Args, out: Option<&OutputFile>) -> Result<usize> {
    let cfg = a.seg.config(p)?;
    if a.csv {
        println!("{}", Answer::csv_header(&p.config.classes, &SEGMENT_EXTRA));
    } else if !a.json {
        println!("{}", Answer::table_header(&p.config.run));
    }
    let mut kept: Vec<(String, Vec<Segment>)> = Vec::new();
    let mut failed = 0;
    for file in &a.files {
        let name = file.display().to_string();
        let result = file_timeline(p, file, cfg, a.ans.fold, |s| {
            println!("{}", print(&of_segment(&name, s), p, a));
        });
        match result {
            Ok(segs) => {
                if a.json {
                    println!("{}", of_summary(&name, &segs).json(p, a.ans.min_confidence));
                } else if a.csv {
                    eprintln!("{}", summary_text(p, &name, &segs));
                } else {
                    println!("{}", summary_text(p, &name, &segs));
                }
                if out.is_some() {
                    kept.push((name, segs));
                }
            }
            Err(why) => {
                failed += 1;
                eprintln!("skipped {why}");
            }
        }
    }
    // Nothing classified: nothing replaced (the caller says so, exit 1).
    if let Some(out) = out.filter(|_| !kept.is_empty()) {
        let t: Vec<FileTimeline<'_>> = kept
            .iter()
            .map(|(f, s)| FileTimeline {
                file: f.clone(),
                segments: s,
            })
            .collect();
        write_parquet(out, &p.config.run, &p.config.classes, &t)?;
        eprintln!("timeline: {}", out.path().display());
    }
    Ok(failed)
}
