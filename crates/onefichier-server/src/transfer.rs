//! Storing a stream of bytes as a blob while measuring it: size (against a limit) and Whirlpool,
//! computed on the same bytes as they go to the store. Used by uploads and remote uploads.

use crate::blob::ByteStream;
use crate::meta::NewBlob;
use crate::secrets::random_id;
use crate::state::AppState;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use onefichier_protocol::checksum::BackgroundHasher;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Chunks an upload's hashing thread may lag behind: enough to overlap hashing with reading and
/// writing, few because a server holds them for every upload at once.
const HASHER_SLACK: usize = 2;

/// Length of blob ids.
const BLOB_ID_LEN: usize = 32;

/// Why a stream was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream went past the size limit; nothing was kept.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// Reading the stream or writing the blob failed; nothing was kept.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Marks the io::Error raised inside the stream when the limit is passed.
#[derive(Debug, thiserror::Error)]
#[error("size limit passed")]
struct LimitPassed;

/// Stores `stream` as a new blob, refusing it past `limit` bytes. Nothing is visible until the
/// whole stream is stored; the blob has no metadata row yet (the caller commits one). The
/// Whirlpool runs on a thread of its own, overlapping the reads and writes.
pub async fn store_stream<S>(state: &AppState, stream: S, limit: u64) -> Result<NewBlob, StoreError>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let hasher = BackgroundHasher::with_slack(HASHER_SLACK);
    let feeder = hasher.feeder();
    let size = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&size);
    let measured: ByteStream<'_> = stream
        .then(move |chunk| {
            let feeder = feeder.clone();
            let counted = Arc::clone(&counted);
            async move {
                let chunk = chunk?;
                let len = chunk.len() as u64;
                if counted.fetch_add(len, Ordering::Relaxed) + len > limit {
                    return Err(io::Error::other(LimitPassed));
                }
                feeder
                    .send(chunk.clone())
                    .await
                    .map_err(|_| io::Error::other("the hashing thread stopped"))?;
                Ok(chunk)
            }
        })
        .boxed();
    let id = random_id(BLOB_ID_LEN, false);
    match state.blobs().put(&id, measured).await {
        Ok(_) => {}
        Err(e) if e.get_ref().is_some_and(|inner| inner.is::<LimitPassed>()) => {
            return Err(StoreError::TooLarge(limit));
        }
        Err(e) => return Err(StoreError::Io(e)),
    }
    let size = size.load(Ordering::Relaxed);
    crate::telemetry::bytes_in(size);
    Ok(NewBlob {
        id,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        whirlpool: hasher.finish().await,
    })
}

/// The MIME type of a file name, from its extension.
pub fn content_type_of(name: &str) -> String {
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}
