//! WAV reading with hound: 8/16/24/32-bit integer and 32-bit float PCM,
//! any channel count, mixed down to mono as librosa does (mean of the
//! channels; integers scaled by 1/2^(bits-1), as soundfile does).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// Why an audio file could not be used. The caller adds the file name.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The path is a folder.
    #[error("is a folder, not an audio file")]
    Folder,
    /// Not a WAV file, or a malformed one.
    #[error("not a valid WAV file: {0}")]
    Malformed(String),
    /// A WAV encoding we do not decode (e.g. A-law, mu-law, ADPCM).
    #[error("unsupported WAV encoding: {0}")]
    Unsupported(String),
    /// A file of another format (FLAC, MP3, …) that its decoder rejects.
    #[error("not a valid {format} file: {why}")]
    Damaged {
        /// The format, as detected from the content (else the extension).
        format: String,
        /// What the decoder said.
        why: String,
    },
    /// A format or codec `ser` does not decode, named, with the advice.
    #[error("{0}")]
    NotSupported(String),
    /// The file ends before the audio its header announces.
    #[error("truncated: header announces {expected} bytes of audio, the file holds {actual}")]
    Truncated {
        /// Bytes of audio the header announces.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The header announces no audio at all.
    #[error("empty: the file holds no audio samples")]
    Empty,
    /// Float samples that are NaN or infinite (a broken recording or
    /// export); the features of such a clip would be meaningless.
    #[error("{count} non-finite samples (NaN/Inf), the first at {first_s:.3} s")]
    NonFinite {
        /// How many (after mixing to mono).
        count: u64,
        /// Where the first is, seconds from the start.
        first_s: f64,
    },
}

impl From<hound::Error> for AudioError {
    fn from(e: hound::Error) -> Self {
        match e {
            hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                AudioError::Malformed("file ends in the middle of the audio data".into())
            }
            hound::Error::IoError(io) => AudioError::Io(io),
            hound::Error::Unsupported => AudioError::Unsupported(
                "only PCM integer (8/16/24/32-bit) and 32-bit float are read; A-law, mu-law and compressed WAVs are not".into(),
            ),
            hound::Error::FormatError("bits per sample is not 32") => {
                AudioError::Unsupported(
                    "float samples of other than 32 bits here (a 64-bit float WAV file is read \
                     from its path; or convert it: `ffmpeg -i FILE -c:a pcm_f32le out.wav`)"
                        .into(),
                )
            }
            other => AudioError::Malformed(other.to_string()),
        }
    }
}

/// Integer or floating-point samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Signed (or 8-bit unsigned) integer PCM.
    Int,
    /// IEEE float.
    Float,
}

impl SampleFormat {
    /// `int` or `float`.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleFormat::Int => "int",
            SampleFormat::Float => "float",
        }
    }
}

/// What a WAV header says.
#[derive(Debug, Clone, PartialEq)]
pub struct WavInfo {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Integer or float.
    pub format: SampleFormat,
    /// Samples per channel.
    pub n_samples: u64,
}

impl WavInfo {
    /// Duration, seconds.
    pub fn duration_s(&self) -> f64 {
        self.n_samples as f64 / self.sample_rate as f64
    }
}

/// Decoded audio, mixed down to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// What the header said.
    pub info: WavInfo,
    /// Mono samples in [-1, 1].
    pub samples: Vec<f32>,
}

fn info_of(spec: hound::WavSpec, len: u32) -> Result<WavInfo, AudioError> {
    let format = match spec.sample_format {
        hound::SampleFormat::Int => SampleFormat::Int,
        hound::SampleFormat::Float => SampleFormat::Float,
    };
    if format == SampleFormat::Float && spec.bits_per_sample != 32 {
        return Err(AudioError::Unsupported(format!(
            "{}-bit float",
            spec.bits_per_sample
        )));
    }
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::Malformed(
            "zero channels or zero sample rate".into(),
        ));
    }
    Ok(WavInfo {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        format,
        n_samples: len as u64 / spec.channels as u64,
    })
}

/// Opens a hound reader; any failure while parsing the header means the
/// file is not a (complete) WAV file, not that it could not be read.
fn open_reader<R: Read>(reader: R) -> Result<hound::WavReader<R>, AudioError> {
    hound::WavReader::new(reader).map_err(|e| match e {
        hound::Error::IoError(io) => {
            AudioError::Malformed(format!("header ends early or is damaged ({io})"))
        }
        other => AudioError::from(other),
    })
}

/// Reads a WAV header and checks that the file holds the audio it announces.
pub fn read_wav_info(path: &Path) -> Result<WavInfo, AudioError> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(AudioError::Folder);
    }
    let size = meta.len();
    let mut head = Vec::with_capacity(4096);
    (&mut file).take(4096).read_to_end(&mut head)?;
    if is_float64(&head) {
        return super::decode::read_stream(path).map(|a| a.info);
    }
    file.rewind()?;
    let reader = open_reader(BufReader::new(file))?;
    let info = info_of(reader.spec(), reader.len())?;
    let bytes_per_sample = (info.bits_per_sample as u64).div_ceil(8);
    let expected = info.n_samples * info.channels as u64 * bytes_per_sample;
    let mut inner = reader.into_inner();
    let data_start = inner.stream_position()?;
    let actual = size.saturating_sub(data_start);
    if actual < expected {
        return Err(AudioError::Truncated { expected, actual });
    }
    if info.n_samples == 0 {
        return Err(AudioError::Empty);
    }
    Ok(info)
}

