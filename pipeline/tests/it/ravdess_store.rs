//! The real RAVDESS subset end to end: 480 metadata rows, 960 feature rows,
//! read back by our reader, by polars (Rust and Python) and by DuckDB.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use polars::prelude::*;
use store::{LockMode, MetadataRow};

use crate::util::{ok, ravdess, stderr, TestDir};

fn python(code: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn ravdess_subset_gives_480_clips_and_960_rows_that_polars_and_duckdb_read() {
    let Some(data) = ravdess("ravdess subset end to end") else {
        return;
    };
    let t = TestDir::new();
    let out = ok(&t.ser(&["metadata", "--data", data.to_str().unwrap()]));
    assert!(out.contains("480 clips"), "{out}");

    let meta = MetadataRow::read(&t.store().metadata_path()).unwrap();
    assert_eq!(meta.len(), 480);
    assert_eq!(
        meta.iter().filter(|m| m.channels == 2).count(),
        3,
        "three stereo files"
    );
    assert!(meta
        .iter()
        .all(|m| m.sample_rate == 48000 && m.modality == 3));
    assert!(meta
        .iter()
        .all(|m| (m.actor % 2 == 1) == (m.gender == "male")));
    assert!(meta.iter().all(|m| (2.9..5.4).contains(&m.duration_s)));
    // Fingerprints are SHA-256 of the bytes: they agree with SHA256SUMS.
    let sums = std::fs::read_to_string(data.join("SHA256SUMS")).unwrap();
    let sums: BTreeMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, f)| (f.rsplit('/').next().unwrap().trim_end_matches(".wav"), h))
        .collect();
    for m in &meta {
        assert_eq!(
            sums.get(m.clip_id.as_str()),
            Some(&m.fingerprint.as_str()),
            "{}",
            m.clip_id
        );
    }

    let out = ok(&t.ser(&["features"]));
    assert!(out.contains("computed 8 of 8 shards"), "{out}");
    let rows = t.rows(None);
    assert_eq!(rows.len(), 960);
    let keys: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.clip_id.as_str(), r.variant.as_str()))
        .collect();
    assert_eq!(keys.len(), 960, "one row per clip and variant");
    let by_id: BTreeMap<&str, &MetadataRow> =
        meta.iter().map(|m| (m.clip_id.as_str(), m)).collect();
    for r in &rows {
        let m = by_id[r.clip_id.as_str()];
        let resampled = (m.n_samples as u64 * 22050).div_ceil(48000);
        assert_eq!(r.n_frames as u64, 1 + resampled / 512, "{}", r.clip_id);
        assert_eq!(r.mfcc.len(), r.n_frames as usize * 40);
        assert!(r.mfcc.iter().all(|v| v.is_finite()));
        assert_eq!(
            (r.actor, r.emotion, r.gender.as_str()),
            (m.actor, m.emotion, m.gender.as_str())
        );
    }
    // Clean and noisy differ; the noisy copy is seeded, so it is reproducible.
    let clean = rows.iter().find(|r| r.variant == "clean").unwrap();
    let noisy = rows
        .iter()
        .find(|r| r.variant == "noisy" && r.clip_id == clean.clip_id)
        .unwrap();
    assert_ne!(clean.mfcc, noisy.mfcc);

    // polars (Rust) over the hive layout.
    let glob = format!("{}/features/**/*.parquet", t.store_path().display());
    let args = ScanArgsParquet {
        // try_parse_dates needs polars' date dtypes, which we do not build.
        hive_options: HiveOptions {
            enabled: Some(true),
            try_parse_dates: false,
            ..HiveOptions::default()
        },
        ..ScanArgsParquet::default()
    };
    let df = LazyFrame::scan_parquet(PlRefPath::new(glob.as_str()), args)
        .unwrap()
        .group_by([col("variant")])
        .agg([len().alias("n"), col("set").first().alias("set")])
        .sort(["variant"], SortMultipleOptions::default())
        .collect()
        .unwrap();
    let n: Vec<u32> = df
        .column("n")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(n, vec![480, 480], "{df}");

    // DuckDB and polars from Python, as a user would query the store.
    let q = format!(
        "import duckdb; print(duckdb.sql(\"select count(*), count(distinct clip_id || variant), \
         count(distinct actor) from read_parquet('{glob}', hive_partitioning=true)\").fetchall()[0])"
    );
    assert_eq!(python(&q), "(960, 960, 8)");
    let q = format!(
        "import polars as pl; df = pl.scan_parquet('{glob}', hive_partitioning=True).collect(); \
         print(df.height, sorted(df['variant'].unique().to_list()))"
    );
    assert_eq!(python(&q), "960 ['clean', 'noisy']");
}

#[test]
fn a_second_writer_is_refused_clearly() {
    let t = TestDir::new();
    let store = t.store();
    let _held = store
        .lock(LockMode::Exclusive, "ser features (test holder)")
        .unwrap();
    let data = t.path().to_str().unwrap().to_string();
    for args in [vec!["features"], vec!["metadata", "--data", data.as_str()]] {
        let out = t.ser(&args);
        assert_eq!(
            out.status.code(),
            Some(pipeline::EXIT_LOCKED),
            "{}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains("locked by another writer") && err.contains("test holder"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    }
}
