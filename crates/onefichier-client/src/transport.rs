//! How requests leave the SDK: every request it sends (API calls, the upload node, `end.pl`,
//! public pages, the download node) goes through [`crate::Client::exchange`], which hands it to
//! an [`HttpService`] and reads the answer's status and `Retry-After` in one way. What the answer
//! means is [`crate::classify`]'s business; when to try again is [`crate::Client::retry_pause`]'s.

use crate::classify::parse_retry_after;
use crate::error::{Result, transport};
use futures::future::BoxFuture;
use std::fmt;
use std::time::{Duration, Instant};

/// What sends the SDK's HTTP requests. The SDK's own is reqwest's connection pool (TLS with
/// rustls, HTTP/2, no redirects followed); tests give a server's router called in process
/// (`onefichier-test-support`), which needs no port and no process.
pub trait HttpService: Send + Sync + fmt::Debug + 'static {
    /// Sends `request` and answers with the response's head; its body is read as it comes.
    fn execute(
        &self,
        request: reqwest::Request,
    ) -> BoxFuture<'static, reqwest::Result<reqwest::Response>>;
}

impl HttpService for reqwest::Client {
    fn execute(
        &self,
        request: reqwest::Request,
    ) -> BoxFuture<'static, reqwest::Result<reqwest::Response>> {
        Box::pin(reqwest::Client::execute(self, request))
    }
}

/// An answer's head, its body unread.
pub(crate) struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// How long the server asked to be left alone (`Retry-After`, in seconds or as a date).
    pub retry_after: Option<Duration>,
    /// The response, for its headers and body.
    pub response: reqwest::Response,
}

impl crate::Client {
    /// Sends one request built on [`crate::Client::http`] and reads its head: the one place
    /// where a request leaves the SDK. A request that never got an answer is a transport error
    /// (never carrying the URL's path, which may hold a token).
    pub(crate) async fn exchange(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer> {
        let request = request.build().map_err(|e| transport(operation, e))?;
        let sent = Instant::now();
        let response = self.inner.transport.execute(request).await.map_err(|e| {
            tracing::trace!(operation, elapsed = ?sent.elapsed(), error = %e, "request failed");
            transport(operation, e)
        })?;
        let status = response.status().as_u16();
        tracing::trace!(operation, status, elapsed = ?sent.elapsed(), "answered");
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        Ok(Answer {
            status,
            retry_after,
            response,
        })
    }

    /// A request builder for `method` and `url` (sent with [`crate::Client::exchange`]).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}
