//! The block cache: the bytes read so far, in blocks of [`BLOCK_SIZE`] at fixed offsets, on disk
//! (`--cache-dir`) or, with `--cache-mode off`, in a small memory buffer. Blocks go least
//! recently used first, except that the first [`HEAD_BLOCKS`] and the last block of each file go
//! last: they are what scanners and probes read (headers, indexes at the end of a video), so a
//! second scan costs no call.
//!
//! On disk, each file read has two files named by its key: `KEY.data`, sparse, holding each
//! cached block at its own offset (an evicted block becomes a hole again), and `KEY.blocks`, a
//! log of the blocks `KEY.data` holds, with each block's size, xxh3 digest and time. A block
//! enters the log only once its bytes are written, and a block read back from disk must match
//! its digest: a block cut short by a crash is never served. One data file per file (not one per
//! block) keeps a sequential read from creating and deleting an inode every MiB.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// The size of a block (the last block of a file is shorter).
pub const BLOCK_SIZE: u64 = 1024 * 1024;
/// Blocks at the start of each file that are evicted last.
pub const HEAD_BLOCKS: u64 = 4;
/// The memory buffer's size when nothing is kept on disk.
pub const MEMORY_ONLY_SIZE: u64 = 64 * 1024 * 1024;

/// One block: the file (a digest of its identity, hex) and the block's index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    pub file: String,
    pub index: u64,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    size: u64,
    /// A counter, larger for later use.
    used: u64,
    /// Evicted after every other block.
    kept_long: bool,
    /// The xxh3 of the bytes (checked when they are read back from disk; 0 in memory).
    digest: u64,
    /// When it was written (Unix seconds), for `--cache-max-age`.
    written: u64,
}

#[derive(Default)]
struct Index {
    blocks: HashMap<BlockKey, Meta>,
    /// Blocks kept, by file: a file's disk files go with its last block.
    per_file: HashMap<String, usize>,
    total: u64,
    clock: u64,
}

impl Index {
    fn insert(&mut self, key: BlockKey, meta: Meta) {
        self.total += meta.size;
        match self.blocks.insert(key.clone(), meta) {
            Some(old) => self.total -= old.size,
            None => *self.per_file.entry(key.file).or_default() += 1,
        }
    }

    /// Removes the block; `Some(true)` when it was its file's last.
    fn remove(&mut self, key: &BlockKey) -> Option<bool> {
        let meta = self.blocks.remove(key)?;
        self.total -= meta.size;
        let left = self.per_file.get_mut(&key.file).map_or(0, |count| {
            *count -= 1;
            *count
        });
        if left == 0 {
            self.per_file.remove(&key.file);
        }
        Some(left == 0)
    }

    fn touch(&mut self, key: &BlockKey) -> Option<Meta> {
        self.clock += 1;
        let clock = self.clock;
        let meta = self.blocks.get_mut(key)?;
        meta.used = clock;
        Some(*meta)
    }
}

/// Where blocks live.
enum Store {
    Disk(Arc<Disk>),
    Memory(Mutex<HashMap<BlockKey, Bytes>>),
}

/// Blocks handed to the disk and not written yet: a reader finds them here meanwhile, so that
/// reading from the network never waits for the disk (unless the disk falls
/// [`WRITE_BEHIND_BLOCKS`] behind).
struct WriteBehind {
    blocks: Mutex<HashMap<BlockKey, Bytes>>,
    slots: Arc<Semaphore>,
}

/// Blocks that may wait for the disk at once.
const WRITE_BEHIND_BLOCKS: usize = 32;

impl WriteBehind {
    fn get(&self, key: &BlockKey) -> Option<Bytes> {
        self.blocks.lock().get(key).cloned()
    }
}

