//! `ser synth`: a small deterministic RAVDESS-named demo corpus.

use std::path::PathBuf;

use anyhow::Result;
use pipeline::bounds;
use pipeline::synth::{run_synth, SynthConfig};

use crate::flags::within;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (Actor_NN/ folders are created in it): new, empty,
    /// or an earlier `ser synth` output (it holds `.ser-synth.json`).
    #[arg(long)]
    pub out: PathBuf,
    /// Actors (odd male, even female), 60 clips each, 1..=24.
    #[arg(long, default_value_t = 4, value_parser = within(bounds::SYNTH_ACTORS))]
    pub actors: u32,
    /// Sample rate of the files, Hz, 8000..=192000.
    #[arg(long, default_value_t = 48000, value_parser = within(bounds::SYNTH_RATE))]
    pub sample_rate: u32,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run(a: &Args) -> Result<i32> {
    let cfg = SynthConfig {
        actors: a.actors,
        sample_rate: a.sample_rate,
        seed: a.seed,
    };
    let files = run_synth(&a.out, &cfg)?;
    println!(
        "synth: wrote {} clips ({} actors) to {}",
        files.len(),
        a.actors,
        a.out.display()
    );
    Ok(0)
}
