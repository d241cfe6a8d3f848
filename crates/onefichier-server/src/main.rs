//! `1fichier-server`: serve the API, and manage accounts, keys and vouchers.
// This binary's interface is its standard output: the listening address, new keys, listings.
#![allow(clippy::print_stdout)]

use anyhow::{Context, Result};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use clap::{Parser, Subcommand};
use ipnet::IpNet;
use onefichier_protocol::{date, user::Offer};
use onefichier_server::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use onefichier_server::config::PublicNames;
use onefichier_server::config::SignupMode;
use onefichier_server::connections::{CappedAcceptor, connection_cap, raise_open_file_limit};
use onefichier_server::meta::{KeyScope, MetaRepo, PostgresRepo, SqliteRepo};
use onefichier_server::state::now;
use onefichier_server::{
    AppState, LimitProfile, LimitsConfig, ServerConfig, admin, app, gc, remote,
};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "1fichier-server",
    version,
    about = "A self-hostable server for the 1fichier API v1"
)]
struct Cli {
    /// Data folder: the SQLite metadata database and the file bytes, unless --meta and --blobs
    /// put them elsewhere.
    #[arg(
        long,
        global = true,
        env = "ONEFICHIER_SERVER_DATA",
        default_value = "1fichier-data"
    )]
    data: PathBuf,
    /// Where file bytes live: `s3://BUCKET[/PREFIX]` (endpoint, region and credentials from the
    /// AWS_* variables), or a folder [default: DATA/blobs].
    #[arg(long, global = true, env = "ONEFICHIER_SERVER_BLOBS")]
    blobs: Option<String>,
    /// Where metadata lives: `sqlite:PATH`, or `postgres://USER@HOST/DATABASE` for several
    /// server processes on one database [default: sqlite:DATA/meta.sqlite]. A password belongs
    /// in PGPASSWORD or ~/.pgpass (or this URL in the environment variable), never in argv.
    #[arg(long, global = true, env = "ONEFICHIER_SERVER_META")]
    meta: Option<String>,
    /// Log lines (on standard error): text, coloured only on a terminal, or one JSON object each.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "ONEFICHIER_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
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
struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. The chosen address is printed once ready.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Limit profile.
    #[arg(long, value_enum, default_value = "1fichier")]
    limits: LimitProfile,
    /// Refusals from one address within a minute that lock it.
    #[arg(long, default_value_t = 20)]
    lock_after: u32,
    /// Length of a flood lock, in seconds.
    #[arg(long, default_value_t = 600)]
    lock_seconds: u64,
    /// Open connections at once; the next is answered 503 and closed [default: 8192, or less if
    /// the open-file limit, raised to its hard limit at start-up, is lower].
    #[arg(long, default_value_t = 8192)]
    max_connections: usize,
    /// Seconds a client has to send a request head, and an idle kept-alive connection waits
    /// for the next one.
    #[arg(long, default_value_t = 20)]
    header_timeout_seconds: u64,
    /// Seconds a client may read nothing while the server writes to it.
    #[arg(long, default_value_t = 60)]
    write_timeout_seconds: u64,
    /// API calls and page requests processed at once before answering 503.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Uploads and downloads in progress at once (apart from API calls) before answering 503.
    #[arg(long, default_value_t = 512)]
    max_transfers: usize,
    /// Uploads without a key from one address at once.
    #[arg(long, default_value_t = 4)]
    max_anonymous_uploads_per_ip: usize,
    /// Most files one listing returns [default: 5000 with `--limits 1fichier`, no limit with
    /// `--limits off`].
    #[arg(long)]
    max_listing: Option<i64>,
    /// A proxy whose X-Forwarded-For is believed (CIDR; repeat for several).
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<IpNet>,
    /// Host name of the public site, used in public folder URLs [default: the listen address].
    #[arg(long)]
    site_host: Option<String>,
    /// Upload node host name handed out by get_upload_server, in turn (repeat for several)
    /// [default: the listen address].
    #[arg(long = "upload-host")]
    upload_hosts: Vec<String>,
    /// Host name of direct download URLs: another name than --site-host, so that user files never
    /// run as the site's pages [default: the listen address; `localhost:PORT` when the site is on
    /// the loopback listen address itself].
    #[arg(long)]
    download_host: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest file an upload may carry, in bytes.
    #[arg(long, default_value_t = onefichier_protocol::upload::MAX_FILE_SIZE)]
    max_file_size: u64,
    /// An upload body that sends nothing for this many seconds is cut (its staging removed).
    #[arg(long, default_value_t = 30)]
    body_idle_seconds: u64,
    /// How long end.pl reports stay readable, in seconds.
    #[arg(long, default_value_t = 7200)]
    report_ttl_seconds: u64,
    /// A host that remote uploads may fetch from even if it resolves to an internal address
    /// (repeat for several). By default loopback, private and link-local targets are refused.
    #[arg(long = "remote-allow-host")]
    remote_allow_hosts: Vec<String>,
    /// How long this process's claim on a remote-upload job lasts unless renewed (renewed every
    /// third of it): how soon other processes on the same database take over the jobs of one
    /// that died.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..))]
    remote_lease_seconds: u64,
    /// Share request budgets, flood locks and wrong-password counts with the other processes
    /// of this service: `redis://HOST[:PORT][/DB]` (`rediss://` for TLS). Without it each
    /// process counts alone. A password belongs in the environment variable, not in argv.
    #[arg(long, env = "ONEFICHIER_SERVER_SHARED_STATE")]
    shared_state: Option<String>,
    /// Create a demo premium account, key and website password if absent, and print the lines
    /// to export and the login.
    #[arg(long)]
    dev: bool,
    /// Who may create an account on the website: open (anyone), invite (with a code from
    /// `invite create`) or closed (the operator, with `account create`).
    #[arg(long, value_enum, default_value = "closed")]
    signup: SignupMode,
    /// The offer of accounts created by open sign-up.
    #[arg(long, default_value = "premium")]
    signup_offer: Offer,
    /// Seconds after a log-in or a password confirmation during which the website's sensitive
    /// actions (create or rotate a key, change an allow-list, turn two-factor on) need no
    /// password; past them the password is asked again.
    #[arg(long, default_value_t = 600)]
    reconfirm_after_seconds: u64,
    /// A network that may read /metrics (CIDR; repeat for several) [default: loopback only].
    #[arg(long = "metrics-allow", value_parser = parse_net)]
    metrics_allow: Vec<IpNet>,
    /// On SIGTERM or Ctrl-C, stop accepting and give transfers in flight this many seconds to
    /// finish before exiting.
    #[arg(long, default_value_t = 30)]
    drain_seconds: u64,
}

