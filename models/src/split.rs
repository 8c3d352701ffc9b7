//! Train/test splits at the clip level, so a clip's clean and noisy
//! copies always fall on the same side.

use std::collections::{BTreeMap, BTreeSet};

/// One clip as the splitter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitClip {
    /// Clip id.
    pub clip_id: String,
    /// Speaker.
    pub actor: u32,
    /// Class index (stratification key).
    pub class: usize,
}

/// One fold: indices into the clip list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// 0-based fold number.
    pub index: usize,
    /// Training clips.
    pub train: Vec<usize>,
    /// Test clips.
    pub test: Vec<usize>,
}

/// EmoBox's six speaker-independent RAVDESS folds (test actors).
pub const EMOBOX_FOLDS: [[u32; 4]; 6] = [
    [1, 11, 20, 21],
    [4, 10, 12, 14],
    [8, 9, 19, 23],
    [3, 5, 7, 24],
    [2, 15, 16, 18],
    [6, 13, 17, 22],
];

/// SplitMix64: a tiny seeded generator for shuffles (same seed, same split).
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Fisher-Yates.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Stratified random split: in each class, `test_fraction` of the clips
/// (rounded) go to test, chosen by a shuffle seeded with `seed`. This is
/// the paper's protocol (75/25, seed 42); speakers appear on both sides.
pub fn random_split(clips: &[SplitClip], test_fraction: f64, seed: u64) -> Fold {
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, c) in clips.iter().enumerate() {
        by_class.entry(c.class).or_default().push(i);
    }
    let mut rng = SplitMix(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (_, mut idx) in by_class {
        idx.sort_by(|&a, &b| clips[a].clip_id.cmp(&clips[b].clip_id));
        rng.shuffle(&mut idx);
        let n_test = (idx.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Fold {
        index: 0,
        train,
        test,
    }
}

/// Speaker-independent folds: fold k tests on the actors of `groups[k]`
/// and trains on everyone else. Folds with no test clips are skipped.
pub fn actor_folds(clips: &[SplitClip], groups: &[Vec<u32>]) -> Vec<Fold> {
    groups
        .iter()
        .enumerate()
        .filter_map(|(k, group)| {
            let group: BTreeSet<u32> = group.iter().copied().collect();
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..clips.len()).partition(|&i| group.contains(&clips[i].actor));
            (!test.is_empty()).then_some(Fold {
                index: k,
                train,
                test,
            })
        })
        .collect()
}

/// The default actor groups: EmoBox's six folds.
pub fn emobox_groups() -> Vec<Vec<u32>> {
    EMOBOX_FOLDS.iter().map(|g| g.to_vec()).collect()
}

/// `k` groups of the actors present, dealt round-robin in actor order.
pub fn round_robin_groups(clips: &[SplitClip], k: usize) -> Vec<Vec<u32>> {
    let actors: BTreeSet<u32> = clips.iter().map(|c| c.actor).collect();
    let mut groups = vec![Vec::new(); k.max(1)];
    for (i, a) in actors.into_iter().enumerate() {
        groups[i % k.max(1)].push(a);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clips() -> Vec<SplitClip> {
        (1..=8)
            .flat_map(|actor| {
                (0..60).map(move |i| SplitClip {
                    clip_id: format!("{actor:02}-{i:02}"),
                    actor,
                    class: i % 7,
                })
            })
            .collect()
    }

    #[test]
    fn random_split_is_stratified_seeded_and_complete() {
        let c = clips();
        let f = random_split(&c, 0.25, 42);
        assert_eq!(f.train.len() + f.test.len(), c.len());
        let all: BTreeSet<usize> = f.train.iter().chain(&f.test).copied().collect();
        assert_eq!(all.len(), c.len(), "every clip on exactly one side");
        for class in 0..7 {
            let n = c.iter().filter(|x| x.class == class).count();
            let t = f.test.iter().filter(|&&i| c[i].class == class).count();
            assert_eq!(t, (n as f64 * 0.25).round() as usize, "class {class}");
        }
        assert_eq!(f, random_split(&c, 0.25, 42));
        assert_ne!(f, random_split(&c, 0.25, 7));
    }

    #[test]
    fn actor_folds_never_share_a_speaker_and_skip_empty_folds() {
        let c = clips();
        let folds = actor_folds(&c, &emobox_groups());
        // Actors 1-8 have someone in each of the six EmoBox folds.
        assert_eq!(folds.len(), 6);
        for f in &folds {
            let tr: BTreeSet<u32> = f.train.iter().map(|&i| c[i].actor).collect();
            let te: BTreeSet<u32> = f.test.iter().map(|&i| c[i].actor).collect();
            assert!(tr.is_disjoint(&te), "fold {}: {tr:?} vs {te:?}", f.index);
            assert_eq!(f.train.len() + f.test.len(), c.len());
        }
        let only_high = actor_folds(&c, &[vec![20, 21]]);
        assert!(only_high.is_empty(), "a fold with no test clips is skipped");
        let rr = round_robin_groups(&c, 4);
        assert_eq!(rr, vec![vec![1, 5], vec![2, 6], vec![3, 7], vec![4, 8]]);
    }
}
