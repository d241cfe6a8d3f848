//! The `.part` file of a download. Bytes arrive as pieces (one piece for a single connection,
//! several for a segmented download) and are written at their offsets by a thread of its own, so
//! the network tasks never wait on the disk beyond a few chunks of slack. Progress of a segmented
//! download is kept in a small sidecar (`NAME.part.pieces`) so an interrupted run resumes piece by
//! piece; a single-connection `.part` needs none, its length is its progress. The Whirlpool is fed
//! in file order as the written prefix grows: straight from memory when the chunk extends the
//! prefix, from the file for pieces that finished ahead of it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A segmented download is split into about this many pieces per connection: small enough that
/// the hashed prefix follows the connections closely, large enough that requests stay rare.
const PIECES_PER_SEGMENT: u64 = 8;
const MIN_PIECE: u64 = 4 << 20;
const MAX_PIECE: u64 = 256 << 20;
/// How often the sidecar is rewritten while bytes flow (and whenever a piece completes).
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Chunks in flight to the writer thread.
const WRITER_SLACK: usize = 8;
/// Reads of already-written bytes for the hasher.
const REHASH_BLOCK: usize = 1 << 20;

/// How a download is cut into pieces and how much of each is on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pieces {
    /// The file's size; unknown only for a single open-ended piece.
    size: Option<u64>,
    piece_size: u64,
    /// Bytes on disk from the start of each piece.
    written: Vec<u64>,
}

impl Pieces {
    /// A fresh plan: one piece per file unless several connections are asked for a known size.
    pub(crate) fn plan(size: Option<u64>, segments: usize) -> Self {
        let segments = segments.max(1) as u64;
        match size {
            Some(size) if segments > 1 && size > MIN_PIECE => {
                // Whole MiB, so pieces line up with the writes of most file systems.
                let piece_size = (size
                    .div_ceil(segments * PIECES_PER_SEGMENT)
                    .div_ceil(1 << 20)
                    << 20)
                    .clamp(MIN_PIECE, MAX_PIECE);
                Self {
                    size: Some(size),
                    piece_size,
                    written: vec![0; size.div_ceil(piece_size) as usize],
                }
            }
            _ => Self {
                size,
                piece_size: u64::MAX,
                written: vec![0],
            },
        }
    }

    /// This plan with the first `prefix` bytes already on disk (a single-connection `.part`).
    pub(crate) fn with_prefix(mut self, prefix: u64) -> Self {
        for index in 0..self.written.len() {
            let start = self.start(index);
            self.written[index] = prefix.saturating_sub(start).min(self.len(index));
        }
        self
    }

    pub(crate) fn count(&self) -> usize {
        self.written.len()
    }

    pub(crate) fn size(&self) -> Option<u64> {
        self.size
    }

    pub(crate) fn start(&self, index: usize) -> u64 {
        self.piece_size.saturating_mul(index as u64)
    }

    /// The piece's length (`u64::MAX` for an open-ended piece).
    fn len(&self, index: usize) -> u64 {
        match self.size {
            Some(size) => size.saturating_sub(self.start(index)).min(self.piece_size),
            None => u64::MAX,
        }
    }

    /// One past the piece's last byte, when the size is known.
    pub(crate) fn end(&self, index: usize) -> Option<u64> {
        self.size.map(|_| self.start(index) + self.len(index))
    }

    pub(crate) fn written(&self, index: usize) -> u64 {
        self.written[index]
    }

    pub(crate) fn is_done(&self, index: usize) -> bool {
        self.written[index] >= self.len(index)
    }

