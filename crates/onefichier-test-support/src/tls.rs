//! A throwaway certificate authority and a CONNECT proxy, so that third-party clients with the
//! service's address built in (rclone) reach the test server on loopback over TLS.

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CA made for one test, and one server certificate it signed.
pub struct TestCa {
    /// The CA certificate (PEM): what clients are told to trust.
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server's private key (PEM).
    pub key_pem: String,
}

impl TestCa {
    /// A CA and a server certificate for `names` (host names and IP addresses).
    pub fn new(names: &[&str]) -> Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "onefichier test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
        let leaf_key = KeyPair::generate()?;
        let mut leaf_params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        leaf_params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        let leaf = leaf_params.signed_by(&leaf_key, &ca)?;
        Ok(Self {
            ca_pem: ca.pem(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        })
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir`; returns their paths in that order.
    pub fn write_to(&self, dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
        let ca = dir.join("ca.pem");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&ca, &self.ca_pem)?;
        std::fs::write(&cert, &self.cert_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((ca, cert, key))
    }
}

/// Starts an HTTP CONNECT proxy on 127.0.0.1 that tunnels every `CONNECT` whose target host is
/// in `hosts` to `upstream`, and refuses the others. Returns its address; it runs until the
/// runtime stops.
pub async fn spawn_connect_proxy(upstream: SocketAddr, hosts: &[&str]) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let hosts = hosts.clone();
            // A refused or broken tunnel only ends that connection; the client reports it.
            tokio::spawn(async move { tunnel(client, upstream, &hosts).await });
        }
    });
    Ok(address)
}

async fn tunnel(mut client: TcpStream, upstream: SocketAddr, hosts: &[String]) -> Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = client.read(&mut byte).await?;
        anyhow::ensure!(n == 1 && head.len() < 8192, "bad proxy request");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("CONNECT "))
        .and_then(|rest| rest.split_whitespace().next())
        .context("not a CONNECT request")?;
    let host = target
        .rsplit_once(':')
        .map_or(target, |(h, _)| h)
        .to_ascii_lowercase();
    if !hosts.contains(&host) {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        anyhow::bail!("refused CONNECT to {target}");
    }
    let mut server = TcpStream::connect(upstream).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
