//! Texts a newcomer reads stay true (issue 24): every word-valued flag's
//! `--help` lists each value its parser accepts, and `ser query` never
//! squashes a column into fragments on a narrow terminal.

use std::path::Path;

use crate::util::{ok, stderr, trained_store, TestDir};

/// (command and the arguments it needs, flag): every flag whose value is
/// one of a list of words.
const WORD_FLAGS: &[(&[&str], &str)] = &[
    (&["train"], "--model"),
    (&["train"], "--labels"),
    (&["train"], "--split"),
    (&["train"], "--schedule"),
    (&["train"], "--augment"),
    (&["train"], "--norm"),
    (&["train"], "--loss"),
    (&["train"], "--crop"),
    (&["train"], "--test-crop"),
    (&["train"], "--init"),
    (&["train"], "--readout"),
    (&["train"], "--kernel"),
    (&["features"], "--noise"),
    (&["features"], "--resampler"),
    (&["metadata", "--data", "."], "--corpus"),
    (&["reproduce"], "--only"),
    (&["reproduce"], "--protocol"),
];

/// The values an error message offers: the list after its last `use `
/// (or `must be `), as in "unknown split `x`: use random, speakers or corpus".
fn offered(message: &str) -> Vec<String> {
    let line = message
        .lines()
        .find(|l| l.contains("use ") || l.contains("must be "))
        .unwrap_or("");
    let tail = line
        .rsplit_once("use ")
        .or_else(|| line.rsplit_once("must be "))
        .map_or("", |(_, t)| t);
    let tail = tail.split(", got").next().unwrap_or(tail);
    tail.replace(" or ", ", ")
        .split(", ")
        .map(|w| {
            w.trim()
                .trim_end_matches(['.', ')'])
                .trim_matches('`')
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The help paragraph of `flag` in `help` (its line and the indented ones
/// under it, up to the next flag).
fn paragraph<'a>(help: &'a str, flag: &str) -> String {
    let mut lines = help.lines().skip_while(|l| {
        !l.trim_start()
            .split([' ', ','])
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    });
    let mut out: Vec<&'a str> = lines.next().into_iter().collect();
    out.extend(lines.take_while(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty()));
    out.join(" ")
}

#[test]
fn every_word_flags_help_lists_the_values_its_parser_accepts() {
    let t = TestDir::new();
    let mut checked = 0;
    for (cmd, flag) in WORD_FLAGS {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend([*flag, "no-such-value"]);
        let out = t.ser(&args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} should be a usage error: {err}"
        );
        let values = offered(&err);
        assert!(
            !values.is_empty(),
            "{args:?}: the error names no values: {err}"
        );
        let help = ok(&t.ser(&[cmd[0], "--help"]));
        let text = paragraph(&help, flag);
        assert!(!text.is_empty(), "`ser {} --help` has no {flag}", cmd[0]);
        for v in &values {
            assert!(
                text.contains(v.as_str()),
                "`ser {} --help` does not list `{v}` for {flag} (the parser offers {values:?}): {text}",
                cmd[0]
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} values checked");
}

#[test]
fn the_offered_values_are_read_from_the_message() {
    assert_eq!(
        offered("error: --split: unknown split `x`: use random, speakers or corpus"),
        ["random", "speakers", "corpus"]
    );
    assert_eq!(offered("--augment: use on or off, got `x`"), ["on", "off"]);
    assert_eq!(
        offered("`9`: the kernel width must be 3, 5 or 7"),
        ["3", "5", "7"]
    );
}

#[test]
fn regression_query_select_star_keeps_columns_whole_on_80_columns() {
    let (t, _run) = trained_store(&["--window", "64"]);
    let out = t
        .cmd(&["query", "SELECT * FROM summary"])
        .env("COLUMNS", "80")
        .output()
        .expect("run ser");
    let text = ok(&out);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80: {line:?}\n{text}"
        );
    }
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let summary = store::table::read_frame(&first_summary(&t.store_path())).unwrap();
    let names: Vec<String> = summary
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    for h in &header {
        assert!(
            names.iter().any(|n| n == h),
            "header `{h}` is not a whole column name:\n{text}"
        );
    }
    let rest: String = text.lines().skip(2).collect::<Vec<_>>().join(" ");
    for n in names.iter().filter(|n| !header.contains(&n.as_str())) {
        assert!(
            rest.contains(n.as_str()),
            "hidden column {n} is not named:\n{text}"
        );
    }
    assert!(text.contains("--csv"), "{text}");
    // A pipe without COLUMNS gets every column.
    let all = ok(&t.ser(&["query", "SELECT * FROM summary"]));
    let header = all.lines().next().unwrap_or("");
    assert_eq!(header.split_whitespace().count(), names.len(), "{all}");
}

fn first_summary(store: &Path) -> std::path::PathBuf {
    crate::util::files_under(&store.join("runs"))
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "summary.parquet"))
        .expect("a summary.parquet")
}
