//! `ser export --onnx`: onnxruntime (PyPI, run by `python3`) on the
//! exported graph gives `ser`'s probabilities for real clips' MFCCs to
//! 1e-4, through the three crops, an odd window, a temperature of 1 and two
//! others, with and without the test-time warp, the seed ensemble `ser
//! model build` makes and one model, padding and batching; models the
//! graph cannot express are
//! refused naming the file. Needs `onnxruntime` (`make test-deps`): the
//! test fails, not skips, without it.

use std::path::{Path, PathBuf};

use models::{ModelKind, NamedTensor};
use pipeline::features::clean_mfcc_of;
use pipeline::model_file::{card_of, write_model_file, ModelCard};
use pipeline::output::OutputFile;
use pipeline::train::fold::member_prefix;
use pipeline::train::{Crop, Norm, Predictor};

use crate::model_file::built;
use crate::util::*;

/// Largest |onnxruntime - ser| allowed on any probability.
const TOLERANCE: f32 = 1e-4;

/// One clip's raw MFCCs.
struct Clip {
    name: String,
    frames: usize,
    mfcc: Vec<f32>, // [frames, 40]
}

impl Clip {
    /// `quiet` frames 45 dB below its loudest (c0 is `sqrt(128)` times a
    /// frame's mean log-mel level), then its frames, `frames` in all: a
    /// recording with more quiet before the speech.
    fn after_quiet(&self, quiet: usize, frames: usize) -> Clip {
        let loudest = self.mfcc.chunks(40).map(|f| f[0]).fold(f32::MIN, f32::max);
        let mut hush = [0f32; 40];
        hush[0] = loudest - 45.0 * 128f32.sqrt();
        let mut mfcc: Vec<f32> = hush.repeat(quiet);
        mfcc.extend_from_slice(&self.mfcc[..(frames - quiet) * 40]);
        Clip {
            name: format!(
                "{} ({quiet} quiet frames first, {frames} in all)",
                self.name
            ),
            frames,
            mfcc,
        }
    }

    /// Its first `n` frames.
    fn first(&self, n: usize) -> Clip {
        Clip {
            name: format!("{} (first {n} frames)", self.name),
            frames: n,
            mfcc: self.mfcc[..n * 40].to_vec(),
        }
    }
}

/// Clean MFCCs of a few real clips (the RAVDESS subset when `shared/` has
/// it, else the demo corpus the model was built on) through the model's
/// feature path, and cuts of two of them shorter than and as long as
/// `window`, two of the same length (one batch for onnxruntime).
fn clips(card: &ModelCard, demo: &Path) -> Vec<Clip> {
    let (dir, actors) = match ravdess("onnx_export_matches_ser") {
        Some(r) => (r, ["Actor_01", "Actor_04", "Actor_07", "Actor_08"]),
        None => (
            demo.to_path_buf(),
            ["Actor_01", "Actor_01", "Actor_02", "Actor_02"],
        ),
    };
    let mut out = Vec::new();
    for (i, actor) in actors.iter().enumerate() {
        let mut files = files_under(&dir.join(actor));
        files.retain(|p| p.extension().is_some_and(|e| e == "wav"));
        files.sort();
        let path = &files[(7 * i + 3) % files.len()];
        let audio = pipeline::audio::read_audio(path).unwrap();
        let (frames, mfcc) =
            clean_mfcc_of(&audio.samples, audio.info.sample_rate, &card.run.features).unwrap();
        out.push(Clip {
            name: path.display().to_string(),
            frames,
            mfcc,
        });
    }
    let window = card.run.window;
    assert!(
        out.iter().all(|c| c.frames > window + 10),
        "clips longer than the window"
    );
    let cuts = [
        out[0].first(5),
        out[0].first(window - 1),
        out[1].first(window - 1),
        out[2].first(window),
        out[3].first(window + 1),
        // One batch whose clips' speech starts at different frames.
        out[1].after_quiet(30, 2 * window),
        out[2].after_quiet(70, 2 * window),
    ];
    out.extend(cuts);
    out
}

/// onnxruntime's probabilities of each clip under the ONNX model `onnx`.
fn onnxruntime(onnx: &Path, clips: &[Clip], dir: &Path) -> Vec<Vec<f32>> {
    let mut args = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_probabilities.py"),
        onnx.to_path_buf(),
    ];
    for (i, c) in clips.iter().enumerate() {
        let p = dir.join(format!("clip{i}.f32"));
        let bytes: Vec<u8> = c.mfcc.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&p, bytes).unwrap();
        args.push(p);
    }
    let out = std::process::Command::new("python3")
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        out.status.success(),
        "onnxruntime failed (`pip install -r requirements-test.txt` installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

