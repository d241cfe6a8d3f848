//! What the two servers (`serve http`, `serve webdav`) share: who may connect (basic
//! authentication, required beyond loopback, checked here for every request), the counters at
//! `/.metrics`, and listening until Ctrl-C or SIGTERM.

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
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let mode = if vfs.writable() {
        "writable"
    } else {
        "read-only"
    };
    ctx.printer.note(format!(
        "serving {remote} at http://{address}/ ({mode}; Ctrl-C stops)"
    ));
    ctx.printer.json_line(&serde_json::json!({
        "event": "listening", "remote": remote, "url": format!("http://{address}/"),
        "writable": vfs.writable(),
    }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = stop_signal().await;
        })
        .await?;
    report(ctx, vfs, "stopped").await;
    Ok(())
}
