//! Verified transfers against the real server: sizes up to 256 MiB, a connection cut in the
//! middle of a download (only the missing bytes travel again), and corruption detected.

use crate::common;

use common::{client_for, data, in_process};
use onefichier_client::transfer::download::part_path;
use onefichier_client::{
    DownloadOptions, ErrorKind, Expected, NoProgress, Reporter, UploadOptions,
};
use onefichier_test_support::TestServer;
use onefichier_test_support::fault::spawn_cutting_relay;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Counting {
    bytes: AtomicU64,
    finished_ok: AtomicU64,
}

impl Reporter for Counting {
    fn bytes(&self, _id: onefichier_client::TransferId, count: u64) {
        self.bytes.fetch_add(count, Ordering::Relaxed);
    }
    fn finish(&self, _id: onefichier_client::TransferId, ok: bool) {
        if ok {
            self.finished_ok.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn uploads_and_downloads_verify_every_size() {
    let (_server, client) = in_process(|_| ()).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, size) in [1usize, 64, 65, 1_000_003, 16 << 20, 256 << 20]
        .into_iter()
        .enumerate()
    {
        let bytes = data(size, i as u64 + 1);
        let source = dir.path().join(format!("source-{size}.bin"));
        std::fs::write(&source, &bytes).unwrap();
        let reporter = Arc::new(Counting::default());
        let up = client
            .upload_file(&source, &UploadOptions::default(), reporter.clone())
            .await
            .unwrap();
        assert_eq!(up.size, size as u64);
        assert_eq!(reporter.bytes.load(Ordering::Relaxed), size as u64);
        assert_eq!(
            up.whirlpool,
            onefichier_client::protocol::checksum::Whirlpool::hex_digest(&bytes)
        );
        let dest = dir.path().join(format!("dest-{size}.bin"));
        let down = client
            .download_file(
                &up.link,
                &dest,
                &DownloadOptions::default(),
                reporter.clone(),
            )
            .await
            .unwrap();
        assert!(down.verified);
        assert_eq!(down.whirlpool, up.whirlpool);
        assert_eq!(std::fs::read(&dest).unwrap(), bytes, "{size} bytes");
        assert!(!part_path(&dest).exists());
        assert_eq!(reporter.finished_ok.load(Ordering::Relaxed), 2);
        std::fs::remove_file(&source).unwrap();
        std::fs::remove_file(&dest).unwrap();
    }
}

#[tokio::test]
async fn a_cut_connection_resumes_with_only_the_missing_bytes() {
    let upstream = Arc::new(Mutex::new(None::<SocketAddr>));
    let (relay, heads) = spawn_cutting_relay(Arc::clone(&upstream), 3 << 20)
        .await
        .unwrap();
    let (_server, client) = server_behind(&upstream, relay).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, up) = upload_data(&client, dir.path(), 10 << 20, 42).await;
    let dest = dir.path().join("dest.bin");
    let reporter = Arc::new(Counting::default());
    let down = client
        .download_file(
            &up.link,
            &dest,
            &DownloadOptions::default(),
            reporter.clone(),
        )
        .await
        .unwrap();
    assert!(down.verified);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "one cut, one resume: {heads:?}");
    let (from, to) = first_range(&heads[1]).expect("the resume asks for a range");
    assert!(
        from > 0 && from < 3 << 20 && to.is_none(),
        "resumed from {from}"
    );
    assert_eq!(
        reporter.bytes.load(Ordering::Relaxed),
        bytes.len() as u64,
        "no byte travelled twice"
    );
}

/// Writes `len` pseudo-random bytes to a file in `dir` and uploads it; returns the bytes and the
/// upload.
async fn upload_data(
    client: &onefichier_client::Client,
    dir: &Path,
    len: usize,
    seed: u64,
) -> (Vec<u8>, onefichier_client::Uploaded) {
    let bytes = data(len, seed);
    let source = dir.join("source.bin");
    std::fs::write(&source, &bytes).unwrap();
    let up = client
        .upload_file(&source, &UploadOptions::default(), Arc::new(NoProgress))
        .await
        .unwrap();
    (bytes, up)
}

