//! Rate limits, flood locks and overload protection.
//!
//! Budgets are GCRA buckets (governor) keyed by address, key, account or folder. Refusals from
//! one address are counted; too many within a minute lock the address for a while, during which
//! every request from it is refused with "Flood detected: IP Locked" and the time left.
//!
//! With `--shared-state`, budgets, locks and wrong-password counts live in Redis instead
//! ([`SharedState`]), the same for every process; should Redis fail, each check falls back on
//! this process's own tables (and says so in the log) rather than refusing or waving through.
//! Places for transfers and requests in flight stay per process: they guard its own memory and
//! sockets.

use crate::config::{LimitProfile, LimitsConfig};
use crate::error::ApiError;
use crate::places::{Place, Places};
use crate::shared_state::{GuessLimit, SharedPlace, SharedState};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use onefichier_protocol::ErrorCode;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most results a listing returns under the `1fichier` profile.
pub const MAX_LISTING: i64 = 5_000;

/// How long refusals are remembered when deciding on a lock.
const VIOLATION_WINDOW: Duration = Duration::from_secs(60);

/// Wrong passwords one address may try per [`ADDRESS_GUESS_WINDOW`], whatever the item.
const ADDRESS_GUESSES: u32 = 10;
const ADDRESS_GUESS_WINDOW: Duration = Duration::from_secs(60);
/// Wrong passwords one protected item may receive per [`ITEM_GUESS_WINDOW`], from everyone
/// together (an attacker with many addresses).
const ITEM_GUESSES: u32 = 30;
const ITEM_GUESS_WINDOW: Duration = Duration::from_secs(900);
/// Wrong passwords one address may try on one account per [`ITEM_GUESS_WINDOW`] (its pace is
/// the address's own limit; this count mostly says whether it failed on the account at all).
const PAIR_GUESSES: u32 = ITEM_GUESSES;

/// The counts of a password attempt on a protected item (a file, a shared folder, a removal
/// code): the address's and the item's. Too many wrong passwords on the item from everyone
/// refuse everyone for a while.
fn item_limits(ip: IpAddr, item: &str) -> Vec<GuessLimit> {
    vec![
        GuessLimit::new(format!("ip:{ip}"), ADDRESS_GUESSES, ADDRESS_GUESS_WINDOW),
        GuessLimit::new(format!("item:{item}"), ITEM_GUESSES, ITEM_GUESS_WINDOW),
    ]
}

/// The counts of a password attempt on an account (log-in, second factor): the address's, the
/// address's on this account, and the account's from everyone — which stops only addresses
/// that failed on it themselves, so that strangers guessing from many addresses cannot lock
/// the owner out.
fn account_limits(ip: IpAddr, item: &str) -> Vec<GuessLimit> {
    vec![
        GuessLimit::new(format!("ip:{ip}"), ADDRESS_GUESSES, ADDRESS_GUESS_WINDOW),
        GuessLimit::new(format!("pair:{item}@{ip}"), PAIR_GUESSES, ITEM_GUESS_WINDOW),
        GuessLimit {
            gate: Some(1),
            ..GuessLimit::new(format!("item:{item}"), ITEM_GUESSES, ITEM_GUESS_WINDOW)
        },
    ]
}

/// Wrong passwords counted over a fixed window.
#[derive(Debug, Clone, Copy)]
struct Guesses {
    since: Instant,
    window: Duration,
    wrong: u32,
}

/// Wrong-password counts by [`GuessLimit::key`]. Password limits hold under every profile:
/// they are protection, not a service budget.
type GuessTable = HashMap<String, Guesses>;

/// The time left before a count over `max` may guess again, if it is over.
fn guesses_left(entry: Option<&Guesses>, max: u32, now: Instant) -> Option<Duration> {
    let entry = entry?;
    let left = entry.window.saturating_sub(now.duration_since(entry.since));
    (entry.wrong >= max && !left.is_zero()).then_some(left)
}

/// Adds one wrong attempt to `key`'s count; returns the count.
fn count_guess(table: &mut GuessTable, key: &str, window: Duration, now: Instant) -> u32 {
    let fresh = Guesses {
        since: now,
        window,
        wrong: 0,
    };
    let entry = table.entry(key.to_owned()).or_insert(fresh);
    if now.duration_since(entry.since) >= entry.window {
        *entry = fresh;
    }
    entry.wrong += 1;
    entry.wrong
}

