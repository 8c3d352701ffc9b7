//! The feature stage's config: saved as `features/set=<id>/config.json`,
//! and its hash is the set id.

use serde::{Deserialize, Serialize};
use store::fingerprint::short_id;

use crate::audio::ResamplerConfig;
use crate::dsp::augment::{Ranges, FIRST_LONGEST_ROOM, FIRST_LOUDEST_LEVEL, FIRST_SHAPED_NOISE};
use crate::dsp::noise::NoiseConfig;
use crate::dsp::MfccConfig;

/// Bumped when the feature code changes its output for the same config,
/// so that old sets are not mistaken for new ones.
pub const FEATURE_CODE_VERSION: u32 = 1;

/// Name of the training copies' variants: `aug1`..`augN`.
const COPY_PREFIX: &str = "aug";

/// Everything that determines a feature set's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// Rate features are computed at; `None` keeps each file's own rate.
    pub sample_rate: Option<u32>,
    /// STFT / mel / MFCC parameters.
    pub mfcc: MfccConfig,
    /// Also store the log-mel spectrogram (`mel_db` column).
    pub mel_db: bool,
    /// How the noisy copy is made.
    pub noise: NoiseConfig,
    /// Base seed of the noise (mixed with each clip id).
    pub seed: u64,
    /// Resampler used when `sample_rate` differs from the file's.
    pub resampler: ResamplerConfig,
    /// Training copies of each clip under random recording conditions
    /// ([`crate::dsp::augment`]), stored as variants `aug1`..`augN`. Left
    /// out of the config's JSON when 0, so sets without copies keep their ids.
    #[serde(skip_serializing_if = "is_zero")]
    pub augment: usize,
    /// Longest room of the training copies (RT60, s; their rooms are drawn
    /// from 0.2 s up to it). Left out of the JSON at the first chain's
    /// 0.8 s, so sets made before it keep their ids.
    #[serde(skip_serializing_if = "is_first_longest_room")]
    pub longest_room: f64,
    /// Loudest level of the training copies (RMS, dBFS; their levels are
    /// drawn from -60 dBFS up to it, peaks cut at full scale: above about
    /// -20 dBFS a recorder set too hot). Left out of the JSON at the first
    /// chain's -15 dBFS, so sets made before it keep their ids.
    #[serde(skip_serializing_if = "is_first_loudest_level")]
    pub loudest_level: f64,
    /// Share of the training copies' noise with the clip's own long-term
    /// spectrum instead of white or brown ([`crate::dsp::augment::speech_shaped`]).
    /// Left out of the JSON at the first chain's 0, so sets made before
    /// it keep their ids.
    #[serde(skip_serializing_if = "is_first_shaped_noise")]
    pub shaped_noise: f64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_first_longest_room(s: &f64) -> bool {
    *s == FIRST_LONGEST_ROOM
}

fn is_first_loudest_level(db: &f64) -> bool {
    *db == FIRST_LOUDEST_LEVEL
}

fn is_first_shaped_noise(p: &f64) -> bool {
    *p == FIRST_SHAPED_NOISE
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            sample_rate: Some(22050),
            mfcc: MfccConfig::default(),
            mel_db: false,
            noise: NoiseConfig::default(),
            seed: 42,
            resampler: ResamplerConfig::default(),
            augment: 0,
            longest_room: FIRST_LONGEST_ROOM,
            loudest_level: FIRST_LOUDEST_LEVEL,
            shaped_noise: FIRST_SHAPED_NOISE,
        }
    }
}

impl FeatureConfig {
    /// The ranges the training copies' chain draws within.
    pub fn ranges(&self) -> Ranges {
        Ranges {
            longest_room: self.longest_room,
            loudest_level: self.loudest_level,
            shaped_noise: self.shaped_noise,
        }
    }

    /// The variants a clip's rows come in: `clean`, `noisy`, then
    /// `aug1`..`augN`.
    pub fn variants(&self) -> Vec<String> {
        let mut v = vec!["clean".to_string(), "noisy".to_string()];
        v.extend((1..=self.augment).map(|k| format!("{COPY_PREFIX}{k}")));
        v
    }

