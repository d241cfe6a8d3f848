//! The metadata endpoints against the real binary: shapes, semantics and bad input.

use onefichier_test_support::TestServer;
use serde_json::{Value, json};

async fn server() -> (TestServer, String) {
    let mut server = TestServer::in_process().unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    // Links as the live service prints them (test-file add prints 1fichier.com links).
    server
        .start(&["--limits", "off", "--site-host", "1fichier.com"])
        .unwrap();
    (server, key)
}

async fn ok(server: &TestServer, key: &str, path: &str, body: Value) -> Value {
    let answer = server.post(Some(key), path, body).await.unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    assert_eq!(answer.json["status"], "OK", "{path}: {}", answer.text);
    answer.json
}

async fn mkdir(server: &TestServer, key: &str, name: &str, parent: i64) -> i64 {
    ok(
        server,
        key,
        "folder/mkdir.cgi",
        json!({"name": name, "folder_id": parent}),
    )
    .await["folder_id"]
        .as_i64()
        .unwrap()
}

fn add_file(server: &TestServer, name: &str, folder: i64, size: i64) -> String {
    server
        .admin(&[
            "test-file",
            "add",
            "--email",
            "user@example.com",
            "--name",
            name,
            "--folder-id",
            &folder.to_string(),
            "--size",
            &size.to_string(),
        ])
        .unwrap()
}

#[tokio::test]
async fn folders_create_list_move_rename_and_delete() {
    let (server, key) = server().await;
    let backups = mkdir(&server, &key, "backups", 0).await;
    let year = mkdir(&server, &key, "2026 été", backups).await;
    let duplicate = server
        .post(Some(&key), "folder/mkdir.cgi", json!({"name": "backups"}))
        .await
        .unwrap();
    assert_eq!(duplicate.status, 409);
    assert!(
        duplicate
            .ko_message()
            .unwrap()
            .starts_with("Folder already exists")
    );

    let root = ok(&server, &key, "folder/ls.cgi", json!({})).await;
    assert_eq!(root["name"], "Root");
    assert_eq!(root["folder_id"], 0);
    assert_eq!(root["size"], Value::Null);
    let sub = &root["sub_folders"][0];
    assert_eq!(sub["id"], backups);
    assert!(sub.get("folder_id").is_none());
    assert_eq!(sub["pass"], 0);
    assert!(onefichier_protocol::date::parse_unix(sub["create_date"].as_str().unwrap()).is_ok());

    add_file(&server, "a.bin", backups, 10);
    add_file(&server, "b.bin", backups, 32);
    let listed = ok(
        &server,
        &key,
        "folder/ls.cgi",
        json!({"folder_id": backups, "files": 1}),
    )
    .await;
    assert_eq!(listed["name"], "backups");
    assert_eq!(listed["files"], 2);
    assert_eq!(listed["size"], 42);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        listed["items"][0]["content-type"],
        "application/octet-stream"
    );
    assert_eq!(listed["sub_folders"][0]["name"], "2026 été");

    // Rename, then move to the root; a folder never moves into its own sub-folder.
    let renamed = ok(
        &server,
        &key,
        "folder/mv.cgi",
        json!({"folder_id": year, "rename": "2026"}),
    )
    .await;
    assert_eq!(renamed["old_name"], "2026 été");
    assert_eq!(renamed["new_name"], "2026");
    let cycle = server
        .post(
            Some(&key),
            "folder/mv.cgi",
            json!({"folder_id": backups, "destination_folder_id": year}),
        )
        .await
        .unwrap();
    assert_eq!(cycle.status, 400, "{}", cycle.text);
    let same = server
        .post(
            Some(&key),
            "folder/mv.cgi",
            json!({"folder_id": year, "rename": "2026"}),
        )
        .await
        .unwrap();
    assert!(same.ko_message().unwrap().starts_with("Same name"));
    ok(
        &server,
        &key,
        "folder/mv.cgi",
        json!({"folder_id": year, "destination_folder_id": 0}),
    )
    .await;
    let root = ok(&server, &key, "folder/ls.cgi", json!({})).await;
    assert_eq!(root["sub_folders"].as_array().unwrap().len(), 2);

    // Only empty folders are deleted.
    let full = server
        .post(Some(&key), "folder/rm.cgi", json!({"folder_id": backups}))
        .await
        .unwrap();
    assert_eq!(full.status, 409, "{}", full.text);
    assert!(full.ko_message().unwrap().starts_with("Folder not empty"));
    ok(&server, &key, "folder/rm.cgi", json!({"folder_id": year})).await;
    let gone = server
        .post(Some(&key), "folder/ls.cgi", json!({"folder_id": year}))
        .await
        .unwrap();
    assert_eq!(gone.status, 404);
    let root_rm = server
        .post(Some(&key), "folder/rm.cgi", json!({"folder_id": 0}))
        .await
        .unwrap();
    assert_eq!(root_rm.status, 400);
}

