//! The stages of `ser` and the audio/DSP they need.
//!
//! - [`synth`]: a deterministic RAVDESS-named demo corpus;
//! - [`corpus`]: download, unpack and verify the real RAVDESS set;
//! - [`corpora`]: RAVDESS, CREMA-D, TESS, SAVEE, EmoDB and CSV-manifest
//!   readers (labels from names, one emotion vocabulary);
//! - [`metadata`]: label every file and read its header into `metadata.parquet`;
//! - [`features`]: librosa-compatible MFCC / log-mel of clean and noisy
//!   copies, written as Parquet shards, incrementally and in parallel;
//! - [`train`]: `ser train` (feature shards -> `runs/<run>/`) and `ser predict`;
//! - [`report`]: the run table and the paper's figures (PNG); [`query`]: SQL;
//! - [`answers`]: the columns of every answer (`predict`, `listen`, `serve`);
//! - [`serve`]: `ser serve`, the local web page and its JSON API;
//! - [`timeline`]: long recordings and live input as an emotion timeline;
//! - [`reproduce`]: the paper's table and the speaker-independent table in
//!   one resumable command, written as `reports/paper/REPORT.md`;
//! - [`output`]: the guard of every file a user names for a command to
//!   write; [`bounds`]: the allowed range of every numeric setting;
//!   [`panic_guard`]: a bug in one input's work becomes that input's reject.
//!
//! Audio decoding ([`audio`]) and DSP ([`dsp`]) compute on memory
//! (`&[f32]`); reading a file is a thin wrapper. The store's layout and
//! safety (atomic writes, manifests, locks) belong to the `store` crate.
//! This crate is not for the models' arithmetic (layers, training loop, metrics:
//! `models`), and it holds no
//! command-line parsing beyond what the `ser` binary needs.

#![deny(missing_docs)]

pub mod answers;
pub mod audio;
pub mod bounds;
pub mod corpora;
pub mod corpus;
pub mod dsp;
pub mod error;
pub mod features;
pub mod listen;
pub mod metadata;
pub mod model_file;
pub mod output;
pub mod panic_guard;
pub mod progress;
pub mod query;
pub mod ravdess;
pub mod recording;
pub mod report;
pub mod reproduce;
pub mod robustness;
pub mod serve;
pub mod speech;
pub mod synth;
pub mod timeline;
pub mod train;

pub use error::{FileError, PipelineError, PredictError, Result};

/// Exit status of `ser` when a stage finished but skipped some inputs
/// (each named on stderr and in `store/rejects/<stage>.parquet`).
pub const EXIT_SKIPPED: i32 = 3;
/// Exit status of `ser` when another writer holds the store's lock.
pub const EXIT_LOCKED: i32 = 4;
/// Exit status of `ser verify` (and `ser download`) when files are modified,
/// or missing without `--allow-partial`.
pub const EXIT_VERIFY_FAILED: i32 = 5;
