//! Mixup (Zhang et al., 2018) of training batches: each example is blended
//! with another example of the same batch, inputs and targets alike, with a
//! weight drawn from Beta(alpha, alpha). It is a regulariser for small
//! corpora: the network cannot learn a clip (or its speaker) by heart when
//! no clip is ever seen alone. Works on standardised features in memory;
//! no weights, no files.

use crate::split::SplitMix;

/// Blends a batch in place. `alpha` is Beta's parameter (0: off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mixup {
    /// Beta(alpha, alpha) draws the blend; larger is more mixing.
    pub alpha: f64,
}

impl Mixup {
    /// Blends example `i` of `x` (`[b, frames, width]`, `width = x.len() /
    /// (b * frames)`) with example `perm[i]` of a seeded shuffle of the
    /// batch: `x_i <- l x_i + (1 - l) x_perm(i)`, `targets` (`[b, n]`) the
    /// same way, `lengths` to the longer of the two. One `l` per batch,
    /// drawn from Beta(alpha, alpha) and folded to `l >= 0.5`, so each
    /// example keeps its own class as the larger share (the training
    /// accuracy stays meaningful).
    pub fn apply(
        &self,
        x: &mut [f32],
        lengths: &mut [usize],
        targets: &mut [f32],
        rng: &mut SplitMix,
    ) {
        let b = lengths.len();
        if self.alpha <= 0.0
            || b < 2
            || !x.len().is_multiple_of(b)
            || !targets.len().is_multiple_of(b)
        {
            return;
        }
        let l = beta(rng, self.alpha);
        let l = l.max(1.0 - l) as f32;
        let mut perm: Vec<usize> = (0..b).collect();
        rng.shuffle(&mut perm);
        blend(x, b, &perm, l);
        blend(targets, b, &perm, l);
        let old = lengths.to_vec();
        for (i, len) in lengths.iter_mut().enumerate() {
            *len = old[i].max(old[perm[i]]);
        }
    }
}

/// `rows_i <- l rows_i + (1 - l) rows_perm(i)` over `b` equal rows.
fn blend(v: &mut [f32], b: usize, perm: &[usize], l: f32) {
    let w = v.len() / b;
    let old = v.to_vec();
    for (i, row) in v.chunks_exact_mut(w).enumerate() {
        let other = &old[perm[i] * w..(perm[i] + 1) * w];
        for (a, &o) in row.iter_mut().zip(other) {
            *a = l * *a + (1.0 - l) * o;
        }
    }
}

/// A uniform draw in (0, 1).
fn unit(rng: &mut SplitMix) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut SplitMix) -> f64 {
    let (u, v) = (unit(rng), unit(rng));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A Gamma(a, 1) draw (Marsaglia and Tsang; `a < 1` through
/// `Gamma(a + 1) U^(1/a)`).
fn gamma(rng: &mut SplitMix, a: f64) -> f64 {
    if a < 1.0 {
        return gamma(rng, a + 1.0) * unit(rng).powf(1.0 / a);
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = normal(rng);
        let v = (1.0 + c * z).powi(3);
        if v > 0.0 && unit(rng).ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A Beta(a, a) draw.
fn beta(rng: &mut SplitMix, a: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, a);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_draws_have_beta_mean_and_variance() {
        let mut rng = SplitMix(7);
        for a in [0.2, 0.4, 1.0, 2.0] {
            let d: Vec<f64> = (0..40_000).map(|_| beta(&mut rng, a)).collect();
            let m = d.iter().sum::<f64>() / d.len() as f64;
            let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / d.len() as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((m - 0.5).abs() < 0.01, "alpha {a}: mean {m}");
            assert!(
                (var - want).abs() < 0.1 * want,
                "alpha {a}: var {var} vs {want}"
            );
        }
    }

    #[test]
    fn mixing_blends_inputs_and_targets_alike_and_keeps_each_class_ahead() {
        // 4 examples of 3 frames x 2 values; example i is all i, class i.
        let (b, frames, w, n) = (4, 3, 2, 4);
        let mut x: Vec<f32> = (0..b).flat_map(|i| vec![i as f32; frames * w]).collect();
        let mut t = vec![0f32; b * n];
        (0..b).for_each(|i| t[i * n + i] = 1.0);
        let mut lengths = vec![3, 1, 2, 3];
        Mixup { alpha: 0.4 }.apply(&mut x, &mut lengths, &mut t, &mut SplitMix(11));
        for i in 0..b {
            let row = &t[i * n..(i + 1) * n];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row[i] >= 0.5, "example {i} keeps its class ahead: {row:?}");
            // The input is the same blend as the target: sum_k k * t_k.
            let want: f32 = row.iter().enumerate().map(|(k, p)| k as f32 * p).sum();
            let ex = &x[i * frames * w..(i + 1) * frames * w];
            assert!(
                ex.iter().all(|v| (v - want).abs() < 1e-5),
                "{ex:?} vs {want}"
            );
        }
        assert!(lengths.iter().all(|&l| l >= 1));
    }

    #[test]
    fn alpha_zero_leaves_the_batch_alone() {
        let mut x = vec![1.0, 2.0];
        let mut t = vec![1.0, 0.0, 0.0, 1.0];
        let mut lengths = vec![1, 1];
        Mixup { alpha: 0.0 }.apply(&mut x, &mut lengths, &mut t, &mut SplitMix(1));
        assert_eq!((x, t), (vec![1.0, 2.0], vec![1.0, 0.0, 0.0, 1.0]));
    }
}
