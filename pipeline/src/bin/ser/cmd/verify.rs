//! `ser verify`: a RAVDESS folder against the published SHA-256 sums.

use std::path::PathBuf;

use anyhow::Result;
use pipeline::corpus::{self, Checksums, VerifyReport};
use pipeline::EXIT_VERIFY_FAILED;

use crate::flags::QuietFlag;

#[derive(clap::Args)]
pub struct Args {
    /// The folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Missing files are reported as a count, not a failure.
    #[arg(long)]
    pub allow_partial: bool,
    /// Checksum list (`sha256sum` format) [default: the embedded RAVDESS list].
    #[arg(long)]
    pub sums: Option<PathBuf>,
    #[command(flatten)]
    pub q: QuietFlag,
}

pub fn run(a: &Args, progress: bool) -> Result<i32> {
    let sums = Checksums::load(a.sums.as_deref())?;
    let r = corpus::verify(&a.data, &sums, progress)?;
    Ok(print(&r, a.allow_partial))
}

/// Prints one line per problem and a summary; returns the exit status.
pub fn print(r: &VerifyReport, allow_partial: bool) -> i32 {
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
    if r.passed(allow_partial) {
        0
    } else {
        EXIT_VERIFY_FAILED
    }
}
