//! Helpers: a temp store per test, a `ser` command builder, fixtures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use store::shard::read_shard;
use store::{FeatureRow, Store};

/// `../shared` (override with `SER_SHARED`).
pub fn shared() -> PathBuf {
    match std::env::var_os("SER_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// The real RAVDESS subset (480 clips).
pub fn ravdess() -> PathBuf {
    let p = shared().join("ravdess");
    assert!(
        p.join("Actor_01").is_dir(),
        "RAVDESS subset not found at {}",
        p.display()
    );
    p
}

/// A temp folder holding a store (and any data a test makes).
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_path(&self) -> PathBuf {
        self.path().join("store")
    }

    pub fn store(&self) -> Store {
        Store::open(self.store_path()).expect("open store")
    }

    /// `ser --quiet --store <temp store> ARGS…`
    pub fn ser(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd(args);
        cmd.output().expect("run ser")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ser"));
        cmd.arg("--quiet")
            .arg("--store")
            .arg(self.store_path())
            .args(args);
        cmd
    }

    /// Every feature row of set `set` (all sets if `None`), read back through the manifest.
    pub fn rows(&self, set: Option<&str>) -> Vec<FeatureRow> {
        let store = self.store();
        let m = store.latest_manifest().expect("manifest");
        let mut rows = Vec::new();
        for (id, s) in &m.sets {
            if set.is_some_and(|w| w != id) {
                continue;
            }
            for sh in s.shards.values() {
                for p in &sh.parts {
                    rows.extend(read_shard(&store.resolve(&p.path)).expect("read shard"));
                }
            }
        }
        rows
    }

    /// Part files on disk under `features/`, relative to the store.
    pub fn part_files(&self) -> BTreeSet<String> {
        files_under(&self.store_path().join("features"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .map(|p| {
                p.strip_prefix(self.store_path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
}

/// Every file under `dir`, recursively (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Asserts success (exit 0) and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ser failed ({:?})\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes a mono 16-bit WAV of a decaying tone, `seconds` long.
pub fn write_tone(path: &Path, sample_rate: u32, seconds: f32, hz: f32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let n = (sample_rate as f32 * seconds) as usize;
    let samples: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f32 / sample_rate as f32;
            (8000.0 * (2.0 * std::f32::consts::PI * hz * t).sin() * (-t).exp()) as i16
        })
        .collect();
    pipeline::audio::write_wav_i16(path, &samples, sample_rate, 1).unwrap();
}

/// Copies the first `n` clips of each of the given actors of the RAVDESS
/// subset into `dir/Actor_NN/` (a small real corpus a test may change).
pub fn copy_ravdess(dir: &Path, actors: &[u32], n: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for a in actors {
        let src = ravdess().join(format!("Actor_{a:02}"));
        let mut files: Vec<_> = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let dst = dir.join(format!("Actor_{a:02}"));
        std::fs::create_dir_all(&dst).unwrap();
        for f in files.into_iter().take(n) {
            let to = dst.join(f.file_name().unwrap());
            std::fs::copy(&f, &to).unwrap();
            out.push(to);
        }
    }
    out
}