#[derive(Subcommand)]
enum AccountCommand {
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
enum InviteCommand {
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
enum KeyCommand {
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
enum VoucherCommand {
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
enum TestFileCommand {
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

fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // PostgreSQL's notices (such as "relation … already exists, skipping" at each start-up's
    // migration check) are not news for an operator.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        // Colour codes only for a person at a terminal: a log file stays plain text.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    create_private_dir(&cli.data)
        .with_context(|| format!("cannot prepare the data folder {}", cli.data.display()))?;
    let _serving = match &cli.command {
        // Metadata is copied from a still instance: no server may change it meanwhile (bytes
        // never change once written, so --to-blobs alone may run beside the server).
        Command::Serve(_) if holds_shared_state(cli.meta.as_deref(), cli.blobs.as_deref()) => {
            Some(lock_data_dir(&cli.data)?)
        }
        Command::Migrate {
            to_meta: Some(_), ..
        } => Some(lock_data_dir(&cli.data)?),
        _ => None,
    };
    let repo = open_meta(&cli.data, cli.meta.as_deref()).await?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Serve(args) => {
            drop(out);
            serve(repo, &cli.data, cli.blobs.as_deref(), *args).await?;
        }
        Command::Account(AccountCommand::Create { email, offer }) => {
            let account = admin::create_account(repo.as_ref(), &email, offer).await?;
            writeln!(out, "{} {}", account.email, account.offer)?;
        }
        Command::Account(AccountCommand::SetOffer { email, offer }) => {
            admin::set_offer(repo.as_ref(), &email, offer).await?;
            writeln!(out, "{email} {offer}")?;
        }
        Command::Account(AccountCommand::List) => {
            for a in repo.accounts().await? {
                let end = a.subscription_end.map(date::format_unix);
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    a.email,
                    a.offer,
                    end.as_deref().unwrap_or("-")
                )?;
            }
        }
        Command::Key(KeyCommand::Create {
            email,
            label,
            allow_ips,
            scope,
            folder,
            expires_in_days,
            json,
        }) => {
            let folder_id = match folder {
                Some(folder) => Some(match folder.parse::<i64>() {
                    Ok(id) => id,
                    Err(_) => admin::resolve_folder(repo.as_ref(), &email, &folder).await?,
                }),
                None => None,
            };
            let options = admin::KeyOptions {
                allow_ips,
                scope,
                folder_id,
                expires_at: expires_in_days.map(|days| now() + i64::from(days) * 86_400),
            };
            let (key, secret) = admin::create_key(repo.as_ref(), &email, &label, options).await?;
            if json {
                let mut record = key_json(&key);
                record["key"] = secret.into();
                writeln!(out, "{record}")?;
            } else {
                writeln!(out, "{secret}")?;
            }
        }
        Command::Key(KeyCommand::List { email, json }) => {
            let keys = admin::list_keys(repo.as_ref(), &email).await?;
            if json {
                for k in &keys {
                    writeln!(out, "{}", key_json(k))?;
                }
                return Ok(());
            }
            writeln!(
                out,
                "LABEL\tPREFIX\tSCOPE\tFOLDER\tEXPIRES\tCREATED\tLAST USED\tALLOWED"
            )?;
            let when =
                |at: Option<i64>, none: &str| at.map_or_else(|| none.to_owned(), date::format_unix);
            for k in keys {
                let allowed: Vec<String> = k.allow_ips.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "{}\t{}…\t{}\t{}\t{}\t{}\t{}\t{}",
                    k.label,
                    k.prefix,
                    k.scope,
                    k.folder_id
                        .map_or_else(|| "all".to_owned(), |id| id.to_string()),
                    when(k.expires_at, "never"),
                    date::format_unix(k.created_at),
                    when(k.last_used_at, "never"),
                    if allowed.is_empty() {
                        "any".to_owned()
                    } else {
                        allowed.join(",")
                    }
                )?;
            }
        }
        Command::Account(AccountCommand::SetPassword { email }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            admin::set_password(repo.as_ref(), &email, password).await?;
            writeln!(out, "password set for {email}")?;
        }
        Command::Account(AccountCommand::ResetTwoFactor { email }) => {
            admin::reset_two_factor(repo.as_ref(), &email).await?;
            writeln!(out, "two-factor authentication is off for {email}")?;
        }
        Command::Migrate { to_meta, to_blobs } => {
            if let Some(to_meta) = to_meta {
                let target = open_meta(&cli.data, Some(&to_meta)).await?;
                let moved = onefichier_server::migrate::migrate_meta(
                    repo.as_ref(),
                    target.as_ref(),
                    |table| {
                        tracing::info!(
                            table = table.name,
                            rows = table.rows,
                            added = table.added,
                            "table copied and checked"
                        );
                    },
                )
                .await?;
                let rows: i64 = moved.iter().map(|table| table.rows).sum();
                let added: u64 = moved.iter().map(|table| table.added).sum();
                writeln!(
                    out,
                    "{} tables, {rows} rows: {added} copied, {} already there; every table checked",
                    moved.len(),
                    u64::try_from(rows).unwrap_or(0).saturating_sub(added)
                )?;
            }
            let Some(to_blobs) = to_blobs else {
                return Ok(());
            };
            let (from, _) = open_blobs(&cli.data, cli.blobs.as_deref()).await?;
            let (to, _) = open_blobs(&cli.data, Some(&to_blobs)).await?;
            let done = onefichier_server::migrate::migrate_blobs(
                repo.as_ref(),
                from.as_ref(),
                to.as_ref(),
                |blob, what| tracing::info!(blob = %blob.id, size = blob.size, "{what}"),
            )
            .await?;
            writeln!(
                out,
                "{} blobs: {} copied ({} bytes), {} already there, {} failed",
                done.blobs,
                done.copied,
                done.bytes,
                done.present,
                done.failed.len()
            )?;
            if let Some((id, why)) = done.failed.first() {
                anyhow::bail!(
                    "{} blobs could not be migrated (first: {id}: {why}); run the command again",
                    done.failed.len()
                );
            }
        }
        Command::Invite(InviteCommand::Create { offer, days }) => {
            let code = admin::create_invitation(repo.as_ref(), offer, days).await?;
            writeln!(out, "{code}")?;
        }
        Command::Key(KeyCommand::Expire {
            email,
            label,
            in_days,
        }) => {
            let at = match in_days.as_str() {
                "never" => None,
                days => Some(
                    now()
                        + days
                            .parse::<i64>()
                            .ok()
                            .filter(|d| (0..=36_500).contains(d))
                            .with_context(|| {
                                format!(
                                    "--in-days {days:?}: a number of days (0 to 36500) or never"
                                )
                            })?
                            * 86_400,
                ),
            };
            admin::set_key_expiry(repo.as_ref(), &email, &label, at).await?;
            match at {
                Some(at) => writeln!(out, "{label} expires {}", date::format_unix(at))?,
                None => writeln!(out, "{label} never expires")?,
            }
        }
        Command::Key(KeyCommand::Rotate { email, label }) => {
            let key = admin::rotate_key(repo.as_ref(), &email, &label).await?;
            writeln!(out, "{key}")?;
        }
        Command::Key(KeyCommand::Revoke { email, label }) => {
            admin::revoke_key(repo.as_ref(), &email, &label).await?;
            writeln!(out, "revoked {label}")?;
        }
        Command::Voucher(VoucherCommand::Create { email, service }) => {
            let code = admin::create_voucher(repo.as_ref(), &email, &service).await?;
            writeln!(out, "{code}")?;
        }
        Command::TestFile(TestFileCommand::Add {
            email,
            name,
            folder_id,
            size,
            count,
        }) => {
            for i in 0..count {
                let name = if count == 1 {
                    name.clone()
                } else {
                    format!("{name}-{:05}", i + 1)
                };
                let file =
                    admin::add_test_file(repo.as_ref(), &email, &name, folder_id, size).await?;
                writeln!(out, "https://1fichier.com/?{}", file.link_id)?;
            }
        }
    }
    Ok(())
}

/// A key's record as JSON (never its secret).
fn key_json(key: &onefichier_server::meta::ApiKey) -> serde_json::Value {
    serde_json::json!({
        "label": key.label,
        "prefix": key.prefix,
        "scope": key.scope.as_str(),
        "folder_id": key.folder_id,
        "expires_at": key.expires_at.map(date::format_unix),
        "allow_ips": key.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "created_at": date::format_unix(key.created_at),
        "rotated_at": key.rotated_at.map(date::format_unix),
        "last_used_at": key.last_used_at.map(date::format_unix),
        "last_used_ip": key.last_used_ip,
    })
}

/// Creates the data folder readable by its owner only: it holds key digests and password hashes.
/// A folder that exists with access for others is tightened to owner-only.
fn create_private_dir(path: &std::path::Path) -> Result<()> {
    if !path.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        return Ok(builder.create(path)?);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).with_context(
                || {
                    format!(
                        "{} is open to other users (mode {:o}) and could not be tightened: run chmod 700 {}",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    )
                },
            )?;
            tracing::warn!(
                path = %path.display(),
                was = format!("{:o}", mode & 0o777),
                "the data folder was open to other users; it is now owner-only (700)"
            );
        }
    }
    Ok(())
}

