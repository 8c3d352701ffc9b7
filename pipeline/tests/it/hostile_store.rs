//! A damaged or unlucky store (issue 19 items 3, 9, 10, 12): a lost or
//! garbled manifest costs no good shard, damage is found by `ser check` and
//! named by every reader, `count(*)` works on stacked tables, and a refused
//! writer is told about live lock holders only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use store::{LockMode, Manifest, StoreLock};

use crate::util::{files_under, ok, stderr, TestDir};

/// A store over a 2-actor demo corpus whose features were committed one
/// shard per manifest version (so there is an older version to fall back to).
fn store() -> TestDir {
    let t = TestDir::new();
    let data = t.path().join("data");
    ok(&t.ser(&["synth", "--out", data.to_str().unwrap(), "--actors", "2"]));
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    ok(&t.ser(&["features", "--commit-every-ms", "0"]));
    assert!(t.store().manifest_versions().unwrap().len() >= 2);
    t
}

fn data(t: &TestDir) -> PathBuf {
    t.path().join("data")
}

/// Part files with their modification times: a recomputed part changes.
fn parts(t: &TestDir) -> BTreeMap<PathBuf, SystemTime> {
    files_under(&t.store_path().join("features"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, m)
        })
        .collect()
}

fn latest_manifest_file(t: &TestDir) -> PathBuf {
    let v = *t.store().manifest_versions().unwrap().last().unwrap();
    t.store_path().join("manifest").join(Manifest::file_name(v))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ser check ARGS` and returns (exit code, stdout).
fn check(t: &TestDir, args: &[&str]) -> (Option<i32>, String) {
    let out = t.ser(&[&["check"], args].concat());
    (out.status.code(), stdout(&out))
}

fn flip_bytes(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 32] {
        *b ^= 0xa5;
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn regression_deleted_latest_manifest_costs_no_shard() {
    let t = store();
    let before = parts(&t);
    std::fs::remove_file(latest_manifest_file(&t)).unwrap();
    let out = t.ser(&["features"]);
    let text = ok(&out);
    let err = stderr(&out);
    assert!(!err.contains("interrupted run"), "{err}");
    assert!(err.contains("took back 1 shards"), "{err}");
    assert!(text.contains("computed 0 of 2 shards"), "{text}");
    assert_eq!(parts(&t), before, "good shards were deleted or recomputed");
    assert_eq!(check(&t, &[]).0, Some(0));
}

#[test]
fn regression_garbled_latest_manifest_falls_back_and_says_so() {
    let t = store();
    let before = parts(&t);
    let latest = latest_manifest_file(&t);
    std::fs::write(&latest, b"{\"format\": 1, \"vers").unwrap();
    let out = t.ser(&["query", "select count(*) as n from features", "--csv"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(err.contains(&latest.display().to_string()), "{err}");
    assert!(err.contains("ser check"), "{err}");
    let out = t.ser(&["features"]);
    ok(&out);
    assert_eq!(parts(&t), before, "good shards were deleted or recomputed");
    let (code, text) = check(&t, &[]);
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains(&latest.display().to_string()), "{text}");
    let (code, text) = check(&t, &["--repair"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!latest.exists());
    assert_eq!(check(&t, &[]).0, Some(0));
}

#[test]
fn regression_random_bytes_in_metadata_are_damage_not_data() {
    let t = store();
    let before = parts(&t);
    let meta = t.store().metadata_path();
    flip_bytes(&meta);
    for args in [&["features"][..], &["query", "select * from metadata"][..]] {
        let out = t.ser(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("metadata.parquet"), "{args:?}: {err}");
        assert!(err.contains("ser check"), "{args:?}: {err}");
    }
    assert_eq!(parts(&t), before, "damaged metadata recomputed shards");
    let (code, text) = check(&t, &[]);
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("metadata.parquet"), "{text}");
    assert!(text.contains("repair: ser metadata"), "{text}");
    // `--repair` cannot rebuild the table, and says so by exit status.
    assert_eq!(check(&t, &["--repair"]).0, Some(5));
    ok(&t.ser(&["metadata", "--data", data(&t).to_str().unwrap()]));
    assert_eq!(check(&t, &[]).0, Some(0));
}

#[test]
fn regression_truncated_shard_is_not_up_to_date() {
    let t = store();
    let part = parts(&t).into_keys().next().unwrap();
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() - 100]).unwrap();
    let (code, text) = check(&t, &[]);
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains(&part.display().to_string()), "{text}");
    assert!(text.contains("ser features"), "{text}");
    let out = t.ser(&["train", "--model", "cnn", "--epochs", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&part.display().to_string()), "{err}");
    assert!(err.contains("ser check"), "{err}");
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("computed 1 of 2 shards"), "{out}");
    assert_eq!(check(&t, &[]).0, Some(0));

    // The same damage, repaired by `ser check --repair` first.
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let (code, text) = check(&t, &["--repair"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!part.exists(), "{text}");
    assert_eq!(check(&t, &[]).0, Some(0));
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("computed 1 of 2 shards"), "{out}");
}

#[test]
fn regression_deleted_store_json_advice_works() {
    let t = store();
    std::fs::remove_file(t.store_path().join("STORE.json")).unwrap();
    for args in [
        &["features"][..],
        &["metadata", "--data", data(&t).to_str().unwrap()][..],
    ] {
        let out = t.ser(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("ser check --repair"), "{args:?}: {err}");
    }
    let (code, text) = check(&t, &[]);
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("STORE.json: missing"), "{text}");
    let (code, text) = check(&t, &["--repair"]);
    assert_eq!(code, Some(0), "{text}");
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn regression_count_star_on_stacked_tables() {
    let t = store();
    for table in ["features", "metadata"] {
        let out = t.ser(&[
            "query",
            &format!("select count(*) as n from {table}"),
            "--csv",
        ]);
        let text = ok(&out);
        let want = if table == "features" { "240" } else { "120" };
        assert_eq!(text.lines().nth(1), Some(want), "{table}: {text}");
    }
}

#[test]
fn regression_lock_message_names_a_live_holder_not_an_exited_one() {
    let t = store();
    let lock = t.store_path().join("LOCK");
    // What an exclusive holder that exited left behind.
    std::fs::write(
        &lock,
        "pid 999999999 running `ser features` since unix time 0",
    )
    .unwrap();
    let held = StoreLock::try_acquire(&lock, LockMode::Shared, "ser train").unwrap();
    let out = t.ser(&["features"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(err.contains("ser train"), "{err}");
    assert!(!err.contains("999999999"), "{err}");
    drop(held);
    ok(&t.ser(&["features"]));
}
