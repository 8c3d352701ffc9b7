//! Any corpus from a manifest: CSV or TSV (by the file's extension, or a tab
//! in the header) with a header row naming at least `path`, `emotion` and
//! `speaker`, optionally `gender` (`male`/`female`/`m`/`f`, else unknown)
//! and `split` (kept for the user; `ser` splits by speakers itself). Paths
//! are relative to the manifest's folder unless absolute. Each row is
//! validated; a bad row is a reject naming its line.

use std::path::{Path, PathBuf};

use super::{emotion_code, Labels};

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

fn split_line(line: &str, tab: bool) -> Vec<String> {
    if tab {
        return line.split('\t').map(|v| v.trim().to_string()).collect();
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
    out.push(cur.trim().to_string());
    out
}

/// Reads and validates a manifest. Speakers get store ids `base + 1, …`
/// in name order. The error is about the manifest as a whole.
pub fn read_manifest(file: &Path, base: u32) -> Result<Vec<ManifestRow>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
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
    let rows: Vec<(usize, Vec<String>)> = lines.map(|(i, l)| (i + 1, split_line(l, tab))).collect();
    let mut speakers: Vec<String> = rows
        .iter()
        .filter_map(|(_, f)| f.get(s).filter(|v| !v.is_empty()).cloned())
        .collect();
    speakers.sort();
    speakers.dedup();
    Ok(rows
        .into_iter()
        .map(|(line, f)| {
            let raw = f.get(p).cloned().unwrap_or_default();
            let path = if Path::new(&raw).is_absolute() {
                PathBuf::from(&raw)
            } else {
                dir.join(&raw)
            };
            let labels = (|| {
                if raw.is_empty() {
                    return Err(format!("line {line}: no path"));
                }
                let speaker = f
                    .get(s)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("line {line}: no speaker"))?;
                let word = f.get(e).map(String::as_str).unwrap_or_default();
                let (code, name) = emotion_code(word)
                    .ok_or_else(|| format!("line {line}: `{word}` is not an emotion name"))?;
                let gender = match g.and_then(|g| f.get(g)).map(|v| v.to_ascii_lowercase()) {
                    Some(v) if v == "male" || v == "m" => "male",
                    Some(v) if v == "female" || v == "f" => "female",
                    _ => "",
                };
                let stem = Path::new(&raw)
                    .file_stem()
                    .and_then(|x| x.to_str())
                    .unwrap_or_default();
                let idx = speakers.iter().position(|x| x == speaker).unwrap_or(0);
                Ok(Labels {
                    clip_id: format!("{speaker}_{stem}"),
                    speaker: speaker.clone(),
                    actor: base + 1 + idx as u32,
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
