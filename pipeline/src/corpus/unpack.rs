//! Safe unzip: every entry is checked before anything is written; an
//! entry that would land outside the output folder refuses the archive;
//! a file already present is kept (identical content) or left alone and
//! reported (different content); each file is written atomically.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use sha2::Sha256;
use store::fingerprint::digest_reader;

use super::CorpusError;

/// What an unpack did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnpackReport {
    /// Files written.
    pub written: usize,
    /// Files already present with the same content.
    pub identical: usize,
    /// Files present with different content, not overwritten.
    pub conflicts: Vec<PathBuf>,
}

fn zip_err(path: &Path) -> impl Fn(zip::result::ZipError) -> CorpusError + '_ {
    move |e| CorpusError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Unpacks `archive` into `out`. Conflicts are reported in the result
/// and turned into an error by the caller if it wishes.
pub fn unpack(archive: &Path, out: &Path) -> Result<UnpackReport, CorpusError> {
    let file = File::open(archive).map_err(|e| CorpusError::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_err(archive))?;
    // Check every name before writing anything.
    let mut plan: Vec<(usize, PathBuf)> = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(zip_err(archive))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry #{i}"));
        let Some(rel) = entry.enclosed_name() else {
            return Err(CorpusError::UnsafeEntry {
                archive: archive.to_path_buf(),
                entry: name,
            });
        };
        if !entry.is_dir() {
            plan.push((i, out.join(rel)));
        }
    }
    let mut report = UnpackReport::default();
    for (i, target) in plan {
        let entry_err = |reason: String| CorpusError::Zip {
            path: archive.to_path_buf(),
            reason: format!("entry {}: {reason}", target.display()),
        };
        if target.exists() {
            let mine = digest_reader::<Sha256>(
                File::open(&target).map_err(|e| CorpusError::io(&target, e))?,
            )
            .map_err(|e| CorpusError::io(&target, e))?;
            let theirs = digest_reader::<Sha256>(zip.by_index(i).map_err(zip_err(archive))?)
                .map_err(|e| entry_err(e.to_string()))?;
            if mine == theirs {
                report.identical += 1;
            } else {
                report.conflicts.push(target);
            }
            continue;
        }
        let dir = target.parent().unwrap_or(out);
        fs::create_dir_all(dir).map_err(|e| CorpusError::io(dir, e))?;
        let tmp = store::atomic::temp_path_for(&target);
        let result = (|| {
            let mut entry = zip.by_index(i).map_err(zip_err(archive))?;
            let mut f = File::create(&tmp).map_err(|e| CorpusError::io(&tmp, e))?;
            io::copy(&mut entry, &mut f).map_err(|e| entry_err(e.to_string()))?;
            f.sync_all().map_err(|e| CorpusError::io(&tmp, e))?;
            fs::rename(&tmp, &target).map_err(|e| CorpusError::io(&target, e))
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        report.written += 1;
    }
    Ok(report)
}
