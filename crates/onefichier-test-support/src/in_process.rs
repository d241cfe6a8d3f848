//! The server without a process: its router ([`onefichier_server::app`]) on SQLite and a blob
//! folder in a temporary directory, called in process by the SDK through [`InProcess`], an
//! [`HttpService`]. No port is opened and nothing is spawned; requests keep their URLs (the API
//! on the site host, uploads on the upload host, direct downloads on their own host), so the
//! server sees what it would see over a socket, from a loopback peer.

use anyhow::{Context, Result};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use futures::future::BoxFuture;
use onefichier_client::{Budgets, Client, ClientBuilder, HttpService};
use onefichier_protocol::user::Offer;
use onefichier_server::admin::{self, KeyOptions};
use onefichier_server::blob::LocalBlobStore;
use onefichier_server::config::PublicNames;
use onefichier_server::meta::SqliteRepo;
use onefichier_server::{AppState, LimitProfile, app};

pub use onefichier_server::ServerConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// The site (and API and upload node) host of in-process servers: a name that no resolver
/// knows, so a request that escaped the in-process transport could go nowhere.
pub const SITE_HOST: &str = "site.in-process.invalid";
/// The host of direct downloads, another origin than the site's as a real server has.
pub const DOWNLOAD_HOST: &str = "dl.in-process.invalid";

/// The router as the SDK's HTTP service: each request goes through `oneshot`, from a loopback
/// peer, with the `Host` header a client would send.
#[derive(Clone)]
pub struct InProcess {
    app: axum::Router,
    peer: SocketAddr,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// Calls `app` for every request, as if from `peer`.
    pub fn new(app: axum::Router, peer: SocketAddr) -> Self {
        Self { app, peer }
    }
}

impl HttpService for InProcess {
    fn execute(
        &self,
        request: reqwest::Request,
    ) -> BoxFuture<'static, reqwest::Result<reqwest::Response>> {
        let app = self.app.clone();
        let peer = self.peer;
        Box::pin(async move {
            let url = request.url().clone();
            let mut request = axum::http::Request::<reqwest::Body>::try_from(request)?;
            // hyper's client sends Host from the URL; the server tells its origins apart by it.
            if let Ok(host) = HeaderValue::from_str(url.authority()) {
                request.headers_mut().entry(header::HOST).or_insert(host);
            }
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = request.map(axum::body::Body::new);
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = response.map(|body| reqwest::Body::wrap_stream(body.into_data_stream()));
            Ok(reqwest::Response::from(response))
        })
    }
}

/// The server on SQLite and a blob folder in `data`, with `config`: its state, and its router
/// as seen from a loopback peer.
async fn open(data: &Path, config: ServerConfig) -> Result<(AppState, InProcess)> {
    let repo = Arc::new(SqliteRepo::open(data).await?);
    let blobs = Arc::new(LocalBlobStore::open(data).await?);
    let state = AppState::new(repo, blobs, config);
    let peer = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let router = InProcess::new(app(state.clone()), peer);
    Ok((state, router))
}

/// A server in process: its state (for assertions on the stores) and the transport to it.
pub struct InProcessServer {
    state: AppState,
    transport: Arc<InProcess>,
    data: tempfile::TempDir,
}

