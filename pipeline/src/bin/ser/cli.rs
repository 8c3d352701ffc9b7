//! The command line: every command and the module that holds its flags
//! (`cmd::<name>::Args`). `--store` and `-q` go only on the commands that
//! use them; given before the command (`ser --store DIR train`) they apply
//! to it just the same.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd::{
    check, download, export, features, help, listen, metadata, model, predict, query, report,
    reproduce, robustness, serve, synth, train, verify,
};
use crate::flags::{Env, StoreFlags, DEFAULT_STORE};

#[derive(Parser)]
#[command(
    name = "ser",
    version,
    about = "Speech emotion recognition: features, training, reports",
    disable_help_subcommand = true,
    after_help = "Exit status: 0 done; 1 error; 2 bad command line; 3 done but some inputs \
                  skipped (each named on stderr); 4 store locked by another writer; \
                  5 verify/download found modified or missing files, or check found damage."
)]
pub struct Cli {
    /// Flags of the store commands, accepted before the subcommand too.
    #[command(flatten)]
    pub top: StoreFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a small deterministic RAVDESS-named demo corpus.
    Synth(synth::Args),
    /// Download the RAVDESS speech set (resumable), unpack it safely, verify it.
    Download(download::Args),
    /// Check a RAVDESS folder against the 1440 published SHA-256 checksums.
    Verify(verify::Args),
    /// Label every audio file of one or more corpora into `metadata.parquet`
    /// (creates the store).
    Metadata(metadata::Args),
    /// Compute MFCC (and optionally log-mel) shards for clean and noisy copies.
    Features(Box<features::Args>),
    /// Train a model on a feature set; writes (or reuses) `runs/<run>/`.
    Train(Box<train::Args>),
    /// Classify audio files (WAV, FLAC, MP3, Ogg, M4A) with a trained run:
    /// one label per file, or a timeline of segments with --segment.
    Predict(Box<predict::Args>),
    /// Live emotion from raw s16le PCM on standard input (--stdin) or the
    /// microphone (cargo feature `mic`): a rolling timeline, a summary at
    /// the end (or on Ctrl-C).
    Listen(Box<listen::Args>),
    /// A local web page and JSON API: drop a recording or press Record,
    /// see its emotions over time (127.0.0.1:8080 unless --addr says).
    Serve(Box<serve::Args>),
    /// A model file you can carry: `ser model build` trains the recommended
    /// model and writes it; `ser model show FILE` prints its card.
    Model(model::Args),
    /// Write a model file's network as an ONNX model: raw MFCC frames in,
    /// the probabilities `ser predict --model` gives out (window,
    /// standardisation and temperature included).
    Export(export::Args),
    /// Print the table of runs (with a legend of its columns) and write the
    /// paper's figures (PNG).
    Report(report::Args),
    /// Run polars SQL over the store's tables (metadata, features, history,
    /// metrics, confusion, predictions, summary, robustness,
    /// robustness_classes).
    Query(query::Args),
    /// The paper's table and the speaker-independent table in one resumable
    /// command: metadata, features, every run, then reports/paper/REPORT.md.
    Reproduce(reproduce::Args),
    /// Each fold's model on its own test clips as recorded and under
    /// recording conditions (level, band limit, telephone codec, noise,
    /// babble, room, speed): a table, `runs/<run>/robustness.parquet`, each
    /// class's recall and share of the answers in `robustness_classes.parquet`,
    /// and a figure.
    Robustness(robustness::Args),
    /// Check the store for damage (STORE.json, tables, manifests, shards
    /// against their recorded sizes and SHA-256): one line per damaged file
    /// with the command that repairs it; exit 5 if any is damaged.
    Check(check::Args),
    /// Print the help of `ser` or of one command (`ser help train`).
    Help(help::Args),
}

/// The store and progress flags a command takes after its name.
enum Own<'a> {
    /// `--store` and `-q`.
    Store(&'a StoreFlags),
    /// `-q` alone (no store): whether it was given.
    Quiet(bool),
    /// Neither.
    Nothing,
}

impl Command {
    fn own_flags(&self) -> Own<'_> {
        match self {
            Command::Metadata(a) => Own::Store(&a.s),
            Command::Features(a) => Own::Store(&a.s),
            Command::Train(a) => Own::Store(&a.s),
            Command::Predict(a) => Own::Store(&a.s),
            Command::Listen(a) => Own::Store(&a.s),
            Command::Serve(a) => Own::Store(&a.s),
            Command::Report(a) => Own::Store(&a.s),
            Command::Query(a) => Own::Store(&a.s),
            Command::Reproduce(a) => Own::Store(&a.s),
            Command::Check(a) => Own::Store(&a.s),
            Command::Robustness(a) => Own::Store(&a.s),
            Command::Model(a) => match a.command.store_flags() {
                Some(s) => Own::Store(s),
                None => Own::Nothing,
            },
            Command::Download(a) => Own::Quiet(a.q.quiet),
            Command::Verify(a) => Own::Quiet(a.q.quiet),
            Command::Synth(_) | Command::Export(_) | Command::Help(_) => Own::Nothing,
        }
    }
}

impl Cli {
    /// The store folder and progress a command runs with: flags after the
    /// command win over those before it. `Err` names a flag given to a
    /// command that does not use it.
    pub fn env(&self) -> Result<Env, String> {
        let default = || PathBuf::from(DEFAULT_STORE);
        let (store, quiet) = match self.command.own_flags() {
            Own::Store(s) => (
                s.store
                    .clone()
                    .or_else(|| self.top.store.clone())
                    .unwrap_or_else(default),
                s.quiet,
            ),
            _ if self.top.store.is_some() => {
                return Err("--store is not used by this command (it reads no store)".into())
            }
            Own::Quiet(q) => (default(), q),
            Own::Nothing => (default(), false),
        };
        Ok(Env {
            store,
            progress: !(quiet || self.top.quiet),
        })
    }
}
