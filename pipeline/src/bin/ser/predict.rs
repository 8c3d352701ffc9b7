//! `ser predict` and `ser listen`: load a run, classify, print.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use pipeline::listen::{listen_pcm, stop_on_ctrl_c, PcmFormat, Session};
use pipeline::output::OutputFile;
use pipeline::panic_guard;
use pipeline::timeline::{dominant, file_timeline, write_parquet, FileTimeline, Segment};
use pipeline::train::{resolve_run, Predictor};
use pipeline::EXIT_SKIPPED;
use store::Store;

use crate::args::{ListenArgs, PredictArgs};

/// The run `--run` names: a run folder (it holds `config.json`; no store
/// needed), else a run name or unique prefix in the store.
fn load(store: &Path, run: &str, fold: Option<usize>) -> Result<Predictor> {
    let as_dir = Path::new(run);
    let dir = if as_dir.join("config.json").is_file() {
        as_dir.to_path_buf()
    } else if as_dir.is_dir() && run.contains(std::path::MAIN_SEPARATOR) {
        anyhow::bail!("{run}: not a run folder (no config.json in it)");
    } else {
        resolve_run(&Store::open(store)?, run)?
    };
    let p = Predictor::load(&dir)?;
    p.check_fold(fold)?;
    Ok(p)
}

