//! Limits shared by several server processes (`serve --shared-state redis://…`): the request
//! budgets, the flood locks, the wrong-password counts and the counted places (the one stream
//! of a `single` download token, the few uploads without a key of an address) live in Redis,
//! so that one key's three requests per second hold across every process behind a load
//! balancer.
//!
//! Redis rather than PostgreSQL: every API call checks two or three budgets, and a budget check
//! is one round trip to a Lua script that reads and writes a key atomically in memory; on
//! PostgreSQL it would be a row write (WAL, vacuum) per check on the same database that serves
//! the metadata. Times are Redis's own clock (`TIME`), so processes on machines whose clocks
//! differ still agree. Keys expire by themselves: nothing to sweep.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use std::sync::LazyLock;
use std::time::Duration;

/// GCRA (as governor does it locally): `KEYS[1]` holds the theoretical arrival time in ms.
/// `ARGV`: emission interval ms, burst. Returns 0 when admitted, else the ms to wait.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        if tat < now then tat = now end
        local allowed_at = tat + interval - burst * interval
        if now < allowed_at then return allowed_at - now end
        redis.call('SET', KEYS[1], tat + interval, 'PX', tat + interval - now)
        return 0
        ",
    )
});

/// A refusal counted against an address: `KEYS[1]` its lock, `KEYS[2]` its count in the window.
/// `ARGV`: refusals that lock, window ms, lock ms. Returns 1 when this refusal locked it.
static REFUSAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local refusals = redis.call('INCR', KEYS[2])
        if refusals == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
        if refusals >= tonumber(ARGV[1]) then
            redis.call('SET', KEYS[1], 1, 'PX', ARGV[3])
            redis.call('DEL', KEYS[2])
            return 1
        end
        return 0
        ",
    )
});

/// A password attempt: `KEYS` its counts of wrong guesses (the address's, the item's…), `ARGV`
/// for each in the same order its maximum, window (ms) and gate (the 1-based index of the count
/// that must be above 0 for this maximum to apply; 0 for none). Refused with `{ms to wait}`
/// when a count that applies is at its maximum; else every count counts it, until told it was
/// right, and the answer is `{0, count1, count2, …}` after counting.
static GUESS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local counts = {}
        for i, key in ipairs(KEYS) do
            counts[i] = tonumber(redis.call('GET', key) or '0')
        end
        local wait = 0
        for i, key in ipairs(KEYS) do
            local gate = tonumber(ARGV[3 * i])
            if (gate == 0 or counts[gate] > 0) and counts[i] >= tonumber(ARGV[3 * i - 2]) then
                wait = math.max(wait, redis.call('PTTL', key))
            end
        end
        if wait > 0 then return {wait} end
        local after = {0}
        for i, key in ipairs(KEYS) do
            local n = redis.call('INCR', key)
            if n == 1 then redis.call('PEXPIRE', key, ARGV[3 * i - 1]) end
            after[i + 1] = n
        end
        return after
        ",
    )
});

/// A right password: the attempt no longer counts.
static RIGHT_GUESS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        for _, key in ipairs(KEYS) do
            if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
        end
        return 0
        ",
    )
});

/// A counted place (`KEYS[1]`, a sorted set of holders scored by the end of their lease):
/// `ARGV` the most places, the lease ms, the holder. Returns 1 when taken.
static TAKE_PLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        ",
    )
});

/// Extends a holder's lease on its place (`ARGV`: lease ms, holder); 0 when it was lost.
static RENEW_PLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return 1
        ",
    )
});

/// How long a place is held without renewal: how soon the places of a process that died are
/// free again.
const PLACE_LEASE: Duration = Duration::from_secs(30);

/// A connection to the shared state (reconnecting by itself).
#[derive(Clone)]
pub struct SharedState {
    connection: ConnectionManager,
}

impl std::fmt::Debug for SharedState {
    // The URL may hold a password: nothing of it is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedState(redis)")
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The wait a script answered, if any.
fn wait(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

impl SharedState {
    /// Connects to `url` (`redis://HOST[:PORT][/DB]`, `rediss://` for TLS).
    pub async fn connect(url: &str) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        // A Redis that stalls must not stall requests: each call gives up after a second (the
        // limiter then falls back on this process's own budgets).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2);
        let connection = client.get_connection_manager_with_config(config).await?;
        let shared = Self { connection };
        shared.ping().await?;
        Ok(shared)
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.connection.clone())
            .await
            .map(drop)
    }

