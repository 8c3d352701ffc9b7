//! The paper's figures: per run (training curves, confusion matrix,
//! per-class scores) from the run's tables, and per store (clean vs noisy
//! waveform, mel spectrograms, mean MFCCs) from the audio and shards.

use std::path::{Path, PathBuf};

use store::{MetadataRow, Store};

use super::columns::{col_f64, col_opt_i64, col_str, frame};
use super::grid;
use super::plot::{caption, heatmap, lines, save_png, text_width, HeatAxes, PlotResult};
use crate::dsp::mel::hz_to_mel;
use crate::dsp::FeatureExtractor;
use crate::features::{load_resampled, mel_and_mfcc, FeatureConfig};
use crate::features::{pick_set, read_feature_config};
use crate::train::data::{load_clips, N_MFCC};
use crate::train::RunConfig;

/// Train vs test accuracy and loss per epoch (the mean over folds).
pub fn history(run_dir: &Path, cfg: &RunConfig) -> PlotResult<PathBuf> {
    let df = frame(&run_dir.join("history.parquet"))?;
    let (epoch, split) = (col_opt_i64(&df, "epoch")?, col_str(&df, "split")?);
    let (acc, loss) = (col_f64(&df, "accuracy")?, col_f64(&df, "loss")?);
    let curve = |side: &str, v: &[f64]| -> Vec<(f64, f64)> {
        let mut by_epoch = std::collections::BTreeMap::<i64, (f64, f64)>::new();
        for i in 0..df.height() {
            if split[i] == side {
                let e = by_epoch.entry(epoch[i].unwrap_or(0)).or_default();
                e.0 += v[i];
                e.1 += 1.0;
            }
        }
        by_epoch
            .into_iter()
            .map(|(e, (s, n))| (e as f64, s / n))
            .collect()
    };
    let pct = |v: Vec<(f64, f64)>| v.into_iter().map(|(e, a)| (e, 100.0 * a)).collect();
    let path = run_dir.join("figures").join("history.png");
    save_png(&path, (1200, 560), |root| {
        let (head, body) = root.split_vertically(64);
        caption(&head, &run_title(cfg), &history_subtitle(cfg))?;
        let panels = body.split_evenly((1, 2));
        lines(
            &panels[0],
            "Accuracy per epoch",
            ("epoch", "accuracy (%)"),
            &[
                ("train", pct(curve("train", &acc))),
                ("test", pct(curve("test", &acc))),
            ],
        )?;
        lines(
            &panels[1],
            "Loss per epoch",
            ("epoch", "loss"),
            &[
                ("train", curve("train", &loss)),
                ("test", curve("test", &loss)),
            ],
        )
    })
}

/// The line every run figure opens with: model, label set, split, run.
pub fn run_title(cfg: &RunConfig) -> String {
    format!(
        "{} · {} · {} split · run {}",
        cfg.train.model.name(),
        cfg.train.labels.name(),
        cfg.train.split.name(),
        cfg.run
    )
}

/// What the curves of a run average over: its folds and their test speakers.
fn history_subtitle(cfg: &RunConfig) -> String {
    let speakers = |a: &[u32]| a.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    match cfg.folds.len() {
        0 => "no folds".to_string(),
        1 if cfg.train.split == crate::train::SplitKind::Random => {
            "one random split: every speaker on both sides".to_string()
        }
        1 => format!(
            "fold {}, test speakers {}",
            cfg.folds[0],
            cfg.test_actors
                .first()
                .map_or(String::new(), |a| speakers(a))
        ),
        n => {
            let groups: Vec<String> = cfg
                .test_actors
                .iter()
                .map(|a| format!("{{{}}}", speakers(a)))
                .collect();
            let list = groups.join(" ");
            let list = if list.chars().count() > 90 {
                format!("{}…", list.chars().take(89).collect::<String>())
            } else {
                list
            };
            format!("mean of {n} folds; test speakers {list}")
        }
    }
}

/// Pooled test confusion matrix (clean and noisy copies).
pub fn confusion(run_dir: &Path, cfg: &RunConfig) -> PlotResult<PathBuf> {
    let df = frame(&run_dir.join("confusion.parquet"))?;
    let (fold, variant) = (col_opt_i64(&df, "fold")?, col_str(&df, "variant")?);
    let (actual, predicted, count) = (
        col_str(&df, "actual")?,
        col_str(&df, "predicted")?,
        col_opt_i64(&df, "count")?,
    );
    let n = cfg.classes.len();
    let index = |name: &str| cfg.classes.iter().position(|c| c == name);
    let mut m = vec![vec![0i64; n]; n];
    for i in 0..df.height() {
        if fold[i].is_none() && variant[i] == "all" {
            if let (Some(a), Some(p)) = (index(&actual[i]), index(&predicted[i])) {
                m[a][p] += count[i].unwrap_or(0);
            }
        }
    }
    let path = run_dir.join("figures").join("confusion.png");
    let title = run_title(cfg);
    let layout = grid::ConfusionLayout::for_classes(&cfg.classes, text_width(&title, 20) + 80);
    save_png(&path, layout.size(), |root| {
        let (head, body) = root.split_vertically(grid::HEADING);
        caption(
            &head,
            &title,
            "Confusion matrix of the test clips (clean + noisy copies, folds pooled)",
        )?;
        grid::confusion(&body, &layout, &cfg.classes, &m)
    })
}

