//! The server under attack: each test replays an attack found against an earlier build (issue
//! "Hardening") and checks that it is now refused, bounded or survived.

use onefichier_test_support::TestServer;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_1fichier-server");

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
    let mut server = TestServer::new(BIN).unwrap();
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
    let (id, _) = server
        .upload(Some(&key), &[("a.txt", b"hello".to_vec())], &[])
        .await
        .unwrap();
    let url = server.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
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
