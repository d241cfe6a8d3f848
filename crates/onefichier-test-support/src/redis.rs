//! A Redis server of the test's own on a free loopback port, keeping nothing on disk, for the
//! tests of limits shared between server processes. Killed when dropped.
//!
//! Needs `redis-server` (`apt-get install redis-server`; `.ci/run` does). Without it a test
//! fails saying so, unless `ONEFICHIER_SKIP_REDIS=1` asks to skip.

use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running Redis.
pub struct Redis {
    child: Child,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    /// Starts one, or `None` when `redis-server` is missing and `ONEFICHIER_SKIP_REDIS` is set
    /// (the skip is printed).
    pub fn start_or_skip() -> Result<Option<Self>> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            if std::env::var_os("ONEFICHIER_SKIP_REDIS").is_some() {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIPPED: redis-server is missing and ONEFICHIER_SKIP_REDIS is set");
                }
                return Ok(None);
            }
            bail!(
                "redis-server is missing: apt-get install redis-server (.ci/run does), or set \
                 ONEFICHIER_SKIP_REDIS=1"
            );
        }
        let port = crate::free_port()?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server")?;
        let redis = Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Some(redis));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("redis-server did not start listening on port {port}")
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}
