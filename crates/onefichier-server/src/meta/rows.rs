//! Rows of the metadata tables and their conversions, shared by every SQL backend.

use super::{
    Account, Acl, ApiKey, Cell, FileRecord, Folder, KeyScope, MetaError, MetaResult, RemoteJob,
    Settings, TablePage, VoucherRecord,
};
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use sqlx::FromRow;
use std::str::FromStr;

/// Quotas this server gives each offer (bytes of hot storage, bytes of cold storage).
pub(super) fn default_quotas(offer: Offer) -> (i64, i64) {
    const TB: i64 = 1_000_000_000_000;
    match offer {
        Offer::Free => (TB, 0),
        Offer::Access => (TB, TB),
        Offer::Premium => (10 * TB, 2 * TB),
        Offer::Gold => (10 * TB, 5 * TB),
    }
}

pub(super) fn conflict_or(error: sqlx::Error) -> MetaError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => MetaError::Conflict,
        _ => MetaError::Database(error),
    }
}

#[derive(FromRow)]
pub(super) struct AccountRow {
    pub(super) id: i64,
    pub(super) email: String,
    pub(super) offer: String,
    pub(super) created_at: i64,
    pub(super) subscription_end: Option<i64>,
    pub(super) hot_quota: i64,
    pub(super) cold_quota: i64,
    pub(super) cdn_credits_bytes: i64,
    pub(super) upload_forbidden: bool,
    pub(super) inbox_allowance: i64,
    pub(super) two_factor: i64,
    pub(super) mail_rm: bool,
    pub(super) ftp_mode: bool,
    pub(super) ftp_did: i64,
    pub(super) ftp_report: bool,
    pub(super) ru_report: bool,
    pub(super) default_domain: i64,
    pub(super) page_limit: i64,
    pub(super) default_port: bool,
    pub(super) default_port_files: bool,
    pub(super) use_cdn: bool,
    pub(super) download_menu: bool,
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
            inbox_allowance: row.inbox_allowance,
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
pub(super) struct KeyRow {
    pub(super) id: i64,
    pub(super) account_id: i64,
    pub(super) label: String,
    pub(super) prefix: String,
    pub(super) allow_ips: String,
    pub(super) created_at: i64,
    pub(super) rotated_at: Option<i64>,
    pub(super) last_used_at: Option<i64>,
    pub(super) last_used_ip: Option<String>,
    pub(super) scope: String,
    pub(super) folder_id: Option<i64>,
    pub(super) expires_at: Option<i64>,
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
pub(super) struct FolderRow {
    pub(super) id: i64,
    pub(super) account_id: i64,
    pub(super) parent_id: i64,
    pub(super) name: String,
    pub(super) created_at: i64,
    pub(super) share_id: Option<String>,
    pub(super) share_pass_hash: Option<String>,
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
pub(super) struct FileRow {
    pub(super) id: i64,
    pub(super) link_id: String,
    pub(super) account_id: Option<i64>,
    pub(super) folder_id: i64,
    pub(super) name: String,
    pub(super) size: i64,
    pub(super) whirlpool: String,
    pub(super) content_type: String,
    pub(super) created_at: i64,
    pub(super) description: String,
    pub(super) pass_hash: Option<String>,
    pub(super) no_ssl: bool,
    pub(super) inline: bool,
    pub(super) cdn: bool,
    pub(super) acl_ip: String,
    pub(super) acl_country: String,
    pub(super) acl_email: String,
    pub(super) acl_premium: bool,
    pub(super) domain: i64,
    pub(super) remove_code: Option<String>,
    pub(super) blob_id: Option<String>,
}

/// The columns of [`FileRow`], as a literal so that queries stay `&'static str`.
macro_rules! file_columns {
    () => {
        "id, link_id, account_id, folder_id, name, size, whirlpool, content_type, created_at, \
         description, pass_hash, no_ssl, inline, cdn, acl_ip, acl_country, acl_email, \
         acl_premium, domain, remove_code, blob_id"
    };
}

pub(super) fn json_list(text: &str, what: &str) -> MetaResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| MetaError::Corrupt(format!("{what}: {e}")))
}

pub(super) fn to_json(list: &[String]) -> String {
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

/// Rows of any backend as a [`TablePage`], each value read by the backend's `cell`.
pub(super) fn table_page_of<R: sqlx::Row>(
    rows: &[R],
    cell: impl Fn(&R, usize) -> MetaResult<Cell>,
) -> MetaResult<TablePage> {
    use sqlx::Column;
    let mut page = TablePage::default();
    if let Some(first) = rows.first() {
        page.columns = first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
    }
    for row in rows {
        page.rows.push(
            (0..row.len())
                .map(|i| cell(row, i))
                .collect::<MetaResult<_>>()?,
        );
    }
    Ok(page)
}

pub(super) fn collect<R, T>(rows: Vec<R>) -> MetaResult<Vec<T>>
where
    T: TryFrom<R, Error = MetaError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[derive(FromRow)]
pub(super) struct RemoteRow {
    pub(super) id: i64,
    pub(super) account_id: i64,
    pub(super) folder_id: i64,
    pub(super) urls: String,
    pub(super) headers: String,
    pub(super) request_date: i64,
    pub(super) execution_date: Option<i64>,
    pub(super) result: String,
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

pub(super) fn voucher_from(
    (code, service, owner_id, used_by): (String, String, i64, Option<i64>),
) -> VoucherRecord {
    VoucherRecord {
        code,
        service,
        owner_id,
        used_by,
    }
}

/// The INSERT of one file row, shared by single inserts and upload transactions.
macro_rules! insert_file {
    ($f:expr) => {{
    let f: &FileRecord = $f;
    sqlx::query_as::<_, FileRow>(concat!(
        "INSERT INTO files (link_id, account_id, folder_id, name, size, whirlpool, content_type,
            created_at, description, pass_hash, no_ssl, inline, cdn, acl_ip, acl_country,
            acl_email, acl_premium, domain, remove_code, blob_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
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
    }};
}
