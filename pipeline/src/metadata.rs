//! The `metadata` stage: for each data folder, find its audio files (or
//! read its manifest), label each with its corpus's reader
//! ([`crate::corpora`], detected from the names unless named), read each
//! audio header (WAV, FLAC, MP3, Ogg, M4A), fingerprint the file, and write
//! `metadata.parquet` plus `rejects/metadata.parquet`.
//!
//! Fingerprints are reused from the previous table when a file's size and
//! modification time are unchanged (as git's index does), so a re-run
//! reads headers only.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use rayon::prelude::*;
use store::fingerprint::file_sha256;
use store::{LockMode, MetadataRow, RejectRow, Store, TableRow};

use crate::audio::{is_audio, read_audio_info};
use crate::corpora::{self, CorpusKind, Labels};
use crate::error::{PipelineError, Result};
use crate::progress;

/// A data folder and how its files are named (`None`: detect).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The folder.
    pub data: PathBuf,
    /// Its corpus; `None` detects it from the names.
    pub corpus: Option<CorpusKind>,
    /// A manifest's paths may point outside its folder (`--allow-outside`).
    pub allow_outside: bool,
}

/// How one source was read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReport {
    /// The folder.
    pub data: PathBuf,
    /// The corpus name.
    pub corpus: String,
    /// Whether the corpus was detected (not named).
    pub detected: bool,
    /// Files that parsed as the corpus, of those found.
    pub parsed: usize,
    /// Files found (or manifest rows).
    pub found: usize,
}

/// What a metadata run did.
#[derive(Debug, Clone)]
pub struct MetadataReport {
    /// Rows written to `metadata.parquet`.
    pub rows: Vec<MetadataRow>,
    /// Files skipped, with the reason.
    pub rejects: Vec<RejectRow>,
    /// Files whose content was hashed this run (the rest reused a fingerprint).
    pub hashed: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Each source, with the corpus it was read as.
    pub sources: Vec<SourceReport>,
}

/// Every audio file (see [`crate::audio::AUDIO_EXTENSIONS`]) under `dir`, sorted.
pub fn find_audio(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir, is_audio)?.files)
}

/// Every `.wav` file under `dir`, sorted.
pub fn find_wavs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir, |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
    })?
    .files)
}

/// What a walk of a folder found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The files kept, sorted.
    pub files: Vec<PathBuf>,
    /// Symbolic links whose target is missing (a file or a folder, say on
    /// storage that is not mounted), sorted, with the reason.
    pub dangling: Vec<(PathBuf, String)>,
}

/// Every file under `dir` that `keep` accepts. Symbolic links are
/// followed (a corpus often lives on shared storage, linked in per actor);
/// a folder reached twice (a link loop, or two links to one folder) is
/// walked once. A dangling link is reported, whatever its name (it may
/// have been a folder of clips).
pub fn walk(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Walk> {
    let mut out = Walk::default();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        // The real folder, so that a loop of links ends.
        let real = fs::canonicalize(&d).map_err(|e| PipelineError::io(&d, e))?;
        if !seen.insert(real) {
            continue;
        }
        let entries = fs::read_dir(&d).map_err(|e| PipelineError::io(&d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| PipelineError::io(&d, e))?;
            let path = entry.path();
            let mut ft = entry.file_type().map_err(|e| PipelineError::io(&path, e))?;
            if ft.is_symlink() {
                match fs::metadata(&path) {
                    Ok(m) => ft = m.file_type(),
                    Err(e) => {
                        let target = fs::read_link(&path)
                            .map(|t| t.display().to_string())
                            .unwrap_or_else(|_| "?".into());
                        out.dangling
                            .push((path, format!("dangling symbolic link to {target} ({e})")));
                        continue;
                    }
                }
            }
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() && keep(&path) {
                out.files.push(path);
            }
        }
    }
    out.files.sort();
    out.dangling.sort();
    Ok(out)
}

/// Size and modification time (ns) of a file.
pub fn stat(path: &Path) -> std::io::Result<(i64, i64)> {
    let m = fs::metadata(path)?;
    let mtime = m
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Ok((m.len() as i64, mtime))
}

fn reject(path: &Path, clip_id: Option<String>, reason: String) -> RejectRow {
    RejectRow {
        stage: "metadata".into(),
        path: path.display().to_string(),
        clip_id,
        reason,
    }
}

