//! Feature shards: one Parquet file per (set, variant, actor) partition,
//! written and read with arrow-rs.
//!
//! Columns (contract, `docs/store-format.md`): `clip_id`, `variant`, `actor`,
//! `emotion`, `emotion_name`, `gender`, `intensity`, `statement`,
//! `repetition`, `fingerprint`, `sample_rate`, `n_frames`, `n_mfcc`,
//! `mfcc` (`list<float32>`, row-major frames x coefficients), `n_mels`, and
//! `mel_db` (`list<float32>`, frames x mels) when the set computes it.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type};
use arrow_array::{Array, ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::atomic;
use crate::error::{Result, StoreError};
use crate::fingerprint::{FileSum, HashingWriter};

/// One row of a feature shard: the features of one clip in one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// Clip id (file stem).
    pub clip_id: String,
    /// `clean` or `noisy`.
    pub variant: String,
    /// Actor number.
    pub actor: i32,
    /// Emotion code 1-8.
    pub emotion: i32,
    /// Emotion name (`neutral` … `surprised`).
    pub emotion_name: String,
    /// `male` or `female`.
    pub gender: String,
    /// Intensity code (1 normal, 2 strong).
    pub intensity: i32,
    /// Statement code.
    pub statement: i32,
    /// Repetition code.
    pub repetition: i32,
    /// SHA-256 of the source file.
    pub fingerprint: String,
    /// Sample rate the features were computed at.
    pub sample_rate: i32,
    /// Frames.
    pub n_frames: i32,
    /// Cepstral coefficients per frame.
    pub n_mfcc: i32,
    /// MFCCs, row-major: `[n_frames, n_mfcc]`.
    pub mfcc: Vec<f32>,
    /// Mel bands per frame (0 when `mel_db` is absent).
    pub n_mels: i32,
    /// Log-mel spectrogram in dB, row-major `[n_frames, n_mels]`, if computed.
    pub mel_db: Option<Vec<f32>>,
}

fn item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, false))
}

fn schema(with_mel: bool) -> Schema {
    let list = DataType::List(item_field());
    let mut fields = vec![
        Field::new("clip_id", DataType::Utf8, false),
        Field::new("variant", DataType::Utf8, false),
        Field::new("actor", DataType::Int32, false),
        Field::new("emotion", DataType::Int32, false),
        Field::new("emotion_name", DataType::Utf8, false),
        Field::new("gender", DataType::Utf8, false),
        Field::new("intensity", DataType::Int32, false),
        Field::new("statement", DataType::Int32, false),
        Field::new("repetition", DataType::Int32, false),
        Field::new("fingerprint", DataType::Utf8, false),
        Field::new("sample_rate", DataType::Int32, false),
        Field::new("n_frames", DataType::Int32, false),
        Field::new("n_mfcc", DataType::Int32, false),
        Field::new("mfcc", list.clone(), false),
        Field::new("n_mels", DataType::Int32, false),
    ];
    if with_mel {
        fields.push(Field::new("mel_db", list, false));
    }
    Schema::new(fields)
}

fn list_array<'a>(rows: impl Iterator<Item = &'a [f32]>) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new()).with_field(item_field());
    for v in rows {
        b.values().append_slice(v);
        b.append(true);
    }
    Arc::new(b.finish())
}

fn batch(rows: &[FeatureRow], path: &Path) -> Result<RecordBatch> {
    let with_mel = rows.iter().any(|r| r.mel_db.is_some());
    if with_mel && rows.iter().any(|r| r.mel_db.is_none()) {
        return Err(StoreError::invalid(
            path,
            "some rows have mel_db and some do not",
        ));
    }
    let s = |f: fn(&FeatureRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let i = |f: fn(&FeatureRow) -> i32| -> ArrayRef {
        Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
    };
    let mut columns = vec![
        s(|r| &r.clip_id),
        s(|r| &r.variant),
        i(|r| r.actor),
        i(|r| r.emotion),
        s(|r| &r.emotion_name),
        s(|r| &r.gender),
        i(|r| r.intensity),
        i(|r| r.statement),
        i(|r| r.repetition),
        s(|r| &r.fingerprint),
        i(|r| r.sample_rate),
        i(|r| r.n_frames),
        i(|r| r.n_mfcc),
        list_array(rows.iter().map(|r| r.mfcc.as_slice())),
        i(|r| r.n_mels),
    ];
    if with_mel {
        columns.push(list_array(
            rows.iter().map(|r| r.mel_db.as_deref().unwrap_or_default()),
        ));
    }
    RecordBatch::try_new(Arc::new(schema(with_mel)), columns).map_err(|source| StoreError::Arrow {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `rows` as a zstd-compressed Parquet file at `path`, atomically
/// (temp sibling, fsync, rename, fsync of the folder). Returns the file's
/// size and SHA-256 for the manifest.
pub fn write_shard(path: &Path, rows: &[FeatureRow]) -> Result<FileSum> {
    let batch = batch(rows, path)?;
    // No dictionary encoding: MFCC values are all distinct, and building the
    // dictionary cost more than the rest of the write.
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(
            |source| StoreError::Parquet {
                path: path.to_path_buf(),
                source,
            },
        )?))
        .build();
    let pq = |source| StoreError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    atomic::write_file_atomic(path, |file, _| {
        let out = HashingWriter::new(file);
        let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(props)).map_err(pq)?;
        writer.write(&batch).map_err(pq)?;
        Ok(writer.into_inner().map_err(pq)?.finish().1)
    })
}

/// Reads every row of a shard written by [`write_shard`]. A file that is
/// not such a shard (truncated, garbled) is [`StoreError::Damaged`].
pub fn read_shard(path: &Path) -> Result<Vec<FeatureRow>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    read_rows(file, path).map_err(|e| e.into_damaged(path))
}

