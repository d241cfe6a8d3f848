//! A single Garage node (an S3-compatible object store written in Rust) on loopback, started for
//! real for the tests that need S3: its own folder and ports, a key, and buckets on demand.
//! Killed when dropped.
//!
//! Needs the `garage` binary (`cargo install garage --locked --no-default-features --features
//! bundled-libs,sqlite`; `.ci/run` builds it when missing). Without it a test fails saying so,
//! unless `ONEFICHIER_SKIP_S3=1` asks to skip.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The region Garage answers for.
pub const REGION: &str = "garage";

/// A running Garage node.
pub struct Garage {
    child: Child,
    dir: tempfile::TempDir,
    config: PathBuf,
    endpoint: String,
    key_id: String,
    secret: String,
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Garage {
    /// Starts a node, or `None` when `garage` is missing and `ONEFICHIER_SKIP_S3` is set (the
    /// skip is printed).
    pub fn start_or_skip() -> Result<Option<Self>> {
        if Command::new("garage").arg("--version").output().is_err() {
            if std::env::var_os("ONEFICHIER_SKIP_S3").is_some() {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIPPED: garage is missing and ONEFICHIER_SKIP_S3 is set");
                }
                return Ok(None);
            }
            bail!(
                "garage is missing: cargo install garage --locked --no-default-features \
                 --features bundled-libs,sqlite (.ci/run does), or set ONEFICHIER_SKIP_S3=1"
            );
        }
        Self::start().map(Some)
    }

    /// Starts a node on free loopback ports, lays it out, and makes a key.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (rpc, s3) = (crate::free_port()?, crate::free_port()?);
        let secret: String = crate::pseudo_random(32, u64::from(rpc) << 16 | u64::from(s3))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
                 replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\n\
                 [s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
                 root_domain = \".s3.garage.localhost\"\n",
                meta = dir.path().join("meta").display(),
                data = dir.path().join("data").display(),
            ),
        )?;
        let log = std::fs::File::create(dir.path().join("garage.log"))?;
        let child = Command::new("garage")
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start garage")?;
        let mut garage = Self {
            child,
            config,
            endpoint: format!("http://127.0.0.1:{s3}"),
            key_id: String::new(),
            secret: String::new(),
            dir,
        };
        garage.lay_out()?;
        let created = garage.cli(&["key", "create", "tests"])?;
        let field = |label: &str| {
            created
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.trim()
                        .eq_ignore_ascii_case(label)
                        .then(|| value.trim().to_owned())
                })
                .with_context(|| format!("no {label} in: {created}"))
        };
        garage.key_id = field("Key ID")?;
        garage.secret = field("Secret key")?;
        Ok(garage)
    }

    /// Gives the node its role once it answers.
    fn lay_out(&self) -> Result<()> {
        let node = self.cli_once_up(&["node", "id", "-q"])?;
        let id = node.trim().split('@').next().unwrap_or_default().to_owned();
        // The node's id is known before its RPC port listens: the first command that needs
        // the node waits for it too.
        self.cli_once_up(&["layout", "assign", "-z", "dc1", "-c", "1G", &id])?;
        self.cli(&["layout", "apply", "--version", "1"])?;
        Ok(())
    }

    /// [`Garage::cli`], tried again for up to ten seconds while the node starts.
    fn cli_once_up(&self, args: &[&str]) -> Result<String> {
        let mut last = None;
        for _ in 0..100 {
            match self.cli(args) {
                Ok(out) => return Ok(out),
                Err(error) => last = Some(error),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last.context("no attempt")?)
            .with_context(|| format!("garage did not start: {}", self.log()))
    }

    /// Runs `garage -c CONFIG ARGS…` and returns its standard output.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("garage")
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .context("cannot run garage")?;
        ensure!(
            output.status.success(),
            "garage {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Creates bucket `name`, readable and writable with the node's key; returns its name.
    pub fn bucket(&self, name: &str) -> Result<String> {
        self.cli(&["bucket", "create", name])?;
        self.cli(&[
            "bucket", "allow", "--read", "--write", "--owner", name, "--key", "tests",
        ])?;
        Ok(name.to_owned())
    }

    /// The `AWS_*` settings that reach this node (what a server's environment would hold).
    pub fn aws_vars(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The node's S3 endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Its folder (configuration, metadata, data, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the node logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
    }
}
