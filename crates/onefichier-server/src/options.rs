//! The options of `1fichier-server serve`, and the settings they make: one parser for the
//! binary and for tests that run the server in process with the same arguments.

use crate::config::{LimitsConfig, PublicNames, SignupMode, WebConfig};
use crate::shared_state::SharedState;
use crate::{LimitProfile, ServerConfig};
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// No doc comment on the struct: clap would take it for `serve --help`'s text, which is the
// `Serve` command's own.
#[derive(clap::Args)]
#[allow(missing_docs)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. The chosen address is printed once ready.
    #[arg(
        long,
        default_value = "127.0.0.1:8080",
        env = "ONEFICHIER_SERVER_LISTEN"
    )]
    pub listen: SocketAddr,
    /// Limits: the live service's request budgets and flood locks, or none (self-hosting,
    /// benchmarks).
    #[arg(
        long,
        value_enum,
        default_value = "1fichier",
        env = "ONEFICHIER_SERVER_LIMITS"
    )]
    pub limits: LimitProfile,
    /// Refusals from one address within a minute that lock it.
    #[arg(long, default_value_t = 20, env = "ONEFICHIER_SERVER_LOCK_AFTER")]
    pub lock_after: u32,
    /// Length of a flood lock, in seconds.
    #[arg(long, default_value_t = 600, env = "ONEFICHIER_SERVER_LOCK_SECONDS")]
    pub lock_seconds: u64,
    /// Open connections at once; the next is answered 503 and closed [default: 8192, or less if
    /// the open-file limit, raised to its hard limit at start-up, is lower].
    #[arg(
        long,
        default_value_t = 8192,
        env = "ONEFICHIER_SERVER_MAX_CONNECTIONS"
    )]
    pub max_connections: usize,
    /// Seconds a client has to send a request head, and an idle kept-alive connection waits
    /// for the next one.
    #[arg(
        long,
        default_value_t = 20,
        env = "ONEFICHIER_SERVER_HEADER_TIMEOUT_SECONDS"
    )]
    pub header_timeout_seconds: u64,
    /// Seconds a client may read nothing while the server writes to it.
    #[arg(
        long,
        default_value_t = 60,
        env = "ONEFICHIER_SERVER_WRITE_TIMEOUT_SECONDS"
    )]
    pub write_timeout_seconds: u64,
    /// API calls and page requests processed at once before answering 503.
    #[arg(long, default_value_t = 512, env = "ONEFICHIER_SERVER_MAX_IN_FLIGHT")]
    pub max_in_flight: usize,
    /// Uploads and downloads in progress at once (apart from API calls) before answering 503.
    #[arg(long, default_value_t = 512, env = "ONEFICHIER_SERVER_MAX_TRANSFERS")]
    pub max_transfers: usize,
    /// Uploads without a key from one address at once.
    #[arg(
        long,
        default_value_t = 4,
        env = "ONEFICHIER_SERVER_MAX_ANONYMOUS_UPLOADS_PER_IP"
    )]
    pub max_anonymous_uploads_per_ip: usize,
    /// Most files one listing returns [default: 5000 with `--limits 1fichier`, no limit with
    /// `--limits off`].
    #[arg(long, env = "ONEFICHIER_SERVER_MAX_LISTING")]
    pub max_listing: Option<i64>,
    /// A proxy whose X-Forwarded-For is believed (CIDR; repeat, or separate with commas, for
    /// several).
    #[arg(
        long = "trusted-proxy",
        env = "ONEFICHIER_SERVER_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Host name of the public site, used in public folder URLs [default: the listen address].
    #[arg(long, env = "ONEFICHIER_SERVER_SITE_HOST")]
    pub site_host: Option<String>,
    /// Upload node host name handed out by get_upload_server, in turn (repeat, or separate with
    /// commas, for several) [default: the listen address].
    #[arg(
        long = "upload-host",
        env = "ONEFICHIER_SERVER_UPLOAD_HOSTS",
        value_delimiter = ','
    )]
    pub upload_hosts: Vec<String>,
    /// Host name of direct download URLs: another name than --site-host, so that user files never
    /// run as the site's pages [default: the listen address; `localhost:PORT` when the site is on
    /// the loopback listen address itself].
    #[arg(long, env = "ONEFICHIER_SERVER_DOWNLOAD_HOST")]
    pub download_host: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key", env = "ONEFICHIER_SERVER_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert", env = "ONEFICHIER_SERVER_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Largest file an upload may carry, in bytes.
    #[arg(
        long,
        default_value_t = onefichier_protocol::upload::MAX_FILE_SIZE,
        env = "ONEFICHIER_SERVER_MAX_FILE_SIZE",
    )]
    pub max_file_size: u64,
    /// An upload body that sends nothing for this many seconds is cut (its staging removed).
    #[arg(
        long,
        default_value_t = 30,
        env = "ONEFICHIER_SERVER_BODY_IDLE_SECONDS"
    )]
    pub body_idle_seconds: u64,
    /// How long end.pl reports stay readable, in seconds.
    #[arg(
        long,
        default_value_t = 7200,
        env = "ONEFICHIER_SERVER_REPORT_TTL_SECONDS"
    )]
    pub report_ttl_seconds: u64,
    /// A host that remote uploads may fetch from even if it resolves to an internal address
    /// (repeat, or separate with commas, for several). By default loopback, private and
    /// link-local targets are refused.
    #[arg(
        long = "remote-allow-host",
        env = "ONEFICHIER_SERVER_REMOTE_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub remote_allow_hosts: Vec<String>,
    /// How long this process's claim on a remote-upload job lasts unless renewed (renewed every
    /// third of it): how soon other processes on the same database take over the jobs of one
    /// that died.
    #[arg(
        long,
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(3..),
        env = "ONEFICHIER_SERVER_REMOTE_LEASE_SECONDS",
    )]
    pub remote_lease_seconds: u64,
    /// Share request budgets, flood locks and wrong-password counts with the other processes
    /// of this service: `redis://HOST[:PORT][/DB]` (`rediss://` for TLS). Without it each
    /// process counts alone. A password belongs in the environment variable, not in argv.
    #[arg(long, env = "ONEFICHIER_SERVER_SHARED_STATE")]
    pub shared_state: Option<String>,
    /// Create a demo premium account, key and website password if absent, and print the lines
    /// to export and the login.
    #[arg(long, env = "ONEFICHIER_SERVER_DEV")]
    pub dev: bool,
    /// Who may create an account on the website: open (anyone), invite (with a code from
    /// `invite create`) or closed (the operator, with `account create`).
    #[arg(
        long,
        value_enum,
        default_value = "closed",
        env = "ONEFICHIER_SERVER_SIGNUP"
    )]
    pub signup: SignupMode,
    /// The offer of accounts created by open sign-up.
    #[arg(
        long,
        default_value = "premium",
        env = "ONEFICHIER_SERVER_SIGNUP_OFFER"
    )]
    pub signup_offer: Offer,
    /// Seconds after a log-in or a password confirmation during which the website's sensitive
    /// actions (create or rotate a key, change an allow-list, turn two-factor on) need no
    /// password; past them the password is asked again.
    #[arg(
        long,
        default_value_t = 600,
        env = "ONEFICHIER_SERVER_RECONFIRM_AFTER_SECONDS"
    )]
    pub reconfirm_after_seconds: u64,
    /// A network that may read /metrics (CIDR; repeat, or separate with commas, for several)
    /// [default: loopback only].
    #[arg(
        long = "metrics-allow",
        value_parser = parse_net,
        env = "ONEFICHIER_SERVER_METRICS_ALLOW",
        value_delimiter = ',',
    )]
    pub metrics_allow: Vec<IpNet>,
    /// On SIGTERM or Ctrl-C, stop accepting and give transfers in flight this many seconds to
    /// finish before exiting.
    #[arg(long, default_value_t = 30, env = "ONEFICHIER_SERVER_DRAIN_SECONDS")]
    pub drain_seconds: u64,
}

