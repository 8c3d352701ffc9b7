//! Hostile audio files, corpus folders and manifests (issue 19, items 2,
//! 5, 11 and 12): a run that labels nothing replaces nothing; NaN samples
//! are a reject, never a crash; manifests with a BOM, paths outside their
//! folder, files listed twice, unknown genders; dangling links; decoder
//! messages that name the real format, codec or folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{copy_clips, ok, stderr, write_tone, TestDir};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// A mono WAV file: format `tag` (1 PCM, 3 float), `bits` per sample.
fn wav(tag: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let align = bits / 8;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * align as u32).to_le_bytes());
    b.extend_from_slice(&align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// One second of a 220 Hz tone at 48 kHz.
fn tone() -> Vec<f64> {
    (0..48_000)
        .map(|i| 0.3 * (2.0 * std::f64::consts::PI * 220.0 * i as f64 / 48_000.0).sin())
        .collect()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `ffmpeg -i src EXTRA… out`.
fn ffmpeg(src: &Path, out: &Path, extra: &[&str]) {
    let r = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-i", s(src)])
        .args(extra)
        .arg(out)
        .output()
        .expect("ffmpeg is needed by this test: apt-get install ffmpeg");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

/// The `skipped` line naming `name`.
fn skipped<'a>(err: &'a str, name: &str) -> &'a str {
    err.lines()
        .find(|l| l.starts_with("skipped") && l.contains(name))
        .unwrap_or_else(|| panic!("{name} not skipped:\n{err}"))
}

/// `ser metadata --data DIR --corpus csv:MANIFEST` (plus `extra`).
fn metadata_csv(t: &TestDir, manifest: &Path, extra: &[&str]) -> Output {
    let corpus = format!("csv:{}", manifest.display());
    let mut args = vec![
        "metadata",
        "--data",
        s(manifest.parent().unwrap()),
        "--corpus",
        &corpus,
    ];
    args.extend_from_slice(extra);
    t.ser(&args)
}

// Item 2 ------------------------------------------------------------------

#[test]
fn regression_metadata_that_labels_nothing_replaces_nothing() {
    let t = TestDir::new();
    let good = t.path().join("good");
    copy_clips(&good, &[1], 2);
    ok(&t.ser(&["metadata", "--data", s(&good)]));
    let table = t.store().metadata_path();
    let rejects = t.store().rejects_path("metadata");
    let before = (
        std::fs::read(&table).unwrap(),
        std::fs::read(&rejects).unwrap(),
    );

    // Every file fails to decode.
    let broken = t.path().join("broken");
    for name in ["03-01-01-01-01-01-01.wav", "03-01-02-01-01-01-01.wav"] {
        write(
            &broken.join("Actor_01").join(name),
            b"RIFF\x10\0\0\0WAVEjunkjunkjunk",
        );
    }
    // A manifest with an unterminated quote; one of missing files only.
    let m = t.path().join("manifests");
    write(
        &m.join("quote.csv"),
        b"path,emotion,speaker\n\"a.wav,happy,s1\n",
    );
    write(
        &m.join("missing.csv"),
        b"path,emotion,speaker\nno-1.wav,happy,s1\nno-2.wav,sad,s2\n",
    );
    let quote = format!("csv:{}", m.join("quote.csv").display());
    let missing = format!("csv:{}", m.join("missing.csv").display());
    let cases: [(&str, Vec<&str>, &str); 4] = [
        (
            "every file broken",
            vec!["--data", s(&broken)],
            "not a valid WAV",
        ),
        (
            "the wrong --corpus",
            vec!["--data", s(&good), "--corpus", "crema-d"],
            "is --corpus right?",
        ),
        (
            "an unterminated quote",
            vec!["--data", s(&m), "--corpus", &quote],
            "quote is not closed",
        ),
        (
            "missing files only",
            vec!["--data", s(&m), "--corpus", &missing],
            "no-1.wav",
        ),
    ];
    for (what, args, why) in cases {
        let mut all = vec!["metadata"];
        all.extend(args);
        let r = t.ser(&all);
        let err = stderr(&r);
        assert_eq!(code(&r), Some(1), "{what}: {err}");
        assert!(err.contains("no file could be labelled"), "{what}: {err}");
        assert!(err.contains(why), "{what}: expected `{why}` in {err}");
        let after = (
            std::fs::read(&table).unwrap(),
            std::fs::read(&rejects).unwrap(),
        );
        assert!(after == before, "{what}: the metadata tables were replaced");
    }
    // Nothing labelled into a new store: no store is left behind.
    let fresh = TestDir::new();
    let r = fresh.ser(&["metadata", "--data", s(&broken)]);
    assert_eq!(code(&r), Some(1), "{}", stderr(&r));
    assert!(!fresh.store_path().exists(), "an empty store was created");
}

// Item 5 ------------------------------------------------------------------

#[test]
fn regression_nan_samples_are_a_features_reject_and_reruns_do_not_crash() {
    let t = TestDir::new();
    let data = t.path().join("data");
    copy_clips(&data, &[1], 2);
    let mut y: Vec<f32> = tone().iter().map(|&v| v as f32).collect();
    y[100] = f32::NAN;
    y[200] = f32::INFINITY;
    y[300] = f32::NAN;
    let bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    let nan = data.join("Actor_01/03-01-08-02-02-02-01.wav");
    write(&nan, &wav(3, 48_000, 32, &bytes));
    ok(&t.ser(&["metadata", "--data", s(&data)]));
    for run in ["first", "second"] {
        let r = t.ser(&["features"]);
        let err = stderr(&r);
        assert_eq!(code(&r), Some(3), "{run} run: {err}");
        assert!(!err.contains("panicked"), "{run} run: {err}");
        let line = skipped(&err, "03-01-08-02-02-02-01.wav");
        assert!(
            line.contains("3 non-finite samples (NaN/Inf)"),
            "{run} run: {line}"
        );
    }
    assert_eq!(t.rows(None).len(), 2 * 2, "the two good clips computed");
}

// Item 11 -----------------------------------------------------------------

/// A corpus folder `c` with tones `a.wav`, `b.wav`, `c.wav`.
fn manifest_corpus(t: &TestDir) -> PathBuf {
    let c = t.path().join("c");
    for (name, hz) in [("a", 200.0), ("b", 300.0), ("c", 400.0)] {
        write_tone(&c.join(format!("{name}.wav")), 16_000, 1.0, hz);
    }
    c
}

#[test]
fn regression_a_manifest_saved_with_a_bom_is_read() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    let m = c.join("m.csv");
    write(
        &m,
        "\u{feff}path,emotion,speaker\na.wav,happy,s1\nb.wav,sad,s2\n".as_bytes(),
    );
    let out = ok(&metadata_csv(&t, &m, &[]));
    assert!(out.contains("metadata: 2 clips"), "{out}");
}

