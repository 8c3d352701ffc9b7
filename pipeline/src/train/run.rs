//! `ser train`: plan the run, train the folds it still lacks, publish it
//! once all are in. `--fold K` trains one fold (a job array's worker);
//! `--collect` only publishes.

use std::path::PathBuf;

use models::TrainEvent;
use polars::prelude::DataFrame;
use store::runs;
use store::{LockMode, Store};

use super::collect::collect;
use super::config::TrainStageConfig;
use super::fold::{save_fold, train_fold, FoldResult, KeptFolds};
use super::plan::TrainPlan;
use crate::error::{PipelineError, Result};

/// How to run the stage.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Retrain even if a finished run (or fold) of the same name exists.
    pub force: bool,
    /// Draw a progress bar.
    pub show_progress: bool,
    /// Train only this fold (from 1), e.g. one worker of a job array.
    pub fold: Option<usize>,
    /// Train nothing; publish the run if all its folds are in.
    pub collect_only: bool,
    /// Count training steps on this bar instead of drawing one (a caller
    /// running several trainings under one bar: `ser reproduce`).
    pub bar: Option<indicatif::ProgressBar>,
}

/// Where a run stands after `ser train`.
#[derive(Debug)]
pub enum RunState {
    /// Trained (or collected) and published now.
    Published,
    /// A finished run with this name existed and was reused.
    Reused,
    /// Some folds are still to be trained (by other workers, or later).
    Waiting {
        /// Folds kept so far.
        done: Vec<usize>,
        /// Folds still missing.
        missing: Vec<usize>,
    },
}

/// What a training run did.
#[derive(Debug)]
pub struct TrainOutcome {
    /// Run name.
    pub run: String,
    /// `runs/<run>/` (not there yet while waiting).
    pub dir: PathBuf,
    /// Where the run stands.
    pub state: RunState,
    /// `summary.parquet`, once published.
    pub summary: Option<DataFrame>,
    /// The run's resolved config.
    pub config: super::config::RunConfig,
}

/// Trains (or reuses) the run that `cfg` names on the store's feature set:
/// plan, train the folds still missing (all, or `opts.fold`), publish once
/// every fold is in.
pub fn run_train(
    store: &Store,
    cfg: &TrainStageConfig,
    opts: &TrainOptions,
) -> Result<TrainOutcome> {
    cfg.validate().map_err(PipelineError::Config)?;
    let _lock = store.lock(LockMode::Shared, "ser train")?;
    let plan = TrainPlan::new(store, cfg, opts.show_progress)?;
    let run = plan.run().to_string();
    let dir = store.run_dir(&run);
    let published = dir.join("summary.parquet").exists();
    if published && !opts.force {
        // A collector killed between publishing and cleaning up leaves its folds.
        store.remove_folds(&run)?;
        return outcome(&plan.config, dir, RunState::Reused);
    }
    if let Some(k) = opts.fold {
        if plan.fold(k).is_none() {
            return Err(PipelineError::Config(format!(
                "run {run} has no fold {k} (folds: {})",
                join(&plan.config.folds)
            )));
        }
    }
    if opts.force && opts.fold.is_none() && !opts.collect_only {
        store.remove_folds(&run)?;
    }
    let kept = KeptFolds::read(store, &plan.config)?;
    for u in &kept.unreadable {
        eprintln!(
            "warning: run {run}: kept fold {} is ignored and counts as not trained: {}",
            u.fold, u.error
        );
    }
    let todo = folds_to_train(&kept, opts);
    train_folds(store, &plan, &todo, opts)?;
    // Other workers may have kept folds meanwhile.
    let kept = KeptFolds::read(store, &plan.config)?;
    if !kept.left.is_empty() {
        let (done, missing) = (kept.done, kept.left);
        return outcome(&plan.config, dir, RunState::Waiting { done, missing });
    }
    let dir = collect(store, &plan.config)?;
    outcome(&plan.config, dir, RunState::Published)
}

