//! Atomic file writes: temp sibling, fsync, rename, fsync of the folder.
//!
//! A reader sees either the old file or the new one, never a torn write,
//! and a crash at any point leaves the old file in place.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, StoreError};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Prefix of every temporary file the store writes; `gc` removes stale ones.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The temp sibling used while `path` is written.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!("{TEMP_PREFIX}{}-{n}-{name}", std::process::id()))
}

/// Writes `path` atomically: `write` fills a temp sibling, which is fsynced
/// and renamed over `path`; then the parent folder is fsynced.
///
/// Parent folders are created. On error the temp file is removed and `path`
/// is untouched.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> Result<()>,
{
    write_file_atomic(path, |file, tmp| {
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        w.flush().map_err(|e| StoreError::io(tmp, e))
    })
}

/// Writes `path` atomically through a file handle: `write` fills the temp
/// sibling (given with its path, for errors) and returns what it computed
/// (a checksum); the file is then fsynced and renamed over `path`, and the
/// folder fsynced. Parent folders are created. On error the temp file is
/// removed and `path` is untouched. Every store file is written by it.
pub fn write_file_atomic<T, F>(path: &Path, write: F) -> Result<T>
where
    F: FnOnce(&mut File, &Path) -> Result<T>,
{
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::invalid(path, "has no parent folder"))?;
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        let out = write(&mut file, &tmp)?;
        file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        rename_durable(&tmp, path)?;
        Ok(out)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `Some` of what an I/O call returned, `None` if the file or folder it
/// was about does not exist (the one place "missing" means "empty").
pub(crate) fn if_exists<T>(r: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes the file at `path`; one that does not exist is already removed.
pub(crate) fn remove_file_if_exists(path: &Path) -> Result<()> {
    if_exists(fs::remove_file(path))
        .map(|_| ())
        .map_err(|e| StoreError::io(path, e))
}

/// Removes the folder `dir` with everything in it; one that does not
/// exist is already removed.
pub(crate) fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    if_exists(fs::remove_dir_all(dir))
        .map(|_| ())
        .map_err(|e| StoreError::io(dir, e))
}

/// The entries of folder `dir`; a folder that does not exist has none
/// (every other error names the folder).
pub(crate) fn dir_entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    match if_exists(fs::read_dir(dir)).map_err(|e| StoreError::io(dir, e))? {
        Some(entries) => entries
            .map(|e| e.map_err(|e| StoreError::io(dir, e)))
            .collect(),
        None => Ok(Vec::new()),
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(bytes).map_err(|e| StoreError::io(path, e))
    })
}

/// Renames `from` to `to` (same file system) and fsyncs the target folder.
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    fs::rename(from, to).map_err(|e| StoreError::io(to, e))?;
    match to.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Fsyncs a folder so that a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// A temp path next to `path`, for writers that need a file handle of their
/// own (Parquet); finish with [`rename_durable`].
pub fn temp_path_for(path: &Path) -> PathBuf {
    temp_sibling(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_keeps_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_bytes_atomic(&path, b"old").unwrap();
        let err = write_atomic(&path, |_| Err(StoreError::invalid("x", "boom")));
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp file left behind");
    }

    #[test]
    fn write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/b.txt");
        write_bytes_atomic(&path, b"one").unwrap();
        write_bytes_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
    }
}