#[test]
fn regression_manifest_paths_stay_inside_its_folder() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    let outside = t.path().join("outside.wav");
    write_tone(&outside, 16_000, 1.0, 250.0);
    let elsewhere = t.path().join("elsewhere/far.wav");
    write_tone(&elsewhere, 16_000, 1.0, 260.0);
    let m = c.join("m.csv");
    let text = format!(
        "path,emotion,speaker\na.wav,happy,s1\n../outside.wav,sad,s1\n{},angry,s2\n../../../../../../etc/passwd,sad,s2\n",
        elsewhere.display()
    );
    write(&m, text.as_bytes());
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    for (name, line) in [("outside.wav", 3), ("far.wav", 4), ("passwd", 5)] {
        let l = skipped(&err, name);
        assert!(
            l.contains(&format!("line {line}")) && l.contains("leaves the manifest's folder"),
            "{l}"
        );
        assert!(l.contains("--allow-outside"), "{l}");
    }
    assert!(String::from_utf8_lossy(&r.stdout).contains("metadata: 1 clips"));
    // --allow-outside: the two tones are read; /etc/passwd is no audio.
    let r = metadata_csv(&t, &m, &["--allow-outside"]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    assert!(!skipped(&err, "passwd").contains("leaves"), "{err}");
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("metadata: 3 clips"), "{out}");
}

#[test]
fn regression_a_file_listed_twice_is_one_clip() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    let m = c.join("m.csv");
    write(
        &m,
        b"path,emotion,speaker\na.wav,happy,s1\nb.wav,sad,s1\n./a.wav,angry,s2\n",
    );
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    let l = skipped(&err, "a.wav");
    assert!(
        l.contains("line 4") && l.contains("already listed on line 2"),
        "{l}"
    );
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("metadata: 2 clips"), "{out}");
}

#[test]
fn regression_an_unknown_gender_is_a_reject_naming_the_values() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    let m = c.join("m.csv");
    write(
        &m,
        b"path,emotion,speaker,gender\na.wav,happy,s1,x\nb.wav,sad,s1,F\nc.wav,sad,s2,\n",
    );
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    let l = skipped(&err, "a.wav");
    assert!(
        l.contains("line 2") && l.contains("gender `x` is not one of male, m, female, f"),
        "{l}"
    );
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("metadata: 2 clips"), "{out}");
}