pub(crate) struct BlockCache {
    store: Store,
    max_size: u64,
    max_age: Option<Duration>,
    index: Arc<Mutex<Index>>,
    write_behind: Arc<WriteBehind>,
    /// The blocks on disk used last, kept in memory too: a reader asks for a block in several
    /// pieces (FUSE reads 128 KiB at a time), which must not read the block from disk each time.
    recent: Mutex<std::collections::VecDeque<(BlockKey, Bytes)>>,
}

/// Blocks of the disk store kept in memory as well.
const RECENT_BLOCKS: usize = 8;

impl BlockCache {
    /// Blocks in memory only, at most [`MEMORY_ONLY_SIZE`].
    pub(crate) fn in_memory() -> Self {
        Self::new(
            Store::Memory(Mutex::new(HashMap::new())),
            MEMORY_ONLY_SIZE,
            None,
        )
    }

    /// Blocks under `dir`, at most `max_size` bytes of them; what is there already (from an
    /// earlier run) is indexed, and blocks older than `max_age` are removed.
    pub(crate) fn on_disk(
        dir: &Path,
        max_size: u64,
        max_age: Option<Duration>,
    ) -> std::io::Result<Self> {
        // The blocks are private files' bytes: a folder of the owner's only.
        onefichier_client::private_files::create_private_dir(dir)?;
        let disk = Arc::new(Disk {
            dir: dir.to_owned(),
            open: Mutex::new(HashMap::new()),
        });
        let mut found = disk.load(max_age)?;
        let cache = Self::new(Store::Disk(disk), max_size, max_age);
        // Oldest first, so that the oldest are the least recently used.
        found.sort_by_key(|(_, meta)| meta.used);
        {
            let mut index = cache.index.lock();
            for (key, mut meta) in found {
                index.clock += 1;
                meta.used = index.clock;
                index.insert(key, meta);
            }
        }
        cache.evict();
        Ok(cache)
    }

