//! Seconds per training epoch of the paper's CNN and LSTM on random
//! `[clips, 130, 40]` data (14 classes), batch 30 / 28 as in the paper,
//! and the machine's single-precision gemm rate for scale.
//!
//! `cargo bench -p ser-models --bench epoch -- [CLIPS] [cnn|lstm]
//! [--threads 1,2] [--reference]` (default 2160 clips, both models, the
//! rayon pool's threads). `--reference` trains the dfdx-op layers instead
//! of the fused kernels. Prints one JSON line per measurement so
//! `bench/train_bench.py` can compare with Keras.

use std::time::Instant;

use dfdx::prelude::*;
use models::kernels::gemm::{gemm, View};
use models::layers::KerasInit;
use models::{train, Classifier, Cnn, CnnConfig, Dataset, LstmConfig, LstmModel, TrainConfig};

const FRAMES: usize = 130;

/// Forward + weight-gradient + input-gradient FLOPs of the paper CNN per
/// clip (kernel 5, pool 2, 130 frames; the first layer needs no input
/// gradient, as in Keras).
fn cnn_flops_per_clip() -> f64 {
    let (mut l, mut fwd, mut dx) = (FRAMES as f64, 0.0, 0.0);
    for (k, (i, o)) in [
        (40.0, 1024.0),
        (1024.0, 512.0),
        (512.0, 256.0),
        (256.0, 128.0),
    ]
    .into_iter()
    .enumerate()
    {
        let f = 2.0 * l * 5.0 * i * o;
        fwd += f;
        if k > 0 {
            dx += f;
        }
        l = (l / 2.0).floor();
    }
    2.0 * fwd + dx
}

fn data(dev: &Cpu, n: usize) -> Dataset {
    let x: Tensor<(usize, Const<130>, Const<40>), f32, Cpu> =
        dev.sample_normal_like(&(n, Const, Const));
    Dataset::new(x.as_vec(), FRAMES, (0..n).map(|i| i % 14).collect())
}

/// A model trained through its dfdx-op layers (the pre-kernel
/// implementation) instead of the fused kernels.
#[derive(Clone)]
struct Reference<M>(M);

impl<M: TensorCollection<f32, Cpu>> TensorCollection<f32, Cpu> for Reference<M> {
    type To<E2: Dtype, D2: Device<E2>> = Reference<M::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("0", |s| &s.0, |s| &mut s.0), Reference)
    }
}

impl<M: KerasInit> KerasInit for Reference<M> {
    fn init_keras(&mut self, rng: &mut models::init::InitRng) {
        self.0.init_keras(rng)
    }
}

type ReferenceCnn = Reference<Cnn<f32, Cpu>>;
type ReferenceLstm = Reference<LstmModel<f32, Cpu>>;

impl Classifier for ReferenceCnn {
    fn classes(&self) -> usize {
        self.0.classes()
    }
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Tensor<(usize, usize, Const<40>), f32, Cpu, T>,
        _: &[usize],
        train: bool,
    ) -> Result<Tensor<(usize, usize), f32, Cpu, T>, CpuError> {
        self.0.try_forward_reference(x, train)
    }
}

impl Classifier for ReferenceLstm {
    fn classes(&self) -> usize {
        self.0.classes()
    }
    fn logits<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Tensor<(usize, usize, Const<40>), f32, Cpu, T>,
        _: &[usize],
        _: bool,
    ) -> Result<Tensor<(usize, usize), f32, Cpu, T>, CpuError> {
        self.0.try_forward_reference(x)
    }
}

fn epoch<M: Classifier>(mut m: M, dev: &Cpu, set: &Dataset, batch: usize) -> f64 {
    let empty = Dataset::new(Vec::new(), FRAMES, Vec::new());
    let t = Instant::now();
    train(
        &mut m,
        dev,
        set,
        &empty,
        &TrainConfig::new(1, batch, 1e-3, 42),
        |_| {},
    )
    .expect("training epoch");
    t.elapsed().as_secs_f64()
}

/// GFLOP/s of an `n x n x n` sgemm through our gemm wrapper.
fn sgemm_rate(n: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut c = vec![0f32; n * n];
    let th = models::kernels::gemm::threads();
    let run = |c: &mut Vec<f32>| {
        gemm(
            (n, n, n),
            c,
            View::rows(0, n),
            false,
            &a,
            View::rows(0, n),
            &a,
            View::rows(0, n),
            th,
        )
    };
    run(&mut c);
    let reps = 3;
    let t = Instant::now();
    for _ in 0..reps {
        run(&mut c);
    }
    2.0 * (n * n * n) as f64 * reps as f64 / t.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clips: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2160);
    let only = args.iter().find(|a| *a == "cnn" || *a == "lstm").cloned();
    let reference = args.iter().any(|a| a == "--reference");
    let threads: Vec<usize> = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![rayon::current_num_threads()]);
    let want = |m: &str| only.as_deref().is_none_or(|o| o == m);
    models::tune_allocator();
    let dev = Cpu::seed_from_u64(0);
    let set = data(&dev, clips);
    let impl_name = if reference { "dfdx-ops" } else { "kernels" };
    for &n in &threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool");
        pool.install(|| {
            let gflops = sgemm_rate(2048);
            println!("{{\"sgemm\":2048,\"threads\":{n},\"gflops\":{gflops:.1}}}");
            if want("cnn") {
                let cnn = CnnConfig::new(14, 5).init(&dev).expect("cnn");
                let s = if reference {
                    epoch(Reference(cnn), &dev, &set, 30)
                } else {
                    epoch(cnn, &dev, &set, 30)
                };
                let rate = cnn_flops_per_clip() * clips as f64 / s / 1e9;
                println!("{{\"model\":\"cnn\",\"impl\":\"{impl_name}\",\"threads\":{n},\"clips\":{clips},\"frames\":{FRAMES},\"batch\":30,\"seconds_per_epoch\":{s:.3},\"gflops\":{rate:.1}}}");
            }
            if want("lstm") {
                let lstm = LstmConfig { classes: 14 }.init(&dev).expect("lstm");
                let s = if reference {
                    epoch(Reference(lstm), &dev, &set, 28)
                } else {
                    epoch(lstm, &dev, &set, 28)
                };
                println!("{{\"model\":\"lstm\",\"impl\":\"{impl_name}\",\"threads\":{n},\"clips\":{clips},\"frames\":{FRAMES},\"batch\":28,\"seconds_per_epoch\":{s:.3}}}");
            }
        });
    }
}
