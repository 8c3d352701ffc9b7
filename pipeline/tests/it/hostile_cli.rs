//! Issue 19, the command line used as a hostile or unlucky user would:
//! output files that must not replace what they should not, a synth that
//! must not overwrite a corpus, numeric flags out of range, a closed
//! stdout, a run folder without a store, a panic in one file's work.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::util::{ok, stderr, trained_store, TestDir};

/// One quickly trained run, shared by the tests that only read it.
fn shared() -> &'static (TestDir, String) {
    static RUN: OnceLock<(TestDir, String)> = OnceLock::new();
    RUN.get_or_init(|| trained_store(&["--window", "16"]))
}

/// The first demo clip of actor 1 in `t`'s data folder.
fn a_clip(t: &TestDir) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(t.path().join("data/Actor_01"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.remove(0)
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `predict --timeline --out OUT FILES` (plus `extra`) on the shared run.
fn predict_out(out: &Path, files: &[&Path], extra: &[&str]) -> Output {
    let (t, run) = shared();
    let mut args = vec![
        "predict",
        "--run",
        run.as_str(),
        "--timeline",
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| s(f)));
    t.ser(&args)
}

#[test]
fn regression_out_never_overwrites_an_input() {
    let (t, _) = shared();
    let dir = TestDir::new();
    let input = dir.path().join("a.wav");
    std::fs::copy(a_clip(t), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    // Also through another spelling of the same path, and with --force.
    let other = dir.path().join(".").join("a.wav");
    for (out, extra) in [(&input, vec![]), (&other, vec!["--force"])] {
        let r = predict_out(out, &[&input], &extra);
        assert_eq!(code(&r), Some(1), "{}", stderr(&r));
        let err = stderr(&r);
        assert!(err.contains("a.wav") && err.contains("input"), "{err}");
        assert_eq!(std::fs::read(&input).unwrap(), before, "the input changed");
    }
}

#[test]
fn regression_out_never_writes_inside_a_store() {
    let (t, _) = shared();
    let meta = t.store().metadata_path();
    let before = std::fs::read(&meta).unwrap();
    let clip = a_clip(t);
    let fresh = t.store_path().join("reports/timeline.parquet");
    for out in [&meta, &fresh] {
        for force in [&[][..], &["--force"][..]] {
            let r = predict_out(out, &[&clip], force);
            assert_eq!(code(&r), Some(1), "{}", stderr(&r));
            assert!(stderr(&r).contains("inside the store"), "{}", stderr(&r));
        }
    }
    assert_eq!(
        std::fs::read(&meta).unwrap(),
        before,
        "metadata.parquet replaced"
    );
    assert!(!fresh.exists(), "a file was written into the store");
}

#[test]
#[cfg(unix)]
fn regression_out_refuses_devices_fifos_and_folders() {
    use std::os::unix::fs::FileTypeExt;
    let (t, _) = shared();
    let clip = a_clip(t);
    let dir = TestDir::new();
    let node = |name: &str, mode: libc::mode_t, dev: libc::dev_t| {
        let p = dir.path().join(name);
        let c = std::ffi::CString::new(s(&p)).unwrap();
        (unsafe { libc::mknod(c.as_ptr(), mode | 0o600, dev) } == 0).then_some(p)
    };
    let fifo = node("fifo", libc::S_IFIFO, 0).expect("mkfifo");
    let mut cases = vec![
        (fifo, "a named pipe"),
        (dir.path().to_path_buf(), "a folder"),
    ];
    // A device of our own (a copy of /dev/null's numbers) where allowed
    // (root): never a real one, which the old code replaced.
    match node("null", libc::S_IFCHR, libc::makedev(1, 3)) {
        Some(dev) => cases.push((dev, "a device")),
        None => {
            eprintln!("(no device node: mknod needs privileges; the unit test covers /dev/null)")
        }
    }
    for (out, kind) in &cases {
        for force in [&[][..], &["--force"][..]] {
            let r = predict_out(out, &[&clip], force);
            assert_eq!(code(&r), Some(1), "{}", stderr(&r));
            let err = stderr(&r);
            assert!(
                err.contains(kind) && err.contains("not a regular file"),
                "{err}"
            );
        }
        let ft = std::fs::symlink_metadata(out).unwrap().file_type();
        assert!(
            ft.is_fifo() || ft.is_dir() || ft.is_char_device(),
            "{} was replaced",
            out.display()
        );
    }
}

#[test]
fn regression_out_over_an_existing_file_needs_force() {
    let (t, _) = shared();
    let clip = a_clip(t);
    let dir = TestDir::new();
    let out = dir.path().join("old.parquet");
    std::fs::write(&out, b"keep me").unwrap();
    let r = predict_out(&out, &[&clip], &[]);
    assert_eq!(code(&r), Some(1), "{}", stderr(&r));
    assert!(stderr(&r).contains("--force"), "{}", stderr(&r));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    ok(&predict_out(&out, &[&clip], &["--force"]));
    let good = std::fs::read(&out).unwrap();
    assert!(good.starts_with(b"PAR1"));
    // A run that classifies nothing replaces nothing, --force or not.
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"not audio").unwrap();
    let r = predict_out(&out, &[&junk], &["--force"]);
    assert_eq!(code(&r), Some(1), "{}", stderr(&r));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        good,
        "replaced by an empty timeline"
    );
}

