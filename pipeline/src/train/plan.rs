//! Everything a training run is decided by, resolved once before any fold
//! trains: the feature set and its clips, labels, folds, window and the
//! run's name. Every fold of a run — trained in one process or spread over
//! a job array — starts from the same plan.

use std::path::PathBuf;
use std::sync::OnceLock;

use models::split::{actor_folds, balanced_groups, emobox_groups, random_split, Fold, SplitClip};
use models::{Dataset, ModelKind};
use store::Store;

use super::config::{
    default_train_variants, Norm, RunConfig, SplitKind, TrainStageConfig, Window,
    TRAIN_CODE_VERSION,
};
use super::data::{
    auto_window, data_fingerprint, dataset, load_clips, Clip, Framing, Standardizer, TEST_VARIANTS,
};
use super::voices::{with_voices, ClipAudio};
use crate::error::{PipelineError, Result};
use crate::features::{pick_set_with, read_feature_config};

/// A resolved run: config, clips, folds, framing.
pub struct TrainPlan {
    /// The run's resolved config (its `config.json`); `config.run` names it.
    pub config: RunConfig,
    /// The labelled clips, sorted by clip id.
    pub clips: Vec<Clip>,
    /// Class of each clip.
    pub classes: Vec<usize>,
    /// Folds to train (each with clips on both sides).
    pub folds: Vec<Fold>,
    /// How clips become training examples.
    pub framing: Framing,
    /// `metadata.parquet`, where the clips' files are listed.
    metadata: PathBuf,
    /// The clips' audio, decoded by the first fold that mixes other voices
    /// into its copies (never for a plan that trains nothing).
    audio: OnceLock<ClipAudio>,
}

/// One fold's examples, standardised with its training side's statistics.
pub struct FoldData {
    /// Per-coefficient statistics of the training side.
    pub norm: Standardizer,
    /// Training examples (the configured variants of each training clip).
    pub train: Dataset,
    /// Test examples (clean and noisy copies of each test clip).
    pub test: Dataset,
    /// `(clip index, variant)` of each test example.
    pub which: Vec<(usize, String)>,
}

impl TrainPlan {
    /// Loads the feature set's clips and resolves the run `cfg` asks for.
    pub fn new(store: &Store, cfg: &TrainStageConfig, show_progress: bool) -> Result<TrainPlan> {
        let (set_id, entry) =
            pick_set_with(store, cfg.feature_set.as_deref(), &cfg.train_variants)?;
        let features = read_feature_config(store, &set_id)?;
        let fingerprint = data_fingerprint(&set_id, &entry);
        let parts: usize = entry.shards.values().map(|s| s.parts.len()).sum();
        let pb = crate::progress::bar(parts as u64, "load", show_progress);
        let mut all = load_clips(store, &set_id, &entry, || pb.inc(1))?;
        pb.finish_and_clear();
        tag_corpora(store, &mut all)?;
        check_variants(&all, cfg, &set_id)?;
        let window = match cfg.window {
            Window::Frames(n) => n,
            // At most the largest window a flag may ask for (a tiny hop
            // would otherwise make 3 s a huge window).
            Window::Auto => auto_window(&all, features.mfcc.hop_length, cfg.model.min_frames())
                .min(crate::bounds::WINDOW.hi),
        };
        let Labelled {
            clips,
            classes,
            labels,
            emotions,
        } = label(all, cfg)?;
        if clips.is_empty() {
            return Err(PipelineError::Config(format!(
                "feature set {set_id} has no clips with {} labels",
                cfg.labels
            )));
        }
        let folds = split(&clips, &classes, cfg);
        if folds.is_empty() {
            return Err(PipelineError::Config(
                "the split has no fold with clips on both sides (too few actors?)".into(),
            ));
        }
        let resolved = cfg.resolved();
        let config = RunConfig {
            run: RunConfig::name_for(cfg, window, &set_id, &fingerprint),
            code: TRAIN_CODE_VERSION,
            train: cfg.clone(),
            epochs: resolved.epochs,
            batch_size: resolved.batch_size,
            optimisation: Some(resolved),
            window,
            classes: labels.classes().to_vec(),
            feature_set: set_id,
            features,
            data_fingerprint: fingerprint,
            clips: clips.len(),
            folds: folds.iter().map(|f| f.number).collect(),
            test_actors: folds.iter().map(|f| test_actors(&clips, f)).collect(),
            corpora: {
                let mut c: Vec<String> = clips.iter().map(|c| c.corpus.clone()).collect();
                c.sort();
                c.dedup();
                c
            },
            emotions,
        };
        Ok(TrainPlan {
            framing: config.framing(),
            config,
            clips,
            classes,
            folds,
            metadata: store.metadata_path(),
            audio: OnceLock::new(),
        })
    }

