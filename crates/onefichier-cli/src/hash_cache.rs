//! The Whirlpool of local files, remembered between runs so that skipping what is already
//! uploaded (or downloaded) does not read every byte again. An entry holds only while the file
//! is provably unchanged: same size, modification and status-change times (nanoseconds), inode
//! and device. Any write changes the status-change time, which no user command can set back,
//! so a stale entry would need the clock itself to go back. The cache is a private JSON file
//! in the state folder (`hashes.json`); `ONEFICHIER_HASH_CACHE=off` turns it off.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that turns the cache off.
pub(crate) const ENV: &str = "ONEFICHIER_HASH_CACHE";
const FILE_NAME: &str = "hashes.json";

/// What identifies one state of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    device: u64,
}

impl Stamp {
    /// The stamp of `path` now; `None` where the platform cannot tell (then nothing is cached).
    pub(crate) fn of(path: &Path) -> Option<Self> {
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    whirlpool: String,
}

/// The cache of one run: read at start, written back by [`HashCache::save`].
pub(crate) struct HashCache {
    /// Where it is saved; `None` when off.
    dir: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, Entry>>,
    changed: AtomicBool,
}

impl HashCache {
    /// The cache in the state folder, or an inactive one if it is off or there is no folder.
    /// A missing or unreadable file starts an empty cache.
    pub(crate) fn open() -> Self {
        let off = std::env::var(ENV).is_ok_and(|v| v.eq_ignore_ascii_case("off"));
        let dir = (!off).then(onefichier_client::default_state_dir).flatten();
        let entries = dir
            .as_ref()
            .and_then(|dir| std::fs::read(dir.join(FILE_NAME)).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            dir,
            entries: Mutex::new(entries),
            changed: AtomicBool::new(false),
        }
    }

    /// The Whirlpool of `path`: remembered if the file is unchanged, else computed (and
    /// remembered if the file did not change while it was read).
    pub(crate) async fn whirlpool(&self, path: &Path) -> Result<String> {
        let key = std::path::absolute(path)?;
        let before = Stamp::of(path);
        if let Some(stamp) = before
            && let Some(entry) = self.entries.lock().expect("cache lock").get(&key)
            && entry.stamp == stamp
        {
            return Ok(entry.whirlpool.clone());
        }
        let whirlpool = onefichier_client::hash_file(path).await?;
        if let Some(stamp) = before {
            self.remember(path, stamp, &whirlpool);
        }
        Ok(whirlpool)
    }

    /// Records that `path`, as it was at `stamp`, hashes to `whirlpool`, unless it has changed
    /// since (e.g. while it was uploaded).
    pub(crate) fn remember(&self, path: &Path, stamp: Stamp, whirlpool: &str) {
        if self.dir.is_none() || Stamp::of(path) != Some(stamp) {
            return;
        }
        // JSON keys are text: a path that is not UTF-8 is simply not remembered.
        let Ok(key) = std::path::absolute(path) else {
            return;
        };
        if key.to_str().is_none() {
            return;
        }
        self.entries.lock().expect("cache lock").insert(
            key,
            Entry {
                stamp,
                whirlpool: whirlpool.to_ascii_lowercase(),
            },
        );
        self.changed.store(true, Ordering::Relaxed);
    }

    /// Writes the cache back if it learnt anything, dropping files that no longer exist.
    pub(crate) fn save(&self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        if !self.changed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut entries = self.entries.lock().expect("cache lock");
        entries.retain(|path, _| path.exists());
        crate::private_file::write(dir, FILE_NAME, &serde_json::to_vec(&*entries)?)?;
        Ok(())
    }
}
