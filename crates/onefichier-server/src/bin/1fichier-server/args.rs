//! The command line: `serve` and its options, and the operator's commands.

use clap::{Parser, Subcommand};
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use onefichier_server::LimitProfile;
use onefichier_server::config::SignupMode;
use onefichier_server::meta::KeyScope;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "1fichier-server",
    version,
    about = "A self-hostable server for the 1fichier API v1"
)]
pub(crate) struct Cli {
    /// Data folder: the SQLite metadata database and the file bytes, unless --meta and --blobs
    /// put them elsewhere.
    #[arg(
        long,
        global = true,
        env = "ONEFICHIER_SERVER_DATA",
        default_value = "1fichier-data"
    )]
    pub(crate) data: PathBuf,
    /// Where file bytes live: `s3://BUCKET[/PREFIX]` (endpoint, region and credentials from the
    /// AWS_* variables), or a folder [default: DATA/blobs].
    #[arg(long, global = true, env = "ONEFICHIER_SERVER_BLOBS")]
    pub(crate) blobs: Option<String>,
    /// Where metadata lives: `sqlite:PATH`, or `postgres://USER@HOST/DATABASE` for several
    /// server processes on one database [default: sqlite:DATA/meta.sqlite]. A password belongs
    /// in PGPASSWORD or ~/.pgpass (or this URL in the environment variable), never in argv.
    #[arg(long, global = true, env = "ONEFICHIER_SERVER_META")]
    pub(crate) meta: Option<String>,
    /// Log lines (on standard error): text, coloured only on a terminal, or one JSON object each.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "ONEFICHIER_LOG_FORMAT"
    )]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the API until SIGTERM or Ctrl-C.
    Serve(Box<ServeArgs>),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage API keys (the API Manager).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage reseller vouchers.
    #[command(subcommand)]
    Voucher(VoucherCommand),
    /// Move this instance to other backends (stop the server first): --to-meta copies every
    /// metadata row and checks each table's count and contents; --to-blobs copies every file's
    /// bytes and checks each copy's size and Whirlpool. Both are resumable: run again after an
    /// interruption. Then start the server with the new --meta and --blobs.
    #[command(group = clap::ArgGroup::new("target").required(true).multiple(true))]
    Migrate {
        /// The metadata's new home: postgres://USER@HOST/DATABASE or sqlite:PATH.
        #[arg(long, group = "target")]
        to_meta: Option<String>,
        /// The file bytes' new home: s3://BUCKET[/PREFIX] or a folder.
        #[arg(long, group = "target")]
        to_blobs: Option<String>,
    },
    /// Invitations to sign up on the website.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Test helpers: metadata without bytes.
    #[command(subcommand, hide = true)]
    TestFile(TestFileCommand),
}

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. The chosen address is printed once ready.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Limit profile.
    #[arg(long, value_enum, default_value = "1fichier")]
    pub(crate) limits: LimitProfile,
    /// Refusals from one address within a minute that lock it.
    #[arg(long, default_value_t = 20)]
    pub(crate) lock_after: u32,
    /// Length of a flood lock, in seconds.
    #[arg(long, default_value_t = 600)]
    pub(crate) lock_seconds: u64,
    /// Open connections at once; the next is answered 503 and closed [default: 8192, or less if
    /// the open-file limit, raised to its hard limit at start-up, is lower].
    #[arg(long, default_value_t = 8192)]
    pub(crate) max_connections: usize,
    /// Seconds a client has to send a request head, and an idle kept-alive connection waits
    /// for the next one.
    #[arg(long, default_value_t = 20)]
    pub(crate) header_timeout_seconds: u64,
    /// Seconds a client may read nothing while the server writes to it.
    #[arg(long, default_value_t = 60)]
    pub(crate) write_timeout_seconds: u64,
    /// API calls and page requests processed at once before answering 503.
    #[arg(long, default_value_t = 512)]
    pub(crate) max_in_flight: usize,
    /// Uploads and downloads in progress at once (apart from API calls) before answering 503.
    #[arg(long, default_value_t = 512)]
    pub(crate) max_transfers: usize,
    /// Uploads without a key from one address at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) max_anonymous_uploads_per_ip: usize,
    /// Most files one listing returns [default: 5000 with `--limits 1fichier`, no limit with
    /// `--limits off`].
    #[arg(long)]
    pub(crate) max_listing: Option<i64>,
    /// A proxy whose X-Forwarded-For is believed (CIDR; repeat for several).
    #[arg(long = "trusted-proxy")]
    pub(crate) trusted_proxies: Vec<IpNet>,
    /// Host name of the public site, used in public folder URLs [default: the listen address].
    #[arg(long)]
    pub(crate) site_host: Option<String>,
    /// Upload node host name handed out by get_upload_server, in turn (repeat for several)
    /// [default: the listen address].
    #[arg(long = "upload-host")]
    pub(crate) upload_hosts: Vec<String>,
    /// Host name of direct download URLs: another name than --site-host, so that user files never
    /// run as the site's pages [default: the listen address; `localhost:PORT` when the site is on
    /// the loopback listen address itself].
    #[arg(long)]
    pub(crate) download_host: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Largest file an upload may carry, in bytes.
    #[arg(long, default_value_t = onefichier_protocol::upload::MAX_FILE_SIZE)]
    pub(crate) max_file_size: u64,
    /// An upload body that sends nothing for this many seconds is cut (its staging removed).
    #[arg(long, default_value_t = 30)]
    pub(crate) body_idle_seconds: u64,
    /// How long end.pl reports stay readable, in seconds.
    #[arg(long, default_value_t = 7200)]
    pub(crate) report_ttl_seconds: u64,
    /// A host that remote uploads may fetch from even if it resolves to an internal address
    /// (repeat for several). By default loopback, private and link-local targets are refused.
    #[arg(long = "remote-allow-host")]
    pub(crate) remote_allow_hosts: Vec<String>,
    /// How long this process's claim on a remote-upload job lasts unless renewed (renewed every
    /// third of it): how soon other processes on the same database take over the jobs of one
    /// that died.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..))]
    pub(crate) remote_lease_seconds: u64,
    /// Share request budgets, flood locks and wrong-password counts with the other processes
    /// of this service: `redis://HOST[:PORT][/DB]` (`rediss://` for TLS). Without it each
    /// process counts alone. A password belongs in the environment variable, not in argv.
    #[arg(long, env = "ONEFICHIER_SERVER_SHARED_STATE")]
    pub(crate) shared_state: Option<String>,
    /// Create a demo premium account, key and website password if absent, and print the lines
    /// to export and the login.
    #[arg(long)]
    pub(crate) dev: bool,
    /// Who may create an account on the website: open (anyone), invite (with a code from
    /// `invite create`) or closed (the operator, with `account create`).
    #[arg(long, value_enum, default_value = "closed")]
    pub(crate) signup: SignupMode,
    /// The offer of accounts created by open sign-up.
    #[arg(long, default_value = "premium")]
    pub(crate) signup_offer: Offer,
    /// Seconds after a log-in or a password confirmation during which the website's sensitive
    /// actions (create or rotate a key, change an allow-list, turn two-factor on) need no
    /// password; past them the password is asked again.
    #[arg(long, default_value_t = 600)]
    pub(crate) reconfirm_after_seconds: u64,
    /// A network that may read /metrics (CIDR; repeat for several) [default: loopback only].
    #[arg(long = "metrics-allow", value_parser = parse_net)]
    pub(crate) metrics_allow: Vec<IpNet>,
    /// On SIGTERM or Ctrl-C, stop accepting and give transfers in flight this many seconds to
    /// finish before exiting.
    #[arg(long, default_value_t = 30)]
    pub(crate) drain_seconds: u64,
}

