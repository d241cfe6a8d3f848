//! The scope axis of the auth matrix: every v1 endpoint and the upload node × every scope (full,
//! read, upload-only) × {the whole account, confined to a folder: a target inside, a target
//! outside} × expired. A refusal is 403 "Not allowed by this API key's scope" (401 "API key
//! expired"); what a scope allows is never refused for authorisation.

use onefichier_test_support::{Answer, TestServer};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_1fichier-server");
const ALICE: &str = "alice@example.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Browse,
    Read,
    Upload,
    Modify,
    Account,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Full,
    Read,
    Upload,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Read => "read",
            Scope::Upload => "upload",
        }
    }

    fn allows(self, need: Need) -> bool {
        match self {
            Scope::Full => true,
            Scope::Read => matches!(need, Need::Browse | Need::Read),
            Scope::Upload => matches!(need, Need::Browse | Need::Upload),
        }
    }
}

/// Alice's data: `/private` (the confined keys' folder) holding `secret.bin` and `/private/sub`
/// holding `inner.bin`; `/elsewhere` holding `outside.bin` and `/elsewhere/deep`.
struct Fixture {
    server: TestServer,
    full: String,
    private: i64,
    sub: i64,
    elsewhere: i64,
    deep: i64,
    secret: String,
    outside: String,
    inside_job: i64,
    outside_job: i64,
    voucher: String,
}

fn key(server: &TestServer, label: &str, scope: Scope, folder: Option<&str>) -> String {
    let mut args = vec![
        "key", "create", "--email", ALICE, "--label", label, "--scope",
    ];
    args.push(scope.name());
    if let Some(folder) = folder {
        args.extend(["--folder", folder]);
    }
    server.admin(&args).unwrap()
}

fn add_file(server: &TestServer, name: &str, folder: i64) -> String {
    server
        .admin(&[
            "test-file",
            "add",
            "--email",
            ALICE,
            "--name",
            name,
            "--folder-id",
            &folder.to_string(),
            "--size",
            "7",
        ])
        .unwrap()
}

async fn ok(server: &TestServer, key: &str, path: &str, body: Value) -> Value {
    let answer = server.post(Some(key), path, body).await.unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json
}

