//! Content fingerprints (SHA-256 of a file's bytes) and short ids for
//! configs and shards.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

pub use sha2::Digest;
use sha2::Sha256;

use crate::error::{Result, StoreError};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The digest `D` (SHA-256, MD5, … any RustCrypto hash) of everything `r`
/// yields, read in 64 KiB blocks.
pub fn digest_reader<D: Digest>(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize().to_vec());
        }
        hasher.update(&buf[..n]);
    }
}

/// SHA-256 of a file's bytes, hex: the same value `sha256sum` prints.
pub fn file_sha256(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let digest = digest_reader::<Sha256>(file).map_err(|e| StoreError::io(path, e))?;
    Ok(hex(&digest))
}

/// Size and SHA-256 of a file, as the manifest records them for a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSum {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// The [`FileSum`] of a file (one read).
pub fn file_sum(path: &Path) -> Result<FileSum> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let size = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    let digest = digest_reader::<Sha256>(file).map_err(|e| StoreError::io(path, e))?;
    Ok(FileSum {
        size,
        sha256: hex(&digest),
    })
}

/// A writer that passes bytes on and keeps their count and SHA-256, so a
/// file's [`FileSum`] comes with its write instead of a second read.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The inner writer and the [`FileSum`] of everything written.
    pub fn finish(self) -> (W, FileSum) {
        let sum = FileSum {
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
        };
        (self.inner, sum)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A short (12 hex digit) id of some bytes: names feature sets, shards and runs.
pub fn short_id(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    hex(&digest[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            file_sha256(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short_id(b"abc"), "ba7816bf8f01");
    }
}
