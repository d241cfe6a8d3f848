//! Bytes: uploads, end.pl, download tokens with Range, copies sharing blobs, public folders,
//! link checks, scans, remote uploads, and what a kill in mid-upload leaves behind.

use onefichier_test_support::TestServer;
use serde_json::{Value, json};
use std::time::Duration;
use whirlpool::{Digest, Whirlpool};

use crate::BIN;

fn whirlpool(bytes: &[u8]) -> String {
    hex::encode(Whirlpool::digest(bytes))
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    onefichier_test_support::pseudo_random(len, seed)
}

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
    let mut args = vec!["--limits", "off"];
    args.extend_from_slice(extra);
    server.start(&args).unwrap();
    (server, key)
}

async fn ok(server: &TestServer, key: &str, path: &str, body: Value) -> Value {
    let answer = server.post(Some(key), path, body).await.unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    assert_ne!(answer.json["status"], "KO", "{path}: {}", answer.text);
    answer.json
}

async fn download_url(server: &TestServer, key: &str, link: &str) -> String {
    ok(
        server,
        key,
        "download/get_token.cgi",
        json!({"url": link, "single": 1}),
    )
    .await["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Blobs stored: files in the data folder, or objects in the bucket when the server's bytes are
/// in S3.
async fn blob_files(server: &TestServer) -> usize {
    if let Some((url, vars)) = server.s3_blobs() {
        let bucket = onefichier_server::blob::S3BlobStore::from_config(&url, vars).unwrap();
        return onefichier_server::blob::BlobStore::list(&bucket)
            .await
            .unwrap()
            .len();
    }
    let root = server.data_dir().join("blobs");
    std::fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".staging")
        .map(|shard| std::fs::read_dir(shard.path()).unwrap().count())
        .sum()
}

/// Uploads being written: files in the staging folder. `None` when the bytes go to S3, whose
/// uploads in flight are parts of a multipart upload, not objects.
fn staging_files(server: &TestServer) -> Option<usize> {
    server.s3_blobs().is_none().then(|| {
        std::fs::read_dir(server.data_dir().join("blobs/.staging"))
            .unwrap()
            .count()
    })
}

#[tokio::test]
async fn upload_report_and_download_with_ranges() {
    let (server, key) = server(&[]).await;
    let folder = ok(&server, &key, "folder/mkdir.cgi", json!({"name": "in"})).await["folder_id"]
        .as_i64()
        .unwrap();
    let files = vec![
        ("one byte.bin", data(1, 1)),
        ("été €.txt", b"hello, world\n".to_vec()),
        ("big.dat", data(3 * 1024 * 1024 + 7, 3)),
    ];
    let (id, answer) = server
        .upload(Some(&key), &files, &[("did", &folder.to_string())])
        .await
        .unwrap();
    assert_eq!(answer.status, 302, "{}", answer.text);
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/end.pl?xid={id}").as_str())
    );
    assert!(answer.text.contains("Moved"), "{}", answer.text);

    let report = server.end_report(&id).await.unwrap();
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.json["incoming"], 0);
    let links = report.json["links"].as_array().unwrap();
    assert_eq!(links.len(), 3);
    for ((name, bytes), link) in files.iter().zip(links) {
        assert_eq!(link["filename"], *name);
        assert_eq!(link["size"], bytes.len().to_string(), "sizes are strings");
        assert_eq!(link["whirlpool"], whirlpool(bytes));
        assert_eq!(link["remove"], "");
        let url = download_url(&server, &key, link["download"].as_str().unwrap()).await;
        let (status, headers, body) = server.fetch(&url, None).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, *bytes, "{name}");
        assert_eq!(headers["content-length"], bytes.len().to_string().as_str());
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
    }
    let listed = ok(&server, &key, "file/ls.cgi", json!({"folder_id": folder})).await;
    assert_eq!(listed["count"], 3);
    assert_eq!(listed["items"][1]["content-type"], "text/plain");
    assert_eq!(listed["items"][2]["checksum"], whirlpool(&files[2].1));

    // Ranges: a middle slice, an open end, a suffix, and an unsatisfiable one.
    let big = &files[2].1;
    let url = download_url(&server, &key, links[2]["download"].as_str().unwrap()).await;
    let (status, headers, body) = server.fetch(&url, Some("bytes=1000-1999")).await.unwrap();
    assert_eq!(status, 206);
    assert_eq!(body, &big[1000..2000]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 1000-1999/{}", big.len()).as_str()
    );
    let (_, _, tail) = server
        .fetch(&url, Some(&format!("bytes={}-", big.len() - 10)))
        .await
        .unwrap();
    assert_eq!(tail, &big[big.len() - 10..]);
    let (_, _, suffix) = server.fetch(&url, Some("bytes=-5")).await.unwrap();
    assert_eq!(suffix, &big[big.len() - 5..]);
    let (status, headers, _) = server
        .fetch(&url, Some(&format!("bytes={}-", big.len())))
        .await
        .unwrap();
    assert_eq!(status, 416);
    assert_eq!(
        headers["content-range"],
        format!("bytes */{}", big.len()).as_str()
    );

    // CSV and HTML forms of the report; unknown ids.
    let csv = server
        .client()
        .get(format!("{}/end.pl?xid={id}", server.base_url()))
        .header("EXPORT", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("one byte.bin;1;"), "{csv}");
    let (_, _, html) = server
        .fetch(&format!("{}/end.pl?xid={id}", server.base_url()), None)
        .await
        .unwrap();
    let html = String::from_utf8(html).unwrap();
    // Links are on this server's own address (its default site host).
    assert!(
        html.contains(&format!(
            "<td class=\"normal\"><a href=\"{}/?",
            server.base_url()
        )),
        "{html}"
    );
    assert!(html.contains("été €.txt"));
    let (status, _, _) = server
        .fetch(
            &format!("{}/end.pl?xid=AAAAAAAAAA", server.base_url()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
    // Direct links live on their own host (`localhost` beside the site's 127.0.0.1): asked on
    // the site's, they are sent there; an unknown one is 404 there.
    let (status, headers, _) = server
        .fetch(&format!("{}/dl/nonexistenttoken", server.base_url()), None)
        .await
        .unwrap();
    assert_eq!(status, 307);
    let download_host = url.split('/').nth(2).unwrap().to_owned();
    assert!(download_host.starts_with("localhost:"), "{url}");
    assert_eq!(
        headers["location"],
        format!("http://{download_host}/dl/nonexistenttoken").as_str()
    );
    let (status, _, _) = server
        .fetch(&format!("http://{download_host}/dl/nonexistenttoken"), None)
        .await
        .unwrap();
    assert_eq!(status, 404);

    // The link page.
    let link = links[0]["download"].as_str().unwrap();
    let page_url = format!("{}/{}", server.base_url(), &link[link.find('?').unwrap()..]);
    let (status, _, page) = server.fetch(&page_url, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8(page).unwrap().contains("one byte.bin"));

    let user = ok(&server, &key, "user/info.cgi", json!({})).await;
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(user["hot_storage"], total);
}

#[tokio::test]
async fn refused_uploads_store_nothing() {
    let (server, owned_key) = in_process(&["--max-file-size", "1000"]).await;
    let key = Some(owned_key.as_str());
    let (_, none) = server.upload(key, &[], &[("did", "0")]).await.unwrap();
    assert_eq!(none.status, 400);
    assert!(
        none.text
            .contains("<div class=\"bloc2\">Pas de fichier trouvé dans l&#39;envoi</div>"),
        "{}",
        none.text
    );
    let (_, empty) = server
        .upload(key, &[("a", data(10, 1)), ("empty", Vec::new())], &[])
        .await
        .unwrap();
    assert_eq!(empty.status, 400);
    assert!(empty.text.contains("empty"), "{}", empty.text);
    let (_, large) = server
        .upload(
            key,
            &[("small", data(10, 1)), ("large", data(1001, 2))],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(large.status, 413, "{}", large.text);
    assert!(
        large.json["message"]
            .as_str()
            .unwrap()
            .starts_with("File too large")
    );
    let (_, bad_name) = server
        .upload(key, &[("a<b>", data(10, 1))], &[])
        .await
        .unwrap();
    assert_eq!(bad_name.status, 400);
    let (_, short_pass) = server
        .upload(key, &[("a", data(10, 1))], &[("dpass", "abc")])
        .await
        .unwrap();
    assert_eq!(short_pass.status, 400);

    let (node, id) = server.upload_server(key).await.unwrap();
    let first = server
        .upload_to(key, &node, &id, &[("a", data(10, 1))], &[])
        .await
        .unwrap();
    assert_eq!(first.status, 302);
    let reused = server
        .upload_to(key, &node, &id, &[("b", data(10, 1))], &[])
        .await
        .unwrap();
    assert_eq!(reused.status, 400, "ids are single use");
    let invented = server
        .upload_to(key, &node, "AAAAAAAAAA", &[("b", data(10, 1))], &[])
        .await
        .unwrap();
    assert_eq!(invented.status, 400);
    let malformed = server
        .upload_to(key, &node, "example_invalid", &[("b", data(10, 1))], &[])
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    let bad_key = server
        .upload_to(
            Some("0123456789abcdefghijABCDEFGHIJ01"),
            &node,
            &id,
            &[("b", data(10, 1))],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(bad_key.status, 401);

    let listed = ok(&server, &owned_key, "file/ls.cgi", json!({"folder_id": -1})).await;
    assert_eq!(listed["count"], 1, "only the one accepted upload: {listed}");
    assert_eq!(
        blob_files(&server).await,
        1,
        "refused uploads leave no blob"
    );
    assert_eq!(staging_files(&server).unwrap_or(0), 0);
}

#[tokio::test]
async fn anonymous_and_incoming_uploads() {
    let (server, key) = in_process(&[]).await;
    let (id, answer) = server
        .upload(None, &[("anon.txt", b"anonymous".to_vec())], &[])
        .await
        .unwrap();
    assert_eq!(answer.status, 302);
    let report = server.end_report(&id).await.unwrap();
    let link = report.json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = report.json["links"][0]["remove"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!code.is_empty(), "anonymous uploads get a removal code");
    let without = server
        .post(Some(&key), "file/rm.cgi", json!({"files": [{"url": link}]}))
        .await
        .unwrap();
    assert_eq!(without.status, 404);
    let wrong = server
        .post(
            Some(&key),
            "file/rm.cgi",
            json!({"files": [{"url": link, "code": "nope"}]}),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 404);
    ok(
        &server,
        &key,
        "file/rm.cgi",
        json!({"files": [{"url": link, "code": code}]}),
    )
    .await;

    let (id, answer) = server
        .upload(
            None,
            &[("gift.txt", b"for you".to_vec())],
            &[("user", "user@example.com")],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 302, "{}", answer.text);
    let report = server.end_report(&id).await.unwrap();
    assert_eq!(report.json["incoming"], 1);
    let root = ok(&server, &key, "folder/ls.cgi", json!({})).await;
    let incoming = root["sub_folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Incoming")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let listed = ok(&server, &key, "file/ls.cgi", json!({"folder_id": incoming})).await;
    assert_eq!(listed["items"][0]["filename"], "gift.txt");
    let (_, unknown) = server
        .upload(
            None,
            &[("x", b"x".to_vec())],
            &[("user", "nobody@example.com")],
        )
        .await
        .unwrap();
    // Answered as an account that takes no uploads from others: no address is told apart.
    assert_eq!(unknown.status, 403, "{}", unknown.text);
    assert!(
        unknown.text.contains("takes no uploads from others"),
        "{}",
        unknown.text
    );
}

#[tokio::test]
async fn copies_share_bytes_and_the_last_delete_frees_them() {
    let (server, key) = in_process(&[]).await;
    let bytes = data(100_000, 9);
    let (id, _) = server
        .upload(Some(&key), &[("orig.bin", bytes.clone())], &[])
        .await
        .unwrap();
    let link = server.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let copied = ok(&server, &key, "file/cp.cgi", json!({"urls": [link]})).await;
    let copy = copied["urls"][0]["to_url"].as_str().unwrap().to_owned();
    assert_eq!(blob_files(&server).await, 1, "a copy shares the blob");
    ok(
        &server,
        &key,
        "file/rm.cgi",
        json!({"files": [{"url": link}]}),
    )
    .await;
    assert_eq!(blob_files(&server).await, 1);
    let url = download_url(&server, &key, &copy).await;
    assert_eq!(server.fetch(&url, None).await.unwrap().2, bytes);
    ok(
        &server,
        &key,
        "file/rm.cgi",
        json!({"files": [{"url": copy}]}),
    )
    .await;
    assert_eq!(
        blob_files(&server).await,
        0,
        "the last reference freed the space"
    );
    assert_eq!(
        ok(&server, &key, "user/info.cgi", json!({})).await["hot_storage"],
        0
    );
}

#[tokio::test]
async fn passwords_and_acls_guard_tokens() {
    let (server, key) = in_process(&[]).await;
    let other = server
        .account_with_key("other@example.com", "premium")
        .unwrap();
    let (id, _) = server
        .upload(
            Some(&key),
            &[("secret.txt", data(50, 4))],
            &[("dpass", "secret1")],
        )
        .await
        .unwrap();
    let link = server.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    // The owner needs no password; others do.
    download_url(&server, &key, &link).await;
    let missing = server
        .post(Some(&other), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    assert_eq!(missing.status, 403);
    assert!(
        missing
            .ko_message()
            .unwrap()
            .starts_with("Password not provided")
    );
    let wrong = server
        .post(
            Some(&other),
            "download/get_token.cgi",
            json!({"url": link, "pass": "wrong12"}),
        )
        .await
        .unwrap();
    assert!(wrong.ko_message().unwrap().starts_with("Invalid password"));
    let url = ok(
        &server,
        &other,
        "download/get_token.cgi",
        json!({"url": link, "pass": "secret1", "inline": 1}),
    )
    .await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, headers, _) = server.fetch(&url, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [link], "pass": "", "acl": {"ip": ["192.0.2.0/24"]}}),
    )
    .await;
    let refused = server
        .post(Some(&other), "download/get_token.cgi", json!({"url": link}))
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .ko_message()
            .unwrap()
            .starts_with("Resource not allowed")
    );
    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [link], "acl": {"ip": ["127.0.0.0/8"]}}),
    )
    .await;
    download_url(&server, &other, &link).await;
    let no_ssl = ok(
        &server,
        &key,
        "download/get_token.cgi",
        json!({"url": link, "no_ssl": 1}),
    )
    .await;
    assert!(no_ssl["url"].as_str().unwrap().starts_with("http://"));
}

