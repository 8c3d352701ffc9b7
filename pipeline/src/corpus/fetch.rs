//! `ser download` in one call: which corpus, which MD5 and which checksum
//! list, then download, unpack and verify ([`fetch`]); each step is handed
//! to the caller as it finishes, and the whole comes back as a
//! [`FetchReport`] for it to print.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    download, unpack, verify, where_to_get, Checksums, CorpusError, DownloadConfig, UnpackReport,
    VerifyReport, RAVDESS_MD5, RAVDESS_URL,
};

/// What `ser download` is asked to do.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Which corpus (only `ravdess` is downloaded; the others say where
    /// to get them).
    pub corpus: String,
    /// Folder the archive is saved and unpacked in.
    pub out: PathBuf,
    /// The archive's URL.
    pub url: String,
    /// `--md5`: a hex digest, `none` (no check), or `None` for the default
    /// ([`expected_md5`]).
    pub md5: Option<String>,
    /// A checksum list (`sha256sum` format); `None`: the embedded RAVDESS list.
    pub sums: Option<PathBuf>,
    /// Connect, response and per-read timeout.
    pub timeout: Duration,
    /// Draw progress bars.
    pub show_progress: bool,
}

/// A step of [`fetch`] that finished.
#[derive(Debug, Clone, Copy)]
pub enum FetchStep<'a> {
    /// The archive is in place (downloaded, resumed or already there).
    Downloaded(&'a Path),
    /// The archive is unpacked into the output folder.
    Unpacked(&'a UnpackReport),
}

/// What [`fetch`] did.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// The archive.
    pub archive: PathBuf,
    /// What unpacking it did.
    pub unpack: UnpackReport,
    /// What verifying the folder found.
    pub verify: VerifyReport,
}

impl FetchReport {
    /// Files already present with other content were left alone: an
    /// error naming the first, once the report is shown.
    pub fn conflicts(&self) -> Result<(), CorpusError> {
        match self.unpack.conflicts.first() {
            Some(first) => Err(CorpusError::Conflicts {
                count: self.unpack.conflicts.len(),
                first: first.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The MD5 the archive is checked against: `--md5` as given (`none`: no
/// check); without it, Zenodo's for the default URL and none for another
/// (its size is still checked).
pub fn expected_md5(url: &str, md5: Option<&str>) -> Option<String> {
    match md5 {
        Some("none") => None,
        Some(h) => Some(h.to_string()),
        None if url == RAVDESS_URL => Some(RAVDESS_MD5.to_string()),
        None => None,
    }
}

impl Checksums {
    /// The list in the file `sums`, or the embedded RAVDESS list (`None`).
    pub fn load(sums: Option<&Path>) -> Result<Checksums, CorpusError> {
        let Some(path) = sums else {
            return Ok(Checksums::ravdess());
        };
        let text = std::fs::read_to_string(path).map_err(|e| CorpusError::io(path, e))?;
        Checksums::parse(&text).map_err(|e| match e {
            CorpusError::Sums { line, reason } => CorpusError::SumsFile {
                path: path.to_path_buf(),
                line,
                reason,
            },
            other => other,
        })
    }
}

/// Downloads, unpacks and verifies `opts.corpus` (only RAVDESS has a
/// stable URL with a published checksum; another name is an error saying
/// where to get it). `on_step` sees each step as it finishes; conflicts
/// of the unpack are in the report ([`FetchReport::conflicts`]).
pub fn fetch(
    opts: &FetchOptions,
    mut on_step: impl FnMut(FetchStep<'_>),
) -> Result<FetchReport, CorpusError> {
    if opts.corpus != "ravdess" {
        return Err(CorpusError::Elsewhere(where_to_get(&opts.corpus)));
    }
    let sums = Checksums::load(opts.sums.as_deref())?;
    let cfg = DownloadConfig {
        url: opts.url.clone(),
        out_dir: opts.out.clone(),
        md5: expected_md5(&opts.url, opts.md5.as_deref()),
        timeout: opts.timeout,
        show_progress: opts.show_progress,
    };
    let archive = download(&cfg)?;
    on_step(FetchStep::Downloaded(&archive));
    let unpack = unpack(&archive, &opts.out)?;
    on_step(FetchStep::Unpacked(&unpack));
    let verify = verify(&opts.out, &sums, opts.show_progress)?;
    Ok(FetchReport {
        archive,
        unpack,
        verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_md5_default_follows_the_url() {
        assert_eq!(
            expected_md5(RAVDESS_URL, None).as_deref(),
            Some(RAVDESS_MD5)
        );
        assert_eq!(expected_md5("http://mirror/x.zip", None), None);
        assert_eq!(expected_md5(RAVDESS_URL, Some("none")), None);
        assert_eq!(
            expected_md5("http://mirror/x.zip", Some("ab")).as_deref(),
            Some("ab")
        );
    }

    #[test]
    fn a_bad_checksum_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("SUMS");
        std::fs::write(&path, "abc  x.wav\n").unwrap();
        let err = Checksums::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("SUMS") && err.contains("line 1"), "{err}");
    }
}
