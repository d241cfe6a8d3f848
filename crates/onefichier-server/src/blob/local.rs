//! Blobs as files under `DATA/blobs/`, fanned out by the first two characters of their id.
//! Puts go to `DATA/blobs/.staging/`, are fsynced, then renamed into place.

use super::{BlobEntry, BlobStore, ByteStream, is_valid_blob_id};
use async_trait::async_trait;
use futures::StreamExt;
use std::io::{self, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

/// Write buffer of a put: large writes keep the number of blocking file operations low.
const WRITE_BUFFER: usize = 1 << 20;
/// Read chunk of a get.
const READ_CHUNK: usize = 256 * 1024;

/// The local-disk blob store.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// A store rooted at `DATA/blobs`, creating the folders it needs.
    pub async fn open(data_dir: &Path) -> io::Result<Self> {
        Self::open_at(&data_dir.join("blobs")).await
    }

    /// A store rooted at `root`, creating the folders it needs.
    pub async fn open_at(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join(".staging")).await?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, id: &str) -> io::Result<PathBuf> {
        if !is_valid_blob_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid blob id",
            ));
        }
        Ok(self.root.join(&id[..2]).join(id))
    }

    fn staging(&self) -> PathBuf {
        self.root.join(".staging")
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, id: &str, mut data: ByteStream<'_>) -> io::Result<u64> {
        let target = self.path(id)?;
        let staged = self.staging().join(format!("{id}.part"));
        let result = async {
            let file = fs::File::create(&staged).await?;
            let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut size = 0u64;
            while let Some(chunk) = data.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                writer.write_all(&chunk).await?;
            }
            writer.flush().await?;
            writer.get_ref().sync_all().await?;
            let parent = target.parent().expect("blob paths have a parent");
            fs::create_dir_all(parent).await?;
            fs::rename(&staged, &target).await?;
            // The rename is durable only once the directory itself is synced.
            fs::File::open(parent).await?.sync_all().await?;
            Ok(size)
        }
        .await;
        if result.is_err() {
            let _ = fs::remove_file(&staged).await;
        }
        result
    }

    async fn get_range(&self, id: &str, range: Range<u64>) -> io::Result<ByteStream<'static>> {
        let mut file = fs::File::open(self.path(id)?).await?;
        file.seek(SeekFrom::Start(range.start)).await?;
        let limited = file.take(range.end.saturating_sub(range.start));
        Ok(ReaderStream::with_capacity(limited, READ_CHUNK).boxed())
    }

    async fn delete(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.path(id)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn exists(&self, id: &str) -> io::Result<bool> {
        fs::try_exists(self.path(id)?).await
    }

    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let mut found = Vec::new();
        let mut shards = fs::read_dir(&self.root).await?;
        while let Some(shard) = shards.next_entry().await? {
            if shard.file_name() == ".staging" || !shard.file_type().await?.is_dir() {
                continue;
            }
            let mut blobs = fs::read_dir(shard.path()).await?;
            while let Some(blob) = blobs.next_entry().await? {
                let Some(id) = blob.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if is_valid_blob_id(&id) {
                    let modified = blob.metadata().await?.modified()?;
                    found.push(BlobEntry { id, modified });
                }
            }
        }
        Ok(found)
    }

    async fn ping(&self) -> io::Result<()> {
        // The staging folder is where every put starts: it must be there and writable.
        let metadata = fs::metadata(self.staging()).await?;
        if metadata.permissions().readonly() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the staging folder is read-only",
            ));
        }
        Ok(())
    }

    async fn clean_staging(&self, older_than: Duration) -> io::Result<usize> {
        let mut removed = 0;
        let mut entries = fs::read_dir(self.staging()).await?;
        while let Some(entry) = entries.next_entry().await? {
            let age = entry
                .metadata()
                .await?
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            if age >= older_than {
                fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures::stream;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream<'static> {
        let parts: Vec<io::Result<Bytes>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        stream::iter(parts).boxed()
    }

    async fn read_all(mut s: ByteStream<'static>) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn put_get_range_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).await.unwrap();
        let id = "abcdefghij0123456789";
        assert_eq!(
            store.put(id, chunks(&[b"hello ", b"world"])).await.unwrap(),
            11
        );
        assert!(store.exists(id).await.unwrap());
        assert_eq!(
            read_all(store.get_range(id, 0..11).await.unwrap()).await,
            b"hello world"
        );
        assert_eq!(
            read_all(store.get_range(id, 6..9).await.unwrap()).await,
            b"wor"
        );
        assert_eq!(store.list().await.unwrap().len(), 1);
        store.delete(id).await.unwrap();
        store.delete(id).await.unwrap();
        assert!(!store.exists(id).await.unwrap());
        assert!(store.put("../etc/passwd", chunks(&[])).await.is_err());
    }

    #[tokio::test]
    async fn a_failed_put_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).await.unwrap();
        let id = "failedfailedfailed00";
        let broken = stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err(io::Error::other("connection reset")),
        ])
        .boxed();
        assert!(store.put(id, broken).await.is_err());
        assert!(!store.exists(id).await.unwrap());
        assert_eq!(store.clean_staging(Duration::ZERO).await.unwrap(), 0);
    }
}