    fn new(store: Store, max_size: u64, max_age: Option<Duration>) -> Self {
        Self {
            store,
            max_size,
            max_age,
            index: Arc::new(Mutex::new(Index::default())),
            write_behind: Arc::new(WriteBehind {
                blocks: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(WRITE_BEHIND_BLOCKS)),
            }),
            recent: Mutex::new(std::collections::VecDeque::with_capacity(RECENT_BLOCKS)),
        }
    }

    fn recent(&self, key: &BlockKey) -> Option<Bytes> {
        let recent = self.recent.lock();
        recent
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.clone())
    }

    fn remember(&self, key: &BlockKey, bytes: &Bytes) {
        let mut recent = self.recent.lock();
        recent.retain(|(k, _)| k != key);
        if recent.len() == RECENT_BLOCKS {
            recent.pop_front();
        }
        recent.push_back((key.clone(), bytes.clone()));
    }

    /// Whether the block is kept (without counting as a use).
    pub(crate) fn contains(&self, key: &BlockKey) -> bool {
        self.index.lock().blocks.contains_key(key)
    }

    /// The block, if it is kept (and then it counts as just used).
    pub(crate) async fn get(&self, key: &BlockKey) -> Option<Bytes> {
        let meta = self.index.lock().touch(key)?;
        if let Some(bytes) = self.held_in_memory(key) {
            return Some(bytes);
        }
        let Store::Disk(disk) = &self.store else {
            return None;
        };
        let (disk, wanted) = (Arc::clone(disk), key.clone());
        let read = tokio::task::spawn_blocking(move || disk.read(&wanted, &meta))
            .await
            .ok()
            .flatten();
        match read {
            Some(bytes) => {
                self.remember(key, &bytes);
                Some(bytes)
            }
            None => {
                // Gone, cut short or changed on disk: read again from the network.
                self.forget(key);
                None
            }
        }
    }

    /// The block if it is kept in memory (and then it counts as just used); never waits for
    /// the disk.
    pub(crate) fn get_in_memory(&self, key: &BlockKey) -> Option<Bytes> {
        self.index.lock().touch(key)?;
        self.held_in_memory(key)
    }

    /// The block's bytes held in memory: the memory store's, or on disk the recent ones and
    /// those waiting for the disk.
    fn held_in_memory(&self, key: &BlockKey) -> Option<Bytes> {
        match &self.store {
            Store::Memory(blocks) => blocks.lock().get(key).cloned(),
            Store::Disk(_) => self.recent(key).or_else(|| self.write_behind.get(key)),
        }
    }

    /// Keeps a block; `last` says it is the file's last one. On disk, the block is readable at
    /// once and written behind.
    pub(crate) async fn put(&self, key: BlockKey, bytes: Bytes, last: bool) {
        let (slot, digest) = match &self.store {
            Store::Memory(blocks) => {
                blocks.lock().insert(key.clone(), bytes.clone());
                (None, 0)
            }
            Store::Disk(_) => {
                let slot = Arc::clone(&self.write_behind.slots)
                    .acquire_owned()
                    .await
                    .expect("the write-behind slots are never closed");
                self.remember(&key, &bytes);
                self.write_behind
                    .blocks
                    .lock()
                    .insert(key.clone(), bytes.clone());
                (Some(slot), xxhash_rust::xxh3::xxh3_64(&bytes))
            }
        };
        let meta = {
            let mut index = self.index.lock();
            index.clock += 1;
            let meta = Meta {
                size: bytes.len() as u64,
                used: index.clock,
                kept_long: last || key.index < HEAD_BLOCKS,
                digest,
                written: unix_now(),
            };
            index.insert(key.clone(), meta);
            meta
        };
        if let (Store::Disk(disk), Some(slot)) = (&self.store, slot) {
            let (disk, index, write_behind) = (
                Arc::clone(disk),
                Arc::clone(&self.index),
                Arc::clone(&self.write_behind),
            );
            tokio::task::spawn_blocking(move || {
                if let Err(error) = disk.write(&key, &bytes, &meta) {
                    tracing::warn!(%error, "the block cache could not keep a block");
                    if let Some(last) = index.lock().remove(&key) {
                        disk.remove(&key, bytes.len() as u64, last);
                    }
                } else if !index.lock().blocks.contains_key(&key) {
                    // Evicted while it was being written.
                    disk.remove(&key, bytes.len() as u64, false);
                }
                write_behind.blocks.lock().remove(&key);
                drop(slot);
            });
        }
        self.evict();
    }

    /// Waits until every block handed to the disk is written.
    pub(crate) async fn settle(&self) {
        let all = u32::try_from(WRITE_BEHIND_BLOCKS).expect("a few slots");
        let _all = self
            .write_behind
            .slots
            .acquire_many(all)
            .await
            .expect("the write-behind slots are never closed");
    }

    /// Forgets every block of `file` (its bytes proved wrong).
    pub(crate) fn drop_file(&self, file: &str) {
        let keys: Vec<BlockKey> = {
            let index = self.index.lock();
            index
                .blocks
                .keys()
                .filter(|k| k.file == file)
                .cloned()
                .collect()
        };
        for key in &keys {
            self.forget(key);
        }
        if let Store::Disk(disk) = &self.store {
            disk.remove_file(file);
        }
    }

    fn forget(&self, key: &BlockKey) {
        self.recent.lock().retain(|(k, _)| k != key);
        let (size, last) = {
            let mut index = self.index.lock();
            let size = index.blocks.get(key).map_or(0, |meta| meta.size);
            match index.remove(key) {
                Some(last) => (size, last),
                None => return,
            }
        };
        match &self.store {
            Store::Memory(blocks) => {
                blocks.lock().remove(key);
            }
            Store::Disk(disk) => disk.remove(key, size, last),
        }
    }

    /// Removes blocks until the cache is within its size: plain blocks least recently used
    /// first, then heads and tails likewise. Goes down to 90 % so that it does not run on every
    /// new block.
    fn evict(&self) {
        let victims: Vec<BlockKey> = {
            let index = self.index.lock();
            if index.total <= self.max_size {
                return;
            }
            let target = self.max_size / 10 * 9;
            let mut order: Vec<(&BlockKey, &Meta)> = index.blocks.iter().collect();
            order.sort_by_key(|(_, meta)| (meta.kept_long, meta.used));
            let mut total = index.total;
            order
                .into_iter()
                .take_while(|(_, meta)| {
                    let over = total > target;
                    total -= meta.size;
                    over
                })
                .map(|(key, _)| key.clone())
                .collect()
        };
        for key in &victims {
            self.forget(key);
        }
    }

    /// Bytes kept.
    pub(crate) fn size(&self) -> u64 {
        self.index.lock().total
    }

    /// Removes blocks older than the maximum age (run now and then).
    pub(crate) fn expire(&self) {
        let (Some(age), Store::Disk(_)) = (self.max_age, &self.store) else {
            return;
        };
        let oldest = unix_now().saturating_sub(age.as_secs());
        let old: Vec<BlockKey> = self
            .index
            .lock()
            .blocks
            .iter()
            .filter(|(_, meta)| meta.written < oldest)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &old {
            self.forget(key);
        }
    }
}

