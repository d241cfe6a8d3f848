//! The state folder's files (the governor's state, shared listings, the hash cache, a mount's
//! tree and block cache) name an account's files and hold their links: each is readable by its
//! owner only from the moment it exists.

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// Creates `dir` (and its parents) readable by its owner only, unless it exists.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens (creating it owner-only, in a private folder) the SQLite database `file` that several
/// processes share, and runs `schema`'s statements. Its contents can be found again (a hash, a
/// listing): writes do not wait for the disk.
pub async fn open_sqlite(file: &Path, schema: &[&'static str]) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = file.parent() {
        create_private_dir(dir)?;
    }
    // Owner-only from the start (SQLite gives its journal files the database's mode).
    let mut create = std::fs::OpenOptions::new();
    create.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(file)?;
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?;
    for statement in schema {
        sqlx::query(*statement).execute(&pool).await?;
    }
    Ok(pool)
}
