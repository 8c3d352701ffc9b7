//! Confidence calibration: temperature scaling (Guo et al., 2017) fitted on
//! held-out predictions, and the expected calibration error (ECE) with its
//! reliability bins. Works on class probabilities in memory: softmax of
//! `z / T` is the probabilities `p` raised to `1 / T` and renormalised, so
//! a run's stored probabilities are enough and no logits need keeping.

/// A fitted temperature (`1.0` leaves probabilities as they are; above 1
/// softens over-confident ones).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Temperature(pub f64);

impl Default for Temperature {
    fn default() -> Self {
        Temperature(1.0)
    }
}

/// Smallest probability taken into a logarithm (a class a model gives 0
/// still gets a finite loss, and [`Temperature::apply`] a finite log).
pub const FLOOR: f64 = 1e-12;

impl Temperature {
    /// `p` (`[classes]`, summing to 1) rescaled: `p^(1/T)` renormalised.
    pub fn apply(self, p: &[f32]) -> Vec<f32> {
        let logs: Vec<f64> = p
            .iter()
            .map(|&q| (q as f64).max(FLOOR).ln() / self.0)
            .collect();
        let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.iter().map(|v| (v / sum) as f32).collect()
    }

    /// The temperature with the least mean negative log-likelihood of
    /// `labels` under `probs` (one row per example), searched over
    /// `0.05..=20` (golden-section search on `ln T`; the loss is convex in
    /// `1 / T`). No examples: `1.0`.
    pub fn fit(probs: &[Vec<f32>], labels: &[usize]) -> Temperature {
        if probs.is_empty() {
            return Temperature(1.0);
        }
        let nll = |ln_t: f64| mean_nll(probs, labels, Temperature(ln_t.exp()));
        let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
        let g = (5f64.sqrt() - 1.0) / 2.0;
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fd) = (nll(c), nll(d));
        for _ in 0..80 {
            if fc < fd {
                b = d;
                d = c;
                fd = fc;
                c = b - g * (b - a);
                fc = nll(c);
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + g * (b - a);
                fd = nll(d);
            }
        }
        Temperature(((a + b) / 2.0).exp())
    }
}

/// Mean negative log-likelihood of `labels` under `probs` at temperature `t`.
pub fn mean_nll(probs: &[Vec<f32>], labels: &[usize], t: Temperature) -> f64 {
    let n = probs.len().max(1) as f64;
    probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| {
            let q = t.apply(p);
            -(q.get(y).copied().unwrap_or(0.0) as f64).max(FLOOR).ln()
        })
        .sum::<f64>()
        / n
}

/// One bin of a reliability diagram: examples whose top probability falls
/// in `[lo, hi)` (the last bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Examples in the bin.
    pub count: usize,
    /// Mean top probability (confidence) of those examples.
    pub confidence: f64,
    /// Share of them whose top class is right.
    pub accuracy: f64,
}

/// `bins` equal-width confidence bins of `probs` against `labels`.
pub fn reliability(probs: &[Vec<f32>], labels: &[usize], bins: usize) -> Vec<Bin> {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (p, &y) in probs.iter().zip(labels) {
        let top = crate::train::argmax(p);
        let conf = p.get(top).copied().unwrap_or(0.0) as f64;
        let k = ((conf * bins as f64) as usize).min(bins - 1);
        sums[k].0 += 1;
        sums[k].1 += conf;
        sums[k].2 += usize::from(top == y);
    }
    sums.iter()
        .enumerate()
        .map(|(k, &(count, conf, right))| Bin {
            lo: k as f64 / bins as f64,
            hi: (k + 1) as f64 / bins as f64,
            count,
            confidence: if count > 0 { conf / count as f64 } else { 0.0 },
            accuracy: if count > 0 {
                right as f64 / count as f64
            } else {
                0.0
            },
        })
        .collect()
}

/// Expected calibration error: the count-weighted mean gap between
/// confidence and accuracy over `bins` equal-width bins (15 is usual).
pub fn ece(probs: &[Vec<f32>], labels: &[usize], bins: usize) -> f64 {
    let n = probs.len().max(1) as f64;
    reliability(probs, labels, bins)
        .iter()
        .map(|b| b.count as f64 / n * (b.confidence - b.accuracy).abs())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SplitMix;

    fn softmax(z: &[f64]) -> Vec<f32> {
        let top = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - top).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| (v / s) as f32).collect()
    }

    /// Examples whose class is drawn from softmax(z) (so softmax(z) is
    /// calibrated), reported as softmax(`sharpness` z): a model that sure
    /// of itself.
    fn overconfident(n: usize, sharpness: f64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = SplitMix(5);
        let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let z: Vec<f64> = (0..4).map(|_| 3.0 * unit() - 1.5).collect();
            let truth = softmax(&z);
            let u = unit() as f32;
            let mut acc = 0.0;
            let y = truth
                .iter()
                .position(|&q| {
                    acc += q;
                    u < acc
                })
                .unwrap_or(3);
            let sharp: Vec<f64> = z.iter().map(|v| v * sharpness).collect();
            probs.push(softmax(&sharp));
            labels.push(y);
        }
        (probs, labels)
    }

    #[test]
    fn temperature_matches_softmax_of_scaled_logits() {
        let z = [1.0, -0.5, 2.0];
        let p = softmax(&z);
        let want = softmax(&z.map(|v| v / 2.5));
        let got = Temperature(2.5).apply(&p);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{got:?} vs {want:?}");
        }
        assert_eq!(Temperature(1.0).apply(&p), p);
    }

    #[test]
    fn fitting_undoes_overconfidence_and_lowers_nll_and_ece() {
        let (probs, labels) = overconfident(4000, 3.0);
        let t = Temperature::fit(&probs, &labels);
        // The data were made by logits 3x too sharp: T near 3.
        assert!((t.0 - 3.0).abs() < 0.4, "T = {}", t.0);
        let after: Vec<Vec<f32>> = probs.iter().map(|p| t.apply(p)).collect();
        assert!(
            mean_nll(&probs, &labels, t) < mean_nll(&probs, &labels, Temperature(1.0)),
            "NLL falls"
        );
        let (before, now) = (ece(&probs, &labels, 15), ece(&after, &labels, 15));
        assert!(now < before / 2.0, "ECE {before} -> {now}");
    }

    #[test]
    fn a_calibrated_model_keeps_a_temperature_near_one() {
        let (probs, labels) = overconfident(4000, 1.0);
        let t = Temperature::fit(&probs, &labels);
        assert!((t.0 - 1.0).abs() < 0.15, "T = {}", t.0);
    }

    #[test]
    fn reliability_bins_count_every_example_once() {
        let probs = vec![
            vec![0.95, 0.05],
            vec![0.55, 0.45],
            vec![0.2, 0.8],
            vec![1.0, 0.0],
        ];
        let labels = vec![0, 1, 1, 0];
        let bins = reliability(&probs, &labels, 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(bins[9].count, 2, "0.95 and 1.0 in the last bin");
        assert_eq!(bins[5].accuracy, 0.0, "0.55 for class 0, truth 1");
        // Gaps: |0.975 - 1| * 2/4 + |0.55 - 0| / 4 + |0.8 - 1| / 4.
        let want = 0.025 * 0.5 + 0.55 * 0.25 + 0.2 * 0.25;
        assert!((ece(&probs, &labels, 10) - want).abs() < 1e-6);
        assert_eq!(Temperature::fit(&[], &[]), Temperature(1.0));
    }
}
