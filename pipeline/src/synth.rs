//! `ser synth`: a small deterministic demo corpus with RAVDESS names, so
//! that everything runs on a fresh machine without the real data.
//!
//! Each clip is a source-filter voice: a glottal pulse train (Rosenberg
//! pulse) with aspiration noise, through three formant resonators that
//! change per syllable, a spectral-tilt filter and a syllable envelope.
//! Emotion and gender set pitch, pitch range, tempo, loudness, tilt,
//! breathiness and tremor; intensity exaggerates the emotion; each actor
//! has a voice of its own. Same seed, same bytes.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::audio::write_wav_i16;
use crate::dsp::rng::{fnv1a, Rng};
use crate::error::{PipelineError, Result};
use crate::ravdess::ClipName;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Actors (1..=24); odd are male, even female.
    pub actors: u32,
    /// Sample rate of the files.
    pub sample_rate: u32,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            actors: 4,
            sample_rate: 48000,
            seed: 7,
        }
    }
}

/// Per-emotion voice settings.
#[derive(Debug, Clone, Copy)]
struct Style {
    pitch: f64,    // f0 multiplier
    range: f64,    // intonation depth, fraction of f0
    tempo: f64,    // syllables per second
    loudness: f64, // peak amplitude
    tilt: f64,     // >0 brighter, <0 darker
    breath: f64,   // aspiration noise
    tremor: f64,   // 6 Hz f0 wobble, fraction
    slope: f64,    // f0 trend over the utterance (rising > 0)
}

/// neutral, calm, happy, sad, angry, fearful, disgust, surprised.
const STYLES: [Style; 8] = [
    Style {
        pitch: 1.00,
        range: 0.08,
        tempo: 4.0,
        loudness: 0.45,
        tilt: 0.0,
        breath: 0.05,
        tremor: 0.0,
        slope: -0.10,
    },
    Style {
        pitch: 0.95,
        range: 0.05,
        tempo: 3.3,
        loudness: 0.35,
        tilt: -0.4,
        breath: 0.12,
        tremor: 0.0,
        slope: -0.08,
    },
    Style {
        pitch: 1.25,
        range: 0.28,
        tempo: 4.8,
        loudness: 0.65,
        tilt: 0.4,
        breath: 0.04,
        tremor: 0.0,
        slope: 0.05,
    },
    Style {
        pitch: 0.88,
        range: 0.04,
        tempo: 2.9,
        loudness: 0.25,
        tilt: -0.7,
        breath: 0.22,
        tremor: 0.01,
        slope: -0.20,
    },
    Style {
        pitch: 1.15,
        range: 0.20,
        tempo: 5.2,
        loudness: 0.95,
        tilt: 0.85,
        breath: 0.02,
        tremor: 0.0,
        slope: -0.05,
    },
    Style {
        pitch: 1.35,
        range: 0.12,
        tempo: 5.6,
        loudness: 0.50,
        tilt: 0.1,
        breath: 0.25,
        tremor: 0.04,
        slope: 0.10,
    },
    Style {
        pitch: 0.92,
        range: 0.10,
        tempo: 3.5,
        loudness: 0.55,
        tilt: 0.25,
        breath: 0.10,
        tremor: 0.0,
        slope: -0.25,
    },
    Style {
        pitch: 1.40,
        range: 0.35,
        tempo: 4.4,
        loudness: 0.75,
        tilt: 0.5,
        breath: 0.06,
        tremor: 0.0,
        slope: 0.45,
    },
];

/// Vowel formants (F1, F2, F3) in Hz for an adult male voice.
const VOWELS: [[f64; 3]; 6] = [
    [730.0, 1090.0, 2440.0], // a
    [530.0, 1840.0, 2480.0], // e
    [270.0, 2290.0, 3010.0], // i
    [570.0, 840.0, 2410.0],  // o
    [300.0, 870.0, 2240.0],  // u
    [660.0, 1720.0, 2410.0], // ae
];

/// Vowel sequences of the two statements ("Kids are talking by the door",
/// "Dogs are sitting by the door").
const STATEMENTS: [[usize; 7]; 2] = [[2, 0, 3, 2, 0, 1, 3], [3, 0, 2, 2, 0, 1, 3]];

/// Every RAVDESS speech combination for one actor (60 clips).
pub fn clip_names(actor: u32) -> Vec<ClipName> {
    let mut out = Vec::new();
    for emotion in 1..=8 {
        let intensities: &[u32] = if emotion == 1 { &[1] } else { &[1, 2] };
        for &intensity in intensities {
            for statement in 1..=2 {
                for repetition in 1..=2 {
                    out.push(ClipName {
                        modality: 3,
                        vocal_channel: 1,
                        emotion,
                        intensity,
                        statement,
                        repetition,
                        actor,
                    });
                }
            }
        }
    }
    out
}

