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
    /// Starts the hashing thread with 8 chunks of slack.
    pub fn new() -> Self {
        Self::with_slack(8)
    }

    /// Starts the hashing thread; up to `chunks` chunks wait for it before feeders wait. A few
    /// let hashing and I/O overlap; more only hold memory.
    pub fn with_slack(chunks: usize) -> Self {
        Self::start(chunks, false)
    }

    /// A hasher for a check that may be given up rather than slow anything: its thread runs at
    /// the lowest priority (nice 19), so a feeder that finds the `chunks` of slack full knows
    /// hashing could not keep up with the machine's other work.
    pub fn opportunistic(chunks: usize) -> Self {
        Self::start(chunks, true)
    }

    fn start(chunks: usize, idle: bool) -> Self {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(chunks.max(1));
        let thread = std::thread::Builder::new()
            .name("whirlpool".into())
            .spawn(move || {
                if idle {
                    run_when_idle();
                }
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

/// Lowers the calling thread to the lowest priority (nice 19: on Linux a thread's own, so the
/// rest of the process keeps its priority). A refusal leaves it as it was, which is only slower.
fn run_when_idle() {
    let _ = rustix::process::setpriority_process(None, 19);
}
