//! The command line, as clap definitions. Settings are resolved from these in `settings.rs`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Drive a 1fichier account from a terminal or a script: upload, download, organise, share.
#[derive(Debug, Parser)]
#[command(name = "1fichier", version = env!("ONEFICHIER_VERSION"), propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Profile of the config and credentials files to use.
    #[arg(long, global = true, env = crate::env_vars::PROFILE, default_value = "default")]
    pub(crate) profile: String,
    /// API base URL [env: ONEFICHIER_API_URL] [default: https://api.1fichier.com/v1]
    #[arg(long, global = true)]
    pub(crate) api_url: Option<String>,
    /// API key. Visible to other users in the process list: prefer `auth login` or
    /// ONEFICHIER_API_KEY.
    #[arg(long, global = true)]
    pub(crate) api_key: Option<String>,
    /// Print one JSON document (or JSON lines for streams) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    /// No progress bars.
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    /// More detail on errors (-v) and a log of calls (-vv).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Fail (exit 6, saying when to retry) rather than wait longer than SECONDS for the
    /// service's budgets or a flood lock. By default the CLI waits as long as it must.
    #[arg(long, global = true, env = crate::env_vars::MAX_WAIT, value_name = "SECONDS")]
    pub(crate) max_wait: Option<u64>,
    /// List folders anew instead of using a listing this key read in the last 30 s (the
    /// service allows one listing of a folder per 30 s, so this may wait).
    #[arg(long, global = true)]
    pub(crate) fresh: bool,
}

impl Command {
    /// Whether the command runs until Ctrl-C or SIGTERM and then stops by itself (unmounting,
    /// closing its listener, reporting what it did), rather than being cut short.
    pub(crate) fn stops_on_signals(&self) -> bool {
        matches!(self, Self::Mount(_) | Self::Serve(_))
    }

