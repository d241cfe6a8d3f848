//! The operator's view: health and readiness probes, Prometheus metrics (loopback only by
//! default), the access log (one line a request, no secret, no colour codes in a file, JSON on
//! request), and a SIGTERM that lets transfers in flight finish.

use futures::StreamExt;
use onefichier_test_support::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

use crate::BIN;

async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let (status, _, body) = server
        .fetch(&format!("{}{path}", server.base_url()), None)
        .await
        .unwrap();
    (status, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn probes_metrics_and_the_access_log() {
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("ops@example.com", "premium")
        .unwrap();
    server.start(&["--limits", "1fichier"]).unwrap();
    assert_eq!(get(&server, "/health").await, (200, "ok\n".to_owned()));
    assert_eq!(get(&server, "/ready").await, (200, "ready\n".to_owned()));

    let (id, _) = server
        .upload(Some(&key), &[("a.bin", vec![7; 5000])], &[])
        .await
        .unwrap();
    // The live limits allow 3 calls a second per key: pace them as a client would.
    let pace = || tokio::time::sleep(Duration::from_millis(400));
    pace().await;
    let listing = server
        .post(Some(&key), "file/ls.cgi", json!({}))
        .await
        .unwrap();
    pace().await;
    let link = listing.json["items"][0]["url"].as_str().unwrap().to_owned();
    let token = server
        .post(Some(&key), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    let direct = token.json["url"].as_str().unwrap().to_owned();
    let (status, _, bytes) = server.fetch(&direct, None).await.unwrap();
    assert_eq!((status, bytes.len()), (200, 5000));
    let refused = server
        .post(
            Some("0123456789abcdefghijABCDEFGHIJ01"),
            "user/info.cgi",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 401);

    let (status, metrics) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "onefichier_requests_total{route=\"/v1/file/ls.cgi\",status=\"200\"} 1",
        "onefichier_requests_total{route=\"/dl/{token}\",status=\"200\"} 1",
        "onefichier_refusals_total{reason=\"401\"} 1",
        "onefichier_bytes_in_total 5000",
        "onefichier_bytes_out_total 5000",
        "onefichier_storage_used_bytes 5000",
        "onefichier_transfers_in_flight 0",
        "onefichier_collector_runs_total 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(
        metrics.contains("onefichier_request_duration_seconds_bucket{route=\"/v1/file/ls.cgi\"")
    );

    // One access line per request; routes, never the token, the key or the upload id.
    let log = server.log();
    assert!(!log.contains('\u{1b}'), "no colour codes in a file");
    let direct_token = direct.rsplit('/').next().unwrap();
    for secret in [key.as_str(), direct_token, id.as_str()] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
    let line = log
        .lines()
        .find(|l| l.contains("request served") && l.contains("route=/v1/file/ls.cgi"))
        .unwrap_or_else(|| panic!("an access line for file/ls:\n{log}"));
    for field in [
        "method=POST",
        "status=200",
        "ms=",
        "bytes_in=",
        "bytes_out=",
        "account=1",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(log.contains("route=/dl/{token} status=200"), "{log}");
}

#[tokio::test]
async fn metrics_are_for_allowed_addresses_and_logs_can_be_json() {
    let mut server = TestServer::new(BIN).unwrap();
    server
        .start(&[
            "--limits",
            "off",
            "--metrics-allow",
            "10.0.0.0/8",
            "--log-format",
            "json",
        ])
        .unwrap();
    assert_eq!(get(&server, "/metrics").await.0, 404);
    get(&server, "/health").await;
    let log = server.log();
    let access: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["target"] == "access")
        .collect();
    assert!(
        access
            .iter()
            .any(|v| v["route"] == "/health" && v["status"] == 200),
        "{log}"
    );
    assert!(
        access
            .iter()
            .any(|v| v["route"] == "/metrics" && v["status"] == 404)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_upload_in_flight_finish() {
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("ops@example.com", "premium")
        .unwrap();
    server
        .start(&["--limits", "off", "--drain-seconds", "20"])
        .unwrap();
    let (node, id) = server.upload_server(Some(&key)).await.unwrap();
    let boundary = "drainboundary";
    // Three seconds of upload: a head, three slow chunks, the end.
    let parts: Vec<(Duration, Vec<u8>)> = vec![
        (
            Duration::ZERO,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"slow.bin\"\r\n\r\n"
            )
            .into_bytes(),
        ),
        (Duration::from_millis(800), vec![1; 1000]),
        (Duration::from_millis(800), vec![2; 1000]),
        (Duration::from_millis(800), vec![3; 1000]),
        (Duration::ZERO, format!("\r\n--{boundary}--\r\n").into_bytes()),
    ];
    let body = futures::stream::iter(parts).then(|(pause, bytes)| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, std::io::Error>(bytes)
    });
    let url = format!("http://{node}/upload.cgi?id={id}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let upload = tokio::spawn(
        client
            .post(url)
            .bearer_auth(&key)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = server.base_url();
    let stopped = tokio::task::spawn_blocking(move || server.terminate().map(|ok| (ok, server)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Draining: no new request is served.
    let late = reqwest::Client::new()
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(
        late.is_err(),
        "a new request was served while draining: {late:?}"
    );
    let answer = upload.await.unwrap().unwrap();
    assert_eq!(answer.status(), 302, "the upload in flight finished");
    let (clean, server) = stopped.await.unwrap().unwrap();
    assert!(clean, "the server exits cleanly after the drain");
    assert!(server.log().contains("draining"), "{}", server.log());
}

/// Under systemd (a `Type=notify` unit), the server says READY=1 once it listens, and on
/// SIGTERM STOPPING=1 with time enough for its drain, past the unit's own stop timeout.
#[test]
fn the_service_manager_hears_ready_then_stopping() {
    let folder = tempfile::tempdir().unwrap();
    let socket_path = folder.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let notice = || {
        let mut datagram = [0; 4096];
        let length = socket.recv(&mut datagram).unwrap();
        String::from_utf8(datagram[..length].to_vec()).unwrap()
    };
    let mut server = TestServer::new(BIN).unwrap();
    server.set_env([(
        "NOTIFY_SOCKET".to_owned(),
        socket_path.display().to_string(),
    )]);
    server
        .start(&["--limits", "off", "--drain-seconds", "5"])
        .unwrap();
    let ready = notice();
    assert!(ready.lines().any(|line| line == "READY=1"), "{ready}");
    let status = format!("STATUS=serving on http://{}", server.address());
    assert!(ready.lines().any(|line| line == status), "{ready}");
    assert!(server.terminate().unwrap(), "{}", server.log());
    let stopping = notice();
    assert!(
        stopping.lines().any(|line| line == "STOPPING=1"),
        "{stopping}"
    );
    // The drain and ten seconds' margin.
    assert!(
        stopping
            .lines()
            .any(|line| line == "EXTEND_TIMEOUT_USEC=15000000"),
        "{stopping}"
    );
}
