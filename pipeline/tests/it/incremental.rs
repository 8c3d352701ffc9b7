//! Re-runs recompute only what changed: nothing, one actor's shard, or a
//! whole new set for a new config (keeping the old one).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use crate::util::{copy_clips, ok, stderr, write_tone, TestDir};

fn mtimes(t: &TestDir) -> BTreeMap<String, SystemTime> {
    t.part_files()
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(t.store_path().join(&p))
                .unwrap()
                .modified()
                .unwrap();
            (p, m)
        })
        .collect()
}

fn with_actor(files: &BTreeMap<String, SystemTime>, actor: &str) -> BTreeMap<String, SystemTime> {
    files
        .iter()
        .filter(|(k, _)| k.contains(actor))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[test]
fn noop_changed_file_added_file_and_new_config() {
    let t = TestDir::new();
    let data = t.path().join("data");
    let files = copy_clips(&data, &[1, 2], 6);
    let d = data.to_str().unwrap();
    ok(&t.ser(&["metadata", "--data", d]));
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("computed 2 of 2 shards (12 clips"), "{out}");
    assert_eq!(t.rows(None).len(), 24);
    let before = mtimes(&t);
    assert_eq!(before.len(), 4, "{before:?}");

    // Nothing changed: nothing computed, nothing written.
    let out = ok(&t.ser(&["features"]));
    assert!(
        out.contains("nothing to do, 2 shards up to date (12 clean + 12 noisy rows)"),
        "{out}"
    );
    assert_eq!(mtimes(&t), before);

    // One WAV of actor 1 changes: only actor 1's shard is rebuilt. Even
    // without re-running `ser metadata`, the change is noticed.
    write_tone(&files[0], 48000, 3.0, 220.0);
    let run = t.ser(&["features"]);
    let out = ok(&run);
    assert!(
        stderr(&run).contains("1 files changed since `ser metadata`"),
        "{}",
        stderr(&run)
    );
    assert!(out.contains("computed 1 of 2 shards (6 clips"), "{out}");
    let after = mtimes(&t);
    assert_eq!(
        with_actor(&after, "actor=02"),
        with_actor(&before, "actor=02"),
        "actor 2 untouched"
    );
    let rebuilt: Vec<String> = with_actor(&after, "actor=01")
        .into_keys()
        .filter(|k| !before.contains_key(k))
        .collect();
    assert_eq!(rebuilt.len(), 2, "actor 1 rebuilt: {after:?}");
    // The superseded parts stay while a kept manifest version lists them
    // (a reader falling back to that version finds them); they go when the
    // last version listing them is pruned.
    assert_eq!(after.len(), 6, "superseded parts kept: {after:?}");
    let listed = t.store().latest_manifest().unwrap();
    assert_eq!(listed.part_paths().len(), 4);
    assert!(rebuilt
        .iter()
        .all(|p| listed.part_paths().contains(p.as_str())));
    let rows = t.rows(None);
    assert_eq!(rows.len(), 24);
    let stem = files[0].file_stem().unwrap().to_str().unwrap();
    let fp = store::fingerprint::file_sha256(&files[0]).unwrap();
    assert!(rows
        .iter()
        .filter(|r| r.clip_id == stem)
        .all(|r| r.fingerprint == fp));

    // A new clip for actor 2: metadata picks it up, only actor 2 is rebuilt.
    let added = data.join("Actor_02/03-01-08-02-02-02-02.wav");
    std::fs::copy(&files[7], &added).unwrap();
    ok(&t.ser(&["metadata", "--data", d]));
    let before = mtimes(&t);
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("computed 1 of 2 shards (7 clips"), "{out}");
    assert_eq!(
        with_actor(&mtimes(&t), "actor=01"),
        with_actor(&before, "actor=01")
    );
    assert_eq!(t.rows(None).len(), 26);

    // A new config is a new set; the old set stays, intact.
    let old_sets: Vec<String> = t
        .store()
        .latest_manifest()
        .unwrap()
        .sets
        .keys()
        .cloned()
        .collect();
    assert_eq!(old_sets.len(), 1);
    let out = ok(&t.ser(&["features", "--n-mfcc", "20", "--sample-rate", "16000"]));
    assert!(out.contains("computed 2 of 2 shards"), "{out}");
    let m = t.store().latest_manifest().unwrap();
    assert_eq!(m.sets.len(), 2);
    let new_set = m.sets.keys().find(|k| **k != old_sets[0]).unwrap().clone();
    let new_rows = t.rows(Some(&new_set));
    assert_eq!(new_rows.len(), 26);
    assert!(new_rows
        .iter()
        .all(|r| r.n_mfcc == 20 && r.sample_rate == 16000));
    assert_eq!(t.rows(Some(&old_sets[0])).len(), 26);
    let cfg = t
        .store_path()
        .join(format!("features/set={new_set}/config.json"));
    let saved: pipeline::features::FeatureConfig =
        serde_json::from_slice(&std::fs::read(cfg).unwrap()).unwrap();
    assert_eq!(saved.id(), new_set, "config.json hashes to its set id");
    // And the default set is still current.
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn shard_workers_fill_one_store_side_by_side() {
    let t = TestDir::new();
    let data = t.path().join("data");
    copy_clips(&data, &[1, 2, 3], 4);
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    let mut a = t.cmd(&["features", "--shard", "1/2"]).spawn().unwrap();
    let mut b = t.cmd(&["features", "--shard", "2/2"]).spawn().unwrap();
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(t.rows(None).len(), 24);
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("nothing to do, 3 shards up to date"), "{out}");
}

#[test]
fn removed_actor_drops_its_shard() {
    let t = TestDir::new();
    let data = t.path().join("data");
    copy_clips(&data, &[1, 2], 3);
    let d = data.to_str().unwrap();
    ok(&t.ser(&["metadata", "--data", d]));
    ok(&t.ser(&["features"]));
    std::fs::remove_dir_all(Path::new(&data).join("Actor_02")).unwrap();
    ok(&t.ser(&["metadata", "--data", d]));
    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("1 stale shards removed"), "{out}");
    assert_eq!(t.rows(None).len(), 6);
    // Actor 2's parts stay while an older kept manifest version lists them.
    let m = t.store().latest_manifest().unwrap();
    assert_eq!(m.part_paths().len(), 2);
    assert_eq!(t.part_files().len(), 4);
}
