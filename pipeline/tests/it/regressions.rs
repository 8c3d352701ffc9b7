//! Regression tests for rough edges a new user hit, each named after it.

use std::process::Command;

use crate::util::{ok, stderr, trained_store, write_tone, TestDir};

/// Two RAVDESS-named tones for actor `actor` under `dir/Actor_NN/`.
fn two_clips(dir: &std::path::Path, actor: u32) {
    for name in ["03-01-01-01-01-01", "03-01-05-02-01-01"] {
        let p = dir.join(format!("Actor_{actor:02}/{name}-{actor:02}.wav"));
        write_tone(&p, 22050, 1.0, 200.0);
    }
}

#[test]
#[cfg(unix)]
fn regression_symlinked_actor_folders_are_followed() {
    let t = TestDir::new();
    let shared = t.path().join("shared-storage");
    two_clips(&shared, 1);
    two_clips(&shared, 2);
    let data = t.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for a in ["Actor_01", "Actor_02"] {
        std::os::unix::fs::symlink(shared.join(a), data.join(a)).unwrap();
    }
    // A loop (a link back to the data folder) must not hang or duplicate.
    std::os::unix::fs::symlink(&data, shared.join("Actor_01/loop")).unwrap();
    // A dangling link is a reject with the reason (issue 19), not silence.
    std::os::unix::fs::symlink(t.path().join("gone"), data.join("Actor_03")).unwrap();
    let r = t.ser(&["metadata", "--data", data.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("Actor_03: dangling symbolic link"),
        "{}",
        stderr(&r)
    );
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("metadata: 4 clips"), "{out}");
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("; 4 clean + 4 noisy rows;"), "{out}");
    assert_eq!(t.rows(None).len(), 8);
}

#[test]
fn regression_no_audio_files_is_an_error_naming_the_folder() {
    let t = TestDir::new();
    let data = t.path().join("data");
    two_clips(&data, 1);
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    let before = std::fs::read(t.store().metadata_path()).unwrap();
    let empty = t.path().join("empty");
    std::fs::create_dir_all(empty.join("Actor_01")).unwrap();
    let out = t.ser(&["metadata", "--data", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no audio files") && err.contains("empty"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read(t.store().metadata_path()).unwrap(),
        before,
        "the store's metadata survives"
    );
}

#[test]
fn regression_features_on_empty_metadata_says_what_to_run() {
    let t = TestDir::new();
    let data = t.path().join("data/Actor_01");
    // Only badly named files: read as RAVDESS, metadata keeps no clip.
    write_tone(&data.join("hello.wav"), 22050, 1.0, 200.0);
    let dir = t.path().join("data");
    let auto = t.ser(&["metadata", "--data", dir.to_str().unwrap()]);
    assert_eq!(
        auto.status.code(),
        Some(1),
        "no corpus names them: {}",
        stderr(&auto)
    );
    assert!(
        stderr(&auto).contains("name it with --corpus"),
        "{}",
        stderr(&auto)
    );
    // Named, it labels nothing: an error (issue 19), and no table is written.
    let out = t.ser(&[
        "metadata",
        "--data",
        dir.to_str().unwrap(),
        "--corpus",
        "ravdess",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no file could be labelled"),
        "{}",
        stderr(&out)
    );
    let out = t.ser(&["features"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ser metadata --data"), "{err}");
}

#[test]
fn regression_default_store_is_not_the_store_crate_folder() {
    let t = TestDir::new();
    let data = t.path().join("data");
    two_clips(&data, 1);
    // A checkout: `store/` is a source folder of the workspace.
    let checkout = t.path().join("checkout");
    std::fs::create_dir_all(checkout.join("store/src")).unwrap();
    std::fs::write(checkout.join("store/Cargo.toml"), "[package]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ser"))
        .current_dir(&checkout)
        .args(["--quiet", "metadata", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&out);
    assert!(checkout.join("ser-store/STORE.json").is_file());
    let source: Vec<_> = std::fs::read_dir(checkout.join("store"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(source.len(), 2, "store/ got new files: {source:?}");
    // Pointed at a source folder on purpose, `ser` refuses to mix a store in.
    let out = Command::new(env!("CARGO_BIN_EXE_ser"))
        .current_dir(&checkout)
        .args([
            "--quiet",
            "--store",
            "store",
            "metadata",
            "--data",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not empty and not a store"),
        "{}",
        stderr(&out)
    );
    assert!(!checkout.join("store/STORE.json").exists());
}

/// Reading commands on a mistyped store path created it.
#[test]
fn regression_read_only_commands_never_create_a_store() {
    let t = TestDir::new();
    let missing = t.path().join("nonexist");
    for args in [
        vec!["query", "select 1"],
        vec!["report"],
        vec!["predict", "--run", "x", "clip.wav"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ser"))
            .current_dir(t.path())
            .arg("--store")
            .arg(&missing)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("no store at") && err.contains("nonexist"),
            "{err}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
        // Without --store: the default, which must not appear either.
        let out = Command::new(env!("CARGO_BIN_EXE_ser"))
            .current_dir(t.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            !t.path().join("ser-store").exists(),
            "{args:?} created ./ser-store"
        );
    }
}

/// `predict` printed an empty table and exited 3 when nothing worked.
#[test]
fn regression_predict_with_every_input_failing_exits_1() {
    let (t, run) = trained_store(&["--window", "16"]);
    let data = t.path().join("data");
    let text = t.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    let missing = t.path().join("missing.wav");
    let out = t.ser(&[
        "predict",
        "--run",
        &run,
        text.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("skipped")).count(),
        2,
        "{err}"
    );
    assert!(err.contains("no file could be classified"), "{err}");
    // A fold the run does not have: an error before any file is read.
    let good = data
        .join("Actor_01")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = t.ser(&[
        "predict",
        "--run",
        &run,
        "--fold",
        "2",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no fold 2 (folds: 1)"),
        "{}",
        stderr(&out)
    );
    // Some good, some bad: done, with the skipped one named (exit 3).
    let out = t.ser(&[
        "predict",
        "--run",
        &run,
        "--fold",
        "1",
        good.to_str().unwrap(),
        text.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

/// A damaged file of a published run was reported as "invalid
/// configuration"; now the file is named as damaged, with what to do.
#[test]
fn regression_a_damaged_run_file_is_named_with_what_to_do() {
    let (t, run) = trained_store(&["--window", "16"]);
    let dir = t.store().run_dir(&run);
    let wav = t
        .path()
        .join("data/Actor_01")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    ok(&t.ser(&["predict", "--run", &run, wav.to_str().unwrap()]));
    for file in ["config.json", "model.safetensors"] {
        let path = dir.join(file);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() / 3]).unwrap();
        let out = t.ser(&["predict", "--run", &run, wav.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{file}: {err}");
        assert!(
            err.contains(&format!("{file} is damaged")) && err.contains("train it again"),
            "{file}: {err}"
        );
        assert!(!err.contains("invalid configuration"), "{file}: {err}");
        std::fs::write(&path, whole).unwrap();
    }
}
