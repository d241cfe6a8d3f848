//! Uploads: the file is streamed as multipart with its exact `Content-Length` (constant memory
//! whatever its size), hashed on the way, and the server's Whirlpool from `end.pl` must match.
//! An upload that failed after its bytes left is never repeated blindly: the client first looks
//! for the file (the `end.pl` report, then the folder, by name, size and checksum).

use super::BackgroundHasher;
use crate::Client;
use crate::classify::{classify, classify_node_answer};
use crate::error::{Error, ErrorKind, Result, io};
use crate::governor::Budget;
use crate::progress::{Reporter, TransferId};
use crate::transport::Answer;
use futures::StreamExt;
use onefichier_protocol::ids;
use onefichier_protocol::upload::{EndLink, EndReport, MAX_FILE_SIZE, form};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod batch;

pub use batch::{BATCH_FILE_MAX, BATCH_MAX_FILES};

const OP: &str = "upload";
/// Whole uploads tried before giving up.
/// Read size of the file stream.
const CHUNK: usize = 256 * 1024;

/// Where and how to upload.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Destination folder (0 = root). Ignored for anonymous uploads.
    pub folder_id: i64,
    /// Stored name (default: the local file name).
    pub name: Option<String>,
    /// Download password for the file (6+ characters).
    pub password: Option<String>,
    /// Domain id of the link (0–10).
    pub domain: Option<i64>,
}

impl UploadOptions {
    /// Upload into `folder_id`.
    pub fn into_folder(folder_id: i64) -> Self {
        Self {
            folder_id,
            ..Self::default()
        }
    }

    /// Stores the file under `name`.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Protects the file with a password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}

/// The limit a "file too large" answer states (`… is over N bytes`), if it does.
fn stated_limit(error: &Error) -> Option<u64> {
    let text = error.to_string();
    let after = &text[text.find("over ")? + "over ".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    after[digits.len()..]
        .starts_with(" bytes")
        .then(|| digits.parse().ok())
        .flatten()
}

/// Bytes of a local file to upload as one remote file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice<'a> {
    pub(crate) path: &'a Path,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// A verified upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Download link.
    pub link: String,
    /// Stored name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool, checked against the server's.
    pub whirlpool: String,
    /// Removal code (anonymous uploads).
    pub remove_code: Option<String>,
    /// How many parts it was stored in over the per-file limit (0: stored whole); when
    /// stored in parts, `link` is the manifest's, `size` and `whirlpool` the whole file's (see
    /// [`crate::transfer::split`]).
    pub parts: usize,
}

impl Slice<'_> {
    /// The slice's bytes, read from its offset on and no further than its length.
    async fn open(&self) -> Result<tokio::io::Take<tokio::fs::File>> {
        let what = || self.path.display().to_string();
        let mut file = tokio::fs::File::open(self.path)
            .await
            .map_err(|e| io(OP, &what(), e))?;
        if self.offset > 0 {
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(self.offset))
                .await
                .map_err(|e| io(OP, &what(), e))?;
        }
        Ok(tokio::io::AsyncReadExt::take(file, self.len))
    }
}

impl Client {
    /// Uploads a local file and checks the server stored exactly its bytes.
    pub async fn upload_file(
        &self,
        path: &Path,
        options: &UploadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Uploaded> {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| io(OP, &path.display().to_string(), e))?
            .len();
        let name = stored_name(path, options.name.as_deref())?;
        // What this server stated in an earlier run counts as if stated now.
        if let Some(learned) = self.inner.governor.learned_file_limit().await {
            self.inner
                .max_file_size
                .fetch_min(learned, Ordering::Relaxed);
        }
        let limit = self.inner.max_file_size.load(Ordering::Relaxed);
        if size > limit {
            return self.upload_split(path, options, limit, reporter).await;
        }
        check_size(&name, size)?;
        let whole = Slice {
            path,
            offset: 0,
            len: size,
        };
        match self
            .upload_slice(whole, &name, options, Arc::clone(&reporter))
            .await
        {
            // A server with a lower limit says it: learn it, and send the file as parts.
            Err(error) if error.kind() == ErrorKind::TooLarge => match stated_limit(&error) {
                Some(stated) if stated < size => {
                    self.inner
                        .max_file_size
                        .fetch_min(stated, Ordering::Relaxed);
                    self.inner.governor.learn_file_limit(stated).await;
                    self.upload_split(path, options, stated, reporter).await
                }
                _ => Err(error),
            },
            other => other,
        }
    }