async fn fixture() -> Fixture {
    let mut server = TestServer::new(BIN).unwrap();
    let full = server.account_with_key(ALICE, "premium").unwrap();
    server
        .account_with_key("bob@example.com", "premium")
        .unwrap();
    let voucher = server.create_voucher(ALICE, "premium-30d").unwrap();
    server
        .start(&["--limits", "off", "--site-host", "1fichier.com"])
        .unwrap();
    let mkdir = |name: &'static str, parent: i64| {
        let server = &server;
        let full = full.clone();
        async move {
            ok(
                server,
                &full,
                "folder/mkdir.cgi",
                json!({"name": name, "folder_id": parent}),
            )
            .await["folder_id"]
                .as_i64()
                .unwrap()
        }
    };
    let private = mkdir("private", 0).await;
    let sub = mkdir("sub", private).await;
    let elsewhere = mkdir("elsewhere", 0).await;
    let deep = mkdir("deep", elsewhere).await;
    let secret = add_file(&server, "secret.bin", private);
    add_file(&server, "inner.bin", sub);
    let outside = add_file(&server, "outside.bin", elsewhere);
    let job = |folder: i64| {
        let server = &server;
        let full = full.clone();
        async move {
            ok(
                server,
                &full,
                "remote/request.cgi",
                json!({"urls": ["http://127.0.0.1:9/x"], "folder_id": folder}),
            )
            .await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let inside_job = job(private).await;
    let outside_job = job(elsewhere).await;
    Fixture {
        server,
        full,
        private,
        sub,
        elsewhere,
        deep,
        secret,
        outside,
        inside_job,
        outside_job,
        voucher,
    }
}

/// Every keyed endpoint, what it needs, whether it aims at a folder or file, and its body aimed
/// inside `/private` or outside it.
fn requests(f: &Fixture, inside: bool) -> Vec<(&'static str, Need, bool, Value)> {
    let (file, folder, child, job) = if inside {
        (&f.secret, f.private, f.sub, f.inside_job)
    } else {
        (&f.outside, f.elsewhere, f.deep, f.outside_job)
    };
    vec![
        (
            "download/get_token.cgi",
            Need::Read,
            true,
            json!({"url": file}),
        ),
        (
            "file/ls.cgi",
            Need::Read,
            true,
            json!({"folder_id": folder}),
        ),
        ("file/info.cgi", Need::Read, true, json!({"url": file})),
        ("file/scan.cgi", Need::Read, true, json!({"url": file})),
        (
            "file/chattr.cgi",
            Need::Modify,
            true,
            json!({"urls": [file], "description": "changed"}),
        ),
        (
            "file/rename.cgi",
            Need::Modify,
            true,
            json!({"urls": [{"url": file, "filename": "renamed.bin"}]}),
        ),
        (
            "file/cp.cgi",
            Need::Modify,
            true,
            json!({"urls": [file], "folder_id": child}),
        ),
        (
            "file/mv.cgi",
            Need::Modify,
            true,
            json!({"urls": [file], "destination_folder_id": child}),
        ),
        (
            "folder/ls.cgi",
            Need::Browse,
            true,
            json!({"folder_id": folder}),
        ),
        (
            "folder/mkdir.cgi",
            Need::Upload,
            true,
            json!({"name": "made", "folder_id": child}),
        ),
        (
            "folder/share.cgi",
            Need::Modify,
            true,
            json!({"folder_id": child, "share": 1}),
        ),
        (
            "folder/mv.cgi",
            Need::Modify,
            true,
            json!({"folder_id": child, "rename": "moved"}),
        ),
        (
            "folder/rm.cgi",
            Need::Modify,
            true,
            json!({"folder_id": child}),
        ),
        ("remote/info.cgi", Need::Browse, true, json!({"id": job})),
        (
            "remote/request.cgi",
            Need::Upload,
            true,
            json!({"urls": ["http://127.0.0.1:9/y"], "folder_id": folder}),
        ),
        ("remote/ls.cgi", Need::Browse, false, json!({})),
        ("user/info.cgi", Need::Browse, false, json!({})),
        (
            "user/info.cgi",
            Need::Modify,
            false,
            json!({"page_limit": 20}),
        ),
        ("ftp/process.cgi", Need::Account, false, json!({})),
        ("ftp/users/ls.cgi", Need::Account, false, json!({})),
        (
            "ftp/users/add.cgi",
            Need::Account,
            false,
            json!({"user": "cam", "pass": "secret1"}),
        ),
        (
            "ftp/users/rm.cgi",
            Need::Account,
            false,
            json!({"user": "cam"}),
        ),
        ("vouchers/ls.cgi", Need::Account, false, json!({})),
        (
            "vouchers/check.cgi",
            Need::Account,
            false,
            json!({"voucher": f.voucher}),
        ),
        (
            "vouchers/use.cgi",
            Need::Account,
            false,
            json!({"voucher": "nonexistent", "user_email": "bob@example.com"}),
        ),
        // Last: it deletes what it aims at.
        (
            "file/rm.cgi",
            Need::Modify,
            true,
            json!({"files": [{"url": file}]}),
        ),
    ]
}

fn refused(answer: &Answer, status: u16, message: &str, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.text);
    let got = answer.ko_message().unwrap_or_default();
    assert!(got.starts_with(message), "{context}: {got:?}");
}

fn not_refused(answer: &Answer, context: &str) {
    assert!(
        answer.status != 401 && answer.status != 403,
        "{context}: allowed, yet {} {}",
        answer.status,
        answer.text
    );
}

#[tokio::test]
async fn every_endpoint_under_every_scope_inside_and_outside_the_folder() {
    let f = fixture().await;
    // Keys: every scope, on the whole account and confined to /private.
    let mut keys = Vec::new();
    for scope in [Scope::Read, Scope::Upload, Scope::Full] {
        for confined in [true, false] {
            let label = format!(
                "{}-{}",
                scope.name(),
                if confined { "private" } else { "all" }
            );
            let folder = confined.then_some("/private");
            keys.push((scope, confined, key(&f.server, &label, scope, folder)));
        }
    }
    let expired = key(&f.server, "expired", Scope::Full, None);
    f.server
        .admin(&[
            "key",
            "expire",
            "--email",
            ALICE,
            "--label",
            "expired",
            "--in-days",
            "0",
        ])
        .unwrap();

    assert_eq!(requests(&f, true).len(), 26, "every keyed endpoint is here");
    for (path, _, _, body) in requests(&f, true) {
        let answer = f.server.post(Some(&expired), path, body).await.unwrap();
        refused(
            &answer,
            401,
            "API key expired",
            &format!("{path}, expired key"),
        );
    }

    let (mut allowed_checked, mut refused_checked) = (0, 0);
    // Narrow keys first, the whole-account full key last: allowed changes then cannot remove
    // what a later refusal is checked against.
    for (scope, confined, key) in &keys {
        for inside in [false, true] {
            if !confined && !inside {
                continue;
            }
            for (path, need, targeted, body) in requests(&f, inside) {
                let context = format!(
                    "{path} ({need:?}) with a {} key{}, aimed {}",
                    scope.name(),
                    if *confined {
                        " confined to /private"
                    } else {
                        ""
                    },
                    if inside { "inside" } else { "outside" },
                );
                let answer = f.server.post(Some(key), path, body).await.unwrap();
                let allowed = scope.allows(need)
                    && !(*confined && need == Need::Account)
                    && !(*confined && targeted && !inside);
                if allowed {
                    not_refused(&answer, &context);
                    allowed_checked += 1;
                } else {
                    refused(
                        &answer,
                        403,
                        "Not allowed by this API key's scope",
                        &context,
                    );
                    refused_checked += 1;
                }
            }
        }
    }

    assert_eq!(
        (allowed_checked, refused_checked),
        (80, 154),
        "each case was checked"
    );

    // The files outside /private are untouched by every confined key.
    let info = f
        .server
        .post(Some(&f.full), "file/info.cgi", json!({"url": f.outside}))
        .await
        .unwrap();
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.json["filename"], "outside.bin");
    assert_eq!(info.json["description"], "");
}

