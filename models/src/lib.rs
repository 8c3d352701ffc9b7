//! Models of `ser`: the paper's CNN, LSTM and CNN+LSTM, the training loop,
//! splits and metrics.
//!
//! Arrays and labels in; trained weights, predictions and metrics out. This
//! crate never sees a file, Parquet or audio: the `pipeline` crate feeds it.
//! It is empty until the training stage lands (issue 3).
