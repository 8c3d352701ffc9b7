//! `ser query` and `ser report` on a tiny trained store.

use crate::util::{ok, stderr, trained_store, TestDir};

fn trained() -> (TestDir, String) {
    trained_store(&["--window", "16"])
}

#[test]
fn query_returns_the_rows_and_bad_sql_fails_with_one_line() {
    let (t, run) = trained();
    let csv = ok(&t.ser(&[
        "query",
        "SELECT gender, count(*) AS n FROM metadata GROUP BY gender ORDER BY gender",
        "--csv",
    ]));
    assert_eq!(csv, "gender,n\nfemale,60\nmale,60\n");

    let json = ok(&t.ser(&[
        "query",
        "SELECT run, model, fold, epochs FROM summary WHERE fold IS NULL",
        "--json",
    ]));
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["run"], run.as_str());
    assert_eq!(rows[0]["model"], "lstm");
    assert_eq!(rows[0]["fold"], serde_json::Value::Null);
    assert_eq!(rows[0]["epochs"], 2);
    assert!(
        json.starts_with("{\"run\":"),
        "keys keep column order: {json}"
    );

    // Features without value lists by default; each clip twice (clean, noisy).
    let csv = ok(&t.ser(&[
        "query",
        "SELECT variant, count(*) AS n FROM features GROUP BY variant ORDER BY variant",
        "--csv",
    ]));
    assert_eq!(csv, "variant,n\nclean,120\nnoisy,120\n");
    let no_values = t.ser(&["query", "SELECT mfcc FROM features"]);
    assert_eq!(no_values.status.code(), Some(1));
    let with_values = ok(&t.ser(&[
        "query",
        "SELECT clip_id, n_frames, n_mfcc FROM features WHERE mfcc IS NOT NULL LIMIT 1",
        "--with-values",
        "--csv",
    ]));
    assert_eq!(with_values.lines().count(), 2);

    // History rows match epochs x sides.
    let csv = ok(&t.ser(&[
        "query",
        "SELECT split, count(*) AS n FROM history GROUP BY split ORDER BY split",
        "--csv",
    ]));
    assert_eq!(csv, "split,n\ntest,2\ntrain,2\n");

    for bad in [
        "SELEC * FROM metadata",
        "SELECT * FROM nosuch",
        "SELECT nosuch FROM metadata",
    ] {
        let out = t.ser(&["query", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = stderr(&out);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line for `{bad}`: {err}"
        );
        assert!(err.starts_with("error: query failed"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    (w, h)
}

#[test]
fn report_prints_the_run_table_and_writes_every_figure() {
    let (t, run) = trained();
    let out = ok(&t.ser(&["report"]));
    let header = out.lines().next().unwrap();
    for col in [
        "run", "model", "labels", "split", "epochs", "train%", "test%", "UAR%", "F1%", "min",
    ] {
        assert!(
            header.split_whitespace().any(|c| c == col),
            "{col} in {header}"
        );
    }
    assert!(out.lines().nth(1).unwrap().starts_with(&run), "{out}");
    assert!(
        out.contains("UAR% unweighted average recall") && out.contains("counted twice"),
        "the table comes with a legend: {out}"
    );
    let figures: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("figure: "))
        .collect();
    let names: Vec<String> = figures
        .iter()
        .map(|f| {
            std::path::Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for want in [
        "history.png",
        "confusion.png",
        "class_scores.png",
        "waveform_clean_vs_noisy.png",
        "mel_female_vs_male_happy.png",
        "mfcc_male_vs_female_surprised.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let run_figs = t.store().run_dir(&run).join("figures");
    for f in &figures {
        let (w, h) = png_size(std::path::Path::new(f));
        assert!(w >= 600 && h >= 400, "{f}: {w}x{h}");
    }
    assert!(run_figs.join("confusion.png").is_file());
    assert!(t
        .store_path()
        .join("figures")
        .join("waveform_clean_vs_noisy.png")
        .is_file());

    // Table only; an unknown run is a clear error.
    let table = ok(&t.ser(&["report", "--no-figures", &run[..10]]));
    assert!(!table.contains("figure:"), "{table}");
    let missing = t.ser(&["report", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no run `nope`"));
}
