//! Test helpers: start the real `1fichier-server` binary on `127.0.0.1:0` with a temporary data
//! folder, run its admin commands, and call its API. Nothing here talks to anything but loopback.

use anyhow::{Context, Result, bail, ensure};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process with its own data folder; killed when dropped.
pub struct TestServer {
    binary: PathBuf,
    data: tempfile::TempDir,
    child: Option<Child>,
    address: Option<String>,
    stderr_log: PathBuf,
    client: reqwest::Client,
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
    /// A server around `binary` with a fresh data folder, not started yet.
    pub fn new(binary: impl Into<PathBuf>) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let stderr_log = data.path().join("server.log");
        Ok(Self {
            binary: binary.into(),
            data,
            child: None,
            address: None,
            stderr_log,
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
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
            .output()?;
        ensure!(!output.status.success(), "{args:?} unexpectedly succeeded");
        Ok(String::from_utf8(output.stderr)?)
    }

    /// Creates an account and a key for it; returns the key.
    pub fn account_with_key(&self, email: &str, offer: &str) -> Result<String> {
        self.admin(&["account", "create", "--email", email, "--offer", offer])?;
        self.admin(&["key", "create", "--email", email, "--label", "test"])
    }

    /// Starts `serve --listen 127.0.0.1:0 EXTRA…` and waits until it prints its address.
    pub fn start(&mut self, extra: &[&str]) -> Result<()> {
        ensure!(self.child.is_none(), "already started");
        let log = std::fs::File::create(&self.stderr_log)?;
        let mut child = Command::new(&self.binary)
            .arg("--data")
            .arg(self.data.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
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
            .with_context(|| format!("unexpected first line {first:?}"))?
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.address = Some(address);
        self.child = Some(child);
        Ok(())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!(
            "http://{}",
            self.address.as_deref().expect("server started")
        )
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
        for _ in 0..100 {
            if let Some(exit) = child.try_wait()? {
                return Ok(exit.success());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill()?;
        bail!("the server did not stop within 5 s of SIGTERM")
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
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            json,
            text,
            retry_after,
        })
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
