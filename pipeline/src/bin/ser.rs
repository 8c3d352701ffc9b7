//! `ser`: speech emotion recognition from RAVDESS-style corpora.
//!
//! A thin layer: parse flags, build a validated config, call the
//! `pipeline` library, print what it reports, map errors to exit codes
//! (0 ok, 1 error, 2 usage, 3 finished but skipped inputs, 4 store locked,
//! 5 verification failed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use models::{LabelSet, Loss, ModelKind};
use pipeline::audio::ResamplerConfig;
use pipeline::corpus::{self, Checksums, DownloadConfig, VerifyReport};
use pipeline::dsp::noise::NoiseConfig;
use pipeline::features::{run_features, FeatureConfig, RunOptions, ShardSpec};
use pipeline::metadata::run_metadata;
use pipeline::report::{format_table, run_report};
use pipeline::synth::{run_synth, SynthConfig};
use pipeline::train::{
    resolve_run, run_train, Predictor, SplitKind, TrainOptions, TrainStageConfig, Window,
};
use pipeline::{PipelineError, EXIT_LOCKED, EXIT_SKIPPED, EXIT_VERIFY_FAILED};
use store::{Store, StoreError};

#[derive(Parser)]
#[command(
    name = "ser",
    version,
    about = "Speech emotion recognition: features, training, reports"
)]
struct Cli {
    /// The store folder.
    #[arg(long, global = true, default_value = "store")]
    store: PathBuf,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a small deterministic RAVDESS-named demo corpus.
    Synth {
        /// Output folder (Actor_NN/ folders are created in it).
        #[arg(long)]
        out: PathBuf,
        /// Actors (odd male, even female), 60 clips each.
        #[arg(long, default_value_t = 4)]
        actors: u32,
        /// Sample rate of the files, Hz.
        #[arg(long, default_value_t = 48000)]
        sample_rate: u32,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Download the RAVDESS speech set (resumable), unpack it safely, verify it.
    Download {
        /// Folder to unpack into (the archive is kept there too).
        #[arg(long)]
        out: PathBuf,
        /// Archive URL.
        #[arg(long, default_value = corpus::RAVDESS_URL)]
        url: String,
        /// Expected MD5 of the archive, or `none` [default: Zenodo's MD5 for the default URL].
        #[arg(long)]
        md5: Option<String>,
        /// Connect, response and per-read timeout, seconds.
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
        /// Checksum list (`sha256sum` format) to verify against [default: the embedded RAVDESS list].
        #[arg(long)]
        sums: Option<PathBuf>,
    },
    /// Check a RAVDESS folder against the 1440 published SHA-256 checksums.
    Verify {
        /// The folder.
        #[arg(long)]
        data: PathBuf,
        /// Missing files are reported as a count, not a failure.
        #[arg(long)]
        allow_partial: bool,
        /// Checksum list (`sha256sum` format) [default: the embedded RAVDESS list].
        #[arg(long)]
        sums: Option<PathBuf>,
    },
    /// Scan a folder of RAVDESS WAVs into `metadata.parquet`.
    Metadata {
        /// Folder holding the WAV files (searched recursively).
        #[arg(long)]
        data: PathBuf,
    },
    /// Compute MFCC (and optionally log-mel) shards for clean and noisy copies.
    Features(FeatureArgs),
    /// Train a model on a feature set; writes (or reuses) `runs/<run>/`.
    Train(TrainArgs),
    /// Classify WAV files with a trained run.
    Predict {
        /// Run name, unique prefix of one, or run folder.
        #[arg(long)]
        run: String,
        /// WAV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Use this fold's model only [default: mean of every fold's probabilities].
        #[arg(long)]
        fold: Option<usize>,
    },
    /// Print the table of runs and write the paper's figures (PNG).
    Report {
        /// Runs (names, unique prefixes or folders) [default: every run].
        runs: Vec<String>,
        /// Only the table, no figures.
        #[arg(long)]
        no_figures: bool,
    },
    /// Run polars SQL over the store's tables (metadata, features, history,
    /// metrics, confusion, predictions, summary).
    Query {
        /// The SQL, e.g. "SELECT model, test_accuracy FROM summary WHERE fold IS NULL".
        sql: String,
        /// CSV on stdout.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON lines on stdout.
        #[arg(long)]
        json: bool,
        /// Include the MFCC / log-mel value lists in `features`.
        #[arg(long)]
        with_values: bool,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// JSON train config (its fields are the flags below); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// `cnn`, `lstm` or `cnn-lstm` [default: cnn].
    #[arg(long)]
    model: Option<String>,
    /// `gender-emotion14`, `emotion8` or `emotion7` [default: gender-emotion14].
    #[arg(long)]
    labels: Option<String>,
    /// `random` (stratified, the paper's) or `actors` (speaker-independent) [default: random].
    #[arg(long)]
    split: Option<String>,
    /// Test share per class in the random split [default: 0.25].
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Seed of the random split [default: 42].
    #[arg(long)]
    split_seed: Option<u64>,
    /// Actors split: K round-robin folds of actors [default: EmoBox's six folds].
    #[arg(long)]
    folds: Option<usize>,
    /// Train only the first N folds.
    #[arg(long)]
    max_folds: Option<usize>,
    /// Epochs [default: CNN 100, LSTM and CNN+LSTM 50].
    #[arg(long)]
    epochs: Option<usize>,
    /// Batch size [default: CNN 30, LSTM and CNN+LSTM 28].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate [default: 0.001].
    #[arg(long)]
    lr: Option<f64>,
    /// Seed of weights, dropout and shuffles [default: 42].
    #[arg(long)]
    seed: Option<u64>,
    /// `cross-entropy` or `mse` (the paper's wording) [default: cross-entropy].
    #[arg(long)]
    loss: Option<String>,
    /// Convolution kernel width, 3, 5 or 7 [default: 5].
    #[arg(long)]
    kernel: Option<usize>,
    /// Frames per example: `auto` (median clip length) or a number [default: auto].
    #[arg(long)]
    window: Option<String>,
    /// Variants to train on, comma-separated [default: clean,noisy].
    #[arg(long)]
    train_variants: Option<String>,
    /// Feature set id [default: the store's only set, or the default config's].
    #[arg(long)]
    set: Option<String>,
    /// Retrain even if this run already finished.
    #[arg(long)]
    force: bool,
}

impl TrainArgs {
    fn to_config(&self) -> Result<TrainStageConfig> {
        let mut cfg: TrainStageConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => TrainStageConfig::default(),
        };
        let bad = |flag: &'static str| move |e: String| anyhow::anyhow!("--{flag}: {e}");
        if let Some(m) = &self.model {
            cfg.model = ModelKind::parse(m).map_err(bad("model"))?;
        }
        if let Some(l) = &self.labels {
            cfg.labels = LabelSet::parse(l).map_err(bad("labels"))?;
        }
        if let Some(s) = &self.split {
            cfg.split = SplitKind::parse(s).map_err(bad("split"))?;
        }
        if let Some(l) = &self.loss {
            cfg.loss = Loss::parse(l).map_err(bad("loss"))?;
        }
        if let Some(w) = &self.window {
            cfg.window = Window::parse(w).map_err(bad("window"))?;
        }
        if let Some(v) = &self.train_variants {
            cfg.train_variants = v.split(',').map(|s| s.trim().to_string()).collect();
        }
        cfg.test_fraction = self.test_fraction.unwrap_or(cfg.test_fraction);
        cfg.split_seed = self.split_seed.unwrap_or(cfg.split_seed);
        cfg.folds = self.folds.or(cfg.folds);
        cfg.max_folds = self.max_folds.or(cfg.max_folds);
        cfg.epochs = self.epochs.or(cfg.epochs);
        cfg.batch_size = self.batch_size.or(cfg.batch_size);
        cfg.lr = self.lr.unwrap_or(cfg.lr);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        cfg.kernel = self.kernel.unwrap_or(cfg.kernel);
        cfg.feature_set = self.set.clone().or(cfg.feature_set);
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("invalid train config: {e}"))?;
        Ok(cfg)
    }
}

