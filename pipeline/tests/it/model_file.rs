//! `ser model build` / `show`, `ser predict --model` with no store, one
//! answer per recording (long files, no speech) and `--min-confidence`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::*;

/// A model file built once for these tests: si-cnn on a 2-actor demo
/// corpus, 15 epochs of 64-frame windows (a check of the machinery, not a
/// model), a seed ensemble of three as `ser model build` makes by default,
/// with the folder that holds its data.
pub fn built() -> &'static (TestDir, PathBuf) {
    static MODEL: OnceLock<(TestDir, PathBuf)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let t = TestDir::new();
        let data = t.path().join("data");
        ok(&t.ser(&["synth", "--out", data.to_str().unwrap(), "--actors", "2"]));
        let file = t.path().join("demo.ser");
        let out = ok(&t.ser(&[
            "model",
            "build",
            "--data",
            data.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
            "--epochs",
            "15",
            "--window",
            "64",
        ]));
        assert!(out.contains("estimate   UAR"), "{out}");
        (t, file)
    })
}

/// `ser ARGS` (no `--store`) run in an empty folder.
fn ser_in_empty(args: &[&str]) -> (TestDir, std::process::Output) {
    let empty = TestDir::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ser"))
        .args(args)
        .current_dir(empty.path())
        .output()
        .unwrap();
    (empty, out)
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn a_clip(data: &Path) -> PathBuf {
    let mut clips = files_under(&data.join("Actor_01"));
    clips.sort();
    clips
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .unwrap()
}

#[test]
fn a_model_file_classifies_in_an_empty_folder_and_shows_its_card() {
    let (t, file) = built();
    let card = ok(&t.ser(&["model", "show", file.to_str().unwrap()]));
    for want in [
        "classes    neutral, calm",
        "2 speaker folds",
        "confidence temperature",
        "answers    the mean over each clip as it is and warped by 0.9 and 1.1",
        "members    a seed ensemble of 3 models, the mean of their probabilities",
        "licence    ",
        // It answers from the speech (si-cnn's test crop), which a `ser`
        // reading format 1 would not: format 2.
        "window     from 21 frames before each clip's first frame within 25 dB",
        "model format 2",
    ] {
        assert!(card.contains(want), "`{want}` in\n{card}");
    }
    let clip = a_clip(&t.path().join("data"));
    let (empty, out) = ser_in_empty(&[
        "predict",
        "--model",
        file.to_str().unwrap(),
        "--json",
        clip.to_str().unwrap(),
    ]);
    let lines = json_lines(&ok(&out));
    assert_eq!(lines.len(), 1);
    let p = &lines[0];
    assert_eq!(class_columns(p).len(), 8);
    let sum: f64 = class_columns(p).values().map(|v| v.unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    assert!(!empty.path().join("ser-store").exists(), "no store made");
    // Not a model file: a clear error naming it.
    let (_, bad) = ser_in_empty(&[
        "predict",
        "--model",
        clip.to_str().unwrap(),
        clip.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("not a ser model file"),
        "{}",
        stderr(&bad)
    );
    // --run and --model are one or the other.
    let (_, both) = ser_in_empty(&["predict", "--model", "x", "--run", "y", "z.wav"]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn a_long_recording_gets_the_label_of_its_speech_and_silence_says_no_speech() {
    let (t, file) = built();
    let clip = a_clip(&t.path().join("data"));
    let audio = pipeline::audio::read_audio(&clip).unwrap();
    let rate = audio.info.sample_rate;
    // Five minutes: 8 s of silence, then the clip every 20 s.
    let mut long = vec![0f32; 300 * rate as usize];
    let mut at = 8 * rate as usize;
    while at + audio.samples.len() < long.len() {
        long[at..at + audio.samples.len()].copy_from_slice(&audio.samples);
        at += 20 * rate as usize;
    }
    let as_i16 = |y: &[f32]| -> Vec<i16> { y.iter().map(|v| (v * 32767.0) as i16).collect() };
    let long_path = t.path().join("long.wav");
    pipeline::audio::write_wav_i16(&long_path, &as_i16(&long), rate, 1).unwrap();
    let silent = t.path().join("silent.wav");
    pipeline::audio::write_wav_i16(&silent, &vec![0i16; 3 * rate as usize], rate, 1).unwrap();
    let out = ok(&t.ser(&[
        "predict",
        "--model",
        file.to_str().unwrap(),
        "--json",
        clip.to_str().unwrap(),
        long_path.to_str().unwrap(),
        silent.to_str().unwrap(),
    ]));
    let lines = json_lines(&out);
    let label = |i: usize| lines[i]["label"].as_str().unwrap().to_string();
    assert_ne!(label(0), "no speech");
    assert_eq!(
        label(1),
        label(0),
        "the long file answers from its speech: {out}"
    );
    assert_eq!(label(2), "no speech");
    assert!(lines[2]["confidence"].is_null());
    // The first window of the long file is silence: answering from it alone
    // (as before) would not be an emotion of the clip.
    let table = ok(&t.ser(&[
        "predict",
        "--model",
        file.to_str().unwrap(),
        silent.to_str().unwrap(),
    ]));
    assert!(table.contains("no speech"), "{table}");
}

#[test]
fn min_confidence_marks_unsure_answers_uncertain() {
    let (t, file) = built();
    let clip = a_clip(&t.path().join("data"));
    let run = |p: &str| -> serde_json::Value {
        let out = ok(&t.ser(&[
            "predict",
            "--model",
            file.to_str().unwrap(),
            "--json",
            "--min-confidence",
            p,
            clip.to_str().unwrap(),
        ]));
        json_lines(&out).remove(0)
    };
    let sure = run("0");
    assert_ne!(sure["label"], "uncertain");
    let top = sure["confidence"].as_f64().unwrap();
    assert!(top < 1.0);
    let unsure = run("1");
    assert_eq!(unsure["label"], "uncertain", "{unsure}");
    assert_eq!(
        unsure["confidence"].as_f64().unwrap(),
        top,
        "the numbers stay"
    );
}

#[test]
fn ravdess_quiet_neutral_and_calm_clips_hold_speech() {
    let Some(data) = ravdess("quiet RAVDESS clips are speech") else {
        return;
    };
    let mut checked = 0;
    for clip in files_under(&data) {
        let name = clip.file_name().unwrap().to_string_lossy().to_string();
        // Modality-channel-emotion: 01 neutral, 02 calm.
        if !(name.starts_with("03-01-01-") || name.starts_with("03-01-02-")) {
            continue;
        }
        let a = pipeline::audio::read_audio(&clip).unwrap();
        let s = pipeline::speech::speech_seconds(
            &a.samples,
            a.info.sample_rate,
            pipeline::speech::FLOOR_DB,
        );
        assert!(s >= 0.5, "{}: {s} s of speech", clip.display());
        checked += 1;
    }
    assert_eq!(checked, 8 * 12, "8 actors x (4 neutral + 8 calm)");
}

#[test]
fn regression_silence_db_is_the_floor_of_speech_for_whole_recordings_too() {
    // It used to reach only timelines: a whole file ignored it.
    let (t, file) = built();
    let clip = a_clip(&t.path().join("data"));
    let at = |floor: &str| -> serde_json::Value {
        let out = ok(&t.ser(&[
            "predict",
            "--model",
            file.to_str().unwrap(),
            "--json",
            "--silence-db",
            floor,
            clip.to_str().unwrap(),
        ]));
        json_lines(&out).remove(0)
    };
    assert_ne!(at("-65")["label"], "no speech");
    let none = at("0");
    assert_eq!(none["label"], "no speech", "{none}");
    assert_eq!(none["speech_s"], 0.0, "{none}");
}

#[test]
fn regression_predictions_stay_queryable_after_a_model_build() {
    // The every-clip run has no test side: its empty predictions table
    // once had a `null` probabilities column, and stacking it with a
    // speaker run's failed every query over `predictions`.
    let (t, _) = built();
    let out = ok(&t.ser(&[
        "query",
        "select run, count(*) as n from predictions group by run order by run",
    ]));
    assert!(out.contains("-speakers-"), "{out}");
    let runs = std::fs::read_dir(t.store().runs_dir()).unwrap();
    let all: Vec<String> = runs
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("-all-"))
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    let schema = store::table::read_frame(&t.store().run_dir(&all[0]).join("predictions.parquet"))
        .unwrap()
        .schema()
        .get("probabilities")
        .cloned();
    assert_eq!(
        schema,
        Some(polars::prelude::DataType::List(Box::new(
            polars::prelude::DataType::Float32
        ))),
        "an empty table keeps its column types"
    );
}
