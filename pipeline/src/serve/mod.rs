//! `ser serve`: a local web page (embedded in the binary, nothing fetched
//! from the internet) and a JSON API over one model (a model file or a
//! run), on [`tiny_http`]'s synchronous HTTP/1.1 server.
//!
//! Routes (`route`):
//! - `GET /`, `/app.js`, `/style.css`: the page (module `page`);
//! - `GET /api/model`: the model card ([`Model::card`]);
//! - `POST /api/predict[?timeline=1&name=F&min_confidence=P]`: the audio
//!   file as the body (any format `ser predict` reads) → the JSON lines of
//!   `ser predict --json [--timeline]` (module `api`);
//! - `POST /api/live?rate=R` → a session; `POST /api/live/ID` with raw s16le
//!   mono PCM → the segments it completed; `POST /api/live/ID/end` → the
//!   tail and the summary, as `ser listen --json` prints them (module `live`).
//!
//! Anything else is 404; a body over the limit is 413; audio that does not
//! decode is 400 with the reason; a request from another site's page (its
//! `Origin`), or, on a loopback address, for another host name (DNS
//! rebinding), is 403. Uploads stream into a temporary file
//! that is removed when the request ends (`http::TempUpload`), and
//! timelines are classified segment by segment, so memory stays bounded
//! whatever the upload's length. This module is not a general web server:
//! it serves its own page and API only, with no authentication.

mod api;
mod http;
mod live;
mod page;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{PipelineError, Result};
use crate::timeline::SegmentConfig;
use crate::train::Predictor;

pub use http::Reply;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind (port 0: any free port).
    pub addr: SocketAddr,
    /// The largest request body, bytes.
    pub max_upload_bytes: u64,
    /// Answers below this top probability are `uncertain` (a request's
    /// `min_confidence` overrides it).
    pub min_confidence: Option<f64>,
    /// How timelines are cut (the defaults of `ser predict --timeline`).
    pub segments: SegmentConfig,
    /// Use this fold's model only (`None`: mean of every fold).
    pub fold: Option<usize>,
    /// Request threads (each handles one request at a time).
    pub workers: usize,
}

/// The model a server answers with, and its card.
pub struct Model {
    /// The loaded model.
    pub predictor: Predictor,
    /// What `GET /api/model` returns: a model file's card, or a run's
    /// config; always with `source`, `name` and `classes`.
    pub card: Value,
}

impl Model {
    /// A model file (`ser model build`), read once.
    pub fn from_model_file(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
        let card = crate::model_file::card_of(path, &bytes)?;
        let mut v =
            serde_json::to_value(&card).map_err(|e| PipelineError::Config(e.to_string()))?;
        let predictor = Predictor::from_model_card(path, &bytes, card)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        extend(&mut v, "model file", name.unwrap_or_default(), &predictor);
        Ok(Model { predictor, card: v })
    }

    /// A run (`ser train`): its config is the card; no estimate.
    pub fn from_run(predictor: Predictor) -> Model {
        let mut v = json!({ "run": &predictor.config, "temperature": 1.0 });
        let name = predictor.config.run.clone();
        extend(&mut v, "run", name, &predictor);
        Model { predictor, card: v }
    }
}

/// Adds the keys every card has.
fn extend(v: &mut Value, source: &str, name: String, p: &Predictor) {
    if let Value::Object(m) = v {
        m.insert("source".into(), source.into());
        m.insert("name".into(), name.into());
        m.insert("classes".into(), json!(p.config.classes));
        m.insert("window_s".into(), json!(p.window_seconds()));
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {why}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        why: String,
    },
}

/// Whether `addr` is reachable only from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Serves `model` until `stop` is set (Ctrl-C); `ready` gets the bound
/// address once requests are accepted. Requests in flight finish first.
pub fn serve(
    model: &Model,
    cfg: &ServeConfig,
    stop: &AtomicBool,
    ready: impl FnOnce(SocketAddr),
) -> std::result::Result<(), ServeError> {
    let server = tiny_http::Server::http(cfg.addr).map_err(|e| ServeError::Bind {
        addr: cfg.addr,
        why: e.to_string(),
    })?;
    let bound = server.server_addr().to_ip().unwrap_or(cfg.addr);
    let sessions = live::Sessions::default();
    let ctx = Ctx {
        model,
        cfg,
        sessions: &sessions,
    };
    ready(bound);
    std::thread::scope(|s| {
        for _ in 0..cfg.workers.max(1) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_timeout(Duration::from_millis(200)) {
                        Ok(Some(req)) => handle(&ctx, req),
                        Ok(None) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
            });
        }
    });
    Ok(())
}

/// What a request's handler sees.
struct Ctx<'a> {
    model: &'a Model,
    cfg: &'a ServeConfig,
    sessions: &'a live::Sessions<'a>,
}

/// Answers one request; a bug in a handler is a 500 with its message,
/// and the server goes on.
fn handle(ctx: &Ctx<'_>, mut req: tiny_http::Request) {
    let reply = crate::panic_guard::catch(|| route(ctx, &mut req))
        .unwrap_or_else(|why| Reply::error(500, why));
    let _ = req.respond(reply.into_response());
}

/// The handler of a request's method and path (query removed).
fn route(ctx: &Ctx<'_>, req: &mut tiny_http::Request) -> Reply {
    use tiny_http::Method::{Get, Head, Post};
    if let Err(why) = http::same_origin(req, &ctx.cfg.addr) {
        return Reply::error(403, why);
    }
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let q = http::Query::parse(query);
    let method = req.method().clone();
    match (method, path) {
        (Get | Head, "/") => page::asset("index.html"),
        (Get | Head, "/app.js") => page::asset("app.js"),
        (Get | Head, "/style.css") => page::asset("style.css"),
        (Get | Head, "/api/model") => Reply::json(200, &ctx.model.card),
        (Post, "/api/predict") => api::predict(ctx, req, &q),
        (Post, "/api/live") => live::start(ctx, &q),
        (Post, p) if p.starts_with("/api/live/") => {
            let rest = &p["/api/live/".len()..];
            match rest.strip_suffix("/end") {
                Some(id) => live::end(ctx, id, &q),
                None => live::push(ctx, req, rest, &q),
            }
        }
        (_, "/" | "/app.js" | "/style.css" | "/api/model" | "/api/predict" | "/api/live") => {
            Reply::error(405, format!("{} is not allowed on {path}", req.method()))
        }
        _ => Reply::error(404, format!("not found: {path}")),
    }
}

impl ServeConfig {
    /// Checks the settings (the limits of [`crate::bounds`]).
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.segments.validate()?;
        crate::bounds::SERVE_WORKERS.check(self.workers)?;
        if self.max_upload_bytes == 0 {
            return Err("the upload limit must be at least 1 byte".into());
        }
        Ok(())
    }

    /// The `min_confidence` of a request: its own, else the server's.
    fn min_confidence(&self, q: &http::Query) -> std::result::Result<Option<f64>, Reply> {
        match q.get("min_confidence") {
            None => Ok(self.min_confidence),
            Some(v) => crate::bounds::PROBABILITY
                .parse(v)
                .map(Some)
                .map_err(|e| Reply::error(400, format!("min_confidence: {e}"))),
        }
    }
}
