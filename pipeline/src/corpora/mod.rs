//! Corpus readers: each turns a file's name (and folder) into its labels,
//! validating every field; a name it cannot parse is a reject with the
//! reason, never a guess.
//!
//! | corpus | names | speakers (store ids) | gender |
//! |---|---|---|---|
//! | `ravdess` | `03-01-05-01-02-01-12.wav` | actors 01-24 (1-24) | odd male, even female |
//! | `crema-d` | `1001_DFA_ANG_XX.wav` | 1001-1091 (same) | from `VideoDemographics.csv` in the data folder, else unknown |
//! | `tess` | `OAF_back_angry.wav` (folders per speaker/emotion) | OAF, YAF (2001, 2002) | female |
//! | `savee` | `DC_a01.wav` or `DC/a01.wav` | DC, JE, JK, KL (3001-3004) | male |
//! | `emodb` | `03a01Fa.wav` | 03-16 (4003-4016) | from the speaker number |
//! | `csv:FILE` | a manifest `path,emotion,speaker[,gender][,split]` | sorted names (10001, …) | the `gender` column ([`GENDERS`]), empty for unknown |
//!
//! Emotions map onto one vocabulary ([`emotion_code`]): RAVDESS's eight
//! (neutral, calm, happy, sad, angry, fearful, disgust, surprised: codes
//! 1-8) and a corpus's own extras kept as themselves (`boredom` 9, any other
//! 10, with its name in `emotion_name`).

mod cremad;
mod emodb;
mod manifest;
mod savee;
mod tess;

use std::path::{Path, PathBuf};

use crate::ravdess::ClipName;

pub use manifest::{read_manifest, read_manifest_with, ManifestOptions, ManifestRow, GENDERS};

/// Which reader a data folder is read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorpusKind {
    /// RAVDESS.
    Ravdess,
    /// CREMA-D.
    CremaD,
    /// TESS (Toronto emotional speech set).
    Tess,
    /// SAVEE (Surrey audio-visual expressed emotion).
    Savee,
    /// EmoDB (Berlin database of emotional speech).
    EmoDb,
    /// Any corpus, from a CSV/TSV manifest.
    Csv(PathBuf),
}

impl std::str::FromStr for CorpusKind {
    type Err = String;

    /// Parses `ravdess`, `crema-d`, `tess`, `savee`, `emodb` or `csv:FILE`.
    fn from_str(s: &str) -> Result<CorpusKind, String> {
        match s {
            "ravdess" => Ok(CorpusKind::Ravdess),
            "crema-d" | "cremad" => Ok(CorpusKind::CremaD),
            "tess" => Ok(CorpusKind::Tess),
            "savee" => Ok(CorpusKind::Savee),
            "emodb" | "emo-db" => Ok(CorpusKind::EmoDb),
            _ => match s.strip_prefix("csv:") {
                Some(f) if !f.is_empty() => Ok(CorpusKind::Csv(PathBuf::from(f))),
                _ => Err(format!(
                    "unknown corpus `{s}`: use auto, ravdess, crema-d, tess, savee, emodb or csv:FILE"
                )),
            },
        }
    }
}

impl CorpusKind {
    /// The corpus name written to `metadata.parquet` (a manifest's file stem).
    pub fn name(&self) -> String {
        match self {
            CorpusKind::Ravdess => "ravdess".into(),
            CorpusKind::CremaD => "crema-d".into(),
            CorpusKind::Tess => "tess".into(),
            CorpusKind::Savee => "savee".into(),
            CorpusKind::EmoDb => "emodb".into(),
            CorpusKind::Csv(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "csv".into()),
        }
    }

    /// The readers that recognise corpora by their file names.
    pub fn by_name() -> [CorpusKind; 5] {
        [
            CorpusKind::Ravdess,
            CorpusKind::CremaD,
            CorpusKind::EmoDb,
            CorpusKind::Savee,
            CorpusKind::Tess,
        ]
    }
}

