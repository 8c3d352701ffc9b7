//! Label sets: how (emotion, gender) becomes a class. A set is named in a
//! run's config; [`LabelSet::resolve`] turns it into the run's classes
//! once the emotions of its clips are known, so a model's head has as
//! many classes as the run keeps (the paper's 14, 8 or 7, or the emotions
//! a corpus or a cross-corpus run has).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

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

/// The name of an emotion code with one (RAVDESS's 1-8, `boredom` 9).
pub fn emotion_name(code: u32) -> Option<&'static str> {
    match code {
        1..=8 => Some(EMOTIONS[(code - 1) as usize]),
        9 => Some("boredom"),
        _ => None,
    }
}

/// The code of an emotion name [`emotion_name`] gives.
pub fn emotion_of(name: &str) -> Option<u32> {
    (1..=9).find(|&c| emotion_name(c) == Some(name))
}

/// Which classes a model predicts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelSet {
    /// 14 classes, gender x emotion with calm merged into neutral (the paper).
    GenderEmotion14,
    /// The 8 RAVDESS emotions.
    Emotion8,
    /// 7 emotions, calm merged into neutral.
    Emotion7,
    /// One class per emotion the run's clips have (a corpus's own set; a
    /// cross-corpus run's shared one), in code order.
    Emotions,
    /// These emotions, in this order (`neutral,happy,sad,angry`); clips
    /// of other emotions are left out.
    List(Vec<String>),
}

impl FromStr for LabelSet {
    type Err = String;

    /// `gender-emotion14`, `emotion8`, `emotion7`, `emotions`, or a
    /// comma-separated list of emotion names.
    fn from_str(s: &str) -> Result<LabelSet, String> {
        match s {
            "gender-emotion14" => Ok(LabelSet::GenderEmotion14),
            "emotion8" => Ok(LabelSet::Emotion8),
            "emotion7" => Ok(LabelSet::Emotion7),
            "emotions" => Ok(LabelSet::Emotions),
            list if list.contains(',') => {
                let names: Vec<String> = list.split(',').map(|n| n.trim().to_string()).collect();
                for (i, n) in names.iter().enumerate() {
                    if emotion_of(n).is_none() {
                        return Err(format!(
                            "unknown emotion `{n}` in labels `{s}`: use {}, boredom",
                            EMOTIONS.join(", ")
                        ));
                    }
                    if names[..i].contains(n) {
                        return Err(format!("labels `{s}` name `{n}` twice"));
                    }
                }
                Ok(LabelSet::List(names))
            }
            _ => Err(format!(
                "unknown labels `{s}`: use gender-emotion14, emotion8, emotion7, emotions \
                 or a list such as `neutral,happy,sad,angry`"
            )),
        }
    }
}

impl fmt::Display for LabelSet {
    /// The name [`FromStr`] reads back (a list as `a,b,c`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelSet::GenderEmotion14 => f.write_str("gender-emotion14"),
            LabelSet::Emotion8 => f.write_str("emotion8"),
            LabelSet::Emotion7 => f.write_str("emotion7"),
            LabelSet::Emotions => f.write_str("emotions"),
            LabelSet::List(names) => f.write_str(&names.join(",")),
        }
    }
}

impl serde::Serialize for LabelSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LabelSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LabelSet, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl LabelSet {
    /// The name in run folders: a list's names joined by `+`.
    pub fn name(&self) -> String {
        match self {
            LabelSet::List(names) => names.join("+"),
            other => other.to_string(),
        }
    }

    /// The classes for clips whose emotions are `present` (codes): the
    /// fixed sets ignore it; `emotions` keeps those with a name (at least
    /// two); a list keeps its own.
    pub fn resolve(&self, present: &BTreeSet<u32>) -> Result<Labels, String> {
        let codes: Vec<u32> = match self {
            LabelSet::Emotions => present
                .iter()
                .copied()
                .filter(|&c| emotion_name(c).is_some())
                .collect(),
            LabelSet::List(names) => names.iter().filter_map(|n| emotion_of(n)).collect(),
            fixed => {
                return Ok(Labels {
                    classes: fixed_classes(fixed),
                    set: fixed.clone(),
                    codes: Vec::new(),
                })
            }
        };
        if codes.len() < 2 {
            return Err(format!(
                "labels `{self}` give {} class(es); a model needs at least 2",
                codes.len()
            ));
        }
        Ok(Labels {
            classes: codes
                .iter()
                .filter_map(|&c| emotion_name(c).map(str::to_string))
                .collect(),
            set: self.clone(),
            codes,
        })
    }
}

