//! Shared setup: the real server on loopback and a client for it.
#![allow(dead_code, unreachable_pub)]

use onefichier_client::{Budgets, Client, ClientBuilder, RetryConfig};
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
