//! Many small files in few requests: one node, one `upload.cgi` carrying up to
//! [`BATCH_MAX_FILES`] files, one `end.pl`. Against the live service each of those calls waits
//! for the API budget (one call per ~400 ms), so a thousand small files go from three thousand
//! calls to about thirty. Each file is still verified on its own, and a request whose answer was
//! lost is resolved file by file (report, then listing) before the missing ones are sent again.

use super::{OP, Uploaded, check_size, stored_name, upload_form};
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io};
use crate::progress::{Reporter, TransferId};
use crate::transfer::upload::UploadOptions;
use bytes::Bytes;
use onefichier_protocol::checksum::Whirlpool;
use onefichier_protocol::upload::{EndLink, form};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Files up to this size share requests; larger ones stream alone, as with `upload_file`.
pub const BATCH_FILE_MAX: u64 = 4 << 20;
/// Files per request (the service takes up to 500).
pub const BATCH_MAX_FILES: usize = 100;
/// Bytes per request: a batch is read into memory before it is sent.
const BATCH_MAX_BYTES: u64 = 32 << 20;

/// A small file read and hashed, ready to share a request.
struct SmallFile {
    /// Position in the caller's list.
    index: usize,
    /// The transfer, for the reporter.
    transfer: TransferId,
    name: String,
    bytes: Bytes,
    whirlpool: String,
}

impl SmallFile {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn uploaded(&self, link: &EndLink) -> Uploaded {
        Uploaded {
            link: link.download.clone(),
            name: link.filename.clone(),
            size: self.size(),
            whirlpool: self.whirlpool.clone(),
            remove_code: (!link.remove.is_empty()).then(|| link.remove.clone()),
            parts: 0,
        }
    }
}

/// The form of one request carrying every file of `pending`.
fn batch_form(options: &UploadOptions, pending: &[SmallFile]) -> reqwest::multipart::Form {
    let mut multipart = upload_form(options);
    for file in pending {
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::from(file.bytes.clone()),
            file.size(),
        )
        .file_name(file.name.clone())
        .mime_str("application/octet-stream")
        .expect("a valid MIME type");
        multipart = multipart.part(form::FILE, part);
    }
    multipart
}

/// A file the server accepted but does not report: sending it again is the way to find out.
fn not_reported() -> Error {
    Error::new(
        ErrorKind::UnexpectedResponse,
        OP,
        "the server accepted the upload but does not report this file",
    )
    .with_retry(onefichier_protocol::RetryClass::Backoff, None)
}

impl Stored {
    /// Settles the files of `pending` that were stored (verified against their Whirlpool) and
    /// keeps those that were not, to be sent again.
    fn settle_found(
        &self,
        pending: &mut Vec<SmallFile>,
        settle: &mut impl FnMut(&SmallFile, Result<Uploaded>),
    ) {
        let mut claimed = HashSet::new();
        pending.retain(|file| match self.find(file, &mut claimed) {
            Some(link) if link.whirlpool.eq_ignore_ascii_case(&file.whirlpool) => {
                settle(file, Ok(file.uploaded(link)));
                false
            }
            Some(link) => {
                let mismatch = super::mismatch(link, file.size(), &file.whirlpool);
                settle(file, Err(mismatch));
                false
            }
            None => true,
        });
    }
}

