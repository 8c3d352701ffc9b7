//! Label sets resolved from the data: a manifest's own emotions give a
//! model of that many classes, and a cross-corpus run one class per
//! emotion both sides share.

use std::path::{Path, PathBuf};

use crate::util::*;

/// A manifest corpus over the demo clips of `actors` keeping only the
/// emotions named in `keep` (speaker `spk-<actor>`, gender by actor).
fn manifest_of(t: &TestDir, demo: &Path, actors: &[u32], keep: &[&str]) -> PathBuf {
    let root = t.path().join("manifest-corpus");
    std::fs::create_dir_all(root.join("audio")).unwrap();
    let mut csv = String::from("path,emotion,speaker,gender\n");
    for &actor in actors {
        let dir = demo.join(format!("Actor_{actor:02}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_stem().unwrap().to_str().unwrap();
            let code: usize = name.split('-').nth(2).unwrap().parse().unwrap();
            let emotion = models::labels::EMOTIONS[code - 1];
            if !keep.contains(&emotion) {
                continue;
            }
            let rel = format!("audio/{actor}-{name}.wav");
            std::fs::copy(&f, root.join(&rel)).unwrap();
            let gender = if actor % 2 == 1 { "m" } else { "f" };
            csv.push_str(&format!("{rel},{emotion},spk-{actor},{gender}\n"));
        }
    }
    let manifest = root.join("manifest.csv");
    std::fs::write(&manifest, csv).unwrap();
    manifest
}

/// The run's `config.json` and the shape of its first fold's head.
fn classes_and_head(t: &TestDir, run: &str) -> (Vec<String>, Vec<usize>) {
    let dir = t.store().run_dir(run);
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let classes = cfg["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let head = models::zoo::read_tensors(&bytes)
        .unwrap()
        .into_iter()
        .find(|w| w.name.ends_with("dense2.weight"))
        .expect("a head");
    (classes, head.shape)
}

#[test]
fn a_manifest_with_four_emotions_trains_a_four_class_model_and_predicts_with_it() {
    let t = TestDir::new();
    let demo = t.path().join("demo");
    ok(&t.ser(&["synth", "--out", demo.to_str().unwrap(), "--actors", "4"]));
    let four = ["neutral", "happy", "sad", "angry"];
    let manifest = manifest_of(&t, &demo, &[1, 2, 3, 4], &four);
    let csv = format!("csv:{}", manifest.display());
    let root = manifest.parent().unwrap().to_str().unwrap();
    ok(&t.ser(&["metadata", "--data", root, "--corpus", &csv]));
    ok(&t.ser(&["features"]));
    let out = ok(&t.ser(&[
        "train", "--model", "cnn-lstm", "--labels", "emotions", "--split", "speakers", "--folds",
        "2", "--epochs", "2", "--window", "32",
    ]));
    let run = run_name(&out);
    assert!(run.starts_with("cnn-lstm-emotions-speakers-"), "{run}");
    let (classes, head) = classes_and_head(&t, &run);
    assert_eq!(classes, four, "one class per emotion of the manifest");
    assert_eq!(head, vec![4, 48], "a four-class head");
    // Predict with it: four probabilities named by the manifest's emotions.
    let clip = std::fs::read_dir(manifest.parent().unwrap().join("audio"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = ok(&t.ser(&["predict", "--run", &run, "--json", clip.to_str().unwrap()]));
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let probs = class_columns(&line);
    let mut names: Vec<&str> = probs.keys().map(String::as_str).collect();
    names.sort();
    let mut want = four.to_vec();
    want.sort();
    assert_eq!(names, want, "{line}");
    let sum: f64 = probs.values().map(|v| v.unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{line}");
    assert!(four.contains(&line["label"].as_str().unwrap()), "{line}");
    // A list keeps its own order, and leaves out the rest.
    let out = ok(&t.ser(&[
        "train",
        "--model",
        "lstm",
        "--labels",
        "angry,neutral",
        "--split",
        "speakers",
        "--folds",
        "2",
        "--epochs",
        "1",
        "--window",
        "32",
    ]));
    let (classes, head) = classes_and_head(&t, &run_name(&out));
    assert_eq!(classes, ["angry", "neutral"]);
    assert_eq!(head, vec![2, 48]);
    // An unknown name is refused, saying what is accepted.
    let out = t.ser(&["train", "--model", "lstm", "--labels", "angry,grumpy"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown emotion `grumpy`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cross_corpus_run_with_six_shared_emotions_has_a_six_class_head() {
    let t = TestDir::new();
    let demo = t.path().join("demo");
    ok(&t.ser(&["synth", "--out", demo.to_str().unwrap(), "--actors", "4"]));
    // The manifest corpus has six of RAVDESS's eight emotions.
    let six = ["neutral", "happy", "sad", "angry", "fearful", "disgust"];
    let manifest = manifest_of(&t, &demo, &[3, 4], &six);
    let ravdess = t.path().join("ravdess-part");
    std::fs::create_dir_all(&ravdess).unwrap();
    for a in ["Actor_01", "Actor_02"] {
        std::fs::rename(demo.join(a), ravdess.join(a)).unwrap();
    }
    let csv = format!("csv:{}", manifest.display());
    let root = manifest.parent().unwrap().to_str().unwrap();
    ok(&t.ser(&[
        "metadata",
        "--data",
        ravdess.to_str().unwrap(),
        "--data",
        root,
        "--corpus",
        "ravdess",
        "--corpus",
        &csv,
    ]));
    ok(&t.ser(&["features"]));
    let out = ok(&t.ser(&[
        "train",
        "--model",
        "lstm",
        "--labels",
        "emotions",
        "--train-on",
        "manifest",
        "--test-on",
        "ravdess",
        "--epochs",
        "1",
        "--window",
        "32",
    ]));
    let (classes, head) = classes_and_head(&t, &run_name(&out));
    assert_eq!(classes, six, "{out}");
    assert_eq!(head, vec![6, 48]);
}
