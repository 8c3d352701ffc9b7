//! Slaney-style mel filterbank and `power_to_db`, computed as librosa 0.11
//! does (`librosa.filters.mel(htk=False, norm="slaney")`, float32 weights).

/// Hz to mel, Slaney's scale (linear below 1 kHz, logarithmic above).
pub fn hz_to_mel(f: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= MIN_LOG_HZ {
        min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
    } else {
        f / F_SP
    }
}

/// Mel to Hz, Slaney's scale.
pub fn mel_to_hz(m: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        F_SP * m
    }
}

/// `numpy.linspace(a, b, n)`: the last point is `b` exactly.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| a + i as f64 * step).collect();
    v[n - 1] = b;
    v
}

/// Centre frequencies (Hz) of the `n_mels` filters of [`mel_filters`]
/// between `fmin` and `fmax`.
pub fn mel_centres(n_mels: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    let pts = linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2);
    pts[1..=n_mels].iter().map(|&m| mel_to_hz(m)).collect()
}

/// One triangular filter: weights for the FFT bins `start..start + weights.len()`.
#[derive(Debug, Clone)]
pub struct MelFilter {
    /// First FFT bin with a non-zero weight.
    pub start: usize,
    /// Weights of the bins from `start` on.
    pub weights: Vec<f32>,
}

/// The `n_mels` Slaney-normalised filters over `1 + n_fft / 2` FFT bins,
/// stored sparsely (each filter spans only a few bins).
pub fn mel_filters(
    sample_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Vec<MelFilter> {
    let n_bins = 1 + n_fft / 2;
    let fftfreqs: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * sample_rate / n_fft as f64)
        .collect();
    let mel_f: Vec<f64> = linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
        .into_iter()
        .map(mel_to_hz)
        .collect();
    (0..n_mels)
        .map(|i| {
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            let (d0, d1) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
            // librosa stores the triangle in float32, then scales it in float64.
            let dense: Vec<f32> = fftfreqs
                .iter()
                .map(|&f| {
                    let lower = -(mel_f[i] - f) / d0;
                    let upper = (mel_f[i + 2] - f) / d1;
                    let tri = 0f64.max(lower.min(upper)) as f32;
                    (tri as f64 * enorm) as f32
                })
                .collect();
            let start = dense.iter().position(|&w| w != 0.0).unwrap_or(0);
            let end = dense
                .iter()
                .rposition(|&w| w != 0.0)
                .map_or(start, |e| e + 1);
            MelFilter {
                start,
                weights: dense[start..end].to_vec(),
            }
        })
        .collect()
}

/// `librosa.power_to_db(S, ref=1.0, amin, top_db)` in place.
pub fn power_to_db(s: &mut [f32], amin: f32, top_db: Option<f32>) {
    let mut max = f32::NEG_INFINITY;
    for v in s.iter_mut() {
        *v = 10.0 * v.max(amin).log10();
        max = max.max(*v);
    }
    if let Some(top) = top_db {
        let floor = max - top;
        for v in s.iter_mut() {
            *v = v.max(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_matches_librosa_points() {
        // librosa.hz_to_mel(1000) == 15, hz_to_mel(4000) == 35.16...
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(4000.0) - 35.163_760_314_616_646).abs() < 1e-9);
        for f in [0.0, 440.0, 999.0, 1000.0, 8000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-9);
        }
    }

    #[test]
    fn filters_are_triangles_with_slaney_area() {
        let filters = mel_filters(22050.0, 2048, 128, 0.0, 11025.0);
        assert_eq!(filters.len(), 128);
        // Slaney normalisation: each triangle has area ~1 in Hz·weight units.
        let hz_per_bin = 22050.0 / 2048.0;
        for f in filters.iter().skip(10) {
            let area: f64 = f.weights.iter().map(|&w| w as f64 * hz_per_bin).sum();
            assert!((area - 1.0).abs() < 0.2, "area {area}");
            assert!(f.weights.iter().all(|&w| w > 0.0));
        }
    }

    #[test]
    fn power_to_db_clips_at_top_db() {
        let mut s = vec![1.0, 1e-3, 1e-12, 0.0];
        power_to_db(&mut s, 1e-10, Some(80.0));
        assert_eq!(s, vec![0.0, -30.0, -80.0, -80.0]);
    }
}
