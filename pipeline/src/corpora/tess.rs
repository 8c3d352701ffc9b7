//! TESS: `OAF_back_angry.wav` (speaker OAF or YAF, the word, the emotion:
//! angry, disgust, fear, happy, neutral, ps (pleasant surprise), sad),
//! usually in one folder per speaker and emotion. Both speakers are women.

use std::path::Path;

use super::{emotion_code, stem, Labels};

pub(super) fn label(path: &Path) -> Result<Labels, String> {
    let stem = stem(path)?;
    let mut f = stem.split('_');
    let (Some(speaker), Some(word), Some(emotion), None) = (f.next(), f.next(), f.next(), f.next())
    else {
        return Err("not a TESS name (expected OAF_word_emotion.wav)".into());
    };
    let actor = match speaker {
        "OAF" => 2001,
        "YAF" => 2002,
        _ => {
            return Err(format!(
                "speaker {speaker} is not a TESS speaker (OAF, YAF)"
            ))
        }
    };
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("word `{word}` is not a word"));
    }
    let e = emotion.to_ascii_lowercase();
    if !["angry", "disgust", "fear", "happy", "neutral", "ps", "sad"].contains(&e.as_str()) {
        return Err(format!(
            "emotion {emotion} is not valid (angry, disgust, fear, happy, neutral, ps, sad)"
        ));
    }
    let (code, name) = emotion_code(&e).ok_or_else(|| format!("emotion {emotion}"))?;
    Ok(Labels {
        clip_id: stem.to_string(),
        speaker: speaker.into(),
        actor,
        gender: "female".into(),
        emotion: code,
        emotion_name: name,
        ravdess: [0; 5],
    })
}
