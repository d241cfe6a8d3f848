//! `1fichier-server`: a self-hostable server that speaks the 1fichier API v1, with the key
//! system itself (accounts, API keys with IP allow-lists, limits, the error table).
//!
//! The library exposes [`app`], the whole HTTP surface as an axum `Router`, so tests and
//! embedders can serve it however they like; the binary adds the command line.

#![deny(missing_docs)]

pub mod admin;
pub mod auth;
pub mod blob;
pub mod config;
pub mod connections;
pub(crate) mod domain;
pub mod error;
pub mod extract;
pub mod gc;
pub mod limits;
pub mod listing_cache;
pub mod meta;
pub mod migrate;
pub mod multipart;
pub mod openapi;
pub mod options;
pub mod places;
pub mod policy;
pub mod remote;
pub(crate) mod routes;
pub mod secrets;
pub mod shared_state;
pub mod state;
pub mod telemetry;
pub mod transfer;
pub mod vouchers;
mod web;

pub use config::{LimitProfile, LimitsConfig, ServerConfig};
pub use state::AppState;

use axum::Router;
use error::ApiError;
use onefichier_protocol::ErrorCode;

/// The server's HTTP surface: the API under `/v1/`, the node and website paths (upload, end.pl,
/// direct downloads, public folders, link checks, the website) at the root, and the operator's
/// `/health`, `/ready` and `/metrics`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest("/v1", routes::v1(&state))
        .merge(routes::site(&state))
        .route("/health", axum::routing::get(telemetry::health))
        .route("/metrics", axum::routing::get(telemetry::metrics_page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(connections::close_if_body_unread))
        // One line per request: the route, never the path's secrets, a header or a query.
        .layer(axum::middleware::from_fn(telemetry::access))
        .with_state(state)
}

/// An unknown path: the API's "not found" answer for programs, a page for a browser (which
/// asks for HTML) outside `/v1`.
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wants_page = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page && !uri.path().starts_with("/v1/") {
        return web::plain_message(
            axum::http::StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address. Check the link, or start from the home page.",
        );
    }
    ApiError::detail(ErrorCode::ResourceNotFound, uri.path().to_owned()).into_response()
}
