//! Faithfulness proof with a client nobody here wrote: Debian's rclone (1.60), whose `fichier`
//! backend has the service's addresses built in, drives the server unchanged.
//!
//! The test re-runs itself inside a fresh network namespace holding only loopback (`unshare -n`,
//! so nothing can leave the machine). There the server speaks TLS with a certificate from a
//! throwaway CA, a CONNECT proxy tunnels `api.1fichier.com` and `1fichier.com` to it, and rclone
//! runs with `HTTPS_PROXY` and `--ca-cert`. Upload nodes and download URLs are `127.0.0.1:PORT`,
//! which rclone dials directly. Needs root (for the namespace) and `rclone`; `.ci/run` installs it.

use onefichier_test_support::TestServer;
use onefichier_test_support::tls::{TestCa, spawn_connect_proxy};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use whirlpool::{Digest, Whirlpool};

use crate::BIN;
const IN_NAMESPACE: &str = "ONEFICHIER_TEST_IN_NETNS";

#[test]
fn rclone_drives_the_server_unchanged() {
    if std::env::var_os(IN_NAMESPACE).is_some() {
        tokio::runtime::Runtime::new().unwrap().block_on(interop());
        return;
    }
    assert!(
        Command::new("rclone")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "rclone is missing: apt-get install rclone (.ci/run does)"
    );
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", "ip link set lo up && exec \"$0\" rclone::rclone_drives_the_server_unchanged --exact --nocapture"])
        .arg(exe)
        .env(IN_NAMESPACE, "1")
        .status()
        .expect("unshare (util-linux) runs the test in a network namespace; it needs root");
    assert!(
        status.success(),
        "the test failed inside its network namespace"
    );
}

struct Rclone {
    config: PathBuf,
    ca: PathBuf,
    proxy: String,
    key: String,
}

impl Rclone {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("rclone")
            .arg("--config")
            .arg(&self.config)
            .arg("--ca-cert")
            .arg(&self.ca)
            .args([
                "--retries",
                "1",
                "--low-level-retries",
                "2",
                "--contimeout",
                "10s",
            ])
            .args(args)
            .env("HTTPS_PROXY", &self.proxy)
            .env("RCLONE_FICHIER_API_KEY", &self.key)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("HTTP_PROXY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "rclone {args:?} failed:\n{stderr}");
        String::from_utf8(output.stdout).unwrap()
    }
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    onefichier_test_support::pseudo_random(len, seed)
}

/// The local tree: relative path → bytes.
fn tree() -> BTreeMap<&'static str, Vec<u8>> {
    BTreeMap::from([
        ("tiny.txt", b"x".to_vec()),
        ("hello world.txt", b"hello, world\n".to_vec()),
        ("été/ünïcødé ñame.bin", data(100_000, 1)),
        ("deep/a/b/c.dat", data(1 << 20, 2)),
        ("big/sixty-four.bin", data(64 << 20, 3)),
    ])
}

