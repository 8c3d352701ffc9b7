//! `ser`: speech emotion recognition from RAVDESS-style corpora.
//!
//! A thin layer: parse flags, build a validated config, call the
//! `pipeline` library, print what it reports, map errors to exit codes
//! (0 ok, 1 error, 2 usage, 3 finished but skipped inputs, 4 store locked,
//! 5 verification failed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

mod args;
mod results;

use args::{FeatureArgs, TrainArgs};
use clap::{Parser, Subcommand};
use pipeline::corpus::{self, Checksums, DownloadConfig, VerifyReport};
use pipeline::features::{run_features, RunOptions, ShardSpec};
use pipeline::metadata::run_metadata;
use pipeline::synth::{run_synth, SynthConfig};
use pipeline::{PipelineError, EXIT_LOCKED, EXIT_SKIPPED, EXIT_VERIFY_FAILED};
use store::{Store, StoreError};

#[derive(Parser)]
#[command(
    name = "ser",
    version,
    about = "Speech emotion recognition: features, training, reports"
)]
struct Cli {
    /// The store folder.
    #[arg(long, global = true, default_value = "store")]
    store: PathBuf,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a small deterministic RAVDESS-named demo corpus.
    Synth {
        /// Output folder (Actor_NN/ folders are created in it).
        #[arg(long)]
        out: PathBuf,
        /// Actors (odd male, even female), 60 clips each.
        #[arg(long, default_value_t = 4)]
        actors: u32,
        /// Sample rate of the files, Hz.
        #[arg(long, default_value_t = 48000)]
        sample_rate: u32,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Download the RAVDESS speech set (resumable), unpack it safely, verify it.
    Download {
        /// Folder to unpack into (the archive is kept there too).
        #[arg(long)]
        out: PathBuf,
        /// Archive URL.
        #[arg(long, default_value = corpus::RAVDESS_URL)]
        url: String,
        /// Expected MD5 of the archive, or `none` [default: Zenodo's MD5 for the default URL].
        #[arg(long)]
        md5: Option<String>,
        /// Connect, response and per-read timeout, seconds.
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
        /// Checksum list (`sha256sum` format) to verify against [default: the embedded RAVDESS list].
        #[arg(long)]
        sums: Option<PathBuf>,
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
    },
    /// Scan a folder of RAVDESS WAVs into `metadata.parquet`.
    Metadata {
        /// Folder holding the WAV files (searched recursively).
        #[arg(long)]
        data: PathBuf,
    },
    /// Compute MFCC (and optionally log-mel) shards for clean and noisy copies.
    Features(FeatureArgs),
    /// Train a model on a feature set; writes (or reuses) `runs/<run>/`.
    Train(TrainArgs),
    /// Classify WAV files with a trained run.
    Predict {
        /// Run name, unique prefix of one, or run folder.
        #[arg(long)]
        run: String,
        /// WAV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Use this fold's model only [default: mean of every fold's probabilities].
        #[arg(long)]
        fold: Option<usize>,
    },
    /// Print the table of runs and write the paper's figures (PNG).
    Report {
        /// Runs (names, unique prefixes or folders) [default: every run].
        runs: Vec<String>,
        /// Only the table, no figures.
        #[arg(long)]
        no_figures: bool,
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
    },
}

fn checksums(sums: &Option<PathBuf>) -> Result<Checksums> {
    match sums {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Checksums::parse(&text).with_context(|| format!("parsing {}", p.display()))
        }
        None => Ok(Checksums::ravdess()),
    }
}

/// Prints one line per problem and a summary; returns the exit status.
fn report_verify(r: &VerifyReport, allow_partial: bool) -> i32 {
    for (path, why) in &r.modified {
        println!("modified {path}: {why}");
    }
    if !allow_partial {
        for path in &r.missing {
            println!("missing {path}");
        }
    }
    for path in &r.extra {
        println!("extra {path}: not in the checksum list");
    }
    let allowed = if allow_partial && !r.missing.is_empty() {
        " (missing allowed by --allow-partial)"
    } else {
        ""
    };
    println!(
        "verify: {} good, {} missing, {} modified, {} extra{allowed}",
        r.good.len(),
        r.missing.len(),
        r.modified.len(),
        r.extra.len()
    );
    if !r.modified.is_empty() || (!allow_partial && !r.missing.is_empty()) {
        EXIT_VERIFY_FAILED
    } else {
        0
    }
}

