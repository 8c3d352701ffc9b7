//! Seconds per training epoch of the paper's CNN and LSTM on random
//! `[clips, 130, 40]` data (14 classes), batch 30 / 28 as in the paper.
//! `cargo bench -p ser-models --bench epoch -- [CLIPS] [cnn|lstm]` (default
//! 2160 clips, both models).
//! Prints one JSON line per model so `bench/train_bench.py` can compare.

use std::time::Instant;

use dfdx::prelude::*;
use models::{train, Cnn, Dataset, Loss, LstmModel, TrainConfig};

const FRAMES: usize = 130;

fn data(dev: &Cpu, n: usize) -> Dataset {
    let x: Tensor<(usize, Const<130>, Const<40>), f32, Cpu> =
        dev.sample_normal_like(&(n, Const, Const));
    Dataset {
        x: x.as_vec(),
        frames: FRAMES,
        labels: (0..n).map(|i| i % 14).collect(),
    }
}

fn cfg(batch_size: usize) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size,
        lr: 1e-3,
        seed: 42,
        loss: Loss::CrossEntropy,
    }
}

fn main() {
    let clips: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2160);
    models::tune_allocator();
    let only: Option<String> = std::env::args().skip(1).find(|a| a == "cnn" || a == "lstm");
    let want = |m: &str| only.as_deref().is_none_or(|o| o == m);
    let dev = Cpu::seed_from_u64(0);
    let set = data(&dev, clips);
    let empty = Dataset {
        x: Vec::new(),
        frames: FRAMES,
        labels: Vec::new(),
    };
    if want("cnn") {
        let mut cnn = Cnn::<14, 5, f32, Cpu>::build(&dev);
        let t = Instant::now();
        train::<14, _>(&mut cnn, &dev, &set, &empty, &cfg(30), |_| {}).expect("cnn epoch");
        let s = t.elapsed().as_secs_f64();
        println!("{{\"model\":\"cnn\",\"clips\":{clips},\"frames\":{FRAMES},\"batch\":30,\"seconds_per_epoch\":{s:.3}}}");
    }
    if want("lstm") {
        let mut lstm = LstmModel::<14, f32, Cpu>::build(&dev);
        let t = Instant::now();
        train::<14, _>(&mut lstm, &dev, &set, &empty, &cfg(28), |_| {}).expect("lstm epoch");
        let s = t.elapsed().as_secs_f64();
        println!("{{\"model\":\"lstm\",\"clips\":{clips},\"frames\":{FRAMES},\"batch\":28,\"seconds_per_epoch\":{s:.3}}}");
    }
}
