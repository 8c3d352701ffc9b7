//! The `features` stage: MFCC (and optionally log-mel) for a clean and a
//! noisy copy of every clip, written as Parquet shards, incrementally.
//!
//! A shard is one actor's clips in one feature set; its digest hashes the
//! set id and the (clip id, fingerprint) pairs it was computed from, so a
//! changed or added WAV rebuilds only its actor's shard and a changed
//! config makes a new set.

mod config;
mod extract;
mod plan;
mod run;
mod set;

pub use config::{FeatureConfig, ShardSpec, FEATURE_CODE_VERSION};
pub use extract::{
    clean_mfcc, clean_mfcc_of, compute_clip, load_resampled, mel_and_mfcc, resampled, Extractors,
};
pub use plan::{plan_shards, ShardPlan};
pub use run::{run_features, FeaturesReport, RunOptions};
pub use set::{pick_set, pick_set_with, read_feature_config};
