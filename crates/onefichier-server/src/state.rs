//! Shared state of the HTTP layer.

use crate::blob::BlobStore;
use crate::config::ServerConfig;
use crate::limits::Limiter;
use crate::listing_cache::ListingCache;
use crate::meta::MetaRepo;
use crate::secrets::PasswordPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Memory for reusable `file/ls` answers: a few hundred large folders.
const LISTING_CACHE_BYTES: usize = 64 << 20;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<dyn MetaRepo>,
    blobs: Arc<dyn BlobStore>,
    config: ServerConfig,
    limiter: Limiter,
    next_node: AtomicUsize,
    /// Download streams in progress per token, for tokens that allow one at a time.
    listings: ListingCache,
    passwords: PasswordPool,
}

impl AppState {
    /// Builds the state from a metadata store, a blob store and settings.
    pub fn new(repo: Arc<dyn MetaRepo>, blobs: Arc<dyn BlobStore>, config: ServerConfig) -> Self {
        let mut limiter = Limiter::new(&config.limits);
        if let Some(shared) = &config.shared_state {
            limiter = limiter.with_shared_state(shared.clone());
        }
        Self {
            inner: Arc::new(Inner {
                repo,
                blobs,
                config,
                limiter,
                next_node: AtomicUsize::new(0),
                listings: ListingCache::new(LISTING_CACHE_BYTES),
                passwords: PasswordPool::per_core(),
            }),
        }
    }

    /// The metadata store.
    pub fn repo(&self) -> &dyn MetaRepo {
        self.inner.repo.as_ref()
    }

    /// The blob store.
    pub fn blobs(&self) -> &dyn BlobStore {
        self.inner.blobs.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The limits.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// Serialized `file/ls` answers.
    pub fn listings(&self) -> &ListingCache {
        &self.inner.listings
    }

    /// Password hashing, off the async workers.
    pub fn passwords(&self) -> &PasswordPool {
        &self.inner.passwords
    }

    /// The next upload node, in turn.
    pub fn next_upload_host(&self) -> &str {
        let hosts = &self.inner.config.names.upload_hosts;
        let turn = self.inner.next_node.fetch_add(1, Ordering::Relaxed);
        &hosts[turn % hosts.len()]
    }

    /// Deletes the bytes of blobs that no file points at any more. A failure only leaves an
    /// orphan, which the collector removes later.
    pub async fn free_blobs(&self, ids: &[String]) {
        for id in ids {
            if let Err(error) = self.blobs().delete(id).await {
                tracing::warn!(blob = %id, %error, "blob not deleted; the collector will retry");
            }
        }
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
