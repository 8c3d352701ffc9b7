//! Finite-difference gradient checks (f64) and shape tests for the layers.

use dfdx::prelude::*;

use super::{global_avg_pool1d, max_pool1d, Conv1D, Lstm};

pub(crate) type Dev = Cpu;
pub(crate) type Seq<const C: usize, T> = Tensor<(usize, usize, Const<C>), f64, Dev, T>;

/// Central differences of `loss` with respect to every element of `t`.
pub(crate) fn numeric_grad<S: Shape>(
    t: &Tensor<S, f64, Dev>,
    loss: impl Fn(&Tensor<S, f64, Dev>) -> f64,
) -> Vec<f64> {
    let eps = 1e-6;
    let mut probe = t.clone();
    let v0 = t.as_vec();
    (0..v0.len())
        .map(|i| {
            let mut v = v0.clone();
            v[i] = v0[i] + eps;
            probe.copy_from(&v);
            let up = loss(&probe);
            v[i] = v0[i] - eps;
            probe.copy_from(&v);
            let down = loss(&probe);
            (up - down) / (2.0 * eps)
        })
        .collect()
}

pub(crate) fn assert_close(analytic: &[f64], numeric: &[f64], what: &str) {
    assert_eq!(analytic.len(), numeric.len());
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let tol = 1e-6 * (1.0 + a.abs().max(n.abs()));
        assert!(
            (a - n).abs() <= tol,
            "{what}[{i}]: analytic {a} vs numeric {n}"
        );
    }
}

#[test]
fn conv1d_shape_and_gradients_match_finite_differences() {
    let dev = Dev::seed_from_u64(3);
    let conv = Conv1D::<2, 3, f64, Dev>::new(&dev, 5).unwrap();
    let x: Seq<2, NoneTape> = dev.sample_normal_like(&(2, 7, Const::<2>));
    let r: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 7, Const::<3>));
    assert_eq!(
        *conv.forward(x.clone()).shape(),
        (2, 7, Const::<3>),
        "same padding keeps frames"
    );

    // A leaky tape keeps the input's gradient as well as the parameters'.
    let y = conv.forward(x.clone().leaky_trace());
    let g = (y * r.clone()).sum::<(), _>().backward();
    let (gx, gw, gb) = (
        g.get(&x).as_vec(),
        g.get(&conv.weight).as_vec(),
        g.get(&conv.bias).as_vec(),
    );

    let loss = |c: &Conv1D<2, 3, f64, Dev>, x: &Seq<2, NoneTape>| {
        (c.forward(x.clone()) * r.clone()).sum::<(), _>().array()
    };
    let with = |f: &dyn Fn(&mut Conv1D<2, 3, f64, Dev>)| {
        let mut c = conv.clone();
        f(&mut c);
        c
    };
    assert_close(&gx, &numeric_grad(&x, |x| loss(&conv, x)), "dx");
    let nw = numeric_grad(&conv.weight, |w| loss(&with(&|c| c.weight = w.clone()), &x));
    assert_close(&gw, &nw, "dW");
    let nb = numeric_grad(&conv.bias, |b| loss(&with(&|c| c.bias = b.clone()), &x));
    assert_close(&gb, &nb, "db");
}

#[test]
fn conv1d_matches_a_direct_convolution() {
    let dev = Dev::seed_from_u64(5);
    let conv = Conv1D::<2, 2, f64, Dev>::new(&dev, 3).unwrap();
    let x: Seq<2, NoneTape> = dev.sample_normal_like(&(1, 4, Const::<2>));
    let y = conv.forward(x.clone()).as_vec();
    let (xv, w, bias) = (x.as_vec(), conv.weight.as_vec(), conv.bias.as_vec());
    for t in 0..4 {
        for o in 0..2 {
            let mut want = bias[o];
            for k in 0..3 {
                let src = t as isize + k as isize - 1; // "same": one frame of padding each side
                if (0..4).contains(&src) {
                    for i in 0..2 {
                        want += xv[src as usize * 2 + i] * w[(k * 2 + i) * 2 + o];
                    }
                }
            }
            assert!(
                (y[t * 2 + o] - want).abs() < 1e-12,
                "t {t} o {o}: {} vs {want}",
                y[t * 2 + o]
            );
        }
    }
}