    /// The pieces still to fetch, in file order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.count()).filter(|&i| !self.is_done(i))
    }

    /// Bytes on disk.
    pub(crate) fn on_disk(&self) -> u64 {
        self.written.iter().sum()
    }

    /// Length of the contiguous prefix on disk: what can be hashed in order.
    fn frontier(&self) -> u64 {
        let mut frontier = 0;
        for index in 0..self.count() {
            frontier = self.start(index) + self.written[index];
            if !self.is_done(index) {
                break;
            }
        }
        frontier
    }

    /// Reads a sidecar; anything unreadable or for another size is ignored.
    pub(crate) fn load(sidecar: &Path, size: Option<u64>) -> Option<Self> {
        let text = std::fs::read(sidecar).ok()?;
        let pieces: Self = serde_json::from_slice(&text).ok()?;
        let sane = pieces.size.is_some()
            && pieces.size == size
            && pieces.piece_size > 0
            && pieces.written.len() as u64 == pieces.size?.div_ceil(pieces.piece_size).max(1)
            && (0..pieces.count()).all(|i| pieces.written[i] <= pieces.len(i));
        sane.then_some(pieces)
    }

    /// Writes the sidecar atomically (a crash leaves the old one or the new one).
    fn save(&self, sidecar: &Path) -> io::Result<()> {
        let mut temporary = sidecar.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        std::fs::write(
            &temporary,
            serde_json::to_vec(self).map_err(io::Error::other)?,
        )?;
        std::fs::rename(&temporary, sidecar)
    }
}

/// The sidecar of a segmented download's `.part` file.
pub(crate) fn sidecar_path(part: &Path) -> PathBuf {
    let mut name = part.as_os_str().to_owned();
    name.push(".pieces");
    PathBuf::from(name)
}

struct Chunk {
    piece: usize,
    offset: u64,
    bytes: Bytes,
}

/// Writes chunks into the `.part` file on a thread of its own (see the module's comment).
pub(crate) struct PartWriter {
    sender: Option<tokio::sync::mpsc::Sender<Chunk>>,
    thread: Option<std::thread::JoinHandle<io::Result<Pieces>>>,
}

impl PartWriter {
    /// Starts writing into `file`, which holds `pieces` already. `hasher` receives the file's
    /// bytes in order, starting with those already there.
    pub(crate) fn start(
        file: File,
        pieces: Pieces,
        sidecar: Option<PathBuf>,
        hasher: Option<tokio::sync::mpsc::Sender<Bytes>>,
    ) -> io::Result<Self> {
        let (sender, receiver) = tokio::sync::mpsc::channel(WRITER_SLACK);
        let thread = std::thread::Builder::new()
            .name("part-writer".into())
            .spawn(move || {
                write_loop(&file, pieces, sidecar.as_deref(), hasher.as_ref(), receiver)
            })?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues `bytes` for `offset` of piece `piece`. Fails only when the writer stopped on an
    /// error, which [`PartWriter::finish`] then returns.
    pub(crate) async fn write(&self, piece: usize, offset: u64, bytes: Bytes) -> Result<(), ()> {
        let sender = self.sender.as_ref().ok_or(())?;
        sender
            .send(Chunk {
                piece,
                offset,
                bytes,
            })
            .await
            .map_err(|_| ())
    }

    /// Waits until everything queued is written; returns what is on disk.
    pub(crate) async fn finish(mut self) -> io::Result<Pieces> {
        drop(self.sender.take());
        let thread = self.thread.take().expect("finished once");
        tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
        })
        .await
        .map_err(io::Error::other)?
    }
}

