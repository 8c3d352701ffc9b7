//! Writer locks on a store, with `flock` semantics (released by the kernel
//! when the holder dies, so a killed run never leaves a stale lock).
//!
//! `LOCK` is taken exclusively by whole-store writers (`ser metadata`,
//! `ser features`) and shared by `--shard` workers, which may run side by
//! side; `COMMIT.lock` serialises manifest commits.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder; everyone else is refused.
    Exclusive,
    /// Many shared holders; exclusive requests are refused while any hold it.
    Shared,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Tries to take the lock at `path` without waiting; a clear
    /// [`StoreError::Locked`] names the holder if it is taken.
    pub fn try_acquire(path: &Path, mode: LockMode, what: &str) -> Result<StoreLock> {
        let mut file = open(path)?;
        let taken = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match taken {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: if holder.is_empty() {
                        "unknown process".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(path, e)),
        }
        if mode == LockMode::Exclusive {
            note_holder(&mut file, what).map_err(|e| StoreError::io(path, e))?;
        }
        Ok(StoreLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// Takes the lock at `path` exclusively, waiting for other holders.
    pub fn acquire_blocking(path: &Path, what: &str) -> Result<StoreLock> {
        let mut file = open(path)?;
        file.lock().map_err(|e| StoreError::io(path, e))?;
        note_holder(&mut file, what).map_err(|e| StoreError::io(path, e))?;
        Ok(StoreLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

fn note_holder(file: &mut File, what: &str) -> std::io::Result<()> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(
        file,
        "pid {} running `{what}` since unix time {since}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_exclusive_holder_is_refused_with_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let first = StoreLock::try_acquire(&path, LockMode::Exclusive, "ser features").unwrap();
        let err = StoreLock::try_acquire(&path, LockMode::Exclusive, "ser metadata").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("locked by another writer"), "{msg}");
        assert!(msg.contains("ser features"), "{msg}");
        drop(first);
        StoreLock::try_acquire(&path, LockMode::Exclusive, "again").unwrap();
    }

    #[test]
    fn shared_holders_coexist_but_keep_exclusive_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let a = StoreLock::try_acquire(&path, LockMode::Shared, "shard 1/2").unwrap();
        let _b = StoreLock::try_acquire(&path, LockMode::Shared, "shard 2/2").unwrap();
        assert!(StoreLock::try_acquire(&path, LockMode::Exclusive, "full").is_err());
        drop(a);
    }
}
