//! `1fichier serve http`: the folder as a browsable index, its files with GET, HEAD and single
//! ranges (what players and `ffprobe` send), or, with `--redirect`, a 302 to the file's reused
//! download URL. Counters in Prometheus' format at `/.metrics`.

use super::Ctx;
use super::access::serve;
use crate::cli::ServeHttpArgs;
use anyhow::Result;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onefichier_protocol::range::{RangeRequest, parse_range};
use onefichier_vfs::{BLOCK_SIZE, Entry, Vfs};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use std::fmt::Write as _;
use std::sync::Arc;

/// Characters escaped in the index's links (a path segment's).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\');

struct Served {
    vfs: Vfs,
    redirect: bool,
}

pub(super) async fn run(ctx: &Ctx, vfs: Vfs, args: &ServeHttpArgs) -> Result<()> {
    let served = Arc::new(Served {
        vfs: vfs.clone(),
        redirect: args.redirect,
    });
    let app = axum::Router::new().fallback(answer).with_state(served);
    serve(ctx, &vfs, &args.media.remote, &args.server, app).await
}

async fn answer(State(served): State<Arc<Served>>, request: Request) -> Response {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "read-only\n",
        )
            .into_response();
    }
    let raw_path = request.uri().path().to_owned();
    let Ok(path) = percent_decode_str(&raw_path).decode_utf8() else {
        return (StatusCode::BAD_REQUEST, "the path is not UTF-8\n").into_response();
    };
    let entry = match served.vfs.resolve(&path).await {
        Ok(entry) => entry,
        Err(error) if error.is_not_found() => {
            return (StatusCode::NOT_FOUND, "not found\n").into_response();
        }
        Err(error) => return unavailable(&error),
    };
    if entry.is_folder() {
        if !raw_path.ends_with('/') {
            let location = format!("{raw_path}/");
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response();
        }
        return match served.vfs.list(entry.inode).await {
            Ok(children) => index(&path, &children, method == Method::HEAD),
            Err(error) => unavailable(&error),
        };
    }
    if served.redirect {
        match served.vfs.direct_url(entry.inode).await {
            Ok(Some(url)) => {
                return (StatusCode::FOUND, [(header::LOCATION, url.expose())]).into_response();
            }
            // A file stored in parts has no single URL: its bytes go through here.
            Ok(None) => {}
            Err(error) => return unavailable(&error),
        }
    }
    file(
        &served.vfs,
        &entry,
        request.headers(),
        method == Method::HEAD,
    )
}

/// A read that failed: the server is held back, slow or down.
fn unavailable(error: &onefichier_vfs::Error) -> Response {
    tracing::warn!(%error, "a request failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "30")],
        format!("{error}\n"),
    )
        .into_response()
}

fn file(vfs: &Vfs, entry: &Entry, headers: &HeaderMap, head: bool) -> Response {
    let size = entry.size;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let (status, start, end) = match parse_range(range, size) {
        RangeRequest::Whole => (StatusCode::OK, 0, size),
        RangeRequest::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeRequest::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let mime = mime_guess::from_path(&entry.name).first_or_octet_stream();
    let modified = jiff::Timestamp::from_second(entry.mtime)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, mime.as_ref())
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::LAST_MODIFIED, modified)
        .header(header::ETAG, format!("\"{:x}-{size}\"", entry.inode));
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    let body = if head {
        Body::empty()
    } else {
        // One block at a time, read as the client takes them.
        let vfs = vfs.clone();
        let inode = entry.inode;
        Body::from_stream(futures::stream::try_unfold(start, move |at| {
            let vfs = vfs.clone();
            async move {
                if at >= end {
                    return Ok(None);
                }
                let want = (end - at).min(BLOCK_SIZE - at % BLOCK_SIZE);
                let bytes = vfs.read(inode, at, want).await?;
                if bytes.is_empty() {
                    return Err(onefichier_vfs::Error::Changed(format!("inode {inode}")));
                }
                let next = at + bytes.len() as u64;
                Ok::<_, onefichier_vfs::Error>(Some((bytes, next)))
            }
        }))
    };
    response.body(body).expect("a valid response")
}

/// The folder's index page.
fn index(path: &str, children: &[Arc<Entry>], head: bool) -> Response {
    let title = html(&format!("/{}", path.trim_matches('/')));
    let mut page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>\n<table>\n"
    );
    if !path.trim_matches('/').is_empty() {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for child in children {
        let slash = if child.is_folder() { "/" } else { "" };
        let href = html(&utf8_percent_encode(&child.name, SEGMENT).to_string());
        let date = jiff::Timestamp::from_second(child.mtime)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let size = if child.is_folder() {
            String::new()
        } else {
            onefichier_protocol::size::human(child.size)
        };
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{href}{slash}\">{}{slash}</a></td><td>{size}</td><td>{date}</td></tr>",
            html(&child.name)
        );
    }
    page.push_str("</table></body></html>\n");
    let length = page.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(page)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, length)
        .body(body)
        .expect("a valid response")
}

/// Text made safe inside HTML.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
