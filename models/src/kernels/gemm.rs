//! One safe entry point to the `gemm` crate: strided views of slices,
//! checked against the slices' lengths, threaded on the rayon pool.

use super::Float;

/// A matrix view into a slice: element `(r, c)` is `data[off + r * rs + c * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Offset of element `(0, 0)`.
    pub off: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl View {
    /// A row-major matrix with `cols` columns, starting at `off`.
    pub fn rows(off: usize, cols: usize) -> View {
        View {
            off,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns, starting at `off`.
    pub fn transposed(off: usize, cols: usize) -> View {
        View {
            off,
            rs: 1,
            cs: cols,
        }
    }

    /// Panics unless an `m` x `n` view fits in `len` elements.
    fn check(&self, m: usize, n: usize, len: usize, what: &str) {
        if m == 0 || n == 0 {
            return;
        }
        let last = self.off + (m - 1) * self.rs + (n - 1) * self.cs;
        assert!(
            last < len,
            "gemm: {what} view ({m} x {n}, {self:?}) exceeds its {len} elements"
        );
    }
}

/// Threads for a gemm: the size of the rayon pool we run in (the global
/// one, `RAYON_NUM_THREADS` or `ser train --threads`; or the pool a caller
/// `install`s). Kernels that already split work across the pool pass 1.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]`: accumulates into `dst` when
/// `accumulate`, overwrites it otherwise. Views must fit their slices.
#[allow(clippy::too_many_arguments)]
pub fn gemm<E: Float>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [E],
    d: View,
    accumulate: bool,
    lhs: &[E],
    l: View,
    rhs: &[E],
    r: View,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    d.check(m, n, dst.len(), "dst");
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst[d.off + i * d.rs + j * d.cs] = E::zero();
                }
            }
        }
        return;
    }
    l.check(m, k, lhs.len(), "lhs");
    r.check(k, n, rhs.len(), "rhs");
    let par = if threads > 1 {
        gemm_crate::Parallelism::Rayon(threads)
    } else {
        gemm_crate::Parallelism::None
    };
    // SAFETY: every element the three views address lies inside its slice
    // (checked above); `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm_crate::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().add(d.off),
            d.cs as isize,
            d.rs as isize,
            accumulate,
            lhs.as_ptr().add(l.off),
            l.cs as isize,
            l.rs as isize,
            rhs.as_ptr().add(r.off),
            r.cs as isize,
            r.rs as isize,
            E::one(),
            E::one(),
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn strided_views_and_accumulation_match_a_naive_product() {
        let (m, n, k) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let want = naive(m, n, k, &a, &b);
        let mut c = vec![1.0; m * n];
        gemm(
            (m, n, k),
            &mut c,
            View::rows(0, n),
            false,
            &a,
            View::rows(0, k),
            &b,
            View::rows(0, n),
            1,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-12);
        }
        // Accumulate, with the left side given as the transpose of a [k, m] matrix.
        let at: Vec<f64> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
        gemm(
            (m, n, k),
            &mut c,
            View::rows(0, n),
            true,
            &at,
            View::transposed(0, m),
            &b,
            View::rows(0, n),
            2,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - 2.0 * y).abs() < 1e-12);
        }
    }

    #[test]
    #[should_panic(expected = "exceeds")]
    fn a_view_past_the_slice_panics_instead_of_reading_it() {
        let a = vec![0.0f32; 6];
        let mut c = vec![0.0f32; 4];
        gemm(
            (2, 2, 3),
            &mut c,
            View::rows(0, 2),
            false,
            &a,
            View::rows(1, 3),
            &a,
            View::rows(0, 2),
            1,
        );
    }
}
