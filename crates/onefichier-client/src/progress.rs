//! Progress of transfers, reported through a small trait; the library never draws anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// One transfer, as the reporter sees it: two transfers of one name (`disk.img` from two
/// folders) are two ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(u64);

impl TransferId {
    /// A new id, unique in this process.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Receives the progress of transfers. Called from the transfer's task; keep it quick.
pub trait Reporter: Send + Sync {
    /// A transfer starts: its name, its total size when known, and how many bytes are already
    /// there (a resumed download).
    fn start(&self, id: TransferId, name: &str, total: Option<u64>, already: u64) {
        let _ = (id, name, total, already);
    }
    /// More bytes went through.
    fn bytes(&self, id: TransferId, count: u64) {
        let _ = (id, count);
    }
    /// The transfer starts over (an upload sent again): the bytes reported since `start` no
    /// longer count.
    fn restart(&self, id: TransferId) {
        let _ = id;
    }
    /// The transfer ended, successfully or not.
    fn finish(&self, id: TransferId, ok: bool) {
        let _ = (id, ok);
    }
    /// An action of a sync's plan is done, or failed: told as it happens, so that a long sync
    /// says what it did as it goes.
    fn action_done(&self, done: &crate::sync::plan::Done) {
        let _ = done;
    }
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Reporter for NoProgress {}