/// The cache folder, and its files open now.
struct Disk {
    dir: PathBuf,
    open: Mutex<HashMap<String, Arc<CachedFile>>>,
}

/// One file's data and log, open.
struct CachedFile {
    data: File,
    log: Mutex<File>,
}

/// Files kept open at once (two descriptors each); past that, they are opened again.
const OPEN_FILES: usize = 32;

impl Disk {
    fn paths(&self, file: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{file}.data")),
            self.dir.join(format!("{file}.blocks")),
        )
    }

    fn file(&self, name: &str) -> std::io::Result<Arc<CachedFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut open = self.open.lock();
        if let Some(file) = open.get(name) {
            return Ok(Arc::clone(file));
        }
        if open.len() >= OPEN_FILES {
            open.clear();
        }
        let (data, log) = self.paths(name);
        let mut options = std::fs::OpenOptions::new();
        options.create(true).mode(0o600);
        let file = Arc::new(CachedFile {
            data: options.clone().read(true).write(true).open(data)?,
            log: Mutex::new(options.append(true).open(log)?),
        });
        open.insert(name.to_owned(), Arc::clone(&file));
        Ok(file)
    }

    /// Writes the block's bytes at their place, then its line in the log.
    fn write(&self, key: &BlockKey, bytes: &[u8], meta: &Meta) -> std::io::Result<()> {
        let file = self.file(&key.file)?;
        file.data.write_all_at(bytes, key.index * BLOCK_SIZE)?;
        file.log
            .lock()
            .write_all(log_line(key.index, meta).as_bytes())
    }

    /// The block's bytes, if they are there whole and unchanged.
    fn read(&self, key: &BlockKey, meta: &Meta) -> Option<Bytes> {
        let file = self.file(&key.file).ok()?;
        let mut bytes = vec![0; usize::try_from(meta.size).ok()?];
        file.data
            .read_exact_at(&mut bytes, key.index * BLOCK_SIZE)
            .ok()?;
        (xxhash_rust::xxh3::xxh3_64(&bytes) == meta.digest).then(|| Bytes::from(bytes))
    }

    /// Gives a block's space back (a hole in the data file) and logs it gone; with `last`, the
    /// file's two files go.
    fn remove(&self, key: &BlockKey, size: u64, last: bool) {
        if last {
            self.remove_file(&key.file);
            return;
        }
        if let Ok(file) = self.file(&key.file) {
            punch_hole(&file.data, key.index, size);
            let line = format!("- {}\n", key.index);
            let _ = file.log.lock().write_all(line.as_bytes());
        }
    }

    fn remove_file(&self, name: &str) {
        self.open.lock().remove(name);
        let (data, log) = self.paths(name);
        let _ = std::fs::remove_file(log);
        let _ = std::fs::remove_file(data);
    }

    /// The blocks an earlier run kept, from the logs; what is older than `max_age` is removed,
    /// logs with dead lines are rewritten without them, and what an older layout left is removed.
    fn load(&self, max_age: Option<Duration>) -> std::io::Result<Vec<(BlockKey, Meta)>> {
        let oldest = max_age.map_or(0, |age| unix_now().saturating_sub(age.as_secs()));
        let mut found = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let item = item?;
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if item.file_type()?.is_dir() {
                // The layout before this one: a folder of block files per file.
                if name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    let _ = std::fs::remove_dir_all(&path);
                }
                continue;
            }
            let Some(file) = name.strip_suffix(".blocks") else {
                continue;
            };
            let text = std::fs::read_to_string(&path)?;
            let blocks = read_log(&text);
            let (kept, old): (Vec<_>, Vec<_>) = blocks
                .into_iter()
                .partition(|(_, meta)| meta.written >= oldest);
            let (data, log) = self.paths(file);
            if kept.is_empty() || !data.exists() {
                self.remove_file(file);
                continue;
            }
            if let Ok(data) = std::fs::OpenOptions::new().write(true).open(&data) {
                for (index, meta) in &old {
                    punch_hole(&data, *index, meta.size);
                }
            }
            // Only a log with lines that no longer count is written again.
            if text.lines().count() > kept.len() {
                rewrite_log(&log, &kept)?;
            }
            found.extend(kept.into_iter().map(|(index, meta)| {
                let key = BlockKey {
                    file: file.to_owned(),
                    index,
                };
                (key, meta)
            }));
        }
        Ok(found)
    }
}

