//! `ser reproduce`: every run of the paper's table and the speaker table,
//! then the report.

use std::path::PathBuf;

use anyhow::Result;
use models::ModelKind;
use pipeline::bounds;
use pipeline::reproduce::{run_reproduce, Protocol, ReproduceConfig};

use crate::flags::{set_threads, within, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Corpus folder (any corpus `ser metadata` reads; RAVDESS for the
    /// paper's table) [default: the store's metadata as it is].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Only these models, comma-separated (cnn, lstm, cnn-lstm, si-cnn) [default: all].
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<ModelKind>,
    /// `paper` (random 75/25 split, 14 classes) or `speakers` (EmoBox's
    /// speaker-independent folds, 8 emotions) [default: both].
    #[arg(long)]
    pub protocol: Option<Protocol>,
    /// Train only the first N speaker-independent folds of the paper CNN
    /// (its slowest run), 1..=64; the report says so.
    #[arg(long, value_parser = within(bounds::FOLD))]
    pub max_folds: Option<usize>,
    /// Two epochs of everything on 64-frame windows: checks the pipeline
    /// end to end in a minute or two (not a result).
    #[arg(long)]
    pub quick: bool,
    /// Worker threads, 1..=1024 [default: RAYON_NUM_THREADS, else one per core].
    #[arg(long, value_parser = within(bounds::THREADS))]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub s: StoreFlags,
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    set_threads(a.threads)?;
    let cfg = ReproduceConfig {
        data: a.data.clone(),
        only: a.only.clone(),
        protocols: a.protocol.into_iter().collect(),
        max_folds: a.max_folds,
        quick: a.quick,
        command: command_line(),
    };
    let out = run_reproduce(&env.store, &cfg, env.progress)?;
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