/// The live count of `key` (0 once its window is over).
fn live_count(table: &GuessTable, key: &str, now: Instant) -> u32 {
    table
        .get(key)
        .filter(|g| now.duration_since(g.since) < g.window)
        .map_or(0, |g| g.wrong)
}

/// An admitted password attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessAdmitted {
    /// This attempt took the item's count from everyone to its limit: the item is being
    /// guessed at from many addresses (its owner should be told).
    pub attack_began: bool,
}

/// Which listing of a folder is asked for. `folder/ls` and `file/ls` of one folder have budgets
/// of their own: clients such as rclone call both, one after the other, for every directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listing {
    /// `folder/ls.cgi`.
    Folders,
    /// `file/ls.cgi`.
    Files,
}

/// Every limit the server enforces.
pub struct Limiter {
    buckets: Option<Buckets>,
    shared: Option<SharedState>,
    /// When a Redis failure was last logged, so that an outage logs once a minute.
    shared_failure_logged: Mutex<Option<Instant>>,
    max_listing: i64,
    lock_after: u32,
    lock_duration: Duration,
    abuse: Mutex<HashMap<IpAddr, Abuse>>,
    in_flight: Arc<Semaphore>,
    transfers: Arc<Semaphore>,
    max_transfers: usize,
    anonymous_uploads: Arc<Semaphore>,
    anonymous_per_ip: usize,
    anonymous_by_ip: Places<IpAddr>,
    /// Streams of download tokens now running, for `single` tokens.
    streams: Places<String>,
    guesses: Mutex<GuessTable>,
}

/// A counted place, held until dropped: here, or in the shared state.
#[derive(Debug)]
pub enum Held<K: Hash + Eq> {
    /// Counted by this process.
    Here(Place<K>),
    /// Counted for every process.
    Shared(SharedPlace),
}

/// A place for one upload or download, held until the transfer ends (its answer's body is
/// dropped).
#[derive(Debug)]
pub struct TransferPermit {
    _transfer: OwnedSemaphorePermit,
    _anonymous: Option<(OwnedSemaphorePermit, Held<IpAddr>)>,
}

struct Buckets {
    per_ip: Bucket<IpAddr>,
    per_key: Bucket<i64>,
    user_info_ip: Bucket<IpAddr>,
    user_info_account: Bucket<i64>,
    folder_listing: Bucket<(i64, i64, Listing)>,
    all_files_listing: Bucket<i64>,
}

/// One budget: `burst` requests, then one every `interval`; here, or in the shared state under
/// `name`.
struct Bucket<K: Hash + Eq + Clone> {
    name: &'static str,
    interval: Duration,
    burst: u32,
    local: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(name: &'static str, interval: Duration, burst: u32) -> Self {
        let quota = Quota::with_period(interval)
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(burst).expect("non-zero burst"));
        Self {
            name,
            interval,
            burst,
            local: DefaultKeyedRateLimiter::keyed(quota),
        }
    }
}

#[derive(Default)]
struct Abuse {
    window_start: Option<Instant>,
    refusals: u32,
    locked_until: Option<Instant>,
}

fn too_many(wait: Duration) -> ApiError {
    ApiError::new(ErrorCode::TooManyRequests).retry_after(wait.as_secs_f64().ceil() as u64)
}

fn check_here<K: Hash + Eq + Clone>(bucket: &Bucket<K>, key: &K) -> Result<(), ApiError> {
    bucket
        .local
        .check_key(key)
        .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
}

