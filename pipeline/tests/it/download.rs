//! `ser download` and `ser verify` without the internet: a zip built here
//! from generated WAVs, served over HTTP on 127.0.0.1 by a small server
//! that can cut a connection halfway or fail.

use std::io::{Cursor, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use crate::util::{copy_from, ok, ravdess, stderr, write_tone, TestDir};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 200 with the whole body; 206 for a Range request.
    Normal,
    /// The first response announces the whole body and stops halfway.
    CutFirst,
    /// 500 for everything.
    Fail,
}

/// A loopback server for one body; stops after 8 connections or 60 s.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(body: Vec<u8>, mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "http://{}/files/corpus.zip?download=1",
        listener.local_addr().unwrap()
    );
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut served = 0;
        while served < 8 && t0.elapsed() < Duration::from_secs(60) {
            let (mut s, _) = match listener.accept() {
                Ok(c) => c,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
            };
            s.set_nonblocking(false).unwrap();
            let mut req = Vec::new();
            let mut byte = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                req.push(byte[0]);
            }
            let req = String::from_utf8_lossy(&req).to_string();
            let range = req
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("range: bytes=")
                        .map(str::to_string)
                })
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            log.lock().unwrap().push(req);
            let n = body.len();
            let _ = match (mode, range) {
                (Mode::Fail, _) => s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                (Mode::CutFirst, None) if served == 0 => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n");
                    s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body[..n / 2]))
                }
                (_, Some(from)) => {
                    let head = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{n}\r\nConnection: close\r\n\r\n",
                        n - from,
                        n - 1
                    );
                    s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body[from..]))
                }
                _ => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n");
                    s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body))
                }
            };
            served += 1;
        }
    });
    Server { url, requests }
}

/// A zip of the given entries (deflated).
fn make_zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// (entry name, bytes) pairs.
type Entries = Vec<(String, Vec<u8>)>;

/// Three small WAVs in the RAVDESS layout, their zip, and a checksum list.
fn corpus(t: &TestDir) -> (Entries, Vec<u8>, std::path::PathBuf) {
    let names = [
        "Actor_01/03-01-01-01-01-01-01.wav",
        "Actor_01/03-01-05-02-01-01-01.wav",
        "Actor_02/03-01-03-01-02-01-02.wav",
    ];
    let mut files = Vec::new();
    let mut sums = String::new();
    for (i, n) in names.iter().enumerate() {
        let p = t.path().join("src").join(n);
        write_tone(&p, 16000, 0.5 + i as f32 * 0.1, 200.0 + 50.0 * i as f32);
        let bytes = std::fs::read(&p).unwrap();
        sums.push_str(&format!(
            "{}  {n}\n",
            store::fingerprint::file_sha256(&p).unwrap()
        ));
        files.push((n.to_string(), bytes));
    }
    let zip = make_zip(
        &files
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect::<Vec<_>>(),
    );
    let sums_path = t.path().join("SUMS");
    std::fs::write(&sums_path, sums).unwrap();
    (files, zip, sums_path)
}

fn md5_hex(b: &[u8]) -> String {
    store::fingerprint::hex(&Md5::digest(b))
}

fn download(t: &TestDir, url: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "download",
        "--out",
        out.to_str().unwrap(),
        "--url",
        url,
        "--timeout-s",
        "10",
    ];
    args.extend_from_slice(extra);
    t.ser(&args)
}

#[test]
fn full_download_unpacks_verifies_and_is_not_repeated() {
    let t = TestDir::new();
    let (files, zip, sums) = corpus(&t);
    let server = serve(zip.clone(), Mode::Normal);
    let out = t.path().join("data");
    let md5 = md5_hex(&zip);
    let args = ["--md5", md5.as_str(), "--sums", sums.to_str().unwrap()];
    let stdout = ok(&download(&t, &server.url, &out, &args));
    assert!(stdout.contains("3 files written"), "{stdout}");
    assert!(
        stdout.contains("verify: 3 good, 0 missing, 0 modified, 0 extra"),
        "{stdout}"
    );
    for (n, bytes) in &files {
        assert_eq!(&std::fs::read(out.join(n)).unwrap(), bytes);
    }
    assert!(out.join("corpus.zip").is_file());
    // Again: the archive is there with the right MD5, so nothing is fetched.
    let stdout = ok(&download(&t, &server.url, &out, &args));
    assert!(
        stdout.contains("0 files written, 3 already present"),
        "{stdout}"
    );
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

#[test]
fn a_cut_connection_is_resumed_with_a_range_request() {
    let t = TestDir::new();
    let (_, zip, sums) = corpus(&t);
    let server = serve(zip.clone(), Mode::CutFirst);
    let out = t.path().join("data");
    let md5 = md5_hex(&zip);
    let args = ["--md5", md5.as_str(), "--sums", sums.to_str().unwrap()];
    let first = download(&t, &server.url, &out, &args);
    assert_eq!(first.status.code(), Some(1));
    let err = stderr(&first);
    assert!(
        err.contains("run again to resume") && err.lines().count() == 1,
        "{err}"
    );
    let part = out.join(".corpus.zip.part");
    let have = std::fs::metadata(&part).unwrap().len() as usize;
    assert!(
        have > 0 && have < zip.len(),
        "partial file holds {have} of {}",
        zip.len()
    );
    let stdout = ok(&download(&t, &server.url, &out, &args));
    assert!(stdout.contains("verify: 3 good"), "{stdout}");
    let reqs = server.requests.lock().unwrap();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs[1]
            .to_ascii_lowercase()
            .contains(&format!("range: bytes={have}-")),
        "{}",
        reqs[1]
    );
    assert!(!part.exists());
}

