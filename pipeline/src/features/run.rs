//! Running the features stage: plan, compute what changed in parallel,
//! write immutable part files, commit the manifest as shards finish.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use rayon::prelude::*;
use store::fingerprint::file_sha256;
use store::shard::write_shard;
use store::{
    LockMode, Manifest, MetadataRow, PartEntry, RejectRow, Rejected, ShardEntry, Store, TableRow,
};

use super::set::save_feature_config;
use super::{compute_clip, plan_shards, Extractors, FeatureConfig, ShardPlan, ShardSpec};
use crate::error::{PipelineError, Result};
use crate::metadata::stat;
use crate::progress;

/// How a features run behaves (not what it computes: that is [`FeatureConfig`]).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Compute only this slice; `None` computes every shard and owns the store.
    pub shard: Option<ShardSpec>,
    /// Draw a progress bar.
    pub show_progress: bool,
    /// Finished shards are committed at most this often (0: after each).
    pub commit_every: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            shard: None,
            show_progress: true,
            commit_every: Duration::from_secs(1),
        }
    }
}

/// What a features run did.
#[derive(Debug, Clone, Default)]
pub struct FeaturesReport {
    /// The feature set id.
    pub set_id: String,
    /// Shards this run is responsible for.
    pub shards_total: usize,
    /// Shards computed this run.
    pub shards_computed: usize,
    /// Clips computed this run.
    pub clips_computed: usize,
    /// Shards dropped because their actor is gone from the metadata.
    pub shards_removed: usize,
    /// Files a crashed run had left behind, removed.
    pub leftovers_removed: usize,
    /// Shards whose part files were on disk but in no readable manifest
    /// (a lost manifest version, a run killed before its commit), taken
    /// back without computing.
    pub shards_adopted: usize,
    /// Clips whose file changed since `ser metadata` (re-fingerprinted).
    pub refingerprinted: usize,
    /// Rows per variant in the set after the run.
    pub rows: BTreeMap<String, u64>,
    /// Clips of this set that were skipped, with the reason.
    pub rejects: Vec<Rejected>,
    /// Manifest version after the run.
    pub manifest_version: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl FeaturesReport {
    /// The one-line summary `ser features` prints.
    pub fn summary(&self) -> String {
        let rows: Vec<String> = self.rows.iter().map(|(v, n)| format!("{n} {v}")).collect();
        let rows = if rows.is_empty() {
            "no rows".to_string()
        } else {
            format!("{} rows", rows.join(" + "))
        };
        if self.is_noop() {
            format!(
                "features: set {}: nothing to do, {} shards up to date ({rows}) in {:.3}s",
                self.set_id, self.shards_total, self.seconds
            )
        } else {
            format!(
                "features: set {}: computed {} of {} shards ({} clips, {} stale shards removed) in {:.2}s; {rows}; manifest v{}",
                self.set_id,
                self.shards_computed,
                self.shards_total,
                self.clips_computed,
                self.shards_removed,
                self.seconds,
                self.manifest_version
            )
        }
    }

    /// Whether the run computed or removed nothing.
    pub fn is_noop(&self) -> bool {
        self.shards_computed == 0 && self.shards_removed == 0 && self.shards_adopted == 0
    }
}

/// Runs the features stage. With `shard`, computes only that slice and
/// may run beside other workers on the same store.
pub fn run_features(
    store: &Store,
    cfg: &FeatureConfig,
    opts: &RunOptions,
) -> Result<FeaturesReport> {
    let t0 = Instant::now();
    let shard = opts.shard;
    cfg.validate().map_err(PipelineError::Config)?;
    let what = match shard {
        Some(s) => format!("ser features --shard {}/{}", s.index, s.count),
        None => "ser features".to_string(),
    };
    let mode = if shard.is_some() {
        LockMode::Shared
    } else {
        LockMode::Exclusive
    };
    let lock = store.lock(mode, &what)?;
    let mut report = FeaturesReport {
        set_id: cfg.id(),
        ..FeaturesReport::default()
    };
    let meta_path = store.metadata_path();
    if !meta_path.is_file() {
        return Err(PipelineError::NoMetadata { path: meta_path });
    }
    let mut clips = MetadataRow::read(&meta_path)?;
    if clips.is_empty() {
        let rejects = store.rejects_path("metadata");
        return Err(PipelineError::NoClips {
            rejected: RejectRow::read(&rejects).map_or(0, |r| r.len()),
            path: meta_path,
            rejects,
        });
    }
    report.refingerprinted = refresh_fingerprints(&mut clips);

    let set_id = report.set_id.clone();
    let plans = plan_shards(&set_id, &clips);
    let mine: Vec<&ShardPlan> = plans
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.owns(*i)))
        .map(|(_, p)| p)
        .collect();
    report.shards_total = mine.len();
    let manifest = store.latest_manifest()?;
    let todo: Vec<&ShardPlan> = mine
        .into_iter()
        .filter(|p| !p.is_current(store, &manifest, &set_id))
        .collect();
    // Part files no readable manifest lists are taken back, not recomputed
    // (and, before this, never deleted: a lost manifest cost every shard).
    let adopted: Vec<(String, ShardEntry)> = todo
        .par_iter()
        .filter(|p| !p.is_listed(&manifest, &set_id))
        .filter_map(|p| {
            p.adopt(store, &set_id, &cfg.variants())
                .map(|e| (p.key.clone(), e))
        })
        .collect();
    let todo: Vec<&ShardPlan> = todo
        .into_iter()
        .filter(|p| !adopted.iter().any(|(k, _)| *k == p.key))
        .collect();
    let manifest = if adopted.is_empty() {
        manifest
    } else {
        report.shards_adopted = adopted.len();
        store.commit(&what, |m| {
            let set = m.sets.entry(set_id.clone()).or_default();
            for (k, e) in adopted {
                set.shards.insert(k, e);
            }
            Ok(true)
        })?
    };
    let stale: Vec<String> = match (shard, manifest.sets.get(&set_id)) {
        (None, Some(set)) => {
            let keys: BTreeSet<&str> = plans.iter().map(|p| p.key.as_str()).collect();
            set.shards
                .keys()
                .filter(|k| !keys.contains(k.as_str()))
                .cloned()
                .collect()
        }
        _ => Vec::new(),
    };

    let mut final_manifest = manifest;
    if !todo.is_empty() {
        save_feature_config(store, cfg)?;
        let all: Vec<&MetadataRow> = todo.iter().flat_map(|p| p.clips.iter()).collect();
        let extractors = Extractors::new(cfg, &all).map_err(PipelineError::Config)?;
        let pb = progress::bar(all.len() as u64, "features", opts.show_progress);
        let job = Job {
            store,
            cfg,
            set_id: &set_id,
            ex: &extractors,
            pb: &pb,
        };
        final_manifest = compute_and_commit(&job, &todo, &what, opts.commit_every)?;
        pb.finish_and_clear();
        report.shards_computed = todo.len();
        report.clips_computed = all.len();
    }
    if !stale.is_empty() {
        final_manifest = store.commit(&what, |m| {
            if let Some(set) = m.sets.get_mut(&set_id) {
                for k in &stale {
                    set.shards.remove(k);
                }
            }
            Ok(true)
        })?;
        report.shards_removed = stale.len();
    }
    if mode == LockMode::Exclusive {
        // Last, so that the parts this run adopted are listed by then.
        report.leftovers_removed = store.gc(&lock)?;
    }
    summarise(&final_manifest, &set_id, &mut report);
    if !report.is_noop() {
        let rows: Vec<RejectRow> = report
            .rejects
            .iter()
            .map(|r| RejectRow {
                stage: "features".into(),
                path: r.path.clone(),
                clip_id: Some(r.clip_id.clone()),
                reason: r.reason.clone(),
            })
            .collect();
        RejectRow::write(&store.rejects_path("features"), &rows)?;
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Re-fingerprints clips whose size or mtime changed since `ser metadata`.
fn refresh_fingerprints(clips: &mut [MetadataRow]) -> usize {
    clips
        .par_iter_mut()
        .map(|c| {
            let path = Path::new(&c.path);
            match stat(path) {
                Ok((size, mtime)) if size == c.size_bytes && mtime == c.mtime_ns => 0,
                Ok(_) => match file_sha256(path) {
                    Ok(fp) => {
                        c.fingerprint = fp;
                        1
                    }
                    Err(_) => 0,
                },
                // A vanished file fails, with its name, when its shard is computed.
                Err(_) => {
                    c.fingerprint = "missing".into();
                    1
                }
            }
        })
        .sum()
}

fn summarise(m: &Manifest, set_id: &str, report: &mut FeaturesReport) {
    report.manifest_version = m.version;
    if let Some(set) = m.sets.get(set_id) {
        for sh in set.shards.values() {
            for p in &sh.parts {
                *report.rows.entry(p.variant.clone()).or_default() += p.rows;
            }
            report.rejects.extend(sh.rejected.iter().cloned());
        }
    }
}

type ShardResult = Result<(String, ShardEntry)>;

/// What every shard of a run shares.
struct Job<'a> {
    store: &'a Store,
    cfg: &'a FeatureConfig,
    set_id: &'a str,
    ex: &'a Extractors,
    pb: &'a ProgressBar,
}