/// A file's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Clip id: the file stem (RAVDESS, CREMA-D, EmoDB, TESS), or
    /// `<speaker>_<stem>` where stems repeat across speakers (SAVEE,
    /// manifests).
    pub clip_id: String,
    /// The speaker as the corpus names it.
    pub speaker: String,
    /// Store-wide speaker number (see the module table).
    pub actor: u32,
    /// `male`, `female`, or empty.
    pub gender: String,
    /// Emotion code ([`emotion_code`]).
    pub emotion: u32,
    /// Emotion name in the shared vocabulary (extras as themselves).
    pub emotion_name: String,
    /// RAVDESS's other fields (0 for other corpora): modality, vocal
    /// channel, intensity, statement, repetition.
    pub ravdess: [u32; 5],
}

/// The shared vocabulary's code and name for an emotion word of any
/// corpus (case-insensitive, English synonyms); `None` if the word is not
/// an emotion name at all.
pub fn emotion_code(word: &str) -> Option<(u32, String)> {
    let w = word.trim().to_ascii_lowercase();
    let code = match w.as_str() {
        "neutral" | "neu" => 1,
        "calm" => 2,
        "happy" | "happiness" | "joy" | "hap" => 3,
        "sad" | "sadness" => 4,
        "angry" | "anger" | "ang" => 5,
        "fearful" | "fear" | "afraid" | "anxiety" | "fea" => 6,
        "disgust" | "disgusted" | "dis" => 7,
        "surprised" | "surprise" | "ps" | "pleasant_surprise" | "pleasant surprise" => 8,
        "boredom" | "bored" => 9,
        "" => return None,
        other
            if other
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_' || c == ' ') =>
        {
            return Some((10, other.to_string()));
        }
        _ => return None,
    };
    Some((code, name_of(code).to_string()))
}

/// The vocabulary's name of a code.
pub fn name_of(code: u32) -> &'static str {
    models::labels::emotion_name(code).unwrap_or("other")
}

/// Labels `path` (a file under `root`) as corpus `kind`. The error is one
/// line saying why the name is not one of the corpus's.
pub fn label(kind: &CorpusKind, path: &Path, root: &Path) -> Result<Labels, String> {
    match kind {
        CorpusKind::Ravdess => {
            let (clip_id, n) = ClipName::parse_path(path).map_err(|e| e.to_string())?;
            Ok(Labels {
                clip_id,
                speaker: format!("{:02}", n.actor),
                actor: n.actor,
                gender: n.gender().into(),
                emotion: n.emotion,
                emotion_name: n.emotion_name().into(),
                ravdess: [
                    n.modality,
                    n.vocal_channel,
                    n.intensity,
                    n.statement,
                    n.repetition,
                ],
            })
        }
        CorpusKind::CremaD => cremad::label(path, root),
        CorpusKind::Tess => tess::label(path),
        CorpusKind::Savee => savee::label(path),
        CorpusKind::EmoDb => emodb::label(path),
        CorpusKind::Csv(_) => Err("manifest corpora are labelled from their manifest".into()),
    }
}

/// The corpus most of `files` are named as (at least half of them), or `None`.
pub fn detect(files: &[PathBuf], root: &Path) -> Option<(CorpusKind, usize)> {
    CorpusKind::by_name()
        .into_iter()
        .map(|k| {
            let n = files.iter().filter(|f| label(&k, f, root).is_ok()).count();
            (k, n)
        })
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0 && 2 * n >= files.len())
}

/// The file's stem, or an error naming the path.
fn stem(path: &Path) -> Result<&str, String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| "no file name".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_merges_synonyms_and_keeps_extras() {
        assert_eq!(emotion_code("Anger"), Some((5, "angry".into())));
        assert_eq!(emotion_code("ps"), Some((8, "surprised".into())));
        assert_eq!(emotion_code("boredom"), Some((9, "boredom".into())));
        assert_eq!(emotion_code("contempt"), Some((10, "contempt".into())));
        assert_eq!(emotion_code("3"), None);
        assert_eq!(emotion_code(""), None);
        assert_eq!(
            "csv:/x/my-corpus.tsv".parse::<CorpusKind>().unwrap().name(),
            "my-corpus"
        );
        assert!("iemocap".parse::<CorpusKind>().is_err());
    }
}
