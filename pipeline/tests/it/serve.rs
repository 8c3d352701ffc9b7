//! `ser serve`'s JSON API on loopback: the same answers as `ser predict`
//! and `ser listen`, the refusals (413, 400, 404, 405) with the server
//! going on, temporary files removed, Ctrl-C, a bounded load test and a
//! 30-minute upload in bounded memory.

use std::path::{Path, PathBuf};

use crate::model_file::built;
use crate::server::{get, post, request_with, Server};
use crate::util::*;

fn clip() -> PathBuf {
    let (t, _) = built();
    let mut clips: Vec<PathBuf> = files_under(&t.path().join("data/Actor_01"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    clips.sort();
    clips.remove(0)
}

fn model() -> &'static Path {
    &built().1
}

/// `ser predict --model M ARGS` as JSON lines.
fn predict_json(args: &[&str]) -> Vec<serde_json::Value> {
    let (t, file) = built();
    let mut all = vec!["predict", "--model", file.to_str().unwrap(), "--json"];
    all.extend(args);
    ok(&t.ser(&all))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A query value: the few characters a path may hold that a query may not.
fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('&', "%26")
        .replace('#', "%23")
}

#[test]
fn the_api_answers_as_ser_predict_does() {
    let s = Server::start(model(), &[]);
    let clip = clip();
    let name = clip.to_str().unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    let one = post(&s.addr, &format!("/api/predict?name={}", enc(name)), &bytes);
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.content_type, "application/x-ndjson");
    assert_eq!(one.json_lines(), predict_json(&[name]));
    let tl = post(
        &s.addr,
        &format!("/api/predict?timeline=1&name={}", enc(name)),
        &bytes,
    );
    assert_eq!(tl.status, 200, "{}", tl.text());
    let want = predict_json(&["--timeline", name]);
    assert!(want.len() >= 3, "several segments and a summary");
    assert_eq!(tl.json_lines(), want);
    // --min-confidence as a query parameter.
    let unsure = post(&s.addr, "/api/predict?min_confidence=1", &bytes);
    assert_eq!(unsure.json_lines()[0]["label"], "uncertain");
    assert_eq!(unsure.json_lines()[0]["file"], "upload");
    let card = get(&s.addr, "/api/model");
    assert_eq!(card.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&card.body).unwrap();
    assert_eq!(v["source"], "model file");
    assert_eq!(v["classes"].as_array().unwrap().len(), 8);
    assert!(v["estimate"]["uar"].is_number(), "{v}");
    assert!(v["data"]["licences"][0]
        .as_str()
        .unwrap()
        .contains("RAVDESS"));
    let page = get(&s.addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<script src=\"/app.js\">"));
}

#[test]
fn bad_requests_get_their_status_and_reason_and_the_server_goes_on() {
    let t = TestDir::new();
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // The server's temporary folder is this test's: every upload must be gone.
    let s = Server::start_with_env(model(), &["--max-upload-mb", "1"], &[("TMPDIR", &tmp)]);
    let clip = std::fs::read(clip()).unwrap();
    let junk = post(
        &s.addr,
        "/api/predict?name=notes.wav",
        b"hello, not audio\n",
    );
    assert_eq!(junk.status, 400);
    assert!(junk.error().starts_with("notes.wav: "), "{}", junk.error());
    assert!(
        junk.error().contains("not a valid WAV file"),
        "{}",
        junk.error()
    );
    let cut = post(&s.addr, "/api/predict?name=cut.wav", &clip[..40]);
    assert_eq!(cut.status, 400, "{}", cut.text());
    assert!(cut.error().starts_with("cut.wav: "), "{}", cut.error());
    let empty = post(&s.addr, "/api/predict", b"");
    assert_eq!(empty.status, 400);
    assert!(empty.error().contains("no body"), "{}", empty.error());
    let big = post(&s.addr, "/api/predict?name=big.wav", &vec![0u8; 3 << 20]);
    assert_eq!(big.status, 413, "{}", big.text());
    assert!(big.error().contains("1 MB"), "{}", big.error());
    for path in [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/app.js/../../Cargo.toml",
        "/src/serve/page/app.js",
        "/favicon.ico",
    ] {
        let r = get(&s.addr, path);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(!r.text().contains("root:"), "{path}");
    }
    assert_eq!(get(&s.addr, "/api/predict").status, 405);
    // Another site's page, or a DNS name rebound to this machine: 403.
    let addr = s.addr.as_str();
    let cross = request_with(
        addr,
        "POST",
        "/api/predict",
        &[("Host", addr), ("Origin", "http://evil.example")],
        &clip,
    );
    assert_eq!(cross.status, 403, "{}", cross.text());
    assert!(cross.error().contains("another site"), "{}", cross.error());
    let rebound = request_with(
        addr,
        "GET",
        "/api/model",
        &[("Host", "evil.example:8080")],
        b"",
    );
    assert_eq!(rebound.status, 403, "{}", rebound.text());
    let own = format!("http://{addr}");
    let same = request_with(
        addr,
        "GET",
        "/api/model",
        &[("Host", addr), ("Origin", &own)],
        b"",
    );
    assert_eq!(same.status, 200, "{}", same.text());
    let port = addr.rsplit(':').next().unwrap();
    let named = request_with(
        addr,
        "GET",
        "/",
        &[("Host", &format!("localhost:{port}"))],
        b"",
    );
    assert_eq!(named.status, 200);
    assert_eq!(post(&s.addr, "/api/live/nope", b"\0\0").status, 404);
    assert_eq!(post(&s.addr, "/api/live?rate=3", b"").status, 400);
    // Still serving, and nothing left in the temporary folder.
    let good = post(&s.addr, "/api/predict", &clip);
    assert_eq!(good.status, 200, "{}", good.text());
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "uploads left behind: {left:?}");
}

