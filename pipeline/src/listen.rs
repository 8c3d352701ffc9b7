//! `ser listen`: a rolling emotion timeline of live audio. Raw s16le PCM
//! comes from any reader (standard input: `arecord … - | ser listen
//! --stdin`), or from the default microphone with the cargo feature `mic`
//! (module `mic`); either way the samples go through the same [`Segmenter`] as
//! `ser predict --timeline`, so a recording played in gives the labels the
//! file gives.

use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::PredictError;
use crate::timeline::{Segment, SegmentConfig, Segmenter};
use crate::train::Predictor;

/// What ends a listening session with an error.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The PCM's rate or channel count is out of range.
    #[error("{0}")]
    Format(String),
    /// Reading the input failed.
    #[error("reading the audio input: {0}")]
    Input(std::io::Error),
    /// The input ended before any audio came.
    #[error("no audio on the input (expected raw s16le PCM)")]
    NoAudio,
    /// The microphone could not be found, opened or started.
    #[error("{0}")]
    Microphone(String),
    /// A segment could not be classified.
    #[error(transparent)]
    Predict(#[from] PredictError),
}

/// The layout of raw PCM: signed 16-bit little-endian, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    /// Samples per second per channel.
    pub rate: u32,
    /// Channels (mixed down to their mean).
    pub channels: u16,
}

impl PcmFormat {
    /// Checks the rate and channels against [`crate::bounds`] (4 kHz to
    /// 384 kHz, 1 to 32 channels).
    pub fn validate(&self) -> Result<(), String> {
        let (rate, channels) = (crate::bounds::SAMPLE_RATE, crate::bounds::CHANNELS);
        if !rate.contains(self.rate) {
            return Err(format!(
                "--rate must be {}, got {}",
                rate.range(),
                self.rate
            ));
        }
        if !channels.contains(self.channels) {
            return Err(format!(
                "--channels must be {}, got {}",
                channels.range(),
                self.channels
            ));
        }
        Ok(())
    }
}

/// What a listening session heard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// Seconds of audio read.
    pub seconds: f64,
    /// Every segment, in order.
    pub segments: Vec<Segment>,
}

/// Converts interleaved s16le bytes (whole frames) to mono `f32`.
pub fn s16le_to_mono(bytes: &[u8], channels: usize) -> Vec<f32> {
    let ch = channels.max(1);
    bytes
        .chunks_exact(2 * ch)
        .map(|frame| {
            frame
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                .sum::<f32>()
                / ch as f32
        })
        .collect()
}

/// Reads s16le PCM from `input` until it ends or `stop` is set, and feeds
/// the segmenter; `on_segment` sees each segment as it is classified.
/// Nothing at all on the input is an error.
pub fn listen_pcm(
    predictor: &Predictor,
    mut input: impl Read,
    fmt: PcmFormat,
    cfg: SegmentConfig,
    fold: Option<usize>,
    stop: &AtomicBool,
    mut on_segment: impl FnMut(&Segment),
) -> Result<Session, ListenError> {
    fmt.validate().map_err(ListenError::Format)?;
    let mut seg = Segmenter::new(predictor, fmt.rate, cfg, fold)?;
    let frame = 2 * fmt.channels as usize;
    let mut buf = vec![0u8; 4096 * frame];
    let mut pending: Vec<u8> = Vec::new();
    let mut session = Session::default();
    let mut frames = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(ListenError::Input(e)),
        };
        pending.extend_from_slice(&buf[..n]);
        let whole = pending.len() / frame * frame;
        let mono = s16le_to_mono(&pending[..whole], fmt.channels as usize);
        pending.drain(..whole);
        frames += mono.len() as u64;
        for s in seg.push(&mono)? {
            on_segment(&s);
            session.segments.push(s);
        }
    }
    if frames == 0 {
        return Err(ListenError::NoAudio);
    }
    for s in seg.finish()? {
        on_segment(&s);
        session.segments.push(s);
    }
    session.seconds = frames as f64 / fmt.rate as f64;
    Ok(session)
}

/// Sets `flag` on SIGINT (Ctrl-C) without restarting the interrupted read,
/// so a blocked read returns and the session ends cleanly with its summary.
#[cfg(unix)]
pub fn stop_on_ctrl_c(flag: &'static AtomicBool) {
    static FLAG: std::sync::OnceLock<&'static AtomicBool> = std::sync::OnceLock::new();
    let _ = FLAG.set(flag);
    extern "C" fn on_sigint(_: libc::c_int) {
        if let Some(f) = FLAG.get() {
            f.store(true, Ordering::Relaxed);
        }
    }
    // SAFETY: the handler only stores to an atomic (async-signal-safe);
    // sigaction is given a zeroed, then filled, struct.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: the blocked read returns EINTR
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// Without Unix signals, Ctrl-C ends the process as usual.
#[cfg(not(unix))]
pub fn stop_on_ctrl_c(_flag: &'static AtomicBool) {}

#[cfg(feature = "mic")]
pub mod mic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_s16le_is_mixed_to_the_mean() {
        let mut b = Vec::new();
        for (l, r) in [(16384i16, -16384i16), (32767, 32767), (-32768, 0)] {
            b.extend_from_slice(&l.to_le_bytes());
            b.extend_from_slice(&r.to_le_bytes());
        }
        b.push(7); // half a frame: ignored
        let y = s16le_to_mono(&b, 2);
        assert_eq!(y.len(), 3);
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 32767.0 / 32768.0).abs() < 1e-6);
        assert_eq!(y[2], -0.5);
    }

    #[test]
    fn bad_rates_and_channel_counts_are_refused() {
        assert!(PcmFormat {
            rate: 0,
            channels: 1
        }
        .validate()
        .is_err());
        assert!(PcmFormat {
            rate: 16000,
            channels: 0
        }
        .validate()
        .is_err());
        PcmFormat {
            rate: 16000,
            channels: 2,
        }
        .validate()
        .unwrap();
    }
}
