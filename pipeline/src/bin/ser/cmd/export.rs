//! `ser export --model FILE.ser --onnx OUT.onnx`: a model file's network
//! as an ONNX model (raw MFCC frames in, its probabilities out).

use std::path::PathBuf;

use anyhow::Result;
use pipeline::model_file::onnx::export_onnx;
use pipeline::output::OutputFile;

#[derive(clap::Args)]
pub struct Args {
    /// The model file (`ser model build`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The ONNX file to write (e.g. ravdess.onnx); never the model file or a store's file.
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// Replace --onnx if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: &Args) -> Result<i32> {
    let out = OutputFile::check(&a.onnx, std::slice::from_ref(&a.model), a.force)?;
    let e = export_onnx(&a.model, &out)?;
    println!("{}", e.describe());
    println!("onnx: {}", out.path().display());
    Ok(0)
}