/// `c`'s run answering with `crop` (its test crop).
fn answering_with(c: &mut ModelCard, crop: Crop) {
    let mut r = c.run.resolved();
    r.test_crop = Some(crop);
    c.run.optimisation = Some(r);
}

/// A copy of the model file at `file` with its card changed by `edit`.
fn with_card(file: &Path, out: PathBuf, edit: impl FnOnce(&mut ModelCard)) -> PathBuf {
    with_card_and_tensors(file, out, edit, |_| ())
}

/// As [`with_card`], with the tensors changed by `more`.
fn with_card_and_tensors(
    file: &Path,
    out: PathBuf,
    edit: impl FnOnce(&mut ModelCard),
    more: impl FnOnce(&mut Vec<NamedTensor>),
) -> PathBuf {
    let bytes = std::fs::read(file).unwrap();
    let mut card = card_of(file, &bytes).unwrap();
    edit(&mut card);
    let mut tensors = models::zoo::read_tensors(&bytes).unwrap();
    more(&mut tensors);
    write_model_file(
        &OutputFile::check(&out, &[], true).unwrap(),
        &card,
        &tensors,
    )
    .unwrap();
    out
}

#[test]
fn the_speech_crop_answers_alike_however_much_quiet_comes_first() {
    let (t, file) = built();
    let card = card_of(file, &std::fs::read(file).unwrap()).unwrap();
    let dir = TestDir::new();
    let clips = clips(&card, &t.path().join("data"));
    let answers = |crop: Crop| {
        let model = with_card(file, dir.path().join(format!("{crop}.ser")), |c| {
            answering_with(c, crop)
        });
        let ser = Predictor::from_model_file(&model).unwrap();
        // The same clip after 40, 60 and 90 frames of quiet.
        [40, 60, 90]
            .map(|quiet| {
                let c = clips[0].after_quiet(quiet, quiet + 2 * card.run.window);
                ser.predict_mfcc(c.frames, &c.mfcc, None).unwrap()
            })
            .to_vec()
    };
    let speech = answers(Crop::Speech);
    assert_eq!(speech[0], speech[1]);
    assert_eq!(speech[1], speech[2]);
    let start = answers(Crop::Start);
    assert_ne!(start[0], start[2], "the first frames move with the quiet");
}

