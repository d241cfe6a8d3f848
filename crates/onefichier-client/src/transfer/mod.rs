//! Verified transfers: streamed uploads and resumable downloads, with Whirlpool computed on a
//! thread of its own so that hashing overlaps the network.

pub mod download;
mod part;
pub mod ranged;
pub mod split;
pub mod upload;

use bytes::Bytes;
use onefichier_protocol::checksum::BackgroundHasher;

/// The Whirlpool of a local file: one thread reads large blocks while the hashing thread works
/// on the previous ones, so reading costs no hashing time.
pub async fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    hash_range(path, 0, None).await
}

/// The Whirlpool of `len` bytes of a file from `offset` (to its end when `len` is `None`).
pub(crate) async fn hash_range(
    path: &std::path::Path,
    offset: u64,
    len: Option<u64>,
) -> std::io::Result<String> {
    let path = path.to_owned();
    let hasher = BackgroundHasher::new();
    let feeder = hasher.feeder();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(path)?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        let mut file = file.take(len.unwrap_or(u64::MAX));
        loop {
            let mut buffer = vec![0u8; HASH_READ_BLOCK];
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            buffer.truncate(n);
            // The hashing thread only stops when every sender is dropped.
            let _ = feeder.blocking_send(Bytes::from(buffer));
        }
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(hasher.finish().await)
}

/// Reads of [`hash_file`].
const HASH_READ_BLOCK: usize = 1 << 20;
