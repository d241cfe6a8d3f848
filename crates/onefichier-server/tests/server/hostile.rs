//! The server under attack: each test replays an attack found against an earlier build (issue
//! "Hardening") and checks that it is now refused, bounded or survived.

use onefichier_test_support::TestServer;
use serde_json::{Value, json};

use crate::BIN;

/// Names that would escape a folder, or display as another name.
const ESCAPING_NAMES: [&str; 9] = [
    "..",
    ".",
    "/",
    "a/b",
    "../../x",
    "/etc/passwd",
    "a\\b",
    "nul\0byte",
    "fdp\u{202E}fdp.exe",
];

async fn server(extra: &[&str]) -> (TestServer, String) {
    started(TestServer::new(BIN).unwrap(), extra)
}

/// [`server`] with its router in this process (no socket, no process).
async fn in_process(extra: &[&str]) -> (TestServer, String) {
    started(TestServer::in_process().unwrap(), extra)
}

fn started(mut server: TestServer, extra: &[&str]) -> (TestServer, String) {
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server.start(extra).unwrap();
    (server, key)
}

async fn ok(server: &TestServer, key: &str, path: &str, body: Value) -> Value {
    let answer = server.post(Some(key), path, body).await.unwrap();
    assert_eq!(answer.json["status"], "OK", "{path}: {}", answer.text);
    answer.json
}

/// Uploads one file (with these form fields) and returns its link, from the end.pl report.
async fn upload_one(
    server: &TestServer,
    key: &str,
    file: (&str, Vec<u8>),
    fields: &[(&str, &str)],
) -> String {
    let (id, _) = server.upload(Some(key), &[file], fields).await.unwrap();
    server.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every file and folder name of the account, as `folder id/name`.
async fn every_name(server: &TestServer, key: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut folders = vec![0_i64];
    while let Some(id) = folders.pop() {
        let listing = ok(server, key, "folder/ls.cgi", json!({"folder_id": id})).await;
        for sub in listing["sub_folders"].as_array().into_iter().flatten() {
            names.push(format!("{id}/{}", sub["name"].as_str().unwrap()));
            folders.push(sub["id"].as_i64().unwrap());
        }
        let files = ok(server, key, "file/ls.cgi", json!({"folder_id": id})).await;
        for item in files["items"].as_array().into_iter().flatten() {
            names.push(format!("{id}/{}", item["filename"].as_str().unwrap()));
        }
    }
    names.sort();
    names
}

#[tokio::test]
async fn names_that_escape_folders_are_refused_at_every_entry() {
    let (server, key) = server(&["--limits", "off"]).await;
    let folder =
        ok(&server, &key, "folder/mkdir.cgi", json!({"name": "photos"})).await["folder_id"]
            .as_i64()
            .unwrap();
    let url = upload_one(&server, &key, ("a.txt", b"hello".to_vec()), &[]).await;
    let before = every_name(&server, &key).await;

    for name in ESCAPING_NAMES {
        let refusals = [
            (
                "folder/mkdir.cgi",
                json!({"name": name, "folder_id": folder}),
            ),
            (
                "folder/mv.cgi",
                json!({"folder_id": folder, "rename": name}),
            ),
            (
                "file/rename.cgi",
                json!({"urls": [{"url": url, "filename": name}]}),
            ),
            (
                "file/mv.cgi",
                json!({"urls": [url], "destination_folder_id": folder, "rename": name}),
            ),
            (
                "file/cp.cgi",
                json!({"urls": [url], "folder_id": folder, "rename": name}),
            ),
            ("file/chattr.cgi", json!({"urls": [url], "filename": name})),
        ];
        for (path, body) in refusals {
            let answer = server.post(Some(&key), path, body).await.unwrap();
            assert_eq!(
                answer.json["status"], "KO",
                "{path} {name:?}: {}",
                answer.text
            );
            // #27: refused by the name rule, not by some other check.
            assert!(
                answer.text.contains("#27"),
                "{path} {name:?}: {}",
                answer.text
            );
        }
        // Uploads: with a key, and anonymously into the account's Incoming folder.
        let (_, keyed) = server
            .upload(Some(&key), &[(name, b"x".to_vec())], &[])
            .await
            .unwrap();
        assert_eq!(keyed.status, 400, "upload {name:?}: {}", keyed.text);
        let (_, anonymous) = server
            .upload(
                None,
                &[(name, b"x".to_vec())],
                &[("user", "user@example.com")],
            )
            .await
            .unwrap();
        assert_eq!(
            anonymous.status, 400,
            "anonymous {name:?}: {}",
            anonymous.text
        );
    }
    assert_eq!(every_name(&server, &key).await, before, "nothing stored");
}

/// Sends a request head, then `body` chunk by chunk until the server answers (or `body` ends),
/// over a raw socket: a server that refuses early may close before the body is all sent, which
/// an HTTP client reports as an error instead of the answer. Returns the status line and the
/// answer's text.
async fn send_until_answered(
    address: &str,
    head: String,
    mut body: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for chunk in body.by_ref() {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // Keep the write side open: a stalled client sends nothing more but does not close.
        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
        drop(writer);
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if rest.len() >= length {
                break;
            }
        }
    }
    sender.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, text)
}

