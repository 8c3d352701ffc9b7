//! Any corpus from a manifest: CSV or TSV (by the file's extension, or a tab
//! in the header) with a header row naming at least `path`, `emotion` and
//! `speaker`, optionally `gender` and `split` (kept for the user; `ser`
//! splits by speakers itself). A UTF-8 byte-order mark is ignored.
//!
//! Each row is validated; a bad row is a reject naming its line:
//! - a field with an unterminated double quote;
//! - a path that leaves the manifest's folder (absolute, or `../` above
//!   it) unless [`ManifestOptions::allow_outside`]; paths are relative to
//!   the manifest's folder;
//! - a file listed on an earlier line (the first row is kept);
//! - a gender other than [`GENDERS`] (empty is unknown).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::{emotion_code, Labels};

/// The values of the `gender` column (any case); empty means unknown.
pub const GENDERS: &str = "male, m, female, f, unknown (or empty)";

/// A manifest row, labelled (or why not).
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    /// 1-based line in the manifest.
    pub line: usize,
    /// The audio file.
    pub path: PathBuf,
    /// Its labels, or the reason the row cannot be used.
    pub labels: Result<Labels, String>,
}

/// How a manifest is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestOptions {
    /// Speakers get store ids `base + 1, …` in name order.
    pub base: u32,
    /// Paths may point outside the manifest's folder (`--allow-outside`).
    pub allow_outside: bool,
}

/// The fields of one line, or why the line cannot be split.
fn split_line(line: &str, tab: bool) -> Result<Vec<String>, String> {
    if tab {
        return Ok(line.split('\t').map(|v| v.trim().to_string()).collect());
    }
    // CSV with optional double quotes around fields.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a double quote is not closed (fields may not span lines)".into());
    }
    out.push(cur.trim().to_string());
    Ok(out)
}

/// `path` with `.` and `..` resolved by name; `None` if a `..` climbs above
/// where it starts (for a relative path) or the path is absolute.
fn inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Reads and validates a manifest with speakers numbered from `base + 1`
/// and paths kept inside its folder (see [`read_manifest_with`]).
pub fn read_manifest(file: &Path, base: u32) -> Result<Vec<ManifestRow>, String> {
    read_manifest_with(
        file,
        &ManifestOptions {
            base,
            allow_outside: false,
        },
    )
}

