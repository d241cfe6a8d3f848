//! What a server answers is untrusted. A scripted server that lists `../x`, `/etc/x`, `a/b`,
//! `..`, `.`, `con`, NUL and trailing dots or spaces never gets a file written outside the
//! destination, nor an existing file overwritten; one that names split parts `../x` or by
//! absolute paths, lists folders in a cycle, claims a trillion files, answers a gigabyte or
//! names files with terminal escapes gets a bounded, clear failure or escaped output.

use assert_cmd::Command;
use onefichier_test_support::fault::{FaultServer, Step};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use whirlpool::Digest;

const HOSTILE: [&str; 11] = [
    "../victim.txt",
    "/etc/x",
    "a/b",
    "..",
    ".",
    "con",
    "nul\0byte",
    "trailing. ",
    "dots...",
    "same.txt",
    "same.txt",
];

#[test]
fn dl_dir_keeps_every_hostile_name_inside_the_destination() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let node = runtime
        .block_on(FaultServer::routes(vec![(
            "/dl/",
            Step::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: b"remote bytes".to_vec(),
            },
        )]))
        .unwrap();
    let entries: Vec<_> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"filename": name, "link": format!("https://1fichier.com/?entry{i:015}"),
                   "size": 12, "password": 0, "acl": 0})
        })
        .collect();
    let token = json!({"status": "OK", "url": format!("{}/dl/token", node.url())});
    let api = runtime
        .block_on(FaultServer::routes(vec![
            (
                "/dir/",
                Step::json(200, &serde_json::to_string(&entries).unwrap()),
            ),
            (
                "/v1/download/get_token.cgi",
                Step::json(200, &token.to_string()),
            ),
        ]))
        .unwrap();

    let home = tempfile::tempdir().unwrap();
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dest = home.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let output = cli(home.path(), &api)
        .args(["dl-dir", "AbCdEf12", "-o", dest.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let mut written: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected = vec![
        ".._victim.txt",
        "_etc_x",
        "a_b",
        "__",
        "_",
        "con",
        "nul_byte",
        "trailing. ",
        "dots...",
        "same.txt",
        "same (2).txt",
    ];
    expected.sort_unstable();
    assert_eq!(written, expected);
    for name in &written {
        assert_eq!(std::fs::read(dest.join(name)).unwrap(), b"remote bytes");
    }
    // Nothing but the destination and the victim beside it (and the CLI's own folders).
    let mut beside: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "config" && n != "state")
        .collect();
    beside.sort();
    assert_eq!(beside, ["dest", "victim.txt"]);
}

/// The CLI against the scripted API at `api`, with a fresh home.
fn cli(home: &Path, api: &FaultServer) -> Command {
    let mut command = Command::cargo_bin("1fichier").unwrap();
    command
        .env_clear()
        .env("HOME", home)
        .env("ONEFICHIER_CONFIG_DIR", home.join("config"))
        .env("ONEFICHIER_STATE_DIR", home.join("state"))
        .env("ONEFICHIER_KEYRING", "off")
        .env("ONEFICHIER_BUDGETS", "unlimited")
        .env("ONEFICHIER_API_URL", format!("{}/v1", api.url()))
        .env("ONEFICHIER_API_KEY", "k".repeat(32))
        // Nothing here may hang: a hostile answer ends in a clear failure, in time.
        .timeout(Duration::from_secs(120));
    command
}

/// Runs the CLI with `args` against the scripted API, off the runtime's threads (the scripted
/// servers answer on them meanwhile).
async fn run(home: &Path, api: &FaultServer, args: &[&str]) -> std::process::Output {
    let mut command = cli(home, api);
    command.args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn whirlpool_hex(bytes: &[u8]) -> String {
    hex::encode(whirlpool::Whirlpool::digest(bytes))
}

fn item(name: &str, link: &str, bytes: &[u8]) -> Value {
    json!({"filename": name, "url": format!("https://1fichier.com/?{link}"), "size": bytes.len(),
           "date": "2026-01-02 03:04:05", "checksum": whirlpool_hex(bytes), "pass": 0, "acl": 0})
}

fn folder_listing(id: i64, name: &str, sub_folders: Value, items: Value) -> Step {
    let mut listing = json!({"status": "OK", "folder_id": id, "name": name,
                             "files": items.as_array().map_or(0, Vec::len)});
    listing["sub_folders"] = sub_folders;
    listing["items"] = items;
    Step::json(200, &listing.to_string())
}

/// The `folder_id` of a JSON request body.
fn folder_id(body: &[u8]) -> i64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["folder_id"].as_i64())
        .unwrap_or(0)
}

