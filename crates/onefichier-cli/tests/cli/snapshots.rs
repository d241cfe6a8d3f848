//! Every command's output, in human and `--json` form, pinned as snapshots (`tests/snapshots/`):
//! a change to what users or scripts read shows up in review. Each snapshot is the transcript of
//! a session against the real server, with what changes from run to run (addresses, link and
//! token ids, dates, temporary paths, voucher codes) replaced by placeholders.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -p onefichier-cli --test snapshots`
//! (or `cargo insta review`), then read the diff before committing it.

use crate::common;

use assert_cmd::Command;
use common::{Env, write};
use std::fmt::Write as _;

/// Runs commands and records them as a transcript.
struct Session {
    env: Env,
    transcript: String,
}

impl Session {
    fn new() -> Self {
        Self {
            env: Env::new(&["--remote-allow-host", "localhost"]),
            transcript: String::new(),
        }
    }

    /// Runs `1fichier ARGS` with the key in the environment; records and returns its stdout.
    fn run(&mut self, args: &[&str]) -> String {
        let command = self.env.authed();
        self.run_in(command, args, None)
    }

    /// Runs `command` (the environment's `1fichier`, with or without the key) with `args` and
    /// `stdin` as input; records and returns its stdout.
    fn run_in(&mut self, mut command: Command, args: &[&str], stdin: Option<&str>) -> String {
        command.args(args);
        if let Some(input) = stdin {
            command.write_stdin(input.to_owned());
        }
        let output = command.output().unwrap();
        self.record(args, &output)
    }

    fn record(&mut self, args: &[&str], output: &std::process::Output) -> String {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let _ = writeln!(self.transcript, "$ 1fichier {}", args.join(" "));
        self.transcript.push_str(&stdout);
        for line in stderr.lines() {
            let _ = writeln!(self.transcript, "[stderr] {line}");
        }
        if let Some(code) = output.status.code().filter(|&c| c != 0) {
            let _ = writeln!(self.transcript, "[exit {code}]");
        }
        self.transcript.push('\n');
        stdout
    }