    /// Uploads a small file made here (a manifest of this client's) as `name`, verified like
    /// any file, through a staging file in the temporary folder that is removed after.
    pub(crate) async fn upload_small(
        &self,
        bytes: &[u8],
        name: &str,
        options: &UploadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Uploaded> {
        let staging = std::env::temp_dir().join(format!(
            "onefichier-{}-{}.small",
            std::process::id(),
            rand::random::<u32>()
        ));
        tokio::fs::write(&staging, bytes)
            .await
            .map_err(|e| io(OP, name, e))?;
        let slice = Slice {
            path: &staging,
            offset: 0,
            len: bytes.len() as u64,
        };
        let sent = self
            .upload_slice(slice, name, &options.clone().named(name), reporter)
            .await;
        let _ = tokio::fs::remove_file(&staging).await;
        sent
    }

    /// Uploads `slice` of a local file as one file called `name`, verified like a whole file.
    pub(crate) async fn upload_slice(
        &self,
        slice: Slice<'_>,
        name: &str,
        options: &UploadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Uploaded> {
        let size = slice.len;
        let transfer = TransferId::next();
        reporter.start(transfer, name, Some(size), 0);
        let started = Instant::now();
        let mut local_hash: Option<String> = None;
        for attempt in 1.. {
            if attempt > 1 {
                // Sent again from the start: what the failed attempt sent no longer counts.
                reporter.restart(transfer);
            }
            let outcome = self
                .upload_once(slice, name, options, (&reporter, transfer), &mut local_hash)
                .await;
            let error = match outcome {
                Ok(done) => {
                    reporter.finish(transfer, true);
                    self.note_uploaded(options, &done);
                    return Ok(done);
                }
                Err(error) if error.kind() == ErrorKind::Verification => error,
                Err(error) => {
                    tracing::info!(attempt, error = %error, "upload attempt failed");
                    match self.retry_pause(OP, attempt, started, error).await {
                        Ok(()) => continue,
                        Err(error) => error,
                    }
                }
            };
            reporter.finish(transfer, false);
            return Err(error);
        }
        unreachable!("the loop returns")
    }

    async fn upload_once(
        &self,
        slice: Slice<'_>,
        name: &str,
        options: &UploadOptions,
        (reporter, transfer): (&Arc<dyn Reporter>, TransferId),
        local_hash: &mut Option<String>,
    ) -> Result<Uploaded> {
        let (path, size) = (slice.path, slice.len);
        let (base, id) = self.upload_node().await?;
        let file = slice.open().await?;
        let hasher = BackgroundHasher::new();
        let feeder = hasher.feeder();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        let progress = Arc::clone(reporter);
        let body = tokio_util::io::ReaderStream::with_capacity(file, CHUNK).then(move |chunk| {
            let feeder = feeder.clone();
            let counter = Arc::clone(&counter);
            let progress = Arc::clone(&progress);
            async move {
                let chunk = chunk?;
                let _ = feeder.send(chunk.clone()).await;
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                progress.bytes(transfer, chunk.len() as u64);
                Ok::<_, std::io::Error>(chunk)
            }
        });
        let part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), size)
                .file_name(name.to_owned())
                .mime_str("application/octet-stream")
                .expect("a valid MIME type");
        let outcome = self
            .post_upload(&base, &id, upload_form(options).part(form::FILE, part))
            .await;
        let all_sent = sent.load(Ordering::Relaxed) == size;
        let hash = hasher.finish().await;
        // A whole-file hash is needed whatever happened: computed while sending, or read again.
        let hash = if all_sent {
            hash
        } else {
            match local_hash.clone() {
                Some(h) => h,
                None => super::hash_range(path, slice.offset, Some(size))
                    .await
                    .map_err(|e| io(OP, "hashing the file", e))?,
            }
        };
        *local_hash = Some(hash.clone());
        match outcome {
            Ok(()) => {
                let report = self.end_report(&base, &id, true).await?;
                verify(&report, name, size, &hash)
            }
            // A rate-limit or lock refusal comes before anything is stored: nothing to look for.
            Err(error)
                if all_sent
                    && error.is_temporary()
                    && !matches!(error.kind(), ErrorKind::RateLimited | ErrorKind::Locked) =>
            {
                // The bytes left: the file may be stored although the answer was lost.
                if let Some(found) = self
                    .find_uploaded(&base, &id, options, name, size, &hash)
                    .await
                {
                    return Ok(found);
                }
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Adds a file just uploaded to its folder's kept listing: listing the folder again would
    /// cost a listing budget for what this client already knows.
    pub(crate) fn note_uploaded(&self, options: &UploadOptions, done: &Uploaded) {
        let item = onefichier_protocol::file::FileItem {
            url: done.link.clone(),
            filename: done.name.clone(),
            size: done.size,
            date: onefichier_protocol::date::format_unix(jiff::Timestamp::now().as_second()),
            checksum: done.whirlpool.clone(),
            content_type: String::new(),
            pass: onefichier_protocol::lenient::Flag(options.password.is_some()),
            acl: onefichier_protocol::lenient::Flag(false),
            cdn: onefichier_protocol::lenient::Flag(false),
        };
        self.inner.listings.patch(options.folder_id, |listing| {
            listing.files += 1;
            listing.size = Some(listing.size.unwrap_or(0) + done.size);
            listing.items.get_or_insert_with(Vec::new).push(item);
        });
    }

    /// A node to upload to: its base URL and the upload id.
    async fn upload_node(&self) -> Result<(String, String)> {
        let node = self.upload_server().await?;
        if !ids::is_upload_id(&node.id) || node.url.contains(['/', '?', '#', '@']) {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                OP,
                "the upload node or id has an unexpected shape",
            ));
        }
        Ok((format!("{}://{}", self.scheme(), node.url), node.id))
    }

    /// Sends `upload.cgi` and tells whether the node accepted the files (the report in `end.pl`
    /// says what it stored).
    async fn post_upload(
        &self,
        base: &str,
        id: &str,
        multipart: reqwest::multipart::Form,
    ) -> Result<()> {
        // upload.cgi carries the key, and servers may count it against the key's budget (ours
        // does): paced like an API call. end.pl and download GETs are not.
        self.inner.governor.acquire(Budget::Call, OP).await?;
        let request = self
            .authorize(self.http().post(format!("{base}/upload.cgi?id={id}")))
            .multipart(multipart);
        let Answer {
            status,
            retry_after,
            response,
        } = self.exchange(OP, request).await?;
        let body = crate::body::read_status_body(OP, response).await?;
        classify_node_answer(OP, status, retry_after, &body)
    }

    /// Reads `end.pl` (JSON); a report not there yet is asked for again a few times.
    async fn end_report(&self, base: &str, id: &str, patient: bool) -> Result<EndReport> {
        let tries: u32 = if patient { 10 } else { 1 };
        let started = Instant::now();
        let mut last: Option<Error> = None;
        for attempt in 0..tries {
            match last.take() {
                // Not written yet: ask again shortly.
                Some(error) if error.kind() == ErrorKind::NotFound => {
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                // Refused for now (429, 503, a lock, a cut connection): the one retry policy.
                Some(error) => self.retry_pause("end.pl", attempt, started, error).await?,
                None => {}
            }
            self.inner.governor.acquire(Budget::Node, "end.pl").await?;
            let request = self
                .authorize(self.http().get(format!("{base}/end.pl?xid={id}")))
                .header("JSON", "1");
            let Answer {
                status,
                retry_after,
                response,
            } = match self.exchange("end.pl", request).await {
                Ok(answer) => answer,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let body = crate::body::read_whole("end.pl", response).await?;
            match classify("end.pl", status, retry_after, &body, true) {
                Ok(()) => {
                    return serde_json::from_slice(&body).map_err(|e| {
                        Error::new(
                            ErrorKind::UnexpectedResponse,
                            "end.pl",
                            format!("unexpected report: {e}"),
                        )
                    });
                }
                Err(e) if e.is_temporary() || e.kind() == ErrorKind::NotFound => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one try"))
    }

    /// Looks for a file an interrupted upload may have stored: the report first, then the
    /// destination folder (a file of that name, size and checksum).
    async fn find_uploaded(
        &self,
        base: &str,
        id: &str,
        options: &UploadOptions,
        name: &str,
        size: u64,
        hash: &str,
    ) -> Option<Uploaded> {
        if let Ok(report) = self.end_report(base, id, false).await
            && let Ok(found) = verify(&report, name, size, hash)
        {
            tracing::info!(name, "the interrupted upload had been stored (end.pl)");
            return Some(found);
        }
        if !self.has_key() {
            return None;
        }
        self.inner.listings.forget(options.folder_id);
        let listing = self.list_folder(options.folder_id).await.ok()?;
        let item = listing.items?.into_iter().find(|item| {
            item.filename == name && item.size == size && item.checksum.eq_ignore_ascii_case(hash)
        })?;
        tracing::info!(name, "the interrupted upload had been stored (listing)");
        Some(Uploaded {
            link: item.url,
            name: item.filename,
            size,
            whirlpool: hash.to_owned(),
            remove_code: None,
            parts: 0,
        })
    }
}

/// The server stored other bytes than the file's.
fn mismatch(link: &EndLink, size: u64, hash: &str) -> Error {
    Error::new(
        ErrorKind::Verification,
        OP,
        format!(
            "the server stored {} bytes with Whirlpool {}…, the file has {size} bytes with {}…",
            link.size,
            link.whirlpool.get(..16).unwrap_or(&link.whirlpool),
            &hash[..16]
        ),
    )
    .with_hint("upload it again; if it persists, the connection corrupts data")
}

/// The name a file is stored under: `name`, else its own; refused if the service would refuse it.
fn stored_name(path: &Path, name: Option<&str>) -> Result<String> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::new(ErrorKind::BadRequest, OP, "the file has no usable name"))?
            .to_owned(),
    };
    ids::check_name(&name).map_err(|e| {
        Error::new(
            ErrorKind::BadRequest,
            OP,
            format!("{name:?} cannot be stored: {e}"),
        )
        .with_hint("rename the file (the service refuses \\ < > \" ' $ ` and outer spaces)")
    })?;
    Ok(name)
}

/// Refuses what the service refuses: empty files and files over its limit.
fn check_size(name: &str, size: u64) -> Result<()> {
    if size == 0 {
        return Err(Error::new(
            ErrorKind::BadRequest,
            OP,
            format!("{name} is empty: the service refuses empty files"),
        ));
    }
    if size > MAX_FILE_SIZE {
        return Err(Error::new(
            ErrorKind::TooLarge,
            OP,
            format!("{name} is {size} bytes, over the 300 GB limit"),
        )
        .with_hint(onefichier_protocol::ErrorCode::FileTooLarge.hint()));
    }
    Ok(())
}

/// The form fields of `upload.cgi` besides the files.
fn upload_form(options: &UploadOptions) -> reqwest::multipart::Form {
    let mut multipart =
        reqwest::multipart::Form::new().text(form::DID, options.folder_id.to_string());
    if let Some(domain) = options.domain {
        multipart = multipart.text(form::DOMAIN, domain.to_string());
    }
    if let Some(password) = &options.password {
        multipart = multipart.text(form::DPASS, password.clone());
    }
    multipart
}

fn verify(report: &EndReport, name: &str, size: u64, hash: &str) -> Result<Uploaded> {
    let pick = |link: &EndLink| link.filename == name && link.size == size;
    let link = report
        .links
        .iter()
        .find(|l| pick(l))
        .or_else(|| report.links.first())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UnexpectedResponse,
                "end.pl",
                "the report lists no file",
            )
        })?;
    if link.size != size || !link.whirlpool.eq_ignore_ascii_case(hash) {
        return Err(mismatch(link, size, hash));
    }
    Ok(Uploaded {
        link: link.download.clone(),
        name: link.filename.clone(),
        size,
        whirlpool: hash.to_owned(),
        remove_code: (!link.remove.is_empty()).then(|| link.remove.clone()),
        parts: 0,
    })
}