fn describe(
    path: &Path,
    corpus: &str,
    labels: &std::result::Result<Labels, String>,
    previous: &HashMap<String, (i64, i64, String)>,
) -> (std::result::Result<MetadataRow, RejectRow>, bool) {
    let l = match labels {
        Ok(l) => l,
        Err(e) => return (Err(reject(path, None, e.clone())), false),
    };
    let clip_id = l.clip_id.clone();
    let info = match read_audio_info(path) {
        Ok(i) => i,
        Err(e) => return (Err(reject(path, Some(clip_id), e.to_string())), false),
    };
    let (size, mtime) = match stat(path) {
        Ok(s) => s,
        Err(e) => {
            return (
                Err(reject(path, Some(clip_id), format!("cannot stat: {e}"))),
                false,
            )
        }
    };
    let key = path.display().to_string();
    let (fingerprint, hashed) = match previous.get(&key) {
        Some((s, m, fp)) if *s == size && *m == mtime => (fp.clone(), false),
        _ => match file_sha256(path) {
            Ok(fp) => (fp, true),
            Err(e) => return (Err(reject(path, Some(clip_id), e.to_string())), false),
        },
    };
    let [modality, vocal_channel, intensity, statement, repetition] = l.ravdess;
    let row = MetadataRow {
        clip_id,
        path: key,
        modality: modality as i32,
        vocal_channel: vocal_channel as i32,
        emotion: l.emotion as i32,
        emotion_name: l.emotion_name.clone(),
        intensity: intensity as i32,
        statement: statement as i32,
        repetition: repetition as i32,
        actor: l.actor as i32,
        gender: l.gender.clone(),
        corpus: corpus.to_string(),
        speaker: l.speaker.clone(),
        sample_rate: info.sample_rate as i32,
        channels: info.channels as i32,
        bits_per_sample: info.bits_per_sample as i32,
        sample_format: info.format.as_str().into(),
        n_samples: info.n_samples as i64,
        duration_s: info.duration_s(),
        fingerprint,
        size_bytes: size,
        mtime_ns: mtime,
    };
    (Ok(row), hashed)
}

/// A file to describe: its path, corpus and labels (or why not).
type Item = (PathBuf, String, std::result::Result<Labels, String>);

/// The files of one source, labelled.
fn gather(src: &Source, manifests: &mut u32) -> Result<(Vec<Item>, SourceReport)> {
    let data = fs::canonicalize(&src.data).map_err(|e| PipelineError::io(&src.data, e))?;
    if let Some(CorpusKind::Csv(file)) = &src.corpus {
        let kind = CorpusKind::Csv(file.clone());
        let opts = corpora::ManifestOptions {
            base: 10_000 + 1000 * *manifests,
            allow_outside: src.allow_outside,
        };
        let rows = corpora::read_manifest_with(file, &opts).map_err(PipelineError::Config)?;
        *manifests += 1;
        let name = kind.name();
        let parsed = rows.iter().filter(|r| r.labels.is_ok()).count();
        let report = SourceReport {
            data,
            corpus: name.clone(),
            detected: false,
            parsed,
            found: rows.len(),
        };
        let items = rows
            .into_iter()
            .map(|r| (r.path, name.clone(), r.labels))
            .collect();
        return Ok((items, report));
    }
    let Walk { files, dangling } = walk(&data, is_audio)?;
    if files.is_empty() && dangling.is_empty() {
        return Err(PipelineError::NoAudio { dir: data });
    }
    let (kind, detected) = match &src.corpus {
        Some(k) => (Some(k.clone()), false),
        None if files.is_empty() => (None, false),
        None => match corpora::detect(&files, &data) {
            Some((k, _)) => (Some(k), true),
            None => {
                return Err(PipelineError::Config(format!(
                    "{}: cannot tell which corpus these {} files are (no reader parses half their names): name it with --corpus",
                    data.display(),
                    files.len()
                )))
            }
        },
    };
    let name = kind
        .as_ref()
        .map_or_else(|| "unknown".into(), CorpusKind::name);
    let mut items: Vec<Item> = match &kind {
        Some(kind) => files
            .par_iter()
            .map(|f| (f.clone(), name.clone(), corpora::label(kind, f, &data)))
            .collect(),
        None => Vec::new(),
    };
    let parsed = items.iter().filter(|i| i.2.is_ok()).count();
    items.extend(
        dangling
            .into_iter()
            .map(|(p, why)| (p, name.clone(), Err(why))),
    );
    let report = SourceReport {
        data,
        corpus: name,
        detected,
        parsed,
        found: items.len(),
    };
    Ok((items, report))
}

