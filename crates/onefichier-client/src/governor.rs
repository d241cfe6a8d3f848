//! The governor: every API call passes here first, and waits until the service's budgets allow
//! it. The budgets are shared by every task of the process and, through a small locked file in
//! the user's state folder, by every process that uses the same key: two cron jobs with one key
//! together stay within the budget, and a lock ("locked until T") seen by one is respected by
//! the other.

use crate::error::{Error, ErrorKind, Result};
use crate::wait::{REPORTED_WAIT, Wait, WaitObserver, WaitReason};
use onefichier_protocol::RetryClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The service's budgets. [`Budgets::live`] matches the live service; a self-hosted server may
/// allow [`Budgets::unlimited`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budgets {
    /// Least time between two API calls with one key (the service documents 3/s and in
    /// practice refuses more than about 2/s).
    pub min_interval: Duration,
    /// Least time between two `user/info` calls (once per 5 minutes per account).
    pub user_info_interval: Duration,
    /// Least time between two listings of the same folder (30 s).
    pub folder_listing_interval: Duration,
    /// Least time between two listings of any folders (about one per 3 s).
    pub listing_interval: Duration,
    /// Least time between two listings of the whole account (`folder_id = -1`, once an hour).
    pub all_files_interval: Duration,
}

impl Budgets {
    /// The live service's budgets.
    pub fn live() -> Self {
        Self {
            min_interval: Duration::from_millis(400),
            user_info_interval: Duration::from_secs(300),
            folder_listing_interval: Duration::from_secs(30),
            listing_interval: Duration::from_secs(3),
            all_files_interval: Duration::from_secs(3600),
        }
    }

    /// No budget at all, for a server with `--limits off`.
    pub fn unlimited() -> Self {
        Self {
            min_interval: Duration::ZERO,
            user_info_interval: Duration::ZERO,
            folder_listing_interval: Duration::ZERO,
            listing_interval: Duration::ZERO,
            all_files_interval: Duration::ZERO,
        }
    }
}

impl Default for Budgets {
    fn default() -> Self {
        Self::live()
    }
}

/// What a call spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Any call.
    Call,
    /// `user/info.cgi`.
    UserInfo,
    /// A listing of one folder.
    Listing(i64),
    /// `file/ls.cgi` with `folder_id = -1`.
    AllFiles,
    /// A node request without the key's budget (`end.pl`, a download GET): not an API call,
    /// so not paced, but held by a flood lock like everything else.
    Node,
}

/// Who waits for a call: someone (a command, a reader), or a cache refreshing itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Priority {
    #[default]
    Foreground,
    /// Goes after every foreground call waiting in this process.
    Background,
}

/// Counts a foreground call waiting in [`Governor::acquire_as`] while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How often a background call looks again whether foreground calls still wait.
const BACKGROUND_YIELD: Duration = Duration::from_millis(50);

/// The shared state, as stored in the state file. Times are Unix milliseconds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Shared {
    #[serde(default)]
    next_call: u64,
    #[serde(default)]
    locked_until: u64,
    #[serde(default)]
    user_info: u64,
    #[serde(default)]
    last_listing: u64,
    #[serde(default)]
    folders: BTreeMap<i64, u64>,
    #[serde(default)]
    all_files: u64,
    /// The last `user/info` answer: precious under a 5-minute budget, so shared too.
    #[serde(default)]
    user_info_cache: Option<(u64, serde_json::Value)>,
    /// The per-file limit the server stated in a 413, learned once for every later run.
    #[serde(default)]
    file_limit: Option<u64>,
}

