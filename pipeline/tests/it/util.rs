//! Helpers: a temp store per test, a `ser` command builder, fixtures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use store::shard::read_shard;
use store::{FeatureRow, Store};

/// Where the real-data fixtures live: `$SER_SHARED`, else `../shared`
/// beside the checkout (a developer's machine and CI have it; a fresh
/// clone does not). It holds `ravdess/` (480 RAVDESS clips) and `golden/`
/// (librosa's reference values).
pub fn shared() -> PathBuf {
    match std::env::var_os("SER_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// `shared()/<what>` if it is there. Otherwise the test is skipped with one
/// line on stderr (not captured by the test harness, so `make test` shows
/// it), or fails when `SER_REQUIRE_SHARED=1` (CI sets it: nothing skips there).
pub fn shared_or_skip(what: &str, test: &str) -> Option<PathBuf> {
    let p = shared().join(what);
    if p.exists() {
        return Some(p);
    }
    let msg = format!(
        "SKIPPED {test}: needs {} (set SER_SHARED to a folder holding ravdess/ and golden/)",
        p.display()
    );
    if std::env::var_os("SER_REQUIRE_SHARED").is_some_and(|v| v == "1") {
        panic!("{msg}; SER_REQUIRE_SHARED=1 forbids skipping");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
    None
}

/// The real RAVDESS subset (480 clips), or a skip (see [`shared_or_skip`]).
pub fn ravdess(test: &str) -> Option<PathBuf> {
    shared_or_skip("ravdess", test).filter(|p| p.join("Actor_01").is_dir())
}

/// A synthetic RAVDESS-named corpus (`ser synth`, 8 actors x 60 clips at
/// 48 kHz), written once per test run: real WAV files for tests that need
/// speech-like clips but not RAVDESS itself.
pub fn synth_corpus() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = pipeline::synth::SynthConfig {
            actors: 8,
            ..Default::default()
        };
        pipeline::synth::run_synth(dir.path(), &cfg).expect("synth corpus");
        dir
    })
    .path()
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
        Store::create(self.store_path()).expect("open store")
    }

    pub fn ser(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd(args);
        cmd.output().expect("run ser")
    }

    /// `ser --quiet [--store <temp store>] ARGS…` (`--store` only for the
    /// commands that take one).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ser"));
        cmd.arg("--quiet");
        let storeless = matches!(
            args.first(),
            Some(&"synth" | &"download" | &"verify" | &"help" | &"export")
        ) || args.starts_with(&["model", "show"]);
        if !storeless {
            cmd.arg("--store").arg(self.store_path());
        }
        cmd.args(args);
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

/// A store over a fresh demo corpus of `actors` actors (60 clips each),
/// with its metadata and features.
pub fn demo_store(actors: u32) -> TestDir {
    let t = TestDir::new();
    let data = t.path().join("data");
    let n = actors.to_string();
    ok(&t.ser(&["synth", "--out", data.to_str().unwrap(), "--actors", &n]));
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    ok(&t.ser(&["features"]));
    t
}

/// The run name in `ser train`'s output (`train: run NAME …`).
pub fn run_name(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .unwrap_or_else(|| panic!("no run name in {stdout}"))
        .to_string()
}

/// A 2-actor demo store and a quickly trained LSTM run (`extra` flags added).
pub fn trained_store(extra: &[&str]) -> (TestDir, String) {
    let t = demo_store(2);
    let mut args = vec!["train", "--model", "lstm", "--epochs", "2"];
    args.extend_from_slice(extra);
    let run = run_name(&ok(&t.ser(&args)));
    (t, run)
}

/// Copies the first `n` clips of each of the given actors of the synthetic
/// corpus into `dir/Actor_NN/` (a small corpus a test may change).
pub fn copy_clips(dir: &Path, actors: &[u32], n: usize) -> Vec<PathBuf> {
    copy_from(synth_corpus(), dir, actors, n)
}

/// Copies the first `n` clips of each of the given actors of `src` into
/// `dir/Actor_NN/`.
pub fn copy_from(src: &Path, dir: &Path, actors: &[u32], n: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for a in actors {
        let from = src.join(format!("Actor_{a:02}"));
        let mut files: Vec<_> = std::fs::read_dir(&from)
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

/// The per-class columns of a `predict`/`listen` JSON line: every key but
/// the shared and extra ones (null for silent segments / no speech).
pub fn class_columns(v: &serde_json::Value) -> std::collections::BTreeMap<String, Option<f64>> {
    const NOT_CLASSES: [&str; 15] = [
        "file",
        "start_s",
        "end_s",
        "label",
        "confidence",
        "run",
        "windows",
        "speech_s",
        "segment",
        "rms_db",
        "silent",
        "summary",
        "segments",
        "voiced",
        "seconds",
    ];
    v.as_object()
        .expect("a JSON object")
        .iter()
        .filter(|(k, _)| !NOT_CLASSES.contains(&k.as_str()))
        .map(|(k, x)| (k.clone(), x.as_f64()))
        .collect()
}
