//! Test helpers: start the real `1fichier-server` binary on `127.0.0.1:0` with a temporary data
//! folder, run its admin commands, and call its API. Nothing here talks to anything but loopback.

pub mod fault;
pub mod fuzz;
pub mod garage;
pub mod in_process;
pub mod nginx;
pub mod postgres;
pub mod redis;
pub mod tls;

use anyhow::{Context, Result, bail, ensure};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Deterministic bytes that neither compress nor repeat in an obvious way (xorshift64).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A loopback port free at this moment, for a process that must be told its port beforehand
/// (another process may take it meanwhile; the tests live with that).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `1fichier-server` binary of this build: `ONEFICHIER_SERVER_BIN`, else the one next to the
/// running test's `deps` folder (`cargo test --workspace` builds it).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ONEFICHIER_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/PROFILE/deps");
    let binary = dir.join("1fichier-server");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --bins` (scripts/test does) or set ONEFICHIER_SERVER_BIN",
        binary.display()
    );
    binary
}

/// `line` without its ANSI colour sequences (`ESC [ … m`).
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// A server process with its own data folder; killed when dropped.
pub struct TestServer {
    binary: PathBuf,
    data: tempfile::TempDir,
    child: Option<Child>,
    address: Option<String>,
    stderr_log: PathBuf,
    client: reqwest::Client,
    scheme: &'static str,
    log_requests: bool,
    envs: Vec<(String, String)>,
    /// The PostgreSQL database holding this server's metadata, when it is not SQLite.
    database: Option<postgres::TestDatabase>,
    /// The Garage node holding this server's file bytes, when they are not in its folder, and
    /// the `s3://` URL they are under.
    garage: Option<(garage::Garage, String)>,
    /// The Redis holding this server's limits, when they are shared.
    redis: Option<redis::Redis>,
    /// Served by its router in this process rather than by a child process (see
    /// [`TestServer::in_process`]).
    router: Option<std::sync::Arc<in_process::LazyRouter>>,
}

/// A browser without JavaScript: keeps cookies, shows redirects instead of following them, and
/// sends its requests to the server their URL names: over the network, or to a server's
/// router in process ([`TestServer::in_process`]).
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    headers: reqwest::header::HeaderMap,
}

impl Default for Browser {
    fn default() -> Self {
        Self::with_headers(reqwest::header::HeaderMap::new())
    }
}

impl Browser {
    /// A browser that sends `headers` with every request (e.g. `X-Forwarded-For`, as a proxy
    /// in front of the server would).
    pub fn with_headers(headers: reqwest::header::HeaderMap) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(std::sync::Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers.clone())
            .build()
            .expect("a browser client");
        Self {
            client,
            jar,
            headers,
        }
    }

    /// A GET of `url`, to send with [`Browser::send`].
    pub fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    /// A POST to `url`, to send with [`Browser::send`].
    pub fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Sends `request` with the browser's cookies and headers, and keeps the cookies it sets.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        use reqwest::cookie::CookieStore;
        let mut request = request.build()?;
        let Some(router) = in_process::router_for(request.url()) else {
            return Ok(self.client.execute(request).await?);
        };
        let url = request.url().clone();
        for (name, value) in &self.headers {
            request
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
        if let Some(cookies) = self.jar.cookies(&url) {
            request
                .headers_mut()
                .insert(reqwest::header::COOKIE, cookies);
        }
        let response = router.send(request).await?;
        let mut set = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter();
        self.jar.set_cookies(&mut set, &url);
        Ok(response)
    }
}

/// The scale-out backends the environment asks test servers to use (see [`TestServer::new`]).
struct ScaleOut {
    /// `ONEFICHIER_TEST_META=postgres`.
    postgres: bool,
    /// `ONEFICHIER_TEST_BLOBS=s3`.
    s3: bool,
    /// `ONEFICHIER_TEST_SHARED_STATE=redis`.
    redis: bool,
}

impl ScaleOut {
    fn asked() -> Self {
        let asked = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
        Self {
            postgres: asked("ONEFICHIER_TEST_META", "postgres"),
            s3: asked("ONEFICHIER_TEST_BLOBS", "s3"),
            redis: asked("ONEFICHIER_TEST_SHARED_STATE", "redis"),
        }
    }

    fn any(&self) -> bool {
        self.postgres || self.s3 || self.redis
    }
}

