//! Whirlpool on a thread of its own, fed from async code, so that hashing overlaps I/O: the
//! SDK hashes what it sends and receives, the server what it stores.

use super::Whirlpool;
use bytes::Bytes;

/// Hashes the chunks it is fed, in order, on a dedicated thread; the bounded channel gives
/// backpressure when hashing is slower than the I/O feeding it.
#[derive(Debug)]
pub struct BackgroundHasher {
    sender: Option<tokio::sync::mpsc::Sender<Bytes>>,
    thread: Option<std::thread::JoinHandle<Whirlpool>>,
}

impl Default for BackgroundHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl BackgroundHasher {
    /// Starts the hashing thread.
    pub fn new() -> Self {
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

    /// A handle that feeds the hasher from elsewhere (e.g. inside a body stream). Chunks are
    /// hashed in the order they are sent; the hasher finishes once every feeder is dropped.
    pub fn feeder(&self) -> tokio::sync::mpsc::Sender<Bytes> {
        self.sender.clone().expect("not finished")
    }

    /// The hex digest of everything fed, once every feeder is dropped.
    pub async fn finish(mut self) -> String {
        drop(self.sender.take());
        let thread = self.thread.take().expect("finished once");
        tokio::task::spawn_blocking(move || thread.join().expect("hashing thread").finalize_hex())
            .await
            .expect("joining the hashing thread")
    }
}
