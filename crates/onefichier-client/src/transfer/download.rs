//! Downloads: a token, then GETs with `Range` that resume an existing `.part` file — over one
//! connection, or over several for a segmented download — with the bytes hashed in file order
//! as they land; the `.part` file becomes the destination only when its size and Whirlpool match
//! the file's checksum.

use super::BackgroundHasher;
use super::part::{PartWriter, Pieces, sidecar_path};
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io, transport};
use crate::progress::{Reporter, TransferId};
use crate::redact::RedactedUrl;
use crate::transport::Answer;
use futures::StreamExt;
use onefichier_protocol::download::GetTokenRequest;
use onefichier_protocol::lenient::Flag;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const OP: &str = "download";
/// Download connections one client opens at most, whatever the number of files and segments:
/// the service allows premium accounts about 30 in all.
pub(crate) const MAX_CONNECTIONS: usize = 30;

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
    /// Connections for one file (1 = a single stream). Several need the size, known when
    /// verifying or from [`DownloadOptions::expecting`]; otherwise one connection is used.
    pub segments: usize,
}

impl DownloadOptions {
    /// Downloads a password-protected file.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Fetches the file over `segments` connections at once.
    pub fn with_segments(mut self, segments: usize) -> Self {
        self.segments = segments;
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

/// Opens (or creates) the `.part` file, kept as it is: it is the resume point.
async fn open_part(part: &Path) -> Result<std::fs::File> {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(part)
        .await
        .map_err(|e| io(OP, &part.display().to_string(), e))?;
    Ok(file.into_std().await)
}

/// Checks what arrived against the announced size and the server's checksum.
fn verify(
    name: &str,
    size: u64,
    whirlpool: &str,
    announced: Option<u64>,
    checksum: Option<&str>,
) -> Result<()> {
    match (announced, checksum) {
        (Some(want), _) if want != size => Err(Error::new(
            ErrorKind::Verification,
            OP,
            format!("{name}: got {size} bytes, expected {want}"),
        )),
        (_, Some(sum)) if !sum.eq_ignore_ascii_case(whirlpool) => Err(Error::new(
            ErrorKind::Verification,
            OP,
            format!(
                "{name}: got {size} bytes with Whirlpool {}…, the server's checksum is {}…",
                &whirlpool[..16],
                sum.get(..16).unwrap_or(sum)
            ),
        )
        .with_hint("the file on the server or the connection is corrupt; nothing was saved")),
        _ => Ok(()),
    }
}

/// How one GET ended.
enum Fetch {
    /// The piece is complete.
    Done,
    /// The connection broke; resume.
    Broken(Error),
}

/// What the connections of one download share.
struct Transfer<'a> {
    link: &'a str,
    options: &'a DownloadOptions,
    name: String,
    /// The plan, as it was on disk when the download started.
    pieces: Pieces,
    /// Pieces no connection has taken yet, in file order.
    queue: Mutex<VecDeque<usize>>,
    /// The download URL, shared by the connections and replaced when it expires.
    token: tokio::sync::Mutex<Option<RedactedUrl>>,
    /// The size the server announced, when it was not known beforehand.
    learned_size: Mutex<Option<u64>>,
    writer: PartWriter,
    reporter: Arc<dyn Reporter>,
    /// This transfer, for the reporter.
    id: TransferId,
}

impl Transfer<'_> {
    async fn token(&self, client: &Client) -> Result<RedactedUrl> {
        let mut token = self.token.lock().await;
        if let Some(url) = &*token {
            return Ok(url.clone());
        }
        let request = GetTokenRequest {
            url: Some(self.link.to_owned()),
            pass: self.options.password.clone(),
            cdn: self.options.cdn.then_some(Flag(true)),
            // One stream at a time unless the file is fetched in segments.
            single: Some(Flag(self.pieces.count() == 1)),
            ..GetTokenRequest::default()
        };
        let url = client.download_token(&request).await?;
        *token = Some(url.clone());
        Ok(url)
    }

    /// Drops an expired URL (unless another connection already replaced it).
    async fn forget_token(&self, stale: &RedactedUrl) {
        let mut token = self.token.lock().await;
        if token.as_ref() == Some(stale) {
            *token = None;
        }
    }

    /// Checks the size the server announces against what is known; returns it.
    fn learn_size(&self, announced: Option<u64>) -> Result<Option<u64>> {
        let mut learned = self.learned_size.lock().expect("size lock");
        let known = self.pieces.size().or(*learned);
        match (known, announced) {
            (Some(known), Some(announced)) if known != announced => Err(Error::new(
                ErrorKind::Verification,
                OP,
                format!(
                    "{}: the server now has {announced} bytes, {known} were expected",
                    self.name
                ),
            )
            .with_hint("the file changed on the server; start the download again")),
            (None, announced) => {
                *learned = announced;
                Ok(announced)
            }
            (known, _) => Ok(known),
        }
    }
}

