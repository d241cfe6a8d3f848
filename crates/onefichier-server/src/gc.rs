//! The collector: removes leftovers of interrupted uploads (staging files) and blobs that no
//! metadata row points at (a kill between storing the bytes and committing the row), and browser
//! sessions past their limits.

use crate::state::AppState;
use std::time::{Duration, SystemTime};

/// What one collection removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Staging files removed.
    pub staging: usize,
    /// Unreferenced blobs removed.
    pub blobs: usize,
}

/// Removes staging files and unreferenced blobs older than `grace`. At start-up no upload is in
/// flight, so `grace` may be zero; on a schedule it must exceed the longest upload.
pub async fn collect(state: &AppState, grace: Duration) -> anyhow::Result<Collected> {
    let staging = state.blobs().clean_staging(grace).await?;
    let mut blobs = 0;
    let now = SystemTime::now();
    for entry in state.blobs().list().await? {
        let age = now.duration_since(entry.modified).unwrap_or_default();
        if age >= grace && !state.repo().blob_known(&entry.id).await? {
            state.blobs().delete(&entry.id).await?;
            blobs += 1;
        }
    }
    let (idle_before, created_before) = crate::web::stale_session_limits(crate::state::now());
    let sessions = state
        .repo()
        .delete_stale_sessions(idle_before, created_before)
        .await?;
    crate::telemetry::collected(staging, blobs, sessions);
    if staging + blobs > 0 || sessions > 0 {
        tracing::info!(staging, blobs, sessions, "collected leftovers");
    }
    Ok(Collected { staging, blobs })
}

/// Runs [`collect`] every `every`, sparing anything younger than `grace`.
pub fn schedule(state: AppState, every: Duration, grace: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(error) = collect(&state, grace).await {
                tracing::warn!(%error, "collection failed");
            }
            state.limiter().sweep();
        }
    });
}