fn compute_and_commit(
    job: &Job,
    todo: &[&ShardPlan],
    what: &str,
    commit_every: Duration,
) -> Result<Manifest> {
    let (store, set_id) = (job.store, job.set_id);
    let (tx, rx) = mpsc::channel::<ShardResult>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            todo.par_iter().for_each_with(tx, |tx, plan| {
                let _ = tx.send(compute_shard(job, plan));
            });
        });
        let mut pending: Vec<(String, ShardEntry)> = Vec::new();
        let mut first_error: Option<PipelineError> = None;
        let mut last_commit = Instant::now();
        let mut manifest = None;
        let mut commit = |pending: &mut Vec<(String, ShardEntry)>| -> Result<()> {
            let batch = std::mem::take(pending);
            manifest = Some(store.commit(what, |m| {
                let set = m.sets.entry(set_id.to_string()).or_default();
                for (k, e) in batch {
                    set.shards.insert(k, e);
                }
                Ok(true)
            })?);
            Ok(())
        };
        for result in rx {
            match result {
                Ok(done) => pending.push(done),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            if !pending.is_empty() && last_commit.elapsed() >= commit_every {
                if let Err(e) = commit(&mut pending) {
                    first_error.get_or_insert(e);
                }
                last_commit = Instant::now();
            }
        }
        if !pending.is_empty() {
            if let Err(e) = commit(&mut pending) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => match manifest {
                Some(m) => Ok(m),
                None => store.latest_manifest().map_err(PipelineError::from),
            },
        }
    })
}

