//! `file/*.cgi`.

use crate::auth::Caller;
use crate::domain::fields::{check_name, check_password, looks_like_email, parse_date};
use crate::domain::folders::folder_path;
use crate::domain::links::{file_item, link_url, parse_link};
use crate::domain::uploads::{Content, new_file};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::limits::Listing;
use crate::listing_cache::ListingKey;
use crate::meta::{Acl, FileRecord, SentBetween};
use crate::policy::{may_read, own_file, own_folder};
use crate::secrets::{digests_equal, key_digest};
use crate::state::{AppState, now};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use ipnet::IpNet;
use onefichier_protocol::file::{
    self, ChattrRequest, ChattrResponse, Copied, CpRequest, CpResponse, FileInfo, FileItem,
    InfoRequest, LsRequest, LsResponse, MvRequest, MvResponse, RenameRequest, RenameResponse,
    Renamed, RmRequest, RmResponse, ScanRequest, ScanResponse,
};
use onefichier_protocol::ids::{self};
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::{ErrorCode, Status, date};
use std::net::IpAddr;

/// Most links one request may carry.
const MAX_URLS: usize = 1_000;

fn check_url_count(count: usize) -> ApiResult<()> {
    match count {
        0 => Err(ApiError::invalid("urls is empty")),
        n if n > MAX_URLS => Err(ApiError::invalid(format!(
            "at most {MAX_URLS} links per request"
        ))),
        _ => Ok(()),
    }
}