fn probs_json(classes: &[String], p: &[f32]) -> serde_json::Value {
    classes
        .iter()
        .zip(p)
        .map(|(c, q)| (c.clone(), serde_json::json!(q)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// `ser predict`: one label per file, or a timeline per file.
pub fn predict(store: &Path, a: &PredictArgs) -> Result<i32> {
    // Refused before any work: an input, a store's file, a device, or an
    // existing file without --force.
    let out = a
        .out
        .as_deref()
        .map(|o| OutputFile::check(o, &a.files, a.force))
        .transpose()?;
    let p = load(store, &a.run, a.fold)?;
    let failed = if a.wants_timeline() {
        timelines(&p, a, out.as_ref())?
    } else {
        whole_files(&p, a)
    };
    if failed == a.files.len() {
        anyhow::bail!("no file could be classified ({failed} skipped, each named above)");
    }
    Ok(if failed > 0 { EXIT_SKIPPED } else { 0 })
}

/// One window per file; returns how many failed.
fn whole_files(p: &Predictor, a: &PredictArgs) -> usize {
    let classes = &p.config.classes;
    if a.csv {
        println!("path,predicted,probability,{}", classes.join(","));
    } else if !a.json {
        println!("file\tpredicted\tprobability\ttop 3 (run {})", p.config.run);
    }
    let mut failed = 0;
    for file in &a.files {
        // A bug in one file's work skips that file, not the batch.
        let r = match panic_guard::catch(|| p.predict_file(file, a.fold)).and_then(|r| r) {
            Ok(r) => r,
            Err(why) => {
                failed += 1;
                eprintln!("skipped {}: {why}", file.display());
                continue;
            }
        };
        let best = r.probabilities.iter().cloned().fold(0f32, f32::max);
        if a.json {
            let line = serde_json::json!({
                "path": file.display().to_string(),
                "run": p.config.run,
                "predicted": r.predicted,
                "probability": best,
                "probabilities": probs_json(classes, &r.probabilities),
            });
            println!("{line}");
        } else if a.csv {
            let probs: Vec<String> = r.probabilities.iter().map(|q| format!("{q:.6}")).collect();
            println!(
                "{},{},{best:.6},{}",
                file.display(),
                r.predicted,
                probs.join(",")
            );
        } else {
            let mut ranked: Vec<(usize, f32)> =
                r.probabilities.iter().cloned().enumerate().collect();
            ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
            let top: Vec<String> = ranked
                .iter()
                .take(3)
                .map(|(c, q)| format!("{} {:.3}", classes[*c], q))
                .collect();
            println!(
                "{}\t{}\t{:.3}\t{}",
                file.display(),
                r.predicted,
                best,
                top.join(", ")
            );
        }
    }
    failed
}

/// A segment as a line of the table, CSV or JSON.
fn segment_line(p: &Predictor, file: &str, s: &Segment, json: bool, csv: bool) -> String {
    let classes = &p.config.classes;
    let (label, prob) = match &s.probabilities {
        Some(q) => {
            let k = models::argmax(q);
            (classes[k].clone(), Some(q[k]))
        }
        None => ("(silent)".to_string(), None),
    };
    if json {
        serde_json::json!({
            "path": file,
            "run": p.config.run,
            "segment": s.index,
            "start_s": s.start_s,
            "end_s": s.end_s,
            "rms_db": s.rms_db,
            "silent": s.silent,
            "label": s.probabilities.as_ref().map(|_| label.clone()),
            "probability": prob,
            "probabilities": s.probabilities.as_ref().map(|q| probs_json(classes, q)),
        })
        .to_string()
    } else if csv {
        let probs: Vec<String> = match &s.probabilities {
            Some(q) => q.iter().map(|v| format!("{v:.6}")).collect(),
            None => vec![String::new(); classes.len()],
        };
        format!(
            "{file},{},{:.3},{:.3},{:.1},{},{},{},{}",
            s.index,
            s.start_s,
            s.end_s,
            s.rms_db,
            s.silent,
            if s.silent { "" } else { &label },
            prob.map(|v| format!("{v:.6}")).unwrap_or_default(),
            probs.join(",")
        )
    } else {
        format!(
            "{file}\t{:8.2}\t{:8.2}\t{label}\t{}",
            s.start_s,
            s.end_s,
            prob.map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into())
        )
    }
}

/// The summary of a timeline: its dominant class over voiced segments.
fn summary(p: &Predictor, file: &str, segs: &[Segment]) -> String {
    let silent = segs.iter().filter(|s| s.silent).count();
    match dominant(segs) {
        Some((k, q, voiced)) => format!(
            "summary {file}: dominant {} (mean probability {q:.3}) over {voiced} voiced of {} segments ({silent} silent)",
            p.config.classes[k],
            segs.len()
        ),
        None => format!("summary {file}: all {} segments silent", segs.len()),
    }
}

/// Segments of every file; returns how many files failed.
fn timelines(p: &Predictor, a: &PredictArgs, out: Option<&OutputFile>) -> Result<usize> {
    let cfg = a.seg.config(p)?;
    if a.csv {
        println!(
            "path,segment,start_s,end_s,rms_db,silent,label,probability,{}",
            p.config.classes.join(",")
        );
    } else if !a.json {
        println!(
            "file\tstart (s)\tend (s)\tlabel\tprobability (run {})",
            p.config.run
        );
    }
    let mut kept: Vec<(String, Vec<Segment>)> = Vec::new();
    let mut failed = 0;
    for file in &a.files {
        let name = file.display().to_string();
        let result = file_timeline(p, file, cfg, a.fold, |s| {
            println!("{}", segment_line(p, &name, s, a.json, a.csv));
        });
        match result {
            Ok(segs) => {
                let line = summary(p, &name, &segs);
                if a.json {
                    let d = dominant(&segs);
                    println!(
                        "{}",
                        serde_json::json!({
                            "path": name,
                            "run": p.config.run,
                            "summary": true,
                            "segments": segs.len(),
                            "voiced": d.map(|x| x.2).unwrap_or(0),
                            "dominant": d.map(|x| p.config.classes[x.0].clone()),
                            "probability": d.map(|x| x.1),
                        })
                    );
                } else if a.csv {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
                if out.is_some() {
                    kept.push((name, segs));
                }
            }
            Err(why) => {
                failed += 1;
                eprintln!("skipped {name}: {why}");
            }
        }
    }
    // Nothing classified: nothing replaced (the caller says so, exit 1).
    if let Some(out) = out.filter(|_| !kept.is_empty()) {
        let t: Vec<FileTimeline<'_>> = kept
            .iter()
            .map(|(f, s)| FileTimeline {
                file: f.clone(),
                segments: s,
            })
            .collect();
        write_parquet(out, &p.config.run, &p.config.classes, &t)?;
        eprintln!("timeline: {}", out.path().display());
    }
    Ok(failed)
}

/// The live view: a bar per class for the latest segment, redrawn in place.
struct LiveView {
    drawn: usize,
}

impl LiveView {
    fn draw(&mut self, p: &Predictor, s: &Segment) {
        let classes = &p.config.classes;
        let mut out = String::new();
        if self.drawn > 0 {
            out.push_str(&format!("\x1b[{}A", self.drawn));
        }
        let head = match &s.probabilities {
            Some(q) => format!(
                "{} ({:.0}%)",
                classes[models::argmax(q)],
                100.0 * q[models::argmax(q)]
            ),
            None => "(silent)".into(),
        };
        out.push_str(&format!(
            "\x1b[2K{:7.1}-{:.1} s  {:6.1} dBFS  {head}\n",
            s.start_s, s.end_s, s.rms_db
        ));
        for (c, name) in classes.iter().enumerate() {
            let q = s.probabilities.as_ref().map(|q| q[c]).unwrap_or(0.0);
            let bar = "#".repeat((q * 40.0).round() as usize);
            out.push_str(&format!("\x1b[2K{name:>18} {bar:<40} {:5.1}%\n", 100.0 * q));
        }
        self.drawn = classes.len() + 1;
        print!("{out}");
    }
}

/// `ser listen`: a live timeline from standard input or the microphone.
pub fn listen(store: &Path, a: &ListenArgs) -> Result<i32> {
    let p = load(store, &a.run, a.fold)?;
    let cfg = a.seg.config(&p)?;
    static STOP: AtomicBool = AtomicBool::new(false);
    stop_on_ctrl_c(&STOP);
    let live = std::io::stdout().is_terminal() && !a.json;
    let mut view = LiveView { drawn: 0 };
    let mut on_segment = |s: &Segment| {
        if live {
            view.draw(&p, s);
        } else {
            println!("{}", segment_line(&p, "-", s, a.json, false));
        }
    };
    // A bug ends the session with an error, not a crash.
    let session: Session = panic_guard::catch(|| {
        if a.stdin {
            let fmt = PcmFormat {
                rate: a.rate.unwrap_or(0),
                channels: a.channels,
            };
            listen_pcm(
                &p,
                std::io::stdin().lock(),
                fmt,
                cfg,
                a.fold,
                &STOP,
                &mut on_segment,
            )
            .map_err(anyhow::Error::msg)
        } else {
            microphone(&p, cfg, a.fold, &STOP, &mut on_segment)
        }
    })
    .map_err(anyhow::Error::msg)??;
    let line = summary(&p, "session", &session.segments);
    eprintln!("listen: {:.1} s of audio; {line}", session.seconds);
    Ok(0)
}

#[cfg(feature = "mic")]
fn microphone(
    p: &Predictor,
    cfg: pipeline::timeline::SegmentConfig,
    fold: Option<usize>,
    stop: &AtomicBool,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<Session> {
    pipeline::listen::mic::listen_mic(p, cfg, fold, stop, on_segment).map_err(anyhow::Error::msg)
}

#[cfg(not(feature = "mic"))]
fn microphone(
    _: &Predictor,
    _: pipeline::timeline::SegmentConfig,
    _: Option<usize>,
    _: &AtomicBool,
    _: &mut dyn FnMut(&Segment),
) -> Result<Session> {
    anyhow::bail!(
        "this ser was built without microphone support: use --stdin, or rebuild with \
         `cargo build --release -p ser-pipeline --features mic` (needs libasound2-dev)"
    )
}
