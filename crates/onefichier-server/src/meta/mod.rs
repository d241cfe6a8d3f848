//! Metadata: accounts, keys, folders, files, vouchers and FTP users, behind [`MetaRepo`] so that
//! SQLite and PostgreSQL can be swapped without touching handlers.

#[macro_use]
mod rows;
#[macro_use]
mod shared;
mod postgres;
mod sqlite;

pub use postgres::PostgresRepo;
pub use sqlite::SqliteRepo;

use async_trait::async_trait;
use ipnet::IpNet;
use onefichier_protocol::user::Offer;

/// Errors of the metadata layer.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A unique constraint refused the change (e.g. a second folder of the same name).
    #[error("already exists")]
    Conflict,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The database holds a value this version cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The change would take the account past its storage quota.
    #[error("storage quota exceeded")]
    QuotaExceeded,
}

/// Result of the metadata layer.
pub type MetaResult<T> = Result<T, MetaError>;

/// An account's preferences, as `user/info.cgi` shows and sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// 0 none, 1 e-mail code, 2 authenticator app.
    pub two_factor: i64,
    /// E-mail on removal.
    pub mail_rm: bool,
    /// FTP uploads: false automatic, true manual.
    pub ftp_mode: bool,
    /// Destination folder of FTP uploads.
    pub ftp_did: i64,
    /// E-mail a report after FTP processing.
    pub ftp_report: bool,
    /// E-mail a report after each remote upload.
    pub ru_report: bool,
    /// Default domain id.
    pub default_domain: i64,
    /// Files per page in the web interface.
    pub page_limit: i64,
    /// Default download mode: false HTTPS, true HTTP.
    pub default_port: bool,
    /// Same, for own files.
    pub default_port_files: bool,
    /// Spend CDN credits on own downloads.
    pub use_cdn: bool,
    /// Show the download menu.
    pub download_menu: bool,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Row id.
    pub id: i64,
    /// E-mail, unique.
    pub email: String,
    /// Offer.
    pub offer: Offer,
    /// Creation time.
    pub created_at: i64,
    /// End of the subscription.
    pub subscription_end: Option<i64>,
    /// Hot-storage quota in bytes.
    pub hot_quota: i64,
    /// Cold-storage quota in bytes.
    pub cold_quota: i64,
    /// CDN credits in bytes.
    pub cdn_credits_bytes: i64,
    /// Uploads blocked.
    pub upload_forbidden: bool,
    /// Bytes that anonymous uploads sent to this account (`user=E-MAIL`) may occupy in its
    /// Incoming folder; 0 takes none.
    pub inbox_allowance: i64,
    /// Preferences.
    pub settings: Settings,
}

/// What a key may do. 1fichier's keys can do everything; ours can be narrowed, so that a key
/// that leaks from a backup script or a media server cannot delete or read the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// Everything.
    #[default]
    Full,
    /// List, info, download: nothing that changes the account.
    Read,
    /// Upload and create folders: nothing that reads files, deletes or moves.
    Upload,
}

impl KeyScope {
    /// Every scope, broadest first.
    pub const ALL: [KeyScope; 3] = [KeyScope::Full, KeyScope::Read, KeyScope::Upload];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Full => "full",
            KeyScope::Read => "read",
            KeyScope::Upload => "upload",
        }
    }
}

impl std::fmt::Display for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyScope {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(KeyScope::Full),
            "read" => Ok(KeyScope::Read),
            "upload" | "upload-only" => Ok(KeyScope::Upload),
            other => Err(format!(
                "{other:?} is not a key scope: full, read or upload"
            )),
        }
    }
}

/// An API key's record (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub account_id: i64,
    /// Label, unique among the account's live keys.
    pub label: String,
    /// First characters of the key.
    pub prefix: String,
    /// Allowed caller addresses; empty = any.
    pub allow_ips: Vec<IpNet>,
    /// Creation time.
    pub created_at: i64,
    /// Last rotation.
    pub rotated_at: Option<i64>,
    /// Last successful use.
    pub last_used_at: Option<i64>,
    /// The address of the last successful use.
    pub last_used_ip: Option<String>,
    /// What the key may do.
    pub scope: KeyScope,
    /// The folder whose subtree the key is confined to (`None`: the whole account).
    pub folder_id: Option<i64>,
    /// When the key stops working.
    pub expires_at: Option<i64>,
}

