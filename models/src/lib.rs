//! Models of `ser`: the paper's CNN, LSTM and CNN+LSTM, the training loop,
//! splits and metrics.
//!
//! Arrays and labels in; trained weights, predictions and metrics out. This
//! crate never sees a file, Parquet or audio: the `pipeline` crate feeds it.
//! So far it holds label sets ([`labels`]), clip-level splits ([`split`]),
//! metrics ([`metrics`]) and the 1-D layers dfdx lacks ([`layers`], with
//! gradient checks), and the three models, each a config or const
//! parameters plus a module: the paper's CNN ([`cnn`]) and LSTM
//! ([`lstm_model`]), and our CNN+LSTM ([`cnn_lstm`]); and the training loop
//! ([`mod@train`]). The `ser train` stage (reading shards, writing runs) comes
//! with issue 3.

#![deny(missing_docs)]

pub mod cnn;
pub mod cnn_lstm;
pub mod labels;
pub mod layers;
pub mod lstm_model;
pub mod metrics;
pub mod split;
pub mod train;

#[cfg(test)]
mod testdata;

pub use cnn::{Cnn, CnnConfig};
pub use cnn_lstm::CnnLstm;
pub use labels::LabelSet;
pub use lstm_model::LstmModel;
pub use metrics::{ClassScores, Metrics};
pub use split::{actor_folds, emobox_groups, random_split, round_robin_groups, Fold, SplitClip};
pub use train::{predict, train, Classifier, Dataset, EpochRecord, Loss, TrainConfig, TrainError};
