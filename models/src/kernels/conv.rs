//! Conv1D ("same" zero padding, stride 1) + bias + ReLU + MaxPool1D
//! ("valid"), fused, forward and backward, on row-major slices.
//!
//! The batch is laid out as one long padded sequence `xp`: example `b`
//! occupies rows `b * L .. (b + 1) * L` with `L = frames + kernel - 1`
//! (zero rows around it). Output row `r` of the long sequence is
//! `z[r] = sum_k xp[r + k] * W[k]`; rows `r = b * L + t` with `t < frames`
//! are the convolution of example `b`, and the `kernel - 1` rows between
//! examples are computed and ignored. That turns the convolution into
//! large gemms over the whole batch without copying taps:
//!
//! - **per tap** (wide inputs): `kernel` gemms `[R, I] x [I, O]` on shifted
//!   views of `xp`, accumulating into `z`;
//! - **im2col** (narrow inputs, e.g. 40 MFCCs into 1024 filters, where
//!   per-tap gemms would stream the wide output `kernel` times): one
//!   `[R, K * I] x [K * I, O]` gemm on a gathered copy.
//!
//! Bias, ReLU and the pool run in one threaded pass that also records,
//! per output, which frame of its pool window won (or that ReLU cut it),
//! so backward scatters the gradient without recomputing anything.

use rayon::prelude::*;

use super::gemm::{gemm, threads, View};
use super::workspace::Buf;
use super::Float;

/// Sizes of one conv block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Examples.
    pub batch: usize,
    /// Frames per example (input).
    pub frames: usize,
    /// Input channels.
    pub inputs: usize,
    /// Filters (output channels).
    pub filters: usize,
    /// Kernel width.
    pub kernel: usize,
    /// Max-pool window (1: no pooling).
    pub pool: usize,
}

/// Marks an output that ReLU set to zero (no gradient flows back).
const CUT: u8 = u8::MAX;

impl ConvShape {
    /// Padded frames per example, `L`.
    pub fn padded(&self) -> usize {
        self.frames + self.kernel - 1
    }

    /// Zero frames before each example ("same" padding puts the odd one after).
    pub fn left(&self) -> usize {
        (self.kernel - 1) / 2
    }

    /// Rows of the long output sequence, `batch * L - (kernel - 1)`.
    pub fn rows(&self) -> usize {
        (self.batch * self.padded()).saturating_sub(self.kernel - 1)
    }

    /// Output frames per example after pooling ("valid": the remainder is dropped).
    pub fn out_frames(&self) -> usize {
        self.frames / self.pool.max(1)
    }

    /// Whether one im2col gemm moves less memory than per-tap gemms: the
    /// per-tap output `[R, O]` is read and written once per tap, the
    /// im2col copy `[R, K * I]` once.
    pub fn use_im2col(&self) -> bool {
        self.kernel > 1 && self.inputs * 2 <= self.filters
    }

    fn check(&self, x: usize, w: usize, b: usize) {
        assert!(self.kernel >= 1 && self.pool >= 1 && self.pool < CUT as usize);
        assert_eq!(x, self.batch * self.frames * self.inputs, "conv input size");
        assert_eq!(
            w,
            self.kernel * self.inputs * self.filters,
            "conv weight size"
        );
        assert_eq!(b, self.filters, "conv bias size");
    }
}

/// What backward needs from forward.
#[derive(Debug, Clone)]
pub struct ConvSaved<E: Float> {
    /// The padded input `[batch * L, I]`, or its im2col `[R, K * I]`.
    cols: Buf<E>,
    /// Winning frame within each pool window, or [`CUT`]: `[batch, out_frames, O]`.
    arg: Vec<u8>,
}

/// The batch as one long zero-padded sequence `[batch * L, I]`.
fn pad<E: Float>(s: &ConvShape, x: &[E]) -> Buf<E> {
    let (l, i, big_l) = (s.frames, s.inputs, s.padded());
    let mut xp = Buf::zeroed(s.batch * big_l * i);
    if i == 0 || big_l == 0 {
        return xp;
    }
    xp.par_chunks_mut(big_l * i)
        .zip(x.par_chunks(l * i))
        .for_each(|(dst, src)| dst[s.left() * i..(s.left() + l) * i].copy_from_slice(src));
    xp
}

/// `[R, K * I]`: row `r` holds `xp[r..r + K]` side by side.
fn im2col<E: Float>(s: &ConvShape, xp: &[E]) -> Buf<E> {
    let (i, k) = (s.inputs, s.kernel);
    let width = k * i;
    // Every row is copied in whole.
    let mut cols = Buf::scratch(s.rows() * width);
    if width == 0 {
        return cols;
    }
    cols.par_chunks_mut(width)
        .enumerate()
        .for_each(|(r, row)| row.copy_from_slice(&xp[r * i..(r + k) * i]));
    cols
}

