//! Where the server keeps its state: the data folder (private, locked while it holds what one
//! server alone may touch), the metadata store and the blob store the options name.

use anyhow::{Context, Result};
use onefichier_server::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use onefichier_server::meta::{MetaRepo, PostgresRepo, SqliteRepo};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
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
pub(crate) fn holds_shared_state(meta: Option<&str>, blobs: Option<&str>) -> bool {
    let meta_here =
        meta.is_none_or(|m| !(m.starts_with("postgres://") || m.starts_with("postgresql://")));
    let blobs_here = blobs.is_none_or(|b| !b.starts_with("s3://"));
    meta_here || blobs_here
}

/// Holds the data folder for this server alone until the process exits: a second server on the
/// same folder would collect the first one's in-flight uploads as leftovers and run its remote
/// jobs twice. Admin commands need no lock (SQLite orders their writes).
pub(crate) fn lock_data_dir(data: &Path) -> Result<std::fs::File> {
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

/// The metadata store `--meta` names (the SQLite file in the data folder by default).
pub(crate) async fn open_meta(data: &Path, meta: Option<&str>) -> Result<Arc<dyn MetaRepo>> {
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
                SqliteRepo::open_file(Path::new(path))
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
pub(crate) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

/// The blob store `--blobs` names, and how long the start-up collector spares blobs without a
/// row: nothing in a local folder this server holds alone, six hours (longer than an upload) in
/// a bucket other processes may be writing to.
pub(crate) async fn open_blobs(
    data: &Path,
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
            let store = LocalBlobStore::open_at(Path::new(folder))
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
