//! One LSTM layer (Keras gate order: input, forget, cell, output; sigmoid
//! gates, tanh cell), forward over all frames and backpropagation through
//! time, on row-major slices.
//!
//! - The input projection of every frame is one tall gemm
//!   `[batch * frames, I] x [I, 4H]`, written over the bias.
//! - The recurrence runs the batch in independent slices, one per thread
//!   (examples never interact), each doing per frame one small gemm
//!   `[slice, H] x [H, 4H]` that accumulates into that frame's gate rows,
//!   then the gate non-linearities and the cell update in one pass.
//! - Backward walks time in reverse per slice, keeping only the recurrent
//!   `dh` product inside the loop; the weight, bias and input gradients are
//!   then three tall gemms over all frames at once.

use rayon::prelude::*;

use super::gemm::{gemm, threads, View};
use super::workspace::Buf;
use super::Float;

/// Sizes of one LSTM layer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LstmShape {
    /// Examples.
    pub batch: usize,
    /// Frames.
    pub frames: usize,
    /// Inputs per frame.
    pub inputs: usize,
    /// Units.
    pub units: usize,
}

/// What backward needs from forward.
#[derive(Debug, Clone)]
pub struct LstmSaved<E: Float> {
    /// The input, `[batch, frames, I]`.
    x: Buf<E>,
    /// Gate activations `i, f, g, o` per frame, `[batch, frames, 4H]`.
    gates: Buf<E>,
    /// Cell states, `[batch, frames, H]`.
    c: Buf<E>,
    /// `tanh` of the cell states, `[batch, frames, H]`.
    tc: Buf<E>,
    /// Hidden states (the output), `[batch, frames, H]`.
    h: Buf<E>,
}

/// The vector unit the per-frame loops are compiled for (checked once).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Simd {
    /// AVX-512 (16 lanes of f32).
    V4,
    /// AVX2 + FMA (8 lanes).
    V3,
    /// What the target guarantees (SSE2 on x86-64).
    Base,
}

fn simd() -> Simd {
    static LEVEL: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
            {
                return Simd::V4;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Simd::V3;
            }
        }
        Simd::Base
    })
}