impl Limiter {
    /// Builds the limits of a profile.
    pub fn new(config: &LimitsConfig) -> Self {
        let buckets = (config.profile == LimitProfile::OneFichier).then(|| Buckets {
            // 3 requests per second, in bursts of at most 3.
            per_ip: Bucket::new("ip", Duration::from_millis(334), 3),
            per_key: Bucket::new("key", Duration::from_millis(334), 3),
            user_info_ip: Bucket::new("user_info_ip", Duration::from_secs(60), 1),
            user_info_account: Bucket::new("user_info_account", Duration::from_secs(300), 1),
            folder_listing: Bucket::new("listing", Duration::from_secs(30), 1),
            all_files_listing: Bucket::new("all_files", Duration::from_secs(3600), 1),
        });
        let max_listing = config.max_listing.unwrap_or(if buckets.is_some() {
            MAX_LISTING
        } else {
            i64::MAX
        });
        Self {
            buckets,
            shared: None,
            shared_failure_logged: Mutex::new(None),
            max_listing: max_listing.max(1),
            lock_after: config.lock_after.max(1),
            lock_duration: config.lock_duration,
            abuse: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            transfers: Arc::new(Semaphore::new(config.max_transfers.max(2))),
            max_transfers: config.max_transfers.max(2),
            anonymous_uploads: Arc::new(Semaphore::new(config.max_transfers.max(2) / 2)),
            anonymous_per_ip: config.max_anonymous_uploads_per_ip.max(1),
            anonymous_by_ip: Places::default(),
            streams: Places::default(),
            guesses: Mutex::default(),
        }
    }