/// One line per fold of a multi-fold run (the table shows their mean).
fn print_folds(df: &polars::prelude::DataFrame) -> Result<()> {
    if df.height() <= 2 {
        return Ok(());
    }
    let csv = pipeline::query::to_csv(
        &df.select([
            "fold",
            "train_accuracy",
            "test_accuracy",
            "test_uar",
            "n_test",
        ])
        .context("summary.parquet lacks a column")?,
    );
    for line in csv.lines() {
        println!("  {}", line.replace(',', "  "));
    }
    Ok(())
}

#[derive(clap::Args)]
struct FeatureArgs {
    /// JSON feature config (its fields are the flags below); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Target rate in Hz, or `native` to keep each file's rate [default: 22050].
    #[arg(long)]
    sample_rate: Option<String>,
    /// Cepstral coefficients [default: 40].
    #[arg(long)]
    n_mfcc: Option<usize>,
    /// Mel bands [default: 128].
    #[arg(long)]
    n_mels: Option<usize>,
    /// FFT size [default: 2048].
    #[arg(long)]
    n_fft: Option<usize>,
    /// Hop length [default: 512].
    #[arg(long)]
    hop_length: Option<usize>,
    /// Also store the log-mel spectrogram (`mel_db` column).
    #[arg(long)]
    mel: bool,
    /// Noise of the noisy copy: `gaussian[:AMP]` or `snr:DB` [default: gaussian:0.035].
    #[arg(long)]
    noise: Option<String>,
    /// Noise seed [default: 42].
    #[arg(long)]
    seed: Option<u64>,
    /// Resampler: `fft[:BLOCK]`, BLOCK = FFT block in output frames [default: fft:320].
    #[arg(long)]
    resampler: Option<String>,
    /// Compute only slice K of N (1-based), e.g. for a job array.
    #[arg(long)]
    shard: Option<String>,
    /// Commit finished shards at most every this many ms (0: after each shard).
    #[arg(long, default_value_t = 1000)]
    commit_every_ms: u64,
}

