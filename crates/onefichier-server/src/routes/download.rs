//! Downloads: `download/get_token.cgi` (v1), the direct URL it returns, and the link page.

use super::file::acl_allows;
use super::parse_link;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Peer, client_ip_from};
use crate::html::{escape, human_size_fr, message_page};
use crate::meta::{DownloadToken, FileRecord};
use crate::range::{RangeRequest, parse_range};
use crate::secrets::random_id;
use crate::state::{AppState, now};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use futures::StreamExt;
use onefichier_protocol::download::{GetTokenRequest, GetTokenResponse};
use onefichier_protocol::ids::LinkId;
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::{ErrorCode, Status};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// A token must be used within 5 minutes.
const TOKEN_TTL: i64 = 300;
/// A started download may resume for 30 minutes.
const RESUME_WINDOW: i64 = 1800;
/// Token length.
const TOKEN_LEN: usize = 32;

/// Checks a file's password and access list for a caller who does not own it. Wrong
/// passwords are limited per address and per file (see [`crate::limits::Limiter::begin_guess`]).
pub(crate) async fn may_read(
    state: &AppState,
    file: &FileRecord,
    caller: &Caller,
    pass: Option<&str>,
) -> ApiResult<()> {
    if file.account_id == Some(caller.account.id) {
        return Ok(());
    }
    if let Some(hash) = &file.pass_hash {
        let Some(given) = pass else {
            return Err(ApiError::new(ErrorCode::PasswordNotProvided));
        };
        let item = format!("file:{}", file.link_id);
        state.limiter().begin_guess(caller.ip, &item)?;
        if !state.passwords().verify(given, hash).await {
            state.limiter().wrong_guess(caller.ip);
            return Err(ApiError::new(ErrorCode::InvalidPassword));
        }
        state.limiter().right_guess(caller.ip, &item);
    }
    if !acl_allows(
        &file.acl,
        caller.ip,
        &caller.account.email,
        caller.account.offer.is_customer(),
    ) {
        return Err(ApiError::new(ErrorCode::ResourceNotAllowed));
    }
    Ok(())
}

/// `download/get_token.cgi`: a direct URL valid for 5 minutes.
pub(crate) async fn get_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<GetTokenRequest>,
) -> ApiResult<Json<GetTokenResponse>> {
    let Some(url) = req.url.as_deref() else {
        return Err(if req.folder_id.is_some() {
            ApiError::detail(
                ErrorCode::NotImplemented,
                "downloads by folder_id and filename",
            )
        } else {
            ApiError::invalid("url is required")
        });
    };
    let link = parse_link(url)?;
    let file = state
        .repo()
        .file_by_link(link.as_str())
        .await?
        .ok_or_else(|| ApiError::detail(ErrorCode::ResourceNotFound, url))?;
    may_read(&state, &file, &caller, req.pass.as_deref()).await?;
    let restrict_ip = req.restrict_ip.unwrap_or(0);
    if !(0..=2).contains(&restrict_ip) {
        return Err(ApiError::invalid("restrict_ip must be 0, 1 or 2"));
    }
    let token = DownloadToken {
        token: random_id(TOKEN_LEN, false),
        file_id: file.id,
        created_at: now(),
        first_used_at: None,
        inline: req.inline.is_some_and(|f| f.0) || file.inline,
        single: req.single.is_some_and(|f| f.0) || restrict_ip == 2,
        restrict_ip,
        bound_ip: None,
        issuer: Some((caller.key.id, caller.key_digest)),
    };
    state.repo().insert_token(&token).await?;
    let names = &state.config().names;
    let scheme = if req.no_ssl == Some(Flag(true)) {
        "http"
    } else {
        names.scheme()
    };
    Ok(Json(GetTokenResponse {
        status: Status::Ok,
        url: format!("{scheme}://{}/dl/{}", names.download_host, token.token),
        message: None,
    }))
}

const FILENAME_UNSAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

fn content_disposition(name: &str, inline: bool) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        utf8_percent_encode(name, FILENAME_UNSAFE)
    )
}

/// `GET /dl/TOKEN`: the bytes, with single-range support.
pub(crate) async fn serve(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Response {
    let gone = || {
        message_page(
            StatusCode::NOT_FOUND,
            "Download",
            "This download link is unknown or has expired",
        )
    };
    let (token, file) = match state.repo().token(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return gone(),
        // Logged by the conversion; the client learns it was the server's fault, not its link's.
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now = now();
    let alive = match token.first_used_at {
        None => now - token.created_at <= TOKEN_TTL,
        Some(first) => now - first <= RESUME_WINDOW,
    };
    if !alive {
        return gone();
    }
    let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
    if token.restrict_ip > 0
        && token
            .bound_ip
            .as_deref()
            .is_some_and(|bound| bound != ip.to_string())
    {
        return message_page(
            StatusCode::FORBIDDEN,
            "Download",
            "This download link is bound to another address",
        );
    }
    if token.first_used_at.is_none()
        && let Err(e) = state
            .repo()
            .start_token(&token.token, now, &ip.to_string())
            .await
    {
        return ApiError::from(e).into_response();
    }
    let Some(blob) = file.blob_id.as_deref() else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Download",
            "This file has no content",
        );
    };
    let size = u64::try_from(file.size).unwrap_or(0);
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, start, end) = match range {
        RangeRequest::Whole => (StatusCode::OK, 0, size),
        RangeRequest::Part(s, e) => (StatusCode::PARTIAL_CONTENT, s, e),
        RangeRequest::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let Some(_guard) = state.start_stream(&token.token, token.single) else {
        return message_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Download",
            "This link allows one connection at a time (single)",
        );
    };
    let stream = match state.blobs().get_range(blob, start..end).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::error!(blob, error = %e, "blob unreadable");
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Download",
                "The file cannot be read now",
            );
        }
    };
    // The guard travels with the body so that `single` counts the stream until it ends.
    let stream = stream.map(move |chunk| {
        let _held = &_guard;
        chunk
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.name, token.inline)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "\"{}\"",
        &file.whirlpool[..32.min(file.whirlpool.len())]
    )) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

/// `GET /?ID`: a minimal page with the file's name and size.
pub(crate) async fn link_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let id = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .next()
        .unwrap_or_default();
    let Ok(link) = LinkId::new(id) else {
        return Html("<!DOCTYPE html>\n<html><body><h1>1fichier-server</h1></body></html>\n")
            .into_response();
    };
    match state.repo().file_by_link(link.as_str()).await {
        Ok(Some(file)) => Html(format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title></head><body>\
             <table><tr><td>File name :</td><td>{name}</td></tr>\
             <tr><td>Size :</td><td>{size}</td></tr></table>\
             <p>Download it with an API key: download/get_token.cgi.</p></body></html>\n",
            name = escape(&file.name),
            size = human_size_fr(u64::try_from(file.size).unwrap_or(0)),
        ))
        .into_response(),
        Ok(None) => message_page(StatusCode::NOT_FOUND, "File", "The requested file could not be found"),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_encode_any_name() {
        assert_eq!(
            content_disposition("été \"x\".txt", false),
            "attachment; filename=\"_t_ _x_.txt\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.txt"
        );
    }
}
