//! Shared state of the HTTP layer.

use crate::config::ServerConfig;
use crate::limits::Limiter;
use crate::meta::MetaRepo;
use std::sync::Arc;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<dyn MetaRepo>,
    config: ServerConfig,
    limiter: Limiter,
}

impl AppState {
    /// Builds the state from a metadata store and settings.
    pub fn new(repo: Arc<dyn MetaRepo>, config: ServerConfig) -> Self {
        let limiter = Limiter::new(&config.limits);
        Self {
            inner: Arc::new(Inner {
                repo,
                config,
                limiter,
            }),
        }
    }

    /// The metadata store.
    pub fn repo(&self) -> &dyn MetaRepo {
        self.inner.repo.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The limits.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
