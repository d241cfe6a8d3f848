//! The upload body, bounded before anything is buffered.
//!
//! multer (behind axum's `Multipart`) buffers a part's headers, and everything before the first
//! boundary, until it finds their end: one 1 GiB `filename` took 7.5 GB and minutes of CPU.
//! [`FramingGuard`] follows the multipart framing on the raw bytes as they stream past (without
//! copying them) and stops the body as soon as a preamble or a part's header block is longer
//! than allowed, so multer never holds more than [`MAX_PART_HEADER`] of them. The same stream
//! cuts a body that sends nothing for the configured idle time.

use axum::body::{Body, Bytes};
use futures::{Stream, StreamExt};
use memchr::memmem;
use std::time::Duration;

/// Largest header block of one part (`Content-Disposition` with its file name, `Content-Type`).
/// A name is at most 250 characters; this leaves room for percent-encoding and long types.
pub const MAX_PART_HEADER: usize = 8 * 1024;
/// Largest preamble (bytes before the first boundary); clients send none.
pub const MAX_PREAMBLE: usize = 4 * 1024;
/// Largest transport padding after a boundary (RFC 2046 allows spaces before the CRLF).
const MAX_PADDING: usize = 64;

/// Why an upload body was stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// More than [`MAX_PREAMBLE`] bytes before the first boundary.
    #[error("no multipart boundary within the first {MAX_PREAMBLE} bytes")]
    Preamble,
    /// A part's headers are longer than [`MAX_PART_HEADER`].
    #[error("a part's headers are longer than {MAX_PART_HEADER} bytes")]
    PartHeader,
    /// Something other than `--` or a line end follows a boundary.
    #[error("malformed boundary line")]
    BoundaryLine,
    /// Nothing arrived for this long.
    #[error("no data for {} s: upload abandoned", .0.as_secs())]
    Stalled(Duration),
    /// The connection failed.
    #[error("the upload was interrupted: {0}")]
    Read(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first boundary (bounded).
    Preamble,
    /// Just after a boundary: `--` (the end) or optional padding and CRLF (a part follows).
    AfterBoundary,
    /// A part's header block, up to its empty line (bounded).
    Headers,
    /// A part's content (unbounded here; the upload's size rules apply).
    Content,
    /// After the closing boundary: ignored.
    Epilogue,
}

/// Follows multipart framing over a byte stream fed in chunks of any size.
#[derive(Debug)]
pub struct FramingGuard {
    /// `\r\n--BOUNDARY`: what ends a preamble or a part's content.
    delimiter: Vec<u8>,
    state: State,
    /// Bytes kept from earlier chunks: the tail that may start a delimiter (searching states),
    /// or the bytes of the current boundary line or header block (bounded states).
    carry: Vec<u8>,
    /// Bytes seen in the current bounded state.
    seen: usize,
}

impl FramingGuard {
    /// A guard for a body whose boundary is `boundary`.
    pub fn new(boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Self {
            delimiter,
            state: State::Preamble,
            // The first boundary may open the body without a line end before it.
            carry: b"\r\n".to_vec(),
            seen: 0,
        }
    }

    /// Takes the next chunk of the body; an error means the body must stop here.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), BodyError> {
        while !chunk.is_empty() {
            match self.state {
                State::Preamble | State::Content => {
                    let Some(end) = find_across(&self.carry, chunk, &self.delimiter) else {
                        if self.state == State::Preamble {
                            self.seen += chunk.len();
                            if self.seen > MAX_PREAMBLE {
                                return Err(BodyError::Preamble);
                            }
                        }
                        self.keep_tail(chunk);
                        return Ok(());
                    };
                    if self.state == State::Preamble && self.seen + end > MAX_PREAMBLE {
                        return Err(BodyError::Preamble);
                    }
                    chunk = &chunk[end..];
                    self.enter(State::AfterBoundary);
                }
                State::AfterBoundary => {
                    let byte = chunk[0];
                    chunk = &chunk[1..];
                    self.carry.push(byte);
                    if self.carry == b"--" {
                        self.enter(State::Epilogue);
                    } else if self.carry.ends_with(b"\r\n") {
                        self.enter(State::Headers);
                    } else if self.carry.len() > MAX_PADDING
                        || !matches!(byte, b' ' | b'\t' | b'\r' | b'-')
                    {
                        return Err(BodyError::BoundaryLine);
                    }
                }
                State::Headers => {
                    // The header block ends at an empty line; an empty block is a bare CRLF.
                    let room = MAX_PART_HEADER + 4 - self.carry.len();
                    let take = chunk.len().min(room);
                    let start = self.carry.len().saturating_sub(3);
                    self.carry.extend_from_slice(&chunk[..take]);
                    let end = if self.carry.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        memmem::find(&self.carry[start..], b"\r\n\r\n").map(|at| start + at + 4)
                    };
                    match end {
                        Some(end) => {
                            let used = end - (self.carry.len() - take);
                            chunk = &chunk[used..];
                            self.enter(State::Content);
                        }
                        None if self.carry.len() > MAX_PART_HEADER => {
                            return Err(BodyError::PartHeader);
                        }
                        None => chunk = &chunk[take..],
                    }
                }
                State::Epilogue => return Ok(()),
            }
        }
        Ok(())
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.carry.clear();
        self.seen = 0;
    }

    /// Keeps the last bytes of `carry + chunk` that could start a delimiter.
    fn keep_tail(&mut self, chunk: &[u8]) {
        let keep = self.delimiter.len() - 1;
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
    }
}