#[tokio::test]
async fn files_list_info_move_rename_copy_and_delete() {
    let (server, key) = server().await;
    let docs = mkdir(&server, &key, "docs", 0).await;
    let url = add_file(&server, "report.pdf", 0, 1234);
    let other = add_file(&server, "notes.txt", 0, 10);

    let listing = ok(&server, &key, "file/ls.cgi", json!({})).await;
    assert_eq!(listing["count"], 2);
    let item = &listing["items"][0];
    assert_eq!(item["url"], json!(url));
    assert_eq!(item["filename"], "report.pdf");
    assert_eq!(item["size"], 1234);
    assert_eq!(item["checksum"].as_str().unwrap().len(), 128);
    assert_eq!(item["pass"], 0);
    assert_eq!(item["acl"], 0);
    let all = ok(&server, &key, "file/ls.cgi", json!({"folder_id": -1})).await;
    assert_eq!(all["count"], 2);
    let future = ok(
        &server,
        &key,
        "file/ls.cgi",
        json!({"sent_after": "2100-01-01 00:00:00"}),
    )
    .await;
    assert_eq!(future["count"], 0);
    let past = ok(
        &server,
        &key,
        "file/ls.cgi",
        json!({"sent_before": "2100-01-01 00:00:00"}),
    )
    .await;
    assert_eq!(past["count"], 2);
    let bad_date = server
        .post(
            Some(&key),
            "file/ls.cgi",
            json!({"sent_after": "yesterday"}),
        )
        .await
        .unwrap();
    assert_eq!(bad_date.status, 400);

    // Move with a rename keeps the link.
    let moved = ok(
        &server,
        &key,
        "file/mv.cgi",
        json!({"urls": [url], "destination_folder_id": docs, "rename": "report-2026.pdf"}),
    )
    .await;
    assert_eq!(moved["moved"], 1);
    assert_eq!(moved["urls"][0], json!(url));
    assert_eq!(moved["filename"], "report-2026.pdf");
    let info = ok(&server, &key, "file/info.cgi", json!({"url": url})).await;
    assert_eq!(info["folder_id"], docs);
    assert_eq!(info["path"], "docs");
    assert_eq!(info["filename"], "report-2026.pdf");
    assert_eq!(info["content_type"], "application/octet-stream");
    assert_eq!(
        info["acl"],
        json!({"ip": [], "country": [], "email": [], "premium": 0})
    );
    let missing_dest = server
        .post(Some(&key), "file/mv.cgi", json!({"urls": [url]}))
        .await
        .unwrap();
    assert_eq!(missing_dest.status, 400);

    // Rename: #312 on HTTP 200 when nothing changes.
    let unchanged = server
        .post(
            Some(&key),
            "file/rename.cgi",
            json!({"urls": [{"url": other, "filename": "notes.txt"}]}),
        )
        .await
        .unwrap();
    assert_eq!(unchanged.status, 200);
    assert_eq!(
        unchanged.ko_message().unwrap(),
        "No file has been renamed #312"
    );
    let renamed = ok(
        &server,
        &key,
        "file/rename.cgi",
        json!({"urls": [{"url": other, "filename": "notes.md"}], "pretty": 0}),
    )
    .await;
    assert_eq!(
        renamed["urls"][0],
        json!({"url": other, "old_filename": "notes.txt", "new_filename": "notes.md"})
    );

    // Copy: a new link, same bytes, storage grows.
    let copied = ok(
        &server,
        &key,
        "file/cp.cgi",
        json!({"urls": [url], "rename": "copy.pdf"}),
    )
    .await;
    let copy = copied["urls"][0]["to_url"].as_str().unwrap().to_owned();
    assert_ne!(copy, url);
    assert!(copy.starts_with("https://1fichier.com/?"));
    assert_eq!(copy.rsplit('?').next().unwrap().len(), 20);
    let user = ok(&server, &key, "user/info.cgi", json!({})).await;
    assert_eq!(user["hot_storage"], 1234 * 2 + 10);

    // Delete: every link is checked first; one bad link deletes nothing.
    let bad = server
        .post(
            Some(&key),
            "file/rm.cgi",
            json!({"files": [{"url": copy}, {"url": "https://1fichier.com/?zzzzzzzzzz"}]}),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 404);
    assert_eq!(
        ok(&server, &key, "file/ls.cgi", json!({"folder_id": -1})).await["count"],
        3
    );
    let removed = ok(
        &server,
        &key,
        "file/rm.cgi",
        json!({"files": [{"url": copy}, {"url": other}]}),
    )
    .await;
    assert_eq!(removed["removed"], 2);
    let gone = server
        .post(Some(&key), "file/info.cgi", json!({"url": copy}))
        .await
        .unwrap();
    assert_eq!(gone.status, 404);
    assert!(gone.ko_message().unwrap().starts_with("Resource not found"));
}