    /// The command's `--password`, if it has one.
    pub(crate) fn password_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            Self::Link { password, .. } | Self::Cp { password, .. } => Some(password),
            Self::Upload(args) => Some(&mut args.password),
            Self::Download(args) => Some(&mut args.password),
            Self::DlDir(args) => Some(&mut args.password),
            Self::Chattr(args) => Some(&mut args.password),
            Self::Share(args) => Some(&mut args.password),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store, show or remove the API key.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// The account: offer, subscription, storage, CDN credits.
    #[command(alias = "account")]
    Whoami,
    /// List a folder (default: the root).
    Ls(LsArgs),
    /// Show a folder tree.
    Tree {
        /// Remote folder.
        #[arg(default_value = "/")]
        path: String,
    },
    /// A file's details: size, date, Whirlpool, attributes, access list.
    Info {
        /// Remote file: a path such as /docs/a.pdf, or a link https://1fichier.com/?ID.
        file: String,
    },
    /// Upload files or folders (recursively) into a remote folder.
    Upload(UploadArgs),
    /// Download files, links or folders (recursively), resuming and verifying.
    Download(DownloadArgs),
    /// Download every file of a public shared folder.
    DlDir(DlDirArgs),
    /// Mirror a folder one way: local → remote or remote → local (`1f:PATH` marks a remote
    /// path when both could be local). New and changed files are sent, renamed ones moved
    /// server-side; `--delete` also removes what the source lacks.
    Sync(SyncArgs),
    /// Print a direct download URL for a file (valid 5 minutes).
    Link {
        /// Remote file (path or link).
        file: String,
        /// The file's password. `-` reads it without echo (or from a pipe).
        #[arg(long)]
        password: Option<String>,
    },
    /// Create a folder.
    Mkdir {
        /// Remote folder path.
        path: String,
        /// Create missing parents too; no error if it exists.
        #[arg(short, long)]
        parents: bool,
    },
    /// Move files or a folder into a remote folder.
    Mv {
        /// What to move (files: paths or links; or one folder path).
        #[arg(required = true, num_args = 1..)]
        sources: Vec<String>,
        /// Destination folder; or, for one source, a new path (`mv /a/x.tar /b/y.tar` moves and
        /// renames), as `mv` does.
        destination: String,
        /// Create the destination folder (or the new path's parent) when missing.
        #[arg(short, long)]
        parents: bool,
    },
    /// Copy files server-side into a remote folder (other accounts' public files too).
    Cp {
        /// Files to copy (paths or links).
        #[arg(required = true, num_args = 1..)]
        sources: Vec<String>,
        /// Destination folder; or, for one source, a new path (copied under a new name).
        destination: String,
        /// Create the destination folder (or the new path's parent) when missing.
        #[arg(short, long)]
        parents: bool,
        /// The source files' password. `-` reads it without echo (or from a pipe).
        #[arg(long)]
        password: Option<String>,
    },
    /// Rename a file or a folder in place.
    Rename {
        /// Remote file or folder.
        target: String,
        /// New name.
        name: String,
    },
    /// Delete files.
    Rm {
        /// Files (paths or links).
        #[arg(required = true, num_args = 1..)]
        files: Vec<String>,
        /// Do not ask for confirmation (required when not on a terminal).
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete a folder.
    Rmdir {
        /// Remote folder.
        path: String,
        /// Delete its files and sub-folders too.
        #[arg(long, short)]
        recursive: bool,
        /// Do not ask for confirmation (required with --recursive when not on a terminal).
        #[arg(long, short)]
        yes: bool,
    },
    /// Change file attributes.
    Chattr(ChattrArgs),
    /// Share a folder publicly and/or with registered users.
    Share(ShareArgs),
    /// Stop sharing a folder (public and groupware shares).
    Unshare {
        /// Remote folder.
        path: String,
    },
    /// Remote uploads: let the service fetch URLs into the account.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Antivirus scan of a file (an infected file is deleted).
    Scan {
        /// Remote file.
        file: String,
    },
    /// Reseller vouchers.
    #[command(subcommand)]
    Vouchers(VoucherCommand),
    /// FTP sub-accounts and processing.
    #[command(subcommand)]
    Ftp(FtpCommand),
    /// Show a remote folder as a local, read-only one (FUSE), for players, media servers and
    /// file managers: a seek costs no API call, a restart lists nothing again, and what was read
    /// is kept in a block cache. Runs until Ctrl-C or SIGTERM, then unmounts.
    Mount(MountArgs),
    /// Serve a remote folder to other programs: over HTTP (browsable, with ranges).
    #[command(subcommand)]
    Serve(ServeCommand),
    /// Print the Whirlpool of local files, as `openssl dgst -whirlpool -r` does.
    Hash {
        /// Local files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), with every command, the environment and the exit codes.
    Man {
        /// Instead, write one page per command (1fichier.1, 1fichier-upload.1, …) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Read a key (without echo, or from standard input), check it, and store it.
    Login {
        /// Read the key from standard input (for scripts).
        #[arg(long)]
        stdin: bool,
        /// Store in a file readable by the owner only, even when a keyring is available.
        #[arg(long)]
        no_keyring: bool,
    },
    /// Where the key comes from and which account it opens (never the key).
    Status,
    /// Remove the stored key.
    Logout,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Remote folder.
    #[arg(default_value = "/")]
    pub(crate) path: String,
    /// Long format: size, date, flags, link.
    #[arg(short, long)]
    pub(crate) long: bool,
    /// Recurse into sub-folders.
    #[arg(short = 'R', long)]
    pub(crate) recursive: bool,
    /// Show the parts and manifest of files stored in parts (over the per-file limit) as
    /// they are, instead of one entry per file.
    #[arg(long)]
    pub(crate) raw: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    /// Local files or folders, then optionally the remote folder (a last argument that is not a
    /// local path), e.g. `upload a.iso photos/ /backups/2026`.
    #[arg(required = true, num_args = 1..)]
    pub(crate) paths: Vec<String>,
    /// Remote folder (created if missing) [default: the root].
    #[arg(long, short = 't')]
    pub(crate) to: Option<String>,
    /// Download password for the uploaded files. `-` reads it without echo (or from a pipe).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Domain id of the links (0–10).
    #[arg(long)]
    pub(crate) domain: Option<i64>,
    /// Files uploaded at once.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub(crate) parallel: usize,
    /// Upload again files already there with the same size and Whirlpool.
    #[arg(long)]
    pub(crate) force: bool,
    /// When the destination holds a file of the same name with other content: keep both, replace
    /// it (removed only once the new file is verified; its link changes), skip the local file,
    /// or fail.
    #[arg(long, value_enum, default_value_t = Existing::KeepBoth)]
    pub(crate) existing: Existing,
    /// Follow symbolic links inside folders (links named on the command line are always
    /// followed); without it they are left out and listed.
    #[arg(long)]
    pub(crate) follow_symlinks: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The folder to mirror: a local folder, or a remote one (`/backups/photos`, `1f:/x`).
    pub(crate) source: String,
    /// Where to mirror it (created if missing): the other kind.
    pub(crate) dest: String,
    /// Also remove from the destination the files and folders the source lacks.
    #[arg(long)]
    pub(crate) delete: bool,
    /// Stop before changing anything if the plan deletes more than N files and folders.
    #[arg(long, value_name = "N")]
    pub(crate) max_delete: Option<usize>,
    /// Move what would be deleted or overwritten under this folder (on the destination's
    /// side) instead, with the same relative paths.
    #[arg(long, value_name = "DIR")]
    pub(crate) backup_dir: Option<String>,
    /// Print the plan (with --json, as `planned` events) and change nothing.
    #[arg(long, short = 'n')]
    pub(crate) dry_run: bool,
    /// Leave out paths matching this glob (gitignore syntax; repeatable). Folders may also
    /// hold a `.1fichierignore` file of gitignore rules.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Take only files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) include: Vec<String>,
    /// Transfers at once.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub(crate) parallel: usize,
}

impl From<Existing> for onefichier_client::existing::Existing {
    fn from(policy: Existing) -> Self {
        match policy {
            Existing::KeepBoth => Self::KeepBoth,
            Existing::Replace => Self::Replace,
            Existing::Skip => Self::Skip,
            Existing::Fail => Self::Fail,
        }
    }
}

/// What `upload` does about a remote file of the same name, and `download` about a local one,
/// when the contents differ (`--existing`); identical files are always skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Existing {
    /// Keep both: upload alongside it (the service allows equal names); download to
    /// `NAME (2).EXT`.
    KeepBoth,
    /// Upload, verify, then remove the older remote file(s) of that name; download, verify,
    /// then put the new file in place of the local one.
    Replace,
    /// Leave what is there and skip the file.
    Skip,
    /// Report an error for that file.
    Fail,
}

#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// Remote files, links or folders, then optionally a local folder (a last argument that is
    /// an existing local directory or starts with `.`).
    #[arg(required = true, num_args = 1..)]
    pub(crate) sources: Vec<String>,
    /// Local folder [default: the current one].
    #[arg(long, short = 'o')]
    pub(crate) to: Option<PathBuf>,
    /// The files' password. `-` reads it without echo (or from a pipe).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Spend CDN credits.
    #[arg(long)]
    pub(crate) cdn: bool,
    /// Files downloaded at once.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub(crate) parallel: usize,
    /// Connections per file: pieces of a large file fetched at once, for links slower than
    /// the disk. All transfers together stay within the service's 30 connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub(crate) segments: u16,
    /// Do not hash and compare Whirlpool (sizes are still checked).
    #[arg(long)]
    pub(crate) no_verify: bool,
    /// A local file of the same name with other content: keep-both (download to
    /// `NAME (2).EXT`), replace, skip or fail. Identical files are skipped.
    #[arg(long, value_enum, default_value_t = Existing::KeepBoth)]
    pub(crate) existing: Existing,
}

#[derive(Debug, Args)]
pub(crate) struct DlDirArgs {
    /// Shared folder id or https://…/dir/ID URL.
    pub(crate) id: String,
    /// Local folder.
    #[arg(long, short = 'o', default_value = ".")]
    pub(crate) to: PathBuf,
    /// A local file of the same name with other content: keep-both, replace, skip or fail.
    #[arg(long, value_enum, default_value_t = Existing::KeepBoth)]
    pub(crate) existing: Existing,
    /// The folder's password. `-` reads it without echo (or from a pipe).
    #[arg(long)]
    pub(crate) password: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub(crate) fn is_on(self) -> bool {
        matches!(self, Self::On)
    }
}

#[derive(Debug, Args)]
pub(crate) struct ChattrArgs {
    /// Remote files.
    #[arg(required = true, num_args = 1..)]
    pub(crate) files: Vec<String>,
    /// Password (6+ characters); an empty value removes it. `-` reads it without echo (or from a pipe).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Serve inline.
    #[arg(long)]
    pub(crate) inline: Option<OnOff>,
    /// Plain HTTP by default.
    #[arg(long)]
    pub(crate) no_ssl: Option<OnOff>,
    /// Flag as CDN.
    #[arg(long)]
    pub(crate) cdn: Option<OnOff>,
    /// Allow only these networks (CIDR; repeat).
    #[arg(long = "acl-ip")]
    pub(crate) acl_ip: Vec<String>,
    /// Allow only these countries (ISO codes; repeat).
    #[arg(long = "acl-country")]
    pub(crate) acl_country: Vec<String>,
    /// Allow only these registered users (e-mails; repeat).
    #[arg(long = "acl-email")]
    pub(crate) acl_email: Vec<String>,
    /// Allow only customers.
    #[arg(long = "acl-premium")]
    pub(crate) acl_premium: bool,
    /// Remove the access list.
    #[arg(long, conflicts_with_all = ["acl_ip", "acl_country", "acl_email", "acl_premium"])]
    pub(crate) clear_acl: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShareArgs {
    /// Remote folder.
    pub(crate) path: String,
    /// Password of the public share (6+ characters). `-` reads it without echo (or from a pipe).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Share with a registered user: EMAIL, EMAIL:rw or EMAIL:hide-links (repeat).
    #[arg(long = "with")]
    pub(crate) with: Vec<String>,
    /// Only the groupware shares, no public link.
    #[arg(long)]
    pub(crate) no_public: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RemoteCommand {
    /// Ask the service to fetch URLs.
    Add {
        /// URLs.
        #[arg(required = true)]
        urls: Vec<String>,
        /// Remote folder.
        #[arg(long, default_value = "/")]
        to: String,
        /// Header for the fetches, 'Name: value' (repeat).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Wait until the job has run and print its results.
        #[arg(long)]
        wait: bool,
    },
    /// List jobs.
    Ls,
    /// One job and its per-URL results.
    Info {
        /// Job id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum VoucherCommand {
    /// Unused vouchers.
    Ls,
    /// Check a voucher.
    Check {
        /// The code.
        voucher: String,
    },
    /// Apply a voucher to a user's account.
    Use {
        /// The code.
        voucher: String,
        /// The user's e-mail.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FtpCommand {
    /// FTP sub-accounts.
    #[command(subcommand)]
    Users(FtpUsersCommand),
    /// Process files uploaded by FTP (manual mode).
    Process,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FtpUsersCommand {
    /// List.
    Ls,
    /// Create (the password is read without echo, or from standard input).
    Add {
        /// User name.
        user: String,
        /// Folder that receives the uploads.
        #[arg(long, default_value = "/")]
        folder: String,
        /// Read the password from standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Delete.
    Rm {
        /// User name.
        user: String,
    },
}

/// What the media front ends share: the remote folder, the directory cache and the block cache.
#[derive(Debug, Args)]
pub(crate) struct MediaArgs {
    /// Remote folder to show (`/` for the whole account).
    pub(crate) remote: String,
    /// How long a folder listing is served before it is read again, in the background (`90s`,
    /// `30m`, `1h`, `2 days`).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub(crate) dir_cache_time: std::time::Duration,
    /// Keep read blocks on disk (`full`) or only in a small memory buffer (`off`).
    #[arg(long, value_enum, default_value_t = CacheMode::Full)]
    pub(crate) cache_mode: CacheMode,
    /// The block cache's folder [default: the user's cache folder, `onefichier/blocks`].
    #[arg(long, value_name = "DIR", env = crate::env_vars::CACHE_DIR)]
    pub(crate) cache_dir: Option<PathBuf>,
    /// The most the block cache keeps (`512M`, `10G`, `1T`; powers of 1024).
    #[arg(long, default_value = "10G", value_parser = parse_size, value_name = "SIZE")]
    pub(crate) cache_max_size: u64,
    /// Blocks older than this are removed [default: kept while there is room].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) cache_max_age: Option<std::time::Duration>,
}

/// Where read blocks are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CacheMode {
    /// On disk (`--cache-dir`), up to `--cache-max-size`.
    Full,
    /// In memory only (64 MiB).
    Off,
}

#[derive(Debug, Args)]
pub(crate) struct MountArgs {
    #[command(flatten)]
    pub(crate) media: MediaArgs,
    /// An empty local folder to mount on.
    pub(crate) mountpoint: PathBuf,
    /// Let other users (a media server's account) read the mount. Needs root, or
    /// `user_allow_other` in /etc/fuse.conf.
    #[arg(long)]
    pub(crate) allow_other: bool,
    #[command(flatten)]
    pub(crate) writes: WritesArgs,
}

/// Writing through a mount or WebDAV.
#[derive(Debug, Args)]
pub(crate) struct WritesArgs {
    /// Allow changes: files written are uploaded (verified) when closed, folders made, moved
    /// and removed; a file written over replaces the stored one (new link). Without it, the
    /// folder is read-only.
    #[arg(long)]
    pub(crate) writes: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// A browsable index of the folder and its files with GET, HEAD and ranges; counters in
    /// Prometheus' format at `/.metrics`.
    Http(ServeHttpArgs),
    /// The folder over WebDAV (file managers, players, desktops), with locks; read-only
    /// unless `--writes`; counters at `/.metrics`.
    Webdav(ServeWebdavArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeWebdavArgs {
    #[command(flatten)]
    pub(crate) media: MediaArgs,
    #[command(flatten)]
    pub(crate) server: ListenArgs,
    #[command(flatten)]
    pub(crate) writes: WritesArgs,
}

/// Where the servers listen, and who may connect.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// Address to listen on. Beyond loopback, `--user` is required.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Require HTTP basic authentication as this user; the password is read from
    /// ONEFICHIER_SERVE_PASSWORD (never from the command line).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM), as `1fichier-server --tls-cert` does:
    /// basic authentication beyond loopback should travel encrypted.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of `--tls-cert`; it should be readable by this user only.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeHttpArgs {
    #[command(flatten)]
    pub(crate) media: MediaArgs,
    #[command(flatten)]
    pub(crate) server: ListenArgs,
    /// Answer file requests with a redirect (302) to the file's download URL, so that the bytes
    /// do not pass through this process (players must follow redirects; the URL carries a
    /// token valid 30 minutes).
    #[arg(long)]
    pub(crate) redirect: bool,
}

/// `90s`, `30m`, `1h`, `2 days`, `1h 30m` (jiff's friendly format), or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    let error = || format!("`{text}` is not a duration such as 90s, 30m, 1h or 2 days");
    let span: jiff::Span = text.parse().map_err(|_| error())?;
    // A day is 24 hours here: these are cache lifetimes, not calendar dates.
    let span = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| error())?;
    std::time::Duration::try_from(span).map_err(|_| format!("`{text}` is negative"))
}

/// `4096`, `512K`, `512M`, `10G`, `1T` (powers of 1024; an optional `B`, `iB`).
fn parse_size(text: &str) -> Result<u64, String> {
    let error = || format!("`{text}` is not a size such as 512M, 10G or 1T");
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let digits = upper.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = upper[digits.len()..]
        .trim_end_matches("IB")
        .trim_end_matches('B');
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(error()),
    };
    let number: f64 = digits.trim().parse().map_err(|_| error())?;
    if !number.is_finite() || number < 0.0 {
        return Err(error());
    }
    let bytes = number * (1u64 << shift) as f64;
    if bytes >= u64::MAX as f64 {
        return Err(error());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod media_tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
        assert_eq!(parse_duration("90"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(
            parse_duration("1h"),
            Ok(std::time::Duration::from_secs(3600))
        );
        assert_eq!(
            parse_duration("30m"),
            Ok(std::time::Duration::from_secs(1800))
        );
        assert_eq!(
            parse_duration("2 days"),
            Ok(std::time::Duration::from_secs(172_800))
        );
        assert!(parse_duration("soon").is_err());
    }
}
