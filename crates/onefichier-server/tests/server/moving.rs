//! An instance moves from SQLite + a folder to PostgreSQL + S3 and back with `migrate --to-meta
//! --to-blobs`, and serves the same accounts, keys, folders and bytes on each. PostgreSQL is the
//! cluster `.ci/run` starts (a database of this test's own), S3 a Garage node on loopback.

use onefichier_test_support::garage::Garage;
use onefichier_test_support::postgres::TestDatabase;
use onefichier_test_support::{TestServer, pseudo_random};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::BIN;

type Seen = Vec<(String, String, u64, String, [u8; 32])>;

/// What a client sees of the root and of `folder`: every file (link id, name, size, Whirlpool) and
/// the SHA-256 of the bytes it downloads.
async fn snapshot(server: &TestServer, key: &str, folder: &str) -> Seen {
    let mut items = Vec::new();
    for folder_id in ["0", folder] {
        let listing = server
            .post(Some(key), "file/ls.cgi", json!({"folder_id": folder_id}))
            .await
            .unwrap();
        items.extend(listing.json["items"].as_array().unwrap().clone());
    }
    let mut seen = Vec::new();
    for item in &items {
        let link = item["url"].as_str().unwrap();
        let bytes = server.download(key, link).await.unwrap();
        seen.push((
            // The link's id: the port changes with each start.
            link.rsplit('?').next().unwrap().to_owned(),
            item["filename"].as_str().unwrap().to_owned(),
            item["size"].as_u64().unwrap(),
            item["checksum"].as_str().unwrap_or_default().to_owned(),
            Sha256::digest(&bytes).into(),
        ));
    }
    seen.sort();
    seen
}

/// The names of the root's sub-folders, sorted.
fn folder_names(listing: &Value) -> Vec<String> {
    let mut names: Vec<String> = listing["sub_folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|folder| folder["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_moves_to_postgres_and_s3_and_back() {
    let Some(database) = TestDatabase::create_or_skip().unwrap() else {
        return;
    };
    let Some(garage) = Garage::start_or_skip().unwrap() else {
        return;
    };
    let bucket = garage.bucket("instance").unwrap();
    let (to_meta, to_blobs) = (database.url(), format!("s3://{bucket}/blobs"));

    // An instance on the embedded default, with folders, files and two keys.
    let mut server = TestServer::on_sqlite(BIN).unwrap();
    server.set_env(garage.aws_vars());
    let key = server
        .account_with_key("mover@example.com", "premium")
        .unwrap();
    let reader = server
        .admin(&[
            "key",
            "create",
            "--email",
            "mover@example.com",
            "--label",
            "reader",
            "--scope",
            "read",
        ])
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let folder = server
        .post(Some(&key), "folder/mkdir.cgi", json!({"name": "photos"}))
        .await
        .unwrap();
    let folder_id = folder.json["folder_id"].as_i64().unwrap().to_string();
    for n in 0..3_u64 {
        let bytes = pseudo_random(1_000 + n as usize * 700_000, n);
        let name = format!("file-{n}.bin");
        let fields: &[(&str, &str)] = if n == 0 { &[] } else { &[("did", &folder_id)] };
        server
            .upload(Some(&key), &[(name.as_str(), bytes)], fields)
            .await
            .unwrap();
    }
    let before = snapshot(&server, &key, &folder_id).await;
    assert_eq!(before.len(), 3);
    let folders_before = server
        .post(Some(&key), "folder/ls.cgi", json!({"folder_id": 0}))
        .await
        .unwrap();
    assert!(server.terminate().unwrap());

    // To PostgreSQL and S3; a second run finds everything there and checked.
    let moved = server
        .admin(&["migrate", "--to-meta", &to_meta, "--to-blobs", &to_blobs])
        .unwrap();
    assert!(moved.starts_with("16 tables, "), "{moved}");
    assert!(
        moved.contains(" 0 already there; every table checked"),
        "{moved}"
    );
    assert!(moved.contains("3 blobs: 3 copied"), "{moved}");
    let again = server
        .admin(&["migrate", "--to-meta", &to_meta, "--to-blobs", &to_blobs])
        .unwrap();
    assert!(again.contains(": 0 copied, "), "{again}");
    assert!(
        again.contains("3 blobs: 0 copied (0 bytes), 3 already there"),
        "{again}"
    );

    // The server on PostgreSQL + S3 serves the same account, keys and bytes, and numbers new rows
    // past the old ones.
    server.set_env([("ONEFICHIER_SERVER_META".to_owned(), to_meta.clone())]);
    server
        .start(&["--limits", "off", "--blobs", &to_blobs])
        .unwrap();
    assert_eq!(snapshot(&server, &key, &folder_id).await, before);
    assert_eq!(
        snapshot(&server, &reader, &folder_id).await,
        before,
        "the read-only key"
    );
    let folders_after = server
        .post(Some(&key), "folder/ls.cgi", json!({"folder_id": 0}))
        .await
        .unwrap();
    assert_eq!(
        folder_names(&folders_after.json),
        folder_names(&folders_before.json)
    );
    let refused = server
        .post(Some(&reader), "folder/mkdir.cgi", json!({"name": "nope"}))
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "the scope moved with the key");
    let made = server
        .post(
            Some(&key),
            "folder/mkdir.cgi",
            json!({"name": "after the move"}),
        )
        .await
        .unwrap();
    assert_eq!(made.status, 200, "{}", made.text);
    assert!(made.json["folder_id"].as_i64().unwrap() > folder_id.parse::<i64>().unwrap());
    server
        .upload(Some(&key), &[("new.bin", pseudo_random(5_000, 9))], &[])
        .await
        .unwrap();
    let on_postgres = snapshot(&server, &key, &folder_id).await;
    assert_eq!(on_postgres.len(), 4);
    assert!(server.terminate().unwrap());

    // The old SQLite cannot be poured into a target that has moved on: refused, nothing lost.
    let data = server.data_dir().to_owned();
    let refused = server
        .admin_fails(&[
            "--meta",
            &format!("sqlite:{}", data.join("meta.sqlite").display()),
            "migrate",
            "--to-meta",
            &to_meta,
        ])
        .unwrap();
    // Its keys were used there since (last use is part of a key's row).
    assert!(
        refused.contains("api_keys: the target's rows differ"),
        "{refused}"
    );

    // And back, from PostgreSQL + S3 to a new SQLite file and folder.
    let back_meta = format!("sqlite:{}", data.join("back.sqlite").display());
    let back_blobs = data.join("back-blobs").display().to_string();
    let back = server
        .admin(&[
            "--blobs",
            &to_blobs,
            "migrate",
            "--to-meta",
            &back_meta,
            "--to-blobs",
            &back_blobs,
        ])
        .unwrap();
    assert!(back.contains("4 blobs: 4 copied"), "{back}");
    server.set_env([("ONEFICHIER_SERVER_META".to_owned(), back_meta)]);
    server
        .start(&["--limits", "off", "--blobs", &back_blobs])
        .unwrap();
    assert_eq!(snapshot(&server, &key, &folder_id).await, on_postgres);
}
