//! Server settings that are not storage: limits, trusted proxies, public names, transfer rules.

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
    /// API calls and page requests processed at once before the server answers 503.
    pub max_in_flight: usize,
    /// Uploads and downloads in progress at once, apart from API calls: a transfer can last
    /// hours, so transfers never take the places of API calls.
    pub max_transfers: usize,
    /// Uploads without a key from one address at once; all of them together may take at most
    /// half of `max_transfers`, so key holders always find places.
    pub max_anonymous_uploads_per_ip: usize,
    /// Most files one listing returns [default: 5,000 with the 1fichier profile, no limit
    /// without limits].
    pub max_listing: Option<i64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            profile: LimitProfile::OneFichier,
            lock_after: 20,
            lock_duration: Duration::from_secs(600),
            max_in_flight: 512,
            max_transfers: 512,
            max_anonymous_uploads_per_ip: 4,
            max_listing: None,
        }
    }
}

/// The names clients see in links, node names and direct URLs.
#[derive(Debug, Clone)]
pub struct PublicNames {
    /// Whether this server speaks TLS itself (or sits behind a TLS proxy): `https` URLs.
    pub tls: bool,
    /// Host of the public site: public folder URLs (`https://HOST/dir/ID`).
    pub site_host: String,
    /// Upload node host names, handed out in turn by `get_upload_server` (host or host:port).
    pub upload_hosts: Vec<String>,
    /// Host of direct download URLs.
    pub download_host: String,
}

impl PublicNames {
    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Whether the site host is one of 1fichier's own names (the compatibility harness, where a
    /// TLS proxy in front answers for them): links are then printed as the service prints them.
    pub fn is_1fichier(&self) -> bool {
        onefichier_protocol::ids::domain_id(&self.site_host).is_some()
    }

    /// Whether direct downloads are served on the site's own origin: the operator made the two
    /// hosts equal (warned at start-up). Downloads are then not redirected to their own host.
    pub fn downloads_share_site_origin(&self) -> bool {
        self.download_host.eq_ignore_ascii_case(&self.site_host)
    }

    /// The site's base URL: `SCHEME://SITE`, always `https` under 1fichier's names.
    pub fn site_url(&self) -> String {
        let scheme = if self.is_1fichier() {
            "https"
        } else {
            self.scheme()
        };
        format!("{scheme}://{}", self.site_host)
    }
}

/// Who may create an account on the website.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SignupMode {
    /// Anyone.
    Open,
    /// Whoever has an invitation code (`1fichier-server invite create`).
    Invite,
    /// Nobody: the operator creates accounts with `account create`.
    #[default]
    Closed,
}

/// The website's settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Who may sign up.
    pub signup: SignupMode,
    /// The offer of accounts created by open sign-up.
    pub signup_offer: onefichier_protocol::user::Offer,
    /// How long a log-in or a password confirmation lets a session do sensitive actions (create
    /// or rotate a key, change an allow-list, turn two-factor on) before the password is asked
    /// again, in seconds.
    pub reconfirm_after: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            signup: SignupMode::Closed,
            signup_offer: onefichier_protocol::user::Offer::Premium,
            reconfirm_after: 600,
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
    /// Public names.
    pub names: PublicNames,
    /// Largest JSON body accepted by v1 endpoints.
    pub max_json_body: usize,
    /// Largest file accepted by an upload (the service's limit is 300 GB).
    pub max_file_size: u64,
    /// How long end.pl reports stay readable.
    pub report_ttl: Duration,
    /// Hosts that remote uploads may fetch from even though they resolve to internal addresses
    /// (the default refuses loopback, private, link-local and other internal targets).
    pub remote_allow_hosts: Vec<String>,
    /// How long a process's claim on a remote-upload job lasts unless renewed: how late the
    /// jobs of a process that died are taken over by another.
    pub remote_lease: Duration,
    /// An upload body that sends nothing for this long is cut and its staging removed.
    pub body_idle_timeout: Duration,
    /// The website.
    pub web: WebConfig,
    /// Addresses that may read `/metrics` (default: loopback only).
    pub metrics_allow: Vec<IpNet>,
    /// Where budgets, flood locks and wrong-password counts are shared with other processes
    /// (`--shared-state`); `None`: this process's own.
    pub shared_state: Option<crate::shared_state::SharedState>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: LimitsConfig::default(),
            trusted_proxies: Vec::new(),
            names: PublicNames {
                tls: false,
                site_host: "1fichier.com".to_owned(),
                upload_hosts: vec!["127.0.0.1".to_owned()],
                download_host: "127.0.0.1".to_owned(),
            },
            max_json_body: 1024 * 1024,
            max_file_size: onefichier_protocol::upload::MAX_FILE_SIZE,
            report_ttl: Duration::from_secs(2 * 3600),
            remote_allow_hosts: Vec::new(),
            remote_lease: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(30),
            web: WebConfig::default(),
            metrics_allow: vec![
                "127.0.0.0/8".parse().expect("a CIDR"),
                "::1/128".parse().expect("a CIDR"),
            ],
            shared_state: None,
        }
    }
}
