//! `ApiError`: every refusal as the API's KO shape, `{"status":"KO","message":"… #NNN"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onefichier_protocol::{ErrorCode, KoResponse};

use crate::meta::MetaError;

/// A refusal: a catalogue entry, an optional detail and an optional `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with the catalogue's text only.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            retry_after: None,
        }
    }

    /// A refusal whose message names the problem.
    pub fn detail(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
            retry_after: None,
        }
    }

    /// `Invalid parameter: <detail>`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::detail(ErrorCode::InvalidParameter, detail)
    }

    /// Adds a `Retry-After` in seconds.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The catalogue entry.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = KoResponse::new(self.code, self.detail.as_deref());
        let mut response = (status, axum::Json(body)).into_response();
        // For the access log's refusal metrics.
        response.extensions_mut().insert(self.code);
        if self.code == ErrorCode::RequestTooLarge {
            // The rest of the body is never read, so the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<MetaError> for ApiError {
    fn from(error: MetaError) -> Self {
        match error {
            MetaError::Conflict => Self::new(ErrorCode::FolderExists),
            MetaError::QuotaExceeded => Self::new(ErrorCode::QuotaExceeded),
            other => {
                // The detail stays in the log; the caller learns only that it was internal.
                tracing::error!(error = %other, "metadata store failed");
                Self::new(ErrorCode::Internal)
            }
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