/// Whether the data folder holds what two servers may not share: the SQLite database or the
/// local blobs (whose staging the collector would take from another process for leftovers).
/// On PostgreSQL and S3 it holds neither, and processes serving one service side by side may
/// be given one `--data` (remote jobs are leased in the database, not guarded by the lock).
fn holds_shared_state(meta: Option<&str>, blobs: Option<&str>) -> bool {
    let meta_here =
        meta.is_none_or(|m| !(m.starts_with("postgres://") || m.starts_with("postgresql://")));
    let blobs_here = blobs.is_none_or(|b| !b.starts_with("s3://"));
    meta_here || blobs_here
}

/// Holds the data folder for this server alone until the process exits: a second server on the
/// same folder would collect the first one's in-flight uploads as leftovers and run its remote
/// jobs twice. Admin commands need no lock (SQLite orders their writes).
fn lock_data_dir(data: &std::path::Path) -> Result<std::fs::File> {
    let path = data.join("server.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            writeln!(file, "{}", std::process::id())?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            anyhow::bail!(
                "another 1fichier-server (pid {}) is serving {}: one data folder, one server. Stop it, or give this one another --data",
                holder.trim(),
                data.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The blob store `--blobs` names, and how long the start-up collector spares blobs without a
/// row: nothing in a local folder this server holds alone, six hours (longer than an upload) in
/// a bucket other processes may be writing to.
/// The metadata store `--meta` names (the SQLite file in the data folder by default).
async fn open_meta(data: &std::path::Path, meta: Option<&str>) -> Result<Arc<dyn MetaRepo>> {
    Ok(match meta {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            // The URL may hold a password: errors name the database without it.
            let shown = redacted(url);
            Arc::new(
                PostgresRepo::connect(url)
                    .await
                    .with_context(|| format!("cannot open the metadata in {shown}"))?,
            )
        }
        Some(other) => {
            let path = other.strip_prefix("sqlite:").with_context(|| {
                format!(
                    "--meta {}: expected sqlite:PATH or postgres://…",
                    redacted(other)
                )
            })?;
            Arc::new(
                SqliteRepo::open_file(std::path::Path::new(path))
                    .await
                    .with_context(|| format!("cannot open the metadata in {path}"))?,
            )
        }
        None => Arc::new(
            SqliteRepo::open(data)
                .await
                .with_context(|| format!("cannot open the metadata in {}", data.display()))?,
        ),
    })
}

/// A database URL with its password (if any) replaced, fit for messages and logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

async fn open_blobs(
    data: &std::path::Path,
    blobs: Option<&str>,
) -> Result<(Arc<dyn BlobStore>, Duration)> {
    Ok(match blobs {
        Some(url) if url.starts_with("s3://") => {
            let store = S3BlobStore::from_url(url).with_context(|| format!("--blobs {url}"))?;
            store
                .ping()
                .await
                .with_context(|| format!("the blob store {url} does not answer"))?;
            (Arc::new(store), Duration::from_secs(6 * 3600))
        }
        Some(folder) => {
            let store = LocalBlobStore::open_at(std::path::Path::new(folder))
                .await
                .with_context(|| format!("cannot open the blob folder {folder}"))?;
            (Arc::new(store), Duration::ZERO)
        }
        None => {
            let store = LocalBlobStore::open(data)
                .await
                .with_context(|| format!("cannot open the blob folder in {}", data.display()))?;
            (Arc::new(store), Duration::ZERO)
        }
    })
}

async fn serve(
    repo: Arc<dyn MetaRepo>,
    data: &std::path::Path,
    blobs: Option<&str>,
    args: ServeArgs,
) -> Result<()> {
    let demo = if args.dev {
        Some(admin::ensure_demo(repo.as_ref(), data).await?)
    } else {
        None
    };
    let (blobs, startup_grace) = open_blobs(data, blobs).await?;
    let shared_state = match &args.shared_state {
        Some(url) => Some(
            onefichier_server::shared_state::SharedState::connect(url)
                .await
                .with_context(|| format!("the shared state {} does not answer", redacted(url)))?,
        ),
        None => None,
    };
    let max_connections = match raise_open_file_limit() {
        Ok(files) => connection_cap(files, args.max_connections),
        Err(error) => {
            tracing::warn!(%error, "the open-file limit could not be read or raised");
            args.max_connections
        }
    };
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let own = address.to_string();
    let site_host = args.site_host.unwrap_or_else(|| own.clone());
    let download_host = args
        .download_host
        .unwrap_or_else(|| distinct_download_host(&site_host, address));
    if download_host.eq_ignore_ascii_case(&site_host) {
        tracing::warn!(
            host = %site_host,
            "direct downloads are served on the site's own origin: give them a host of their own \
             with --download-host (user files are still sandboxed and never shown as pages)"
        );
    }
    let config = ServerConfig {
        limits: LimitsConfig {
            profile: args.limits,
            lock_after: args.lock_after,
            lock_duration: Duration::from_secs(args.lock_seconds),
            max_in_flight: args.max_in_flight,
            max_transfers: args.max_transfers,
            max_anonymous_uploads_per_ip: args.max_anonymous_uploads_per_ip,
            max_listing: args.max_listing,
        },
        trusted_proxies: args.trusted_proxies,
        names: PublicNames {
            tls: args.tls_cert.is_some(),
            site_host,
            upload_hosts: if args.upload_hosts.is_empty() {
                vec![own.clone()]
            } else {
                args.upload_hosts
            },
            download_host,
        },
        max_file_size: args.max_file_size,
        report_ttl: Duration::from_secs(args.report_ttl_seconds),
        remote_lease: Duration::from_secs(args.remote_lease_seconds),
        shared_state,
        remote_allow_hosts: args.remote_allow_hosts,
        body_idle_timeout: Duration::from_secs(args.body_idle_seconds.max(1)),
        web: onefichier_server::config::WebConfig {
            signup: args.signup,
            signup_offer: args.signup_offer,
            reconfirm_after: i64::try_from(args.reconfirm_after_seconds).unwrap_or(i64::MAX),
        },
        metrics_allow: if args.metrics_allow.is_empty() {
            ServerConfig::default().metrics_allow
        } else {
            args.metrics_allow
        },
        ..ServerConfig::default()
    };
    let scheme = config.names.scheme();
    onefichier_server::telemetry::install_metrics()?;
    let state = AppState::new(repo, blobs, config);
    // Nothing of this server's is in flight yet: leftovers of an earlier run are garbage (in a
    // shared bucket, only those older than any upload can be).
    gc::collect(&state, startup_grace).await?;
    gc::schedule(
        state.clone(),
        Duration::from_secs(3600),
        Duration::from_secs(86_400),
    );
    let resumed = remote::take_over(&state).await?;
    if resumed > 0 {
        tracing::info!(resumed, "remote upload jobs resumed");
    }
    remote::schedule_take_over(state.clone());
    let banner = || -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {scheme}://{address}")?;
        if let Some(demo) = &demo {
            writeln!(out, "export ONEFICHIER_API_URL={scheme}://{address}/v1")?;
            writeln!(out, "export ONEFICHIER_API_KEY={}", demo.key)?;
            if args.limits == LimitProfile::Off {
                // The CLI and SDK may then skip the live service's budgets.
                writeln!(out, "export ONEFICHIER_BUDGETS=unlimited")?;
            }
            writeln!(
                out,
                "website: {scheme}://{address}/login as {} with password {}",
                admin::DEMO_EMAIL,
                demo.password
            )?;
        }
        out.flush()
    };
    // A reader that went away (a closed pipe) must not stop the server it started.
    if let Err(error) = banner() {
        tracing::warn!(%error, "could not print the address");
    }
    tracing::info!(%address, max_connections, "serving");
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let drain = Duration::from_secs(args.drain_seconds);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(
            deadline_seconds = drain.as_secs(),
            "draining: no new connections; requests in flight may finish"
        );
        stopper.graceful_shutdown(Some(drain));
    });
    let acceptor = CappedAcceptor::new(
        max_connections,
        Duration::from_secs(args.write_timeout_seconds.max(1)),
    );
    let header_timeout = Duration::from_secs(args.header_timeout_seconds.max(1));
    match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = RustlsConfig::from_pem_file(&cert, &key)
                .await
                .with_context(|| format!("cannot load {} and {}", cert.display(), key.display()))?;
            let tls = RustlsAcceptor::new(tls)
                .handshake_timeout(header_timeout)
                .acceptor(acceptor);
            let server = axum_server::from_tcp(listener)?.acceptor(tls);
            bounded(server, header_timeout)
                .handle(handle)
                .serve(service)
                .await?;
        }
        _ => {
            let server = axum_server::from_tcp(listener)?.acceptor(acceptor);
            bounded(server, header_timeout)
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Every connection's head must arrive within `header_timeout`, the first and each next one on
/// a kept-alive connection (so idle and slowloris connections are closed); accept errors such as
/// running out of file descriptors are logged, and the server backs off and goes on.
fn bounded<A>(
    mut server: axum_server::Server<SocketAddr, A>,
    header_timeout: Duration,
) -> axum_server::Server<SocketAddr, A> {
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    server
        .http_builder()
        .http2()
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    server
        .first_request_timeout(header_timeout)
        .accept_error_handler(|peer, error| {
            tracing::warn!(?peer, %error, "connection not accepted");
        })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
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