impl ServeArgs {
    /// The server's settings from these options, once it listens on `address`.
    pub fn config(&self, address: SocketAddr, shared_state: Option<SharedState>) -> ServerConfig {
        let args = self;
        let own = address.to_string();
        let site_host = args.site_host.clone().unwrap_or_else(|| own.clone());
        let download_host = args
            .download_host
            .clone()
            .unwrap_or_else(|| distinct_download_host(&site_host, address));
        if download_host.eq_ignore_ascii_case(&site_host) {
            tracing::warn!(
                host = %site_host,
                "direct downloads are served on the site's own origin: give them a host of their own \
                 with --download-host (user files are still sandboxed and never shown as pages)"
            );
        }
        ServerConfig {
            limits: LimitsConfig {
                profile: args.limits,
                lock_after: args.lock_after,
                lock_duration: Duration::from_secs(args.lock_seconds),
                max_in_flight: args.max_in_flight,
                max_transfers: args.max_transfers,
                max_anonymous_uploads_per_ip: args.max_anonymous_uploads_per_ip,
                max_listing: args.max_listing,
            },
            trusted_proxies: args.trusted_proxies.clone(),
            names: PublicNames {
                tls: args.tls_cert.is_some(),
                site_host,
                upload_hosts: if args.upload_hosts.is_empty() {
                    vec![own]
                } else {
                    args.upload_hosts.clone()
                },
                download_host,
            },
            max_file_size: args.max_file_size,
            report_ttl: Duration::from_secs(args.report_ttl_seconds),
            remote_lease: Duration::from_secs(args.remote_lease_seconds),
            shared_state,
            remote_allow_hosts: args.remote_allow_hosts.clone(),
            body_idle_timeout: Duration::from_secs(args.body_idle_seconds.max(1)),
            web: WebConfig {
                signup: args.signup,
                signup_offer: args.signup_offer,
                reconfirm_after: i64::try_from(args.reconfirm_after_seconds).unwrap_or(i64::MAX),
            },
            metrics_allow: if args.metrics_allow.is_empty() {
                ServerConfig::default().metrics_allow
            } else {
                args.metrics_allow.clone()
            },
            ..ServerConfig::default()
        }
    }
}

/// The host of direct downloads when none is given: another origin than the site's, so that a
/// file's bytes can never act as one of the site's pages. The listen address when the site has a
/// name of its own; on loopback, `localhost` for a site on `127.0.0.1`/`::1` (and the reverse),
/// which browsers treat as separate origins sharing no cookies. Elsewhere no second name is
/// known: the site's own host, and a warning.
fn distinct_download_host(site_host: &str, listen: SocketAddr) -> String {
    let own = listen.to_string();
    if !site_host.eq_ignore_ascii_case(&own) {
        own
    } else if listen.ip().is_loopback() {
        format!("localhost:{}", listen.port())
    } else {
        own
    }
}

/// An address or a network in CIDR notation (`192.0.2.7`, `192.0.2.0/24`, `::1`).
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR"))
}