/// Per-class precision, recall and F1 on the pooled test side.
pub fn class_scores(run_dir: &Path, cfg: &RunConfig) -> PlotResult<PathBuf> {
    let df = frame(&run_dir.join("metrics.parquet"))?;
    let (fold, variant, class) = (
        col_opt_i64(&df, "fold")?,
        col_str(&df, "variant")?,
        col_str(&df, "class")?,
    );
    let support = col_opt_i64(&df, "support")?;
    let cols = [
        ("precision", col_f64(&df, "precision")?),
        ("recall", col_f64(&df, "recall")?),
        ("F1", col_f64(&df, "f1")?),
    ];
    let mut scores: Vec<(&str, Vec<f64>)> = cols
        .iter()
        .map(|(n, _)| (*n, vec![0.0; cfg.classes.len()]))
        .collect();
    let mut counts = vec![0i64; cfg.classes.len()];
    for i in 0..df.height() {
        if fold[i].is_none() && variant[i] == "all" {
            if let Some(c) = cfg.classes.iter().position(|x| *x == class[i]) {
                for (s, (_, v)) in cols.iter().enumerate() {
                    scores[s].1[c] = 100.0 * v[i];
                }
                counts[c] = support[i].unwrap_or(0);
            }
        }
    }
    let path = run_dir.join("figures").join("class_scores.png");
    let title = run_title(cfg);
    let width = (200 + 80 * cfg.classes.len() as u32).max(text_width(&title, 20) + 80);
    save_png(&path, (width, 680), |root| {
        let (head, body) = root.split_vertically(grid::HEADING);
        caption(
            &head,
            &title,
            "Per-class scores of the test clips (clean + noisy copies, folds pooled)",
        )?;
        grid::class_bars(
            &body,
            &cfg.classes,
            &counts,
            &scores,
            "class (n = test clips, clean + noisy copies)",
        )
    })
}

/// The first clip (by id) matching `pred`.
fn pick(meta: &[MetadataRow], pred: impl Fn(&MetadataRow) -> bool) -> Option<&MetadataRow> {
    meta.iter()
        .filter(|m| pred(m))
        .min_by(|a, b| a.clip_id.cmp(&b.clip_id))
}

/// Store-level figures; each one that cannot be drawn is reported, not fatal.
pub fn data_figures(store: &Store, out: &Path) -> Vec<PlotResult<PathBuf>> {
    let meta = match MetadataRow::read(&store.metadata_path()) {
        Ok(m) => m,
        Err(e) => return vec![Err(format!("no metadata ({e}): run `ser metadata` first"))],
    };
    let cfg = pick_set(store, None)
        .ok()
        .and_then(|(id, _)| read_feature_config(store, &id).ok())
        .unwrap_or_default();
    vec![
        waveform(&meta, &cfg, out),
        mel_pair(&meta, &cfg, out),
        mfcc_by_gender(store, out),
    ]
}

fn waveform(meta: &[MetadataRow], cfg: &FeatureConfig, out: &Path) -> PlotResult<PathBuf> {
    let clip = pick(meta, |m| m.emotion == 3)
        .or_else(|| pick(meta, |_| true))
        .ok_or("no clips")?;
    let (clean, sr) =
        load_resampled(Path::new(&clip.path), cfg).map_err(|e| format!("{}: {e}", clip.path))?;
    let noisy = cfg.noise.apply(&clean, cfg.seed, &clip.clip_id);
    let pts = |y: &[f32]| -> Vec<(f64, f64)> {
        y.iter()
            .enumerate()
            .map(|(i, &v)| (i as f64 / sr as f64, v as f64))
            .collect()
    };
    let path = out.join("waveform_clean_vs_noisy.png");
    save_png(&path, (1200, 700), |root| {
        let panels = root.split_evenly((2, 1));
        let what = format!("{} ({}, {})", clip.clip_id, clip.emotion_name, clip.gender);
        lines(
            &panels[0],
            &format!("Clean waveform: {what}"),
            ("time (s)", "amplitude"),
            &[("clean", pts(&clean))],
        )?;
        lines(
            &panels[1],
            &format!("With added noise ({}): {what}", cfg.noise),
            ("time (s)", "amplitude"),
            &[("noisy", pts(&noisy))],
        )
    })
}