#[tokio::test]
async fn split_part_names_from_the_server_never_leave_the_destination() {
    let home = tempfile::tempdir().unwrap();
    // Two split files whose names climb out (`../victim.bin`) or are absolute; their parts,
    // named accordingly, would be staged beside the destination under those names. Files of
    // those names exist there already.
    let absolute = home.path().join("abs.bin").display().to_string();
    let sets = [("../victim.bin".to_owned(), "a"), (absolute, "b")];
    let victims = [
        "victim.bin.1fsplit.001",
        "victim.bin.1fsplit.002",
        "abs.bin.1fsplit.001",
        "abs.bin.1fsplit.002",
    ];
    for victim in victims {
        std::fs::write(home.path().join(victim), b"precious").unwrap();
    }
    let mut items = Vec::new();
    let mut bodies = std::collections::HashMap::new();
    let mut wholes = Vec::new();
    for (name, tag) in &sets {
        let parts = [format!("{tag} first part bytes"), format!("{tag} second")];
        let whole = parts.concat().into_bytes();
        let manifest = json!({"format": "onefichier-split/1", "name": name, "size": whole.len(),
            "whirlpool": whirlpool_hex(&whole), "parts": parts.iter().enumerate().map(|(i, p)| json!(
                {"name": format!("{name}.1fsplit.{:03}", i + 1), "size": p.len(),
                 "whirlpool": whirlpool_hex(p.as_bytes())})).collect::<Vec<_>>()})
        .to_string()
        .into_bytes();
        items.push(item(
            &format!("{name}.1fsplit"),
            &format!("{tag}manifest0"),
            &manifest,
        ));
        bodies.insert(format!("{tag}manifest0"), manifest);
        for (i, part) in parts.iter().enumerate() {
            let link = format!("{tag}part{i}00000");
            items.push(item(
                &format!("{name}.1fsplit.{:03}", i + 1),
                &link,
                part.as_bytes(),
            ));
            bodies.insert(link, part.clone().into_bytes());
        }
        wholes.push(whole);
    }
    let bodies = Arc::new(bodies);
    let node = FaultServer::answering({
        let bodies = Arc::clone(&bodies);
        move |path, _| match path.strip_prefix("/dl/").and_then(|link| bodies.get(link)) {
            Some(body) => Step::Respond {
                status: 200,
                headers: vec![],
                body: body.clone(),
            },
            None => Step::json(404, "{}"),
        }
    })
    .await
    .unwrap();
    let items = Value::from(items);
    let node_url = node.url();
    let api = FaultServer::answering(move |path, body| match path {
        "/v1/folder/ls.cgi" if folder_id(body) == 0 => folder_listing(
            0,
            "Root",
            json!([{"id": 5, "name": "big", "create_date": "2026-01-02 03:04:05"}]),
            json!([]),
        ),
        "/v1/folder/ls.cgi" => folder_listing(5, "big", json!([]), items.clone()),
        "/v1/download/get_token.cgi" => {
            let asked: Value = serde_json::from_slice(body).unwrap_or_default();
            let link = asked["url"]
                .as_str()
                .unwrap_or("")
                .rsplit('?')
                .next()
                .unwrap_or("");
            Step::json(
                200,
                &json!({"status": "OK", "url": format!("{node_url}/dl/{link}")}).to_string(),
            )
        }
        _ => Step::json(404, "{}"),
    })
    .await
    .unwrap();
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let output = run(
        home.path(),
        &api,
        &["download", "/big", out.to_str().unwrap()],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    for victim in victims {
        assert_eq!(
            std::fs::read(home.path().join(victim)).unwrap(),
            b"precious",
            "{victim}: {stderr}"
        );
    }
    // Both files were reassembled inside the destination, from parts staged there.
    let mut got: Vec<Vec<u8>> = std::fs::read_dir(home.path().join("out/big"))
        .unwrap_or_else(|e| panic!("{e}: {stderr}"))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    got.sort();
    wholes.sort();
    assert_eq!(got, wholes, "{stderr}");
    let mut beside: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "config" && n != "state")
        .collect();
    beside.sort();
    let mut expected: Vec<&str> = victims.to_vec();
    expected.push("out");
    expected.sort_unstable();
    assert_eq!(beside, expected);
}

