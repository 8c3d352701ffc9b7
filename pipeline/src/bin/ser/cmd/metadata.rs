//! `ser metadata`: label every audio file of one or more corpora.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result};
use pipeline::corpora::CorpusKind;
use pipeline::metadata::{run_metadata, Source};
use pipeline::EXIT_SKIPPED;

use crate::flags::{usage, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Folder of a corpus (searched recursively, symbolic links followed);
    /// repeat for several corpora.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// How the k-th --data folder is named: auto (detected from the names),
    /// ravdess, crema-d, tess, savee, emodb, or csv:FILE (a manifest with
    /// columns path, emotion, speaker and optionally gender, split) [default: auto].
    #[arg(long)]
    pub corpus: Vec<CorpusArg>,
    /// Let a manifest's paths point outside its folder (absolute paths,
    /// `../`); without it such a row is rejected with its line number.
    #[arg(long)]
    pub allow_outside: bool,
    #[command(flatten)]
    pub s: StoreFlags,
}

/// A `--corpus` value: a named reader, or `auto` (`None`: told from the
/// file names).
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusArg(pub Option<CorpusKind>);

impl FromStr for CorpusArg {
    type Err = String;

    /// `auto` or a [`CorpusKind`], checked when parsed (exit 2 before any
    /// folder is read).
    fn from_str(s: &str) -> Result<CorpusArg, String> {
        match s {
            "auto" => Ok(CorpusArg(None)),
            kind => kind.parse().map(|k| CorpusArg(Some(k))),
        }
    }
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    if a.corpus.len() > a.data.len() {
        return Err(usage(format!(
            "--corpus given {} times for {} --data folders",
            a.corpus.len(),
            a.data.len()
        )));
    }
    let mut sources = Vec::new();
    for (k, d) in a.data.iter().enumerate() {
        // A wrong --data must not leave an empty store behind.
        std::fs::read_dir(d).with_context(|| format!("{}", d.display()))?;
        sources.push(Source {
            data: d.clone(),
            corpus: a.corpus.get(k).and_then(|c| c.0.clone()),
            allow_outside: a.allow_outside,
        });
    }
    let (store, r) = run_metadata(&env.store, &sources, env.progress)?;
    for rej in &r.rejects {
        eprintln!("skipped {}: {}", rej.path, rej.reason);
    }
    for s in &r.sources {
        let how = if s.detected {
            "detected from the names"
        } else {
            "as named"
        };
        println!(
            "metadata: {} read as {} ({how}): {} of {} files labelled",
            s.data.display(),
            s.corpus,
            s.parsed,
            s.found
        );
    }
    println!(
        "metadata: {} clips ({} hashed, {} unchanged), {} skipped, in {:.2}s -> {}",
        r.rows.len(),
        r.hashed,
        r.rows.len() - r.hashed.min(r.rows.len()),
        r.rejects.len(),
        r.seconds,
        store.metadata_path().display()
    );
    Ok(if r.rejects.is_empty() {
        0
    } else {
        EXIT_SKIPPED
    })
}
