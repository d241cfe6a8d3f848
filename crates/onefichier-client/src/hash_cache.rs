//! The Whirlpool of local files, remembered between runs so that skipping what is already
//! uploaded (or downloaded) and planning a sync do not read every byte again. An entry holds
//! only while the file is provably unchanged: same size, modification and status-change times
//! (nanoseconds), inode and device. Any write changes the status-change time, which no user
//! command can set back, so a stale entry would need the clock itself to go back.
//!
//! The cache is a SQLite database in the state folder (`hashes.sqlite`): each answer is one
//! indexed lookup and each new hash one row, so a run over 10,000 files never rewrites the
//! whole cache, and several processes share it safely. `ONEFICHIER_HASH_CACHE=off` makes every
//! file be hashed again (the modification times of remote files are still remembered); a cache
//! that cannot be opened only costs hashing again.

use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};

/// The environment variable that turns the cache off.
pub const ENV: &str = "ONEFICHIER_HASH_CACHE";
const FILE_NAME: &str = "hashes.sqlite";

/// The tables: local hashes by path; and, by link, what listings do not show of remote files
/// (reading it costs a call per file): the modification time in a description, and the whole
/// Whirlpool in the manifest of a file stored in parts; and small manifests of this client's
/// by their Whirlpool (a folder's times file), read once.
const SCHEMA: [&str; 4] = [
    "create table if not exists hashes (
        path text primary key not null,
        stamp text not null,
        whirlpool text not null
    )",
    "create table if not exists remote_times (
        url text primary key not null,
        modified text not null
    )",
    "create table if not exists split_files (
        url text primary key not null,
        whirlpool text not null
    )",
    "create table if not exists manifests (
        key text primary key not null,
        contents text not null
    )",
];

/// What identifies one state of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    device: u64,
}

impl Stamp {
    /// The stamp of `path` now; `None` where the platform cannot tell (then nothing is cached).
    pub fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            let nanos =
                |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
            Some(Self {
                size: meta.len(),
                modified_ns: nanos(meta.mtime(), meta.mtime_nsec()),
                changed_ns: nanos(meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
                device: meta.dev(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The stamp as the text stored beside the path (SQLite integers are 64 bits).
    fn key(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            self.size, self.modified_ns, self.changed_ns, self.inode, self.device
        )
    }
}

/// What is remembered about a remote file that a listing does not show: by link, or for a
/// manifest's contents, by its kind and Whirlpool.
#[derive(Clone, Copy)]
enum RemoteFact {
    /// The modification time its description holds.
    Modified,
    /// The whole Whirlpool its manifest holds (a file stored in parts).
    SplitWhirlpool,
    /// The contents of a small manifest of this client's (a folder's times file).
    Manifest,
}

impl RemoteFact {
    /// Its query and its upsert.
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::Modified => (
                "select modified from remote_times where url = ?",
                "insert into remote_times (url, modified) values (?, ?)
                 on conflict (url) do update set modified = excluded.modified",
            ),
            Self::SplitWhirlpool => (
                "select whirlpool from split_files where url = ?",
                "insert into split_files (url, whirlpool) values (?, ?)
                 on conflict (url) do update set whirlpool = excluded.whirlpool",
            ),
            Self::Manifest => (
                "select contents from manifests where key = ?",
                "insert into manifests (key, contents) values (?, ?)
                 on conflict (key) do update set contents = excluded.contents",
            ),
        }
    }
}

/// The cache: cheap to clone, shared by the tasks of a run.
#[derive(Clone)]
pub struct HashCache {
    /// `None` when there is no state folder or the database cannot be opened.
    pool: Option<SqlitePool>,
    /// Whether hashes are remembered and trusted (`ONEFICHIER_HASH_CACHE` is not `off`).
    hashes: bool,
}

impl HashCache {
    /// The cache in the default state folder, or an inactive one if it is off, there is no
    /// folder, or the database cannot be opened.
    pub async fn open() -> Self {
        let off = std::env::var(ENV).is_ok_and(|v| v.eq_ignore_ascii_case("off"));
        match crate::default_state_dir() {
            Some(dir) => Self {
                hashes: !off,
                ..Self::open_in(&dir).await
            },
            None => Self::inactive(),
        }
    }

    /// The cache in `dir`.
    pub async fn open_in(dir: &Path) -> Self {
        match Self::connect(dir).await {
            Ok(pool) => Self {
                pool: Some(pool),
                hashes: true,
            },
            Err(error) => {
                tracing::warn!(%error, "the hash cache is not available: files are hashed again");
                Self::inactive()
            }
        }
    }

    /// A cache that remembers nothing.
    pub fn inactive() -> Self {
        Self {
            pool: None,
            hashes: false,
        }
    }

    async fn connect(dir: &Path) -> Result<SqlitePool, sqlx::Error> {
        crate::private_files::open_sqlite(&dir.join(FILE_NAME), &SCHEMA).await
    }

    /// A manifest's contents, by the key it was remembered under (its kind and Whirlpool).
    pub(crate) async fn manifest(&self, key: &str) -> Option<String> {
        self.remote_fact(RemoteFact::Manifest, key).await
    }

