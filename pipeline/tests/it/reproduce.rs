//! `ser reproduce --quick` end to end on a small synthetic corpus: every
//! run trained and named in the report; a killed reproduce resumes
//! without retraining what it finished.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{files_under, ok, TestDir};

fn corpus(t: &TestDir) -> String {
    let data = t.path().join("data");
    ok(&t.ser(&["synth", "--out", data.to_str().unwrap(), "--actors", "2"]));
    data.to_str().unwrap().to_string()
}

fn runs(t: &TestDir) -> Vec<String> {
    t.store().runs().unwrap()
}

#[test]
fn quick_reproduce_trains_every_run_and_names_each_in_the_report() {
    let t = TestDir::new();
    let data = corpus(&t);
    let out = ok(&t.ser(&["reproduce", "--data", &data, "--quick"]));
    assert!(out.contains("reproduce: 7 runs"), "{out}");
    let report = std::fs::read_to_string(t.store_path().join("reports/paper/REPORT.md")).unwrap();
    let names = runs(&t);
    assert_eq!(
        names.len(),
        7,
        "three paper models x two protocols, and si-cnn: {names:?}"
    );
    for run in &names {
        assert!(report.contains(run.as_str()), "report lacks run {run}");
    }
    for section in [
        "The paper's protocol",
        "Speakers never heard",
        "Per-class scores",
        "How this differs",
        "Under recording conditions",
    ] {
        assert!(report.contains(section), "report lacks `{section}`");
    }
    // Every speaker-independent run is measured under the quick conditions.
    let table = report
        .split("Under recording conditions")
        .nth(1)
        .unwrap_or_default();
    for cond in [
        "| clean |",
        "| level:-20 |",
        "| babble:10 |",
        "| speed:1.1 |",
    ] {
        assert!(
            table.contains(cond),
            "robustness table lacks {cond}: {table}"
        );
    }
    let measured: Vec<&String> = names
        .iter()
        .filter(|r| t.store().run_dir(r).join("robustness.parquet").is_file())
        .collect();
    assert_eq!(
        measured.len(),
        4,
        "the four speaker-independent runs: {measured:?}"
    );
    assert!(
        measured.iter().all(|r| r.contains("-speakers-")),
        "{measured:?}"
    );
    // The command a reader can paste: `ser …`, not the local build path.
    assert!(
        report.contains("\n    ser -") && report.contains(" reproduce --data "),
        "report names the command as `ser …`"
    );
    assert!(
        report.contains("Quick mode"),
        "a quick report says it is not a result"
    );
    // Its figures exist next to it.
    for fig in [
        "history_cnn.png",
        "confusion_cnn.png",
        "waveform_clean_vs_noisy.png",
    ] {
        let p = t.store_path().join("reports/paper").join(fig);
        assert!(p.is_file(), "{} missing", p.display());
    }
    // Again: nothing is retrained.
    let out = ok(&t.ser(&["reproduce", "--quick"]));
    assert!(out.contains("(7 reused)"), "{out}");
}

#[test]
fn a_killed_reproduce_resumes_without_retraining_finished_runs() {
    let t = TestDir::new();
    let data = corpus(&t);
    let mut child = t
        .cmd(&[
            "reproduce",
            "--data",
            &data,
            "--quick",
            "--protocol",
            "speakers",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while runs(&t).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        assert!(t0.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, mid-way through the second run
    child.wait().unwrap();
    let finished = runs(&t);
    let stamp = |run: &str| {
        std::fs::metadata(t.store().run_dir(run).join("summary.parquet"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before: Vec<_> = finished.iter().map(|r| stamp(r)).collect();
    let out = ok(&t.ser(&["reproduce", "--quick", "--protocol", "speakers"]));
    assert!(
        out.contains(&format!("({} reused)", finished.len())),
        "{out}"
    );
    let after: Vec<_> = finished.iter().map(|r| stamp(r)).collect();
    assert_eq!(before, after, "finished runs were not rewritten");
    assert_eq!(runs(&t).len(), 4);
    let leftovers = files_under(&t.store_path().join("runs"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-") || p.to_string_lossy().contains(".folds"))
        .count();
    assert_eq!(leftovers, 0, "no staging left once every run is published");
}
