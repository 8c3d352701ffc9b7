//! The HTTP pieces `ser serve`'s handlers share: replies, the query
//! string, and request bodies read under the upload limit (into memory,
//! or into a temporary file that is always removed).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// A response: status, content type and body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Close the connection after this reply (a body left unread).
    pub close: bool,
}

impl Reply {
    /// A JSON value.
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply::bytes(status, "application/json", v.to_string().into_bytes())
    }

    /// JSON lines (one answer per line, as `ser predict --json` prints).
    pub fn json_lines(lines: &[String]) -> Reply {
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        Reply::bytes(200, "application/x-ndjson", body.into_bytes())
    }

    /// An error: `{"error": why}`.
    pub fn error(status: u16, why: impl Into<String>) -> Reply {
        Reply::json(status, &serde_json::json!({ "error": why.into() }))
    }

    /// Any bytes.
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            body,
            close: false,
        }
    }

    /// The tiny_http response.
    pub(super) fn into_response(self) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let header = |k: &str, v: &str| {
            tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("a valid header")
        };
        let mut r = tiny_http::Response::from_data(self.body)
            .with_status_code(self.status)
            .with_header(header("Content-Type", self.content_type))
            .with_header(header("Cache-Control", "no-store"))
            .with_header(header("X-Content-Type-Options", "nosniff"));
        if self.close {
            r = r.with_header(header("Connection", "close"));
        }
        r
    }
}

/// Refuses what a page of another site could send: a request whose
/// `Origin` is not this server, and, when the server listens on a
/// loopback address, one whose `Host` is not a loopback name (a DNS name
/// rebound to 127.0.0.1 would otherwise reach it).
pub fn same_origin(req: &tiny_http::Request, bound: &std::net::SocketAddr) -> Result<(), String> {
    let header = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let host = header("Host").unwrap_or_default();
    if bound.ip().is_loopback() && !is_loopback_host(&host) {
        return Err(format!(
            "host `{host}` is not this machine: open the page as http://127.0.0.1:PORT/ or http://localhost:PORT/"
        ));
    }
    if let Some(origin) = header("Origin") {
        let origin_host = origin
            .strip_prefix("http://")
            .unwrap_or(origin.as_str())
            .trim_end_matches('/');
        if !origin_host.eq_ignore_ascii_case(&host) {
            return Err(format!(
                "requests from another site's page ({origin}) are refused"
            ));
        }
    }
    Ok(())
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A parsed query string (`a=1&b=x`, percent-decoded).
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `s` (without the `?`).
    pub fn parse(s: &str) -> Query {
        Query(
            s.split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set to a true value (`1`, `true`, `yes`, or empty).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v, "" | "1" | "true" | "yes"))
    }
}

/// `%XX` and `+` decoded; invalid escapes kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// How much of a refused body is read and dropped before the reply, so
/// that the client (a browser still sending) reads the 413.
const DRAIN_LIMIT: u64 = 1 << 30;

/// The 413 for a body over `limit` bytes; the rest of the body is read
/// and dropped (up to 1 GiB) and the connection closed.
fn too_large(req: &mut tiny_http::Request, limit: u64) -> Reply {
    let _ = std::io::copy(&mut req.as_reader().take(DRAIN_LIMIT), &mut std::io::sink());
    let mut r = Reply::error(
        413,
        format!(
            "the body is over the limit of {} (ser serve --max-upload-mb)",
            human_bytes(limit)
        ),
    );
    r.close = true;
    r
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MB", b >> 20)
    } else {
        format!("{b} bytes")
    }
}

/// Reads the body into memory, at most `limit` bytes (else the 413).
pub fn body_in_memory(req: &mut tiny_http::Request, limit: u64) -> Result<Vec<u8>, Reply> {
    if req.body_length().is_some_and(|n| n as u64 > limit) {
        return Err(too_large(req, limit));
    }
    let mut body = Vec::new();
    let read = req
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| Reply::error(400, format!("reading the request body: {e}")))?;
    if read as u64 > limit {
        return Err(too_large(req, limit));
    }
    Ok(body)
}

/// An upload in a temporary file, removed when dropped.
pub struct TempUpload {
    path: PathBuf,
    /// Bytes written.
    pub len: u64,
}

impl TempUpload {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams the body into a new temporary file (named `ser-upload-…` in
/// the system's temporary folder, with `ext`), at most `limit` bytes.
pub fn body_to_temp_file(
    req: &mut tiny_http::Request,
    limit: u64,
    ext: &str,
) -> Result<TempUpload, Reply> {
    if req.body_length().is_some_and(|n| n as u64 > limit) {
        return Err(too_large(req, limit));
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "ser-upload-{}-{}.{ext}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Reply::error(500, format!("creating {}: {e}", path.display())))?;
    // From here on the guard removes the file, whatever happens.
    let mut upload = TempUpload { path, len: 0 };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let copied = std::io::copy(&mut req.as_reader().take(limit + 1), &mut w)
        .and_then(|n| w.flush().map(|_| n));
    match copied {
        Ok(n) if n > limit => Err(too_large(req, limit)),
        Ok(n) => {
            upload.len = n;
            Ok(upload)
        }
        Err(e) => Err(Reply::error(400, format!("reading the request body: {e}"))),
    }
}

/// A safe file extension for an upload named `name` (letters and digits,
/// at most 8), else `bin`; decoding looks at the content, not the name.
pub fn extension_of(name: &str) -> String {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map_or_else(|| "bin".to_string(), |e| e.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_split_and_percent_decoded() {
        let q = Query::parse("name=my%20take%2C%201.wav&timeline=1&x&bad=%zz%4");
        assert_eq!(q.get("name"), Some("my take, 1.wav"));
        assert!(q.flag("timeline"));
        assert!(q.flag("x"));
        assert!(!q.flag("missing"));
        assert_eq!(q.get("bad"), Some("%zz%4"));
    }

    #[test]
    fn loopback_host_names_are_told_apart() {
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:9000",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "192.168.1.2:8080",
            "",
            "[fe80::1]:80",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn only_plain_extensions_reach_the_temporary_name() {
        assert_eq!(extension_of("a.WAV"), "wav");
        assert_eq!(extension_of("x.tar/../../etc"), "bin");
        assert_eq!(extension_of("noext"), "bin");
        assert_eq!(extension_of("a.m4a"), "m4a");
    }
}
