//! The block cache: the bytes read so far, in blocks of [`BLOCK_SIZE`] at fixed offsets, on disk
//! (`--cache-dir`, one file per block under a folder per file) or, with `--cache-mode off`, in a
//! small memory buffer. Blocks go least recently used first, except that the first
//! [`HEAD_BLOCKS`] and the last block of each file go last: they are what scanners and probes
//! read (headers, indexes at the end of a video), so a second scan costs no call.

use bytes::Bytes;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
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
}

struct Index {
    blocks: HashMap<BlockKey, Meta>,
    total: u64,
    clock: u64,
}

/// Where blocks live.
enum Store {
    Disk(PathBuf),
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
        let cache = Self::new(Store::Disk(dir.to_owned()), max_size, max_age);
        let mut found = Vec::new();
        for file_dir in std::fs::read_dir(dir)? {
            let file_dir = file_dir?;
            let Ok(file) = file_dir.file_name().into_string() else {
                continue;
            };
            if !file_dir.file_type()?.is_dir() {
                continue;
            }
            for block in std::fs::read_dir(file_dir.path())? {
                let block = block?;
                if block.path().extension().is_some_and(|e| e == "tmp") {
                    // A block whose writing was cut short (the process stopped meanwhile).
                    let _ = std::fs::remove_file(block.path());
                    continue;
                }
                let Some(index) = block
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                let meta = block.metadata()?;
                let written = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                if max_age.is_some_and(|age| written.elapsed().unwrap_or_default() > age) {
                    let _ = std::fs::remove_file(block.path());
                    continue;
                }
                found.push((
                    written,
                    BlockKey {
                        file: file.clone(),
                        index,
                    },
                    meta.len(),
                ));
            }
        }
        // Oldest first, so that the oldest are the least recently used.
        found.sort_by_key(|(written, ..)| *written);
        {
            let mut index = cache.index.lock().expect("cache lock");
            for (_, key, size) in found {
                index.clock += 1;
                let used = index.clock;
                index.total += size;
                // Whether a block is a file's last is not known from its name: only heads count.
                let kept_long = key.index < HEAD_BLOCKS;
                index.blocks.insert(
                    key,
                    Meta {
                        size,
                        used,
                        kept_long,
                    },
                );
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
            index: Arc::new(Mutex::new(Index {
                blocks: HashMap::new(),
                total: 0,
                clock: 0,
            })),
            write_behind: Arc::new(WriteBehind {
                blocks: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(WRITE_BEHIND_BLOCKS)),
            }),
            recent: Mutex::new(std::collections::VecDeque::with_capacity(RECENT_BLOCKS)),
        }
    }

    fn recent(&self, key: &BlockKey) -> Option<Bytes> {
        let recent = self.recent.lock().expect("recent blocks");
        recent
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.clone())
    }

    fn remember(&self, key: &BlockKey, bytes: &Bytes) {
        let mut recent = self.recent.lock().expect("recent blocks");
        recent.retain(|(k, _)| k != key);
        if recent.len() == RECENT_BLOCKS {
            recent.pop_front();
        }
        recent.push_back((key.clone(), bytes.clone()));
    }

    /// Whether the block is kept (without counting as a use).
    pub(crate) fn contains(&self, key: &BlockKey) -> bool {
        self.index
            .lock()
            .expect("cache lock")
            .blocks
            .contains_key(key)
    }

    /// The block, if it is kept (and then it counts as just used).
    pub(crate) async fn get(&self, key: &BlockKey) -> Option<Bytes> {
        self.touch(key)?;
        match &self.store {
            Store::Memory(blocks) => blocks.lock().expect("memory blocks").get(key).cloned(),
            Store::Disk(dir) => match self.recent(key).or_else(|| self.write_behind.get(key)) {
                Some(bytes) => Some(bytes),
                None => match tokio::fs::read(block_path(dir, key)).await {
                    Ok(bytes) => {
                        let bytes = Bytes::from(bytes);
                        self.remember(key, &bytes);
                        Some(bytes)
                    }
                    Err(_) => {
                        self.forget(key);
                        None
                    }
                },
            },
        }
    }

    /// The block if it is kept in memory (and then it counts as just used); never waits for
    /// the disk.
    pub(crate) fn get_in_memory(&self, key: &BlockKey) -> Option<Bytes> {
        self.touch(key)?;
        match &self.store {
            Store::Memory(blocks) => blocks.lock().expect("memory blocks").get(key).cloned(),
            Store::Disk(_) => self.recent(key).or_else(|| self.write_behind.get(key)),
        }
    }

    /// Marks a kept block as just used; `None` if it is not kept.
    fn touch(&self, key: &BlockKey) -> Option<()> {
        let mut index = self.index.lock().expect("cache lock");
        index.clock += 1;
        let clock = index.clock;
        index.blocks.get_mut(key)?.used = clock;
        Some(())
    }

    /// Keeps a block; `last` says it is the file's last one. On disk, the block is readable at
    /// once and written behind.
    pub(crate) async fn put(&self, key: BlockKey, bytes: Bytes, last: bool) {
        let slot = match &self.store {
            Store::Memory(blocks) => {
                blocks
                    .lock()
                    .expect("memory blocks")
                    .insert(key.clone(), bytes.clone());
                None
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
                    .expect("write-behind blocks")
                    .insert(key.clone(), bytes.clone());
                Some(slot)
            }
        };
        {
            let mut index = self.index.lock().expect("cache lock");
            index.clock += 1;
            let used = index.clock;
            let kept_long = last || key.index < HEAD_BLOCKS;
            let size = bytes.len() as u64;
            if let Some(old) = index.blocks.insert(
                key.clone(),
                Meta {
                    size,
                    used,
                    kept_long,
                },
            ) {
                index.total -= old.size;
            }
            index.total += size;
        }
        if let (Store::Disk(dir), Some(slot)) = (&self.store, slot) {
            let (path, index, write_behind) = (
                block_path(dir, &key),
                Arc::clone(&self.index),
                Arc::clone(&self.write_behind),
            );
            tokio::spawn(async move {
                if let Err(error) = write_block(&path, &bytes).await {
                    tracing::warn!(%error, "the block cache could not keep a block");
                    forget_in(&index, &key);
                } else if !index.lock().expect("cache lock").blocks.contains_key(&key) {
                    // Evicted while it was being written.
                    let _ = tokio::fs::remove_file(&path).await;
                }
                write_behind
                    .blocks
                    .lock()
                    .expect("write-behind blocks")
                    .remove(&key);
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
            let index = self.index.lock().expect("cache lock");
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
        if let Store::Disk(dir) = &self.store {
            let _ = std::fs::remove_dir_all(dir.join(file));
        }
    }

    fn forget(&self, key: &BlockKey) {
        self.recent
            .lock()
            .expect("recent blocks")
            .retain(|(k, _)| k != key);
        forget_in(&self.index, key);
        match &self.store {
            Store::Memory(blocks) => {
                blocks.lock().expect("memory blocks").remove(key);
            }
            Store::Disk(dir) => {
                let _ = std::fs::remove_file(block_path(dir, key));
            }
        }
    }

    /// Removes blocks until the cache is within its size: plain blocks least recently used
    /// first, then heads and tails likewise. Goes down to 90 % so that it does not run on every
    /// new block.
    fn evict(&self) {
        let victims: Vec<BlockKey> = {
            let index = self.index.lock().expect("cache lock");
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
        self.index.lock().expect("cache lock").total
    }

    /// Removes blocks older than the maximum age (run now and then).
    pub(crate) fn expire(&self) {
        let (Some(age), Store::Disk(dir)) = (self.max_age, &self.store) else {
            return;
        };
        let keys: Vec<BlockKey> = self
            .index
            .lock()
            .expect("cache lock")
            .blocks
            .keys()
            .cloned()
            .collect();
        for key in keys {
            let old = std::fs::metadata(block_path(dir, &key))
                .and_then(|m| m.modified())
                .map_or(true, |written| written.elapsed().unwrap_or_default() > age);
            if old {
                self.forget(&key);
            }
        }
    }
}

impl WriteBehind {
    fn get(&self, key: &BlockKey) -> Option<Bytes> {
        self.blocks
            .lock()
            .expect("write-behind blocks")
            .get(key)
            .cloned()
    }
}

/// Writes a block whole or not at all (a crash leaves a staging file, never a short block).
async fn write_block(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let staging = path.with_extension("tmp");
    let written = async {
        tokio::fs::create_dir_all(path.parent().expect("a block has a folder")).await?;
        tokio::fs::write(&staging, bytes).await?;
        tokio::fs::rename(&staging, path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&staging).await;
    }
    written
}

fn forget_in(index: &Mutex<Index>, key: &BlockKey) {
    let mut index = index.lock().expect("cache lock");
    if let Some(meta) = index.blocks.remove(key) {
        index.total -= meta.size;
    }
}

fn block_path(dir: &Path, key: &BlockKey) -> PathBuf {
    dir.join(&key.file).join(key.index.to_string())
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
