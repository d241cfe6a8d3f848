//! What a mount or a media server did: the counts its `--json` events and `/metrics` show.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters, shared by every reader.
#[derive(Debug, Default)]
pub struct Stats {
    tokens: AtomicU64,
    listings: AtomicU64,
    cache_hits: AtomicU64,
    cache_bytes: AtomicU64,
    network_bytes: AtomicU64,
    range_requests: AtomicU64,
    failed_reads: AtomicU64,
    uploads: AtomicU64,
    uploaded_bytes: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// API calls sent by this process (every kind), and those refused as too many.
    pub api_calls: u64,
    /// Calls the service refused as too many (429, flood locks): should stay 0.
    pub refused: u64,
    /// `download/get_token.cgi` calls.
    pub tokens: u64,
    /// Folder listings read from the service.
    pub listings: u64,
    /// Blocks served from the cache.
    pub cache_hits: u64,
    /// Bytes served from the cache.
    pub cache_bytes: u64,
    /// Bytes read from download nodes.
    pub network_bytes: u64,
    /// Range GETs sent to download nodes (not API calls).
    pub range_requests: u64,
    /// Reads that failed (EIO).
    pub failed_reads: u64,
    /// Files written through the front end and uploaded.
    pub uploads: u64,
    /// Their bytes.
    pub uploaded_bytes: u64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    pub(crate) fn count_token(&self) {
        add(&self.tokens, 1);
    }
    pub(crate) fn count_listing(&self) {
        add(&self.listings, 1);
    }
    pub(crate) fn count_hit(&self, bytes: u64) {
        add(&self.cache_hits, 1);
        add(&self.cache_bytes, bytes);
    }
    pub(crate) fn count_network(&self, bytes: u64) {
        add(&self.network_bytes, bytes);
    }
    pub(crate) fn count_range_request(&self) {
        add(&self.range_requests, 1);
    }
    pub(crate) fn count_failed_read(&self) {
        add(&self.failed_reads, 1);
    }
    pub(crate) fn count_upload(&self, bytes: u64) {
        add(&self.uploads, 1);
        add(&self.uploaded_bytes, bytes);
    }

    /// The counters now, with the client's call counts.
    pub fn snapshot(&self, client: &onefichier_client::Client) -> Snapshot {
        let (api_calls, refused) = client.call_stats();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            api_calls,
            refused,
            tokens: get(&self.tokens),
            listings: get(&self.listings),
            cache_hits: get(&self.cache_hits),
            cache_bytes: get(&self.cache_bytes),
            network_bytes: get(&self.network_bytes),
            range_requests: get(&self.range_requests),
            failed_reads: get(&self.failed_reads),
            uploads: get(&self.uploads),
            uploaded_bytes: get(&self.uploaded_bytes),
        }
    }
}

impl Snapshot {
    /// The counters in Prometheus' text format, prefixed `onefichier_vfs_`.
    pub fn prometheus(&self) -> String {
        let rows = [
            ("api_calls_total", "API calls sent", self.api_calls),
            (
                "refused_calls_total",
                "API calls refused as too many",
                self.refused,
            ),
            (
                "token_calls_total",
                "download tokens asked for",
                self.tokens,
            ),
            ("listings_total", "folder listings read", self.listings),
            (
                "cache_hits_total",
                "blocks served from the cache",
                self.cache_hits,
            ),
            (
                "cache_bytes_total",
                "bytes served from the cache",
                self.cache_bytes,
            ),
            (
                "network_bytes_total",
                "bytes read from download nodes",
                self.network_bytes,
            ),
            (
                "range_requests_total",
                "range requests to download nodes",
                self.range_requests,
            ),
            ("failed_reads_total", "reads that failed", self.failed_reads),
            ("uploads_total", "written files uploaded", self.uploads),
            (
                "uploaded_bytes_total",
                "bytes of written files uploaded",
                self.uploaded_bytes,
            ),
        ];
        rows.iter()
            .map(|(name, help, value)| {
                format!(
                    "# HELP onefichier_vfs_{name} {help}\n# TYPE onefichier_vfs_{name} counter\nonefichier_vfs_{name} {value}\n"
                )
            })
            .collect()
    }
}