#[tokio::test]
async fn a_folder_that_lists_itself_is_walked_once() {
    let home = tempfile::tempdir().unwrap();
    // /loop lists itself and the root as its own sub-folders, without end.
    let api = FaultServer::answering(|path, body| match path {
        "/v1/folder/ls.cgi" if folder_id(body) == 0 => folder_listing(
            0,
            "Root",
            json!([{"id": 7, "name": "loop", "create_date": "2026-01-02 03:04:05"}]),
            json!([]),
        ),
        "/v1/folder/ls.cgi" => folder_listing(
            7,
            "loop",
            json!([{"id": 7, "name": "again", "create_date": "2026-01-02 03:04:05"},
                   {"id": 0, "name": "up", "create_date": "2026-01-02 03:04:05"}]),
            json!([]),
        ),
        _ => Step::json(404, "{}"),
    })
    .await
    .unwrap();
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for args in [
        vec!["download", "/loop", out.to_str().unwrap()],
        vec!["ls", "-R", "/"],
        vec!["tree", "/"],
    ] {
        let output = run(home.path(), &api, &args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
    }
    // Each folder was listed a bounded number of times (once per command, give or take).
    let listings = api
        .requests()
        .iter()
        .filter(|r| r.head.contains("folder/ls.cgi"))
        .count();
    assert!(listings < 20, "{listings} listings");
}

#[tokio::test]
async fn a_listing_claiming_a_trillion_files_is_not_read_for_ever() {
    let home = tempfile::tempdir().unwrap();
    let trickled = Arc::new(AtomicU64::new(0));
    let served = Arc::clone(&trickled);
    // /huge claims a trillion files; /slow claims 100,000 and trickles one new file per call.
    let api = FaultServer::answering(move |path, body| {
        let id = folder_id(body);
        let one = |n: u64| item(&format!("f{n}.bin"), &format!("file{n:06}"), b"x");
        match path {
            "/v1/folder/ls.cgi" if id == 0 => folder_listing(
                0,
                "Root",
                json!([{"id": 1, "name": "huge", "create_date": "2026-01-02 03:04:05"},
                       {"id": 2, "name": "slow", "create_date": "2026-01-02 03:04:05"}]),
                json!([]),
            ),
            "/v1/folder/ls.cgi" => {
                let claimed: u64 = if id == 1 { 1_000_000_000_000 } else { 100_000 };
                Step::json(
                    200,
                    &json!({"status": "OK", "folder_id": id, "name": "x", "files": claimed,
                            "sub_folders": [], "items": [one(0)]})
                    .to_string(),
                )
            }
            "/v1/file/ls.cgi" => {
                let n = served.fetch_add(1, Ordering::Relaxed) + 1;
                Step::json(
                    200,
                    &json!({"status": "OK", "count": 1, "items": [one(n)]}).to_string(),
                )
            }
            _ => Step::json(404, "{}"),
        }
    })
    .await
    .unwrap();
    for (folder, said) in [("/huge", "1000000000000 files"), ("/slow", "stopped")] {
        let output = run(home.path(), &api, &["ls", folder]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{folder}: {stderr}");
        assert!(stderr.contains(said), "{folder}: {stderr}");
    }
    assert!(
        trickled.load(Ordering::Relaxed) <= 1_000,
        "paging was bounded"
    );
}

#[tokio::test]
async fn a_gigabyte_answer_is_refused_past_the_cap() {
    let home = tempfile::tempdir().unwrap();
    let api = FaultServer::answering(|_, _| Step::Flood {
        status: 500,
        length: 1 << 30,
    })
    .await
    .unwrap();
    let output = run(home.path(), &api, &["whoami"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    // Refused at the cap (64 MiB), not read whole (1 GiB).
    assert!(stderr.contains("larger than 64 MiB"), "{stderr}");
}

#[tokio::test]
async fn names_with_terminal_escapes_are_printed_escaped() {
    let home = tempfile::tempdir().unwrap();
    // OSC 52 (write the clipboard), a screen clear, a bidi override.
    let evil = "evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{202e}gpj.exe";
    let api = FaultServer::answering(move |path, _| match path {
        "/v1/folder/ls.cgi" => folder_listing(
            0,
            "Root",
            json!([{"id": 3, "name": evil, "create_date": "2026-01-02 03:04:05"}]),
            json!([item(evil, "evil000000", b"x")]),
        ),
        _ => Step::json(404, "{}"),
    })
    .await
    .unwrap();
    for args in [
        vec!["ls", "-l", "/"],
        vec!["tree", "/"],
        vec!["ls", "--json", "/"],
    ] {
        let json = args.contains(&"--json");
        let output = run(home.path(), &api, &args).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
        if json {
            // JSON keeps the name exact, its controls escaped as JSON escapes them.
            assert!(stdout.contains("evil\\u001b]52"), "{stdout}");
        } else {
            assert!(!stdout.contains('\u{202e}'), "{stdout:?}");
            assert!(
                stdout.contains("evil\\x1b]52;c;aGk=\\x07\\x1b[2J\\u{202e}gpj.exe"),
                "{stdout}"
            );
        }
    }
}