fn outcome(
    config: &super::config::RunConfig,
    dir: PathBuf,
    state: RunState,
) -> Result<TrainOutcome> {
    let run = config.run.clone();
    let path = dir.join("summary.parquet");
    let summary = match state {
        RunState::Waiting { .. } => None,
        _ => Some(runs::read_summary(&path)?),
    };
    Ok(TrainOutcome {
        run,
        dir,
        state,
        summary,
        config: config.clone(),
    })
}

/// The folds this call trains: the one asked for (again with `--force`),
/// or every fold left; none when only collecting.
fn folds_to_train(kept: &KeptFolds, opts: &TrainOptions) -> Vec<usize> {
    match opts.fold {
        _ if opts.collect_only => Vec::new(),
        Some(k) if opts.force || !kept.done.contains(&k) => vec![k],
        Some(_) => Vec::new(),
        None => kept.left.clone(),
    }
}

/// Training steps (batches) of folds `todo` of `plan`.
pub fn steps_of(plan: &TrainPlan, todo: &[usize]) -> usize {
    let cfg = &plan.config;
    todo.iter()
        .filter_map(|&k| plan.fold(k))
        .map(|f| {
            cfg.resolved().members.max(1)
                * cfg.epochs
                * (f.train.len() * cfg.train.train_variants.len()).div_ceil(cfg.batch_size)
        })
        .sum()
}

/// Trains and keeps each fold in `todo`, with one progress bar over all.
fn train_folds(store: &Store, plan: &TrainPlan, todo: &[usize], opts: &TrainOptions) -> Result<()> {
    let cfg = &plan.config;
    let epochs = cfg.epochs;
    let show = opts.show_progress;
    let own_bar = opts.bar.is_none();
    let pb = opts.bar.clone().unwrap_or_else(|| {
        crate::progress::bar(steps_of(plan, todo) as u64, cfg.train.model.name(), show)
    });
    let log_lines = show && pb.is_hidden();
    for (n, &k) in todo.iter().enumerate() {
        let what = format!(
            "{} fold {k} ({}/{})",
            cfg.train.model.name(),
            n + 1,
            todo.len()
        );
        let mut last_test = f64::NAN;
        let (result, weights) = train_fold(plan, k, &mut |ev| match ev {
            TrainEvent::Step {
                epoch,
                loss,
                accuracy,
                ..
            } => {
                pb.inc(1);
                pb.set_message(format!(
                    "{what} epoch {epoch}/{epochs} loss {loss:.3} acc {accuracy:.3} test acc {last_test:.3}"
                ));
            }
            TrainEvent::Epoch(r) if r.split == "test" => {
                last_test = r.accuracy;
                // No terminal (a log file, CI): a plain line now and then instead of the bar.
                if log_lines && (r.epoch == 1 || r.epoch % 10 == 0 || r.epoch == epochs) {
                    eprintln!(
                        "{what} epoch {}/{epochs}: test loss {:.3} acc {:.3} uar {:.3}",
                        r.epoch, r.loss, r.accuracy, r.uar
                    );
                }
            }
            TrainEvent::Epoch(_) => {}
        })?;
        save_fold(store, plan.run(), &result, &weights)?;
        let line = fold_line(&result, cfg.classes.len(), &what);
        if log_lines || !show {
            eprintln!("{line}");
        } else {
            pb.println(line);
        }
    }
    if own_bar {
        pb.finish_and_clear();
    }
    Ok(())
}

/// One line per finished fold.
fn fold_line(r: &FoldResult, classes: usize, what: &str) -> String {
    if r.predictions.is_empty() {
        return format!(
            "{what}, every clip trains (no test side): train acc {:.3}, {:.0}s",
            r.train_accuracy, r.seconds
        );
    }
    let [all, clean, noisy] = r.scores(classes);
    format!(
        "{what}, test actors {:?}: train acc {:.3}, test acc {:.3} (clean {:.3}, noisy {:.3}), UAR {:.3}, {:.0}s",
        r.test_actors, r.train_accuracy, all.accuracy, clean.accuracy, noisy.accuracy, all.uar, r.seconds
    )
}

fn join(v: &[usize]) -> String {
    v.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