/// Decodes a whole WAV stream to mono `f32`.
pub fn decode_wav<R: Read>(reader: R) -> Result<Audio, AudioError> {
    let mut reader = open_reader(reader)?;
    let info = info_of(reader.spec(), reader.len())?;
    if info.n_samples == 0 {
        return Err(AudioError::Empty);
    }
    let ch = info.channels as usize;
    // Capacity from the header, capped so a lying header cannot exhaust memory.
    let announced = (info.n_samples as usize).saturating_mul(ch).min(1 << 28);
    let mut interleaved: Vec<f32> = Vec::with_capacity(announced);
    match info.format {
        SampleFormat::Float => {
            for s in reader.samples::<f32>() {
                interleaved.push(s?);
            }
        }
        SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f32;
            if info.bits_per_sample <= 16 {
                for s in reader.samples::<i16>() {
                    interleaved.push(s? as f32 * scale);
                }
            } else {
                for s in reader.samples::<i32>() {
                    interleaved.push(s? as f32 * scale);
                }
            }
        }
    }
    let samples = if ch == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(ch)
            .map(|frame| frame.iter().sum::<f32>() / ch as f32)
            .collect()
    };
    Ok(Audio { info, samples })
}

/// Reads a WAV file to mono `f32`. hound parses and validates the header;
/// the samples of packed PCM (8/16/24/32-bit int, 32-bit float) are then
/// converted in bulk from the data chunk, which is ~10x faster than hound's
/// per-sample reads. Other layouts go through [`decode_wav`].
pub fn read_wav(path: &Path) -> Result<Audio, AudioError> {
    if std::fs::metadata(path)?.is_dir() {
        return Err(AudioError::Folder);
    }
    let bytes = std::fs::read(path)?;
    if is_float64(&bytes) {
        return super::decode::read_stream(path);
    }
    let reader = open_reader(std::io::Cursor::new(bytes.as_slice()))?;
    let info = info_of(reader.spec(), reader.len())?;
    if info.n_samples == 0 {
        return Err(AudioError::Empty);
    }
    match packed_pcm(&bytes, &info) {
        Some(samples) => Ok(Audio {
            info,
            samples: samples?,
        }),
        None => decode_wav(std::io::Cursor::new(bytes.as_slice())),
    }
}

/// Whether a WAV file's `fmt ` chunk (in `head`, its first bytes)
/// announces 64-bit IEEE float samples, plain or WAVE_FORMAT_EXTENSIBLE:
/// hound does not read them, Symphonia does.
fn is_float64(head: &[u8]) -> bool {
    if head.get(..4) != Some(b"RIFF") || head.get(8..12) != Some(b"WAVE") {
        return false;
    }
    let Some(fmt) = chunk(head, b"fmt ") else {
        return false;
    };
    let u16_at = |i: usize| fmt.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let float = match u16_at(0) {
        Some(3) => true,
        Some(0xfffe) => u16_at(24) == Some(3),
        _ => false,
    };
    float && u16_at(14) == Some(64)
}

/// The body of the first RIFF chunk with this id.
fn chunk<'a>(bytes: &'a [u8], id: &[u8; 4]) -> Option<&'a [u8]> {
    let mut pos = 12; // "RIFF" size "WAVE"
    while pos + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body = pos + 8;
        if &bytes[pos..pos + 4] == id {
            return Some(&bytes[body..body.saturating_add(size).min(bytes.len())]);
        }
        pos = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

/// Decodes interleaved samples of `width` bytes with `decode` and mixes
/// `ch` channels to their mean (generic, so `decode` is inlined).
fn mix(data: &[u8], width: usize, ch: usize, decode: impl Fn(&[u8]) -> f32) -> Vec<f32> {
    if ch == 1 {
        data.chunks_exact(width).map(decode).collect()
    } else {
        data.chunks_exact(width * ch)
            .map(|frame| frame.chunks_exact(width).map(&decode).sum::<f32>() / ch as f32)
            .collect()
    }
}

