//! The fast tape ops against the reference dfdx-op layers (f32, values
//! and gradients within 1e-5 relative) and against finite differences
//! (f64), at odd sizes: batch 1, one frame, kernels 1/3/5/7, lengths the
//! pool does not divide.

use dfdx::prelude::*;

use super::gradcheck::{assert_close, numeric_grad, Dev};
use super::{last_frames, max_pool1d, Conv1D, Lstm};

type S<const C: usize, E, T> = Tensor<(usize, usize, Const<C>), E, Dev, T>;

/// `max |a - b| <= 1e-5 * max(1, max |b|)`.
fn assert_rel(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    let err = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        err <= 1e-5 * scale,
        "{what}: max error {err} (scale {scale})"
    );
}

fn conv_vs_reference<const I: usize, const O: usize, const K: usize>(
    b: usize,
    l: usize,
    pool: usize,
) {
    let dev = Dev::seed_from_u64((I * 100 + K * 10 + l) as u64);
    let conv = Conv1D::<I, O, f32, Dev>::new(&dev, K).unwrap();
    let x: S<I, f32, NoneTape> = dev.sample_normal_like(&(b, l, Const::<I>));
    let lp = l / pool;
    let r: S<O, f32, NoneTape> = dev.sample_normal_like(&(b, lp, Const::<O>));
    let what = format!("conv I={I} O={O} K={K} b={b} l={l} pool={pool}");

    let fast = conv
        .try_forward_block(x.clone().leaky_trace(), pool, true)
        .unwrap();
    let reference = max_pool1d(conv.forward(x.clone().leaky_trace()).relu(), pool).unwrap();
    assert_rel(&fast.as_vec(), &reference.as_vec(), &format!("{what} y"));
    let gf = (fast * r.clone()).sum::<(), _>().backward();
    let gr = (reference * r.clone()).sum::<(), _>().backward();
    assert_rel(
        &gf.get(&x).as_vec(),
        &gr.get(&x).as_vec(),
        &format!("{what} dx"),
    );
    assert_rel(
        &gf.get(&conv.weight).as_vec(),
        &gr.get(&conv.weight).as_vec(),
        &format!("{what} dW"),
    );
    assert_rel(
        &gf.get(&conv.bias).as_vec(),
        &gr.get(&conv.bias).as_vec(),
        &format!("{what} db"),
    );
}

#[test]
fn conv_block_matches_the_reference_ops() {
    for (b, l, pool) in [(1, 1, 1), (2, 7, 2), (3, 9, 3), (2, 16, 2), (1, 5, 1)] {
        // Wide inputs (per-tap gemms) and narrow ones (im2col).
        conv_vs_reference::<12, 5, 1>(b, l, pool);
        conv_vs_reference::<12, 5, 3>(b, l, pool);
        conv_vs_reference::<3, 16, 5>(b, l, pool);
        conv_vs_reference::<3, 16, 7>(b, l, pool);
        conv_vs_reference::<8, 8, 5>(b, l, pool);
    }
}

fn conv_finite_differences<const I: usize, const O: usize, const K: usize>(
    b: usize,
    l: usize,
    pool: usize,
) {
    let dev = Dev::seed_from_u64(17 + K as u64);
    let conv = Conv1D::<I, O, f64, Dev>::new(&dev, K).unwrap();
    let x: S<I, f64, NoneTape> = dev.sample_normal_like(&(b, l, Const::<I>));
    let r: S<O, f64, NoneTape> = dev.sample_normal_like(&(b, l / pool, Const::<O>));
    let loss = |c: &Conv1D<I, O, f64, Dev>, x: &S<I, f64, NoneTape>| {
        (c.try_forward_block(x.clone(), pool, true).unwrap() * r.clone())
            .sum::<(), _>()
            .array()
    };
    let g = (conv
        .try_forward_block(x.clone().leaky_trace(), pool, true)
        .unwrap()
        * r.clone())
    .sum::<(), _>()
    .backward();
    let with = |f: &dyn Fn(&mut Conv1D<I, O, f64, Dev>)| {
        let mut c = conv.clone();
        f(&mut c);
        c
    };
    assert_close(
        &g.get(&x).as_vec(),
        &numeric_grad(&x, |x| loss(&conv, x)),
        "block dx",
    );
    let n = numeric_grad(&conv.weight, |w| loss(&with(&|c| c.weight = w.clone()), &x));
    assert_close(&g.get(&conv.weight).as_vec(), &n, "block dW");
    let n = numeric_grad(&conv.bias, |v| loss(&with(&|c| c.bias = v.clone()), &x));
    assert_close(&g.get(&conv.bias).as_vec(), &n, "block db");
}

#[test]
fn conv_block_gradients_match_finite_differences() {
    conv_finite_differences::<3, 4, 3>(2, 7, 2);
    conv_finite_differences::<2, 6, 5>(1, 5, 1);
    conv_finite_differences::<5, 2, 7>(2, 9, 3);
    conv_finite_differences::<2, 3, 1>(1, 1, 1);
}

#[test]
fn first_layer_skips_the_input_gradient() {
    let dev = Dev::seed_from_u64(2);
    let conv = Conv1D::<3, 4, f32, Dev>::new(&dev, 3).unwrap();
    let x: S<3, f32, NoneTape> = dev.sample_normal_like(&(2, 6, Const::<3>));
    // x's gradient exists (zeros) before the pass; backward must leave it so.
    let mut grads = Gradients::leaky();
    grads.try_alloc_for(&x).unwrap();
    let y = conv
        .try_forward_block(x.clone().traced(grads), 2, false)
        .unwrap();
    let g = y.sum::<(), _>().backward();
    assert!(g.get(&x).as_vec().iter().all(|&v| v == 0.0));
    assert!(g.get(&conv.weight).as_vec().iter().any(|&v| v != 0.0));
}

