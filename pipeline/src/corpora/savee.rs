//! SAVEE: `DC_a01.wav`, or `a01.wav` in a speaker folder `DC/`: speaker DC,
//! JE, JK or KL (all men), emotion a (anger), d (disgust), f (fear), h
//! (happiness), n (neutral), sa (sadness), su (surprise), then a sentence
//! number. The clip id is always `DC_a01`.

use std::path::Path;

use super::{emotion_code, stem, Labels};

const SPEAKERS: [&str; 4] = ["DC", "JE", "JK", "KL"];

pub(super) fn label(path: &Path) -> Result<Labels, String> {
    let stem = stem(path)?;
    let (speaker, rest) = match stem.split_once('_') {
        Some((s, r)) => (s.to_string(), r),
        None => {
            let folder = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            (folder.to_string(), stem)
        }
    };
    let Some(idx) = SPEAKERS.iter().position(|s| *s == speaker) else {
        return Err("not a SAVEE name (expected DC_a01.wav, or a01.wav in folder DC)".into());
    };
    let letters: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let number = &rest[letters.len()..];
    let word = match letters.as_str() {
        "a" => "anger",
        "d" => "disgust",
        "f" => "fear",
        "h" => "happiness",
        "n" => "neutral",
        "sa" => "sadness",
        "su" => "surprise",
        _ => {
            return Err(format!(
                "emotion `{letters}` is not valid (a, d, f, h, n, sa, su)"
            ))
        }
    };
    if number.len() != 2 || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("sentence number `{number}` is not two digits"));
    }
    let (code, name) = emotion_code(word).ok_or_else(|| format!("emotion {word}"))?;
    Ok(Labels {
        clip_id: format!("{speaker}_{rest}"),
        speaker: speaker.clone(),
        actor: 3001 + idx as u32,
        gender: "male".into(),
        emotion: code,
        emotion_name: name,
        ravdess: [0; 5],
    })
}
