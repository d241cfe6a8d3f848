//! The command line: `serve` and its options, and the operator's commands.

use clap::{Parser, Subcommand};
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use onefichier_server::meta::KeyScope;
use onefichier_server::options::{ServeArgs, parse_net};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "1fichier-server",
    version = env!("ONEFICHIER_VERSION"),
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
    /// Print the man page (roff).
    Man {
        /// Instead, write one page per command (1fichier-server.1, 1fichier-server-serve.1, …)
        /// into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
    /// Print every setting as an environment file (VARIABLE=value, commented out at its default,
    /// with its meaning): the service's /etc/default/1fichier-server.
    EnvFile,
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
