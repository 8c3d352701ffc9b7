//! Text readers: every corpus's name parser, the CSV/TSV manifest reader
//! and the store's manifest (and `STORE.json`) reader.

use std::path::Path;

use models::LabelSet;
use pipeline::corpora::{detect, emotion_code, label, read_manifest, CorpusKind, Labels};
use pipeline::ravdess::ClipName;
use store::{ClipInput, FeatureSetEntry, Manifest, PartEntry, Rejected, ShardEntry, Store};

use super::mutate::{below, input, one_in, pick, soup};
use super::{fuzz, reason, show_bytes};

/// Valid names of each corpus, and near misses.
const NAMES: [&str; 16] = [
    "03-01-05-01-02-01-12",
    "03-02-06-02-01-02-24",
    "03-01-01-01-01-01-01",
    "1001_DFA_ANG_XX",
    "1091_WSI_NEU_LO",
    "OAF_back_angry",
    "YAF_word_ps",
    "DC_a01",
    "KL_su15",
    "a01",
    "sa03",
    "03a01Fa",
    "16b10Lb",
    "03-01-09-01-01-01-25",
    "00-00-00-00-00-00-00",
    "1001_XXX_ANG_XX",
];

const NAME_TOKENS: [&str; 24] = [
    "03",
    "01",
    "02",
    "-",
    "_",
    "1001",
    "DFA",
    "ANG",
    "XX",
    "OAF",
    "YAF",
    "angry",
    "ps",
    "DC",
    "a",
    "su",
    "sa",
    "Fa",
    "a01",
    "9999999999",
    "-0",
    "+1",
    "00",
    "é",
];

const FOLDERS: [&str; 10] = [
    "Actor_01",
    "Actor_12",
    "Actor_1",
    "Actor_",
    "Actor_99999999999999999999",
    "DC",
    "OAF_angry",
    "",
    "..",
    "é",
];

/// Pieces of CREMA-D's `VideoDemographics.csv`.
const DEMOGRAPHICS: [&str; 7] = [
    "ActorID,Age,Sex",
    "1001,51,Male",
    "\"1002\",\"21\",\"Female\"",
    "x,,",
    "\n",
    ",",
    "\n1003,99999999999,",
];

const EXTS: [&str; 8] = [".wav", ".WAV", ".flac", ".mp3", ".txt", "", ".wav.wav", "."];

