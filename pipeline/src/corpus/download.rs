//! Resumable HTTP(S) download with a progress bar, a timeout and an MD5 check.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use store::fingerprint::{digest_reader, hex};

use super::CorpusError;
use crate::progress;

/// The RAVDESS speech set on Zenodo (record 1188976).
pub const RAVDESS_URL: &str =
    "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1";
/// MD5 of `Audio_Speech_Actors_01-24.zip` as the Zenodo record lists it.
pub const RAVDESS_MD5: &str = "bc696df654c87fed845eb13823edef8a";

/// What to fetch and where.
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// The URL.
    pub url: String,
    /// Folder the archive is saved in.
    pub out_dir: PathBuf,
    /// Expected MD5 (hex) of the whole file, if known.
    pub md5: Option<String>,
    /// Connect / response / per-read timeout.
    pub timeout: Duration,
    /// Draw a progress bar.
    pub show_progress: bool,
}

/// The file name a URL's last path segment gives (query dropped).
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        "download.zip".into()
    } else {
        name.into()
    }
}

fn md5_of(path: &Path) -> Result<String, CorpusError> {
    let file = File::open(path).map_err(|e| CorpusError::io(path, e))?;
    let digest = digest_reader::<Md5>(file).map_err(|e| CorpusError::io(path, e))?;
    Ok(hex(&digest))
}

/// Downloads `cfg.url` into `cfg.out_dir`, resuming a partial download
/// (`.<name>.part`) with an HTTP Range request, then checks the size
/// announced by the server and the MD5. Returns the archive's path; an
/// archive already present with the right MD5 is not fetched again.
pub fn download(cfg: &DownloadConfig) -> Result<PathBuf, CorpusError> {
    fs::create_dir_all(&cfg.out_dir).map_err(|e| CorpusError::io(&cfg.out_dir, e))?;
    let name = file_name(&cfg.url);
    let target = cfg.out_dir.join(&name);
    let part = cfg.out_dir.join(format!(".{name}.part"));
    if target.is_file() {
        match &cfg.md5 {
            Some(want) if md5_of(&target)? != want.to_lowercase() => {}
            _ => return Ok(target),
        }
    }
    let transfer = |reason: String| CorpusError::Transfer {
        url: cfg.url.clone(),
        reason,
        part: part.clone(),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(cfg.timeout))
        .timeout_recv_response(Some(cfg.timeout))
        .timeout_per_read(Some(cfg.timeout))
        .build()
        .into();
    let offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(&cfg.url);
    if offset > 0 {
        req = req.header("Range", format!("bytes={offset}-"));
    }
    let resp = req.call().map_err(|e| transfer(e.to_string()))?;
    let status = resp.status().as_u16();
    let (append, total) = match status {
        206 => (true, resp.body().content_length().map(|n| n + offset)),
        200 => (false, resp.body().content_length()),
        // The part already holds everything the server has.
        416 if offset > 0 => (true, Some(offset)),
        s => {
            return Err(CorpusError::Status {
                url: cfg.url.clone(),
                status: s,
            })
        }
    };
    if status != 416 {
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .map_err(|e| CorpusError::io(&part, e))?;
        let start = if append { offset } else { 0 };
        let pb = progress::bar(total.unwrap_or(0), "download", cfg.show_progress);
        pb.set_position(start);
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = body.read(&mut buf).map_err(|e| transfer(e.to_string()))?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n])
                .map_err(|e| CorpusError::io(&part, e))?;
            pb.inc(n as u64);
        }
        file.sync_all().map_err(|e| CorpusError::io(&part, e))?;
        pb.finish_and_clear();
    }
    let got = fs::metadata(&part)
        .map_err(|e| CorpusError::io(&part, e))?
        .len();
    if let Some(total) = total {
        if got < total {
            return Err(transfer(format!(
                "the connection ended after {got} of {total} bytes"
            )));
        }
        if got > total {
            let _ = fs::remove_file(&part);
            return Err(CorpusError::Mismatch {
                path: part,
                what: "size",
                expected: total.to_string(),
                actual: got.to_string(),
            });
        }
    }
    if let Some(want) = &cfg.md5 {
        let actual = md5_of(&part)?;
        if actual != want.to_lowercase() {
            let _ = fs::remove_file(&part);
            return Err(CorpusError::Mismatch {
                path: target,
                what: "md5",
                expected: want.clone(),
                actual,
            });
        }
    }
    store::atomic::rename_durable(&part, &target).map_err(|e| CorpusError::Transfer {
        url: cfg.url.clone(),
        reason: e.to_string(),
        part: part.clone(),
    })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_drops_the_query() {
        assert_eq!(file_name(RAVDESS_URL), "Audio_Speech_Actors_01-24.zip");
        assert_eq!(file_name("http://127.0.0.1:9/x/a.zip"), "a.zip");
        assert_eq!(file_name("http://127.0.0.1:9/"), "download.zip");
    }
}
