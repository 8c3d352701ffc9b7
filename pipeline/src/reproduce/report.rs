//! `reports/paper/REPORT.md`: the paper's table beside ours, the
//! speaker-independent table per fold, per-class scores, the paper's
//! figures, the protocol differences, runtimes, and how to get the same
//! numbers again (command, version, data fingerprint, run names).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use store::{MetadataRow, Store};

use super::{PlannedRun, Protocol, ReproduceConfig};
use crate::error::{PipelineError, Result};
use crate::report::columns::{col_f64, col_opt_i64, col_str, frame};
use crate::report::figures;
use crate::train::{RunConfig, TRAIN_CODE_VERSION};

/// The paper's reported (train, test) accuracy per model, where it gives one.
fn paper_numbers(model: &str) -> Option<(f64, f64)> {
    match model {
        "cnn" => Some((0.97, 0.64)),
        "cnn-lstm" => Some((0.68, 0.53)),
        _ => None,
    }
}

/// One row of a run's `summary.parquet`.
struct Row {
    fold: Option<i64>,
    train: f64,
    test: f64,
    clean: f64,
    noisy: f64,
    uar: f64,
    f1: f64,
    seconds: f64,
}

fn summary(dir: &Path) -> Result<Vec<Row>> {
    let read = || -> std::result::Result<Vec<Row>, String> {
        let df = frame(&dir.join("summary.parquet"))?;
        let fold = col_opt_i64(&df, "fold")?;
        let f = |n: &str| col_f64(&df, n);
        let (train, test, clean, noisy) = (
            f("train_accuracy")?,
            f("test_accuracy")?,
            f("test_accuracy_clean")?,
            f("test_accuracy_noisy")?,
        );
        let (uar, f1, seconds) = (f("test_uar")?, f("test_macro_f1")?, f("seconds")?);
        Ok((0..df.height())
            .map(|i| Row {
                fold: fold[i],
                train: train[i],
                test: test[i],
                clean: clean[i],
                noisy: noisy[i],
                uar: uar[i],
                f1: f1[i],
                seconds: seconds[i],
            })
            .collect())
    };
    read().map_err(|e| PipelineError::Config(format!("{}: {e}", dir.display())))
}

fn mean_row(rows: &[Row]) -> Option<&Row> {
    rows.iter().find(|r| r.fold.is_none())
}

fn pct(v: f64) -> String {
    format!("{:.1}", 100.0 * v)
}

/// Per-class precision / recall / F1 of all folds pooled (all test copies).
fn class_table(dir: &Path) -> std::result::Result<String, String> {
    let df = frame(&dir.join("metrics.parquet"))?;
    let (fold, variant, class) = (
        col_opt_i64(&df, "fold")?,
        col_str(&df, "variant")?,
        col_str(&df, "class")?,
    );
    let (p, r, f1) = (
        col_f64(&df, "precision")?,
        col_f64(&df, "recall")?,
        col_f64(&df, "f1")?,
    );
    let support = col_opt_i64(&df, "support")?;
    let mut out =
        String::from("| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
    for i in 0..df.height() {
        if fold[i].is_none() && variant[i] == "all" {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                class[i],
                pct(p[i]),
                pct(r[i]),
                pct(f1[i]),
                support[i].unwrap_or(0)
            );
        }
    }
    Ok(out)
}

/// A short hash of every clip's id and content (SHA-256) in the metadata.
fn data_fingerprint(store: &Store) -> Result<(String, usize, usize)> {
    let mut rows = MetadataRow::read(&store.metadata_path())?;
    rows.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
    let mut h = Sha256::new();
    for r in &rows {
        h.update(r.clip_id.as_bytes());
        h.update(r.fingerprint.as_bytes());
    }
    let mut actors: Vec<i32> = rows.iter().map(|r| r.actor).collect();
    actors.sort_unstable();
    actors.dedup();
    Ok((
        store::fingerprint::hex(&h.finalize()[..8]),
        rows.len(),
        actors.len(),
    ))
}