impl Shared {
    /// When `budget` next allows a call, and the constraint that decides it (the latest).
    fn earliest(&self, budget: Budget, b: &Budgets) -> (u64, WaitReason) {
        let mut earliest = if budget == Budget::Node {
            0
        } else {
            self.next_call
        };
        let mut reason = WaitReason::Pace;
        let mut later = |at: u64, why: WaitReason| {
            if at > earliest {
                earliest = at;
                reason = why;
            }
        };
        later(self.locked_until, WaitReason::Locked);
        let listings = WaitReason::Listings {
            interval: b.listing_interval,
        };
        match budget {
            Budget::Call | Budget::Node => {}
            Budget::UserInfo => later(
                self.user_info + ms(b.user_info_interval),
                WaitReason::UserInfo {
                    interval: b.user_info_interval,
                },
            ),
            Budget::Listing(folder) => {
                let last = self.folders.get(&folder).copied().unwrap_or(0);
                later(
                    last + ms(b.folder_listing_interval),
                    WaitReason::FolderListing {
                        folder_id: folder,
                        interval: b.folder_listing_interval,
                    },
                );
                later(self.last_listing + ms(b.listing_interval), listings);
            }
            Budget::AllFiles => {
                later(
                    self.all_files + ms(b.all_files_interval),
                    WaitReason::AllFiles {
                        interval: b.all_files_interval,
                    },
                );
                later(self.last_listing + ms(b.listing_interval), listings);
            }
        }
        (earliest, reason)
    }

    /// Spends `budget` at `now` if it allows a call; otherwise the wait (ms) and its reason.
    fn spend(&mut self, budget: Budget, b: &Budgets, now: u64) -> Option<(u64, WaitReason)> {
        let (earliest, reason) = self.earliest(budget, b);
        if earliest > now {
            return Some((earliest - now, reason));
        }
        if budget != Budget::Node {
            self.next_call = now + ms(b.min_interval);
        }
        match budget {
            Budget::Call | Budget::Node => {}
            Budget::UserInfo => self.user_info = now,
            Budget::Listing(folder) => {
                self.folders.insert(folder, now);
                self.last_listing = now;
            }
            Budget::AllFiles => {
                self.all_files = now;
                self.last_listing = now;
            }
        }
        // Forget folders whose budget has long passed, so the file stays small.
        let horizon = now.saturating_sub(ms(b.folder_listing_interval) + 60_000);
        self.folders.retain(|_, at| *at >= horizon);
        None
    }
}

enum Store {
    Memory(std::sync::Mutex<Shared>),
    File(PathBuf),
}

/// Counters for tests and diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) calls: AtomicU64,
    pub(crate) refused: AtomicU64,
}

