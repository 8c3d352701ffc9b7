//! `ser query "SQL"`: polars SQL over the store's tables.
//!
//! Registered tables: `metadata`, `features` (every set's shards, with a
//! `set` column; the `mfcc` / `mel_db` value lists only when asked),
//! `history`, `metrics`, `confusion`, `predictions`, `summary`, `robustness`,
//! `robustness_classes` (every run's file of that name, stacked). Only
//! tables that exist are registered; a query naming a missing one fails
//! with polars' message.

use polars::prelude::*;
use polars::sql::SQLContext;
use store::{Store, StoreError};

use crate::error::{PipelineError, Result};

mod table;
pub use table::{to_table, CELL_CHARS, TABLE_ROWS};

/// The run tables, by file stem.
pub const RUN_TABLES: [&str; 7] = [
    "history",
    "metrics",
    "confusion",
    "predictions",
    "summary",
    "robustness",
    "robustness_classes",
];

fn scan(path: &std::path::Path) -> PolarsResult<LazyFrame> {
    // The part files carry `variant` and `actor` as columns; hive parsing of
    // their paths is off (it would need polars' date dtypes, which we do not build).
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(false),
            try_parse_dates: false,
            ..HiveOptions::default()
        },
        ..ScanArgsParquet::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(path.to_string_lossy().as_ref()), args)
}

/// Name of the row index that shields a stacked table from polars'
/// `count(*)` rewrite; dropped at once, so no query sees it.
const SHIELD: &str = "__ser_row";

/// Stacks `frames` (one table from several files).
///
/// polars rewrites `count(*)` over a union into a sum of per-file counts
/// cast to `UInt128`, a type this build of polars lacks ("casting from
/// UInt32 to UInt128 not supported"). A row index between the union and
/// the query stops that rewrite; the optimizer removes it again when no
/// query column needs it, so it costs nothing.
fn stack(frames: Vec<LazyFrame>) -> PolarsResult<Option<LazyFrame>> {
    match frames.len() {
        0 => Ok(None),
        1 => Ok(frames.into_iter().next()),
        _ => Ok(Some(
            // Supertypes: a store may hold tables written before a column
            // was typed when empty (`null` then, a list of f32 now).
            concat(
                frames,
                UnionArgs {
                    to_supertypes: true,
                    ..UnionArgs::default()
                },
            )?
            .with_row_index(SHIELD, None)
            .drop(by_name([SHIELD], false, false)),
        )),
    }
}