fn run(cli: Cli) -> Result<i32> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Download {
            out,
            url,
            md5,
            timeout_s,
            sums,
        } => {
            let sums = checksums(&sums)?;
            let md5 = match md5.as_deref() {
                Some("none") => None,
                Some(h) => Some(h.to_string()),
                None if url == corpus::RAVDESS_URL => Some(corpus::RAVDESS_MD5.to_string()),
                None => None,
            };
            let cfg = DownloadConfig {
                url,
                out_dir: out.clone(),
                md5,
                timeout: std::time::Duration::from_secs(timeout_s.max(1)),
                show_progress: progress,
            };
            let archive = corpus::download(&cfg)?;
            println!("download: {}", archive.display());
            let u = corpus::unpack(&archive, &out)?;
            for c in &u.conflicts {
                eprintln!(
                    "not overwritten {}: exists with different content",
                    c.display()
                );
            }
            println!(
                "unpack: {} files written, {} already present, {} conflicts -> {}",
                u.written,
                u.identical,
                u.conflicts.len(),
                out.display()
            );
            let code = report_verify(&corpus::verify(&out, &sums, progress)?, false);
            if let Some(first) = u.conflicts.first() {
                return Err(corpus::CorpusError::Conflicts {
                    count: u.conflicts.len(),
                    first: first.clone(),
                }
                .into());
            }
            Ok(code)
        }
        Command::Verify {
            data,
            allow_partial,
            sums,
        } => {
            let sums = checksums(&sums)?;
            let r = corpus::verify(&data, &sums, progress)?;
            Ok(report_verify(&r, allow_partial))
        }
        Command::Synth {
            out,
            actors,
            sample_rate,
            seed,
        } => {
            let cfg = SynthConfig {
                actors,
                sample_rate,
                seed,
            };
            let files = run_synth(&out, &cfg)?;
            println!(
                "synth: wrote {} clips ({} actors) to {}",
                files.len(),
                actors,
                out.display()
            );
            Ok(0)
        }
        Command::Metadata { data } => {
            let store = Store::open(&cli.store)?;
            let r = run_metadata(&store, &data, progress)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
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
        Command::Features(args) => {
            let cfg = args.to_config()?;
            let shard = args
                .shard
                .as_deref()
                .map(ShardSpec::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--shard {e}"))?;
            let store = Store::open(&cli.store)?;
            let opts = RunOptions {
                shard,
                show_progress: progress,
                commit_every: std::time::Duration::from_millis(args.commit_every_ms),
            };
            let r = run_features(&store, &cfg, &opts)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
            }
            let rows: Vec<String> = r.rows.iter().map(|(v, n)| format!("{n} {v}")).collect();
            let rows = if rows.is_empty() {
                "no rows".to_string()
            } else {
                rows.join(" + ")
            };
            if r.is_noop() {
                println!(
                    "features: set {}: nothing to do, {} shards up to date ({rows} rows) in {:.3}s",
                    r.set_id, r.shards_total, r.seconds
                );
            } else {
                println!(
                    "features: set {}: computed {} of {} shards ({} clips, {} stale shards removed) in {:.2}s; {rows} rows; manifest v{}",
                    r.set_id, r.shards_computed, r.shards_total, r.clips_computed, r.shards_removed, r.seconds, r.manifest_version
                );
            }
            if r.refingerprinted > 0 {
                eprintln!(
                    "features: {} files changed since `ser metadata` (re-hashed); run `ser metadata` to refresh the table",
                    r.refingerprinted
                );
            }
            if r.leftovers_removed > 0 {
                eprintln!(
                    "features: removed {} files left by an interrupted run",
                    r.leftovers_removed
                );
            }
            Ok(if r.rejects.is_empty() {
                0
            } else {
                EXIT_SKIPPED
            })
        }
        Command::Train(args) => results::train(&cli.store, &args, progress),
        Command::Report { runs, no_figures } => results::report(&cli.store, &runs, no_figures),
        Command::Query {
            sql,
            csv,
            json,
            with_values,
        } => results::query(&cli.store, &sql, csv, json, with_values),
        Command::Predict {
            run,
            files,
            json,
            fold,
        } => results::predict(&cli.store, &run, &files, json, fold),
    }
}

/// The error and its causes on one line, each cause once (library errors
/// already name their source).
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    models::tune_allocator();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            let locked = err.chain().any(|e| {
                matches!(
                    e.downcast_ref::<StoreError>(),
                    Some(StoreError::Locked { .. })
                ) || matches!(
                    e.downcast_ref::<PipelineError>(),
                    Some(PipelineError::Store(StoreError::Locked { .. }))
                )
            });
            ExitCode::from(if locked { EXIT_LOCKED as u8 } else { 1 })
        }
    }
}
