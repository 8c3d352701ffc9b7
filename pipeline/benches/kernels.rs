//! Per-clip cost of each feature kernel on real RAVDESS files, single
//! thread: `cargo bench -p ser-pipeline --bench kernels` (part of `make bench`).
//! The whole-stage comparison with librosa is `bench/features_bench.py`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use pipeline::audio::{read_wav, resample, ResamplerConfig};
use pipeline::dsp::noise::NoiseConfig;
use pipeline::dsp::{FeatureExtractor, MfccConfig, Scratch};

fn time<T>(label: &str, per: usize, mut f: impl FnMut() -> T) {
    black_box(f()); // warm-up: plans, caches
    let reps = 3;
    let t0 = Instant::now();
    for _ in 0..reps {
        black_box(f());
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / (reps * per) as f64;
    println!("{label:<44} {us:>9.1} us");
}

fn main() {
    let root = std::env::var_os("SER_RAVDESS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/ravdess/Actor_01"
            ))
        });
    let mut files: Vec<PathBuf> = pipeline::metadata::find_wavs(&root).expect("RAVDESS folder");
    files.truncate(60);
    let n = files.len();
    let clips: Vec<_> = files.iter().map(|f| read_wav(f).expect("wav")).collect();
    let sr = clips[0].info.sample_rate;
    let cfg = MfccConfig::default();
    let ex = FeatureExtractor::new(22050, &cfg).unwrap();
    let rs = ResamplerConfig::default();
    let at22: Vec<Vec<f32>> = clips
        .iter()
        .map(|c| resample(&c.samples, sr, 22050, &rs).unwrap())
        .collect();
    let frames: usize = at22.iter().map(|y| ex.n_frames(y.len())).sum();
    println!(
        "kernels: {n} clips from {}, {sr} Hz -> 22050 Hz, {} frames per clip",
        root.display(),
        frames / n
    );

    time("read_wav (per clip)", n, || {
        files
            .iter()
            .map(|f| read_wav(f).unwrap().samples.len())
            .sum::<usize>()
    });
    for block in [320, 2048] {
        let rc = ResamplerConfig::Fft { block };
        time(&format!("resample fft:{block} (per clip)"), n, || {
            clips
                .iter()
                .map(|c| resample(&c.samples, sr, 22050, &rc).unwrap().len())
                .sum::<usize>()
        });
    }
    let noise = NoiseConfig::default();
    time("noise gaussian (per clip)", n, || {
        at22.iter()
            .map(|y| noise.apply(y, 42, "x").len())
            .sum::<usize>()
    });
    let mut scratch = Scratch::default();
    let mut mel = Vec::new();
    time("log-mel incl. STFT (per frame)", frames, || {
        at22.iter()
            .map(|y| ex.mel_db_into(y, &mut scratch, &mut mel).unwrap())
            .sum::<usize>()
    });
    let mels: Vec<Vec<f32>> = at22
        .iter()
        .map(|y| ex.compute(y, &mut scratch).unwrap().mel_db)
        .collect();
    let mut out = Vec::new();
    time("mfcc from log-mel (per frame)", frames, || {
        mels.iter()
            .map(|m| {
                ex.mfcc_from_mel_db(m, &mut out);
                out.len()
            })
            .sum::<usize>()
    });
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(2048);
    let (mut a, mut b, mut s) = (
        fft.make_input_vec(),
        fft.make_output_vec(),
        fft.make_scratch_vec(),
    );
    time("realfft 2048 alone (per frame)", 10_000, || {
        for _ in 0..10_000 {
            fft.process_with_scratch(&mut a, &mut b, &mut s).unwrap();
        }
    });
}
