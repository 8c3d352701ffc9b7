//! The command line: every subcommand and its flags (clap). `--store` and
//! `-q` go only on the commands that use them; given before the subcommand
//! (`ser --store DIR train`) they apply to it just the same.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use pipeline::corpus;

use pipeline::bounds;

use crate::args::{within, FeatureArgs, ListenArgs, PredictArgs, TrainArgs};

/// Where the store lives unless `--store` says otherwise. Not `./store`:
/// in a checkout that is the `store` crate's source folder.
pub const DEFAULT_STORE: &str = "ser-store";

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

/// The store and progress flags.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreFlags {
    /// The store folder [default: ./ser-store].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Progress flag alone (commands without a store).
#[derive(Args, Debug, Clone, Default)]
pub struct QuietFlag {
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a small deterministic RAVDESS-named demo corpus.
    Synth {
        /// Output folder (Actor_NN/ folders are created in it): new, empty,
        /// or an earlier `ser synth` output (it holds `.ser-synth.json`).
        #[arg(long)]
        out: PathBuf,
        /// Actors (odd male, even female), 60 clips each, 1..=24.
        #[arg(long, default_value_t = 4, value_parser = within(bounds::SYNTH_ACTORS))]
        actors: u32,
        /// Sample rate of the files, Hz, 8000..=192000.
        #[arg(long, default_value_t = 48000, value_parser = within(bounds::SYNTH_RATE))]
        sample_rate: u32,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Download the RAVDESS speech set (resumable), unpack it safely, verify it.
    Download {
        /// Which corpus: only `ravdess` has a stable URL with a published
        /// checksum; for the others this says where to get them.
        #[arg(long, default_value = "ravdess")]
        corpus: String,
        /// Folder to unpack into (the archive is kept there too).
        #[arg(long)]
        out: PathBuf,
        /// Archive URL.
        #[arg(long, default_value = corpus::RAVDESS_URL)]
        url: String,
        /// Expected MD5 of the archive, or `none` to skip the check. Default:
        /// Zenodo's MD5 when --url is the default; with another --url, no
        /// MD5 check unless given (the size is still checked).
        #[arg(long)]
        md5: Option<String>,
        /// Connect, response and per-read timeout, seconds, 1..=86400.
        #[arg(long, default_value_t = 60, value_parser = within(bounds::TIMEOUT_S))]
        timeout_s: u64,
        /// Checksum list (`sha256sum` format) to verify against [default: the embedded RAVDESS list].
        #[arg(long)]
        sums: Option<PathBuf>,
        #[command(flatten)]
        q: QuietFlag,
    },
    /// Check a RAVDESS folder against the 1440 published SHA-256 checksums.
    Verify {
        /// The folder.
        #[arg(long)]
        data: PathBuf,
        /// Missing files are reported as a count, not a failure.
        #[arg(long)]
        allow_partial: bool,
        /// Checksum list (`sha256sum` format) [default: the embedded RAVDESS list].
        #[arg(long)]
        sums: Option<PathBuf>,
        #[command(flatten)]
        q: QuietFlag,
    },
    /// Label every audio file of one or more corpora into `metadata.parquet`
    /// (creates the store).
    Metadata {
        /// Folder of a corpus (searched recursively, symbolic links followed);
        /// repeat for several corpora.
        #[arg(long, required = true)]
        data: Vec<PathBuf>,
        /// How the k-th --data folder is named: auto (detected from the names),
        /// ravdess, crema-d, tess, savee, emodb, or csv:FILE (a manifest with
        /// columns path, emotion, speaker and optionally gender, split) [default: auto].
        #[arg(long, value_parser = crate::args::parse_corpus)]
        corpus: Vec<crate::args::CorpusArg>,
        /// Let a manifest's paths point outside its folder (absolute paths,
        /// `../`); without it such a row is rejected with its line number.
        #[arg(long)]
        allow_outside: bool,
        #[command(flatten)]
        s: StoreFlags,
    },
    /// Compute MFCC (and optionally log-mel) shards for clean and noisy copies.
    Features(Box<FeatureArgs>),
    /// Train a model on a feature set; writes (or reuses) `runs/<run>/`.
    Train(Box<TrainArgs>),
    /// Classify audio files (WAV, FLAC, MP3, Ogg, M4A) with a trained run:
    /// one label per file, or a timeline of segments with --segment.
    Predict(Box<PredictArgs>),
    /// Live emotion from raw s16le PCM on standard input (--stdin) or the
    /// microphone (cargo feature `mic`): a rolling timeline, a summary at
    /// the end (or on Ctrl-C).
    Listen(Box<ListenArgs>),
    /// Print the table of runs (with a legend of its columns) and write the
    /// paper's figures (PNG).
    Report {
        /// Runs (names, unique prefixes or folders) [default: every run].
        runs: Vec<String>,
        /// Only the table, no figures.
        #[arg(long)]
        no_figures: bool,
        #[command(flatten)]
        s: StoreFlags,
    },
    /// Run polars SQL over the store's tables (metadata, features, history,
    /// metrics, confusion, predictions, summary).
    Query {
        /// The SQL, e.g. "SELECT model, test_accuracy FROM summary WHERE fold IS NULL".
        sql: String,
        /// CSV on stdout.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON lines on stdout.
        #[arg(long)]
        json: bool,
        /// Include the MFCC / log-mel value lists in `features`.
        #[arg(long)]
        with_values: bool,
        #[command(flatten)]
        s: StoreFlags,
    },
    /// The paper's table and the speaker-independent table in one resumable
    /// command: metadata, features, every run, then reports/paper/REPORT.md.
    Reproduce {
        /// Corpus folder (any corpus `ser metadata` reads; RAVDESS for the
        /// paper's table) [default: the store's metadata as it is].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Only these models, comma-separated (cnn, lstm, cnn-lstm, si-cnn) [default: all].
        #[arg(long, value_delimiter = ',')]
        only: Vec<models::ModelKind>,
        /// `paper` (random 75/25 split, 14 classes) or `speakers` (EmoBox's
        /// speaker-independent folds, 8 emotions) [default: both].
        #[arg(long)]
        protocol: Option<pipeline::reproduce::Protocol>,
        /// Train only the first N speaker-independent folds of the paper CNN
        /// (its slowest run), 1..=64; the report says so.
        #[arg(long, value_parser = within(bounds::FOLD))]
        max_folds: Option<usize>,
        /// Two epochs of everything on 64-frame windows: checks the pipeline
        /// end to end in a minute or two (not a result).
        #[arg(long)]
        quick: bool,
        /// Worker threads, 1..=1024 [default: RAYON_NUM_THREADS, else one per core].
        #[arg(long, value_parser = within(bounds::THREADS))]
        threads: Option<usize>,
        #[command(flatten)]
        s: StoreFlags,
    },
    /// Check the store for damage (STORE.json, tables, manifests, shards
    /// against their recorded sizes and SHA-256): one line per damaged file
    /// with the command that repairs it; exit 5 if any is damaged.
    Check {
        /// Drop damaged derived data (shards, manifest versions, rejects
        /// tables) so the next `ser features` rebuilds it, and restore a
        /// missing STORE.json.
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        s: StoreFlags,
    },
    /// Print the help of `ser` or of one command (`ser help train`).
    Help {
        /// The command.
        command: Option<String>,
    },
}

impl Command {
    /// The store flags given after the subcommand, if it takes them.
    pub fn store_flags(&self) -> Option<&StoreFlags> {
        match self {
            Command::Metadata { s, .. }
            | Command::Reproduce { s, .. }
            | Command::Report { s, .. }
            | Command::Query { s, .. }
            | Command::Check { s, .. } => Some(s),
            Command::Features(a) => Some(&a.s),
            Command::Train(a) => Some(&a.s),
            Command::Predict(a) => Some(&a.s),
            Command::Listen(a) => Some(&a.s),
            Command::Synth { .. }
            | Command::Download { .. }
            | Command::Verify { .. }
            | Command::Help { .. } => None,
        }
    }
}

/// The store folder and quietness a command runs with: flags after the
/// subcommand win over those before it. `Err` names a flag given to a
/// command that does not use it.
pub fn resolve_flags(cli: &Cli) -> Result<(PathBuf, bool), String> {
    match cli.command.store_flags() {
        Some(s) => Ok((
            s.store
                .clone()
                .or_else(|| cli.top.store.clone())
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE)),
            s.quiet || cli.top.quiet,
        )),
        None if cli.top.store.is_some() => {
            Err("--store is not used by this command (it reads no store)".into())
        }
        None => Ok((PathBuf::from(DEFAULT_STORE), cli.top.quiet)),
    }
}
