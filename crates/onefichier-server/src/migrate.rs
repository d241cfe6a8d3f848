//! `1fichier-server migrate --to-blobs URL`: copies the bytes of every file the metadata knows
//! from the current blob store to another (a local folder to S3, or back). Resumable: a blob
//! already in the target, whole and with the right Whirlpool, is not copied again. Every copy is
//! read back from the target and its size and Whirlpool checked against the metadata; a copy that
//! does not match is deleted there. The source is only read.

use crate::blob::BlobStore;
use crate::meta::{MetaRepo, NewBlob};
use futures::StreamExt;
use onefichier_protocol::checksum::Whirlpool;

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
