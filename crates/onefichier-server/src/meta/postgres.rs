//! [`MetaRepo`] on PostgreSQL, for hosts that outgrow one machine: several server processes share
//! one database.

use super::rows::*;
use super::{
    Account, Admission, ApiKey, Cell, Credentials, DownloadToken, FileRecord, Folder,
    FtpUserRecord, GroupShare, IpRestriction, KeyEvent, KeyEventKind, Lease, ListedFile, MetaError,
    MetaRepo, MetaResult, NUMBERED_TABLES, NewBlob, NewKey, RemoteJob, SentBetween, Settings,
    Table, TablePage, VoucherRecord, WebSession,
};
use ipnet::IpNet;
use onefichier_protocol::user::Offer;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{FromRow, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL metadata store.
#[derive(Clone)]
pub struct PostgresRepo {
    pool: PgPool,
}

impl PostgresRepo {
    /// Connects to `url` (`postgres://…`; TLS as its `sslmode` says) and applies the migrations.
    /// Several processes may start at once: sqlx's migrator holds an advisory lock meanwhile.
    pub async fn connect(url: &str) -> MetaResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("1fichier-server");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A database that does not answer fails the request rather than hanging it.
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| MetaError::Database(e.into()))?;
        Ok(Self { pool })
    }

    /// Uploads of one account wait for each other until commit, so that the quota check sees
    /// every upload before its own (SQLite gets this from its database-wide write lock).
    const ACCOUNT_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock($1)");
}

/// The listing query of `listed_files`, for a folder condition.
macro_rules! listing_query {
    ($folder:literal) => {
        concat!(
            "SELECT link_id, domain, name, size, whirlpool, content_type, created_at,
                    pass_hash IS NOT NULL AS has_pass,
                    (acl_ip <> '[]' OR acl_country <> '[]' OR acl_email <> '[]' OR acl_premium)
                        AS has_acl,
                    cdn
             FROM files
             WHERE account_id = $1 AND ",
            $folder,
            " AND ($3::BIGINT IS NULL OR created_at < $3) AND ($4::BIGINT IS NULL OR created_at > $4)
             ORDER BY created_at, id LIMIT $5"
        )
    };
}

sql_meta_repo!(PostgresRepo, {
    async fn table_page(&self, table: &Table, offset: i64, limit: i64) -> MetaResult<TablePage> {
        use sqlx::{Column, Row, TypeInfo, ValueRef};
        let rows = sqlx::query(sqlx::AssertSqlSafe(table.page_query()))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        table_page_of(&rows, |row, i| {
            let column = &row.columns()[i];
            Ok(match column.type_info().name() {
                _ if row.try_get_raw(i)?.is_null() => Cell::Null,
                "INT8" => Cell::Integer(row.try_get(i)?),
                "BOOL" => Cell::Integer(i64::from(row.try_get::<bool, _>(i)?)),
                "TEXT" => Cell::Text(row.try_get(i)?),
                "BYTEA" => Cell::Bytes(row.try_get(i)?),
                other => {
                    return Err(MetaError::Corrupt(format!(
                        "{}.{}: a column of type {other}",
                        table.name,
                        column.name()
                    )));
                }
            })
        })
    }

    async fn insert_rows(&self, table: &Table, page: &TablePage) -> MetaResult<u64> {
        let sql = table.insert_query(&page.columns)?;
        // Each cell is bound with its column's type: PostgreSQL wants flags as BOOLEAN and a
        // NULL of the column's own type.
        let types: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table.name)
        .fetch_all(&self.pool)
        .await?;
        let kinds = page
            .columns
            .iter()
            .map(|column| {
                types
                    .iter()
                    .find(|(name, _)| name == column)
                    .map(|(_, kind)| kind.as_str())
                    .ok_or_else(|| {
                        MetaError::Corrupt(format!("{}.{column}: no such column", table.name))
                    })
            })
            .collect::<MetaResult<Vec<&str>>>()?;
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for row in &page.rows {
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for (cell, kind) in row.iter().zip(&kinds) {
                insert = match (*kind, cell) {
                    ("boolean", Cell::Integer(n)) => insert.bind(Some(*n != 0)),
                    ("boolean", Cell::Null) => insert.bind(None::<bool>),
                    ("bigint", Cell::Integer(n)) => insert.bind(Some(*n)),
                    ("bigint", Cell::Null) => insert.bind(None::<i64>),
                    ("text", Cell::Text(text)) => insert.bind(Some(text.as_str())),
                    ("text", Cell::Null) => insert.bind(None::<&str>),
                    ("bytea", Cell::Bytes(bytes)) => insert.bind(Some(bytes.as_slice())),
                    ("bytea", Cell::Null) => insert.bind(None::<&[u8]>),
                    (kind, cell) => {
                        return Err(MetaError::Corrupt(format!(
                            "{}: {cell:?} does not fit a {kind} column",
                            table.name
                        )));
                    }
                };
            }
            added += insert.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn after_insert_rows(&self) -> MetaResult<()> {
        for table in NUMBERED_TABLES {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn listed_files(
        &self,
        account_id: i64,
        folder: Option<i64>,
        sent: SentBetween,
        limit: i64,
    ) -> MetaResult<Vec<ListedFile>> {
        let query = match folder {
            Some(_) => listing_query!("folder_id = $2"),
            None => listing_query!("$2::BIGINT IS NULL"),
        };
        Ok(sqlx::query_as(query)
            .bind(account_id)
            .bind(folder)
            .bind(sent.before)
            .bind(sent.after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
});