    /// The run's name.
    pub fn run(&self) -> &str {
        &self.config.run
    }

    /// The fold numbered `k` (from 1), if the plan has it.
    pub fn fold(&self, k: usize) -> Option<&Fold> {
        self.folds.iter().find(|f| f.number == k)
    }

    /// The clips' audio, decoded once, when a fold first needs it.
    fn audio(&self) -> Result<&ClipAudio> {
        if let Some(a) = self.audio.get() {
            return Ok(a);
        }
        let a = ClipAudio::load(&self.metadata, &self.clips, &self.config.features)?;
        Ok(self.audio.get_or_init(|| a))
    }

    /// Fold `fold`'s examples: standardised with its training side's
    /// statistics, trained on the configured variants, tested on both.
    pub fn fold_data(&self, fold: &Fold) -> Result<FoldData> {
        let cfg = &self.config.train;
        let r = self.config.resolved();
        let voiced = match r.voices > 0.0 {
            true => Some(with_voices(
                &self.clips,
                &fold.train,
                &cfg.train_variants,
                self.audio()?,
                &self.config.features,
                r.voices,
                cfg.seed,
                fold.number,
            )?),
            false => None,
        };
        let clips = voiced.as_deref().unwrap_or(&self.clips);
        let norm = match r.norm {
            Norm::Clip => Standardizer::per_clip(),
            n @ (Norm::Train | Norm::Level) => Standardizer::fit(
                fold.train.iter().flat_map(|&i| {
                    cfg.train_variants
                        .iter()
                        .filter_map(move |v| clips[i].variants.get(v))
                }),
                self.framing,
                n == Norm::Level,
            ),
        };
        let train_variants = &cfg.train_variants;
        let (train, _) = dataset(
            clips,
            &fold.train,
            &self.classes,
            train_variants,
            &norm,
            self.framing,
        );
        let test_variants: Vec<String> = TEST_VARIANTS.iter().map(|s| s.to_string()).collect();
        let (test, which) = dataset(
            clips,
            &fold.test,
            &self.classes,
            &test_variants,
            &norm,
            // As every answer of the run frames a clip.
            self.config.answer_framing(),
        );
        Ok(FoldData {
            norm,
            train,
            test,
            which,
        })
    }
}

/// Every variant the run trains on is in the feature set.
fn check_variants(clips: &[Clip], cfg: &TrainStageConfig, set_id: &str) -> Result<()> {
    let have: std::collections::BTreeSet<&String> =
        clips.iter().flat_map(|c| c.variants.keys()).collect();
    for v in &cfg.train_variants {
        if !have.contains(v) {
            let list: Vec<&str> = have.iter().map(|s| s.as_str()).collect();
            return Err(PipelineError::Config(format!(
                "feature set {set_id} has no `{v}` rows (it has {}): `ser features --augment N` \
                 computes the training copies aug1..augN (si-cnn trains on {} unless \
                 --train-variants says otherwise)",
                list.join(", "),
                default_train_variants(ModelKind::SiCnn).join(",")
            )));
        }
    }
    Ok(())
}

/// Each clip's corpus, from `metadata.parquet` (clips it does not list
/// keep `ravdess`, the only corpus before store format 2).
fn tag_corpora(store: &Store, clips: &mut [Clip]) -> Result<()> {
    let path = store.metadata_path();
    if !path.is_file() {
        return Ok(());
    }
    let corpus: std::collections::HashMap<String, String> = store::MetadataRow::read(&path)?
        .into_iter()
        .map(|r| (r.clip_id, r.corpus))
        .collect();
    for c in clips {
        if let Some(k) = corpus.get(&c.clip_id) {
            c.corpus = k.clone();
        }
    }
    Ok(())
}

