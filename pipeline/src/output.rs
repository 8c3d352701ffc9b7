//! Files a user names for a command to write (`ser predict --out FILE`):
//! the one guard every such write goes through.
//!
//! [`OutputFile::check`] refuses, before any work is done, to replace
//! - an input of the same command (same file, by device and inode, so a
//!   hard link or another spelling of the path is caught too);
//! - anything inside a store (a folder with `STORE.json` at or above it):
//!   the store's files are written only by its own commands;
//! - anything that is not a regular file (a folder, a device such as
//!   `/dev/full` or `/dev/null`, a named pipe, a socket, a symbolic link);
//! - an existing regular file, unless `force` (`--force`).
//!
//! [`OutputFile::write_with`] then writes a temp file beside the target,
//! fsyncs it, and renames it over the target (without `force`, by a hard
//! link that fails if a file appeared meanwhile), then fsyncs the folder:
//! a reader sees the old file or the new one, and a failed write leaves
//! no temp file. A bare name (`timeline.parquet`) is written in the
//! current folder.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Why an output file was refused or could not be written. Each names the
/// file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output is one of the command's inputs.
    #[error("refusing to write {path}: it is an input of this command ({input})")]
    IsInput {
        /// The output as given.
        path: PathBuf,
        /// The input it is.
        input: PathBuf,
    },
    /// The output is inside a store.
    #[error(
        "refusing to write {path}: it is inside the store {store} (only ser's own commands write there)"
    )]
    InStore {
        /// The output as given.
        path: PathBuf,
        /// The store's folder.
        store: PathBuf,
    },
    /// The output exists and is not a regular file.
    #[error("refusing to write {path}: it is {kind}, not a regular file")]
    NotRegular {
        /// The output as given.
        path: PathBuf,
        /// What it is (`a folder`, `a device`…).
        kind: &'static str,
    },
    /// The output exists and `--force` was not given.
    #[error("refusing to write {path}: it exists (add --force to replace it)")]
    Exists {
        /// The output as given.
        path: PathBuf,
    },
    /// The path names no file (empty, `..`, ends in `/`).
    #[error("refusing to write {path}: not a file name")]
    NotAFileName {
        /// The output as given.
        path: PathBuf,
    },
    /// Reading the file system or writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The content could not be produced.
    #[error("writing {path}: {reason}")]
    Write {
        /// The output as given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// An output file that passed the guard; write it with [`Self::write_with`].
#[derive(Debug, Clone)]
pub struct OutputFile {
    shown: PathBuf,
    dir: PathBuf,
    target: PathBuf,
    force: bool,
}

/// What a non-regular file is, in words.
fn kind_of(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// Whether two metadata describe the same file.
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// The store folder at or above `dir`, if any (`dir` need not exist yet:
/// its nearest existing ancestor is looked at).
fn store_above(dir: &Path) -> Option<PathBuf> {
    let mut existing = dir;
    while !existing.exists() {
        existing = existing.parent()?;
        if existing.as_os_str().is_empty() {
            existing = Path::new(".");
        }
    }
    let abs = existing.canonicalize().ok()?;
    abs.ancestors()
        .find(|a| a.join("STORE.json").is_file())
        .map(Path::to_path_buf)
}

impl OutputFile {
    /// Checks `path` as the output of a command reading `inputs`; `force`
    /// allows replacing an existing regular file (never an input).
    pub fn check(path: &Path, inputs: &[PathBuf], force: bool) -> Result<OutputFile, OutputError> {
        let shown = path.to_path_buf();
        let name = match path.file_name() {
            Some(n) if !path.as_os_str().to_string_lossy().ends_with('/') => n.to_os_string(),
            _ => return Err(OutputError::NotAFileName { path: shown }),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let target = dir.join(&name);
        if let Some(store) = store_above(&dir) {
            return Err(OutputError::InStore { path: shown, store });
        }
        match fs::symlink_metadata(&target) {
            Ok(m) => {
                if !m.file_type().is_file() {
                    return Err(OutputError::NotRegular {
                        path: shown,
                        kind: kind_of(&m.file_type()),
                    });
                }
                for input in inputs {
                    if fs::metadata(input).is_ok_and(|i| same_file(&i, &m)) {
                        return Err(OutputError::IsInput {
                            path: shown,
                            input: input.clone(),
                        });
                    }
                }
                if !force {
                    return Err(OutputError::Exists { path: shown });
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(OutputError::Io {
                    path: shown,
                    source: e,
                })
            }
        }
        Ok(OutputFile {
            shown,
            dir,
            target,
            force,
        })
    }

    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Writes the file: `fill` writes a temp file beside it, which is
    /// fsynced and put in place; parent folders are created.
    pub fn write_with<F>(&self, fill: F) -> Result<(), OutputError>
    where
        F: FnOnce(&mut File) -> Result<(), String>,
    {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OutputError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let tmp = store::atomic::temp_path_for(&self.target);
        let result = (|| {
            let mut file = File::options()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io(&tmp))?;
            fill(&mut file).map_err(|reason| OutputError::Write {
                path: self.shown.clone(),
                reason,
            })?;
            file.sync_all().map_err(io(&tmp))?;
            drop(file);
            self.put_in_place(&tmp)?;
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir))
        })();
        let _ = fs::remove_file(&tmp);
        result
    }

    /// Moves the finished temp file to the target, checking the target
    /// again (it may have changed since [`Self::check`]).
    fn put_in_place(&self, tmp: &Path) -> Result<(), OutputError> {
        let shown = || self.shown.clone();
        match fs::symlink_metadata(&self.target) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(OutputError::NotRegular {
                    path: shown(),
                    kind: kind_of(&m.file_type()),
                })
            }
            Ok(_) if !self.force => return Err(OutputError::Exists { path: shown() }),
            _ => {}
        }
        if !self.force {
            // A hard link never replaces a file that appeared meanwhile.
            match fs::hard_link(tmp, &self.target) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    return Err(OutputError::Exists { path: shown() })
                }
                // No hard links on this file system: rename below.
                Err(_) => {}
            }
        }
        fs::rename(tmp, &self.target).map_err(|source| OutputError::Io {
            path: shown(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(out: &OutputFile, bytes: &'static [u8]) -> Result<(), OutputError> {
        out.write_with(|f| {
            use std::io::Write;
            f.write_all(bytes).map_err(|e| e.to_string())
        })
    }

    #[test]
    fn refuses_inputs_stores_specials_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.wav");
        fs::write(&input, b"RIFF").unwrap();
        let inputs = vec![input.clone()];
        let e = OutputFile::check(&input, &inputs, true).unwrap_err();
        assert!(matches!(e, OutputError::IsInput { .. }), "{e}");
        let e = OutputFile::check(&input, &[], false).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        let store = dir.path().join("store");
        fs::create_dir_all(store.join("runs")).unwrap();
        fs::write(store.join("STORE.json"), b"{}").unwrap();
        for p in [
            store.join("metadata.parquet"),
            store.join("runs/new/x.parquet"),
        ] {
            let e = OutputFile::check(&p, &[], true).unwrap_err();
            assert!(matches!(e, OutputError::InStore { .. }), "{e}");
        }
        let e = OutputFile::check(Path::new("/dev/null"), &[], true).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let e = OutputFile::check(dir.path(), &[], true).unwrap_err();
        assert!(e.to_string().contains("a folder"), "{e}");
        assert_eq!(fs::read(&input).unwrap(), b"RIFF");
    }

    #[test]
    fn writes_atomically_and_replaces_only_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.bin");
        let out = OutputFile::check(&p, &[], false).unwrap();
        write(&out, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        // The file appeared after the check: not replaced without force.
        assert!(matches!(
            write(&out, b"two"),
            Err(OutputError::Exists { .. })
        ));
        let forced = OutputFile::check(&p, &[], true).unwrap();
        write(&forced, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let failed = forced.write_with(|_| Err("boom".into()));
        assert!(failed.unwrap_err().to_string().contains("boom"));
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names = fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(names, 1, "a temp file was left behind");
    }
}