fn upload_head(address: &str, id: &str, length: Option<u64>) -> String {
    let length = length.map_or_else(
        || "Transfer-Encoding: chunked\r\n".to_owned(),
        |n| format!("Content-Length: {n}\r\n"),
    );
    format!(
        "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: multipart/form-data; boundary=BOMB\r\n{length}\r\n"
    )
}

/// Chunked transfer coding of a stream of pieces.
fn chunked(pieces: impl Iterator<Item = Vec<u8>>) -> impl Iterator<Item = Vec<u8>> {
    pieces.map(|piece| {
        let mut out = format!("{:x}\r\n", piece.len()).into_bytes();
        out.extend_from_slice(&piece);
        out.extend_from_slice(b"\r\n");
        out
    })
}

#[tokio::test]
async fn multipart_bombs_are_refused_before_they_are_buffered() {
    let (server, _key) = server(&["--limits", "off"]).await;
    let (rss_before, _) = server.memory_kib().unwrap();

    // A part whose file name would be 1 GiB long.
    let (_, id) = server.upload_server(None).await.unwrap();
    let opening =
        b"--BOMB\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"".to_vec();
    let name = std::iter::repeat_n(vec![b'n'; 64 * 1024], 16 * 1024);
    let (status, answer) = send_until_answered(
        server.address(),
        upload_head(server.address(), &id, None),
        chunked(std::iter::once(opening).chain(name)),
    )
    .await;
    assert!(status.contains(" 400 "), "{status}");
    assert!(answer.contains("headers are longer than"), "{answer}");
    assert!(answer.len() < 4096, "the refusal echoes the input");

    // 40,000 text fields of 60 KiB.
    let (_, id) = server.upload_server(None).await.unwrap();
    let field = |i: usize| {
        let mut part =
            format!("--BOMB\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n").into_bytes();
        part.extend(std::iter::repeat_n(b'v', 60 * 1024));
        part.extend_from_slice(b"\r\n");
        part
    };
    let (status, answer) = send_until_answered(
        server.address(),
        upload_head(server.address(), &id, None),
        chunked((0..40_000).map(field)),
    )
    .await;
    assert!(status.contains(" 400 "), "{status}");
    assert!(answer.contains("form field"), "{answer}");

    let (_, peak) = server.memory_kib().unwrap();
    assert!(
        peak < rss_before + 20 * 1024,
        "peak RSS {peak} KiB, {rss_before} KiB before"
    );
    // The server still serves.
    let (_, id) = server.upload_server(None).await.unwrap();
    assert_eq!(id.len(), 10);
}

