//! Server settings that are not storage: limits, trusted proxies, public names.

use ipnet::IpNet;
use std::time::Duration;

/// Which limits the server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LimitProfile {
    /// The live service's budgets: 3 requests/s per key and per IP, `user/info` once a minute per
    /// IP and once per 5 minutes per account, a folder listed once per 30 s, the whole account
    /// once per hour, at most 5,000 results per listing.
    #[value(name = "1fichier")]
    OneFichier,
    /// No rate limits (self-hosting, benchmarks). Overload protection stays on.
    Off,
}

/// Limits and locks.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// The profile.
    pub profile: LimitProfile,
    /// Refusals (429, 401, 403) from one address within a minute that trigger a lock.
    pub lock_after: u32,
    /// How long a flood lock lasts.
    pub lock_duration: Duration,
    /// Requests processed at once before the server answers 503.
    pub max_in_flight: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            profile: LimitProfile::OneFichier,
            lock_after: 20,
            lock_duration: Duration::from_secs(600),
            max_in_flight: 512,
        }
    }
}

/// Everything the HTTP layer needs besides storage.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Limits.
    pub limits: LimitsConfig,
    /// Proxies whose `X-Forwarded-For` is believed; everyone else is judged by the socket peer.
    pub trusted_proxies: Vec<IpNet>,
    /// Host of the public site, used in public folder URLs (`https://HOST/dir/ID`).
    pub site_host: String,
    /// Largest JSON body accepted by v1 endpoints.
    pub max_json_body: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: LimitsConfig::default(),
            trusted_proxies: Vec::new(),
            site_host: "1fichier.com".to_owned(),
            max_json_body: 1024 * 1024,
        }
    }
}
