//! The TLS setup of the rclone interoperability test, for scripts (`bench/`): rclone has the
//! service's addresses built in, so it reaches a local server only through a CONNECT proxy and a
//! certificate from a throwaway CA. Run it inside a network namespace holding only loopback.
//!
//! - `onefichier-tls-harness certs DIR` writes `DIR/ca.pem`, `DIR/cert.pem` and `DIR/key.pem`;
//! - `onefichier-tls-harness proxy HOST:PORT` tunnels `api.1fichier.com` and `1fichier.com` to the
//!   server at HOST:PORT, prints its own address, then runs until killed.
#![allow(clippy::print_stdout)]

use anyhow::{Context, Result, bail};
use onefichier_test_support::tls::{TestCa, spawn_connect_proxy};
use std::io::Write;
use std::path::Path;

/// The names rclone dials, and the loopback names the server's own URLs use.
const NAMES: [&str; 4] = ["api.1fichier.com", "1fichier.com", "localhost", "127.0.0.1"];
const TUNNELLED: [&str; 2] = ["api.1fichier.com", "1fichier.com"];

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["certs", dir] => {
            TestCa::new(&NAMES)?.write_to(Path::new(dir))?;
            Ok(())
        }
        ["proxy", upstream] => {
            let upstream = upstream
                .parse()
                .with_context(|| format!("{upstream} is not HOST:PORT"))?;
            let address = spawn_connect_proxy(upstream, &TUNNELLED).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{address}")?;
            out.flush()?;
            drop(out);
            std::future::pending::<()>().await;
            Ok(())
        }
        _ => bail!(
            "usage: onefichier-tls-harness certs DIR | onefichier-tls-harness proxy HOST:PORT"
        ),
    }
}