#[test]
fn onnx_export_matches_ser_probabilities_on_real_clips() {
    let (t, file) = built();
    let card = card_of(file, &std::fs::read(file).unwrap()).unwrap();
    let dir = TestDir::new();
    let clips = clips(&card, &t.path().join("data"));
    // As built (a seed ensemble of three, answering with crop speech,
    // window 64, its fitted temperature); crop centre, an odd window and
    // no temperature; crop start and another odd window; a
    // sharpening temperature; attentive pooling; and one model.
    assert_eq!(card.run.answer_crop(), Crop::Speech, "the recipe's");
    let centre = with_card(file, dir.path().join("centre.ser"), |c| {
        answering_with(c, Crop::Centre);
        c.run.window = 67;
        c.temperature = 1.0;
    });
    let start = with_card(file, dir.path().join("start.ser"), |c| {
        answering_with(c, Crop::Start);
        c.run.window = 73;
    });
    let sharp = with_card(file, dir.path().join("sharp.ser"), |c| {
        c.run.window = 71;
        c.temperature = 0.4;
    });
    // si-cnn answers with the mean over a clip as it is and warped (a
    // test-time warp, in the graph too); without it, the clip alone.
    assert!(
        card.run.resolved().test_warp > 0.0,
        "the recipe's test-time warp"
    );
    let unwarped = with_card(file, dir.path().join("unwarped.ser"), |c| {
        let mut r = c.run.resolved();
        r.test_warp = 0.0;
        c.run.optimisation = Some(r);
    });
    // si-cnn pools every frame alike; with `--attention H` it weighs
    // them: the same weights and 8 attention units of fixed values.
    assert_eq!(card.run.resolved().attention, 0, "statistics pooling");
    let members = card.run.resolved().members;
    assert_eq!(members, 3, "ser model build's seed ensemble");
    let fold = card.run.folds[0];
    let attentive = with_card_and_tensors(
        file,
        dir.path().join("attentive.ser"),
        |c| {
            let mut r = c.run.resolved();
            r.attention = 8;
            c.run.optimisation = Some(r);
        },
        |t| {
            let wave = |n: usize, k: f32| (0..n).map(|i| (i as f32 * k).sin() * 0.3).collect();
            for (name, shape, k) in [
                ("pool.weight", vec![8, 128], 0.37),
                ("pool.bias", vec![8], 1.3),
                ("pool.score", vec![8], 2.1),
            ] {
                // Each member its own (fold1/, fold1/m1/, fold1/m2/).
                for j in 0..members {
                    t.push(NamedTensor {
                        name: format!("{}{name}", member_prefix(fold, j)),
                        data: wave(shape.iter().product(), k * (1.0 + j as f32)),
                        shape: shape.clone(),
                    });
                }
            }
        },
    );
    // One model: the file's first member alone (`--members 1`), whose
    // answers are not the ensemble's.
    let one = with_card(file, dir.path().join("one.ser"), |c| {
        let mut r = c.run.resolved();
        r.members = 1;
        c.run.optimisation = Some(r);
    });
    let answer = |f: &Path| {
        Predictor::from_model_file(f)
            .unwrap()
            .predict_mfcc(clips[0].frames, &clips[0].mfcc, None)
            .unwrap()
    };
    let (three, first) = (answer(file), answer(&one));
    assert!(
        three.iter().zip(&first).any(|(x, y)| (x - y).abs() > 1e-3),
        "the other members change the answers: {three:?} {first:?}"
    );
    let mut worst = 0f32;
    for model in [file.clone(), centre, start, sharp, unwarped, attentive, one] {
        let onnx = model.with_extension("onnx");
        let out = ok(&t.ser(&[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--onnx",
            onnx.to_str().unwrap(),
        ]));
        assert!(out.contains("output `probabilities`: [batch, 8]"), "{out}");
        let ser = Predictor::from_model_file(&model).unwrap();
        let got = onnxruntime(&onnx, &clips, dir.path());
        let mut spread = 0f32;
        for (c, p) in clips.iter().zip(&got) {
            let want = ser.predict_mfcc(c.frames, &c.mfcc, None).unwrap();
            assert_eq!(p.len(), want.len());
            let diff = p
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                diff <= TOLERANCE,
                "{}: {}: onnxruntime {p:?}, ser {want:?} (|diff| {diff:e})",
                model.display(),
                c.name
            );
            worst = worst.max(diff);
            spread = spread.max(want.iter().cloned().fold(0f32, f32::max) - 1.0 / 8.0);
        }
        assert!(
            spread > 0.01,
            "{}: probabilities not all uniform",
            model.display()
        );
    }
    println!(
        "onnx parity: {} clips x 7 models, max |diff| {worst:e}",
        clips.len()
    );
}

#[test]
fn onnx_export_refuses_what_it_cannot_express_naming_the_file() {
    let (t, file) = built();
    let dir = TestDir::new();
    let export = |model: &Path| {
        t.ser(&[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--onnx",
            dir.path().join("out.onnx").to_str().unwrap(),
        ])
    };
    let cnn = with_card(file, dir.path().join("cnn.ser"), |c| {
        c.run.train.model = ModelKind::Cnn
    });
    let clip = with_card(file, dir.path().join("clip.ser"), |c| {
        let mut r = c.run.resolved();
        r.norm = Norm::Clip;
        c.run.optimisation = Some(r);
    });
    let folds = with_card(file, dir.path().join("folds.ser"), |c| {
        c.run.folds = vec![1, 2]
    });
    for (model, why) in [
        (&cnn, "only si-cnn"),
        (&clip, "only `norm train`"),
        (&folds, "the models of 2 folds"),
    ] {
        let out = export(model);
        assert_eq!(out.status.code(), Some(1), "{}", model.display());
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{}: cannot export to ONNX", model.display()))
                && err.contains(why),
            "{err}"
        );
    }
    assert!(!dir.path().join("out.onnx").exists(), "nothing written");
    // Not a model file; the model itself as the output; an existing output.
    let not_model = dir.path().join("x.ser");
    std::fs::write(&not_model, b"not a model").unwrap();
    assert!(stderr(&export(&not_model)).contains("not a ser model file"));
    let same = t.ser(&[
        "export",
        "--model",
        file.to_str().unwrap(),
        "--onnx",
        file.to_str().unwrap(),
    ]);
    assert!(
        stderr(&same).contains("it is an input"),
        "{}",
        stderr(&same)
    );
    ok(&export(file));
    assert!(stderr(&export(file)).contains("--force"));
}
