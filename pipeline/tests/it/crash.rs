//! SIGKILL in the middle of `ser features` (480 synthetic clips, 8 actors):
//! the store stays readable, and a re-run finishes with exactly one row per
//! clip and variant.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use store::shard::read_shard;

use crate::util::{files_under, ok, synth_corpus, TestDir};

/// Every part the latest manifest lists is readable.
fn assert_readable(t: &TestDir) -> usize {
    let store = t.store();
    let m = store
        .latest_manifest()
        .expect("manifest readable after kill");
    let mut shards = 0;
    for set in m.sets.values() {
        for sh in set.shards.values() {
            shards += 1;
            for p in &sh.parts {
                let rows = read_shard(&store.resolve(&p.path)).expect("part readable after kill");
                assert_eq!(rows.len() as u64, p.rows);
            }
        }
    }
    shards
}

#[test]
fn sigkill_mid_run_leaves_a_readable_store_and_a_rerun_completes() {
    let t = TestDir::new();
    ok(&t.ser(&["metadata", "--data", synth_corpus().to_str().unwrap()]));
    let manifests = t.store_path().join("manifest");
    let mut partial = Vec::new();
    // Kill shortly after start (mid-computation, maybe mid-write), then
    // right after a commit lands.
    for kill_after in [Some(Duration::from_millis(150)), None] {
        let before = std::fs::read_dir(&manifests)
            .map(|d| d.count())
            .unwrap_or(0);
        let mut child = t
            .cmd(&["features", "--commit-every-ms", "0"])
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        loop {
            let committed = std::fs::read_dir(&manifests)
                .map(|d| d.count())
                .unwrap_or(0)
                > before;
            let due = match kill_after {
                Some(d) => t0.elapsed() >= d,
                None => committed,
            };
            if due {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "run finished before it could be killed"
            );
            assert!(t0.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        partial.push(assert_readable(&t));
    }
    assert!(
        partial.iter().all(|&n| n < 8),
        "each killed run was incomplete: {partial:?}"
    );

    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("480 clean + 480 noisy rows"), "{out}");
    let rows = t.rows(None);
    let keys: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.clip_id.clone(), r.variant.clone()))
        .collect();
    assert_eq!((rows.len(), keys.len()), (960, 960));
    // Nothing left behind: the files on disk are exactly the referenced ones.
    let m = t.store().latest_manifest().unwrap();
    let referenced: BTreeSet<String> = m.part_paths().into_iter().map(String::from).collect();
    assert_eq!(t.part_files(), referenced);
    let temps = files_under(&t.store_path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .count();
    assert_eq!(temps, 0);
}
