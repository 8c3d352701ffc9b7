//! Audio readers on damaged files: the WAV reader (bulk path, hound path,
//! header check, streaming) and Symphonia's decoders behind `read_audio`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pipeline::audio::{
    decode_wav, read_audio, read_audio_info, read_wav, read_wav_info, Audio, AudioError,
    AudioStream,
};

use super::mutate::{below, input, pick};
use super::{fuzz, reason, show_bytes};

const PCM_GUID: [u8; 16] = [
    1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
];

/// A WAV file: `fmt ` (plain or WAVE_FORMAT_EXTENSIBLE), `extra` chunks, then `data`.
fn wav(tag: u16, ch: u16, rate: u32, bits: u16, data: &[u8], extra: &[u8], ext: bool) -> Vec<u8> {
    let align = ch * bits.div_ceil(8);
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&(if ext { 0xfffe } else { tag }).to_le_bytes());
    fmt.extend_from_slice(&ch.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * align as u32).to_le_bytes());
    fmt.extend_from_slice(&align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if ext {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&3u32.to_le_bytes());
        let mut guid = PCM_GUID;
        guid[0] = tag as u8;
        fmt.extend_from_slice(&guid);
    }
    let mut body = b"WAVE".to_vec();
    body.extend_from_slice(b"fmt ");
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(&fmt);
    body.extend_from_slice(extra);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// `n` samples of a tone at full scale, `bytes` wide, as little-endian PCM.
fn tone(n: usize, bytes: usize, float: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let x = (i as f64 * 0.3).sin();
        match (float, bytes) {
            (true, 4) => out.extend_from_slice(&(x as f32).to_le_bytes()),
            (true, _) => out.extend_from_slice(&x.to_le_bytes()),
            (false, 1) => out.push((128.0 + 127.0 * x) as u8),
            (false, b) => {
                let v = (x * ((1u64 << (8 * b - 1)) - 1) as f64) as i64;
                out.extend_from_slice(&v.to_le_bytes()[..b]);
            }
        }
    }
    out
}

/// Valid (and almost valid) WAV files of every layout the reader knows.
fn wav_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let list = b"LIST\x05\0\0\0abcde\0".to_vec(); // odd size, padded
        vec![
            wav(1, 1, 16000, 16, &tone(64, 2, false), &[], false),
            wav(1, 2, 8000, 8, &tone(64, 1, false), &[], false),
            wav(1, 1, 44100, 24, &tone(48, 3, false), &[], false),
            wav(1, 2, 48000, 32, &tone(64, 4, false), &[], false),
            wav(3, 1, 22050, 32, &tone(64, 4, true), &[], false),
            wav(3, 1, 22050, 64, &tone(32, 8, true), &[], false),
            wav(1, 2, 16000, 16, &tone(64, 2, false), &[], true),
            wav(3, 1, 16000, 32, &tone(64, 4, true), &[], true),
            wav(6, 1, 8000, 8, &tone(64, 1, false), &[], false),
            wav(1, 1, 16000, 16, &tone(64, 2, false), &list, false),
            wav(1, 1, 16000, 12, &tone(64, 2, false), &[], false),
            wav(1, 6, 96000, 16, &tone(60, 2, false), &[], false),
            {
                let mut w = wav(1, 1, 16000, 16, &tone(64, 2, false), &[], false);
                let n = w.len();
                w[n - 132..n - 128].copy_from_slice(&u32::MAX.to_le_bytes()); // data size
                w
            },
        ]
    })
}

/// Checks a decode: a reason if rejected; as many samples as announced if not.
fn audio(what: &str, r: Result<Audio, AudioError>) -> Result<(), String> {
    match r {
        Err(e) => reason(what, e),
        Ok(a) if a.samples.len() as u64 != a.info.n_samples => Err(format!(
            "{what}: {} samples decoded but info says {}",
            a.samples.len(),
            a.info.n_samples
        )),
        Ok(_) => Ok(()),
    }
}