#[tokio::test]
async fn a_stalled_upload_is_cut_and_its_staging_removed() {
    let (server, _key) = server(&["--limits", "off", "--body-idle-seconds", "1"]).await;
    let (_, id) = server.upload_server(None).await.unwrap();
    let mut part =
        b"--BOMB\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"a.bin\"\r\n\r\n"
            .to_vec();
    part.extend(std::iter::repeat_n(b'x', 1000));
    let (status, answer) = send_until_answered(
        server.address(),
        upload_head(server.address(), &id, Some(1 << 30)),
        std::iter::once(part),
    )
    .await;
    assert!(status.contains(" 408 "), "{status}: {answer}");
    assert!(answer.contains("no data for 1 s"), "{answer}");
    // (With the bytes in S3, an upload in flight is a multipart upload: no object to look for.)
    if server.s3_blobs().is_none() {
        let staging = server.data_dir().join("blobs/.staging");
        let left: Vec<_> = std::fs::read_dir(staging).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// Opens an upload without a key that sends 1 KB of its file and then nothing.
async fn stalled_upload(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let (_, id) = server.upload_server(None).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let mut request = upload_head(server.address(), &id, Some(1 << 30)).into_bytes();
    request.extend_from_slice(
        b"--BOMB\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"a.bin\"\r\n\r\n",
    );
    request.extend(std::iter::repeat_n(b'x', 1000));
    stream.write_all(&request).await.unwrap();
    stream
}

/// Reads what the server sends until it closes the connection (or `limit` passes).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: u64) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(limit),
        stream.read_to_end(&mut answer),
    )
    .await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn stalled_uploads_without_a_key_cannot_take_the_service_down() {
    let (server, key) = server(&["--limits", "off", "--max-in-flight", "8"]).await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_upload(&server).await);
    }
    // The address's places are taken: a fifth is refused at once, and says when to retry.
    let mut fifth = stalled_upload(&server).await;
    let refused = read_until_closed(&mut fifth, 10).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 5"),
        "{refused}"
    );
    // More stalled uploads than API places: key holders still list, and upload.
    for _ in 0..12 {
        stalled.push(stalled_upload(&server).await);
    }
    for _ in 0..20 {
        let listing = server
            .post(Some(&key), "file/ls.cgi", json!({}))
            .await
            .unwrap();
        assert_eq!(listing.status, 200, "{}", listing.text);
    }
    let (_, keyed) = server
        .upload(Some(&key), &[("b.txt", b"still works".to_vec())], &[])
        .await
        .unwrap();
    assert_eq!(keyed.status, 302, "{}", keyed.text);
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let (server, _key) = server(&["--limits", "off", "--header-timeout-seconds", "1"]).await;
    // A connection that never sends a byte.
    let mut idle = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut idle, 10).await.is_some(),
        "idle kept open"
    );
    // Slowloris: a header byte every 300 ms, never the end of the head.
    let mut slow = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    slow.write_all(b"GET /end.pl HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let dripping = async {
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if slow.write_all(b"X").await.is_err() {
                return true;
            }
        }
        false
    };
    assert!(dripping.await, "slowloris kept open for 12 s");
}

#[tokio::test]
async fn the_connection_past_the_cap_is_told_and_closed() {
    // A header timeout long enough that no held connection is closed meanwhile, however slow
    // this machine is: the seventeenth connection then meets a full house.
    let (server, _key) = server(&[
        "--limits",
        "off",
        "--header-timeout-seconds",
        "60",
        "--max-connections",
        "16",
    ])
    .await;
    // Seventeen connections: the server takes them in an order of its own, so which one meets
    // the full house is not known; exactly one is told and closed, the others stay open.
    let mut held = Vec::new();
    for _ in 0..17 {
        held.push(
            tokio::net::TcpStream::connect(server.address())
                .await
                .unwrap(),
        );
    }
    let answers = futures::future::join_all(held.iter_mut().map(|c| read_until_closed(c, 3))).await;
    let refused: Vec<String> = answers.into_iter().flatten().collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].starts_with("HTTP/1.1 503"), "{refused:?}");
    assert!(
        refused[0].contains("Too many open connections"),
        "{refused:?}"
    );
    // Once they are closed, the server serves again.
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, id) = server.upload_server(None).await.unwrap();
    assert_eq!(id.len(), 10);
}