/// What is needed to store a new key.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Owner.
    pub account_id: i64,
    /// Label.
    pub label: String,
    /// SHA-256 of the key.
    pub digest: [u8; 32],
    /// First characters of the key.
    pub prefix: String,
    /// Allowed addresses.
    pub allow_ips: Vec<IpNet>,
    /// Creation time.
    pub created_at: i64,
    /// What the key may do.
    pub scope: KeyScope,
    /// Confinement to a folder's subtree.
    pub folder_id: Option<i64>,
    /// Expiry.
    pub expires_at: Option<i64>,
}

/// One line of a key's history, as the API Manager shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// The account.
    pub account_id: i64,
    /// The key, while it exists.
    pub key_id: Option<i64>,
    /// The key's label at the time.
    pub label: String,
    /// What happened.
    pub event: KeyEventKind,
    /// What changed, in words.
    pub detail: String,
    /// The address that caused it (the browser's, or the key user's).
    pub ip: Option<String>,
    /// When.
    pub at: i64,
}

/// What happened to a key (or, for [`KeyEventKind::LoginAttack`], to the account itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEventKind {
    /// Created.
    Created,
    /// Given a new secret.
    Rotated,
    /// Revoked.
    Revoked,
    /// Renamed.
    Renamed,
    /// Its IP allow-list changed.
    AllowList,
    /// Used from an address not seen before.
    NewAddress,
    /// The account's password is being guessed.
    LoginAttack,
    /// Stored under a name this server does not know (written by a newer one).
    Other,
}

impl KeyEventKind {
    const NAMES: [(Self, &'static str); 7] = [
        (Self::Created, "created"),
        (Self::Rotated, "rotated"),
        (Self::Revoked, "revoked"),
        (Self::Renamed, "renamed"),
        (Self::AllowList, "allow_list"),
        (Self::NewAddress, "new_address"),
        (Self::LoginAttack, "login_attack"),
    ];

    /// Its stored name (`created`, `allow_list`, …).
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("other", |(_, name)| name)
    }

    /// The kind stored as `name`.
    pub fn from_name(name: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map_or(Self::Other, |(kind, _)| *kind)
    }

    /// What the API Manager's history says of it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Rotated => "rotated (new secret)",
            Self::Revoked => "revoked",
            Self::Renamed => "renamed",
            Self::AllowList => "allow-list changed",
            Self::NewAddress => "used from a new address",
            Self::LoginAttack => "password under attack",
            Self::Other => "changed",
        }
    }
}

/// What a login checks, besides the e-mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Argon2id hash of the web password; `None` when the account has no web login.
    pub password_hash: Option<String>,
    /// Base32 TOTP secret (while enrolling or enabled).
    pub totp_secret: Option<String>,
    /// The second factor is required at login.
    pub totp_enabled: bool,
    /// The last accepted TOTP step.
    pub totp_last_step: i64,
}

/// A browser session (the cookie holds a secret whose digest is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// SHA-256 of the cookie's value.
    pub digest: [u8; 32],
    /// The account.
    pub account_id: i64,
    /// The token forms of this session carry.
    pub csrf: String,
    /// Login time.
    pub created_at: i64,
    /// Last request.
    pub seen_at: i64,
    /// The address that logged in.
    pub ip: String,
    /// The password was right, the second factor is still owed.
    pub pending_totp: bool,
    /// When the owner last proved who they are (log-in, confirmation): sensitive actions ask
    /// again when it is old.
    pub proved_at: i64,
}

/// How a new web account may be created.
#[derive(Debug, Clone, Copy)]
pub enum Admission<'a> {
    /// Open sign-up, with this offer.
    Open(Offer),
    /// An invitation code's digest; the invitation gives the offer and is used up.
    Invitation(&'a [u8; 32]),
}

