//! Debian's nginx as a round-robin load balancer in front of several server processes on
//! loopback, as an operator would run it: bodies stream both ways (no request or response
//! buffering), no size limit, the client's address in `X-Forwarded-For`. Stopped when dropped.
//!
//! Needs `nginx` (`apt-get install nginx`; `.ci/run` does). Without it a test fails saying so,
//! unless `ONEFICHIER_SKIP_NGINX=1` asks to skip.

use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running nginx.
pub struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
    address: String,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Balances `upstreams` (`127.0.0.1:PORT` each) round robin, or `None` when nginx is missing
    /// and `ONEFICHIER_SKIP_NGINX` is set (the skip is printed).
    pub fn start_or_skip(upstreams: &[&str]) -> Result<Option<Self>> {
        let binary = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").output().is_ok());
        let Some(binary) = binary else {
            if std::env::var_os("ONEFICHIER_SKIP_NGINX").is_some() {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIPPED: nginx is missing and ONEFICHIER_SKIP_NGINX is set");
                }
                return Ok(None);
            }
            bail!(
                "nginx is missing: apt-get install nginx (.ci/run does), or set ONEFICHIER_SKIP_NGINX=1"
            );
        };
        let dir = tempfile::tempdir()?;
        let address = format!("127.0.0.1:{}", crate::free_port()?);
        let servers: String = upstreams
            .iter()
            .map(|u| format!("        server {u} max_fails=1 fail_timeout=60s;\n"))
            .collect();
        let prefix = dir.path().display();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream servers {{
{servers}    }}
    server {{
        listen {address};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_read_timeout 120s;
        location / {{
            proxy_pass http://servers;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header Connection \"\";
        }}
    }}
}}
"
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config)?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        let nginx = Self {
            child,
            _dir: dir,
            address,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(&nginx.address).is_ok() {
                return Ok(Some(nginx));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("nginx did not start listening on {}", nginx.address)
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }
}
