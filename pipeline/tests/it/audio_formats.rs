//! The audio people have: the same speech as WAV, FLAC and 44.1 kHz stereo
//! WAV gives the same prediction; MP3, Ogg/Vorbis and AAC the same class
//! and features within codec noise;
//! long recordings become a timeline with silent segments marked; live PCM
//! on standard input gives the labels the file gives; broken inputs are one
//! line each. Speech comes from espeak-ng and the encodings from ffmpeg
//! (both Debian packages, installed by `.ci/run`; see the README).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{class_columns, ok, stderr, trained_store, write_tone, TestDir};

/// Runs a tool the tests need; a missing tool is a clear failure.
fn tool(name: &str, args: &[&str]) {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("{name} is needed by this test ({e}): apt-get install espeak-ng ffmpeg")
    });
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dir/speech-44k-mono.wav`: espeak-ng speech resampled to 44.1 kHz, 16-bit.
fn speech(dir: &Path) -> PathBuf {
    let raw = dir.join("speech-espeak-22k.wav");
    tool(
        "espeak-ng",
        &[
            "-w",
            raw.to_str().unwrap(),
            "Kids are talking by the door. Dogs are sitting by the door.",
        ],
    );
    encode(
        &raw,
        &dir.join("speech-44k-mono.wav"),
        &["-ar", "44100", "-ac", "1", "-c:a", "pcm_s16le"],
    )
}

/// `ffmpeg -i src EXTRA… out`: `out`.
fn encode(src: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["-y", "-loglevel", "error", "-i", src.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(out.to_str().unwrap());
    tool("ffmpeg", &args);
    out.to_path_buf()
}

/// A store with a quickly trained run over a small synthetic corpus.
fn trained() -> (TestDir, String) {
    trained_store(&["--labels", "emotion8"])
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn probabilities(v: &serde_json::Value) -> Vec<f64> {
    class_columns(v).values().map(|x| x.unwrap()).collect()
}

#[test]
fn every_format_gives_the_prediction_of_the_wav() {
    let (t, run) = trained();
    let dir = t.path();
    let wav = speech(dir);
    let files = [
        wav.clone(),
        encode(&wav, &dir.join("speech-44k-mono.flac"), &[]),
        // Both channels the mono signal (ffmpeg's plain upmix lowers the level).
        encode(
            &wav,
            &dir.join("speech-44k-stereo.wav"),
            &["-af", "pan=stereo|c0=c0|c1=c0", "-c:a", "pcm_s16le"],
        ),
        encode(&wav, &dir.join("speech.mp3"), &[]),
        encode(&wav, &dir.join("speech.ogg"), &["-c:a", "libvorbis"]),
        encode(&wav, &dir.join("speech.m4a"), &["-c:a", "aac"]),
    ];
    let args: Vec<&str> = ["predict", "--run", run.as_str(), "--json"]
        .into_iter()
        .chain(files.iter().map(|f| f.to_str().unwrap()))
        .collect();
    let rows = json_lines(&ok(&t.ser(&args)));
    assert_eq!(rows.len(), 6);
    let reference = probabilities(&rows[0]);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["label"], rows[0]["label"], "{}", files[i].display());
        // Lossless: the same samples, so the same numbers; lossy: close.
        let tol = if i < 3 { 1e-3 } else { 0.05 };
        for (a, b) in probabilities(row).iter().zip(&reference) {
            assert!((a - b).abs() < tol, "{}: {a} vs {b}", files[i].display());
        }
    }
    // A class from a model trained for 2 epochs says little: the features
    // a lossy file gives must be the WAV's, up to codec noise and delay.
    let cfg = pipeline::features::FeatureConfig::default();
    let (n, want) = pipeline::features::clean_mfcc(&wav, &cfg).unwrap();
    for f in &files[3..] {
        let (m, got) = pipeline::features::clean_mfcc(f, &cfg).unwrap();
        assert!(
            n.abs_diff(m) <= 3,
            "{}: {m} frames, the WAV {n}",
            f.display()
        );
        // Codecs move them by under 0.05 (mean) and 0.19 (most) of a
        // coefficient's spread; half the gain moves c0 by 0.49, a 9 % rate
        // error by 0.40 and 2.2, dropping 5 % of the audio 9 frames.
        let (mean, most) = mean_shift(&want, &got);
        assert!(
            mean < 0.1 && most < 0.35,
            "{}: MFCC means moved by {mean:.3} (most {most:.3}) of their spread",
            f.display()
        );
    }
}

/// How far the per-coefficient means of MFCCs `b` are from those of `a`
/// (both `[frames, 40]`), each in units of the coefficient's standard
/// deviation over `a`'s frames: the mean over coefficients and the most.
/// Means over time do not see codec delay; a changed gain, rate or
/// spectrum moves them.
fn mean_shift(a: &[f32], b: &[f32]) -> (f64, f64) {
    const K: usize = 40;
    let (fa, fb) = (a.len() / K, b.len() / K);
    let mean =
        |x: &[f32], f: usize, c: usize| (0..f).map(|t| x[t * K + c] as f64).sum::<f64>() / f as f64;
    let shifts: Vec<f64> = (0..K)
        .map(|c| {
            let m = mean(a, fa, c);
            let var = (0..fa)
                .map(|t| (a[t * K + c] as f64 - m).powi(2))
                .sum::<f64>()
                / fa as f64;
            (mean(b, fb, c) - m).abs() / var.sqrt().max(1e-9)
        })
        .collect();
    let most = shifts.iter().copied().fold(0.0, f64::max);
    (shifts.iter().sum::<f64>() / K as f64, most)
}

#[test]
fn a_ten_minute_recording_is_a_timeline_with_silences_marked() {
    let (t, run) = trained();
    // 300 blocks of 2 s at 16 kHz: a tone, or silence every third block.
    let rate = 16000;
    let block = 2 * rate as usize;
    let tone_path = t.path().join("tone.wav");
    write_tone(&tone_path, rate, 2.0, 220.0);
    let tone = pipeline::audio::read_wav(&tone_path).unwrap().samples;
    let mut samples: Vec<i16> = Vec::with_capacity(300 * block);
    let mut silent = 0;
    for b in 0..300 {
        if b % 3 == 2 {
            samples.extend(std::iter::repeat_n(0i16, block));
            silent += 1;
        } else {
            samples.extend(tone.iter().map(|&v| (v * 32768.0) as i16));
        }
    }
    let long = t.path().join("ten-minutes-16k.wav");
    pipeline::audio::write_wav_i16(&long, &samples, rate, 1).unwrap();
    let out_pq = t.path().join("timeline.parquet");
    let out = ok(&t.ser(&[
        "predict",
        "--run",
        &run,
        "--segment",
        "2",
        "--hop",
        "2",
        "--json",
        "--out",
        out_pq.to_str().unwrap(),
        long.to_str().unwrap(),
    ]));
    let rows = json_lines(&out);
    let segs: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r.get("summary").is_none()).collect();
    assert_eq!(segs.len(), 300, "one segment per 2 s block");
    let marked = segs.iter().filter(|r| r["silent"] == true).count();
    assert_eq!(marked, silent);
    for (b, s) in segs.iter().enumerate() {
        assert_eq!(s["silent"] == true, b % 3 == 2, "segment {b}");
        assert_eq!(
            s["confidence"].is_null() && s["label"] == "silent",
            b % 3 == 2,
            "silent segments are not classified"
        );
    }
    let summary = rows.last().unwrap();
    assert_eq!(summary["voiced"], 200);
    // The Parquet timeline holds the same rows.
    let df = store::table::read_frame(&out_pq).unwrap();
    assert_eq!(df.height(), 300);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    // The columns every format shares first (issue 22), then the extras.
    assert_eq!(
        names[..5],
        ["file", "start_s", "end_s", "label", "confidence"]
    );
    for col in ["run", "segment", "rms_db", "silent", "probabilities"] {
        assert!(names.iter().any(|n| n == col), "timeline lacks {col}");
    }
    // One column per class, named by the class, the list's numbers by name.
    let named: Vec<String> = names[5..5 + 8].to_vec();
    assert_eq!(named[0], "neutral", "{names:?}");
    let lists = df.column("probabilities").unwrap().list().unwrap().clone();
    let voiced = (0..df.height())
        .find(|&i| lists.get_as_series(i).is_some())
        .expect("a voiced segment");
    let list = lists.get_as_series(voiced).unwrap();
    assert_eq!(named.len(), list.len(), "class columns {named:?}");
    for (k, name) in named.iter().enumerate() {
        let by_name = df.column(name).unwrap().get(voiced).unwrap();
        assert_eq!(by_name, list.get(k).unwrap(), "{name}");
    }
}

#[test]
fn listening_to_a_wavs_pcm_gives_the_labels_of_predict() {
    let (t, run) = trained();
    let wav = speech(t.path());
    let pcm = encode(
        &wav,
        &t.path().join("speech.s16le"),
        &["-f", "s16le", "-c:a", "pcm_s16le"],
    );
    // Label and start time of each segment: the same cut, to the sample.
    let labels = |rows: Vec<serde_json::Value>| -> Vec<String> {
        rows.iter()
            .filter(|r| r.get("summary").is_none())
            .map(|r| format!("{} at {}", r["label"], r["start_s"]))
            .collect()
    };
    let seg = ["--segment", "1.5", "--hop", "0.5"];
    let mut args = vec!["predict", "--run", run.as_str(), "--json"];
    args.extend_from_slice(&seg);
    args.push(wav.to_str().unwrap());
    let from_file = labels(json_lines(&ok(&t.ser(&args))));
    let mut child = t
        .cmd(&[
            "listen", "--run", &run, "--stdin", "--rate", "44100", "--json", seg[0], seg[1],
            seg[2], seg[3],
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&pcm).unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        // A pipe delivers in pieces of any size, mid-sample too.
        for piece in bytes.chunks(1001) {
            stdin.write_all(piece).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let rows = json_lines(&ok(&out));
    // `--json` ends with the session's summary as a JSON line (issue 22).
    let last = rows.last().unwrap().clone();
    let live = labels(rows);
    assert!(!from_file.is_empty());
    assert_eq!(live, from_file);
    assert_eq!(last["summary"], true, "{last}");
    assert!(last["seconds"].as_f64().unwrap() > 1.0, "{last}");
    assert!(!stderr(&out).contains("listen:"), "{}", stderr(&out));
}

#[test]
fn broken_inputs_are_one_line_errors() {
    let (t, run) = trained();
    let dir = t.path();
    let wav = speech(dir);
    let mp3 = encode(&wav, &dir.join("speech.mp3"), &[]);
    let bytes = std::fs::read(&mp3).unwrap();
    let cut = dir.join("truncated.mp3");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let text = dir.join("notes.wav");
    std::fs::write(&text, "this is not audio\n").unwrap();
    for f in [&cut, &text] {
        let out = t.ser(&["predict", "--run", &run, f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("skipped")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].contains(f.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // Bad rate (a bad command line), and nothing on standard input.
    for (args, want, code) in [
        (vec!["--rate", "0"], "--rate", 2),
        (vec!["--rate", "16000"], "no audio", 1),
    ] {
        let mut a = vec!["listen", "--run", run.as_str(), "--stdin"];
        a.extend(args);
        let out = t.cmd(&a).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let err = stderr(&out);
        // clap adds "For more information, try '--help'." after a blank line.
        assert_eq!(
            err.lines().next().map(|l| l.contains(want)),
            Some(true),
            "{err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn listening_without_a_microphone_says_so_in_one_line() {
    let (t, run) = trained();
    let out = t
        .cmd(&["listen", "--run", &run])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    if cfg!(feature = "mic") {
        // Built with the microphone: a machine with no capture device (CI) says so.
        assert!(
            err.contains("microphone") || err.contains("capture"),
            "{err}"
        );
    } else {
        assert!(err.contains("--features mic"), "{err}");
    }
}

#[test]
fn a_corpus_in_flac_gives_the_features_of_its_wavs() {
    let wav_store = TestDir::new();
    let wavs = wav_store.path().join("data");
    ok(&wav_store.ser(&["synth", "--out", wavs.to_str().unwrap(), "--actors", "1"]));
    // The same clips as FLAC, under the same names.
    let flac_store = TestDir::new();
    let flacs = flac_store.path().join("data/Actor_01");
    std::fs::create_dir_all(&flacs).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(wavs.join("Actor_01")).unwrap().take(6) {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        encode(&p, &flacs.join(format!("{name}.flac")), &[]);
        n += 1;
    }
    // Keep only the converted clips in the WAV corpus.
    for e in std::fs::read_dir(wavs.join("Actor_01")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        if !flacs.join(format!("{stem}.flac")).exists() {
            std::fs::remove_file(p).unwrap();
        }
    }
    for (t, dir) in [
        (&wav_store, &wavs),
        (&flac_store, &flac_store.path().join("data")),
    ] {
        let out = ok(&t.ser(&["metadata", "--data", dir.to_str().unwrap()]));
        assert!(out.contains(&format!("metadata: {n} clips")), "{out}");
        ok(&t.ser(&["features"]));
    }
    let rows = |t: &TestDir| {
        let mut r: Vec<(String, String, Vec<f32>)> = t
            .rows(None)
            .into_iter()
            .map(|r| (r.clip_id, r.variant, r.mfcc))
            .collect();
        r.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        r
    };
    let (a, b) = (rows(&wav_store), rows(&flac_store));
    assert_eq!(a.len(), 2 * n);
    assert_eq!(b.len(), a.len(), "a row for every clip and copy in both");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        let worst =
            x.2.iter()
                .zip(&y.2)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max);
        assert!(
            worst < 1e-4,
            "{} {}: FLAC features differ by {worst}",
            x.0,
            x.1
        );
    }
}
