//! The server with its bytes in S3 (`--blobs s3://BUCKET/PREFIX`) on a real Garage node on
//! loopback: uploads stream into multipart uploads, downloads are ranged GETs, deletes free the
//! objects, and the local data folder holds no byte of any file.

use futures::StreamExt;
use onefichier_server::blob::{BlobStore, S3BlobStore};
use onefichier_test_support::garage::Garage;
use onefichier_test_support::{TestServer, pseudo_random};
use serde_json::json;

use crate::BIN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_the_bucket() {
    let Some(garage) = Garage::start_or_skip().unwrap() else {
        return;
    };
    let bucket = garage.bucket("files").unwrap();
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("s3@example.com", "premium")
        .unwrap();
    server.set_env(garage.aws_vars());
    server
        .start(&["--limits", "off", "--blobs", &format!("s3://{bucket}/prod")])
        .unwrap();
    let (status, _, _) = server
        .fetch(&format!("{}/ready", server.base_url()), None)
        .await
        .unwrap();
    assert_eq!(status, 200);

    let big = pseudo_random(19 << 20, 7);
    let (_, answer) = server
        .upload(
            Some(&key),
            &[("big.bin", big.clone()), ("small.txt", b"small".to_vec())],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 302, "{}", answer.text);
    let listing = server
        .post(Some(&key), "file/ls.cgi", json!({}))
        .await
        .unwrap();
    let items = listing.json["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{}", listing.text);
    let big_link = items.iter().find(|i| i["filename"] == "big.bin").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = server
        .post(
            Some(&key),
            "download/get_token.cgi",
            json!({"url": big_link}),
        )
        .await
        .unwrap();
    let direct = token.json["url"].as_str().unwrap().to_owned();
    let (status, _, whole) = server.fetch(&direct, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        whole == big,
        "the bytes read back from S3 are the bytes sent"
    );
    let (status, headers, part) = server
        .fetch(&direct, Some("bytes=9000000-9000099"))
        .await
        .unwrap();
    assert_eq!(status, 206);
    assert_eq!(
        headers["content-range"],
        format!("bytes 9000000-9000099/{}", big.len())
    );
    assert_eq!(part, &big[9_000_000..9_000_100]);

    // Nothing of the files is on the local disk.
    let local_blobs = server.data_dir().join("blobs");
    let on_disk = walk(&local_blobs);
    assert!(on_disk.is_empty(), "bytes on the local disk: {on_disk:?}");

    // The bucket holds one object per file, under the prefix; deleting a file frees its object.
    let bucket_view =
        S3BlobStore::from_config(&format!("s3://{bucket}/prod"), garage.aws_vars()).unwrap();
    assert_eq!(bucket_view.list().await.unwrap().len(), 2);
    let removed = server
        .post(
            Some(&key),
            "file/rm.cgi",
            json!({"files": [{"url": big_link}]}),
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(bucket_view.list().await.unwrap().len(), 1);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_moves_its_bytes_to_s3_and_back() {
    let Some(garage) = Garage::start_or_skip().unwrap() else {
        return;
    };
    let bucket = garage.bucket("moving").unwrap();
    let target = format!("s3://{bucket}/blobs");
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("mover@example.com", "premium")
        .unwrap();
    server.set_env(garage.aws_vars());
    server.start(&["--limits", "off"]).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|n| {
            (
                format!("f{n}.bin"),
                pseudo_random(1000 + n * 3_000_000, n as u64),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    server.upload(Some(&key), &refs, &[]).await.unwrap();
    assert!(server.terminate().unwrap());

    // Copy, then again: the second run finds everything there, verified.
    let first = server.admin(&["migrate", "--to-blobs", &target]).unwrap();
    assert_eq!(
        first,
        format!(
            "4 blobs: 4 copied ({} bytes), 0 already there, 0 failed",
            files.iter().map(|(_, b)| b.len()).sum::<usize>()
        )
    );
    let again = server.admin(&["migrate", "--to-blobs", &target]).unwrap();
    assert_eq!(
        again,
        "4 blobs: 0 copied (0 bytes), 4 already there, 0 failed"
    );

    // A copy damaged in the target is found, and copied again.
    let bucket_view = S3BlobStore::from_config(&target, garage.aws_vars()).unwrap();
    let victim = bucket_view.list().await.unwrap()[0].id.clone();
    bucket_view.delete(&victim).await.unwrap();
    let damaged: onefichier_server::blob::ByteStream<'static> =
        futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"not the bytes"))]).boxed();
    bucket_view.put(&victim, damaged).await.unwrap();
    let repaired = server.admin(&["migrate", "--to-blobs", &target]).unwrap();
    assert!(
        repaired.contains("1 copied") && repaired.contains("3 already there"),
        "{repaired}"
    );

    // The server then serves every file from the bucket.
    server
        .start(&["--limits", "off", "--blobs", &target])
        .unwrap();
    let listing = server
        .post(Some(&key), "file/ls.cgi", json!({}))
        .await
        .unwrap();
    for item in listing.json["items"].as_array().unwrap() {
        let bytes = server
            .download(&key, item["url"].as_str().unwrap())
            .await
            .unwrap();
        let name = item["filename"].as_str().unwrap();
        let sent = &files.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(&bytes == sent, "{name} read back from S3");
    }
}