    /// One request against a GCRA budget of `burst` every `burst × interval`: `None` when
    /// admitted, else how long to wait.
    pub async fn take(
        &self,
        budget: &str,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> RedisResult<Option<Duration>> {
        let ms: u64 = GCRA
            .key(format!("onefichier:budget:{budget}:{key}"))
            .arg(millis(interval))
            .arg(burst)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(wait(ms))
    }

    /// How long `ip` stays locked, if it is.
    pub async fn lock_left(&self, ip: &str) -> RedisResult<Option<Duration>> {
        let ms: i64 = redis::cmd("PTTL")
            .arg(format!("onefichier:lock:{ip}"))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(wait(u64::try_from(ms).unwrap_or(0)))
    }

    /// Counts a refusal; true when it locked the address for `lock`.
    pub async fn refuse(
        &self,
        ip: &str,
        lock_after: u32,
        window: Duration,
        lock: Duration,
    ) -> RedisResult<bool> {
        let locked: i64 = REFUSAL
            .key(format!("onefichier:lock:{ip}"))
            .key(format!("onefichier:refusals:{ip}"))
            .arg(lock_after)
            .arg(millis(window))
            .arg(millis(lock))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(locked == 1)
    }

    /// Admits a password attempt against each limit, counting it as wrong (the counts after
    /// it, in order), or says how long to wait.
    pub(crate) async fn begin_guess(
        &self,
        limits: &[GuessLimit],
    ) -> RedisResult<Result<Vec<u32>, Duration>> {
        let mut call = GUESS.prepare_invoke();
        for limit in limits {
            call.key(format!("onefichier:guesses:{}", limit.key))
                .arg(limit.max)
                .arg(millis(limit.window))
                .arg(limit.gate.map_or(0, |gate| gate + 1));
        }
        let answer: Vec<u64> = call.invoke_async(&mut self.connection.clone()).await?;
        Ok(match answer.split_first() {
            Some((&0, counts)) => Ok(counts
                .iter()
                .map(|&n| u32::try_from(n).unwrap_or(u32::MAX))
                .collect()),
            Some((&ms, _)) => Err(wait(ms).unwrap_or_default()),
            None => Ok(Vec::new()),
        })
    }

    /// A place of `kind` for `key` unless `max` are held (by any process); held until the
    /// returned value is dropped, renewed meanwhile.
    pub async fn take_place(
        &self,
        kind: &str,
        key: &str,
        max: usize,
    ) -> RedisResult<Option<SharedPlace>> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let holder = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let set = format!("onefichier:places:{kind}:{key}");
        let taken: i64 = TAKE_PLACE
            .key(&set)
            .arg(max)
            .arg(millis(PLACE_LEASE))
            .arg(&holder)
            .invoke_async(&mut self.connection.clone())
            .await?;
        if taken != 1 {
            return Ok(None);
        }
        let connection = self.connection.clone();
        let (renew_set, renew_holder) = (set.clone(), holder.clone());
        let renewal = tokio::spawn(async move {
            let mut connection = connection;
            loop {
                tokio::time::sleep(PLACE_LEASE / 3).await;
                let kept: RedisResult<i64> = RENEW_PLACE
                    .key(&renew_set)
                    .arg(millis(PLACE_LEASE))
                    .arg(&renew_holder)
                    .invoke_async(&mut connection)
                    .await;
                if matches!(kept, Ok(0)) {
                    return;
                }
            }
        });
        Ok(Some(SharedPlace {
            connection: self.connection.clone(),
            set,
            holder,
            renewal,
        }))
    }

    /// The attempt was right: it no longer counts against `keys`.
    pub async fn right_guess(&self, keys: &[String]) -> RedisResult<()> {
        let mut call = RIGHT_GUESS.prepare_invoke();
        for key in keys {
            call.key(format!("onefichier:guesses:{key}"));
        }
        call.invoke_async::<i64>(&mut self.connection.clone())
            .await
            .map(drop)
    }
}

/// A place held in the shared state; given back when dropped (or, should this process die,
/// when its lease runs out).
#[derive(Debug)]
pub struct SharedPlace {
    connection: ConnectionManager,
    set: String,
    holder: String,
    renewal: tokio::task::JoinHandle<()>,
}

impl Drop for SharedPlace {
    fn drop(&mut self) {
        self.renewal.abort();
        let (mut connection, set, holder) = (
            self.connection.clone(),
            std::mem::take(&mut self.set),
            std::mem::take(&mut self.holder),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _: RedisResult<i64> = redis::cmd("ZREM")
                    .arg(set)
                    .arg(holder)
                    .query_async(&mut connection)
                    .await;
            });
        }
    }
}

/// One count a password attempt is checked against and added to.
#[derive(Debug, Clone)]
pub(crate) struct GuessLimit {
    /// What is counted: `ip:…`, `item:…` or `pair:…`.
    pub key: String,
    /// Wrong attempts allowed in the window.
    pub max: u32,
    /// The window.
    pub window: Duration,
    /// The limit applies only when the count at this index (of the same attempt) is above 0:
    /// an account's count from everyone stops only addresses that failed on it themselves.
    pub gate: Option<usize>,
}

impl GuessLimit {
    pub(crate) fn new(key: String, max: u32, window: Duration) -> Self {
        Self {
            key,
            max,
            window,
            gate: None,
        }
    }
}
