//! Models of `ser`: the paper's CNN, LSTM and CNN+LSTM, the training loop,
//! splits and metrics.
//!
//! Arrays and labels in; trained weights, predictions and metrics out. This
//! crate never sees a file, Parquet or audio: the `pipeline` crate feeds it.
//! So far it holds label sets ([`labels`]), clip-level splits ([`split`]),
//! metrics ([`metrics`]) and the 1-D layers dfdx lacks ([`layers`], with
//! gradient checks), and the paper's CNN ([`cnn`]). The LSTM and CNN+LSTM
//! models and the training loop come with issue 3.

#![deny(missing_docs)]

pub mod cnn;
pub mod labels;
pub mod layers;
pub mod metrics;
pub mod split;

pub use cnn::{Cnn, CnnConfig};
pub use labels::LabelSet;
pub use metrics::{ClassScores, Metrics};
pub use split::{actor_folds, emobox_groups, random_split, round_robin_groups, Fold, SplitClip};