impl FeatureArgs {
    fn to_config(&self) -> Result<FeatureConfig> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => FeatureConfig::default(),
        };
        if let Some(sr) = &self.sample_rate {
            cfg.sample_rate = match sr.as_str() {
                "native" => None,
                hz => Some(
                    hz.parse()
                        .with_context(|| format!("--sample-rate {hz}: expected Hz or `native`"))?,
                ),
            };
        }
        if let Some(v) = self.n_mfcc {
            cfg.mfcc.n_mfcc = v;
        }
        if let Some(v) = self.n_mels {
            cfg.mfcc.n_mels = v;
        }
        if let Some(v) = self.n_fft {
            cfg.mfcc.n_fft = v;
        }
        if let Some(v) = self.hop_length {
            cfg.mfcc.hop_length = v;
        }
        cfg.mel_db |= self.mel;
        if let Some(n) = &self.noise {
            cfg.noise = NoiseConfig::parse(n).map_err(|e| anyhow::anyhow!("--noise: {e}"))?;
        }
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(r) = &self.resampler {
            cfg.resampler =
                ResamplerConfig::parse(r).map_err(|e| anyhow::anyhow!("--resampler: {e}"))?;
        }
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("invalid feature config: {e}"))?;
        Ok(cfg)
    }
}

fn checksums(sums: &Option<PathBuf>) -> Result<Checksums> {
    match sums {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Checksums::parse(&text).with_context(|| format!("parsing {}", p.display()))
        }
        None => Ok(Checksums::ravdess()),
    }
}

/// Prints one line per problem and a summary; returns the exit status.
fn report_verify(r: &VerifyReport, allow_partial: bool) -> i32 {
    for (path, why) in &r.modified {
        println!("modified {path}: {why}");
    }
    if !allow_partial {
        for path in &r.missing {
            println!("missing {path}");
        }
    }
    for path in &r.extra {
        println!("extra {path}: not in the checksum list");
    }
    let allowed = if allow_partial && !r.missing.is_empty() {
        " (missing allowed by --allow-partial)"
    } else {
        ""
    };
    println!(
        "verify: {} good, {} missing, {} modified, {} extra{allowed}",
        r.good.len(),
        r.missing.len(),
        r.modified.len(),
        r.extra.len()
    );
    if !r.modified.is_empty() || (!allow_partial && !r.missing.is_empty()) {
        EXIT_VERIFY_FAILED
    } else {
        0
    }
}