impl Client {
    /// Uploads files into one folder, small ones ([`BATCH_FILE_MAX`] or less) many to a request,
    /// larger ones alone as [`Client::upload_file`] does; each is verified against the server's
    /// Whirlpool. Results come in the order of `paths`. Files keep their own names
    /// (`options.name` is ignored).
    pub async fn upload_files(
        &self,
        paths: &[PathBuf],
        options: &UploadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Vec<Result<Uploaded>> {
        let mut results: Vec<Option<Result<Uploaded>>> = paths.iter().map(|_| None).collect();
        let alone = UploadOptions {
            name: None,
            ..options.clone()
        };
        let mut batch: Vec<SmallFile> = Vec::new();
        let mut batched = Vec::new();
        for (index, path) in paths.iter().enumerate() {
            match read_small(index, path).await {
                Ok(Some(file)) => {
                    let bytes = batch.iter().map(SmallFile::size).sum::<u64>();
                    let full = batch.len() == BATCH_MAX_FILES
                        || bytes + file.size() > BATCH_MAX_BYTES
                        || batch.iter().any(|other| other.name == file.name);
                    if full {
                        let group = std::mem::take(&mut batch);
                        self.upload_batch(group, options, &reporter, &mut results)
                            .await;
                    }
                    batched.push(index);
                    batch.push(file);
                }
                Ok(None) => {
                    let done = self.upload_file(path, &alone, Arc::clone(&reporter)).await;
                    results[index] = Some(done);
                }
                Err(error) => results[index] = Some(Err(error)),
            }
        }
        if !batch.is_empty() {
            self.upload_batch(batch, options, &reporter, &mut results)
                .await;
        }
        let results: Vec<Result<Uploaded>> = results
            .into_iter()
            .map(|result| result.expect("every file has a result"))
            .collect();
        // Batched files join the folder's kept listing (large ones did in upload_file).
        for index in batched {
            if let Ok(done) = &results[index] {
                self.note_uploaded(options, done);
            }
        }
        results
    }

    /// One group of small files: sent together, then resolved file by file; what the server
    /// did not store is sent again, as the one retry policy allows.
    async fn upload_batch(
        &self,
        mut pending: Vec<SmallFile>,
        options: &UploadOptions,
        reporter: &Arc<dyn Reporter>,
        results: &mut [Option<Result<Uploaded>>],
    ) {
        for file in &pending {
            reporter.start(file.transfer, &file.name, Some(file.size()), 0);
        }
        let mut settle = |file: &SmallFile, result: Result<Uploaded>| {
            if let Ok(done) = &result {
                reporter.bytes(file.transfer, done.size);
            }
            reporter.finish(file.transfer, result.is_ok());
            results[file.index] = Some(result);
        };
        let mut last_error: Option<Error> = None;
        let started = Instant::now();
        for attempt in 1.. {
            if let Some(error) = last_error.take() {
                // The one retry policy decides whether, and when, to send what is left again.
                if let Err(error) = self.retry_pause(OP, attempt - 1, started, error).await {
                    last_error = Some(error);
                    break;
                }
            }
            let (base, id) = match self.upload_node().await {
                Ok(node) => node,
                Err(error) if error.is_temporary() => {
                    last_error = Some(error);
                    continue;
                }
                Err(error) => {
                    for file in &pending {
                        settle(file, Err(error.for_another_file()));
                    }
                    return;
                }
            };
            let outcome = self
                .post_upload(&base, &id, batch_form(options, &pending))
                .await;
            match &outcome {
                Err(error) if !error.is_temporary() => {
                    for file in &pending {
                        settle(file, Err(error.for_another_file()));
                    }
                    return;
                }
                // Nothing left: nothing to look for before sending again.
                Err(error) if error.never_sent() => {
                    last_error = outcome.err();
                    continue;
                }
                _ => {}
            }
            // Accepted, or an answer lost on the way: what was stored is in the report, or
            // failing that in the folder.
            let stored = self
                .stored_files(&base, &id, options, outcome.is_ok())
                .await;
            stored.settle_found(&mut pending, &mut settle);
            if pending.is_empty() {
                return;
            }
            last_error = Some(outcome.err().unwrap_or_else(not_reported));
        }
        self.inner.listings.forget(options.folder_id);
        let error = last_error.expect("at least one attempt failed");
        for file in &pending {
            settle(file, Err(error.for_another_file()));
        }
    }

    /// What an upload stored: its report, else (answer lost, or report unreadable) the
    /// destination folder's files.
    async fn stored_files(
        &self,
        base: &str,
        id: &str,
        options: &UploadOptions,
        accepted: bool,
    ) -> Stored {
        match self.end_report(base, id, accepted).await {
            Ok(report) => return Stored::Report(report.links),
            Err(error) => tracing::info!(error = %error, "no upload report"),
        }
        if !self.has_key() {
            return Stored::Unknown;
        }
        self.inner.listings.forget(options.folder_id);
        let Ok(listing) = self.list_folder(options.folder_id).await else {
            return Stored::Unknown;
        };
        Stored::Folder(
            listing
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|item| EndLink {
                    filename: item.filename,
                    size: item.size,
                    whirlpool: item.checksum,
                    download: item.url,
                    remove: String::new(),
                })
                .collect(),
        )
    }
}

/// Where the files an upload stored were found.
enum Stored {
    /// The upload's own report: what it lists was stored by this upload.
    Report(Vec<EndLink>),
    /// The folder: only a file identical in name, size and checksum counts, since the folder
    /// may hold older files of the same name.
    Folder(Vec<EndLink>),
    /// Neither could be read.
    Unknown,
}

impl Stored {
    /// The stored file that is `file`, not yet `claimed` by another file of the batch.
    fn find<'a>(&'a self, file: &SmallFile, claimed: &mut HashSet<&'a str>) -> Option<&'a EndLink> {
        let free = |link: &&EndLink| !claimed.contains(link.download.as_str());
        let same_content = |link: &&EndLink| {
            link.size == file.size() && link.whirlpool.eq_ignore_ascii_case(&file.whirlpool)
        };
        let found = match self {
            Self::Report(links) => links
                .iter()
                .filter(free)
                .find(|link| link.filename == file.name && link.size == file.size())
                // The service may rename a file it stores; its checksum still finds it.
                .or_else(|| links.iter().filter(free).find(same_content)),
            Self::Folder(links) => links
                .iter()
                .filter(free)
                .find(|link| link.filename == file.name && same_content(link)),
            Self::Unknown => None,
        }?;
        claimed.insert(&found.download);
        Some(found)
    }
}

/// A file small enough to share a request, read and hashed; `None` for a larger one.
async fn read_small(index: usize, path: &Path) -> Result<Option<SmallFile>> {
    let name = stored_name(path, None)?;
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| io(OP, &path.display().to_string(), e))?
        .len();
    check_size(&name, size)?;
    if size > BATCH_FILE_MAX {
        return Ok(None);
    }
    let bytes = Bytes::from(
        tokio::fs::read(path)
            .await
            .map_err(|e| io(OP, &path.display().to_string(), e))?,
    );
    // The file may have changed since: what is sent is what was read.
    check_size(&name, bytes.len() as u64)?;
    let hashed = bytes.clone();
    let whirlpool = tokio::task::spawn_blocking(move || Whirlpool::hex_digest(&hashed))
        .await
        .expect("hashing a small file");
    Ok(Some(SmallFile {
        index,
        transfer: TransferId::next(),
        name,
        bytes,
        whirlpool,
    }))
}
