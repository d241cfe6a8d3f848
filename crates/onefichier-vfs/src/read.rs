//! Reading a file at any offset: blocks from the cache, else from a range GET of the file's
//! reused token. A reader that goes on where the last block ended (playback, a copy) keeps its
//! connection open, so sequential reading is one long GET; a seek opens another (a GET to the
//! download node, not an API call). A file read whole from its first byte is checked against
//! the listing's Whirlpool, on a thread of its own, while the reader keeps up.

use crate::blocks::{BLOCK_SIZE, BlockKey};
use crate::tree::{Entry, Kind, Segment};
use crate::{Error, Inner, Result};
use bytes::{Bytes, BytesMut};
use onefichier_client::{ErrorKind, RangeBody};
use onefichier_protocol::checksum::BackgroundHasher;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Connections kept open per file for readers at different places (players read the index at
/// the end and the stream at once; FUSE reads ahead in parallel).
const CURSORS_PER_FILE: usize = 4;
/// Attempts at one block when connections break.
const ATTEMPTS: u32 = 3;
/// Chunks the hashing thread may lag behind before verification of this pass is given up
/// (reading faster than Whirlpool hashes: the reader is not slowed for it).
const HASH_SLACK: usize = 64;

/// A file being read: its open connections, kept a few seconds after the last read (players
/// close and reopen files).
pub(crate) struct OpenFile {
    pub(crate) entry: Arc<Entry>,
    /// The cache's name for the file: a digest of its first link and size.
    key: String,
    /// Each segment with the offset where it starts in the file.
    segments: Vec<(u64, Segment)>,
    whirlpool: Option<String>,
    cursors: tokio::sync::Mutex<Vec<Cursor>>,
    block_locks: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
    corrupt: AtomicBool,
    pub(crate) last_used: Mutex<Instant>,
}

/// An open GET: the next byte it yields is `position` of the file.
struct Cursor {
    position: u64,
    segment: usize,
    body: RangeBody,
    leftover: Bytes,
    /// Set while every byte from the file's first went through it.
    hasher: Option<(BackgroundHasher, tokio::sync::mpsc::Sender<Bytes>)>,
}

impl OpenFile {
    pub(crate) fn new(entry: Arc<Entry>) -> Result<Self> {
        let Kind::File {
            segments,
            whirlpool,
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
        Ok(Self {
            key,
            segments,
            whirlpool: whirlpool.clone(),
            entry,
            cursors: tokio::sync::Mutex::new(Vec::new()),
            block_locks: Mutex::new(HashMap::new()),
            corrupt: AtomicBool::new(false),
            last_used: Mutex::new(Instant::now()),
        })
    }

    fn size(&self) -> u64 {
        self.entry.size
    }

    fn block_lock(&self, index: u64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.block_locks.lock().expect("block locks");
        // Locks nobody holds or waits for are dropped as the map grows.
        if locks.len() > 64 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(locks.entry(index).or_default())
    }

    fn segment_at(&self, offset: u64) -> usize {
        self.segments
            .iter()
            .rposition(|(start, _)| *start <= offset)
            .unwrap_or(0)
    }
}

impl Inner {
    /// Up to `len` bytes of the file from `offset` (fewer at its end).
    pub(crate) async fn read(&self, file: &OpenFile, offset: u64, len: u64) -> Result<Bytes> {
        *file.last_used.lock().expect("file clock") = Instant::now();
        if file.corrupt.load(Ordering::Relaxed) {
            return Err(Error::Corrupt(file.entry.name.clone()));
        }
        let end = offset.saturating_add(len).min(file.size());
        if offset >= end {
            return Ok(Bytes::new());
        }
        let (first, last) = (offset / BLOCK_SIZE, (end - 1) / BLOCK_SIZE);
        if first == last {
            let block = self.block(file, first).await?;
            let from = (offset - first * BLOCK_SIZE) as usize;
            return Ok(block.slice(from..from + (end - offset) as usize));
        }
        let mut out = BytesMut::with_capacity((end - offset) as usize);
        for index in first..=last {
            let block = self.block(file, index).await?;
            let block_start = index * BLOCK_SIZE;
            let from = offset.saturating_sub(block_start) as usize;
            let to = ((end - block_start) as usize).min(block.len());
            out.extend_from_slice(&block[from..to]);
        }
        Ok(out.freeze())
    }

    /// One whole block, from the cache or the network (one reader per block at a time: the
    /// others wait and find it cached).
    async fn block(&self, file: &OpenFile, index: u64) -> Result<Bytes> {
        let key = BlockKey {
            file: file.key.clone(),
            index,
        };
        if let Some(bytes) = self.cache.get(&key).await {
            self.stats.count_hit(bytes.len() as u64);
            return Ok(bytes);
        }
        let lock = file.block_lock(index);
        let _only_reader = lock.lock().await;
        if let Some(bytes) = self.cache.get(&key).await {
            self.stats.count_hit(bytes.len() as u64);
            return Ok(bytes);
        }
        let fetched = tokio::time::timeout(self.options.max_wait, self.fetch(file, index)).await;
        let bytes = match fetched {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(error)) => {
                self.stats.count_failed_read();
                tracing::warn!(file = %file.entry.name, block = index, %error, "a read failed");
                return Err(error);
            }
            Err(_) => {
                self.stats.count_failed_read();
                let error = Error::TimedOut(self.options.max_wait, file.entry.name.clone());
                tracing::warn!(file = %file.entry.name, block = index, %error, "a read failed");
                return Err(error);
            }
        };
        let last = (index + 1) * BLOCK_SIZE >= file.size();
        self.cache.put(key, bytes.clone(), last).await;
        Ok(bytes)
    }

    /// Reads block `index` from a connection already there, else from a new one; a broken
    /// connection is replaced, a refused token renewed.
    async fn fetch(&self, file: &OpenFile, index: u64) -> Result<Bytes> {
        let start = index * BLOCK_SIZE;
        let stop = (start + BLOCK_SIZE).min(file.size());
        let mut waiting = {
            let mut cursors = file.cursors.lock().await;
            cursors
                .iter()
                .position(|c| c.position == start)
                .map(|at| cursors.swap_remove(at))
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut cursor = match waiting.take() {
                Some(cursor) => cursor,
                None => self.open_cursor(file, start).await?,
            };
            match self.take(file, &mut cursor, stop - start).await {
                Ok(bytes) => {
                    self.after_block(file, cursor).await?;
                    return Ok(bytes);
                }
                Err(error) if attempt < ATTEMPTS && is_broken(&error) => {
                    tracing::info!(file = %file.entry.name, %error, "a connection broke; reading on from another");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A GET from `offset` to the end of its segment, with the segment's token; a token the
    /// node refuses is renewed once.
    async fn open_cursor(&self, file: &OpenFile, offset: u64) -> Result<Cursor> {
        let segment = file.segment_at(offset);
        let (segment_start, ref stored) = file.segments[segment];
        let mut renewed = false;
        let body = loop {
            let url = self.tokens.get(&stored.link, &self.stats).await?;
            self.stats.count_range_request();
            match self
                .client
                .read_range(&url, offset - segment_start, None)
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
        let hasher = (offset == 0 && file.whirlpool.is_some()).then(|| {
            let hasher = BackgroundHasher::with_slack(HASH_SLACK);
            let feeder = hasher.feeder();
            (hasher, feeder)
        });
        Ok(Cursor {
            position: offset,
            segment,
            body,
            leftover: Bytes::new(),
            hasher,
        })
    }

    /// The next `len` bytes of the cursor, into the next segment if need be.
    async fn take(&self, file: &OpenFile, cursor: &mut Cursor, len: u64) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(len as usize);
        while (out.len() as u64) < len {
            if cursor.leftover.is_empty() {
                let (start, ref segment) = file.segments[cursor.segment];
                if cursor.position == start + segment.size {
                    // The segment is done: the next one from its start.
                    let next = self.open_cursor(file, cursor.position).await?;
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
            if let Some((_, feeder)) = &cursor.hasher
                && feeder.try_send(piece.clone()).is_err()
            {
                // Hashing fell behind: this pass goes unverified rather than slowed.
                cursor.hasher = None;
            }
            cursor.position += piece.len() as u64;
            out.extend_from_slice(&piece);
        }
        Ok(out.freeze())
    }

    /// Keeps the connection for the next block, or at the end of the file checks what went
    /// through it.
    async fn after_block(&self, file: &OpenFile, mut cursor: Cursor) -> Result<()> {
        if cursor.position < file.size() {
            let mut cursors = file.cursors.lock().await;
            if cursors.len() >= CURSORS_PER_FILE {
                cursors.remove(0);
            }
            cursors.push(cursor);
            return Ok(());
        }
        let (Some((hasher, feeder)), Some(expected)) = (cursor.hasher.take(), &file.whirlpool)
        else {
            return Ok(());
        };
        drop(feeder);
        let got = hasher.finish().await;
        if got.eq_ignore_ascii_case(expected) {
            tracing::debug!(file = %file.entry.name, "read whole, Whirlpool checked");
            return Ok(());
        }
        file.corrupt.store(true, Ordering::Relaxed);
        self.cache.drop_file(&file.key);
        tracing::error!(file = %file.entry.name, "the bytes read do not match the listing's Whirlpool: the cached copy was dropped");
        Err(Error::Corrupt(file.entry.name.clone()))
    }
}

fn is_broken(error: &Error) -> bool {
    matches!(error, Error::Client(e) if matches!(e.kind(), ErrorKind::Transport))
}