/// A folder (the root, id 0, has no record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Id.
    pub id: i64,
    /// Owner.
    pub account_id: i64,
    /// Parent (0 = root).
    pub parent_id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: i64,
    /// Public share id (`/dir/ID`), when shared.
    pub share_id: Option<String>,
    /// Public share password digest.
    pub share_pass_hash: Option<String>,
}

/// A groupware share of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShare {
    /// The user's e-mail.
    pub email: String,
    /// Write access.
    pub rw: bool,
    /// Links hidden.
    pub hide_links: bool,
}

/// A file's access list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// Allowed networks.
    pub ip: Vec<String>,
    /// Allowed countries.
    pub country: Vec<String>,
    /// Allowed users.
    pub email: Vec<String>,
    /// Customers only.
    pub premium: bool,
}

impl Acl {
    /// Whether nothing is restricted.
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.country.is_empty() && self.email.is_empty() && !self.premium
    }
}

/// A file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Row id.
    pub id: i64,
    /// Download-link id.
    pub link_id: String,
    /// Owner; `None` for anonymous uploads.
    pub account_id: Option<i64>,
    /// Folder (0 = root).
    pub folder_id: i64,
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Whirlpool, lowercase hex.
    pub whirlpool: String,
    /// MIME type.
    pub content_type: String,
    /// Upload time.
    pub created_at: i64,
    /// Description.
    pub description: String,
    /// Password digest.
    pub pass_hash: Option<String>,
    /// Served without TLS by default.
    pub no_ssl: bool,
    /// Served inline.
    pub inline: bool,
    /// Flagged CDN.
    pub cdn: bool,
    /// Access list.
    pub acl: Acl,
    /// Domain id of the link.
    pub domain: i64,
    /// Removal code (anonymous uploads).
    pub remove_code: Option<String>,
    /// The blob holding the bytes.
    pub blob_id: Option<String>,
}

/// A file as listings show it: only what `file/ls` and `folder/ls` print, so that a listing of
/// thousands of files reads and decodes as little as possible.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListedFile {
    /// Download-link id.
    pub link_id: String,
    /// Domain id of the link.
    pub domain: i64,
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Whirlpool.
    pub whirlpool: String,
    /// MIME type.
    pub content_type: String,
    /// Upload time.
    pub created_at: i64,
    /// Password protected.
    pub has_pass: bool,
    /// Access list set.
    pub has_acl: bool,
    /// Flagged CDN.
    pub cdn: bool,
}

/// Date bounds of a file listing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SentBetween {
    /// Only files sent strictly before.
    pub before: Option<i64>,
    /// Only files sent strictly after.
    pub after: Option<i64>,
}

/// A reseller voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherRecord {
    /// The code.
    pub code: String,
    /// What it buys, e.g. `premium-30d`.
    pub service: String,
    /// The reseller.
    pub owner_id: i64,
    /// Who used it.
    pub used_by: Option<i64>,
}

/// An FTP sub-account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpUserRecord {
    /// User name.
    pub user: String,
    /// Destination folder.
    pub folder_id: i64,
    /// Creation time.
    pub created_at: i64,
}

/// A blob and the files that point at it, stored together by an upload.
#[derive(Debug, Clone)]
pub struct NewBlob {
    /// Blob id.
    pub id: String,
    /// Size in bytes.
    pub size: i64,
    /// Whirlpool, lowercase hex.
    pub whirlpool: String,
}

/// A download token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadToken {
    /// The token (in the direct URL).
    pub token: String,
    /// The file.
    pub file_id: i64,
    /// Creation time.
    pub created_at: i64,
    /// First use.
    pub first_used_at: Option<i64>,
    /// Serve inline.
    pub inline: bool,
    /// No parallel requests.
    pub single: bool,
    /// Which addresses may use it.
    pub restrict_ip: IpRestriction,
    /// Address bound at first use.
    pub bound_ip: Option<String>,
    /// The key that asked for the token, and its digest then: the token serves only while
    /// that key is neither revoked nor rotated. `None` for tokens no key asked for.
    pub issuer: Option<(i64, [u8; 32])>,
}