/// Copies a figure into the report folder under `name`; returns the name.
fn keep(figure: std::result::Result<PathBuf, String>, out: &Path, name: &str) -> Option<String> {
    let from = figure.ok()?;
    let bytes = std::fs::read(&from).ok()?;
    store::atomic::write_bytes_atomic(&out.join(name), &bytes).ok()?;
    Some(name.to_string())
}

/// Writes `reports/paper/REPORT.md` (and its PNGs) for `runs`.
pub fn write(
    store: &Store,
    runs: &[(PlannedRun, String)],
    cfg: &ReproduceConfig,
) -> Result<PathBuf> {
    let out = store.paper_report_dir();
    std::fs::create_dir_all(&out).map_err(|e| PipelineError::io(&out, e))?;
    let (fingerprint, clips, actors) = data_fingerprint(store)?;
    let mut md = String::new();
    let _ = writeln!(md, "# Reproducing \"Evaluating Speech Emotion Recognition through the lens of CNN & LSTM Deep Learning Models\"\n");
    if cfg.quick {
        let _ = writeln!(md, "> **Quick mode** (`--quick`: 2 epochs, 64-frame windows): these numbers check that the pipeline runs end to end; they are not results.\n");
    }
    let _ = writeln!(
        md,
        "Data: {clips} clips of {actors} actors, fingerprint `{fingerprint}` (SHA-256 over every clip id and file hash). \
         `ser {}` (training code version {TRAIN_CODE_VERSION}). Command:\n\n    {}\n",
        env!("CARGO_PKG_VERSION"),
        cfg.command
    );

    let paper: Vec<&(PlannedRun, String)> = runs
        .iter()
        .filter(|(p, _)| p.protocol == Protocol::Paper)
        .collect();
    let speakers: Vec<&(PlannedRun, String)> = runs
        .iter()
        .filter(|(p, _)| p.protocol == Protocol::Speakers)
        .collect();
    if !paper.is_empty() {
        let _ = writeln!(md, "## The paper's protocol\n");
        let _ = writeln!(md, "Random 75/25 split by clip (stratified, seed 42; a speaker's clips on both sides), 14 classes (gender x emotion, calm merged into neutral), clean and noisy copies, the paper's models and schedules. Accuracies in %; test counts each clip's clean and noisy copy.\n");
        let _ = writeln!(md, "| model | paper train | paper test | train | test | clean | noisy | UAR | macro F1 | epochs | minutes | run |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (p, run) in &paper {
            let dir = store.run_dir(run);
            let rows = summary(&dir)?;
            let Some(m) = mean_row(&rows) else { continue };
            let (pt, pe) = paper_numbers(p.config.model.name())
                .map(|(a, b)| (pct(a), pct(b)))
                .unwrap_or(("-".into(), "-".into()));
            let c = RunConfig::read(&dir)?;
            let _ = writeln!(
                md,
                "| {} | {pt} | {pe} | {} | {} | {} | {} | {} | {} | {} | {:.1} | `{run}` |",
                p.config.model.name(),
                pct(m.train),
                pct(m.test),
                pct(m.clean),
                pct(m.noisy),
                pct(m.uar),
                pct(m.f1),
                c.epochs,
                m.seconds / 60.0
            );
        }
        let _ = writeln!(md);
    }
    if !speakers.is_empty() {
        let _ = writeln!(
            md,
            "## Speakers never heard (speaker-independent protocol)\n"
        );
        let _ = writeln!(md, "EmoBox's six RAVDESS folds (test actors {{1,11,20,21}}, {{4,10,12,14}}, {{8,9,19,23}}, {{3,5,7,24}}, {{2,15,16,18}}, {{6,13,17,22}}; a fold whose actors are absent from the data is skipped), 8 emotions (chance 12.5 %), no speaker on both sides. Scores in % on each fold's test side, then the mean over folds.\n");
        let _ = writeln!(md, "| model | folds | accuracy | UAR | macro F1 | clean | noisy | minutes |\n|---|---|---|---|---|---|---|---|");
        for (p, run) in &speakers {
            let rows = summary(&store.run_dir(run))?;
            if let Some(m) = mean_row(&rows) {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | **{}** | {} | {} | {} | {:.1} |",
                    p.config.model.name(),
                    rows.len().saturating_sub(1),
                    pct(m.test),
                    pct(m.uar),
                    pct(m.f1),
                    pct(m.clean),
                    pct(m.noisy),
                    m.seconds / 60.0
                );
            }
        }
        let _ = writeln!(md);
        for (p, run) in &speakers {
            let dir = store.run_dir(run);
            let rows = summary(&dir)?;
            let c = RunConfig::read(&dir)?;
            let limited = if c.train.max_folds.is_some() {
                format!(
                    " (limited to the first {} folds with `--max-folds`)",
                    c.folds.len()
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "### {}{limited}\n\nRun `{run}`, {} epochs.\n",
                p.config.model.name(),
                c.epochs
            );
            let _ = writeln!(md, "| fold | test actors | accuracy | clean | noisy | UAR | macro F1 | minutes |\n|---|---|---|---|---|---|---|---|");
            for r in &rows {
                let (fold, actors) = match r.fold {
                    Some(k) => {
                        let i = c.folds.iter().position(|&f| f as i64 == k);
                        let a = i
                            .and_then(|i| c.test_actors.get(i))
                            .map(|a| format!("{a:?}"))
                            .unwrap_or_default();
                        (k.to_string(), a)
                    }
                    None => ("**mean**".to_string(), String::new()),
                };
                let _ = writeln!(
                    md,
                    "| {fold} | {actors} | {} | {} | {} | {} | {} | {:.1} |",
                    pct(r.test),
                    pct(r.clean),
                    pct(r.noisy),
                    pct(r.uar),
                    pct(r.f1),
                    r.seconds / 60.0
                );
            }
            let _ = writeln!(md);
        }
    }

    if !speakers.is_empty() {
        robustness_table(&mut md, store, &speakers);
    }
    let _ = writeln!(
        md,
        "## Per-class scores (all folds pooled, clean and noisy copies)\n"
    );
    for (p, run) in runs {
        match class_table(&store.run_dir(run)) {
            Ok(t) => {
                let _ = writeln!(md, "### {}\n\n{t}", p.label());
            }
            Err(e) => {
                let _ = writeln!(md, "### {}\n\n(no per-class table: {e})\n", p.label());
            }
        }
    }

    let _ = writeln!(md, "## Figures\n");
    let data = figures::data_figures(store, &out);
    let names = [
        (
            "Figures 2-3: a clip's waveform, clean and with added noise",
            "waveform_clean_vs_noisy.png",
        ),
        (
            "Figures 4-5: mel spectrograms, female vs male \"happy\"",
            "mel_female_vs_male_happy.png",
        ),
        (
            "Figure 9: mean MFCCs, male vs female \"surprised\"",
            "mfcc_male_vs_female_surprised.png",
        ),
    ];
    for ((title, file), fig) in names.iter().zip(data) {
        match fig {
            Ok(_) => {
                let _ = writeln!(md, "{title}:\n\n![{title}]({file})\n");
            }
            Err(e) => {
                let _ = writeln!(md, "{title}: not drawn ({e})\n");
            }
        }
    }
    for (p, run) in &paper {
        let dir = store.run_dir(run);
        let c = RunConfig::read(&dir)?;
        let m = p.config.model.name();
        if let Some(f) = keep(
            figures::history(&dir, &c),
            &out,
            &format!("history_{m}.png"),
        ) {
            let _ = writeln!(md, "Figures 6-7, {m}: accuracy and loss per epoch, train vs test:\n\n![training curves, {m}]({f})\n");
        }
        if let Some(f) = keep(
            figures::confusion(&dir, &c),
            &out,
            &format!("confusion_{m}.png"),
        ) {
            let _ = writeln!(md, "Figure 8, {m}: confusion matrix of the test side:\n\n![confusion matrix, {m}]({f})\n");
        }
    }

    let _ = writeln!(md, "## How this differs from the paper\n");
    let _ = writeln!(md, "{}", PROTOCOL_NOTES);
    let _ = writeln!(md, "## Runs used\n");
    let mut total = 0.0;
    for (p, run) in runs {
        let minutes = summary(&store.run_dir(run))
            .ok()
            .and_then(|r| mean_row(&r).map(|m| m.seconds / 60.0))
            .unwrap_or(f64::NAN);
        total += minutes;
        let _ = writeln!(
            md,
            "- `{run}` ({}): {minutes:.1} min of training and evaluation",
            p.label()
        );
    }
    let _ = writeln!(
        md,
        "\nTotal: {total:.1} min on this machine ({} threads).",
        rayon::current_num_threads()
    );
    let path = out.join("REPORT.md");
    store::atomic::write_bytes_atomic(&path, md.as_bytes())?;
    Ok(path)
}

