//! Models of `ser`: the paper's CNN, LSTM and CNN+LSTM, our si-cnn, the
//! training loop, splits and metrics.
//!
//! Arrays and labels in; trained weights, predictions and metrics out. This
//! crate never sees a file, Parquet or audio: the `pipeline` crate feeds it.
//! It holds label sets ([`labels`]), clip-level splits ([`split`]),
//! metrics ([`metrics`]), the 1-D layers dfdx lacks ([`layers`], with
//! gradient checks, over hand-written [`kernels`]), and four models, each
//! a config (classes and kernel chosen at run time) that builds a module:
//! the paper's CNN ([`cnn`]) and LSTM ([`lstm_model`]), our CNN+LSTM
//! ([`cnn_lstm`]) and si-cnn ([`si_cnn`]); the training loop
//! ([`mod@train`]); weights as safetensors bytes ([`weights`]). The `ser
//! train` stage (reading shards, writing runs) lives in `pipeline`; [`zoo`]
//! is its entry point: any model by run-time kind, class count and kernel.

#![deny(missing_docs)]

pub mod augment;
pub mod average;
pub mod babble;
pub mod calibration;
pub mod classifier;
pub mod cnn;
pub mod cnn_lstm;
pub mod dataset;
mod drawn;
pub mod envelope;
pub mod error;
pub mod gain;
pub mod init;
pub mod kernels;
pub mod labels;
pub mod layers;
pub mod lstm_model;
pub mod metrics;
pub mod mic;
pub mod mixup;
pub mod reverb;
pub mod si_cnn;
pub mod split;
pub mod talkers;
pub mod test_warp;
pub mod train;
pub mod warp;
pub mod weights;
pub mod zoo;

#[cfg(test)]
mod testdata;

pub use cnn::{Cnn, CnnConfig};
pub use cnn_lstm::{CnnLstm, CnnLstmConfig};
pub use init::Init;
pub use labels::{LabelSet, Labels};
pub use lstm_model::{LstmConfig, LstmModel};
pub use metrics::{ClassScores, Metrics};
pub use si_cnn::{SiCnn, SiCnnConfig};
pub use split::{
    actor_folds, balanced_groups, emobox_groups, random_split, Fold, SplitClip, SplitMix,
};
pub use train::{
    argmax, evaluate, predict, train, Classifier, Dataset, EpochOrders, EpochRecord, Loss,
    Schedule, TrainConfig, TrainError, TrainEvent,
};
/// Keeps freed tensor buffers (up to 32 MiB each) in the heap instead of
/// returning them to the kernel: training allocates and frees the same large
/// activations every step, and glibc's default (`mmap` above 128 KiB, then
/// `munmap`) spends ~15 % of a CNN epoch in page faults and TLB shootdowns
/// (measured with `perf` on `benches/epoch.rs`). Call once at start-up;
/// a no-op off glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before the
    // training threads allocate, and any return value is acceptable.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

pub use zoo::{build, ModelError, ModelKind, NamedTensor, Net};
