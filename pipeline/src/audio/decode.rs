//! Any common audio file to mono `f32`: WAV through hound's bulk path
//! ([`super::wav`]), FLAC, MP3, Ogg/Vorbis and MP4/M4A (AAC) through
//! Symphonia, whole ([`read_audio`]) or packet by packet ([`AudioStream`],
//! flat memory for hour-long recordings). Channels are mixed down to their
//! mean, as for WAV.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::wav::{read_wav, read_wav_info, Audio, AudioError, SampleFormat, WavInfo};

/// File name extensions `ser` reads as audio (case-insensitive).
pub const AUDIO_EXTENSIONS: [&str; 8] = ["wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac"];

/// Whether `path` has one of [`AUDIO_EXTENSIONS`].
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

fn is_wav(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

fn sym_err(e: SymError) -> AudioError {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Malformed("the file ends in the middle of the audio".into())
        }
        SymError::IoError(io) => AudioError::Io(io),
        SymError::Unsupported(what) => AudioError::Unsupported(format!(
            "{what} (ser reads WAV, FLAC, MP3, Ogg/Vorbis and MP4/M4A with AAC)"
        )),
        SymError::DecodeError(what) => AudioError::Malformed(format!("cannot decode: {what}")),
        other => AudioError::Malformed(other.to_string()),
    }
}

/// An open audio file, decoded packet by packet.
pub struct AudioStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    /// What the container says (sample rate, channels, announced length).
    pub info: WavInfo,
    /// Codec name (`mp3`, `aac`, …), for messages.
    pub codec: String,
    decoded: u64,
}

impl AudioStream {
    /// Opens any file Symphonia reads (WAV included).
    pub fn open(path: &Path) -> Result<AudioStream, AudioError> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(AudioError::Empty);
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymError::Unsupported(_) => AudioError::Unsupported(
                    "not an audio file ser reads (WAV, FLAC, MP3, Ogg/Vorbis, MP4/M4A with AAC)"
                        .into(),
                ),
                other => sym_err(other),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::Malformed("no audio track".into()))?;
        let params = track.codec_params.clone();
        let codec = symphonia::default::get_codecs()
            .get_codec(params.codec)
            .map(|d| d.short_name.to_string())
            .unwrap_or_else(|| "unknown codec".into());
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => {
                    AudioError::Unsupported(format!("codec {codec} is not decoded by ser"))
                }
                other => sym_err(other),
            })?;
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| AudioError::Malformed(format!("{codec}: no sample rate")))?;
        let channels = params.channels.map(|c| c.count()).unwrap_or(1).max(1) as u16;
        let info = WavInfo {
            sample_rate,
            channels,
            bits_per_sample: params.bits_per_sample.unwrap_or(0) as u16,
            format: SampleFormat::Float,
            n_samples: params.n_frames.unwrap_or(0),
        };
        Ok(AudioStream {
            track: track.id,
            format,
            decoder,
            info,
            codec,
            decoded: 0,
        })
    }

    /// The next packet's samples, mixed to mono; `None` at the end. A file
    /// that ends well before the length its header announces is an error.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return self.end();
                }
                Err(SymError::ResetRequired) => return self.end(),
                Err(e) => return Err(sym_err(e)),
            };
            if packet.track_id() != self.track {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                // A damaged frame inside a lossy stream: skip it, as players do.
                Err(SymError::DecodeError(_)) => continue,
                Err(e) => return Err(sym_err(e)),
            };
            let spec = *decoded.spec();
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            buf.copy_interleaved_ref(decoded);
            let ch = spec.channels.count().max(1);
            let mono: Vec<f32> = if ch == 1 {
                buf.samples().to_vec()
            } else {
                buf.samples()
                    .chunks_exact(ch)
                    .map(|f| f.iter().sum::<f32>() / ch as f32)
                    .collect()
            };
            self.decoded += mono.len() as u64;
            return Ok(Some(mono));
        }
    }

    fn end(&self) -> Result<Option<Vec<f32>>, AudioError> {
        let announced = self.info.n_samples;
        // Lossy codecs may drop a frame of encoder delay; a real truncation
        // loses far more.
        if announced > 0 && self.decoded + self.info.sample_rate as u64 / 10 < announced {
            let rate = self.info.sample_rate as f64;
            return Err(AudioError::Malformed(format!(
                "truncated {}: the header announces {:.2} s, the file holds {:.2} s",
                self.codec,
                announced as f64 / rate,
                self.decoded as f64 / rate
            )));
        }
        if self.decoded == 0 {
            return Err(AudioError::Empty);
        }
        Ok(None)
    }
}

/// Decodes a whole audio file to mono `f32` at its own rate.
pub fn read_audio(path: &Path) -> Result<Audio, AudioError> {
    if is_wav(path) {
        return read_wav(path);
    }
    let mut stream = AudioStream::open(path)?;
    let mut samples = Vec::with_capacity(stream.info.n_samples.min(1 << 28) as usize);
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
    }
    let mut info = stream.info.clone();
    info.n_samples = samples.len() as u64;
    Ok(Audio { info, samples })
}

/// What an audio file's header says (WAV: checked against its size; other
/// formats: the container's parameters, decoded to count the samples when
/// the container does not say).
pub fn read_audio_info(path: &Path) -> Result<WavInfo, AudioError> {
    if is_wav(path) {
        return read_wav_info(path);
    }
    let mut stream = AudioStream::open(path)?;
    if stream.info.n_samples > 0 {
        return Ok(stream.info.clone());
    }
    let mut n = 0u64;
    while let Some(chunk) = stream.next_chunk()? {
        n += chunk.len() as u64;
    }
    let mut info = stream.info.clone();
    info.n_samples = n;
    Ok(info)
}
