//! The default microphone as a source for `ser listen` (cargo feature
//! `mic`; cpal over ALSA on Linux, which needs `libasound2-dev` to build).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::{ListenError, Session};
use crate::timeline::{Segment, SegmentConfig, Segmenter};
use crate::train::Predictor;

fn mix<T: Copy>(data: &[T], ch: usize, to_f32: impl Fn(T) -> f32) -> Vec<f32> {
    data.chunks_exact(ch.max(1))
        .map(|f| f.iter().map(|&v| to_f32(v)).sum::<f32>() / ch.max(1) as f32)
        .collect()
}

/// Runs `f` with standard error sent to /dev/null: ALSA prints its own
/// diagnostics while probing devices, and `ser` says what went wrong in
/// one line instead.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: dup/dup2/close on the process's own descriptors; stderr is
    // restored before returning.
    unsafe {
        let saved = libc::dup(2);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if saved >= 0 && null >= 0 {
            libc::dup2(null, 2);
        }
        let out = f();
        if saved >= 0 {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
        if null >= 0 {
            libc::close(null);
        }
        out
    }
}

/// Listens on the default input device until `stop` is set.
pub fn listen_mic(
    predictor: &Predictor,
    cfg: SegmentConfig,
    fold: Option<usize>,
    stop: &AtomicBool,
    mut on_segment: impl FnMut(&Segment),
) -> Result<Session, ListenError> {
    let mic = ListenError::Microphone;
    let (device, config) = quietly(|| {
        let device = cpal::default_host()
            .default_input_device()
            .ok_or("no capture device: this machine has no default microphone".to_string())?;
        let config = device
            .default_input_config()
            .map_err(|e| format!("no capture device (the default microphone: {e})"))?;
        Ok::<_, String>((device, config))
    })
    .map_err(mic)?;
    let rate = config.sample_rate().0;
    let ch = config.channels() as usize;
    let (tx, rx) = mpsc::channel::<Vec<f32>>();
    let on_err = |e: cpal::StreamError| eprintln!("microphone: {e}");
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => device.build_input_stream(
            &config.into(),
            move |d: &[f32], _: &_| {
                let _ = tx.send(mix(d, ch, |v| v));
            },
            on_err,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_input_stream(
            &config.into(),
            move |d: &[i16], _: &_| {
                let _ = tx.send(mix(d, ch, |v| v as f32 / 32768.0));
            },
            on_err,
            None,
        ),
        other => {
            return Err(mic(format!(
                "microphone sample format {other:?} is not read"
            )))
        }
    }
    .map_err(|e| mic(format!("cannot open the microphone: {e}")))?;
    stream
        .play()
        .map_err(|e| mic(format!("cannot start the microphone: {e}")))?;
    let mut seg = Segmenter::new(predictor, rate, cfg, fold)?;
    let mut session = Session::default();
    let mut frames = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => {
                frames += chunk.len() as u64;
                for s in seg.push(&chunk)? {
                    on_segment(&s);
                    session.segments.push(s);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stream);
    for s in seg.finish()? {
        on_segment(&s);
        session.segments.push(s);
    }
    session.seconds = frames as f64 / rate as f64;
    Ok(session)
}