/// Where in `chunk` the first `pattern` that ends in it ends, searching `carry + chunk` (the
/// carry is shorter than the pattern, so a match cannot lie in it alone).
fn find_across(carry: &[u8], chunk: &[u8], pattern: &[u8]) -> Option<usize> {
    if !carry.is_empty() {
        let head = &chunk[..chunk.len().min(pattern.len() - 1)];
        let mut seam = Vec::with_capacity(carry.len() + head.len());
        seam.extend_from_slice(carry);
        seam.extend_from_slice(head);
        if let Some(at) = memmem::find(&seam, pattern) {
            return Some(at + pattern.len() - carry.len());
        }
    }
    memmem::find(chunk, pattern).map(|at| at + pattern.len())
}

/// The body of an upload as a stream for multer: checked by a [`FramingGuard`], and cut when
/// nothing arrives for `idle`.
pub fn guarded(
    body: Body,
    boundary: &str,
    idle: Duration,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static {
    let guard = FramingGuard::new(boundary);
    futures::stream::unfold(
        (body.into_data_stream(), guard, false),
        move |(mut data, mut guard, failed)| async move {
            if failed {
                return None;
            }
            let next = match tokio::time::timeout(idle, data.next()).await {
                Err(_) => Err(BodyError::Stalled(idle)),
                Ok(None) => return None,
                Ok(Some(Err(e))) => Err(BodyError::Read(e.to_string())),
                Ok(Some(Ok(bytes))) => guard.feed(&bytes).map(|()| bytes),
            };
            let failed = next.is_err();
            Some((next, (data, guard, failed)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (headers, content) in parts {
            out.extend_from_slice(format!("--XYZ\r\n{headers}\r\n\r\n{content}\r\n").as_bytes());
        }
        out.extend_from_slice(b"--XYZ--\r\n");
        out
    }

    fn feed_in_pieces(bytes: &[u8], piece: usize) -> Result<(), BodyError> {
        let mut guard = FramingGuard::new("XYZ");
        bytes.chunks(piece).try_for_each(|c| guard.feed(c))
    }

    #[test]
    fn ordinary_bodies_pass_in_chunks_of_any_size() {
        let name = "é".repeat(250);
        let bytes = body(&[
            ("Content-Disposition: form-data; name=\"did\"", "12"),
            (
                &format!(
                    "Content-Disposition: form-data; name=\"file[]\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream"
                ),
                "data with --XY and \r\n--XY inside",
            ),
        ]);
        for piece in 1..=bytes.len() {
            feed_in_pieces(&bytes, piece).unwrap();
        }
    }

    #[test]
    fn long_headers_and_preambles_stop_early() {
        let long = format!(
            "Content-Disposition: form-data; name=\"file[]\"; filename=\"{}\"",
            "a".repeat(MAX_PART_HEADER)
        );
        let bytes = body(&[(&long, "x")]);
        for piece in [1, 7, 4096, bytes.len()] {
            assert_eq!(feed_in_pieces(&bytes, piece), Err(BodyError::PartHeader));
        }
        let preamble = vec![b'p'; MAX_PREAMBLE + 1];
        assert_eq!(feed_in_pieces(&preamble, 1000), Err(BodyError::Preamble));
        let mut small_preamble = b"ignored\r\n".to_vec();
        small_preamble.extend(body(&[("Content-Disposition: form-data; name=\"a\"", "b")]));
        feed_in_pieces(&small_preamble, 3).unwrap();
    }

    #[test]
    fn a_header_bomb_stops_after_a_few_kilobytes() {
        // 1 GiB of file name would be fed; the guard must refuse within the header bound.
        let mut guard = FramingGuard::new("XYZ");
        guard
            .feed(b"--XYZ\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"")
            .unwrap();
        let block = vec![b'n'; 1024];
        let fed = (0..1 << 20)
            .take_while(|_| guard.feed(&block).is_ok())
            .count();
        assert!(fed <= MAX_PART_HEADER / 1024, "{fed} KiB accepted");
    }

    #[test]
    fn garbage_after_a_boundary_is_refused() {
        assert_eq!(
            feed_in_pieces(b"--XYZgarbage\r\n", 4),
            Err(BodyError::BoundaryLine)
        );
        feed_in_pieces(b"--XYZ  \r\nA: b\r\n\r\nx\r\n--XYZ--", 2).unwrap();
    }
}
