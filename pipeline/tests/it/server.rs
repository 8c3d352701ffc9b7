//! A `ser serve` process for tests, and a raw HTTP/1.1 client (any path,
//! any body, the status and body back; no normalising of paths).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `ser serve`; stopped (Ctrl-C) when dropped.
pub struct Server {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Server {
    /// `ser serve --model MODEL --addr 127.0.0.1:0 EXTRA…`, once it says
    /// where it listens.
    pub fn start(model: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(model, extra, &[])
    }

    /// [`Server::start`] with environment variables set for the server.
    pub fn start_with_env(model: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Server {
        let mut args = vec!["--addr", "127.0.0.1:0"];
        args.extend(extra);
        let model = model.to_str().unwrap();
        args.extend(["--model", model]);
        Server::spawn(&args, env)
    }

    /// `ser serve --model MODEL --addr ADDR`.
    pub fn start_at(model: &Path, addr: &str) -> Server {
        Server::spawn(&["--addr", addr, "--model", model.to_str().unwrap()], &[])
    }

    /// `ser serve ARGS` (they say which model and where), once it says
    /// where it listens.
    pub fn spawn(args: &[&str], env: &[(&str, &Path)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ser"))
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ser serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Server {
            child: Some(child),
            addr,
        }
    }

    /// `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Ctrl-C; the exit status and stderr.
    pub fn stop(&mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = wait_at_most(&mut child, Duration::from_secs(20));
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, err)
    }
}

fn wait_at_most(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("ser serve did not stop within {limit:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A reply: status and body.
pub struct Got {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Got {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body's JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// `{"error": …}`'s text.
    pub fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        v["error"].as_str().unwrap().to_string()
    }
}

/// `METHOD path` with `body` (Content-Length), `Connection: close`.
pub fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> Got {
    request_with(addr, method, path, &[("Host", addr)], body)
}

/// [`request`] with these headers (`Host` among them, or none).
pub fn request_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Got {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A refused body may be cut short by the server: keep what was sent.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

pub fn get(addr: &str, path: &str) -> Got {
    request(addr, "GET", path, b"")
}

pub fn post(addr: &str, path: &str, body: &[u8]) -> Got {
    request(addr, "POST", path, body)
}

fn parse(raw: &[u8]) -> Got {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let mut body = raw[split + 4..].to_vec();
    if header("Transfer-Encoding").eq_ignore_ascii_case("chunked") {
        body = dechunk(&body);
    }
    Got {
        status,
        content_type: header("Content-Type"),
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

/// `POST path` with a file's bytes streamed as the body.
pub fn post_file(addr: &str, path: &str, file: &std::path::Path) -> Got {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let len = std::fs::metadata(file).unwrap().len();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    std::io::copy(&mut std::fs::File::open(file).unwrap(), &mut s).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}
