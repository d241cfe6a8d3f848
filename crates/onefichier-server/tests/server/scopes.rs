//! The scope axis of the auth matrix: every v1 endpoint of the protocol's table and the upload
//! node × every scope (full, read, upload-only) × {the whole account, confined to a folder: a
//! target inside, a target outside} × expired. What is expected comes from the table itself
//! (`Endpoint::access`), the one place the server's router reads too. A refusal is 403 "Not
//! allowed by this API key's scope" (401 "API key expired"); what a scope allows is never
//! refused for authorisation.

use onefichier_protocol::Endpoint;
use onefichier_server::meta::KeyScope;
use onefichier_test_support::{Answer, TestServer};
use serde_json::{Value, json};

use crate::BIN;
const ALICE: &str = "alice@example.com";

const SCOPES: [KeyScope; 3] = [KeyScope::Read, KeyScope::Upload, KeyScope::Full];

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

fn key(server: &TestServer, label: &str, scope: KeyScope, folder: Option<&str>) -> String {
    let scope = scope.to_string();
    let mut args = vec![
        "key", "create", "--email", ALICE, "--label", label, "--scope",
    ];
    args.push(&scope);
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

/// The fixture on the server in process.
async fn fixture() -> Fixture {
    fixture_on(TestServer::in_process().unwrap()).await
}

/// The fixture on `server`, started here.
async fn fixture_on(mut server: TestServer) -> Fixture {
    let full = server.account_with_key(ALICE, "premium").unwrap();
    server
        .account_with_key("bob@example.com", "premium")
        .unwrap();
    let voucher = server.create_voucher(ALICE, "premium-30d").unwrap();
    // Direct links are on the listen address (the site has 1fichier's name), which remote
    // uploads may fetch from.
    server
        .start(&[
            "--limits",
            "off",
            "--site-host",
            "1fichier.com",
            "--remote-allow-host",
            "127.0.0.1",
        ])
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

/// A request to a keyed endpoint, aimed inside `/private` or outside it.
struct Case {
    endpoint: Endpoint,
    body: Value,
    /// It names a folder or a file (the others are account-wide or name nothing).
    targeted: bool,
    /// It changes something through an endpoint that also shows (`user/info` with a setting).
    changing: bool,
}

/// A body for every keyed endpoint of the protocol's table (a new endpoint without one fails
/// here), `file/rm` last since it deletes what it aims at.
fn requests(f: &Fixture, inside: bool) -> Vec<Case> {
    let (file, folder, child, job) = if inside {
        (&f.secret, f.private, f.sub, f.inside_job)
    } else {
        (&f.outside, f.elsewhere, f.deep, f.outside_job)
    };
    let mut endpoints: Vec<Endpoint> = Endpoint::ALL
        .iter()
        .copied()
        .filter(|e| e.requires_key())
        .collect();
    endpoints.sort_by_key(|e| *e == Endpoint::FileRm);
    let case = |endpoint, body, targeted| Case {
        endpoint,
        body,
        targeted,
        changing: false,
    };
    let mut cases = Vec::new();
    for endpoint in endpoints {
        if endpoint == Endpoint::UserInfo {
            cases.push(case(endpoint, json!({}), false));
        }
        cases.push(match endpoint {
            Endpoint::DownloadGetToken | Endpoint::FileInfo | Endpoint::FileScan => {
                case(endpoint, json!({"url": file}), true)
            }
            Endpoint::FileLs | Endpoint::FolderLs => {
                case(endpoint, json!({"folder_id": folder}), true)
            }
            Endpoint::FileChattr => case(
                endpoint,
                json!({"urls": [file], "description": "changed"}),
                true,
            ),
            Endpoint::FileRename => case(
                endpoint,
                json!({"urls": [{"url": file, "filename": "renamed.bin"}]}),
                true,
            ),
            Endpoint::FileCp => case(endpoint, json!({"urls": [file], "folder_id": child}), true),
            Endpoint::FileMv => case(
                endpoint,
                json!({"urls": [file], "destination_folder_id": child}),
                true,
            ),
            Endpoint::FileRm => case(endpoint, json!({"files": [{"url": file}]}), true),
            Endpoint::FolderMkdir => {
                case(endpoint, json!({"name": "made", "folder_id": child}), true)
            }
            Endpoint::FolderShare => case(endpoint, json!({"folder_id": child, "share": 1}), true),
            Endpoint::FolderMv => case(
                endpoint,
                json!({"folder_id": child, "rename": "moved"}),
                true,
            ),
            Endpoint::FolderRm => case(endpoint, json!({"folder_id": child}), true),
            Endpoint::RemoteInfo => case(endpoint, json!({"id": job}), true),
            Endpoint::RemoteRequest => case(
                endpoint,
                json!({"urls": ["http://127.0.0.1:9/y"], "folder_id": folder}),
                true,
            ),
            Endpoint::UserInfo => Case {
                changing: true,
                ..case(endpoint, json!({"page_limit": 20}), false)
            },
            Endpoint::FtpUsersAdd => {
                case(endpoint, json!({"user": "cam", "pass": "secret1"}), false)
            }
            Endpoint::FtpUsersRm => case(endpoint, json!({"user": "cam"}), false),
            Endpoint::VouchersCheck => case(endpoint, json!({"voucher": f.voucher}), false),
            Endpoint::VouchersUse => case(
                endpoint,
                json!({"voucher": "nonexistent", "user_email": "bob@example.com"}),
                false,
            ),
            Endpoint::RemoteLs
            | Endpoint::FtpProcess
            | Endpoint::FtpUsersLs
            | Endpoint::VouchersLs => case(endpoint, json!({}), false),
            other => panic!("{other:?}: the scope test has no request for this endpoint"),
        });
    }
    cases
}

/// What the endpoint table says of a case for a key of `scope`, confined or not.
fn admitted(case: &Case, scope: KeyScope, confined: bool, inside: bool) -> bool {
    let access = case.endpoint.access();
    let grant = if case.changing {
        access.changing.unwrap_or(access.call)
    } else {
        access.call
    };
    scope.allows(grant.need)
        && !(confined && grant.account_wide)
        && !(confined && case.targeted && !inside)
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
    for scope in SCOPES {
        for confined in [true, false] {
            let label = format!("{scope}-{}", if confined { "private" } else { "all" });
            let folder = confined.then_some("/private");
            keys.push((scope, confined, key(&f.server, &label, scope, folder)));
        }
    }
    let expired = key(&f.server, "expired", KeyScope::Full, None);
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

    assert_eq!(
        requests(&f, true).len(),
        Endpoint::ALL.iter().filter(|e| e.requires_key()).count() + 1,
        "every keyed endpoint is here (user/info twice: shown and changed)"
    );
    for case in requests(&f, true) {
        let path = case.endpoint.path();
        let answer = f
            .server
            .post(Some(&expired), path, case.body)
            .await
            .unwrap();
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
            for case in requests(&f, inside) {
                let path = case.endpoint.path();
                let context = format!(
                    "{path} ({:?}) with a {scope} key{}, aimed {}",
                    case.endpoint.access(),
                    if *confined {
                        " confined to /private"
                    } else {
                        ""
                    },
                    if inside { "inside" } else { "outside" },
                );
                let allowed = admitted(&case, *scope, *confined, inside);
                let answer = f.server.post(Some(key), path, case.body).await.unwrap();
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
        (76, 158),
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
    let confined = key(&f.server, "reader", KeyScope::Read, Some("/private"));
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
    let full_confined = key(&f.server, "owner", KeyScope::Full, Some("/private"));
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
    let uploader = key(&f.server, "backup", KeyScope::Upload, None);
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
    let reader = key(&f.server, "viewer", KeyScope::Read, None);
    let confined = key(&f.server, "drop", KeyScope::Upload, Some("/private"));
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

/// Answers are filtered by the same table: where an answer may hold download links or share
/// URLs (`shows_links`), a key that may not read files gets it without them.
#[tokio::test]
async fn upload_only_keys_are_shown_no_links_and_no_share_urls() {
    // On a socket: a remote upload below fetches a direct URL of this same server.
    let f = fixture_on(TestServer::new(BIN).unwrap()).await;
    let uploader = key(&f.server, "drop-box", KeyScope::Upload, None);
    let reader = key(&f.server, "viewer", KeyScope::Read, None);
    for endpoint in [Endpoint::RemoteInfo, Endpoint::FolderLs] {
        assert!(endpoint.access().shows_links, "{endpoint:?}");
    }

    // A remote upload that fetched a file: its answer holds the new file's link.
    let (upload, _) = f
        .server
        .upload(
            Some(&f.full),
            &[("source.bin", b"remote bytes".to_vec())],
            &[("did", &f.elsewhere.to_string())],
        )
        .await
        .unwrap();
    let source = f.server.end_report(&upload).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let direct = ok(
        &f.server,
        &f.full,
        "download/get_token.cgi",
        json!({"url": source}),
    )
    .await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = ok(
        &f.server,
        &f.full,
        "remote/request.cgi",
        json!({"urls": [direct], "folder_id": f.sub}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut finished = Value::Null;
    for _ in 0..100 {
        finished = ok(&f.server, &f.full, "remote/info.cgi", json!({"id": job})).await;
        if finished["execution_date"] != "" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(finished["result"][0]["status"], "OK", "{finished}");
    let link = finished["result"][0]["download_link"].as_str().unwrap();
    assert!(link.contains("/?"), "{finished}");
    let seen_by_reader = ok(&f.server, &reader, "remote/info.cgi", json!({"id": job})).await;
    assert_eq!(seen_by_reader["result"][0]["download_link"], link);
    let seen_by_uploader = ok(&f.server, &uploader, "remote/info.cgi", json!({"id": job})).await;
    assert_eq!(seen_by_uploader["result"][0]["status"], "OK");
    assert_eq!(
        seen_by_uploader["result"][0]["download_link"], "",
        "{seen_by_uploader}"
    );

    // A shared folder: its share URL lists every file's link.
    ok(
        &f.server,
        &f.full,
        "folder/share.cgi",
        json!({"folder_id": f.sub, "share": 1}),
    )
    .await;
    let listed = |key: String| {
        let server = &f.server;
        async move {
            ok(
                server,
                &key,
                "folder/ls.cgi",
                json!({"folder_id": f.sub, "files": 1}),
            )
            .await
        }
    };
    let by_reader = listed(reader).await;
    assert!(
        by_reader["shared"]
            .as_str()
            .is_some_and(|u| u.contains("/dir/")),
        "{by_reader}"
    );
    let by_uploader = listed(uploader).await;
    assert!(
        by_uploader.get("shared").is_none_or(Value::is_null),
        "{by_uploader}"
    );
    assert!(
        by_uploader.get("items").is_none_or(Value::is_null),
        "{by_uploader}"
    );
}
