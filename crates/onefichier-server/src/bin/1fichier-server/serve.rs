//! `serve`: the stores opened, the background jobs started, the HTTP surface served until a
//! signal, then drained.

use crate::storage::{open_blobs, redacted};
use anyhow::{Context, Result};
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use onefichier_server::admin::{self, Demo};
use onefichier_server::connections::{CappedAcceptor, connection_cap, raise_open_file_limit};
use onefichier_server::meta::MetaRepo;
use onefichier_server::options::ServeArgs;
use onefichier_server::shared_state::SharedState;
use onefichier_server::{AppState, LimitProfile, app, gc, remote};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// `serve`: opens the stores, starts the background jobs, listens until SIGTERM or Ctrl-C, and
/// drains.
pub(crate) async fn serve(
    repo: Arc<dyn MetaRepo>,
    data: &std::path::Path,
    blobs: Option<&str>,
    args: ServeArgs,
) -> Result<()> {
    let demo = if args.dev {
        Some(admin::ensure_demo(repo.as_ref(), data).await?)
    } else {
        None
    };
    let (blobs, startup_grace) = open_blobs(data, blobs).await?;
    let shared_state = match &args.shared_state {
        Some(url) => Some(
            SharedState::connect(url)
                .await
                .with_context(|| format!("the shared state {} does not answer", redacted(url)))?,
        ),
        None => None,
    };
    let max_connections = match raise_open_file_limit() {
        Ok(files) => connection_cap(files, args.max_connections),
        Err(error) => {
            tracing::warn!(%error, "the open-file limit could not be read or raised");
            args.max_connections
        }
    };
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let config = args.config(address, shared_state);
    let scheme = config.names.scheme();
    onefichier_server::telemetry::install_metrics()?;
    let state = AppState::new(repo, blobs, config);
    start_background_jobs(&state, startup_grace).await?;
    // Caught before the banner and the readiness notice, which tell a supervisor it may now
    // stop the server: a SIGTERM right after them must drain, not kill.
    let stop = catch_stop_signals().context("cannot catch SIGTERM")?;
    // A reader that went away (a closed pipe) must not stop the server it started.
    if let Err(error) = print_banner(scheme, address, demo.as_ref(), args.limits) {
        tracing::warn!(%error, "could not print the address");
    }
    tracing::info!(%address, max_connections, "serving");
    tell_service_manager(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("serving on {scheme}://{address}")),
    ]);
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    serve_until_stopped(listener, service, &args, max_connections, stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The collector (leftovers of an earlier run first) and the remote-upload jobs (those of a
/// process that died taken over).
async fn start_background_jobs(state: &AppState, startup_grace: Duration) -> Result<()> {
    // Nothing of this server's is in flight yet: leftovers of an earlier run are garbage (in a
    // shared bucket, only those older than any upload can be).
    gc::collect(state, startup_grace).await?;
    gc::schedule(
        state.clone(),
        Duration::from_secs(3600),
        Duration::from_secs(86_400),
    );
    let resumed = remote::take_over(state).await?;
    if resumed > 0 {
        tracing::info!(resumed, "remote upload jobs resumed");
    }
    remote::schedule_take_over(state.clone());
    Ok(())
}

/// Serves connections (TLS when a certificate is given, each connection's head within the
/// header timeout, at most `max_connections`) until SIGTERM or Ctrl-C, then drains.
async fn serve_until_stopped(
    listener: std::net::TcpListener,
    service: IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
    args: &ServeArgs,
    max_connections: usize,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let drain = Duration::from_secs(args.drain_seconds);
    tokio::spawn(async move {
        stop.await;
        tracing::info!(
            deadline_seconds = drain.as_secs(),
            "draining: no new connections; requests in flight may finish"
        );
        // systemd's stop timeout may be shorter than the drain: ask for the drain and a margin.
        let wait = drain + Duration::from_secs(10);
        tell_service_manager(&[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::ExtendTimeoutUsec(
                u32::try_from(wait.as_micros()).unwrap_or(u32::MAX),
            ),
            sd_notify::NotifyState::Status("draining"),
        ]);
        stopper.graceful_shutdown(Some(drain));
    });
    let acceptor = CappedAcceptor::new(
        max_connections,
        Duration::from_secs(args.write_timeout_seconds.max(1)),
    );
    let header_timeout = Duration::from_secs(args.header_timeout_seconds.max(1));
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| format!("cannot load {} and {}", cert.display(), key.display()))?;
            let tls = RustlsAcceptor::new(tls)
                .handshake_timeout(header_timeout)
                .acceptor(acceptor);
            let server = axum_server::from_tcp(listener)?.acceptor(tls);
            bounded(server, header_timeout)
                .handle(handle)
                .serve(service)
                .await?;
        }
        _ => {
            let server = axum_server::from_tcp(listener)?.acceptor(acceptor);
            bounded(server, header_timeout)
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    Ok(())
}

/// The first lines on standard output: the address, and with `--dev` the exports and log-in
/// that make the CLI and the website usable at once.
fn print_banner(
    scheme: &str,
    address: SocketAddr,
    demo: Option<&Demo>,
    limits: LimitProfile,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {scheme}://{address}")?;
    if let Some(demo) = demo {
        writeln!(out, "export ONEFICHIER_API_URL={scheme}://{address}/v1")?;
        writeln!(out, "export ONEFICHIER_API_KEY={}", demo.key)?;
        if limits == LimitProfile::Off {
            // The CLI and SDK may then skip the live service's budgets.
            writeln!(out, "export ONEFICHIER_BUDGETS=unlimited")?;
        }
        writeln!(
            out,
            "website: {scheme}://{address}/login as {} with password {}",
            admin::DEMO_EMAIL,
            demo.password
        )?;
    }
    out.flush()
}

/// Every connection's head must arrive within `header_timeout`, the first and each next one on
/// a kept-alive connection (so idle and slowloris connections are closed); accept errors such as
/// running out of file descriptors are logged, and the server backs off and goes on.
fn bounded<A>(
    mut server: axum_server::Server<SocketAddr, A>,
    header_timeout: Duration,
) -> axum_server::Server<SocketAddr, A> {
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    server
        .http_builder()
        .http2()
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    server
        .first_request_timeout(header_timeout)
        .accept_error_handler(|peer, error| {
            tracing::warn!(?peer, %error, "connection not accepted");
        })
}

/// Tells systemd (a `Type=notify` unit's `NOTIFY_SOCKET`) how the server is doing; nothing
/// without it. A failure costs only the notice: logged, never fatal.
fn tell_service_manager(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "could not notify the service manager");
    }
}

/// Resolves at the first SIGTERM or Ctrl-C (SIGINT) after this call.
#[cfg(unix)]
fn catch_stop_signals() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Resolves at the first Ctrl-C.
#[cfg(not(unix))]
fn catch_stop_signals() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