/// Class names of the fixed sets (`female_angry` … for the 14-class set).
fn fixed_classes(set: &LabelSet) -> Vec<String> {
    let emotions: Vec<&str> = match set {
        LabelSet::Emotion8 => EMOTIONS.to_vec(),
        _ => EMOTIONS.iter().copied().filter(|e| *e != "calm").collect(),
    };
    match set {
        LabelSet::GenderEmotion14 => ["female", "male"]
            .iter()
            .flat_map(|g| emotions.iter().map(move |e| format!("{g}_{e}")))
            .collect(),
        _ => emotions.iter().map(|e| e.to_string()).collect(),
    }
}

/// A label set resolved for a run: its class names and how a clip gets one.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    set: LabelSet,
    classes: Vec<String>,
    /// Emotion code of each class (`emotions` and lists).
    codes: Vec<u32>,
}

impl Labels {
    /// Class names in class order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The class of a clip, from its emotion code and gender
    /// (`male`/`female`); `None` for a clip the set leaves out.
    pub fn class_of(&self, emotion: u32, gender: &str) -> Option<usize> {
        let merged = |e: u32| if e <= 2 { 0 } else { (e - 2) as usize }; // calm -> neutral
        let ravdess = (1..=8).contains(&emotion);
        match &self.set {
            LabelSet::Emotion8 => ravdess.then(|| (emotion - 1) as usize),
            LabelSet::Emotion7 => ravdess.then(|| merged(emotion)),
            LabelSet::GenderEmotion14 => {
                let g = match gender {
                    "female" => 0,
                    "male" => 1,
                    _ => return None,
                };
                ravdess.then(|| g * 7 + merged(emotion))
            }
            LabelSet::Emotions | LabelSet::List(_) => self.codes.iter().position(|&c| c == emotion),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(set: LabelSet) -> Labels {
        set.resolve(&BTreeSet::new()).unwrap()
    }

    #[test]
    fn fourteen_classes_merge_calm_into_neutral() {
        let l = fixed(LabelSet::GenderEmotion14);
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
            assert_eq!(set.name().parse::<LabelSet>().unwrap(), set);
            let l = fixed(set.clone());
            let n = l.classes().len();
            for e in 1..=8 {
                for g in ["male", "female"] {
                    let c = l.class_of(e, g).unwrap();
                    assert!(c < n);
                    let name = &l.classes()[c];
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

    #[test]
    fn a_corpus_keeps_its_own_emotions_in_code_order() {
        // A manifest with four emotions, and a code with no name (10).
        let present = BTreeSet::from([5, 1, 4, 3, 10]);
        let l = LabelSet::Emotions.resolve(&present).unwrap();
        assert_eq!(l.classes(), ["neutral", "happy", "sad", "angry"]);
        assert_eq!(l.class_of(5, ""), Some(3));
        assert_eq!(l.class_of(2, ""), None, "calm is not in this data");
        assert_eq!(l.class_of(10, ""), None);
        let one = LabelSet::Emotions
            .resolve(&BTreeSet::from([3]))
            .unwrap_err();
        assert!(one.contains("at least 2"), "{one}");
    }

    #[test]
    fn a_list_keeps_its_order_and_round_trips_through_its_name() {
        let set: LabelSet = "angry,neutral,boredom".parse().unwrap();
        assert_eq!(set.to_string(), "angry,neutral,boredom");
        assert_eq!(set.name(), "angry+neutral+boredom");
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<LabelSet>(&json).unwrap(), set);
        let l = set.resolve(&BTreeSet::new()).unwrap();
        assert_eq!(l.classes(), ["angry", "neutral", "boredom"]);
        assert_eq!(l.class_of(9, "male"), Some(2));
        assert_eq!(l.class_of(3, "male"), None);
        for bad in ["angry,grumpy", "angry,angry", "joyful", ""] {
            assert!(bad.parse::<LabelSet>().is_err(), "{bad}");
        }
        // Old configs read as before.
        let old: LabelSet = serde_json::from_str("\"gender-emotion14\"").unwrap();
        assert_eq!(old, LabelSet::GenderEmotion14);
    }
}
