//! Connections, bounded: how many are open at once, and how long one may hold the server while
//! its peer sends or reads nothing.
//!
//! Request heads are bounded by hyper's header-read timeout (set where the server is built); an
//! idle keep-alive connection waits for its next head under the same timeout. Upload bodies
//! have their own idle timeout ([`crate::multipart`]). What remains is here: a cap on open
//! connections that refuses the next one cleanly (instead of `accept` failing with "Too many
//! open files" and normal requests timing out), and a write timeout for peers that stop
//! reading (a download nobody reads would hold its connection forever).

use axum_server::accept::Accept;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The answer to a connection over the cap, written before closing it.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{\"status\":\"KO\",\"message\":\"Too many open connections #503\"}\n";

/// Accepts connections while fewer than the cap are open; sets `TCP_NODELAY` (without it a
/// small answer written in two parts waits for the client's delayed ACK: 40 ms a download) and
/// wraps each stream in a [`WriteTimeout`].
#[derive(Clone, Debug)]
pub struct CappedAcceptor {
    open: Arc<Semaphore>,
    write_timeout: Duration,
}

impl CappedAcceptor {
    /// At most `max_connections` open at once; a peer that reads nothing for `write_timeout`
    /// while the server writes to it is dropped.
    pub fn new(max_connections: usize, write_timeout: Duration) -> Self {
        Self {
            open: Arc::new(Semaphore::new(max_connections.max(1))),
            write_timeout,
        }
    }

    /// Connections open now.
    pub fn open_connections(&self, max_connections: usize) -> usize {
        max_connections.saturating_sub(self.open.available_permits())
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for CappedAcceptor {
    type Stream = WriteTimeout<TcpStream>;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, S)>> + Send>>;

    fn accept(&self, mut stream: TcpStream, service: S) -> Self::Future {
        let open = Arc::clone(&self.open);
        let write_timeout = self.write_timeout;
        Box::pin(async move {
            let Ok(permit) = open.try_acquire_owned() else {
                // Best effort: the peer learns why, and the socket is closed at once.
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), stream.write_all(OVER_CAPACITY))
                        .await;
                let _ = stream.shutdown().await;
                return Err(io::Error::other("connection cap reached"));
            };
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
            Ok((WriteTimeout::new(stream, write_timeout, permit), service))
        })
    }
}

/// A stream whose writes fail with `TimedOut` once one has made no progress for the timeout.
/// It also holds the connection's place under the cap until it is dropped.
#[derive(Debug)]
pub struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed while a write waits for the peer to read.
    deadline: Option<Pin<Box<Sleep>>>,
    _place: OwnedSemaphorePermit,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, timeout: Duration, place: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            timeout,
            deadline: None,
            _place: place,
        }
    }

    /// Runs a write-side poll: progress disarms the deadline; `Pending` arms it and fails the
    /// write once it passes.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>>
    where
        S: Unpin,
    {
        match poll(Pin::new(&mut self.inner), cx) {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let deadline = self.deadline.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + timeout))
                });
                ready!(deadline.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer read nothing for too long",
                )))
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, AsyncWrite::poll_flush)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, AsyncWrite::poll_shutdown)
    }
}

/// Raises the soft open-file limit to the hard one, so that the connection cap, not the
/// kernel, decides when to refuse. Returns the limit in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The connection cap for an open-file limit: what is left after files, the database and a
/// margin, and at most `wanted`.
pub fn connection_cap(open_file_limit: u64, wanted: usize) -> usize {
    let usable = open_file_limit.saturating_sub(256) / 2;
    wanted
        .min(usize::try_from(usable).unwrap_or(usize::MAX))
        .max(16)
}

/// Middleware: an answer sent before the request's body was read to its end (a refusal:
/// 401, 403, 429, 413…) says `Connection: close`. The server cannot reuse such a connection,
/// and a keep-alive client that was not told would send its next request into a closed socket.
pub async fn close_if_body_unread(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    let declared = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if !declared {
        return next.run(request).await;
    }
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let request = request.map(|body| {
        axum::body::Body::new(ReadToEnd {
            body,
            finished: Arc::clone(&finished),
        })
    });
    let mut response = next.run(request).await;
    if !finished.load(std::sync::atomic::Ordering::Acquire) {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// A request body that notes when it has been read to its end.
struct ReadToEnd {
    body: axum::body::Body,
    finished: Arc<std::sync::atomic::AtomicBool>,
}

impl axum::body::HttpBody for ReadToEnd {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        if frame.is_none() {
            self.finished
                .store(true, std::sync::atomic::Ordering::Release);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