/// The blocks a log says its data file holds, by index (a line that does not parse, as the
/// last one of a log cut short may be, is skipped).
fn read_log(text: &str) -> Vec<(u64, Meta)> {
    let mut blocks: HashMap<u64, Meta> = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[..] {
            ["+", index, size, digest, written] => {
                let parsed = (
                    index.parse(),
                    size.parse(),
                    u64::from_str_radix(digest, 16),
                    written.parse(),
                );
                if let (Ok(index), Ok(size), Ok(digest), Ok(written)) = parsed {
                    let meta = Meta {
                        size,
                        // Later lines are later uses: the order survives a restart.
                        used: written,
                        kept_long: index < HEAD_BLOCKS,
                        digest,
                        written,
                    };
                    blocks.insert(index, meta);
                }
            }
            ["-", index] => {
                if let Ok(index) = index.parse() {
                    blocks.remove(&index);
                }
            }
            _ => {}
        }
    }
    blocks.into_iter().collect()
}

/// The log's line for a block written: `+ INDEX SIZE DIGEST WRITTEN` ([`read_log`] reads it).
fn log_line(index: u64, meta: &Meta) -> String {
    format!(
        "+ {index} {} {:016x} {}\n",
        meta.size, meta.digest, meta.written
    )
}

/// Gives the space of block `index` back: a hole in the data file (a failure only keeps the
/// space in use until the file goes).
fn punch_hole(data: &File, index: u64, size: u64) {
    let flags = rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE;
    let _ = rustix::fs::fallocate(data, flags, index * BLOCK_SIZE, size);
}