/// Largest remote file read into memory (a split manifest, a folder's times file).
const SMALL_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// What the head of a download node's answer says.
enum Head {
    /// Bytes follow; the file's whole size, when the answer says it.
    Body {
        response: reqwest::Response,
        size: Option<u64>,
    },
    /// No bytes follow, and the piece is as done as it can be.
    Answered(Fetch),
}

/// Reads the head of a GET from `offset`: a whole file (200, only from the start), a range (206,
/// from where it was asked), nothing left (416), an expired link (404, 410), or a refusal.
async fn read_head(transfer: &Transfer<'_>, answer: Answer, offset: u64) -> Result<Head> {
    let Answer {
        status,
        retry_after,
        response,
    } = answer;
    let size = match status {
        200 if offset > 0 => {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                OP,
                "the server ignored the range: cannot resume",
            ));
        }
        200 => transfer.learn_size(response.content_length())?,
        206 => {
            let (start, total) = content_range(response.headers()).unzip();
            if start != Some(offset) {
                return Err(Error::new(
                    ErrorKind::UnexpectedResponse,
                    OP,
                    "the server sent another range than asked",
                ));
            }
            transfer.learn_size(total)?
        }
        416 => {
            // Nothing past what we have: complete if the sizes agree.
            let total = content_range(response.headers()).map(|(_, total)| total);
            return if total == Some(offset) && transfer.learn_size(total).is_ok() {
                Ok(Head::Answered(Fetch::Done))
            } else {
                Err(Error::new(
                    ErrorKind::Verification,
                    OP,
                    "the partial file is longer than the server's",
                ))
            };
        }
        _ => return Err(refusal(status, retry_after, response).await),
    };
    Ok(Head::Body { response, size })
}

/// What a download node's answer that carries no bytes means: an expired link (404, 410: ask
/// for a new token), or a refusal classified as any call's (a flood lock, an overload).
pub(super) async fn refusal(
    status: u16,
    retry_after: Option<std::time::Duration>,
    response: reqwest::Response,
) -> Error {
    if matches!(status, 404 | 410) {
        return Error::new(ErrorKind::NotFound, OP, "the download link expired");
    }
    let body = match crate::body::read_status_body(OP, response).await {
        Ok(body) => body,
        Err(error) => return error,
    };
    match crate::classify::classify(OP, status, retry_after, &body, false) {
        Err(error) => error,
        Ok(_) => Error::new(ErrorKind::UnexpectedResponse, OP, format!("HTTP {status}")),
    }
}

/// One piece's bytes as they arrive.
struct Piece<'a, 'b> {
    transfer: &'a Transfer<'b>,
    index: usize,
    /// Where the piece ends (the file's end for the last one), when known.
    stop: Option<u64>,
    /// The answer is a range (bytes past the stop are the server's fault).
    ranged: bool,
}

impl Piece<'_, '_> {
    /// Hands the body's bytes to the writer up to the piece's end; `offset` follows them.
    async fn stream(&self, response: reqwest::Response, offset: &mut u64) -> Result<Fetch> {
        let transfer = self.transfer;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let mut chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => return Ok(Fetch::Broken(transport(OP, e))),
            };
            if let Some(stop) = self.stop {
                let room = stop - *offset;
                if chunk.len() as u64 > room {
                    if self.ranged {
                        return Err(Error::new(
                            ErrorKind::Verification,
                            OP,
                            "the server sent more bytes than asked",
                        ));
                    }
                    // A whole-file answer to the first piece: keep the piece, drop the rest.
                    chunk.truncate(room as usize);
                }
            }
            let length = chunk.len() as u64;
            if length > 0 {
                transfer
                    .writer
                    .write(self.index, *offset, chunk)
                    .await
                    .map_err(|()| {
                        Error::new(ErrorKind::Io, OP, "the download could not be written")
                    })?;
                *offset += length;
                transfer.reporter.bytes(transfer.id, length);
            }
            if self.stop == Some(*offset) {
                return Ok(Fetch::Done);
            }
        }
        match self.stop {
            Some(stop) if *offset < stop => Ok(Fetch::Broken(Error::new(
                ErrorKind::Transport,
                OP,
                "the connection closed early",
            ))),
            _ => Ok(Fetch::Done),
        }
    }
}