    /// Pins the transcript so far as snapshot `name`, then starts a new one.
    fn snapshot(&mut self, name: &str) {
        let transcript = std::mem::take(&mut self.transcript);
        let home = self.env.home.path().display().to_string();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.add_filter(&regex_escape(&home), "[HOME]");
        settings.add_filter(r"127\.0\.0\.1:\d+", "[SERVER]");
        // Direct links are on the server's download host, another origin than its site.
        settings.add_filter(r"localhost:\d+", "[DOWNLOAD-HOST]");
        settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "[DATE]");
        settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]");
        settings.add_filter(r"/dl/[A-Za-z0-9]+", "/dl/[TOKEN]");
        settings.add_filter(r"/dir/[A-Za-z0-9]+", "/dir/[SHARE]");
        settings.add_filter(r"\?[a-z0-9]{8,}", "?[ID]");
        settings.add_filter(r"\b[A-Za-z0-9]{32}\b", "[VOUCHER]");
        settings.add_filter(r"\d+(\.\d+)? (MB/s|s)\b", "[DURATION]");
        settings.bind(|| insta::assert_snapshot!(name, transcript));
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn every_command_in_text_and_json() {
    let mut s = Session::new();
    let key = s.env.key.clone();

    let login = format!("{key}\n");
    for (args, stdin) in [
        (&["auth", "login", "--stdin"][..], Some(login.as_str())),
        (&["auth", "status"], None),
        (&["--json", "auth", "status"], None),
        (&["auth", "logout"], None),
    ] {
        let keyless = s.env.cli();
        s.run_in(keyless, args, stdin);
    }
    s.run(&["whoami"]);
    s.run(&["--json", "whoami"]);
    s.snapshot("account");

    let home = s.env.home.path().to_owned();
    let local = home.join("photos");
    write(&local, "a.jpg", b"aaaa");
    write(&local, "trip/b.jpg", b"bbbbbbbb");
    write(&local, "trip/c d \u{e9}.jpg", b"cc");
    let photos = local.to_str().unwrap().to_owned();
    s.run(&["mkdir", "-p", "/backups/2026"]);
    s.run(&["--json", "mkdir", "/archive"]);
    s.run(&["upload", &photos, "/backups/2026"]);
    s.run(&["upload", &photos, "/backups/2026"]);
    s.run(&["--json", "upload", &photos, "/backups/2026"]);
    let single = home.join("photos/a.jpg");
    s.run(&["--json", "upload", "--force", single.to_str().unwrap(), "/"]);
    s.snapshot("upload");

    s.run(&["ls"]);
    s.run(&["ls", "-l", "/backups/2026/photos"]);
    s.run(&["ls", "-R", "/backups"]);
    s.run(&["--json", "ls", "-R", "/backups"]);
    s.run(&["tree", "/backups"]);
    s.run(&["--json", "tree", "/backups"]);
    s.run(&["info", "/backups/2026/photos/a.jpg"]);
    s.run(&["--json", "info", "/backups/2026/photos/a.jpg"]);
    s.run(&["link", "/backups/2026/photos/a.jpg"]);
    s.run(&["--json", "link", "/backups/2026/photos/a.jpg"]);
    s.snapshot("listing");

    let restore = home.join("restore");
    std::fs::create_dir_all(&restore).unwrap();
    let restore = restore.to_str().unwrap().to_owned();
    s.run(&["download", "/backups/2026/photos/trip", &restore]);
    s.run(&["download", "/backups/2026/photos/trip", &restore]);
    s.run(&[
        "--json",
        "download",
        "--segments",
        "2",
        "/backups/2026/photos/a.jpg",
        &restore,
    ]);
    s.run(&["hash", &format!("{restore}/a.jpg")]);
    s.run(&["--json", "hash", &format!("{restore}/a.jpg")]);
    s.snapshot("download");

    s.run(&["mv", "/backups/2026/photos/a.jpg", "/archive"]);
    s.run(&["--json", "cp", "/archive/a.jpg", "/backups"]);
    s.run(&["cp", "/backups/a.jpg", "/backups/2026"]);
    s.run(&["rename", "/backups/2026/a.jpg", "copy.jpg"]);
    s.run(&["--json", "rename", "/backups/a.jpg", "first.jpg"]);
    s.run(&["--json", "mkdir", "/archive/old"]);
    s.run(&["--json", "mv", "/archive/old", "/backups"]);
    s.run(&["rename", "/backups/old", "older"]);
    s.run(&[
        "chattr",
        "/backups/first.jpg",
        "--description",
        "the first",
        "--inline",
        "on",
    ]);
    s.run(&["--json", "chattr", "/backups/first.jpg", "--cdn", "on"]);
    s.run(&["info", "/backups/first.jpg"]);
    s.run(&["rm", "--yes", "/backups/2026/copy.jpg"]);
    s.run(&["--json", "rm", "--yes", "/archive/a.jpg"]);
    s.run(&["rmdir", "/backups/older"]);
    s.run(&["--json", "rmdir", "--recursive", "--yes", "/archive"]);
    s.snapshot("organise");

    s.run(&["share", "/backups/2026/photos/trip"]);
    let shared = s.run(&["--json", "share", "/backups/2026/photos/trip"]);
    let share_url = serde_json::from_str::<serde_json::Value>(&shared).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let from_share = home.join("from-share");
    s.run(&["dl-dir", &share_url, "-o", from_share.to_str().unwrap()]);
    s.run(&["unshare", "/backups/2026/photos/trip"]);
    s.run(&["--json", "unshare", "/backups/2026/photos/trip"]);
    s.snapshot("sharing");

    s.run(&["scan", "/backups/first.jpg"]);
    s.run(&["--json", "scan", "/backups/first.jpg"]);
    let direct = s.run(&["link", "/backups/first.jpg"]);
    s.run(&["remote", "add", direct.trim(), "--to", "/backups", "--wait"]);
    s.run(&["remote", "ls"]);
    s.run(&["--json", "remote", "ls"]);
    s.run(&["remote", "info", "1"]);
    s.run(&["--json", "remote", "info", "1"]);
    let authed = s.env.authed();
    s.run_in(
        authed,
        &["ftp", "users", "add", "camera", "--stdin"],
        Some("secret1\n"),
    );
    s.run(&["ftp", "users", "ls"]);
    s.run(&["--json", "ftp", "users", "ls"]);
    s.run(&["ftp", "users", "rm", "camera"]);
    s.run(&["ftp", "process"]);
    let code = s.env.create_voucher("premium-30d");
    s.run(&["vouchers", "ls"]);
    s.run(&["--json", "vouchers", "ls"]);
    s.run(&["vouchers", "check", &code]);
    s.run(&["--json", "vouchers", "check", &code]);
    s.run(&["vouchers", "use", &code, "user@example.com"]);
    s.snapshot("jobs");

    s.run(&["info", "/backups/nothing.jpg"]);
    s.run(&["ls", "/no/such/folder"]);
    s.run(&["rm", "/backups/2026/photos/trip/b.jpg"]);
    s.run(&["--json", "mkdir", "/bad<name>"]);
    s.env.key = "0".repeat(32);
    s.run(&["whoami"]);
    s.run(&["-v", "whoami"]);
    s.snapshot("errors");
}
