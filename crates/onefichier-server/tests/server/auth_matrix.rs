//! Every v1 endpoint × {no key, unknown key, revoked key, a free account's key, an address outside
//! the allow-list, another account's key}: each answer checked, and the owner's data unchanged.
//! The scope axis (full, read, upload-only, folder confinement, expiry) is in `scopes.rs`.

use onefichier_protocol::Endpoint;
use onefichier_test_support::{Answer, TestServer};
use serde_json::{Value, json};

struct Fixture {
    server: TestServer,
    alice: String,
    bob: String,
    revoked: String,
    restricted: String,
    free: String,
    file: String,
    folder: i64,
    voucher: String,
    job: i64,
}

async fn fixture() -> Fixture {
    let mut server = TestServer::in_process().unwrap();
    let alice = server
        .account_with_key("alice@example.com", "premium")
        .unwrap();
    let bob = server.account_with_key("bob@example.com", "gold").unwrap();
    let revoked = server
        .admin(&[
            "key",
            "create",
            "--email",
            "alice@example.com",
            "--label",
            "old",
        ])
        .unwrap();
    server
        .admin(&[
            "key",
            "revoke",
            "--email",
            "alice@example.com",
            "--label",
            "old",
        ])
        .unwrap();
    let restricted = server
        .admin(&[
            "key",
            "create",
            "--email",
            "alice@example.com",
            "--label",
            "office",
            "--allow-ip",
            "10.0.0.0/8",
            "--allow-ip",
            "2001:db8::/32",
        ])
        .unwrap();
    let free = server
        .account_with_key("carol@example.com", "premium")
        .unwrap();
    server
        .admin(&[
            "account",
            "set-offer",
            "--email",
            "carol@example.com",
            "--offer",
            "free",
        ])
        .unwrap();
    let voucher = server
        .create_voucher("alice@example.com", "premium-30d")
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let made = server
        .post(Some(&alice), "folder/mkdir.cgi", json!({"name": "private"}))
        .await
        .unwrap();
    assert_eq!(made.status, 200, "{}", made.text);
    let folder = made.json["folder_id"].as_i64().unwrap();
    let file = server
        .admin(&[
            "test-file",
            "add",
            "--email",
            "alice@example.com",
            "--name",
            "secret.bin",
            "--folder-id",
            &folder.to_string(),
            "--size",
            "42",
        ])
        .unwrap();
    let ftp = server
        .post(
            Some(&alice),
            "ftp/users/add.cgi",
            json!({"user": "alicecam", "pass": "secret1"}),
        )
        .await
        .unwrap();
    assert_eq!(ftp.status, 200, "{}", ftp.text);
    let job = server
        .post(
            Some(&alice),
            "remote/request.cgi",
            json!({"urls": ["http://127.0.0.1:9/x"], "folder_id": folder}),
        )
        .await
        .unwrap();
    assert_eq!(job.status, 200, "{}", job.text);
    let job = job.json["id"].as_i64().unwrap();
    Fixture {
        server,
        alice,
        bob,
        revoked,
        restricted,
        free,
        file,
        folder,
        voucher,
        job,
    }
}

/// Every keyed endpoint of the protocol's table with a body that aims at Alice's data (a new
/// endpoint without one fails here).
fn requests(f: &Fixture) -> Vec<(&'static str, Value)> {
    Endpoint::ALL
        .iter()
        .copied()
        .filter(|endpoint| endpoint.requires_key())
        .map(|endpoint| {
            let body = match endpoint {
                Endpoint::DownloadGetToken | Endpoint::FileInfo | Endpoint::FileScan => {
                    json!({"url": f.file})
                }
                Endpoint::FileLs | Endpoint::FolderLs => json!({"folder_id": f.folder}),
                Endpoint::FileRm => json!({"files": [{"url": f.file}]}),
                Endpoint::FileMv => json!({"urls": [f.file], "destination_folder_id": 0}),
                Endpoint::FileRename => json!({"urls": [{"url": f.file, "filename": "x.bin"}]}),
                Endpoint::FileCp => json!({"urls": [f.file]}),
                Endpoint::FileChattr => json!({"urls": [f.file], "description": "changed"}),
                Endpoint::FolderMkdir => json!({"name": "intrusion", "folder_id": f.folder}),
                Endpoint::FolderShare => json!({"folder_id": f.folder, "share": 1}),
                Endpoint::FolderMv => json!({"folder_id": f.folder, "rename": "stolen"}),
                Endpoint::FolderRm => json!({"folder_id": f.folder}),
                Endpoint::FtpUsersAdd => {
                    json!({"user": "intruder", "pass": "secret1", "folder_id": f.folder})
                }
                Endpoint::FtpUsersRm => json!({"user": "alicecam"}),
                Endpoint::RemoteInfo => json!({"id": f.job}),
                Endpoint::RemoteRequest => {
                    json!({"urls": ["http://127.0.0.1:9/x"], "folder_id": f.folder})
                }
                Endpoint::VouchersCheck => json!({"voucher": f.voucher}),
                Endpoint::VouchersUse => {
                    json!({"voucher": f.voucher, "user_email": "bob@example.com"})
                }
                Endpoint::UserInfo
                | Endpoint::FtpProcess
                | Endpoint::FtpUsersLs
                | Endpoint::RemoteLs
                | Endpoint::VouchersLs => json!({}),
                other => panic!("{other:?}: the auth matrix has no request for this endpoint"),
            };
            (endpoint.path(), body)
        })
        .collect()
}

