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
    /// The speaker's gender (`male`, `female`; empty when unknown): folds
    /// are balanced by it.
    pub gender: String,
    /// Class index (stratification key).
    pub class: usize,
}

/// One fold: indices into the clip list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// 1-based fold number (what users type and see: `--fold 1` is the
    /// first fold; EmoBox's fold 1 tests actors 1, 11, 20 and 21).
    pub number: usize,
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

/// SplitMix64: a tiny seeded generator for shuffles and augmentation
/// (same seed, same numbers).
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1) (53 random bits).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform between `range.0` and `range.1` (one [`SplitMix::unit`]).
    pub fn uniform(&mut self, range: (f64, f64)) -> f64 {
        range.0 + self.unit() * (range.1 - range.0)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
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
        number: 1,
        train,
        test,
    }
}

/// Speaker-independent folds: fold `k + 1` tests on the actors of
/// `groups[k]` and trains on everyone else. Folds with no test clips are
/// skipped (the others keep their numbers).
pub fn actor_folds(clips: &[SplitClip], groups: &[Vec<u32>]) -> Vec<Fold> {
    groups
        .iter()
        .enumerate()
        .filter_map(|(k, group)| {
            let group: BTreeSet<u32> = group.iter().copied().collect();
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..clips.len()).partition(|&i| group.contains(&clips[i].actor));
            (!test.is_empty()).then_some(Fold {
                number: k + 1,
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

/// `k` groups of the actors present, balanced: each group gets as even a
/// share of each gender as `k` allows (so an even `k` never makes a
/// one-gender test fold), and within that the fewest clips so far. Actors
/// are placed largest first (clip count), ties by actor number, so the
/// grouping is deterministic.
pub fn balanced_groups(clips: &[SplitClip], k: usize) -> Vec<Vec<u32>> {
    let k = k.max(1);
    // actor -> (gender, clips)
    let mut actors: BTreeMap<u32, (&str, usize)> = BTreeMap::new();
    for c in clips {
        actors.entry(c.actor).or_insert((c.gender.as_str(), 0)).1 += 1;
    }
    let mut order: Vec<(u32, &str, usize)> =
        actors.into_iter().map(|(a, (g, n))| (a, g, n)).collect();
    order.sort_by(|a, b| a.1.cmp(b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    let mut groups = vec![Vec::new(); k];
    let mut sizes = vec![0usize; k];
    let mut by_gender: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (actor, gender, n) in order {
        let counts = by_gender.entry(gender).or_insert_with(|| vec![0; k]);
        let g = (0..k)
            .min_by_key(|&g| (counts[g], sizes[g], g))
            .unwrap_or(0);
        counts[g] += 1;
        sizes[g] += n;
        groups[g].push(actor);
    }
    for g in &mut groups {
        g.sort_unstable();
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
                    gender: if actor % 2 == 1 { "male" } else { "female" }.into(),
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
            assert!(tr.is_disjoint(&te), "fold {}: {tr:?} vs {te:?}", f.number);
            assert_eq!(f.train.len() + f.test.len(), c.len());
        }
        let only_high = actor_folds(&c, &[vec![20, 21]]);
        assert!(only_high.is_empty(), "a fold with no test clips is skipped");
    }

    /// RAVDESS numbers men odd and women even: dealing actors round-robin
    /// made every test fold of an even `--folds K` one gender.
    #[test]
    fn regression_even_fold_counts_mix_genders() {
        let c = clips();
        for k in [2, 4] {
            let groups = balanced_groups(&c, k);
            assert_eq!(groups.len(), k);
            let mut all: Vec<u32> = groups.concat();
            all.sort_unstable();
            assert_eq!(all, (1..=8).collect::<Vec<_>>(), "every actor once");
            for g in &groups {
                let men = g.iter().filter(|&&a| a % 2 == 1).count();
                assert_eq!(men * 2, g.len(), "k={k}: {g:?} is not half men");
            }
        }
        assert_eq!(
            balanced_groups(&c, 2),
            vec![vec![1, 2, 5, 6], vec![3, 4, 7, 8]]
        );
    }

    #[test]
    fn balanced_groups_even_out_clip_counts() {
        // Two big speakers and four small ones, one gender: the big ones
        // go to different groups and the small ones fill the other.
        let mut c = Vec::new();
        for (actor, n) in [(1u32, 40usize), (2, 40), (3, 10), (4, 10), (5, 10), (6, 10)] {
            for i in 0..n {
                c.push(SplitClip {
                    clip_id: format!("{actor}-{i}"),
                    actor,
                    gender: String::new(),
                    class: 0,
                });
            }
        }
        let g = balanced_groups(&c, 2);
        let size = |g: &[u32]| c.iter().filter(|x| g.contains(&x.actor)).count();
        assert_eq!(size(&g[0]), 60);
        assert_eq!(size(&g[1]), 60);
    }
}
