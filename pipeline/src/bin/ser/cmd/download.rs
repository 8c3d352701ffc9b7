//! `ser download`: fetch, unpack and verify RAVDESS (the library's
//! [`corpus::fetch`]); this prints each step.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use pipeline::bounds;
use pipeline::corpus::{self, FetchOptions, FetchStep};

use crate::flags::{within, QuietFlag};

#[derive(clap::Args)]
pub struct Args {
    /// Which corpus: only `ravdess` has a stable URL with a published
    /// checksum; for the others this says where to get them.
    #[arg(long, default_value = "ravdess")]
    pub corpus: String,
    /// Folder to unpack into (the archive is kept there too).
    #[arg(long)]
    pub out: PathBuf,
    /// Archive URL.
    #[arg(long, default_value = corpus::RAVDESS_URL)]
    pub url: String,
    /// Expected MD5 of the archive, or `none` to skip the check. Default:
    /// Zenodo's MD5 when --url is the default; with another --url, no
    /// MD5 check unless given (the size is still checked).
    #[arg(long)]
    pub md5: Option<String>,
    /// Connect, response and per-read timeout, seconds, 1..=86400.
    #[arg(long, default_value_t = 60, value_parser = within(bounds::TIMEOUT_S))]
    pub timeout_s: u64,
    /// Checksum list (`sha256sum` format) to verify against [default: the embedded RAVDESS list].
    #[arg(long)]
    pub sums: Option<PathBuf>,
    #[command(flatten)]
    pub q: QuietFlag,
}

pub fn run(a: &Args, progress: bool) -> Result<i32> {
    let opts = FetchOptions {
        corpus: a.corpus.clone(),
        out: a.out.clone(),
        url: a.url.clone(),
        md5: a.md5.clone(),
        sums: a.sums.clone(),
        timeout: Duration::from_secs(a.timeout_s.max(1)),
        show_progress: progress,
    };
    let report = corpus::fetch(&opts, |step| match step {
        FetchStep::Downloaded(archive) => println!("download: {}", archive.display()),
        FetchStep::Unpacked(u) => {
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
                a.out.display()
            );
        }
    })?;
    let code = super::verify::print(&report.verify, false);
    report.conflicts()?;
    Ok(code)
}
