//! The SDK's error: a kind callers branch on, the retry class, the catalogue's hint, and the
//! cause. Never carries the API key or a token-bearing URL.

use onefichier_protocol::{ErrorCode, RetryClass};
use std::fmt;
use std::time::Duration;

/// What went wrong, in terms a caller can branch on: the protocol's kinds, the same the server's
/// catalogue classifies its refusals with, including the client's own (transport, timeout,
/// verification, local files, configuration).
pub use onefichier_protocol::ErrorKind;

/// An error of the SDK.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    operation: &'static str,
    message: String,
    hint: Option<&'static str>,
    code: Option<ErrorCode>,
    status: Option<u16>,
    retry: RetryClass,
    retry_after: Option<Duration>,
    never_sent: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(Inner {
            kind,
            operation,
            message: message.into(),
            hint: None,
            code: None,
            status: None,
            retry: RetryClass::Permanent,
            retry_after: None,
            never_sent: false,
            source: None,
        }))
    }

    pub(crate) fn with_hint(mut self, hint: &'static str) -> Self {
        self.0.hint = Some(hint);
        self
    }

    pub(crate) fn with_code(mut self, code: Option<ErrorCode>) -> Self {
        self.0.code = code;
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    pub(crate) fn with_retry(mut self, retry: RetryClass, after: Option<Duration>) -> Self {
        self.0.retry = retry;
        self.0.retry_after = after;
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// The same error for another file of a batch that failed as a whole: everything but the
    /// source, whose text joins the message.
    pub(crate) fn for_another_file(&self) -> Self {
        let inner = &self.0;
        let message = match &inner.source {
            Some(source) => format!("{}: {source}", inner.message),
            None => inner.message.clone(),
        };
        Self(Box::new(Inner {
            kind: inner.kind,
            operation: inner.operation,
            message,
            hint: inner.hint,
            code: inner.code,
            status: inner.status,
            retry: inner.retry,
            retry_after: inner.retry_after,
            never_sent: inner.never_sent,
            source: None,
        }))
    }

    /// Whether the request provably never reached the server (connection refused).
    pub fn never_sent(&self) -> bool {
        self.0.never_sent
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The operation that failed, e.g. `file/ls.cgi` or `upload`.
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }

    /// The service's message or a description of the failure.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// A one-line hint for the user, from the error catalogue.
    pub fn hint(&self) -> Option<&'static str> {
        self.0.hint
    }

    /// The catalogue entry the service's message matched, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        self.0.code
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// How a retry could succeed.
    pub fn retry_class(&self) -> RetryClass {
        self.0.retry
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether waiting and trying again may succeed.
    pub fn is_temporary(&self) -> bool {
        self.0.retry != RetryClass::Permanent
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.operation, self.0.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("operation", &self.0.operation)
            .field("message", &self.0.message)
            .field("status", &self.0.status)
            .field("retry", &self.0.retry)
            .field("source", &self.0.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Result of the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A transport error, stripped of its URL (which may carry a token).
pub(crate) fn transport(operation: &'static str, error: reqwest::Error) -> Error {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    let what = if error.is_connect() {
        "cannot connect to"
    } else if error.is_timeout() {
        "no answer in time from"
    } else if error.is_body() || error.is_decode() {
        "the connection broke while receiving the answer from"
    } else {
        "the request failed to"
    };
    // The server is named (scheme, host and port: never a path, which may hold a token).
    let server = error
        .url()
        .map(|url| format!("{}://{}", url.scheme(), url.authority()))
        .unwrap_or_else(|| "the server".to_owned());
    let mut result = Error::new(kind, operation, format!("{what} {server}"))
        .with_retry(RetryClass::Backoff, None);
    result.0.never_sent = error.is_connect();
    if error.is_connect() {
        result = result.with_hint(
            "check the address (--api-url, ONEFICHIER_API_URL) and that the server is running",
        );
    }
    result.with_source(error.without_url())
}

/// A local I/O error.
pub(crate) fn io(operation: &'static str, what: &str, error: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, operation, format!("{what}: {error}")).with_source(error)
}