#[tokio::test]
async fn public_folders_and_link_checks() {
    let (server, key) = server(&[]).await;
    let folder = ok(&server, &key, "folder/mkdir.cgi", json!({"name": "pub"})).await["folder_id"]
        .as_i64()
        .unwrap();
    let (id, _) = server
        .upload(
            Some(&key),
            &[("a.txt", b"aaa".to_vec()), ("b.txt", b"bbbb".to_vec())],
            &[("did", &folder.to_string())],
        )
        .await
        .unwrap();
    let report = server.end_report(&id).await.unwrap();
    let a = report.json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = report.json["links"][1]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared = ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 1}),
    )
    .await;
    let dir = shared["url"].as_str().unwrap().to_owned();
    let (status, headers, body) = server.fetch(&format!("{dir}?json=1"), None).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let listing: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        listing,
        json!([
            {"filename": "a.txt", "link": a, "size": 3, "password": 0, "acl": 0},
            {"filename": "b.txt", "link": b, "size": 4, "password": 0, "acl": 0},
        ])
    );
    let (status, _, html) = server.fetch(&dir, None).await.unwrap();
    assert_eq!(status, 200);
    let html = String::from_utf8(html).unwrap();
    let share_id = dir.rsplit('/').next().unwrap();
    assert!(html.contains("Shared folder pub"), "{html}");
    // Each file's upload date, and how to take them all.
    assert!(html.contains("<th scope=\"col\">Date</th>"), "{html}");
    assert!(
        html.contains(&format!("1fichier dl-dir {share_id}")),
        "{html}"
    );
    let (status, _, _) = server
        .fetch(
            &format!("{}/en/dir/{share_id}?json=1", server.base_url()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);

    // With a password: the plain GET shows the form; POST json=1&pass= gives the array.
    ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 1, "pass": "opensesame"}),
    )
    .await;
    let (_, _, form) = server.fetch(&format!("{dir}?json=1"), None).await.unwrap();
    assert!(!form.starts_with(b"["));
    let post = |pass: &'static str| {
        server
            .client()
            .post(&dir)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("json=1&pass={pass}"))
            .send()
    };
    let wrong = post("nope").await.unwrap();
    assert_eq!(wrong.status(), 403);
    let right: Value = post("opensesame").await.unwrap().json().await.unwrap();
    assert_eq!(
        right[0]["password"], 1,
        "files inherit the folder's password"
    );

    ok(
        &server,
        &key,
        "folder/share.cgi",
        json!({"folder_id": folder, "share": 0}),
    )
    .await;
    let (status, _, _) = server.fetch(&format!("{dir}?json=1"), None).await.unwrap();
    assert_eq!(status, 404);
    let (status, _, _) = server
        .fetch(
            &format!("{}/dir/NoSuchDir1?json=1", server.base_url()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);

    ok(
        &server,
        &key,
        "file/chattr.cgi",
        json!({"urls": [b], "pass": "secret1"}),
    )
    .await;
    let body = format!(
        "links[]={}&links[]={}&links[]={}&links[]={}",
        a, b, "https://1fichier.com/?zzzzzzzzzzzzzzzzzzzz", "https://1fichier.com/dir/nope"
    );
    let lines = server
        .client()
        .post(format!("{}/check_links.pl", server.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            body.replace('?', "%3F")
                .replace(':', "%3A")
                .replace('/', "%2F"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        lines,
        format!(
            "{a};a.txt;3\n{b};;;PRIVATE\nhttps://1fichier.com/?zzzzzzzzzzzzzzzzzzzz;;;NOT FOUND\nhttps://1fichier.com/dir/nope;;;BAD LINK\n"
        )
    );
}

#[tokio::test]
async fn scans_find_eicar_and_delete_the_file() {
    let (server, key) = server(&[]).await;
    let eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".to_vec();
    let mut hidden = data(300_000, 5);
    hidden.splice(262_100..262_100, eicar.iter().copied());
    let (id, _) = server
        .upload(
            Some(&key),
            &[
                ("clean.bin", data(1000, 6)),
                ("eicar.com", eicar),
                ("hidden.bin", hidden),
            ],
            &[],
        )
        .await
        .unwrap();
    let links: Vec<String> = server.end_report(&id).await.unwrap().json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["download"].as_str().unwrap().to_owned())
        .collect();
    let clean = ok(&server, &key, "file/scan.cgi", json!({"url": links[0]})).await;
    assert!(clean.get("date").is_none());
    let cached = ok(&server, &key, "file/scan.cgi", json!({"url": links[0]})).await;
    assert!(
        cached["date"].is_string(),
        "the second answer comes from the cache"
    );
    for link in &links[1..] {
        let infected = server
            .post(Some(&key), "file/scan.cgi", json!({"url": link}))
            .await
            .unwrap();
        assert!(
            infected.ko_message().unwrap().starts_with("Virus found"),
            "{}",
            infected.text
        );
        let gone = server
            .post(Some(&key), "file/info.cgi", json!({"url": link}))
            .await
            .unwrap();
        assert_eq!(gone.status, 404);
    }
    assert_eq!(blob_files(&server).await, 1);
}

async fn wait_for_job(server: &TestServer, key: &str, id: i64) -> Value {
    for _ in 0..100 {
        let info = ok(server, key, "remote/info.cgi", json!({"id": id})).await;
        if info["execution_date"] != "" {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("remote job {id} did not finish");
}

#[tokio::test]
async fn remote_uploads_fetch_urls_and_refuse_internal_targets() {
    // The source: a direct URL served by a second server.
    let (source, source_key) = server(&[]).await;
    let bytes = data(200_000, 8);
    let (id, _) = source
        .upload(
            Some(&source_key),
            &[("remote source.bin", bytes.clone())],
            &[],
        )
        .await
        .unwrap();
    let link = source.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let direct = download_url(&source, &source_key, &link).await;

    let (guarded, key) = server(&[]).await;
    let job = ok(
        &guarded,
        &key,
        "remote/request.cgi",
        json!({"urls": [direct]}),
    )
    .await;
    let info = wait_for_job(&guarded, &key, job["id"].as_i64().unwrap()).await;
    assert_eq!(info["result"][0]["status"], "KO");
    assert!(
        info["result"][0]["message"]
            .as_str()
            .unwrap()
            .contains("internal address"),
        "{info}"
    );
    assert_eq!(
        ok(&guarded, &key, "file/ls.cgi", json!({"folder_id": -1})).await["count"],
        0
    );

    // The source's direct links are on its download host, `localhost` (another origin than
    // its site on 127.0.0.1).
    let (allowed, key) = server(&["--remote-allow-host", "localhost"]).await;
    let folder = ok(
        &allowed,
        &key,
        "folder/mkdir.cgi",
        json!({"name": "fetched"}),
    )
    .await["folder_id"]
        .as_i64()
        .unwrap();
    let job = ok(
        &allowed,
        &key,
        "remote/request.cgi",
        json!({
            "urls": [direct, "http://127.0.0.1:9/refused"], "folder_id": folder,
            "headers": {"x-custom-token": "abc=1"}
        }),
    )
    .await;
    assert_eq!(job["headers"], json!({"X-Custom-Token": "abc=1"}));
    let info = wait_for_job(&allowed, &key, job["id"].as_i64().unwrap()).await;
    assert_eq!(info["links"].as_array().unwrap().len(), 2);
    assert_eq!(info["result"][0]["status"], "OK", "{info}");
    assert_eq!(info["result"][1]["status"], "KO", "{info}");
    let listed = ok(&allowed, &key, "file/ls.cgi", json!({"folder_id": folder})).await;
    assert_eq!(listed["items"][0]["filename"], "remote source.bin");
    assert_eq!(listed["items"][0]["checksum"], whirlpool(&bytes));
    assert_eq!(
        listed["items"][0]["url"],
        info["result"][0]["download_link"]
    );
    let jobs = ok(&allowed, &key, "remote/ls.cgi", json!({})).await;
    assert_eq!(jobs["data"][0]["id"], job["id"]);

    for bad in [
        json!({"urls": []}),
        json!({"urls": ["ftp://example.com/x"]}),
        json!({"urls": ["https://example.com/x"], "headers": {"Bad Name": "x"}}),
        json!({"urls": ["https://example.com/x"], "headers": {"X-A": "semi;colon"}}),
    ] {
        let refused = allowed
            .post(Some(&key), "remote/request.cgi", bad.clone())
            .await
            .unwrap();
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
}

#[tokio::test]
async fn a_kill_in_mid_upload_leaves_no_file_and_no_space_used() {
    use tokio::io::AsyncWriteExt;
    let (mut server, key) = server(&[]).await;
    let (node, id) = server.upload_server(Some(&key)).await.unwrap();
    // Send the head of a large upload, then kill the server while it waits for the rest.
    let mut stream = tokio::net::TcpStream::connect(&node).await.unwrap();
    let boundary = "XyZboundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"huge.bin\"\r\n\r\n"
    );
    let request = format!(
        "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {node}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000000\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let chunk = data(1 << 20, 11);
    for _ in 0..4 {
        stream.write_all(&chunk).await.unwrap();
    }
    stream.flush().await.unwrap();
    // Let the server write what it received.
    for _ in 0..50 {
        if staging_files(&server).is_none_or(|n| n > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(staged) = staging_files(&server) {
        assert_eq!(staged, 1, "the upload is staged while in flight");
    }
    server.kill().unwrap();
    drop(stream);
    server.start(&["--limits", "off"]).unwrap();
    assert_eq!(
        staging_files(&server).unwrap_or(0),
        0,
        "start-up collects the staged leftovers"
    );
    assert_eq!(blob_files(&server).await, 0);
    assert_eq!(
        ok(&server, &key, "file/ls.cgi", json!({"folder_id": -1})).await["count"],
        0
    );
    assert_eq!(
        ok(&server, &key, "user/info.cgi", json!({})).await["hot_storage"],
        0
    );

    // A client that disconnects in mid-upload leaves nothing either, without a restart.
    let (node, id) = server.upload_server(Some(&key)).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(&node).await.unwrap();
    let request = format!(
        "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {node}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000000\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&chunk).await.unwrap();
    drop(stream);
    for _ in 0..100 {
        if staging_files(&server).unwrap_or(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(staging_files(&server).unwrap_or(0), 0);
    assert_eq!(blob_files(&server).await, 0);
}

/// The `sh` recipes of README's "Using the server", as written, against a `--dev` server: the
/// shell holds the lines the server printed, as the README says, and nothing else.
#[tokio::test]
async fn the_readme_recipes_run_as_written_against_a_dev_server() {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split_once("\n## Using the server\n")
        .expect("README has a \"Using the server\" section")
        .1;
    let section = section.split("\n## ").next().unwrap();
    let recipes: Vec<&str> = section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("\n```").next().unwrap())
        .collect();
    assert!(!recipes.is_empty(), "no sh recipe in the section");
    let mut server = TestServer::new(BIN).unwrap();
    server.start(&["--dev", "--limits", "off"]).unwrap();
    let key = std::fs::read_to_string(server.data_dir().join("demo-api-key")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut said = String::new();
    for recipe in recipes {
        let output = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", recipe])
            .current_dir(work.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("ONEFICHIER_API_URL", server.api_url())
            .env("ONEFICHIER_API_KEY", key.trim())
            .env("ONEFICHIER_BUDGETS", "unlimited")
            .output()
            .expect("bash runs (the recipes also need curl and jq)");
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{recipe}\n--- stdout\n{printed}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        said.push_str(&printed);
    }
    // The upload recipe's answers: the redirect, end.pl's report, the folder's listing.
    let address = server.address();
    assert!(
        said.contains(&format!("302 http://{address}/end.pl?xid=")),
        "{said}"
    );
    // After the redirect's line, the JSON answers as jq printed them.
    let after_redirect = said
        .split_once("xid=")
        .unwrap()
        .1
        .split_once('\n')
        .unwrap()
        .1;
    let answers: Vec<Value> = serde_json::Deserializer::from_str(after_redirect)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {said}"));
    let answer = |field: &str| -> Value {
        answers
            .iter()
            .find(|a| a.get(field).is_some())
            .unwrap_or_else(|| panic!("no answer with {field}: {said}"))
            .clone()
    };
    let report = answer("links");
    assert_eq!(report["links"][0]["filename"], "notes.txt", "{said}");
    assert_eq!(report["links"][0]["size"], "16", "{said}");
    assert_eq!(
        report["links"][0]["whirlpool"],
        whirlpool(b"hello, 1fichier\n")
    );
    let listing = answer("items");
    assert_eq!(listing["items"][0]["filename"], "notes.txt", "{said}");
}

/// A client that sends a file over the limit whole, without reading before its last byte (as
/// HTTP clients do), reads the 413: the server reads on past the refusal instead of closing on a
/// client still sending, whose writes would meet a reset and lose the answer.
#[tokio::test]
async fn a_file_over_the_limit_sent_whole_gets_its_413_not_a_reset() {
    use std::io::{Read, Write};
    let (server, key) = server(&["--max-file-size", "1048576"]).await;
    let (node, id) = server.upload_server(Some(&key)).await.unwrap();
    let file = data(24 * 1024 * 1024, 3);
    let boundary = "lingerboundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + file.len() + tail.len();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&node).unwrap();
        write!(
            stream,
            "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {node}\r\nConnection: close\r\n\
             Authorization: Bearer {key}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {length}\r\n\r\n{head}"
        )
        .unwrap();
        stream
            .write_all(&file)
            .and_then(|()| stream.write_all(tail.as_bytes()))
            .expect("the whole request is read, refusal or not");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
