//! Reading a file at any offset: blocks from the cache, else from a range GET of the file's
//! reused token (a GET to the download node, never an API call).
//!
//! A GET asks for a window of blocks: the one wanted, read at once for the reader, and the
//! next ones, read ahead into the cache by a task of their own. The window doubles while a
//! reader goes on where the last block ended (playback, a copy), up to [`MAX_WINDOW`] blocks, and
//! starts small after a seek. Every GET is read to its end (or cancelled): no connection is left
//! holding unread bytes, which over HTTP/2 would hold back every other read sharing the
//! connection's flow-control window.
//!
//! A file whose bytes came from the network in order from its first to its last is checked
//! against the listing's Whirlpool, on a thread of its own, while the reader keeps up.

use crate::blocks::{BLOCK_SIZE, BlockKey};
use crate::tree::{Entry, Kind, Segment};
use crate::{Error, Inner, Result};
use bytes::{Bytes, BytesMut};
use onefichier_client::{ErrorKind, RangeBody};
use onefichier_protocol::checksum::BackgroundHasher;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// The largest window a GET asks for, in blocks.
const MAX_WINDOW: u64 = 32;
/// The window after a seek: the block wanted and the next one.
const FIRST_WINDOW: u64 = 2;
/// Attempts at one block when connections break.
const ATTEMPTS: u32 = 3;
/// Chunks the hashing thread may lag behind before verification of this pass is given up
/// (reading faster than Whirlpool hashes, or the CPUs busy: the reader is not slowed for it;
/// the hashing thread runs at the lowest priority).
const HASH_SLACK: usize = 64;

type BlockGuard = tokio::sync::OwnedMutexGuard<()>;

/// A file being read: its read-ahead state, kept a few seconds after the last read (players
/// close and reopen files).
pub(crate) struct OpenFile {
    pub(crate) entry: Arc<Entry>,
    /// The cache's name for the file: a digest of its first link and size.
    key: String,
    /// Each segment with the offset where it starts in the file.
    segments: Vec<(u64, Segment)>,
    whirlpool: Option<String>,
    /// One reader (or read-ahead) per block at a time.
    block_locks: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
    /// The size of the next sequential window, in blocks.
    window: AtomicU64,
    /// The furthest block a reader asked for: read-ahead goes on while it is at most a window
    /// ahead of it.
    wanted: AtomicU64,
    /// The whole-file check, while the bytes from the network came in order.
    verification: Mutex<Option<Verification>>,
    corrupt: AtomicBool,
    pub(crate) last_used: Mutex<Instant>,
}

/// The Whirlpool of the bytes read so far in order, and where the next ones must start.
struct Verification {
    next: u64,
    hasher: BackgroundHasher,
    feeder: tokio::sync::mpsc::Sender<Bytes>,
}

/// An open GET of a window: the next byte it yields is `position` of the file; it ends at `end`.
struct Cursor {
    position: u64,
    end: u64,
    segment: usize,
    body: RangeBody,
    leftover: Bytes,
}

impl OpenFile {
    pub(crate) fn new(entry: Arc<Entry>) -> Result<Self> {
        let Kind::File {
            segments,
            whirlpool,
            ..
        } = &entry.kind
        else {
            return Err(Error::IsAFolder);
        };
        let mut start = 0;
        let segments: Vec<(u64, Segment)> = segments
            .iter()
            .map(|segment| {
                let at = start;
                start += segment.size;
                (at, segment.clone())
            })
            .collect();
        let mut id = Sha256::new();
        id.update(entry.size.to_le_bytes());
        if let Some((_, first)) = segments.first() {
            id.update(first.link.as_bytes());
        }
        let key = id.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let verification = whirlpool.as_ref().map(|_| {
            let hasher = BackgroundHasher::opportunistic(HASH_SLACK);
            let feeder = hasher.feeder();
            Verification {
                next: 0,
                hasher,
                feeder,
            }
        });
        Ok(Self {
            key,
            segments,
            whirlpool: whirlpool.clone(),
            entry,
            block_locks: Mutex::new(HashMap::new()),
            window: AtomicU64::new(FIRST_WINDOW),
            wanted: AtomicU64::new(0),
            verification: Mutex::new(verification),
            corrupt: AtomicBool::new(false),
            last_used: Mutex::new(Instant::now()),
        })
    }

    fn size(&self) -> u64 {
        self.entry.size
    }

    fn blocks(&self) -> u64 {
        self.size().div_ceil(BLOCK_SIZE)
    }

