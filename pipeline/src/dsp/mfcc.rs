//! Log-mel spectrogram and MFCCs, librosa-compatible.
//!
//! `librosa.feature.melspectrogram` (centred STFT, zero padding, periodic
//! Hann window, power 2, Slaney mel), `power_to_db`, then
//! `scipy.fft.dct(type=2, norm="ortho")` keeping the first `n_mfcc`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

use super::mel::{mel_filters, power_to_db, MelFilter};
use super::DspError;

/// Parameters of the log-mel and MFCC computation (librosa's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfccConfig {
    /// FFT size (and window length).
    pub n_fft: usize,
    /// Hop between frames, samples.
    pub hop_length: usize,
    /// Mel bands.
    pub n_mels: usize,
    /// Cepstral coefficients kept.
    pub n_mfcc: usize,
    /// Lowest filter edge, Hz.
    pub fmin: f64,
    /// Highest filter edge, Hz; `None` is the Nyquist frequency.
    pub fmax: Option<f64>,
    /// Dynamic range kept by `power_to_db`, dB; `None` keeps all.
    pub top_db: Option<f32>,
    /// Floor of the power before the logarithm.
    pub amin: f32,
}

impl Default for MfccConfig {
    fn default() -> Self {
        MfccConfig {
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            n_mfcc: 40,
            fmin: 0.0,
            fmax: None,
            top_db: Some(80.0),
            amin: 1e-10,
        }
    }
}

impl MfccConfig {
    /// Checks the parameters against a sample rate.
    pub fn validate(&self, sample_rate: u32) -> Result<(), DspError> {
        let bad = |m: String| Err(DspError::Config(m));
        let nyquist = sample_rate as f64 / 2.0;
        if self.n_fft < 16 || !self.n_fft.is_multiple_of(2) {
            return bad(format!("n_fft must be even and >= 16, got {}", self.n_fft));
        }
        if self.hop_length == 0 {
            return bad("hop_length must be > 0".into());
        }
        if self.n_mels == 0 || self.n_mfcc == 0 || self.n_mfcc > self.n_mels {
            return bad(format!(
                "need 0 < n_mfcc <= n_mels, got n_mfcc {} and n_mels {}",
                self.n_mfcc, self.n_mels
            ));
        }
        let fmax = self.fmax.unwrap_or(nyquist);
        if !(self.fmin >= 0.0 && self.fmin < fmax && fmax <= nyquist) {
            return bad(format!(
                "need 0 <= fmin < fmax <= {nyquist} Hz, got fmin {} and fmax {fmax}",
                self.fmin
            ));
        }
        let amin_ok = self.amin.is_finite() && self.amin > 0.0;
        let top_ok = self.top_db.is_none_or(|t| t.is_finite() && t >= 0.0);
        if !amin_ok || !top_ok {
            return bad("amin must be > 0 and top_db >= 0".into());
        }
        Ok(())
    }
}

/// Features of one signal. Both matrices are row-major over frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Frames.
    pub n_frames: usize,
    /// Log-mel spectrogram, dB: `[n_frames, n_mels]`.
    pub mel_db: Vec<f32>,
    /// MFCCs: `[n_frames, n_mfcc]`.
    pub mfcc: Vec<f32>,
}

/// Per-thread work buffers, reused across clips (no allocation per frame).
#[derive(Default)]
pub struct Scratch {
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft: Vec<Complex<f32>>,
    power: Vec<f32>,
}

/// Everything that depends only on (sample rate, config): FFT plan, window,
/// filterbank, DCT matrix. Build once, share between threads.
pub struct FeatureExtractor {
    sample_rate: u32,
    cfg: MfccConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
    dct: Vec<f32>, // [n_mfcc, n_mels]
}

impl FeatureExtractor {
    /// Builds the extractor for signals at `sample_rate`.
    pub fn new(sample_rate: u32, cfg: &MfccConfig) -> Result<FeatureExtractor, DspError> {
        cfg.validate(sample_rate)?;
        let n = cfg.n_fft;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        // Periodic Hann (scipy.signal.get_window("hann", n, fftbins=True)).
        let window = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
            .collect();
        let sr = sample_rate as f64;
        let filters = mel_filters(sr, n, cfg.n_mels, cfg.fmin, cfg.fmax.unwrap_or(sr / 2.0));
        Ok(FeatureExtractor {
            sample_rate,
            cfg: cfg.clone(),
            fft,
            window,
            filters,
            dct: dct_ortho(cfg.n_mfcc, cfg.n_mels),
        })
    }

