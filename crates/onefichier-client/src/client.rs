//! `Client` and `ClientBuilder`: configuration, the call path (governor → request → classify →
//! retry) and the caches the budgets make worthwhile.

use crate::classify::classify;
use crate::error::{Error, ErrorKind, Result};
use crate::governor::{Budget, Budgets, Governor, Priority};
use crate::listing_cache::ListingCache;
use crate::transport::HttpService;
use crate::wait::{Wait, WaitObserver, WaitReason};
use bytes::Bytes;
use onefichier_protocol::{Endpoint, RetryClass};
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The environment variables the SDK reads, declared once.
pub mod env {
    /// The API key (`Authorization: Bearer`).
    pub const API_KEY: &str = "ONEFICHIER_API_KEY";
    /// The API's base URL; defaults to [`super::DEFAULT_API_URL`].
    pub const API_URL: &str = "ONEFICHIER_API_URL";
    /// Where the governor's shared state lives; defaults to the user's state folder.
    pub const STATE_DIR: &str = "ONEFICHIER_STATE_DIR";
}

/// The live service's API.
pub const DEFAULT_API_URL: &str = "https://api.1fichier.com/v1";

/// How failed calls are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Total time a call may take, retries and waits included.
    pub max_elapsed: Duration,
    /// First backoff delay; each retry doubles it, with full jitter.
    pub base_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest lock ("Flood detected") the client waits for before giving up.
    pub max_lock_wait: Duration,
    /// How long a call keeps trying a server that refuses connections (a restart takes
    /// seconds; a server that is not there should be reported, not waited for).
    pub max_unreachable: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(15 * 60),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_lock_wait: Duration::from_secs(3600),
            max_unreachable: Duration::from_secs(8),
        }
    }
}

impl RetryConfig {
    /// No retry at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempts per call.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first backoff delay.
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest backoff delay.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(20).saturating_sub(1))
            .min(self.max_delay);
        // Full jitter: a random delay up to the exponential bound.
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }
}

/// Where the governor keeps its state.
#[derive(Debug, Clone)]
enum StateDir {
    /// `ONEFICHIER_STATE_DIR`, else the user's state folder.
    Default,
    /// Memory only: no sharing with other processes.
    Memory,
    /// A given folder.
    At(PathBuf),
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    api_url: String,
    key: Option<SecretString>,
    budgets: Budgets,
    wait_observer: Option<Arc<dyn WaitObserver>>,
    max_wait: Option<Duration>,
    fresh_listings: bool,
    retry: RetryConfig,
    state_dir: StateDir,
    roots: Vec<reqwest::Certificate>,
    timeout: Duration,
    max_file_size: u64,
    transport: Option<Arc<dyn HttpService>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_url", &self.api_url)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("budgets", &self.budgets)
            .field("retry", &self.retry)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            key: None,
            budgets: Budgets::live(),
            wait_observer: None,
            max_wait: None,
            fresh_listings: false,
            retry: RetryConfig::default(),
            state_dir: StateDir::Default,
            roots: Vec::new(),
            timeout: Duration::from_secs(60),
            max_file_size: onefichier_protocol::upload::MAX_FILE_SIZE,
            transport: None,
        }
    }
}

impl ClientBuilder {
    /// Tells `observer` about every wait of a second or more before a call: a budget of the
    /// service, a flood lock, a retry the service asked for (see [`crate::wait`]).
    pub fn wait_observer(mut self, observer: Arc<dyn WaitObserver>) -> Self {
        self.wait_observer = Some(observer);
        self
    }

    /// Fails a call (with [`ErrorKind::RateLimited`] or [`ErrorKind::Locked`], saying when to
    /// retry) instead of waiting longer than `max` for it: for scripts that would rather stop.
    pub fn max_wait(mut self, max: Duration) -> Self {
        self.max_wait = Some(max);
        self
    }