#[tokio::test]
async fn confined_keys_see_the_path_to_their_folder_and_nothing_else() {
    let f = fixture().await;
    let confined = key(&f.server, "reader", Scope::Read, Some("/private"));
    let root = ok(&f.server, &confined, "folder/ls.cgi", json!({"files": 1})).await;
    let names: Vec<&str> = root["sub_folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["private"], "{root}");
    assert!(root.get("items").is_none_or(Value::is_null), "{root}");
    // Its own folder is listed in full.
    let own = ok(
        &f.server,
        &confined,
        "folder/ls.cgi",
        json!({"folder_id": f.private, "files": 1}),
    )
    .await;
    assert_eq!(own["items"][0]["filename"], "secret.bin", "{own}");
    // Files of the root, and the whole account, are outside.
    for body in [json!({"folder_id": 0}), json!({"folder_id": -1})] {
        let answer = f
            .server
            .post(Some(&confined), "file/ls.cgi", body)
            .await
            .unwrap();
        refused(
            &answer,
            403,
            "Not allowed by this API key's scope",
            "file/ls",
        );
    }
    // The folder itself cannot be moved, shared or removed by its confined key.
    let full_confined = key(&f.server, "owner", Scope::Full, Some("/private"));
    for (path, body) in [
        (
            "folder/mv.cgi",
            json!({"folder_id": f.private, "rename": "gone"}),
        ),
        ("folder/rm.cgi", json!({"folder_id": f.private})),
        (
            "folder/share.cgi",
            json!({"folder_id": f.private, "share": 1}),
        ),
    ] {
        let answer = f
            .server
            .post(Some(&full_confined), path, body)
            .await
            .unwrap();
        refused(&answer, 403, "Not allowed by this API key's scope", path);
    }
    // remote/ls shows the jobs of its folder only.
    let jobs = ok(&f.server, &confined, "remote/ls.cgi", json!({})).await;
    let ids: Vec<i64> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [f.inside_job], "{jobs}");
    let _ = (f.sub, f.deep);
}

#[tokio::test]
async fn upload_only_keys_list_folders_without_files_and_upload_where_allowed() {
    let f = fixture().await;
    let uploader = key(&f.server, "backup", Scope::Upload, None);
    let listed = ok(
        &f.server,
        &uploader,
        "folder/ls.cgi",
        json!({"folder_id": f.private, "files": 1}),
    )
    .await;
    assert_eq!(listed["sub_folders"][0]["name"], "sub");
    assert!(listed.get("items").is_none_or(Value::is_null), "{listed}");

    // The upload node: allowed for upload-only and full keys, refused to read-only ones, and a
    // confined key's upload must land inside its folder.
    let reader = key(&f.server, "viewer", Scope::Read, None);
    let confined = key(&f.server, "drop", Scope::Upload, Some("/private"));
    let upload = |key: String, did: i64| {
        let server = &f.server;
        async move {
            server
                .upload(
                    Some(&key),
                    &[("up.txt", b"bytes".to_vec())],
                    &[("did", &did.to_string())],
                )
                .await
                .unwrap()
                .1
        }
    };
    // A stored upload answers with the node's redirect to end.pl.
    let sent = upload(uploader, f.elsewhere).await;
    assert_eq!(sent.status, 302, "{}", sent.text);
    let sent = upload(confined.clone(), f.sub).await;
    assert_eq!(sent.status, 302, "{}", sent.text);
    for (key, did, context) in [
        (reader, f.private, "read-only key"),
        (confined.clone(), f.elsewhere, "confined key, outside"),
        (confined, 0, "confined key, root"),
    ] {
        let refused_upload = upload(key, did).await;
        assert_eq!(
            refused_upload.status, 403,
            "{context}: {}",
            refused_upload.text
        );
        assert!(
            refused_upload.text.contains("scope"),
            "{context}: {}",
            refused_upload.text
        );
    }
}
