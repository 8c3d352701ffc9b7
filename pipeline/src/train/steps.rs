//! The feature-domain training steps a run asks for (babble, the warp, a
//! gain, other talkers, rooms, microphones), and its test-time warp, built
//! for its feature path and its training side's standardisation. They work
//! on standardised MFCCs through that standardisation, so only `--norm
//! train` gets them (config validation refuses them under another norm).

use models::babble::FeatureBabble;
use models::envelope::Envelope;
use models::gain::FeatureGain;
use models::mic::FeatureMic;
use models::reverb::FeatureReverb;
use models::talkers::FrameTalkers;
use models::test_warp::TestWarp;
use models::warp::FeatureWarp;
use models::TrainConfig;

use super::config::{Norm, Resolved, RunConfig};
use super::data::{Standardizer, N_MFCC};

/// Sets the steps `c` asks for on `tc`, with the fold's `norm` (none
/// where [`feature_domain`] says they cannot work).
pub fn attach(c: &RunConfig, norm: &Standardizer, tc: &mut TrainConfig) {
    let r = c.resolved();
    if !feature_domain(c, &r) {
        return;
    }
    tc.babble = feature_babble(c, &r, norm);
    tc.warp = feature_warp(c, &r, norm);
    tc.gain = feature_gain(c, &r, norm);
    tc.talkers = frame_talkers(c, &r, norm);
    tc.reverb = feature_reverb(c, &r, norm);
    tc.mic = feature_mic(c, &r, norm);
}

/// Whether the steps can work on the run's features: only the training
/// side's standardisation inverts (validation refuses an asked step under
/// another norm, and the recipe's give way), and only on the 40
/// coefficients the data is checked to hold.
fn feature_domain(c: &RunConfig, r: &Resolved) -> bool {
    r.norm == Norm::Train && c.features.mfcc.n_mfcc == N_MFCC
}

/// The test-time warp of a run's answers (factors `1 - r` and `1 + r`, `r`
/// its `test_warp`), in its feature path and fold's standardisation `norm`
/// (`--norm train` only; `None` without one): what training's test scores,
/// `ser predict` and everything on a [`super::Predictor`] hear.
pub fn test_warp(c: &RunConfig, norm: &Standardizer) -> Option<TestWarp> {
    let r = c.resolved();
    (feature_domain(c, &r) && r.test_warp > 0.0)
        .then(|| TestWarp::new(&envelope(c, norm), &mel_centres(c), r.test_warp))
}