/// Pre-activations `z = conv(x) + 0` over the long sequence, `[R, O]`.
fn convolve<E: Float>(s: &ConvShape, cols: &[E], w: &[E], im2col: bool) -> Buf<E> {
    let (i, o, r) = (s.inputs, s.filters, s.rows());
    // The first gemm overwrites every element.
    let mut z = Buf::scratch(r * o);
    let th = threads();
    if im2col {
        let ki = s.kernel * i;
        gemm(
            (r, o, ki),
            &mut z,
            View::rows(0, o),
            false,
            cols,
            View::rows(0, ki),
            w,
            View::rows(0, o),
            th,
        );
    } else {
        for k in 0..s.kernel {
            let tap = View {
                off: k * i,
                rs: i,
                cs: 1,
            };
            gemm(
                (r, o, i),
                &mut z,
                View::rows(0, o),
                k > 0,
                cols,
                tap,
                w,
                View::rows(k * i * o, o),
                th,
            );
        }
    }
    z
}

/// Forward: `y = maxpool(relu(conv(x) + bias))`, `[batch, out_frames, O]`,
/// from `x` `[batch, frames, I]`, `w` `[kernel, I, O]`, `bias` `[O]`.
/// Returns what [`backward`] needs when `keep` is set.
pub fn forward<E: Float>(
    s: &ConvShape,
    x: &[E],
    w: &[E],
    bias: &[E],
    keep: bool,
) -> (Vec<E>, Option<ConvSaved<E>>) {
    s.check(x.len(), w.len(), bias.len());
    let (o, p, big_l, lp) = (s.filters, s.pool, s.padded(), s.out_frames());
    let im2col_path = s.use_im2col();
    let xp = pad(s, x);
    let cols = if im2col_path { im2col(s, &xp) } else { xp };
    let z = convolve(s, &cols, w, im2col_path);
    let mut y = vec![E::zero(); s.batch * lp * o];
    let mut arg = vec![CUT; s.batch * lp * o];
    if lp > 0 && o > 0 {
        y.par_chunks_mut(lp * o)
            .zip(arg.par_chunks_mut(lp * o))
            .enumerate()
            .for_each(|(b, (yb, ab))| {
                for t in 0..lp {
                    let (yt, at) = (&mut yb[t * o..(t + 1) * o], &mut ab[t * o..(t + 1) * o]);
                    for j in 0..p {
                        let row = &z[(b * big_l + t * p + j) * o..][..o];
                        for c in 0..o {
                            let v = row[c] + bias[c];
                            // ReLU of the max = max of the ReLUs; only a
                            // positive maximum passes a gradient.
                            if v > yt[c] {
                                yt[c] = v;
                                at[c] = j as u8;
                            }
                        }
                    }
                }
            });
    }
    (y, keep.then_some(ConvSaved { cols, arg }))
}

