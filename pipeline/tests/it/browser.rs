//! The page of `ser serve` in a real browser (headless Chromium over the
//! DevTools protocol, [`crate::cdp`]): it loads with no console errors,
//! an uploaded clip shows the timeline `ser predict --timeline --json`
//! gives, a bad file shows the server's reason, and a (fake) microphone
//! shows live labels and then the take's timeline. A screenshot of the
//! page after an upload is written (`SER_SCREENSHOT=FILE` keeps a copy).

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

use crate::cdp::Browser;
use crate::model_file::built;
use crate::server::{post, Server};
use crate::util::*;

/// One browser at a time: each is heavy on two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// The model the page serves: `SER_SERVE_MODEL` (to make the README's
/// screenshot with a real model) or the tests' small model file.
fn model() -> PathBuf {
    std::env::var_os("SER_SERVE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| built().1.clone())
}

/// A real RAVDESS clip (Actor_01, the first happy one), or a skip.
fn real_clip(test: &str) -> Option<PathBuf> {
    Some(actor_01(test, &["03-01-03"])?.remove(0))
}

/// Actor_01's first clip of each emotion code, in that order (`..` taken
/// out: Chromium refuses such paths with ERR_ACCESS_DENIED).
fn actor_01(test: &str, prefixes: &[&str]) -> Option<Vec<PathBuf>> {
    let dir = ravdess(test)?.join("Actor_01");
    let mut all = files_under(&dir);
    all.sort();
    Some(
        prefixes
            .iter()
            .map(|p| {
                let f = all
                    .iter()
                    .find(|f| f.file_name().unwrap().to_str().unwrap().starts_with(p));
                f.unwrap().canonicalize().unwrap()
            })
            .collect(),
    )
}

/// Four real clips one after another (neutral, happy, sad, angry), as one
/// 48 kHz WAV in `dir`.
fn four_emotions(test: &str, dir: &std::path::Path) -> Option<PathBuf> {
    let clips = actor_01(test, &["03-01-01", "03-01-03", "03-01-04", "03-01-05"])?;
    let mut y: Vec<i16> = Vec::new();
    for c in clips {
        let a = pipeline::audio::read_audio(&c).unwrap();
        assert_eq!(a.info.sample_rate, 48_000);
        y.extend(a.samples.iter().map(|v| (v * 32767.0).round() as i16));
    }
    let path = dir.join("four-emotions.wav");
    pipeline::audio::write_wav_i16(&path, &y, 48_000, 1).unwrap();
    Some(path)
}

fn open_page(extra: &[&str]) -> (Server, Browser) {
    let s = Server::start(&model(), &[]);
    let mut b = Browser::launch(extra);
    b.open(&s.url());
    b.wait_for("document.querySelector('#card-body dl') !== null", 60);
    (s, b)
}

fn predict_lines(args: &[&str]) -> Vec<Value> {
    let (t, _) = built();
    let m = model();
    let mut all = vec!["predict", "--model", m.to_str().unwrap()];
    all.extend(args);
    ok(&t.ser(&all))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn labels(b: &mut Browser, section: &str) -> Vec<String> {
    let v = b.eval(&format!(
        "[...document.querySelectorAll('{section} table.segments tbody tr')].map(r => r.dataset.label)"
    ));
    serde_json::from_value(v).unwrap()
}

/// Pixels of a canvas that are not transparent.
fn painted(b: &mut Browser, selector: &str) -> u64 {
    b.eval(&format!(
        "(() => {{ const c = document.querySelector('{selector}'); \
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }})()"
    ))
    .as_u64()
    .unwrap()
}

#[test]
fn the_page_loads_without_console_errors_and_shows_the_model_card() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_s, mut b) = open_page(&[]);
    let card = b.eval("document.querySelector('#card-body').textContent");
    let card = card.as_str().unwrap();
    for want in [
        "labels",
        "neutral, calm, happy",
        "estimate",
        "UAR",
        "licence",
        "RAVDESS",
    ] {
        assert!(card.contains(want), "`{want}` in the card: {card}");
    }
    let line = b.eval("document.querySelector('#model-line').textContent");
    assert!(line.as_str().unwrap().contains("model file"), "{line}");
    b.settle(500);
    assert!(b.errors.is_empty(), "console errors: {:?}", b.errors);
}