    /// Keeps budgets, flood locks and wrong-password counts in `shared`, for every process.
    #[must_use]
    pub fn with_shared_state(mut self, shared: SharedState) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Notes that the shared state failed (logged once a minute); the caller then uses this
    /// process's own tables.
    fn shared_failed(&self, error: &redis::RedisError) {
        let now = Instant::now();
        let mut last = self.shared_failure_logged.lock();
        if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60)) {
            tracing::warn!(
                %error,
                "the shared state does not answer: limits are this process's own until it does"
            );
            *last = Some(now);
        }
    }

    /// One request against a budget, in the shared state when there is one.
    async fn check<K: Hash + Eq + Clone>(
        &self,
        bucket: &Bucket<K>,
        key: &K,
        shared_key: impl FnOnce() -> String,
    ) -> Result<(), ApiError> {
        if let Some(shared) = &self.shared {
            match shared
                .take(bucket.name, &shared_key(), bucket.interval, bucket.burst)
                .await
            {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(too_many(wait)),
                Err(error) => self.shared_failed(&error),
            }
        }
        check_here(bucket, key)
    }

    /// Admits a password attempt from an address on an item (`file:LINK`, `folder:SHARE`),
    /// or refuses it (429, before any hashing) when either has had too many wrong passwords
    /// lately. An admitted attempt counts as wrong until [`Limiter::right_guess`] says it was
    /// not: checking and counting are one step, so guesses in flight at once cannot pass the
    /// limit together.
    pub async fn begin_guess(&self, ip: IpAddr, item: &str) -> Result<GuessAdmitted, ApiError> {
        self.begin_counted_guess(&item_limits(ip, item)).await
    }

    /// [`Limiter::begin_guess`] for an account's password or codes (`login:E-MAIL`,
    /// `totp:ID`): many wrong passwords from everyone refuse only the addresses that got it
    /// wrong themselves; an address with no failure on the account is still let through.
    pub async fn begin_account_guess(
        &self,
        ip: IpAddr,
        item: &str,
    ) -> Result<GuessAdmitted, ApiError> {
        self.begin_counted_guess(&account_limits(ip, item)).await
    }

    async fn begin_counted_guess(&self, limits: &[GuessLimit]) -> Result<GuessAdmitted, ApiError> {
        let refused = |wait: Duration| {
            ApiError::detail(ErrorCode::TooManyRequests, "too many wrong passwords")
                .retry_after(wait.as_secs_f64().ceil() as u64)
        };
        // The last count is the item's from everyone.
        let item_max = limits.last().map_or(u32::MAX, |l| l.max);
        let admitted = |counts: &[u32]| GuessAdmitted {
            attack_began: counts.last() == Some(&item_max),
        };
        if let Some(shared) = &self.shared {
            match shared.begin_guess(limits).await {
                Ok(Ok(counts)) => return Ok(admitted(&counts)),
                Ok(Err(wait)) => return Err(refused(wait)),
                Err(error) => self.shared_failed(&error),
            }
        }
        let now = Instant::now();
        let mut table = self.guesses.lock();
        let live: Vec<u32> = limits
            .iter()
            .map(|l| live_count(&table, &l.key, now))
            .collect();
        let wait = limits
            .iter()
            .filter(|l| {
                l.gate
                    .is_none_or(|gate| live.get(gate).is_some_and(|&n| n > 0))
            })
            .filter_map(|l| guesses_left(table.get(&l.key), l.max, now))
            .max();
        if let Some(wait) = wait {
            return Err(refused(wait));
        }
        let counts: Vec<u32> = limits
            .iter()
            .map(|l| count_guess(&mut table, &l.key, l.window, now))
            .collect();
        Ok(admitted(&counts))
    }

    /// The attempt begun with [`Limiter::begin_guess`] or [`Limiter::begin_account_guess`] had
    /// the right password: it no longer counts as wrong.
    pub async fn right_guess(&self, ip: IpAddr, item: &str) {
        let keys = [
            format!("ip:{ip}"),
            format!("item:{item}"),
            format!("pair:{item}@{ip}"),
        ];
        if let Some(shared) = &self.shared {
            match shared.right_guess(&keys).await {
                Ok(()) => return,
                Err(error) => self.shared_failed(&error),
            }
        }
        let mut table = self.guesses.lock();
        for key in &keys {
            if let Some(entry) = table.get_mut(key) {
                entry.wrong = entry.wrong.saturating_sub(1);
            }
        }
    }

    /// The attempt was wrong: it stays counted, and counts toward the address's flood lock.
    pub async fn wrong_guess(&self, ip: IpAddr) {
        self.record_refusal(ip).await;
    }

    /// Uploads and downloads in progress now.
    pub fn transfers_in_flight(&self) -> usize {
        self.max_transfers
            .saturating_sub(self.transfers.available_permits())
    }

    /// A place for a transfer, or 503: from the transfer pool, and for an upload without a key
    /// also one of its address's few places and of the anonymous half of the pool.
    pub async fn admit_transfer(
        &self,
        ip: IpAddr,
        anonymous: bool,
    ) -> Result<TransferPermit, ApiError> {
        let full = || ApiError::new(ErrorCode::ServiceOverloaded).retry_after(5);
        let anonymous = if anonymous {
            let place = self
                .take_place(
                    &self.anonymous_by_ip,
                    "anonymous_uploads",
                    &ip,
                    self.anonymous_per_ip,
                )
                .await
                .ok_or_else(full)?;
            let share = Arc::clone(&self.anonymous_uploads)
                .try_acquire_owned()
                .map_err(|_| full())?;
            Some((share, place))
        } else {
            None
        };
        let transfer = Arc::clone(&self.transfers)
            .try_acquire_owned()
            .map_err(|_| full())?;
        Ok(TransferPermit {
            _transfer: transfer,
            _anonymous: anonymous,
        })
    }

    /// A place among `max` for `key`, counted in the shared state when there is one.
    async fn take_place<K: Hash + Eq + Clone + std::fmt::Display>(
        &self,
        local: &Places<K>,
        kind: &str,
        key: &K,
        max: usize,
    ) -> Option<Held<K>> {
        if let Some(shared) = &self.shared {
            match shared.take_place(kind, &key.to_string(), max).await {
                Ok(place) => return place.map(Held::Shared),
                Err(error) => self.shared_failed(&error),
            }
        }
        local.take(key, max).map(Held::Here)
    }

    /// Registers a download stream of `token`; `None` when the token allows a single stream
    /// and one is already running (on any process, with a shared state).
    pub async fn start_stream(&self, token: &str, single: bool) -> Option<Held<String>> {
        let token = token.to_owned();
        if single {
            self.take_place(&self.streams, "streams", &token, 1).await
        } else {
            self.streams.take(&token, usize::MAX).map(Held::Here)
        }
    }

    /// Most results a listing may return.
    pub fn max_listing(&self) -> i64 {
        self.max_listing
    }

    /// A slot for one request, or 503 when too many are in flight.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| ApiError::new(ErrorCode::ServiceOverloaded).retry_after(1))
    }

    /// Refuses an address under a flood lock.
    pub async fn check_lock(&self, ip: IpAddr) -> Result<(), ApiError> {
        if let Some(shared) = &self.shared {
            match shared.lock_left(&ip.to_string()).await {
                Ok(None) => return Ok(()),
                Ok(Some(left)) => {
                    return Err(ApiError::new(ErrorCode::FloodIpLocked)
                        .retry_after(left.as_secs_f64().ceil() as u64));
                }
                Err(error) => self.shared_failed(&error),
            }
        }
        let abuse = self.abuse.lock();
        match abuse.get(&ip).and_then(|a| a.locked_until) {
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Ok(())
                } else {
                    Err(ApiError::new(ErrorCode::FloodIpLocked)
                        .retry_after(left.as_secs_f64().ceil() as u64))
                }
            }
            None => Ok(()),
        }
    }

    /// Counts a refusal against an address; enough of them within a minute lock it. Locks are
    /// part of the `1fichier` profile; `off` never locks.
    pub async fn record_refusal(&self, ip: IpAddr) {
        if self.buckets.is_none() {
            return;
        }
        if let Some(shared) = &self.shared {
            match shared
                .refuse(
                    &ip.to_string(),
                    self.lock_after,
                    VIOLATION_WINDOW,
                    self.lock_duration,
                )
                .await
            {
                Ok(locked) => {
                    if locked {
                        tracing::warn!(%ip, seconds = self.lock_duration.as_secs(), "flood lock");
                    }
                    return;
                }
                Err(error) => self.shared_failed(&error),
            }
        }
        let now = Instant::now();
        let mut table = self.abuse.lock();
        let abuse = table.entry(ip).or_default();
        if abuse.locked_until.is_some_and(|until| until > now) {
            return;
        }
        match abuse.window_start {
            Some(start) if now.duration_since(start) < VIOLATION_WINDOW => abuse.refusals += 1,
            _ => {
                abuse.window_start = Some(now);
                abuse.refusals = 1;
            }
        }
        if abuse.refusals >= self.lock_after {
            tracing::warn!(%ip, seconds = self.lock_duration.as_secs(), "flood lock");
            abuse.locked_until = Some(now + self.lock_duration);
            abuse.refusals = 0;
            abuse.window_start = None;
        }
    }

    /// The per-address budget (before authentication).
    pub async fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        self.check(&b.per_ip, &ip, || ip.to_string()).await
    }

    /// The per-key budget.
    pub async fn check_key(&self, key_id: i64) -> Result<(), ApiError> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        self.check(&b.per_key, &key_id, || key_id.to_string()).await
    }

    /// `user/info`: once a minute per address and once per 5 minutes per account.
    pub async fn check_user_info(&self, ip: IpAddr, account_id: i64) -> Result<(), ApiError> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        self.check(&b.user_info_ip, &ip, || ip.to_string()).await?;
        self.check(&b.user_info_account, &account_id, || account_id.to_string())
            .await
    }

    /// A folder listing: the same folder once per 30 s for each kind of listing; the whole
    /// account (`file/ls` of `-1`) once an hour.
    pub async fn check_listing(
        &self,
        account_id: i64,
        folder_id: i64,
        listing: Listing,
    ) -> Result<(), ApiError> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        if folder_id == onefichier_protocol::ids::ALL_FILES {
            self.check(&b.all_files_listing, &account_id, || account_id.to_string())
                .await
        } else {
            let key = (account_id, folder_id, listing);
            self.check(&b.folder_listing, &key, || {
                format!("{account_id}:{folder_id}:{listing:?}")
            })
            .await
        }
    }

    /// Forgets buckets and locks that no longer matter, so memory stays bounded.
    pub fn sweep(&self) {
        if let Some(b) = &self.buckets {
            b.per_ip.local.retain_recent();
            b.per_key.local.retain_recent();
            b.user_info_ip.local.retain_recent();
            b.user_info_account.local.retain_recent();
            b.folder_listing.local.retain_recent();
            b.all_files_listing.local.retain_recent();
        }
        let now = Instant::now();
        {
            let mut guesses = self.guesses.lock();
            guesses.retain(|_, g| now.duration_since(g.since) < g.window);
        }
        self.abuse.lock().retain(|_, a| {
            a.locked_until.is_some_and(|until| until > now)
                || a.window_start
                    .is_some_and(|start| now.duration_since(start) < VIOLATION_WINDOW)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(lock_after: u32) -> Limiter {
        Limiter::new(&LimitsConfig {
            lock_after,
            ..LimitsConfig::default()
        })
    }

    #[tokio::test]
    async fn three_per_second_then_429_with_retry_after() {
        let limits = limiter(100);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        for _ in 0..3 {
            limits.check_ip(ip).await.unwrap();
        }
        let refused = limits.check_ip(ip).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::TooManyRequests);
    }

    #[tokio::test]
    async fn listing_budget_is_per_folder() {
        let limits = limiter(100);
        limits.check_listing(1, 5, Listing::Files).await.unwrap();
        limits.check_listing(1, 5, Listing::Folders).await.unwrap();
        limits.check_listing(1, 6, Listing::Files).await.unwrap();
        limits.check_listing(2, 5, Listing::Files).await.unwrap();
        assert!(limits.check_listing(1, 5, Listing::Files).await.is_err());
        limits.check_listing(1, -1, Listing::Files).await.unwrap();
        assert!(limits.check_listing(1, -1, Listing::Files).await.is_err());
    }

    #[tokio::test]
    async fn repeated_refusals_lock_the_address() {
        let limits = limiter(3);
        let ip: IpAddr = "::1".parse().unwrap();
        limits.record_refusal(ip).await;
        limits.record_refusal(ip).await;
        limits.check_lock(ip).await.unwrap();
        limits.record_refusal(ip).await;
        assert_eq!(
            limits.check_lock(ip).await.unwrap_err().code(),
            ErrorCode::FloodIpLocked
        );
    }

    #[tokio::test]
    async fn anonymous_uploads_have_few_places_per_address_and_half_the_pool() {
        let limits = Limiter::new(&LimitsConfig {
            max_transfers: 8,
            max_anonymous_uploads_per_ip: 2,
            ..LimitsConfig::default()
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let c: IpAddr = "127.0.0.3".parse().unwrap();
        let first = limits.admit_transfer(a, true).await.unwrap();
        let _second = limits.admit_transfer(a, true).await.unwrap();
        assert!(limits.admit_transfer(a, true).await.is_err(), "per address");
        let _b = (
            limits.admit_transfer(b, true).await.unwrap(),
            limits.admit_transfer(b, true).await.unwrap(),
        );
        assert!(
            limits.admit_transfer(c, true).await.is_err(),
            "half the pool"
        );
        let mut keyed = Vec::new();
        for _ in 0..4 {
            keyed.push(limits.admit_transfer(c, false).await.unwrap());
        }
        assert!(
            limits.admit_transfer(c, false).await.is_err(),
            "the whole pool"
        );
        drop(keyed);
        drop(first);
        limits.admit_transfer(a, true).await.unwrap();
    }

    #[tokio::test]
    async fn wrong_passwords_are_limited_per_address_and_per_item() {
        let limits = Limiter::new(&LimitsConfig {
            profile: LimitProfile::Off,
            ..LimitsConfig::default()
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        // Right passwords never use up the allowance.
        for _ in 0..3 * ADDRESS_GUESSES {
            limits.begin_guess(a, "file:x").await.unwrap();
            limits.right_guess(a, "file:x").await;
        }
        // Attempts in flight count at once: no more than the limit get through.
        for _ in 0..ADDRESS_GUESSES {
            limits.begin_guess(a, "file:x").await.unwrap();
        }
        let refused = limits.begin_guess(a, "file:y").await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::TooManyRequests);
        // Many addresses against one item.
        for i in 0..ITEM_GUESSES {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            limits.begin_guess(ip, "folder:z").await.unwrap();
            limits.wrong_guess(ip).await;
        }
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limits.begin_guess(other, "folder:z").await.is_err());
        limits.begin_guess(other, "file:x").await.unwrap();
    }

    #[tokio::test]
    async fn off_profile_has_no_budgets() {
        let limits = Limiter::new(&LimitsConfig {
            profile: LimitProfile::Off,
            ..LimitsConfig::default()
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..100 {
            limits.check_ip(ip).await.unwrap();
            limits.check_listing(1, 1, Listing::Files).await.unwrap();
        }
        assert_eq!(limits.max_listing(), i64::MAX);
    }
}