    /// Never serve a listing kept from an earlier call or another process: wait for a real
    /// one (`--fresh`). Listings read are still kept for the others.
    pub fn fresh_listings(mut self, fresh: bool) -> Self {
        self.fresh_listings = fresh;
        self
    }

    /// The API's base URL (default `https://api.1fichier.com/v1`).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// The API key. Held as a secret: never shown by `Debug`, errors or logs.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(SecretString::from(key.into()));
        self
    }

    /// The budgets the governor enforces (default: the live service's).
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// How calls are retried.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Keeps the governor's state in `dir`, shared with other processes using the same key.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = StateDir::At(dir.into());
        self
    }

    /// Keeps the governor's state in memory only (no sharing between processes).
    pub fn state_in_memory(mut self) -> Self {
        self.state_dir = StateDir::Memory;
        self
    }

    /// Trusts a CA certificate (PEM) besides the system's, e.g. a self-hosted server's.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self> {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
            Error::new(ErrorKind::Config, "client", "invalid CA certificate").with_source(e)
        })?;
        self.roots.push(cert);
        Ok(self)
    }

    /// Timeout of one API call (transfers are bounded by progress instead).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest file the server stores whole (the live service's 300 GB by default); larger
    /// files are uploaded as parts (see [`crate::transfer::split`]). A server that refuses a
    /// smaller file with the limit in its answer teaches the client its own.
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes.max(1);
        self
    }

    /// Sends requests through `service` instead of the network (tests call a server's router in
    /// process this way). The API URL still names the hosts requests are addressed to.
    pub fn http_service(mut self, service: Arc<dyn HttpService>) -> Self {
        self.transport = Some(service);
        self
    }

    /// Reads `ONEFICHIER_API_KEY` and `ONEFICHIER_API_URL`.
    pub fn from_env(mut self) -> Self {
        if let Ok(key) = std::env::var(env::API_KEY)
            && !key.trim().is_empty()
        {
            self = self.api_key(key.trim());
        }
        if let Ok(url) = std::env::var(env::API_URL)
            && !url.trim().is_empty()
        {
            self = self.api_url(url.trim());
        }
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let config_error = |m: String| Error::new(ErrorKind::Config, "client", m);
        let api_url = parse_api_url(&self.api_url)?;
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("onefichier-client/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(300));
        for root in self.roots {
            http = http.add_root_certificate(root);
        }
        let http = http
            .build()
            .map_err(|e| config_error("cannot build the HTTP client".into()).with_source(e))?;
        let state_name = state_name(&api_url, self.key.as_ref());
        let state_dir = match self.state_dir {
            StateDir::Memory => None,
            StateDir::At(dir) => Some(dir),
            StateDir::Default => default_state_dir(),
        };
        let shared = state_dir.as_ref().map(|dir| {
            (
                dir.join(format!("governor-{state_name}.json")),
                dir.join(format!("listings-{state_name}")),
            )
        });
        let listing_validity = self.budgets.folder_listing_interval;
        let (governor, listings) = match shared {
            Some((state, listings)) => (
                Governor::in_file(self.budgets, state),
                ListingCache::new(Some(listings), listing_validity, self.fresh_listings),
            ),
            None => (
                Governor::in_memory(self.budgets),
                ListingCache::new(None, listing_validity, self.fresh_listings),
            ),
        };
        let governor = governor.with_waits(self.wait_observer, self.max_wait);
        let transport = self
            .transport
            .unwrap_or_else(|| Arc::new(http.clone()) as Arc<dyn HttpService>);
        Ok(Client {
            priority: Priority::Foreground,
            inner: Arc::new(Inner {
                http,
                transport,
                api_url,
                key: self.key,
                governor,
                retry: self.retry,
                timeout: self.timeout,
                listings,
                state: state_dir.map(|dir| (dir, state_name)),
                paths: Mutex::new(HashMap::new()),
                download_connections: tokio::sync::Semaphore::new(
                    crate::transfer::download::MAX_CONNECTIONS,
                ),
                max_file_size: std::sync::atomic::AtomicU64::new(self.max_file_size),
            }),
        })
    }
}

