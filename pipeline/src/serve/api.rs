//! `POST /api/predict`: an uploaded recording, classified as `ser predict
//! --json` classifies a file (one answer), or as `ser predict --timeline
//! --json` does (`?timeline=1`: one line per segment, then the summary).

use crate::answers::{of_recording, of_segment, of_summary};
use crate::error::{FileError, PredictError};
use crate::timeline::file_timeline;

use super::http::{body_to_temp_file, extension_of, Query, Reply, TempUpload};
use super::Ctx;

/// The name answers carry when the request gives none (`?name=`).
pub const DEFAULT_NAME: &str = "upload";

/// Classifies the request's body.
pub fn predict(ctx: &Ctx<'_>, req: &mut tiny_http::Request, q: &Query) -> Reply {
    let name = q.get("name").unwrap_or(DEFAULT_NAME).to_string();
    let min_confidence = match ctx.cfg.min_confidence(q) {
        Ok(m) => m,
        Err(reply) => return reply,
    };
    let upload = match body_to_temp_file(req, ctx.cfg.max_upload_bytes, &extension_of(&name)) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    if upload.len == 0 {
        return Reply::error(
            400,
            format!("{name}: the request has no body: send the audio file as the body"),
        );
    }
    let p = &ctx.model.predictor;
    let lines = if q.flag("timeline") {
        timeline_lines(ctx, &upload, &name, min_confidence)
    } else {
        p.predict_file(upload.path(), ctx.cfg.fold, ctx.cfg.segments.silence_db)
            .map(|r| vec![of_recording(&name, &r).json(p, min_confidence)])
    };
    // `upload` is dropped (the file removed) on every path out of here.
    match lines {
        Ok(lines) => Reply::json_lines(&lines),
        Err(e) => file_error(&name, e),
    }
}

/// The segments' answers and the summary.
fn timeline_lines(
    ctx: &Ctx<'_>,
    upload: &TempUpload,
    name: &str,
    min_confidence: Option<f64>,
) -> Result<Vec<String>, FileError> {
    let p = &ctx.model.predictor;
    let mut lines = Vec::new();
    let segs = file_timeline(p, upload.path(), ctx.cfg.segments, ctx.cfg.fold, |s| {
        lines.push(of_segment(name, s).json(p, min_confidence));
    })?;
    lines.push(of_summary(name, &segs).json(p, min_confidence));
    Ok(lines)
}

/// A file that could not be classified: 400 for audio that is not
/// audio (or is damaged), 500 for a fault of ours; the reason names the
/// upload, not the temporary file.
fn file_error(name: &str, e: FileError) -> Reply {
    let status = match e.source {
        PredictError::Decode(_) | PredictError::Features(_) | PredictError::Segments(_) => 400,
        _ => 500,
    };
    Reply::error(status, format!("{name}: {}", e.source))
}
