//! One module per command: its flags (`Args`) and its `run`. They share
//! only [`crate::flags`] (and predict and listen their [`segments`] flags
//! and `pipeline::answers` output).

pub mod check;
pub mod download;
pub mod export;
pub mod features;
pub mod help;
pub mod listen;
pub mod metadata;
pub mod model;
pub mod predict;
pub mod query;
pub mod report;
pub mod reproduce;
pub mod robustness;
pub mod segments;
pub mod serve;
pub mod synth;
pub mod train;
pub mod verify;