#[test]
fn an_uploaded_clip_shows_the_timeline_ser_predict_gives() {
    let t = TestDir::new();
    let Some(clip) = four_emotions(
        "an_uploaded_clip_shows_the_timeline_ser_predict_gives",
        t.path(),
    ) else {
        return;
    };
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_s, mut b) = open_page(&[]);
    b.choose_files("#files", &[&clip]);
    b.wait_for(
        "document.querySelector('section.result[data-state=done]')",
        120,
    );
    let want = predict_lines(&["--timeline", "--json", clip.to_str().unwrap()]);
    let (segs, summary) = want.split_at(want.len() - 1);
    let want_labels: Vec<String> = segs
        .iter()
        .map(|s| s["label"].as_str().unwrap().to_string())
        .collect();
    assert!(want_labels.len() >= 2, "{want_labels:?}");
    assert_eq!(labels(&mut b, "section.result"), want_labels);
    let overall = b.eval("document.querySelector('section.result .overall .label').textContent");
    assert_eq!(overall, summary[0]["label"]);
    assert!(
        painted(&mut b, "section.result canvas.timeline") > 5_000,
        "the timeline is drawn"
    );
    assert!(
        painted(&mut b, "section.result canvas.wave") > 5_000,
        "the waveform is drawn"
    );
    // The CSV download has `ser predict --timeline --csv`'s rows (the
    // file column aside: the page names the file, not its path).
    let csv = b.eval("csv(document.querySelector('section.result').rows.filter(r => !r.summary))");
    let cli = predict_lines_raw(&["--timeline", "--csv", clip.to_str().unwrap()]);
    let tail = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split_once(',').map_or(l, |x| x.1).to_string())
            .collect()
    };
    assert_eq!(tail(csv.as_str().unwrap()), tail(&cli));
    let png = b.screenshot();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "{} bytes", png.len());
    std::fs::write(t.path().join("serve.png"), &png).unwrap();
    if let Some(keep) = std::env::var_os("SER_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    // On a phone's width nothing runs off the side.
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    );
    b.eval("window.dispatchEvent(new Event('resize'))");
    let wide = b.eval("document.documentElement.scrollWidth");
    assert!(
        wide.as_u64().unwrap() <= 390,
        "the page is {wide} px wide on a 390-px phone"
    );
    if let Some(keep) = std::env::var_os("SER_SCREENSHOT_PHONE") {
        std::fs::write(keep, b.screenshot()).unwrap();
    }
    b.settle(300);
    assert!(b.errors.is_empty(), "console errors: {:?}", b.errors);
}

fn predict_lines_raw(args: &[&str]) -> String {
    let (t, _) = built();
    let m = model();
    let mut all = vec!["predict", "--model", m.to_str().unwrap()];
    all.extend(args);
    ok(&t.ser(&all))
}

#[test]
fn a_bad_file_shows_the_servers_reason() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (s, mut b) = open_page(&[]);
    let t = TestDir::new();
    let bad = t.path().join("notes.wav");
    std::fs::write(&bad, "these are notes, not audio\n").unwrap();
    let reason = post(
        &s.addr,
        "/api/predict?timeline=1&name=notes.wav",
        &std::fs::read(&bad).unwrap(),
    );
    assert_eq!(reason.status, 400);
    b.choose_files("#files", &[&bad]);
    b.wait_for(
        "document.querySelector('section.result[data-state=error]')",
        60,
    );
    let shown = b.eval("document.querySelector('section.result .error').textContent");
    assert_eq!(shown.as_str().unwrap(), reason.error());
}

#[test]
fn recording_from_a_fake_microphone_shows_live_labels_then_the_take() {
    let Some(clip) = real_clip("recording_from_a_fake_microphone_shows_live_labels_then_the_take")
    else {
        return;
    };
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let fake = format!("--use-file-for-fake-audio-capture={}", clip.display());
    let (_s, mut b) = open_page(&[
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        &fake,
    ]);
    b.eval("document.querySelector('#record').click()");
    // The clip starts with a second of silence: wait for speech.
    b.wait_for(
        "[...document.querySelectorAll('#live-rows li')].some(li => model.classes.includes(li.dataset.label))",
        90,
    );
    let live: Vec<String> = serde_json::from_value(
        b.eval("[...document.querySelectorAll('#live-rows li')].map(li => li.dataset.label)"),
    )
    .unwrap();
    let classes: Vec<String> = serde_json::from_value(b.eval("model.classes")).unwrap();
    assert!(
        live.iter().all(|l| classes.contains(l) || l == "silent"),
        "{live:?}"
    );
    assert!(
        live.iter().any(|l| classes.contains(l)),
        "speech is heard: {live:?}"
    );
    assert!(
        painted(&mut b, "#live-canvas") > 1_000,
        "the live view is drawn"
    );
    b.eval("document.querySelector('#stop').click()");
    b.wait_for(
        "[...document.querySelectorAll('section.result')].some(s => s.dataset.name.startsWith('recording-') && s.dataset.state === 'done')",
        90,
    );
    let state = b.eval("document.querySelector('#live-state').textContent");
    assert!(state.as_str().unwrap().starts_with("recorded "), "{state}");
    assert!(!labels(&mut b, "section.result").is_empty());
    b.settle(300);
    assert!(b.errors.is_empty(), "console errors: {:?}", b.errors);
}