#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account.
    Create {
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Offer: premium, access, gold or free.
        #[arg(long, default_value = "premium")]
        offer: Offer,
    },
    /// Change an account's offer (a free account's keys stop working until it pays again).
    SetOffer {
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Offer: premium, access, gold or free.
        #[arg(long)]
        offer: Offer,
    },
    /// List accounts.
    List,
    /// Set an account's website password, read from standard input (never from the command
    /// line); its browser sessions end.
    SetPassword {
        /// E-mail.
        #[arg(long)]
        email: String,
    },
    /// Turn an account's two-factor authentication off (its owner lost the app and the recovery
    /// codes); its browser sessions end.
    ResetTwoFactor {
        /// E-mail.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum InviteCommand {
    /// Create an invitation code for `serve --signup invite`; prints the code.
    Create {
        /// The offer of the account it creates.
        #[arg(long, default_value = "premium")]
        offer: Offer,
        /// Days the code stays valid.
        #[arg(long, default_value_t = 14)]
        days: u32,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a key; prints the key alone on standard output (it is shown only this once).
    Create {
        /// Owner's e-mail.
        #[arg(long)]
        email: String,
        /// Label, unique among the account's keys.
        #[arg(long)]
        label: String,
        /// Allowed caller network (CIDR or address; repeat for several). None = any address.
        #[arg(long = "allow-ip", value_parser = parse_net)]
        allow_ips: Vec<IpNet>,
        /// What the key may do: full, read (list, info, download) or upload (upload and mkdir).
        #[arg(long, default_value = "full")]
        scope: KeyScope,
        /// Confine the key to this folder's subtree: a path such as /backups, or a folder id.
        #[arg(long)]
        folder: Option<String>,
        /// The key stops working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Print the key and its record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys: labels, prefixes, scopes and dates, never secrets.
    List {
        /// Owner's e-mail.
        #[arg(long)]
        email: String,
        /// One JSON object per key.
        #[arg(long)]
        json: bool,
    },
    /// Set or clear when a key stops working.
    Expire {
        /// Owner's e-mail.
        #[arg(long)]
        email: String,
        /// Label.
        #[arg(long)]
        label: String,
        /// Days from now (0: at once), or `never`.
        #[arg(long)]
        in_days: String,
    },
    /// Give a key a new secret (printed); the old one stops working at once.
    Rotate {
        /// Owner's e-mail.
        #[arg(long)]
        email: String,
        /// Label.
        #[arg(long)]
        label: String,
    },
    /// Revoke a key.
    Revoke {
        /// Owner's e-mail.
        #[arg(long)]
        email: String,
        /// Label.
        #[arg(long)]
        label: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum VoucherCommand {
    /// Create a voucher held by a reseller; prints its code.
    Create {
        /// Reseller's e-mail.
        #[arg(long)]
        email: String,
        /// What it buys, e.g. premium-30d.
        #[arg(long)]
        service: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum TestFileCommand {
    /// Add a file's metadata; prints its link.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0)]
        folder_id: i64,
        #[arg(long, default_value_t = 0)]
        size: i64,
        /// Add this many files, named NAME-00001… (listing benchmarks).
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
}

pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR"))
}
