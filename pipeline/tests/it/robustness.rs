//! `ser robustness`: each fold's model on its own test clips under
//! recording conditions; `clean` reproduces the run's own test scores.

use pipeline::robustness::{parse_conditions, run_robustness, RobustnessConfig, RobustnessReport};
use store::runs::{RobustnessClassRow, RobustnessRow};
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

/// A run's `config.json`.
fn config_of(t: &TestDir, run: &str) -> serde_json::Value {
    let path = t.store().run_dir(run).join("config.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A run's class names, in its model's output order.
fn run_classes(t: &TestDir, run: &str) -> Vec<String> {
    config_of(t, run)["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// A run's test probabilities as written, for comparing runs.
fn probabilities(t: &TestDir, run: &str) -> String {
    let df = store::table::read_frame(&t.store().run_dir(run).join("predictions.parquet")).unwrap();
    format!("{:?}", df.column("probabilities").unwrap())
}

/// Asserts that `rows`' `clean` condition scores each fold's saved model
/// (loaded as `ser predict` loads it) exactly as training scored it.
fn assert_clean_as_trained(t: &TestDir, run: &str, rows: &[RobustnessRow]) {
    for (fold, acc) in trained_clean_accuracy(t, run) {
        let clean = rows
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
}

/// Asserts that runs `a` and `b` saved the same weights (what changed
/// between them trains nothing).
fn assert_same_weights(t: &TestDir, a: &str, b: &str) {
    let weights = |run: &str| {
        let bytes = std::fs::read(t.store().run_dir(run).join("model.safetensors")).unwrap();
        models::zoo::read_tensors(&bytes).unwrap()
    };
    let (a, b) = (weights(a), weights(b));
    assert!(!a.is_empty() && a.len() == b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert!(
            x.shape == y.shape && x.data == y.data,
            "it trains nothing: {} differs",
            x.name
        );
    }
}

/// `ser robustness`'s rows for `run` under `conditions` (seed 3).
fn robustness_rows(t: &TestDir, run: &str, conditions: &str) -> Vec<RobustnessRow> {
    let cfg = RobustnessConfig {
        conditions: parse_conditions(conditions).unwrap(),
        seed: 3,
    };
    run_robustness(&t.store(), run, &cfg, false).unwrap().rows
}

/// `ser train` of a two-fold si-cnn on 8 emotions, on `variants`.
fn si_cnn_args(variants: &'static str) -> Vec<&'static str> {
    vec![
        "train",
        "--model",
        "si-cnn",
        "--labels",
        "emotion8",
        "--split",
        "speakers",
        "--folds",
        "2",
        "--train-variants",
        variants,
    ]
}

/// si-cnn on two speaker folds of `t`'s clean and noisy copies, with
/// `extra` flags; the run's name.
fn train_si_cnn(t: &TestDir, extra: &[&str]) -> String {
    let mut args = si_cnn_args("clean,noisy");
    args.extend(extra);
    run_name(&ok(&t.ser(&args)))
}

#[test]
fn clean_reproduces_training_and_conditions_are_scored_per_fold_and_averaged() {
    let t = demo_store(4);
    let run = train_si_cnn(&t, &["--epochs", "3"]);
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
    assert_clean_as_trained(&t, &run, &r.rows);
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
    assert_classes_agree_with_accuracy(&t, &run, &r);
    // Seeded: the same measurement again gives the same rows.
    let again = run_robustness(&t.store(), &run, &cfg, false).unwrap();
    assert_eq!(again.rows, r.rows);
    assert_eq!(again.classes, r.classes);
}

/// The per-class rows of `r`: a row per condition and class in the run's
/// class order, written and read back; under each condition the answers
/// add up to every clip and the recalls, weighted by the classes' clips,
/// to the folds' accuracy; and `clean`'s recall and answer shares are
/// those of the run's own clean test predictions (what training wrote).
fn assert_classes_agree_with_accuracy(t: &TestDir, run: &str, r: &RobustnessReport) {
    let classes = run_classes(t, run);
    assert_eq!(classes.len(), 8);
    let all = r.rows.iter().find(|x| x.fold.is_none()).unwrap().clips;
    let conditions: Vec<&str> = r
        .rows
        .iter()
        .filter(|x| x.fold.is_none())
        .map(|x| x.condition.as_str())
        .collect();
    assert_eq!(r.classes.len(), conditions.len() * classes.len());
    for cond in &conditions {
        let of: Vec<&RobustnessClassRow> =
            r.classes.iter().filter(|c| c.condition == *cond).collect();
        let names: Vec<&String> = of.iter().map(|c| &c.class).collect();
        assert_eq!(names, classes.iter().collect::<Vec<_>>(), "{cond}");
        assert_eq!(of.iter().map(|c| c.clips).sum::<i64>(), all, "{cond}");
        let said: f64 = of.iter().map(|c| c.answered).sum();
        assert!((said - 1.0).abs() < 1e-9, "{cond}: shares add to {said}");
        let pooled: f64 = of
            .iter()
            .map(|c| c.recall.unwrap_or(0.0) * c.clips as f64)
            .sum::<f64>()
            / all as f64;
        let acc: f64 = r
            .rows
            .iter()
            .filter(|x| x.fold.is_some() && x.condition == *cond)
            .map(|x| x.accuracy * x.clips as f64)
            .sum::<f64>()
            / all as f64;
        assert!(
            (pooled - acc).abs() < 1e-9,
            "{cond}: {pooled} against {acc}"
        );
    }
    let df = store::table::read_frame(&t.store().run_dir(run).join("predictions.parquet")).unwrap();
    let text = |name: &str| -> Vec<String> {
        let c = df.column(name).unwrap().str().unwrap().clone();
        c.iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let (variant, actual, predicted) = (text("variant"), text("actual"), text("predicted"));
    let clean: Vec<usize> = (0..variant.len())
        .filter(|&i| variant[i] == "clean")
        .collect();
    assert_eq!(clean.len() as i64, all);
    for row in r.classes.iter().filter(|c| c.condition == "clean") {
        let of_class = clean.iter().filter(|&&i| actual[i] == row.class);
        let right = of_class
            .clone()
            .filter(|&&i| predicted[i] == row.class)
            .count();
        let said = clean.iter().filter(|&&i| predicted[i] == row.class).count();
        assert_eq!(row.clips, of_class.count() as i64, "{}", row.class);
        let recall = row.recall.expect("every class has clean test clips");
        assert!(
            (recall - right as f64 / row.clips as f64).abs() < 1e-12,
            "{row:?}"
        );
        assert!(
            (row.answered - said as f64 / all as f64).abs() < 1e-12,
            "{row:?}"
        );
    }
    let table = t.store().run_dir(run).join(RobustnessClassRow::FILE);
    assert!(r.written.contains(&table));
    let back = store::table::read_frame(&table).unwrap();
    assert_eq!(back.height(), r.classes.len());
    let names: Vec<String> = back
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "run",
            "condition",
            "class",
            "clips",
            "recall",
            "answered",
            "seed"
        ]
    );
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
        out.contains("robustness.parquet")
            && out.contains("robustness_classes.parquet")
            && out.contains("robustness.png"),
        "{out}"
    );
    // Each condition's line names the class answered most often, its share
    // and how many of the clips are that class.
    let classes = run_classes(&t, &run);
    assert!(out.contains("most often said"), "{out}");
    for cond in ["clean", "level:-20", "speed:0.9"] {
        let line = out.lines().find(|l| l.starts_with(cond)).unwrap();
        let said = line.split("  ").last().unwrap().trim();
        // What `robustness_classes` holds for the condition, in the run's
        // class order: the first class answered most often.
        let csv = ok(&t.ser(&[
            "query",
            "--csv",
            &format!(
                "select class, answered, clips from robustness_classes where condition = '{cond}'"
            ),
        ]));
        let rows: Vec<(String, f64, f64)> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[0].to_string(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                )
            })
            .collect();
        let names: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        assert_eq!(names, classes.iter().collect::<Vec<_>>(), "{csv}");
        let all: f64 = rows.iter().map(|r| r.2).sum();
        let top = rows
            .iter()
            .fold(&rows[0], |b, r| if r.1 > b.1 { r } else { b });
        let want = format!(
            "{} {:.0}% (is {:.0}%)",
            top.0,
            100.0 * top.1,
            100.0 * top.2 / all
        );
        assert_eq!(said, want, "{line}");
    }
    let q = ok(&t.ser(&[
        "query",
        "--csv",
        "select condition, fold from robustness where fold is null",
    ]));
    assert_eq!(q.lines().count(), 1 + 3, "{q}");
    // The run's hash alone names it too.
    let hash = run.rsplit('-').next().unwrap();
    let by_hash = ok(&t.ser(&["robustness", "--run", hash, "--conditions", "clean"]));
    assert!(by_hash.contains(&run), "{by_hash}");
    let bad = t.ser(&["robustness", "--run", &run, "--conditions", "clean,loud"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("unknown condition `loud`"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn training_copies_are_stored_as_variants_and_trained_on_when_asked() {
    let t = demo_store(2);
    // The default set has no copies: asking for one says how to make it.
    let out = t.ser(&[
        "train",
        "--model",
        "lstm",
        "--epochs",
        "1",
        "--train-variants",
        "clean,aug1",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no `aug1` rows") && stderr(&out).contains("--augment"),
        "{}",
        stderr(&out)
    );
    // si-cnn trains on two copies by default: without them it says so.
    let si_cnn = [
        "train", "--model", "si-cnn", "--epochs", "1", "--window", "64",
    ];
    let out = t.ser(&si_cnn);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no `aug1` rows")
            && stderr(&out).contains("si-cnn trains on clean,noisy,aug1,aug2"),
        "{}",
        stderr(&out)
    );
    let out = ok(&t.ser(&["features", "--augment", "2"]));
    assert!(
        out.contains("120 aug1 + 120 aug2 + 120 clean + 120 noisy rows"),
        "{out}"
    );
    let sets = t.store().latest_manifest().unwrap().sets;
    assert_eq!(sets.len(), 2, "a new set; the default one kept");
    let set = sets
        .keys()
        .find(|k| sets[*k].shards.values().any(|s| s.parts.len() == 4))
        .unwrap()
        .clone();
    // Copies differ from the clip and from each other, and are seeded.
    let rows = t.rows(Some(&set));
    let of = |v: &str| {
        rows.iter()
            .find(|r| r.clip_id == rows[0].clip_id && r.variant == v)
            .unwrap()
            .mfcc
            .clone()
    };
    assert_ne!(of("aug1"), of("clean"));
    assert_ne!(of("aug1"), of("aug2"));
    let again = TestDir::new();
    let data = t.path().join("data");
    ok(&again.ser(&["metadata", "--data", data.to_str().unwrap()]));
    ok(&again.ser(&["features", "--augment", "2"]));
    let rows2 = again.rows(Some(&set));
    let of2 = |v: &str| {
        rows2
            .iter()
            .find(|r| r.clip_id == rows[0].clip_id && r.variant == v)
            .unwrap()
            .mfcc
            .clone()
    };
    assert_eq!(of("aug2"), of2("aug2"), "the same copy on another store");
    // Training on them: twice the training examples of the same split on
    // the default set; tested on the clean and noisy copies only.
    let n = |run: &str, col: &str| -> i64 {
        let df = store::table::read_frame(&t.store().run_dir(run).join("summary.parquet")).unwrap();
        let c = df
            .column(col)
            .unwrap()
            .cast(&polars::prelude::DataType::Int64)
            .unwrap();
        c.i64().unwrap().get(0).unwrap()
    };
    let plain = run_name(&ok(&t.ser(&["train", "--model", "lstm", "--epochs", "1"])));
    let out = ok(&t.ser(&[
        "train",
        "--model",
        "lstm",
        "--epochs",
        "1",
        "--set",
        &set,
        "--train-variants",
        "clean,noisy,aug1,aug2",
    ]));
    let run = run_name(&out);
    assert_eq!(n(&run, "n_train"), 2 * n(&plain, "n_train"));
    assert_eq!(n(&run, "n_test"), n(&plain, "n_test"));
    // Of two sets, the paper's models pick the default one (above: `plain`
    // trained on it) and si-cnn the one that holds its copies, unasked.
    assert_ne!(config_of(&t, &plain)["feature_set"], serde_json::json!(set));
    let si = run_name(&ok(&t.ser(&si_cnn)));
    assert_eq!(config_of(&t, &si)["feature_set"], serde_json::json!(set));
    assert_eq!(
        config_of(&t, &si)["train"]["train_variants"],
        serde_json::json!(["clean", "noisy", "aug1", "aug2"])
    );
    assert_eq!(n(&si, "n_train"), n(&run, "n_train"));
}

#[test]
fn a_seed_ensemble_is_scored_as_it_predicts_and_differs_from_one_model() {
    let t = demo_store(4);
    let train = |members: &str| {
        train_si_cnn(
            &t,
            &["--epochs", "2", "--window", "64", "--members", members],
        )
    };
    let (one, two) = (train("1"), train("2"));
    assert_ne!(one, two, "members are part of the run");
    // The loaded ensemble (each fold's two members, averaged) answers as
    // training scored it.
    assert_clean_as_trained(&t, &two, &robustness_rows(&t, &two, "clean"));
    assert_ne!(
        probabilities(&t, &one),
        probabilities(&t, &two),
        "the second member changes the answers"
    );
    let weights = std::fs::read(t.store().run_dir(&two).join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
    let names = String::from_utf8_lossy(&weights[8..8 + n]).to_string();
    assert!(
        names.contains("fold1/m1/") && names.contains("fold2/m1/"),
        "both folds hold a second member"
    );
}

#[test]
fn a_model_trained_with_every_feature_step_is_saved_as_it_scored() {
    let t = demo_store(4);
    let base = ["--epochs", "3", "--window", "64"];
    // si-cnn averages, warps, mixes talkers in and puts microphones on by
    // default: the plain run asks for none of it (nor for attention).
    let none = [
        "--swa",
        "0",
        "--warp",
        "0",
        "--gain",
        "0",
        "--talkers",
        "0",
        "--reverb",
        "0",
        "--mic",
        "0",
        "--attention",
        "0",
    ];
    let plain = train_si_cnn(&t, &[&base[..], &none].concat());
    let all = [
        "--swa",
        "0.5",
        "--warp",
        "1",
        "--warp-range",
        "0.15",
        "--gain",
        "20",
        "--gain-share",
        "0.5",
        "--talkers",
        "1",
        "--talkers-louder",
        "5",
        "--reverb",
        "0.5",
        "--mic",
        "1",
        "--tilt",
        "4",
        "--attention",
        "8",
    ];
    let avg = train_si_cnn(&t, &[&base[..], &all].concat());
    assert_ne!(
        plain, avg,
        "swa, warp, gain, talkers, reverb, mic and attention are part of the run"
    );
    let recipe = &config_of(&t, &avg)["optimisation"];
    assert_eq!(
        (
            recipe["swa"].as_f64(),
            recipe["warp"].as_f64(),
            recipe["warp_range"].as_f64(),
            recipe["gain"].as_f64(),
            recipe["gain_share"].as_f64(),
            recipe["talkers"].as_f64(),
            recipe["talkers_louder"].as_f64(),
            recipe["reverb"].as_f64(),
            recipe["mic"].as_f64(),
            recipe["tilt"].as_f64(),
            recipe["attention"].as_u64()
        ),
        (
            Some(0.5),
            Some(1.0),
            Some(0.15),
            Some(20.0),
            Some(0.5),
            Some(1.0),
            Some(5.0),
            Some(0.5),
            Some(1.0),
            Some(4.0),
            Some(8)
        ),
        "{recipe}"
    );
    let plain_recipe = &config_of(&t, &plain)["optimisation"];
    for step in [
        "swa",
        "warp",
        "warp_range",
        "gain",
        "gain_share",
        "talkers",
        "reverb",
        "mic",
        "tilt",
        "attention",
    ] {
        assert!(plain_recipe.get(step).is_none(), "{step}: {plain_recipe}");
    }
    // The saved weights are the averaged ones (attention's too), with the
    // batch-norm statistics training scored with.
    assert_clean_as_trained(&t, &avg, &robustness_rows(&t, &avg, "clean"));
    assert_ne!(probabilities(&t, &plain), probabilities(&t, &avg));
}

#[test]
fn other_voices_remake_the_training_copies_and_need_the_clips_files() {
    let t = demo_store(4);
    ok(&t.ser(&["features", "--augment", "1"]));
    let base = [
        si_cnn_args("clean,aug1"),
        vec!["--epochs", "2", "--window", "64"],
    ]
    .concat();
    let args = |extra: &[&'static str]| [&base[..], extra].concat();
    let plain = run_name(&ok(&t.ser(&args(&[]))));
    let voiced = run_name(&ok(&t.ser(&args(&["--voices", "1"]))));
    assert_ne!(plain, voiced, "voices are part of the run");
    assert_eq!(
        config_of(&t, &voiced)["optimisation"]["voices"].as_f64(),
        Some(1.0)
    );
    assert!(config_of(&t, &plain)["optimisation"]
        .get("voices")
        .is_none());
    assert_ne!(
        probabilities(&t, &plain),
        probabilities(&t, &voiced),
        "the copies trained on were remade"
    );
    // Without the clips' files it says which file and why, and the runs
    // already in the store stay as they were. A run with nothing left to
    // train reads no audio: it is there as it was.
    let before = probabilities(&t, &voiced);
    std::fs::rename(t.path().join("data"), t.path().join("moved")).unwrap();
    assert_eq!(run_name(&ok(&t.ser(&args(&["--voices", "1"])))), voiced);
    let out = t.ser(&args(&["--voices", "0.5"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(".wav") && err.contains("--voices"), "{err}");
    assert_eq!(probabilities(&t, &voiced), before);
}

#[test]
fn a_microphones_tilt_is_part_of_the_run_and_changes_what_it_learns() {
    let t = demo_store(4);
    let base = ["--epochs", "2", "--window", "64", "--mic", "1"];
    let flat = train_si_cnn(&t, &[&base[..], &["--tilt", "0"]].concat());
    let tilted = train_si_cnn(&t, &[&base[..], &["--tilt", "6"]].concat());
    assert_ne!(flat, tilted, "the tilt is part of the run");
    assert_eq!(
        config_of(&t, &tilted)["optimisation"]["tilt"].as_f64(),
        Some(6.0)
    );
    assert!(config_of(&t, &flat)["optimisation"].get("tilt").is_none());
    // The same seed, the same high-passes: only the slopes drawn on top
    // of them differ, and the model learns something else.
    assert_ne!(probabilities(&t, &flat), probabilities(&t, &tilted));
    let rows = robustness_rows(&t, &tilted, "clean,tilt:3");
    assert!(rows.iter().any(|r| r.condition == "tilt:3" && r.clips > 0));
    assert_clean_as_trained(&t, &tilted, &rows);
}

#[test]
fn the_test_crop_changes_the_answers_not_the_training() {
    let t = demo_store(4);
    // A window of 40 frames keeps 13 before the speech, fewer than the
    // demo clips have (15 to 28): the speech crop moves their windows.
    let speech = train_si_cnn(&t, &["--epochs", "2", "--window", "40"]);
    let start = train_si_cnn(
        &t,
        &["--epochs", "2", "--window", "40", "--test-crop", "start"],
    );
    assert_ne!(speech, start, "the test crop is part of the run");
    assert_same_weights(&t, &speech, &start);
    assert_ne!(
        probabilities(&t, &speech),
        probabilities(&t, &start),
        "the same model answers from other frames"
    );
    let test_crop = |run: &str| config_of(&t, run)["optimisation"]["test_crop"].clone();
    assert_eq!(test_crop(&speech), "speech", "the recipe's");
    assert_eq!(test_crop(&start), "start");
    // Each run's clean test clips score in `ser robustness` as in training
    // (the test crop frames both), and the clips with their quiet before
    // the speech cut or lengthened are all scored.
    for run in [&speech, &start] {
        let rows = robustness_rows(&t, run, "clean,lead:0,lead:2.5");
        assert_clean_as_trained(&t, run, &rows);
        let mean = |c: &str| rows.iter().find(|r| r.condition == c && r.fold.is_none());
        for c in ["lead:0", "lead:2.5"] {
            assert_eq!(mean(c).unwrap().clips, mean("clean").unwrap().clips, "{c}");
        }
    }
}

#[test]
fn the_test_time_warp_changes_the_answers_not_the_training() {
    use pipeline::features::clean_mfcc_of;
    use pipeline::train::Predictor;

    let t = demo_store(4);
    let warped = train_si_cnn(&t, &["--epochs", "2"]);
    let plain = train_si_cnn(&t, &["--epochs", "2", "--test-warp", "0"]);
    assert_ne!(warped, plain, "the test-time warp is part of the run");
    let dir = |run: &str| t.store().run_dir(run);
    assert_same_weights(&t, &warped, &plain);
    // Each run's clean test clips score in `ser robustness` as in training.
    for run in [&warped, &plain] {
        assert_clean_as_trained(&t, run, &robustness_rows(&t, run, "clean"));
    }
    // The warped run answers with the mean of the plain model's answers for
    // the clip as it is and warped by 0.9 and 1.1 (raw coefficients times
    // each factor's matrix, which the plain run standardises itself).
    let (w, p) = (
        Predictor::load(&dir(&warped)).unwrap(),
        Predictor::load(&dir(&plain)).unwrap(),
    );
    let heard = w.test_warp(0).expect("the recipe's test-time warp");
    assert_eq!(heard.factors(), &[0.9, 1.1]);
    assert!(p.test_warp(0).is_none());
    let y: Vec<f32> = (0..33_075)
        .map(|i| {
            let s = i as f32 / 22_050.0;
            0.2 * (2.0 * std::f32::consts::PI * (140.0 + 60.0 * s) * s).sin()
                * (1.0 + (7.0 * s).sin())
        })
        .collect();
    let (frames, c) = clean_mfcc_of(&y, 22_050, &w.config.features).unwrap();
    let fold = Some(w.folds()[0]);
    let mut want = p.predict_mfcc(frames, &c, fold).unwrap();
    for m in heard.row_matrices() {
        let cw: Vec<f32> = c
            .chunks_exact(40)
            .flat_map(|row| (0..40).map(move |k| (0..40).map(|j| row[j] * m[j * 40 + k]).sum()))
            .collect();
        let q = p.predict_mfcc(frames, &cw, fold).unwrap();
        want.iter_mut().zip(&q).for_each(|(a, b)| *a += b);
    }
    want.iter_mut().for_each(|a| *a /= 3.0);
    let got = w.predict_mfcc(frames, &c, fold).unwrap();
    let alone = p.predict_mfcc(frames, &c, fold).unwrap();
    let most = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    assert!(most(&got, &want) < 1e-5, "{got:?} vs {want:?}");
    assert!(
        most(&got, &alone) > 1e-4,
        "the warped versions count: {got:?}"
    );
}