/// Whether `path` has a readable Parquet footer (cheap: the rows are not
/// read). A truncated file has none.
pub fn check_footer(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map(|_| ())
        .map_err(|e| StoreError::damaged(path, e))
}

fn read_rows(file: File, path: &Path) -> Result<Vec<FeatureRow>> {
    let pq = |source| StoreError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|source| StoreError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        read_batch(&batch, path, &mut rows)?;
    }
    Ok(rows)
}

fn read_batch(batch: &RecordBatch, path: &Path, out: &mut Vec<FeatureRow>) -> Result<()> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| StoreError::invalid(path, format!("no column `{name}`")))
    };
    let bad = |name: &str| StoreError::invalid(path, format!("column `{name}` has the wrong type"));
    let s = |name: &str| -> Result<&StringArray> {
        col(name)?.as_string_opt::<i32>().ok_or_else(|| bad(name))
    };
    let i = |name: &str| -> Result<&Int32Array> {
        col(name)?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| bad(name))
    };
    let list = |name: &str| -> Result<Vec<Vec<f32>>> {
        let l = col(name)?.as_list_opt::<i32>().ok_or_else(|| bad(name))?;
        (0..l.len())
            .map(|k| {
                let v = l.value(k);
                v.as_primitive_opt::<Float32Type>()
                    .map(|a| a.values().to_vec())
                    .ok_or_else(|| bad(name))
            })
            .collect()
    };
    let (clip, variant, emotion_name, gender, fp) = (
        s("clip_id")?,
        s("variant")?,
        s("emotion_name")?,
        s("gender")?,
        s("fingerprint")?,
    );
    let (actor, emotion, intensity, statement, repetition) = (
        i("actor")?,
        i("emotion")?,
        i("intensity")?,
        i("statement")?,
        i("repetition")?,
    );
    let (rate, n_frames, n_mfcc, n_mels) = (
        i("sample_rate")?,
        i("n_frames")?,
        i("n_mfcc")?,
        i("n_mels")?,
    );
    let mfcc = list("mfcc")?;
    let mel = match batch.column_by_name("mel_db") {
        Some(_) => Some(list("mel_db")?),
        None => None,
    };
    for (k, mfcc) in mfcc.into_iter().enumerate() {
        out.push(FeatureRow {
            clip_id: clip.value(k).to_string(),
            variant: variant.value(k).to_string(),
            actor: actor.value(k),
            emotion: emotion.value(k),
            emotion_name: emotion_name.value(k).to_string(),
            gender: gender.value(k).to_string(),
            intensity: intensity.value(k),
            statement: statement.value(k),
            repetition: repetition.value(k),
            fingerprint: fp.value(k).to_string(),
            sample_rate: rate.value(k),
            n_frames: n_frames.value(k),
            n_mfcc: n_mfcc.value(k),
            mfcc,
            n_mels: n_mels.value(k),
            mel_db: mel.as_ref().map(|m| m[k].clone()),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid row of clip `clip` (with a log-mel when `mel`).
    pub(crate) fn row(clip: &str, mel: bool) -> FeatureRow {
        FeatureRow {
            clip_id: clip.into(),
            variant: "clean".into(),
            actor: 1,
            emotion: 5,
            emotion_name: "angry".into(),
            gender: "male".into(),
            intensity: 1,
            statement: 2,
            repetition: 1,
            fingerprint: "ab".into(),
            sample_rate: 22050,
            n_frames: 2,
            n_mfcc: 3,
            mfcc: vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5],
            n_mels: if mel { 2 } else { 0 },
            mel_db: mel.then(|| vec![-1.0, -2.0, -3.0, -80.0]),
        }
    }

    #[test]
    fn shard_round_trips_with_and_without_mel() {
        let dir = tempfile::tempdir().unwrap();
        for mel in [false, true] {
            let path = dir.path().join(format!("p{mel}.parquet"));
            let rows = vec![
                row("03-01-05-01-02-01-01", mel),
                row("03-01-05-01-02-02-01", mel),
            ];
            write_shard(&path, &rows).unwrap();
            assert_eq!(read_shard(&path).unwrap(), rows);
        }
    }

    #[test]
    fn mixed_mel_rows_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        let err = write_shard(&path, &[row("a", true), row("b", false)]).unwrap_err();
        assert!(err.to_string().contains("mel_db"));
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_parquet_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.parquet");
        std::fs::write(&path, b"not parquet").unwrap();
        let err = read_shard(&path).unwrap_err().to_string();
        assert!(err.contains("junk.parquet"), "{err}");
    }

    /// Issue 19 item 9: a truncated shard said "Corrupt footer" without
    /// naming what to do; its size no longer matches the manifest's.
    #[test]
    fn regression_truncated_shard_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        let sum = write_shard(&path, &[row("a", false)]).unwrap();
        assert_eq!(sum, crate::fingerprint::file_sum(&path).unwrap());
        check_footer(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_shard(&path).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("ser check"), "{err}");
        assert!(check_footer(&path).is_err());
    }
}