fn lstm_vs_reference(b: usize, l: usize) {
    let dev = Dev::seed_from_u64(31 + l as u64);
    let lstm = Lstm::<5, 7, f32, Dev>::build(&dev);
    let x: S<5, f32, NoneTape> = dev.sample_normal_like(&(b, l, Const::<5>));
    let r: S<7, f32, NoneTape> = dev.sample_normal_like(&(b, l, Const::<7>));
    let what = format!("lstm b={b} l={l}");
    let fast = lstm.try_forward_seq_fast(x.clone().leaky_trace()).unwrap();
    let reference = lstm.try_forward_seq(x.clone().leaky_trace()).unwrap();
    assert_rel(&fast.as_vec(), &reference.as_vec(), &format!("{what} h"));
    let gf = (fast * r.clone()).sum::<(), _>().backward();
    let gr = (reference * r.clone()).sum::<(), _>().backward();
    for (name, a, b) in [
        ("dx", gf.get(&x).as_vec(), gr.get(&x).as_vec()),
        (
            "dW_x",
            gf.get(&lstm.w_x).as_vec(),
            gr.get(&lstm.w_x).as_vec(),
        ),
        (
            "dW_h",
            gf.get(&lstm.w_h).as_vec(),
            gr.get(&lstm.w_h).as_vec(),
        ),
        (
            "db",
            gf.get(&lstm.bias).as_vec(),
            gr.get(&lstm.bias).as_vec(),
        ),
    ] {
        assert_rel(&a, &b, &format!("{what} {name}"));
    }
}

#[test]
fn lstm_matches_the_reference_ops() {
    for (b, l) in [(1, 1), (3, 5), (4, 9), (1, 12)] {
        lstm_vs_reference(b, l);
    }
}

#[test]
fn lstm_gradients_match_finite_differences() {
    let dev = Dev::seed_from_u64(5);
    let lstm = Lstm::<2, 3, f64, Dev>::build(&dev);
    let x: S<2, f64, NoneTape> = dev.sample_normal_like(&(3, 4, Const::<2>));
    let r: S<3, f64, NoneTape> = dev.sample_normal_like(&(3, 4, Const::<3>));
    let loss = |m: &Lstm<2, 3, f64, Dev>, x: &S<2, f64, NoneTape>| {
        (m.try_forward_seq_fast(x.clone()).unwrap() * r.clone())
            .sum::<(), _>()
            .array()
    };
    let g = (lstm.try_forward_seq_fast(x.clone().leaky_trace()).unwrap() * r.clone())
        .sum::<(), _>()
        .backward();
    let with = |f: &dyn Fn(&mut Lstm<2, 3, f64, Dev>)| {
        let mut m = lstm.clone();
        f(&mut m);
        m
    };
    assert_close(
        &g.get(&x).as_vec(),
        &numeric_grad(&x, |x| loss(&lstm, x)),
        "fast lstm dx",
    );
    let n = numeric_grad(&lstm.w_x, |w| loss(&with(&|m| m.w_x = w.clone()), &x));
    assert_close(&g.get(&lstm.w_x).as_vec(), &n, "fast lstm dW_x");
    let n = numeric_grad(&lstm.w_h, |w| loss(&with(&|m| m.w_h = w.clone()), &x));
    assert_close(&g.get(&lstm.w_h).as_vec(), &n, "fast lstm dW_h");
    let n = numeric_grad(&lstm.bias, |v| loss(&with(&|m| m.bias = v.clone()), &x));
    assert_close(&g.get(&lstm.bias).as_vec(), &n, "fast lstm db");
}

#[test]
fn the_state_is_read_at_each_examples_last_real_frame() {
    let dev = Dev::seed_from_u64(8);
    let lstm = Lstm::<2, 3, f64, Dev>::build(&dev);
    let x: S<2, f64, NoneTape> = dev.sample_normal_like(&(3, 5, Const::<2>));
    let lengths = [3usize, 1, 5];
    let seq = lstm.try_forward_seq_fast(x.clone()).unwrap().as_vec();
    let last = lstm
        .try_forward_last_fast(x.clone(), Some(&lengths))
        .unwrap()
        .as_vec();
    for (e, n) in lengths.iter().enumerate() {
        let row = (e * 5 + n - 1) * 3;
        assert_eq!(last[e * 3..e * 3 + 3], seq[row..row + 3], "example {e}");
    }
    // What follows an example's last real frame cannot change its state.
    let mut xv = x.as_vec();
    for t in 3..5 {
        xv[t * 2] += 10.0;
    }
    let changed: S<2, f64, NoneTape> = dev.tensor_from_vec(xv, (3, 5, Const::<2>));
    let again = lstm
        .try_forward_last_fast(changed, Some(&lengths))
        .unwrap()
        .as_vec();
    assert_eq!(again[..3], last[..3]);
    // Gradients through the gather match finite differences.
    let r: Tensor<(usize, Const<2>), f64, Dev> = dev.sample_normal_like(&(3, Const::<2>));
    let loss = |x: &S<2, f64, NoneTape>| {
        (last_frames(x.clone(), Some(&lengths)).unwrap() * r.clone())
            .sum::<(), _>()
            .array()
    };
    let y: S<2, f64, NoneTape> = dev.sample_normal_like(&(3, 5, Const::<2>));
    let g = (last_frames(y.clone().leaky_trace(), Some(&lengths)).unwrap() * r.clone())
        .sum::<(), _>()
        .backward();
    assert_close(
        &g.get(&y).as_vec(),
        &numeric_grad(&y, loss),
        "last_frames dx",
    );
}
