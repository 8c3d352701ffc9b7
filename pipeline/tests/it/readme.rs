//! The README's command lines stay true: every `ser …` line of its code
//! blocks parses (no exit 2, no panic), and the lines of "Use it on your
//! own audio" run as written against a trained demo store.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{ok, stderr, trained_store};

/// The README, read from the checkout.
fn readme() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One command line of a code block: its README line number and its words.
#[derive(Debug)]
struct Line {
    number: usize,
    text: String,
    words: Vec<String>,
}

/// Splits a shell line into words: single and double quotes, `\` line
/// continuations already joined; `None` while a quote is open.
fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// Every `ser …` command of the README's indented code blocks (after an
/// optional `$ ` prompt or a `… |` pipe), continuation lines joined.
fn ser_lines(readme: &str) -> Vec<Line> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let Some(code) = lines[i].strip_prefix("    ") else {
            i += 1;
            continue;
        };
        let mut text = code.trim().trim_start_matches("$ ").to_string();
        if let Some((_, right)) = text.split_once(" | ") {
            text = right.trim().to_string();
        }
        if !text.starts_with("ser ") {
            i += 1;
            continue;
        }
        // Continuations: a trailing `\`, or a quote still open.
        loop {
            if let Some(t) = text.strip_suffix('\\') {
                text = t.to_string();
            } else if shell_words(&text).is_some() {
                break;
            }
            i += 1;
            let next = lines
                .get(i)
                .unwrap_or_else(|| panic!("README:{number}: unterminated"));
            text.push(' ');
            text.push_str(next.trim());
        }
        let words = shell_words(&text).expect("balanced");
        out.push(Line {
            number,
            text,
            words,
        });
        i += 1;
    }
    out
}

fn ser_cmd(words: &[String], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ser"));
    cmd.args(&words[1..]).current_dir(cwd).stdin(Stdio::null());
    cmd
}

#[test]
fn readme_parser_finds_the_lines_it_should() {
    let lines = ser_lines(&readme());
    assert!(lines.len() >= 20, "only {} ser lines found", lines.len());
    // A multi-line quoted query and a `\` continuation are joined.
    assert!(
        lines
            .iter()
            .any(|l| l.words.get(1).is_some_and(|w| w == "query") && l.words.len() >= 3),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.text.contains("--fold") && l.text.contains("--threads")),
        "the job-array line is joined: {lines:?}"
    );
    assert_eq!(
        shell_words(r#"ser query "SELECT 1 # not a comment" --csv  # comment"#).unwrap(),
        ["ser", "query", "SELECT 1 # not a comment", "--csv"]
    );
}

/// Every `ser` line is a valid command line: run where there is no store
/// and no data, it may fail (exit 1: nothing to read) but never with a
/// usage error (exit 2) or a panic.
#[test]
fn readme_every_ser_line_is_a_valid_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = Vec::new();
    for line in ser_lines(&readme()) {
        let words: Vec<String> = line
            .words
            .iter()
            .map(|w| {
                if w == "RUN" {
                    "no-such-run".into()
                } else if w.starts_with('$') {
                    // A shell variable (a job array's task id, a core count).
                    "1".into()
                } else {
                    w.clone()
                }
            })
            .collect();
        let out = ser_cmd(&words, dir.path())
            .env_remove("SER_STORE")
            .output()
            .expect("run ser");
        let err = stderr(&out);
        if out.status.code() == Some(2)
            || out.status.code() == Some(101)
            || err.contains("panicked")
        {
            bad.push(format!(
                "README:{}: `{}` exited {:?}: {}",
                line.number,
                line.text,
                out.status.code(),
                err.trim()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(
        !dir.path().join("ser-store").exists(),
        "a README line created a store where it had nothing to read"
    );
}

/// espeak-ng speech, encoded by ffmpeg as `name` (format from the extension).
fn speech_file(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let wav = dir.join("espeak.wav");
    if !wav.exists() {
        let text =
            "I can't believe you did that again. This is the last time I tell you. ".repeat(3);
        run_tool("espeak-ng", &["-w", wav.to_str().unwrap(), &text]);
    }
    let out = dir.join(name);
    let secs = seconds.to_string();
    run_tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            wav.to_str().unwrap(),
            "-t",
            &secs,
            out.to_str().unwrap(),
        ],
    );
    out
}

fn run_tool(name: &str, args: &[&str]) {
    let st = Command::new(name).args(args).status().unwrap_or_else(|e| {
        panic!("{name} is needed by this test ({e}): apt-get install espeak-ng ffmpeg")
    });
    assert!(st.success(), "{name} {args:?} failed");
}

/// The section a new user starts from: its lines run as written (RUN
/// replaced by a trained run's name), in a folder whose `./ser-store` is
/// that run's store, on files of the names it uses.
#[test]
fn readme_use_it_on_your_own_audio_runs_as_written() {
    let readme = readme();
    let start = readme
        .find("## Use it on your own audio")
        .expect("the section");
    let end = start
        + readme[start..]
            .find("\n## ")
            .map_or(readme.len() - start, |e| e + 1);
    let section_first_line = readme[..start].lines().count() + 1;
    let section_last_line = readme[..end].lines().count();
    let (t, run) = trained_store(&["--window", "64"]);
    let cwd = t.path();
    std::os::unix::fs::symlink(t.store_path(), cwd.join("ser-store")).unwrap();
    // The model file the section builds first (`make model`), quickly.
    ok(&t.ser(&[
        "model",
        "build",
        "--out",
        cwd.join("ravdess.ser").to_str().unwrap(),
        "--epochs",
        "1",
        "--window",
        "64",
    ]));
    let mut ran = 0;
    for line in ser_lines(&readme)
        .into_iter()
        .filter(|l| (section_first_line..=section_last_line).contains(&l.number))
    {
        let words: Vec<String> = line
            .words
            .iter()
            .map(|w| if w == "RUN" { run.clone() } else { w.clone() })
            .collect();
        match words[1].as_str() {
            // Training is covered by the train tests (and the model file
            // is built above); the microphone is not on CI.
            "train" | "model" if words[2] != "show" => continue,
            "listen" if !words.iter().any(|w| w == "--stdin") => continue,
            _ => {}
        }
        let mut cmd = ser_cmd(&words, cwd);
        for w in &words[2..] {
            let is_audio = [".mp3", ".m4a", ".flac", ".ogg", ".wav"]
                .iter()
                .any(|x| w.ends_with(x));
            if is_audio && !cwd.join(w).exists() {
                speech_file(cwd, w, 12);
            }
        }
        let out = if words[1] == "listen" {
            // The README pipes raw PCM in (arecord); so does this test.
            let raw = speech_file(cwd, "speech.raw.wav", 8);
            let pcm = Command::new("ffmpeg")
                .args([
                    "-v",
                    "error",
                    "-i",
                    raw.to_str().unwrap(),
                    "-f",
                    "s16le",
                    "-ac",
                    "1",
                    "-ar",
                    "16000",
                    "-",
                ])
                .output()
                .expect("ffmpeg");
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&pcm.stdout).unwrap();
            child.wait_with_output().unwrap()
        } else {
            cmd.output().expect("run ser")
        };
        let stdout = ok(&out);
        assert!(
            !stdout.trim().is_empty(),
            "README:{}: no output",
            line.number
        );
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} lines of the section ran");
    assert!(
        cwd.join("timeline.parquet").exists(),
        "--out wrote its file"
    );
}
