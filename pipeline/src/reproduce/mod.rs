//! `ser reproduce`: the paper's table and the speaker-independent table in
//! one resumable command.
//!
//! Its steps ([`run_reproduce`]):
//! 1. metadata and features for `--data` (incremental, as the stages are);
//! 2. plan the runs ([`runs::planned`]): the paper protocol (random 75/25
//!    by clip, `gender-emotion14`) for the paper's three models, and the
//!    speaker-independent protocol (EmoBox's folds, `emotion8`) for them
//!    and for our speaker-independent model;
//! 3. print what will run with a time estimate from a short timing of each
//!    model on this machine, then train under one progress bar (finished
//!    runs are reused by their hash and finished folds are kept, so a
//!    killed `ser reproduce` picks up where it stopped);
//! 4. write `reports/paper/REPORT.md` and its figures ([`report`]).

pub mod estimate;
pub mod report;
pub mod runs;

use std::path::PathBuf;

use store::Store;

use crate::error::{PipelineError, Result};
use crate::features::{run_features, FeatureConfig, RunOptions};
use crate::metadata::run_metadata;
use crate::robustness::{measured, parse_conditions, run_robustness, RobustnessConfig};
use crate::train::{run_train, steps_of, KeptFolds, TrainOptions, TrainPlan};
pub use runs::{PlannedRun, Protocol};

/// What `ser reproduce` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ReproduceConfig {
    /// Corpus folder (RAVDESS layout); `None`: the store's metadata as it is.
    pub data: Option<PathBuf>,
    /// Models to run; empty: all.
    pub only: Vec<models::ModelKind>,
    /// Protocols to run; empty: both.
    pub protocols: Vec<Protocol>,
    /// Train only the first N folds of the speaker-independent protocol for
    /// the paper's CNN (the slowest run; the report says so).
    pub max_folds: Option<usize>,
    /// A few epochs of everything (checks the pipeline end to end, not a result).
    pub quick: bool,
    /// The command line, quoted in the report.
    pub command: String,
}

/// What `ser reproduce` did.
#[derive(Debug)]
pub struct ReproduceOutcome {
    /// The runs, in report order, with their names.
    pub runs: Vec<(PlannedRun, String)>,
    /// Runs that were already published (reused).
    pub reused: usize,
    /// `reports/paper/REPORT.md`.
    pub report: PathBuf,
}

/// Runs everything `cfg` asks for on the store at `root` and writes the report.
pub fn run_reproduce(
    root: &std::path::Path,
    cfg: &ReproduceConfig,
    show: bool,
) -> Result<ReproduceOutcome> {
    let planned = runs::planned(cfg)?;
    let store = prepare_data(root, cfg.data.as_deref(), copies_needed(&planned), show)?;
    let plans: Vec<TrainPlan> = planned
        .iter()
        .map(|p| TrainPlan::new(&store, &p.config, false))
        .collect::<Result<_>>()?;
    let todo: Vec<usize> = planned
        .iter()
        .zip(&plans)
        .map(|(_, plan)| remaining_steps(&store, plan))
        .collect::<Result<_>>()?;
    let costs = estimate::seconds_per_step(&planned, &plans, &todo);
    print_plan(&planned, &plans, &todo, &costs);
    let total: usize = todo.iter().sum();
    let bar = crate::progress::bar(total as u64, "reproduce", show);
    let mut reused = 0;
    let mut names = Vec::new();
    for (p, plan) in planned.into_iter().zip(&plans) {
        let opts = TrainOptions {
            show_progress: show,
            bar: Some(bar.clone()),
            ..TrainOptions::default()
        };
        bar.set_message(p.label());
        let out = run_train(&store, &p.config, &opts)?;
        if matches!(out.state, crate::train::RunState::Reused) {
            reused += 1;
        }
        bar.println(format!("reproduce: {} -> {}", p.label(), plan.run()));
        names.push((p, out.run));
    }
    bar.finish_and_clear();
    measure_robustness(&store, &names, cfg, show)?;
    let report = report::write(&store, &names, cfg)?;
    Ok(ReproduceOutcome {
        runs: names,
        reused,
        report,
    })
}

