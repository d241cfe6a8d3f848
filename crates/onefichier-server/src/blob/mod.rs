//! File bytes, behind [`BlobStore`] so that local disk and S3-compatible stores swap without
//! touching handlers. The trait is deliberately narrow (put a stream, read a range, delete,
//! exists, list) so that an `object_store` implementation fits it.

mod local;
mod s3;

pub use local::LocalBlobStore;
pub use s3::S3BlobStore;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::io;
use std::ops::Range;
use std::time::SystemTime;

/// A stream of bytes.
pub type ByteStream<'a> = BoxStream<'a, io::Result<Bytes>>;

/// A blob found by [`BlobStore::list`].
#[derive(Debug, Clone)]
pub struct BlobEntry {
    /// Its id.
    pub id: String,
    /// When it was written.
    pub modified: SystemTime,
}

/// Where file bytes live.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes `data` as blob `id` and returns its size. Nothing is visible under `id` until the
    /// whole stream is durably stored; a failed or interrupted put leaves no blob.
    async fn put(&self, id: &str, data: ByteStream<'_>) -> io::Result<u64>;
    /// Reads `range` of blob `id`.
    async fn get_range(&self, id: &str, range: Range<u64>) -> io::Result<ByteStream<'static>>;
    /// Deletes blob `id` (no error when it is already gone).
    async fn delete(&self, id: &str) -> io::Result<()>;
    /// Whether blob `id` exists.
    async fn exists(&self, id: &str) -> io::Result<bool>;
    /// Every stored blob.
    async fn list(&self) -> io::Result<Vec<BlobEntry>>;
    /// Answers when the store is reachable and writable (the readiness probe).
    async fn ping(&self) -> io::Result<()>;
    /// Removes leftovers of interrupted puts older than `older_than`; returns how many.
    async fn clean_staging(&self, older_than: std::time::Duration) -> io::Result<usize>;
}

/// Whether `id` can name a blob: only ASCII letters and digits, so it is safe in any path or key.
pub fn is_valid_blob_id(id: &str) -> bool {
    (16..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}