/// Writes a log holding `blocks` only, in place of the old one.
fn rewrite_log(path: &Path, blocks: &[(u64, Meta)]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let staging = path.with_extension("blocks-new");
    let mut text = String::new();
    for (index, meta) in blocks {
        text.push_str(&log_line(*index, meta));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)?
        .write_all(text.as_bytes())?;
    std::fs::rename(&staging, path)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(file: &str, index: u64) -> BlockKey {
        BlockKey {
            file: file.into(),
            index,
        }
    }

    #[tokio::test]
    async fn least_recently_used_goes_first_and_heads_and_tails_last() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::on_disk(dir.path(), 10 * 100, None).unwrap();
        let block = Bytes::from(vec![7u8; 100]);
        cache.put(key("f", 0), block.clone(), false).await; // a head
        cache.put(key("f", 99), block.clone(), true).await; // the tail
        for index in 10..18 {
            cache.put(key("f", index), block.clone(), false).await;
        }
        // 10 blocks: full. Reading block 10 makes 11 the least recently used plain block.
        assert!(cache.get(&key("f", 10)).await.is_some());
        cache.put(key("g", 50), block.clone(), false).await;
        assert!(
            cache.get(&key("f", 11)).await.is_none(),
            "the LRU plain block went"
        );
        assert!(cache.get(&key("f", 10)).await.is_some());
        assert!(cache.get(&key("f", 0)).await.is_some(), "heads stay");
        assert!(cache.get(&key("f", 99)).await.is_some(), "tails stay");
        assert!(cache.size() <= 1000);
        // A restart finds the blocks again.
        cache.settle().await;
        drop(cache);
        let again = BlockCache::on_disk(dir.path(), 10 * 100, None).unwrap();
        assert_eq!(again.get(&key("f", 10)).await.as_deref(), Some(&block[..]));
    }

    #[tokio::test]
    async fn blocks_on_disk_are_checked_when_read_back_and_evicted_ones_give_their_space_back() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let size = BLOCK_SIZE as usize;
        let cache = BlockCache::on_disk(dir.path(), 4 * BLOCK_SIZE, None).unwrap();
        for index in 0..3 {
            let bytes = Bytes::from(vec![index as u8 + 1; size]);
            cache.put(key("f", HEAD_BLOCKS + index), bytes, false).await;
        }
        cache.settle().await;
        let data = dir.path().join("f.data");
        let allocated = || std::fs::metadata(&data).unwrap().blocks() * 512;
        assert!(
            allocated() >= 3 * BLOCK_SIZE,
            "one data file holds the blocks"
        );
        // Two more blocks: over the maximum, the least recently used go, as holes.
        for index in 3..5 {
            let bytes = Bytes::from(vec![9; size]);
            cache.put(key("f", HEAD_BLOCKS + index), bytes, false).await;
        }
        cache.settle().await;
        assert!(cache.size() <= 4 * BLOCK_SIZE);
        assert!(!cache.contains(&key("f", HEAD_BLOCKS)));
        assert!(
            allocated() <= 4 * BLOCK_SIZE,
            "the evicted blocks' space came back"
        );
        // A block damaged on disk (a crash, a bad sector) is never served; a restart finds the
        // others in the log.
        drop(cache);
        let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
        file.write_all_at(b"damage", (HEAD_BLOCKS + 3) * BLOCK_SIZE + 10)
            .unwrap();
        let again = BlockCache::on_disk(dir.path(), 4 * BLOCK_SIZE, None).unwrap();
        assert!(again.get(&key("f", HEAD_BLOCKS + 3)).await.is_none());
        assert!(!again.contains(&key("f", HEAD_BLOCKS + 3)));
        let kept = again.get(&key("f", HEAD_BLOCKS + 4)).await.unwrap();
        assert_eq!(kept.len(), size);
        assert!(kept.iter().all(|b| *b == 9));
        // The file's last block gone, its two files go.
        again.drop_file("f");
        assert!(!data.exists() && !dir.path().join("f.blocks").exists());
    }

    #[tokio::test]
    async fn a_wrong_file_is_forgotten_whole() {
        let cache = BlockCache::in_memory();
        cache
            .put(key("f", 0), Bytes::from_static(b"abc"), false)
            .await;
        cache
            .put(key("g", 0), Bytes::from_static(b"def"), false)
            .await;
        cache.drop_file("f");
        assert!(cache.get(&key("f", 0)).await.is_none());
        assert!(cache.get(&key("g", 0)).await.is_some());
        assert_eq!(cache.size(), 3);
    }
}