pub(crate) struct Governor {
    budgets: Budgets,
    /// Told about waits of a second or more.
    observer: Option<Arc<dyn WaitObserver>>,
    /// Longest wait accepted before a call; a longer one fails the call instead.
    max_wait: Option<Duration>,
    store: Store,
    /// Serialises this process's tasks around the file (the file lock is per process).
    local: tokio::sync::Mutex<()>,
    /// Foreground calls of this process waiting for their turn now.
    foreground_waiting: AtomicUsize,
    pub(crate) stats: Stats,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Governor {
    /// A governor whose state lives in memory only.
    pub(crate) fn in_memory(budgets: Budgets) -> Self {
        Self {
            budgets,
            observer: None,
            max_wait: None,
            store: Store::Memory(std::sync::Mutex::new(Shared::default())),
            local: tokio::sync::Mutex::new(()),
            foreground_waiting: AtomicUsize::new(0),
            stats: Stats::default(),
        }
    }

    /// A governor whose state is shared through `path` (created readable by the owner only).
    pub(crate) fn in_file(budgets: Budgets, path: PathBuf) -> Self {
        Self {
            budgets,
            observer: None,
            max_wait: None,
            store: Store::File(path),
            local: tokio::sync::Mutex::new(()),
            foreground_waiting: AtomicUsize::new(0),
            stats: Stats::default(),
        }
    }

    pub(crate) fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    /// Reports waits to `observer` and refuses those longer than `max_wait`.
    pub(crate) fn with_waits(
        mut self,
        observer: Option<Arc<dyn WaitObserver>>,
        max_wait: Option<Duration>,
    ) -> Self {
        self.observer = observer;
        self.max_wait = max_wait;
        self
    }

    /// Announces a wait (logged always, told to the observer from a second on), or refuses it
    /// when it is longer than the caller accepts.
    pub(crate) fn announce(&self, wait: &Wait) -> Result<()> {
        tracing::debug!(operation = wait.operation, waiting = ?wait.duration, reason = %wait.reason, "budget wait");
        if let Some(max) = self.max_wait
            && wait.duration > max
        {
            let (kind, retry) = if wait.reason == WaitReason::Locked {
                (ErrorKind::Locked, RetryClass::WaitForLock)
            } else {
                (ErrorKind::RateLimited, RetryClass::Backoff)
            };
            let retry_at = SystemTime::now() + wait.duration;
            let retry_at = jiff::Timestamp::try_from(retry_at)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            return Err(Error::new(
                kind,
                wait.operation,
                format!(
                    "{wait}: more than the {} allowed (--max-wait); retry after {retry_at}",
                    crate::wait::human_duration(max)
                ),
            )
            .with_retry(retry, Some(wait.duration))
            .with_hint("run it again then, or allow a longer --max-wait"));
        }
        if wait.duration >= REPORTED_WAIT
            && let Some(observer) = &self.observer
        {
            observer.waiting(wait);
        }
        Ok(())
    }

    async fn with_state<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Shared, u64) -> T + Send + 'static,
    ) -> std::io::Result<T> {
        let _turn = self.local.lock().await;
        match &self.store {
            Store::Memory(state) => {
                let mut state = state.lock().expect("governor state lock");
                Ok(f(&mut state, now_ms()))
            }
            Store::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || with_file(&path, f))
                    .await
                    .map_err(std::io::Error::other)?
            }
        }
    }

    /// Waits until `budget` allows a call for `operation`, and spends it; each wait is announced
    /// (see [`Governor::announce`]).
    pub(crate) async fn acquire(&self, budget: Budget, operation: &'static str) -> Result<()> {
        self.acquire_as(budget, operation, Priority::Foreground)
            .await
    }

    /// As [`Governor::acquire`]; a background call first lets every foreground call waiting in
    /// this process go (a player's token before a cache's refresh of a folder), for as long as
    /// they come.
    pub(crate) async fn acquire_as(
        &self,
        budget: Budget,
        operation: &'static str,
        priority: Priority,
    ) -> Result<()> {
        let _waiting =
            (priority == Priority::Foreground).then(|| Waiting::new(&self.foreground_waiting));
        loop {
            if priority == Priority::Background
                && self.foreground_waiting.load(Ordering::SeqCst) > 0
            {
                tokio::time::sleep(BACKGROUND_YIELD).await;
                continue;
            }
            let Some((duration, reason)) = self.try_acquire(budget).await else {
                return Ok(());
            };
            self.announce(&Wait {
                reason,
                duration,
                operation,
            })?;
            tokio::time::sleep(duration).await;
        }
    }

    /// Spends `budget` if it allows a call now; otherwise says how long to wait, and why.
    pub(crate) async fn try_acquire(&self, budget: Budget) -> Option<(Duration, WaitReason)> {
        let b = self.budgets.clone();
        let wait = self
            .with_state(move |s, now| s.spend(budget, &b, now))
            .await;
        match wait {
            Ok(None) => {
                // A download GET is not an API call.
                if budget != Budget::Node {
                    self.stats.calls.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
            Ok(Some((ms, reason))) => Some((Duration::from_millis(ms), reason)),
            Err(error) => {
                // A broken state file must not stop the program: fall back to pacing alone.
                tracing::warn!(%error, "governor state unavailable");
                tokio::time::sleep(self.budgets.min_interval).await;
                self.stats.calls.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Restarts the window of `budget` now that its call was answered. The service counts a
    /// call from when it arrives, after the governor let it go (a connection, a handshake, a
    /// busy network in between): windows measured from the answer are never early.
    pub(crate) async fn settle(&self, budget: Budget) {
        if matches!(budget, Budget::Call | Budget::Node) {
            return;
        }
        let settled = self
            .with_state(move |s, now| match budget {
                Budget::Call | Budget::Node => {}
                Budget::UserInfo => s.user_info = s.user_info.max(now),
                Budget::Listing(folder) => {
                    s.folders.insert(folder, now);
                    s.last_listing = s.last_listing.max(now);
                }
                Budget::AllFiles => {
                    s.all_files = s.all_files.max(now);
                    s.last_listing = s.last_listing.max(now);
                }
            })
            .await;
        if let Err(error) = settled {
            tracing::warn!(%error, "governor state unavailable");
        }
    }

    /// The per-file limit a server stated in an earlier run, if any.
    pub(crate) async fn learned_file_limit(&self) -> Option<u64> {
        self.with_state(|s, _| s.file_limit).await.ok().flatten()
    }

    /// Remembers the per-file limit a server stated (the lowest one heard).
    pub(crate) async fn learn_file_limit(&self, bytes: u64) {
        let _ = self
            .with_state(move |s, _| {
                s.file_limit = Some(s.file_limit.map_or(bytes, |known| known.min(bytes)));
            })
            .await;
    }

    /// Gives back the window of `budget`, taken for a call the service never counted (refused
    /// before doing anything, or never reached): the next such call need not wait for it.
    pub(crate) async fn release(&self, budget: Budget) {
        if matches!(budget, Budget::Call | Budget::Node) {
            return;
        }
        let _ = self
            .with_state(move |s, _| match budget {
                Budget::Call | Budget::Node => {}
                Budget::UserInfo => s.user_info = 0,
                Budget::Listing(folder) => {
                    s.folders.remove(&folder);
                }
                Budget::AllFiles => s.all_files = 0,
            })
            .await;
    }

    /// Records a lock: no call goes out before `until` from now, in any process.
    pub(crate) async fn lock_for(&self, wait: Duration) {
        let until = now_ms() + ms(wait);
        let _ = self
            .with_state(move |s, _| s.locked_until = s.locked_until.max(until))
            .await;
    }

    /// Counts a refusal for too many requests (what the governor exists to prevent).
    pub(crate) fn record_refusal(&self) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The shared `user/info` answer, while its budget makes a new call wait.
    pub(crate) async fn cached_user_info(&self) -> Option<serde_json::Value> {
        let validity = ms(self.budgets.user_info_interval);
        self.with_state(move |s, now| {
            s.user_info_cache
                .as_ref()
                .filter(|(at, _)| now < at + validity)
                .map(|(_, value)| value.clone())
        })
        .await
        .ok()
        .flatten()
    }

    /// Shares a `user/info` answer.
    pub(crate) async fn store_user_info(&self, value: serde_json::Value) {
        let _ = self
            .with_state(move |s, now| s.user_info_cache = Some((now, value)))
            .await;
    }

    /// Forgets the shared `user/info` answer (after a change of settings).
    pub(crate) async fn forget_user_info(&self) {
        let _ = self.with_state(|s, _| s.user_info_cache = None).await;
    }
}

fn with_file<T>(
    path: &std::path::Path,
    f: impl FnOnce(&mut Shared, u64) -> T,
) -> std::io::Result<T> {
    if let Some(dir) = path.parent() {
        crate::private_files::create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut state: Shared = serde_json::from_str(&text).unwrap_or_default();
    let result = f(&mut state, now_ms());
    let json = serde_json::to_vec(&state).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&json)?;
    file.unlock()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn quick() -> Budgets {
        Budgets {
            min_interval: Duration::from_millis(50),
            user_info_interval: Duration::from_millis(300),
            folder_listing_interval: Duration::from_millis(200),
            listing_interval: Duration::from_millis(100),
            all_files_interval: Duration::from_millis(400),
        }
    }

    struct Heard(std::sync::Mutex<Vec<Wait>>);

    impl WaitObserver for Heard {
        fn waiting(&self, wait: &Wait) {
            self.0.lock().unwrap().push(wait.clone());
        }
    }

    #[tokio::test]
    async fn waits_are_told_with_their_reason_and_refused_past_the_maximum() {
        let heard = Arc::new(Heard(std::sync::Mutex::new(Vec::new())));
        let budgets = Budgets {
            folder_listing_interval: Duration::from_millis(1_300),
            ..Budgets::unlimited()
        };
        let governor = Governor::in_memory(budgets.clone())
            .with_waits(Some(heard.clone() as Arc<dyn WaitObserver>), None);
        governor
            .acquire(Budget::Listing(3), "folder/ls.cgi")
            .await
            .unwrap();
        governor
            .acquire(Budget::Listing(3), "folder/ls.cgi")
            .await
            .unwrap();
        let told = heard.0.lock().unwrap().clone();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(matches!(
            told[0].reason,
            WaitReason::FolderListing { folder_id: 3, .. }
        ));
        assert!(
            told[0]
                .to_string()
                .starts_with("waiting 2 s: the service allows one listing of folder 3"),
            "{}",
            told[0]
        );

        let impatient =
            Governor::in_memory(budgets).with_waits(None, Some(Duration::from_millis(500)));
        impatient
            .acquire(Budget::Listing(3), "folder/ls.cgi")
            .await
            .unwrap();
        let refused = impatient
            .acquire(Budget::Listing(3), "folder/ls.cgi")
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::RateLimited);
        assert!(refused.to_string().contains("--max-wait"), "{refused}");
        assert!(refused.retry_after().is_some());
        // A lock is named as one.
        impatient.lock_for(Duration::from_secs(60)).await;
        let locked = impatient
            .acquire(Budget::Call, "file/ls.cgi")
            .await
            .unwrap_err();
        assert_eq!(locked.kind(), ErrorKind::Locked);
    }

    #[tokio::test]
    async fn a_background_call_goes_after_the_foreground_calls_waiting() {
        let governor = Arc::new(Governor::in_memory(quick()));
        // A foreground call waiting for its turn (as `acquire` counts one while it waits).
        let waiting = Waiting::new(&governor.foreground_waiting);
        let background = {
            let governor = Arc::clone(&governor);
            tokio::spawn(async move {
                governor
                    .acquire_as(Budget::Listing(1), "refresh", Priority::Background)
                    .await
            })
        };
        // Its budgets allow it at once, yet it waits while the foreground call does.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!background.is_finished());
        drop(waiting);
        tokio::time::timeout(Duration::from_secs(5), background)
            .await
            .expect("it goes once nobody waits")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn calls_are_spaced() {
        let governor = Governor::in_memory(quick());
        let start = Instant::now();
        for _ in 0..5 {
            governor.acquire(Budget::Call, "test").await.unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn the_same_folder_waits_its_own_budget() {
        let dir = tempfile::tempdir().unwrap();
        let governor = Governor::in_file(quick(), dir.path().join("state/governor.json"));
        let start = Instant::now();
        governor.acquire(Budget::Listing(7), "test").await.unwrap();
        governor.acquire(Budget::Listing(8), "test").await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(95));
        governor.acquire(Budget::Listing(7), "test").await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(195),
            "{:?}",
            start.elapsed()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("state/governor.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[tokio::test]
    async fn a_listing_window_starts_again_when_the_answer_arrives() {
        let governor = Governor::in_memory(quick());
        governor.acquire(Budget::Listing(5), "test").await.unwrap();
        // The answer took 150 ms: the service counted the listing at some point in between.
        tokio::time::sleep(Duration::from_millis(150)).await;
        governor.settle(Budget::Listing(5)).await;
        let (wait, reason) = governor.try_acquire(Budget::Listing(5)).await.unwrap();
        assert!(
            matches!(reason, WaitReason::FolderListing { folder_id: 5, .. }),
            "{reason}"
        );
        assert!(wait > Duration::from_millis(150), "{wait:?}");
    }

    #[tokio::test]
    async fn a_lock_is_seen_by_another_governor_on_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("governor.json");
        let first = Governor::in_file(Budgets::unlimited(), path.clone());
        let second = Governor::in_file(Budgets::unlimited(), path);
        first.lock_for(Duration::from_millis(300)).await;
        let start = Instant::now();
        second.acquire(Budget::Call, "test").await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        first
            .store_user_info(serde_json::json!({"email": "a@b.c"}))
            .await;
        assert!(
            second.cached_user_info().await.is_none(),
            "unlimited budgets cache nothing"
        );
    }
}
