//! [`MetaRepo`] on SQLite, in the data folder.

use super::{
    Account, Acl, Admission, ApiKey, Credentials, DownloadToken, FileRecord, Folder, FtpUserRecord,
    GroupShare, KeyEvent, KeyScope, ListedFile, MetaError, MetaRepo, MetaResult, NewBlob, NewKey,
    RemoteJob, SentBetween, Settings, VoucherRecord, WebSession,
};
use async_trait::async_trait;
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The SQLite metadata store.
#[derive(Clone)]
pub struct SqliteRepo {
    pool: SqlitePool,
}

impl SqliteRepo {
    /// Opens (creating if needed) `meta.sqlite` in `data_dir` and applies the migrations.
    pub async fn open(data_dir: &Path) -> MetaResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("meta.sqlite"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across application crashes; the blob store fsyncs bytes.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| MetaError::Database(e.into()))?;
        Ok(Self { pool })
    }
}

/// Quotas this server gives each offer (bytes of hot storage, bytes of cold storage).
fn default_quotas(offer: Offer) -> (i64, i64) {
    const TB: i64 = 1_000_000_000_000;
    match offer {
        Offer::Free => (TB, 0),
        Offer::Access => (TB, TB),
        Offer::Premium => (10 * TB, 2 * TB),
        Offer::Gold => (10 * TB, 5 * TB),
    }
}

fn conflict_or(error: sqlx::Error) -> MetaError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => MetaError::Conflict,
        _ => MetaError::Database(error),
    }
}

#[derive(FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    offer: String,
    created_at: i64,
    subscription_end: Option<i64>,
    hot_quota: i64,
    cold_quota: i64,
    cdn_credits_bytes: i64,
    upload_forbidden: bool,
    two_factor: i64,
    mail_rm: bool,
    ftp_mode: bool,
    ftp_did: i64,
    ftp_report: bool,
    ru_report: bool,
    default_domain: i64,
    page_limit: i64,
    default_port: bool,
    default_port_files: bool,
    use_cdn: bool,
    download_menu: bool,
}

impl TryFrom<AccountRow> for Account {
    type Error = MetaError;
    fn try_from(row: AccountRow) -> Result<Self, MetaError> {
        Ok(Self {
            id: row.id,
            offer: Offer::from_str(&row.offer).map_err(|e| MetaError::Corrupt(e.to_string()))?,
            email: row.email,
            created_at: row.created_at,
            subscription_end: row.subscription_end,
            hot_quota: row.hot_quota,
            cold_quota: row.cold_quota,
            cdn_credits_bytes: row.cdn_credits_bytes,
            upload_forbidden: row.upload_forbidden,
            settings: Settings {
                two_factor: row.two_factor,
                mail_rm: row.mail_rm,
                ftp_mode: row.ftp_mode,
                ftp_did: row.ftp_did,
                ftp_report: row.ftp_report,
                ru_report: row.ru_report,
                default_domain: row.default_domain,
                page_limit: row.page_limit,
                default_port: row.default_port,
                default_port_files: row.default_port_files,
                use_cdn: row.use_cdn,
                download_menu: row.download_menu,
            },
        })
    }
}

#[derive(FromRow)]
struct KeyRow {
    id: i64,
    account_id: i64,
    label: String,
    prefix: String,
    allow_ips: String,
    created_at: i64,
    rotated_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    scope: String,
    folder_id: Option<i64>,
    expires_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = MetaError;
    fn try_from(row: KeyRow) -> Result<Self, MetaError> {
        let allow_ips: Vec<IpNet> = serde_json::from_str(&row.allow_ips)
            .map_err(|e| MetaError::Corrupt(format!("allow_ips of key {}: {e}", row.id)))?;
        Ok(Self {
            id: row.id,
            account_id: row.account_id,
            label: row.label,
            prefix: row.prefix,
            allow_ips,
            created_at: row.created_at,
            rotated_at: row.rotated_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
            scope: row.scope.parse::<KeyScope>().map_err(MetaError::Corrupt)?,
            folder_id: row.folder_id,
            expires_at: row.expires_at,
        })
    }
}

/// The columns of [`KeyRow`], as a literal so that queries stay `&'static str`.
macro_rules! key_columns {
    () => {
        "id, account_id, label, prefix, allow_ips, created_at, rotated_at, last_used_at, \
         last_used_ip, scope, folder_id, expires_at"
    };
}

#[derive(FromRow)]
struct FolderRow {
    id: i64,
    account_id: i64,
    parent_id: i64,
    name: String,
    created_at: i64,
    share_id: Option<String>,
    share_pass_hash: Option<String>,
}

impl From<FolderRow> for Folder {
    fn from(row: FolderRow) -> Self {
        Self {
            id: row.id,
            account_id: row.account_id,
            parent_id: row.parent_id,
            name: row.name,
            created_at: row.created_at,
            share_id: row.share_id,
            share_pass_hash: row.share_pass_hash,
        }
    }
}

