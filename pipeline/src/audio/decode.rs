//! Any common audio file to mono `f32`: WAV through hound's bulk path
//! ([`super::wav`]), FLAC, MP3, Ogg/Vorbis and MP4/M4A (AAC) through
//! Symphonia, whole ([`read_audio`]) or packet by packet ([`AudioStream`],
//! flat memory for hour-long recordings). Channels are mixed down to their
//! mean, as for WAV.
//!
//! The format is told from the first bytes (`Container`), not the name;
//! a folder, a format or codec not decoded here (AIFF, Opus, …) and a
//! damaged file are errors that name it, and NaN or infinite samples are
//! [`AudioError::NonFinite`]. A panic inside Symphonia (seen on damaged
//! files) is an error too, and MP4 boxes are checked before Symphonia
//! allocates what they announce (`audio/mp4.rs`).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecType, Decoder, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64LE,
};
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

/// What ser reads, for messages.
const READS: &str = "ser reads WAV, FLAC, MP3, Ogg/Vorbis and MP4/M4A with AAC";

/// What a file's first bytes say it is (the extension is only a hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// RIFF/WAVE (also RIFX and RF64, which hound rejects by name).
    Wav,
    /// FLAC.
    Flac,
    /// MPEG audio (an ID3 tag or a frame sync).
    Mp3,
    /// Ogg (Vorbis, Opus, FLAC inside).
    Ogg,
    /// ISO base media (MP4, M4A).
    Mp4,
    /// Raw AAC in ADTS frames.
    Adts,
    /// A known format no decoder here reads (its name).
    Other(&'static str),
    /// Not recognised.
    Unknown,
}

impl Container {
    /// Detects the container from the first bytes of a file.
    pub(crate) fn of(h: &[u8]) -> Container {
        let at = |i: usize, m: &[u8]| h.get(i..i + m.len()) == Some(m);
        let sync = |mask: u8, want: u8| h.len() >= 2 && h[0] == 0xff && h[1] & mask == want;
        if (at(0, b"RIFF") || at(0, b"RIFX") || at(0, b"RF64")) && at(8, b"WAVE") {
            Container::Wav
        } else if at(0, b"fLaC") {
            Container::Flac
        } else if at(0, b"OggS") {
            Container::Ogg
        } else if at(4, b"ftyp") {
            Container::Mp4
        } else if at(0, b"ID3") {
            Container::Mp3
        } else if sync(0xf6, 0xf0) {
            Container::Adts
        } else if sync(0xe0, 0xe0) {
            Container::Mp3
        } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
            Container::Other("AIFF")
        } else if at(0, b"caff") {
            Container::Other("CAF (Core Audio)")
        } else if at(0, &[0x30, 0x26, 0xb2, 0x75]) {
            Container::Other("WMA (ASF)")
        } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
            Container::Other("Matroska/WebM")
        } else if at(0, b"#!AMR") {
            Container::Other("AMR")
        } else if at(0, b"wvpk") {
            Container::Other("WavPack")
        } else if at(0, b"MAC ") {
            Container::Other("Monkey's Audio")
        } else if at(0, b".snd") {
            Container::Other("Sun/NeXT AU")
        } else if at(0, b"MThd") {
            Container::Other("MIDI (notes, not audio)")
        } else {
            Container::Unknown
        }
    }

    /// The format's name in messages (`ext`: the file's extension, for
    /// content that is not recognised).
    fn name(self, ext: Option<&str>) -> String {
        match self {
            Container::Wav => "WAV".into(),
            Container::Flac => "FLAC".into(),
            Container::Mp3 => "MP3".into(),
            Container::Ogg => "Ogg".into(),
            Container::Mp4 => "MP4/M4A".into(),
            Container::Adts => "AAC".into(),
            Container::Other(n) => n.into(),
            Container::Unknown => match ext {
                Some(e) if !e.is_empty() => e.to_ascii_uppercase(),
                _ => "audio".into(),
            },
        }
    }
}

/// Opens `path` and detects its container: a folder, or a format no
/// decoder here reads, is an error naming it.
pub(crate) fn sniff(path: &Path) -> Result<Container, AudioError> {
    let mut file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(AudioError::Folder);
    }
    let mut head = [0u8; 12];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let c = Container::of(&head[..n]);
    if let Container::Other(name) = c {
        return Err(AudioError::NotSupported(format!(
            "{name} files are not supported ({READS}): convert it, e.g. `ffmpeg -i FILE out.wav`"
        )));
    }
    Ok(c)
}