/// Two-pole resonator (Klatt), unity gain at DC.
struct Resonator {
    a: f64,
    b: f64,
    c: f64,
    y1: f64,
    y2: f64,
}

impl Resonator {
    fn new() -> Resonator {
        Resonator {
            a: 1.0,
            b: 0.0,
            c: 0.0,
            y1: 0.0,
            y2: 0.0,
        }
    }

    fn tune(&mut self, freq: f64, bw: f64, sr: f64) {
        let r = (-std::f64::consts::PI * bw / sr).exp();
        self.c = -r * r;
        self.b = 2.0 * r * (2.0 * std::f64::consts::PI * freq / sr).cos();
        self.a = 1.0 - self.b - self.c;
    }

    fn step(&mut self, x: f64) -> f64 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// Rosenberg glottal pulse at phase `p` in [0, 1).
fn glottal(p: f64) -> f64 {
    if p < 0.4 {
        0.5 * (1.0 - (std::f64::consts::PI * p / 0.4).cos())
    } else if p < 0.56 {
        (std::f64::consts::PI * (p - 0.4) / 0.32).cos()
    } else {
        0.0
    }
}

/// Synthesises one clip as 16-bit samples (mono).
pub fn synth_clip(name: &ClipName, cfg: &SynthConfig) -> Vec<i16> {
    let sr = cfg.sample_rate as f64;
    let mut rng = Rng::new(cfg.seed ^ fnv1a(name.id().as_bytes()));
    let mut actor_rng = Rng::new(cfg.seed ^ fnv1a(format!("actor{}", name.actor).as_bytes()));
    let female = name.actor.is_multiple_of(2);
    let base_f0 = if female { 205.0 } else { 115.0 } * (0.9 + 0.2 * actor_rng.uniform());
    let formant_scale = if female { 1.17 } else { 1.0 } * (0.95 + 0.1 * actor_rng.uniform());
    let neutral = STYLES[0];
    let s = STYLES[(name.emotion - 1) as usize];
    // Strong intensity pushes every setting further from neutral.
    let k = if name.intensity == 2 { 1.6 } else { 1.0 };
    let mix = |n: f64, e: f64| n + k * (e - n);
    let style = Style {
        pitch: mix(neutral.pitch, s.pitch),
        range: mix(neutral.range, s.range),
        tempo: mix(neutral.tempo, s.tempo) * (0.93 + 0.14 * rng.uniform()),
        loudness: mix(neutral.loudness, s.loudness).clamp(0.05, 0.98),
        tilt: mix(neutral.tilt, s.tilt).clamp(-0.95, 0.95),
        breath: mix(neutral.breath, s.breath).max(0.0),
        tremor: mix(neutral.tremor, s.tremor).max(0.0),
        slope: mix(neutral.slope, s.slope),
    };
    let vowels = STATEMENTS[(name.statement - 1) as usize];
    let lead = 0.35 + 0.3 * rng.uniform();
    let syll: Vec<f64> = vowels
        .iter()
        .map(|_| (0.8 + 0.4 * rng.uniform()) / style.tempo)
        .collect();
    let accents: Vec<f64> = vowels.iter().map(|_| rng.uniform() * 2.0 - 1.0).collect();
    let speech: f64 = syll.iter().sum();
    let total = lead + speech + 0.35 + 0.3 * rng.uniform();
    let n = (total * sr) as usize;

    let mut out = vec![0f64; n];
    let mut res = [Resonator::new(), Resonator::new(), Resonator::new()];
    let mut phase = 0.0;
    let (mut prev_src, mut lp) = (0.0, 0.0);
    let mut t_syl = lead;
    for (i, (&dur, &v)) in syll.iter().zip(&vowels).enumerate() {
        for (r, (&f, bw)) in res
            .iter_mut()
            .zip(VOWELS[v].iter().zip([80.0, 100.0, 140.0]))
        {
            r.tune(f * formant_scale, bw, sr);
        }
        let start = (t_syl * sr) as usize;
        let len = (dur * sr) as usize;
        for j in 0..len.min(n.saturating_sub(start)) {
            let t = (start + j) as f64 / sr;
            let u = j as f64 / len as f64; // position in the syllable
            let pos = (t - lead) / speech; // position in the utterance
            let f0 = base_f0
                * style.pitch
                * (1.0 + style.range * accents[i] * (std::f64::consts::PI * u).sin())
                * (1.0 + style.slope * (pos - 0.5))
                * (1.0 + style.tremor * (2.0 * std::f64::consts::PI * 6.0 * t).sin());
            phase = (phase + f0 / sr) % 1.0;
            let noise = rng.normal();
            let src = glottal(phase) + style.breath * noise;
            // Radiation (first difference) then tilt: emphasis or low-pass.
            let d = src - prev_src;
            prev_src = src;
            let tilted = if style.tilt >= 0.0 {
                d + style.tilt * 0.5 * (d - lp)
            } else {
                lp += (1.0 + style.tilt * 0.85) * (d - lp);
                lp
            };
            if style.tilt >= 0.0 {
                lp = d;
            }
            let y = res.iter_mut().fold(tilted, |x, r| r.step(x));
            // Syllable envelope: quick attack, gap at the end (a consonant).
            let env = if u < 0.12 {
                u / 0.12
            } else if u > 0.8 {
                ((1.0 - u) / 0.2).max(0.0)
            } else {
                1.0
            };
            out[start + j] = y * env;
        }
        t_syl += dur;
    }
    let peak = out.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-9);
    let gain = style.loudness / peak;
    let mut hiss = Rng::new(cfg.seed ^ 0x5eed);
    out.iter()
        .map(|&v| ((v * gain + 0.0005 * hiss.normal()) * 32767.0).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// The file `ser synth` leaves in its output folder, holding its config:
/// a later `ser synth` may write into a folder that has it (its own earlier
/// output); any other non-empty folder is refused.
pub const SYNTH_MARKER: &str = ".ser-synth.json";

/// Refuses a non-empty `out` that is not an earlier synth output, then
/// marks it as one (before any clip is written, so an interrupted run can
/// be rerun).
fn claim_folder(out: &Path, cfg: &SynthConfig) -> Result<()> {
    let marker = out.join(SYNTH_MARKER);
    match fs::read_dir(out) {
        Ok(mut entries) => {
            if !marker.is_file() && entries.next().is_some() {
                return Err(PipelineError::io(
                    out,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "not empty and not an earlier `ser synth` output (no {SYNTH_MARKER}): \
                             nothing written, choose a new or empty folder"
                        ),
                    ),
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(PipelineError::io(out, e)),
    }
    fs::create_dir_all(out).map_err(|e| PipelineError::io(out, e))?;
    let body = serde_json::json!({
        "written_by": "ser synth",
        "actors": cfg.actors,
        "sample_rate": cfg.sample_rate,
        "seed": cfg.seed,
    });
    store::atomic::write_bytes_atomic(&marker, format!("{body:#}\n").as_bytes())?;
    Ok(())
}

/// Writes the corpus under `out/Actor_NN/<clip>.wav`; every fifth clip of
/// actor 2 is stereo (identical channels), as a few RAVDESS files are.
/// `out` must be new, empty, or an earlier synth output ([`SYNTH_MARKER`]).
/// Returns the files written.
pub fn run_synth(out: &Path, cfg: &SynthConfig) -> Result<Vec<PathBuf>> {
    crate::bounds::SYNTH_ACTORS
        .check(cfg.actors)
        .map_err(PipelineError::Config)?;
    crate::bounds::SYNTH_RATE
        .check(cfg.sample_rate)
        .map_err(PipelineError::Config)?;
    claim_folder(out, cfg)?;
    let names: Vec<ClipName> = (1..=cfg.actors).flat_map(clip_names).collect();
    names
        .par_iter()
        .enumerate()
        .map(|(i, name)| {
            let dir = out.join(format!("Actor_{:02}", name.actor));
            fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
            let path = dir.join(format!("{}.wav", name.id()));
            let mono = synth_clip(name, cfg);
            let stereo = name.actor == 2 && i.is_multiple_of(5);
            let (samples, channels) = if stereo {
                (mono.iter().flat_map(|&s| [s, s]).collect::<Vec<_>>(), 2)
            } else {
                (mono, 1)
            };
            let tmp = dir.join(format!(".tmp-{}.wav", name.id()));
            write_wav_i16(&tmp, &samples, cfg.sample_rate, channels)
                .map_err(|e| PipelineError::Config(format!("{}: {e}", tmp.display())))?;
            fs::rename(&tmp, &path).map_err(|e| PipelineError::io(&path, e))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_valid_names_per_actor() {
        let names = clip_names(3);
        assert_eq!(names.len(), 60);
        for n in &names {
            assert_eq!(ClipName::parse(&n.id()).unwrap(), *n);
        }
    }

    #[test]
    fn clips_are_deterministic_and_differ_by_emotion() {
        let cfg = SynthConfig {
            sample_rate: 16000,
            ..SynthConfig::default()
        };
        let names = clip_names(1);
        let a = synth_clip(&names[0], &cfg);
        assert_eq!(a, synth_clip(&names[0], &cfg));
        assert!(a.len() > 16000, "clip too short: {}", a.len());
        let angry = names
            .iter()
            .find(|n| n.emotion == 5 && n.intensity == 2)
            .unwrap();
        let sad = names
            .iter()
            .find(|n| n.emotion == 4 && n.intensity == 2)
            .unwrap();
        let rms = |x: &[i16]| {
            (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let (ra, rs) = (rms(&synth_clip(angry, &cfg)), rms(&synth_clip(sad, &cfg)));
        assert!(ra > 2.0 * rs, "angry rms {ra} vs sad {rs}");
    }
}
