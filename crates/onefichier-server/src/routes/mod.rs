//! The routers of the v1 endpoints (one module per API family) and of the node and website
//! paths. Handlers parse, ask [`crate::policy`] and [`crate::domain`], and answer; nothing below
//! imports from here.

mod download;
mod file;
mod folder;
mod ftp;
mod public;
mod remote;
mod upload;
mod user;
mod vouchers;

use crate::auth::{admit_anonymous, guard_site, guard_transfer, require_key};
use crate::policy::require_access;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};
use onefichier_protocol::Endpoint;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The `/v1` router: every keyed endpoint of the protocol's table, each behind the access its
/// table entry decides (`require_key` runs first).
pub(crate) fn v1(state: &AppState) -> Router<AppState> {
    let keyed = Endpoint::ALL
        .iter()
        .copied()
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
            &format!("/{}", Endpoint::UploadGetUploadServer.path()),
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
