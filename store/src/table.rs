//! Typed tables kept with polars: [`TableRow`], the one way every table is
//! written, and `metadata.parquet` and `rejects/*.parquet` (a run's tables
//! are in [`crate::runs`]).
//!
//! Rows are plain structs; conversion to and from polars `DataFrame`s and
//! the atomic Parquet write live here, so callers never touch column names.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::atomic;
use crate::error::{Result, StoreError};
use crate::fingerprint::{file_sha256, FileSum, HashingWriter};

/// One clip of the corpus (a row of `metadata.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRow {
    /// File stem, e.g. `03-01-05-01-02-01-12`.
    pub clip_id: String,
    /// Absolute path of the WAV file.
    pub path: String,
    /// Modality code (3 = audio only).
    pub modality: i32,
    /// Vocal channel code (1 speech, 2 song).
    pub vocal_channel: i32,
    /// Emotion code 1-8.
    pub emotion: i32,
    /// Emotion name.
    pub emotion_name: String,
    /// Intensity code (1 normal, 2 strong).
    pub intensity: i32,
    /// Statement code (1 "Kids are talking by the door", 2 "Dogs are sitting by the door").
    pub statement: i32,
    /// Repetition code.
    pub repetition: i32,
    /// Speaker number, unique in the store (RAVDESS: its actor 1-24; other
    /// corpora: see the README's corpus table).
    pub actor: i32,
    /// `male`, `female`, or empty when the corpus does not say.
    pub gender: String,
    /// Corpus: `ravdess`, `crema-d`, `tess`, `savee`, `emodb`, or a CSV
    /// manifest's name.
    pub corpus: String,
    /// The speaker as the corpus names it (`01`, `1001`, `OAF`, `DC`, …).
    pub speaker: String,
    /// Sample rate of the file, Hz.
    pub sample_rate: i32,
    /// Channels in the file.
    pub channels: i32,
    /// Bits per sample.
    pub bits_per_sample: i32,
    /// `int` or `float`.
    pub sample_format: String,
    /// Samples per channel.
    pub n_samples: i64,
    /// Duration in seconds.
    pub duration_s: f64,
    /// SHA-256 of the file's bytes, hex.
    pub fingerprint: String,
    /// File size in bytes (with `mtime_ns`, tells when to re-fingerprint).
    pub size_bytes: i64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: i64,
}

/// An input a stage skipped (a row of `rejects/<stage>.parquet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    /// The stage (`metadata`, `features`).
    pub stage: String,
    /// The file.
    pub path: String,
    /// The clip id, if the name parsed.
    pub clip_id: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

fn pl_err(path: &Path) -> impl Fn(PolarsError) -> StoreError + '_ {
    move |source| StoreError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a DataFrame as zstd Parquet at `path`, atomically (for tables
/// without a row type; rows go through [`TableRow::write`]).
pub fn write_frame(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_frame_sum(path, df).map(|_| ())
}

/// [`write_frame`], returning the file's size and SHA-256 (hashed as it
/// is written).
fn write_frame_sum(path: &Path, df: &mut DataFrame) -> Result<FileSum> {
    atomic::write_file_atomic(path, |file, _| {
        let mut out = HashingWriter::new(file);
        ParquetWriter::new(&mut out)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(df)
            .map_err(pl_err(path))?;
        Ok(out.finish().1)
    })
}

/// Builds a column named `$name` from a field of every row.
macro_rules! col {
    ($rows:expr, $name:literal, $f:expr) => {
        Column::new($name.into(), $rows.iter().map($f).collect::<Vec<_>>())
    };
}
pub(crate) use col;

/// The row type of a table the store writes (`metadata`, `rejects`, and a
/// run's `history`, `metrics`, `confusion`, `predictions`, `summary`):
/// every table is written by [`TableRow::write`].
pub trait TableRow: Sized {
    /// The table's file, as `docs/store-format.md` names it.
    const FILE: &'static str;

    /// Whether the table has a checksum file ([`sum_path`]): `metadata`
    /// and `rejects` do, so readers and `ser check` can tell a damaged
    /// table from a good one; run tables do not.
    const CHECKSUM: bool;

    /// The columns of `rows`, with the contract's names.
    fn columns(rows: &[Self]) -> Vec<Column>;

    /// `rows` as a DataFrame.
    fn to_frame(rows: &[Self]) -> Result<DataFrame> {
        DataFrame::new_infer_height(Self::columns(rows)).map_err(pl_err(Path::new(Self::FILE)))
    }

    /// Writes `rows` as zstd Parquet at `path`, atomically (an empty table
    /// if there are none), then its checksum file if it has one.
    fn write(path: &Path, rows: &[Self]) -> Result<()> {
        let mut df = DataFrame::new_infer_height(Self::columns(rows)).map_err(pl_err(path))?;
        let sum = write_frame_sum(path, &mut df)?;
        if Self::CHECKSUM {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let line = format!("{}  {name}\n", sum.sha256);
            atomic::write_bytes_atomic(&sum_path(path), line.as_bytes())?;
        }
        Ok(())
    }
}

/// Reads a Parquet file into a DataFrame. A file that is not Parquet
/// (garbled, truncated) is [`StoreError::Damaged`].
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| StoreError::damaged(path, e))
}

