//! Verified transfers: streamed uploads and resumable downloads, with Whirlpool computed on a
//! thread of its own so that hashing overlaps the network.

pub mod download;
mod part;
pub mod upload;

use bytes::Bytes;
use onefichier_protocol::checksum::Whirlpool;

/// Hashes the chunks it is fed on a dedicated thread; the bounded channel gives backpressure
/// when hashing is slower than the network.
pub(crate) struct BackgroundHasher {
    sender: Option<tokio::sync::mpsc::Sender<Bytes>>,
    thread: Option<std::thread::JoinHandle<Whirlpool>>,
}

impl BackgroundHasher {
    pub(crate) fn new() -> Self {
        // A few chunks of slack let hashing and I/O overlap; more would only hold memory.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(8);
        let thread = std::thread::Builder::new()
            .name("whirlpool".into())
            .spawn(move || {
                let mut hasher = Whirlpool::new();
                while let Some(chunk) = receiver.blocking_recv() {
                    hasher.update(&chunk);
                }
                hasher
            })
            .expect("spawning the hashing thread");
        Self {
            sender: Some(sender),
            thread: Some(thread),
        }
    }

    /// A handle that feeds the same hasher from elsewhere (e.g. inside a request body stream).
    pub(crate) fn feeder(&self) -> tokio::sync::mpsc::Sender<Bytes> {
        self.sender.clone().expect("not finished")
    }

    /// The hex digest of everything fed.
    pub(crate) async fn finish(mut self) -> String {
        drop(self.sender.take());
        let thread = self.thread.take().expect("finished once");
        tokio::task::spawn_blocking(move || thread.join().expect("hashing thread").finalize_hex())
            .await
            .expect("joining the hashing thread")
    }
}

/// The Whirlpool of a local file: one thread reads large blocks while the hashing thread works
/// on the previous ones, so reading costs no hashing time.
pub async fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    let path = path.to_owned();
    let hasher = BackgroundHasher::new();
    let feeder = hasher.feeder();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
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