/// The error of a run that labelled no file: what each source was read
/// as, and the first few reasons.
fn nothing_labelled(
    sources: &[Source],
    reports: &[SourceReport],
    rejects: &[RejectRow],
    kept: bool,
) -> PipelineError {
    let what: Vec<String> = reports
        .iter()
        .zip(sources)
        .map(|(r, s)| {
            let hint = if s.corpus.is_some() && r.parsed == 0 && r.found > 0 {
                " (is --corpus right?)"
            } else {
                ""
            };
            format!(
                "{} read as {}: {} of {} files labelled{hint}",
                r.data.display(),
                r.corpus,
                r.parsed,
                r.found
            )
        })
        .collect();
    const FIRST: usize = 3;
    let mut reasons: Vec<String> = rejects
        .iter()
        .take(FIRST)
        .map(|r| format!("{}: {}", r.path, r.reason))
        .collect();
    if rejects.len() > FIRST {
        reasons.push(format!("and {} more", rejects.len() - FIRST));
    }
    PipelineError::NothingLabelled {
        what: what.join("; "),
        reasons: reasons.join("; "),
        kept: if kept {
            "nothing in the store was changed".into()
        } else {
            "no store was created".into()
        },
    }
}

/// Runs the metadata stage over `sources` into the store at `root`
/// (marking a store of an older format as this build's). The store is
/// created only when at least one file is labelled: a run that labels
/// nothing (every file rejected, a wrong `--corpus`, a manifest of missing
/// files) is [`PipelineError::NothingLabelled`] and replaces nothing.
pub fn run_metadata(
    root: &Path,
    sources: &[Source],
    show_progress: bool,
) -> Result<(Store, MetadataReport)> {
    let t0 = Instant::now();
    let existing = if root.join("STORE.json").exists() {
        Some(Store::open(root)?)
    } else {
        // A folder `Store::create` would refuse is refused before any work
        // (it creates nothing then).
        if fs::read_dir(root).is_ok_and(|mut d| d.next().is_some()) {
            Store::create(root)?;
        }
        None
    };
    // An existing store is locked for the whole run, as every writer does.
    let early_lock = match &existing {
        Some(store) => Some(store.lock(LockMode::Exclusive, "ser metadata")?),
        None => None,
    };
    let mut manifests = 0;
    let mut items: Vec<Item> = Vec::new();
    let mut reports = Vec::new();
    for src in sources {
        let (mut i, r) = gather(src, &mut manifests)?;
        items.append(&mut i);
        reports.push(r);
    }
    let previous: HashMap<String, (i64, i64, String)> = match &existing {
        Some(store) => match MetadataRow::read(&store.metadata_path()) {
            Ok(rows) => rows
                .into_iter()
                .map(|r| (r.path, (r.size_bytes, r.mtime_ns, r.fingerprint)))
                .collect(),
            Err(_) => HashMap::new(),
        },
        None => HashMap::new(),
    };
    let pb = progress::bar(items.len() as u64, "metadata", show_progress);
    let results: Vec<_> = items
        .par_iter()
        .map(|(p, corpus, labels)| {
            // A bug on one file is a reject naming it, not the end of the run.
            let r = crate::panic_guard::catch(|| describe(p, corpus, labels, &previous))
                .unwrap_or_else(|why| (Err(reject(p, None, why)), false));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();

    let mut rows: Vec<MetadataRow> = Vec::new();
    let mut rejects = Vec::new();
    let mut hashed = 0;
    let mut seen: HashMap<String, String> = HashMap::new();
    for (r, h) in results {
        hashed += h as usize;
        match r {
            Ok(row) => {
                if let Some(first) = seen.get(&row.clip_id) {
                    let reason = format!("duplicate clip id {}: also at {first}", row.clip_id);
                    rejects.push(reject(
                        Path::new(&row.path),
                        Some(row.clip_id.clone()),
                        reason,
                    ));
                } else {
                    seen.insert(row.clip_id.clone(), row.path.clone());
                    rows.push(row);
                }
            }
            Err(rej) => rejects.push(rej),
        }
    }
    if rows.is_empty() {
        return Err(nothing_labelled(
            sources,
            &reports,
            &rejects,
            existing.is_some(),
        ));
    }
    rows.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
    let store = match existing {
        Some(store) => store,
        None => Store::create(root)?,
    };
    let _lock = match early_lock {
        Some(lock) => lock,
        None => store.lock(LockMode::Exclusive, "ser metadata")?,
    };
    MetadataRow::write(&store.metadata_path(), &rows)?;
    RejectRow::write(&store.rejects_path("metadata"), &rejects)?;
    store.upgrade_format()?;
    let report = MetadataReport {
        rows,
        rejects,
        hashed,
        seconds: t0.elapsed().as_secs_f64(),
        sources: reports,
    };
    Ok((store, report))
}