/// Which addresses may use a direct URL (`restrict_ip`: 0, 1 or 2 on the wire and in the
/// database).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IpRestriction {
    /// Any address.
    #[default]
    Any,
    /// Only the address that first used it.
    BoundToFirst,
    /// Only that address, one connection at a time.
    BoundAndSingle,
}

impl IpRestriction {
    /// The restriction of a `restrict_ip` value, if it is one.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Any),
            1 => Some(Self::BoundToFirst),
            2 => Some(Self::BoundAndSingle),
            _ => None,
        }
    }

    /// Its `restrict_ip` value.
    pub fn code(self) -> i64 {
        match self {
            Self::Any => 0,
            Self::BoundToFirst => 1,
            Self::BoundAndSingle => 2,
        }
    }

    /// Whether the URL serves one address only.
    pub fn binds(self) -> bool {
        self != Self::Any
    }
}

/// A remote-upload job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJob {
    /// Id.
    pub id: i64,
    /// Owner.
    pub account_id: i64,
    /// Destination folder.
    pub folder_id: i64,
    /// URLs to fetch.
    pub urls: Vec<String>,
    /// Extra headers (JSON object text).
    pub headers: String,
    /// When requested.
    pub request_date: i64,
    /// When done.
    pub execution_date: Option<i64>,
    /// Per-URL results (JSON array text).
    pub result: String,
}

/// A server process's claim on a remote-upload job, until a time.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// The process (a random name it takes at start).
    pub owner: &'a str,
    /// When the claim runs out unless renewed (Unix seconds).
    pub until: i64,
}