    /// Remembers a manifest's contents.
    pub(crate) async fn remember_manifest(&self, key: &str, contents: &str) {
        self.remember_remote_fact(RemoteFact::Manifest, key, contents)
            .await;
    }

    /// The whole Whirlpool of the file stored in parts whose manifest is `url`, if known.
    pub async fn split_whirlpool(&self, url: &str) -> Option<String> {
        self.remote_fact(RemoteFact::SplitWhirlpool, url).await
    }

    /// Remembers the whole Whirlpool of a file stored in parts (by its manifest's link).
    pub async fn remember_split(&self, url: &str, whirlpool: &str) {
        self.remember_remote_fact(
            RemoteFact::SplitWhirlpool,
            url,
            &whirlpool.to_ascii_lowercase(),
        )
        .await;
    }

    /// The modification time of a remote file, if this machine wrote or read it.
    pub async fn remote_time(&self, url: &str) -> Option<jiff::Timestamp> {
        self.remote_fact(RemoteFact::Modified, url)
            .await?
            .parse()
            .ok()
    }

    /// Remembers the modification time a remote file's description holds.
    pub async fn remember_remote_time(&self, url: &str, modified: jiff::Timestamp) {
        self.remember_remote_fact(RemoteFact::Modified, url, &modified.to_string())
            .await;
    }

    /// A fact, by its key (a link; a manifest's kind and Whirlpool).
    async fn remote_fact(&self, fact: RemoteFact, key: &str) -> Option<String> {
        let pool = self.pool.as_ref()?;
        sqlx::query_scalar(fact.sql().0)
            .bind(key)
            .fetch_optional(pool)
            .await
            .ok()?
    }

    async fn remember_remote_fact(&self, fact: RemoteFact, key: &str, value: &str) {
        let Some(pool) = &self.pool else {
            return;
        };
        let stored = sqlx::query(fact.sql().1)
            .bind(key)
            .bind(value)
            .execute(pool)
            .await;
        if let Err(error) = stored {
            tracing::debug!(%error, "a fact about a remote file was not remembered");
        }
    }

    /// The Whirlpool of `path`: remembered if the file is unchanged, else computed (and
    /// remembered if the file did not change while it was read).
    pub async fn whirlpool(&self, path: &Path) -> std::io::Result<String> {
        let before = Stamp::of(path);
        if let Some(stamp) = before
            && let Some(known) = self.lookup(path, stamp).await
        {
            return Ok(known);
        }
        let whirlpool = crate::hash_file(path).await?;
        if let Some(stamp) = before {
            self.remember(path, stamp, &whirlpool).await;
        }
        Ok(whirlpool)
    }

    async fn lookup(&self, path: &Path, stamp: Stamp) -> Option<String> {
        let pool = self.pool.as_ref().filter(|_| self.hashes)?;
        let key = key(path)?;
        let row = sqlx::query("select stamp, whirlpool from hashes where path = ?")
            .bind(key)
            .fetch_optional(pool)
            .await
            .ok()??;
        (row.get::<String, _>(0) == stamp.key()).then(|| row.get(1))
    }

    /// Records that `path`, as it was at `stamp`, hashes to `whirlpool`, unless it has changed
    /// since (e.g. while it was uploaded).
    pub async fn remember(&self, path: &Path, stamp: Stamp, whirlpool: &str) {
        let Some(pool) = self.pool.as_ref().filter(|_| self.hashes) else {
            return;
        };
        if Stamp::of(path) != Some(stamp) {
            return;
        }
        let Some(key) = key(path) else {
            return;
        };
        let stored = sqlx::query(
            "insert into hashes (path, stamp, whirlpool) values (?, ?, ?)
             on conflict (path) do update set stamp = excluded.stamp, whirlpool = excluded.whirlpool",
        )
        .bind(key)
        .bind(stamp.key())
        .bind(whirlpool.to_ascii_lowercase())
        .execute(pool)
        .await;
        if let Err(error) = stored {
            tracing::debug!(%error, "a hash was not remembered");
        }
    }
}

/// The absolute path as text; a path that is not UTF-8 is simply not remembered.
fn key(path: &Path) -> Option<String> {
    std::path::absolute(path)
        .ok()
        .and_then(|p: PathBuf| p.to_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_is_remembered_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"one").unwrap();
        let cache = HashCache::open_in(&dir.path().join("state")).await;
        let first = cache.whirlpool(&file).await.unwrap();
        assert_eq!(first, crate::hash_file(&file).await.unwrap());
        // A second cache over the same database knows it without reading the file.
        let again = HashCache::open_in(&dir.path().join("state")).await;
        let stamp = Stamp::of(&file).unwrap();
        assert_eq!(again.lookup(&file, stamp).await, Some(first.clone()));
        std::fs::write(&file, b"two").unwrap();
        assert_eq!(again.lookup(&file, Stamp::of(&file).unwrap()).await, None);
        assert_ne!(again.whirlpool(&file).await.unwrap(), first);
    }
}
