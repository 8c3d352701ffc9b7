//! `ser features`: MFCC (and log-mel) shards of clean and noisy copies.
//! Every flag has a field in the JSON config (`--config FILE`); flags
//! override the file, and the result is validated (a bad one exits 2).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Result;
use pipeline::audio::ResamplerConfig;
use pipeline::bounds;
use pipeline::dsp::noise::NoiseConfig;
use pipeline::features::{run_features, FeatureConfig, RunOptions, ShardSpec};
use pipeline::EXIT_SKIPPED;
use store::Store;

use crate::flags::{read_config, usage, within, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub s: StoreFlags,
    /// JSON feature config (its fields are the flags below); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Target rate in Hz, 4000..=384000, or `native` to keep each file's rate [default: 22050].
    #[arg(long)]
    pub sample_rate: Option<RateArg>,
    /// Cepstral coefficients, 1..=512 and at most --n-mels [default: 40].
    #[arg(long, value_parser = within(bounds::N_MFCC))]
    pub n_mfcc: Option<usize>,
    /// Mel bands, 1..=512 [default: 128].
    #[arg(long, value_parser = within(bounds::N_MELS))]
    pub n_mels: Option<usize>,
    /// FFT size, an even number in 16..=65536 [default: 2048].
    #[arg(long, value_parser = within(bounds::N_FFT))]
    pub n_fft: Option<usize>,
    /// Hop length, 1..=65536 and at most --n-fft [default: 512].
    #[arg(long, value_parser = within(bounds::HOP_LENGTH))]
    pub hop_length: Option<usize>,
    /// Also store the log-mel spectrogram (`mel_db` column).
    #[arg(long)]
    pub mel: bool,
    /// Noise of the noisy copy: `gaussian[:AMP]` (AMP 0..=10) or `snr:DB`
    /// (DB -60..=120) [default: gaussian:0.035].
    #[arg(long)]
    pub noise: Option<NoiseConfig>,
    /// Noise seed [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Resampler: `fft[:BLOCK]`, BLOCK = FFT block in output frames, 16..=1048576 [default: fft:320].
    #[arg(long)]
    pub resampler: Option<ResamplerConfig>,
    /// Training copies of each clip under random recording conditions
    /// (speed, room, band limit, telephone codec, noise, level), stored as
    /// variants aug1..augN for `ser train --train-variants`, 0..=8 [default: 0].
    #[arg(long, value_parser = within(bounds::AUGMENT))]
    pub augment: Option<usize>,
    /// Longest room of the training copies, RT60 in s (rooms are drawn
    /// from 0.2 s up to it), 0.3..=3; needs `--augment` [default: 0.8].
    #[arg(long, value_parser = within(bounds::LONGEST_ROOM))]
    pub longest_room: Option<f64>,
    /// Loudest level of the training copies, RMS in dBFS (levels are drawn
    /// from -60 up to it; above about -20 a clip's peaks are cut at full
    /// scale, as by a recorder set too hot), -30..=0; needs `--augment`
    /// (measured, not in the recipe: README) [default: -15].
    #[arg(long, value_name = "DB", allow_hyphen_values = true, value_parser = within(bounds::LOUDEST_LEVEL))]
    pub loudest_level: Option<f64>,
    /// Share of the training copies' noise that has the clip's own
    /// long-term spectrum (its phases drawn at random: what many voices at
    /// once approach) instead of white or brown, 0..=1; needs `--augment`
    /// [default: 0].
    #[arg(long, value_name = "P", value_parser = within(bounds::SHAPED_NOISE))]
    pub shaped_noise: Option<f64>,
    /// Compute only slice K of N (1 <= K <= N), e.g. for a job array.
    #[arg(long)]
    pub shard: Option<ShardSpec>,
    /// Commit finished shards at most every this many ms, 0..=86400000 (0: after each shard).
    #[arg(long, default_value_t = 1000, value_parser = within(bounds::COMMIT_EVERY_MS))]
    pub commit_every_ms: u64,
}

/// A feature sample rate: Hz (4000..=384000) or `native` (`None`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateArg(pub Option<u32>);

impl FromStr for RateArg {
    type Err = String;

    fn from_str(s: &str) -> Result<RateArg, String> {
        match s {
            "native" => Ok(RateArg(None)),
            hz => bounds::SAMPLE_RATE
                .parse(hz)
                .map(|r| RateArg(Some(r)))
                .map_err(|e| format!("{e}, or `native`")),
        }
    }
}

impl Args {
    /// The config: `--config` (or the default), then the flags; a
    /// [`crate::flags::UsageError`] if invalid.
    pub fn to_config(&self) -> Result<FeatureConfig> {
        let mut cfg: FeatureConfig = read_config(self.config.as_deref())?;
        if let Some(RateArg(sr)) = self.sample_rate {
            cfg.sample_rate = sr;
        }
        let m = &mut cfg.mfcc;
        m.n_mfcc = self.n_mfcc.unwrap_or(m.n_mfcc);
        m.n_mels = self.n_mels.unwrap_or(m.n_mels);
        m.n_fft = self.n_fft.unwrap_or(m.n_fft);
        m.hop_length = self.hop_length.unwrap_or(m.hop_length);
        cfg.mel_db |= self.mel;
        cfg.noise = self.noise.unwrap_or(cfg.noise);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        cfg.resampler = self.resampler.unwrap_or(cfg.resampler);
        cfg.augment = self.augment.unwrap_or(cfg.augment);
        cfg.longest_room = self.longest_room.unwrap_or(cfg.longest_room);
        cfg.loudest_level = self.loudest_level.unwrap_or(cfg.loudest_level);
        cfg.shaped_noise = self.shaped_noise.unwrap_or(cfg.shaped_noise);
        cfg.validate()
            .map_err(|e| usage(format!("invalid feature config: {e}")))?;
        Ok(cfg)
    }
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let cfg = a.to_config()?;
    let store = Store::open(&env.store)?;
    let opts = RunOptions {
        shard: a.shard,
        show_progress: env.progress,
        commit_every: Duration::from_millis(a.commit_every_ms),
    };
    let r = run_features(&store, &cfg, &opts)?;
    for rej in &r.rejects {
        eprintln!("skipped {}: {}", rej.path, rej.reason);
    }
    println!("{}", r.summary());
    if r.refingerprinted > 0 {
        eprintln!(
            "features: {} files changed since `ser metadata` (re-hashed); run `ser metadata` to refresh the table",
            r.refingerprinted
        );
    }
    if r.shards_adopted > 0 {
        eprintln!(
            "features: took back {} shards whose part files no readable manifest listed",
            r.shards_adopted
        );
    }
    if r.leftovers_removed > 0 {
        eprintln!(
            "features: removed {} files left by an interrupted run",
            r.leftovers_removed
        );
    }
    Ok(if r.rejects.is_empty() {
        0
    } else {
        EXIT_SKIPPED
    })
}
