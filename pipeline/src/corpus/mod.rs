//! Getting the real corpus safely: a resumable HTTPS download with a
//! checksum, a zip unpacker that refuses path traversal and never
//! overwrites a different file, and verification against the 1440 SHA-256
//! checksums of the RAVDESS speech set (embedded in the binary); [`fetch`]
//! runs the three as `ser download` does.

mod download;
mod fetch;
mod unpack;
mod verify;

use std::path::PathBuf;

pub use download::{download, DownloadConfig, RAVDESS_MD5, RAVDESS_URL};
pub use fetch::{expected_md5, fetch, FetchOptions, FetchReport, FetchStep};
pub use unpack::{unpack, UnpackReport};
pub use verify::{verify, Checksums, VerifyReport};

/// What stops a download, an unpack or a verification.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The transfer failed; a partial file is kept for a resumed run.
    #[error("downloading {url}: {reason}; {}", resume_hint(part))]
    Transfer {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
        /// The partial file.
        part: PathBuf,
    },
    /// The server answered with an error status.
    #[error("downloading {url}: the server answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The downloaded file is not what was expected; it was removed.
    #[error("{path}: {what} mismatch: expected {expected}, got {actual}; the file was removed, run again to download it afresh")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// `size` or `md5`.
        what: &'static str,
        /// Expected value.
        expected: String,
        /// Value found.
        actual: String,
    },
    /// Not a readable zip archive, or a damaged entry.
    #[error("{path}: not a valid zip archive ({reason})")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An entry would land outside the output folder.
    #[error("{archive}: refused: entry `{entry}` would be written outside the output folder; nothing was unpacked")]
    UnsafeEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry's name.
        entry: String,
    },
    /// Files already present with other content were left alone.
    #[error("{count} files already exist with different content and were not overwritten (first: {first})")]
    Conflicts {
        /// How many.
        count: usize,
        /// The first one.
        first: PathBuf,
    },
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checksum list could not be parsed.
    #[error("checksum list, line {line}: {reason}")]
    Sums {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A checksum list file could not be parsed.
    #[error("{path}: checksum list, line {line}: {reason}")]
    SumsFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A corpus `ser download` does not fetch: where to get it instead.
    #[error("{0}")]
    Elsewhere(String),
}

fn resume_hint(part: &std::path::Path) -> String {
    match std::fs::metadata(part).map(|m| m.len()) {
        Ok(n) if n > 0 => format!(
            "{n} bytes are kept in {}: run again to resume",
            part.display()
        ),
        _ => "nothing was downloaded".into(),
    }
}

impl CorpusError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Where to get a corpus `ser download` does not fetch (no stable URL with
/// a published checksum), as one line.
pub fn where_to_get(corpus: &str) -> String {
    let how = match corpus {
        "crema-d" | "cremad" => "CREMA-D is on GitHub (CheyneyComputerScience/CREMA-D, Git LFS; Open Database License): clone it, then `ser metadata --data CREMA-D/AudioWAV` (put VideoDemographics.csv in that folder for genders)",
        "tess" => "TESS is on the University of Toronto's TSpace (Toronto emotional speech set, CC BY-NC-ND 4.0): unpack it, then `ser metadata --data TESS`",
        "savee" => "SAVEE is distributed by the University of Surrey after registration: unpack AudioData, then `ser metadata --data AudioData`",
        "emodb" | "emo-db" => "EmoDB (Berlin database of emotional speech) is on emodb.bilderbar.info: unpack it, then `ser metadata --data wav`",
        other => return format!("no corpus `{other}`: ser downloads ravdess; it reads crema-d, tess, savee, emodb and any corpus with a CSV manifest (`--corpus csv:FILE`)"),
    };
    format!("ser downloads only RAVDESS (a stable URL with a published checksum). {how}")
}
