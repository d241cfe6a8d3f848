//! The v1 endpoints, one module per API family, and the helpers they share.

pub(crate) mod download;
mod file;
mod folder;
mod ftp;
mod public;
mod remote;
mod upload;
mod user;
mod vouchers;

use crate::auth::{Caller, admit_anonymous, guard_site, guard_transfer, require_key};
use crate::config::PublicNames;
use crate::error::{ApiError, ApiResult};
use crate::meta::{FileRecord, Folder};
use crate::policy::require_access;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};
use onefichier_protocol::ids::{self, LinkId};
use onefichier_protocol::{Endpoint, ErrorCode, date};
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The `/v1` router: every keyed endpoint of the protocol's table, each behind the access its
/// table entry decides (`require_key` runs first).
pub(crate) fn v1(state: &AppState) -> Router<AppState> {
    let keyed = Endpoint::ALL
        .into_iter()
        .filter(|endpoint| endpoint.requires_key())
        .fold(Router::new(), |router, endpoint| {
            router.route(
                &format!("/{}", endpoint.path()),
                keyed_handler(endpoint).route_layer(from_fn(move |req, next| {
                    require_access(endpoint, req, next)
                })),
            )
        })
        .route_layer(from_fn_with_state(state.clone(), require_key));
    let anonymous = Router::new()
        .route(
            "/upload/get_upload_server.cgi",
            get(upload::get_upload_server).post(upload::get_upload_server),
        )
        .route_layer(from_fn_with_state(state.clone(), admit_anonymous));
    keyed
        .merge(anonymous)
        .route("/openapi.json", get(openapi_document))
        .layer(DefaultBodyLimit::max(state.config().max_json_body))
        .layer(RequestBodyTimeoutLayer::new(
            state.config().body_idle_timeout,
        ))
}

/// The handler of a keyed endpoint.
fn keyed_handler(endpoint: Endpoint) -> MethodRouter<AppState> {
    match endpoint {
        Endpoint::DownloadGetToken => post(download::get_token),
        Endpoint::FileLs => post(file::ls),
        Endpoint::FileInfo => post(file::info),
        Endpoint::FileScan => post(file::scan),
        Endpoint::FileRm => post(file::rm),
        Endpoint::FileMv => post(file::mv),
        Endpoint::FileRename => post(file::rename),
        Endpoint::FileCp => post(file::cp),
        Endpoint::FileChattr => post(file::chattr),
        Endpoint::FolderLs => post(folder::ls),
        Endpoint::FolderMkdir => post(folder::mkdir),
        Endpoint::FolderShare => post(folder::share),
        Endpoint::FolderMv => post(folder::mv),
        Endpoint::FolderRm => post(folder::rm),
        Endpoint::UserInfo => post(user::info),
        Endpoint::FtpProcess => post(ftp::process),
        Endpoint::FtpUsersLs => post(ftp::users_ls),
        Endpoint::FtpUsersAdd => post(ftp::users_add),
        Endpoint::FtpUsersRm => post(ftp::users_rm),
        Endpoint::RemoteLs => post(remote::ls),
        Endpoint::RemoteInfo => post(remote::info),
        Endpoint::RemoteRequest => post(remote::request),
        Endpoint::VouchersLs => post(vouchers::ls),
        Endpoint::VouchersCheck => post(vouchers::check),
        Endpoint::VouchersUse => post(vouchers::use_voucher),
        // Keyless (get_upload_server) or unknown to this server: no keyed route.
        other => unreachable!("{other:?} has no keyed handler"),
    }
}

/// `GET /v1/openapi.json`: the document, built once.
async fn openapi_document() -> impl axum::response::IntoResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        serde_json::to_string_pretty(&crate::openapi::document()).expect("the document serialises")
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.as_str(),
    )
}

/// Largest body of a website form (and of check_links.pl, 100 links).
const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The website and node paths: uploads, end.pl, direct downloads, link pages, public folders,
/// link checks. Uploads stream without a body limit; the size rules are the upload's own.
pub(crate) fn site(state: &AppState) -> Router<AppState> {
    let transfers = Router::new()
        .route(
            "/upload.cgi",
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/dl/{token}",
            get(download::serve).layer(from_fn_with_state(
                state.clone(),
                download::user_bytes_headers,
            )),
        )
        .route_layer(from_fn_with_state(state.clone(), guard_transfer));
    Router::new()
        .route("/end.pl", get(upload::end))
        .route("/dir/{id}", get(public::dir_get).post(public::dir_post))
        .route(
            "/{lang}/dir/{id}",
            get(public::dir_get).post(public::dir_post),
        )
        .route("/check_links.pl", post(public::check_links))
        .route("/ready", get(crate::telemetry::ready))
        .merge(crate::web::router())
        .route_layer(from_fn_with_state(state.clone(), crate::web::page_headers))
        .route_layer(from_fn_with_state(state.clone(), guard_site))
        // Forms are small: a body past this is refused before it is read.
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        // Short requests: a body (a form) that stops arriving must not keep its place.
        .layer(RequestBodyTimeoutLayer::new(
            state.config().body_idle_timeout,
        ))
        .merge(transfers)
}

