//! What the two servers (`serve http`, `serve webdav`) share: who may connect (basic
//! authentication, required beyond loopback, checked here for every request), the counters at
//! `/.metrics`, TLS (`--tls-cert`, rustls as in `1fichier-server`), and listening until Ctrl-C
//! or SIGTERM.

use super::{Ctx, report, stop_signal};
use crate::cli::ListenArgs;
use anyhow::{Context, Result, bail};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onefichier_vfs::Vfs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long requests in flight may go on after Ctrl-C or SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The credentials a server requires, if any.
struct Access {
    /// `Basic base64(user:password)`.
    authorization: Option<String>,
}

impl Access {
    /// `--user`, with the password from the environment; refused beyond loopback without one,
    /// so that the account's files are never open to anyone by mistake.
    fn new(listen: SocketAddr, user: Option<&str>) -> Result<Self> {
        let authorization = match user {
            Some(user) => {
                let password =
                    std::env::var(crate::env_vars::SERVE_PASSWORD).with_context(|| {
                        format!(
                            "--user needs a password in {}",
                            crate::env_vars::SERVE_PASSWORD
                        )
                    })?;
                if password.is_empty() || user.contains(':') {
                    bail!("--user needs a user without `:` and a password that is not empty");
                }
                Some(basic(user, &password))
            }
            None if !listen.ip().is_loopback() => bail!(
                "{listen} is reachable beyond this machine: give --user (and the password in {}) \
                 so that the account's files are not open to anyone",
                crate::env_vars::SERVE_PASSWORD
            ),
            None => None,
        };
        Ok(Self { authorization })
    }

    /// `None` when the request may go on, else the 401 to answer.
    fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let expected = self.authorization.as_ref()?;
        let given = headers
            .get(header::AUTHORIZATION)
            .map_or(&b""[..], HeaderValue::as_bytes);
        if bool::from(subtle::ConstantTimeEq::ct_eq(given, expected.as_bytes())) {
            return None;
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"1fichier\"")],
                "authentication required\n",
            )
                .into_response(),
        )
    }
}

/// The `Authorization` value of basic authentication.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Every request: refused without the credentials `--user` asks for.
async fn authenticate(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    match access.refusal(request.headers()) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// Serves `app` (with the counters at `/.metrics`, and the credentials checked first) on the
/// address `server` gives until Ctrl-C or SIGTERM, saying where, then what it did.
pub(super) async fn serve(
    ctx: &Ctx,
    vfs: &Vfs,
    remote: &str,
    server: &ListenArgs,
    app: axum::Router,
) -> Result<()> {
    let listen = server.listen;
    let access = Arc::new(Access::new(listen, server.user.as_deref())?);
    let counters = vfs.clone();
    let app = app
        .route(
            "/.metrics",
            axum::routing::get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    counters.stats().prometheus(),
                )
            }),
        )
        .layer(axum::middleware::from_fn_with_state(access, authenticate));
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let tls = match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| format!("cannot load {} and {}", cert.display(), key.display()))?,
        ),
        _ => None,
    };
    let url = format!(
        "{}://{address}/",
        if tls.is_some() { "https" } else { "http" }
    );
    let mode = if vfs.writable() {
        "writable"
    } else {
        "read-only"
    };
    ctx.printer
        .note(format!("serving {remote} at {url} ({mode}; Ctrl-C stops)"));
    if tls.is_none() && !listen.ip().is_loopback() {
        ctx.printer.note(format!(
            "warning: {listen} is reachable beyond this machine without TLS: the password \
             travels readable; give --tls-cert and --tls-key"
        ));
    }
    ctx.printer.json_line(&serde_json::json!({
        "event": "listening", "remote": remote, "url": url, "writable": vfs.writable(),
    }));
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        let _ = stop_signal().await;
        // Players and file managers keep connections open: requests in flight get a moment.
        stopper.graceful_shutdown(Some(STOP_GRACE));
    });
    let service = app.into_make_service();
    match tls {
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(service)
                .await?;
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    report(ctx, vfs, "stopped").await;
    Ok(())
}
