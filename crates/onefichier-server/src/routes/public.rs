//! Website endpoints clients rely on: public folders (`/dir/ID`) and `check_links.pl`.

use crate::config::PublicNames;
use crate::domain::links::link_of;
use crate::error::ApiError;
use crate::extract::{Peer, client_ip_from};
use crate::meta::{ListedFile, SentBetween};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onefichier_protocol::ErrorCode;
use onefichier_protocol::ids::LinkId;
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::public::{DirEntry, LinkCheck, LinkStatus, MAX_CHECK_LINKS};
use std::collections::HashMap;
use std::net::IpAddr;

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `GET /dir/ID` (also `/LANG/dir/ID`): `?json=1` → a JSON array; otherwise the HTML page.
/// A password-protected folder answers with its password form until `POST`ed the password.
pub(crate) async fn dir_get(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let json = query.get("json").is_some_and(|v| v == "1");
    let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
    dir(
        &state,
        ip,
        params.get("id").map_or("", String::as_str),
        json,
        None,
    )
    .await
}

/// `POST /dir/ID` with a form body `json=1&pass=…`.
pub(crate) async fn dir_post(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| query.get(key).map(String::as_str))
    };
    let json = get("json") == Some("1");
    let pass = get("pass").map(str::to_owned);
    let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
    dir(
        &state,
        ip,
        params.get("id").map_or("", String::as_str),
        json,
        pass.as_deref(),
    )
    .await
}

async fn dir(
    state: &AppState,
    ip: IpAddr,
    share_id: &str,
    json: bool,
    pass: Option<&str>,
) -> Response {
    let not_found = || {
        crate::web::plain_message(
            StatusCode::NOT_FOUND,
            "Shared folder",
            "This folder does not exist or is not shared",
        )
    };
    if share_id.is_empty() || !share_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return not_found();
    }
    let folder = match state.repo().folder_by_share_id(share_id).await {
        Ok(Some(folder)) => folder,
        Ok(None) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(hash) = &folder.share_pass_hash {
        let Some(given) = pass else {
            return crate::web::dir_page(state, &folder.name, share_id, None);
        };
        let item = format!("folder:{share_id}");
        if let Err(refusal) = state.limiter().begin_guess(ip, &item).await {
            return refusal.into_response();
        }
        if state.passwords().verify(given, hash).await {
            state.limiter().right_guess(ip, &item).await;
        } else {
            state.limiter().wrong_guess(ip).await;
            return if json {
                ApiError::new(ErrorCode::InvalidPassword).into_response()
            } else {
                crate::web::dir_page(state, &folder.name, share_id, None)
            };
        }
    }
    let files = match state
        .repo()
        .listed_files(
            folder.account_id,
            Some(folder.id),
            SentBetween::default(),
            state.limiter().max_listing(),
        )
        .await
    {
        Ok(files) => files,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let protected = folder.share_pass_hash.is_some();
    if json {
        let entries: Vec<DirEntry> = files
            .iter()
            .map(|f| entry(&state.config().names, f, protected))
            .collect();
        return (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            serde_json::to_string(&entries).expect("entries serialise"),
        )
            .into_response();
    }
    let rows = files
        .iter()
        .map(|f| crate::web::SharedFile {
            link: link_of(&state.config().names, f.domain, &f.link_id),
            name: f.name.clone(),
            size: u64::try_from(f.size).unwrap_or(0),
            uploaded: f.created_at,
        })
        .collect();
    crate::web::dir_page(state, &folder.name, share_id, Some(rows))
}

fn entry(names: &PublicNames, file: &ListedFile, folder_protected: bool) -> DirEntry {
    DirEntry {
        filename: file.name.clone(),
        link: link_of(names, file.domain, &file.link_id),
        size: u64::try_from(file.size).unwrap_or(0),
        // Files inherit the folder's password.
        password: Flag(folder_protected || file.has_pass),
        acl: Flag(file.has_acl),
    }
}

/// `POST /check_links.pl`: `links[]=…` (up to 100) → one line per link.
pub(crate) async fn check_links(State(state): State<AppState>, body: Bytes) -> Response {
    let links: Vec<String> = form(&body)
        .into_iter()
        .filter(|(k, _)| k == "links[]" || k == "links")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if links.len() > MAX_CHECK_LINKS {
        return crate::web::plain_message(
            StatusCode::BAD_REQUEST,
            "Check links",
            &format!("At most {MAX_CHECK_LINKS} links per request"),
        );
    }
    let mut lines = String::new();
    for url in links {
        let status = match LinkId::from_link(&url) {
            Err(_) => LinkStatus::BadLink,
            Ok(id) => match state.repo().file_by_link(id.as_str()).await {
                Ok(None) => LinkStatus::NotFound,
                Ok(Some(f)) if f.pass_hash.is_some() || !f.acl.is_empty() => LinkStatus::Private,
                Ok(Some(f)) => LinkStatus::Found {
                    filename: f.name,
                    size: u64::try_from(f.size).unwrap_or(0),
                },
                Err(e) => return ApiError::from(e).into_response(),
            },
        };
        lines.push_str(&LinkCheck { url, status }.to_string());
        lines.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response()
}
