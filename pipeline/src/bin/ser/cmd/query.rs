//! `ser query`: polars SQL over the store's tables, as a table, CSV or
//! JSON lines (one object per row, keyed by the SELECT's columns).

use anyhow::Result;
use store::Store;

use crate::flags::{Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// The SQL, e.g. "SELECT model, test_accuracy FROM summary WHERE fold IS NULL".
    pub sql: String,
    /// CSV on stdout.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
    /// Include the MFCC / log-mel value lists in `features`.
    #[arg(long)]
    pub with_values: bool,
    #[command(flatten)]
    pub s: StoreFlags,
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let store = Store::open(&env.store)?;
    let df = pipeline::query::query(&store, &a.sql, a.with_values)?;
    if a.csv {
        print!("{}", pipeline::query::to_csv(&df));
    } else if a.json {
        print!("{}", pipeline::query::to_json_lines(&df));
    } else {
        print!("{}", pipeline::query::to_table(&df, terminal_width()));
    }
    Ok(0)
}

/// The width the table fits: `COLUMNS` if set, else the terminal's when
/// stdout is one; `None` (no limit) for a pipe or file.
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