#[tokio::test]
async fn chattr_sets_and_clears_attributes() {
    let (server, key) = server().await;
    let url = add_file(&server, "a.bin", 0, 5);
    ok(&server, &key, "file/chattr.cgi", json!({
        "urls": [url], "filename": "b.bin", "description": "holiday", "pass": "secret1",
        "no_ssl": 1, "inline": "1", "cdn": true,
        "acl": {"ip": ["192.0.2.0/24"], "country": ["fr"], "email": ["x@example.com"], "premium": 1}
    })).await;
    let info = ok(&server, &key, "file/info.cgi", json!({"url": url})).await;
    assert_eq!(info["filename"], "b.bin");
    assert_eq!(info["description"], "holiday");
    assert_eq!(
        (
            info["pass"].clone(),
            info["no_ssl"].clone(),
            info["inline"].clone(),
            info["cdn"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(1))
    );
    assert_eq!(info["acl"]["country"], json!(["FR"]));
    let listed = ok(&server, &key, "file/ls.cgi", json!({})).await;
    assert_eq!(listed["items"][0]["pass"], 1);
    assert_eq!(listed["items"][0]["acl"], 1);

    for (body, what) in [
        (json!({"urls": [url], "pass": "short"}), "short password"),
        (
            json!({"urls": [url], "acl": {"ip": ["not-an-ip"]}}),
            "bad CIDR",
        ),
        (
            json!({"urls": [url], "acl": {"country": ["France"]}}),
            "bad country",
        ),
        (
            json!({"urls": [url], "filename": "a<b"}),
            "forbidden character",
        ),
        (json!({"urls": []}), "no urls"),
    ] {
        let refused = server
            .post(Some(&key), "file/chattr.cgi", body)
            .await
            .unwrap();
        assert_eq!(refused.status, 400, "{what}: {}", refused.text);
    }
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [url], "pass": "", "acl": ""}),
    )
    .await;
    let info = ok(&server, &key, "file/info.cgi", json!({"url": url})).await;
    assert_eq!(info["pass"], 0);
    assert_eq!(info["acl"]["ip"], json!([]));
    assert_eq!(
        info["description"], "holiday",
        "fields left out stay as they were"
    );
}

