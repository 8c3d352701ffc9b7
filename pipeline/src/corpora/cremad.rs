//! CREMA-D: `AAAA_SSS_EEE_LL.wav`: actor 1001-1091, one of 12 sentences,
//! emotion ANG/DIS/FEA/HAP/NEU/SAD, level LO/MD/HI/XX. Names carry no
//! gender: the corpus's `VideoDemographics.csv` (ActorID, Age, Sex, …), if
//! it is in the data folder, gives it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use super::{emotion_code, stem, Labels};

const SENTENCES: [&str; 12] = [
    "IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI",
];

/// `VideoDemographics.csv` of a data folder: actor -> `male`/`female`.
fn demographics(root: &Path) -> HashMap<u32, String> {
    static CACHE: Mutex<Option<(std::path::PathBuf, HashMap<u32, String>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((r, m)) = cache.as_ref() {
        if r == root {
            return m.clone();
        }
    }
    let mut m = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(root.join("VideoDemographics.csv")) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        let id = header.iter().position(|h| h == "actorid");
        let sex = header.iter().position(|h| h == "sex");
        if let (Some(id), Some(sex)) = (id, sex) {
            for line in lines {
                let f: Vec<&str> = line
                    .split(',')
                    .map(|v| v.trim().trim_matches('"'))
                    .collect();
                if let (Some(Ok(a)), Some(s)) = (f.get(id).map(|v| v.parse::<u32>()), f.get(sex)) {
                    m.insert(a, s.to_ascii_lowercase());
                }
            }
        }
    }
    *cache = Some((root.to_path_buf(), m.clone()));
    m
}

pub(super) fn label(path: &Path, root: &Path) -> Result<Labels, String> {
    let stem = stem(path)?;
    let f: Vec<&str> = stem.split('_').collect();
    let [actor, sentence, emotion, level] = f[..] else {
        return Err("not a CREMA-D name (expected AAAA_SSS_EEE_LL.wav)".into());
    };
    let a: u32 = actor
        .parse()
        .ok()
        .filter(|a| (1001..=1091).contains(a))
        .ok_or_else(|| format!("actor {actor} is not valid (1001-1091)"))?;
    if !SENTENCES.contains(&sentence) {
        return Err(format!("sentence {sentence} is not one of CREMA-D's 12"));
    }
    let (code, name) = match emotion {
        "ANG" | "DIS" | "FEA" | "HAP" | "NEU" | "SAD" => {
            emotion_code(emotion).ok_or_else(|| format!("emotion {emotion}"))?
        }
        _ => {
            return Err(format!(
                "emotion {emotion} is not valid (ANG, DIS, FEA, HAP, NEU, SAD)"
            ))
        }
    };
    if !["LO", "MD", "HI", "XX"].contains(&level) {
        return Err(format!("level {level} is not valid (LO, MD, HI, XX)"));
    }
    Ok(Labels {
        clip_id: stem.to_string(),
        speaker: actor.to_string(),
        actor: a,
        gender: demographics(root).get(&a).cloned().unwrap_or_default(),
        emotion: code,
        emotion_name: name,
        ravdess: [0; 5],
    })
}
