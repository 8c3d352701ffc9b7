//! `ser listen`: a live timeline from standard input or the microphone.

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use pipeline::bounds;
use pipeline::listen::{listen_pcm, stop_on_ctrl_c, ListenError, PcmFormat, Session};
use pipeline::panic_guard;
use pipeline::timeline::{Segment, SegmentConfig};
use pipeline::train::Predictor;

use super::segments::{AnswerFlags, ModelFlags, SegmentArgs};
use crate::flags::{within, Env, StoreFlags};
use pipeline::answers::{of_segment, of_summary, summary_text};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub s: StoreFlags,
    #[command(flatten)]
    pub from: ModelFlags,
    /// Read raw signed 16-bit little-endian PCM from standard input
    /// (needs --rate) instead of the microphone.
    #[arg(long)]
    pub stdin: bool,
    /// Sample rate of the PCM on standard input, Hz, 4000..=384000.
    #[arg(long, required_if_eq("stdin", "true"), value_parser = within(bounds::SAMPLE_RATE))]
    pub rate: Option<u32>,
    /// Channels of the PCM on standard input (mixed to mono), 1..=32.
    #[arg(long, default_value_t = 1, value_parser = within(bounds::CHANNELS))]
    pub channels: u16,
    /// JSON lines, one per segment, instead of the live view (a pipe gets
    /// tab-separated text without it).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub ans: AnswerFlags,
    #[command(flatten)]
    pub seg: SegmentArgs,
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

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let p = a.from.open(&env.store, a.ans.fold)?;
    let cfg = a.seg.config(&p)?;
    static STOP: AtomicBool = AtomicBool::new(false);
    stop_on_ctrl_c(&STOP);
    let live = std::io::stdout().is_terminal() && !a.json;
    let mut view = LiveView { drawn: 0 };
    let mut on_segment = |s: &Segment| {
        if live {
            view.draw(&p, s);
        } else {
            let answer = of_segment("-", s);
            if a.json {
                println!("{}", answer.json(&p, a.ans.min_confidence));
            } else {
                println!("{}", answer.table(&p.config.classes, a.ans.min_confidence));
            }
        }
    };
    // A bug ends the session with an error, not a crash.
    let session: Session = panic_guard::catch(|| {
        if a.stdin {
            let fmt = PcmFormat {
                rate: a.rate.unwrap_or(0),
                channels: a.channels,
            };
            let input = std::io::stdin().lock();
            listen_pcm(&p, input, fmt, cfg, a.ans.fold, &STOP, &mut on_segment)
        } else {
            microphone(&p, cfg, a.ans.fold, &STOP, &mut on_segment)
        }
    })
    .map_err(anyhow::Error::msg)??;
    if a.json {
        let mut summary = of_summary("-", &session.segments);
        summary.extra.push(("seconds", session.seconds.into()));
        println!("{}", summary.json(&p, a.ans.min_confidence));
    } else {
        let line = summary_text(&p, "session", &session.segments);
        eprintln!("listen: {:.1} s of audio; {line}", session.seconds);
    }
    Ok(0)
}

#[cfg(feature = "mic")]
fn microphone(
    p: &Predictor,
    cfg: SegmentConfig,
    fold: Option<usize>,
    stop: &AtomicBool,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<Session, ListenError> {
    pipeline::listen::mic::listen_mic(p, cfg, fold, stop, on_segment)
}

#[cfg(not(feature = "mic"))]
fn microphone(
    _: &Predictor,
    _: SegmentConfig,
    _: Option<usize>,
    _: &AtomicBool,
    _: &mut dyn FnMut(&Segment),
) -> Result<Session, ListenError> {
    Err(ListenError::Microphone(
        "this ser was built without microphone support: use --stdin, or rebuild with \
         `cargo build --release -p ser-pipeline --features mic` (needs libasound2-dev)"
            .into(),
    ))
}
