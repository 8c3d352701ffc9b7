//! `ser report`: the run table (with a legend of its columns) and the
//! paper's figures.

use anyhow::Result;
use pipeline::report::{format_table, run_report, LEGEND};
use pipeline::EXIT_SKIPPED;
use store::Store;

use crate::flags::{Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Runs (names, unique prefixes of names or of their hashes, or folders)
    /// [default: every run].
    pub runs: Vec<String>,
    /// Only the table, no figures.
    #[arg(long)]
    pub no_figures: bool,
    #[command(flatten)]
    pub s: StoreFlags,
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let store = Store::open(&env.store)?;
    let r = run_report(&store, &a.runs, !a.no_figures)?;
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
