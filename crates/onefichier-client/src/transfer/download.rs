//! Downloads: a token, then GETs with `Range` that resume an existing `.part` file, bytes hashed
//! as they are written; the `.part` file becomes the destination only when its size and
//! Whirlpool match the file's checksum.

use super::BackgroundHasher;
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io, transport};
use crate::governor::Budget;
use crate::progress::Reporter;
use crate::redact::RedactedUrl;
use bytes::Bytes;
use futures::StreamExt;
use onefichier_protocol::download::GetTokenRequest;
use onefichier_protocol::lenient::Flag;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OP: &str = "download";
/// Connections tried (each resumes where the last one stopped).
const ATTEMPTS: u32 = 8;
/// Write buffer of the destination.
const WRITE_BUFFER: usize = 1 << 20;

/// What is known of the file before downloading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool (hex), when known.
    pub whirlpool: Option<String>,
}

/// How to download.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// The file's password.
    pub password: Option<String>,
    /// Spend CDN credits.
    pub cdn: bool,
    /// Size and checksum to check against; asked from `file/info` when absent.
    pub expected: Option<Expected>,
    /// Skip hashing and the checksum comparison (the size is still checked).
    pub skip_verification: bool,
}

impl DownloadOptions {
    /// Downloads a password-protected file.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Checks against a known size and checksum (e.g. from a listing).
    pub fn expecting(mut self, expected: Expected) -> Self {
        self.expected = Some(expected);
        self
    }
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool of the bytes written (empty when verification was skipped).
    pub whirlpool: String,
    /// Whether the Whirlpool was compared with the server's checksum.
    pub verified: bool,
    /// Bytes that were already there from an interrupted download.
    pub resumed_from: u64,
}

/// The `.part` file next to `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

enum Fetch {
    /// The file is complete.
    Done,
    /// The connection broke; resume.
    Broken(Error),
}

impl Client {
    /// Downloads `link` to `dest`, resuming `dest.part` if there is one.
    pub async fn download_file(
        &self,
        link: &str,
        dest: &Path,
        options: &DownloadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Downloaded> {
        let expected = match &options.expected {
            Some(expected) => Some(expected.clone()),
            None if options.skip_verification => None,
            None => match self.file_info(link, options.password.as_deref()).await {
                Ok(info) => Some(Expected {
                    size: info.size,
                    whirlpool: Some(info.checksum).filter(|c| !c.is_empty()),
                }),
                // Other accounts' files may have no details for us: download unverified.
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotAllowed) => None,
                Err(e) => return Err(e),
            },
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = part_path(dest);
        let already = tokio::fs::metadata(&part)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let hasher = (!options.skip_verification).then(BackgroundHasher::new);
        let mut have = if already > 0 {
            if expected.as_ref().is_some_and(|e| already > e.size) {
                // Longer than the file: not ours to resume.
                tokio::fs::remove_file(&part)
                    .await
                    .map_err(|e| io(OP, "removing a stale .part", e))?;
                0
            } else {
                if let Some(hasher) = &hasher {
                    feed_existing(&part, hasher).await?;
                }
                already
            }
        } else {
            0
        };
        let resumed_from = have;
        reporter.start(&name, expected.as_ref().map(|e| e.size), have);
        let mut token: Option<RedactedUrl> = None;
        let mut total = expected.as_ref().map(|e| e.size);
        let mut last_error = None;
        let mut done = false;
        for attempt in 0..ATTEMPTS {
            if total == Some(have) {
                done = true;
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
            }
            let url = match &token {
                Some(url) => url.clone(),
                None => {
                    let request = GetTokenRequest {
                        url: Some(link.to_owned()),
                        pass: options.password.clone(),
                        cdn: options.cdn.then_some(Flag(true)),
                        single: Some(Flag(true)),
                        ..GetTokenRequest::default()
                    };
                    let url = self.download_token(&request).await?;
                    token = Some(url.clone());
                    url
                }
            };
            match self
                .fetch(
                    &url,
                    &part,
                    &mut have,
                    &mut total,
                    hasher.as_ref(),
                    &name,
                    &reporter,
                )
                .await
            {
                Ok(Fetch::Done) => {
                    done = true;
                    break;
                }
                Ok(Fetch::Broken(error)) => {
                    tracing::info!(attempt, have, error = %error, "download interrupted; resuming");
                    last_error = Some(error);
                }
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    // The token expired: a new one resumes just as well.
                    token = None;
                    last_error = Some(error);
                }
                Err(error) => {
                    reporter.finish(&name, false);
                    return Err(error);
                }
            }
        }
        if !done {
            reporter.finish(&name, false);
            return Err(last_error.unwrap_or_else(|| {
                Error::new(ErrorKind::Transport, OP, "the download did not complete")
            }));
        }
        let whirlpool = match hasher {
            Some(hasher) => hasher.finish().await,
            None => String::new(),
        };
        let size = have;
        let verified = match &expected {
            _ if options.skip_verification => false,
            Some(Expected {
                size: want,
                whirlpool: Some(sum),
            }) => {
                if *want != size || !sum.eq_ignore_ascii_case(&whirlpool) {
                    // Resuming corrupt bytes would only repeat them: start over next time.
                    let _ = tokio::fs::remove_file(&part).await;
                    reporter.finish(&name, false);
                    return Err(Error::new(
                        ErrorKind::Verification,
                        OP,
                        format!(
                            "{name}: got {size} bytes with Whirlpool {}…, the server's checksum is {}…",
                            &whirlpool[..16],
                            sum.get(..16).unwrap_or(sum)
                        ),
                    )
                    .with_hint("the file on the server or the connection is corrupt; nothing was saved"));
                }
                true
            }
            Some(Expected {
                size: want,
                whirlpool: None,
            }) if *want != size => {
                reporter.finish(&name, false);
                return Err(Error::new(
                    ErrorKind::Verification,
                    OP,
                    format!("{name}: got {size} bytes, expected {want}"),
                ));
            }
            _ => false,
        };
        tokio::fs::rename(&part, dest)
            .await
            .map_err(|e| io(OP, &format!("moving {} into place", part.display()), e))?;
        reporter.finish(&name, true);
        Ok(Downloaded {
            path: dest.to_owned(),
            size,
            whirlpool,
            verified,
            resumed_from,
        })
    }