    /// The sample rate this extractor expects.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The config it was built from.
    pub fn config(&self) -> &MfccConfig {
        &self.cfg
    }

    /// Frames a centred STFT gives for `n` samples.
    pub fn n_frames(&self, n: usize) -> usize {
        1 + n / self.cfg.hop_length
    }

    /// Log-mel spectrogram (dB) of `y`, written to `out` as `[n_frames, n_mels]`.
    pub fn mel_db_into(
        &self,
        y: &[f32],
        scratch: &mut Scratch,
        out: &mut Vec<f32>,
    ) -> Result<usize, DspError> {
        let (n_fft, hop, n_mels) = (self.cfg.n_fft, self.cfg.hop_length, self.cfg.n_mels);
        if y.len() < n_fft {
            return Err(DspError::TooShort {
                samples: y.len(),
                sample_rate: self.sample_rate,
                needed: n_fft,
            });
        }
        let n_frames = self.n_frames(y.len());
        let n_bins = n_fft / 2 + 1;
        scratch.frame.resize(n_fft, 0.0);
        scratch.spectrum.resize(n_bins, Complex::default());
        scratch
            .fft
            .resize(self.fft.get_scratch_len(), Complex::default());
        scratch.power.resize(n_bins, 0.0);
        out.clear();
        out.resize(n_frames * n_mels, 0.0);
        let pad = n_fft / 2;
        for t in 0..n_frames {
            // Frame t covers y[t*hop - pad .. t*hop - pad + n_fft], zero outside.
            let start = (t * hop) as isize - pad as isize;
            let lo = (-start).max(0) as usize; // first frame index inside y
            let hi = (y.len() as isize - start).clamp(0, n_fft as isize) as usize;
            scratch.frame[..lo].fill(0.0);
            scratch.frame[hi.max(lo)..].fill(0.0);
            if hi > lo {
                let src = &y[(start + lo as isize) as usize..(start + hi as isize) as usize];
                for ((dst, &x), &w) in scratch.frame[lo..hi]
                    .iter_mut()
                    .zip(src)
                    .zip(&self.window[lo..hi])
                {
                    *dst = x * w;
                }
            }
            self.fft
                .process_with_scratch(&mut scratch.frame, &mut scratch.spectrum, &mut scratch.fft)
                .map_err(|e| DspError::Config(format!("fft: {e}")))?;
            for (p, c) in scratch.power.iter_mut().zip(&scratch.spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
            let row = &mut out[t * n_mels..(t + 1) * n_mels];
            for (m, f) in row.iter_mut().zip(&self.filters) {
                let bins = &scratch.power[f.start..f.start + f.weights.len()];
                *m = dot(bins, &f.weights);
            }
        }
        power_to_db(out, self.cfg.amin, self.cfg.top_db);
        Ok(n_frames)
    }

    /// MFCCs from a log-mel matrix `[n_frames, n_mels]`, written to `out`
    /// as `[n_frames, n_mfcc]`.
    pub fn mfcc_from_mel_db(&self, mel_db: &[f32], out: &mut Vec<f32>) {
        let (n_mels, n_mfcc) = (self.cfg.n_mels, self.cfg.n_mfcc);
        let n_frames = mel_db.len() / n_mels;
        out.clear();
        out.reserve(n_frames * n_mfcc);
        for frame in mel_db.chunks_exact(n_mels) {
            for k in 0..n_mfcc {
                let basis = &self.dct[k * n_mels..(k + 1) * n_mels];
                out.push(dot(basis, frame));
            }
        }
    }

    /// Log-mel and MFCCs of `y` (allocating convenience over the `_into` forms).
    pub fn compute(&self, y: &[f32], scratch: &mut Scratch) -> Result<Features, DspError> {
        let mut mel_db = Vec::new();
        let n_frames = self.mel_db_into(y, scratch, &mut mel_db)?;
        let mut mfcc = Vec::new();
        self.mfcc_from_mel_db(&mel_db, &mut mfcc);
        Ok(Features {
            n_frames,
            mel_db,
            mfcc,
        })
    }
}

/// MFCCs and log-mel of `y` at `sample_rate`: `mfcc(&[f32], &MfccConfig)`.
pub fn mfcc(y: &[f32], sample_rate: u32, cfg: &MfccConfig) -> Result<Features, DspError> {
    FeatureExtractor::new(sample_rate, cfg)?.compute(y, &mut Scratch::default())
}

/// Dot product with eight partial sums, so the compiler can vectorise it
/// (a plain `.sum()` must keep IEEE order and stays scalar).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Orthonormal DCT-II basis, `[n_out, n_in]`, computed in f64.
pub(crate) fn dct_ortho(n_out: usize, n_in: usize) -> Vec<f32> {
    let n = n_in as f64;
    let mut m = Vec::with_capacity(n_out * n_in);
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for i in 0..n_in {
            let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n);
            m.push((scale * angle.cos()) as f32);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_librosa_centred_stft() {
        let ex = FeatureExtractor::new(22050, &MfccConfig::default()).unwrap();
        assert_eq!(ex.n_frames(22050), 44); // 1 + 22050 // 512
        let y: Vec<f32> = (0..22050).map(|i| (i as f32 * 0.05).sin()).collect();
        let f = ex.compute(&y, &mut Scratch::default()).unwrap();
        assert_eq!(f.n_frames, 44);
        assert_eq!(f.mel_db.len(), 44 * 128);
        assert_eq!(f.mfcc.len(), 44 * 40);
    }

    #[test]
    fn dct_basis_is_orthonormal() {
        let d = dct_ortho(128, 128);
        for a in 0..128 {
            for b in 0..128 {
                let dot: f64 = (0..128)
                    .map(|i| d[a * 128 + i] as f64 * d[b * 128 + i] as f64)
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "({a},{b}) {dot}");
            }
        }
    }