fn write_loop(
    file: &File,
    mut pieces: Pieces,
    sidecar: Option<&Path>,
    hasher: Option<&tokio::sync::mpsc::Sender<Bytes>>,
    mut receiver: tokio::sync::mpsc::Receiver<Chunk>,
) -> io::Result<Pieces> {
    let mut hashed = 0;
    if let Some(hasher) = hasher {
        rehash(file, &mut hashed, pieces.frontier(), hasher)?;
    }
    let mut saved = Instant::now();
    while let Some(chunk) = receiver.blocking_recv() {
        let end = chunk.offset + chunk.bytes.len() as u64;
        write_all_at(file, &chunk.bytes, chunk.offset)?;
        pieces.written[chunk.piece] = end - pieces.start(chunk.piece);
        if let Some(hasher) = hasher {
            let frontier = pieces.frontier();
            if chunk.offset == hashed && end <= frontier {
                // The usual case: this chunk extends the hashed prefix; no need to read it back.
                let _ = hasher.blocking_send(chunk.bytes);
                hashed = end;
            }
            rehash(file, &mut hashed, frontier, hasher)?;
        }
        if let Some(sidecar) = sidecar
            && (pieces.is_done(chunk.piece) || saved.elapsed() >= SAVE_EVERY)
        {
            pieces.save(sidecar)?;
            saved = Instant::now();
        }
    }
    if let Some(sidecar) = sidecar {
        pieces.save(sidecar)?;
    }
    Ok(pieces)
}

/// Feeds the hasher the file's bytes from `hashed` to `frontier`, read back from disk.
fn rehash(
    file: &File,
    hashed: &mut u64,
    frontier: u64,
    hasher: &tokio::sync::mpsc::Sender<Bytes>,
) -> io::Result<()> {
    while *hashed < frontier {
        let want = (frontier - *hashed).min(REHASH_BLOCK as u64) as usize;
        let mut buffer = vec![0; want];
        read_exact_at(file, &mut buffer, *hashed)?;
        *hashed += want as u64;
        let _ = hasher.blocking_send(Bytes::from(buffer));
    }
    Ok(())
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buffer.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buffer, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buffer = &mut buffer[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_connection_is_one_piece_even_for_unknown_sizes() {
        let pieces = Pieces::plan(None, 4);
        assert_eq!(pieces.count(), 1);
        assert_eq!(pieces.end(0), None);
        let pieces = Pieces::plan(Some(1 << 30), 1).with_prefix(1000);
        assert_eq!((pieces.count(), pieces.written(0)), (1, 1000));
        assert_eq!(pieces.end(0), Some(1 << 30));
    }

    #[test]
    fn segments_cover_the_file_exactly() {
        let size = (1u64 << 30) + 12345;
        let pieces = Pieces::plan(Some(size), 4);
        assert_eq!(pieces.count(), 32);
        assert_eq!(pieces.start(0), 0);
        assert_eq!(pieces.end(pieces.count() - 1), Some(size));
        for i in 1..pieces.count() {
            assert_eq!(pieces.end(i - 1), Some(pieces.start(i)));
        }
    }

    #[test]
    fn a_prefix_fills_whole_pieces_then_part_of_one() {
        let pieces = Pieces::plan(Some(100 << 20), 2).with_prefix(13 << 20);
        assert_eq!(pieces.piece_size, 7 << 20);
        assert!(pieces.is_done(0));
        assert_eq!(pieces.written(1), 6 << 20);
        assert_eq!(pieces.frontier(), 13 << 20);
        assert_eq!(pieces.pending().next(), Some(1));
    }

    #[test]
    fn the_frontier_stops_at_the_first_unfinished_piece() {
        let mut pieces = Pieces::plan(Some(64 << 20), 2);
        pieces.written[1] = pieces.len(1);
        assert_eq!(pieces.frontier(), 0);
        pieces.written[0] = 5;
        assert_eq!(pieces.frontier(), 5);
        pieces.written[0] = pieces.len(0);
        assert_eq!(pieces.frontier(), pieces.end(1).expect("known size"));
    }

    #[test]
    fn sidecars_for_another_size_or_damaged_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sidecar = dir.path().join("f.part.pieces");
        let pieces = Pieces::plan(Some(64 << 20), 4);
        pieces.save(&sidecar).expect("save");
        assert_eq!(Pieces::load(&sidecar, Some(64 << 20)), Some(pieces));
        assert_eq!(Pieces::load(&sidecar, Some(65 << 20)), None);
        std::fs::write(&sidecar, b"{\"size\":1,").expect("write");
        assert_eq!(Pieces::load(&sidecar, Some(1)), None);
    }
}