/// The checksum file of a store table: `<table>.sha256`, one line in
/// `sha256sum` format (`sha256sum -c` checks it too).
pub fn sum_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

/// Checks a store table against its checksum file, if it has one (tables
/// written before `ser check` existed have none). A mismatch is
/// [`StoreError::Damaged`].
pub fn verify_table(path: &Path) -> Result<()> {
    let sums = sum_path(path);
    let read = atomic::if_exists(std::fs::read_to_string(&sums));
    let Some(text) = read.map_err(|e| StoreError::damaged(&sums, e))? else {
        return Ok(());
    };
    let want = text.split_whitespace().next().unwrap_or_default();
    if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::damaged(&sums, "not a SHA-256 line"));
    }
    let got = file_sha256(path)?;
    if !got.eq_ignore_ascii_case(want) {
        return Err(StoreError::damaged(
            path,
            format!("its SHA-256 is not the one recorded in {}", sums.display()),
        ));
    }
    Ok(())
}

/// Reads a store table with `read`, checked against its checksum file
/// first; whatever makes it unreadable (garbled bytes, missing columns,
/// nulls) is [`StoreError::Damaged`] naming it.
fn read_table<T>(path: &Path, read: impl FnOnce(DataFrame) -> Result<T>) -> Result<T> {
    if !path.exists() {
        // The plain "no such file" error, naming it.
        File::open(path).map_err(|e| StoreError::io(path, e))?;
    }
    verify_table(path)?;
    let df = read_frame(path)?;
    read(df).map_err(|e| e.into_damaged(path))
}