/// The server with its download host behind `relay`, which is pointed at it once it runs.
async fn server_behind(
    upstream: &Arc<Mutex<Option<SocketAddr>>>,
    relay: SocketAddr,
) -> (TestServer, onefichier_client::Client) {
    let mut server = TestServer::new(onefichier_test_support::server_binary()).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    let relay_host = relay.to_string();
    server
        .start(&["--limits", "off", "--download-host", &relay_host])
        .unwrap();
    *upstream.lock().unwrap() = Some(server.address().parse().unwrap());
    let client = client_for(&server.api_url(), Some(&key));
    (server, client)
}

fn first_range(head: &str) -> Option<(u64, Option<u64>)> {
    let range = head.lines().find_map(|l| {
        l.strip_prefix("range: ")
            .or_else(|| l.strip_prefix("Range: "))
    })?;
    let (from, to) = range.trim_start_matches("bytes=").split_once('-')?;
    Some((from.parse().ok()?, to.parse().ok()))
}

#[tokio::test]
async fn a_segmented_download_uses_several_connections_and_survives_a_cut() {
    let upstream = Arc::new(Mutex::new(None::<SocketAddr>));
    // The first connection breaks 3 MiB into its first piece.
    let (relay, heads) = spawn_cutting_relay(Arc::clone(&upstream), 3 << 20)
        .await
        .unwrap();
    let (_server, client) = server_behind(&upstream, relay).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, up) = upload_data(&client, dir.path(), 40 << 20, 9).await;
    let dest = dir.path().join("dest.bin");
    let reporter = Arc::new(Counting::default());
    let down = client
        .download_file(
            &up.link,
            &dest,
            &DownloadOptions::default().with_segments(4),
            reporter.clone(),
        )
        .await
        .unwrap();
    assert!(down.verified);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert!(!dir.path().join("dest.bin.part.pieces").exists());
    assert_eq!(
        reporter.bytes.load(Ordering::Relaxed),
        bytes.len() as u64,
        "no byte travelled twice"
    );
    // Four connections, each opening with a bounded piece (the relay logs the first request of
    // each connection; the cut piece may resume on a connection of the pool). The cut came 3 MiB
    // into a 4 MiB piece, and no byte was counted twice: the piece resumed where it broke.
    let ranges: Vec<_> = heads
        .lock()
        .unwrap()
        .iter()
        .map(|h| first_range(h).expect("every request asks for a range"))
        .collect();
    let starts: std::collections::BTreeSet<u64> = ranges.iter().take(4).map(|r| r.0).collect();
    assert_eq!(starts.len(), 4, "four different pieces at once: {ranges:?}");
    assert!(ranges.iter().take(4).all(|r| r.1.is_some()), "{ranges:?}");
}

#[tokio::test]
async fn an_interrupted_segmented_download_resumes_piece_by_piece() {
    let upstream = Arc::new(Mutex::new(None::<SocketAddr>));
    let relay = onefichier_test_support::fault::spawn_slow_relay(Arc::clone(&upstream), 2 << 20)
        .await
        .unwrap();
    let (_server, client) = server_behind(&upstream, relay).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, up) = upload_data(&client, dir.path(), 24 << 20, 11).await;
    let dest = dir.path().join("dest.bin");
    let options = DownloadOptions::default().with_segments(3);
    // Stopped in the middle, as Ctrl-C would: the pieces map stays next to the .part file.
    let interrupted = tokio::time::timeout(
        std::time::Duration::from_millis(1500),
        client.download_file(&up.link, &dest, &options, Arc::new(NoProgress)),
    )
    .await;
    assert!(interrupted.is_err(), "the slow link should not finish");
    let sidecar = dir.path().join("dest.bin.part.pieces");
    let mut waited = 0;
    while !sidecar.exists() && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(sidecar.exists(), "the pieces map was saved");
    let down = client
        .download_file(&up.link, &dest, &options, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(down.resumed_from > 0, "{down:?}");
    assert!(down.verified);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert!(!sidecar.exists());
}