#[tokio::test]
async fn imports_respect_password_and_acl() {
    let (server, key) = server().await;
    let other = server
        .account_with_key("other@example.com", "access")
        .unwrap();
    let url = add_file(&server, "shared.bin", 0, 7);
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [url], "pass": "secret1"}),
    )
    .await;
    let no_pass = server
        .post(Some(&other), "file/cp.cgi", json!({"urls": [url]}))
        .await
        .unwrap();
    assert_eq!(no_pass.status, 403);
    assert!(
        no_pass
            .ko_message()
            .unwrap()
            .starts_with("Password not provided")
    );
    let wrong = server
        .post(
            Some(&other),
            "file/cp.cgi",
            json!({"urls": [url], "pass": "nope123"}),
        )
        .await
        .unwrap();
    assert!(wrong.ko_message().unwrap().starts_with("Invalid password"));
    ok(
        &server,
        &other,
        "file/cp.cgi",
        json!({"urls": [url], "pass": "secret1"}),
    )
    .await;
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [url], "pass": "", "acl": {"email": ["someone@example.com"]}}),
    )
    .await;
    let acl = server
        .post(Some(&other), "file/cp.cgi", json!({"urls": [url]}))
        .await
        .unwrap();
    assert_eq!(acl.status, 403);
    assert!(
        acl.ko_message()
            .unwrap()
            .starts_with("Resource not allowed")
    );
    let listing = ok(&server, &other, "file/ls.cgi", json!({})).await;
    assert_eq!(listing["count"], 1, "only the allowed import landed");
}

#[tokio::test]
async fn sharing_folders() {
    let (server, key) = server().await;
    let folder = mkdir(&server, &key, "public", 0).await;
    let shared = ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({
            "folder_id": folder, "share": 1, "pass": "secret1",
            "shares": [{"email": "bob@example.com", "rw": 1, "hide_links": 1}]
        }),
    )
    .await;
    let url = shared["url"].as_str().unwrap().to_owned();
    // Under 1fichier's names, as the service prints it.
    assert!(url.starts_with("https://1fichier.com/dir/"), "{url}");
    let listed = ok(&server, &key, "folder/ls.cgi", json!({"folder_id": folder})).await;
    assert_eq!(listed["shared"], json!(url));
    assert_eq!(listed["pass"], 1);
    assert_eq!(
        listed["shares"],
        json!([{"email": "bob@example.com", "rw": 0, "hide_links": 1}])
    );
    // Sharing again keeps the same public URL; shares: 0 removes the groupware shares.
    let again = ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 1, "shares": 0}),
    )
    .await;
    assert_eq!(again["url"], json!(url));
    let listed = ok(&server, &key, "folder/ls.cgi", json!({"folder_id": folder})).await;
    assert!(listed.get("shares").is_none(), "{listed}");
    assert_eq!(listed["pass"], 1, "the password stays when not given");
    ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 0}),
    )
    .await;
    let listed = ok(&server, &key, "folder/ls.cgi", json!({"folder_id": folder})).await;
    assert!(listed.get("shared").is_none());
    assert_eq!(listed["pass"], 0);
    let short = server
        .post(
            Some(&key),
            "folder/share.cgi",
            json!({"folder_id": folder, "share": 1, "pass": "abc"}),
        )
        .await
        .unwrap();
    assert_eq!(short.status, 400);
}

#[tokio::test]
async fn user_info_shows_and_sets() {
    let (server, key) = server().await;
    let info = ok(&server, &key, "user/info.cgi", json!({})).await;
    assert_eq!(info["email"], "user@example.com");
    assert_eq!(info["offer"], "1");
    assert_eq!(info["use_cdn"], "0");
    assert!(info["subscription_end"].is_string());
    assert!(info["available_storage"].as_i64().unwrap() > 0);
    let set = ok(
        &server,
        &key,
        "user/info.cgi",
        json!({"default_domain": 5, "use_cdn": 1, "ftp_mode": "1"}),
    )
    .await;
    assert_eq!(set["default_domain"], 5);
    assert_eq!(set["use_cdn"], "1");
    assert_eq!(set["ftp_mode"], "1");
    for bad in [
        json!({"default_domain": 11}),
        json!({"page_limit": 0}),
        json!({"ftp_did": 999}),
    ] {
        let refused = server
            .post(Some(&key), "user/info.cgi", bad.clone())
            .await
            .unwrap();
        assert!(
            matches!(refused.status, 400 | 404),
            "{bad}: {}",
            refused.text
        );
    }
    // New files take the default domain.
    let copy_source = add_file(&server, "x", 0, 1);
    let copied = ok(&server, &key, "file/cp.cgi", json!({"urls": [copy_source]})).await;
    assert!(
        copied["urls"][0]["to_url"]
            .as_str()
            .unwrap()
            .starts_with("https://megadl.fr/?")
    );
    // rclone posts user/info with no body at all.
    let empty = server
        .post_raw(Some(&key), "user/info.cgi", Some("application/json"), "")
        .await
        .unwrap();
    assert_eq!(empty.status, 200, "{}", empty.text);
}

