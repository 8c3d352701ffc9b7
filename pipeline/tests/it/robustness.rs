//! `ser robustness`: each fold's model on its own test clips under
//! recording conditions; `clean` reproduces the run's own test scores.

use pipeline::robustness::{parse_conditions, run_robustness, RobustnessConfig};
use store::runs::RobustnessRow;
use store::TableRow;

use crate::util::*;

/// Per-fold accuracy of the run's clean test copies, then their mean, from
/// its `predictions.parquet` (what training measured).
fn trained_clean_accuracy(t: &TestDir, run: &str) -> Vec<(Option<i64>, f64)> {
    let df = store::table::read_frame(&t.store().run_dir(run).join("predictions.parquet")).unwrap();
    let fold: Vec<i64> = df
        .column("fold")
        .unwrap()
        .i32()
        .unwrap()
        .into_no_null_iter()
        .map(i64::from)
        .collect();
    let variant: Vec<String> = df
        .column("variant")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect();
    let correct: Vec<bool> = df
        .column("correct")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    let mut folds: Vec<i64> = fold.clone();
    folds.sort_unstable();
    folds.dedup();
    let acc = |k: i64| {
        let hits: Vec<bool> = (0..fold.len())
            .filter(|&i| variant[i] == "clean" && fold[i] == k)
            .map(|i| correct[i])
            .collect();
        hits.iter().filter(|&&c| c).count() as f64 / hits.len() as f64
    };
    let per_fold: Vec<(Option<i64>, f64)> = folds.iter().map(|&k| (Some(k), acc(k))).collect();
    let mean = per_fold.iter().map(|f| f.1).sum::<f64>() / per_fold.len() as f64;
    per_fold.into_iter().chain([(None, mean)]).collect()
}

#[test]
fn clean_reproduces_training_and_conditions_are_scored_per_fold_and_averaged() {
    let t = demo_store(4);
    let out = ok(&t.ser(&[
        "train", "--model", "si-cnn", "--labels", "emotion8", "--split", "speakers", "--folds",
        "2", "--epochs", "3",
    ]));
    let run = run_name(&out);
    let cfg = RobustnessConfig {
        conditions: parse_conditions(
            "clean,level:-60,white:5,babble:10,reverb:0.6,mulaw,speed:1.1",
        )
        .unwrap(),
        seed: 3,
    };
    let r = run_robustness(&t.store(), &run, &cfg, false).unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.split, "speakers");
    // 2 folds + their mean, 7 conditions each.
    assert_eq!(r.rows.len(), 3 * 7);
    // As recorded, each fold's model gives exactly what training measured
    // on the same clips (the same feature path, window and statistics).
    for (fold, acc) in trained_clean_accuracy(&t, &run) {
        let clean = r
            .rows
            .iter()
            .find(|row| row.condition == "clean" && row.fold.map(i64::from) == fold)
            .unwrap();
        assert!(
            (clean.accuracy - acc).abs() < 1e-9,
            "fold {fold:?}: {} vs {acc}",
            clean.accuracy
        );
        assert_eq!(clean.uar_drop, 0.0);
    }
    for row in &r.rows {
        assert!((0.0..=1.0).contains(&row.uar), "{row:?}");
        let clean = r
            .rows
            .iter()
            .find(|c| c.condition == "clean" && c.fold == row.fold)
            .unwrap();
        assert!(
            (row.uar_drop - (clean.uar - row.uar)).abs() < 1e-12,
            "{row:?}"
        );
        assert_eq!(row.clips, clean.clips);
    }
    let all_clips = r.rows.iter().find(|row| row.fold.is_none()).unwrap().clips;
    assert_eq!(all_clips, 4 * 60, "every clip tested once (its clean copy)");
    // The table and the figure are written, and the table reads back.
    let table = t.store().run_dir(&run).join(RobustnessRow::FILE);
    assert!(r.written.contains(&table));
    let df = store::table::read_frame(&table).unwrap();
    assert_eq!(df.height(), r.rows.len());
    let png = std::fs::read(t.store().run_dir(&run).join("figures/robustness.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // Seeded: the same measurement again gives the same rows.
    let again = run_robustness(&t.store(), &run, &cfg, false).unwrap();
    assert_eq!(again.rows, r.rows);
}

#[test]
fn the_command_prints_the_fold_means_and_refuses_unknown_conditions() {
    let (t, run) = trained_store(&[
        "--split", "speakers", "--folds", "2", "--labels", "emotion8",
    ]);
    let out = ok(&t.ser(&[
        "robustness",
        "--run",
        &run,
        "--conditions",
        "clean,level:-20,speed:0.9",
    ]));
    assert!(
        out.contains("speakers split") && out.contains("mean over 2 folds"),
        "{out}"
    );
    for cond in ["clean", "level:-20", "speed:0.9"] {
        assert!(out.lines().any(|l| l.starts_with(cond)), "{cond}: {out}");
    }
    assert!(
        out.contains("robustness.parquet") && out.contains("robustness.png"),
        "{out}"
    );
    let q = ok(&t.ser(&[
        "query",
        "--csv",
        "select condition, fold from robustness where fold is null",
    ]));
    assert_eq!(q.lines().count(), 1 + 3, "{q}");
    let bad = t.ser(&["robustness", "--run", &run, "--conditions", "clean,loud"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("unknown condition `loud`"),
        "{}",
        stderr(&bad)
    );
}
