//! The website, served by the same process as the API: accounts (sign-up, log-in, password,
//! second factor), the API Manager, and the pages anyone with a link sees (downloads, shared
//! folders, removal links). Pages are askama templates (escaped by default), forms work without
//! JavaScript, and every form that changes something carries a CSRF token and must come from
//! this site.

mod account;
mod files;
mod keys;
mod session;

pub(crate) use session::stale_limits as stale_session_limits;

pub(crate) use files::{SharedFile, dir_page};

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

/// The site's pages.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(files::home_or_file).post(files::file_post))
        .route(
            "/remove/{link}/{code}",
            get(files::remove_get).post(files::remove_post),
        )
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/login", get(account::login_form).post(account::login))
        .route(
            "/login/totp",
            get(account::totp_form).post(account::totp_login),
        )
        .route("/logout", post(account::logout))
        .route("/account", get(account::overview))
        .route("/account/password", post(account::change_password))
        .route("/account/inbox", post(account::inbox))
        .route("/account/totp/begin", post(account::totp_begin))
        .route("/account/totp/confirm", post(account::totp_confirm))
        .route("/account/totp/disable", post(account::totp_disable))
        .route("/account/api-keys", get(keys::page).post(keys::create))
        .route("/account/api-keys/{id}", post(keys::change))
        .route("/account/api-keys/{id}/revoke", get(keys::confirm_revoke))
        .route("/static/site.css", get(stylesheet))
        .route("/static/site.js", get(script))
}

/// What every page shows in its header: who is logged in, and a message of the last action.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nav {
    /// The logged-in account's e-mail.
    pub email: Option<String>,
    /// The session's CSRF token (for the log-out form).
    pub csrf: String,
    /// Whether the sign-up link shows.
    pub signup_open: bool,
    /// A confirmation.
    pub notice: Option<String>,
    /// A refusal of the form just sent.
    pub error: Option<String>,
}

impl Nav {
    pub(crate) fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    pub(crate) fn with_notice(mut self, notice: impl Into<String>) -> Self {
        self.notice = Some(notice.into());
        self
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    nav: Nav,
    title: &'a str,
    message: &'a str,
}

/// Renders a page; a template that fails to render is the server's fault (500, logged).
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page with a title and one message (refusals, confirmations); the message sits in a
/// `div.bloc2`, where scrapers of the service's pages look for it.
pub(crate) fn message(status: StatusCode, nav: Nav, title: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            nav,
            title,
            message: text,
        },
    )
}

/// [`message`] for the node paths (upload, end.pl, downloads), which have no visitor at hand.
pub(crate) fn plain_message(status: StatusCode, title: &str, text: &str) -> Response {
    message(status, Nav::default(), title, text)
}

/// See other: where a form sends the browser once it is done.
pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Whether a form post comes from this site's own pages: the browser's `Sec-Fetch-Site` says
/// so, and the `Origin`, when sent, names the host the request went to. A cross-site post is
/// refused even before its CSRF token is looked at.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host.trim_end_matches('/'));
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// Headers every page carries: a strict Content-Security-Policy (only this server's own
/// stylesheet and script; no inline script, no frames, forms post here only), no sniffing, no
/// referrer outside the site, and no caching of account pages.
pub(crate) async fn page_headers(State(_): State<AppState>, req: Request, next: Next) -> Response {
    // Account pages, every answer to a form (a direct link's token, a new key's secret), and
    // the answers that carry removal codes (end.pl, removal pages).
    let path = req.uri().path();
    let private = req.method() == axum::http::Method::POST
        || ["/account", "/login", "/signup", "/end.pl", "/remove/"]
            .iter()
            .any(|prefix| path.starts_with(prefix));
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/site.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/site.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:9999"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "same-site"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null"),
        ])));
    }
}