/// `file/ls.cgi`.
pub(crate) async fn ls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<LsRequest>,
) -> ApiResult<Response> {
    if req.sharing_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "listing another user's share",
        ));
    }
    let folder_id = req.folder_id.unwrap_or(ids::ROOT_FOLDER);
    let folder = match folder_id {
        ids::ALL_FILES if caller.key.folder_id.is_some() => {
            return Err(ApiError::detail(
                ErrorCode::KeyScope,
                "a key confined to a folder cannot list the whole account (folder_id -1)",
            ));
        }
        ids::ALL_FILES => None,
        id if id < 0 => {
            return Err(ApiError::detail(
                ErrorCode::FolderNotFound,
                format!("folder_id {id}"),
            ));
        }
        id => {
            own_folder(&state, &caller, id).await?;
            Some(id)
        }
    };
    let sent = SentBetween {
        before: parse_date("sent_before", req.sent_before.as_deref())?,
        after: parse_date("sent_after", req.sent_after.as_deref())?,
    };
    state
        .limiter()
        .check_listing(caller.account.id, folder_id, Listing::Files)
        .await?;
    let key = ListingKey {
        account_id: caller.account.id,
        folder,
        before: sent.before,
        after: sent.after,
        limit: state.limiter().max_listing(),
    };
    // Read before the listing: a change racing with it leaves a stale entry, never a wrong one.
    let generation = state.repo().listing_generation(caller.account.id).await?;
    let body = match state.listings().get(&key, generation) {
        Some(body) => body,
        None => {
            let files = state
                .repo()
                .listed_files(caller.account.id, folder, sent, key.limit)
                .await?;
            let items: Vec<FileItem> = files
                .into_iter()
                .map(|f| file_item(&state.config().names, f))
                .collect();
            let answer = LsResponse {
                status: Status::Ok,
                count: items.len() as u64,
                items,
            };
            // Strings and numbers only: encoding cannot fail.
            let body = Bytes::from(serde_json::to_vec(&answer).expect("a listing encodes"));
            state.listings().put(key, generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `file/info.cgi`.
pub(crate) async fn info(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<InfoRequest>,
) -> ApiResult<Json<FileInfo>> {
    let url = req
        .url
        .as_deref()
        .ok_or_else(|| ApiError::invalid("url is required"))?;
    let file = own_file(&state, &caller, url).await?;
    let path = folder_path(&state, caller.account.id, file.folder_id).await?;
    Ok(Json(FileInfo {
        status: Some(Status::Ok),
        url: link_url(&state.config().names, &file),
        filename: file.name.clone(),
        size: u64::try_from(file.size).unwrap_or(0),
        date: date::format_unix(file.created_at),
        folder_id: file.folder_id,
        path,
        checksum: file.whirlpool.clone(),
        content_type: file.content_type.clone(),
        description: file.description.clone(),
        pass: Flag(file.pass_hash.is_some()),
        no_ssl: Flag(file.no_ssl),
        inline: Flag(file.inline),
        cdn: Flag(file.cdn),
        acl: file::Acl {
            ip: file.acl.ip.clone(),
            country: file.acl.country.clone(),
            email: file.acl.email.clone(),
            premium: Flag(file.acl.premium),
        },
    }))
}

/// The EICAR antivirus test signature, which every scanner reports.
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// Files of this size or more are not scanned.
const MAX_SCAN_SIZE: i64 = 5_000_000_000;
/// A clean result is reused for 6 hours.
const SCAN_CACHE: i64 = 6 * 3600;

/// `file/scan.cgi`: an infected file is deleted and the answer is KO.
pub(crate) async fn scan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<ScanRequest>,
) -> ApiResult<Json<ScanResponse>> {
    let file = own_file(&state, &caller, &req.url).await?;
    if file.size >= MAX_SCAN_SIZE {
        return Err(ApiError::new(ErrorCode::TooLargeToScan));
    }
    let now = now();
    if let Some(at) = state.repo().scanned_at(file.id).await?
        && now - at < SCAN_CACHE
    {
        return Ok(Json(ScanResponse {
            status: Status::Ok,
            message: None,
            date: Some(date::format_unix(at)),
        }));
    }
    if contains_eicar(&state, &file).await? {
        tracing::warn!(link = %file.link_id, "infected file deleted");
        let freed = state.repo().delete_files(&[file.id]).await?;
        state.free_blobs(&freed).await;
        return Err(ApiError::detail(ErrorCode::VirusFound, "EICAR-Test-File"));
    }
    state.repo().mark_scanned(file.id, now).await?;
    Ok(Json(ScanResponse {
        status: Status::Ok,
        message: None,
        date: None,
    }))
}

async fn contains_eicar(state: &AppState, file: &FileRecord) -> ApiResult<bool> {
    let Some(blob) = file.blob_id.as_deref() else {
        return Ok(false);
    };
    let size = u64::try_from(file.size).unwrap_or(0);
    let mut stream = state.blobs().get_range(blob, 0..size).await.map_err(|e| {
        tracing::error!(blob, error = %e, "blob unreadable");
        ApiError::new(ErrorCode::Internal)
    })?;
    let finder = memchr::memmem::Finder::new(EICAR);
    // The signature may straddle two chunks: keep the tail of the previous one.
    let mut window: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::error!(blob, error = %e, "blob unreadable");
            ApiError::new(ErrorCode::Internal)
        })?;
        window.extend_from_slice(&chunk);
        if finder.find(&window).is_some() {
            return Ok(true);
        }
        let keep = window.len().min(EICAR.len() - 1);
        window.drain(..window.len() - keep);
    }
    Ok(false)
}

/// `file/rm.cgi`: own files, or anonymous uploads with their removal code. Every link is checked
/// before anything is deleted.
pub(crate) async fn rm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<RmRequest>,
) -> ApiResult<Json<RmResponse>> {
    check_url_count(req.files.len())?;
    let mut doomed = Vec::with_capacity(req.files.len());
    for item in &req.files {
        let link = parse_link(&item.url)?;
        let file = state.repo().file_by_link(link.as_str()).await?;
        // Anonymous uploads are removed with their code, compared in constant time.
        let allowed = file.as_ref().is_some_and(|f| match f.account_id {
            Some(owner) => owner == caller.account.id,
            None => matches!((&f.remove_code, &item.code), (Some(code), Some(given))
                if digests_equal(&key_digest(code), &key_digest(given))),
        });
        match file {
            Some(file) if allowed => {
                if file.account_id.is_some() {
                    caller.check_folder(&state, file.folder_id).await?;
                }
                doomed.push(file);
            }
            _ => return Err(ApiError::detail(ErrorCode::ResourceNotFound, &item.url)),
        }
    }
    doomed.sort_by_key(|f| f.id);
    doomed.dedup_by_key(|f| f.id);
    let ids: Vec<i64> = doomed.iter().map(|f| f.id).collect();
    let freed = state.repo().delete_files(&ids).await?;
    state.free_blobs(&freed).await;
    Ok(Json(RmResponse {
        status: Status::Ok,
        removed: doomed.len() as u64,
        urls: doomed
            .iter()
            .map(|f| link_url(&state.config().names, f))
            .collect(),
    }))
}