#[derive(FromRow)]
struct FileRow {
    id: i64,
    link_id: String,
    account_id: Option<i64>,
    folder_id: i64,
    name: String,
    size: i64,
    whirlpool: String,
    content_type: String,
    created_at: i64,
    description: String,
    pass_hash: Option<String>,
    no_ssl: bool,
    inline: bool,
    cdn: bool,
    acl_ip: String,
    acl_country: String,
    acl_email: String,
    acl_premium: bool,
    domain: i64,
    remove_code: Option<String>,
    blob_id: Option<String>,
}

/// The columns of [`FileRow`], as a literal so that queries stay `&'static str`.
/// The listing query of `listed_files`, for a folder condition.
macro_rules! listing_query {
    ($folder:literal) => {
        concat!(
            "SELECT json_group_array(
                 json_array(link_id, domain, name, size, whirlpool, content_type, created_at,
                            pass_hash IS NOT NULL,
                            acl_ip != '[]' OR acl_country != '[]' OR acl_email != '[]' OR acl_premium,
                            cdn, id))
             FROM (SELECT * FROM files
                   WHERE account_id = ?1 AND ",
            $folder,
            " AND (?3 IS NULL OR created_at < ?3) AND (?4 IS NULL OR created_at > ?4)
                   ORDER BY created_at, id LIMIT ?5)"
        )
    };
}

macro_rules! file_columns {
    () => {
        "id, link_id, account_id, folder_id, name, size, whirlpool, content_type, created_at, \
         description, pass_hash, no_ssl, inline, cdn, acl_ip, acl_country, acl_email, \
         acl_premium, domain, remove_code, blob_id"
    };
}

fn json_list(text: &str, what: &str) -> MetaResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| MetaError::Corrupt(format!("{what}: {e}")))
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

impl TryFrom<FileRow> for FileRecord {
    type Error = MetaError;
    fn try_from(row: FileRow) -> Result<Self, MetaError> {
        Ok(Self {
            acl: Acl {
                ip: json_list(&row.acl_ip, "acl_ip")?,
                country: json_list(&row.acl_country, "acl_country")?,
                email: json_list(&row.acl_email, "acl_email")?,
                premium: row.acl_premium,
            },
            id: row.id,
            link_id: row.link_id,
            account_id: row.account_id,
            folder_id: row.folder_id,
            name: row.name,
            size: row.size,
            whirlpool: row.whirlpool,
            content_type: row.content_type,
            created_at: row.created_at,
            description: row.description,
            pass_hash: row.pass_hash,
            no_ssl: row.no_ssl,
            inline: row.inline,
            cdn: row.cdn,
            domain: row.domain,
            remove_code: row.remove_code,
            blob_id: row.blob_id,
        })
    }
}

fn collect<R, T>(rows: Vec<R>) -> MetaResult<Vec<T>>
where
    T: TryFrom<R, Error = MetaError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[async_trait]
