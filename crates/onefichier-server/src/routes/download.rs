//! Downloads: `download/get_token.cgi` (v1), the direct URL it returns, and the link page.

use crate::auth::Caller;
use crate::domain::downloads::{TokenRules, issue_direct_url, token_serves};
use crate::domain::links::parse_link;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Peer, client_ip_from};
use crate::meta::{DownloadToken, FileRecord, IpRestriction};
use crate::policy::may_read;
use crate::state::{AppState, now};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::StreamExt;
use onefichier_protocol::download::{GetTokenRequest, GetTokenResponse};
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::range::{RangeRequest, parse_range};
use onefichier_protocol::{ErrorCode, Status};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::net::IpAddr;

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
    let Some(restrict_ip) = IpRestriction::from_code(req.restrict_ip.unwrap_or(0)) else {
        return Err(ApiError::invalid("restrict_ip must be 0, 1 or 2"));
    };
    let rules = TokenRules {
        inline: req.inline.is_some_and(|f| f.0),
        single: req.single.is_some_and(|f| f.0),
        restrict_ip,
        no_ssl: req.no_ssl == Some(Flag(true)),
    };
    let url = issue_direct_url(
        &state,
        &file,
        rules,
        Some((caller.key.id, caller.key_digest)),
    )
    .await?;
    Ok(Json(GetTokenResponse {
        status: Status::Ok,
        url,
        message: None,
    }))
}

const FILENAME_UNSAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

/// Types a browser shows without running anything of the file's own: only these are ever served
/// `inline`. Everything else (HTML, SVG, XML, JavaScript, CSS, unknown types…) is an
/// attachment whatever the uploader or the token asked, so user bytes never become a page.
fn shown_passively(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/bmp"
            | "text/plain"
            | "application/pdf"
    ) || essence.starts_with("video/")
        || essence.starts_with("audio/")
}

/// Middleware of every `/dl/` answer, the files' bytes and the refusals alike.
///
/// User bytes never run as the site: a direct link asked on another host than the download host
/// (the site's own origin, where a script would reach the account pages) is sent there, and every
/// answer is sandboxed (`Content-Security-Policy: sandbox`: no script, an opaque origin), never
/// sniffed, never framed, and sends no referrer (the URL holds the token).
pub(crate) async fn user_bytes_headers(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let names = &state.config().names;
    let asked = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let mut response = match asked {
        Some(host)
            if !names.downloads_share_site_origin()
                && !host.eq_ignore_ascii_case(&names.download_host) =>
        {
            let to = format!(
                "{}://{}{}",
                names.scheme(),
                names.download_host,
                req.uri().path()
            );
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
        }
        _ => next.run(req).await,
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

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
    let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
    let (token, file) = match use_token(&state, &token, ip).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let Some(blob) = file.blob_id.as_deref() else {
        return crate::web::plain_message(
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
    let Some(_guard) = state
        .limiter()
        .start_stream(&token.token, token.single)
        .await
    else {
        return crate::web::plain_message(
            StatusCode::TOO_MANY_REQUESTS,
            "Download",
            "This link allows one connection at a time (single)",
        );
    };
    let stream = match state.blobs().get_range(blob, start..end).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::error!(blob, error = %e, "blob unreadable");
            return crate::web::plain_message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Download",
                "The file cannot be read now",
            );
        }
    };
    // The guard travels with the body so that `single` counts the stream until it ends.
    let stream = stream.map(move |chunk| {
        let _held = &_guard;
        if let Ok(bytes) = &chunk {
            crate::telemetry::bytes_out(bytes.len() as u64);
        }
        chunk
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let partial = status == StatusCode::PARTIAL_CONTENT;
    let range = (start, end, size, partial);
    describe_bytes(response.headers_mut(), &file, token.inline, range);
    response
}

/// The token of a direct URL, used from `ip`, with its file; or the page that refuses it. A
/// token is good for 5 minutes, then for resumes within 30 minutes of its first use, from the
/// address it is bound to if it is; it dies with the key that asked for it (revoked, rotated
/// or expired).
async fn use_token(
    state: &AppState,
    token: &str,
    ip: IpAddr,
) -> Result<(DownloadToken, FileRecord), Response> {
    let gone = || {
        crate::web::plain_message(
            StatusCode::NOT_FOUND,
            "Download",
            "This download link is unknown or has expired",
        )
    };
    let now = now();
    let (token, file) = match state.repo().token(token, now).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(gone()),
        // Logged by the conversion; the client learns it was the server's fault, not its link's.
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    if !token_serves(&token, now) {
        return Err(gone());
    }
    if token.restrict_ip.binds()
        && token
            .bound_ip
            .as_deref()
            .is_some_and(|bound| bound != ip.to_string())
    {
        return Err(crate::web::plain_message(
            StatusCode::FORBIDDEN,
            "Download",
            "This download link is bound to another address",
        ));
    }
    if token.first_used_at.is_none()
        && let Err(e) = state
            .repo()
            .start_token(&token.token, now, &ip.to_string())
            .await
    {
        return Err(ApiError::from(e).into_response());
    }
    Ok((token, file))
}

/// The headers of a file's bytes `start..end` of `size` (a range answer when `partial`): length, type, how it is shown (never
/// as a page of the site), its ETag and range.
fn describe_bytes(
    h: &mut HeaderMap,
    file: &FileRecord,
    token_inline: bool,
    (start, end, size, partial): (u64, u64, u64, bool),
) {
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let inline = token_inline && shown_passively(&file.content_type);
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.name, inline)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "\"{}\"",
        &file.whirlpool[..32.min(file.whirlpool.len())]
    )) {
        h.insert(header::ETAG, v);
    }
    if partial && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1)) {
        h.insert(header::CONTENT_RANGE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passive_types_are_shown_inline() {
        for shown in [
            "image/png",
            "video/mp4",
            "audio/ogg",
            "text/plain; charset=utf-8",
            "application/pdf",
        ] {
            assert!(shown_passively(shown), "{shown}");
        }
        for active in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "application/xml",
            "application/javascript",
            "text/javascript",
            "text/css",
            "application/octet-stream",
            "multipart/x-mixed-replace",
            "",
        ] {
            assert!(!shown_passively(active), "{active}");
        }
    }

    #[test]
    fn dispositions_encode_any_name() {
        assert_eq!(
            content_disposition("été \"x\".txt", false),
            "attachment; filename=\"_t_ _x_.txt\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.txt"
        );
    }
}
