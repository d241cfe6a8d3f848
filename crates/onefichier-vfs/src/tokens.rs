//! Download tokens, one per file and reused: a token that is not single-use serves every range
//! request for 30 minutes after its first use, so seeks, chunks and handles of one file share it.
//! Concurrent requests for one file's token wait for the same call.

use crate::stats::Stats;
use onefichier_client::protocol::download::GetTokenRequest;
use onefichier_client::protocol::lenient::Flag;
use onefichier_client::{Client, RedactedUrl};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A token is renewed this long after it was given, before the service's 30 minutes run out
/// (its first use comes at most moments after it is given).
const RENEW_AFTER: Duration = Duration::from_secs(25 * 60);

struct Held {
    url: RedactedUrl,
    given: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

pub(crate) struct Tokens {
    client: Client,
    slots: Mutex<HashMap<String, Slot>>,
}

impl Tokens {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, link: &str) -> Slot {
        let mut slots = self.slots.lock();
        Arc::clone(slots.entry(link.to_owned()).or_default())
    }

    /// The download URL of `link`: the one held while it is young enough, else a new one.
    pub(crate) async fn get(
        &self,
        link: &str,
        stats: &Stats,
    ) -> onefichier_client::Result<RedactedUrl> {
        let slot = self.slot(link);
        let mut held = slot.lock().await;
        if let Some(token) = &*held
            && token.given.elapsed() < RENEW_AFTER
        {
            return Ok(token.url.clone());
        }
        let request = GetTokenRequest {
            url: Some(link.to_owned()),
            // Many range requests, from several handles at once.
            single: Some(Flag(false)),
            ..GetTokenRequest::default()
        };
        stats.count_token();
        let url = self.client.download_token(&request).await?;
        *held = Some(Held {
            url: url.clone(),
            given: Instant::now(),
        });
        Ok(url)
    }

    /// Drops `stale` (refused by the download node) unless another reader already replaced it.
    pub(crate) async fn forget(&self, link: &str, stale: &RedactedUrl) {
        let slot = self.slot(link);
        let mut held = slot.lock().await;
        if held.as_ref().is_some_and(|token| &token.url == stale) {
            *held = None;
        }
    }
}