#[test]
fn corrupt_archives_and_md5_mismatches_are_clear_errors() {
    let t = TestDir::new();
    let (_, zip, sums) = corpus(&t);
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    let server = serve(garbage, Mode::Normal);
    let out = t.path().join("data");
    let r = download(&t, &server.url, &out, &["--sums", sums.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("not a valid zip archive"),
        "{}",
        stderr(&r)
    );
    assert!(pipeline::metadata::find_wavs(&out).unwrap().is_empty());

    let server = serve(zip, Mode::Normal);
    let out = t.path().join("data2");
    let wrong = "0".repeat(32);
    let r = download(&t, &server.url, &out, &["--md5", wrong.as_str()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("md5 mismatch"), "{}", stderr(&r));
    assert!(!out.join("corpus.zip").exists() && !out.join(".corpus.zip.part").exists());
}

#[test]
fn an_entry_leaving_the_folder_refuses_the_archive() {
    let t = TestDir::new();
    let (files, _, _) = corpus(&t);
    let zip = make_zip(&[
        ("Actor_01/03-01-01-01-01-01-01.wav", files[0].1.clone()),
        ("../evil.wav", files[1].1.clone()),
    ]);
    let server = serve(zip, Mode::Normal);
    let out = t.path().join("inner/data");
    let r = download(&t, &server.url, &out, &[]);
    assert_eq!(r.status.code(), Some(1));
    let err = stderr(&r);
    assert!(err.contains("refused: entry `../evil.wav`"), "{err}");
    assert!(!t.path().join("inner/evil.wav").exists());
    assert!(
        pipeline::metadata::find_wavs(&out).unwrap().is_empty(),
        "nothing unpacked"
    );
}

#[test]
fn server_errors_and_existing_different_files_are_reported() {
    let t = TestDir::new();
    let (files, zip, sums) = corpus(&t);
    let server = serve(Vec::new(), Mode::Fail);
    let r = download(&t, &server.url, &t.path().join("d"), &[]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("HTTP 500"), "{}", stderr(&r));

    // A file already there with other content is not overwritten.
    let out = t.path().join("data");
    let mine = out.join(&files[0].0);
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, b"my own file").unwrap();
    let server = serve(zip, Mode::Normal);
    let r = download(&t, &server.url, &out, &["--sums", sums.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("not overwritten"), "{}", stderr(&r));
    assert_eq!(std::fs::read(&mine).unwrap(), b"my own file");
    assert!(
        out.join(&files[1].0).is_file(),
        "the other files were unpacked"
    );
}

#[test]
fn verify_counts_good_missing_and_modified_files() {
    let Some(corpus) = ravdess("verify against the RAVDESS checksums") else {
        return;
    };
    let t = TestDir::new();
    let out = t.ser(&[
        "verify",
        "--data",
        corpus.to_str().unwrap(),
        "--allow-partial",
    ]);
    let stdout = ok(&out);
    assert!(stdout.trim_end().ends_with("verify: 480 good, 960 missing, 0 modified, 0 extra (missing allowed by --allow-partial)"), "{stdout}");
    assert_eq!(
        stdout.lines().count(),
        1,
        "missing files are counted, not listed, with --allow-partial"
    );
    let out = t.ser(&["verify", "--data", corpus.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(pipeline::EXIT_VERIFY_FAILED));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("missing "))
            .count(),
        960
    );

    // A copy re-saved at another rate is reported as modified, with how.
    let data = t.path().join("data");
    let files = copy_from(&corpus, &data, &[3], 2);
    write_tone(&files[0], 44100, 1.0, 220.0);
    std::fs::write(data.join("Actor_03/notes.wav"), b"x").unwrap();
    let out = t.ser(&[
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--allow-partial",
    ]);
    assert_eq!(out.status.code(), Some(pipeline::EXIT_VERIFY_FAILED));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(
        stdout.lines().any(|l| l.starts_with("modified")
            && l.contains(name)
            && l.contains("re-saved as 44100 Hz")),
        "{stdout}"
    );
    assert!(
        stdout.contains("extra") && stdout.contains("notes.wav"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verify: 1 good, 1438 missing, 1 modified, 1 extra"),
        "{stdout}"
    );
}