fn sql_err(e: PolarsError) -> PipelineError {
    // One line: polars errors may carry a multi-line context.
    let msg = e.to_string();
    PipelineError::Query(msg.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Builds the SQL context over `store` (value lists of `features` only with `with_values`).
pub fn context(store: &Store, with_values: bool) -> Result<(SQLContext, Vec<String>)> {
    let ctx = SQLContext::new();
    let mut names = Vec::new();
    let meta = store.metadata_path();
    if meta.is_file() {
        // Damaged bytes are an error naming the file, never rows.
        store::table::verify_table(&meta)?;
        ctx.register("metadata", scan(&meta).map_err(sql_err)?);
        names.push("metadata".to_string());
    }
    let manifest = store.latest_manifest()?;
    let mut parts = Vec::new();
    for (set, entry) in &manifest.sets {
        for shard in entry.shards.values() {
            for part in &shard.parts {
                let path = store.resolve(&part.path);
                if !part.size_matches(&path) {
                    return Err(StoreError::damaged(
                        &path,
                        "missing, or not the size its manifest recorded",
                    )
                    .into());
                }
                let mut lf = scan(&path)
                    .map_err(sql_err)?
                    .with_column(lit(set.as_str()).alias("set"));
                if !with_values {
                    lf = lf.drop(by_name(["mfcc", "mel_db"], false, false));
                }
                parts.push(lf);
            }
        }
    }
    if let Some(lf) = stack(parts).map_err(sql_err)? {
        ctx.register("features", lf);
        names.push("features".to_string());
    }
    let runs = store.runs()?;
    for table in RUN_TABLES {
        let files: Vec<LazyFrame> = runs
            .iter()
            .map(|r| store.run_dir(r).join(format!("{table}.parquet")))
            .filter(|p| p.is_file())
            .map(|p| scan(&p))
            .collect::<PolarsResult<_>>()
            .map_err(sql_err)?;
        if let Some(lf) = stack(files).map_err(sql_err)? {
            ctx.register(table, lf);
            names.push(table.to_string());
        }
    }
    Ok((ctx, names))
}

/// Runs `sql` over the store's tables.
pub fn query(store: &Store, sql: &str, with_values: bool) -> Result<DataFrame> {
    let (mut ctx, names) = context(store, with_values)?;
    if names.is_empty() {
        return Err(PipelineError::Query(format!(
            "the store at {} has no tables yet: run `ser metadata` / `ser features` / `ser train` first",
            store.root().display()
        )));
    }
    ctx.execute(sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| match sql_err(e) {
            PipelineError::Query(m) => {
                PipelineError::Query(format!("{m} (tables: {})", names.join(", ")))
            }
            other => other,
        })
}

fn cell(v: &AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn json_value(v: &AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Float32(f) => serde_json::json!(f),
        AnyValue::Float64(f) => serde_json::json!(f),
        AnyValue::List(s) => Value::Array(s.iter().map(|x| json_value(&x)).collect()),
        other => match other.extract::<i64>() {
            Some(i) if other.is_integer() => serde_json::json!(i),
            _ => Value::String(other.to_string()),
        },
    }
}

/// The frame as CSV (RFC 4180 quoting; lists as `[a, b]`).
pub fn to_csv(df: &DataFrame) -> String {
    let quote = |s: String| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = df
        .get_column_names()
        .iter()
        .map(|n| quote(n.to_string()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for i in 0..df.height() {
        let row = df.get_row(i).map(|r| r.0).unwrap_or_default();
        out.push_str(
            &row.iter()
                .map(|v| quote(cell(v)))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// The frame as JSON lines, one object per row, keys in column order.
pub fn to_json_lines(df: &DataFrame) -> String {
    let keys: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| serde_json::Value::String(n.to_string()).to_string())
        .collect();
    let mut out = String::new();
    for i in 0..df.height() {
        let row = df.get_row(i).map(|r| r.0).unwrap_or_default();
        let fields: Vec<String> = keys
            .iter()
            .zip(row.iter())
            .map(|(k, v)| format!("{k}:{}", json_value(v)))
            .collect();
        out.push('{');
        out.push_str(&fields.join(","));
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{ClipInput, PartEntry, ShardEntry};

    fn small(path: &std::path::Path) {
        let mut df = df!(
            "a" => [1i32, 2, 3],
            "b" => ["x", "y", "z"],
            "c" => [Some(1.5f64), None, Some(2.0)],
        )
        .unwrap();
        store::table::write_frame(path, &mut df).unwrap();
    }

    fn row(clip: &str) -> store::FeatureRow {
        store::FeatureRow {
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
            n_frames: 1,
            n_mfcc: 2,
            mfcc: vec![1.0, 2.0],
            n_mels: 0,
            mel_db: None,
        }
    }

    /// A store holding every table `context` registers, each stacked from
    /// two files (two parts, two runs).
    fn full_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("s")).unwrap();
        small(&store.metadata_path());
        for run in ["r1", "r2"] {
            for t in RUN_TABLES {
                small(&store.run_dir(run).join(format!("{t}.parquet")));
            }
        }
        let mut shards = Vec::new();
        for actor in [1u32, 2] {
            let rel = Store::part_rel_path("s1", "clean", actor, &format!("d{actor}"));
            store::shard::write_shard(&store.resolve(&rel), &[row("c1"), row("c2")]).unwrap();
            shards.push((actor, rel));
        }
        store
            .commit("test", |m| {
                let set = m.sets.entry("s1".into()).or_default();
                for (actor, rel) in &shards {
                    set.shards.insert(
                        format!("actor={actor:02}"),
                        ShardEntry {
                            digest: format!("d{actor}"),
                            inputs: vec![ClipInput {
                                clip_id: "c1".into(),
                                fingerprint: "ab".into(),
                            }],
                            parts: vec![PartEntry {
                                variant: "clean".into(),
                                path: rel.clone(),
                                rows: 2,
                                ..PartEntry::default()
                            }],
                            rejected: Vec::new(),
                        },
                    );
                }
                Ok(true)
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn regression_count_star_works_on_every_table() {
        let (_d, store) = full_store();
        let (_, names) = context(&store, false).unwrap();
        let mut expected = vec!["metadata", "features"];
        expected.extend(RUN_TABLES);
        assert_eq!(names, expected);
        for table in &names {
            let rows: i64 = match table.as_str() {
                "metadata" => 3,
                "features" => 4,
                _ => 6,
            };
            for sql in [
                format!("select count(*) from {table}"),
                format!("select count(*) as n from {table}"),
                format!("select count(1) from {table}"),
            ] {
                let df = query(&store, &sql, false).unwrap_or_else(|e| panic!("{sql}: {e}"));
                assert_eq!(df.height(), 1, "{sql}");
                let n = df.columns()[0].get(0).unwrap().extract::<i64>();
                assert_eq!(n, Some(rows), "{sql}");
            }
            let all = query(&store, &format!("select * from {table}"), false).unwrap();
            assert_eq!(all.height() as i64, rows, "{table}");
            assert!(
                all.column(SHIELD).is_err(),
                "{table} shows the shield column"
            );
        }
    }
}