const PROTOCOL_NOTES: &str = "\
- **Leakage.** The notebooks the paper follows add the noisy copies to the pool and split the pool at random, so a clip's clean copy can be trained on while its noisy copy is tested. Here a clip's copies are always on the same side. The paper protocol still puts every speaker on both sides; the speaker-independent protocol does not, and is the number to expect on new voices.
- **Loss.** Cross-entropy (the paper says mean squared error; `ser train --loss mse` has it).
- **Window.** The first 3 s of each clip (130 frames at 22050 Hz, hop 512), as the Keras notebooks take; recurrent models read their state at each clip's last real frame. si-cnn trains on those and answers (its test scores too) from a third of a window before each clip's speech (`--test-crop speech`), which for RAVDESS's clips is nearly always their first 3 s.
- **Scaling.** MFCCs are standardised per coefficient with statistics of the training side only.
- **Initialisation and optimiser.** Keras' initialisers and Adam (lr 1e-3, epsilon 1e-7), as the paper's Keras code would have.
- **CNN+LSTM.** The paper gives no layers; ours is Conv1D 128 x2 (+ max-pool) into LSTM 64/64 (see the README).
- **Data size.** With fewer clips than the full 1440 (24 actors), each class has fewer examples and the numbers are not directly the paper's.
";

