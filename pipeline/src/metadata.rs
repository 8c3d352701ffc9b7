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
use store::{LockMode, MetadataRow, RejectRow, Store};

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
    find_files(dir, is_audio)
}

/// Every `.wav` file under `dir`, sorted.
pub fn find_wavs(dir: &Path) -> Result<Vec<PathBuf>> {
    find_files(dir, |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
    })
}

/// Every file under `dir` that `keep` accepts, sorted. Symbolic links are
/// followed (a corpus often lives on shared storage, linked in per actor);
/// a folder reached twice (a link loop, or two links to one folder) is
/// walked once. A dangling link is skipped.
fn find_files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
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
                    Err(_) => continue, // dangling
                }
            }
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() && keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
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
        let rows = corpora::read_manifest(file, 10_000 + 1000 * *manifests)
            .map_err(PipelineError::Config)?;
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
    let files = find_audio(&data)?;
    if files.is_empty() {
        return Err(PipelineError::NoAudio { dir: data });
    }
    let (kind, detected) = match &src.corpus {
        Some(k) => (k.clone(), false),
        None => match corpora::detect(&files, &data) {
            Some((k, _)) => (k, true),
            None => {
                return Err(PipelineError::Config(format!(
                    "{}: cannot tell which corpus these {} files are (no reader parses half their names): name it with --corpus",
                    data.display(),
                    files.len()
                )))
            }
        },
    };
    let name = kind.name();
    let items: Vec<Item> = files
        .par_iter()
        .map(|f| (f.clone(), name.clone(), corpora::label(&kind, f, &data)))
        .collect();
    let report = SourceReport {
        data,
        corpus: name,
        detected,
        parsed: items.iter().filter(|i| i.2.is_ok()).count(),
        found: items.len(),
    };
    Ok((items, report))
}

/// Runs the metadata stage over `sources`, writing into `store` (and
/// marking a store of an older format as this build's).
pub fn run_metadata(
    store: &Store,
    sources: &[Source],
    show_progress: bool,
) -> Result<MetadataReport> {
    let t0 = Instant::now();
    let _lock = store.lock(LockMode::Exclusive, "ser metadata")?;
    let mut manifests = 0;
    let mut items: Vec<Item> = Vec::new();
    let mut reports = Vec::new();
    for src in sources {
        let (mut i, r) = gather(src, &mut manifests)?;
        items.append(&mut i);
        reports.push(r);
    }
    let previous: HashMap<String, (i64, i64, String)> =
        match MetadataRow::read(&store.metadata_path()) {
            Ok(rows) => rows
                .into_iter()
                .map(|r| (r.path, (r.size_bytes, r.mtime_ns, r.fingerprint)))
                .collect(),
            Err(_) => HashMap::new(),
        };
    let pb = progress::bar(items.len() as u64, "metadata", show_progress);
    let results: Vec<_> = items
        .par_iter()
        .map(|(p, corpus, labels)| {
            let r = describe(p, corpus, labels, &previous);
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
    rows.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
    MetadataRow::write(&store.metadata_path(), &rows)?;
    RejectRow::write(&store.rejects_path("metadata"), &rejects)?;
    store.upgrade_format()?;
    Ok(MetadataReport {
        rows,
        rejects,
        hashed,
        seconds: t0.elapsed().as_secs_f64(),
        sources: reports,
    })
}
