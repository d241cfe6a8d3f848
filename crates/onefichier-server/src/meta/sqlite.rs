//! [`MetaRepo`] on SQLite, in the data folder.

use super::rows::*;
use super::{
    Account, Admission, ApiKey, Cell, Credentials, DownloadToken, FileRecord, Folder,
    FtpUserRecord, GroupShare, IpRestriction, KeyEvent, KeyEventKind, Lease, ListedFile, MetaError,
    MetaRepo, MetaResult, NewBlob, NewKey, RemoteJob, SentBetween, Settings, Table, TablePage,
    VoucherRecord, WebSession,
};
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
        Self::open_file(&data_dir.join("meta.sqlite")).await
    }

    /// Opens (creating if needed) the database file `path` and applies the migrations.
    pub async fn open_file(path: &Path) -> MetaResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
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

    /// None: SQLite's first write in a transaction locks the whole database already.
    const ACCOUNT_LOCK: Option<&'static str> = None;
}

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
                   WHERE account_id = $1 AND ",
            $folder,
            " AND ($3 IS NULL OR created_at < $3) AND ($4 IS NULL OR created_at > $4)
                   ORDER BY created_at, id LIMIT $5)"
        )
    };
}

sql_meta_repo!(SqliteRepo, {
    async fn table_page(&self, table: &Table, offset: i64, limit: i64) -> MetaResult<TablePage> {
        use sqlx::{Row, TypeInfo, ValueRef};
        let rows = sqlx::query(sqlx::AssertSqlSafe(table.page_query()))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        table_page_of(&rows, |row, i| {
            let value = row.try_get_raw(i)?;
            // SQLite types values, not columns: each cell says what it holds.
            let kind = value.type_info().name().to_owned();
            Ok(match kind.as_str() {
                _ if value.is_null() => Cell::Null,
                "INTEGER" => Cell::Integer(row.try_get(i)?),
                "TEXT" => Cell::Text(row.try_get(i)?),
                "BLOB" => Cell::Bytes(row.try_get(i)?),
                other => {
                    return Err(MetaError::Corrupt(format!(
                        "{}: a value of type {other}",
                        table.name
                    )));
                }
            })
        })
    }

    async fn insert_rows(&self, table: &Table, page: &TablePage) -> MetaResult<u64> {
        let sql = table.insert_query(&page.columns)?;
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for row in &page.rows {
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for cell in row {
                insert = match cell {
                    Cell::Null => insert.bind(None::<i64>),
                    Cell::Integer(n) => insert.bind(*n),
                    Cell::Text(text) => insert.bind(text.as_str()),
                    Cell::Bytes(bytes) => insert.bind(bytes.as_slice()),
                };
            }
            added += insert.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn after_insert_rows(&self) -> MetaResult<()> {
        // AUTOINCREMENT's counters (sqlite_sequence) already moved past the ids inserted.
        Ok(())
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
            Some(_) => concat!(listing_query!("folder_id = $2")),
            None => concat!(listing_query!("$2 IS NULL")),
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
});