/// The name of a codec Symphonia may find in a container, decoded here or not.
fn codec_name(c: CodecType) -> String {
    use symphonia::core::codecs::*;
    let name = match c {
        CODEC_TYPE_OPUS => "Opus",
        CODEC_TYPE_SPEEX => "Speex",
        CODEC_TYPE_ALAC => "ALAC (Apple Lossless)",
        CODEC_TYPE_WAVPACK => "WavPack",
        CODEC_TYPE_MONKEYS_AUDIO => "Monkey's Audio",
        CODEC_TYPE_TTA => "TTA",
        CODEC_TYPE_EAC3 => "E-AC-3",
        CODEC_TYPE_AC4 => "AC-4",
        CODEC_TYPE_DCA => "DTS",
        CODEC_TYPE_WMA => "WMA",
        CODEC_TYPE_MP1 => "MPEG-1 Layer I",
        CODEC_TYPE_MP2 => "MPEG Layer II (MP2)",
        CODEC_TYPE_MUSEPACK => "Musepack",
        CODEC_TYPE_ATRAC1 | CODEC_TYPE_ATRAC3 | CODEC_TYPE_ATRAC3PLUS | CODEC_TYPE_ATRAC9 => {
            "ATRAC"
        }
        CODEC_TYPE_ADPCM_G722
        | CODEC_TYPE_ADPCM_G726
        | CODEC_TYPE_ADPCM_G726LE
        | CODEC_TYPE_ADPCM_MS
        | CODEC_TYPE_ADPCM_IMA_WAV
        | CODEC_TYPE_ADPCM_IMA_QT => "ADPCM",
        CODEC_TYPE_PCM_ALAW => "A-law PCM",
        CODEC_TYPE_PCM_MULAW => "mu-law PCM",
        CODEC_TYPE_FLAC => "FLAC",
        CODEC_TYPE_VORBIS => "Vorbis",
        CODEC_TYPE_MP3 => "MP3",
        CODEC_TYPE_AAC => "AAC",
        other => {
            return symphonia::default::get_codecs()
                .get_codec(other)
                .map(|d| d.short_name.to_string())
                .unwrap_or_else(|| format!("codec {other}"))
        }
    };
    name.into()
}

/// A Symphonia error on a file of `format`, as one line.
fn sym_err(e: SymError, format: &str) -> AudioError {
    let damaged = |why: String| AudioError::Damaged {
        format: format.to_string(),
        why,
    };
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            damaged("the file ends in the middle of the audio".into())
        }
        SymError::IoError(io) => AudioError::Io(io),
        SymError::Unsupported(what) => {
            AudioError::NotSupported(format!("{format}: {what} is not supported ({READS})"))
        }
        SymError::DecodeError(what) => damaged(format!("cannot decode: {what}")),
        other => damaged(other.to_string()),
    }
}

/// Runs Symphonia code: a panic inside it (seen on damaged files) is a
/// reject with the reason, not the end of the program.
fn guarded<T>(format: &str, f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    crate::panic_guard::catch(f).unwrap_or_else(|why| {
        Err(AudioError::Damaged {
            format: format.to_string(),
            why: format!("the decoder failed ({why})"),
        })
    })
}

/// Counts NaN and infinite samples: an error naming how many and where
/// the first is (`offset` samples already seen, at `rate` Hz).
pub(crate) fn check_finite(samples: &[f32], offset: u64, rate: u32) -> Result<(), AudioError> {
    let Some(first) = samples.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let count = samples[first..].iter().filter(|v| !v.is_finite()).count() as u64;
    Err(AudioError::NonFinite {
        count,
        first_s: (offset + first as u64) as f64 / rate.max(1) as f64,
    })
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
    /// The container's name (`FLAC`, `MP3`, …), for messages.
    container: String,
    decoded: u64,
}

impl AudioStream {
    /// Opens any file Symphonia reads (WAV included). A folder, a format
    /// or codec that is not decoded here, or a damaged file is an error
    /// that names it.
    pub fn open(path: &Path) -> Result<AudioStream, AudioError> {
        let container = sniff(path)?;
        let ext = path.extension().and_then(|e| e.to_str());
        let name = container.name(ext);
        if container == Container::Mp4 {
            // Symphonia would allocate what a damaged table announces.
            super::mp4::check(path).map_err(|why| AudioError::Damaged {
                format: name.clone(),
                why,
            })?;
        }
        guarded(&name, || Self::open_as(path, ext, name.clone()))
    }

