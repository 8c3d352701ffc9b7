//! EmoDB: `03a01Fa.wav`: speaker 03-16, text a01-a07 or b01-b10, emotion
//! letter (German: W anger, L boredom, E disgust, A fear, F happiness, T
//! sadness, N neutral), version letter. Speakers 03, 10, 11, 12, 15 are
//! men; 08, 09, 13, 14, 16 women.

use std::path::Path;

use super::{emotion_code, stem, Labels};

const SPEAKERS: [(u32, &str); 10] = [
    (3, "male"),
    (8, "female"),
    (9, "female"),
    (10, "male"),
    (11, "male"),
    (12, "male"),
    (13, "female"),
    (14, "female"),
    (15, "male"),
    (16, "female"),
];

pub(super) fn label(path: &Path) -> Result<Labels, String> {
    let stem = stem(path)?;
    let b = stem.as_bytes();
    if b.len() != 7 || !stem.is_ascii() {
        return Err("not an EmoDB name (expected 03a01Fa.wav)".into());
    }
    let speaker = &stem[0..2];
    let n: u32 = speaker
        .parse()
        .map_err(|_| "not an EmoDB name (expected 03a01Fa.wav)".to_string())?;
    let gender = SPEAKERS
        .iter()
        .find(|(s, _)| *s == n)
        .map(|(_, g)| *g)
        .ok_or_else(|| format!("speaker {speaker} is not an EmoDB speaker (03, 08-16)"))?;
    let text = &stem[2..5];
    let text_ok = match (b[2], text[1..].parse::<u32>()) {
        (b'a', Ok(k)) => (1..=7).contains(&k),
        (b'b', Ok(k)) => (1..=10).contains(&k),
        _ => false,
    };
    if !text_ok {
        return Err(format!("text {text} is not valid (a01-a07, b01-b10)"));
    }
    let word = match b[5] {
        b'W' => "anger",
        b'L' => "boredom",
        b'E' => "disgust",
        b'A' => "fear",
        b'F' => "happiness",
        b'T' => "sadness",
        b'N' => "neutral",
        c => {
            return Err(format!(
                "emotion letter {} is not valid (W, L, E, A, F, T, N)",
                c as char
            ))
        }
    };
    if !b[6].is_ascii_lowercase() {
        return Err(format!(
            "version {} is not a lowercase letter",
            b[6] as char
        ));
    }
    let (code, name) = emotion_code(word).ok_or_else(|| format!("emotion {word}"))?;
    Ok(Labels {
        clip_id: stem.to_string(),
        speaker: speaker.into(),
        actor: 4000 + n,
        gender: gender.into(),
        emotion: code,
        emotion_name: name,
        ravdess: [0; 5],
    })
}
