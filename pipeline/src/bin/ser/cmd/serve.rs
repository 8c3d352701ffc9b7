//! `ser serve`: the local web page and JSON API over a model file or a run.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use pipeline::bounds;
use pipeline::listen::stop_on_ctrl_c;
use pipeline::serve::{is_loopback, serve, Model, ServeConfig};

use super::segments::{AnswerFlags, ModelFlags, SegmentArgs};
use crate::flags::{usage, within, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub s: StoreFlags,
    #[command(flatten)]
    pub from: ModelFlags,
    /// Address and port to listen on (port 0: any free port). Anything
    /// but a loopback address lets other machines in: the page has no
    /// authentication.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// The largest upload (request body), MB, 1..=65536.
    #[arg(long, value_name = "MB", default_value_t = 200, value_parser = within(bounds::UPLOAD_MB))]
    pub max_upload_mb: u64,
    /// Requests handled at once (each on its own thread), 1..=256
    /// [default: twice the cores, at least 4].
    #[arg(long, value_parser = within(bounds::SERVE_WORKERS))]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub ans: AnswerFlags,
    #[command(flatten)]
    pub seg: SegmentArgs,
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let addr: SocketAddr = a
        .addr
        .parse()
        .map_err(|e| usage(format!("--addr {}: {e} (e.g. 127.0.0.1:8080)", a.addr)))?;
    let model = match &a.from.model {
        Some(file) => {
            let m = Model::from_model_file(file)?;
            m.predictor.check_fold(a.ans.fold)?;
            m
        }
        None => Model::from_run(a.from.open(&env.store, a.ans.fold)?),
    };
    let cfg = ServeConfig {
        addr,
        max_upload_bytes: a.max_upload_mb << 20,
        min_confidence: a.ans.min_confidence,
        segments: a.seg.config(&model.predictor)?,
        fold: a.ans.fold,
        workers: a.workers.unwrap_or_else(default_workers),
    };
    cfg.validate().map_err(usage)?;
    static STOP: AtomicBool = AtomicBool::new(false);
    stop_on_ctrl_c(&STOP);
    serve(&model, &cfg, &STOP, |bound| {
        if !is_loopback(&bound) {
            eprintln!(
                "warning: serving on {bound}, reachable from other machines: the page has no authentication"
            );
        }
        let card = &model.card;
        println!(
            "serving http://{bound}/ ({} {}; Ctrl-C stops)",
            card["source"].as_str().unwrap_or("model"),
            card["name"].as_str().unwrap_or("")
        );
        let _ = std::io::stdout().flush();
    })
    .context("ser serve")?;
    eprintln!("ser serve: stopped");
    Ok(0)
}

/// Twice the cores, at least 4: a slow upload holds a thread.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(4, |n| (2 * n.get()).max(4))
}