/// Opens `path` as a stream and reads it to the end (at most 100k packets).
fn stream(path: &Path) -> Result<(), String> {
    let mut s = match AudioStream::open(path) {
        Ok(s) => s,
        Err(e) => return reason("AudioStream::open", e),
    };
    for _ in 0..100_000 {
        match s.next_chunk() {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(()),
            Err(e) => return reason("AudioStream::next_chunk", e),
        }
    }
    Err("AudioStream: more than 100000 packets from a small file".into())
}

fn temp_file(ext: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("clip.{ext}"));
    (dir, path)
}

#[test]
fn wav_reader() {
    let (_dir, path) = temp_file("wav");
    fuzz(
        "audio::wav_reader",
        |r| input(r, wav_seeds(), b"RIFFWAVEfmt data\0\xff", 1 << 16),
        |b| show_bytes(b),
        |b| {
            std::fs::write(&path, b).map_err(|e| e.to_string())?;
            audio("decode_wav", decode_wav(std::io::Cursor::new(b.as_slice())))?;
            audio("read_wav", read_wav(&path))?;
            audio("read_audio", read_audio(&path))?;
            if let Err(e) = read_wav_info(&path) {
                reason("read_wav_info", e)?;
            }
            if let Err(e) = read_audio_info(&path) {
                reason("read_audio_info", e)?;
            }
            stream(&path)
        },
    );
}

/// Short real encodings (when ffmpeg is installed) and bare container
/// headers, by file extension.
fn coded_seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out: Vec<(String, Vec<u8>)> = [
            ("flac", &b"fLaC\0\0\0\x22"[..]),
            ("mp3", b"ID3\x03\0\0\0\0\0\x0a"),
            ("mp3", b"\xff\xfb\x90\x64\0\0\0\0"),
            ("ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0"),
            ("m4a", b"\0\0\0\x20ftypM4A \0\0\0\0"),
            ("aac", b"\xff\xf1\x50\x80\x02\x1f\xfc"),
        ]
        .iter()
        .map(|(e, b)| (e.to_string(), b.to_vec()))
        .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("tone.wav");
        std::fs::write(
            &src,
            wav(1, 1, 16000, 16, &tone(4800, 2, false), &[], false),
        )
        .unwrap();
        for (ext, codec) in [
            ("flac", "flac"),
            ("mp3", "libmp3lame"),
            ("ogg", "libvorbis"),
            ("m4a", "aac"),
            ("ogg", "libopus"),
        ] {
            let dst = dir.path().join(format!("tone-{codec}.{ext}"));
            let ran = std::process::Command::new("ffmpeg")
                .args(["-y", "-loglevel", "error", "-i"])
                .arg(&src)
                .args(["-c:a", codec])
                .arg(&dst)
                .output();
            if let (Ok(o), Ok(b)) = (ran, std::fs::read(&dst)) {
                if o.status.success() {
                    out.push((ext.to_string(), b));
                }
            }
        }
        out
    })
}

/// The bytes of [`coded_seeds`].
fn coded_bytes() -> &'static [Vec<u8>] {
    static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| coded_seeds().iter().map(|(_, b)| b.clone()).collect())
}

#[test]
fn audio_decoder() {
    let dir = tempfile::tempdir().expect("temp dir");
    fuzz(
        "audio::audio_decoder",
        |r| {
            let (ext, _) = pick(r, coded_seeds());
            let ext = if below(r, 8) == 0 {
                pick(r, &["flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac"]).to_string()
            } else {
                ext.clone()
            };
            (ext, input(r, coded_bytes(), b"\0\xff", 1 << 16))
        },
        |(ext, b)| format!(".{ext}, {}", show_bytes(b)),
        |(ext, b)| {
            let path = dir.path().join(format!("clip.{ext}"));
            std::fs::write(&path, b).map_err(|e| e.to_string())?;
            audio("read_audio", read_audio(&path))?;
            if let Err(e) = read_audio_info(&path) {
                reason("read_audio_info", e)?;
            }
            stream(&path)
        },
    );
}
