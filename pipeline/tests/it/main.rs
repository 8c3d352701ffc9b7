//! Integration tests of `ser`: one binary, each test with its own temp
//! store, driving the release binary built alongside.

mod audio_formats;
mod bad_input;
mod browser;
mod cdp;
mod corpora;
mod crash;
mod download;
mod fuzz;
mod help_texts;
mod hostile_audio;
mod hostile_cli;
mod hostile_store;
mod hostile_train;
mod incremental;
mod label_sets;
mod model_file;
mod onnx;
mod parity;
mod ravdess_store;
mod readme;
mod regressions;
mod report;
mod reproduce;
mod robustness;
mod serve;
mod server;
mod synth;
mod train;
mod util;