impl MetaRepo for SqliteRepo {
    async fn create_account(&self, email: &str, offer: Offer, now: i64) -> MetaResult<Account> {
        let (hot, cold) = default_quotas(offer);
        // A year of subscription for paying offers, as a new customer would have.
        let end = offer.is_customer().then_some(now + 365 * 86_400);
        let row: AccountRow = sqlx::query_as(
            "INSERT INTO accounts (email, offer, created_at, subscription_end, hot_quota, cold_quota)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(email)
        .bind(offer.name())
        .bind(now)
        .bind(end)
        .bind(hot)
        .bind(cold)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        row.try_into()
    }

    async fn account_by_email(&self, email: &str) -> MetaResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as("SELECT * FROM accounts WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account(&self, id: i64) -> MetaResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as("SELECT * FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn accounts(&self) -> MetaResult<Vec<Account>> {
        let rows: Vec<AccountRow> = sqlx::query_as("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        collect(rows)
    }

    async fn update_settings(&self, account_id: i64, s: &Settings) -> MetaResult<()> {
        sqlx::query(
            "UPDATE accounts SET two_factor = ?, mail_rm = ?, ftp_mode = ?, ftp_did = ?,
                ftp_report = ?, ru_report = ?, default_domain = ?, page_limit = ?,
                default_port = ?, default_port_files = ?, use_cdn = ?, download_menu = ?
             WHERE id = ?",
        )
        .bind(s.two_factor)
        .bind(s.mail_rm)
        .bind(s.ftp_mode)
        .bind(s.ftp_did)
        .bind(s.ftp_report)
        .bind(s.ru_report)
        .bind(s.default_domain)
        .bind(s.page_limit)
        .bind(s.default_port)
        .bind(s.default_port_files)
        .bind(s.use_cdn)
        .bind(s.download_menu)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_offer(
        &self,
        account_id: i64,
        offer: Offer,
        end: Option<i64>,
    ) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET offer = ?, subscription_end = ? WHERE id = ?")
            .bind(offer.name())
            .bind(end)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn request_ftp_process(&self, account_id: i64, now: i64) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET ftp_process_requested_at = ? WHERE id = ?")
            .bind(now)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_key(&self, key: NewKey) -> MetaResult<ApiKey> {
        let allow =
            serde_json::to_string(&key.allow_ips).map_err(|e| MetaError::Corrupt(e.to_string()))?;
        let row: KeyRow = sqlx::query_as(concat!(
            "INSERT INTO api_keys (account_id, label, digest, prefix, allow_ips, created_at,
                                   scope, folder_id, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
            key_columns!()
        ))
        .bind(key.account_id)
        .bind(&key.label)
        .bind(&key.digest[..])
        .bind(&key.prefix)
        .bind(allow)
        .bind(key.created_at)
        .bind(key.scope.as_str())
        .bind(key.folder_id)
        .bind(key.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        row.try_into()
    }

    async fn key_by_digest(&self, digest: &[u8; 32]) -> MetaResult<Option<(ApiKey, [u8; 32])>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            key: KeyRow,
            digest: Vec<u8>,
        }
        let row: Option<Row> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            ", digest FROM api_keys WHERE digest = ? AND revoked_at IS NULL"
        ))
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let stored: [u8; 32] = row
                .digest
                .as_slice()
                .try_into()
                .map_err(|_| MetaError::Corrupt("key digest length".into()))?;
            Ok((ApiKey::try_from(row.key)?, stored))
        })
        .transpose()
    }

    async fn touch_key(&self, key_id: i64, now: i64, ip: &str) -> MetaResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ?, last_used_ip = ? WHERE id = ?")
            .bind(now)
            .bind(ip)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn note_key_address(&self, key_id: i64, ip: &str, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "INSERT INTO key_addresses (key_id, ip, first_seen) VALUES (?, ?, ?)
             ON CONFLICT (key_id, ip) DO NOTHING",
        )
        .bind(key_id)
        .bind(ip)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn key(&self, account_id: i64, key_id: i64) -> MetaResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE account_id = ? AND id = ? AND revoked_at IS NULL"
        ))
        .bind(account_id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn update_key(
        &self,
        account_id: i64,
        key_id: i64,
        label: &str,
        allow_ips: &[IpNet],
    ) -> MetaResult<bool> {
        let allow =
            serde_json::to_string(allow_ips).map_err(|e| MetaError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE api_keys SET label = ?, allow_ips = ?
             WHERE account_id = ? AND id = ? AND revoked_at IS NULL",
        )
        .bind(label)
        .bind(allow)
        .bind(account_id)
        .bind(key_id)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_key_event(&self, e: &KeyEvent) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO key_events (account_id, key_id, label, event, detail, ip, at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.account_id)
        .bind(e.key_id)
        .bind(&e.label)
        .bind(&e.event)
        .bind(&e.detail)
        .bind(&e.ip)
        .bind(e.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn key_events(&self, account_id: i64, limit: i64) -> MetaResult<Vec<KeyEvent>> {
        #[derive(FromRow)]
        struct Row {
            account_id: i64,
            key_id: Option<i64>,
            label: String,
            event: String,
            detail: String,
            ip: Option<String>,
            at: i64,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account_id, key_id, label, event, detail, ip, at FROM key_events
             WHERE account_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| KeyEvent {
                account_id: r.account_id,
                key_id: r.key_id,
                label: r.label,
                event: r.event,
                detail: r.detail,
                ip: r.ip,
                at: r.at,
            })
            .collect())
    }

    async fn ping(&self) -> MetaResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn stored_bytes(&self) -> MetaResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM blobs")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn create_web_account(
        &self,
        email: &str,
        password_hash: &str,
        admission: Admission<'_>,
        now: i64,
    ) -> MetaResult<Option<Account>> {
        let mut tx = self.pool.begin().await?;
        let offer = match admission {
            Admission::Open(offer) => offer,
            Admission::Invitation(digest) => {
                let offer: Option<String> = sqlx::query_scalar(
                    "UPDATE invitations SET used_at = ?
                     WHERE digest = ? AND used_at IS NULL AND expires_at > ? RETURNING offer",
                )
                .bind(now)
                .bind(&digest[..])
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(offer) = offer else {
                    return Ok(None);
                };
                Offer::from_str(&offer).map_err(|e| MetaError::Corrupt(e.to_string()))?
            }
        };
        let (hot, cold) = default_quotas(offer);
        let end = offer.is_customer().then_some(now + 365 * 86_400);
        let row: AccountRow = sqlx::query_as(
            "INSERT INTO accounts (email, offer, created_at, subscription_end, hot_quota,
                                   cold_quota, password_hash)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(email)
        .bind(offer.to_string())
        .bind(now)
        .bind(end)
        .bind(hot)
        .bind(cold)
        .bind(password_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_or)?;
        if let Admission::Invitation(digest) = admission {
            sqlx::query("UPDATE invitations SET used_by = ? WHERE digest = ?")
                .bind(row.id)
                .bind(&digest[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(row.try_into()?))
    }

    async fn insert_invitation(
        &self,
        digest: &[u8; 32],
        offer: Offer,
        now: i64,
        expires_at: i64,
    ) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO invitations (digest, offer, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&digest[..])
        .bind(offer.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn credentials(&self, account_id: i64) -> MetaResult<Credentials> {
        #[derive(FromRow)]
        struct Row {
            password_hash: Option<String>,
            totp_secret: Option<String>,
            totp_enabled: bool,
            totp_last_step: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT password_hash, totp_secret, totp_enabled, totp_last_step
             FROM accounts WHERE id = ?",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or_else(Credentials::default, |r| Credentials {
            password_hash: r.password_hash,
            totp_secret: r.totp_secret,
            totp_enabled: r.totp_enabled,
            totp_last_step: r.totp_last_step,
        }))
    }

    async fn set_password(&self, account_id: i64, password_hash: &str) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_totp(
        &self,
        account_id: i64,
        secret: Option<&str>,
        enabled: bool,
    ) -> MetaResult<()> {
        sqlx::query(
            "UPDATE accounts SET totp_secret = ?, totp_enabled = ?, two_factor = ? WHERE id = ?",
        )
        .bind(secret)
        .bind(enabled)
        // user/info's `2fa`: 2 = authenticator app.
        .bind(if enabled { 2 } else { 0 })
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn use_totp_step(&self, account_id: i64, step: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
        )
        .bind(step)
        .bind(account_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_recovery_codes(&self, account_id: i64, digests: &[[u8; 32]]) -> MetaResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        for digest in digests {
            sqlx::query("INSERT INTO recovery_codes (account_id, digest) VALUES (?, ?)")
                .bind(account_id)
                .bind(&digest[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        account_id: i64,
        digest: &[u8; 32],
        now: i64,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?
             WHERE account_id = ? AND digest = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(&digest[..])
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn recovery_codes_left(&self, account_id: i64) -> MetaResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = ? AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn insert_session(&self, s: &WebSession) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO web_sessions (digest, account_id, csrf, created_at, seen_at, ip,
                                       pending_totp)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.digest[..])
        .bind(s.account_id)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.seen_at)
        .bind(&s.ip)
        .bind(s.pending_totp)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        digest: &[u8; 32],
        now: i64,
        idle_before: i64,
        created_before: i64,
    ) -> MetaResult<Option<WebSession>> {
        #[derive(FromRow)]
        struct Row {
            account_id: i64,
            csrf: String,
            created_at: i64,
            seen_at: i64,
            ip: String,
            pending_totp: bool,
        }
        let row: Option<Row> = sqlx::query_as(
            "UPDATE web_sessions SET seen_at = ?
             WHERE digest = ? AND seen_at >= ? AND created_at >= ?
             RETURNING account_id, csrf, created_at, seen_at, ip, pending_totp",
        )
        .bind(now)
        .bind(&digest[..])
        .bind(idle_before)
        .bind(created_before)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| WebSession {
            digest: *digest,
            account_id: r.account_id,
            csrf: r.csrf,
            created_at: r.created_at,
            seen_at: r.seen_at,
            ip: r.ip,
            pending_totp: r.pending_totp,
        }))
    }

    async fn complete_session(&self, digest: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("UPDATE web_sessions SET pending_totp = 0 WHERE digest = ?")
            .bind(&digest[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE digest = ?")
            .bind(&digest[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_other_sessions(&self, account_id: i64, keep: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE account_id = ? AND digest <> ?")
            .bind(account_id)
            .bind(&keep[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_stale_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> MetaResult<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE seen_at < ? OR created_at < ?")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn keys(&self, account_id: i64) -> MetaResult<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE account_id = ? AND revoked_at IS NULL
             ORDER BY label"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        collect(rows)
    }

    async fn rotate_key(
        &self,
        account_id: i64,
        label: &str,
        digest: [u8; 32],
        prefix: &str,
        now: i64,
    ) -> MetaResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "UPDATE api_keys SET digest = ?, prefix = ?, rotated_at = ?
             WHERE account_id = ? AND label = ? AND revoked_at IS NULL RETURNING ",
            key_columns!()
        ))
        .bind(&digest[..])
        .bind(prefix)
        .bind(now)
        .bind(account_id)
        .bind(label)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn set_key_expiry(
        &self,
        account_id: i64,
        label: &str,
        expires_at: Option<i64>,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET expires_at = ?
             WHERE account_id = ? AND label = ? AND revoked_at IS NULL",
        )
        .bind(expires_at)
        .bind(account_id)
        .bind(label)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_key(&self, account_id: i64, label: &str, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = ?
             WHERE account_id = ? AND label = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(label)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn folder(&self, account_id: i64, id: i64) -> MetaResult<Option<Folder>> {
        let row: Option<FolderRow> =
            sqlx::query_as("SELECT * FROM folders WHERE account_id = ? AND id = ?")
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Folder::from))
    }

    async fn folder_within(&self, account_id: i64, id: i64, ancestor: i64) -> MetaResult<bool> {
        if ancestor == 0 || id == ancestor {
            return Ok(true);
        }
        // Up from `id` through its parents; the depth bound stops a corrupt cycle.
        let found: Option<i64> = sqlx::query_scalar(
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT parent_id, 1 FROM folders WHERE account_id = ? AND id = ?
                 UNION ALL
                 SELECT f.parent_id, up.depth + 1 FROM folders f JOIN up ON f.id = up.id
                 WHERE f.account_id = ? AND up.depth < 1000
             )
             SELECT 1 FROM up WHERE id = ? LIMIT 1",
        )
        .bind(account_id)
        .bind(id)
        .bind(account_id)
        .bind(ancestor)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn sub_folders(&self, account_id: i64, parent: i64) -> MetaResult<Vec<Folder>> {
        let rows: Vec<FolderRow> = sqlx::query_as(
            "SELECT * FROM folders WHERE account_id = ? AND parent_id = ? ORDER BY name, id",
        )
        .bind(account_id)
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Folder::from).collect())
    }

    async fn insert_folder(
        &self,
        account_id: i64,
        parent: i64,
        name: &str,
        now: i64,
    ) -> MetaResult<Folder> {
        let row: FolderRow = sqlx::query_as(
            "INSERT INTO folders (account_id, parent_id, name, created_at) VALUES (?, ?, ?, ?)
             RETURNING *",
        )
        .bind(account_id)
        .bind(parent)
        .bind(name)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(row.into())
    }

    async fn move_folder(
        &self,
        account_id: i64,
        id: i64,
        parent: i64,
        name: &str,
    ) -> MetaResult<()> {
        sqlx::query("UPDATE folders SET parent_id = ?, name = ? WHERE account_id = ? AND id = ?")
            .bind(parent)
            .bind(name)
            .bind(account_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn delete_folder(&self, account_id: i64, id: i64) -> MetaResult<()> {
        sqlx::query("DELETE FROM folders WHERE account_id = ? AND id = ?")
            .bind(account_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn folder_usage(&self, account_id: i64, id: i64) -> MetaResult<(i64, i64)> {
        let usage: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files
             WHERE account_id = ? AND folder_id = ?",
        )
        .bind(account_id)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(usage)
    }

    async fn set_public_share(
        &self,
        account_id: i64,
        id: i64,
        share_id: Option<&str>,
        pass_hash: Option<&str>,
    ) -> MetaResult<()> {
        sqlx::query(
            "UPDATE folders SET share_id = ?, share_pass_hash = ? WHERE account_id = ? AND id = ?",
        )
        .bind(share_id)
        .bind(pass_hash)
        .bind(account_id)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn folder_by_share_id(&self, share_id: &str) -> MetaResult<Option<Folder>> {
        let row: Option<FolderRow> = sqlx::query_as("SELECT * FROM folders WHERE share_id = ?")
            .bind(share_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Folder::from))
    }

    async fn group_shares(&self, folder_id: i64) -> MetaResult<Vec<GroupShare>> {
        let rows: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT email, rw, hide_links FROM folder_shares WHERE folder_id = ? ORDER BY email",
        )
        .bind(folder_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(email, rw, hide_links)| GroupShare {
                email,
                rw,
                hide_links,
            })
            .collect())
    }

    async fn set_group_shares(&self, folder_id: i64, shares: &[GroupShare]) -> MetaResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM folder_shares WHERE folder_id = ?")
            .bind(folder_id)
            .execute(&mut *tx)
            .await?;
        for share in shares {
            sqlx::query(
                "INSERT OR REPLACE INTO folder_shares (folder_id, email, rw, hide_links)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(folder_id)
            .bind(&share.email)
            .bind(share.rw)
            .bind(share.hide_links)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn listing_generation(&self, account_id: i64) -> MetaResult<i64> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM listing_generations WHERE account_id = ?")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(generation.unwrap_or(0))
    }

    async fn listed_files(
        &self,
        account_id: i64,
        folder: Option<i64>,
        sent: SentBetween,
        limit: i64,
    ) -> MetaResult<Vec<ListedFile>> {
        // One row holding the whole listing as a JSON array: sqlx hands SQLite rows over one at
        // a time through a channel between threads, which cost more than the query itself for
        // folders of thousands of files. Each element is
        // [link_id, domain, name, size, whirlpool, content_type, created_at, has_pass, has_acl, cdn,
        // id]. SQLite does not promise an aggregate's order, so the rows are put in order here
        // (they arrive sorted, which makes that a single pass).
        type Row = (
            String,
            i64,
            String,
            i64,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        // `folder_id = ?2` (rather than `?2 IS NULL OR …`) lets the files_folder index deliver
        // the rows in order, without a sort.
        let query = match folder {
            Some(_) => concat!(listing_query!("folder_id = ?2")),
            None => concat!(listing_query!("?2 IS NULL")),
        };
        let listing: Option<String> = sqlx::query_scalar(query)
            .bind(account_id)
            .bind(folder)
            .bind(sent.before)
            .bind(sent.after)
            .bind(limit)
            .fetch_one(&self.pool)
            .await?;
        let mut rows: Vec<Row> = serde_json::from_str(listing.as_deref().unwrap_or("[]"))
            .map_err(|e| MetaError::Corrupt(format!("listing: {e}")))?;
        rows.sort_by_key(|row| (row.6, row.10));
        Ok(rows
            .into_iter()
            .map(
                |(
                    link_id,
                    domain,
                    name,
                    size,
                    whirlpool,
                    content_type,
                    created_at,
                    has_pass,
                    has_acl,
                    cdn,
                    _id,
                )| ListedFile {
                    link_id,
                    domain,
                    name,
                    size,
                    whirlpool,
                    content_type,
                    created_at,
                    has_pass: has_pass != 0,
                    has_acl: has_acl != 0,
                    cdn: cdn != 0,
                },
            )
            .collect())
    }

    async fn file_by_link(&self, link_id: &str) -> MetaResult<Option<FileRecord>> {
        let row: Option<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE link_id = ?"
        ))
        .bind(link_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(FileRecord::try_from).transpose()
    }

    async fn insert_file(&self, f: &FileRecord) -> MetaResult<FileRecord> {
        let row: FileRow = insert_file_query(f)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        row.try_into()
    }

    async fn update_file(&self, f: &FileRecord) -> MetaResult<()> {
        sqlx::query(
            "UPDATE files SET folder_id = ?, name = ?, description = ?, pass_hash = ?, no_ssl = ?,
                inline = ?, cdn = ?, acl_ip = ?, acl_country = ?, acl_email = ?, acl_premium = ?
             WHERE id = ?",
        )
        .bind(f.folder_id)
        .bind(&f.name)
        .bind(&f.description)
        .bind(&f.pass_hash)
        .bind(f.no_ssl)
        .bind(f.inline)
        .bind(f.cdn)
        .bind(to_json(&f.acl.ip))
        .bind(to_json(&f.acl.country))
        .bind(to_json(&f.acl.email))
        .bind(f.acl.premium)
        .bind(f.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_files(&self, ids: &[i64]) -> MetaResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut freed = Vec::new();
        for id in ids {
            let blob: Option<(Option<String>,)> =
                sqlx::query_as("DELETE FROM files WHERE id = ? RETURNING blob_id")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((Some(blob),)) = blob {
                // The blob row goes only when no file points at it; a copy made meanwhile keeps
                // it (and a copy cannot point at a deleted row: files.blob_id is a foreign key).
                let gone = sqlx::query(
                    "DELETE FROM blobs WHERE id = ?1
                     AND NOT EXISTS (SELECT 1 FROM files WHERE blob_id = ?1)",
                )
                .bind(&blob)
                .execute(&mut *tx)
                .await?;
                if gone.rows_affected() > 0 {
                    freed.push(blob);
                }
            }
        }
        tx.commit().await?;
        Ok(freed)
    }

    async fn insert_upload(
        &self,
        blobs: &[NewBlob],
        files: &[FileRecord],
        quota: Option<(i64, i64)>,
    ) -> MetaResult<Vec<FileRecord>> {
        // Writes come first: the first one takes SQLite's write lock, so the sum read below
        // sees every committed upload and none can commit until this one ends.
        let mut tx = self.pool.begin().await?;
        for blob in blobs {
            sqlx::query(
                "INSERT INTO blobs (id, size, whirlpool, created_at) VALUES (?, ?, ?, unixepoch())",
            )
            .bind(&blob.id)
            .bind(blob.size)
            .bind(&blob.whirlpool)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        }
        let mut stored = Vec::with_capacity(files.len());
        for f in files {
            let row: FileRow = insert_file_query(f)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict_or)?;
            stored.push(row.try_into()?);
        }
        if let Some((account_id, limit)) = quota {
            let (used,): (i64,) =
                sqlx::query_as("SELECT COALESCE(SUM(size), 0) FROM files WHERE account_id = ?")
                    .bind(account_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if used > limit {
                tx.rollback().await?;
                return Err(MetaError::QuotaExceeded);
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn blobs(&self) -> MetaResult<Vec<NewBlob>> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT id, size, whirlpool FROM blobs ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, size, whirlpool)| NewBlob {
                id,
                size,
                whirlpool,
            })
            .collect())
    }

    async fn blob_known(&self, id: &str) -> MetaResult<bool> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM blobs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn mark_scanned(&self, file_id: i64, now: i64) -> MetaResult<()> {
        sqlx::query("UPDATE files SET scanned_at = ? WHERE id = ?")
            .bind(now)
            .bind(file_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn scanned_at(&self, file_id: i64) -> MetaResult<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT scanned_at FROM files WHERE id = ?")
                .bind(file_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(at,)| at))
    }

    async fn create_upload_session(&self, id: &str, now: i64) -> MetaResult<()> {
        // Old sessions are dropped as new ones come, so the table stays small.
        sqlx::query(
            "DELETE FROM upload_sessions WHERE created_at < ?1 - 86400
             AND (report_expires_at IS NULL OR report_expires_at < ?1)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query("INSERT INTO upload_sessions (id, created_at) VALUES (?, ?)")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn claim_upload_session(
        &self,
        id: &str,
        issued_after: i64,
        now: i64,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE upload_sessions SET used_at = ?
             WHERE id = ? AND used_at IS NULL AND created_at >= ?",
        )
        .bind(now)
        .bind(id)
        .bind(issued_after)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn store_upload_report(&self, id: &str, report: &str, expires_at: i64) -> MetaResult<()> {
        sqlx::query("UPDATE upload_sessions SET report = ?, report_expires_at = ? WHERE id = ?")
            .bind(report)
            .bind(expires_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upload_report(&self, id: &str, now: i64) -> MetaResult<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT report FROM upload_sessions WHERE id = ? AND report_expires_at > ?",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(r,)| r))
    }

    async fn insert_token(&self, t: &DownloadToken) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO download_tokens
                 (token, file_id, created_at, inline, single, restrict_ip, key_id, key_digest)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.token)
        .bind(t.file_id)
        .bind(t.created_at)
        .bind(t.inline)
        .bind(t.single)
        .bind(t.restrict_ip)
        .bind(t.issuer.map(|(id, _)| id))
        .bind(t.issuer.map(|(_, digest)| digest.to_vec()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token(&self, token: &str) -> MetaResult<Option<(DownloadToken, FileRecord)>> {
        #[derive(FromRow)]
        struct Row {
            token: String,
            created_at: i64,
            first_used_at: Option<i64>,
            inline: bool,
            single: bool,
            restrict_ip: i64,
            bound_ip: Option<String>,
            key_id: Option<i64>,
            key_digest: Option<Vec<u8>>,
        }
        let Some(row): Option<Row> = sqlx::query_as(
            "SELECT token, created_at, first_used_at, inline, single, restrict_ip, bound_ip,
                    key_id, key_digest
             FROM download_tokens t WHERE token = ?
             AND (key_id IS NULL OR EXISTS (
                 SELECT 1 FROM api_keys k
                 WHERE k.id = t.key_id AND k.digest = t.key_digest AND k.revoked_at IS NULL))",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let file: Option<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE id = (SELECT file_id FROM download_tokens WHERE token = ?)"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let Some(file) = file else {
            return Ok(None);
        };
        let file = FileRecord::try_from(file)?;
        Ok(Some((
            DownloadToken {
                token: row.token,
                file_id: file.id,
                created_at: row.created_at,
                first_used_at: row.first_used_at,
                inline: row.inline,
                single: row.single,
                restrict_ip: row.restrict_ip,
                bound_ip: row.bound_ip,
                issuer: match (row.key_id, row.key_digest) {
                    (Some(id), Some(digest)) => Some((
                        id,
                        digest
                            .as_slice()
                            .try_into()
                            .map_err(|_| MetaError::Corrupt("token key digest length".into()))?,
                    )),
                    _ => None,
                },
            },
            file,
        )))
    }

    async fn start_token(&self, token: &str, now: i64, ip: &str) -> MetaResult<()> {
        sqlx::query(
            "UPDATE download_tokens SET first_used_at = ?, bound_ip = ?
             WHERE token = ? AND first_used_at IS NULL",
        )
        .bind(now)
        .bind(ip)
        .bind(token)
        .execute(&self.pool)
        .await?;
        // Expired tokens are dropped as new ones are used, so the table stays small.
        sqlx::query(
            "DELETE FROM download_tokens WHERE created_at < ?1 - 3600
             AND (first_used_at IS NULL OR first_used_at < ?1 - 3600)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_remote_job(&self, job: &RemoteJob) -> MetaResult<RemoteJob> {
        let row: RemoteRow = sqlx::query_as(
            "INSERT INTO remote_jobs (account_id, folder_id, urls, headers, request_date, result)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(job.account_id)
        .bind(job.folder_id)
        .bind(to_json(&job.urls))
        .bind(&job.headers)
        .bind(job.request_date)
        .bind(&job.result)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn remote_jobs(&self, account_id: i64) -> MetaResult<Vec<RemoteJob>> {
        let rows: Vec<RemoteRow> =
            sqlx::query_as("SELECT * FROM remote_jobs WHERE account_id = ? ORDER BY id DESC")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        collect(rows)
    }

    async fn remote_job(&self, account_id: i64, id: i64) -> MetaResult<Option<RemoteJob>> {
        let row: Option<RemoteRow> =
            sqlx::query_as("SELECT * FROM remote_jobs WHERE account_id = ? AND id = ?")
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(RemoteJob::try_from).transpose()
    }

    async fn update_remote_job(
        &self,
        id: i64,
        execution_date: Option<i64>,
        result: &str,
    ) -> MetaResult<()> {
        sqlx::query("UPDATE remote_jobs SET execution_date = ?, result = ? WHERE id = ?")
            .bind(execution_date)
            .bind(result)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn unfinished_remote_jobs(&self) -> MetaResult<Vec<RemoteJob>> {
        let rows: Vec<RemoteRow> =
            sqlx::query_as("SELECT * FROM remote_jobs WHERE execution_date IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        collect(rows)
    }

    async fn storage_used(&self, account_id: i64) -> MetaResult<i64> {
        let (used,): (i64,) =
            sqlx::query_as("SELECT COALESCE(SUM(size), 0) FROM files WHERE account_id = ?")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(used)
    }

    async fn insert_voucher(&self, code: &str, service: &str, owner_id: i64) -> MetaResult<()> {
        sqlx::query("INSERT INTO vouchers (code, service, owner_id) VALUES (?, ?, ?)")
            .bind(code)
            .bind(service)
            .bind(owner_id)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn unused_vouchers(&self, owner_id: i64) -> MetaResult<Vec<VoucherRecord>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT code, service, owner_id, used_by FROM vouchers
             WHERE owner_id = ? AND used_by IS NULL ORDER BY code",
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(voucher_from).collect())
    }

    async fn voucher(&self, code: &str) -> MetaResult<Option<VoucherRecord>> {
        let row: Option<(String, String, i64, Option<i64>)> =
            sqlx::query_as("SELECT code, service, owner_id, used_by FROM vouchers WHERE code = ?")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(voucher_from))
    }

    async fn mark_voucher_used(&self, code: &str, user_id: i64, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE vouchers SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .bind(code)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ftp_users(&self, account_id: i64) -> MetaResult<Vec<FtpUserRecord>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT user, folder_id, created_at FROM ftp_users WHERE account_id = ? ORDER BY user",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user, folder_id, created_at)| FtpUserRecord {
                user,
                folder_id,
                created_at,
            })
            .collect())
    }

    async fn insert_ftp_user(
        &self,
        account_id: i64,
        user: &str,
        pass_hash: &str,
        folder_id: i64,
        now: i64,
    ) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO ftp_users (account_id, user, pass_hash, folder_id, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(account_id)
        .bind(user)
        .bind(pass_hash)
        .bind(folder_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn delete_ftp_user(&self, account_id: i64, user: &str) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM ftp_users WHERE account_id = ? AND user = ?")
            .bind(account_id)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The INSERT of one file row, shared by single inserts and upload transactions.
fn insert_file_query(
    f: &FileRecord,
) -> sqlx::query::QueryAs<'_, sqlx::Sqlite, FileRow, sqlx::sqlite::SqliteArguments> {
    sqlx::query_as(concat!(
        "INSERT INTO files (link_id, account_id, folder_id, name, size, whirlpool, content_type,
            created_at, description, pass_hash, no_ssl, inline, cdn, acl_ip, acl_country,
            acl_email, acl_premium, domain, remove_code, blob_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING ",
        file_columns!()
    ))
    .bind(&f.link_id)
    .bind(f.account_id)
    .bind(f.folder_id)
    .bind(&f.name)
    .bind(f.size)
    .bind(&f.whirlpool)
    .bind(&f.content_type)
    .bind(f.created_at)
    .bind(&f.description)
    .bind(&f.pass_hash)
    .bind(f.no_ssl)
    .bind(f.inline)
    .bind(f.cdn)
    .bind(to_json(&f.acl.ip))
    .bind(to_json(&f.acl.country))
    .bind(to_json(&f.acl.email))
    .bind(f.acl.premium)
    .bind(f.domain)
    .bind(&f.remove_code)
    .bind(&f.blob_id)
}

#[derive(FromRow)]
struct RemoteRow {
    id: i64,
    account_id: i64,
    folder_id: i64,
    urls: String,
    headers: String,
    request_date: i64,
    execution_date: Option<i64>,
    result: String,
}

impl TryFrom<RemoteRow> for RemoteJob {
    type Error = MetaError;
    fn try_from(row: RemoteRow) -> Result<Self, MetaError> {
        Ok(Self {
            urls: json_list(&row.urls, "remote urls")?,
            id: row.id,
            account_id: row.account_id,
            folder_id: row.folder_id,
            headers: row.headers,
            request_date: row.request_date,
            execution_date: row.execution_date,
            result: row.result,
        })
    }
}

fn voucher_from(
    (code, service, owner_id, used_by): (String, String, i64, Option<i64>),
) -> VoucherRecord {
    VoucherRecord {
        code,
        service,
        owner_id,
        used_by,
    }
}