    fn block_key(&self, index: u64) -> BlockKey {
        BlockKey {
            file: self.key.clone(),
            index,
        }
    }

    fn block_lock(&self, index: u64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.block_locks.lock();
        // Locks nobody holds or waits for are dropped as the map grows.
        if locks.len() > 64 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(locks.entry(index).or_default())
    }

    /// The block's lock if nobody holds it now.
    fn try_block(&self, index: u64) -> Option<BlockGuard> {
        (index < self.blocks())
            .then(|| self.block_lock(index).try_lock_owned().ok())
            .flatten()
    }

    fn segment_at(&self, offset: u64) -> usize {
        self.segments
            .iter()
            .rposition(|(start, _)| *start <= offset)
            .unwrap_or(0)
    }

    /// Hands bytes that came from the network at `offset` to the whole-file check; returns the
    /// finished hasher once the last byte went in.
    fn verify(&self, offset: u64, bytes: &Bytes) -> Option<BackgroundHasher> {
        let mut state = self.verification.lock();
        let verification = state.as_mut()?;
        if verification.next != offset {
            // Out of order (a seek, a probe of the end): the check waits for the bytes it needs.
            return None;
        }
        if verification.feeder.try_send(bytes.clone()).is_err() {
            // Hashing fell behind: the file goes unverified rather than read slower.
            *state = None;
            return None;
        }
        verification.next += bytes.len() as u64;
        if verification.next < self.size() {
            return None;
        }
        state.take().map(|done| done.hasher)
    }
}

/// Where a read's bytes came from: the cache when they were there as asked (read ahead, or
/// read before), the network when the read waited for a GET.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Cache,
    Network,
}

impl Inner {
    /// Up to `len` bytes of the file from `offset` (fewer at its end).
    pub(crate) async fn read(
        self: &Arc<Self>,
        file: &Arc<OpenFile>,
        offset: u64,
        len: u64,
    ) -> Result<Bytes> {
        let Some((offset, end)) = Self::start_read(file, offset, len)? else {
            return Ok(Bytes::new());
        };
        let (first, last) = (offset / BLOCK_SIZE, (end - 1) / BLOCK_SIZE);
        if first == last {
            let (block, source) = self.block(file, first).await?;
            let piece = slice_of_block(&block, first, offset, end);
            self.count_served(source, piece.len());
            return Ok(piece);
        }
        let mut out = BytesMut::with_capacity((end - offset) as usize);
        let mut source = Source::Cache;
        for index in first..=last {
            let (block, from) = self.block(file, index).await?;
            source = source.max(from);
            out.extend_from_slice(&slice_of_block(&block, index, offset, end));
        }
        self.count_served(source, out.len());
        Ok(out.freeze())
    }

    /// The read's bytes if they lie in one block held in memory, without waiting for anything:
    /// what a sequential reader asks for most of the time, answered without a task.
    pub(crate) fn read_in_memory(&self, file: &OpenFile, offset: u64, len: u64) -> Option<Bytes> {
        let (offset, end) = Self::start_read(file, offset, len).ok()??;
        let index = offset / BLOCK_SIZE;
        if index != (end - 1) / BLOCK_SIZE {
            return None;
        }
        let block = self.cache.get_in_memory(&file.block_key(index))?;
        file.wanted.fetch_max(index, Ordering::Relaxed);
        let piece = slice_of_block(&block, index, offset, end);
        self.count_served(Source::Cache, piece.len());
        Some(piece)
    }

    /// Marks the file used; the byte range to read, `None` past its end.
    fn start_read(file: &OpenFile, offset: u64, len: u64) -> Result<Option<(u64, u64)>> {
        *file.last_used.lock() = Instant::now();
        if file.corrupt.load(Ordering::Relaxed) {
            return Err(Error::Corrupt(file.entry.name.clone()));
        }
        let end = offset.saturating_add(len).min(file.size());
        Ok((offset < end).then_some((offset, end)))
    }

    fn count_served(&self, source: Source, bytes: usize) {
        if source == Source::Cache {
            self.stats.count_hit(bytes as u64);
        }
    }

