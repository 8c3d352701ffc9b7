//! Bad input: each bad file gets one line naming it and the reason, the
//! rest of the run completes, the exit status says something was skipped,
//! and what the store already held survives.

use std::path::Path;

use store::RejectRow;

use crate::util::{ok, stderr, write_tone, TestDir};

/// A-law WAV (format tag 6), which we do not decode.
fn write_alaw(path: &Path) {
    let data = vec![0xd5u8; 8000];
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 26 + 8 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&18u32.to_le_bytes());
    b.extend_from_slice(&6u16.to_le_bytes()); // WAVE_FORMAT_ALAW
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    std::fs::write(path, b).unwrap();
}

fn write_wav<S: hound::Sample + Copy>(path: &Path, spec: hound::WavSpec, samples: &[S]) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn each_bad_file_is_named_once_and_the_rest_completes() {
    let t = TestDir::new();
    let a1 = t.path().join("data/Actor_01");
    let good = ["03-01-01-01-01-01-01", "03-01-05-02-01-01-01"];
    for g in good {
        write_tone(&a1.join(format!("{g}.wav")), 44100, 2.0, 180.0);
    }
    ok(&t.ser(&[
        "metadata",
        "--data",
        t.path().join("data").to_str().unwrap(),
    ]));
    ok(&t.ser(&["features"]));
    assert_eq!(t.rows(None).len(), 4);

    // Good files in other formats: 24-bit int and 32-bit float.
    let tone: Vec<f32> = (0..32000).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect();
    let spec = |bits, fmt| hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: bits,
        sample_format: fmt,
    };
    write_wav(
        &a1.join("03-01-03-01-01-01-01.wav"),
        spec(24, hound::SampleFormat::Int),
        &tone
            .iter()
            .map(|v| (v * 8_388_607.0) as i32)
            .collect::<Vec<_>>(),
    );
    write_wav(
        &a1.join("03-01-04-01-01-01-01.wav"),
        spec(32, hound::SampleFormat::Float),
        &tone,
    );

    // Bad ones, each named by what it holds.
    let corrupt = a1.join("03-01-02-01-01-01-01.wav");
    std::fs::write(&corrupt, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk").unwrap();
    let truncated = a1.join("03-01-02-01-01-02-01.wav");
    write_tone(&truncated, 16000, 1.0, 200.0);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let empty = a1.join("03-01-02-01-02-01-01.wav");
    write_wav::<i16>(&empty, spec(16, hound::SampleFormat::Int), &[]);
    let alaw = a1.join("03-01-02-01-02-02-01.wav");
    write_alaw(&alaw);
    let short = a1.join("03-01-02-02-01-01-01.wav");
    write_wav::<i16>(&short, spec(16, hound::SampleFormat::Int), &[100; 200]);
    let not_ravdess = a1.join("hello.wav");
    write_tone(&not_ravdess, 16000, 1.0, 200.0);
    let wrong_folder = a1.join("03-01-02-02-01-02-02.wav");
    write_tone(&wrong_folder, 16000, 1.0, 200.0);

    let out = t.ser(&[
        "metadata",
        "--data",
        t.path().join("data").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(pipeline::EXIT_SKIPPED));
    let err = stderr(&out);
    let expect = [
        (&corrupt, "not a valid WAV"),
        (&truncated, "truncated"),
        (&empty, "empty"),
        (&alaw, "unsupported WAV encoding"),
        (&not_ravdess, "not a RAVDESS name"),
        (&wrong_folder, "Actor_01"),
    ];
    assert_eq!(
        err.lines().count(),
        expect.len(),
        "one line per bad file:\n{err}"
    );
    for (path, why) in expect {
        let name = path.file_name().unwrap().to_str().unwrap();
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not reported:\n{err}"));
        assert!(line.contains(why), "{name}: expected `{why}` in `{line}`");
    }
    let rejects = RejectRow::read(&t.store().rejects_path("metadata")).unwrap();
    assert_eq!(rejects.len(), expect.len());

    // Features: the too-short file is the one bad file left; the others compute.
    let out = t.ser(&["features"]);
    assert_eq!(
        out.status.code(),
        Some(pipeline::EXIT_SKIPPED),
        "{}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("03-01-02-02-01-01-01.wav") && err.contains("too short"),
        "{err}"
    );
    let rows = t.rows(None);
    assert_eq!(
        rows.len(),
        2 * 4,
        "two old + two new good clips, clean and noisy"
    );
    let rejects = RejectRow::read(&t.store().rejects_path("features")).unwrap();
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0].reason.contains("too short"));
}

#[test]
fn missing_metadata_and_bad_flags_are_one_line_errors() {
    let t = TestDir::new();
    let out = t.ser(&["features"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`ser metadata --data DIR`"), "{err}");
    let out = t.ser(&["features", "--noise", "pink:3"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad flag is a bad command line"
    );
    assert!(stderr(&out).contains("--noise"), "{}", stderr(&out));
    let out = t.ser(&["features", "--shard", "3/2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--shard"), "{}", stderr(&out));
    // Regression: the cause of an I/O error was printed twice.
    let out = t.ser(&["metadata", "--data", "/nonexistent/ravdess"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(err.contains("/nonexistent/ravdess"), "{err}");
}
