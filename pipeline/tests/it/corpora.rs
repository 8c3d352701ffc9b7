//! Corpora beyond RAVDESS: each reader on a small tree named as the real
//! corpus (plus malformed names), checked label by label; a mixed store
//! trains speaker-independently and across corpora; a store of the
//! previous format is read and upgraded.

use std::collections::BTreeMap;
use std::path::Path;

use store::{MetadataRow, RejectRow, TableRow};

use crate::util::{ok, stderr, write_tone, TestDir};

fn tones(dir: &Path, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        write_tone(&dir.join(n), 16000, 0.5, 150.0 + 10.0 * i as f32);
    }
}

/// `clip_id -> (corpus, speaker, actor, gender, emotion code, emotion name)`.
fn labels(t: &TestDir) -> BTreeMap<String, (String, String, i32, String, i32, String)> {
    MetadataRow::read(&t.store().metadata_path())
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.clip_id,
                (
                    r.corpus,
                    r.speaker,
                    r.actor,
                    r.gender,
                    r.emotion,
                    r.emotion_name,
                ),
            )
        })
        .collect()
}

/// `file name -> reason` of the metadata rejects.
fn rejects(t: &TestDir) -> BTreeMap<String, String> {
    RejectRow::read(&t.store().rejects_path("metadata"))
        .unwrap()
        .into_iter()
        .map(|r| {
            let name = Path::new(&r.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, r.reason)
        })
        .collect()
}

fn row(
    c: &str,
    s: &str,
    a: i32,
    g: &str,
    e: i32,
    n: &str,
) -> (String, String, i32, String, i32, String) {
    (c.into(), s.into(), a, g.into(), e, n.into())
}