#[test]
fn pooling_shapes_values_and_gradients() {
    let dev = Dev::seed_from_u64(9);
    let x: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 7, Const::<3>));
    let p = max_pool1d(x.clone(), 2).unwrap();
    assert_eq!(
        *p.shape(),
        (2, 3, Const::<3>),
        "7 frames pool to 3, the last dropped"
    );
    let xv = x.as_vec();
    assert_eq!(p.as_vec()[0], xv[0].max(xv[3]));
    let g = global_avg_pool1d(x.clone()).unwrap();
    assert_eq!(*g.shape(), (2, Const::<3>));
    assert!((g.as_vec()[0] - (0..7).map(|t| xv[t * 3]).sum::<f64>() / 7.0).abs() < 1e-12);

    // Gradients through max-pool then average-pool.
    let loss = |x: &Seq<3, NoneTape>| {
        global_avg_pool1d(max_pool1d(x.clone(), 2).unwrap())
            .unwrap()
            .sum::<(), _>()
            .array()
    };
    let l = global_avg_pool1d(max_pool1d(x.clone().leaky_trace(), 2).unwrap())
        .unwrap()
        .sum::<(), _>();
    let ga = l.backward().get(&x).as_vec();
    assert_close(&ga, &numeric_grad(&x, loss), "pool dx");
}

/// Regression: dfdx 0.13's slice backward assigns instead of adding, so
/// overlapping taps (K >= 2) lost gradient; every kernel width must match.
#[test]
fn regression_overlapping_taps_keep_their_input_gradients() {
    fn max_error<const K: usize>() -> f64 {
        let dev = Dev::seed_from_u64(3);
        let conv = Conv1D::<1, 1, f64, Dev>::new(&dev, K).unwrap();
        let x: Seq<1, NoneTape> = dev.sample_normal_like(&(1, 6, Const::<1>));
        let r: Seq<1, NoneTape> = dev.sample_normal_like(&(1, 6, Const::<1>));
        let y = conv.forward(x.clone().leaky_trace());
        let gx = (y * r.clone()).sum::<(), _>().backward().get(&x).as_vec();
        let nx = numeric_grad(&x, |x| {
            (conv.forward(x.clone()) * r.clone()).sum::<(), _>().array()
        });
        gx.iter()
            .zip(&nx)
            .map(|(a, n)| (a - n).abs())
            .fold(0.0, f64::max)
    }
    for (k, e) in [
        (1, max_error::<1>()),
        (2, max_error::<2>()),
        (3, max_error::<3>()),
        (4, max_error::<4>()),
    ] {
        assert!(e < 1e-8, "K={k}: input gradient off by {e}");
    }
}

#[test]
fn lstm_shapes_and_gradients_match_finite_differences() {
    let dev = Dev::seed_from_u64(11);
    let lstm = Lstm::<2, 3, f64, Dev>::build(&dev);
    let x: Seq<2, NoneTape> = dev.sample_normal_like(&(2, 4, Const::<2>));
    let r: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 4, Const::<3>));
    assert_eq!(
        *lstm.try_forward_seq(x.clone()).unwrap().shape(),
        (2, 4, Const::<3>)
    );
    let last = lstm.try_forward_last(x.clone()).unwrap();
    assert_eq!(*last.shape(), (2, Const::<3>));
    let seq = lstm.try_forward_seq(x.clone()).unwrap().as_vec();
    assert_eq!(
        last.as_vec()[..3],
        seq[9..12],
        "last state = state at the last frame"
    );

    let loss = |l: &Lstm<2, 3, f64, Dev>, x: &Seq<2, NoneTape>| {
        (l.try_forward_seq(x.clone()).unwrap() * r.clone())
            .sum::<(), _>()
            .array()
    };
    let g = (lstm.try_forward_seq(x.clone().leaky_trace()).unwrap() * r.clone())
        .sum::<(), _>()
        .backward();
    let (gx, gwx, gwh, gb) = (
        g.get(&x).as_vec(),
        g.get(&lstm.w_x).as_vec(),
        g.get(&lstm.w_h).as_vec(),
        g.get(&lstm.bias).as_vec(),
    );
    let with = |f: &dyn Fn(&mut Lstm<2, 3, f64, Dev>)| {
        let mut m = lstm.clone();
        f(&mut m);
        m
    };
    assert_close(&gx, &numeric_grad(&x, |x| loss(&lstm, x)), "lstm dx");
    let n = numeric_grad(&lstm.w_x, |w| loss(&with(&|m| m.w_x = w.clone()), &x));
    assert_close(&gwx, &n, "lstm dW_x");
    let n = numeric_grad(&lstm.w_h, |w| loss(&with(&|m| m.w_h = w.clone()), &x));
    assert_close(&gwh, &n, "lstm dW_h");
    let n = numeric_grad(&lstm.bias, |b| loss(&with(&|m| m.bias = b.clone()), &x));
    assert_close(&gb, &n, "lstm db");
    assert_eq!(
        lstm.bias.as_vec()[3..6],
        [1.0, 1.0, 1.0],
        "forget bias starts at 1"
    );
}