/// The metadata store. Every method that takes an `account_id` only sees that account's rows.
#[async_trait]
pub trait MetaRepo: Send + Sync + 'static {
    // Accounts.
    /// Creates an account with the offer's default quotas.
    async fn create_account(&self, email: &str, offer: Offer, now: i64) -> MetaResult<Account>;
    /// Finds an account by e-mail (case-insensitive).
    async fn account_by_email(&self, email: &str) -> MetaResult<Option<Account>>;
    /// Finds an account by id.
    async fn account(&self, id: i64) -> MetaResult<Option<Account>>;
    /// Every account, oldest first.
    async fn accounts(&self) -> MetaResult<Vec<Account>>;
    /// Sets how many bytes anonymous uploads may occupy in the account's Incoming folder.
    async fn set_inbox_allowance(&self, account_id: i64, bytes: i64) -> MetaResult<()>;
    /// Stores an account's preferences.
    async fn update_settings(&self, account_id: i64, settings: &Settings) -> MetaResult<()>;
    /// Changes an account's offer and subscription end.
    async fn update_offer(&self, account_id: i64, offer: Offer, end: Option<i64>)
    -> MetaResult<()>;
    /// Records an `ftp/process.cgi` request.
    async fn request_ftp_process(&self, account_id: i64, now: i64) -> MetaResult<()>;

    // Health.
    /// Answers when the store is reachable (the readiness probe).
    async fn ping(&self) -> MetaResult<()>;
    /// Bytes held by every blob (the storage-used gauge).
    async fn stored_bytes(&self) -> MetaResult<i64>;

    // The website's accounts.
    /// Creates an account with a web password, as sign-up allows; `Ok(None)` when the
    /// invitation is unknown, used or expired, `Conflict` when the e-mail is taken. The
    /// invitation is used up in the same transaction.
    async fn create_web_account(
        &self,
        email: &str,
        password_hash: &str,
        admission: Admission<'_>,
        now: i64,
    ) -> MetaResult<Option<Account>>;
    /// Stores an invitation code's digest.
    async fn insert_invitation(
        &self,
        digest: &[u8; 32],
        offer: Offer,
        now: i64,
        expires_at: i64,
    ) -> MetaResult<()>;
    /// What a login checks.
    async fn credentials(&self, account_id: i64) -> MetaResult<Credentials>;
    /// Sets the web password.
    async fn set_password(&self, account_id: i64, password_hash: &str) -> MetaResult<()>;
    /// Sets the TOTP secret and whether it is required (`None` clears both).
    async fn set_totp(
        &self,
        account_id: i64,
        secret: Option<&str>,
        enabled: bool,
    ) -> MetaResult<()>;
    /// Records that the TOTP code of `step` was used; false when that step or a later one
    /// already was (a code works once).
    async fn use_totp_step(&self, account_id: i64, step: i64) -> MetaResult<bool>;
    /// Replaces the account's recovery codes.
    async fn set_recovery_codes(&self, account_id: i64, digests: &[[u8; 32]]) -> MetaResult<()>;
    /// Uses up a recovery code; false when unknown or used.
    async fn use_recovery_code(
        &self,
        account_id: i64,
        digest: &[u8; 32],
        now: i64,
    ) -> MetaResult<bool>;
    /// Recovery codes not used yet.
    async fn recovery_codes_left(&self, account_id: i64) -> MetaResult<i64>;

    // Browser sessions.
    /// Stores a session.
    async fn insert_session(&self, session: &WebSession) -> MetaResult<()>;
    /// A live session by its digest (not idle since `idle_before`, not opened before
    /// `created_before`), with its last request time updated to `now`.
    async fn session(
        &self,
        digest: &[u8; 32],
        now: i64,
        idle_before: i64,
        created_before: i64,
    ) -> MetaResult<Option<WebSession>>;
    /// The second factor was given.
    async fn complete_session(&self, digest: &[u8; 32]) -> MetaResult<()>;
    /// Records that the session's owner proved who they are again at `now`.
    async fn prove_session(&self, digest: &[u8; 32], now: i64) -> MetaResult<()>;
    /// Ends a session.
    async fn delete_session(&self, digest: &[u8; 32]) -> MetaResult<()>;
    /// Ends every session of an account but `keep`.
    async fn delete_other_sessions(&self, account_id: i64, keep: &[u8; 32]) -> MetaResult<()>;
    /// Ends sessions idle since `idle_before` or opened before `created_before`.
    async fn delete_stale_sessions(&self, idle_before: i64, created_before: i64)
    -> MetaResult<u64>;

    // API keys.
    /// Stores a new key; `Conflict` when the label is taken by a live key.
    async fn insert_key(&self, key: NewKey) -> MetaResult<ApiKey>;
    /// Finds a live key by the digest of its secret.
    async fn key_by_digest(&self, digest: &[u8; 32]) -> MetaResult<Option<(ApiKey, [u8; 32])>>;
    /// Records a successful use, and from where.
    async fn touch_key(&self, key_id: i64, now: i64, ip: &str) -> MetaResult<()>;
    /// Remembers an address a key was used from; true the first time.
    async fn note_key_address(&self, key_id: i64, ip: &str, now: i64) -> MetaResult<bool>;
    /// An account's live keys.
    async fn keys(&self, account_id: i64) -> MetaResult<Vec<ApiKey>>;
    /// One of an account's live keys.
    async fn key(&self, account_id: i64, key_id: i64) -> MetaResult<Option<ApiKey>>;
    /// Renames a live key and sets its allow-list; false when there is no such key, `Conflict`
    /// when the label is taken.
    async fn update_key(
        &self,
        account_id: i64,
        key_id: i64,
        label: &str,
        allow_ips: &[IpNet],
    ) -> MetaResult<bool>;
    /// Appends to the account's key history.
    async fn insert_key_event(&self, event: &KeyEvent) -> MetaResult<()>;
    /// The account's latest key events, newest first.
    async fn key_events(&self, account_id: i64, limit: i64) -> MetaResult<Vec<KeyEvent>>;
    /// Gives the live key `label` a new secret; `None` when there is no such key.
    async fn rotate_key(
        &self,
        account_id: i64,
        label: &str,
        digest: [u8; 32],
        prefix: &str,
        now: i64,
    ) -> MetaResult<Option<ApiKey>>;
    /// Sets when the live key `label` stops working; false when there is no such key.
    async fn set_key_expiry(
        &self,
        account_id: i64,
        label: &str,
        expires_at: Option<i64>,
    ) -> MetaResult<bool>;
    /// Revokes the live key `label`; false when there is no such key.
    async fn revoke_key(&self, account_id: i64, label: &str, now: i64) -> MetaResult<bool>;

    // Folders.
    /// One of the account's folders.
    async fn folder(&self, account_id: i64, id: i64) -> MetaResult<Option<Folder>>;
    /// Whether folder `id` is `ancestor` or lies below it (0, the root, holds everything).
    async fn folder_within(&self, account_id: i64, id: i64, ancestor: i64) -> MetaResult<bool>;
    /// The sub-folders of `parent`, by name.
    async fn sub_folders(&self, account_id: i64, parent: i64) -> MetaResult<Vec<Folder>>;
    /// Creates a folder; `Conflict` when a sibling has that name.
    async fn insert_folder(
        &self,
        account_id: i64,
        parent: i64,
        name: &str,
        now: i64,
    ) -> MetaResult<Folder>;
    /// Moves and/or renames a folder; `Conflict` when the target name is taken.
    async fn move_folder(
        &self,
        account_id: i64,
        id: i64,
        parent: i64,
        name: &str,
    ) -> MetaResult<()>;
    /// Deletes an empty folder and its shares.
    async fn delete_folder(&self, account_id: i64, id: i64) -> MetaResult<()>;
    /// Number of files and their total size directly in a folder.
    async fn folder_usage(&self, account_id: i64, id: i64) -> MetaResult<(i64, i64)>;
    /// Sets or clears the public share.
    async fn set_public_share(
        &self,
        account_id: i64,
        id: i64,
        share_id: Option<&str>,
        pass_hash: Option<&str>,
    ) -> MetaResult<()>;
    /// A folder by its public share id.
    async fn folder_by_share_id(&self, share_id: &str) -> MetaResult<Option<Folder>>;
    /// A folder's groupware shares.
    async fn group_shares(&self, folder_id: i64) -> MetaResult<Vec<GroupShare>>;
    /// Replaces a folder's groupware shares.
    async fn set_group_shares(&self, folder_id: i64, shares: &[GroupShare]) -> MetaResult<()>;

    // Files.
    /// A number that changes, in the same transaction, with every change to what the account's
    /// file listings show; equal numbers mean an earlier listing is still exact.
    async fn listing_generation(&self, account_id: i64) -> MetaResult<i64>;
    /// The files of a folder (or every file with `folder = None`), oldest first, at most
    /// `limit`, with only the columns a listing prints.
    async fn listed_files(
        &self,
        account_id: i64,
        folder: Option<i64>,
        sent: SentBetween,
        limit: i64,
    ) -> MetaResult<Vec<ListedFile>>;
    /// A file by its link id, whoever owns it.
    async fn file_by_link(&self, link_id: &str) -> MetaResult<Option<FileRecord>>;
    /// Stores a new file (its blob row must exist).
    async fn insert_file(&self, file: &FileRecord) -> MetaResult<FileRecord>;
    /// Writes back a file's folder, name and attributes.
    async fn update_file(&self, file: &FileRecord) -> MetaResult<()>;
    /// Deletes files by row id, and the rows of blobs no file points at any more; returns those
    /// blob ids so that their bytes can be freed.
    async fn delete_files(&self, ids: &[i64]) -> MetaResult<Vec<String>>;
    /// Stores new blobs (none for copies) and their files in one transaction; returns the files. With a
    /// quota `(account id, bytes)`, the transaction fails with [`MetaError::QuotaExceeded`] if
    /// the account's files would pass it: the check and the insert are one step, so concurrent
    /// uploads cannot pass the quota together.
    async fn insert_upload(
        &self,
        blobs: &[NewBlob],
        files: &[FileRecord],
        quota: Option<(i64, i64)>,
    ) -> MetaResult<Vec<FileRecord>>;
    /// Every blob row (id, size, Whirlpool), by id: what a migration copies.
    async fn blobs(&self) -> MetaResult<Vec<NewBlob>>;
    /// Whether a blob row exists.
    async fn blob_known(&self, id: &str) -> MetaResult<bool>;
    /// Records a clean antivirus scan.
    async fn mark_scanned(&self, file_id: i64, now: i64) -> MetaResult<()>;
    /// The time of the last clean scan.
    async fn scanned_at(&self, file_id: i64) -> MetaResult<Option<i64>>;

    // Uploads.
    /// Registers a fresh upload id.
    async fn create_upload_session(&self, id: &str, now: i64) -> MetaResult<()>;
    /// Consumes an upload id issued after `issued_after`; false when unknown, stale or used.
    async fn claim_upload_session(&self, id: &str, issued_after: i64, now: i64)
    -> MetaResult<bool>;
    /// Stores an upload's end.pl report.
    async fn store_upload_report(&self, id: &str, report: &str, expires_at: i64) -> MetaResult<()>;
    /// An upload's report, while it has not expired.
    async fn upload_report(&self, id: &str, now: i64) -> MetaResult<Option<String>>;

    // Download tokens.
    /// Stores a token.
    async fn insert_token(&self, token: &DownloadToken) -> MetaResult<()>;
    /// A token and its file, unless the key that asked for it was revoked, rotated or expired
    /// (before `now`) since.
    async fn token(&self, token: &str, now: i64)
    -> MetaResult<Option<(DownloadToken, FileRecord)>>;
    /// Records the first use of a token and the address it is bound to.
    async fn start_token(&self, token: &str, now: i64, ip: &str) -> MetaResult<()>;

    // Remote uploads.
    /// Stores a new job.
    /// The job comes claimed by `lease.owner`.
    async fn insert_remote_job(&self, job: &RemoteJob, lease: &Lease<'_>) -> MetaResult<RemoteJob>;
    /// An account's jobs, newest first.
    async fn remote_jobs(&self, account_id: i64) -> MetaResult<Vec<RemoteJob>>;
    /// One of an account's jobs.
    async fn remote_job(&self, account_id: i64, id: i64) -> MetaResult<Option<RemoteJob>>;
    /// Records a job's progress or end and renews the claim on it, if `lease.owner` still holds
    /// it; false when the job was taken over meanwhile (nothing is written then).
    async fn update_remote_job(
        &self,
        id: i64,
        lease: &Lease<'_>,
        execution_date: Option<i64>,
        result: &str,
    ) -> MetaResult<bool>;
    /// Extends `lease.owner`'s claim on a job; false when it no longer holds it.
    async fn renew_remote_job(&self, id: i64, lease: &Lease<'_>) -> MetaResult<bool>;
    /// Claims, for `lease.owner`, every unfinished job whose claim has run out (its process
    /// died or stopped) or that nobody claimed, and returns them. Two processes asking at once
    /// never get the same job.
    async fn claim_remote_jobs(&self, lease: &Lease<'_>, now: i64) -> MetaResult<Vec<RemoteJob>>;
    /// Bytes stored by the account.
    async fn storage_used(&self, account_id: i64) -> MetaResult<i64>;

    // Vouchers.
    /// Creates a voucher held by a reseller.
    async fn insert_voucher(&self, code: &str, service: &str, owner_id: i64) -> MetaResult<()>;
    /// A reseller's unused vouchers.
    async fn unused_vouchers(&self, owner_id: i64) -> MetaResult<Vec<VoucherRecord>>;
    /// A voucher by code.
    async fn voucher(&self, code: &str) -> MetaResult<Option<VoucherRecord>>;
    /// Marks a voucher used, if it still is unused; false otherwise.
    async fn mark_voucher_used(&self, code: &str, user_id: i64, now: i64) -> MetaResult<bool>;

    // FTP users.
    /// An account's FTP users.
    async fn ftp_users(&self, account_id: i64) -> MetaResult<Vec<FtpUserRecord>>;
    /// Creates an FTP user; `Conflict` when the name is taken.
    async fn insert_ftp_user(
        &self,
        account_id: i64,
        user: &str,
        pass_hash: &str,
        folder_id: i64,
        now: i64,
    ) -> MetaResult<()>;
    /// Deletes an FTP user; false when there was none.
    async fn delete_ftp_user(&self, account_id: i64, user: &str) -> MetaResult<bool>;

    // Moving an instance between backends (`migrate --to-meta`).
    /// Rows `offset..offset + limit` of `table` in primary-key order.
    async fn table_page(&self, table: &Table, offset: i64, limit: i64) -> MetaResult<TablePage>;
    /// Inserts rows as they are (ids included); rows whose key is already there are left as
    /// they are, so that an interrupted copy can run again. Returns how many were new.
    async fn insert_rows(&self, table: &Table, page: &TablePage) -> MetaResult<u64>;
    /// After rows were inserted with their ids: new rows get ids past them.
    async fn after_insert_rows(&self) -> MetaResult<()>;
}

/// A table that `migrate --to-meta` moves; only [`TABLES`] holds them.
#[derive(Debug)]
pub struct Table {
    /// Its name, the same in every backend.
    pub name: &'static str,
    /// Its primary key's columns, for a stable order.
    key: &'static str,
}

/// Every table an instance's metadata lives in, parents before the rows that refer to them.
/// `listing_generations` is not moved: the target's triggers count afresh, and a server only
/// compares a generation with one it read from the same database.
pub const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        key: "id",
    },
    Table {
        name: "api_keys",
        key: "id",
    },
    Table {
        name: "folders",
        key: "id",
    },
    Table {
        name: "folder_shares",
        key: "folder_id, email",
    },
    Table {
        name: "blobs",
        key: "id",
    },
    Table {
        name: "files",
        key: "id",
    },
    Table {
        name: "vouchers",
        key: "code",
    },
    Table {
        name: "ftp_users",
        key: "account_id, \"user\"",
    },
    Table {
        name: "upload_sessions",
        key: "id",
    },
    Table {
        name: "download_tokens",
        key: "token",
    },
    Table {
        name: "remote_jobs",
        key: "id",
    },
    Table {
        name: "recovery_codes",
        key: "account_id, digest",
    },
    Table {
        name: "web_sessions",
        key: "digest",
    },
    Table {
        name: "invitations",
        key: "digest",
    },
    Table {
        name: "key_addresses",
        key: "key_id, ip",
    },
    Table {
        name: "key_events",
        key: "id",
    },
];

