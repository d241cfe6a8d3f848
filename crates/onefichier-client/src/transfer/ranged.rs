//! Reading a byte range of a download URL on demand, for readers that seek (a mount, a media
//! server): one download token serves every range while it lives, so a seek costs a GET to the
//! download node, never an API call.

use crate::error::{Error, ErrorKind, Result};
use crate::redact::RedactedUrl;
use crate::{Client, governor::Budget};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

const OP: &str = "download";

/// The bytes of a range as they arrive.
pub struct RangeBody {
    /// The file's whole size, as the download node announced it.
    pub total: u64,
    /// Bytes still to come.
    remaining: u64,
    stream: BoxStream<'static, reqwest::Result<Bytes>>,
}

impl std::fmt::Debug for RangeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeBody")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl RangeBody {
    /// The next bytes; `None` at the end of the range. A broken connection, or one closed
    /// before the range's end, is a transport error.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if self.remaining == 0 {
            return None;
        }
        let chunk = match self.stream.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => return Some(Err(crate::error::transport(OP, error))),
            None => {
                return Some(Err(Error::new(
                    ErrorKind::Transport,
                    OP,
                    "the connection closed early",
                )));
            }
        };
        if chunk.len() as u64 > self.remaining {
            return Some(Err(Error::new(
                ErrorKind::Verification,
                OP,
                "the server sent more bytes than asked",
            )));
        }
        self.remaining -= chunk.len() as u64;
        Some(Ok(chunk))
    }
}

impl Client {
    /// GETs `url` from byte `start` to `end` (exclusive; the file's end when `None`). An expired
    /// or refused URL is [`ErrorKind::NotFound`] (ask for a new token); a flood lock or overload
    /// is classified as for any call, and holds the governor as any call does.
    pub async fn read_range(
        &self,
        url: &RedactedUrl,
        start: u64,
        end: Option<u64>,
    ) -> Result<RangeBody> {
        self.inner.governor.acquire(Budget::Node, OP).await?;
        let range = match end {
            Some(end) => format!("bytes={start}-{}", end.saturating_sub(1)),
            None => format!("bytes={start}-"),
        };
        let answer = self
            .exchange(
                OP,
                self.http()
                    .get(url.expose())
                    .header(reqwest::header::RANGE, range),
            )
            .await?;
        let headers = answer.response.headers();
        let total = match answer.status {
            206 => match super::download::content_range(headers) {
                Some((first, total)) if first == start => total,
                _ => {
                    return Err(Error::new(
                        ErrorKind::UnexpectedResponse,
                        OP,
                        "the server sent another range than asked",
                    ));
                }
            },
            200 if start == 0 => answer.response.content_length().ok_or_else(|| {
                Error::new(ErrorKind::UnexpectedResponse, OP, "a file of unknown size")
            })?,
            200 => {
                return Err(Error::new(
                    ErrorKind::UnexpectedResponse,
                    OP,
                    "the server ignored the range",
                ));
            }
            status => {
                return Err(
                    super::download::refusal(status, answer.retry_after, answer.response).await,
                );
            }
        };
        let end = end.unwrap_or(total).min(total);
        Ok(RangeBody {
            total,
            remaining: end.saturating_sub(start),
            stream: answer.response.bytes_stream().boxed(),
        })
    }
}