#[test]
fn regression_dangling_symbolic_links_are_reported() {
    let t = TestDir::new();
    let data = t.path().join("data");
    copy_clips(&data, &[1], 2);
    let file = data.join("Actor_01/03-01-02-01-01-01-01.wav");
    std::os::unix::fs::symlink("/nonexistent/clip.wav", &file).unwrap();
    std::os::unix::fs::symlink("/nonexistent/Actor_02", data.join("Actor_02")).unwrap();
    let r = t.ser(&["metadata", "--data", s(&data)]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    for name in ["03-01-02-01-01-01-01.wav", "Actor_02"] {
        let l = skipped(&err, name);
        assert!(l.contains("dangling symbolic link to /nonexistent"), "{l}");
    }
}

// Item 12 -----------------------------------------------------------------

#[test]
fn regression_flac_and_m4a_errors_name_their_format() {
    let t = TestDir::new();
    let c = t.path().join("c");
    let src = t.path().join("src.wav");
    write_tone(&src, 16_000, 2.0, 220.0);
    std::fs::create_dir_all(&c).unwrap();
    ffmpeg(&src, &c.join("full.flac"), &[]);
    ffmpeg(&src, &c.join("full.m4a"), &["-c:a", "aac"]);
    let flac = std::fs::read(c.join("full.flac")).unwrap();
    // Cut: the header is whole, so `metadata` keeps it and `features` finds out.
    write(&c.join("cut.flac"), &flac[..flac.len() / 2]);
    let mut bad = flac.clone();
    bad[8..42].fill(0xff); // STREAMINFO
    write(&c.join("bad.flac"), &bad);
    // A FLAC file under a .wav name is read as what it is.
    write(&c.join("flac-inside.wav"), &flac);
    let m4a = std::fs::read(c.join("full.m4a")).unwrap();
    write(&c.join("cut.m4a"), &m4a[..m4a.len() / 3]);
    let m = c.join("m.csv");
    write(
        &m,
        b"path,emotion,speaker
cut.flac,happy,s1
bad.flac,happy,s2
flac-inside.wav,sad,s1
cut.m4a,sad,s2
",
    );
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    let r = t.ser(&["features"]);
    let err = format!("{err}{}", stderr(&r));
    assert_eq!(code(&r), Some(3), "{err}");
    for (name, format) in [
        ("cut.flac", "not a valid FLAC file: truncated"),
        ("bad.flac", "not a valid FLAC file"),
        ("cut.m4a", "not a valid MP4/M4A file"),
    ] {
        let l = skipped(&err, name);
        assert!(!l.contains("WAV"), "{l}");
        assert!(l.contains(format), "{l}");
    }
    assert!(!err.contains("flac-inside.wav"), "{err}");
}

#[test]
fn regression_a_folder_is_called_a_folder() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    std::fs::create_dir_all(c.join("take-1.wav")).unwrap();
    std::fs::create_dir_all(c.join("take-2")).unwrap();
    let m = c.join("m.csv");
    write(
        &m,
        b"path,emotion,speaker\na.wav,happy,s1\ntake-1.wav,sad,s1\ntake-2,sad,s2\n",
    );
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    for name in ["take-1.wav", "take-2"] {
        let l = skipped(&err, name);
        assert!(l.contains("is a folder, not an audio file"), "{l}");
    }
}

#[test]
fn regression_opus_is_named_as_not_supported() {
    let t = TestDir::new();
    let c = manifest_corpus(&t);
    let src = t.path().join("src.wav");
    write_tone(&src, 48_000, 1.0, 220.0);
    ffmpeg(&src, &c.join("voice.ogg"), &["-c:a", "libopus"]);
    let m = c.join("m.csv");
    write(
        &m,
        b"path,emotion,speaker\na.wav,happy,s1\nvoice.ogg,sad,s1\n",
    );
    let r = metadata_csv(&t, &m, &[]);
    let err = stderr(&r);
    assert_eq!(code(&r), Some(3), "{err}");
    let l = skipped(&err, "voice.ogg");
    assert!(l.contains("Opus is not supported"), "{l}");
    assert!(!l.contains("unknown codec"), "{l}");
}

#[test]
fn regression_a_64_bit_float_wav_is_decoded() {
    let t = TestDir::new();
    let data = t.path().join("data");
    copy_clips(&data, &[1], 2);
    let bytes: Vec<u8> = tone().iter().flat_map(|v| v.to_le_bytes()).collect();
    let f64_wav = data.join("Actor_01/03-01-08-02-02-02-01.wav");
    write(&f64_wav, &wav(3, 48_000, 64, &bytes));
    let out = ok(&t.ser(&["metadata", "--data", s(&data)]));
    assert!(out.contains("metadata: 3 clips"), "{out}");
    ok(&t.ser(&["features"]));
    let rows = t.rows(None);
    assert_eq!(rows.len(), 3 * 2, "clean and noisy rows of three clips");
    let info = pipeline::audio::read_audio(&f64_wav).unwrap();
    assert_eq!(info.info.bits_per_sample, 64);
    assert!((info.samples[400] as f64 - tone()[400]).abs() < 1e-6);
}