/// `file/mv.cgi`: the links stay the same after a move.
pub(crate) async fn mv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<MvRequest>,
) -> ApiResult<Json<MvResponse>> {
    check_url_count(req.urls.len())?;
    if req.destination_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "moving into another user's share",
        ));
    }
    let destination = req
        .destination_folder_id
        .ok_or_else(|| ApiError::invalid("destination_folder_id is required"))?;
    own_folder(&state, &caller, destination).await?;
    if let Some(name) = &req.rename {
        if req.urls.len() != 1 {
            return Err(ApiError::invalid("rename needs exactly one url"));
        }
        check_name("rename", name)?;
    }
    let mut files = Vec::with_capacity(req.urls.len());
    for url in &req.urls {
        files.push(own_file(&state, &caller, url).await?);
    }
    if let (Some(name), [file]) = (&req.rename, files.as_slice())
        && *name == file.name
        && file.folder_id == destination
    {
        return Err(ApiError::new(ErrorCode::SameName));
    }
    for file in &mut files {
        file.folder_id = destination;
        if let Some(name) = &req.rename {
            file.name.clone_from(name);
        }
        state.repo().update_file(file).await?;
    }
    Ok(Json(MvResponse {
        status: Status::Ok,
        moved: files.len() as u64,
        urls: files
            .iter()
            .map(|f| link_url(&state.config().names, f))
            .collect(),
        filename: req.rename,
    }))
}

/// `file/rename.cgi`: "No file has been renamed #312" (HTTP 200) when nothing changes.
pub(crate) async fn rename(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<RenameRequest>,
) -> ApiResult<Json<RenameResponse>> {
    check_url_count(req.urls.len())?;
    let mut changes = Vec::with_capacity(req.urls.len());
    for item in &req.urls {
        check_name("filename", &item.filename)?;
        changes.push((own_file(&state, &caller, &item.url).await?, &item.filename));
    }
    let mut renamed = Vec::new();
    for (mut file, new_name) in changes {
        if file.name == *new_name {
            continue;
        }
        let old = std::mem::replace(&mut file.name, new_name.clone());
        state.repo().update_file(&file).await?;
        renamed.push(Renamed {
            url: link_url(&state.config().names, &file),
            old_filename: old,
            new_filename: file.name,
        });
    }
    if renamed.is_empty() {
        return Err(ApiError::new(ErrorCode::NothingRenamed));
    }
    Ok(Json(RenameResponse {
        status: Status::Ok,
        renamed: renamed.len() as u64,
        urls: renamed,
    }))
}

