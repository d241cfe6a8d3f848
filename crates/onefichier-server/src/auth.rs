//! Authentication and admission of every v1 request.
//!
//! Order: overload guard, flood lock, per-address budget, API key (401), IP allow-list (403),
//! offer (403), per-key budget. Every refusal but overload counts toward a flood lock.

use crate::error::ApiError;
use crate::extract::client_ip;
use crate::meta::{Account, ApiKey, KeyEvent, KeyEventKind};
use crate::secrets::{digests_equal, key_digest};
use crate::state::{AppState, now};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onefichier_protocol::ErrorCode;
use std::net::IpAddr;

/// The authenticated caller, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's account.
    pub account: Account,
    /// The key used.
    pub key: ApiKey,
    /// The key's digest, to tell later whether the key was rotated or revoked meanwhile.
    pub key_digest: [u8; 32],
    /// The caller's address.
    pub ip: IpAddr,
}

/// Last-use times are written at most this often per key, so that reads stay reads.
const TOUCH_INTERVAL: i64 = 60;

/// Whether the caller's key is still the one it authenticated with: not revoked, not rotated.
/// Long work started under a key (an upload) checks this before it commits.
pub(crate) async fn key_still_valid(state: &AppState, caller: &Caller) -> Result<bool, ApiError> {
    Ok(state
        .repo()
        .key_by_digest(&caller.key_digest)
        .await?
        .is_some_and(|(key, _)| key.id == caller.key.id))
}

/// Middleware for endpoints that require a key.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config().trusted_proxies);
    let _permit = match admit(&state, ip).await {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    let token = bearer(&req).map(str::to_owned);
    match authenticate(&state, token.as_deref(), ip).await {
        Ok(caller) => {
            crate::telemetry::note_account(req.extensions(), caller.account.id);
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// Middleware for endpoints open to anonymous callers (`get_upload_server`): the same guards,
/// minus the key.
pub async fn admit_anonymous(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config().trusted_proxies);
    match admit(&state, ip).await {
        Ok(_permit) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Middleware for the website and node paths: the overload guard and flood locks only (their
/// traffic is bytes, not API calls, so the per-address API budget does not apply).
pub async fn guard_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config().trusted_proxies);
    let permit = match state.limiter().admit() {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = state.limiter().check_lock(ip).await {
        return refusal.into_response();
    }
    let response = next.run(req).await;
    drop(permit);
    response
}

/// Middleware for uploads and downloads: flood locks, then a place in the transfer pool (an
/// upload without a key also takes one of its address's few places), held until the answer's
/// body is done, which for a download is the end of the transfer.
pub async fn guard_transfer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config().trusted_proxies);
    let anonymous_upload =
        req.uri().path() == "/upload.cgi" && !req.headers().contains_key(header::AUTHORIZATION);
    let permit = match state.limiter().check_lock(ip).await {
        Ok(()) => state.limiter().admit_transfer(ip, anonymous_upload).await,
        Err(refusal) => Err(refusal),
    };
    if permit.is_err() && anonymous_upload {
        state.limiter().record_refusal(ip).await;
    }
    match permit {
        Ok(permit) => next.run(req).await.map(|body| {
            axum::body::Body::new(Holding {
                body,
                _permit: permit,
            })
        }),
        Err(refusal) => refusal.into_response(),
    }
}

/// A body that holds something (a transfer's place) until it is dropped.
struct Holding<T> {
    body: axum::body::Body,
    _permit: T,
}

impl<T: Unpin> axum::body::HttpBody for Holding<T> {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

async fn admit(
    state: &AppState,
    ip: IpAddr,
) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    let permit = state.limiter().admit()?;
    state.limiter().check_lock(ip).await?;
    if let Err(refusal) = state.limiter().check_ip(ip).await {
        state.limiter().record_refusal(ip).await;
        return Err(refusal);
    }
    Ok(permit)
}

/// The bearer token of a request, if any.
pub fn bearer(req: &Request) -> Option<&str> {
    bearer_value(req.headers())
}

/// The bearer token in a set of headers, if any.
pub fn bearer_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Checks a key for a caller at `ip`. Every refusal but an internal error counts toward the
/// address's flood lock, wherever the key was sent (`/v1` or the upload node).
pub(crate) async fn authenticate(
    state: &AppState,
    token: Option<&str>,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let checked = check_key(state, token, ip).await;
    if let Err(refusal) = &checked
        && refusal.code() != ErrorCode::Internal
    {
        state.limiter().record_refusal(ip).await;
    }
    checked
}

async fn check_key(state: &AppState, token: Option<&str>, ip: IpAddr) -> Result<Caller, ApiError> {
    let token = token.ok_or_else(|| ApiError::new(ErrorCode::NotAuthenticated))?;
    // Lookup is by the SHA-256 of the token, and the digest found is compared again in constant
    // time: response times say nothing about how close a guess was.
    let digest = key_digest(token);
    let (key, stored) = state
        .repo()
        .key_by_digest(&digest)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?;
    if !digests_equal(&digest, &stored) {
        return Err(ApiError::new(ErrorCode::InvalidApiKey));
    }
    let now = now();
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::new(ErrorCode::KeyExpired));
    }
    if !key.allow_ips.is_empty() && !key.allow_ips.iter().any(|net| net.contains(&ip)) {
        return Err(ApiError::new(ErrorCode::IpNotAllowed));
    }
    let account = state
        .repo()
        .account(key.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?;
    if !account.offer.is_customer() {
        return Err(ApiError::new(ErrorCode::MustBeCustomer));
    }
    state.limiter().check_key(key.id).await?;
    let address = ip.to_string();
    let new_address = key.last_used_ip.as_deref() != Some(address.as_str());
    if new_address && state.repo().note_key_address(key.id, &address, now).await? {
        state
            .repo()
            .insert_key_event(&KeyEvent {
                account_id: account.id,
                key_id: Some(key.id),
                label: key.label.clone(),
                event: KeyEventKind::NewAddress,
                detail: format!("first use from {address}"),
                ip: Some(address.clone()),
                at: now,
            })
            .await?;
    }
    if new_address || key.last_used_at.is_none_or(|at| now - at >= TOUCH_INTERVAL) {
        state.repo().touch_key(key.id, now, &address).await?;
    }
    Ok(Caller {
        account,
        key,
        key_digest: digest,
        ip,
    })
}