#[tokio::test]
async fn an_existing_part_file_is_resumed() {
    let (_server, client) = in_process(|_| ()).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, up) = upload_data(&client, dir.path(), 3 << 20, 7).await;
    let dest = dir.path().join("dest.bin");
    std::fs::write(part_path(&dest), &bytes[..1_000_000]).unwrap();
    let down = client
        .download_file(
            &up.link,
            &dest,
            &DownloadOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(down.resumed_from, 1_000_000);
    assert!(down.verified);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

#[tokio::test]
async fn a_corrupt_blob_is_refused_and_nothing_is_saved() {
    let (server, client) = in_process(|_| ()).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, up) = upload_data(&client, dir.path(), 200_000, 3).await;
    // Flip one byte of the stored blob, behind the server's back.
    let blobs = server.data_dir().join("blobs");
    let shard = std::fs::read_dir(&blobs)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name() != ".staging")
        .unwrap();
    let blob = std::fs::read_dir(shard.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut stored = std::fs::read(&blob).unwrap();
    stored[100_000] ^= 0xFF;
    std::fs::write(&blob, stored).unwrap();

    let dest = dir.path().join("dest.bin");
    let error = client
        .download_file(
            &up.link,
            &dest,
            &DownloadOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Verification);
    assert!(error.hint().is_some());
    assert!(!dest.exists());
    assert!(!part_path(&dest).exists());

    // A wrong expectation is caught the same way.
    let wrong = DownloadOptions::default().expecting(Expected {
        size: bytes.len() as u64,
        whirlpool: Some("00".repeat(64)),
    });
    std::fs::write(&blob, &bytes).unwrap();
    let error = client
        .download_file(&up.link, &dest, &wrong, Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Verification);
}

#[tokio::test]
async fn small_files_share_requests_and_each_is_verified() {
    let mut server = TestServer::new(onefichier_test_support::server_binary()).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server.log_requests();
    server.start(&["--limits", "off"]).unwrap();
    let client = client_for(&server.api_url(), Some(&key));
    let folder = client.mkdir_p("/batch").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 120 small files (two requests of at most 100), one over the batch limit in the middle
    // (alone), and an empty one (refused by itself, the others unaffected).
    let mut paths = Vec::new();
    let mut contents = Vec::new();
    for i in 0..122usize {
        let size = match i {
            60 => (onefichier_client::BATCH_FILE_MAX + 1) as usize,
            61 => 0,
            _ => 1 + i * 37,
        };
        let bytes = data(size, 1000 + i as u64);
        let path = dir.path().join(format!("small-{i:03}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        paths.push(path);
        contents.push(bytes);
    }
    let reporter = Arc::new(Counting::default());
    let results = client
        .upload_files(
            &paths,
            &UploadOptions::into_folder(folder),
            reporter.clone(),
        )
        .await;
    assert_eq!(results.len(), paths.len());
    for (i, result) in results.iter().enumerate() {
        if i == 61 {
            let error = result.as_ref().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::BadRequest, "{error}");
            continue;
        }
        let uploaded = result.as_ref().unwrap();
        assert_eq!(uploaded.name, format!("small-{i:03}.bin"));
        assert_eq!(uploaded.size, contents[i].len() as u64);
        assert_eq!(
            uploaded.whirlpool,
            onefichier_client::protocol::checksum::Whirlpool::hex_digest(&contents[i])
        );
    }
    assert_eq!(reporter.finished_ok.load(Ordering::Relaxed), 121);
    // 120 small files in two requests, the large one in a third.
    assert_eq!(server.requests_to("/upload.cgi"), 3, "{}", server.log());
    assert_eq!(server.requests_to("/end.pl"), 3);
    // What the server holds is what was sent, under the right names.
    let listing = client.list_folder(folder).await.unwrap();
    let items = listing.items.unwrap();
    assert_eq!(items.len(), 121);
    for (i, bytes) in contents.iter().enumerate() {
        if i == 61 {
            continue;
        }
        let item = items
            .iter()
            .find(|item| item.filename == format!("small-{i:03}.bin"))
            .unwrap();
        assert_eq!(item.size, bytes.len() as u64);
    }
    // And the bytes come back intact.
    let link = &results[7].as_ref().unwrap().link;
    let dest = dir.path().join("back.bin");
    client
        .download_file(
            link,
            &dest,
            &DownloadOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), contents[7]);
}