/// The public link of a file: `SCHEME://SITE/?ID`.
pub(crate) fn link_url(names: &PublicNames, file: &FileRecord) -> String {
    link_of(names, file.domain, &file.link_id)
}

/// The public link of a link id: on this server's site host, or, when the site host is one of
/// 1fichier's names (the compatibility harness), on the file's domain as the service prints it.
pub(crate) fn link_of(names: &PublicNames, domain: i64, link_id: &str) -> String {
    if names.is_1fichier() {
        let domain = ids::domain_name(domain).unwrap_or(ids::DOMAINS[0]);
        format!("https://{domain}/?{link_id}")
    } else {
        format!("{}/?{link_id}", names.site_url())
    }
}

/// The link id in a `url` field, or a refusal naming the field.
pub(crate) fn parse_link(url: &str) -> ApiResult<LinkId> {
    LinkId::from_link(url)
        .map_err(|_| ApiError::invalid(format!("url {url:?} is not a download link")))
}

/// A file the caller owns, by link, inside the folder its key is confined to; another
/// account's file is "not found", never revealed.
pub(crate) async fn own_file(
    state: &AppState,
    caller: &Caller,
    url: &str,
) -> ApiResult<FileRecord> {
    let link = parse_link(url)?;
    match state.repo().file_by_link(link.as_str()).await? {
        Some(file) if file.account_id == Some(caller.account.id) => {
            caller.check_folder(state, file.folder_id).await?;
            Ok(file)
        }
        _ => Err(ApiError::detail(ErrorCode::ResourceNotFound, url)),
    }
}

/// A folder the caller owns, inside the folder its key is confined to; `None` for the root
/// (id 0).
pub(crate) async fn own_folder(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<Option<Folder>> {
    let folder = if id == ids::ROOT_FOLDER {
        None
    } else {
        match state.repo().folder(caller.account.id, id).await? {
            Some(folder) => Some(folder),
            None => {
                return Err(ApiError::detail(
                    ErrorCode::FolderNotFound,
                    format!("folder_id {id}"),
                ));
            }
        }
    };
    caller.check_folder(state, id).await?;
    Ok(folder)
}

/// A folder the caller may change (move, remove, share): [`own_folder`], and not the folder its
/// key is confined to, which stays where its owner put it.
pub(crate) async fn changeable_folder(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<Option<Folder>> {
    if caller.key.folder_id == Some(id) {
        return Err(ApiError::detail(
            ErrorCode::KeyScope,
            format!("folder {id} is this key's root: it cannot move, share or remove it"),
        ));
    }
    own_folder(state, caller, id).await
}

/// Checks a name, naming the field in the refusal.
pub(crate) fn check_name(field: &str, name: &str) -> ApiResult<()> {
    ids::check_name(name).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// Checks a password's length (6 characters at least, as the service requires).
pub(crate) fn check_password(field: &str, pass: &str) -> ApiResult<()> {
    if pass.chars().count() < 6 {
        return Err(ApiError::invalid(format!(
            "{field} must have at least 6 characters"
        )));
    }
    if pass.len() > 256 {
        return Err(ApiError::invalid(format!(
            "{field} is longer than 256 bytes"
        )));
    }
    Ok(())
}

/// Parses an API date field.
pub(crate) fn parse_date(field: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| date::parse_unix(v).map_err(|e| ApiError::invalid(format!("{field}: {e}"))))
        .transpose()
}

/// The `A/B` path of a folder (empty for the root).
pub(crate) async fn folder_path(
    state: &AppState,
    account_id: i64,
    mut id: i64,
) -> ApiResult<String> {
    let mut names = Vec::new();
    // Bounded so that a corrupt parent cycle cannot loop forever.
    for _ in 0..1000 {
        if id == ids::ROOT_FOLDER {
            break;
        }
        let Some(folder) = state.repo().folder(account_id, id).await? else {
            break;
        };
        names.push(folder.name);
        id = folder.parent_id;
    }
    names.reverse();
    Ok(names.join("/"))
}