    /// One whole block, from the cache or the network, within the longest wait allowed (one
    /// reader per block at a time: the others wait and find it cached).
    async fn block(self: &Arc<Self>, file: &Arc<OpenFile>, index: u64) -> Result<(Bytes, Source)> {
        file.wanted.fetch_max(index, Ordering::Relaxed);
        let key = file.block_key(index);
        if let Some(bytes) = self.cache.get(&key).await {
            return Ok((bytes, Source::Cache));
        }
        let fetched = tokio::time::timeout(self.options.max_wait, async {
            let guard = file.block_lock(index).lock_owned().await;
            if file.corrupt.load(Ordering::Relaxed) {
                return Err(Error::Corrupt(file.entry.name.clone()));
            }
            // Read ahead while this reader waited for it.
            if let Some(bytes) = self.cache.get(&key).await {
                return Ok((bytes, Source::Network));
            }
            Ok((self.fetch(file, index, guard).await?, Source::Network))
        })
        .await;
        let error = match fetched {
            Ok(Ok(found)) => return Ok(found),
            Ok(Err(error)) => error,
            Err(_) => Error::TimedOut(self.options.max_wait, file.entry.name.clone()),
        };
        self.stats.count_failed_read();
        tracing::warn!(file = %file.entry.name, block = index, %error, "a read failed");
        Err(error)
    }

    /// Reads block `index` (its lock held) from a new GET of a window, and leaves the rest of
    /// the window to a read-ahead task; a broken connection is replaced, a refused token renewed.
    async fn fetch(
        self: &Arc<Self>,
        file: &Arc<OpenFile>,
        index: u64,
        guard: BlockGuard,
    ) -> Result<Bytes> {
        let sequential = index > 0 && self.cache.contains(&file.block_key(index - 1));
        let window = if sequential {
            file.window.load(Ordering::Relaxed)
        } else {
            FIRST_WINDOW
        };
        file.window
            .store((window * 2).min(MAX_WINDOW), Ordering::Relaxed);
        let start = index * BLOCK_SIZE;
        let end = ((index + window) * BLOCK_SIZE).min(file.size());
        let mut attempt = 0;
        let (bytes, cursor) = loop {
            attempt += 1;
            let mut cursor = self.open_cursor(file, start, end).await?;
            match self.take_block(file, &mut cursor).await {
                Ok(bytes) => break (bytes, cursor),
                Err(error) if attempt < ATTEMPTS && is_broken(&error) => {
                    tracing::info!(file = %file.entry.name, %error, "a connection broke; reading on from another");
                }
                Err(error) => return Err(error),
            }
        };
        // The next block's lock is taken before this block is cached: a reader going on where
        // it stopped waits for the read-ahead instead of sending a GET of its own.
        let next = file.try_block(index + 1).filter(|_| cursor.position < end);
        self.keep(file, index, bytes.clone()).await;
        if let Some(next) = next {
            let (inner, file) = (Arc::clone(self), Arc::clone(file));
            tokio::spawn(async move { inner.read_ahead(&file, cursor, index + 1, next).await });
        }
        drop(guard);
        Ok(bytes)
    }

