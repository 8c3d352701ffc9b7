//! Audio I/O: decoding to mono `f32` (WAV through hound, FLAC / MP3 /
//! Ogg / M4A through Symphonia), and resampling (rubato).
//!
//! The decoders work on any `io::Read`; the path functions are thin
//! wrappers that add the file name to errors.

pub mod decode;
mod mp4;
pub mod resample;
pub mod wav;

pub use decode::{is_audio, read_audio, read_audio_info, AudioStream, AUDIO_EXTENSIONS};

pub use resample::{resample, ResamplerConfig};
pub use wav::{
    decode_wav, read_wav, read_wav_info, write_wav_i16, Audio, AudioError, SampleFormat, WavInfo,
};
