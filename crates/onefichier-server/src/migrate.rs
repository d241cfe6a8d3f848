//! `1fichier-server migrate --to-meta URL --to-blobs URL`: moves an instance between backends.
//!
//! `--to-meta` copies every row of the metadata (ids included) into another store, SQLite or
//! PostgreSQL, table by table in pages; a row already there is left alone, so a run that was
//! interrupted is simply run again. Each table is then checked whole: as many rows, and the same
//! digest of their contents (an order-free sum, since the backends may sort text differently).
//!
//! `--to-blobs` copies the bytes of every file the metadata knows
//! from the current blob store to another (a local folder to S3, or back). Resumable: a blob
//! already in the target, whole and with the right Whirlpool, is not copied again. Every copy is
//! read back from the target and its size and Whirlpool checked against the metadata; a copy that
//! does not match is deleted there. The source is only read.

use crate::blob::BlobStore;
use crate::meta::{Cell, MetaRepo, NewBlob, TABLES, Table, TablePage};
use anyhow::ensure;
use futures::StreamExt;
use onefichier_protocol::checksum::Whirlpool;
use sha2::{Digest, Sha256};

/// Rows read and written at a time.
const PAGE_ROWS: i64 = 2_000;

/// One table moved by [`migrate_meta`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTable {
    /// The table.
    pub name: &'static str,
    /// Its rows (in the source, and now in the target).
    pub rows: i64,
    /// Rows this run inserted (the others were there from an earlier run).
    pub added: u64,
}

/// Copies every table from `from` to `to` and checks each; `progress` hears of each table done.
pub async fn migrate_meta(
    from: &dyn MetaRepo,
    to: &dyn MetaRepo,
    mut progress: impl FnMut(&MovedTable),
) -> anyhow::Result<Vec<MovedTable>> {
    let mut moved = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        // The source's digest is taken from the pages as they are copied; only the target is
        // read again.
        let (mut added, mut rows, mut source) = (0, 0_i64, 0_u128);
        loop {
            let page = from.table_page(table, rows, PAGE_ROWS).await?;
            if page.rows.is_empty() {
                break;
            }
            added += to.insert_rows(table, &page).await?;
            source = source.wrapping_add(page_digest(&page));
            rows += i64::try_from(page.rows.len())?;
        }
        let (target_rows, target) = table_digest(to, table).await?;
        ensure!(
            rows == target_rows,
            "{}: {rows} rows in the source, {target_rows} in the target: the target held rows of \
             its own, or the source changed meanwhile; stop every server, empty the target and \
             run again",
            table.name
        );
        ensure!(
            source == target,
            "{}: the target's rows differ from the source's (rows of another instance, or rows \
             that changed since an earlier run); stop every server, empty the target and run \
             again",
            table.name
        );
        let done = MovedTable {
            name: table.name,
            rows,
            added,
        };
        progress(&done);
        moved.push(done);
    }
    to.after_insert_rows().await?;
    Ok(moved)
}

/// A table's row count and a digest of its contents that does not depend on row order: the
/// wrapping sum of each row's SHA-256 (first 16 bytes), a row being its cells by column name.
async fn table_digest(repo: &dyn MetaRepo, table: &Table) -> anyhow::Result<(i64, u128)> {
    let (mut rows, mut sum) = (0_i64, 0_u128);
    loop {
        let page: TablePage = repo.table_page(table, rows, PAGE_ROWS).await?;
        if page.rows.is_empty() {
            break;
        }
        sum = sum.wrapping_add(page_digest(&page));
        rows += i64::try_from(page.rows.len())?;
    }
    Ok((rows, sum))
}

/// The wrapping sum of the digests of a page's rows (see [`table_digest`]).
fn page_digest(page: &TablePage) -> u128 {
    let mut sum = 0_u128;
    let mut order: Vec<usize> = (0..page.columns.len()).collect();
    order.sort_by_key(|&i| &page.columns[i]);
    for row in &page.rows {
        let mut hasher = Sha256::new();
        for &i in &order {
            hasher.update(page.columns[i].as_bytes());
            match &row[i] {
                Cell::Null => hasher.update([0]),
                Cell::Integer(n) => {
                    hasher.update([1]);
                    hasher.update(n.to_le_bytes());
                }
                Cell::Text(text) => {
                    hasher.update([2]);
                    hasher.update((text.len() as u64).to_le_bytes());
                    hasher.update(text.as_bytes());
                }
                Cell::Bytes(bytes) => {
                    hasher.update([3]);
                    hasher.update((bytes.len() as u64).to_le_bytes());
                    hasher.update(bytes);
                }
            }
        }
        let digest = hasher.finalize();
        let mut first = [0_u8; 16];
        first.copy_from_slice(&digest[..16]);
        sum = sum.wrapping_add(u128::from_le_bytes(first));
    }
    sum
}

/// What a migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Blobs the metadata knows.
    pub blobs: usize,
    /// Copied by this run.
    pub copied: usize,
    /// Already in the target, verified.
    pub present: usize,
    /// Bytes copied by this run.
    pub bytes: u64,
    /// Blobs that could not be copied or verified, with why.
    pub failed: Vec<(String, String)>,
}

/// Copies every blob from `from` to `to`, verifying each; `progress` hears of each blob done.
pub async fn migrate_blobs(
    repo: &dyn MetaRepo,
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    mut progress: impl FnMut(&NewBlob, &str),
) -> anyhow::Result<Migrated> {
    let blobs = repo.blobs().await?;
    let mut done = Migrated {
        blobs: blobs.len(),
        ..Migrated::default()
    };
    for blob in &blobs {
        if to.exists(&blob.id).await? && verify(to, blob).await.is_ok() {
            done.present += 1;
            progress(blob, "already there");
            continue;
        }
        match copy(from, to, blob).await {
            Ok(()) => {
                done.copied += 1;
                done.bytes += u64::try_from(blob.size).unwrap_or(0);
                progress(blob, "copied");
            }
            Err(why) => {
                // Nothing half-copied stays in the target.
                let _ = to.delete(&blob.id).await;
                progress(blob, &why);
                done.failed.push((blob.id.clone(), why));
            }
        }
    }
    Ok(done)
}

async fn copy(from: &dyn BlobStore, to: &dyn BlobStore, blob: &NewBlob) -> Result<(), String> {
    let size = u64::try_from(blob.size).map_err(|_| "negative size".to_owned())?;
    let source = from
        .get_range(&blob.id, 0..size)
        .await
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let written = to
        .put(&blob.id, source)
        .await
        .map_err(|e| format!("cannot write the target: {e}"))?;
    if written != size {
        return Err(format!("{written} bytes written, {size} expected"));
    }
    verify(to, blob).await
}

/// Reads `blob` back from `store`: its size and Whirlpool must be the metadata's.
async fn verify(store: &dyn BlobStore, blob: &NewBlob) -> Result<(), String> {
    let size = u64::try_from(blob.size).map_err(|_| "negative size".to_owned())?;
    let mut stream = store
        .get_range(&blob.id, 0..size)
        .await
        .map_err(|e| format!("cannot read the copy back: {e}"))?;
    let mut hasher = Whirlpool::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk.map_err(|e| format!("cannot read the copy back: {e}"))?);
    }
    if hasher.len() != u128::from(size) {
        return Err(format!(
            "the copy has {} bytes, {size} expected",
            hasher.len()
        ));
    }
    let whirlpool = hasher.finalize_hex();
    if !whirlpool.eq_ignore_ascii_case(&blob.whirlpool) {
        return Err("the copy's Whirlpool differs from the metadata's".to_owned());
    }
    Ok(())
}