    fn open_as(path: &Path, ext: Option<&str>, name: String) -> Result<AudioStream, AudioError> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(AudioError::Empty);
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
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
                SymError::Unsupported(_) => {
                    AudioError::NotSupported(format!("not an audio file ser reads ({READS})"))
                }
                other => sym_err(other, &name),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::Damaged {
                format: name.clone(),
                why: "no audio track".into(),
            })?;
        let params = track.codec_params.clone();
        let codec = codec_name(params.codec);
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => AudioError::NotSupported(format!(
                    "{codec} is not supported ({name} file; ser decodes PCM, FLAC, MP3, Vorbis and AAC): convert it, e.g. `ffmpeg -i FILE -c:a flac out.flac`"
                )),
                other => sym_err(other, &name),
            })?;
        let sample_rate =
            params
                .sample_rate
                .filter(|&r| r > 0)
                .ok_or_else(|| AudioError::Damaged {
                    format: name.clone(),
                    why: format!("{codec}: no sample rate"),
                })?;
        let channels = params.channels.map(|c| c.count()).unwrap_or(1).max(1) as u16;
        let info = WavInfo {
            sample_rate,
            channels,
            bits_per_sample: params.bits_per_sample.unwrap_or(match params.codec {
                // Symphonia's WAV reader leaves the width of float samples out.
                CODEC_TYPE_PCM_F64LE => 64,
                CODEC_TYPE_PCM_F32LE => 32,
                _ => 0,
            }) as u16,
            format: SampleFormat::Float,
            n_samples: params.n_frames.unwrap_or(0),
        };
        Ok(AudioStream {
            track: track.id,
            format,
            decoder,
            info,
            codec,
            container: name,
            decoded: 0,
        })
    }

    /// The next packet's samples, mixed to mono; `None` at the end. A file
    /// that ends well before the length its header announces, or a packet
    /// holding NaN or infinite samples, is an error.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let name = self.container.clone();
        guarded(&name, || self.next_chunk_inner())
    }

    fn next_chunk_inner(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return self.end();
                }
                Err(SymError::ResetRequired) => return self.end(),
                Err(e) => return Err(sym_err(e, &self.container)),
            };
            if packet.track_id() != self.track {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                // A damaged frame inside a lossy stream: skip it, as players do.
                Err(SymError::DecodeError(_)) => continue,
                Err(e) => return Err(sym_err(e, &self.container)),
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
            check_finite(&mono, self.decoded, self.info.sample_rate)?;
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
            return Err(AudioError::Damaged {
                format: self.container.clone(),
                why: format!(
                    "truncated {}: the header announces {:.2} s, the file holds {:.2} s",
                    self.codec,
                    announced as f64 / rate,
                    self.decoded as f64 / rate
                ),
            });
        }
        if self.decoded == 0 {
            return Err(AudioError::Empty);
        }
        Ok(None)
    }
}

/// Decodes a whole file with Symphonia to mono `f32` at its own rate.
pub(crate) fn read_stream(path: &Path) -> Result<Audio, AudioError> {
    let mut stream = AudioStream::open(path)?;
    let mut samples = Vec::with_capacity(stream.info.n_samples.min(1 << 28) as usize);
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
    }
    let mut info = stream.info.clone();
    info.n_samples = samples.len() as u64;
    Ok(Audio { info, samples })
}

/// Whether the file is read by the WAV reader: its content is RIFF/WAVE,
/// or unrecognised under a `.wav` name (the WAV reader then says why).
fn wav_reader_reads(c: Container, path: &Path) -> bool {
    c == Container::Wav || (c == Container::Unknown && is_wav(path))
}

/// Decodes a whole audio file to mono `f32` at its own rate. The format is
/// detected from the content (a FLAC file named `.wav` is read as FLAC).
/// NaN or infinite samples are an error ([`AudioError::NonFinite`]).
pub fn read_audio(path: &Path) -> Result<Audio, AudioError> {
    let audio = if wav_reader_reads(sniff(path)?, path) {
        read_wav(path)?
    } else {
        read_stream(path)?
    };
    check_finite(&audio.samples, 0, audio.info.sample_rate)?;
    Ok(audio)
}

/// What an audio file's header says (WAV: checked against its size; other
/// formats: the container's parameters, decoded to count the samples when
/// the container does not say).
pub fn read_audio_info(path: &Path) -> Result<WavInfo, AudioError> {
    if wav_reader_reads(sniff(path)?, path) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_by_their_first_bytes() {
        assert_eq!(Container::of(b"RIFF\0\0\0\0WAVEfmt "), Container::Wav);
        assert_eq!(Container::of(b"fLaC\0\0\0\x22"), Container::Flac);
        assert_eq!(Container::of(b"ID3\x03"), Container::Mp3);
        assert_eq!(Container::of(b"\xff\xfb\x90\x64"), Container::Mp3);
        assert_eq!(Container::of(b"\xff\xf1\x50\x80"), Container::Adts);
        assert_eq!(Container::of(b"OggS\0\x02"), Container::Ogg);
        assert_eq!(Container::of(b"\0\0\0\x20ftypM4A "), Container::Mp4);
        assert_eq!(Container::of(b"FORM\0\0\0\0AIFF"), Container::Other("AIFF"));
        assert_eq!(Container::of(b""), Container::Unknown);
        assert_eq!(Container::of(b"hello"), Container::Unknown);
    }

    #[test]
    fn a_folder_and_an_unsupported_format_say_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("clip.wav");
        std::fs::create_dir(&folder).unwrap();
        let e = read_audio(&folder).unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
        let aiff = dir.path().join("clip.aiff");
        std::fs::write(&aiff, b"FORM\0\0\0\x20AIFFCOMM").unwrap();
        let e = read_audio_info(&aiff).unwrap_err().to_string();
        assert!(e.contains("AIFF files are not supported"), "{e}");
        assert!(!e.contains("not a valid WAV"), "{e}");
    }

    #[test]
    fn non_finite_samples_are_counted_and_placed() {
        assert!(check_finite(&[0.0, 1.0, -1.0], 0, 10).is_ok());
        let e = check_finite(&[0.0, f32::NAN, 1.0, f32::INFINITY], 10, 10).unwrap_err();
        assert!(matches!(e, AudioError::NonFinite { count: 2, .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with("2 non-finite samples (NaN/Inf)"), "{msg}");
        assert!(msg.contains("1.100 s"), "{msg}");
    }
}