/// The per-frame loops compiled for each vector unit: the same
/// `#[inline(always)]` bodies, so results do not depend on the CPU beyond
/// floating-point contraction (none: Rust never fuses `a * b + c`).
#[cfg(target_arch = "x86_64")]
mod wide {
    use super::*;

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub(super) unsafe fn recur_v4<E: Float>(l: usize, h: usize, wh: &[E], s: Slice<'_, E>) {
        recur_body(l, h, wh, s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn recur_v3<E: Float>(l: usize, h: usize, wh: &[E], s: Slice<'_, E>) {
        recur_body(l, h, wh, s)
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub(super) unsafe fn unroll_v4<E: Float>(l: usize, h: usize, wh: &[E], s: Back<'_, E>) {
        unroll_body(l, h, wh, s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn unroll_v3<E: Float>(l: usize, h: usize, wh: &[E], s: Back<'_, E>) {
        unroll_body(l, h, wh, s)
    }
}

/// Examples per thread slice.
fn slice_len(batch: usize) -> usize {
    batch.div_ceil(threads().min(batch).max(1)).max(1)
}

/// Forward: all hidden states `[batch, frames, H]` of `x` `[batch, frames, I]`,
/// with `wx` `[I, 4H]`, `wh` `[H, 4H]`, `bias` `[4H]` (gates side by side
/// in the order i, f, g, o). Keeps what [`backward`] needs when `keep`.
pub fn forward<E: Float>(
    s: &LstmShape,
    x: &[E],
    wx: &[E],
    wh: &[E],
    bias: &[E],
    keep: bool,
) -> (Vec<E>, Option<LstmSaved<E>>) {
    let (b, l, i, h) = (s.batch, s.frames, s.inputs, s.units);
    let g4 = 4 * h;
    assert_eq!(x.len(), b * l * i, "lstm input size");
    assert_eq!(
        (wx.len(), wh.len(), bias.len()),
        (i * g4, h * g4, g4),
        "lstm weight sizes"
    );
    let rows = b * l;
    // Gate pre-activations: bias, plus the input projection of every frame.
    let mut gates = Buf::scratch(rows * g4);
    if g4 > 0 {
        for row in gates.chunks_exact_mut(g4) {
            row.copy_from_slice(bias);
        }
    }
    gemm(
        (rows, g4, i),
        &mut gates,
        View::rows(0, g4),
        true,
        x,
        View::rows(0, i),
        wx,
        View::rows(0, g4),
        threads(),
    );
    // The recurrence writes every element of these.
    let mut c = Buf::scratch(rows * h);
    let mut tc = Buf::scratch(rows * h);
    let mut hs = Buf::scratch(rows * h);
    if rows > 0 && h > 0 {
        let n = slice_len(b);
        gates
            .par_chunks_mut(n * l * g4)
            .zip(c.par_chunks_mut(n * l * h))
            .zip(
                tc.par_chunks_mut(n * l * h)
                    .zip(hs.par_chunks_mut(n * l * h)),
            )
            .for_each(|((gs, cs), (tcs, hs))| recur(l, h, wh, Slice { gs, cs, tcs, hs }));
    }
    let out = hs.to_vec();
    let saved = keep.then(|| {
        let mut xs = Buf::scratch(x.len());
        xs.copy_from_slice(x);
        LstmSaved {
            x: xs,
            gates,
            c,
            tc,
            h: hs,
        }
    });
    (out, saved)
}

/// One thread's slice of the forward arrays (whole examples).
pub(crate) struct Slice<'a, E> {
    gs: &'a mut [E],
    cs: &'a mut [E],
    tcs: &'a mut [E],
    hs: &'a mut [E],
}

/// The recurrence for one slice of examples (all its frames).
fn recur<E: Float>(l: usize, h: usize, wh: &[E], s: Slice<'_, E>) {
    match simd() {
        // SAFETY: `simd()` detected these features on this CPU.
        #[cfg(target_arch = "x86_64")]
        Simd::V4 => unsafe { wide::recur_v4(l, h, wh, s) },
        #[cfg(target_arch = "x86_64")]
        Simd::V3 => unsafe { wide::recur_v3(l, h, wh, s) },
        _ => recur_body(l, h, wh, s),
    }
}

#[inline(always)]
fn recur_body<E: Float>(l: usize, h: usize, wh: &[E], s: Slice<'_, E>) {
    let Slice { gs, cs, tcs, hs } = s;
    let g4 = 4 * h;
    let n = hs.len() / (l * h);
    for t in 0..l {
        if t > 0 {
            // gates[:, t] += h[:, t - 1] Wh, rows strided by a whole example.
            let hv = View {
                off: (t - 1) * h,
                rs: l * h,
                cs: 1,
            };
            let gv = View {
                off: t * g4,
                rs: l * g4,
                cs: 1,
            };
            gemm((n, g4, h), gs, gv, true, hs, hv, wh, View::rows(0, g4), 1);
        }
        for e in 0..n {
            let row = e * l + t;
            let gate = &mut gs[row * g4..(row + 1) * g4];
            for v in gate[..2 * h].iter_mut() {
                *v = v.sigmoid();
            }
            for v in gate[2 * h..3 * h].iter_mut() {
                *v = v.tanh_act();
            }
            for v in gate[3 * h..].iter_mut() {
                *v = v.sigmoid();
            }
            let (ig, rest) = gate.split_at(h);
            let (fg, rest) = rest.split_at(h);
            let (gg, og) = rest.split_at(h);
            let (before, now) = cs.split_at_mut(row * h);
            let c = &mut now[..h];
            if t > 0 {
                let c_prev = &before[(row - 1) * h..];
                for j in 0..h {
                    c[j] = fg[j] * c_prev[j] + ig[j] * gg[j];
                }
            } else {
                for j in 0..h {
                    c[j] = ig[j] * gg[j];
                }
            }
            let tc = &mut tcs[row * h..(row + 1) * h];
            let ho = &mut hs[row * h..(row + 1) * h];
            for j in 0..h {
                tc[j] = c[j].tanh_act();
                ho[j] = og[j] * tc[j];
            }
        }
    }
}

/// Gradients of [`forward`] from `dh` `[batch, frames, H]` (the loss's
/// gradient with respect to every output state): adds to `dwx`, `dwh`,
/// `dbias` and, when given, `dx`.
#[allow(clippy::too_many_arguments)]
pub fn backward<E: Float>(
    s: &LstmShape,
    saved: &LstmSaved<E>,
    wx: &[E],
    wh: &[E],
    dh: &[E],
    dwx: &mut [E],
    dwh: &mut [E],
    dbias: &mut [E],
    dx: Option<&mut [E]>,
) {
    let (b, l, i, h) = (s.batch, s.frames, s.inputs, s.units);
    let g4 = 4 * h;
    let rows = b * l;
    assert_eq!(dh.len(), rows * h, "lstm output gradient size");
    assert_eq!(
        (dwx.len(), dwh.len(), dbias.len()),
        (i * g4, h * g4, g4),
        "lstm gradient sizes"
    );
    if rows == 0 || h == 0 {
        return;
    }
    // Pre-activation gradients of every frame, [batch, frames, 4H].
    // Every frame's gradients are written.
    let mut da = Buf::scratch(rows * g4);
    let n = slice_len(b);
    da.par_chunks_mut(n * l * g4)
        .zip(dh.par_chunks(n * l * h))
        .enumerate()
        .for_each(|(k, (das, dhs))| {
            let (g0, s0) = (k * n * l * g4, k * n * l * h);
            let gs = &saved.gates[g0..g0 + das.len()];
            let cs = &saved.c[s0..s0 + dhs.len()];
            let tcs = &saved.tc[s0..s0 + dhs.len()];
            unroll(
                l,
                h,
                wh,
                Back {
                    gs,
                    cs,
                    tcs,
                    dhs,
                    das,
                },
            );
        });
    let th = threads();
    for (e, d) in dbias.iter_mut().enumerate() {
        *d = *d + (0..rows).map(|r| da[r * g4 + e]).sum::<E>();
    }
    gemm(
        (i, g4, rows),
        dwx,
        View::rows(0, g4),
        true,
        &saved.x,
        View::transposed(0, i),
        &da,
        View::rows(0, g4),
        th,
    );
    // Previous states: h[t - 1], zero at t = 0.
    let mut h_prev = Buf::zeroed(rows * h);
    h_prev
        .par_chunks_mut(l * h)
        .zip(saved.h.par_chunks(l * h))
        .for_each(|(p, hs)| p[h..].copy_from_slice(&hs[..(l - 1) * h]));
    gemm(
        (h, g4, rows),
        dwh,
        View::rows(0, g4),
        true,
        &h_prev,
        View::transposed(0, h),
        &da,
        View::rows(0, g4),
        th,
    );
    if let Some(dx) = dx {
        assert_eq!(dx.len(), rows * i, "lstm input gradient size");
        gemm(
            (rows, i, g4),
            dx,
            View::rows(0, i),
            true,
            &da,
            View::rows(0, g4),
            wx,
            View::transposed(0, g4),
            th,
        );
    }
}

/// One thread's slice of the backward arrays (whole examples).
pub(crate) struct Back<'a, E> {
    gs: &'a [E],
    cs: &'a [E],
    tcs: &'a [E],
    dhs: &'a [E],
    das: &'a mut [E],
}

/// Backpropagation through time for one slice of examples.
fn unroll<E: Float>(l: usize, h: usize, wh: &[E], s: Back<'_, E>) {
    match simd() {
        // SAFETY: `simd()` detected these features on this CPU.
        #[cfg(target_arch = "x86_64")]
        Simd::V4 => unsafe { wide::unroll_v4(l, h, wh, s) },
        #[cfg(target_arch = "x86_64")]
        Simd::V3 => unsafe { wide::unroll_v3(l, h, wh, s) },
        _ => unroll_body(l, h, wh, s),
    }
}

#[inline(always)]
fn unroll_body<E: Float>(l: usize, h: usize, wh: &[E], s: Back<'_, E>) {
    let Back {
        gs,
        cs,
        tcs,
        dhs,
        das,
    } = s;
    let g4 = 4 * h;
    let n = dhs.len() / (l * h);
    let one = E::one();
    let zeros = vec![E::zero(); h];
    // Gradient reaching each example's state from the next frame.
    let mut dh_next = vec![E::zero(); n * h];
    let mut dc_next = vec![E::zero(); n * h];
    for t in (0..l).rev() {
        for e in 0..n {
            let row = e * l + t;
            let gate = &gs[row * g4..(row + 1) * g4];
            let (ig, rest) = gate.split_at(h);
            let (fg, rest) = rest.split_at(h);
            let (gg, og) = rest.split_at(h);
            let tc = &tcs[row * h..(row + 1) * h];
            let dh = &dhs[row * h..(row + 1) * h];
            let c_prev = if t > 0 {
                &cs[(row - 1) * h..row * h]
            } else {
                &zeros[..]
            };
            let dhn = &dh_next[e * h..(e + 1) * h];
            let dcn = &mut dc_next[e * h..(e + 1) * h];
            let da = &mut das[row * g4..(row + 1) * g4];
            let (dai, rest) = da.split_at_mut(h);
            let (daf, rest) = rest.split_at_mut(h);
            let (dag, dao) = rest.split_at_mut(h);
            for j in 0..h {
                let dhv = dh[j] + dhn[j];
                let dc = dhv * og[j] * (one - tc[j] * tc[j]) + dcn[j];
                dai[j] = dc * gg[j] * ig[j] * (one - ig[j]);
                daf[j] = dc * c_prev[j] * fg[j] * (one - fg[j]);
                dag[j] = dc * ig[j] * (one - gg[j] * gg[j]);
                dao[j] = dhv * tc[j] * og[j] * (one - og[j]);
                dcn[j] = dc * fg[j];
            }
        }
        if t > 0 {
            // dh[t - 1] = da[t] Wh^T.
            let dav = View {
                off: t * g4,
                rs: l * g4,
                cs: 1,
            };
            gemm(
                (n, h, g4),
                &mut dh_next,
                View::rows(0, h),
                false,
                das,
                dav,
                wh,
                View::transposed(0, g4),
                1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n)
            .map(|i| 0.5 * ((i as f64 + 1.0) * seed).sin())
            .collect()
    }

    /// The recurrence written out with no gemm, in f64.
    fn direct(s: &LstmShape, x: &[f64], wx: &[f64], wh: &[f64], bias: &[f64]) -> Vec<f64> {
        let (l, i, h) = (s.frames, s.inputs, s.units);
        let g4 = 4 * h;
        let mut out = vec![0.0; s.batch * l * h];
        for b in 0..s.batch {
            let (mut hp, mut cp) = (vec![0.0; h], vec![0.0; h]);
            for t in 0..l {
                let mut a = bias.to_vec();
                for (c, av) in a.iter_mut().enumerate() {
                    *av += (0..i)
                        .map(|k| x[(b * l + t) * i + k] * wx[k * g4 + c])
                        .sum::<f64>();
                    *av += (0..h).map(|k| hp[k] * wh[k * g4 + c]).sum::<f64>();
                }
                let sg = |v: f64| 1.0 / (1.0 + (-v).exp());
                for j in 0..h {
                    cp[j] = sg(a[h + j]) * cp[j] + sg(a[j]) * a[2 * h + j].tanh();
                    hp[j] = sg(a[3 * h + j]) * cp[j].tanh();
                }
                out[(b * l + t) * h..(b * l + t + 1) * h].copy_from_slice(&hp);
            }
        }
        out
    }

    #[test]
    fn forward_matches_the_recurrence_written_out() {
        for (batch, frames) in [(1, 1), (3, 5), (5, 2)] {
            let s = LstmShape {
                batch,
                frames,
                inputs: 3,
                units: 4,
            };
            let x = values(batch * frames * 3, 0.9);
            let (wx, wh, bias) = (values(3 * 16, 0.4), values(4 * 16, 0.7), values(16, 1.3));
            let (y, _) = forward(&s, &x, &wx, &wh, &bias, false);
            for (a, b) in y.iter().zip(direct(&s, &x, &wx, &wh, &bias)) {
                assert!((a - b).abs() < 1e-12, "{s:?}: {a} vs {b}");
            }
        }
    }
}