impl InProcessServer {
    /// A server with the limits off (as the tests' `--limits off`), changed by `configure`.
    pub async fn new(configure: impl FnOnce(&mut ServerConfig)) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let mut config = ServerConfig {
            names: PublicNames {
                tls: false,
                site_host: SITE_HOST.to_owned(),
                upload_hosts: vec![SITE_HOST.to_owned()],
                download_host: DOWNLOAD_HOST.to_owned(),
            },
            ..ServerConfig::default()
        };
        config.limits.profile = LimitProfile::Off;
        configure(&mut config);
        let (state, transport) = open(data.path(), config).await?;
        Ok(Self {
            state,
            transport: Arc::new(transport),
            data,
        })
    }

    /// The server's state: its stores and settings.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The folder of the SQLite database and the blobs.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// The API's base URL, as a client is given it (on the site host whatever links say).
    pub fn api_url(&self) -> String {
        format!("http://{SITE_HOST}/v1")
    }

    /// Creates an account of `offer`, as `1fichier-server account create` does.
    pub async fn create_account(&self, email: &str, offer: Offer) -> Result<()> {
        admin::create_account(self.state.repo(), email, offer).await?;
        Ok(())
    }

    /// Creates a voucher for `service` held by `email`'s account and returns its code.
    pub async fn create_voucher(&self, email: &str, service: &str) -> Result<String> {
        Ok(admin::create_voucher(self.state.repo(), email, service).await?)
    }

    /// Creates an account of `offer` with a full-access key and returns the key.
    pub async fn account_with_key(&self, email: &str, offer: Offer) -> Result<String> {
        self.create_account(email, offer).await?;
        let options = KeyOptions::default();
        let (_, secret) = admin::create_key(self.state.repo(), email, "test", options).await?;
        Ok(secret)
    }

    /// A client builder for this server with `key`: requests go in process, no budgets, the
    /// governor's state in memory.
    pub fn client_builder(&self, key: Option<&str>) -> ClientBuilder {
        let builder = Client::builder()
            .api_url(self.api_url())
            .http_service(self.transport.clone())
            .budgets(Budgets::unlimited())
            .state_in_memory();
        match key {
            Some(key) => builder.api_key(key),
            None => builder,
        }
    }
}

/// The in-process servers by the port their URLs name (a number no socket uses here: each
/// server gets its own, so requests can find their server by URL).
static REGISTRY: Mutex<Vec<(u16, std::sync::Weak<LazyRouter>)>> = Mutex::new(Vec::new());
/// The next port an in-process server is named by.
static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(20_000);

/// Names `router` by a port of its own (the given one, unless it is 0) and returns the address
/// it answers at.
pub(crate) fn register(router: &Arc<LazyRouter>, listen: &str) -> Result<String> {
    let mut address: SocketAddr = listen.parse()?;
    if address.port() == 0 {
        address.set_port(NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    }
    let mut registry = REGISTRY.lock().expect("registry lock");
    registry.retain(|(_, router)| router.strong_count() > 0);
    registry.push((address.port(), Arc::downgrade(router)));
    Ok(address.to_string())
}

/// The in-process server a URL names, if any.
pub(crate) fn router_for(url: &url::Url) -> Option<Arc<LazyRouter>> {
    let port = url.port_or_known_default()?;
    let registry = REGISTRY.lock().expect("registry lock");
    registry
        .iter()
        .rev()
        .find(|(named, _)| *named == port)
        .and_then(|(_, router)| router.upgrade())
}

/// The router of a [`crate::TestServer`] made in process: configured (synchronously) by
/// `start`, built on its first request (opening the stores is asynchronous).
#[derive(Default)]
pub(crate) struct LazyRouter {
    settings: Mutex<Option<(PathBuf, ServerConfig)>>,
    router: tokio::sync::OnceCell<InProcess>,
}

/// `serve`'s arguments, parsed as the binary parses them.
#[derive(clap::Parser)]
struct Serve {
    #[command(flatten)]
    args: onefichier_server::options::ServeArgs,
}

impl LazyRouter {
    /// Takes `serve --listen LISTEN EXTRA…` for the server on `data`.
    pub(crate) fn configure(&self, data: &Path, listen: &str, extra: &[&str]) -> Result<()> {
        let argv = ["serve", "--listen", listen]
            .into_iter()
            .chain(extra.iter().copied());
        let serve = <Serve as clap::Parser>::try_parse_from(argv)?;
        let address: SocketAddr = listen.parse()?;
        let config = serve.args.config(address, None);
        *self.settings.lock().expect("settings lock") = Some((data.to_owned(), config));
        Ok(())
    }

    /// Sends `request` to the router, built on first use.
    pub(crate) async fn send(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        let router = self
            .router
            .get_or_try_init(|| async {
                let settings = self.settings.lock().expect("settings lock").take();
                let (data, config) = settings.context("the server was not started")?;
                Ok::<_, anyhow::Error>(open(&data, config).await?.1)
            })
            .await?;
        Ok(router.execute(request).await?)
    }
}