impl Client {
    /// Downloads a small remote file (a manifest of this client's) whole and verified, through
    /// a staging file beside `near` that is removed after, and returns its bytes.
    pub(crate) async fn fetch_small(
        &self,
        item: &onefichier_protocol::file::FileItem,
        near: &Path,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Vec<u8>> {
        if item.size > SMALL_FILE_LIMIT {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                OP,
                format!(
                    "{} is {} bytes: more than a manifest may hold",
                    item.filename, item.size
                ),
            ));
        }
        let staging = part_path(&near.with_file_name(format!(
            ".{}-{}.manifest",
            std::process::id(),
            rand::random::<u32>()
        )));
        let got = self
            .download_file(
                &item.url,
                &staging,
                &DownloadOptions::default().expecting(Expected {
                    size: item.size,
                    whirlpool: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
                }),
                reporter,
            )
            .await?;
        let bytes = tokio::fs::read(&got.path)
            .await
            .map_err(|e| io(OP, &item.filename, e));
        let _ = tokio::fs::remove_file(&got.path).await;
        bytes
    }

    /// Downloads `link` to `dest`, resuming `dest.part` if there is one.
    pub async fn download_file(
        &self,
        link: &str,
        dest: &Path,
        options: &DownloadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Downloaded> {
        let expected = self.expected_of(link, options).await?;
        let name = dest
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into());
        let (part, expected_size) = (part_path(dest), expected.as_ref().map(|e| e.size));
        let sidecar = sidecar_path(&part);
        let pieces = open_pieces(&part, &sidecar, expected_size, options.segments).await?;
        let resumed_from = pieces.on_disk();
        let hasher = (!options.skip_verification).then(BackgroundHasher::new);
        let file = open_part(&part).await?;
        let writer = PartWriter::start(
            file,
            pieces.clone(),
            (pieces.count() > 1).then(|| sidecar.clone()),
            hasher.as_ref().map(BackgroundHasher::feeder),
        )
        .map_err(|e| io(OP, "starting the writer", e))?;
        let id = TransferId::next();
        reporter.start(id, &name, pieces.size(), resumed_from);
        let queue: VecDeque<usize> = pieces.pending().collect();
        let transfer = Transfer {
            link,
            options,
            name: name.clone(),
            pieces,
            queue: Mutex::new(queue),
            token: tokio::sync::Mutex::new(None),
            learned_size: Mutex::new(None),
            writer,
            reporter: Arc::clone(&reporter),
            id,
        };
        let (pieces, learned_size) = match self.run_connections(transfer, &part).await {
            Ok(done) => done,
            Err(error) => {
                reporter.finish(id, false);
                return Err(error);
            }
        };
        let size = pieces.on_disk();
        let announced = pieces.size().or(learned_size);
        let whirlpool = match hasher {
            Some(hasher) => hasher.finish().await,
            None => String::new(),
        };
        let checksum = expected
            .as_ref()
            .and_then(|e| e.whirlpool.as_deref())
            .filter(|_| !options.skip_verification);
        if let Err(error) = verify(&name, size, &whirlpool, announced, checksum) {
            // Resuming corrupt bytes would only repeat them: start over next time.
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_file(&sidecar).await;
            reporter.finish(id, false);
            return Err(error);
        }
        tokio::fs::rename(&part, dest)
            .await
            .map_err(|e| io(OP, &format!("moving {} into place", part.display()), e))?;
        let _ = tokio::fs::remove_file(&sidecar).await;
        reporter.finish(id, true);
        Ok(Downloaded {
            path: dest.to_owned(),
            size,
            whirlpool,
            verified: checksum.is_some(),
            resumed_from,
        })
    }

    /// Runs the transfer's connections until every piece is written or one fails for good,
    /// then lets the writer finish whatever happened (the bytes and the sidecar are the resume
    /// point). Returns the pieces on disk and the size the server announced, if it did.
    async fn run_connections(
        &self,
        transfer: Transfer<'_>,
        part: &Path,
    ) -> Result<(Pieces, Option<u64>)> {
        let pending = transfer.queue.lock().expect("queue lock").len();
        let connections = transfer
            .options
            .segments
            .clamp(1, MAX_CONNECTIONS)
            .min(pending.max(1));
        let fetched = futures::future::try_join_all(
            (0..connections).map(|_| self.download_worker(&transfer)),
        )
        .await;
        let Transfer {
            writer,
            learned_size,
            ..
        } = transfer;
        let on_disk = writer
            .finish()
            .await
            .map_err(|e| io(OP, &format!("writing {}", part.display()), e));
        let learned = *learned_size.lock().expect("size lock");
        match (on_disk, fetched) {
            (Err(error), _) | (_, Err(error)) => Err(error),
            (Ok(pieces), Ok(_)) => Ok((pieces, learned)),
        }
    }

    /// What the download is checked against: the options' expectation, else the file's details
    /// (none for another account's file, which may show us none, or without verification).
    async fn expected_of(&self, link: &str, options: &DownloadOptions) -> Result<Option<Expected>> {
        match &options.expected {
            Some(expected) => Ok(Some(expected.clone())),
            None if options.skip_verification => Ok(None),
            None => match self.file_info(link, options.password.as_deref()).await {
                Ok(info) => Ok(Some(Expected {
                    size: info.size,
                    whirlpool: Some(info.checksum).filter(|c| !c.is_empty()),
                })),
                // Other accounts' files may have no details for us: download unverified.
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotAllowed) => {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        }
    }

    /// One connection: takes pieces from the queue until none is left.
    async fn download_worker(&self, transfer: &Transfer<'_>) -> Result<()> {
        let _connection = self
            .inner
            .download_connections
            .acquire()
            .await
            .expect("the semaphore is never closed");
        loop {
            let Some(index) = transfer.queue.lock().expect("queue lock").pop_front() else {
                return Ok(());
            };
            let mut offset = transfer.pieces.start(index) + transfer.pieces.written(index);
            // Attempts count from the last progress: a long download may break many times.
            let mut attempt = 0;
            let mut started = Instant::now();
            loop {
                let url = transfer.token(self).await?;
                // Not paced (not an API call), but held by a flood lock like any request.
                self.inner
                    .governor
                    .acquire(crate::governor::Budget::Node, OP)
                    .await?;
                let before = offset;
                let error = match self.fetch_piece(transfer, &url, index, &mut offset).await {
                    Ok(Fetch::Done) => break,
                    Ok(Fetch::Broken(error)) => {
                        tracing::info!(attempt, offset, error = %error, "download interrupted; resuming");
                        error
                    }
                    // The URL expired: a new one resumes just as well.
                    Err(error) if error.kind() == ErrorKind::NotFound => {
                        transfer.forget_token(&url).await;
                        error.with_retry(onefichier_protocol::RetryClass::Backoff, None)
                    }
                    // 429, 503, a flood lock: the one retry policy below.
                    Err(error) => error,
                };
                if offset > before {
                    attempt = 0;
                    started = Instant::now();
                }
                attempt += 1;
                self.retry_pause(OP, attempt, started, error).await?;
            }
        }
    }

    /// One GET for piece `index` from `offset` on; `offset` follows the bytes handed to the writer.
    async fn fetch_piece(
        &self,
        transfer: &Transfer<'_>,
        url: &RedactedUrl,
        index: usize,
        offset: &mut u64,
    ) -> Result<Fetch> {
        let pieces = &transfer.pieces;
        let mut request = self.http().get(url.expose());
        let whole_file = pieces.count() == 1 && *offset == 0;
        if !whole_file {
            let range = match pieces.end(index) {
                Some(end) if end < pieces.size().unwrap_or(u64::MAX) => {
                    format!("bytes={offset}-{}", end - 1)
                }
                _ => format!("bytes={offset}-"),
            };
            request = request.header(reqwest::header::RANGE, range);
        }
        let answer = match self.exchange(OP, request).await {
            Ok(answer) => answer,
            Err(broken) => return Ok(Fetch::Broken(broken)),
        };
        let status = answer.status;
        let (response, size) = match read_head(transfer, answer, *offset).await? {
            Head::Body { response, size } => (response, size),
            Head::Answered(fetch) => return Ok(fetch),
        };
        let stop = pieces.end(index).or(size);
        let piece = Piece {
            transfer,
            index,
            stop,
            ranged: status == 206,
        };
        piece.stream(response, offset).await
    }
}