    /// Whether `name` is a variant some feature config can make.
    pub fn is_variant_name(name: &str) -> bool {
        name == "clean" || name == "noisy" || FeatureConfig::copy_number(name).is_some()
    }

    /// Training copies a feature set needs to hold every one of
    /// `variants`: the largest `k` of their `augk` (0 for none).
    pub fn copies_for(variants: &[String]) -> usize {
        variants
            .iter()
            .filter_map(|v| FeatureConfig::copy_number(v))
            .max()
            .unwrap_or(0)
    }

    /// `k` of the training copy `augk` (`k` >= 1); `None` for any other name.
    pub fn copy_number(name: &str) -> Option<usize> {
        name.strip_prefix(COPY_PREFIX)
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|&k| k >= 1)
    }

    /// Checks every field; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        use crate::bounds as b;
        let m = &self.mfcc;
        b::N_FFT.check(m.n_fft)?;
        b::HOP_LENGTH.check(m.hop_length)?;
        if m.hop_length > m.n_fft {
            return Err(format!(
                "hop_length must be at most n_fft ({}), got {}",
                m.n_fft, m.hop_length
            ));
        }
        b::N_MELS.check(m.n_mels)?;
        b::N_MFCC.check(m.n_mfcc)?;
        b::AUGMENT.check(self.augment)?;
        b::LONGEST_ROOM.check(self.longest_room)?;
        b::LOUDEST_LEVEL.check(self.loudest_level)?;
        b::SHAPED_NOISE.check(self.shaped_noise)?;
        for (name, value, first) in [
            ("longest_room", self.longest_room, FIRST_LONGEST_ROOM),
            ("loudest_level", self.loudest_level, FIRST_LOUDEST_LEVEL),
            ("shaped_noise", self.shaped_noise, FIRST_SHAPED_NOISE),
        ] {
            if self.augment == 0 && value != first {
                return Err(format!(
                    "{name} shapes the training copies only: set augment too ({name} {value})"
                ));
            }
        }
        if let Some(sr) = self.sample_rate {
            if !b::SAMPLE_RATE.contains(sr) {
                return Err(format!(
                    "sample_rate must be {} or native, got {sr}",
                    b::SAMPLE_RATE.range()
                ));
            }
            self.mfcc.validate(sr).map_err(|e| e.to_string())?;
        } else {
            // Checked per file rate at run time; check the rate-free parts now.
            self.mfcc
                .validate(u32::MAX / 4)
                .map_err(|e| e.to_string())?;
        }
        self.noise.validate()?;
        self.resampler.validate()
    }

    /// The set id: a short hash of the config and [`FEATURE_CODE_VERSION`].
    pub fn id(&self) -> String {
        let body = serde_json::json!({ "code": FEATURE_CODE_VERSION, "config": self });
        short_id(body.to_string().as_bytes())
    }
}

/// One slice of the shards (`--shard K/N`, K from 1 to N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// This worker, 1..=count.
    pub index: usize,
    /// Workers.
    pub count: usize,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;

    /// Parses `K/N`.
    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected K/N, e.g. 2/8"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: K is not a number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: N is not a number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("`{s}`: need 1 <= K <= N"));
        }
        Ok(ShardSpec { index: k, count: n })
    }
}