/// Mono samples of tightly packed PCM, or `None` for layouts left to hound.
fn packed_pcm(bytes: &[u8], info: &WavInfo) -> Option<Result<Vec<f32>, AudioError>> {
    let fmt = chunk(bytes, b"fmt ")?;
    let block_align = u16::from_le_bytes(fmt.get(12..14)?.try_into().ok()?) as usize;
    let ch = info.channels as usize;
    let width = block_align / ch;
    if !block_align.is_multiple_of(ch) || width * 8 != info.bits_per_sample as usize {
        return None;
    }
    let data = chunk(bytes, b"data")?;
    let frames = info.n_samples as usize;
    if data.len() < frames * block_align {
        return Some(Err(AudioError::Truncated {
            expected: (frames * block_align) as u64,
            actual: data.len() as u64,
        }));
    }
    let data = &data[..frames * block_align];
    let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f32;
    let samples = match (info.format, width) {
        (SampleFormat::Int, 1) => mix(data, width, ch, |b| (b[0] as i32 - 128) as f32 * scale),
        (SampleFormat::Int, 2) => mix(data, width, ch, |b| {
            i16::from_le_bytes([b[0], b[1]]) as f32 * scale
        }),
        (SampleFormat::Int, 3) => mix(data, width, ch, |b| {
            (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * scale
        }),
        (SampleFormat::Int, 4) => mix(data, width, ch, |b| {
            i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * scale
        }),
        (SampleFormat::Float, 4) => mix(data, width, ch, |b| {
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }),
        _ => return None,
    };
    Some(Ok(samples))
}

/// Writes mono or interleaved 16-bit PCM (used by `ser synth` and tests).
pub fn write_wav_i16(
    path: &Path,
    samples: &[i16],
    sample_rate: u32,
    channels: u16,
) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        w.write_sample(s)?;
    }
    w.finalize()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl Fn(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>),
    ) -> Vec<u8> {
        let mut cur = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
            write(&mut w);
            w.finalize().unwrap();
        }
        cur.into_inner()
    }

    fn spec(bits: u16, channels: u16, fmt: hound::SampleFormat) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: 8000,
            bits_per_sample: bits,
            sample_format: fmt,
        }
    }

    #[test]
    fn every_supported_depth_scales_to_unit_range() {
        use hound::SampleFormat::*;
        type Write = Box<dyn Fn(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>)>;
        let cases: Vec<(u16, Write, f32)> = vec![
            (8, Box::new(|w| w.write_sample(-64i8).unwrap()), -0.5),
            (16, Box::new(|w| w.write_sample(16384i16).unwrap()), 0.5),
            (
                24,
                Box::new(|w| w.write_sample(-4_194_304i32).unwrap()),
                -0.5,
            ),
            (
                32,
                Box::new(|w| w.write_sample(1_073_741_824i32).unwrap()),
                0.5,
            ),
        ];
        for (bits, write, want) in cases {
            let a = decode_wav(Cursor::new(wav_bytes(spec(bits, 1, Int), write))).unwrap();
            assert_eq!(a.samples, vec![want], "{bits}-bit");
        }
        let f = wav_bytes(spec(32, 1, Float), |w| w.write_sample(0.25f32).unwrap());
        assert_eq!(decode_wav(Cursor::new(f)).unwrap().samples, vec![0.25]);
    }

    #[test]
    fn bulk_path_agrees_with_hound_for_every_depth_and_channel_count() {
        use hound::SampleFormat::*;
        let dir = tempfile::tempdir().unwrap();
        for (bits, fmt) in [(8, Int), (16, Int), (24, Int), (32, Int), (32, Float)] {
            for channels in [1u16, 2, 3] {
                let path = dir.path().join(format!("{bits}-{channels}.wav"));
                let bytes = wav_bytes(spec(bits, channels, fmt), |w| {
                    for i in 0..990i64 {
                        let v = ((i * 7919) % 2001 - 1000) as f64 / 1000.0;
                        match (fmt, bits) {
                            (Float, _) => w.write_sample(v as f32).unwrap(),
                            (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                            (_, 16) => w.write_sample((v * 32767.0) as i16).unwrap(),
                            (_, b) => w
                                .write_sample((v * ((1i64 << (b - 1)) - 1) as f64) as i32)
                                .unwrap(),
                        }
                    }
                });
                std::fs::write(&path, &bytes).unwrap();
                let fast = read_wav(&path).unwrap();
                let slow = decode_wav(Cursor::new(bytes)).unwrap();
                assert_eq!(fast, slow, "{bits}-bit {fmt:?} x{channels}");
                assert_eq!(fast.samples.len(), 990 / channels as usize);
            }
        }
    }

    #[test]
    fn stereo_is_mixed_to_the_mean_of_channels() {
        let b = wav_bytes(spec(16, 2, hound::SampleFormat::Int), |w| {
            for s in [16384i16, 0, -16384, -16384] {
                w.write_sample(s).unwrap();
            }
        });
        let a = decode_wav(Cursor::new(b)).unwrap();
        assert_eq!(a.samples, vec![0.25, -0.5]);
        assert_eq!(a.info.channels, 2);
        assert_eq!(a.info.n_samples, 2);
    }

    #[test]
    fn garbage_and_empty_are_clear_errors() {
        let err = decode_wav(Cursor::new(b"RIFF0000junkjunk".to_vec())).unwrap_err();
        assert!(matches!(err, AudioError::Malformed(_)), "{err}");
        let empty = wav_bytes(spec(16, 1, hound::SampleFormat::Int), |_| {});
        assert!(matches!(
            decode_wav(Cursor::new(empty)).unwrap_err(),
            AudioError::Empty
        ));
    }
}