/// What [`label`] keeps.
struct Labelled {
    /// The clips with a class.
    clips: Vec<Clip>,
    /// Class of each clip.
    classes: Vec<usize>,
    /// The label set resolved for these clips.
    labels: models::Labels,
    /// The emotions a cross-corpus split keeps, by name (else empty).
    emotions: Vec<String>,
}

/// The clips the label set keeps, their classes and the resolved label
/// set (`emotions`: those the kept clips have). A cross-corpus split keeps
/// only its corpora's clips, and only the emotions both its sides have.
fn label(all: Vec<Clip>, cfg: &TrainStageConfig) -> Result<Labelled> {
    let mut all = all;
    let mut emotions = Vec::new();
    if cfg.split == SplitKind::Corpus {
        for name in cfg.train_on.iter().chain(&cfg.test_on) {
            if !all.iter().any(|c| &c.corpus == name) {
                let mut have: Vec<&str> = all.iter().map(|c| c.corpus.as_str()).collect();
                have.sort();
                have.dedup();
                return Err(PipelineError::Config(format!(
                    "no clips of corpus `{name}` in the feature set (corpora: {})",
                    have.join(", ")
                )));
            }
        }
        let side = |names: &[String]| -> std::collections::BTreeSet<u32> {
            all.iter()
                .filter(|c| names.contains(&c.corpus))
                .map(|c| c.emotion)
                .collect()
        };
        let shared: std::collections::BTreeSet<u32> = side(&cfg.train_on)
            .intersection(&side(&cfg.test_on))
            .copied()
            .collect();
        all.retain(|c| {
            (cfg.train_on.contains(&c.corpus) || cfg.test_on.contains(&c.corpus))
                && shared.contains(&c.emotion)
        });
        emotions = shared
            .iter()
            .map(|&e| crate::corpora::name_of(e).to_string())
            .collect();
    }
    let present = all.iter().map(|c| c.emotion).collect();
    let labels = cfg
        .labels
        .resolve(&present)
        .map_err(PipelineError::Config)?;
    let mut clips = Vec::with_capacity(all.len());
    let mut classes = Vec::with_capacity(all.len());
    for c in all {
        if let Some(k) = labels.class_of(c.emotion, &c.gender) {
            classes.push(k);
            clips.push(c);
        }
    }
    Ok(Labelled {
        clips,
        classes,
        labels,
        emotions,
    })
}

/// The split's folds, each with clips on both sides, at most `max_folds`.
fn split(clips: &[Clip], classes: &[usize], cfg: &TrainStageConfig) -> Vec<Fold> {
    let split_clips: Vec<SplitClip> = clips
        .iter()
        .zip(classes)
        .map(|(c, &class)| SplitClip {
            clip_id: c.clip_id.clone(),
            actor: c.actor,
            gender: c.gender.clone(),
            class,
        })
        .collect();
    let mut folds = match cfg.split {
        SplitKind::Random => vec![random_split(
            &split_clips,
            cfg.test_fraction,
            cfg.split_seed,
        )],
        SplitKind::Speakers => {
            let all_ravdess = clips.iter().all(|c| c.corpus == "ravdess");
            let groups = match cfg.folds {
                Some(k) => balanced_groups(&split_clips, k),
                None if all_ravdess => emobox_groups(),
                None => balanced_groups(&split_clips, 6),
            };
            actor_folds(&split_clips, &groups)
        }
        SplitKind::Corpus => {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..clips.len()).partition(|&i| cfg.test_on.contains(&clips[i].corpus));
            vec![Fold {
                number: 1,
                train: train
                    .into_iter()
                    .filter(|&i| cfg.train_on.contains(&clips[i].corpus))
                    .collect(),
                test,
            }]
        }
        SplitKind::All => vec![Fold {
            number: 1,
            train: (0..clips.len()).collect(),
            test: Vec::new(),
        }],
    };
    let all = cfg.split == SplitKind::All;
    folds.retain(|f| !f.train.is_empty() && (all || !f.test.is_empty()));
    folds.truncate(cfg.max_folds.unwrap_or(usize::MAX));
    folds
}

fn test_actors(clips: &[Clip], fold: &Fold) -> Vec<u32> {
    let mut a: Vec<u32> = fold.test.iter().map(|&i| clips[i].actor).collect();
    a.sort_unstable();
    a.dedup();
    a
}
