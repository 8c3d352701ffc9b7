//! The flags `ser predict` and `ser listen` share: which model classifies
//! (`--run` or `--model`) and how a recording is cut into a timeline.
//! What they print is in `pipeline::answers`.

use std::path::PathBuf;

use anyhow::Result;
use pipeline::bounds;
use pipeline::timeline::SegmentConfig;
use pipeline::train::Predictor;

use crate::flags::{usage, within};

/// How a recording is cut into a timeline (`predict --timeline`, `listen`).
#[derive(clap::Args, Debug, Clone)]
pub struct SegmentArgs {
    /// Segment length in seconds, 0.1..=600 [default: the run's window, 3 s for the defaults].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::SEGMENT_S))]
    pub segment: Option<f64>,
    /// Step between segment starts, seconds, 0.01..=600 (more than a
    /// segment skips the audio between) [default: half a segment].
    #[arg(long, value_name = "SECONDS", value_parser = within(bounds::HOP_S))]
    pub hop: Option<f64>,
    /// Floor of speech (dBFS, -200..=0): nothing quieter is speech. A
    /// recording (or a segment) with under 0.2 s of speech, judged against
    /// its own quiet frames, is `no speech` (`silent`) and not classified.
    #[arg(long, value_name = "DB", default_value_t = pipeline::timeline::SILENCE_DB,
          allow_hyphen_values = true, value_parser = within(bounds::SILENCE_DB))]
    pub silence_db: f64,
}

impl SegmentArgs {
    /// The segmenting of a run's timeline; a usage error if invalid.
    pub fn config(&self, p: &Predictor) -> Result<SegmentConfig> {
        let d = SegmentConfig::for_predictor(p);
        let segment_s = self.segment.unwrap_or(d.segment_s);
        let cfg = SegmentConfig {
            segment_s,
            hop_s: self.hop.unwrap_or(segment_s / 2.0),
            silence_db: self.silence_db,
        };
        cfg.validate().map_err(usage)?;
        Ok(cfg)
    }
}

/// Which fold answers, and when an answer is `uncertain` (predict,
/// listen, serve).
#[derive(clap::Args, Debug, Clone)]
pub struct AnswerFlags {
    /// Use this fold's model only (folds count from 1, as in the run's
    /// tables) [default: the mean of every fold's probabilities].
    #[arg(long, value_parser = within(bounds::FOLD))]
    pub fold: Option<usize>,
    /// Label an answer (a recording or a segment) `uncertain` when its top
    /// probability is below P, in [0, 1] (`ser serve`: a request's
    /// `min_confidence` overrides it) [default: never].
    #[arg(long, value_name = "P", value_parser = within(bounds::PROBABILITY))]
    pub min_confidence: Option<f64>,
}

/// Which model classifies: a run (`--run`) or a model file (`--model`).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct ModelFlags {
    /// Run name, unique prefix of a name or of its hash (`d1ecf452`), or run
    /// folder.
    #[arg(long)]
    pub run: Option<String>,
    /// A model file (`ser model build`); no store needed.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

impl ModelFlags {
    /// Loads the run or model file, and checks that it has fold `fold`.
    pub fn open(&self, store: &std::path::Path, fold: Option<usize>) -> anyhow::Result<Predictor> {
        match (&self.model, &self.run) {
            (Some(file), _) => {
                let p = Predictor::from_model_file(file)?;
                p.check_fold(fold)?;
                Ok(p)
            }
            (None, Some(run)) => Ok(Predictor::open(store, run, fold)?),
            (None, None) => anyhow::bail!("give --run RUN or --model FILE"),
        }
    }
}
