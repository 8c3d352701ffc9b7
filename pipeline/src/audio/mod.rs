//! Audio I/O: WAV decoding (hound) to mono `f32`, and resampling (rubato).
//!
//! The decoders work on any `io::Read`; the path functions are thin
//! wrappers that add the file name to errors.

pub mod resample;
pub mod wav;

pub use resample::{resample, ResamplerConfig};
pub use wav::{
    decode_wav, read_wav, read_wav_info, write_wav_i16, Audio, AudioError, SampleFormat, WavInfo,
};
