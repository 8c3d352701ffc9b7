//! `ser model build` (the recommended model as one file) and `ser model
//! show` (its card).

use std::path::PathBuf;

use anyhow::Result;
use models::LabelSet;
use pipeline::bounds;
use pipeline::model_file::build::{build_model, ModelBuildConfig};
use pipeline::model_file::read_card;
use pipeline::output::OutputFile;
use pipeline::train::Window;

use crate::flags::{set_threads, within, Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Train the recommended model (si-cnn with its training copies) on the
    /// speaker folds (the estimate and the calibration), then on every clip,
    /// and write one self-contained model file.
    Build(Box<BuildArgs>),
    /// Print a model file's card: classes, input, estimate, calibration,
    /// training data and its licence.
    Show(ShowArgs),
}

#[derive(clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub s: StoreFlags,
    /// Corpus folder (any corpus `ser metadata` reads) [default: the store's metadata as it is].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The model file to write (e.g. ravdess.ser); never an input or a store's file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Label set (see `ser train --help`) [default: emotion8].
    #[arg(long)]
    pub labels: Option<LabelSet>,
    /// Seed of weights and shuffles [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Epochs, 1..=10000 [default: the recipe's, 60]; fewer is a quick check, not a model.
    #[arg(long, value_parser = within(bounds::EPOCHS))]
    pub epochs: Option<usize>,
    /// Frames per example: `auto` or a count [default: auto].
    #[arg(long)]
    pub window: Option<Window>,
    /// Models per fold, 1..=16, each from its own seed, averaged (a seed
    /// ensemble: K times the training time, the file's size and the work of
    /// each answer); 1 builds one model, as before [default: 3].
    #[arg(long, value_name = "K", value_parser = within(bounds::MEMBERS))]
    pub members: Option<usize>,
    /// Worker threads, 1..=1024 [default: RAYON_NUM_THREADS, else one per core].
    #[arg(long, value_parser = within(bounds::THREADS))]
    pub threads: Option<usize>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The model file.
    pub file: PathBuf,
}

impl ModelCommand {
    /// The store flags of the subcommand that reads a store.
    pub fn store_flags(&self) -> Option<&StoreFlags> {
        match self {
            ModelCommand::Build(a) => Some(&a.s),
            ModelCommand::Show(_) => None,
        }
    }
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    match &a.command {
        ModelCommand::Build(b) => build(b, env),
        ModelCommand::Show(s) => {
            println!("{}", read_card(&s.file)?.render());
            Ok(0)
        }
    }
}

fn build(a: &BuildArgs, env: &Env) -> Result<i32> {
    set_threads(a.threads)?;
    let inputs: Vec<PathBuf> = a.data.iter().cloned().collect();
    let cfg = ModelBuildConfig {
        data: a.data.clone(),
        out: OutputFile::check(&a.out, &inputs, a.force)?,
        labels: a.labels.clone().unwrap_or(LabelSet::Emotion8),
        seed: a.seed.unwrap_or(42),
        epochs: a.epochs,
        window: a.window,
        members: a.members,
    };
    let out = build_model(&env.store, &cfg, env.progress)?;
    println!("{}", out.card.render());
    println!("reliability diagram: {}", out.reliability.display());
    println!("model: {}", out.path.display());
    Ok(0)
}