/// The tables whose `id` a backend numbers itself (SQLite's AUTOINCREMENT, PostgreSQL's
/// BIGSERIAL).
const NUMBERED_TABLES: &[&str] = &[
    "accounts",
    "api_keys",
    "folders",
    "files",
    "remote_jobs",
    "key_events",
];

/// One value of a row in transit between backends. Flags travel as integers (0/1), the form
/// SQLite stores them in; each backend reads and writes its own column types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer or a flag.
    Integer(i64),
    /// Text.
    Text(String),
    /// Bytes (digests).
    Bytes(Vec<u8>),
}

/// Some rows of one table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TablePage {
    /// The column names, in the order of each row's cells.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// `SELECT` of one page, in key order.
    fn page_query(&self) -> String {
        format!(
            "SELECT * FROM {} ORDER BY {} LIMIT $1 OFFSET $2",
            self.name, self.key
        )
    }

    /// `INSERT` of one row of `columns`, skipping a row whose key is there already.
    fn insert_query(&self, columns: &[String]) -> MetaResult<String> {
        // Column names come from the source database: only plain names go into SQL.
        if let Some(odd) = columns
            .iter()
            .find(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        {
            return Err(MetaError::Corrupt(format!(
                "{}: a column named {odd:?}",
                self.name
            )));
        }
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let places: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
        Ok(format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            self.name,
            names.join(", "),
            places.join(", ")
        ))
    }
}
