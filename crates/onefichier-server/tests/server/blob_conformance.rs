//! One conformance suite for [`BlobStore`], written once and run against every backend: the
//! local folder, and S3 on a real Garage node started on loopback (as object_store's own
//! integration suite runs against each store).

use bytes::Bytes;
use futures::{StreamExt, stream};
use onefichier_server::blob::{BlobStore, ByteStream, LocalBlobStore, S3BlobStore};
use onefichier_test_support::garage::Garage;
use onefichier_test_support::pseudo_random;
use std::io;
use std::time::Duration;

fn chunks(parts: Vec<Vec<u8>>) -> ByteStream<'static> {
    stream::iter(parts.into_iter().map(|p| Ok(Bytes::from(p)))).boxed()
}

async fn read_all(mut s: ByteStream<'static>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn id(n: u32) -> String {
    format!("conformance{n:020}")
}

/// Every promise of the trait, on `store` (which must start empty).
async fn suite(store: &dyn BlobStore) {
    store.ping().await.expect("a reachable store");
    assert!(
        store.list().await.unwrap().is_empty(),
        "the store starts empty"
    );

    // Put and read back, whole and by ranges, across chunk boundaries.
    let small = id(1);
    let written = store
        .put(&small, chunks(vec![b"hello ".to_vec(), b"world".to_vec()]))
        .await
        .unwrap();
    assert_eq!(written, 11);
    assert!(store.exists(&small).await.unwrap());
    let read = |id: String, range: std::ops::Range<u64>| async move {
        read_all(store.get_range(&id, range).await?).await
    };
    assert_eq!(read(small.clone(), 0..11).await.unwrap(), b"hello world");
    assert_eq!(read(small.clone(), 4..8).await.unwrap(), b"o wo");
    assert_eq!(read(small.clone(), 10..11).await.unwrap(), b"d");
    assert_eq!(read(small.clone(), 5..5).await.unwrap(), b"");

    // A large blob, streamed in many chunks (several S3 parts), read back by ranges.
    let large = id(2);
    let bytes = pseudo_random(20 << 20, 42);
    let parts: Vec<Vec<u8>> = bytes.chunks(300_000).map(<[u8]>::to_vec).collect();
    assert_eq!(
        store.put(&large, chunks(parts)).await.unwrap(),
        bytes.len() as u64
    );
    assert_eq!(
        read(large.clone(), 0..bytes.len() as u64).await.unwrap(),
        bytes
    );
    let (a, b) = (8 << 20, (8 << 20) + 12_345);
    assert_eq!(
        read(large.clone(), a..b).await.unwrap(),
        &bytes[a as usize..b as usize]
    );

    // An empty blob.
    let empty = id(3);
    assert_eq!(store.put(&empty, chunks(vec![])).await.unwrap(), 0);
    assert!(store.exists(&empty).await.unwrap());
    assert_eq!(read(empty.clone(), 0..0).await.unwrap(), b"");

    // A put whose stream fails leaves nothing under its id.
    let failed = id(4);
    let broken: ByteStream<'static> = stream::iter(vec![
        Ok(Bytes::from(vec![1; 1000])),
        Err(io::Error::other("the client went away")),
    ])
    .boxed();
    assert!(store.put(&failed, broken).await.is_err());
    assert!(!store.exists(&failed).await.unwrap());

    // Two writers at once, each blob whole.
    let (one, two) = (id(5), id(6));
    let (first, second) = (pseudo_random(3 << 20, 1), pseudo_random(3 << 20, 2));
    let (x, y) = tokio::join!(
        store.put(
            &one,
            chunks(first.chunks(65_536).map(<[u8]>::to_vec).collect())
        ),
        store.put(
            &two,
            chunks(second.chunks(65_536).map(<[u8]>::to_vec).collect())
        ),
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(
        read(one.clone(), 0..first.len() as u64).await.unwrap(),
        first
    );
    assert_eq!(
        read(two.clone(), 0..second.len() as u64).await.unwrap(),
        second
    );

    // Listing: exactly the blobs stored, with recent times.
    let mut listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            small.clone(),
            large.clone(),
            empty.clone(),
            one.clone(),
            two.clone()
        ]
    );
    for entry in store.list().await.unwrap() {
        let age = std::time::SystemTime::now()
            .duration_since(entry.modified)
            .unwrap_or_default();
        assert!(age < Duration::from_secs(600), "{entry:?}");
    }

    // Missing blobs and bad ids.
    assert!(!store.exists(&id(99)).await.unwrap());
    assert!(read(id(99), 0..1).await.is_err());
    for bad in ["../etc/passwd", "short", "with/slash0123456789"] {
        assert!(
            store.put(bad, chunks(vec![b"x".to_vec()])).await.is_err(),
            "{bad}"
        );
        assert!(store.exists(bad).await.is_err(), "{bad}");
    }

    // Delete is idempotent; the collector's staging sweep never touches stored blobs.
    store.delete(&small).await.unwrap();
    store.delete(&small).await.unwrap();
    assert!(!store.exists(&small).await.unwrap());
    store.clean_staging(Duration::ZERO).await.unwrap();
    assert!(store.exists(&large).await.unwrap());
    for blob in [large, empty, one, two] {
        store.delete(&blob).await.unwrap();
    }
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_local_folder_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).await.unwrap();
    suite(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_garage_conforms() {
    let Some(garage) = Garage::start_or_skip().unwrap() else {
        return;
    };
    let bucket = garage.bucket("conformance").unwrap();
    // The endpoint and credentials, as the server reads them from its environment.
    let store =
        S3BlobStore::from_config(&format!("s3://{bucket}/blobs"), garage.aws_vars()).unwrap();
    suite(&store).await;
}