#[tokio::test]
async fn vouchers_and_ftp_users() {
    let (server, key) = server().await;
    server
        .admin(&[
            "account",
            "create",
            "--email",
            "buyer@example.com",
            "--offer",
            "free",
        ])
        .unwrap();
    let code = server
        .create_voucher("user@example.com", "premium-30d")
        .unwrap();
    assert_eq!(code.len(), 32);
    let listed = ok(&server, &key, "vouchers/ls.cgi", json!({})).await;
    assert_eq!(
        listed["data"],
        json!([{"voucher": code, "service": "premium-30d"}])
    );
    let checked = ok(
        &server,
        &key,
        "vouchers/check.cgi",
        json!({"voucher": code}),
    )
    .await;
    assert_eq!(checked["service"], "premium-30d");
    ok(
        &server,
        &key,
        "vouchers/use.cgi",
        json!({"voucher": code, "user_email": "buyer@example.com"}),
    )
    .await;
    let again = server
        .post(Some(&key), "vouchers/check.cgi", json!({"voucher": code}))
        .await
        .unwrap();
    assert!(again.ko_message().unwrap().starts_with("Voucher not valid"));
    assert_eq!(
        ok(&server, &key, "vouchers/ls.cgi", json!({})).await["count"],
        0
    );
    let accounts = server.admin(&["account", "list"]).unwrap();
    assert!(
        accounts
            .lines()
            .any(|l| l.starts_with("buyer@example.com\tpremium\t")),
        "{accounts}"
    );

    ok(
        &server,
        &key,
        "ftp/users/add.cgi",
        json!({"user": "camera", "pass": "secret1"}),
    )
    .await;
    let dup = server
        .post(
            Some(&key),
            "ftp/users/add.cgi",
            json!({"user": "camera", "pass": "secret1"}),
        )
        .await
        .unwrap();
    assert_eq!(dup.status, 400);
    let bad = server
        .post(
            Some(&key),
            "ftp/users/add.cgi",
            json!({"user": "a b", "pass": "secret1"}),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    let users = ok(&server, &key, "ftp/users/ls.cgi", json!({})).await;
    assert_eq!(users["items"][0]["user"], "camera");
    assert_eq!(users["items"][0]["folder_id"], 0);
    ok(&server, &key, "ftp/process.cgi", json!({})).await;
    ok(&server, &key, "ftp/users/rm.cgi", json!({"user": "camera"})).await;
    let missing = server
        .post(Some(&key), "ftp/users/rm.cgi", json!({"user": "camera"}))
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn bad_input_gets_a_named_4xx_and_changes_nothing() {
    let (server, key) = server().await;
    let key = Some(key.as_str());
    let too_long = "x".repeat(251);
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "a\\b"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "a<b>"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "say \"hi\""}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "it's"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "$HOME"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "`id`"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": " lead"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "trail "}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": too_long}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": ""}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": "x", "folder_id": 424242}).to_string(),
            404,
            "Folder not found",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            "{\"name\": ".to_owned(),
            400,
            "Invalid JSON",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            "[1,2]".to_owned(),
            400,
            "Invalid JSON",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            json!({"name": 5, "folder_id": "abc"}).to_string(),
            400,
            "Invalid JSON",
        ),
        (
            "folder/mkdir.cgi",
            None,
            json!({"name": "x"}).to_string(),
            400,
            "Content-Type not JSON",
        ),
        (
            "folder/mkdir.cgi",
            Some("text/plain"),
            json!({"name": "x"}).to_string(),
            400,
            "Content-Type not JSON",
        ),
        (
            "folder/mkdir.cgi",
            Some("application/json"),
            format!("{{\"name\":\"{}\"}}", "y".repeat(2 * 1024 * 1024)),
            413,
            "Request too large",
        ),
        (
            "file/info.cgi",
            Some("application/json"),
            json!({"url": "https://1fichier.com/?nothere000"}).to_string(),
            404,
            "Resource not found",
        ),
        (
            "file/info.cgi",
            Some("application/json"),
            json!({"url": "not a link"}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "file/info.cgi",
            Some("application/json"),
            json!({}).to_string(),
            400,
            "Invalid parameter",
        ),
        (
            "folder/ls.cgi",
            Some("application/json"),
            json!({"folder_id": -5}).to_string(),
            404,
            "Folder not found",
        ),
        (
            "file/mv.cgi",
            Some("application/json"),
            json!({"urls": ["https://1fichier.com/?nothere000"], "destination_folder_id": 0})
                .to_string(),
            404,
            "Resource not found",
        ),
        (
            "folder/rm.cgi",
            Some("application/json"),
            json!({}).to_string(),
            400,
            "Invalid parameter",
        ),
    ];
    for (path, content_type, body, status, message) in cases {
        let shown: String = body.chars().take(60).collect();
        let answer = server
            .post_raw(key, path, content_type, body)
            .await
            .unwrap();
        assert_eq!(answer.status, status, "{path} {shown}: {}", answer.text);
        let got = answer
            .ko_message()
            .unwrap_or_else(|| panic!("{path} {shown}: {}", answer.text));
        assert!(got.starts_with(message), "{path} {shown}: {got}");
    }
    let root = server.post(key, "folder/ls.cgi", json!({})).await.unwrap();
    assert_eq!(root.json["sub_folders"], json!([]), "nothing was created");
    let unknown = server
        .post(key, "nothing/here.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    assert!(unknown.ko_message().is_some());
}