    #[test]
    fn a_tone_peaks_in_the_mel_band_holding_its_frequency() {
        let sr = 16000;
        let y: Vec<f32> = (0..sr)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / sr as f32).sin())
            .collect();
        let f = mfcc(&y, sr as u32, &MfccConfig::default()).unwrap();
        let mid = &f.mel_db[20 * 128..21 * 128];
        let peak = (0..128).max_by(|&a, &b| mid[a].total_cmp(&mid[b])).unwrap();
        let lo = super::super::mel::mel_to_hz(
            super::super::mel::hz_to_mel(0.0)
                + (super::super::mel::hz_to_mel(8000.0)) * peak as f64 / 129.0,
        );
        assert!(
            (lo - 1000.0).abs() < 150.0,
            "peak band {peak} starts at {lo} Hz"
        );
    }

    #[test]
    fn too_short_and_bad_configs_are_errors() {
        let ex = FeatureExtractor::new(22050, &MfccConfig::default()).unwrap();
        let err = ex
            .compute(&[0.0; 100], &mut Scratch::default())
            .unwrap_err();
        assert!(matches!(err, DspError::TooShort { samples: 100, .. }));
        let cfg = MfccConfig {
            n_mfcc: 200,
            ..MfccConfig::default()
        };
        assert!(FeatureExtractor::new(22050, &cfg).is_err());
        let cfg = MfccConfig {
            fmax: Some(20000.0),
            ..MfccConfig::default()
        };
        assert!(FeatureExtractor::new(22050, &cfg).is_err());
    }

    #[test]
    fn a_gain_moves_only_the_first_coefficient_by_its_db_times_root_n_mels() {
        // What `models::gain` relies on: the top_db floor is relative to
        // the loudest value, so a level change is an exact shift of c0
        // (while no band is below the `amin` floor).
        let sr = 22050;
        let y: Vec<f32> = (0..sr)
            .map(|i| {
                let t = i as f32 / sr as f32;
                let env = (std::f32::consts::PI * 3.0 * t).sin().abs();
                let voice = (2.0 * std::f32::consts::PI * 180.0 * t).sin() + 0.1 * (t * 9e3).sin();
                // A floor never silent, as a microphone's: where a band
                // fell below `amin` (-100 dB) the shift would stop there.
                0.05 * env * voice + 5e-4 * (t * 2.3e4).sin()
            })
            .collect();
        let cfg = MfccConfig::default();
        let base = mfcc(&y, sr as u32, &cfg).unwrap();
        for g_db in [-20.0f32, 12.0, 25.0] {
            let g = 10f32.powf(g_db / 20.0);
            let loud: Vec<f32> = y.iter().map(|v| v * g).collect();
            let f = mfcc(&loud, sr as u32, &cfg).unwrap();
            let want = g_db * (cfg.n_mels as f32).sqrt();
            for (t, (a, b)) in f.mfcc.chunks(40).zip(base.mfcc.chunks(40)).enumerate() {
                assert!(
                    (a[0] - b[0] - want).abs() < 0.02 * want.abs(),
                    "{g_db} dB frame {t}: {} vs {want}",
                    a[0] - b[0]
                );
                for k in 1..40 {
                    assert!(
                        (a[k] - b[k]).abs() < 0.05,
                        "{g_db} dB frame {t} c{k}: {} vs {}",
                        a[k],
                        b[k]
                    );
                }
            }
        }
    }
}
