//! Browser sessions and CSRF tokens. A session is a random cookie value whose SHA-256 is the
//! row's key in the metadata store (server-side, so it can be revoked), `HttpOnly`,
//! `SameSite=Strict`, `Secure` under TLS. Every form of a session carries the session's CSRF
//! token; the log-in and sign-up forms, made before any session exists, carry a token that must
//! match a cookie of the same browser (double submit).

use super::Nav;
use crate::config::SignupMode;
use crate::extract::{client_ip_from, forwarded_https};
use crate::meta::{Account, WebSession};
use crate::secrets::{digests_equal, key_digest, random_id};
use crate::state::{AppState, now};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use std::net::{IpAddr, SocketAddr};

/// The session cookie.
const SESSION_COOKIE: &str = "onefichier_session";
/// The cookie of forms shown before a session exists.
const FORM_COOKIE: &str = "onefichier_form";
/// A session not used for this long ends.
const IDLE_LIMIT: i64 = 7 * 86_400;
/// A session ends this long after the log-in, used or not.
const AGE_LIMIT: i64 = 30 * 86_400;

/// A logged-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Login {
    pub session: WebSession,
    pub account: Account,
}

/// Whoever sent the request: their address, cookies, and session if any.
pub(crate) struct Visitor {
    pub ip: IpAddr,
    pub jar: CookieJar,
    pub headers: HeaderMap,
    /// A session whose log-in is complete.
    pub login: Option<Login>,
    /// A session that still owes the second factor.
    pub pending: Option<WebSession>,
    secure: bool,
    signup_open: bool,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        let ip = client_ip_from(&parts.headers, peer, &state.config().trusted_proxies);
        let jar = CookieJar::from_headers(&parts.headers);
        let mut visitor = Self {
            ip,
            headers: parts.headers.clone(),
            login: None,
            pending: None,
            // Secure whenever the browser speaks TLS: to this server, or to a trusted proxy in
            // front of it.
            secure: state.config().names.tls
                || forwarded_https(&parts.headers, peer, &state.config().trusted_proxies),
            signup_open: state.config().web.signup != SignupMode::Closed,
            jar,
        };
        let Some(cookie) = visitor.jar.get(SESSION_COOKIE) else {
            return Ok(visitor);
        };
        let digest = key_digest(cookie.value());
        let now = now();
        let (idle_before, created_before) = stale_limits(now);
        // A store that fails reads as "not logged in": the page then asks to log in again.
        let session = match state
            .repo()
            .session(&digest, now, idle_before, created_before)
            .await
        {
            Ok(Some(session)) => session,
            Ok(None) => return Ok(visitor),
            Err(error) => {
                tracing::error!(%error, "session lookup failed");
                return Ok(visitor);
            }
        };
        if session.pending_totp {
            visitor.pending = Some(session);
            return Ok(visitor);
        }
        if let Ok(Some(account)) = state.repo().account(session.account_id).await {
            crate::telemetry::note_account(&parts.extensions, account.id);
            visitor.login = Some(Login { session, account });
        }
        Ok(visitor)
    }
}

impl Visitor {
    /// The header of a page for this visitor.
    pub(crate) fn nav(&self) -> Nav {
        Nav {
            email: self.login.as_ref().map(|l| l.account.email.clone()),
            csrf: self
                .login
                .as_ref()
                .map(|l| l.session.csrf.clone())
                .unwrap_or_default(),
            signup_open: self.signup_open,
            notice: None,
            error: None,
        }
    }

    /// The token for a form shown before log-in, and the cookie jar that carries its twin.
    pub(crate) fn form_token(&self) -> (String, CookieJar) {
        if let Some(existing) = self.jar.get(FORM_COOKIE) {
            return (existing.value().to_owned(), self.jar.clone());
        }
        let token = random_id(32, false);
        let cookie = self.cookie(FORM_COOKIE, token.clone());
        (token, self.jar.clone().add(cookie))
    }

    /// Whether a form posted before log-in is this browser's own: same origin, and its token
    /// matches the cookie.
    pub(crate) fn form_is_genuine(&self, token: &str) -> bool {
        super::same_origin(&self.headers)
            && self
                .jar
                .get(FORM_COOKIE)
                .is_some_and(|cookie| tokens_equal(cookie.value(), token))
    }

    /// Whether a form posted in a session is genuine: same origin, and its token is the
    /// session's.
    pub(crate) fn session_form_is_genuine(&self, session: &WebSession, token: &str) -> bool {
        super::same_origin(&self.headers) && tokens_equal(&session.csrf, token)
    }

    /// Opens a session for `account_id` (pending the second factor when `pending_totp`), and
    /// returns the jar that sets its cookie. The old session cookie, if any, is replaced: a
    /// session id never survives a log-in (no fixation).
    pub(crate) async fn open_session(
        &self,
        state: &AppState,
        account_id: i64,
        pending_totp: bool,
    ) -> Result<CookieJar, crate::meta::MetaError> {
        if let Some(old) = self.jar.get(SESSION_COOKIE) {
            state
                .repo()
                .delete_session(&key_digest(old.value()))
                .await?;
        }
        let secret = random_id(43, false);
        let now = now();
        state
            .repo()
            .insert_session(&WebSession {
                digest: key_digest(&secret),
                account_id,
                csrf: random_id(32, false),
                created_at: now,
                seen_at: now,
                ip: self.ip.to_string(),
                pending_totp,
                proved_at: now,
            })
            .await?;
        Ok(self
            .jar
            .clone()
            .remove(Cookie::build(FORM_COOKIE).path("/"))
            .add(self.cookie(SESSION_COOKIE, secret)))
    }

    /// Ends this browser's session; returns the jar that clears its cookie.
    pub(crate) async fn close_session(&self, state: &AppState) -> CookieJar {
        if let Some(cookie) = self.jar.get(SESSION_COOKIE)
            && let Err(error) = state
                .repo()
                .delete_session(&key_digest(cookie.value()))
                .await
        {
            tracing::error!(%error, "session not deleted");
        }
        self.jar
            .clone()
            .remove(Cookie::build(SESSION_COOKIE).path("/"))
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .build()
    }
}

/// Sessions idle or old past their limits; the collector deletes them.
pub(crate) fn stale_limits(now: i64) -> (i64, i64) {
    (now - IDLE_LIMIT, now - AGE_LIMIT)
}

fn tokens_equal(a: &str, b: &str) -> bool {
    digests_equal(&key_digest(a), &key_digest(b))
}