/// The API URL as given, checked (http or https, a host) and ending in `/`.
fn parse_api_url(given: &str) -> Result<url::Url> {
    let config_error = |m: String| Error::new(ErrorKind::Config, "client", m);
    let mut api_url = url::Url::parse(given.trim())
        .map_err(|e| config_error(format!("invalid API URL {given:?}: {e}")))?;
    if !matches!(api_url.scheme(), "http" | "https") || api_url.host_str().is_none() {
        return Err(config_error(format!(
            "the API URL must be http(s)://HOST/…, not {given:?}"
        )));
    }
    if !api_url.path().ends_with('/') {
        let path = format!("{}/", api_url.path());
        api_url.set_path(&path);
    }
    Ok(api_url)
}

/// What the state of this API URL and key is named by (the key itself never is).
fn state_name(api_url: &url::Url, key: Option<&SecretString>) -> String {
    let mut id = Sha256::new();
    id.update(api_url.as_str().as_bytes());
    id.update(b"\n");
    if let Some(key) = key {
        id.update(key.expose_secret().as_bytes());
    }
    id.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The folder where state shared between runs lives: `ONEFICHIER_STATE_DIR`, else the user's
/// state folder (`~/.local/state/onefichier` on Linux).
pub fn default_state_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var(env::STATE_DIR)
        && !dir.is_empty()
    {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "onefichier")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// An API client: cheap to clone (one connection pool, one governor, shared caches).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Whether this handle's calls let waiting foreground calls go first.
    priority: Priority,
}

