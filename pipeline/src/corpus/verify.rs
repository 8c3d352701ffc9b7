//! Checking a RAVDESS folder against known SHA-256 checksums: good,
//! modified (with what changed when the header tells), missing, extra.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use store::fingerprint::file_sha256;

use super::CorpusError;
use crate::audio::read_wav_info;
use crate::metadata::find_wavs;
use crate::progress;

/// The 1440 files of the RAVDESS speech set (actors 1-24) and their SHA-256.
const RAVDESS_SUMS: &str = include_str!("ravdess-sha256sums.txt");

/// Expected checksums, by file name (clip names are unique).
#[derive(Debug, Clone)]
pub struct Checksums {
    by_name: BTreeMap<String, (String, String)>, // name -> (listed path, sha256)
}

impl Checksums {
    /// Parses `sha256sum` output: `HASH  PATH` per line.
    pub fn parse(text: &str) -> Result<Checksums, CorpusError> {
        let mut by_name = BTreeMap::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |reason: &str| CorpusError::Sums {
                line: i + 1,
                reason: reason.into(),
            };
            let (hash, path) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `HASH  PATH`"))?;
            let path = path.trim_start().trim_start_matches('*');
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("not a SHA-256 hex digest"));
            }
            let name = path.rsplit('/').next().unwrap_or(path).to_string();
            by_name.insert(name, (path.to_string(), hash.to_lowercase()));
        }
        Ok(Checksums { by_name })
    }

    /// The embedded list for the full RAVDESS speech set.
    pub fn ravdess() -> Checksums {
        Self::parse(RAVDESS_SUMS).expect("embedded checksum list parses")
    }

    /// Files listed.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Files whose checksum matches.
    pub good: Vec<String>,
    /// Files whose checksum differs, with what is known of the change.
    pub modified: Vec<(String, String)>,
    /// Listed files not found (their listed paths).
    pub missing: Vec<String>,
    /// WAV files found that the list does not hold.
    pub extra: Vec<String>,
}

impl VerifyReport {
    /// Whether the folder passes: nothing modified, and nothing missing
    /// unless `allow_partial`.
    pub fn passed(&self, allow_partial: bool) -> bool {
        self.modified.is_empty() && (allow_partial || self.missing.is_empty())
    }
}

/// Checks every WAV under `dir` against `sums`.
pub fn verify(
    dir: &Path,
    sums: &Checksums,
    show_progress: bool,
) -> Result<VerifyReport, CorpusError> {
    if !dir.is_dir() {
        return Err(CorpusError::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        ));
    }
    let files =
        find_wavs(dir).map_err(|e| CorpusError::io(dir, std::io::Error::other(e.to_string())))?;
    let pb = progress::bar(files.len() as u64, "verify", show_progress);
    let checked: Vec<(String, Option<Result<(), String>>)> = files
        .par_iter()
        .map(|f| {
            let shown = f.display().to_string();
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let r = sums
                .by_name
                .get(&name)
                .map(|(_, want)| match file_sha256(f) {
                    Ok(got) if &got == want => Ok(()),
                    Ok(_) => Err(describe_change(f)),
                    Err(e) => Err(format!("cannot read: {e}")),
                });
            pb.inc(1);
            (shown, r)
        })
        .collect();
    pb.finish_and_clear();
    let mut report = VerifyReport::default();
    let mut seen = std::collections::BTreeSet::new();
    for (path, r) in checked {
        let name = Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match r {
            None => report.extra.push(path),
            Some(Ok(())) => {
                seen.insert(name);
                report.good.push(path);
            }
            Some(Err(why)) => {
                seen.insert(name);
                report.modified.push((path, why));
            }
        }
    }
    report.missing = sums
        .by_name
        .iter()
        .filter(|(name, _)| !seen.contains(*name))
        .map(|(_, (path, _))| path.clone())
        .collect();
    Ok(report)
}

/// What the header says changed, compared with RAVDESS's 48 kHz 16-bit PCM.
fn describe_change(path: &Path) -> String {
    match read_wav_info(path) {
        Ok(i) if i.sample_rate != 48000 || i.bits_per_sample != 16 => format!(
            "content differs: re-saved as {} Hz {}-bit (the original is 48000 Hz 16-bit)",
            i.sample_rate, i.bits_per_sample
        ),
        Ok(_) => "content differs from the published file".into(),
        Err(e) => format!("content differs and is not a readable WAV ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_has_the_full_set() {
        let sums = Checksums::ravdess();
        assert_eq!(sums.len(), 1440);
        assert!(sums.by_name.contains_key("03-01-01-01-01-01-24.wav"));
    }

    #[test]
    fn malformed_lists_name_the_line() {
        let err = Checksums::parse("abc  x.wav\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
