//! The `1fichier` limit profile, flood locks, the key lifecycle, logs and shutdown.

use onefichier_test_support::TestServer;
use serde_json::json;
use std::time::Duration;

use crate::BIN;

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_then_recover() {
    let mut server = TestServer::in_process().unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server
        .start(&["--limits", "1fichier", "--lock-after", "1000"])
        .unwrap();
    let key = Some(key.as_str());

    // user/info: once a minute per address.
    let first = server.post(key, "user/info.cgi", json!({})).await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text);
    let second = server.post(key, "user/info.cgi", json!({})).await.unwrap();
    assert_eq!(second.status, 429, "{}", second.text);
    assert!(
        second
            .ko_message()
            .unwrap()
            .starts_with("Too many requests")
    );
    let wait = second.retry_after.expect("Retry-After");
    assert!((50..=60).contains(&wait), "{wait}");

    // The same folder is listed once per 30 s; another folder is fine.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let made = server
        .post(key, "folder/mkdir.cgi", json!({"name": "a"}))
        .await
        .unwrap();
    let folder = made.json["folder_id"].as_i64().unwrap();
    assert_eq!(
        server
            .post(key, "file/ls.cgi", json!({"folder_id": 0}))
            .await
            .unwrap()
            .status,
        200
    );
    let again = server
        .post(key, "file/ls.cgi", json!({"folder_id": 0}))
        .await
        .unwrap();
    assert_eq!(again.status, 429, "{}", again.text);
    assert!(again.retry_after.unwrap() >= 29);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        server
            .post(key, "file/ls.cgi", json!({"folder_id": folder}))
            .await
            .unwrap()
            .status,
        200
    );

    // 3 requests per second: a burst of 10 gets refusals, and a pause lets calls through again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut refused = 0;
    for _ in 0..10 {
        let answer = server
            .post(key, "folder/ls.cgi", json!({"folder_id": 424242}))
            .await
            .unwrap();
        if answer.status == 429 {
            refused += 1;
            assert_eq!(answer.retry_after, Some(1), "{}", answer.text);
        }
    }
    assert!(refused >= 6, "{refused} refusals");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let calm = server
        .post(key, "folder/ls.cgi", json!({"folder_id": 424242}))
        .await
        .unwrap();
    assert_eq!(calm.status, 404, "{}", calm.text);
}

#[tokio::test]
async fn repeated_abuse_locks_the_address_until_the_lock_lifts() {
    let mut server = TestServer::in_process().unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server
        .start(&[
            "--limits",
            "1fichier",
            "--lock-after",
            "3",
            "--lock-seconds",
            "2",
        ])
        .unwrap();
    for _ in 0..3 {
        let answer = server
            .post(
                Some("wrong-key-wrong-key-wrong-key-xx"),
                "folder/ls.cgi",
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 401);
    }
    let locked = server
        .post(Some(&key), "folder/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(
        locked
            .ko_message()
            .unwrap()
            .starts_with("Flood detected: IP Locked")
    );
    assert!(
        matches!(locked.retry_after, Some(1..=2)),
        "{:?}",
        locked.retry_after
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let lifted = server
        .post(Some(&key), "folder/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(lifted.status, 200, "{}", lifted.text);
}

#[tokio::test]
async fn key_lifecycle_rotate_revoke_list() {
    let mut server = TestServer::in_process().unwrap();
    let old = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    assert_eq!(old.len(), 32);
    assert!(old.bytes().all(|b| b.is_ascii_alphanumeric()));
    server.start(&["--limits", "off"]).unwrap();
    assert_eq!(
        server
            .post(Some(&old), "folder/ls.cgi", json!({}))
            .await
            .unwrap()
            .status,
        200
    );

    let listing = server
        .admin(&["key", "list", "--email", "user@example.com"])
        .unwrap();
    assert!(!listing.contains(&old), "the secret is never listed");
    assert!(listing.contains(&old[..6]), "its prefix is");
    let last_used: Vec<&str> = listing
        .lines()
        .skip(1)
        .map(|row| row.split('\t').nth(6).unwrap())
        .collect();
    assert!(
        !last_used.is_empty() && !last_used.contains(&"never"),
        "last use is recorded: {listing}"
    );

    let new = server
        .admin(&[
            "key",
            "rotate",
            "--email",
            "user@example.com",
            "--label",
            "test",
        ])
        .unwrap();
    assert_ne!(new, old);
    let dead = server
        .post(Some(&old), "folder/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(dead.status, 401, "the old secret dies at once");
    assert_eq!(
        server
            .post(Some(&new), "folder/ls.cgi", json!({}))
            .await
            .unwrap()
            .status,
        200
    );

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
    assert_eq!(
        server
            .post(Some(&new), "folder/ls.cgi", json!({}))
            .await
            .unwrap()
            .status,
        401
    );
    // The label is free again once revoked.
    server
        .admin(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "test",
        ])
        .unwrap();

    let err = server
        .admin_fails(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "test",
        ])
        .unwrap();
    assert!(err.contains("already has a key labelled"), "{err}");
    server
        .admin(&[
            "account",
            "create",
            "--email",
            "free@example.com",
            "--offer",
            "free",
        ])
        .unwrap();
    let err = server
        .admin_fails(&[
            "key",
            "create",
            "--email",
            "free@example.com",
            "--label",
            "x",
        ])
        .unwrap();
    assert!(err.contains("free account"), "{err}");
    let err = server
        .admin_fails(&[
            "key",
            "rotate",
            "--email",
            "nobody@example.com",
            "--label",
            "x",
        ])
        .unwrap();
    assert!(err.contains("no account"), "{err}");
    let err = server
        .admin_fails(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "y",
            "--allow-ip",
            "nonsense",
        ])
        .unwrap();
    assert!(err.contains("not an address or CIDR"), "{err}");
}

