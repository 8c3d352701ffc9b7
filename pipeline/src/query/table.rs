//! `ser query`'s table for a terminal: whole columns that fit its width,
//! and a note naming the rest (polars' own table squashes every column
//! into fragments on 80 columns).

use polars::prelude::*;

use super::cell;

/// Rows [`to_table`] prints before it says how many more there are.
pub const TABLE_ROWS: usize = 40;
/// Characters a cell of [`to_table`] keeps (longer ones end in `…`).
pub const CELL_CHARS: usize = 48;

fn table_cell(v: &AnyValue<'_>) -> String {
    let text = match v {
        AnyValue::Float32(f) => trim_float(format!("{f:.4}")),
        AnyValue::Float64(f) => trim_float(format!("{f:.4}")),
        other => cell(other),
    };
    if text.chars().count() > CELL_CHARS {
        let mut short: String = text.chars().take(CELL_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        text
    }
}

fn trim_float(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The frame as a plain-text table for a terminal `width` characters wide
/// (`None`: as wide as it needs). Columns are never squashed: those that do
/// not fit are left out, and a last line names them and how to see them.
/// Numbers are right-aligned, floats rounded to 4 decimals, long cells cut
/// at [`CELL_CHARS`], and rows after [`TABLE_ROWS`] counted, not printed.
pub fn to_table(df: &DataFrame, width: Option<usize>) -> String {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let shown_rows = df.height().min(TABLE_ROWS);
    let rows: Vec<Vec<String>> = (0..shown_rows)
        .map(|i| {
            let row = df.get_row(i).map(|r| r.0).unwrap_or_default();
            row.iter().map(table_cell).collect()
        })
        .collect();
    let numeric: Vec<bool> = df
        .columns()
        .iter()
        .map(|c| c.dtype().is_primitive_numeric())
        .collect();
    let widths: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            rows.iter()
                .filter_map(|r| r.get(j))
                .map(|c| c.chars().count())
                .chain([n.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Columns left to right while they fit (always at least the first).
    let mut keep = 0;
    let mut used = 0;
    for w in &widths {
        let need = if keep == 0 { *w } else { used + 2 + w };
        if keep > 0 && width.is_some_and(|max| need > max) {
            break;
        }
        used = need;
        keep += 1;
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for j in 0..keep {
            let text = cells.get(j).map(String::as_str).unwrap_or("");
            let pad = widths[j].saturating_sub(text.chars().count());
            if j > 0 {
                out.push_str("  ");
            }
            if numeric[j] {
                out.push_str(&" ".repeat(pad));
                out.push_str(text);
            } else {
                out.push_str(text);
                if j + 1 < keep {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&names);
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for r in &rows {
        out.push_str(&line(r));
    }
    let mut notes = Vec::new();
    if df.height() > shown_rows {
        notes.push(format!("{} more rows", df.height() - shown_rows));
    }
    if keep < names.len() {
        notes.push(format!(
            "{} of {} columns shown, not shown: {}",
            keep,
            names.len(),
            names[keep..].join(", ")
        ));
    }
    if !notes.is_empty() {
        let note = format!(
            "({}; name columns in the SELECT, add LIMIT, or use --csv / --json for everything)",
            notes.join("; ")
        );
        out.push_str(&wrap(&note, width.unwrap_or(usize::MAX)));
    }
    out
}

/// `text` broken at spaces into lines of at most `width` characters (a
/// longer word stays whole), each ending in a newline.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide() -> DataFrame {
        df!(
            "run" => ["si-cnn-emotion8-speakers-0a1b2c3d", "cnn-gender-emotion14-random-9f8e7d6c"],
            "fold" => [Some(1i32), None],
            "train_accuracy" => [0.912345f64, 0.5],
            "test_accuracy" => [64.583333f64, 12.0],
            "test_uar" => [61.25f64, 11.0],
            "test_macro_f1" => [60.0f64, 10.5],
            "n_test" => [120u32, 360],
            "test_speakers" => ["1,11,20,21", "all"],
        )
        .unwrap()
    }

    #[test]
    fn a_narrow_terminal_gets_whole_columns_and_a_note_naming_the_rest() {
        let out = to_table(&wide(), Some(80));
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "too wide: {line:?}");
        }
        let header = out.lines().next().unwrap();
        assert!(header.starts_with("run"), "{header}");
        assert!(header.contains("train_accuracy"), "{header}");
        // Every header is printed whole or not at all.
        let names = wide()
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>();
        let hidden: Vec<&String> = names
            .iter()
            .filter(|n| !header.split_whitespace().any(|h| h == n.as_str()))
            .collect();
        assert!(
            !hidden.is_empty(),
            "80 columns cannot hold all eight: {out}"
        );
        let note = out.lines().skip(4).collect::<Vec<_>>().join(" ");
        for n in hidden {
            assert!(note.contains(n.as_str()), "note does not name {n}: {out}");
        }
        assert!(note.contains("--csv"), "{out}");
    }

    #[test]
    fn no_width_prints_every_column_and_rounds_floats() {
        let out = to_table(&wide(), None);
        let header = out.lines().next().unwrap();
        assert_eq!(header.split_whitespace().count(), 8, "{out}");
        assert!(
            out.contains("64.5833") && !out.contains("64.583333"),
            "{out}"
        );
        assert!(!out.contains("not shown"), "{out}");
    }

    #[test]
    fn long_frames_say_how_many_rows_are_not_printed() {
        let df = df!("x" => (0..100i64).collect::<Vec<_>>()).unwrap();
        let out = to_table(&df, Some(80));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[2 + TABLE_ROWS - 1].trim(), "39", "{out}");
        assert!(lines[2 + TABLE_ROWS].starts_with('('), "{out}");
        assert!(out.contains("60 more rows"), "{out}");
    }
}