/// An API answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when it was not JSON).
    pub json: serde_json::Value,
    /// The body as text.
    pub text: String,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// The `Location` header.
    pub location: Option<String>,
}

impl Answer {
    /// The KO message, if the answer is a refusal.
    pub fn ko_message(&self) -> Option<&str> {
        (self.json["status"] == "KO")
            .then(|| self.json["message"].as_str())
            .flatten()
    }
}

impl TestServer {
    /// A server around `binary` with a fresh data folder, not started yet. By default it keeps
    /// everything in that folder; the environment moves each part to the scale-out backends, so
    /// that any test runs on them too: `ONEFICHIER_TEST_META=postgres` (a PostgreSQL database
    /// of its own), `ONEFICHIER_TEST_BLOBS=s3` (a Garage node of its own),
    /// `ONEFICHIER_TEST_SHARED_STATE=redis` (a Redis of its own).
    pub fn new(binary: impl Into<PathBuf>) -> Result<Self> {
        let mut server = Self::on_sqlite(binary)?;
        let asked = ScaleOut::asked();
        if asked.postgres {
            server.use_postgres(
                postgres::TestDatabase::create()
                    .context("ONEFICHIER_TEST_META=postgres needs a PostgreSQL server")?,
            );
        }
        if asked.s3 {
            let garage =
                garage::Garage::start().context("ONEFICHIER_TEST_BLOBS=s3 needs garage")?;
            let url = format!("s3://{}/files", garage.bucket("tests")?);
            server.set_env(garage.aws_vars());
            server.set_env([("ONEFICHIER_SERVER_BLOBS".to_owned(), url.clone())]);
            server.garage = Some((garage, url));
        }
        if asked.redis {
            let redis = redis::Redis::start_or_skip()?
                .context("ONEFICHIER_TEST_SHARED_STATE=redis needs redis-server")?;
            server.set_env([(
                "ONEFICHIER_SERVER_SHARED_STATE".to_owned(),
                redis.url().to_owned(),
            )]);
            server.redis = Some(redis);
        }
        Ok(server)
    }

    /// The environment the server starts with (the scale-out backends' settings among it).
    pub fn envs(&self) -> &[(String, String)] {
        &self.envs
    }

    /// Where file bytes are when they are in S3 rather than in the data folder: the `s3://`
    /// URL and the `AWS_*` settings that reach it.
    pub fn s3_blobs(&self) -> Option<(String, Vec<(String, String)>)> {
        self.garage
            .as_ref()
            .map(|(garage, url)| (url.clone(), garage.aws_vars()))
    }

    /// Keeps this server's metadata in `database` (`--meta`); call before anything else.
    pub fn use_postgres(&mut self, database: postgres::TestDatabase) {
        self.envs
            .push(("ONEFICHIER_SERVER_META".to_owned(), database.url()));
        self.database = Some(database);
    }

    /// A handle on servers that run elsewhere, reached at `address` (a load balancer in front
    /// of several processes): the API helpers work, the process ones do not.
    pub fn front(binary: impl Into<PathBuf>, address: &str) -> Result<Self> {
        let mut front = Self::on_sqlite(binary)?;
        front.address = Some(address.to_owned());
        Ok(front)
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the metadata is in PostgreSQL rather than in the data folder's SQLite file.
    pub fn meta_in_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// A server whose metadata is in SQLite in its data folder, whatever the environment says.
    pub fn on_sqlite(binary: impl Into<PathBuf>) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let stderr_log = data.path().join("server.log");
        Ok(Self {
            binary: binary.into(),
            data,
            child: None,
            address: None,
            stderr_log,
            client: Self::client_builder().build()?,
            scheme: "http",
            log_requests: false,
            envs: Vec::new(),
            database: None,
            garage: None,
            redis: None,
            router: None,
        })
    }

    /// A server whose router runs in this process when it starts: no port, no process, the
    /// same arguments (`start(&["--limits", "off", …])`) and the same requests. Admin commands
    /// still run the binary on its data folder. On the scale-out backends
    /// (`ONEFICHIER_TEST_META` and the others, see [`TestServer::new`]) it is a process as
    /// [`TestServer::new`] makes, so those runs cover its tests too. What only a process has
    /// (its log, signals, memory, TLS) is not there.
    pub fn in_process() -> Result<Self> {
        if ScaleOut::asked().any() {
            return Self::new(server_binary());
        }
        let mut server = Self::on_sqlite(server_binary())?;
        server.router = Some(std::sync::Arc::default());
        Ok(server)
    }

