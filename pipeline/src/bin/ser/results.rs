//! `ser train`, `ser predict`, `ser report`, `ser query`: call the library,
//! print what it returns.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pipeline::report::{format_table, run_report, LEGEND};
use pipeline::reproduce::{run_reproduce, Protocol, ReproduceConfig};
use pipeline::train::{run_train, RunState, TrainOptions};
use pipeline::EXIT_SKIPPED;
use store::Store;

use crate::args::TrainArgs;

/// One line per fold of a multi-fold run (the table shows their mean).
fn print_folds(df: &polars::prelude::DataFrame) -> Result<()> {
    if df.height() <= 2 {
        return Ok(());
    }
    let csv = pipeline::query::to_csv(
        &df.select([
            "fold",
            "train_accuracy",
            "test_accuracy",
            "test_uar",
            "n_test",
        ])
        .context("summary.parquet lacks a column")?,
    );
    for line in csv.lines() {
        println!("  {}", line.replace(',', "  "));
    }
    Ok(())
}

/// `ser train`: train (or reuse) the run and print its table.
pub fn train(store: &Path, args: &TrainArgs, progress: bool) -> Result<i32> {
    let cfg = args.to_config()?;
    set_threads(args.threads)?;
    let store = Store::open(store)?;
    let opts = TrainOptions {
        force: args.force,
        show_progress: progress,
        fold: args.fold,
        collect_only: args.collect,
        bar: None,
    };
    let out = run_train(&store, &cfg, &opts)?;
    match &out.state {
        RunState::Reused => println!(
            "train: run {} already finished with this config and data: reused (--force retrains)",
            out.run
        ),
        RunState::Published => println!("train: run {} -> {}", out.run, out.dir.display()),
        RunState::Waiting { done, missing } => {
            println!(
                "train: run {}: folds {} of {} done; waiting for fold{} {}. The worker that trains \
                 the last one publishes the run, or run the same command with --collect.",
                out.run,
                list(done),
                done.len() + missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                list(missing)
            );
            if args.collect {
                anyhow::bail!(
                    "cannot collect run {}: folds {} are missing",
                    out.run,
                    list(missing)
                );
            }
            return Ok(0);
        }
    }
    let c = &out.config;
    if !c.train.train_on.is_empty() {
        println!(
            "train: cross-corpus: trained on {}, tested on {}, over the emotions both have: {}",
            c.train.train_on.join(", "),
            c.train.test_on.join(", "),
            c.emotions.join(", ")
        );
    } else if c.corpora.len() > 1 || c.corpora.first().is_some_and(|k| k != "ravdess") {
        println!("train: corpora {}", c.corpora.join(", "));
    }
    let r = run_report(&store, std::slice::from_ref(&out.run), false)?;
    print!("{}", format_table(&r.lines));
    if let Some(summary) = &out.summary {
        print_folds(summary)?;
    }
    Ok(0)
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ser report`: the run table and figures.
pub fn report(store: &Path, runs: &[String], no_figures: bool) -> Result<i32> {
    let store = Store::open(store)?;
    let r = run_report(&store, runs, !no_figures)?;
    if r.lines.is_empty() {
        println!(
            "report: no runs in {} (run `ser train` first)",
            store.runs_dir().display()
        );
    } else {
        print!("{}", format_table(&r.lines));
        for n in &r.notes {
            println!("{n}");
        }
        println!("{LEGEND}");
    }
    for f in &r.figures {
        println!("figure: {}", f.display());
    }
    for why in &r.skipped {
        eprintln!("skipped {why}");
    }
    Ok(if r.skipped.is_empty() {
        0
    } else {
        EXIT_SKIPPED
    })
}

/// `ser query`: SQL over the store, as a table, CSV or JSON lines.
pub fn query(store: &Path, sql: &str, csv: bool, json: bool, with_values: bool) -> Result<i32> {
    let store = Store::open(store)?;
    let df = pipeline::query::query(&store, sql, with_values)?;
    if csv {
        print!("{}", pipeline::query::to_csv(&df));
    } else if json {
        print!("{}", pipeline::query::to_json_lines(&df));
    } else {
        print!("{}", pipeline::query::to_table(&df, terminal_width()));
    }
    Ok(0)
}

/// The width the table of `ser query` fits: `COLUMNS` if set, else the
/// terminal's when stdout is one; `None` (no limit) for a pipe or file.
fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
    {
        return Some(n).filter(|&n: &usize| n > 0);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize for the terminal on fd 1; a zeroed
    // struct stays zero when it fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// Sizes the global thread pool (`--threads`); rayon's default otherwise.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("--threads: the thread pool is already running")?;
    }
    Ok(())
}

/// `ser reproduce`: every run of the paper's table and the speaker table,
/// then the report.
#[allow(clippy::too_many_arguments)]
pub fn reproduce(
    store: &Path,
    data: Option<PathBuf>,
    only: Vec<models::ModelKind>,
    protocol: Option<Protocol>,
    max_folds: Option<usize>,
    quick: bool,
    threads: Option<usize>,
    progress: bool,
) -> Result<i32> {
    set_threads(threads)?;
    let cfg = ReproduceConfig {
        data,
        only,
        protocols: protocol.into_iter().collect(),
        max_folds,
        quick,
        command: command_line(),
    };
    let out = run_reproduce(store, &cfg, progress)?;
    println!(
        "reproduce: {} runs ({} reused), report: {}",
        out.runs.len(),
        out.reused,
        out.report.display()
    );
    Ok(0)
}

/// The command as typed, with the program named `ser` rather than by the
/// path it was started from (which names a local build folder).
fn command_line() -> String {
    std::iter::once("ser".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}
