//! Classification metrics: confusion matrix, accuracy, unweighted average
//! recall (UAR), per-class precision / recall / F1 / support, macro F1.

/// Per-class scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    /// Precision (0 when nothing was predicted as the class).
    pub precision: f64,
    /// Recall (0 when the class has no support).
    pub recall: f64,
    /// F1 (0 when precision + recall is 0).
    pub f1: f64,
    /// True instances.
    pub support: usize,
}

/// Metrics of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// `confusion[actual][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Fraction correct.
    pub accuracy: f64,
    /// Mean recall over classes with support.
    pub uar: f64,
    /// Mean F1 over classes with support.
    pub macro_f1: f64,
    /// Scores by class.
    pub per_class: Vec<ClassScores>,
}

impl Metrics {
    /// Computes every metric from actual and predicted class indices.
    pub fn compute(actual: &[usize], predicted: &[usize], n_classes: usize) -> Metrics {
        assert_eq!(actual.len(), predicted.len(), "one prediction per example");
        let mut confusion = vec![vec![0usize; n_classes]; n_classes];
        for (&a, &p) in actual.iter().zip(predicted) {
            confusion[a][p] += 1;
        }
        let correct: usize = (0..n_classes).map(|c| confusion[c][c]).sum();
        let per_class: Vec<ClassScores> = (0..n_classes)
            .map(|c| {
                let support: usize = confusion[c].iter().sum();
                let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
                let tp = confusion[c][c] as f64;
                let precision = if predicted_c > 0 {
                    tp / predicted_c as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let present: Vec<&ClassScores> = per_class.iter().filter(|s| s.support > 0).collect();
        let mean = |f: fn(&ClassScores) -> f64| {
            if present.is_empty() {
                0.0
            } else {
                present.iter().map(|s| f(s)).sum::<f64>() / present.len() as f64
            }
        };
        Metrics {
            accuracy: if actual.is_empty() {
                0.0
            } else {
                correct as f64 / actual.len() as f64
            },
            uar: mean(|s| s.recall),
            macro_f1: mean(|s| s.f1),
            confusion,
            per_class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // actual:    0 0 0 0 1 1 2
        // predicted: 0 0 0 1 1 0 2
        let m = Metrics::compute(&[0, 0, 0, 0, 1, 1, 2], &[0, 0, 0, 1, 1, 0, 2], 3);
        assert_eq!(
            m.confusion,
            vec![vec![3, 1, 0], vec![1, 1, 0], vec![0, 0, 1]]
        );
        assert!((m.accuracy - 5.0 / 7.0).abs() < 1e-12);
        assert!((m.uar - (0.75 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        let p0 = 3.0 / 4.0;
        let f0 = 2.0 * p0 * 0.75 / (p0 + 0.75);
        assert!((m.per_class[0].f1 - f0).abs() < 1e-12);
        assert!((m.per_class[1].precision - 0.5).abs() < 1e-12);
        assert_eq!(m.per_class[2].support, 1);
    }

    #[test]
    fn uar_ignores_absent_classes_and_differs_from_accuracy_on_imbalance() {
        let m = Metrics::compute(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1], &[0; 10], 3);
        assert!((m.accuracy - 0.9).abs() < 1e-12);
        assert!(
            (m.uar - 0.5).abs() < 1e-12,
            "mean of recall 1.0 and 0.0; class 2 absent"
        );
        assert_eq!(m.per_class[1].precision, 0.0);
    }
}