    /// One GET from `have` on; appends to `part`.
    #[allow(clippy::too_many_arguments)]
    async fn fetch(
        &self,
        url: &RedactedUrl,
        part: &Path,
        have: &mut u64,
        total: &mut Option<u64>,
        hasher: Option<&BackgroundHasher>,
        name: &str,
        reporter: &Arc<dyn Reporter>,
    ) -> Result<Fetch> {
        let mut request = self.inner.http.get(url.expose());
        if *have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        self.inner.governor.acquire(Budget::Call).await;
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Fetch::Broken(transport(OP, e))),
        };
        let status = response.status().as_u16();
        match status {
            200 if *have > 0 => {
                return Err(Error::new(
                    ErrorKind::UnexpectedResponse,
                    OP,
                    "the server ignored the range: cannot resume",
                ));
            }
            200 | 206 => {}
            416 => {
                // Nothing past what we have: complete if the sizes agree.
                let size = content_range_total(response.headers());
                return if size == Some(*have) {
                    *total = Some(*have);
                    Ok(Fetch::Done)
                } else {
                    Err(Error::new(
                        ErrorKind::Verification,
                        OP,
                        "the partial file is longer than the server's",
                    ))
                };
            }
            404 | 410 => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    OP,
                    "the download link expired",
                ));
            }
            _ => {
                let body = response.bytes().await.unwrap_or_default();
                return crate::classify::classify(OP, status, None, &body, false).and_then(|()| {
                    Err(Error::new(
                        ErrorKind::UnexpectedResponse,
                        OP,
                        format!("HTTP {status}"),
                    ))
                });
            }
        }
        if status == 206 {
            let start = content_range_start(response.headers());
            if start != Some(*have) {
                return Err(Error::new(
                    ErrorKind::UnexpectedResponse,
                    OP,
                    "the server sent another range than asked",
                ));
            }
            *total = total.or(content_range_total(response.headers()));
        } else {
            *total = total.or(response.content_length());
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(part)
            .await
            .map_err(|e| io(OP, &part.display().to_string(), e))?;
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut stream = response.bytes_stream();
        let mut broken = None;
        while let Some(chunk) = stream.next().await {
            let chunk: Bytes = match chunk {
                Ok(c) => c,
                Err(e) => {
                    broken = Some(transport(OP, e));
                    break;
                }
            };
            if total.is_some_and(|t| *have + chunk.len() as u64 > t) {
                broken = Some(Error::new(
                    ErrorKind::Verification,
                    OP,
                    "the server sent more bytes than the file has",
                ));
                break;
            }
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| io(OP, "writing the download", e))?;
            *have += chunk.len() as u64;
            reporter.bytes(name, chunk.len() as u64);
            if let Some(hasher) = hasher {
                hasher.feed(chunk).await;
            }
        }
        // No fsync: a crash may leave a damaged tail in the .part file, but a resumed download
        // hashes the .part from disk again, so the final check catches it.
        writer
            .flush()
            .await
            .map_err(|e| io(OP, "writing the download", e))?;
        if let Some(error) = broken {
            if error.kind() == ErrorKind::Verification {
                return Err(error);
            }
            return Ok(Fetch::Broken(error));
        }
        match *total {
            Some(t) if *have < t => Ok(Fetch::Broken(Error::new(
                ErrorKind::Transport,
                OP,
                "the connection closed early",
            ))),
            _ => {
                *total = Some(*have);
                Ok(Fetch::Done)
            }
        }
    }
}

/// Hashes what an interrupted download left, so the final checksum covers the whole file.
async fn feed_existing(part: &Path, hasher: &BackgroundHasher) -> Result<()> {
    let mut file = tokio::fs::File::open(part)
        .await
        .map_err(|e| io(OP, &part.display().to_string(), e))?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .await
            .map_err(|e| io(OP, "reading the .part file", e))?;
        if n == 0 {
            return Ok(());
        }
        hasher.feed(Bytes::copy_from_slice(&buffer[..n])).await;
    }
}

fn content_range(headers: &reqwest::header::HeaderMap) -> Option<(u64, u64)> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let spec = value.strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let start = range.split('-').next()?.parse().ok().unwrap_or(0);
    Some((start, total.parse().ok()?))
}

fn content_range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    content_range(headers).map(|(s, _)| s)
}

fn content_range_total(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    content_range(headers).map(|(_, t)| t)
}