#[tokio::test]
async fn a_download_nobody_reads_is_dropped_after_the_write_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, key) = server(&["--limits", "off", "--write-timeout-seconds", "1"]).await;
    let bytes = onefichier_test_support::pseudo_random(64 << 20, 7);
    let link = upload_one(&server, &key, ("big.bin", bytes), &[]).await;
    let token = server
        .post(Some(&key), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    let url = token.json["url"].as_str().unwrap();
    let path = &url[url.find("/dl/").unwrap()..];
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Read nothing for a while: the server's writes stall, then it gives up.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut received = 0_usize;
    let mut buffer = vec![0u8; 1 << 20];
    let drained = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection stayed open");
    assert!(
        received < 64 << 20,
        "the whole file was sent ({received} bytes)"
    );
}

async fn post_form(server: &TestServer, url: &str, body: &str) -> (u16, String) {
    let response = server
        .client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn password_guessing_meets_a_limit_and_does_not_slow_the_api() {
    let (server, key) = server(&["--limits", "off"]).await;
    let other = server
        .account_with_key("bob@example.com", "premium")
        .unwrap();
    let folder =
        ok(&server, &key, "folder/mkdir.cgi", json!({"name": "public"})).await["folder_id"]
            .as_i64()
            .unwrap();
    let shared = ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 1, "pass": "right-password"}),
    )
    .await;
    let dir = shared["url"].as_str().unwrap().to_owned();

    // Public folder: ten wrong guesses are answered, the next is refused before any hashing.
    for guess in 0..10 {
        let (status, text) = post_form(&server, &dir, &format!("json=1&pass=guess{guess}")).await;
        assert_eq!(status, 403, "{text}");
    }
    let (status, text) = post_form(&server, &dir, "json=1&pass=guess-again").await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("too many wrong passwords"), "{text}");
    let (status, _) = post_form(&server, &dir, "json=1&pass=right-password").await;
    assert_eq!(status, 429, "even the right one waits out the limit");

    // Files: get_token with wrong passwords, by another account's key.
    let link = upload_one(
        &server,
        &key,
        ("secret.txt", b"s".to_vec()),
        &[("dpass", "file-password")],
    )
    .await;
    let guess = |pass: &str| {
        server.post(
            Some(&other),
            "download/get_token.cgi",
            json!({"url": link, "pass": pass}),
        )
    };
    // The address has spent its guesses on the folder already.
    let refused = guess("nope-nope").await.unwrap();
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.retry_after.is_some());
    // The API itself still answers at once for everyone.
    let listing = server
        .post(Some(&key), "file/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(listing.status, 200);
}

#[tokio::test]
async fn wrong_keys_on_the_upload_node_count_toward_the_flood_lock() {
    let (server, key) = server(&["--limits", "1fichier", "--lock-after", "5"]).await;
    let (_, id) = server.upload_server(None).await.unwrap();
    for _ in 0..5 {
        let (status, _) = send_until_answered(
            server.address(),
            format!(
                "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: multipart/form-data; boundary=BOMB\r\nContent-Length: 0\r\n\r\n",
                "w".repeat(32)
            ),
            std::iter::empty(),
        )
        .await;
        assert!(status.contains(" 401 "), "{status}");
    }
    let locked = server
        .post(Some(&key), "user/info.cgi", json!({}))
        .await
        .unwrap();
    assert!(locked.text.contains("Flood detected"), "{}", locked.text);
    assert!(
        locked.retry_after.is_some_and(|s| s > 500),
        "{:?}",
        locked.retry_after
    );
}