fn write_tree(root: &Path, files: &BTreeMap<&str, Vec<u8>>) {
    for (path, bytes) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

async fn interop() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&["api.1fichier.com", "1fichier.com", "localhost", "127.0.0.1"]).unwrap();
    let (ca_path, cert, key_path) = ca.write_to(work.path()).unwrap();
    let mut server = TestServer::new(BIN).unwrap();
    let key = server
        .account_with_key("rclone@example.com", "premium")
        .unwrap();
    server
        .start(&[
            "--limits",
            "off",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
            "--site-host",
            "1fichier.com",
        ])
        .unwrap();
    server.trust_ca(&ca.ca_pem).unwrap();
    let proxy = spawn_connect_proxy(
        server.address().parse().unwrap(),
        &["api.1fichier.com", "1fichier.com"],
    )
    .await
    .unwrap();
    let config = work.path().join("rclone.conf");
    std::fs::write(&config, "").unwrap();
    let rclone = Rclone {
        config,
        ca: ca_path,
        proxy: format!("http://{proxy}"),
        key: key.clone(),
    };
    // rclone is blocking: run it off the runtime's threads, which serve the proxy.
    let run = |args: Vec<String>| {
        let rclone = &rclone;
        tokio::task::block_in_place(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            rclone.run(&args)
        })
    };
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    let files = tree();
    let local = work.path().join("local");
    write_tree(&local, &files);
    let local_str = local.to_str().unwrap().to_owned();

    run(args(&["mkdir", ":fichier:backup"]));
    run(args(&["copy", &local_str, ":fichier:backup"]));

    let listed = run(args(&["lsf", "-R", ":fichier:backup"]));
    let mut expected: Vec<String> = files.keys().map(|p| (*p).to_owned()).collect();
    for dir in ["big/", "deep/", "deep/a/", "deep/a/b/", "été/"] {
        expected.push(dir.to_owned());
    }
    expected.sort();
    assert_eq!(sorted_lines(&listed), expected);

    let json: serde_json::Value = serde_json::from_str(&run(args(&[
        "lsjson",
        "-R",
        "--files-only",
        ":fichier:backup",
    ])))
    .unwrap();
    let sizes: BTreeMap<String, u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Path"].as_str().unwrap().to_owned(),
                e["Size"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = files
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.len() as u64))
        .collect();
    assert_eq!(sizes, want);

    run(args(&[
        "check",
        "--download",
        &local_str,
        ":fichier:backup",
    ]));

    let hashes = run(args(&["hashsum", "whirlpool", ":fichier:backup"]));
    let got: BTreeMap<String, String> = hashes
        .lines()
        .map(|line| {
            let (hash, path) = line.split_once("  ").unwrap();
            (path.to_owned(), hash.to_owned())
        })
        .collect();
    let want: BTreeMap<String, String> = files
        .iter()
        .map(|(p, b)| ((*p).to_owned(), hex::encode(Whirlpool::digest(b))))
        .collect();
    assert_eq!(got, want);

    // Server-side copy into another folder, rename in place, delete. (rclone 1.60 moves a file
    // across folders with file/rename.cgi alone, so the file stays where it was: an rclone bug
    // fixed in later releases; the server's file/mv is covered by the endpoint tests.)
    run(args(&[
        "copyto",
        ":fichier:backup/tiny.txt",
        ":fichier:backup/copies/tiny copy.txt",
    ]));
    run(args(&[
        "moveto",
        ":fichier:backup/copies/tiny copy.txt",
        ":fichier:backup/copies/moved.txt",
    ]));
    let copies = sorted_lines(&run(args(&["lsf", ":fichier:backup/copies"])));
    assert_eq!(copies, ["moved.txt"]);
    assert_eq!(run(args(&["cat", ":fichier:backup/copies/moved.txt"])), "x");
    run(args(&["deletefile", ":fichier:backup/copies/moved.txt"]));
    assert_eq!(run(args(&["lsf", ":fichier:backup/copies"])), "");
    run(args(&["rmdir", ":fichier:backup/copies"]));

    run(args(&["mkdir", ":fichier:backup/empty"]));
    run(args(&["rmdir", ":fichier:backup/empty"]));
    assert!(!run(args(&["lsf", ":fichier:backup"])).contains("empty/"));

    // A public shared folder, listed and copied down by id.
    let root = server
        .post(Some(&key), "folder/ls.cgi", json!({}))
        .await
        .unwrap();
    let backup = root.json["sub_folders"][0]["id"].as_i64().unwrap();
    let inside = server
        .post(Some(&key), "folder/ls.cgi", json!({"folder_id": backup}))
        .await
        .unwrap();
    let ete = inside.json["sub_folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "été")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let shared = server
        .post(
            Some(&key),
            "folder/share.cgi",
            json!({"folder_id": ete, "share": 1}),
        )
        .await
        .unwrap();
    let url = shared.json["url"].as_str().unwrap();
    assert!(url.starts_with("https://1fichier.com/dir/"), "{url}");
    let share_id = url.rsplit('/').next().unwrap().to_owned();
    let listed = run(args(&[
        "lsf",
        ":fichier:",
        "--fichier-shared-folder",
        &share_id,
    ]));
    assert_eq!(listed.trim(), "ünïcødé ñame.bin");
    let down = work.path().join("down");
    run(args(&[
        "copy",
        ":fichier:",
        down.to_str().unwrap(),
        "--fichier-shared-folder",
        &share_id,
    ]));
    assert_eq!(
        std::fs::read(down.join("ünïcødé ñame.bin")).unwrap(),
        files["été/ünïcødé ñame.bin"]
    );

    // Purge removes a whole sub-tree.
    run(args(&["purge", ":fichier:backup/deep"]));
    let after = sorted_lines(&run(args(&["lsf", "-R", ":fichier:backup"])));
    assert!(after.iter().all(|l| !l.starts_with("deep")), "{after:?}");
}