fn compute_shard(job: &Job, plan: &ShardPlan) -> ShardResult {
    let Job {
        store,
        cfg,
        set_id,
        ex,
        pb,
    } = *job;
    let results: Vec<_> = plan
        .clips
        .par_iter()
        .map(|c| {
            // A bug on one clip is a reject naming it, recorded in the
            // manifest, so a re-run does not meet it again.
            let r = crate::panic_guard::catch(|| compute_clip(c, cfg, ex)).and_then(|r| r);
            pb.inc(1);
            (c, r)
        })
        .collect();
    let variants = cfg.variants();
    let mut by_variant: Vec<Vec<store::FeatureRow>> = vec![Vec::new(); variants.len()];
    let mut rejected = Vec::new();
    for (clip, r) in results {
        match r {
            Ok(rows) => {
                for (k, row) in rows.into_iter().enumerate().take(variants.len()) {
                    by_variant[k].push(row);
                }
            }
            Err(reason) => rejected.push(Rejected {
                clip_id: clip.clip_id.clone(),
                path: clip.path.clone(),
                reason,
            }),
        }
    }
    let mut parts = Vec::new();
    for (variant, rows) in variants.iter().zip(&by_variant) {
        if rows.is_empty() {
            continue;
        }
        let rel = Store::part_rel_path(set_id, variant, plan.actor, &plan.digest);
        let sum = write_shard(&store.resolve(&rel), rows)?;
        parts.push(PartEntry::new(variant, rel, rows.len(), sum));
    }
    let entry = ShardEntry {
        digest: plan.digest.clone(),
        inputs: plan.inputs.clone(),
        parts,
        rejected,
    };
    Ok((plan.key.clone(), entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_summary_says_rows_once() {
        let empty = FeaturesReport::default();
        let line = empty.summary();
        assert!(line.contains("(no rows)"), "{line}");
        assert!(!line.contains("rows rows"), "{line}");
        let full = FeaturesReport {
            rows: BTreeMap::from([("clean".into(), 3), ("noisy".into(), 3)]),
            ..FeaturesReport::default()
        };
        let line = full.summary();
        assert!(line.contains("(3 clean + 3 noisy rows)"), "{line}");
    }
}