fn run(cli: Cli) -> Result<i32> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Download {
            out,
            url,
            md5,
            timeout_s,
            sums,
        } => {
            let sums = checksums(&sums)?;
            let md5 = match md5.as_deref() {
                Some("none") => None,
                Some(h) => Some(h.to_string()),
                None if url == corpus::RAVDESS_URL => Some(corpus::RAVDESS_MD5.to_string()),
                None => None,
            };
            let cfg = DownloadConfig {
                url,
                out_dir: out.clone(),
                md5,
                timeout: std::time::Duration::from_secs(timeout_s.max(1)),
                show_progress: progress,
            };
            let archive = corpus::download(&cfg)?;
            println!("download: {}", archive.display());
            let u = corpus::unpack(&archive, &out)?;
            for c in &u.conflicts {
                eprintln!(
                    "not overwritten {}: exists with different content",
                    c.display()
                );
            }
            println!(
                "unpack: {} files written, {} already present, {} conflicts -> {}",
                u.written,
                u.identical,
                u.conflicts.len(),
                out.display()
            );
            let code = report_verify(&corpus::verify(&out, &sums, progress)?, false);
            if let Some(first) = u.conflicts.first() {
                return Err(corpus::CorpusError::Conflicts {
                    count: u.conflicts.len(),
                    first: first.clone(),
                }
                .into());
            }
            Ok(code)
        }
        Command::Verify {
            data,
            allow_partial,
            sums,
        } => {
            let sums = checksums(&sums)?;
            let r = corpus::verify(&data, &sums, progress)?;
            Ok(report_verify(&r, allow_partial))
        }
        Command::Synth {
            out,
            actors,
            sample_rate,
            seed,
        } => {
            let cfg = SynthConfig {
                actors,
                sample_rate,
                seed,
            };
            let files = run_synth(&out, &cfg)?;
            println!(
                "synth: wrote {} clips ({} actors) to {}",
                files.len(),
                actors,
                out.display()
            );
            Ok(0)
        }
        Command::Metadata { data } => {
            let store = Store::open(&cli.store)?;
            let r = run_metadata(&store, &data, progress)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
            }
            println!(
                "metadata: {} clips ({} hashed, {} unchanged), {} skipped, in {:.2}s -> {}",
                r.rows.len(),
                r.hashed,
                r.rows.len() - r.hashed.min(r.rows.len()),
                r.rejects.len(),
                r.seconds,
                store.metadata_path().display()
            );
            Ok(if r.rejects.is_empty() {
                0
            } else {
                EXIT_SKIPPED
            })
        }
        Command::Features(args) => {
            let cfg = args.to_config()?;
            let shard = args
                .shard
                .as_deref()
                .map(ShardSpec::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--shard {e}"))?;
            let store = Store::open(&cli.store)?;
            let opts = RunOptions {
                shard,
                show_progress: progress,
                commit_every: std::time::Duration::from_millis(args.commit_every_ms),
            };
            let r = run_features(&store, &cfg, &opts)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
            }
            let rows: Vec<String> = r.rows.iter().map(|(v, n)| format!("{n} {v}")).collect();
            let rows = if rows.is_empty() {
                "no rows".to_string()
            } else {
                rows.join(" + ")
            };
            if r.is_noop() {
                println!(
                    "features: set {}: nothing to do, {} shards up to date ({rows} rows) in {:.3}s",
                    r.set_id, r.shards_total, r.seconds
                );
            } else {
                println!(
                    "features: set {}: computed {} of {} shards ({} clips, {} stale shards removed) in {:.2}s; {rows} rows; manifest v{}",
                    r.set_id, r.shards_computed, r.shards_total, r.clips_computed, r.shards_removed, r.seconds, r.manifest_version
                );
            }
            if r.refingerprinted > 0 {
                eprintln!(
                    "features: {} files changed since `ser metadata` (re-hashed); run `ser metadata` to refresh the table",
                    r.refingerprinted
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
        Command::Train(args) => {
            let cfg = args.to_config()?;
            let store = Store::open(&cli.store)?;
            let opts = TrainOptions {
                force: args.force,
                show_progress: progress,
            };
            let out = run_train(&store, &cfg, &opts)?;
            if out.reused {
                println!(
                    "train: run {} already finished with this config and data: reused (--force retrains)",
                    out.run
                );
            } else {
                println!("train: run {} -> {}", out.run, out.dir.display());
            }
            let r = run_report(&store, std::slice::from_ref(&out.run), false)?;
            print!("{}", format_table(&r.lines));
            print_folds(&out.summary)?;
            Ok(0)
        }
        Command::Report { runs, no_figures } => {
            let store = Store::open(&cli.store)?;
            let r = run_report(&store, &runs, !no_figures)?;
            if r.lines.is_empty() {
                println!(
                    "report: no runs in {} (run `ser train` first)",
                    store.runs_dir().display()
                );
            } else {
                print!("{}", format_table(&r.lines));
            }
            for f in &r.figures {
                println!("figure: {}", f.display());
            }
            for why in &r.skipped {
                eprintln!("skipped {why}");
            }
            Ok(if r.skipped.is_empty() {
                0
            } else {
                EXIT_SKIPPED
            })
        }
        Command::Query {
            sql,
            csv,
            json,
            with_values,
        } => {
            let store = Store::open(&cli.store)?;
            let df = pipeline::query::query(&store, &sql, with_values)?;
            if csv {
                print!("{}", pipeline::query::to_csv(&df));
            } else if json {
                print!("{}", pipeline::query::to_json_lines(&df));
            } else {
                for (key, value) in [
                    ("POLARS_FMT_MAX_ROWS", "40"),
                    ("POLARS_FMT_MAX_COLS", "20"),
                    ("POLARS_FMT_STR_LEN", "48"),
                    ("POLARS_FMT_TABLE_ROUNDED_CORNERS", "1"),
                ] {
                    if std::env::var_os(key).is_none() {
                        std::env::set_var(key, value);
                    }
                }
                println!("{df}");
            }
            Ok(0)
        }
        Command::Predict {
            run,
            files,
            json,
            fold,
        } => {
            let store = Store::open(&cli.store)?;
            let dir = resolve_run(&store, &run)?;
            let p = Predictor::load(&dir)?;
            let classes = &p.config.classes;
            let mut failed = 0;
            for file in &files {
                match p.predict_file(file, fold) {
                    Ok(r) => {
                        let best = r.probabilities.iter().cloned().fold(0f32, f32::max);
                        if json {
                            let probs: serde_json::Map<String, serde_json::Value> = classes
                                .iter()
                                .zip(&r.probabilities)
                                .map(|(c, p)| (c.clone(), serde_json::json!(p)))
                                .collect();
                            let line = serde_json::json!({
                                "path": file.display().to_string(),
                                "run": p.config.run,
                                "predicted": r.predicted,
                                "probability": best,
                                "probabilities": probs,
                            });
                            println!("{line}");
                        } else {
                            let mut ranked: Vec<(usize, f32)> =
                                r.probabilities.iter().cloned().enumerate().collect();
                            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                            let top: Vec<String> = ranked
                                .iter()
                                .take(3)
                                .map(|(c, q)| format!("{} {:.3}", classes[*c], q))
                                .collect();
                            println!(
                                "{}\t{}\t{:.3}\t{}",
                                file.display(),
                                r.predicted,
                                best,
                                top.join(", ")
                            );
                        }
                    }
                    Err(why) => {
                        failed += 1;
                        eprintln!("skipped {}: {why}", file.display());
                    }
                }
            }
            Ok(if failed > 0 { EXIT_SKIPPED } else { 0 })
        }
    }
}

/// The error and its causes on one line, each cause once (library errors
/// already name their source).
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    models::tune_allocator();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            let locked = err.chain().any(|e| {
                matches!(
                    e.downcast_ref::<StoreError>(),
                    Some(StoreError::Locked { .. })
                ) || matches!(
                    e.downcast_ref::<PipelineError>(),
                    Some(PipelineError::Store(StoreError::Locked { .. }))
                )
            });
            ExitCode::from(if locked { EXIT_LOCKED as u8 } else { 1 })
        }
    }
}