#[test]
fn regression_bare_relative_out_name_is_written() {
    let (t, run) = shared();
    let clip = a_clip(t);
    let dir = TestDir::new();
    let r = t
        .cmd(&[
            "predict",
            "--run",
            run,
            "--out",
            "timeline.parquet",
            s(&clip),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    ok(&r);
    assert!(!stderr(&r).contains("error"), "{}", stderr(&r));
    let bytes = std::fs::read(dir.path().join("timeline.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1"));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "a temp file was left behind");
}

#[test]
fn regression_synth_refuses_a_foreign_folder_and_accepts_its_own() {
    let t = TestDir::new();
    let corpus = t.path().join("corpus");
    let clip = corpus.join("Actor_01/03-01-01-01-01-01-01.wav");
    std::fs::create_dir_all(clip.parent().unwrap()).unwrap();
    std::fs::write(&clip, b"a real recording").unwrap();
    let r = t.ser(&["synth", "--out", s(&corpus), "--actors", "1"]);
    assert_eq!(code(&r), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("not an earlier `ser synth` output"),
        "{}",
        stderr(&r)
    );
    assert_eq!(std::fs::read(&clip).unwrap(), b"a real recording");
    // Its own output, new or rerun (and an empty folder), is fine.
    let own = t.path().join("demo");
    std::fs::create_dir_all(&own).unwrap();
    ok(&t.ser(&["synth", "--out", s(&own), "--actors", "1"]));
    assert!(own.join(".ser-synth.json").is_file());
    ok(&t.ser(&["synth", "--out", s(&own), "--actors", "1"]));
}

/// Every numeric flag out of range (or against another flag): exit 2, the
/// message names the allowed range, and nothing is created.
#[test]
fn regression_numeric_flags_out_of_range_exit_2_naming_the_range() {
    let t = TestDir::new();
    let wav = t.path().join("x.wav");
    let out = t.path().join("out");
    let (wav, out) = (s(&wav), s(&out));
    let config = t.path().join("train.json");
    std::fs::write(&config, r#"{"window": {"frames": 100000}}"#).unwrap();
    let p = |extra: &[&'static str]| {
        let mut v = vec!["predict", "--run", "r"];
        v.extend_from_slice(extra);
        v
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--window", "100000"], "1..=4096"),
        (vec!["train", "--window", "0"], "1..=4096"),
        (vec!["train", "--epochs", "0"], "1..=100000"),
        (vec!["train", "--batch-size", "100000"], "1..=4096"),
        (vec!["train", "--lr", "0"], "(0, 10]"),
        (vec!["train", "--lr", "nan"], "(0, 10]"),
        (vec!["train", "--lr", "1e30"], "(0, 10]"),
        (vec!["train", "--test-fraction", "1"], "(0, 1)"),
        (vec!["train", "--folds", "1"], "2..=64"),
        (vec!["train", "--max-folds", "0"], "1..=64"),
        (vec!["train", "--fold", "0"], "1..=64"),
        (vec!["train", "--threads", "0"], "1..=1024"),
        (vec!["train", "--kernel", "4"], "3, 5 or 7"),
        (vec!["train", "--adam-eps", "0"], "(0, 1]"),
        (vec!["train", "--weight-decay", "1"], "[0, 1)"),
        (vec!["train", "--label-smoothing=-1"], "[0, 1)"),
        (vec!["train", "--config", s(&config)], "1..=4096"),
        (vec!["features", "--n-fft", "0"], "16..=65536"),
        (vec!["features", "--hop-length", "0"], "1..=65536"),
        (
            vec!["features", "--hop-length", "4096", "--n-fft", "2048"],
            "at most n_fft",
        ),
        (vec!["features", "--n-mels", "0"], "1..=512"),
        (vec!["features", "--n-mfcc", "1000"], "1..=512"),
        (
            vec!["features", "--n-mfcc", "60", "--n-mels", "40"],
            "n_mels",
        ),
        (vec!["features", "--sample-rate", "0"], "4000..=384000"),
        (vec!["features", "--commit-every-ms=-1"], "0..=86400000"),
        (
            vec!["features", "--noise", "gaussian:nan"],
            "noise amplitude",
        ),
        (vec!["features", "--shard", "0/3"], "1 <= K <= N"),
        (
            vec!["features", "--augment", "2", "--longest-room", "9"],
            "0.3..=3",
        ),
        (vec!["features", "--longest-room", "1.2"], "set augment too"),
        (
            vec!["features", "--augment", "2", "--loudest-level", "3"],
            "-30..=0",
        ),
        (vec!["features", "--loudest-level", "-5"], "set augment too"),
        (
            vec!["features", "--augment", "2", "--shaped-noise", "1.5"],
            "0..=1",
        ),
        (vec!["features", "--shaped-noise", "0.5"], "set augment too"),
        (vec!["train", "--gain-share", "0"], "(0, 1]"),
        (vec!["train", "--gain-share", "0.5"], "this run has none"),
        (vec!["train", "--voices", "2"], "0..=1"),
        (vec!["train", "--warp-range", "0.5"], "0.01..=0.3"),
        (vec!["train", "--test-warp", "0.5"], "0..=0.3"),
        (vec!["train", "--test-warp", "nan"], "0..=0.3"),
        (vec!["train", "--tilt", "13"], "0..=12"),
        (vec!["train", "--tilt=-1"], "0..=12"),
        (
            vec!["train", "--model", "si-cnn", "--tilt", "4", "--mic", "0"],
            "tilt 4 shapes the mic, and this run has none",
        ),
        (
            vec!["train", "--test-warp", "0.1", "--norm", "clip"],
            "test_warp goes through the training side's standardisation",
        ),
        (
            vec!["train", "--warp-range", "0.15", "--warp", "0"],
            "this run has none",
        ),
        (
            vec![
                "train",
                "--voices",
                "0.5",
                "--train-variants",
                "clean,noisy",
            ],
            "trains on none",
        ),
        (p(&["--segment", "0"]), "0.1..=600"),
        (p(&["--segment", "1e9"]), "0.1..=600"),
        (p(&["--hop", "0"]), "0.01..=600"),
        (p(&["--hop", "1e-9"]), "0.01..=600"),
        (p(&["--silence-db", "nan"]), "-200..=0"),
        (p(&["--fold", "0"]), "1..=64"),
        (
            vec!["listen", "--run", "r", "--stdin", "--rate", "0"],
            "4000..=384000",
        ),
        (
            vec![
                "listen",
                "--run",
                "r",
                "--stdin",
                "--rate",
                "16000",
                "--channels",
                "0",
            ],
            "1..=32",
        ),
        (vec!["synth", "--out", out, "--actors", "0"], "1..=24"),
        (
            vec!["synth", "--out", out, "--sample-rate", "100"],
            "8000..=192000",
        ),
        (
            vec!["download", "--out", out, "--timeout-s", "0"],
            "1..=86400",
        ),
        (vec!["reproduce", "--threads", "0"], "1..=1024"),
        (vec!["reproduce", "--max-folds", "0"], "1..=64"),
    ];
    for (mut args, range) in cases {
        if args[0] == "predict" {
            args.push(wav);
        }
        let r = t.ser(&args);
        let err = stderr(&r);
        assert_eq!(code(&r), Some(2), "{args:?}: {err}");
        assert!(err.contains(range), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!t.store_path().exists(), "a store was created");
    assert!(!Path::new(out).exists(), "an output folder was created");
    let help = ok(&t.ser(&["help", "train"]));
    assert!(
        help.contains("1..=4096") && help.contains("(0, 10]"),
        "{help}"
    );
}

/// `ser ARGS` with stdout a pipe whose read end is closed at once.
fn with_closed_stdout(mut cmd: Command, stdin: Option<Vec<u8>>) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("run ser");
    drop(child.stdout.take());
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(&bytes);
    }
    child.wait_with_output().expect("wait for ser")
}

/// 2 s of a 220 Hz tone as s16le PCM at 16 kHz.
fn pcm() -> Vec<u8> {
    (0..32_000)
        .flat_map(|i| {
            let t = i as f32 / 16_000.0;
            ((8000.0 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()) as i16).to_le_bytes()
        })
        .collect()
}

#[test]
fn regression_closed_stdout_never_panics_for_any_command() {
    let (t, run) = trained_store(&["--window", "16"]);
    let data = t.path().join("data");
    let clip = a_clip(&t);
    let dl = t.path().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    // An empty zip already downloaded: `download` prints and goes on offline.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.resize(22, 0);
    std::fs::write(dl.join("corpus.zip"), empty_zip).unwrap();
    let demo = t.path().join("demo");
    let run_dir = t.store().run_dir(&run);
    let model = t.path().join("closed.ser");
    let onnx = t.path().join("closed.onnx");
    let commands: Vec<(Vec<&str>, Option<Vec<u8>>)> = vec![
        (vec!["synth", "--out", s(&demo), "--actors", "1"], None),
        (
            vec![
                "download",
                "--out",
                s(&dl),
                "--url",
                "http://127.0.0.1:9/corpus.zip",
                "--md5",
                "none",
            ],
            None,
        ),
        (vec!["verify", "--data", s(&data), "--allow-partial"], None),
        (vec!["metadata", "--data", s(&data)], None),
        (vec!["features"], None),
        (
            vec![
                "train", "--model", "lstm", "--epochs", "2", "--window", "16",
            ],
            None,
        ),
        (vec!["predict", "--run", &run, s(&clip)], None),
        (vec!["predict", "--run", &run, "--timeline", s(&clip)], None),
        (
            vec![
                "predict",
                "--run",
                s(&run_dir),
                "--json",
                "--segment",
                "1",
                s(&clip),
            ],
            None,
        ),
        (
            vec![
                "listen",
                "--run",
                &run,
                "--stdin",
                "--rate",
                "16000",
                "--segment",
                "0.5",
            ],
            Some(pcm()),
        ),
        // Killed quietly (SIGPIPE) when it prints its URL.
        (vec!["serve", "--run", &run, "--addr", "127.0.0.1:0"], None),
        (vec!["report", "--no-figures"], None),
        (vec!["query", "SELECT * FROM metadata"], None),
        (vec!["query", "--csv", "SELECT * FROM metadata"], None),
        (vec!["check"], None),
        (
            vec!["robustness", "--run", &run, "--conditions", "clean,mulaw"],
            None,
        ),
        (
            vec![
                "reproduce",
                "--quick",
                "--only",
                "lstm",
                "--protocol",
                "paper",
            ],
            None,
        ),
        (
            vec![
                "model",
                "build",
                "--out",
                s(&model),
                "--epochs",
                "1",
                "--window",
                "16",
            ],
            None,
        ),
        (vec!["model", "show", s(&model)], None),
        (
            vec!["export", "--model", s(&model), "--onnx", s(&onnx)],
            None,
        ),
        (vec!["help"], None),
        (vec!["help", "train"], None),
        (vec!["--help"], None),
        (vec!["--version"], None),
    ];
    // Every command `ser --help` lists is in the list above (a new one
    // must be added here).
    let help = ok(&t.ser(&["--help"]));
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(listed.len() >= 12, "{help}");
    for name in listed {
        assert!(
            commands.iter().any(|(args, _)| args[0] == name),
            "`ser {name}` is not run with a closed stdout: add it to this test"
        );
    }
    for (args, stdin) in commands {
        let r = with_closed_stdout(t.cmd(&args), stdin);
        let err = stderr(&r);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(code(&r), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn regression_run_folder_works_without_a_store() {
    let (t, run) = shared();
    let run_dir = t.store().run_dir(run);
    let clip = a_clip(t);
    let empty = TestDir::new();
    let ser = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ser"));
        c.current_dir(empty.path()).arg("--quiet");
        c
    };
    let r = ser()
        .args(["predict", "--run", s(&run_dir), s(&clip)])
        .output()
        .unwrap();
    let out = ok(&r);
    assert!(out.contains(s(&clip)), "{out}");
    let mut child = ser()
        .args([
            "listen",
            "--run",
            s(&run_dir),
            "--stdin",
            "--rate",
            "16000",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&pcm()).unwrap();
    ok(&child.wait_with_output().unwrap());
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "a store was created"
    );
}

/// A 32-bit float WAV at 48 kHz whose samples include NaN and infinities.
fn write_nan_wav(path: &Path) {
    let samples: Vec<f32> = (0..48_000)
        .map(|i| match i % 100 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => (i as f32 * 0.05).sin() * 0.3,
        })
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&48_000u32.to_le_bytes());
    b.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    std::fs::write(path, b).unwrap();
}

#[test]
fn regression_one_bad_file_does_not_lose_the_batch() {
    let (t, run) = shared();
    let dir = TestDir::new();
    let bad = dir.path().join("nan.wav");
    write_nan_wav(&bad);
    let good = a_clip(t);
    // One window per file: the resampler panicked on it (exit 101, the
    // batch lost); now a `skipped` line (an internal error as a last
    // resort, or the decoder's reason) and the good file's label.
    let r = t.ser(&["predict", "--run", run, s(&bad), s(&good)]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("skipped") && l.contains("nan.wav")),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains(s(&good)));
    // A timeline of the same files: no panic either.
    let r = t.ser(&["predict", "--run", run, "--timeline", s(&bad), s(&good)]);
    let err = stderr(&r);
    assert!(matches!(code(&r), Some(0 | 3)), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(String::from_utf8_lossy(&r.stdout).contains(s(&good)));
}
