//! Finite-difference gradient checks (f64) and shape tests for the layers.

use dfdx::prelude::*;

use super::{global_avg_pool1d, max_pool1d, Conv1D, Lstm};

type Dev = Cpu;
type Seq<const C: usize, T> = Tensor<(usize, usize, Const<C>), f64, Dev, T>;

/// Central difference of `loss` with respect to element `i` of `t`.
fn numeric<S: Shape>(
    t: &mut Tensor<S, f64, Dev>,
    i: usize,
    loss: &mut dyn FnMut(&Tensor<S, f64, Dev>) -> f64,
) -> f64 {
    let eps = 1e-6;
    let mut v = t.as_vec();
    let x0 = v[i];
    v[i] = x0 + eps;
    t.copy_from(&v);
    let up = loss(t);
    v[i] = x0 - eps;
    t.copy_from(&v);
    let down = loss(t);
    v[i] = x0;
    t.copy_from(&v);
    (up - down) / (2.0 * eps)
}

fn assert_close(analytic: &[f64], numeric: &[f64], what: &str) {
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
    let conv = Conv1D::<2, 3, 5, f64, Dev>::build(&dev);
    let mut x: Seq<2, NoneTape> = dev.sample_normal_like(&(2, 7, Const::<2>));
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

    let nx: Vec<f64> = (0..x.as_vec().len())
        .map(|i| {
            let conv = conv.clone();
            let r = r.clone();
            numeric(&mut x, i, &mut |x| {
                (conv.forward(x.clone()) * r.clone()).sum::<(), _>().array()
            })
        })
        .collect();
    assert_close(&gx, &nx, "dx");
    let mut w = conv.weight.clone();
    let nw: Vec<f64> = (0..w.as_vec().len())
        .map(|i| {
            numeric(&mut w, i, &mut |w| {
                let mut c = conv.clone();
                c.weight = w.clone();
                (c.forward(x.clone()) * r.clone()).sum::<(), _>().array()
            })
        })
        .collect();
    assert_close(&gw, &nw, "dW");
    let mut b = conv.bias.clone();
    let nb: Vec<f64> = (0..b.as_vec().len())
        .map(|i| {
            numeric(&mut b, i, &mut |b| {
                let mut c = conv.clone();
                c.bias = b.clone();
                (c.forward(x.clone()) * r.clone()).sum::<(), _>().array()
            })
        })
        .collect();
    assert_close(&gb, &nb, "db");
}

#[test]
fn conv1d_matches_a_direct_convolution() {
    let dev = Dev::seed_from_u64(5);
    let conv = Conv1D::<2, 2, 3, f64, Dev>::build(&dev);
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
    let mut x: Seq<3, NoneTape> = dev.sample_normal_like(&(2, 7, Const::<3>));
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
    let gn: Vec<f64> = (0..xv.len())
        .map(|i| numeric(&mut x, i, &mut |x| loss(x)))
        .collect();
    assert_close(&ga, &gn, "pool dx");
}

/// Regression: dfdx 0.13's slice backward assigns instead of adding, so
/// overlapping taps (K >= 2) lost gradient; every kernel width must match.
#[test]
fn regression_overlapping_taps_keep_their_input_gradients() {
    fn max_error<const K: usize>() -> f64 {
        let dev = Dev::seed_from_u64(3);
        let conv = Conv1D::<1, 1, K, f64, Dev>::build(&dev);
        let mut x: Seq<1, NoneTape> = dev.sample_normal_like(&(1, 6, Const::<1>));
        let r: Seq<1, NoneTape> = dev.sample_normal_like(&(1, 6, Const::<1>));
        let y = conv.forward(x.clone().leaky_trace());
        let gx = (y * r.clone()).sum::<(), _>().backward().get(&x).as_vec();
        (0..6)
            .map(|i| {
                let n = numeric(&mut x, i, &mut |x| {
                    (conv.forward(x.clone()) * r.clone()).sum::<(), _>().array()
                });
                (gx[i] - n).abs()
            })
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
    let mut x: Seq<2, NoneTape> = dev.sample_normal_like(&(2, 4, Const::<2>));
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
    let nx: Vec<f64> = (0..gx.len())
        .map(|i| numeric(&mut x, i, &mut |x| loss(&lstm, x)))
        .collect();
    assert_close(&gx, &nx, "lstm dx");
    let mut w = lstm.w_x.clone();
    let n: Vec<f64> = (0..gwx.len())
        .map(|i| {
            numeric(&mut w, i, &mut |w| {
                let mut m = lstm.clone();
                m.w_x = w.clone();
                loss(&m, &x)
            })
        })
        .collect();
    assert_close(&gwx, &n, "lstm dW_x");
    let mut w = lstm.w_h.clone();
    let n: Vec<f64> = (0..gwh.len())
        .map(|i| {
            numeric(&mut w, i, &mut |w| {
                let mut m = lstm.clone();
                m.w_h = w.clone();
                loss(&m, &x)
            })
        })
        .collect();
    assert_close(&gwh, &n, "lstm dW_h");
    let mut b = lstm.bias.clone();
    let n: Vec<f64> = (0..gb.len())
        .map(|i| {
            numeric(&mut b, i, &mut |b| {
                let mut m = lstm.clone();
                m.bias = b.clone();
                loss(&m, &x)
            })
        })
        .collect();
    assert_close(&gb, &n, "lstm db");
    assert_eq!(
        lstm.bias.as_vec()[3..6],
        [1.0, 1.0, 1.0],
        "forget bias starts at 1"
    );
}
