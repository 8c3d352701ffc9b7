//! Test fixtures shared by the model tests.

use dfdx::optim::{Adam, Optimizer};
use dfdx::prelude::*;

use crate::dataset::N_MFCC;
use crate::layers::{Logits, Seq};
use crate::train::Classifier;

/// A batch that a model can learn: `b` sequences of `l` frames; class
/// `i % n` has +1 added to coefficients `10c..10c+10` on top of noise.
/// Returns inputs `[b, l, 40]` and one-hot targets `[b, n]`.
pub fn separable_batch(
    dev: &Cpu,
    n: usize,
    b: usize,
    l: usize,
) -> (Seq<N_MFCC, f32, Cpu, NoneTape>, Logits<f32, Cpu, NoneTape>) {
    let mut xv: Vec<f32> = dev
        .sample_normal_like::<(usize, usize, Const<N_MFCC>)>(&(b, l, Const))
        .as_vec();
    let mut yv = vec![0f32; b * n];
    for i in 0..b {
        let c = i % n;
        yv[i * n + c] = 1.0;
        for t in 0..l {
            for k in (10 * c..10 * c + 10).map(|k| k % N_MFCC) {
                xv[(i * l + t) * N_MFCC + k] += 1.0;
            }
        }
    }
    (
        dev.tensor_from_vec(xv, (b, l, Const::<N_MFCC>)),
        dev.tensor_from_vec(yv, (b, n)),
    )
}

/// Cross-entropy before each of `steps` Adam steps on one batch (dropout off).
pub fn adam_losses<M: Classifier>(
    model: &mut M,
    x: &Seq<N_MFCC, f32, Cpu, NoneTape>,
    y: &Logits<f32, Cpu, NoneTape>,
    steps: usize,
    lr: f64,
) -> Vec<f32> {
    let mut opt = Adam::new(
        model,
        AdamConfig {
            lr,
            ..AdamConfig::default()
        },
    );
    (0..steps)
        .map(|_| {
            let lengths = vec![x.shape().1; x.shape().0];
            let logits = model
                .logits(x.clone().traced(model.alloc_grads()), &lengths, false)
                .unwrap();
            let loss = cross_entropy_with_logits_loss(logits, y.clone());
            let value = loss.array();
            opt.update(model, &loss.backward()).unwrap();
            value
        })
        .collect()
}

/// Orthonormal DCT-II rows `[40, n]`, as the feature path's (`dct_ortho`
/// in the pipeline): what babble and warp tests turn cepstra back with.
pub fn dct_rows(n: usize) -> Vec<f32> {
    let mut d = Vec::with_capacity(crate::dataset::N_MFCC * n);
    for k in 0..crate::dataset::N_MFCC {
        let s = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            let a = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n as f64);
            d.push((s * a.cos()) as f32);
        }
    }
    d
}