/// Reads and validates a manifest. The error is about the manifest as a
/// whole (unreadable, no header naming the columns); a bad row is a row
/// whose `labels` say why.
pub fn read_manifest_with(file: &Path, opts: &ManifestOptions) -> Result<Vec<ManifestRow>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("{}: empty manifest", file.display()))?;
    let tab = file.extension().is_some_and(|e| e == "tsv") || header.contains('\t');
    let cols: Vec<String> = split_line(header, tab)
        .map_err(|e| format!("{}: header: {e}", file.display()))?
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let (Some(p), Some(e), Some(s)) = (col("path"), col("emotion"), col("speaker")) else {
        return Err(format!(
            "{}: the header must name path, emotion and speaker (has: {})",
            file.display(),
            cols.join(", ")
        ));
    };
    let g = col("gender");
    let rows: Vec<(usize, Result<Vec<String>, String>)> =
        lines.map(|(i, l)| (i + 1, split_line(l, tab))).collect();
    let mut speakers: Vec<String> = rows
        .iter()
        .filter_map(|(_, f)| f.as_ref().ok()?.get(s).filter(|v| !v.is_empty()).cloned())
        .collect();
    speakers.sort();
    speakers.dedup();
    // Where each file was first listed (by its path with `.`/`..` resolved).
    let mut first: HashMap<PathBuf, usize> = HashMap::new();
    Ok(rows
        .into_iter()
        .map(|(line, fields)| {
            let f = fields.as_deref().unwrap_or_default();
            let raw = f.get(p).cloned().unwrap_or_default();
            let path = if Path::new(&raw).is_absolute() {
                PathBuf::from(&raw)
            } else {
                dir.join(&raw)
            };
            let labels = (|| {
                if let Err(e) = &fields {
                    return Err(format!("line {line}: {e}"));
                }
                if raw.is_empty() {
                    return Err(format!("line {line}: no path"));
                }
                let key = match inside(Path::new(&raw)) {
                    Some(rel) => dir.join(rel),
                    None if opts.allow_outside => path.clone(),
                    None => {
                        return Err(format!(
                            "line {line}: path {raw} leaves the manifest's folder {} (use --allow-outside to allow it)",
                            dir.display()
                        ))
                    }
                };
                let speaker = f
                    .get(s)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("line {line}: no speaker"))?;
                let word = f.get(e).map(String::as_str).unwrap_or_default();
                let (code, name) = emotion_code(word)
                    .ok_or_else(|| format!("line {line}: `{word}` is not an emotion name"))?;
                let given = g.and_then(|g| f.get(g)).map(|v| v.to_ascii_lowercase());
                let gender = match given.as_deref() {
                    Some("male" | "m") => "male",
                    Some("female" | "f") => "female",
                    None | Some("" | "unknown") => "",
                    Some(_) => {
                        return Err(format!(
                            "line {line}: gender `{}` is not one of {GENDERS}",
                            g.and_then(|g| f.get(g)).map_or("", String::as_str)
                        ))
                    }
                };
                // Last: a row bad in itself says so rather than this.
                if let Some(earlier) = first.get(&key) {
                    return Err(format!(
                        "line {line}: {raw} is already listed on line {earlier} (each file once)"
                    ));
                }
                first.insert(key, line);
                let stem = Path::new(&raw)
                    .file_stem()
                    .and_then(|x| x.to_str())
                    .unwrap_or_default();
                let idx = speakers.iter().position(|x| x == speaker).unwrap_or(0);
                Ok(Labels {
                    clip_id: format!("{speaker}_{stem}"),
                    speaker: speaker.clone(),
                    actor: opts.base + 1 + idx as u32,
                    gender: gender.into(),
                    emotion: code,
                    emotion_name: name,
                    ravdess: [0; 5],
                })
            })();
            ManifestRow { line, path, labels }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<ManifestRow> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.csv");
        std::fs::write(&file, text).unwrap();
        read_manifest(&file, 10_000).unwrap()
    }

    fn why(row: &ManifestRow) -> String {
        row.labels.clone().unwrap_err()
    }

    #[test]
    fn a_bom_is_ignored() {
        let rows = read("\u{feff}path,emotion,speaker\na.wav,happy,s1\n");
        assert_eq!(rows[0].labels.as_ref().unwrap().emotion_name, "happy");
    }

    #[test]
    fn paths_outside_the_folder_are_rejected_with_their_line() {
        let rows = read(
            "path,emotion,speaker\n../../../../etc/passwd,happy,s1\n/etc/passwd,sad,s1\nx/../../y.wav,sad,s1\nx/../y.wav,sad,s1\n",
        );
        for r in &rows[..3] {
            let e = why(r);
            assert!(e.contains("leaves the manifest's folder"), "{e}");
            assert!(e.contains(&format!("line {}", r.line)), "{e}");
        }
        assert!(rows[3].labels.is_ok());
    }

    #[test]
    fn allow_outside_lets_them_through() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.csv");
        std::fs::write(&file, "path,emotion,speaker\n/data/a.wav,happy,s1\n").unwrap();
        let opts = ManifestOptions {
            base: 0,
            allow_outside: true,
        };
        let rows = read_manifest_with(&file, &opts).unwrap();
        assert!(rows[0].labels.is_ok());
        assert_eq!(rows[0].path, PathBuf::from("/data/a.wav"));
    }

    #[test]
    fn a_file_listed_twice_keeps_its_first_row() {
        let rows = read("path,emotion,speaker\na.wav,happy,s1\n./a.wav,sad,s2\n");
        assert!(rows[0].labels.is_ok());
        let e = why(&rows[1]);
        assert!(
            e.contains("line 3") && e.contains("already listed on line 2"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_gender_is_a_reject_naming_the_values() {
        let rows = read(
            "path,emotion,speaker,gender\na.wav,happy,s1,x\nb.wav,happy,s1,\nc.wav,happy,s1,Unknown\nd.wav,happy,s1,F\n",
        );
        let e = why(&rows[0]);
        assert!(e.contains("gender `x`") && e.contains(GENDERS), "{e}");
        assert_eq!(rows[1].labels.as_ref().unwrap().gender, "");
        assert_eq!(rows[2].labels.as_ref().unwrap().gender, "");
        assert_eq!(rows[3].labels.as_ref().unwrap().gender, "female");
    }

    #[test]
    fn an_unterminated_quote_is_a_reject_of_its_line() {
        let rows = read("path,emotion,speaker\n\"a.wav,happy,s1\nb.wav,sad,s1\n");
        let e = why(&rows[0]);
        assert!(e.contains("line 2") && e.contains("quote"), "{e}");
        assert!(rows[1].labels.is_ok());
    }
}