/// Gradients of [`forward`]: adds `dL/dw` to `dw`, `dL/dbias` to `dbias`
/// and, when `dx` is given, `dL/dx` to it, from `dy` `[batch, out_frames, O]`.
#[allow(clippy::too_many_arguments)]
pub fn backward<E: Float>(
    s: &ConvShape,
    saved: &ConvSaved<E>,
    w: &[E],
    dy: &[E],
    dw: &mut [E],
    dbias: &mut [E],
    dx: Option<&mut [E]>,
) {
    let (i, o, k, p) = (s.inputs, s.filters, s.kernel, s.pool);
    let (big_l, lp, r) = (s.padded(), s.out_frames(), s.rows());
    assert_eq!(dy.len(), s.batch * lp * o, "conv output gradient size");
    assert_eq!(
        (dw.len(), dbias.len()),
        (w.len(), o),
        "conv parameter gradient sizes"
    );
    if r == 0 || o == 0 {
        return;
    }
    // dz: the output gradient routed to each pool window's winner, [R, O].
    let mut dz = Buf::zeroed(r * o);
    let partial_db: Vec<Vec<E>> = dz
        .par_chunks_mut(big_l * o)
        .enumerate()
        .map(|(b, dzb)| {
            let mut db = vec![E::zero(); o];
            for t in 0..lp {
                let base = (b * lp + t) * o;
                for c in 0..o {
                    let a = saved.arg[base + c];
                    if a != CUT {
                        let g = dy[base + c];
                        dzb[(t * p + a as usize) * o + c] = g;
                        db[c] = db[c] + g;
                    }
                }
            }
            db
        })
        .collect();
    for db in partial_db {
        for (acc, v) in dbias.iter_mut().zip(db) {
            *acc = *acc + v;
        }
    }
    let th = threads();
    let im2col_path = s.use_im2col();
    // dW[k] += xp[k..k + R]^T dz (per tap), or cols^T dz (im2col).
    if im2col_path {
        let ki = k * i;
        gemm(
            (ki, o, r),
            dw,
            View::rows(0, o),
            true,
            &saved.cols,
            View::transposed(0, ki),
            &dz,
            View::rows(0, o),
            th,
        );
    } else {
        for tap in 0..k {
            let xt = View {
                off: tap * i,
                rs: 1,
                cs: i,
            };
            gemm(
                (i, o, r),
                dw,
                View::rows(tap * i * o, o),
                true,
                &saved.cols,
                xt,
                &dz,
                View::rows(0, o),
                th,
            );
        }
    }
    let Some(dx) = dx else { return };
    assert_eq!(dx.len(), s.batch * s.frames * i, "conv input gradient size");
    // dxp[r + k] += dz[r] W[k]^T, then the padding is dropped.
    let mut dxp = Buf::zeroed(s.batch * big_l * i);
    if im2col_path {
        let ki = k * i;
        let mut dcols = Buf::scratch(r * ki);
        gemm(
            (r, ki, o),
            &mut dcols,
            View::rows(0, ki),
            false,
            &dz,
            View::rows(0, o),
            w,
            View::transposed(0, o),
            th,
        );
        // col2im: row r of dcols adds into dxp rows r..r + K.
        for (row, d) in dcols.chunks_exact(ki).enumerate() {
            for (a, v) in dxp[row * i..row * i + ki].iter_mut().zip(d) {
                *a = *a + *v;
            }
        }
    } else {
        for tap in 0..k {
            let wt = View::transposed(tap * i * o, o);
            gemm(
                (r, i, o),
                &mut dxp,
                View {
                    off: tap * i,
                    rs: i,
                    cs: 1,
                },
                true,
                &dz,
                View::rows(0, o),
                w,
                wt,
                th,
            );
        }
    }
    let (l, left) = (s.frames, s.left());
    if l * i == 0 {
        return;
    }
    dx.par_chunks_mut(l * i)
        .zip(dxp.par_chunks(big_l * i))
        .for_each(|(d, src)| {
            for (a, v) in d.iter_mut().zip(&src[left * i..(left + l) * i]) {
                *a = *a + *v;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution + bias + ReLU + pool, in f64.
    fn direct(s: &ConvShape, x: &[f64], w: &[f64], bias: &[f64]) -> Vec<f64> {
        let (l, i, o, k) = (s.frames, s.inputs, s.filters, s.kernel);
        let mut y = vec![0.0; s.batch * s.out_frames() * o];
        for b in 0..s.batch {
            for t in 0..s.out_frames() {
                for c in 0..o {
                    let mut best = f64::MIN;
                    for j in 0..s.pool {
                        let tt = t * s.pool + j;
                        let mut v = bias[c];
                        for tap in 0..k {
                            let src = tt as isize + tap as isize - s.left() as isize;
                            if (0..l as isize).contains(&src) {
                                for ii in 0..i {
                                    v += x[(b * l + src as usize) * i + ii]
                                        * w[(tap * i + ii) * o + c];
                                }
                            }
                        }
                        best = best.max(v);
                    }
                    y[(b * s.out_frames() + t) * o + c] = best.max(0.0);
                }
            }
        }
        y
    }

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + 1.0) * seed).sin()).collect()
    }

    #[test]
    fn both_gemm_layouts_match_a_direct_convolution() {
        for (i, o) in [(3, 8), (8, 3)] {
            for k in [1, 2, 3, 5] {
                for (batch, frames, pool) in [(1, 1, 1), (2, 7, 2), (3, 9, 3)] {
                    let s = ConvShape {
                        batch,
                        frames,
                        inputs: i,
                        filters: o,
                        kernel: k,
                        pool,
                    };
                    let x = values(batch * frames * i, 0.7);
                    let w = values(k * i * o, 0.3);
                    let bias = values(o, 1.9);
                    let (y, _) = forward(&s, &x, &w, &bias, false);
                    let want = direct(&s, &x, &w, &bias);
                    for (a, b) in y.iter().zip(&want) {
                        assert!((a - b).abs() < 1e-12, "{s:?}: {a} vs {b}");
                    }
                }
            }
        }
    }
}
