//! Progress of transfers, reported through a small trait; the library never draws anything.

/// Receives the progress of transfers. Called from the transfer's task; keep it quick.
pub trait Reporter: Send + Sync {
    /// A transfer starts: its name, its total size when known, and how many bytes are already
    /// there (a resumed download).
    fn start(&self, name: &str, total: Option<u64>, already: u64) {
        let _ = (name, total, already);
    }
    /// More bytes went through.
    fn bytes(&self, name: &str, count: u64) {
        let _ = (name, count);
    }
    /// The transfer ended, successfully or not.
    fn finish(&self, name: &str, ok: bool) {
        let _ = (name, ok);
    }
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Reporter for NoProgress {}