#[tokio::test]
async fn one_data_folder_serves_one_server_and_stays_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut server = TestServer::new(BIN).unwrap();
    std::fs::set_permissions(server.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let mode = std::fs::metadata(server.data_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "tightened");

    // A second server on the same folder: refused while the folder holds the SQLite database
    // or the blobs; on PostgreSQL and S3 (the scale-out run) it holds nothing shared, and a
    // second process of the same service starts beside the first.
    let mut second = std::process::Command::new(BIN)
        .arg("--data")
        .arg(server.data_dir())
        .args(["serve", "--listen", "127.0.0.1:0", "--limits", "off"])
        .envs(server.envs().iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(second.stdout.take().unwrap()),
        &mut first_line,
    )
    .unwrap();
    if server.meta_in_postgres() && server.s3_blobs().is_some() {
        assert!(first_line.starts_with("listening on"), "{first_line:?}");
        second.kill().unwrap();
        second.wait().unwrap();
    } else {
        let second = second.wait_with_output().unwrap();
        assert!(!second.status.success());
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert!(stderr.contains("one data folder, one server"), "{stderr}");
    }
    // Admin commands still work beside the running server.
    server
        .account_with_key("later@example.com", "premium")
        .unwrap();
    let (_, id) = server.upload_server(None).await.unwrap();
    assert_eq!(id.len(), 10);
}

#[tokio::test]
async fn a_refusal_before_the_body_is_read_says_connection_close() {
    let (server, key) = server(&["--limits", "off"]).await;
    let request = |key: &str| {
        let body = "{}";
        format!(
            "POST /v1/file/ls.cgi HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, refused) = send_until_answered(
        server.address(),
        request(&"w".repeat(32)),
        std::iter::empty(),
    )
    .await;
    assert!(status.contains(" 401 "), "{status}");
    assert!(
        refused.to_ascii_lowercase().contains("connection: close"),
        "{refused}"
    );
    let (status, served) =
        send_until_answered(server.address(), request(&key), std::iter::empty()).await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        !served.to_ascii_lowercase().contains("connection: close"),
        "{served}"
    );
}