/// `file/cp.cgi`: copies share the source's bytes and get a new link. Another account's file is
/// imported when its password and access list let the caller in.
pub(crate) async fn cp(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<CpRequest>,
) -> ApiResult<Json<CpResponse>> {
    check_url_count(req.urls.len())?;
    if req.sharing_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "copying into another user's share",
        ));
    }
    let destination = req.folder_id.unwrap_or(ids::ROOT_FOLDER);
    own_folder(&state, &caller, destination).await?;
    if let Some(name) = &req.rename {
        if req.urls.len() != 1 {
            return Err(ApiError::invalid("rename needs exactly one url"));
        }
        check_name("rename", name)?;
    }
    let mut sources = Vec::with_capacity(req.urls.len());
    for url in &req.urls {
        let link = parse_link(url)?;
        let Some(file) = state.repo().file_by_link(link.as_str()).await? else {
            return Err(ApiError::detail(ErrorCode::ResourceNotFound, url));
        };
        // Another account's file is imported when its password and access list let us in.
        may_read(&state, &file, &caller, req.pass.as_deref()).await?;
        sources.push(file);
    }
    let now = now();
    let copies: Vec<FileRecord> = sources
        .iter()
        .map(|source| {
            new_file(
                Some(caller.account.id),
                destination,
                req.rename.clone().unwrap_or_else(|| source.name.clone()),
                Content::of_file(source),
                (caller.account.settings.default_domain, now),
            )
        })
        .collect();
    // Copies share their sources' blobs: no new blob, and all of them or none, within the quota.
    let stored = state
        .repo()
        .insert_upload(
            &[],
            &copies,
            Some((caller.account.id, caller.account.hot_quota)),
        )
        .await?;
    let copied: Vec<Copied> = sources
        .iter()
        .zip(&stored)
        .map(|(source, stored)| Copied {
            from_url: link_url(&state.config().names, source),
            to_url: link_url(&state.config().names, stored),
        })
        .collect();
    Ok(Json(CpResponse {
        status: Status::Ok,
        copied: copied.len() as u64,
        urls: copied,
        filename: req.rename,
    }))
}

fn check_acl(acl: &file::Acl) -> ApiResult<Acl> {
    for range in &acl.ip {
        if range.parse::<IpNet>().is_err() && range.parse::<IpAddr>().is_err() {
            return Err(ApiError::invalid(format!("acl.ip {range:?} is not a CIDR")));
        }
    }
    for country in &acl.country {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::invalid(format!(
                "acl.country {country:?} is not an ISO 3166 alpha-2 code"
            )));
        }
    }
    for email in &acl.email {
        if !looks_like_email(email) {
            return Err(ApiError::invalid(format!(
                "acl.email {email:?} is not an e-mail"
            )));
        }
    }
    Ok(Acl {
        ip: acl.ip.clone(),
        country: acl.country.iter().map(|c| c.to_ascii_uppercase()).collect(),
        email: acl.email.clone(),
        premium: acl.premium.0,
    })
}

/// `file/chattr.cgi`: only the fields present change; every value is checked first.
pub(crate) async fn chattr(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<ChattrRequest>,
) -> ApiResult<Json<ChattrResponse>> {
    check_url_count(req.urls.len())?;
    if let Some(name) = &req.filename {
        if req.urls.len() != 1 {
            return Err(ApiError::invalid("filename needs exactly one url"));
        }
        check_name("filename", name)?;
    }
    if let Some(description) = &req.description
        && description.chars().count() > 2_000
    {
        return Err(ApiError::invalid(
            "description is longer than 2000 characters",
        ));
    }
    let pass_hash = match req.pass.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(pass) => {
            check_password("pass", pass)?;
            Some(Some(state.passwords().hash(pass).await))
        }
    };
    let acl = req.acl.as_ref().map(check_acl).transpose()?;
    let mut files = Vec::with_capacity(req.urls.len());
    for url in &req.urls {
        files.push(own_file(&state, &caller, url).await?);
    }
    for file in &mut files {
        if let Some(name) = &req.filename {
            file.name.clone_from(name);
        }
        if let Some(description) = &req.description {
            file.description.clone_from(description);
        }
        if let Some(hash) = &pass_hash {
            file.pass_hash.clone_from(hash);
        }
        if let Some(Flag(v)) = req.no_ssl {
            file.no_ssl = v;
        }
        if let Some(Flag(v)) = req.inline {
            file.inline = v;
        }
        if let Some(Flag(v)) = req.cdn {
            file.cdn = v;
        }
        if let Some(acl) = &acl {
            file.acl = acl.clone();
        }
        state.repo().update_file(file).await?;
    }
    Ok(Json(ChattrResponse {
        status: Status::Ok,
        updated: files.len() as u64,
        urls: files
            .iter()
            .map(|f| link_url(&state.config().names, f))
            .collect(),
    }))
}