#[test]
fn crema_d_names_are_parsed_and_gender_comes_from_its_demographics() {
    let t = TestDir::new();
    let d = t.path().join("crema");
    tones(
        &d,
        &[
            "1001_DFA_ANG_XX.wav",
            "1002_IEO_HAP_HI.wav",
            "1091_WSI_SAD_LO.wav",
            "1001_DFA_NEU_XX.wav",
        ],
    );
    tones(
        &d,
        &[
            "1092_DFA_ANG_XX.wav",
            "1001_XYZ_ANG_XX.wav",
            "1001_DFA_BOR_XX.wav",
            "1001_DFA_ANG.wav",
        ],
    );
    std::fs::write(d.join("VideoDemographics.csv"), "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n").unwrap();
    let out = t.ser(&["metadata", "--data", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("read as crema-d (detected from the names): 4 of 8"),
        "{stdout}"
    );
    let want = BTreeMap::from([
        (
            "1001_DFA_ANG_XX".to_string(),
            row("crema-d", "1001", 1001, "male", 5, "angry"),
        ),
        (
            "1001_DFA_NEU_XX".to_string(),
            row("crema-d", "1001", 1001, "male", 1, "neutral"),
        ),
        (
            "1002_IEO_HAP_HI".to_string(),
            row("crema-d", "1002", 1002, "female", 3, "happy"),
        ),
        (
            "1091_WSI_SAD_LO".to_string(),
            row("crema-d", "1091", 1091, "", 4, "sad"),
        ),
    ]);
    assert_eq!(labels(&t), want);
    let r = rejects(&t);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(r["1092_DFA_ANG_XX.wav"].contains("actor 1092"), "{r:?}");
    assert!(r["1001_XYZ_ANG_XX.wav"].contains("sentence XYZ"), "{r:?}");
    assert!(r["1001_DFA_BOR_XX.wav"].contains("emotion BOR"), "{r:?}");
    assert!(
        r["1001_DFA_ANG.wav"].contains("not a CREMA-D name"),
        "{r:?}"
    );
}

#[test]
fn tess_savee_and_emodb_names_are_parsed_with_their_speakers_and_genders() {
    let t = TestDir::new();
    let tess = t.path().join("tess");
    tones(
        &tess.join("OAF_angry"),
        &["OAF_back_angry.wav", "OAF_bar_angry.wav"],
    );
    tones(&tess.join("YAF_pleasant_surprised"), &["YAF_dog_ps.wav"]);
    tones(
        &tess.join("junk"),
        &["ZAF_dog_sad.wav", "OAF_dog_bored.wav"],
    );
    let savee = t.path().join("savee");
    tones(&savee, &["DC_a01.wav", "JE_sa15.wav"]);
    tones(&savee.join("KL"), &["su03.wav", "x01.wav"]);
    let emodb = t.path().join("emodb");
    tones(
        &emodb,
        &[
            "03a01Fa.wav",
            "08b10Lc.wav",
            "16a07Wb.wav",
            "04a01Fa.wav",
            "03a08Fa.wav",
            "03a01Xa.wav",
        ],
    );
    let out = t.ser(&[
        "metadata",
        "--data",
        tess.to_str().unwrap(),
        "--data",
        savee.to_str().unwrap(),
        "--data",
        emodb.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let got = labels(&t);
    let want = BTreeMap::from([
        (
            "OAF_back_angry".to_string(),
            row("tess", "OAF", 2001, "female", 5, "angry"),
        ),
        (
            "OAF_bar_angry".to_string(),
            row("tess", "OAF", 2001, "female", 5, "angry"),
        ),
        (
            "YAF_dog_ps".to_string(),
            row("tess", "YAF", 2002, "female", 8, "surprised"),
        ),
        (
            "DC_a01".to_string(),
            row("savee", "DC", 3001, "male", 5, "angry"),
        ),
        (
            "JE_sa15".to_string(),
            row("savee", "JE", 3002, "male", 4, "sad"),
        ),
        (
            "KL_su03".to_string(),
            row("savee", "KL", 3004, "male", 8, "surprised"),
        ),
        (
            "03a01Fa".to_string(),
            row("emodb", "03", 4003, "male", 3, "happy"),
        ),
        (
            "08b10Lc".to_string(),
            row("emodb", "08", 4008, "female", 9, "boredom"),
        ),
        (
            "16a07Wb".to_string(),
            row("emodb", "16", 4016, "female", 5, "angry"),
        ),
    ]);
    assert_eq!(got, want);
    let r = rejects(&t);
    assert!(r["ZAF_dog_sad.wav"].contains("speaker ZAF"), "{r:?}");
    assert!(r["OAF_dog_bored.wav"].contains("emotion bored"), "{r:?}");
    assert!(r["x01.wav"].contains("emotion `x`"), "{r:?}");
    assert!(r["04a01Fa.wav"].contains("speaker 04"), "{r:?}");
    assert!(r["03a08Fa.wav"].contains("text a08"), "{r:?}");
    assert!(r["03a01Xa.wav"].contains("emotion letter X"), "{r:?}");
    assert_eq!(r.len(), 6, "{r:?}");
}

/// A synthetic corpus re-labelled through a manifest: actors 3 and 4 of
/// the demo corpus become speakers `spk-a`, `spk-b` of corpus `other`.
fn manifest_corpus(t: &TestDir, demo: &Path) -> std::path::PathBuf {
    let other = t.path().join("other");
    std::fs::create_dir_all(other.join("audio")).unwrap();
    let mut csv = String::from("path,emotion,speaker,gender\n");
    for (actor, spk, gender) in [(3, "spk-a", "m"), (4, "spk-b", "f")] {
        let dir = demo.join(format!("Actor_{actor:02}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for (i, f) in files.iter().enumerate() {
            let name = f.file_stem().unwrap().to_str().unwrap();
            let code: usize = name.split('-').nth(2).unwrap().parse().unwrap();
            let emotion = models::labels::EMOTIONS[code - 1];
            let rel = format!("audio/{spk}-{i:03}.wav");
            std::fs::copy(f, other.join(&rel)).unwrap();
            csv.push_str(&format!("{rel},{emotion},{spk},{gender}\n"));
        }
    }
    csv.push_str("audio/missing.wav,angry,spk-a,m\n");
    csv.push_str("audio/spk-a-000.wav,grumpy!,spk-a,m\n");
    let manifest = other.join("other.csv");
    std::fs::write(&manifest, csv).unwrap();
    manifest
}

#[test]
fn a_mixed_store_trains_across_speakers_and_across_corpora() {
    let t = TestDir::new();
    let demo = t.path().join("demo");
    ok(&t.ser(&["synth", "--out", demo.to_str().unwrap(), "--actors", "4"]));
    let manifest = manifest_corpus(&t, &demo);
    // RAVDESS-named actors 1-2 only, and the manifest corpus.
    let ravdess = t.path().join("ravdess-part");
    for a in ["Actor_01", "Actor_02"] {
        std::fs::rename(demo.join(a), ravdess.join(a)).ok();
        if !ravdess.join(a).exists() {
            std::fs::create_dir_all(&ravdess).unwrap();
            std::fs::rename(demo.join(a), ravdess.join(a)).unwrap();
        }
    }
    let out = t.ser(&[
        "metadata",
        "--data",
        ravdess.to_str().unwrap(),
        "--data",
        manifest.parent().unwrap().to_str().unwrap(),
        "--corpus",
        "auto",
        "--corpus",
        &format!("csv:{}", manifest.display()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "two bad manifest rows: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("missing.wav") && err.contains("`grumpy!` is not an emotion name"),
        "{err}"
    );
    let l = labels(&t);
    let other: Vec<_> = l.values().filter(|v| v.0 == "other").collect();
    assert_eq!(other.len(), 120);
    assert!(other
        .iter()
        .all(|v| (v.1 == "spk-a" && v.2 == 10001 && v.3 == "male")
            || (v.1 == "spk-b" && v.2 == 10002 && v.3 == "female")));
    ok(&t.ser(&["features"]));
    // Speaker-independent folds over both corpora (balanced groups: not
    // all RAVDESS, so not EmoBox's).
    let out = ok(&t.ser(&[
        "train", "--model", "lstm", "--labels", "emotion8", "--split", "speakers", "--folds", "2",
        "--epochs", "1", "--window", "32",
    ]));
    assert!(out.contains("train: corpora other, ravdess"), "{out}");
    // Train on one corpus, test on the other.
    let out = ok(&t.ser(&[
        "train",
        "--model",
        "lstm",
        "--labels",
        "emotion8",
        "--train-on",
        "other",
        "--test-on",
        "ravdess",
        "--epochs",
        "1",
        "--window",
        "32",
    ]));
    assert!(out.contains("trained on other, tested on ravdess, over the emotions both have: neutral, calm, happy, sad, angry, fearful, disgust, surprised"), "{out}");
    let run = out
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .unwrap()
        .to_string();
    let cfg: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.store().run_dir(&run).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        cfg["test_actors"],
        serde_json::json!([[1, 2]]),
        "tested on the RAVDESS actors only"
    );
    let report = ok(&t.ser(&["report", "--no-figures"]));
    assert!(
        report.contains(&format!("{run}: trained on other, tested on ravdess")),
        "{report}"
    );
}

#[test]
fn a_store_of_the_previous_format_is_read_and_upgraded() {
    let t = TestDir::new();
    let data = t.path().join("data");
    ok(&t.ser(&["synth", "--out", data.to_str().unwrap(), "--actors", "2"]));
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    // Make it format 1: no corpus/speaker columns, STORE.json says 1.
    let meta = t.store().metadata_path();
    let mut df = MetadataRow::to_frame(&MetadataRow::read(&meta).unwrap())
        .unwrap()
        .drop_many(["corpus", "speaker"]);
    store::table::write_frame(&meta, &mut df).unwrap();
    // Stores of format 1 kept no checksum beside their tables.
    std::fs::remove_file(store::table::sum_path(&meta)).unwrap();
    std::fs::write(
        t.store_path().join("STORE.json"),
        r#"{"format": 1, "writer": "ser 0.1.0 (format 1)"}"#,
    )
    .unwrap();
    // Read as RAVDESS: features and training work unchanged.
    ok(&t.ser(&["features"]));
    ok(&t.ser(&[
        "train", "--model", "lstm", "--epochs", "1", "--window", "16",
    ]));
    assert_eq!(
        t.store().format().unwrap(),
        1,
        "readers never modify a store"
    );
    // A writer of metadata upgrades it.
    ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    assert_eq!(t.store().format().unwrap(), 2);
    assert!(labels(&t).values().all(|v| v.0 == "ravdess"));
    // A store from a newer ser is refused in one line.
    std::fs::write(
        t.store_path().join("STORE.json"),
        r#"{"format": 3, "writer": "ser 9"}"#,
    )
    .unwrap();
    let out = t.ser(&["query", "select 1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("format 3") && err.contains("upgrade ser"),
        "{err}"
    );
}