/// The pieces already on disk for `part`: from the sidecar of a segmented download, else the
/// `.part` file's length as a prefix; anything unusable is discarded so the download starts over.
async fn open_pieces(
    part: &Path,
    sidecar: &Path,
    size: Option<u64>,
    segments: usize,
) -> Result<Pieces> {
    let fresh = Pieces::plan(size, segments);
    let Ok(meta) = tokio::fs::metadata(part).await else {
        let _ = tokio::fs::remove_file(sidecar).await;
        return Ok(fresh);
    };
    if let Some(pieces) = Pieces::load(sidecar, size) {
        return Ok(pieces);
    }
    let holes = tokio::fs::try_exists(sidecar).await.unwrap_or(true);
    if holes || size.is_some_and(|size| meta.len() > size) {
        // A segmented .part without a usable map, or longer than the file: not ours to resume.
        tokio::fs::remove_file(part)
            .await
            .map_err(|e| io(OP, "removing a stale .part", e))?;
        let _ = tokio::fs::remove_file(sidecar).await;
        return Ok(fresh);
    }
    Ok(fresh.with_prefix(meta.len()))
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL).
pub(super) fn content_range(headers: &reqwest::header::HeaderMap) -> Option<(u64, u64)> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let spec = value.strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let start = range.split('-').next()?.parse().ok().unwrap_or(0);
    Some((start, total.parse().ok()?))
}
