//! `ser train` and `ser predict` on a tiny synthetic store: every model
//! learns and writes the run files of the contract; splits keep speakers
//! and copies on one side; predict agrees with `predictions.parquet`.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use store::table::read_frame;

use crate::util::{class_columns, demo_store, ok, run_name, stderr, TestDir};

fn tiny_store() -> TestDir {
    demo_store(2)
}

fn frame(t: &TestDir, run: &str, file: &str) -> DataFrame {
    read_frame(&t.store().run_dir(run).join(file)).unwrap()
}

fn strs(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

fn f64s(df: &DataFrame, col: &str) -> Vec<f64> {
    let c = df.column(col).unwrap().cast(&DataType::Float64).unwrap();
    c.f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

fn i64s(df: &DataFrame, col: &str) -> Vec<Option<i64>> {
    let c = df.column(col).unwrap().cast(&DataType::Int64).unwrap();
    c.i64().unwrap().iter().collect()
}

fn assert_columns(df: &DataFrame, file: &str, want: &[&str]) {
    let have: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for w in want {
        assert!(have.iter().any(|h| h == w), "{file} lacks `{w}`: {have:?}");
    }
}

#[test]
fn each_model_learns_and_writes_every_run_file_with_the_contract_columns() {
    let t = tiny_store();
    // si-cnn trains on the training copies of `--augment 2` by default.
    ok(&t.ser(&["features", "--augment", "2"]));
    for model in ["cnn", "lstm", "cnn-lstm", "si-cnn"] {
        let args = [
            "train", "--model", model, "--epochs", "5", "--window", "32", "--labels", "emotion8",
        ];
        let out = ok(&t.ser(&args));
        let run = run_name(&out);
        assert!(
            run.starts_with(&format!("{model}-emotion8-random-")),
            "{run}"
        );
        let dir = t.store().run_dir(&run);
        for f in ["config.json", "model.safetensors"] {
            assert!(dir.join(f).is_file(), "{model}: {f} missing");
        }

        let h = frame(&t, &run, "history.parquet");
        assert_columns(
            &h,
            "history",
            &[
                "run", "fold", "epoch", "split", "loss", "accuracy", "uar", "seconds",
            ],
        );
        let (split, loss) = (strs(&h, "split"), f64s(&h, "loss"));
        let train: Vec<f64> = (0..h.height())
            .filter(|&i| split[i] == "train")
            .map(|i| loss[i])
            .collect();
        assert_eq!(train.len(), 5, "{model}: one train row per epoch");
        assert!(
            train[4] < train[0],
            "{model}: training loss did not fall: {train:?}"
        );
        assert_eq!(split.iter().filter(|s| *s == "test").count(), 5);

        let m = frame(&t, &run, "metrics.parquet");
        assert_columns(
            &m,
            "metrics",
            &[
                "run",
                "fold",
                "variant",
                "class",
                "precision",
                "recall",
                "f1",
                "support",
            ],
        );
        assert_eq!(
            m.height(),
            8 * 3 * 2,
            "8 classes x (all, clean, noisy) x (fold 1, pooled)"
        );
        let c = frame(&t, &run, "confusion.parquet");
        assert_columns(
            &c,
            "confusion",
            &["run", "fold", "variant", "actual", "predicted", "count"],
        );
        let p = frame(&t, &run, "predictions.parquet");
        assert_columns(
            &p,
            "predictions",
            &[
                "run",
                "fold",
                "clip_id",
                "variant",
                "actual",
                "predicted",
                "probabilities",
            ],
        );
        assert_eq!(p.height(), 30 * 2, "25 % of 120 clips, clean and noisy");
        let s = frame(&t, &run, "summary.parquet");
        assert_columns(
            &s,
            "summary",
            &[
                "run",
                "model",
                "labels",
                "split",
                "fold",
                "epochs",
                "train_accuracy",
                "test_accuracy",
                "test_uar",
                "test_macro_f1",
                "seconds",
                "test_accuracy_clean",
                "test_accuracy_noisy",
            ],
        );
        assert_eq!(
            i64s(&s, "fold"),
            vec![Some(1), None],
            "a fold row (folds count from 1) and the mean row"
        );
        let acc = f64s(&s, "test_accuracy")[0];
        let confusion_correct: i64 = (0..c.height())
            .filter(|&i| strs(&c, "actual")[i] == strs(&c, "predicted")[i])
            .filter(|&i| strs(&c, "variant")[i] == "all" && i64s(&c, "fold")[i] == Some(1))
            .map(|i| i64s(&c, "count")[i].unwrap())
            .sum();
        assert!(
            (acc - confusion_correct as f64 / 60.0).abs() < 1e-9,
            "summary agrees with confusion"
        );

        // Same config and data: reused; --force retrains.
        let again = ok(&t.ser(&args));
        assert!(again.contains("reused"), "{again}");
        assert_eq!(run_name(&again), run);
    }
    let forced = ok(&t.ser(&[
        "train", "--model", "lstm", "--epochs", "5", "--window", "32", "--labels", "emotion8",
        "--force",
    ]));
    assert!(!forced.contains("reused"), "{forced}");
    let other = ok(&t.ser(&[
        "train", "--model", "lstm", "--epochs", "4", "--window", "32", "--labels", "emotion8",
    ]));
    assert_ne!(
        run_name(&other),
        run_name(&forced),
        "a changed config is a new run"
    );
}

#[test]
fn splits_keep_speakers_and_each_clips_copies_on_one_side_and_training_is_deterministic() {
    let t = tiny_store();
    let args = [
        "train", "--model", "lstm", "--split", "actors", "--folds", "2", "--epochs", "2",
        "--window", "16",
    ];
    let run = run_name(&ok(&t.ser(&args)));
    let p = frame(&t, &run, "predictions.parquet");
    let (folds, actors, clips, variants) = (
        i64s(&p, "fold"),
        i64s(&p, "actor"),
        strs(&p, "clip_id"),
        strs(&p, "variant"),
    );
    let mut tested: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut copies: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
    for i in 0..p.height() {
        tested
            .entry(folds[i].unwrap())
            .or_default()
            .insert(actors[i].unwrap());
        copies
            .entry((folds[i].unwrap(), clips[i].clone()))
            .or_default()
            .insert(variants[i].clone());
    }
    assert_eq!(tested.len(), 2, "two folds");
    // Balanced groups place the woman first (genders in name order), each
    // fold numbered from 1.
    assert_eq!(tested[&1], BTreeSet::from([2]));
    assert_eq!(tested[&2], BTreeSet::from([1]));
    assert!(
        copies.values().all(|v| v.len() == 2),
        "every tested clip has both copies on the test side"
    );
    // Each fold trains on exactly the other actor's 60 clips x 2 copies.
    let s = frame(&t, &run, "summary.parquet");
    assert_eq!(i64s(&s, "n_train")[..2], [Some(120), Some(120)]);
    assert_eq!(i64s(&s, "n_test")[..2], [Some(120), Some(120)]);
    let cfg: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.store().run_dir(&run).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["test_actors"], serde_json::json!([[2], [1]]));
    assert_eq!(cfg["folds"], serde_json::json!([1, 2]));

    // Random split: a clip's two copies are tested together or not at all.
    let run = run_name(&ok(&t.ser(&[
        "train", "--model", "lstm", "--epochs", "1", "--window", "16",
    ])));
    let p = frame(&t, &run, "predictions.parquet");
    let mut per_clip: BTreeMap<String, usize> = BTreeMap::new();
    for c in strs(&p, "clip_id") {
        *per_clip.entry(c).or_default() += 1;
    }
    assert_eq!(per_clip.len(), 30);
    assert!(per_clip.values().all(|&n| n == 2));

    // Same seed, same numbers.
    let before = f64s(&frame(&t, &run, "history.parquet"), "loss");
    ok(&t.ser(&[
        "train", "--model", "lstm", "--epochs", "1", "--window", "16", "--force",
    ]));
    assert_eq!(before, f64s(&frame(&t, &run, "history.parquet"), "loss"));
}

#[test]
fn predict_gives_the_class_predictions_parquet_holds_and_skips_bad_files() {
    let t = tiny_store();
    // The default window (the clips' median length): each clip is one
    // window at prediction too, as in training (longer recordings are
    // answered over their windows, see model_file.rs).
    let run = run_name(&ok(
        &t.ser(&["train", "--model", "cnn-lstm", "--epochs", "3"])
    ));
    let p = frame(&t, &run, "predictions.parquet");
    let (clips, variants, predicted) = (
        strs(&p, "clip_id"),
        strs(&p, "variant"),
        strs(&p, "predicted"),
    );
    let probs = p.column("probabilities").unwrap().list().unwrap().clone();
    let meta = read_frame(&t.store().metadata_path()).unwrap();
    let paths: BTreeMap<String, String> = strs(&meta, "clip_id")
        .into_iter()
        .zip(strs(&meta, "path"))
        .collect();
    let cfg: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.store().run_dir(&run).join("config.json")).unwrap(),
    )
    .unwrap();
    let classes = cfg["classes"].as_array().unwrap().clone();
    let clean: Vec<usize> = (0..p.height())
        .filter(|&i| variants[i] == "clean")
        .take(6)
        .collect();
    let bad = t.path().join("not-audio.wav");
    std::fs::write(&bad, b"RIFF nonsense").unwrap();
    let mut args = vec![
        "predict".to_string(),
        "--run".into(),
        run[..12].to_string(),
        "--json".into(),
    ];
    args.extend(clean.iter().map(|&i| paths[&clips[i]].clone()));
    args.push(bad.to_string_lossy().into_owned());
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = t.ser(&arg_refs);
    assert_eq!(out.status.code(), Some(3), "a skipped file gives exit 3");
    assert!(stderr(&out).contains("not-audio.wav"), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), clean.len());
    for (line, &i) in lines.iter().zip(&clean) {
        assert_eq!(line["label"], predicted[i].as_str(), "{}", clips[i]);
        let want = probs.get_as_series(i).unwrap();
        let want = want.f32().unwrap();
        let got = class_columns(line);
        assert_eq!(got.len(), want.len());
        for (class, w) in classes.iter().zip(want.iter()) {
            let g = got[class.as_str().unwrap()].unwrap();
            assert!(
                (g - w.unwrap() as f64).abs() < 1e-5,
                "{class}: {g} vs {w:?}"
            );
        }
    }
    let missing = t.ser(&["predict", "--run", "nope", "x.wav"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no run `nope`"),
        "{}",
        stderr(&missing)
    );
}