impl std::fmt::Display for ShardSpec {
    /// `K/N`, as [`FromStr`](std::str::FromStr) reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl ShardSpec {
    /// Whether the shard at position `i` (in key order) is this worker's.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_changes_with_any_field_and_is_stable() {
        let a = FeatureConfig::default();
        assert_eq!(a.id(), FeatureConfig::default().id());
        assert_eq!(a.id().len(), 12);
        let mut b = a.clone();
        b.mfcc.n_mfcc = 20;
        assert_ne!(a.id(), b.id());
        let c = FeatureConfig {
            seed: 7,
            ..a.clone()
        };
        assert_ne!(a.id(), c.id());
        let d = FeatureConfig {
            augment: 2,
            ..a.clone()
        };
        assert_ne!(a.id(), d.id());
        assert_eq!(d.variants(), ["clean", "noisy", "aug1", "aug2"]);
    }

    #[test]
    fn regression_sets_without_training_copies_keep_their_ids() {
        // The default set's id before `augment` existed (ser 0.1.0, feature
        // code version 1): stores made then are not recomputed.
        assert_eq!(FeatureConfig::default().id(), "a704d8bd3ffc");
        let json = serde_json::to_string(&FeatureConfig::default()).unwrap();
        assert!(!json.contains("augment"), "{json}");
    }

    #[test]
    fn regression_training_copies_keep_their_set_until_their_ranges_change() {
        // `ser features --augment 2` before `longest_room`,
        // `loudest_level` and `shaped_noise` existed.
        let two = FeatureConfig {
            augment: 2,
            ..FeatureConfig::default()
        };
        assert_eq!(two.id(), "1231eb1092a8");
        type Set = fn(&mut FeatureConfig, f64);
        let ranges: [(&str, Set, f64, &str, [f64; 2]); 3] = [
            (
                "longest_room",
                |c, v| c.longest_room = v,
                1.2,
                "\"longest_room\":1.2",
                [9.0, 0.2],
            ),
            (
                "loudest_level",
                |c, v| c.loudest_level = v,
                -5.0,
                "\"loudest_level\":-5.0",
                [-31.0, 0.5],
            ),
            (
                "shaped_noise",
                |c, v| c.shaped_noise = v,
                0.5,
                "\"shaped_noise\":0.5",
                [-0.1, 1.5],
            ),
        ];
        // The set round 20 measured (`ser features --augment 2 --shaped-noise 0.5`).
        let shaped = FeatureConfig {
            shaped_noise: 0.5,
            ..two.clone()
        };
        assert_eq!(shaped.id(), "04a5914c9a68");
        for (name, set, value, in_json, wild) in ranges {
            let with = |base: &FeatureConfig, v: f64| {
                let mut c = base.clone();
                set(&mut c, v);
                c
            };
            let changed = with(&two, value);
            assert!(changed.validate().is_ok(), "{name}");
            assert_ne!(changed.id(), two.id(), "{name}");
            let json = serde_json::to_string(&changed).unwrap();
            assert!(json.contains(in_json), "{json}");
            assert_eq!(
                serde_json::from_str::<FeatureConfig>(&json).unwrap(),
                changed
            );
            // Without copies it shapes nothing: refused, not a new set.
            let alone = with(&FeatureConfig::default(), value);
            assert!(alone.validate().unwrap_err().contains(name), "{name}");
            for w in wild {
                let e = with(&two, w).validate().unwrap_err();
                assert!(e.contains(name), "{name} {w}: {e}");
            }
        }
    }

    #[test]
    fn config_json_round_trips_and_rejects_unknown_fields() {
        let a = FeatureConfig {
            sample_rate: None,
            ..FeatureConfig::default()
        };
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<FeatureConfig>(&s).unwrap(), a);
        let partial: FeatureConfig = serde_json::from_str(r#"{"sample_rate": 16000}"#).unwrap();
        assert_eq!(partial.mfcc, MfccConfig::default());
        assert!(serde_json::from_str::<FeatureConfig>(r#"{"n_mfc": 3}"#).is_err());
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = FeatureConfig {
            sample_rate: Some(100),
            ..FeatureConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("sample_rate"));
        let mut bad = FeatureConfig::default();
        bad.mfcc.hop_length = 0;
        assert!(bad.validate().unwrap_err().contains("hop_length"));
        let mut bad = FeatureConfig::default();
        bad.mfcc.hop_length = 4096;
        assert!(bad.validate().unwrap_err().contains("at most n_fft"));
        for (n_fft, n_mels) in [(0, 128), (1 << 20, 128), (2048, 0), (2048, 100_000)] {
            let mut bad = FeatureConfig::default();
            bad.mfcc.n_fft = n_fft;
            bad.mfcc.n_mels = n_mels;
            let e = bad.validate().unwrap_err();
            assert!(e.contains("n_fft") || e.contains("n_mels"), "{e}");
        }
    }

    #[test]
    fn shard_spec_parses_and_partitions() {
        let s: ShardSpec = "2/3".parse().unwrap();
        let mine: Vec<usize> = (0..8).filter(|&i| s.owns(i)).collect();
        assert_eq!(mine, vec![1, 4, 7]);
        for bad in ["0/3", "4/3", "x/3", "3", "1/0"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }
}
