//! Shared setup: the server in process (most tests) or the real binary on loopback (where a
//! process or a socket is the point), and a client for it.
#![allow(dead_code, unreachable_pub)]

use onefichier_client::protocol::user::Offer;
use onefichier_client::{Budgets, Client, ClientBuilder, RetryConfig};
use onefichier_test_support::in_process::{InProcessServer, ServerConfig};
use onefichier_test_support::{TestServer, server_binary};
use std::time::Duration;

pub fn data(len: usize, seed: u64) -> Vec<u8> {
    onefichier_test_support::pseudo_random(len, seed)
}

pub fn quick_retry() -> RetryConfig {
    RetryConfig::default()
        .with_base_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_millis(200))
}

/// A builder for a test client of `url`: no budgets, state in memory, quick retries.
pub fn builder_for(url: &str, key: Option<&str>) -> ClientBuilder {
    let builder = Client::builder()
        .api_url(url)
        .budgets(Budgets::unlimited())
        .state_in_memory()
        .retry(quick_retry());
    match key {
        Some(key) => builder.api_key(key),
        None => builder,
    }
}

pub fn client_for(url: &str, key: Option<&str>) -> Client {
    builder_for(url, key).build().unwrap()
}

/// The server in process with the limits off, changed by `configure`, and a client of its
/// account `user@example.com` (premium, full-access key).
pub async fn in_process(configure: impl FnOnce(&mut ServerConfig)) -> (InProcessServer, Client) {
    let server = InProcessServer::new(configure).await.unwrap();
    let key = server
        .account_with_key("user@example.com", Offer::Premium)
        .await
        .unwrap();
    let client = in_process_client(&server, Some(&key));
    (server, client)
}

/// A client of an in-process server with `key` (none: anonymous), retrying quickly.
pub fn in_process_client(server: &InProcessServer, key: Option<&str>) -> Client {
    server
        .client_builder(key)
        .retry(quick_retry())
        .build()
        .unwrap()
}

/// The real server on loopback with the limits off and `extra` options, and a client of it.
pub async fn server(extra: &[&str]) -> (TestServer, String, Client) {
    let mut server = TestServer::new(server_binary()).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    let mut args = vec!["--limits", "off"];
    args.extend_from_slice(extra);
    server.start(&args).unwrap();
    let client = client_for(&server.api_url(), Some(&key));
    (server, key, client)
}