pub(crate) struct Inner {
    /// Builds requests (headers, bodies, timeouts); [`Inner::transport`] sends them.
    pub(crate) http: reqwest::Client,
    pub(crate) transport: Arc<dyn HttpService>,
    api_url: url::Url,
    key: Option<SecretString>,
    pub(crate) governor: Governor,
    pub(crate) retry: RetryConfig,
    timeout: Duration,
    /// `folder/ls` answers (with files) by folder id, for the folder-listing budget.
    pub(crate) listings: ListingCache,
    /// The state folder and the name of this API URL and key's state in it (none in memory).
    state: Option<(PathBuf, String)>,
    /// Resolved paths → folder ids.
    pub(crate) paths: Mutex<HashMap<String, i64>>,
    /// Download connections open, across files and segments.
    pub(crate) download_connections: tokio::sync::Semaphore,
    /// The largest file uploaded whole: set, or learnt from a 413 answer.
    pub(crate) max_file_size: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.inner.api_url.as_str())
            .field("key", &self.inner.key.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Whether an error proves the request had no effect (so even a non-idempotent call may be
/// sent again): it never reached the server, or the server refused it before doing anything.
pub(crate) fn not_executed(error: &Error) -> bool {
    error.never_sent()
        || matches!(error.kind(), ErrorKind::RateLimited | ErrorKind::Locked)
        || (error.kind() == ErrorKind::Overloaded && error.status() == Some(503))
}

impl Client {
    /// A builder with the live service's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `ONEFICHIER_API_KEY` and `ONEFICHIER_API_URL`.
    pub fn from_env() -> Result<Self> {
        Self::builder().from_env().build()
    }

    /// The same client (same connections, governor and caches) for work nobody waits for, such
    /// as refreshing a cached listing: each of its calls lets every call of this process that
    /// waits for the budgets go first.
    #[must_use]
    pub fn in_background(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            priority: Priority::Background,
        }
    }

    /// The API's base URL, ending with `/`.
    pub fn api_url(&self) -> &url::Url {
        &self.inner.api_url
    }

    /// Whether a key is configured.
    pub fn has_key(&self) -> bool {
        self.inner.key.is_some()
    }

    /// The budgets in force.
    pub fn budgets(&self) -> &Budgets {
        self.inner.governor.budgets()
    }

    /// A path in the state folder for state of this API URL and key only:
    /// `STATE/{stem}-{id}.{extension}`, where the id derives from both (never shows the key).
    /// `None` when the client keeps its state in memory.
    pub fn state_file(&self, stem: &str, extension: &str) -> Option<PathBuf> {
        let (dir, name) = self.inner.state.as_ref()?;
        Some(dir.join(format!("{stem}-{name}.{extension}")))
    }

    /// How many calls this client sent, and how many were refused as too many
    /// (`429`, flood locks): the second should stay at zero.
    pub fn call_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        let stats = &self.inner.governor.stats;
        (
            stats.calls.load(Ordering::Relaxed),
            stats.refused.load(Ordering::Relaxed),
        )
    }

    /// `https://HOST` of the website and upload nodes' scheme, derived from the API URL:
    /// `api.1fichier.com` → `1fichier.com`; any other host serves both.
    pub(crate) fn site_url(&self) -> String {
        let url = &self.inner.api_url;
        let host = url.host_str().unwrap_or_default();
        let host = host.strip_prefix("api.").unwrap_or(host);
        match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        }
    }

    pub(crate) fn scheme(&self) -> &str {
        self.inner.api_url.scheme()
    }

    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.inner.key {
            Some(key) => request.bearer_auth(key.expose_secret()),
            None => request,
        }
    }

    /// Calls a v1 endpoint with a JSON body and decodes its answer.
    pub(crate) async fn call<Req, Resp>(
        &self,
        endpoint: Endpoint,
        budget: Budget,
        body: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let operation = endpoint.path();
        let body = serde_json::to_vec(body).map_err(|e| {
            Error::new(ErrorKind::Config, operation, "cannot encode the request").with_source(e)
        })?;
        let answer = self.send(endpoint, budget, body).await?;
        serde_json::from_slice(&answer).map_err(|e| {
            Error::new(
                ErrorKind::UnexpectedResponse,
                operation,
                format!("unexpected answer: {e}"),
            )
            .with_source(e)
        })
    }

    /// Sends one call through the governor, retrying what may be retried.
    async fn send(&self, endpoint: Endpoint, budget: Budget, body: Vec<u8>) -> Result<Bytes> {
        let operation = endpoint.path();
        if endpoint.requires_key() && self.inner.key.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                operation,
                format!("no API key: set {}", env::API_KEY),
            )
            .with_hint("create a key in the API Manager and export it (with the CLI: `1fichier auth login`)"));
        }
        let start = Instant::now();
        let governor = &self.inner.governor;
        let mut attempt = 0;
        let mut spend = budget;
        loop {
            attempt += 1;
            governor.acquire_as(spend, operation, self.priority).await?;
            let sent = self.send_once(operation, &body).await;
            // The service counts a listing from when it arrives, which is after it left here:
            // the budget's window starts again at the answer, so the next one is never early.
            // An attempt the service refused or never received spent none of its budgets: its
            // window is given back, and a retry waits only for the refusal's Retry-After
            // (below), paying the pace alone.
            let counted = !matches!(&sent, Err(error) if not_executed(error));
            if counted {
                governor.settle(budget).await;
            } else {
                governor.release(budget).await;
                spend = Budget::Call;
            }
            let error = match sent {
                Ok(answer) => return Ok(answer),
                Err(error) => self.explain_missing_endpoint(error),
            };
            // A call that may have changed something is never sent twice.
            if counted && !endpoint.idempotent() {
                return Err(error);
            }
            self.retry_pause(operation, attempt, start, error).await?;
        }
    }

    /// The one retry policy, for every request the SDK sends (API calls, the upload node,
    /// end.pl, the download node): `error`, from attempt `attempt` of a request begun at
    /// `started`, is retried only when temporary and within the attempts and time allowed. A
    /// flood lock holds every task and process using the key until it lifts (through the
    /// governor); other refusals wait their `Retry-After`, at least the backoff. The wait is
    /// announced (and refused past `max_wait`). `Ok` means "send again"; `Err` is the error to
    /// give up with.
    pub(crate) async fn retry_pause(
        &self,
        operation: &'static str,
        attempt: u32,
        started: Instant,
        error: Error,
    ) -> Result<()> {
        let retry = &self.inner.retry;
        if matches!(error.kind(), ErrorKind::RateLimited | ErrorKind::Locked) {
            self.inner.governor.record_refusal();
        }
        if !error.is_temporary()
            || attempt >= retry.max_attempts
            || started.elapsed() >= retry.max_elapsed
        {
            return Err(error);
        }
        let delay = match error.retry_class() {
            RetryClass::WaitForLock => {
                let wait = error
                    .retry_after()
                    .unwrap_or(crate::classify::DEFAULT_LOCK_WAIT);
                if wait > retry.max_lock_wait {
                    return Err(error);
                }
                // Every task and process using this key waits for the lift; the next
                // acquire announces the wait.
                self.inner.governor.lock_for(wait).await;
                Duration::ZERO
            }
            _ => error
                .retry_after()
                .unwrap_or_default()
                .max(retry.backoff(attempt)),
        };
        if error.never_sent() && started.elapsed() + delay > retry.max_unreachable {
            return Err(error);
        }
        tracing::debug!(operation, attempt, ?delay, error = %error, "retrying");
        if !delay.is_zero() {
            let announced = self.inner.governor.announce(&Wait {
                reason: WaitReason::Retry {
                    attempt,
                    cause: error.to_string(),
                },
                duration: delay,
                operation,
            });
            // A pause longer than --max-wait gives up with the failure itself, not the pause.
            if announced.is_err() {
                return Err(error);
            }
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// "Resource not found" for an endpoint itself, from an API URL that does not end with
    /// `/v1`, is a wrong URL rather than a missing file: say so.
    fn explain_missing_endpoint(&self, error: Error) -> Error {
        let on_v1 = self
            .inner
            .api_url
            .path()
            .trim_end_matches('/')
            .ends_with("/v1");
        if !on_v1 && error.code() == Some(onefichier_protocol::ErrorCode::ResourceNotFound) {
            error.with_hint("the API URL usually ends with /v1, e.g. https://api.1fichier.com/v1")
        } else {
            error
        }
    }

    async fn send_once(&self, operation: &'static str, body: &[u8]) -> Result<Bytes> {
        let url = self
            .inner
            .api_url
            .join(operation)
            .expect("endpoint paths are relative");
        let request = self
            .authorize(self.http().post(url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(self.inner.timeout)
            .body(body.to_vec());
        let sent = Instant::now();
        // One `call` line per API call at -vv (scripts and tests count them).
        let answer = self.exchange(operation, request).await.inspect_err(|e| {
            tracing::debug!(operation, elapsed = ?sent.elapsed(), error = %e, "call failed");
        })?;
        tracing::debug!(operation, status = answer.status, elapsed = ?sent.elapsed(), "call");
        let body = crate::body::read_whole(operation, answer.response).await?;
        classify(operation, answer.status, answer.retry_after, &body, true)?;
        Ok(body)
    }

    /// Whether this client trusts nothing kept from earlier runs (`--fresh`).
    pub(crate) fn fresh_listings(&self) -> bool {
        self.inner.listings.fresh()
    }

    /// Forgets kept listings after a change whose folders are not known (a file moved or
    /// removed by link): all of them go, here and for other processes.
    pub(crate) fn invalidate_listings(&self) {
        self.inner.listings.forget_all();
    }

    /// Forgets resolved paths after a folder moved or went away.
    pub(crate) fn invalidate_paths(&self) {
        self.inner.paths.lock().expect("path cache lock").clear();
    }
}