/// Summary rows (fold, train accuracy, test accuracy, UAR) of a run.
fn scores(t: &TestDir, run: &str) -> Vec<(Option<i64>, f64, f64, f64)> {
    let s = frame(t, run, "summary.parquet");
    let (fold, tr, te, uar) = (
        i64s(&s, "fold"),
        f64s(&s, "train_accuracy"),
        f64s(&s, "test_accuracy"),
        f64s(&s, "test_uar"),
    );
    (0..s.height())
        .map(|i| (fold[i], tr[i], te[i], uar[i]))
        .collect()
}

#[test]
fn a_fold_array_publishes_the_same_run_as_one_shot() {
    let args = [
        "train", "--model", "lstm", "--split", "actors", "--folds", "2", "--epochs", "2",
        "--window", "16", "--labels", "emotion8",
    ];
    let one_shot = tiny_store();
    let run = run_name(&ok(&one_shot.ser(&args)));
    let want = scores(&one_shot, &run);
    assert_eq!(want.len(), 3, "two folds and the mean");

    let t = tiny_store();
    fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [args, extra].concat()
    }
    let out = ok(&t.ser(&with(&args, &["--fold", "1"])));
    assert!(out.contains("waiting for fold 2"), "{out}");
    assert!(!t.store().run_dir(&run).exists(), "no half-published run");
    assert_eq!(t.store().folds_done(&run).unwrap(), vec![1]);
    // Collecting with a fold missing is an error that names it.
    let out = t.ser(&with(&args, &["--collect"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("folds 2 are missing"),
        "{}",
        stderr(&out)
    );
    // Fold 1 again is not retrained; the last fold publishes the run.
    let out = ok(&t.ser(&with(&args, &["--fold", "1"])));
    assert!(out.contains("waiting for fold 2"), "{out}");
    let out = ok(&t.ser(&with(&args, &["--fold", "2"])));
    assert!(out.contains(&format!("run {run} ->")), "{out}");
    assert_eq!(scores(&t, &run), want, "same seed, same run");
    assert!(
        t.store().folds_done(&run).unwrap().is_empty(),
        "kept folds removed once published"
    );
    let out = ok(&t.ser(&with(&args, &["--collect"])));
    assert!(out.contains("reused"), "{out}");
}

/// The set id a `ser features` run printed (`features: set ID: …`).
fn set_id(out: &str) -> String {
    out.split("features: set ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no set id in {out}"))
        .to_string()
}

/// The feature set a run trained on, from its `config.json`.
fn run_set(t: &TestDir, run: &str) -> String {
    let path = t.store().run_dir(run).join("config.json");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    config["feature_set"].as_str().unwrap().to_string()
}

#[test]
fn regression_a_set_with_longer_rooms_beside_the_copies_leaves_si_cnn_on_the_plain_copies() {
    // Before, a second set holding aug1 and aug2 made `ser train --model
    // si-cnn` (and `ser reproduce`) stop with "several feature sets".
    let t = tiny_store();
    let plain = set_id(&ok(&t.ser(&["features", "--augment", "2"])));
    let longer = set_id(&ok(&t.ser(&[
        "features",
        "--augment",
        "2",
        "--longest-room",
        "1.2",
    ])));
    assert_ne!(plain, longer);
    let base = [
        "train", "--model", "si-cnn", "--epochs", "1", "--window", "32",
    ];
    let run = run_name(&ok(&t.ser(&base)));
    assert_eq!(run_set(&t, &run), plain);
    let asked = run_name(&ok(&t.ser(&[&base[..], &["--set", &longer]].concat())));
    assert_eq!(run_set(&t, &asked), longer);
}
