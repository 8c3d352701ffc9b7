//! What every command's flags share: the store and progress flags, the
//! range-checking value parser, `--config FILE` reading, `--threads`, and
//! the usage error (exit 2) for a bad command line found after parsing.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result};
use pipeline::bounds::Bound;

/// Where the store lives unless `--store` says otherwise. Not `./store`:
/// in a checkout that is the `store` crate's source folder.
pub const DEFAULT_STORE: &str = "ser-store";

/// The store and progress flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StoreFlags {
    /// The store folder [default: ./ser-store].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Progress flag alone (commands without a store).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct QuietFlag {
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What a command runs with, from the flags before and after it.
#[derive(Debug, Clone)]
pub struct Env {
    /// The store folder.
    pub store: PathBuf,
    /// Draw progress bars.
    pub progress: bool,
}

/// A bad command line found after parsing (a value against another, or a
/// bad `--config` field): `ser` exits 2 with it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow` error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// A clap value parser checking `b`'s range.
pub fn within<T>(b: Bound<T>) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: Copy + PartialOrd + Display + FromStr + Send + Sync + 'static,
{
    move |s: &str| b.parse(s)
}

/// A stage's JSON config (`--config FILE`), or its default without one.
pub fn read_config<T: serde::de::DeserializeOwned + Default>(path: Option<&Path>) -> Result<T> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
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