fn strs(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<String>>> {
    let c = df.column(name).map_err(pl_err(path))?;
    let s = c.str().map_err(pl_err(path))?;
    Ok(s.iter().map(|v| v.map(str::to_string)).collect())
}

fn req_strs(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>> {
    strs(df, name, path)?
        .into_iter()
        .map(|v| v.ok_or_else(|| StoreError::invalid(path, format!("null in column `{name}`"))))
        .collect()
}

fn nums<T, F>(df: &DataFrame, name: &str, path: &Path, get: F) -> Result<Vec<T>>
where
    F: Fn(&Column) -> PolarsResult<Vec<Option<T>>>,
{
    let c = df.column(name).map_err(pl_err(path))?;
    get(c)
        .map_err(pl_err(path))?
        .into_iter()
        .map(|v| v.ok_or_else(|| StoreError::invalid(path, format!("null in column `{name}`"))))
        .collect()
}

fn i32s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<i32>> {
    nums(df, name, path, |c| Ok(c.i32()?.iter().collect()))
}

fn i64s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<i64>> {
    nums(df, name, path, |c| Ok(c.i64()?.iter().collect()))
}

fn f64s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>> {
    nums(df, name, path, |c| Ok(c.f64()?.iter().collect()))
}

impl TableRow for MetadataRow {
    const FILE: &'static str = "metadata.parquet";
    const CHECKSUM: bool = true;

    fn columns(rows: &[MetadataRow]) -> Vec<Column> {
        vec![
            col!(rows, "clip_id", |r| r.clip_id.clone()),
            col!(rows, "path", |r| r.path.clone()),
            col!(rows, "modality", |r| r.modality),
            col!(rows, "vocal_channel", |r| r.vocal_channel),
            col!(rows, "emotion", |r| r.emotion),
            col!(rows, "emotion_name", |r| r.emotion_name.clone()),
            col!(rows, "intensity", |r| r.intensity),
            col!(rows, "statement", |r| r.statement),
            col!(rows, "repetition", |r| r.repetition),
            col!(rows, "actor", |r| r.actor),
            col!(rows, "gender", |r| r.gender.clone()),
            col!(rows, "corpus", |r| r.corpus.clone()),
            col!(rows, "speaker", |r| r.speaker.clone()),
            col!(rows, "sample_rate", |r| r.sample_rate),
            col!(rows, "channels", |r| r.channels),
            col!(rows, "bits_per_sample", |r| r.bits_per_sample),
            col!(rows, "sample_format", |r| r.sample_format.clone()),
            col!(rows, "n_samples", |r| r.n_samples),
            col!(rows, "duration_s", |r| r.duration_s),
            col!(rows, "fingerprint", |r| r.fingerprint.clone()),
            col!(rows, "size_bytes", |r| r.size_bytes),
            col!(rows, "mtime_ns", |r| r.mtime_ns),
        ]
    }
}

impl MetadataRow {
    /// Reads `metadata.parquet`. A table of store format 1 (before
    /// corpora) has no `corpus` and `speaker`: it held RAVDESS only, so
    /// they read as `ravdess` and the actor number.
    /// A damaged table (checksum, bytes, columns) is [`StoreError::Damaged`].
    pub fn read(path: &Path) -> Result<Vec<MetadataRow>> {
        read_table(path, |df| Self::from_frame(&df, path))
    }

    fn from_frame(df: &DataFrame, path: &Path) -> Result<Vec<MetadataRow>> {
        let p = path;
        let (corpus, speaker) = if df.column("corpus").is_ok() {
            (req_strs(df, "corpus", p)?, req_strs(df, "speaker", p)?)
        } else {
            let actors = i32s(df, "actor", p)?;
            (
                vec!["ravdess".to_string(); df.height()],
                actors.iter().map(|a| format!("{a:02}")).collect(),
            )
        };
        let (clip, file, name, gender, format, fp) = (
            req_strs(df, "clip_id", p)?,
            req_strs(df, "path", p)?,
            req_strs(df, "emotion_name", p)?,
            req_strs(df, "gender", p)?,
            req_strs(df, "sample_format", p)?,
            req_strs(df, "fingerprint", p)?,
        );
        let ints = |n| i32s(df, n, p);
        let (modality, vocal, emotion, intensity, statement, repetition) = (
            ints("modality")?,
            ints("vocal_channel")?,
            ints("emotion")?,
            ints("intensity")?,
            ints("statement")?,
            ints("repetition")?,
        );
        let (actor, rate, channels, bits) = (
            ints("actor")?,
            ints("sample_rate")?,
            ints("channels")?,
            ints("bits_per_sample")?,
        );
        let (n_samples, size, mtime) = (
            i64s(df, "n_samples", p)?,
            i64s(df, "size_bytes", p)?,
            i64s(df, "mtime_ns", p)?,
        );
        let duration = f64s(df, "duration_s", p)?;
        Ok((0..df.height())
            .map(|k| MetadataRow {
                clip_id: clip[k].clone(),
                path: file[k].clone(),
                modality: modality[k],
                vocal_channel: vocal[k],
                emotion: emotion[k],
                emotion_name: name[k].clone(),
                intensity: intensity[k],
                statement: statement[k],
                repetition: repetition[k],
                actor: actor[k],
                gender: gender[k].clone(),
                corpus: corpus[k].clone(),
                speaker: speaker[k].clone(),
                sample_rate: rate[k],
                channels: channels[k],
                bits_per_sample: bits[k],
                sample_format: format[k].clone(),
                n_samples: n_samples[k],
                duration_s: duration[k],
                fingerprint: fp[k].clone(),
                size_bytes: size[k],
                mtime_ns: mtime[k],
            })
            .collect())
    }
}

impl TableRow for RejectRow {
    const FILE: &'static str = "rejects/<stage>.parquet";
    const CHECKSUM: bool = true;

    fn columns(rows: &[RejectRow]) -> Vec<Column> {
        vec![
            col!(rows, "stage", |r| r.stage.clone()),
            col!(rows, "path", |r| r.path.clone()),
            col!(rows, "clip_id", |r| r.clip_id.clone()),
            col!(rows, "reason", |r| r.reason.clone()),
        ]
    }
}

impl RejectRow {
    /// Reads a rejects table (damage is [`StoreError::Damaged`]).
    pub fn read(path: &Path) -> Result<Vec<RejectRow>> {
        read_table(path, |df| Self::from_frame(&df, path))
    }

    fn from_frame(df: &DataFrame, path: &Path) -> Result<Vec<RejectRow>> {
        let (stage, file, clip, reason) = (
            req_strs(df, "stage", path)?,
            req_strs(df, "path", path)?,
            strs(df, "clip_id", path)?,
            req_strs(df, "reason", path)?,
        );
        Ok((0..df.height())
            .map(|k| RejectRow {
                stage: stage[k].clone(),
                path: file[k].clone(),
                clip_id: clip[k].clone(),
                reason: reason[k].clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(clip: &str) -> MetadataRow {
        MetadataRow {
            clip_id: clip.into(),
            path: format!("/data/{clip}.wav"),
            modality: 3,
            vocal_channel: 1,
            emotion: 5,
            emotion_name: "angry".into(),
            intensity: 2,
            statement: 1,
            repetition: 2,
            actor: 12,
            gender: "female".into(),
            corpus: "ravdess".into(),
            speaker: "12".into(),
            sample_rate: 48000,
            channels: 2,
            bits_per_sample: 16,
            sample_format: "int".into(),
            n_samples: 170_000,
            duration_s: 3.5416,
            fingerprint: "00ff".into(),
            size_bytes: 680_044,
            mtime_ns: 1_700_000_000_123_456_789,
        }
    }

    #[test]
    fn metadata_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.parquet");
        let rows = vec![meta("03-01-05-02-01-02-12"), meta("03-01-05-02-01-01-12")];
        MetadataRow::write(&path, &rows).unwrap();
        assert_eq!(MetadataRow::read(&path).unwrap(), rows);
    }

    /// Store format 1 wrote no `corpus` / `speaker`: such a table reads as
    /// RAVDESS with the actor as the speaker.
    #[test]
    fn format_1_metadata_reads_as_ravdess() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.parquet");
        let rows = vec![meta("03-01-05-02-01-02-12")];
        let mut df = MetadataRow::to_frame(&rows)
            .unwrap()
            .drop_many(["corpus", "speaker"]);
        write_frame(&path, &mut df).unwrap();
        assert_eq!(MetadataRow::read(&path).unwrap(), rows);
    }

    #[test]
    fn rejects_round_trip_including_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects/metadata.parquet");
        RejectRow::write(&path, &[]).unwrap();
        assert!(RejectRow::read(&path).unwrap().is_empty());
        let rows = vec![RejectRow {
            stage: "metadata".into(),
            path: "/x/bad.wav".into(),
            clip_id: None,
            reason: "not a RAVDESS name".into(),
        }];
        RejectRow::write(&path, &rows).unwrap();
        assert_eq!(RejectRow::read(&path).unwrap(), rows);
    }

    /// Issue 19 item 9: random bytes in `metadata.parquet` were read as
    /// data. Now any damage is `Damaged`, naming the file and `ser check`.
    #[test]
    fn regression_garbled_metadata_is_damaged_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.parquet");
        let rows = vec![meta("03-01-05-02-01-02-12"), meta("03-01-05-02-01-01-12")];
        MetadataRow::write(&path, &rows).unwrap();
        verify_table(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 16] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = MetadataRow::read(&path).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("metadata.parquet") && msg.contains("ser check"),
            "{msg}"
        );
        // Without a checksum file (older stores) junk is still no data.
        std::fs::remove_file(sum_path(&path)).unwrap();
        std::fs::write(&path, b"PAR1 random bytes, not a table PAR1").unwrap();
        let err = MetadataRow::read(&path).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        // A missing table is not damage.
        std::fs::remove_file(&path).unwrap();
        let err = MetadataRow::read(&path).unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err}");
    }
}
