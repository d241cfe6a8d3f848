//! The real `1fichier` binary against the real server binary on loopback: commands in human and
//! `--json` form, every error class with its exit code, credentials handling, and a download
//! interrupted by SIGINT then resumed. No test touches the user's config or keyring: every run
//! gets its own ONEFICHIER_CONFIG_DIR and ONEFICHIER_KEYRING=off.

use crate::common;

use common::{Env, assert_owner_only, write};
use serde_json::Value;

#[test]
fn login_status_logout_and_private_files() {
    let env = Env::new(&[]);
    let login = env
        .cli()
        .args(["auth", "login", "--stdin"])
        .write_stdin(format!("{}\n", env.key))
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let credentials = env.home.path().join("config/credentials.toml");
    assert_owner_only(&credentials);
    let status = env.cli().args(["auth", "status"]).output().unwrap();
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(
        text.contains("credentials.toml") && text.contains("user@example.com"),
        "{text}"
    );
    assert!(!text.contains(&env.key), "the key is never shown");
    let json: Value = serde_json::from_slice(
        &env.cli()
            .args(["--json", "auth", "status"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["email"], "user@example.com");
    // Profiles keep keys apart.
    let other = env
        .cli()
        .args(["--profile", "backup", "auth", "status"])
        .output()
        .unwrap();
    assert_eq!(
        other.status.code(),
        Some(3),
        "no key: the authentication exit code"
    );

    // The server the key was checked against is kept with the profile: a self-hoster need not
    // export its URL in every shell. config.toml holds no secret, so its mode is free.
    let config = env.home.path().join("config/config.toml");
    let kept = std::fs::read_to_string(&config).unwrap();
    assert!(kept.contains(&env.server.api_url()), "{kept}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let without_env = env
        .cli()
        .env_remove("ONEFICHIER_API_URL")
        .args(["--json", "whoami"])
        .output()
        .unwrap();
    assert!(
        without_env.status.success(),
        "{}",
        String::from_utf8_lossy(&without_env.stderr)
    );
    let whoami: Value = serde_json::from_slice(&without_env.stdout).unwrap();
    assert!(whoami["cdn_credits_gb"].is_number(), "{whoami}");
    // A broken config.toml says why without -v.
    std::fs::write(&config, "[profiles.default\napi_url = 1\n").unwrap();
    let broken = env.cli().args(["whoami"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        stderr.contains("config.toml: ") && stderr.len() > 40,
        "{stderr}"
    );
    std::fs::write(&config, kept).unwrap();

    // A credentials file others can read is refused, with the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = env.cli().args(["whoami"]).output().unwrap();
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("chmod 600"));
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let bad = env
        .cli()
        .args(["auth", "login", "--stdin"])
        .write_stdin("0123456789abcdefghijABCDEFGHIJ01\n")
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(3),
        "a wrong key is checked, not stored"
    );
    let logout = env.cli().args(["auth", "logout"]).output().unwrap();
    assert!(logout.status.success());
    assert_eq!(
        env.cli().args(["whoami"]).output().unwrap().status.code(),
        Some(3),
        "no key any more"
    );

    // A key on the command line works, with a warning.
    let flagged = env
        .cli()
        .args(["--api-key", &env.key, "whoami"])
        .output()
        .unwrap();
    assert!(flagged.status.success());
    assert!(String::from_utf8_lossy(&flagged.stderr).contains("visible to other users"));
}

/// With the keyring on (the default) but no keyring service reachable, as on a server or in a
/// container, the key goes to the owner-only file and the next command finds it there.
#[test]
fn without_a_reachable_keyring_the_key_falls_back_to_the_file() {
    let env = Env::new(&[]);
    let unreachable_bus = format!(
        "unix:path={}",
        env.home.path().join("no-such-bus").display()
    );
    let cli = || {
        let mut command = env.cli();
        command
            .env_remove("ONEFICHIER_KEYRING")
            .env("DBUS_SESSION_BUS_ADDRESS", &unreachable_bus);
        command
    };
    let login = cli()
        .args(["auth", "login", "--stdin"])
        .write_stdin(format!("{}\n", env.key))
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let file = env.home.path().join("config/credentials.toml");
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("credentials.toml"),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert_owner_only(&file);
    let who = cli().args(["--json", "whoami"]).output().unwrap();
    assert!(
        who.status.success(),
        "{}",
        String::from_utf8_lossy(&who.stderr)
    );
}

/// Passwords of files come from a pipe or the terminal with `--password -`; one written on the
/// command line works but warns that `ps` shows it. (The owner needs no password to download, so
/// the one given here is only carried along.)
#[test]
fn file_passwords_are_read_from_stdin_and_argv_ones_warn() {
    let env = Env::new(&[]);
    let local = env.home.path().join("secret.txt");
    std::fs::write(&local, b"classified").unwrap();
    let upload = env
        .authed()
        .args([
            "--json",
            "upload",
            local.to_str().unwrap(),
            "/",
            "--password",
            "-",
        ])
        .write_stdin("hunter22\n")
        .output()
        .unwrap();
    assert!(
        upload.status.success(),
        "{}",
        String::from_utf8_lossy(&upload.stderr)
    );
    assert!(!String::from_utf8_lossy(&upload.stderr).contains("warning"));
    assert_eq!(env.json(&["info", "/secret.txt"])["pass"], 1);
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let right = env
        .authed()
        .args(["download", "/secret.txt", "-o", out.to_str().unwrap()])
        .args(["--password", "hunter22"])
        .output()
        .unwrap();
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    assert!(String::from_utf8_lossy(&right.stderr).contains("visible to other users"));
    assert_eq!(
        std::fs::read(out.join("secret.txt")).unwrap(),
        b"classified"
    );
}

#[test]
fn commands_in_text_and_json() {
    // Remote uploads fetch the server's own direct links, on its download host (`localhost`).
    let env = Env::new(&["--remote-allow-host", "localhost"]);
    let who = env.json(&["whoami"]);
    assert_eq!(who["email"], "user@example.com");
    assert_eq!(who["offer"], "premium");
    assert!(env.text(&["whoami"]).contains("Offer:          premium"));

    let local = env.home.path().join("photos");
    write(&local, "a.jpg", b"aaaa");
    write(&local, "trip/b.jpg", b"bbbbbbbb");
    write(&local, "trip/c d é.jpg", b"cc");
    let made = env.json(&["mkdir", "-p", "/backups/2026"]);
    assert!(made["folder_id"].as_i64().unwrap() > 0);
    let uploaded = env.json_lines(&["upload", local.to_str().unwrap(), "/backups/2026"]);
    assert_eq!(uploaded.len(), 3);
    assert!(uploaded.iter().all(|e| e["event"] == "uploaded"));
    let again = env.json_lines(&["upload", local.to_str().unwrap(), "/backups/2026"]);
    assert!(
        again.iter().all(|e| e["event"] == "skipped"),
        "identical files are skipped: {again:?}"
    );

    let listing = env.json(&["ls", "-R", "/backups"]);
    let paths: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for want in [
        "/backups/2026",
        "/backups/2026/photos",
        "/backups/2026/photos/a.jpg",
        "/backups/2026/photos/trip/c d é.jpg",
    ] {
        assert!(paths.contains(&want), "{want} in {paths:?}");
    }
    let plain = env.text(&["ls", "/backups/2026/photos"]);
    assert_eq!(plain, "trip/\na.jpg\n");
    assert!(env.text(&["tree", "/backups"]).contains("      trip/\n"));
    let info = env.json(&["info", "/backups/2026/photos/a.jpg"]);
    assert_eq!(info["size"], 4);
    let link = info["url"].as_str().unwrap().to_owned();
    assert_eq!(
        env.json(&["info", &link])["filename"],
        "a.jpg",
        "links work where files are expected"
    );

    let direct = env.text(&["link", "/backups/2026/photos/a.jpg"]);
    assert!(direct.trim().contains("/dl/"));

    let out = env.home.path().join("restore");
    std::fs::create_dir_all(&out).unwrap();
    let downloaded = env.json_lines(&["download", "/backups/2026/photos", out.to_str().unwrap()]);
    assert_eq!(downloaded.len(), 3);
    assert!(
        downloaded.iter().all(|e| e["verified"] == true),
        "{downloaded:?}"
    );
    assert_eq!(
        std::fs::read(out.join("photos/trip/c d é.jpg")).unwrap(),
        b"cc"
    );

    env.json(&["mkdir", "/archive"]);
    env.json(&["mv", "/backups/2026/photos/a.jpg", "/archive"]);
    env.json(&["cp", "/archive/a.jpg", "/backups"]);
    env.json(&["rename", "/archive/a.jpg", "first.jpg"]);
    env.json(&["rename", "/archive", "old-archive"]);
    assert_eq!(env.text(&["ls", "/old-archive"]), "first.jpg\n");
    env.json(&[
        "chattr",
        "/old-archive/first.jpg",
        "--description",
        "the first",
        "--inline",
        "on",
    ]);
    assert_eq!(
        env.json(&["info", "/old-archive/first.jpg"])["description"],
        "the first"
    );

    let shared = env.json(&["share", "/backups/2026/photos/trip"]);
    let url = shared["url"].as_str().unwrap().to_owned();
    let dl_dir = env.home.path().join("from-share");
    let fetched = env.json_lines(&["dl-dir", &url, "-o", dl_dir.to_str().unwrap()]);
    assert_eq!(fetched.len(), 2);
    assert_eq!(std::fs::read(dl_dir.join("b.jpg")).unwrap(), b"bbbbbbbb");
    env.json(&["unshare", "/backups/2026/photos/trip"]);

    let scan = env.json(&["scan", "/backups/a.jpg"]);
    assert_eq!(scan["status"], "OK");

    let job = env.json(&[
        "remote",
        "add",
        direct.trim(),
        "--to",
        "/old-archive",
        "--wait",
    ]);
    assert_eq!(job["result"][0]["status"], "OK", "{job}");
    // A job whose URL could not be fetched ends KO: --wait says so and fails.
    let stderr = env.fails(
        &[
            "remote",
            "add",
            "http://127.0.0.1:9/nothing",
            "--to",
            "/old-archive",
            "--wait",
        ],
        1,
    );
    assert!(stderr.contains("1 of 1 URLs failed"), "{stderr}");
    assert_eq!(
        env.json(&["remote", "ls"])["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let ftp = env
        .authed()
        .args(["ftp", "users", "add", "camera", "--stdin"])
        .write_stdin("secret1\n")
        .output()
        .unwrap();
    assert!(
        ftp.status.success(),
        "{}",
        String::from_utf8_lossy(&ftp.stderr)
    );
    assert_eq!(
        env.json(&["ftp", "users", "ls"])["items"][0]["user"],
        "camera"
    );
    env.json(&["ftp", "users", "rm", "camera"]);
    env.json(&["ftp", "process"]);
    let code = env.create_voucher("premium-30d");
    assert_eq!(env.json(&["vouchers", "ls"])["count"], 1);
    assert_eq!(
        env.json(&["vouchers", "check", &code])["service"],
        "premium-30d"
    );

    env.json(&["rm", "--yes", "/backups/a.jpg"]);
    env.json(&["rmdir", "--recursive", "--yes", "/backups"]);
    assert!(!env.text(&["ls"]).contains("backups/"));

    let hashed = env.text(&["hash", local.join("a.jpg").to_str().unwrap()]);
    assert!(
        hashed.starts_with(&onefichier_client::protocol::checksum::Whirlpool::hex_digest(b"aaaa"))
    );
    let completions = env.cli().args(["completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&completions.stdout).contains("1fichier"));
    let man = env.cli().args(["man"]).output().unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH"));
}

#[test]
fn every_error_class_has_its_exit_code() {
    let env = Env::new(&["--max-file-size", "100"]);
    let stderr = env.fails(
        &["--api-key", "0123456789abcdefghijABCDEFGHIJ01", "whoami"],
        3,
    );
    assert!(
        stderr.contains("regenerate the key and update your script"),
        "{stderr}"
    );
    env.fails(&["info", "/nothing/here.txt"], 4);
    env.fails(&["info", "https://1fichier.com/?zzzzzzzzzzzzzzzzzzzz"], 4);
    let big = env.home.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 1000]).unwrap();
    let stderr = env.fails(&["upload", big.to_str().unwrap()], 7);
    assert!(stderr.contains("split the file"), "{stderr}");
    let small = env.home.path().join("small.bin");
    std::fs::write(&small, b"secret").unwrap();
    let lines = env.json_lines(&[
        "upload",
        small.to_str().unwrap(),
        "--password",
        "opensesame",
    ]);
    let link = lines[0]["link"].as_str().unwrap().to_owned();
    let other = env
        .server
        .account_with_key("other@example.com", "premium")
        .unwrap();
    let output = env
        .cli()
        .env("ONEFICHIER_API_KEY", &other)
        .args(["download", &link])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    env.fails(&["rm", "/small.bin"], 2);
    env.fails(&["no-such-command"], 2);
    // A last name that is neither remote nor an existing local folder: told how to make it the
    // destination, nothing downloaded, not found (4).
    let new_folder = env.home.path().join("not-yet");
    let stderr = env.fails(&["download", "/small.bin", new_folder.to_str().unwrap()], 4);
    assert!(
        stderr.contains(&format!("say -o {}", new_folder.display())),
        "{stderr}"
    );
    assert!(!new_folder.exists());
    let offline = env
        .authed()
        .env("ONEFICHIER_API_URL", "http://127.0.0.1:9/v1")
        .args(["ls"])
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(8));

    // Verification: corrupt the stored bytes.
    let blobs = env.server.data_dir().join("blobs");
    for shard in std::fs::read_dir(&blobs)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".staging")
    {
        for blob in std::fs::read_dir(shard.path()).unwrap() {
            let path = blob.unwrap().path();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[0] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let stderr = env.fails(&["download", "/small.bin", "-o", out.to_str().unwrap()], 9);
    assert!(stderr.contains("nothing was saved"), "{stderr}");
    assert!(!out.join("small.bin").exists());
    assert!(!out.join("small.bin.part").exists());
}

#[test]
fn ctrl_c_leaves_a_resumable_download() {
    use onefichier_test_support::fault::spawn_slow_relay;
    use std::sync::{Arc, Mutex};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = Arc::new(Mutex::new(None));
    let relay = runtime
        .block_on(spawn_slow_relay(Arc::clone(&upstream), 4 << 20))
        .unwrap();
    let relay_host = relay.to_string();
    let env = Env::new(&["--download-host", &relay_host]);
    *upstream.lock().unwrap() = Some(env.server.address().parse().unwrap());
    let bytes: Vec<u8> = (0..(24u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let source = env.home.path().join("movie.bin");
    std::fs::write(&source, &bytes).unwrap();
    env.json_lines(&["upload", source.to_str().unwrap()]);
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();

    let child = env
        .std_cli()
        .env("ONEFICHIER_API_KEY", &env.key)
        .args([
            "--json",
            "download",
            "/movie.bin",
            "-o",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let part = out.join("movie.bin.part");
    for _ in 0..200 {
        if std::fs::metadata(&part).is_ok_and(|m| m.len() > 1 << 20) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("run the same command again to resume")
    );
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 0 && kept < bytes.len() as u64, "{kept}");

    let resumed = env.json_lines(&["download", "/movie.bin", "-o", out.to_str().unwrap()]);
    assert_eq!(resumed[0]["verified"], true);
    assert!(
        resumed[0]["resumed_from"].as_u64().unwrap() > 0,
        "{resumed:?}"
    );
    assert_eq!(std::fs::read(out.join("movie.bin")).unwrap(), bytes);
}

#[test]
fn a_changed_file_is_kept_beside_replaced_skipped_or_refused_as_asked() {
    let env = Env::new(&[]);
    let dir = env.home.path().join("docs");
    write(&dir, "notes.txt", b"first version");
    let notes = dir.join("notes.txt");
    let notes = notes.to_str().unwrap();
    let first = env.json_lines(&["upload", notes, "/docs"]);
    let first_link = first[0]["link"].as_str().unwrap().to_owned();
    write(&dir, "notes.txt", b"second version, longer");

    // Refused: the error names the remote file and the choices; nothing is sent.
    let stderr = env.fails(&["upload", "--existing", "fail", notes, "/docs"], 1);
    assert!(
        stderr.contains("already holds notes.txt") && stderr.contains("--existing"),
        "{stderr}"
    );
    // Skipped: reported with the remote file's link.
    let skipped = env.json_lines(&["upload", "--existing", "skip", notes, "/docs"]);
    assert_eq!(skipped[0]["event"], "skipped");
    assert_eq!(skipped[0]["reason"], "exists");
    assert_eq!(skipped[0]["link"], first_link.as_str());
    let names = |env: &Env| {
        env.json(&["ls", "/docs"])["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["size"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&env), [("notes.txt".to_owned(), 13)]);

    // Replaced: the new file is uploaded and verified, then the old one is removed.
    let replaced = env.json_lines(&["upload", "--existing", "replace", notes, "/docs"]);
    assert_eq!(replaced[0]["event"], "uploaded");
    assert_eq!(replaced[0]["replaced"], serde_json::json!([first_link]));
    assert_eq!(names(&env), [("notes.txt".to_owned(), 22)]);
    env.fails(&["info", &first_link], 4);

    // The default keeps both.
    write(&dir, "notes.txt", b"third");
    let kept = env.json_lines(&["upload", notes, "/docs"]);
    assert_eq!(kept[0]["replaced"], serde_json::json!([]));
    assert_eq!(names(&env).len(), 2);
}

/// The Whirlpool the hash cache holds for `path`; with `set`, first replaces it.
fn hash_cache_entry(database: &std::path::Path, path: &str, set: Option<&str>) -> Option<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let url = format!("sqlite://{}", database.display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            if let Some(whirlpool) = set {
                sqlx::query("update hashes set whirlpool = ? where path = ?")
                    .bind(whirlpool)
                    .bind(path)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sqlx::query_scalar("select whirlpool from hashes where path = ?")
                .bind(path)
                .fetch_optional(&pool)
                .await
                .unwrap()
        })
}

#[test]
fn the_hash_cache_spares_rereading_unchanged_files_and_never_trusts_changed_ones() {
    let env = Env::new(&[]);
    let dir = env.home.path().join("data");
    write(&dir, "big.bin", &[7u8; 100_000]);
    let file = dir.join("big.bin");
    let path = file.to_str().unwrap();
    let first = env.json_lines(&["upload", path, "/data"]);
    assert_eq!(first[0]["event"], "uploaded");
    // What the upload verified is remembered, privately.
    let cache_file = env.home.path().join("state/hashes.sqlite");
    assert_owner_only(&cache_file);
    let absolute = std::path::absolute(&file).unwrap();
    let key = absolute.to_str().unwrap();
    assert_eq!(
        hash_cache_entry(&cache_file, key, None).as_deref(),
        first[0]["whirlpool"].as_str()
    );
    assert_eq!(
        env.json_lines(&["upload", path, "/data"])[0]["event"],
        "skipped"
    );

    // The cache is what decides for an unchanged file: a (deliberately) wrong entry makes the
    // file look different, so it is sent again.
    hash_cache_entry(&cache_file, key, Some(&"00".repeat(64)));
    assert_eq!(
        env.json_lines(&["upload", path, "/data"])[0]["event"],
        "uploaded"
    );

    // A file changed in place, same size, modification time put back: its status-change time
    // moved, so the entry no longer holds and the new content is hashed.
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    write(&dir, "big.bin", &[8u8; 100_000]);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let after = env.json_lines(&["upload", "--existing", "replace", path, "/data"]);
    assert_eq!(after[0]["event"], "uploaded", "{after:?}");
    assert_ne!(after[0]["whirlpool"], first[0]["whirlpool"]);

    // A verified download is remembered too, so the next run skips it without reading it.
    let restored = env.home.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    let link = after[0]["link"].as_str().unwrap();
    env.json_lines(&["download", link, "-o", restored.to_str().unwrap()]);
    let downloaded = std::path::absolute(restored.join("big.bin")).unwrap();
    assert_eq!(
        hash_cache_entry(&cache_file, downloaded.to_str().unwrap(), None).as_deref(),
        after[0]["whirlpool"].as_str()
    );
    let again = env.json_lines(&["download", link, "-o", restored.to_str().unwrap()]);
    assert_eq!(again[0]["event"], "skipped");

    // Off by request: no hash is trusted or written (a wrong entry no longer matters).
    hash_cache_entry(&cache_file, key, Some(&"00".repeat(64)));
    let output = env
        .authed()
        .env("ONEFICHIER_HASH_CACHE", "off")
        .args(["--json", "upload", path, "/data"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let event: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(event["event"], "skipped", "{event}");
    assert_eq!(
        hash_cache_entry(&cache_file, key, None),
        Some("00".repeat(64))
    );
}

#[test]
fn downloads_never_destroy_a_different_local_file_unless_asked() {
    let env = Env::new(&[]);
    let src = env.home.path().join("src");
    let a = src.join("a.txt");
    let a = a.to_str().unwrap();
    write(&src, "a.txt", b"remote one");
    env.json_lines(&["upload", a, "/docs"]);
    write(&src, "a.txt", b"remote two, longer");
    env.json_lines(&["upload", a, "/docs"]);
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let out_arg = out.to_str().unwrap();
    let docs = out.join("docs");
    let read = |name: &str| std::fs::read(docs.join(name)).unwrap();

    // Two remote files of one name: each gets its own local name (and partial file).
    let first = env.json_lines(&["download", "/docs", "-o", out_arg]);
    assert_eq!(
        first.iter().filter(|e| e["event"] == "downloaded").count(),
        2,
        "{first:?}"
    );
    let mut contents = vec![read("a.txt"), read("a (2).txt")];
    contents.sort();
    assert_eq!(
        contents,
        [b"remote one".to_vec(), b"remote two, longer".to_vec()]
    );
    let a_remote = read("a.txt");

    // Run again: nothing to fetch.
    let again = env.json_lines(&["download", "/docs", "-o", out_arg]);
    assert!(
        again
            .iter()
            .all(|e| e["event"] == "skipped" && e["reason"] == "identical"),
        "{again:?}"
    );

    // A local edit is never overwritten by default: the remote file goes beside it.
    std::fs::write(docs.join("a.txt"), b"my local edit").unwrap();
    let kept = env.json_lines(&["download", "/docs", "-o", out_arg]);
    let downloaded: Vec<_> = kept.iter().filter(|e| e["event"] == "downloaded").collect();
    assert_eq!(downloaded.len(), 1, "{kept:?}");
    assert!(
        downloaded[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("a (3).txt"),
        "{kept:?}"
    );
    assert_eq!(read("a.txt"), b"my local edit");
    assert_eq!(read("a (3).txt"), a_remote);

    // Asked to fail, or to skip: the edit stays.
    let stderr = env.fails(
        &["download", "--existing", "fail", "/docs", "-o", out_arg],
        1,
    );
    assert!(
        stderr.contains("exists with other content") && stderr.contains("--existing"),
        "{stderr}"
    );
    let skipped = env.json_lines(&["download", "--existing", "skip", "/docs", "-o", out_arg]);
    assert!(
        skipped.iter().any(|e| e["reason"] == "exists"),
        "{skipped:?}"
    );
    assert_eq!(read("a.txt"), b"my local edit");

    // Asked to replace: the verified remote file takes its place.
    env.json_lines(&["download", "--existing", "replace", "/docs", "-o", out_arg]);
    assert_eq!(read("a.txt"), a_remote);
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_fails() {
    use std::io::{BufRead, BufReader};
    let env = Env::new(&[]);
    for args in [&["completions", "zsh"][..], &["man"][..]] {
        let mut child = env
            .std_cli()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe, as `| head -1` does.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!first.is_empty());
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = env
        .std_cli()
        .env("ONEFICHIER_API_KEY", &env.key)
        .args(["--json", "ls", "/"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

#[test]
fn names_the_service_would_refuse_are_caught_before_any_call() {
    let env = Env::new(&[]);
    env.json(&["mkdir", "/docs"]);
    for (args, expected) in [
        (
            &["rename", "/docs", "a/b"][..],
            "one component: to move, use `1fichier mv`",
        ),
        (&["rename", "/docs", ".."][..], "reserved"),
        (&["mkdir", "-p", "/a/../b"][..], "reserved"),
        (&["mkdir", "/x\u{202E}y"][..], "bidirectional"),
    ] {
        let stderr = env.fails(args, 2);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let listed = env.json(&["ls", "/"]);
    assert_eq!(listed["entries"].as_array().unwrap().len(), 1, "{listed}");

    // What a user tripped on: each now says what is going on.
    let again = env
        .authed()
        .args(["mkdir", "-p", "/docs"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("/docs exists already"));
    let stderr = env.fails(&["rm", "--yes", "/docs"], 4);
    assert!(
        stderr.contains("is a folder: remove it with `1fichier rmdir /docs`"),
        "{stderr}"
    );
    let no_v1 = env
        .authed()
        .env("ONEFICHIER_API_URL", env.server.base_url())
        .args(["ls", "/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&no_v1.stderr);
    assert!(stderr.contains("usually ends with /v1"), "{stderr}");
    let gone = env
        .authed()
        .env("ONEFICHIER_API_URL", "http://127.0.0.1:9/v1")
        .env("ONEFICHIER_MAX_WAIT", "1")
        .args(["ls", "/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        stderr.contains("cannot connect to http://127.0.0.1:9"),
        "{stderr}"
    );
}

#[test]
fn waits_for_the_service_are_explained_or_refused_past_max_wait() {
    // The live service's budgets on both sides: one listing of a folder per 30 s.
    let (server, key, home) = common::live(false);
    let cli = |args: &[&str]| common::live_cli(&server, &key, home.path(), args);
    let first = cli(&["ls", "/"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // A fresh listing of the same folder at once would wait about 30 s: with --max-wait 2 it
    // fails at once, with the limit exit code, saying why and when to retry.
    let second = cli(&["--fresh", "--max-wait", "2", "ls", "/"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("the service allows one listing of the root folder per 30 s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--max-wait") && stderr.contains("retry after"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_uploaded_tree_lists_what_it_leaves_out_and_why() {
    let env = Env::new(&[]);
    let tree = env.home.path().join("tree");
    write(&tree, "a.txt", b"aaa");
    write(&tree, "sub/b.txt", b"bbb");
    write(&tree, "empty.txt", b"");
    std::os::unix::fs::symlink(tree.join("a.txt"), tree.join("link.txt")).unwrap();
    let fifo = tree.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let events = env.json_lines(&["upload", tree.to_str().unwrap(), "/t"]);
    let uploaded = events.iter().filter(|e| e["event"] == "uploaded").count();
    assert_eq!(uploaded, 2, "{events:?}");
    let left: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "left-out")
        .map(|e| {
            let path = std::path::PathBuf::from(e["local"].as_str().unwrap());
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        [
            ("empty.txt".to_owned(), "empty".to_owned()),
            ("link.txt".to_owned(), "symlink".to_owned()),
            ("pipe".to_owned(), "special".to_owned()),
        ]
    );
    // Followed on request: the link's target goes up under the link's name.
    let followed = env.json_lines(&["upload", "--follow-symlinks", tree.to_str().unwrap(), "/t"]);
    assert!(
        followed.iter().any(|e| e["event"] == "skipped"
            && e["local"].as_str().unwrap().ends_with("link.txt")
            || e["event"] == "uploaded" && e["local"].as_str().unwrap().ends_with("link.txt")),
        "{followed:?}"
    );
    // `hash DIR` hashes what is under it and says what it cannot.
    let hashed = env
        .cli()
        .args(["hash", tree.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&hashed.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(String::from_utf8_lossy(&hashed.stderr).contains("not hashed"));
}

#[test]
fn mv_and_cp_take_a_new_path_as_mv_does() {
    let env = Env::new(&[]);
    let src = env.home.path().join("src");
    write(&src, "x.tar", b"tar bytes");
    write(&src, "w.txt", b"w");
    env.json_lines(&[
        "upload",
        src.join("x.tar").to_str().unwrap(),
        src.join("w.txt").to_str().unwrap(),
        "/a",
    ]);
    let names = |path: &str| -> Vec<String> {
        env.json(&["ls", path])["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let stderr = env.fails(&["mv", "/a/x.tar", "/b/y.tar"], 1);
    assert!(
        stderr.contains("no folder /b") && stderr.contains("-p"),
        "{stderr}"
    );
    env.authed()
        .args(["mv", "-p", "/a/x.tar", "/b/y.tar"])
        .assert()
        .success();
    assert_eq!(names("/b"), ["y.tar"]);
    env.authed()
        .args(["cp", "-p", "/b/y.tar", "/c/z.tar"])
        .assert()
        .success();
    assert_eq!(names("/c"), ["z.tar"]);
    // Several sources need a folder.
    let stderr = env.fails(&["mv", "/b/y.tar", "/a/w.txt", "/d"], 1);
    assert!(stderr.contains("no folder /d"), "{stderr}");
    env.authed()
        .args(["mv", "-p", "/b/y.tar", "/a/w.txt", "/d"])
        .assert()
        .success();
    let mut moved = names("/d");
    moved.sort();
    assert_eq!(moved, ["w.txt", "y.tar"]);
}

#[test]
fn the_man_page_refers_to_no_missing_page_and_documents_environment_and_exit_codes() {
    let env = Env::new(&[]);
    let page = env.cli().arg("man").output().unwrap();
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(
        !page.contains("(1)"),
        "no reference to pages that do not exist"
    );
    for section in [
        ".SH COMMANDS",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
        "ONEFICHIER_MAX_WAIT",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    let dir = env.home.path().join("man");
    env.cli()
        .args(["man", "--dir", dir.to_str().unwrap()])
        .assert()
        .success();
    for name in ["1fichier.1", "1fichier-upload.1", "1fichier-auth-login.1"] {
        assert!(dir.join(name).exists(), "{name} not written");
    }
    // The main page among them is the whole one, which now refers to the others.
    let main = std::fs::read_to_string(dir.join("1fichier.1")).unwrap();
    assert!(main.contains(".SH \"EXIT STATUS\""), "{main}");
    assert!(main.contains("\\fB1fichier-COMMAND\\fR(1)"), "{main}");
}

/// `--version` names the commit the binary was built from, as git describes this checkout.
#[test]
fn the_version_names_the_commit() {
    let env = Env::new(&[]);
    let said = env.cli().arg("--version").output().unwrap();
    let said = String::from_utf8(said.stdout).unwrap();
    let expected = format!("1fichier {} ", env!("CARGO_PKG_VERSION"));
    assert!(said.starts_with(&expected), "{said}");
    let git = std::process::Command::new("git")
        .args(["log", "-1", "--format=%h %cs", "--abbrev=12"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Ok(git) = git
        && git.status.success()
    {
        let commit = String::from_utf8(git.stdout).unwrap();
        assert_eq!(said.trim(), format!("{expected}({})", commit.trim()));
    }
}

#[test]
fn listings_are_shared_between_commands_and_patched_by_their_own_writes() {
    // The live service's limits, and the CLI's default (live) budgets.
    let (server, key, home) = common::live(true);
    let cli = |args: &[&str]| common::live_text(&server, &key, home.path(), args);
    let start = std::time::Instant::now();
    cli(&["ls", "/"]);
    cli(&["ls", "/"]);
    // mkdir -p of new folders costs no listing of them, and patches the root's.
    cli(&["mkdir", "-p", "/a/b/c"]);
    let listed = cli(&["ls", "/"]);
    assert!(listed.contains('a'), "{listed}");
    assert!(cli(&["ls", "/a/b/c"]).trim().is_empty());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "no listing budget waited: {:?}",
        start.elapsed()
    );
    assert_eq!(
        server.requests_to("/v1/folder/ls.cgi"),
        1,
        "one real listing in all"
    );

    // Renames, moves, removals and attribute changes patch the kept listings too: the next
    // `ls` of what they touched costs no listing (the service would make it wait 30 s).
    write(home.path(), "x.txt", b"x bytes");
    write(home.path(), "y.txt", b"y bytes");
    let (x, y) = (home.path().join("x.txt"), home.path().join("y.txt"));
    cli(&["upload", x.to_str().unwrap(), y.to_str().unwrap(), "/a"]);
    let listed = cli(&["ls", "/a"]);
    assert!(
        listed.contains("x.txt") && listed.contains("y.txt"),
        "{listed}"
    );
    let before = server.requests_to("/v1/folder/ls.cgi") + server.requests_to("/v1/file/ls.cgi");
    cli(&["rename", "/a/x.txt", "renamed.txt"]);
    let listed = cli(&["ls", "/a"]);
    assert!(
        listed.contains("renamed.txt") && !listed.contains("x.txt"),
        "{listed}"
    );
    cli(&["mv", "/a/renamed.txt", "/a/b"]);
    assert!(!cli(&["ls", "/a"]).contains("renamed.txt"));
    assert!(cli(&["ls", "/a/b"]).contains("renamed.txt"));
    cli(&["chattr", "/a/b/renamed.txt", "--password", "secret1"]);
    cli(&["rm", "--yes", "/a/y.txt"]);
    assert!(!cli(&["ls", "/a"]).contains("y.txt"));
    cli(&["mkdir", "/a/empty"]);
    cli(&["rename", "/a/empty", "vacant"]);
    let listed = cli(&["ls", "/a"]);
    assert!(
        listed.contains("vacant") && !listed.contains("empty"),
        "{listed}"
    );
    cli(&["rmdir", "/a/vacant"]);
    let listed = cli(&["ls", "/a"]);
    assert!(!listed.contains("vacant"), "{listed}");
    assert!(cli(&["ls", "/a/b"]).contains("renamed.txt"));
    assert_eq!(
        server.requests_to("/v1/folder/ls.cgi") + server.requests_to("/v1/file/ls.cgi"),
        before,
        "no listing after the CLI's own changes"
    );
}

#[test]
fn an_upload_only_key_uploads_without_seeing_files_and_says_so() {
    let env = Env::new(&[]);
    let key = env
        .server
        .admin(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "backup",
            "--scope",
            "upload",
        ])
        .unwrap();
    write(env.home.path(), "photo.jpg", b"pixels");
    let upload = |extra: &[&str]| {
        let mut command = env.cli();
        command
            .env("ONEFICHIER_API_KEY", &key)
            .arg("upload")
            .args(extra)
            .args(["photo.jpg", "/backups"]);
        command.output().unwrap()
    };
    let first = upload(&[]);
    assert!(first.status.success(), "{first:?}");
    // The modification time cannot be written by this key: no error, no tag.
    assert!(
        String::from_utf8_lossy(&first.stderr).is_empty(),
        "{first:?}"
    );
    let second = upload(&[]);
    assert!(second.status.success(), "{second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("may not see the files of /backups"), "{said}");
    let refused = upload(&["--existing", "skip"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--existing skip cannot be honoured")
    );
    // The owner's full key sees both copies; neither was deleted.
    let listed = env.text(&["ls", "/backups"]);
    assert_eq!(listed.matches("photo.jpg").count(), 2, "{listed}");
}

#[test]
fn a_lone_cli_on_default_budgets_meets_no_refusal_from_the_live_limits() {
    // Each command is its own process, as in a shell session, one after the other: the state
    // folder carries the budgets from one to the next.
    let (server, key, home) = common::live(true);
    let cli = |args: &[&str]| common::live_text(&server, &key, home.path(), args);
    let local = home.path().join("photos");
    for (name, bytes) in [
        ("a.jpg", &b"first photo"[..]),
        ("b.jpg", b"second photo"),
        ("2026/c.jpg", b"third photo"),
        ("2026/d.jpg", b"fourth photo"),
    ] {
        write(&local, name, bytes);
    }
    let local = local.to_str().unwrap();
    let restored = home.path().join("restored");
    let restored = restored.to_str().unwrap();
    cli(&["whoami"]);
    cli(&["--fresh", "whoami"]);
    cli(&["mkdir", "-p", "/backups/old"]);
    for year in ["2023", "2024", "2025"] {
        cli(&["mkdir", &format!("/backups/{year}")]);
    }
    cli(&["upload", local, "/backups"]);
    cli(&["ls", "/backups/photos"]);
    cli(&["ls", "-l", "/backups/photos/2026"]);
    cli(&["tree", "/"]);
    cli(&["--fresh", "ls", "/"]);
    cli(&["--fresh", "ls", "-l", "/backups/photos/2026"]);
    cli(&["info", "/backups/photos/a.jpg"]);
    cli(&["link", "/backups/photos/a.jpg"]);
    cli(&["rename", "/backups/photos/a.jpg", "first.jpg"]);
    cli(&["mv", "/backups/photos/b.jpg", "/backups/old"]);
    cli(&["cp", "/backups/old/b.jpg", "/backups/photos"]);
    cli(&[
        "chattr",
        "/backups/photos/first.jpg",
        "--password",
        "secret1",
    ]);
    cli(&["share", "/backups/old"]);
    cli(&["unshare", "/backups/old"]);
    cli(&["scan", "/backups/photos/2026/c.jpg"]);
    cli(&["remote", "ls"]);
    cli(&["download", "/backups/photos/2026/d.jpg", "-o", restored]);
    cli(&["rm", "--yes", "/backups/photos/first.jpg"]);
    cli(&["sync", local, "/backups/photos", "--delete"]);
    cli(&["sync", "/backups/photos", restored, "--delete"]);
    cli(&["rmdir", "--recursive", "--yes", "/backups/old"]);
    cli(&["ls", "/backups"]);
    // Four folders below /backups, one listing per 3 s: the walk says so before it starts.
    let tree = common::live_cli(&server, &key, home.path(), &["--fresh", "tree", "/backups"]);
    assert!(tree.status.success(), "{tree:?}");
    let said = String::from_utf8_lossy(&tree.stderr);
    assert!(
        said.contains(
            "listing 4 folders below /backups (and any folders inside them) takes at least 12 s: \
             the service allows one listing per 3 s"
        ),
        "{said}"
    );
    let refused: Vec<String> = server
        .log()
        .lines()
        .filter(|line| line.contains("request served") && line.contains("status=429"))
        .map(str::to_owned)
        .collect();
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

#[test]
fn a_server_that_is_not_there_is_reported_within_seconds() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let home = tempfile::tempdir().unwrap();
    for args in [&["ls", "/photos"][..], &["whoami"]] {
        let start = std::time::Instant::now();
        let output = common::live_cli_at(
            &format!("http://{address}/v1"),
            "0123456789abcdefghijABCDEFGHIJ01",
            home.path(),
            args,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(8), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot connect to http://{address}"))
                && stderr.contains("ONEFICHIER_API_URL"),
            "{stderr}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn wrong_kinds_of_paths_point_at_the_right_command() {
    let env = Env::new(&[]);
    write(env.home.path(), "a.txt", b"alpha");
    let local = env.home.path().join("a.txt");
    env.text(&["mkdir", "-p", "/docs/inner"]);
    env.text(&["upload", local.to_str().unwrap(), "/docs"]);
    // Times say their zone, this machine's.
    let info = env
        .authed()
        .env("TZ", "Europe/Paris")
        .args(["info", "/docs/a.txt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Uploaded:") && (l.ends_with(" CET") || l.ends_with(" CEST"))),
        "{text}"
    );
    let said = env.fails(&["ls", "/docs/a.txt"], 4);
    assert!(
        said.contains("is a file") && said.contains("1fichier info"),
        "{said}"
    );
    let said = env.fails(&["info", "/docs"], 4);
    assert!(
        said.contains("is a folder") && said.contains("1fichier ls"),
        "{said}"
    );
    let said = env.fails(&["rmdir", "/docs"], 1);
    assert!(said.contains("--recursive"), "{said}");
    let said = env.fails(&["rm", "--yes", "/docs/a.txt", "/docs/b.txt"], 4);
    assert!(said.contains("no file /docs/b.txt"), "{said}");
    let said = env.text(&["rm", "--yes", "/docs/a.txt"]);
    assert!(said.is_empty());
    // With --json, the error is a JSON event too.
    let output = env
        .authed()
        .args(["--json", "info", "/docs"])
        .output()
        .unwrap();
    let event: Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(event["event"], "error");
    assert_eq!(event["exit_code"], 4);
    assert!(event["message"].as_str().unwrap().contains("is a folder"));

    // `auth login` keeps an exported key when nothing is typed or piped in; with nothing at
    // all it says how to give one.
    let login = env
        .authed()
        .args(["auth", "login"])
        .write_stdin("")
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let nothing = env
        .cli()
        .args(["--profile", "other", "auth", "login"])
        .write_stdin("")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&nothing.stderr);
    assert!(
        said.contains("--stdin") && said.contains("ONEFICHIER_API_KEY"),
        "{said}"
    );
}
