//! Publishing a run: once every fold of the plan is kept under
//! `runs/.folds/<run>/`, gather their results into the run's tables and
//! weights, write them into a staging folder and publish it with one
//! rename. One collector at a time (`COLLECT.lock`); a run already
//! published is left as it is.

use std::collections::HashMap;
use std::path::PathBuf;

use models::zoo::encode_safetensors;
use store::runs::{HistoryRow, PredictionRow, SummaryRow};
use store::Store;

use super::config::RunConfig;
use super::fold::{load_fold, FoldResult};
use super::tables::{Pooled, Tables};
use crate::error::Result;

/// Publishes `runs/<run>/` from its kept folds (all must be there) and
/// removes them. Returns the run folder.
pub fn collect(store: &Store, config: &RunConfig) -> Result<PathBuf> {
    let _lock = store.collect_lock(&config.run)?;
    let dir = store.run_dir(&config.run);
    if dir.join("summary.parquet").exists() && store.folds_done(&config.run)?.is_empty() {
        return Ok(dir); // another collector published it while we waited
    }
    let mut tables = Tables::new(&config.run, &config.classes);
    let mut pooled = Pooled::default();
    let mut weights = Vec::new();
    for &k in &config.folds {
        let (r, w) = load_fold(store, &config.run, k)?;
        add_fold(&mut tables, &mut pooled, config, &r);
        weights.extend(w);
    }
    tables.pooled(&pooled);
    tables.mean_summary();

    let stage = store.stage_run(&config.run)?;
    store.write_json(&stage.path("config.json"), config)?;
    tables.write(&stage)?;
    let meta = HashMap::from([
        ("run".to_string(), config.run.clone()),
        ("model".to_string(), config.train.model.name().to_string()),
        ("classes".to_string(), config.classes.join(",")),
        ("window".to_string(), config.window.to_string()),
    ]);
    let bytes = encode_safetensors(&weights, meta)?;
    store::atomic::write_bytes_atomic(&stage.path("model.safetensors"), &bytes)?;
    let dir = stage.publish()?;
    store.remove_folds(&config.run)?;
    Ok(dir)
}

/// A fold's rows in every table.
fn add_fold(tables: &mut Tables, pooled: &mut Pooled, config: &RunConfig, r: &FoldResult) {
    let run = &config.run;
    let names = &config.classes;
    let k = r.fold as i32;
    tables.history.extend(r.history.iter().map(|h| HistoryRow {
        run: run.clone(),
        fold: k,
        epoch: h.epoch as i32,
        split: h.split.clone(),
        loss: h.loss,
        accuracy: h.accuracy,
        uar: h.uar,
        seconds: h.seconds,
    }));
    let actual: Vec<usize> = r.predictions.iter().map(|p| p.actual).collect();
    let pred: Vec<usize> = r.predictions.iter().map(|p| p.predicted).collect();
    let variants: Vec<&str> = r.predictions.iter().map(|p| p.variant.as_str()).collect();
    let by = tables.scores(Some(r.fold), &actual, &pred, &variants);
    pooled.add(&actual, &pred, &variants);
    tables
        .predictions
        .extend(r.predictions.iter().map(|p| PredictionRow {
            run: run.clone(),
            fold: k,
            clip_id: p.clip_id.clone(),
            variant: p.variant.clone(),
            actor: p.actor as i32,
            actual: names[p.actual].clone(),
            predicted: names[p.predicted].clone(),
            probabilities: p.probabilities.clone(),
        }));
    tables.summary.push(SummaryRow {
        run: run.clone(),
        model: config.train.model.name().into(),
        labels: config.train.labels.name(),
        split: config.train.split.name().into(),
        fold: Some(k),
        epochs: config.epochs as i32,
        train_accuracy: r.train_accuracy,
        test_accuracy: by.all.accuracy,
        test_uar: by.all.uar,
        test_macro_f1: by.all.macro_f1,
        test_accuracy_clean: by.clean.accuracy,
        test_accuracy_noisy: by.noisy.accuracy,
        n_train: r.n_train as i64,
        n_test: r.predictions.len() as i64,
        seconds: r.seconds,
    });
}