/// The babble of training batches a run asks for, in its feature path and
/// standardisation (`--norm train` only: the others do not invert).
fn feature_babble(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FeatureBabble> {
    (r.babble > 0.0).then(|| FeatureBabble {
        envelope: envelope(c, norm),
        p: r.babble,
        snr_db: (0.0, 20.0),
        talkers: 4,
    })
}

/// The vocal-tract-length warp of training batches a run asks for
/// (factors `1 - r` to `1 + r`, `r` the run's warp range), in its feature path and standardisation (`--norm
/// train` only). Band centres follow the feature set's sample rate
/// (22.05 kHz assumed for a native-rate set).
fn feature_warp(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FeatureWarp> {
    let m = &c.features.mfcc;
    (r.warp > 0.0).then(|| {
        let centres = mel_centres(c);
        FeatureWarp::new(
            &crate::dsp::mfcc::dct_ortho(N_MFCC, m.n_mels),
            &centres,
            models::warp::factors_within(r.warp_range),
            norm.mean.clone(),
            norm.std.clone(),
            r.warp,
        )
    })
}

/// The random gain of training examples a run asks for, in its feature
/// path (orthonormal DCT: a gain moves only the first coefficient) and
/// standardisation (`--norm train` only).
fn feature_gain(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FeatureGain> {
    let std0 = c0_std(norm)?;
    (r.gain > 0.0).then(|| FeatureGain::new(r.gain, r.gain_share, c.features.mfcc.n_mels, std0))
}

/// Other talkers in the quiet frames of training examples, as a run asks
/// (`--norm train` only).
fn frame_talkers(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FrameTalkers> {
    let std0 = c0_std(norm)?;
    (r.talkers > 0.0)
        .then(|| FrameTalkers::new(r.talkers, r.talkers_louder, c.features.mfcc.n_mels, std0))
}

/// Rooms for training examples, as a run asks (`--norm train` only), at
/// the feature set's frame rate (22.05 kHz assumed for a native-rate set).
fn feature_reverb(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FeatureReverb> {
    let m = &c.features.mfcc;
    (r.reverb > 0.0).then(|| {
        FeatureReverb::new(
            envelope(c, norm),
            m.hop_length as f64 / sample_rate(c),
            r.reverb,
        )
    })
}

/// The run's feature path and standardisation, for the steps that mix
/// powers.
fn envelope(c: &RunConfig, norm: &Standardizer) -> Envelope {
    let m = &c.features.mfcc;
    Envelope {
        dct: crate::dsp::mfcc::dct_ortho(N_MFCC, m.n_mels),
        n_mels: m.n_mels,
        mean: norm.mean.clone(),
        std: norm.std.clone(),
    }
}

/// The first coefficient's standard deviation in `norm`, if usable.
fn c0_std(norm: &Standardizer) -> Option<f32> {
    norm.std.first().copied().filter(|s| *s > 0.0)
}

/// Microphones for training examples, as a run asks (`--norm train`
/// only), over the feature path's mel bands (22.05 kHz assumed for a
/// native-rate set).
fn feature_mic(c: &RunConfig, r: &Resolved, norm: &Standardizer) -> Option<FeatureMic> {
    (r.mic > 0.0)
        .then(|| FeatureMic::new(envelope(c, norm), mel_centres(c), r.mic).with_tilt(r.tilt))
}

/// Centre frequency of each mel band of the run's feature path, Hz.
fn mel_centres(c: &RunConfig) -> Vec<f64> {
    let m = &c.features.mfcc;
    let rate = sample_rate(c);
    crate::dsp::mel::mel_centres(m.n_mels, m.fmin, m.fmax.unwrap_or(rate / 2.0))
}

/// The feature set's sample rate, Hz (22.05 kHz for a native-rate set).
fn sample_rate(c: &RunConfig) -> f64 {
    f64::from(c.features.sample_rate.unwrap_or(22_050))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::conditions::{filter_db, high_pass};
    use crate::dsp::mfcc::{dct_ortho, mfcc, MfccConfig};
    use models::SplitMix;

    /// A voice-like clip as RAVDESS's are, measured with librosa on 12 of
    /// its clips: about a third of the log-mel values at the 80 dB floor,
    /// but 1 % of those of frames within 30 dB of the loudest. So: a
    /// quarter second of near silence, a second of harmonics of 150 Hz
    /// (falling as 1/k, under a syllable envelope) with breath noise 30 dB
    /// below them filling the bands between, and a quarter second of near
    /// silence.
    fn voice(sr: usize) -> Vec<f32> {
        let mut rng = crate::dsp::rng::Rng::new(7);
        let quiet = sr / 4;
        (0..sr + 2 * quiet)
            .map(|i| {
                let floor = 1e-6 * rng.normal() as f32;
                if i < quiet || i >= quiet + sr {
                    return floor;
                }
                let t = (i - quiet) as f32 / sr as f32;
                let env = 0.2 + (std::f32::consts::PI * 2.0 * t).sin().abs();
                let h: f32 = (1..30)
                    .map(|k| (2.0 * std::f32::consts::PI * 150.0 * k as f32 * t).sin() / k as f32)
                    .sum();
                let breath = 0.03 * rng.normal() as f32;
                0.05 * env * (h + breath) + floor
            })
            .collect()
    }

    /// The relative error of a feature-domain microphone, its cut-off,
    /// order and tilt fixed, against the MFCCs of `wet`, the audio through
    /// the same response: 0 is exact, 1 no better than doing nothing.
    fn feature_mic_error(y: &[f32], wet: &[f32], cutoff: f64, order: usize, tilt: f64) -> f64 {
        let (sr, cfg) = (22_050usize, MfccConfig::default());
        let dry = mfcc(y, sr as u32, &cfg).unwrap();
        let wet = mfcc(wet, sr as u32, &cfg).unwrap();
        let centres = crate::dsp::mel::mel_centres(cfg.n_mels, cfg.fmin, sr as f64 / 2.0);
        let env = Envelope {
            dct: dct_ortho(N_MFCC, cfg.n_mels),
            n_mels: cfg.n_mels,
            mean: vec![0.0; N_MFCC],
            std: vec![1.0; N_MFCC],
        };
        let mic = FeatureMic {
            cutoff_hz: (cutoff, cutoff),
            orders: (order, order),
            tilts: (tilt, tilt),
            ..FeatureMic::new(env, centres, 1.0)
        };
        let mut x = dry.mfcc.clone();
        let frames = dry.n_frames;
        mic.apply(&mut x, frames, &[frames], &mut SplitMix(1));
        let (mut err, mut change) = (0f64, 0f64);
        for t in 2..frames - 2 {
            for k in 0..13 {
                let i = t * N_MFCC + k;
                err += f64::from(x[i] - wet.mfcc[i]).powi(2);
                change += f64::from(wet.mfcc[i] - dry.mfcc[i]).powi(2);
            }
        }
        (err / change).sqrt()
    }

    #[test]
    fn a_feature_domain_tilt_matches_a_tilted_recording() {
        let (sr, y) = (22_050, voice(22_050));
        // Within +-4 dB per octave the error is that of the high-passes
        // below (0.23 to 0.35 at these four; 0.20 at +3); at +-6 it grows
        // to 0.53-0.57, bands of speech frames meeting the floor that the
        // feature domain does not clamp. The 1 Hz first-order high-pass
        // under the tilt takes under 0.01 dB off any band.
        for tilt in [-4.0, -2.0, 2.0, 4.0] {
            let wet = filter_db(&y, sr, |f| models::mic::tilt_db(f, tilt));
            let rel = feature_mic_error(&y, &wet, 1.0, 1, tilt);
            assert!(rel < 0.4, "{tilt} dB per octave: relative error {rel:.3}");
        }
    }

    #[test]
    fn a_feature_domain_microphone_matches_a_high_passed_recording() {
        let y = voice(22_050);
        for (cutoff, order) in [(120.0, 2), (300.0, 4), (500.0, 1)] {
            let wet = high_pass(&y, 22_050, cutoff, order);
            // A model that did nothing would be 1; the error left is the
            // band centres' response standing for the bands' and the
            // floor's unknowns (about 0.15 to 0.37 here).
            let rel = feature_mic_error(&y, &wet, cutoff, order, 0.0);
            assert!(
                rel < 0.4,
                "{cutoff} Hz order {order}: relative error {rel:.3}"
            );
        }
    }
}
