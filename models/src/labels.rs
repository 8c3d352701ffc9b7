//! Label sets: how (emotion, gender) becomes a class.

/// Emotion names by RAVDESS code 1-8.
pub const EMOTIONS: [&str; 8] = [
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
];

/// Which classes a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LabelSet {
    /// 14 classes, gender x emotion with calm merged into neutral (the paper).
    #[serde(rename = "gender-emotion14")]
    GenderEmotion14,
    /// The 8 RAVDESS emotions.
    #[serde(rename = "emotion8")]
    Emotion8,
    /// 7 emotions, calm merged into neutral.
    #[serde(rename = "emotion7")]
    Emotion7,
}

impl LabelSet {
    /// Parses `gender-emotion14`, `emotion8` or `emotion7`.
    pub fn parse(s: &str) -> Result<LabelSet, String> {
        match s {
            "gender-emotion14" => Ok(LabelSet::GenderEmotion14),
            "emotion8" => Ok(LabelSet::Emotion8),
            "emotion7" => Ok(LabelSet::Emotion7),
            _ => Err(format!(
                "unknown labels `{s}`: use gender-emotion14, emotion8 or emotion7"
            )),
        }
    }

    /// The name `parse` accepts.
    pub fn name(self) -> &'static str {
        match self {
            LabelSet::GenderEmotion14 => "gender-emotion14",
            LabelSet::Emotion8 => "emotion8",
            LabelSet::Emotion7 => "emotion7",
        }
    }

    /// Emotion names after merging calm into neutral where the set does.
    fn emotions(self) -> Vec<&'static str> {
        match self {
            LabelSet::Emotion8 => EMOTIONS.to_vec(),
            _ => EMOTIONS.iter().copied().filter(|e| *e != "calm").collect(),
        }
    }

    /// Class names in class order (`female_angry` … for the 14-class set).
    pub fn classes(self) -> Vec<String> {
        let emotions = self.emotions();
        match self {
            LabelSet::GenderEmotion14 => ["female", "male"]
                .iter()
                .flat_map(|g| emotions.iter().map(move |e| format!("{g}_{e}")))
                .collect(),
            _ => emotions.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The class of a clip, from its emotion code (1-8) and gender
    /// (`male`/`female`); `None` for values outside RAVDESS.
    pub fn class_of(self, emotion: u32, gender: &str) -> Option<usize> {
        if !(1..=8).contains(&emotion) {
            return None;
        }
        let merged = |e: u32| if e <= 2 { 0 } else { (e - 2) as usize }; // calm -> neutral
        match self {
            LabelSet::Emotion8 => Some((emotion - 1) as usize),
            LabelSet::Emotion7 => Some(merged(emotion)),
            LabelSet::GenderEmotion14 => {
                let g = match gender {
                    "female" => 0,
                    "male" => 1,
                    _ => return None,
                };
                Some(g * 7 + merged(emotion))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourteen_classes_merge_calm_into_neutral() {
        let l = LabelSet::GenderEmotion14;
        let classes = l.classes();
        assert_eq!(classes.len(), 14);
        assert_eq!(classes[0], "female_neutral");
        assert_eq!(classes[13], "male_surprised");
        assert_eq!(l.class_of(2, "male"), l.class_of(1, "male"));
        assert_eq!(classes[l.class_of(5, "female").unwrap()], "female_angry");
        assert_eq!(l.class_of(9, "male"), None);
        assert_eq!(l.class_of(3, "other"), None);
    }

    #[test]
    fn every_code_maps_inside_its_set() {
        for set in [
            LabelSet::GenderEmotion14,
            LabelSet::Emotion8,
            LabelSet::Emotion7,
        ] {
            assert_eq!(LabelSet::parse(set.name()).unwrap(), set);
            let n = set.classes().len();
            for e in 1..=8 {
                for g in ["male", "female"] {
                    let c = set.class_of(e, g).unwrap();
                    assert!(c < n);
                    let name = &set.classes()[c];
                    let emo = if e == 2 && set != LabelSet::Emotion8 {
                        "neutral"
                    } else {
                        EMOTIONS[(e - 1) as usize]
                    };
                    assert!(name.ends_with(emo), "{set:?} {e} {g} -> {name}");
                }
            }
        }
    }
}
