//! The demo corpus: deterministic, valid RAVDESS names, and learnable
//! (emotions separate from speakers the features never saw).

use std::collections::BTreeMap;

use crate::util::{ok, TestDir};

#[test]
fn synth_is_deterministic_and_its_emotions_are_learnable_across_actors() {
    let t = TestDir::new();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    for dir in [&a, &b] {
        let out = ok(&t.ser(&["synth", "--out", dir.to_str().unwrap(), "--actors", "4"]));
        assert!(out.contains("240 clips"), "{out}");
    }
    let files = pipeline::metadata::find_wavs(&a).unwrap();
    assert_eq!(files.len(), 240);
    for f in &files {
        let g = b.join(f.strip_prefix(&a).unwrap());
        assert_eq!(
            std::fs::read(f).unwrap(),
            std::fs::read(g).unwrap(),
            "{}",
            f.display()
        );
    }
    ok(&t.ser(&["metadata", "--data", a.to_str().unwrap()]));
    ok(&t.ser(&["features"]));
    let rows: Vec<_> = t
        .rows(None)
        .into_iter()
        .filter(|r| r.variant == "clean")
        .collect();
    assert_eq!(rows.len(), 240);

    // Nearest class mean on clip-mean MFCCs (standardised): train on actors
    // 1-2, test on 3-4. Chance is 1/8.
    let vec_of = |r: &store::FeatureRow| -> Vec<f64> {
        let n = r.n_mfcc as usize;
        let mut m = vec![0f64; n];
        for frame in r.mfcc.chunks_exact(n) {
            for (a, v) in m.iter_mut().zip(frame) {
                *a += *v as f64 / r.n_frames as f64;
            }
        }
        m
    };
    let (train, test): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.actor <= 2);
    let xs: Vec<Vec<f64>> = train.iter().map(|r| vec_of(r)).collect();
    let dim = xs[0].len();
    let mean: Vec<f64> = (0..dim)
        .map(|j| xs.iter().map(|x| x[j]).sum::<f64>() / xs.len() as f64)
        .collect();
    let sd: Vec<f64> = (0..dim)
        .map(|j| {
            (xs.iter().map(|x| (x[j] - mean[j]).powi(2)).sum::<f64>() / xs.len() as f64)
                .sqrt()
                .max(1e-9)
        })
        .collect();
    let z = |x: Vec<f64>| -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(j, v)| (v - mean[j]) / sd[j])
            .collect()
    };
    let mut centroids: BTreeMap<i32, (Vec<f64>, f64)> = BTreeMap::new();
    for r in &train {
        let e = centroids.entry(r.emotion).or_insert((vec![0.0; dim], 0.0));
        for (a, v) in e.0.iter_mut().zip(z(vec_of(r))) {
            *a += v;
        }
        e.1 += 1.0;
    }
    let correct = test
        .iter()
        .filter(|r| {
            let x = z(vec_of(r));
            let best = centroids
                .iter()
                .map(|(k, (s, n))| {
                    (
                        k,
                        s.iter()
                            .zip(&x)
                            .map(|(a, b)| (a / n - b).powi(2))
                            .sum::<f64>(),
                    )
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            *best.0 == r.emotion
        })
        .count();
    let acc = correct as f64 / test.len() as f64;
    println!("synth: nearest-centroid emotion accuracy on unseen actors {acc:.2} (chance 0.125)");
    assert!(acc > 0.35, "emotions not separable across actors: {acc:.2}");
}
