//! `ser`: speech emotion recognition from RAVDESS-style corpora.
//!
//! A thin layer: parse flags, build a validated config, call the
//! `pipeline` library, print what it reports, map errors to exit codes
//! (0 ok, 1 error, 2 usage, 3 finished but skipped inputs, 4 store locked,
//! 5 verification failed or store damaged).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

mod args;
mod check;
mod cli;
mod predict;
mod results;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use pipeline::corpus::{self, Checksums, DownloadConfig, VerifyReport};
use pipeline::features::{run_features, RunOptions};
use pipeline::metadata::{run_metadata, Source};
use pipeline::synth::{run_synth, SynthConfig};
use pipeline::{PipelineError, EXIT_LOCKED, EXIT_SKIPPED, EXIT_VERIFY_FAILED};
use store::{Store, StoreError};

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

fn run(cli: Cli, store: PathBuf, progress: bool) -> Result<i32> {
    match cli.command {
        Command::Download {
            corpus,
            out,
            url,
            md5,
            timeout_s,
            sums,
            q: _,
        } => {
            if corpus != "ravdess" {
                anyhow::bail!("{}", corpus::where_to_get(&corpus));
            }
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
            q: _,
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
        Command::Metadata {
            data,
            corpus,
            allow_outside,
            s: _,
        } => {
            if corpus.len() > data.len() {
                return Err(args::usage(format!(
                    "--corpus given {} times for {} --data folders",
                    corpus.len(),
                    data.len()
                )));
            }
            let mut sources = Vec::new();
            for (k, d) in data.iter().enumerate() {
                // A wrong --data must not leave an empty store behind.
                std::fs::read_dir(d).with_context(|| format!("{}", d.display()))?;
                sources.push(Source {
                    data: d.clone(),
                    corpus: corpus.get(k).and_then(|c| c.0.clone()),
                    allow_outside,
                });
            }
            let (store, r) = run_metadata(&store, &sources, progress)?;
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
        Command::Features(args) => {
            let cfg = args.to_config()?;
            let shard = args.shard;
            let store = Store::open(&store)?;
            let opts = RunOptions {
                shard,
                show_progress: progress,
                commit_every: std::time::Duration::from_millis(args.commit_every_ms),
            };
            let r = run_features(&store, &cfg, &opts)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
            }
            println!("{}", r.summary());
            if r.refingerprinted > 0 {
                eprintln!(
                    "features: {} files changed since `ser metadata` (re-hashed); run `ser metadata` to refresh the table",
                    r.refingerprinted
                );
            }
            if r.shards_adopted > 0 {
                eprintln!(
                    "features: took back {} shards whose part files no readable manifest listed",
                    r.shards_adopted
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
        Command::Train(args) => results::train(&store, &args, progress),
        Command::Report {
            runs,
            no_figures,
            s: _,
        } => results::report(&store, &runs, no_figures),
        Command::Query {
            sql,
            csv,
            json,
            with_values,
            s: _,
        } => results::query(&store, &sql, csv, json, with_values),
        Command::Predict(a) => predict::predict(&store, &a),
        Command::Listen(a) => predict::listen(&store, &a),
        Command::Reproduce {
            data,
            only,
            protocol,
            max_folds,
            quick,
            threads,
            s: _,
        } => results::reproduce(
            &store, data, only, protocol, max_folds, quick, threads, progress,
        ),
        Command::Check { repair, s: _ } => check::check(&store, repair),
        Command::Help { command } => help(command.as_deref()),
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

/// `ser help [COMMAND]`: the same text as `--help`.
fn help(command: Option<&str>) -> Result<i32> {
    let mut top = Cli::command();
    top.build();
    let cmd = match command {
        None => &mut top,
        Some(name) => match top.find_subcommand_mut(name) {
            Some(c) => c,
            None => {
                eprintln!("error: no command `{name}` (see `ser --help`)");
                return Ok(2);
            }
        },
    };
    cmd.print_long_help()?;
    Ok(0)
}

/// Writing into a closed pipe (`ser query … | head -1`) ends `ser`
/// quietly, as it ends other Unix tools, instead of a panic in `println!`.
/// (Sockets are unaffected: the standard library sends with MSG_NOSIGNAL.)
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread runs;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let (store, quiet) = match cli::resolve_flags(&cli) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    models::tune_allocator();
    match run(cli, store, !quiet) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            if err
                .chain()
                .any(|e| e.downcast_ref::<args::UsageError>().is_some())
            {
                return ExitCode::from(2);
            }
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