#[tokio::test]
async fn concurrent_uploads_cannot_pass_the_quota_together() {
    let (server, _) = in_process(&["--limits", "off"]).await;
    let key = server
        .account_with_key("small@example.com", "access")
        .unwrap();
    // An access account holds 1 TB; fill it to 10 bytes short (metadata only).
    server
        .admin(&[
            "test-file",
            "add",
            "--email",
            "small@example.com",
            "--name",
            "filler",
            "--size",
            &(1_000_000_000_000_i64 - 10).to_string(),
        ])
        .unwrap();
    let uploads = (0..8).map(|i| {
        let key = key.clone();
        let server = &server;
        async move {
            let name = format!("f{i}.bin");
            let (_, answer) = server
                .upload(Some(&key), &[(name.as_str(), b"four".to_vec())], &[])
                .await
                .unwrap();
            answer.status
        }
    });
    let statuses = futures::future::join_all(uploads).await;
    let stored = statuses.iter().filter(|s| **s == 302).count();
    assert_eq!(stored, 2, "{statuses:?}");
    let files = ok(&server, &key, "file/ls.cgi", json!({})).await;
    assert_eq!(files["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn revoking_or_rotating_a_key_ends_its_tokens_and_uploads() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, key) = server(&["--limits", "off"]).await;
    let link = upload_one(&server, &key, ("a.txt", b"hello".to_vec()), &[]).await;
    let token = |key: String| {
        let link = link.clone();
        let server = &server;
        async move {
            let answer = server
                .post(Some(&key), "download/get_token.cgi", json!({"url": link}))
                .await
                .unwrap();
            answer.json["url"].as_str().unwrap().to_owned()
        }
    };
    let before_rotation = token(key.clone()).await;
    let rotated = server
        .admin(&[
            "key",
            "rotate",
            "--email",
            "user@example.com",
            "--label",
            "test",
        ])
        .unwrap();
    assert_eq!(server.fetch(&before_rotation, None).await.unwrap().0, 404);
    let before_revocation = token(rotated.clone()).await;
    assert_eq!(server.fetch(&before_revocation, None).await.unwrap().0, 200);

    // An upload streaming while its key is revoked is not committed.
    let (_, upload_id) = server.upload_server(Some(&rotated)).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let body_start = "--BOMB\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"late.bin\"\r\n\r\nlate bytes";
    let body_end = "\r\n--BOMB--\r\n";
    let head = format!(
        "POST /upload.cgi?id={upload_id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {rotated}\r\n\
         Content-Type: multipart/form-data; boundary=BOMB\r\nContent-Length: {}\r\n\r\n",
        body_start.len() + body_end.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body_start.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server
        .admin(&[
            "key",
            "revoke",
            "--email",
            "user@example.com",
            "--label",
            "test",
        ])
        .unwrap();
    stream.write_all(body_end.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("revoked or rotated"), "{answer}");
    assert_eq!(server.fetch(&before_revocation, None).await.unwrap().0, 404);
    if server.s3_blobs().is_none() {
        let staging = server.data_dir().join("blobs/.staging");
        assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
    }
}

#[tokio::test]
async fn end_pl_puts_each_link_cell_on_a_line_of_its_own() {
    let (server, key) = server(&["--limits", "off", "--site-host", "1fichier.com"]).await;
    let (id, _) = server
        .upload(
            Some(&key),
            &[("a.txt", b"a".to_vec()), ("b c.txt", b"b".to_vec())],
            &[],
        )
        .await
        .unwrap();
    let page = server
        .client()
        .get(format!("{}/end.pl?xid={id}", server.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cells: Vec<&str> = page
        .lines()
        .filter(|l| l.contains("class=\"normal\""))
        .collect();
    assert_eq!(cells.len(), 2, "{page}");
    for line in cells {
        // What a greedy `href="(.*)"` scraper reads must be the link itself.
        let greedy = &line[line.find("href=\"").unwrap() + 6..line.rfind('"').unwrap()];
        assert!(greedy.starts_with("https://1fichier.com/?"), "{line}");
        assert_eq!(
            line,
            format!("<td class=\"normal\"><a href=\"{greedy}\">{greedy}</a></td>")
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_path_in_it_is_routed() {
    let (server, key) = in_process(&["--limits", "off"]).await;
    let (status, headers, body) = server
        .fetch(&format!("{}/openapi.json", server.api_url()), None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 26, "{:?}", paths.keys().collect::<Vec<_>>());
    for path in paths.keys() {
        let answer = server
            .post(Some(&key), path.trim_start_matches('/'), json!({}))
            .await
            .unwrap();
        // The router's fallback names the path it did not find.
        assert!(
            !answer
                .text
                .contains(&format!("Resource not found: /v1{path}")),
            "{path} is documented but not routed: {}",
            answer.text
        );
    }
}

#[tokio::test]
async fn ranges_past_u64_are_clamped_never_wrapped() {
    let (server, key) = in_process(&["--limits", "off"]).await;
    let link = upload_one(&server, &key, ("r.bin", b"0123456789".to_vec()), &[]).await;
    let token = server
        .post(Some(&key), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    let url = token.json["url"].as_str().unwrap().to_owned();
    let max = u64::MAX;
    // Before: 206 with Content-Length 0, and a dropped connection for the second.
    for (range, body) in [
        (format!("bytes=0-{max}"), &b"0123456789"[..]),
        (format!("bytes=5-{max}"), &b"56789"[..]),
    ] {
        let (status, headers, bytes) = server.fetch(&url, Some(&range)).await.unwrap();
        assert_eq!(status, 206, "{range}");
        assert_eq!(bytes, body, "{range}");
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
    }
}

#[tokio::test]
async fn user_files_never_run_as_the_site() {
    let (server, key) = server(&["--limits", "off"]).await;
    // An uploaded page that would read the API Manager if it ran as the site.
    let page = b"<html><script>fetch('/account/api-keys')</script></html>".to_vec();
    let link = upload_one(&server, &key, ("invoice.html", page), &[]).await;
    let answer = server
        .post(
            Some(&key),
            "download/get_token.cgi",
            json!({"url": link, "inline": 1}),
        )
        .await
        .unwrap();
    let url = answer.json["url"].as_str().unwrap().to_owned();
    // Direct links are on another origin than the site: `localhost` beside 127.0.0.1.
    let site = server.base_url();
    assert!(url.starts_with("http://localhost:"), "{url}");
    assert!(!url.starts_with(&site), "{url}");
    let (status, headers, body) = server.fetch(&url, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.starts_with(b"<html>"));
    // HTML is an attachment whatever `inline` asked, sandboxed, not sniffed, not framed.
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert!(
        header("content-disposition").starts_with("attachment;"),
        "{headers:?}"
    );
    assert!(header("content-security-policy").starts_with("sandbox"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    // The same link asked on the site's own origin is sent to the download host.
    let token = url.rsplit('/').next().unwrap();
    let (status, headers, _) = server
        .fetch(&format!("{site}/dl/{token}"), None)
        .await
        .unwrap();
    assert_eq!(status, 307);
    assert_eq!(headers["location"].to_str().unwrap(), url);
    // Refusals carry the same headers.
    let (status, headers, _) = server
        .fetch(
            &format!("{}/dl/unknowntoken", url.rsplit_once("/dl/").unwrap().0),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    // A picture asked inline is shown inline.
    let picture = upload_one(&server, &key, ("cat.png", b"\x89PNG....".to_vec()), &[]).await;
    let answer = server
        .post(
            Some(&key),
            "download/get_token.cgi",
            json!({"url": picture, "inline": 1}),
        )
        .await
        .unwrap();
    let (_, headers, _) = server
        .fetch(answer.json["url"].as_str().unwrap(), None)
        .await
        .unwrap();
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
}

#[tokio::test]
async fn an_expired_key_ends_its_tokens() {
    let (server, key) = in_process(&["--limits", "off"]).await;
    let link = upload_one(&server, &key, ("a.txt", b"hello".to_vec()), &[]).await;
    let answer = server
        .post(Some(&key), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    let url = answer.json["url"].as_str().unwrap().to_owned();
    assert_eq!(server.fetch(&url, None).await.unwrap().0, 200);
    server
        .admin(&[
            "key",
            "expire",
            "--email",
            "user@example.com",
            "--label",
            "test",
            "--in-days",
            "0",
        ])
        .unwrap();
    // Resumes of a started token end too.
    assert_eq!(server.fetch(&url, Some("bytes=1-")).await.unwrap().0, 404);
}

#[tokio::test]
#[allow(clippy::print_stderr)] // the skips are said
async fn a_full_disk_is_the_servers_failure_and_keeps_nothing() {
    let (server, key) = in_process(&["--limits", "off"]).await;
    if server.s3_blobs().is_some() {
        eprintln!("SKIPPED: the blobs are in S3, not on a disk this test can fill");
        return;
    }
    // The blob folder on a 1 MiB tmpfs of its own (root only: skipped, saying so, elsewhere).
    let blobs = server.data_dir().join("blobs");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&blobs)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(blobs.clone());
    std::fs::create_dir_all(blobs.join(".staging")).unwrap();
    let (_, answer) = server
        .upload(Some(&key), &[("big.bin", vec![1u8; 3 << 20])], &[])
        .await
        .unwrap();
    assert_eq!(answer.status, 507, "{}", answer.text);
    assert!(answer.text.contains("No space left"), "{}", answer.text);
    assert_eq!(
        std::fs::read_dir(blobs.join(".staging")).unwrap().count(),
        0
    );
    let listed = ok(&server, &key, "file/ls.cgi", json!({"folder_id": -1})).await;
    assert_eq!(listed["count"], 0, "{listed}");
}