    /// Reads the rest of a window into the cache, block by block, each under its lock; stops
    /// (cancelling the GET) at a block already cached or being read by someone else.
    async fn read_ahead(
        &self,
        file: &OpenFile,
        mut cursor: Cursor,
        mut index: u64,
        mut guard: BlockGuard,
    ) {
        loop {
            if self.cache.contains(&file.block_key(index)) {
                return;
            }
            let taken =
                tokio::time::timeout(self.options.max_wait, self.take_block(file, &mut cursor));
            let bytes = match taken.await {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(error)) => {
                    tracing::debug!(file = %file.entry.name, block = index, %error, "read-ahead stopped");
                    return;
                }
                Err(_) => return,
            };
            let goes_on = cursor.position < cursor.end || self.next_window(file, &mut cursor).await;
            // As in `fetch`: the next lock first, then this block in the cache.
            let next = file.try_block(index + 1).filter(|_| goes_on);
            self.keep(file, index, bytes).await;
            let Some(next) = next else {
                return;
            };
            drop(std::mem::replace(&mut guard, next));
            index += 1;
        }
    }

    /// At the end of a window still being read in order (the reader at most a window behind),
    /// the next window's GET, so that a sequential reader never waits for one; `false` when
    /// reading ahead stops here.
    async fn next_window(&self, file: &OpenFile, cursor: &mut Cursor) -> bool {
        let start = cursor.end;
        let behind =
            start / BLOCK_SIZE - file.wanted.load(Ordering::Relaxed).min(start / BLOCK_SIZE);
        if start >= file.size() || behind > MAX_WINDOW {
            return false;
        }
        let end = (start + MAX_WINDOW * BLOCK_SIZE).min(file.size());
        match self.open_cursor(file, start, end).await {
            Ok(next) => {
                *cursor = next;
                true
            }
            Err(error) => {
                tracing::debug!(file = %file.entry.name, %error, "read-ahead stopped");
                false
            }
        }
    }

    /// A GET of `[offset, end)` (within the segment holding `offset`), with the segment's
    /// token; a token the node refuses is renewed once.
    async fn open_cursor(&self, file: &OpenFile, offset: u64, end: u64) -> Result<Cursor> {
        let segment = file.segment_at(offset);
        let (segment_start, ref stored) = file.segments[segment];
        let stop = end.min(segment_start + stored.size);
        let mut renewed = false;
        let body = loop {
            let url = self.tokens.get(&stored.link, &self.stats).await?;
            self.stats.count_range_request();
            match self
                .client
                .read_range(&url, offset - segment_start, Some(stop - segment_start))
                .await
            {
                Ok(body) => break body,
                Err(error) if error.kind() == ErrorKind::NotFound && !renewed => {
                    self.tokens.forget(&stored.link, &url).await;
                    renewed = true;
                }
                Err(error) => return Err(error.into()),
            }
        };
        if body.total != stored.size {
            return Err(Error::Changed(file.entry.name.clone()));
        }
        Ok(Cursor {
            position: offset,
            end,
            segment,
            body,
            leftover: Bytes::new(),
        })
    }

    /// The next block of the cursor (into the next segment if need be), handed to the
    /// whole-file check; the caller keeps it in the cache ([`Self::keep`]).
    async fn take_block(&self, file: &OpenFile, cursor: &mut Cursor) -> Result<Bytes> {
        let index = cursor.position / BLOCK_SIZE;
        let offset = cursor.position;
        let len = ((index + 1) * BLOCK_SIZE).min(file.size()) - offset;
        let mut out = BytesMut::with_capacity(len as usize);
        while (out.len() as u64) < len {
            if cursor.leftover.is_empty() {
                let (start, ref segment) = file.segments[cursor.segment];
                if cursor.position == start + segment.size {
                    // The segment is done: the next one from its start.
                    let next = self.open_cursor(file, cursor.position, cursor.end).await?;
                    cursor.body = next.body;
                    cursor.segment = next.segment;
                    continue;
                }
                cursor.leftover = match cursor.body.next_chunk().await {
                    Some(chunk) => chunk?,
                    // The range ended before the segment did: the node serves another file.
                    None => return Err(Error::Changed(file.entry.name.clone())),
                };
                self.stats.count_network(cursor.leftover.len() as u64);
            }
            let want = (len - out.len() as u64).min(cursor.leftover.len() as u64) as usize;
            let piece = cursor.leftover.split_to(want);
            cursor.position += piece.len() as u64;
            out.extend_from_slice(&piece);
        }
        let bytes = out.freeze();
        // The last block of a file read whole is kept only once the whole file proved right.
        if let Some(hasher) = file.verify(offset, &bytes) {
            self.check_whole(file, hasher).await?;
        }
        Ok(bytes)
    }

    /// Keeps block `index` of the file in the cache.
    async fn keep(&self, file: &OpenFile, index: u64, bytes: Bytes) {
        let last = index + 1 == file.blocks();
        self.cache.put(file.block_key(index), bytes, last).await;
    }

    /// Compares the Whirlpool of a file read whole with the listing's.
    async fn check_whole(&self, file: &OpenFile, hasher: BackgroundHasher) -> Result<()> {
        let got = hasher.finish().await;
        if file
            .whirlpool
            .as_deref()
            .is_none_or(|expected| got.eq_ignore_ascii_case(expected))
        {
            tracing::debug!(file = %file.entry.name, "read whole, Whirlpool checked");
            return Ok(());
        }
        file.corrupt.store(true, Ordering::Relaxed);
        self.cache.drop_file(&file.key);
        tracing::error!(file = %file.entry.name, "the bytes read do not match the listing's Whirlpool: the cached copy was dropped");
        Err(Error::Corrupt(file.entry.name.clone()))
    }
}

/// The part of block `index` within `[offset, end)`.
fn slice_of_block(block: &Bytes, index: u64, offset: u64, end: u64) -> Bytes {
    let block_start = index * BLOCK_SIZE;
    let from = offset.saturating_sub(block_start) as usize;
    let to = ((end - block_start) as usize).min(block.len());
    block.slice(from..to)
}

fn is_broken(error: &Error) -> bool {
    matches!(error, Error::Client(e) if matches!(e.kind(), ErrorKind::Transport))
}