fn mel_pair(meta: &[MetadataRow], cfg: &FeatureConfig, out: &Path) -> PlotResult<PathBuf> {
    let mut panels = Vec::new();
    for gender in ["female", "male"] {
        let clip = pick(meta, |m| m.emotion == 3 && m.gender == gender)
            .ok_or_else(|| format!("no {gender} happy clip"))?;
        let (y, sr) = load_resampled(Path::new(&clip.path), cfg)
            .map_err(|e| format!("{}: {e}", clip.path))?;
        let ex = FeatureExtractor::new(sr, &cfg.mfcc).map_err(|e| e.to_string())?;
        let (frames, mel_db, _) = mel_and_mfcc(&y, &ex)?;
        let n_mels = mel_db.len() / frames.max(1);
        let cols: Vec<Vec<f32>> = mel_db.chunks_exact(n_mels).map(|c| c.to_vec()).collect();
        panels.push((clip.clone(), sr, cols));
    }
    let lo = panels
        .iter()
        .flat_map(|p| p.2.iter().flatten())
        .cloned()
        .fold(f32::MAX, f32::min);
    let hi = panels
        .iter()
        .flat_map(|p| p.2.iter().flatten())
        .cloned()
        .fold(f32::MIN, f32::max);
    let path = out.join("mel_female_vs_male_happy.png");
    let (fmin, hop) = (cfg.mfcc.fmin, cfg.mfcc.hop_length as f64);
    // One time axis for both panels, so the same second is at the same x.
    let x_max = panels
        .iter()
        .map(|(_, sr, cols)| cols.len() as f64 * hop / *sr as f64)
        .fold(0.0, f64::max);
    save_png(&path, (1200, 900), |root| {
        let areas = root.split_evenly((2, 1));
        for (area, (clip, sr, cols)) in areas.iter().zip(&panels) {
            let fmax = cfg.mfcc.fmax.map_or(*sr as f64 / 2.0, |f| f);
            let ticks = mel_ticks(fmin, fmax, cols[0].len());
            heatmap(
                area,
                &format!(
                    "Mel spectrogram, {} \"happy\": {}",
                    clip.gender, clip.clip_id
                ),
                &HeatAxes {
                    labels: ("time (s)", "frequency (Hz, mel scale)"),
                    x_scale: hop / *sr as f64,
                    x_max,
                    y_ticks: &ticks,
                },
                cols,
                "dB",
                (lo, hi),
            )?;
        }
        Ok(())
    })
}

/// Round frequencies (0, 250, 500 Hz, 1, 2, 4, 8, 16 kHz) inside
/// `fmin..=fmax` as (band position on an axis of `n_mels` bands, label).
pub fn mel_ticks(fmin: f64, fmax: f64, n_mels: usize) -> Vec<(f64, String)> {
    let (m0, m1) = (hz_to_mel(fmin), hz_to_mel(fmax));
    [0.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0]
        .into_iter()
        .filter(|&hz| hz >= fmin && hz <= fmax && m1 > m0)
        .map(|hz| {
            let band = (hz_to_mel(hz) - m0) / (m1 - m0) * n_mels as f64;
            (band, format!("{hz:.0}"))
        })
        .collect()
}

fn mfcc_by_gender(store: &Store, out: &Path) -> PlotResult<PathBuf> {
    let (id, entry) = pick_set(store, None).map_err(|e| e.to_string())?;
    let clips = load_clips(store, &id, &entry, || {}).map_err(|e| e.to_string())?;
    let mut series = Vec::new();
    let mut c0 = Vec::new();
    for gender in ["male", "female"] {
        let mut sum = [0f64; N_MFCC];
        let mut n = 0usize;
        for c in clips
            .iter()
            .filter(|c| c.emotion == 8 && c.gender == gender)
        {
            if let Some(v) = c.variants.get("clean") {
                for f in v.mfcc.chunks_exact(N_MFCC) {
                    for (s, x) in sum.iter_mut().zip(f) {
                        *s += *x as f64;
                    }
                    n += 1;
                }
            }
        }
        if n == 0 {
            return Err(format!(
                "no {gender} \"surprised\" clips in feature set {id}"
            ));
        }
        // c0 (log energy) is an order of magnitude off the others' scale:
        // named in the title, left out of the curve.
        let pts: Vec<(f64, f64)> = sum
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, s)| (k as f64, s / n as f64))
            .collect();
        c0.push(format!("{gender} {:.0}", sum[0] / n as f64));
        series.push((gender, pts));
    }
    let title = format!(
        "Mean MFCC c1-c39, \"surprised\": male vs female (c0: {})",
        c0.join(", ")
    );
    let path = out.join("mfcc_male_vs_female_surprised.png");
    save_png(&path, (1100, 550), |root| {
        lines(
            root,
            &title,
            ("MFCC coefficient", "mean value (over frames and clips)"),
            &series,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_mel_ticks_are_round_frequencies_in_band_order() {
        let ticks = mel_ticks(0.0, 11025.0, 128);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "250", "500", "1000", "2000", "4000", "8000"]);
        assert!(ticks.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ticks.iter().all(|t| (0.0..=128.0).contains(&t.0)));
        assert_eq!(ticks[0].0, 0.0);
        // Nothing outside fmin..=fmax.
        assert!(mel_ticks(300.0, 3000.0, 64)
            .iter()
            .all(|t| t.1 == "500" || t.1 == "1000" || t.1 == "2000"));
    }
}