/// Every label set can class (or skip) whatever a reader accepted.
fn classable(what: &str, l: &Labels) -> Result<(), String> {
    if l.clip_id.is_empty() || l.emotion_name.is_empty() {
        return Err(format!(
            "{what}: accepted with an empty clip id or emotion: {l:?}"
        ));
    }
    let present = std::collections::BTreeSet::from([1, 3, l.emotion]);
    for set in [
        LabelSet::Emotion8,
        LabelSet::Emotion7,
        LabelSet::GenderEmotion14,
        LabelSet::Emotions,
    ] {
        let labels = set.resolve(&present).map_err(|e| format!("{what}: {e}"))?;
        if let Some(k) = labels.class_of(l.emotion, &l.gender) {
            if k >= labels.classes().len() {
                return Err(format!("{what}: class {k} outside {set}: {l:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn corpus_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut roots = 0;
    fuzz(
        "text::corpus_names",
        |r| {
            let name = if one_in(r, 3) {
                soup(r, &NAME_TOKENS, 12)
            } else {
                let b = input(
                    r,
                    &NAMES.map(|n| n.as_bytes().to_vec()),
                    b"0123456789-_",
                    64,
                );
                String::from_utf8_lossy(&b).into_owned()
            };
            let folder = if one_in(r, 4) {
                soup(r, &FOLDERS, 2)
            } else {
                pick(r, &FOLDERS).to_string()
            };
            // Now and then a CREMA-D demographics table beside the files.
            let demographics = one_in(r, 20).then(|| soup(r, &DEMOGRAPHICS, 12));
            (folder, format!("{name}{}", pick(r, &EXTS)), demographics)
        },
        |i| format!("{i:?}"),
        |(folder, file, demographics)| {
            let root = match demographics {
                Some(text) => {
                    roots += 1;
                    let root = dir.path().join(format!("root{roots}"));
                    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
                    std::fs::write(root.join("VideoDemographics.csv"), text)
                        .map_err(|e| e.to_string())?;
                    root
                }
                None => dir.path().to_path_buf(),
            };
            let path = root.join(folder).join(file);
            for kind in CorpusKind::by_name() {
                match label(&kind, &path, &root) {
                    Ok(l) => classable(&kind.name(), &l)?,
                    Err(e) => reason(&kind.name(), e)?,
                }
            }
            let _ = detect(&[path.clone(), root.join(file)], &root);
            if let Some(stem) = Path::new(file).file_stem().and_then(|s| s.to_str()) {
                match ClipName::parse(stem) {
                    Ok(n) => {
                        if n.id() != stem {
                            return Err(format!("ClipName::parse({stem:?}).id() = {}", n.id()));
                        }
                        let _ = (n.gender(), n.emotion_name());
                    }
                    Err(e) => reason("ClipName::parse", e)?,
                }
                let _ = emotion_code(stem);
            }
            if let Err(e) = ClipName::parse_path(&path) {
                reason("ClipName::parse_path", e)?;
            }
            Ok(())
        },
    );
}

const HEADERS: [&str; 8] = [
    "path,emotion,speaker",
    "path,emotion,speaker,gender,split",
    "Speaker,PATH,Emotion",
    "path\temotion\tspeaker\tgender",
    "\u{feff}path,emotion,speaker",
    "\"path\",\"emotion\",\"speaker\"",
    "path,emotion",
    "",
];

const CELLS: [&str; 30] = [
    "a.wav",
    "sub/b.flac",
    "../../../../etc/passwd",
    "/abs/c.wav",
    "",
    "\"q,uoted.wav\"",
    "\"unterminated",
    "\"\"",
    "angry",
    "Happy",
    "ps",
    "contempt",
    "3",
    "neutral ",
    "s1",
    "s2",
    "é",
    "male",
    "F",
    "x",
    "train",
    ",",
    "\t",
    "\r",
    "\n",
    ",,,,",
    "\u{feff}",
    "日本",
    "a b",
    "'",
];

#[test]
fn manifest_reader() {
    let dir = tempfile::tempdir().expect("temp dir");
    fuzz(
        "text::manifest_reader",
        |r| {
            let tab = one_in(r, 3);
            let sep = if tab { "\t" } else { "," };
            let mut text = pick(r, &HEADERS).to_string();
            for _ in 0..below(r, 12) {
                text.push_str(if one_in(r, 8) { "\r\n" } else { "\n" });
                let cells: Vec<&str> = (0..below(r, 6)).map(|_| *pick(r, &CELLS)).collect();
                text.push_str(&cells.join(sep));
            }
            let text = if one_in(r, 4) {
                let b = input(r, &[text.into_bytes()], b",\t\"\n\r", 256);
                String::from_utf8_lossy(&b).into_owned()
            } else {
                text
            };
            let ext = *pick(r, &["csv", "tsv", "txt"]);
            (ext, text)
        },
        |i| format!("{i:?}"),
        |(ext, text)| {
            let file = dir.path().join(format!("manifest.{ext}"));
            std::fs::write(&file, text).map_err(|e| e.to_string())?;
            match read_manifest(&file, 10_000) {
                Err(e) => reason("read_manifest", e),
                Ok(rows) => {
                    for row in rows {
                        match &row.labels {
                            Ok(l) => classable(&format!("line {}", row.line), l)?,
                            Err(e) => reason(&format!("line {}", row.line), e)?,
                        }
                    }
                    Ok(())
                }
            }
        },
    );
}

/// A manifest with one of everything, as JSON.
fn manifest_seed() -> Vec<u8> {
    let mut m = Manifest::empty();
    m.version = 1;
    m.writer = "ser 0.1.0".into();
    let shard = ShardEntry {
        digest: "0123456789abcdef".into(),
        inputs: vec![ClipInput {
            clip_id: "03-01-05-01-02-01-12".into(),
            fingerprint: "ab".repeat(32),
        }],
        parts: vec![PartEntry {
            variant: "clean".into(),
            path: "features/set=x/variant=clean/actor=12/part-0123.parquet".into(),
            rows: 1,
            size: Some(1234),
            sha256: Some("cd".repeat(32)),
        }],
        rejected: vec![Rejected {
            clip_id: "03-01-05-01-02-01-11".into(),
            path: "/data/x.wav".into(),
            reason: "empty".into(),
        }],
    };
    let mut set = FeatureSetEntry::default();
    set.shards.insert("actor=12".into(), shard);
    m.sets.insert("0123456789ab".into(), set);
    serde_json::to_vec_pretty(&m).unwrap()
}

#[test]
fn store_manifest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("store");
    let store = Store::create(&root).expect("store");
    let manifests = root.join("manifest");
    std::fs::create_dir_all(&manifests).unwrap();
    let info = std::fs::read(root.join("STORE.json")).unwrap();
    let seeds = vec![
        manifest_seed(),
        serde_json::to_vec(&Manifest::empty()).unwrap(),
        info.clone(),
    ];
    let alphabet = b"{}[]\":,0123456789-e.truefalsenull \\u";
    fuzz(
        "text::store_manifest",
        |r| input(r, &seeds, alphabet, 4096),
        |b| show_bytes(b),
        |b| {
            match serde_json::from_slice::<Manifest>(b) {
                Ok(m) => {
                    let again = serde_json::to_vec(&m).map_err(|e| e.to_string())?;
                    let back: Manifest = serde_json::from_slice(&again)
                        .map_err(|e| format!("a parsed manifest does not read back: {e}"))?;
                    if back != m {
                        return Err("a parsed manifest changes on a round trip".into());
                    }
                    let _ = m.part_paths();
                }
                Err(e) => reason("Manifest from JSON", e)?,
            }
            std::fs::write(manifests.join(Manifest::file_name(1)), b).map_err(|e| e.to_string())?;
            if let Err(e) = store.latest_manifest() {
                reason("Store::latest_manifest", e)?;
            }
            std::fs::write(root.join("STORE.json"), b).map_err(|e| e.to_string())?;
            let opened = Store::open(&root);
            std::fs::write(root.join("STORE.json"), &info).map_err(|e| e.to_string())?;
            if let Err(e) = opened {
                reason("Store::open", e)?;
            }
            Ok(())
        },
    );
}
