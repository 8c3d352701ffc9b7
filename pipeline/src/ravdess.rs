//! RAVDESS file names: `MM-VV-EE-II-SS-RR-AA.wav`, every field validated.
//!
//! Modality (03 audio-only), vocal channel (01 speech, 02 song), emotion
//! (01-08; song has no disgust or surprised), intensity (01 normal, 02
//! strong; neutral has no strong), statement (01, 02), repetition (01, 02),
//! actor (01-24; odd male, even female).

use std::path::Path;

/// The eight RAVDESS emotions, by code 1-8.
pub use models::labels::EMOTIONS;

/// Highest actor number in RAVDESS.
pub const MAX_ACTOR: u32 = 24;

/// A parsed RAVDESS clip name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipName {
    /// Modality code (3 = audio only).
    pub modality: u32,
    /// Vocal channel (1 speech, 2 song).
    pub vocal_channel: u32,
    /// Emotion code 1-8.
    pub emotion: u32,
    /// Intensity (1 normal, 2 strong).
    pub intensity: u32,
    /// Statement (1, 2).
    pub statement: u32,
    /// Repetition (1, 2).
    pub repetition: u32,
    /// Actor 1-24.
    pub actor: u32,
}

/// Why a name is not a RAVDESS clip name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not seven two-digit fields.
    #[error("not a RAVDESS name (expected MM-VV-EE-II-SS-RR-AA.wav, seven two-digit fields)")]
    Shape,
    /// A field is out of range.
    #[error("{field} {value:02} is not valid ({allowed})")]
    Field {
        /// Field name.
        field: &'static str,
        /// Value found.
        value: u32,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The actor folder disagrees with the name.
    #[error("actor {name:02} in the name but the file is in folder {folder}")]
    Folder {
        /// Actor in the name.
        name: u32,
        /// The folder.
        folder: String,
    },
}

impl ClipName {
    /// Parses a clip id (a file stem like `03-01-05-01-02-01-12`).
    pub fn parse(stem: &str) -> Result<ClipName, NameError> {
        let fields: Vec<u32> = stem
            .split('-')
            .map(|f| {
                if f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()) {
                    f.parse::<u32>().map_err(|_| NameError::Shape)
                } else {
                    Err(NameError::Shape)
                }
            })
            .collect::<Result<_, _>>()?;
        let [modality, vocal_channel, emotion, intensity, statement, repetition, actor] =
            fields[..]
        else {
            return Err(NameError::Shape);
        };
        let check = |field, value, ok: bool, allowed| {
            if ok {
                Ok(())
            } else {
                Err(NameError::Field {
                    field,
                    value,
                    allowed,
                })
            }
        };
        check(
            "modality",
            modality,
            modality == 3,
            "03 audio-only; 01/02 are video files",
        )?;
        check(
            "vocal channel",
            vocal_channel,
            (1..=2).contains(&vocal_channel),
            "01 speech or 02 song",
        )?;
        check("emotion", emotion, (1..=8).contains(&emotion), "01-08")?;
        check(
            "emotion",
            emotion,
            vocal_channel == 1 || emotion <= 6,
            "song has emotions 01-06 only",
        )?;
        check(
            "intensity",
            intensity,
            (1..=2).contains(&intensity),
            "01 normal or 02 strong",
        )?;
        check(
            "intensity",
            intensity,
            emotion != 1 || intensity == 1,
            "neutral has normal intensity only",
        )?;
        check(
            "statement",
            statement,
            (1..=2).contains(&statement),
            "01 or 02",
        )?;
        check(
            "repetition",
            repetition,
            (1..=2).contains(&repetition),
            "01 or 02",
        )?;
        check("actor", actor, (1..=MAX_ACTOR).contains(&actor), "01-24")?;
        Ok(ClipName {
            modality,
            vocal_channel,
            emotion,
            intensity,
            statement,
            repetition,
            actor,
        })
    }

    /// Parses a path: the stem must be a clip name, the extension `.wav`,
    /// and a parent folder named `Actor_NN` must agree with the actor field.
    pub fn parse_path(path: &Path) -> Result<(String, ClipName), NameError> {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or(NameError::Shape)?;
        let ext_ok = crate::audio::is_audio(path);
        if !ext_ok {
            return Err(NameError::Shape);
        }
        let name = ClipName::parse(stem)?;
        let folder = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|f| f.to_str());
        if let Some(folder) = folder {
            if let Some(num) = folder.strip_prefix("Actor_") {
                if num.parse::<u32>().ok() != Some(name.actor) {
                    return Err(NameError::Folder {
                        name: name.actor,
                        folder: folder.to_string(),
                    });
                }
            }
        }
        Ok((stem.to_string(), name))
    }

    /// `male` for odd actors, `female` for even.
    pub fn gender(&self) -> &'static str {
        if self.actor % 2 == 1 {
            "male"
        } else {
            "female"
        }
    }

    /// The emotion's name.
    pub fn emotion_name(&self) -> &'static str {
        EMOTIONS[(self.emotion - 1) as usize]
    }

    /// Formats the name back (`03-01-05-01-02-01-12`).
    pub fn id(&self) -> String {
        format!(
            "{:02}-{:02}-{:02}-{:02}-{:02}-{:02}-{:02}",
            self.modality,
            self.vocal_channel,
            self.emotion,
            self.intensity,
            self.statement,
            self.repetition,
            self.actor
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_name() {
        let n = ClipName::parse("03-01-05-02-01-02-12").unwrap();
        assert_eq!(
            (n.emotion_name(), n.intensity, n.actor, n.gender()),
            ("angry", 2, 12, "female")
        );
        assert_eq!(n.id(), "03-01-05-02-01-02-12");
        assert_eq!(
            ClipName::parse("03-01-08-01-01-01-07").unwrap().gender(),
            "male"
        );
    }

    #[test]
    fn rejects_each_bad_field_with_its_name() {
        let cases = [
            ("03-01-05-01-02-01", "seven"),
            ("03-01-5-01-02-01-12", "seven"),
            ("01-01-05-01-02-01-12", "modality"),
            ("03-03-05-01-02-01-12", "vocal channel"),
            ("03-01-09-01-02-01-12", "emotion"),
            ("03-02-08-01-02-01-12", "song"),
            ("03-01-01-02-02-01-12", "neutral"),
            ("03-01-05-03-02-01-12", "intensity"),
            ("03-01-05-01-03-01-12", "statement"),
            ("03-01-05-01-02-00-12", "repetition"),
            ("03-01-05-01-02-01-25", "actor"),
        ];
        for (stem, want) in cases {
            let err = ClipName::parse(stem).unwrap_err().to_string();
            assert!(err.contains(want), "{stem}: {err}");
        }
    }

    #[test]
    fn folder_must_agree_with_actor() {
        let ok = Path::new("/d/Actor_12/03-01-05-02-01-02-12.wav");
        assert_eq!(ClipName::parse_path(ok).unwrap().1.actor, 12);
        let flat = Path::new("/d/03-01-05-02-01-02-12.WAV");
        assert!(ClipName::parse_path(flat).is_ok());
        let bad = Path::new("/d/Actor_03/03-01-05-02-01-02-12.wav");
        assert!(ClipName::parse_path(bad)
            .unwrap_err()
            .to_string()
            .contains("Actor_03"));
        // Any audio format ser decodes; other files are not clips.
        assert!(ClipName::parse_path(Path::new("/d/03-01-05-02-01-02-12.flac")).is_ok());
        assert!(ClipName::parse_path(Path::new("/d/03-01-05-02-01-02-12.txt")).is_err());
    }
}
