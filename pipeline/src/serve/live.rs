//! The live view's endpoints: the browser records from its microphone and
//! POSTs raw PCM (signed 16-bit little-endian, mono) in chunks of about
//! half a second to its session; each reply holds the segments the chunk
//! completed, as `ser listen --json` prints them. Sessions go through the
//! same [`Segmenter`] as `ser listen` and `ser predict --timeline`.
//!
//! - `POST /api/live?rate=R` → `{"session": ID, "rate", "segment_s", "hop_s"}`
//! - `POST /api/live/ID` (PCM body) → JSON lines, one per segment completed
//! - `POST /api/live/ID/end` → the tail's segments and the summary line
//!   (with `seconds`); the session is gone.
//!
//! At most [`MAX_SESSIONS`] live at once; one idle for [`IDLE`] is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::answers::{of_segment, of_summary};
use crate::listen::{s16le_to_mono, PcmFormat};
use crate::timeline::{Segment, Segmenter};

use super::http::{body_in_memory, Query, Reply};
use super::Ctx;

/// Sessions open at once.
pub const MAX_SESSIONS: usize = 16;
/// A session without a request for this long is dropped.
pub const IDLE: Duration = Duration::from_secs(300);
/// The largest chunk of PCM, bytes (a minute at 48 kHz).
const MAX_CHUNK: u64 = 48_000 * 2 * 60;
/// The name live answers carry in `file` (as `ser listen`'s `-`).
const LIVE_FILE: &str = "live";

/// One browser's recording.
struct Session<'p> {
    seg: Segmenter<'p>,
    rate: u32,
    frames: u64,
    segments: Vec<Segment>,
    last: Instant,
}

/// The open sessions.
#[derive(Default)]
pub struct Sessions<'p> {
    open: Mutex<HashMap<String, Arc<Mutex<Session<'p>>>>>,
}

impl<'p> Sessions<'p> {
    fn get(&self, id: &str) -> Option<Arc<Mutex<Session<'p>>>> {
        self.open.lock().ok()?.get(id).cloned()
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.open.lock() {
            m.remove(id);
        }
    }
}

/// A new id: not guessable from the last one (time and a counter mixed).
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = t ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
    // splitmix64's finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:016x}{n:x}", x ^ (x >> 31))
}

/// Opens a session for PCM at `?rate=`.
pub fn start<'p>(ctx: &Ctx<'p>, q: &Query) -> Reply {
    let rate = match q.get("rate").map(str::parse::<u32>) {
        Some(Ok(r)) => r,
        _ => return Reply::error(400, "rate: give the PCM's sample rate, e.g. ?rate=48000"),
    };
    let fmt = PcmFormat { rate, channels: 1 };
    if let Err(why) = fmt.validate() {
        return Reply::error(400, why.replace("--rate", "rate"));
    }
    let seg = match Segmenter::new(&ctx.model.predictor, rate, ctx.cfg.segments, ctx.cfg.fold) {
        Ok(s) => s,
        Err(e) => return Reply::error(400, e.to_string()),
    };
    let Ok(mut open) = ctx.sessions.open.lock() else {
        return Reply::error(500, "the session table is poisoned");
    };
    open.retain(|_, s| s.lock().is_ok_and(|s| s.last.elapsed() < IDLE));
    if open.len() >= MAX_SESSIONS {
        return Reply::error(
            503,
            format!("{MAX_SESSIONS} live sessions are open already; end one first"),
        );
    }
    let id = new_id();
    let session = Session {
        seg,
        rate,
        frames: 0,
        segments: Vec::new(),
        last: Instant::now(),
    };
    open.insert(id.clone(), Arc::new(Mutex::new(session)));
    Reply::json(
        200,
        &json!({
            "session": id,
            "rate": rate,
            "segment_s": ctx.cfg.segments.segment_s,
            "hop_s": ctx.cfg.segments.hop_s,
        }),
    )
}

fn unknown(id: &str) -> Reply {
    Reply::error(
        404,
        format!(
            "no live session {id} (ended, or idle for over {} s)",
            IDLE.as_secs()
        ),
    )
}

/// Adds a chunk of PCM; replies with the segments it completed.
pub fn push(ctx: &Ctx<'_>, req: &mut tiny_http::Request, id: &str, q: &Query) -> Reply {
    let min_confidence = match ctx.cfg.min_confidence(q) {
        Ok(m) => m,
        Err(reply) => return reply,
    };
    let Some(session) = ctx.sessions.get(id) else {
        return unknown(id);
    };
    let body = match body_in_memory(req, MAX_CHUNK.min(ctx.cfg.max_upload_bytes)) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    if body.len() % 2 != 0 {
        return Reply::error(400, "the PCM chunk has an odd number of bytes (s16le mono)");
    }
    let Ok(mut s) = session.lock() else {
        return Reply::error(500, "this session is poisoned; start another");
    };
    let mono = s16le_to_mono(&body, 1);
    s.frames += mono.len() as u64;
    s.last = Instant::now();
    match s.seg.push(&mono) {
        Ok(done) => {
            let lines = segment_lines(ctx, &done, min_confidence);
            s.segments.extend(done);
            Reply::json_lines(&lines)
        }
        Err(e) => Reply::error(500, e.to_string()),
    }
}

/// Ends a session: the tail's segments and the summary.
pub fn end(ctx: &Ctx<'_>, id: &str, q: &Query) -> Reply {
    let min_confidence = match ctx.cfg.min_confidence(q) {
        Ok(m) => m,
        Err(reply) => return reply,
    };
    let Some(session) = ctx.sessions.get(id) else {
        return unknown(id);
    };
    ctx.sessions.remove(id);
    let Ok(mut s) = session.lock() else {
        return Reply::error(500, "this session is poisoned");
    };
    let p = &ctx.model.predictor;
    let tail = match s.seg.finish() {
        Ok(t) => t,
        Err(e) => return Reply::error(500, e.to_string()),
    };
    let mut lines = segment_lines(ctx, &tail, min_confidence);
    s.segments.extend(tail);
    let mut summary = of_summary(LIVE_FILE, &s.segments);
    summary
        .extra
        .push(("seconds", (s.frames as f64 / f64::from(s.rate)).into()));
    lines.push(summary.json(p, min_confidence));
    Reply::json_lines(&lines)
}

/// The answers of live segments, as `ser listen --json` prints them.
fn segment_lines(ctx: &Ctx<'_>, segs: &[Segment], min_confidence: Option<f64>) -> Vec<String> {
    let p = &ctx.model.predictor;
    segs.iter()
        .map(|g| of_segment(LIVE_FILE, g).json(p, min_confidence))
        .collect()
}
