//! Writer locks on a store, with `flock` semantics (released by the kernel
//! when the holder dies, so a killed run never leaves a stale lock).
//!
//! `LOCK` is taken exclusively by whole-store writers (`ser metadata`,
//! `ser features`) and shared by `--shard` workers, which may run side by
//! side (and by `ser train`); `COMMIT.lock` serialises manifest commits.
//!
//! The lock file names its holders, one `pid N running `…` since …` line
//! each (shared holders add theirs). A refused writer is told the live
//! ones; a line of a process that has exited is stale and never named as
//! the holder (a `flock` cannot outlive its holder, so there is no stale
//! lock to take over, only stale text).

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
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: describe_holders(&text),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(path, e)),
        }
        let noted = match mode {
            LockMode::Exclusive => note_holder(&mut file, what),
            LockMode::Shared => note_shared_holder(&mut file, what),
        };
        noted.map_err(|e| StoreError::io(path, e))?;
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

/// This process's line in a lock file.
fn holder_line(what: &str) -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "pid {} running `{what}` since unix time {since}",
        std::process::id()
    )
}

fn note_holder(file: &mut File, what: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{}", holder_line(what))
}

/// A shared holder adds its line to those of the other live holders (the
/// file names every holder, so a refused writer learns who to wait for).
fn note_shared_holder(file: &mut File, what: &str) -> std::io::Result<()> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    let me = std::process::id();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| holder_pid(l).is_some_and(|p| p != me && pid_alive(p)))
        .map(str::to_string)
        .collect();
    lines.push(holder_line(what));
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{}", lines.join("\n"))
}

/// The pid of a `pid N running …` line.
fn holder_pid(line: &str) -> Option<u32> {
    line.strip_prefix("pid ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether process `pid` is alive. Where `/proc` is not mounted, every
/// process counts as alive.
fn pid_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// What a refused writer is told about the holders recorded in the lock
/// file: the live ones, named. Lines of processes that have exited are
/// stale (the kernel released their lock); a lock held by no recorded live
/// process is held by one that did not record itself.
fn describe_holders(text: &str) -> String {
    let mut live = Vec::new();
    let mut exited = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match holder_pid(line) {
            Some(pid) if !pid_alive(pid) => exited.push(pid),
            _ => live.push(line.to_string()),
        }
    }
    if !live.is_empty() {
        return live.join("; ");
    }
    let pids: Vec<String> = exited.iter().map(|p| format!("pid {p}")).collect();
    match pids.len() {
        0 => "a process that did not record itself".into(),
        1 => format!(
            "a process that did not record itself; the recorded holder, {}, has exited",
            pids[0]
        ),
        _ => format!(
            "a process that did not record itself; the recorded holders, {}, have exited",
            pids.join(", ")
        ),
    }
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

    /// Issue 19 item 12: a refused writer was told about a holder that had
    /// exited (shared holders did not record themselves).
    #[test]
    fn regression_lock_message_names_live_holders_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        // Left by an exclusive holder that exited (no pid is this large).
        std::fs::write(
            &path,
            "pid 999999999 running `ser features` since unix time 0",
        )
        .unwrap();
        let shared = StoreLock::try_acquire(&path, LockMode::Shared, "ser train").unwrap();
        let err = StoreLock::try_acquire(&path, LockMode::Exclusive, "ser features").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("ser train"), "{msg}");
        assert!(!msg.contains("999999999"), "{msg}");
        drop(shared);

        // A holder that records nothing (another tool's flock).
        std::fs::write(
            &path,
            "pid 999999999 running `ser features` since unix time 0",
        )
        .unwrap();
        let other = open(&path).unwrap();
        other.try_lock_shared().unwrap();
        let msg = StoreLock::try_acquire(&path, LockMode::Exclusive, "x")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did not record itself"), "{msg}");
        assert!(msg.contains("pid 999999999, has exited"), "{msg}");
    }
}