fn assert_refused(answer: &Answer, status: u16, message: &str, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.text);
    let got = answer
        .ko_message()
        .unwrap_or_else(|| panic!("{context}: not KO: {}", answer.text));
    assert!(
        got.starts_with(message),
        "{context}: {got:?} should start with {message:?}"
    );
    assert!(
        got.rsplit_once(" #")
            .is_some_and(|(_, n)| n.parse::<u16>().is_ok()),
        "{context}: {got:?} ends with #NNN"
    );
}

#[tokio::test]
async fn every_endpoint_refuses_bad_keys_and_other_accounts() {
    let f = fixture().await;
    let cases: [(&str, Option<&str>, u16, &str); 5] = [
        ("no key", None, 401, "Not authenticated"),
        (
            "unknown key",
            Some("0123456789abcdefghijABCDEFGHIJ01"),
            401,
            "Invalid API key",
        ),
        ("revoked key", Some(&f.revoked), 401, "Invalid API key"),
        (
            "outside the allow-list",
            Some(&f.restricted),
            403,
            "IP not allowed",
        ),
        (
            "free account",
            Some(&f.free),
            403,
            "Must be a customer (Premium, Access)",
        ),
    ];
    let requests = requests(&f);
    assert_eq!(requests.len(), 25, "every keyed endpoint is in the matrix");
    for (path, body) in &requests {
        for (case, key, status, message) in &cases {
            let answer = f.server.post(*key, path, body.clone()).await.unwrap();
            assert_refused(&answer, *status, message, &format!("{path} with {case}"));
        }
    }

    // Another account's key: Alice's files and folders do not exist for Bob.
    for (path, body) in &requests {
        let answer = f
            .server
            .post(Some(&f.bob), path, body.clone())
            .await
            .unwrap();
        let context = format!("{path} with another account's key");
        match *path {
            "file/ls.cgi" | "folder/ls.cgi" | "folder/mkdir.cgi" | "folder/share.cgi"
            | "folder/mv.cgi" | "folder/rm.cgi" | "ftp/users/add.cgi" | "remote/request.cgi" => {
                assert_refused(&answer, 404, "Folder not found", &context);
            }
            "file/info.cgi" | "file/rm.cgi" | "file/mv.cgi" | "file/rename.cgi"
            | "file/chattr.cgi" | "file/scan.cgi" | "ftp/users/rm.cgi" => {
                assert_refused(&answer, 404, "Resource not found", &context);
            }
            "remote/info.cgi" => assert_refused(&answer, 404, "Remote upload not found", &context),
            "remote/ls.cgi" => assert_eq!(answer.json["data"], json!([]), "{context}"),
            // A public link: any customer may download an unrestricted file.
            "download/get_token.cgi" => {
                assert_eq!(answer.status, 200, "{context}: {}", answer.text);
                assert!(answer.json["url"].as_str().unwrap().contains("/dl/"));
            }
            "vouchers/use.cgi" => assert_refused(&answer, 400, "Voucher not valid", &context),
            // The documented import: an unrestricted file of someone else's is copied in.
            "file/cp.cgi" => {
                assert_eq!(answer.status, 200, "{context}: {}", answer.text);
                assert_eq!(answer.json["copied"], 1);
                assert_ne!(answer.json["urls"][0]["to_url"], json!(f.file));
            }
            "user/info.cgi" => {
                assert_eq!(answer.json["email"], "bob@example.com", "{context}");
                assert_eq!(answer.json["offer"], "3", "{context}");
            }
            "ftp/users/ls.cgi" => assert_eq!(answer.json["count"], 0, "{context}"),
            "vouchers/ls.cgi" => assert_eq!(answer.json["count"], 0, "{context}"),
            "vouchers/check.cgi" => assert_eq!(answer.json["status"], "OK", "{context}"),
            "ftp/process.cgi" => assert_eq!(answer.status, 200, "{context}"),
            other => panic!("no expectation for {other}"),
        }
    }

    // Alice's data is as it was.
    let alice = Some(f.alice.as_str());
    let info = f
        .server
        .post(alice, "file/info.cgi", json!({"url": f.file}))
        .await
        .unwrap();
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.json["filename"], "secret.bin");
    assert_eq!(info.json["description"], "");
    assert_eq!(info.json["folder_id"], f.folder);
    let root = f
        .server
        .post(alice, "folder/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(root.json["sub_folders"][0]["name"], "private");
    assert_eq!(root.json["sub_folders"].as_array().unwrap().len(), 1);
    let inside = f
        .server
        .post(alice, "folder/ls.cgi", json!({"folder_id": f.folder}))
        .await
        .unwrap();
    assert!(inside.json.get("shared").is_none(), "{}", inside.text);
    assert_eq!(inside.json["sub_folders"], json!([]));
    let users = f
        .server
        .post(alice, "ftp/users/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(users.json["items"][0]["user"], "alicecam");
    assert_eq!(users.json["count"], 1);
    let vouchers = f
        .server
        .post(alice, "vouchers/ls.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(vouchers.json["data"][0]["voucher"], json!(f.voucher));

    // And Alice's own key works on every endpoint that exists.
    let own = f
        .server
        .post(alice, "file/ls.cgi", json!({"folder_id": f.folder}))
        .await
        .unwrap();
    assert_eq!(own.json["count"], 1, "{}", own.text);
}

#[tokio::test]
async fn get_upload_server_needs_no_key_but_checks_one_given() {
    let mut server = TestServer::in_process().unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let answer = server
        .post(None, "upload/get_upload_server.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(onefichier_protocol::ids::is_upload_id(
        answer.json["id"].as_str().unwrap()
    ));
    let bad = server
        .post(
            Some("0123456789abcdefghijABCDEFGHIJ01"),
            "upload/get_upload_server.cgi",
            json!({}),
        )
        .await
        .unwrap();
    assert_refused(
        &bad,
        401,
        "Invalid API key",
        "get_upload_server with an unknown key",
    );
}
