//! `1fichier sync` against the real server: both directions, changes of every kind, filters,
//! deletion limits, and a sync killed mid-way that finishes without sending anything twice.

use crate::common;

use common::{Env, write};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn events<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == kind).collect()
}

fn summary(lines: &[Value]) -> &Value {
    events(lines, "summary")[0]
}

/// Every file under `root`: relative path → bytes.
fn local_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_tree_mirrors_up_and_down_with_changes_renames_filters_and_deletions() {
    let env = Env::new(&[]);
    let src = env.home.path().join("src");
    write(&src, "a.txt", b"alpha");
    write(&src, "docs/b.txt", b"bravo bravo");
    write(&src, "docs/deep/c.bin", &[3u8; 300_000]);
    write(&src, "docs/deep/d.bin", &[4u8; 5_000]);
    write(&src, "skip/me.tmp", b"temporary");
    write(&src, "notes.log", b"log");
    write(&src, ".1fichierignore", b"*.log\n");
    std::fs::create_dir_all(src.join("empty-folder")).unwrap();
    write(&src, "zero.txt", b"");
    let src_arg = src.to_str().unwrap();

    // First sync: everything but the filtered and the empty file.
    let first = env.json_lines(&["sync", src_arg, "/backup", "--exclude", "*.tmp"]);
    let summary_first = summary(&first);
    assert_eq!(summary_first["copied"], 5, "{first:?}"); // a, b, c, d, .1fichierignore
    assert_eq!(summary_first["failed"], 0);
    let left_out = events(&first, "left-out");
    assert_eq!(left_out.len(), 1, "{left_out:?}");
    assert_eq!(left_out[0]["path"], "zero.txt");

    // Nothing changed: nothing planned, nothing sent.
    let again = env.json_lines(&["sync", src_arg, "/backup", "--exclude", "*.tmp", "--delete"]);
    assert_eq!(summary(&again)["copied"], 0, "{again:?}");
    assert_eq!(summary(&again)["unchanged"], 5);
    assert_eq!(summary(&again)["deleted"], 0);

    // One file changed, one renamed into another folder, one deleted, one touched only.
    write(&src, "a.txt", b"alpha, changed");
    std::fs::create_dir_all(src.join("moved")).unwrap();
    std::fs::rename(src.join("docs/deep/c.bin"), src.join("moved/c-renamed.bin")).unwrap();
    std::fs::remove_file(src.join("docs/deep/d.bin")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(src.join("docs/b.txt"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    let dry = env.json_lines(&[
        "sync",
        src_arg,
        "/backup",
        "--exclude",
        "*.tmp",
        "--delete",
        "-n",
    ]);
    let planned: Vec<&str> = events(&dry, "planned")
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        planned,
        ["make-folder", "move", "copy", "set-time", "delete"],
        "{dry:?}"
    );
    // The dry run changed nothing: the same plan again.
    let changed = env.json_lines(&["sync", src_arg, "/backup", "--exclude", "*.tmp", "--delete"]);
    let done: Vec<&Value> = events(&changed, "done");
    assert_eq!(done.len(), 5, "{changed:?}");
    let moved = done.iter().find(|e| e["action"] == "move").unwrap();
    assert_eq!(moved["from"], "docs/deep/c.bin");
    assert_eq!(moved["to"], "moved/c-renamed.bin");
    // Only the changed file's bytes went: the renamed 300 KB file was moved server-side.
    assert_eq!(summary(&changed)["bytes"], 14);
    assert_eq!(summary(&changed)["deleted"], 1, "{changed:?}");
    assert_eq!(
        summary(&changed)["unchanged"],
        2,
        "the touched file is not sent: {changed:?}"
    );

    // Back down into a new local folder: the same files, byte for byte.
    let restored = env.home.path().join("restored");
    let down = env.json_lines(&["sync", "/backup", restored.to_str().unwrap()]);
    assert_eq!(summary(&down)["failed"], 0, "{down:?}");
    let mut expected = local_files(&src);
    expected
        .retain(|path, _| !path.ends_with(".tmp") && !path.ends_with(".log") && path != "zero.txt");
    assert_eq!(local_files(&restored), expected);
    // With their modification times (kept in the remote descriptions, to the second).
    for path in expected.keys() {
        let time = |root: &Path| {
            let modified = std::fs::metadata(root.join(path))
                .unwrap()
                .modified()
                .unwrap();
            modified
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        assert_eq!(time(&restored), time(&src), "{path}");
    }
    // `ls` shows the time this machine wrote, without a call.
    let listed = env.json(&["ls", "/backup"]);
    let a = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "a.txt")
        .unwrap();
    let modified: i64 = std::fs::metadata(src.join("a.txt"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap();
    let shown: String = a["modified"].as_str().unwrap().to_owned();
    assert!(shown.ends_with('Z'), "{a}");
    assert_eq!(
        shown
            .parse::<onefichier_client::sync::Timestamp>()
            .unwrap()
            .as_second(),
        modified
    );
    let info = env.json(&["info", "/backup/a.txt"]);
    assert!(
        info["description"].as_str().unwrap().starts_with("[mtime:"),
        "{info}"
    );
    // Restored trees are in sync at once: nothing to copy and no time to set.
    let settled = env.json_lines(&["sync", "/backup", restored.to_str().unwrap()]);
    assert_eq!(summary(&settled)["copied"], 0, "{settled:?}");
    assert_eq!(summary(&settled)["times_set"], 0, "{settled:?}");

    // A remote deletion reaches the local copy only with --delete, and --max-delete guards it.
    env.text(&["rm", "--yes", "/backup/a.txt"]);
    let kept = env.json_lines(&["sync", "/backup", restored.to_str().unwrap()]);
    assert_eq!(summary(&kept)["deleted"], 0);
    assert!(restored.join("a.txt").exists());
    let refused = env.fails(
        &[
            "sync",
            "/backup",
            restored.to_str().unwrap(),
            "--delete",
            "--max-delete",
            "0",
        ],
        1,
    );
    assert!(refused.contains("--max-delete"), "{refused}");
    assert!(restored.join("a.txt").exists());
    let backup = env.home.path().join("saved");
    let removed = env.json_lines(&[
        "sync",
        "/backup",
        restored.to_str().unwrap(),
        "--delete",
        "--backup-dir",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(summary(&removed)["deleted"], 1, "{removed:?}");
    assert!(!restored.join("a.txt").exists());
    // Nothing is lost: the deleted file was moved aside.
    assert_eq!(
        std::fs::read(backup.join("a.txt")).unwrap(),
        b"alpha, changed"
    );
}

#[test]
fn which_side_is_remote_must_be_clear() {
    let env = Env::new(&[]);
    let here = env.home.path().join("here");
    std::fs::create_dir_all(&here).unwrap();
    let there = env.home.path().join("there");
    std::fs::create_dir_all(&there).unwrap();
    let both_local = env.fails(
        &["sync", here.to_str().unwrap(), there.to_str().unwrap()],
        2,
    );
    assert!(both_local.contains("1f:"), "{both_local}");
    // A source that is nowhere is an error, never an empty tree to mirror.
    let nowhere = env.home.path().join("nowhere");
    let missing = env.fails(&["sync", "/nowhere/a", nowhere.to_str().unwrap()], 4);
    assert!(missing.contains("/nowhere"), "{missing}");
    assert!(!nowhere.exists());
    // `1f:` settles it.
    write(&here, "x.txt", b"x");
    let lines = env.json_lines(&[
        "sync",
        here.to_str().unwrap(),
        &format!("1f:{}", there.display()),
    ]);
    assert_eq!(summary(&lines)["copied"], 1);
}

#[test]
fn a_sync_killed_mid_way_finishes_without_sending_anything_twice() {
    let env = Env::new(&[]);
    let src = env.home.path().join("big");
    env.text(&["mkdir", "/big"]);
    for i in 0..6 {
        write(&src, &format!("f{i}.bin"), &vec![i as u8; 6 << 20]);
    }
    let mut child = env
        .std_cli()
        .env("ONEFICHIER_API_KEY", &env.key)
        .args(["--json", "sync", "-j", "1", src.to_str().unwrap(), "/big"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Events come at the end of a run: kill it once the server holds its first file.
    let started = std::time::Instant::now();
    loop {
        let listed = env.json(&["ls", "/big"]);
        let count = listed["entries"].as_array().map_or(0, Vec::len);
        if count >= 1 || started.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stored_before = env.json(&["ls", "/big"])["entries"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        (1..6).contains(&stored_before),
        "{stored_before} files stored before the kill"
    );
    let lines = env.json_lines(&["sync", src.to_str().unwrap(), "/big"]);
    let summary = summary(&lines);
    assert_eq!(summary["unchanged"], stored_before, "{lines:?}");
    assert_eq!(summary["copied"], 6 - stored_before);
    let listed = env.json(&["ls", "/big"]);
    assert_eq!(listed["entries"].as_array().unwrap().len(), 6);
}

/// The modification time of a local file, in whole seconds.
fn mtime(path: &Path) -> i64 {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    let since = modified.duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

fn set_mtime(path: &Path, seconds: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
        .unwrap();
}

/// Runs `1fichier -vv --json ARGS…` as the machine whose state folder is `state`; returns its
/// JSON lines and how many calls of each endpoint its log shows.
fn on_machine(env: &Env, state: &Path, args: &[&str]) -> (Vec<Value>, BTreeMap<String, usize>) {
    let output = env
        .authed()
        .env("ONEFICHIER_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .args(["-vv", "--json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    let mut calls = BTreeMap::new();
    for line in stderr.lines().filter(|l| l.contains(" call ")) {
        if let Some(rest) = line.split("operation=\"").nth(1) {
            let operation = rest.split('"').next().unwrap().to_owned();
            *calls.entry(operation).or_default() += 1;
        }
    }
    let lines = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, calls)
}

#[test]
fn times_changed_on_one_machine_reach_another_that_restored_before() {
    let env = Env::new(&[]);
    let photos = env.home.path().join("photos");
    for (name, bytes) in [
        ("a.jpg", &b"alpha photo"[..]),
        ("b.jpg", b"bravo photo"),
        ("c.jpg", b"charlie photo"),
        ("2026/d.jpg", b"delta photo"),
        ("2026/e.jpg", b"echo photo"),
    ] {
        write(&photos, name, bytes);
        set_mtime(&photos.join(name), 1_780_000_000);
    }
    let (laptop, desktop, fresh) = (
        env.home.path().join("laptop-state"),
        env.home.path().join("desktop-state"),
        env.home.path().join("fresh-state"),
    );
    let photos_arg = photos.to_str().unwrap();
    on_machine(&env, &laptop, &["sync", photos_arg, "/backups/photos"]);
    let restored = env.home.path().join("restored");
    let restored_arg = restored.to_str().unwrap();
    on_machine(&env, &desktop, &["sync", "/backups/photos", restored_arg]);
    assert_eq!(mtime(&restored.join("2026/e.jpg")), 1_780_000_000);

    // The laptop re-times two photos to 2019 and syncs them up.
    set_mtime(&photos.join("a.jpg"), 1_551_434_400);
    set_mtime(&photos.join("2026/d.jpg"), 1_551_434_400);
    let (up, _) = on_machine(&env, &laptop, &["sync", photos_arg, "/backups/photos"]);
    assert_eq!(summary(&up)["times_set"], 2, "{up:?}");

    // The desktop, which remembers the old times, gets the new ones: the folders' times
    // files changed, and outrank what it remembers. No description is read.
    let (down, calls) = on_machine(
        &env,
        &desktop,
        &["sync", "/backups/photos", restored_arg, "--delete"],
    );
    assert_eq!(summary(&down)["times_set"], 2, "{down:?}");
    assert_eq!(mtime(&restored.join("a.jpg")), 1_551_434_400);
    assert_eq!(mtime(&restored.join("2026/d.jpg")), 1_551_434_400);
    assert_eq!(mtime(&restored.join("b.jpg")), 1_780_000_000);
    assert_eq!(calls.get("file/info.cgi"), None, "{calls:?}");

    // A machine that never saw the tree restores it with one listing per folder, one token
    // per folder's times file and one per file: no description read.
    let elsewhere = env.home.path().join("elsewhere");
    let (_, calls) = on_machine(
        &env,
        &fresh,
        &["sync", "/backups/photos", elsewhere.to_str().unwrap()],
    );
    assert_eq!(calls.get("file/info.cgi"), None, "{calls:?}");
    assert_eq!(calls["download/get_token.cgi"], 5 + 2, "{calls:?}");
    assert!(calls["folder/ls.cgi"] <= 2 + 2, "{calls:?}");
    assert_eq!(mtime(&elsewhere.join("a.jpg")), 1_551_434_400);
    assert!(
        !elsewhere.join(".1fichier-times.json").exists(),
        "the times file is the sync's, not a photo"
    );
    // Nor does a folder download bring it.
    let copy = env.home.path().join("copy");
    env.text(&["download", "/backups/photos", "-o", copy.to_str().unwrap()]);
    assert_eq!(local_files(&copy.join("photos")).len(), 5);
}