/// `file/ls` answers are reused while nothing changed; every change must show at once.
#[tokio::test]
async fn file_listings_follow_every_change_at_once() {
    let (server, key) = server().await;
    let docs = mkdir(&server, &key, "docs", 0).await;
    let url = add_file(&server, "a.bin", 0, 5);
    // Sorted: files added within one second may list in either order.
    let names = |listing: &Value| -> Vec<String> {
        let mut names: Vec<String> = listing["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["filename"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let root = || ok(&server, &key, "file/ls.cgi", json!({}));
    assert_eq!(names(&root().await), ["a.bin"]);
    assert_eq!(names(&root().await), ["a.bin"], "the same answer again");

    // A file added behind the API's back (another process) shows too.
    add_file(&server, "b.bin", 0, 6);
    assert_eq!(names(&root().await), ["a.bin", "b.bin"]);
    ok(
        &server,
        &key,
        "file/rename.cgi",
        json!({"urls": [{"url": url, "filename": "c.bin"}]}),
    )
    .await;
    assert_eq!(names(&root().await), ["b.bin", "c.bin"]);
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [url], "pass": "secret1"}),
    )
    .await;
    let listing = root().await;
    let c = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == "c.bin")
        .unwrap();
    assert_eq!(c["pass"], 1);
    let docs_listing = || ok(&server, &key, "file/ls.cgi", json!({"folder_id": docs}));
    assert_eq!(docs_listing().await["count"], 0);
    ok(
        &server,
        &key,
        "file/mv.cgi",
        json!({"urls": [url], "destination_folder_id": docs}),
    )
    .await;
    assert_eq!(names(&root().await), ["b.bin"]);
    assert_eq!(names(&docs_listing().await), ["c.bin"]);
    ok(
        &server,
        &key,
        "file/cp.cgi",
        json!({"urls": [url], "folder_id": 0, "rename": "d.bin"}),
    )
    .await;
    assert_eq!(names(&root().await), ["b.bin", "d.bin"]);
    ok(
        &server,
        &key,
        "file/rm.cgi",
        json!({"files": [{"url": url}]}),
    )
    .await;
    assert_eq!(docs_listing().await["count"], 0);
    let all = ok(&server, &key, "file/ls.cgi", json!({"folder_id": -1})).await;
    assert_eq!(names(&all), ["b.bin", "d.bin"]);
}
