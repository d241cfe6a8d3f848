//! Retry paths against a scripted fault server: overload then success, a flood lock then
//! success, KO on HTTP 200, HTML where JSON was expected, "No such user" (never retried),
//! non-idempotent calls that must not be repeated, and a batch upload that failed half-way.

use crate::common;

use common::client_for;
use onefichier_client::ErrorKind;
use onefichier_test_support::fault::{FaultServer, Step};
use std::time::{Duration, Instant};

const LISTING: &str =
    r#"{"status":"OK","folder_id":0,"name":"Root","files":0,"size":null,"sub_folders":[]}"#;

/// `get_upload_server`'s answer: a node at `address` and an upload id.
fn node_at(address: impl std::fmt::Display, id: &str) -> Step {
    Step::json(200, &format!(r#"{{"url":"{address}","id":"{id}"}}"#))
}

/// `upload.cgi`'s answer when it stored the files: a redirect to the report.
fn stored(id: &str) -> Step {
    Step::Respond {
        status: 302,
        headers: vec![("Location".into(), format!("/end.pl?xid={id}"))],
        body: b"<div class=\"bloc2\">Moved ! Temporary Redirect</div>".to_vec(),
    }
}

#[tokio::test]
async fn overload_twice_then_success() {
    let server = FaultServer::start(vec![
        Step::html(503, "<html>maintenance</html>"),
        Step::json(
            503,
            r#"{"status":"KO","message":"Service overloaded #503"}"#,
        )
        .header("Retry-After", "1"),
        Step::json(200, LISTING),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", server.url()), Some("k"));
    let start = Instant::now();
    let listing = client.folder_ls(&Default::default()).await.unwrap();
    assert_eq!(listing.name, "Root");
    assert_eq!(server.requests().len(), 3);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert!(
        server.requests()[0]
            .head
            .contains("authorization: Bearer k")
            || server.requests()[0]
                .head
                .contains("Authorization: Bearer k")
    );
}

#[tokio::test]
async fn a_flood_lock_is_waited_out_then_the_call_succeeds() {
    let server = FaultServer::start(vec![
        Step::json(
            403,
            r#"{"message":"Flood detected: IP Locked #374","status":"KO"}"#,
        )
        .header("Retry-After", "2"),
        Step::json(200, LISTING),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", server.url()), Some("k"));
    let start = Instant::now();
    client.folder_ls(&Default::default()).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 2, "no hammering during the lock");
    assert_eq!(client.call_stats().1, 1, "the refusal is counted");
}

#[tokio::test]
async fn ko_on_200_html_and_no_such_user() {
    let server = FaultServer::start(vec![
        Step::json(
            200,
            r#"{"status":"KO","message":"Resource not allowed #631"}"#,
        ),
        Step::html(200, "<!DOCTYPE html><html><body>maintenance</body></html>"),
        Step::json(200, LISTING),
        Step::json(200, r#"{"status":"KO","message":"No such user #93"}"#),
        Step::json(200, LISTING),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", server.url()), Some("k"));
    let refused = client.folder_ls(&Default::default()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotAllowed);
    assert_eq!(server.requests().len(), 1, "permanent: not retried");
    // HTML where JSON was expected is temporary: the next answer is good.
    client.folder_ls(&Default::default()).await.unwrap();
    assert_eq!(server.requests().len(), 3);
    let stop = client.folder_ls(&Default::default()).await.unwrap_err();
    assert_eq!(stop.kind(), ErrorKind::InvalidKey);
    assert_eq!(server.requests().len(), 4, "No such user stops everything");
}

#[tokio::test]
async fn non_idempotent_calls_are_not_repeated_after_reaching_the_server() {
    let server = FaultServer::start(vec![
        Step::json(500, r#"{"status":"KO","message":"Internal error #500"}"#),
        Step::json(200, r#"{"status":"OK","folder_id":5,"name":"x"}"#),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", server.url()), Some("k"));
    let failed = client.folder_mkdir("x", 0).await.unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Overloaded);
    assert_eq!(
        server.requests().len(),
        1,
        "mkdir may have happened: not sent again"
    );

    // But a refusal that proves nothing happened (429) is retried even for mkdir.
    let server = FaultServer::start(vec![
        Step::json(429, r#"{"status":"KO","message":"Too many requests #429"}"#)
            .header("Retry-After", "1"),
        Step::json(200, r#"{"status":"OK","folder_id":5,"name":"x"}"#),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", server.url()), Some("k"));
    assert_eq!(client.folder_mkdir("x", 0).await.unwrap().folder_id, 5);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn end_pl_answering_html_is_asked_again() {
    let report = r#"{"incoming":0,"links":[{"download":"https://1fichier.com/?abcdefghij0123456789","filename":"a.txt","size":"5","remove":"","whirlpool":"WP"}]}"#;
    let wp = onefichier_client::protocol::checksum::Whirlpool::hex_digest(b"hello");
    let report = report.replace("WP", &wp);
    // get_upload_server, upload.cgi, end.pl (HTML: not ready), end.pl (JSON).
    let node_steps = vec![
        stored("AAAAAAAAAA"),
        Step::html(200, "<html><table class=\"premium\"></table></html>"),
        Step::json(200, &report),
    ];
    let node = FaultServer::start(node_steps).await.unwrap();
    let api = FaultServer::start(vec![node_at(node.address, "AAAAAAAAAA")])
        .await
        .unwrap();
    let client = client_for(&format!("{}/v1", api.url()), Some("k"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, b"hello").unwrap();
    let up = client
        .upload_file(
            &path,
            &Default::default(),
            std::sync::Arc::new(onefichier_client::NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(up.whirlpool, wp);
    let requests = node.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests[0]
            .head
            .to_ascii_lowercase()
            .contains("content-length: "),
        "exact length"
    );
    assert!(
        requests[1].head.contains("JSON: 1")
            || requests[1].head.to_ascii_lowercase().contains("json: 1")
    );
}

#[tokio::test]
async fn a_reset_mid_download_is_resumed() {
    let body = b"0123456789abcdefghij".to_vec();
    let wp = onefichier_client::protocol::checksum::Whirlpool::hex_digest(&body);
    let files = FaultServer::start(vec![
        Step::Cut {
            status: 200,
            length: 20,
            body: body[..8].to_vec(),
        },
        Step::Respond {
            status: 206,
            headers: vec![("Content-Range".into(), "bytes 8-19/20".into())],
            body: body[8..].to_vec(),
        },
    ])
    .await
    .unwrap();
    let api = FaultServer::start(vec![Step::json(
        200,
        &format!(r#"{{"status":"OK","url":"{}/dl/TOKEN"}}"#, files.url()),
    )])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", api.url()), Some("k"));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file");
    let expected = onefichier_client::Expected {
        size: 20,
        whirlpool: Some(wp),
    };
    let got = client
        .download_file(
            "https://1fichier.com/?abcdefghij",
            &dest,
            &onefichier_client::DownloadOptions::default().expecting(expected),
            std::sync::Arc::new(onefichier_client::NoProgress),
        )
        .await
        .unwrap();
    assert!(got.verified);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(
        files.requests()[1]
            .head
            .to_ascii_lowercase()
            .contains("range: bytes=8-")
    );
}

/// Writes `files` into a temporary folder and uploads them with `upload_files`.
async fn upload_batch(
    client: &onefichier_client::Client,
    files: &[(&str, &[u8])],
) -> Vec<onefichier_client::Result<onefichier_client::Uploaded>> {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    client
        .upload_files(
            &paths,
            &Default::default(),
            std::sync::Arc::new(onefichier_client::NoProgress),
        )
        .await
}

/// An `end.pl` report listing `files` as (name, bytes, link number).
fn report_of(files: &[(&str, &[u8], u32)]) -> String {
    let links: Vec<String> = files
        .iter()
        .map(|(name, bytes, n)| {
            format!(
                r#"{{"download":"https://1fichier.com/?abcdefghij012345678{n}","filename":"{name}","size":"{}","remove":"","whirlpool":"{}"}}"#,
                bytes.len(),
                onefichier_client::protocol::checksum::Whirlpool::hex_digest(bytes)
            )
        })
        .collect();
    format!(r#"{{"incoming":0,"links":[{}]}}"#, links.join(","))
}

#[tokio::test]
async fn a_batch_whose_answer_failed_sends_again_only_what_was_not_stored() {
    // The first request reaches the node, which fails after storing two of the three files;
    // its report says which. The second request carries only the third file.
    let node = FaultServer::start(vec![
        Step::html(
            503,
            "<div class=\"bloc2\">Ne peut ouvrir le fichier destination</div>",
        ),
        Step::json(
            200,
            &report_of(&[("a.txt", b"alpha", 1), ("b.txt", b"bravo!", 2)]),
        ),
        stored("BBBBBBBBBB"),
        Step::json(200, &report_of(&[("c.txt", b"charlie", 3)])),
    ])
    .await
    .unwrap();
    let api = FaultServer::start(vec![
        node_at(node.address, "AAAAAAAAAA"),
        node_at(node.address, "BBBBBBBBBB"),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", api.url()), Some("k"));
    let files: [(&str, &[u8]); 3] = [
        ("a.txt", b"alpha"),
        ("b.txt", b"bravo!"),
        ("c.txt", b"charlie"),
    ];
    let links: Vec<String> = upload_batch(&client, &files)
        .await
        .into_iter()
        .map(|r| r.unwrap().link)
        .collect();
    assert_eq!(
        links,
        ["1", "2", "3"].map(|n| format!("https://1fichier.com/?abcdefghij012345678{n}"))
    );
    let requests = node.requests();
    assert_eq!(requests.len(), 4);
    let second_upload = String::from_utf8_lossy(&requests[2].body);
    assert!(
        requests[2]
            .head
            .starts_with("POST /upload.cgi?id=BBBBBBBBBB")
    );
    assert!(second_upload.contains("charlie"));
    assert!(!second_upload.contains("alpha") && !second_upload.contains("bravo"));
}

#[tokio::test]
async fn a_batch_that_never_left_is_sent_again_without_looking_for_it() {
    let node = FaultServer::start(vec![
        stored("BBBBBBBBBB"),
        Step::json(
            200,
            &report_of(&[("a.txt", b"alpha", 1), ("b.txt", b"alpha", 2)]),
        ),
    ])
    .await
    .unwrap();
    // The first node refuses connections (port 9): no report to read, no listing to take.
    let api = FaultServer::start(vec![
        node_at("127.0.0.1:9", "AAAAAAAAAA"),
        node_at(node.address, "BBBBBBBBBB"),
    ])
    .await
    .unwrap();
    let client = client_for(&format!("{}/v1", api.url()), Some("k"));
    let results = upload_batch(&client, &[("a.txt", b"alpha"), ("b.txt", b"alpha")]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(api.requests().len(), 2, "two nodes asked for, no listing");
    assert_eq!(node.requests().len(), 2, "one upload.cgi, one end.pl");
}

/// A wait observer that keeps what it is told.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<onefichier_client::Wait>>);

impl onefichier_client::WaitObserver for Heard {
    fn waiting(&self, wait: &onefichier_client::Wait) {
        self.0.lock().unwrap().push(wait.clone());
    }
}

fn observed_client(api: &str) -> (onefichier_client::Client, std::sync::Arc<Heard>) {
    let heard = std::sync::Arc::new(Heard::default());
    let client = common::builder_for(api, Some("k"))
        .wait_observer(heard.clone())
        .build()
        .unwrap();
    (client, heard)
}

#[tokio::test]
async fn the_download_node_saying_429_or_503_is_waited_out_as_it_asks() {
    let body = b"0123456789".to_vec();
    let wp = onefichier_client::protocol::checksum::Whirlpool::hex_digest(&body);
    let files = FaultServer::start(vec![
        Step::html(503, "<html>busy</html>").header("Retry-After", "1"),
        Step::json(429, r#"{"status":"KO","message":"Too many requests #429"}"#)
            .header("Retry-After", "1"),
        Step::Respond {
            status: 200,
            headers: vec![],
            body: body.clone(),
        },
    ])
    .await
    .unwrap();
    let token = format!(r#"{{"status":"OK","url":"{}/dl/TOKEN"}}"#, files.url());
    let api = FaultServer::routes(vec![(
        "/v1/download/get_token.cgi",
        Step::json(200, &token),
    )])
    .await
    .unwrap();
    let (client, heard) = observed_client(&format!("{}/v1", api.url()));
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let got = client
        .download_file(
            "https://1fichier.com/?abcdefghij",
            &dir.path().join("file"),
            &onefichier_client::DownloadOptions::default().expecting(onefichier_client::Expected {
                size: 10,
                whirlpool: Some(wp),
            }),
            std::sync::Arc::new(onefichier_client::NoProgress),
        )
        .await
        .unwrap();
    assert!(got.verified);
    assert_eq!(files.requests().len(), 3);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "both Retry-After honoured"
    );
    let heard = heard.0.lock().unwrap();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        heard
            .iter()
            .all(|w| matches!(w.reason, onefichier_client::WaitReason::Retry { .. }))
    );
}

#[tokio::test]
async fn a_flood_lock_from_upload_cgi_holds_the_next_attempt_until_it_lifts() {
    let wp = onefichier_client::protocol::checksum::Whirlpool::hex_digest(b"hello");
    let report = format!(
        r#"{{"incoming":0,"links":[{{"download":"https://1fichier.com/?abcdefghij0123456789","filename":"a.txt","size":"5","remove":"","whirlpool":"{wp}"}}]}}"#
    );
    // upload.cgi: locked for 2 s; then the report says 429 once (1 s); then the report.
    let node = FaultServer::start(vec![
        Step::json(
            403,
            r#"{"status":"KO","message":"Flood detected: IP Locked #374"}"#,
        )
        .header("Retry-After", "2"),
        stored("BBBBBBBBBB"),
        Step::json(429, r#"{"status":"KO","message":"Too many requests #429"}"#)
            .header("Retry-After", "1"),
        Step::json(200, &report),
    ])
    .await
    .unwrap();
    let api = FaultServer::routes(vec![(
        "/v1/upload/get_upload_server.cgi",
        node_at(node.address, "BBBBBBBBBB"),
    )])
    .await
    .unwrap();
    let (client, heard) = observed_client(&format!("{}/v1", api.url()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, b"hello").unwrap();
    let start = Instant::now();
    let up = client
        .upload_file(
            &path,
            &Default::default(),
            std::sync::Arc::new(onefichier_client::NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(up.whirlpool, wp);
    let heard = heard.0.lock().unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        heard
            .iter()
            .any(|w| w.reason == onefichier_client::WaitReason::Locked),
        "the lock is named: {heard:?}"
    );
    assert!(
        heard.iter().any(|w| w.operation == "end.pl"),
        "end.pl's 429 waited as asked: {heard:?}"
    );
}

#[tokio::test]
async fn a_refused_listing_is_sent_again_after_its_retry_after_not_a_new_window() {
    let api = FaultServer::start(vec![
        Step::json(429, r#"{"status":"KO","message":"Too many requests #429"}"#)
            .header("Retry-After", "1"),
        Step::json(200, LISTING),
    ])
    .await
    .unwrap();
    // The live service's budgets: a listing of the same folder is allowed once per 30 s.
    let heard = std::sync::Arc::new(Heard::default());
    let client = common::builder_for(&format!("{}/v1", api.url()), Some("k"))
        .budgets(onefichier_client::Budgets::live())
        .wait_observer(heard.clone())
        .build()
        .unwrap();
    let start = Instant::now();
    client.folder_ls(&Default::default()).await.unwrap();
    assert_eq!(api.requests().len(), 2);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the refused attempt spent no listing window: {:?}",
        start.elapsed()
    );
    let heard = heard.0.lock().unwrap();
    assert!(
        heard
            .iter()
            .all(|w| matches!(w.reason, onefichier_client::WaitReason::Retry { .. })),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_server_that_refuses_connections_is_reported_within_seconds() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let client = common::builder_for(&format!("http://{address}/v1"), Some("k"))
        .budgets(onefichier_client::Budgets::live())
        .retry(onefichier_client::RetryConfig::default())
        .max_wait(Duration::from_secs(20))
        .build()
        .unwrap();
    let start = Instant::now();
    let error = client.folder_ls(&Default::default()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.never_sent());
    assert!(
        error.to_string().contains("cannot connect to") && error.hint().is_some(),
        "{error}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "gave up after {:?}",
        start.elapsed()
    );
    // The calls that never arrived spent no budget: the account's next user/info need not
    // wait the 5 minutes of a real one (it would fail as rate-limited past --max-wait).
    for _ in 0..2 {
        let error = client.user_info().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
    }
}
