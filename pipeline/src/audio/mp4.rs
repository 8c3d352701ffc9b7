//! A sanity pass over an MP4/M4A file's boxes before Symphonia reads it.
//! Symphonia allocates what a sample table announces before reading it
//! (`Vec::with_capacity(entry_count)`): a damaged `stts` asking for 34 GB
//! aborts the process, which no `catch_unwind` can stop. Here every box
//! must fit inside its parent (and the file), and every sample table's
//! entry count must fit inside its box.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Boxes that hold only boxes (descended into).
const CONTAINERS: [&[u8; 4]; 8] = [
    b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"traf",
];

/// Checks the file's top-level boxes, and the boxes inside `moov` and
/// `moof`. The error says which box is damaged and how.
pub(crate) fn check(path: &Path) -> Result<(), String> {
    let mut f = File::open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        let mut head = [0u8; 16];
        let n = f
            .by_ref()
            .take(16)
            .read(&mut head)
            .map_err(|e| e.to_string())?;
        let (size, header) = box_size(&head[..n], len - pos)?;
        let kind = &head[4..8];
        if size < header || size > len - pos {
            return Err(format!(
                "box `{}` at byte {pos} announces {size} bytes, past the end of the file ({len} bytes)",
                name(kind)
            ));
        }
        if kind == b"moov" || kind == b"moof" {
            f.seek(SeekFrom::Start(pos + header))
                .map_err(|e| e.to_string())?;
            let mut body = Vec::new();
            f.by_ref()
                .take(size - header)
                .read_to_end(&mut body)
                .map_err(|e| e.to_string())?;
            check_boxes(&body, 0)?;
        }
        pos += size;
    }
    Ok(())
}

/// A box's size and header length from its first bytes (`left`: bytes from
/// the box's start to the end of its parent, for size 0, "to the end").
fn box_size(head: &[u8], left: u64) -> Result<(u64, u64), String> {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64;
    match be32(head) {
        0 => Ok((left, 8)),
        1 if head.len() >= 16 => Ok((
            u64::from_be_bytes(head[8..16].try_into().map_err(|_| "short box")?),
            16,
        )),
        1 => Err("a box's 64-bit size is cut off".into()),
        n => Ok((n, 8)),
    }
}

fn name(kind: &[u8]) -> String {
    kind.iter()
        .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
        .collect()
}

fn check_boxes(b: &[u8], depth: usize) -> Result<(), String> {
    if depth > 16 {
        return Err("boxes nested more than 16 deep".into());
    }
    let mut p = 0usize;
    while p + 8 <= b.len() {
        let left = (b.len() - p) as u64;
        let (size, header) = box_size(&b[p..b.len().min(p + 16)], left)?;
        let kind = &b[p + 4..p + 8];
        if size < header || size > left {
            return Err(format!(
                "box `{}` announces {size} bytes, more than its parent holds ({left})",
                name(kind)
            ));
        }
        let body = &b[p + header as usize..p + size as usize];
        let entry = match kind {
            b"stts" | b"ctts" | b"co64" => Some(8),
            b"stsc" => Some(12),
            b"stco" => Some(4),
            _ => None,
        };
        if let Some(entry) = entry {
            table(kind, body, 4, entry)?;
        } else if kind == b"stsz" {
            // version/flags, a constant sample size (0: a table follows), the count.
            let constant = body.get(4..8).is_some_and(|s| s != [0, 0, 0, 0]);
            if !constant {
                table(kind, body, 8, 4)?;
            }
        } else if CONTAINERS.iter().any(|c| c.as_slice() == kind) {
            check_boxes(body, depth + 1)?;
        }
        p += size as usize;
    }
    Ok(())
}

/// A sample table: its entry count (a big-endian u32 at `at`) times
/// `entry` bytes must fit in the rest of the box.
fn table(kind: &[u8], body: &[u8], at: usize, entry: u64) -> Result<(), String> {
    let Some(count) = body.get(at..at + 4) else {
        return Err(format!("box `{}` is cut off", name(kind)));
    };
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as u64;
    let room = (body.len() - at - 4) as u64;
    if count * entry > room {
        return Err(format!(
            "box `{}` lists {count} entries but holds {room} bytes",
            name(kind)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    /// `ftyp`, then `moov` holding a track whose `stts` lists `count` entries
    /// and holds `held` of them.
    fn file(count: u32, held: usize) -> Vec<u8> {
        let mut stts = vec![0u8; 4];
        stts.extend_from_slice(&count.to_be_bytes());
        stts.extend(std::iter::repeat_n(0u8, 8 * held));
        let stbl = mp4_box(b"stbl", &mp4_box(b"stts", &stts));
        let trak = mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"minf", &stbl)));
        let mut out = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        out.extend(mp4_box(b"moov", &trak));
        out
    }

    #[test]
    fn regression_a_sample_table_larger_than_its_box_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.m4a");
        std::fs::write(&path, file(2, 2)).unwrap();
        check(&path).unwrap();
        std::fs::write(&path, file(u32::MAX, 2)).unwrap();
        let e = check(&path).unwrap_err();
        assert!(e.contains("`stts` lists 4294967295 entries"), "{e}");
        let mut cut = file(2, 2);
        cut.truncate(cut.len() - 4);
        std::fs::write(&path, cut).unwrap();
        let e = check(&path).unwrap_err();
        assert!(
            e.contains("box `moov`") && e.contains("past the end"),
            "{e}"
        );
    }
}