/// s16le mono bytes of a clip at its own rate.
fn pcm_of(clip: &Path) -> (Vec<u8>, u32) {
    let audio = pipeline::audio::read_audio(clip).unwrap();
    let mut bytes = Vec::new();
    for v in &audio.samples {
        let s = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    (bytes, audio.info.sample_rate)
}

#[test]
fn live_pcm_gives_the_segments_ser_listen_gives() {
    let s = Server::start(model(), &[]);
    let (pcm, rate) = pcm_of(&clip());
    let started = post(&s.addr, &format!("/api/live?rate={rate}"), b"");
    assert_eq!(started.status, 200, "{}", started.text());
    let v: serde_json::Value = serde_json::from_slice(&started.body).unwrap();
    let id = v["session"].as_str().unwrap().to_string();
    let mut got = Vec::new();
    for chunk in pcm.chunks(rate as usize) {
        let r = post(&s.addr, &format!("/api/live/{id}"), chunk);
        assert_eq!(r.status, 200, "{}", r.text());
        got.extend(r.json_lines());
    }
    let end = post(&s.addr, &format!("/api/live/{id}/end"), b"");
    assert_eq!(end.status, 200, "{}", end.text());
    got.extend(end.json_lines());
    assert_eq!(
        post(&s.addr, &format!("/api/live/{id}/end"), b"").status,
        404,
        "ended"
    );
    // `ser listen --stdin` on the same bytes.
    let (t, file) = built();
    let mut child = t
        .cmd(&[
            "listen",
            "--model",
            file.to_str().unwrap(),
            "--stdin",
            "--rate",
            &rate.to_string(),
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&pcm).unwrap();
    let out = child.wait_with_output().unwrap();
    let want: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("file");
        v
    };
    assert!(want.len() >= 3);
    assert_eq!(
        got.into_iter().map(strip).collect::<Vec<_>>(),
        want.into_iter().map(strip).collect::<Vec<_>>()
    );
}

#[test]
fn ctrl_c_stops_the_server_and_other_addresses_are_warned_about() {
    let mut s = Server::start(model(), &[]);
    let (status, err) = s.stop();
    assert!(status.success(), "{status:?}: {err}");
    assert!(err.contains("stopped"), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ser"))
        .args([
            "serve",
            "--model",
            model().to_str().unwrap(),
            "--addr",
            "not-an-address",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--addr"), "{}", stderr(&out));
    let mut open = Server::start_at(model(), "0.0.0.0:0");
    let (status, err) = open.stop();
    assert!(status.success());
    assert!(
        err.contains("warning") && err.contains("no authentication"),
        "{err}"
    );
}

/// Peak resident memory of a process, MB (Linux).
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

/// Mono 16-bit WAV of `seconds`: the test clip (taken down to 16 kHz)
/// every `every` seconds, silence between.
fn long_wav(path: &Path, seconds: usize, every: usize) {
    let audio = pipeline::audio::read_audio(&clip()).unwrap();
    let step = (audio.info.sample_rate / 16_000).max(1) as usize;
    let speech: Vec<i16> = audio
        .samples
        .iter()
        .step_by(step)
        .map(|v| (v * 32767.0) as i16)
        .collect();
    let mut y = vec![0i16; seconds * 16_000];
    let mut at = 16_000;
    while at + speech.len() < y.len() {
        y[at..at + speech.len()].copy_from_slice(&speech);
        at += every * 16_000;
    }
    pipeline::audio::write_wav_i16(path, &y, 16_000, 1).unwrap();
}

#[test]
fn two_hundred_requests_eight_at_a_time_are_all_answered_correctly() {
    let t = TestDir::new();
    let four = t.path().join("four.wav");
    long_wav(&four, 4, 100);
    let want = predict_json(&[four.to_str().unwrap()]);
    let body = std::fs::read(&four).unwrap();
    let s = Server::start(model(), &[]);
    let path = format!("/api/predict?name={}", enc(four.to_str().unwrap()));
    let mut ms: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..25)
                        .map(|_| {
                            let t = std::time::Instant::now();
                            let r = post(&s.addr, &path, &body);
                            let took = t.elapsed().as_secs_f64() * 1e3;
                            assert_eq!(r.status, 200, "{}", r.text());
                            assert_eq!(r.json_lines(), want);
                            took
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(ms.len(), 200);
    ms.sort_by(f64::total_cmp);
    // Reported, not asserted (timings belong to `make bench`).
    eprintln!(
        "200 requests, 8 at a time: p50 {:.0} ms, p99 {:.0} ms, peak RSS {:.0} MB",
        ms[99],
        ms[197],
        peak_rss_mb(s.pid())
    );
}

#[test]
fn a_thirty_minute_upload_is_classified_in_bounded_memory() {
    let t = TestDir::new();
    let long = t.path().join("thirty-minutes.wav");
    long_wav(&long, 30 * 60, 10);
    let size = std::fs::metadata(&long).unwrap().len();
    assert!(size > 57_000_000, "{size}");
    let s = Server::start(model(), &[]);
    let before = peak_rss_mb(s.pid());
    // Streamed from the file: the client does not hold it either.
    let r = crate::server::post_file(&s.addr, "/api/predict?timeline=1&name=long.wav", &long);
    assert_eq!(r.status, 200, "{}", r.text());
    let lines = r.json_lines();
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"], true);
    assert!(
        (summary["end_s"].as_f64().unwrap() - 1800.0).abs() < 1.0,
        "{summary}"
    );
    assert!(summary["voiced"].as_u64().unwrap() > 100, "{summary}");
    let peak = peak_rss_mb(s.pid());
    eprintln!("30-minute upload ({size} bytes): server peak RSS {before:.0} MB before, {peak:.0} MB after");
    // The file is 57.6 MB and 115 MB as f32: far below either, memory
    // holds one segment and the reply's lines.
    assert!(
        peak < before + 40.0,
        "peak RSS {peak:.0} MB (was {before:.0} MB)"
    );
}

#[test]
fn readme_curl_examples_run_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("## A web page: `ser serve`")
        .expect("the section");
    let end = start + readme[start..].find("\n## ").unwrap();
    let curls: Vec<&str> = readme[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.starts_with("curl "))
        .collect();
    assert!(curls.len() >= 3, "{curls:?}");
    let s = Server::start(model(), &[]);
    let t = TestDir::new();
    std::fs::copy(clip(), t.path().join("take.wav")).unwrap();
    for line in curls {
        let line = line.replace("127.0.0.1:8080", &s.addr);
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .current_dir(t.path())
            .output()
            .expect("sh and curl");
        let text = ok(&out);
        assert!(!text.trim().is_empty(), "{line}: no output");
        for l in text.lines() {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{line}: {e}: {l}"));
            assert!(v.get("error").is_none(), "{line}: {v}");
        }
    }
}

#[test]
fn a_run_is_served_with_its_config_as_the_card() {
    let (t, run) = trained_store(&["--window", "32"]);
    let store = t.store_path();
    let s = Server::spawn(
        &[
            "--store",
            store.to_str().unwrap(),
            "--run",
            &run,
            "--addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    let card: serde_json::Value = serde_json::from_slice(&get(&s.addr, "/api/model").body).unwrap();
    assert_eq!(card["source"], "run");
    assert_eq!(card["name"], run.as_str());
    assert!(card["estimate"].is_null());
    assert!(!card["classes"].as_array().unwrap().is_empty());
    let mut clips = files_under(&t.path().join("data/Actor_01"));
    clips.sort();
    let clip = clips.remove(0);
    let got = post(
        &s.addr,
        "/api/predict?timeline=1",
        &std::fs::read(&clip).unwrap(),
    );
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json_lines().last().unwrap()["run"], run.as_str());
}
