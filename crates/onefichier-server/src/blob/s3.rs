//! [`BlobStore`] on an S3-compatible object store (AWS S3, Garage, Ceph, MinIO…) through
//! `object_store`. Puts are multipart uploads streamed part by part (memory stays a few parts
//! whatever the file's size) and become visible only when completed; reads are ranged GETs.

use super::{BlobEntry, BlobStore, ByteStream, is_valid_blob_id};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Size of each uploaded part: S3 wants at least 5 MiB but the last.
const PART_SIZE: usize = 8 << 20;
/// Parts in flight at once per put.
const PARTS_IN_FLIGHT: usize = 2;

/// Blobs in a bucket, under an optional prefix.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    description: String,
}

fn other(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        error => io::Error::other(error),
    }
}

impl S3BlobStore {
    /// The store at `s3://BUCKET[/PREFIX]`; the endpoint, region and credentials come from the
    /// usual `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`). A plain-HTTP endpoint is accepted on loopback only.
    pub fn from_url(url: &str) -> io::Result<Self> {
        Self::from_config(url, std::env::vars())
    }

    /// [`S3BlobStore::from_url`] with the `AWS_*` settings taken from `vars` rather than from
    /// the process's environment.
    pub fn from_config(
        url: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> io::Result<Self> {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("AWS_"))
            .collect();
        let var = |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{url:?} is not an s3://BUCKET[/PREFIX] URL"),
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{url:?} names no bucket"),
            ));
        }
        let endpoint = var("AWS_ENDPOINT_URL").or_else(|| var("AWS_ENDPOINT"));
        let mut builder = AmazonS3Builder::new();
        for (name, value) in &vars {
            // Settings object_store does not know (AWS_CA_BUNDLE, AWS_PROFILE…) are left out.
            if let Ok(key) = name.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, value);
            }
        }
        let mut builder = builder.with_bucket_name(bucket);
        if let Some(endpoint) = &endpoint {
            let plain = endpoint.starts_with("http://");
            if plain && !is_loopback_url(endpoint) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the S3 endpoint {endpoint} is plain HTTP off loopback: use https"),
                ));
            }
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(plain)
                // Self-hosted stores answer at ENDPOINT/BUCKET rather than at BUCKET.ENDPOINT.
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(other)?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::from(prefix.trim_matches('/')),
            description: url.to_owned(),
        })
    }

    fn key(&self, id: &str) -> io::Result<ObjectPath> {
        if !is_valid_blob_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid blob id",
            ));
        }
        Ok(self.prefix.clone().join(&id[..2]).join(id))
    }
}

impl std::fmt::Display for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Whether an `http://HOST[:PORT]/…` URL names a loopback host.
fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).ok().is_some_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    })
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, id: &str, mut data: ByteStream<'_>) -> io::Result<u64> {
        let key = self.key(id)?;
        let upload = self.store.put_multipart(&key).await.map_err(other)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut size = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    // Nothing becomes visible: the parts sent so far are dropped.
                    let _ = writer.abort().await;
                    return Err(error);
                }
            };
            if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(other(error));
            }
            size += chunk.len() as u64;
            writer.put(chunk);
        }
        if size == 0 {
            // A multipart upload needs one part at least: an empty blob is a plain put.
            let _ = writer.abort().await;
            self.store
                .put(&key, PutPayload::new())
                .await
                .map_err(other)?;
            return Ok(0);
        }
        writer.finish().await.map_err(other)?;
        Ok(size)
    }

    async fn get_range(&self, id: &str, range: Range<u64>) -> io::Result<ByteStream<'static>> {
        let key = self.key(id)?;
        if range.start >= range.end {
            self.store.head(&key).await.map_err(other)?;
            return Ok(futures::stream::empty().boxed());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let found = self.store.get_opts(&key, options).await.map_err(other)?;
        Ok(found.into_stream().map_err(other).boxed())
    }

    async fn delete(&self, id: &str) -> io::Result<()> {
        match self.store.delete(&self.key(id)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(other(error)),
        }
    }

    async fn exists(&self, id: &str) -> io::Result<bool> {
        match self.store.head(&self.key(id)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(other(error)),
        }
    }

    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let mut found = Vec::new();
        let mut listing = self.store.list(prefix);
        while let Some(object) = listing.next().await {
            let object = object.map_err(other)?;
            let Some(id) = object.location.filename() else {
                continue;
            };
            if is_valid_blob_id(id) && self.key(id)? == object.location {
                found.push(BlobEntry {
                    id: id.to_owned(),
                    modified: SystemTime::from(object.last_modified),
                });
            }
        }
        Ok(found)
    }

    async fn ping(&self) -> io::Result<()> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        self.store
            .list_with_delimiter(prefix)
            .await
            .map(|_| ())
            .map_err(other)
    }

    async fn clean_staging(&self, _older_than: Duration) -> io::Result<usize> {
        // Parts of an interrupted multipart upload are invisible and belong to no key; the
        // bucket's lifecycle rule (AbortIncompleteMultipartUpload) frees them.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_endpoints_are_checked() {
        assert!(S3BlobStore::from_url("http://bucket").is_err());
        assert!(S3BlobStore::from_url("s3://").is_err());
        assert!(is_loopback_url("http://127.0.0.1:3900"));
        assert!(is_loopback_url("http://[::1]:3900/"));
        assert!(is_loopback_url("http://localhost:3900"));
        assert!(!is_loopback_url("http://10.0.0.1:3900"));
        assert!(!is_loopback_url("http://example.com"));
    }
}