/// A condition's fold-mean UAR and drop.
type ConditionScore = (String, f64, f64);

/// UAR (and its drop from as recorded) per condition of every
/// speaker-independent run: the mean over folds of `robustness.parquet`.
fn robustness_table(md: &mut String, store: &Store, runs: &[&(PlannedRun, String)]) {
    let mut cols: Vec<(String, Vec<ConditionScore>)> = Vec::new();
    for (p, run) in runs {
        let Ok(df) = frame(&store.run_dir(run).join("robustness.parquet")) else {
            continue;
        };
        let (Ok(fold), Ok(cond), Ok(uar), Ok(drop)) = (
            col_opt_i64(&df, "fold"),
            col_str(&df, "condition"),
            col_f64(&df, "uar"),
            col_f64(&df, "uar_drop"),
        ) else {
            continue;
        };
        let rows = (0..df.height())
            .filter(|&i| fold[i].is_none())
            .map(|i| (cond[i].clone(), uar[i], drop[i]))
            .collect();
        cols.push((p.config.model.name().to_string(), rows));
    }
    let Some((_, first)) = cols.first() else {
        return;
    };
    let _ = writeln!(
        md,
        "## Under recording conditions (speaker-independent runs)\n"
    );
    let _ = writeln!(md, "`ser robustness`: each fold's model on its own test speakers' clean clips, as recorded and under seeded conditions applied to the waveform before the run's own feature path (level: RMS in dBFS; band: resampled to that rate; mulaw: G.711 at 8 kHz; white / babble: noise at that SNR in dB, babble from other speakers' clips; reverb: a synthetic room with that RT60 in s; speed: played that much faster). UAR in %, the mean over folds, and its change from as recorded.\n");
    let head: Vec<String> = cols
        .iter()
        .map(|(m, _)| format!("{m} UAR (change)"))
        .collect();
    let _ = writeln!(
        md,
        "| condition | {} |\n|---|{}",
        head.join(" | "),
        "---|".repeat(cols.len())
    );
    for (j, (cond, _, _)) in first.iter().enumerate() {
        let cells: Vec<String> = cols
            .iter()
            .map(|(_, rows)| {
                rows.get(j)
                    .filter(|r| r.0 == *cond)
                    .map(|r| format!("{} ({:+.1})", pct(r.1), -100.0 * r.2))
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        let _ = writeln!(md, "| {cond} | {} |", cells.join(" | "));
    }
    let _ = writeln!(md);
}