    fn client_builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
    }

    /// Trusts `ca_pem` (and only it) for HTTPS to the server, for servers started with TLS.
    pub fn trust_ca(&mut self, ca_pem: &str) -> Result<()> {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())?;
        self.client = Self::client_builder().tls_certs_only([ca]).build()?;
        self.scheme = "https";
        Ok(())
    }

    /// The HTTP client the helpers use (no proxy, no redirects followed).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Runs `1fichier-server --data DIR ARGS…` and returns its standard output, trimmed.
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(&self.binary)
            .arg("--data")
            .arg(self.data.path())
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .output()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "1fichier-server {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// Runs an admin command that must fail, and returns its standard error.
    pub fn admin_fails(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(&self.binary)
            .arg("--data")
            .arg(self.data.path())
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .output()?;
        ensure!(!output.status.success(), "{args:?} unexpectedly succeeded");
        Ok(String::from_utf8(output.stderr)?)
    }

    /// Creates an account and a key for it; returns the key.
    pub fn account_with_key(&self, email: &str, offer: &str) -> Result<String> {
        self.admin(&["account", "create", "--email", email, "--offer", offer])?;
        self.admin(&["key", "create", "--email", email, "--label", "test"])
    }

    /// A voucher for `service` (e.g. `premium-30d`) owned by `email`; returns its code.
    pub fn create_voucher(&self, email: &str, service: &str) -> Result<String> {
        self.admin(&["voucher", "create", "--email", email, "--service", service])
    }

    /// Environment variables for the server process (e.g. a blob store's `AWS_*` settings);
    /// call before [`TestServer::start`].
    pub fn set_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        self.envs.extend(vars);
    }

    /// Makes the server log every request it answers (see [`TestServer::requests_to`]); call
    /// before [`TestServer::start`].
    pub fn log_requests(&mut self) {
        self.log_requests = true;
    }

    /// How many requests to routes starting with `path` the server answered so far (with
    /// [`TestServer::log_requests`]), from its access log.
    pub fn requests_to(&self, path: &str) -> usize {
        let needle = format!("route={path}");
        self.log()
            .lines()
            .map(without_colours)
            .filter(|line| line.contains("request served") && line.contains(&needle))
            .count()
    }

    /// Starts `serve --listen 127.0.0.1:0 EXTRA…` and waits until it prints its address.
    pub fn start(&mut self, extra: &[&str]) -> Result<()> {
        self.start_at("127.0.0.1:0", extra)
    }

    /// Starts `serve --listen LISTEN EXTRA…` and waits until it prints its address.
    pub fn start_at(&mut self, listen: &str, extra: &[&str]) -> Result<()> {
        ensure!(self.child.is_none(), "already started");
        if let Some(router) = &self.router {
            // No socket: the address only names the server in URLs (its own links among them,
            // and the requests a `Browser` routes to it).
            let listen = in_process::register(router, listen)?;
            router.configure(self.data.path(), &listen, extra)?;
            self.address = Some(listen);
            return Ok(());
        }
        let log = std::fs::File::create(&self.stderr_log)?;
        let log_filter = if self.log_requests {
            "info".to_owned()
        } else {
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
        };
        let mut child = Command::new(&self.binary)
            .arg("--data")
            .arg(self.data.path())
            .args(["serve", "--listen", listen])
            .args(extra)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .context("the server exited before printing its address")??;
        let address = first
            .strip_prefix("listening on http://")
            .or_else(|| first.strip_prefix("listening on https://"))
            .with_context(|| format!("unexpected first line {first:?}"))?
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.address = Some(address);
        self.child = Some(child);
        Ok(())
    }

    /// `http://127.0.0.1:PORT` (`https` once [`TestServer::trust_ca`] was called).
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            self.scheme,
            self.address.as_deref().expect("server started")
        )
    }

    /// The server's resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM`; Linux).
    pub fn memory_kib(&self) -> Result<(u64, u64)> {
        let pid = self.child.as_ref().context("not running")?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .with_context(|| format!("no {name} in /proc/{pid}/status"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.address.as_deref().expect("server started")
    }

    /// Sends SIGKILL and waits: the process gets no chance to clean up.
    pub fn kill(&mut self) -> Result<()> {
        let mut child = self.child.take().context("not running")?;
        child.kill()?;
        child.wait()?;
        self.address = None;
        Ok(())
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// What the server wrote on standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process; returns whether it exited successfully.
    pub fn terminate(&mut self) -> Result<bool> {
        let mut child = self.child.take().context("not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        ensure!(status.success(), "kill failed");
        // Long enough for a drain under a loaded machine, short of the default 30-s deadline.
        for _ in 0..400 {
            if let Some(exit) = child.try_wait()? {
                return Ok(exit.success());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill()?;
        bail!("the server did not stop within 20 s of SIGTERM")
    }

    /// Asks for an upload node and id.
    pub async fn upload_server(&self, key: Option<&str>) -> Result<(String, String)> {
        let answer = self
            .post(key, "upload/get_upload_server.cgi", serde_json::json!({}))
            .await?;
        ensure!(answer.status == 200, "get_upload_server: {}", answer.text);
        Ok((
            answer.json["url"].as_str().context("url")?.to_owned(),
            answer.json["id"].as_str().context("id")?.to_owned(),
        ))
    }

    /// Uploads `files` (name, bytes) with extra form `fields` to a fresh node and id; returns
    /// the upload id and the node's answer.
    pub async fn upload(
        &self,
        key: Option<&str>,
        files: &[(&str, Vec<u8>)],
        fields: &[(&str, &str)],
    ) -> Result<(String, Answer)> {
        let (node, id) = self.upload_server(key).await?;
        let answer = self.upload_to(key, &node, &id, files, fields).await?;
        Ok((id, answer))
    }

    /// Uploads to a given node and id.
    pub async fn upload_to(
        &self,
        key: Option<&str>,
        node: &str,
        id: &str,
        files: &[(&str, Vec<u8>)],
        fields: &[(&str, &str)],
    ) -> Result<Answer> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text((*name).to_owned(), (*value).to_owned());
        }
        for (name, bytes) in files {
            form = form.part(
                "file[]",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name((*name).to_owned()),
            );
        }
        let mut request = self
            .client
            .post(format!("{}://{node}/upload.cgi?id={id}", self.scheme))
            .multipart(form);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        Self::answer(self.send(request).await?).await
    }

    /// Sends a request to the server: over its socket, or to its router in process.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        match &self.router {
            Some(router) => router.send(request.build()?).await,
            None => Ok(request.send().await?),
        }
    }

    /// `GET /end.pl?xid=ID` with `JSON: 1`.
    pub async fn end_report(&self, id: &str) -> Result<Answer> {
        let request = self
            .client
            .get(format!("{}/end.pl?xid={id}", self.base_url()))
            .header("JSON", "1");
        let response = self.send(request).await?;
        Self::answer(response).await
    }

    /// Downloads the file behind `link` with `key` (a token, then the direct URL): its bytes.
    pub async fn download(&self, key: &str, link: &str) -> Result<Vec<u8>> {
        let token = self
            .post(
                Some(key),
                "download/get_token.cgi",
                serde_json::json!({ "url": link }),
            )
            .await?;
        let url = token.json["url"]
            .as_str()
            .with_context(|| format!("get_token: {}", token.text))?;
        let (status, _, bytes) = self.fetch(url, None).await?;
        ensure!(status == 200, "download of {link}: status {status}");
        Ok(bytes)
    }

    /// GETs a URL (a direct download, a page), with an optional `Range`; returns status,
    /// headers and bytes.
    pub async fn fetch(
        &self,
        url: &str,
        range: Option<&str>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
        let mut request = self.client.get(url);
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Ok((status, headers, response.bytes().await?.to_vec()))
    }

    async fn answer(response: reqwest::Response) -> Result<Answer> {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            json,
            text,
            retry_after,
            location,
        })
    }

    /// POSTs a JSON body (as text, so tests can send anything) to a v1 path.
    pub async fn post_raw(
        &self,
        key: Option<&str>,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Result<Answer> {
        let mut request = self
            .client
            .post(format!("{}/{path}", self.api_url()))
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Self::answer(self.send(request).await?).await
    }

    /// POSTs a JSON value to a v1 path with `Content-Type: application/json`.
    pub async fn post(
        &self,
        key: Option<&str>,
        path: &str,
        body: serde_json::Value,
    ) -> Result<Answer> {
        self.post_raw(key, path, Some("application/json"), body.to_string())
            .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