/// The conditions a reproduction measures: all of them, or seven in
/// `--quick` mode (a check that the step runs).
pub fn robustness_config(cfg: &ReproduceConfig) -> RobustnessConfig {
    let mut r = RobustnessConfig::default();
    if cfg.quick {
        r.conditions =
            parse_conditions("clean,level:-20,band:8000,white:10,babble:10,reverb:0.6,speed:1.1")
                .unwrap_or_default();
    }
    r
}

/// `ser robustness` on every speaker-independent run not yet measured.
fn measure_robustness(
    store: &Store,
    runs: &[(PlannedRun, String)],
    cfg: &ReproduceConfig,
    show: bool,
) -> Result<()> {
    let rcfg = robustness_config(cfg);
    for (p, run) in runs {
        if p.protocol == Protocol::Speakers && !measured(&store.run_dir(run), &rcfg) {
            run_robustness(store, run, &rcfg, show)?;
        }
    }
    Ok(())
}

/// The most training copies (`augK`) a planned run trains on.
fn copies_needed(planned: &[PlannedRun]) -> usize {
    planned
        .iter()
        .map(|p| FeatureConfig::copies_for(&p.config.train_variants))
        .max()
        .unwrap_or(0)
}

/// Metadata (when `--data` is given), the default feature set and, when a
/// run trains on `copies` training copies, the set that holds them.
pub(crate) fn prepare_data(
    root: &std::path::Path,
    data: Option<&std::path::Path>,
    copies: usize,
    show: bool,
) -> Result<Store> {
    let store = match data {
        Some(data) => {
            std::fs::read_dir(data).map_err(|e| PipelineError::io(data, e))?;
            let sources = [crate::metadata::Source {
                data: data.to_path_buf(),
                corpus: None,
                allow_outside: false,
            }];
            let (store, r) = run_metadata(root, &sources, show)?;
            for rej in &r.rejects {
                eprintln!("skipped {}: {}", rej.path, rej.reason);
            }
            store
        }
        None => Store::open(root)?,
    };
    let opts = RunOptions {
        show_progress: show,
        ..RunOptions::default()
    };
    let mut sets = vec![FeatureConfig::default()];
    if copies > 0 {
        sets.push(FeatureConfig {
            augment: copies,
            ..FeatureConfig::default()
        });
    }
    for set in &sets {
        let r = run_features(&store, set, &opts)?;
        for rej in &r.rejects {
            eprintln!("skipped {}: {}", rej.path, rej.reason);
        }
    }
    Ok(store)
}

/// Steps still to train for `plan` (0 when published).
fn remaining_steps(store: &Store, plan: &TrainPlan) -> Result<usize> {
    if store.run_dir(plan.run()).join("summary.parquet").exists() {
        return Ok(0);
    }
    let todo = KeptFolds::read(store, &plan.config)?.left;
    Ok(steps_of(plan, &todo))
}

fn print_plan(planned: &[PlannedRun], plans: &[TrainPlan], todo: &[usize], costs: &[f64]) {
    println!("reproduce: {} runs", planned.len());
    let mut total = 0.0;
    for (((p, plan), &steps), &cost) in planned.iter().zip(plans).zip(todo).zip(costs) {
        let minutes = steps as f64 * cost / 60.0;
        total += minutes;
        let state = if steps == 0 {
            "done (reused)".to_string()
        } else {
            format!("~{minutes:.1} min ({steps} steps x {:.0} ms)", 1e3 * cost)
        };
        println!(
            "  {:<34} {} folds x {} epochs, window {}: {state}",
            p.label(),
            plan.config.folds.len(),
            plan.config.epochs,
            plan.config.window
        );
    }
    println!("reproduce: about {total:.0} min to train on this machine (estimated from a timing of each model)");
}
