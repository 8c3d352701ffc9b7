//! `ser train` when training goes wrong: a run whose weights blow up stops
//! with a message naming the fold and epoch and keeps nothing unreadable;
//! a fold an older `ser` kept with `"loss": null` (JSON's spelling of NaN)
//! is ignored with a warning instead of blocking the run for good.

use std::path::{Path, PathBuf};

use store::table::read_frame;

use crate::util::{demo_store, files_under, ok, run_name, stderr, TestDir};

/// A run that diverges within bounds any flag validator allows: decoupled
/// weight decay multiplies every weight by `1 - lr * wd = -8` each step,
/// so after a few dozen steps (batches of 4) the weights overflow.
const DIVERGING: [&str; 16] = [
    "train",
    "--model",
    "lstm",
    "--epochs",
    "3",
    "--window",
    "16",
    "--batch-size",
    "4",
    "--lr",
    "10",
    "--schedule",
    "constant",
    "--weight-decay",
    "0.9",
    "--labels=emotion8",
];

#[test]
fn regression_diverged_run_stops_with_the_fold_epoch_and_advice_and_keeps_nothing() {
    let t = demo_store(2);
    for attempt in 0..2 {
        let out = t.ser(&DIVERGING);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "attempt {attempt}: {err}");
        for want in ["diverged", "fold 1", "epoch ", "try a lower --lr"] {
            assert!(err.contains(want), "attempt {attempt}: `{want}` in {err}");
        }
        assert!(!err.contains("expected f64"), "attempt {attempt}: {err}");
        assert!(!err.contains("panicked"), "attempt {attempt}: {err}");
        // Nothing published, no fold kept, no staging folder left.
        let store = t.store();
        assert_eq!(store.runs().unwrap(), Vec::<String>::new());
        let left: Vec<PathBuf> = files_under(&store.runs_dir())
            .into_iter()
            .filter(|p| !p.ends_with("COLLECT.lock"))
            .collect();
        assert!(left.is_empty(), "attempt {attempt}: left {left:?}");
    }
    // Collecting says what is missing, not "expected f64".
    let out = t.ser(&[&DIVERGING[..], &["--collect"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("folds 1 are missing"),
        "{}",
        stderr(&out)
    );
}

/// Two speaker folds, trained quickly.
const TWO_FOLDS: [&str; 12] = [
    "train",
    "--model",
    "lstm",
    "--split",
    "actors",
    "--folds",
    "2",
    "--epochs",
    "1",
    "--window",
    "16",
    "--labels=emotion8",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    [&TWO_FOLDS[..], extra].concat()
}

/// Rewrites the first `"loss": <number>` of a kept fold as `"loss": null`,
/// what `ser` before this fix wrote for a NaN loss.
fn plant_null_loss(fold_json: &Path) {
    let text = std::fs::read_to_string(fold_json).unwrap();
    let at = text.find("\"loss\": ").expect("a loss in fold.json") + "\"loss\": ".len();
    let end = at + text[at..].find([',', '\n']).unwrap();
    let planted = format!("{}null{}", &text[..at], &text[end..]);
    std::fs::write(fold_json, planted).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn losses_are_finite(t: &TestDir, run: &str) {
    let h = read_frame(&t.store().run_dir(run).join("history.parquet")).unwrap();
    let loss = h.column("loss").unwrap().f64().unwrap().clone();
    assert!(!loss.is_empty());
    assert!(loss.iter().all(|v| v.is_some_and(f64::is_finite)), "{h}");
}

#[test]
fn regression_null_loss_leftover_blocks_neither_train_nor_force_nor_collect() {
    let t = demo_store(2);
    let out = ok(&t.ser(&with(&["--fold", "1"])));
    let run = run_name(&out).trim_end_matches(':').to_string();
    let fold1 = t.store().fold_dir(&run, 1);
    plant_null_loss(&fold1.join("fold.json"));
    let saved = t.path().join("bad-fold-1");
    copy_dir(&fold1, &saved);

    // The last worker trains its fold; the leftover counts as not trained.
    let out = t.ser(&with(&["--fold", "2"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("waiting for fold 1"),
        "{out:?}"
    );
    assert!(
        err.contains("warning")
            && err.contains(&format!("fold-1{}fold.json", std::path::MAIN_SEPARATOR)),
        "the warning names the file: {err}"
    );

    // Collecting names the missing fold.
    let out = t.ser(&with(&["--collect"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("folds 1 are missing"),
        "{}",
        stderr(&out)
    );

    // A plain re-run trains fold 1 again and publishes.
    let out = ok(&t.ser(&TWO_FOLDS));
    assert!(out.contains(&format!("run {run} ->")), "{out}");
    losses_are_finite(&t, &run);

    // The same leftover under a published run: --force with a fold, then without.
    copy_dir(&saved, &fold1);
    let out = t.ser(&with(&["--force", "--fold", "2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    let out = ok(&t.ser(&with(&["--force"])));
    assert!(out.contains(&format!("run {run} ->")), "{out}");
    losses_are_finite(&t, &run);
    assert!(t.store().folds_done(&run).unwrap().is_empty());
}
