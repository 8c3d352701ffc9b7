//! librosa parity on `shared/golden`: at the native rate our log-mel and
//! MFCC match librosa to float32 rounding; after resampling, the error our
//! resampler gives against soxr HQ is reported and bounded.

use std::collections::BTreeMap;

use pipeline::audio::{read_wav, resample, ResamplerConfig};
use pipeline::dsp::{mfcc, MfccConfig};
use polars::prelude::*;

use crate::util::{ravdess, shared_or_skip};

/// (file, sample_rate, feature) -> [frame][coef] matrix from the golden table.
type Golden = BTreeMap<(String, u32, String), Vec<Vec<f32>>>;

fn golden(dir: &std::path::Path) -> Golden {
    let path = dir.join("librosa_reference.parquet");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let df = ParquetReader::new(file).finish().unwrap();
    let file = df.column("file").unwrap().str().unwrap().clone();
    let sr = df
        .column("sample_rate")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let sr = sr.i64().unwrap().clone();
    let feat = df.column("feature").unwrap().str().unwrap().clone();
    let coef = df.column("coef").unwrap().cast(&DataType::Int64).unwrap();
    let coef = coef.i64().unwrap().clone();
    let frame = df.column("frame").unwrap().cast(&DataType::Int64).unwrap();
    let frame = frame.i64().unwrap().clone();
    let value = df
        .column("value")
        .unwrap()
        .cast(&DataType::Float32)
        .unwrap();
    let value = value.f32().unwrap().clone();
    let mut out: Golden = BTreeMap::new();
    for i in 0..df.height() {
        let key = (
            file.get(i).unwrap().to_string(),
            sr.get(i).unwrap() as u32,
            feat.get(i).unwrap().to_string(),
        );
        let (c, f) = (
            coef.get(i).unwrap() as usize,
            frame.get(i).unwrap() as usize,
        );
        let m = out.entry(key).or_default();
        if m.len() <= f {
            m.resize(f + 1, Vec::new());
        }
        if m[f].len() <= c {
            m[f].resize(c + 1, 0.0);
        }
        m[f][c] = value.get(i).unwrap();
    }
    out
}

/// Relative L2 error ||ours - ref|| / ||ref||; frame counts must agree.
fn rel_l2(ours: &[f32], width: usize, reference: &[Vec<f32>]) -> f64 {
    assert_eq!(ours.len() / width, reference.len(), "frame count differs");
    let (mut num, mut den) = (0f64, 0f64);
    for (row, r) in ours.chunks_exact(width).zip(reference) {
        assert_eq!(r.len(), width);
        for (a, b) in row.iter().zip(r) {
            num += (*a as f64 - *b as f64).powi(2);
            den += (*b as f64).powi(2);
        }
    }
    (num / den).sqrt()
}

/// Errors per (file, rate, feature) for a resampler.
fn errors(
    g: &Golden,
    corpus: &std::path::Path,
    resampler: &ResamplerConfig,
) -> Vec<((String, u32, String), f64)> {
    let cfg = MfccConfig::default();
    let files: Vec<String> = g
        .keys()
        .map(|k| k.0.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for file in files {
        let audio = read_wav(&corpus.join(&file)).unwrap();
        let native = audio.info.sample_rate;
        for sr in [native, 22050, 16000] {
            let y = resample(&audio.samples, native, sr, resampler).unwrap();
            let f = mfcc(&y, sr, &cfg).unwrap();
            for (name, m, w) in [
                ("mel_db", &f.mel_db, cfg.n_mels),
                ("mfcc", &f.mfcc, cfg.n_mfcc),
            ] {
                let key = (file.clone(), sr, name.to_string());
                let reference = g
                    .get(&key)
                    .unwrap_or_else(|| panic!("golden lacks {key:?}"));
                out.push((key, rel_l2(m, w, reference)));
            }
        }
    }
    out
}

#[test]
fn mel_db_and_mfcc_match_librosa_at_native_rate_and_after_resampling() {
    let test = "parity with librosa";
    let Some(dir) = shared_or_skip("golden", test) else {
        return;
    };
    let Some(corpus) = ravdess(test) else {
        return;
    };
    let g = golden(&dir);
    let errs = errors(&g, &corpus, &ResamplerConfig::default());
    assert_eq!(
        errs.len(),
        5 * 3 * 2,
        "five files x three rates x two features"
    );
    let mut worst: BTreeMap<(u32, String), f64> = BTreeMap::new();
    for ((file, sr, feat), e) in &errs {
        println!("parity {file} {sr} Hz {feat}: relative L2 {e:.2e}");
        let w = worst.entry((*sr, feat.clone())).or_default();
        *w = w.max(*e);
    }
    for ((sr, feat), e) in &worst {
        println!("parity worst {sr} Hz {feat}: {e:.2e}");
        let bound = if *sr == 48000 { 1e-5 } else { 1e-2 };
        assert!(
            *e <= bound,
            "{feat} at {sr} Hz: relative L2 {e:.2e} > {bound:.0e}"
        );
    }
}