#[tokio::test]
async fn allow_list_accepts_loopback_in_v4_and_v6() {
    let mut server = TestServer::new(BIN).unwrap();
    server
        .admin(&["account", "create", "--email", "user@example.com"])
        .unwrap();
    let key = server
        .admin(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "lo",
            "--allow-ip",
            "127.0.0.0/8",
            "--allow-ip",
            "::1",
        ])
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    assert_eq!(
        server
            .post(Some(&key), "folder/ls.cgi", json!({}))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn keys_never_reach_the_log_and_sigterm_stops_cleanly() {
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    for path in [
        "folder/ls.cgi",
        "user/info.cgi",
        "file/ls.cgi",
        "nowhere.cgi",
    ] {
        server.post(Some(&key), path, json!({})).await.unwrap();
    }
    server
        .post(
            Some("bogus-key-bogus-key-bogus-key-01"),
            "folder/ls.cgi",
            json!({}),
        )
        .await
        .unwrap();
    assert!(server.terminate().unwrap(), "exit status after SIGTERM");
    let log = server.log();
    assert!(log.contains("serving"), "{log}");
    assert!(!log.contains(&key));
    assert!(!log.contains("bogus-key"));
    if !server.meta_in_postgres() {
        let db = std::fs::read(server.data_dir().join("meta.sqlite")).unwrap();
        assert!(
            !db.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key is stored as a digest only"
        );
    }
}

#[tokio::test]
async fn dev_mode_prints_a_working_key_and_keeps_it() {
    use std::io::BufRead;
    let server = TestServer::new(BIN).unwrap();
    let run = || {
        let mut child = std::process::Command::new(BIN)
            .arg("--data")
            .arg(server.data_dir())
            .args([
                "serve",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--limits",
                "off",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = lines.next().unwrap().unwrap();
        let url = lines.next().unwrap().unwrap();
        let key = lines.next().unwrap().unwrap();
        (child, listening, url, key)
    };
    let (mut child, listening, url, key) = run();
    let address = listening.strip_prefix("listening on http://").unwrap();
    assert_eq!(
        url,
        format!("export ONEFICHIER_API_URL=http://{address}/v1")
    );
    let key = key
        .strip_prefix("export ONEFICHIER_API_KEY=")
        .unwrap()
        .to_owned();
    let answer = reqwest::Client::new()
        .post(format!("http://{address}/v1/user/info.cgi"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["email"], "demo@example.com");
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, _, _, again) = run();
    assert_eq!(
        again.strip_prefix("export ONEFICHIER_API_KEY=").unwrap(),
        key
    );
    child.kill().unwrap();
    child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.data_dir().join("demo-api-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the demo key file is private");
    }
}
