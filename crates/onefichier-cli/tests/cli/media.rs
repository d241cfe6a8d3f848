//! `mount`, `serve http` and `serve webdav` as users run them: a real FUSE mount read by `cmp`,
//! `find`, `stat`, random `pread`s, `ffprobe` and `ffmpeg`, and written by `cp`, `mv` and `rm`;
//! HTTP ranges; Debian's `litmus` against WebDAV; the directory cache across a restart; the live
//! limits; a server that dies mid-read. Where `/dev/fuse` cannot be used, or ffmpeg is
//! missing, the parts that need them are skipped, saying so.

use crate::common::{Env, live, write};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A long-running `1fichier` (mount, serve) and its `--json` events as they come.
struct Running {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str(&line) {
                    let _ = send.send(event);
                }
            }
        });
        Self {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits for the event named `name` (20 s at most).
    fn wait_for(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if event["event"] == name {
                        return event;
                    }
                }
                Err(_) => panic!("no `{name}` event; saw {:?}", self.seen),
            }
        }
    }

    /// SIGTERM, then the closing event and a successful exit.
    fn stop(self, closing: &str) -> Value {
        self.stop_with("-TERM", closing)
    }

    /// `signal` (`-TERM`, `-INT` as Ctrl-C sends), then the closing event and a successful exit.
    fn stop_with(mut self, signal: &str, closing: &str) -> Value {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let event = self.wait_for(closing);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit: {status}");
        event
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::print_stderr)] // a skip is said in the test log
fn fuse_usable() -> bool {
    let usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .is_ok();
    if !usable {
        eprintln!("SKIPPED: /dev/fuse cannot be opened here; the FUSE tests need it");
    }
    usable
}

#[allow(clippy::print_stderr)] // a skip is said in the test log
fn has(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("SKIPPED: {tool} is missing; its checks are left out");
    }
    found
}

fn mounted(mountpoint: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let wanted = mountpoint.to_str().unwrap();
    mounts
        .lines()
        .any(|line| line.split(' ').nth(1) == Some(wanted))
}

/// A 120-second test video (x264, a key frame every 2 s), made in a few seconds.
fn make_video(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x180:rate=25")
        .args([
            "-t",
            "120",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
        ])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn ffmpeg_seek(input: &str) {
    let output = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-ss", "90", "-i", input])
        .args(["-frames:v", "1", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ffmpeg -ss 90 {input}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn ffprobe_duration(input: &str) -> f64 {
    let output = Command::new("ffprobe")
        .args([
            "-loglevel",
            "error",
            "-analyzeduration",
            "200M",
            "-probesize",
            "1G",
        ])
        .args(["-show_entries", "format=duration", "-of", "csv=p=0", input])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn mount_command(env_cli: Command, remote: &str, mountpoint: &Path, cache: &Path) -> Command {
    let mut command = env_cli;
    command
        .args(["--json", "mount", remote])
        .arg(mountpoint)
        .arg("--cache-dir")
        .arg(cache);
    command
}

/// Every file under `root`, with `stat` done on each (what a scanner does).
fn find_and_stat(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                files.push((path.strip_prefix(root).unwrap().to_path_buf(), meta.len()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_mount_reads_like_a_local_folder_and_its_tree_survives_a_restart() {
    if !fuse_usable() {
        return;
    }
    let env = Env::new(&[]);
    let local = env.home.path().join("local");
    // 1,000 small files in 20 folders, a 6 MiB file of random bytes, and a video.
    for n in 0..1000 {
        write(
            &local,
            &format!("tree/d{:02}/f{n:04}.txt", n % 20),
            format!("file {n}\n").as_bytes(),
        );
    }
    let random = onefichier_test_support::pseudo_random(6 * 1024 * 1024 + 321, 5);
    write(&local, "media/random.bin", &random);
    let video = has("ffmpeg").then(|| {
        let path = local.join("media/film.mkv");
        make_video(&path);
        path
    });
    env.authed()
        .args(["upload", "tree", "media", "--to", "/lib"])
        .current_dir(&local)
        .assert()
        .success();

    let mountpoint = env.home.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let cache = env.home.path().join("cache");
    let mut mount = Running::start(mount_command(
        env.std_cli_authed(),
        "/lib",
        &mountpoint,
        &cache,
    ));
    mount.wait_for("mounted");
    assert!(mounted(&mountpoint));

    // find + stat of the tree.
    let files = find_and_stat(&mountpoint.join("tree"));
    assert_eq!(files.len(), 1000);
    assert!(files.iter().all(|(_, size)| *size >= 7));
    assert_eq!(
        std::fs::read_to_string(mountpoint.join("tree/d07/f0007.txt")).unwrap(),
        "file 7\n"
    );
    // The whole file, then 10,000 random preads, against the source.
    let mounted_random = mountpoint.join("media/random.bin");
    assert!(std::fs::read(&mounted_random).unwrap() == random);
    let file = std::fs::File::open(&mounted_random).unwrap();
    let mut x = 99u64;
    let mut buffer = vec![0u8; 70_000];
    for _ in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let offset = x % random.len() as u64;
        let len = ((x >> 40) % 70_000 + 1) as usize;
        let got = file.read_at(&mut buffer[..len], offset).unwrap();
        let end = (offset as usize + len).min(random.len());
        assert_eq!(
            &buffer[..got],
            &random[offset as usize..end],
            "pread at {offset}"
        );
    }
    // A player's probe and a seek to 1:30.
    if video.is_some() {
        let film = mountpoint.join("media/film.mkv");
        let duration = ffprobe_duration(film.to_str().unwrap());
        assert!((119.0..121.0).contains(&duration), "{duration}");
        ffmpeg_seek(film.to_str().unwrap());
    }
    // Writes are refused with the proper error, and nothing changes remotely.
    let refused = std::fs::write(mountpoint.join("tree/new.txt"), b"x").unwrap_err();
    assert_eq!(refused.raw_os_error(), Some(30), "EROFS: {refused}");

    let closing = mount.stop("unmounted");
    assert!(!mounted(&mountpoint), "unmounted on SIGTERM");
    let stats = &closing["stats"];
    assert_eq!(stats["refused"], 0);
    assert!(
        stats["tokens"].as_u64().unwrap() <= 3 + 1,
        "one token per file read: {stats}"
    );

    // A restart: the same find and stat, and the probe, list nothing and call nothing.
    let mut again = Running::start(mount_command(
        env.std_cli_authed(),
        "/lib",
        &mountpoint,
        &cache,
    ));
    again.wait_for("mounted");
    assert_eq!(find_and_stat(&mountpoint.join("tree")), files);
    if video.is_some() {
        ffprobe_duration(mountpoint.join("media/film.mkv").to_str().unwrap());
    }
    // Ctrl-C too unmounts, and reports.
    let closing = again.stop_with("-INT", "unmounted");
    assert!(!mounted(&mountpoint));
    let stats = &closing["stats"];
    assert_eq!(stats["listings"], 0, "the tree came from disk: {stats}");
    assert_eq!(
        stats["api_calls"], 0,
        "a warm restart calls nothing: {stats}"
    );
}

#[test]
fn under_the_live_limits_a_scan_and_a_playback_with_seeks_are_never_refused() {
    if !fuse_usable() || !has("ffmpeg") {
        return;
    }
    let (server, key, home) = live(false);
    let local = home.path().join("local");
    for n in 0..30 {
        write(&local, &format!("shows/s{}/e{n:02}.txt", n % 3), b"episode");
    }
    make_video(&local.join("shows/film.mkv"));
    let upload = crate::common::live_cli(
        &server,
        &key,
        home.path(),
        &["upload", local.join("shows").to_str().unwrap(), "--to", "/"],
    );
    assert!(
        upload.status.success(),
        "{}",
        String::from_utf8_lossy(&upload.stderr)
    );

    let mountpoint = home.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let mut command = crate::common::live_command(&server, &key, home.path());
    command
        .args(["--json", "mount", "/shows"])
        .arg(&mountpoint)
        .arg("--cache-dir")
        .arg(home.path().join("cache"));
    let mut mount = Running::start(command);
    mount.wait_for("mounted");
    assert_eq!(find_and_stat(&mountpoint).len(), 31);
    let film = mountpoint.join("film.mkv");
    ffprobe_duration(film.to_str().unwrap());
    // Ten seeks, as a player does.
    for second in [5, 95, 30, 110, 60, 15, 80, 45, 100, 70] {
        let output = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-ss", &second.to_string(), "-i"])
            .arg(&film)
            .args(["-frames:v", "1", "-f", "null", "-"])
            .output()
            .unwrap();
        assert!(output.status.success());
    }
    let closing = mount.stop("unmounted");
    let stats = &closing["stats"];
    assert_eq!(stats["refused"], 0, "{stats}");
    assert!(
        stats["tokens"].as_u64().unwrap() <= 2,
        "seeks cost no token: {stats}"
    );
}

#[test]
fn a_read_from_a_dead_server_fails_within_max_wait_and_the_mount_still_unmounts() {
    if !fuse_usable() {
        return;
    }
    let mut env = Env::new(&[]);
    let local = env.home.path().join("local");
    write(
        &local,
        "big.bin",
        &onefichier_test_support::pseudo_random(3 << 20, 1),
    );
    env.authed()
        .args(["upload", "big.bin", "--to", "/d"])
        .current_dir(&local)
        .assert()
        .success();
    let mountpoint = env.home.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let mut command = env.std_cli_authed();
    command
        .args(["--json", "--max-wait", "3", "mount", "/d"])
        .arg(&mountpoint)
        .args(["--cache-mode", "off"]);
    let mut mount = Running::start(command);
    mount.wait_for("mounted");
    assert_eq!(
        std::fs::metadata(mountpoint.join("big.bin")).unwrap().len(),
        3 << 20
    );
    env.server.kill().unwrap();
    let started = Instant::now();
    let error = std::fs::read(mountpoint.join("big.bin")).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(5), "EIO: {error}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let closing = mount.stop("unmounted");
    assert!(closing["stats"]["failed_reads"].as_u64().unwrap() >= 1);
    assert!(!mounted(&mountpoint));
}

/// `1fichier --json serve KIND REMOTE` on a free loopback port, with `extra` options and
/// `password` for `--user`; running, with the URL it serves at.
fn serve(
    env: &Env,
    kind: &str,
    remote: &str,
    extra: &[&str],
    password: Option<&str>,
) -> (Running, String) {
    let mut command = env.std_cli_authed();
    if let Some(password) = password {
        command.env("ONEFICHIER_SERVE_PASSWORD", password);
    }
    command
        .args(["--json", "serve", kind, remote, "--listen", "127.0.0.1:0"])
        .args(extra);
    let mut running = Running::start(command);
    let url = running.wait_for("listening")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    (running, url)
}

#[test]
fn serve_http_answers_ranges_an_index_and_ffprobe_and_redirects_on_demand() {
    let env = Env::new(&[]);
    let local = env.home.path().join("local");
    let random = onefichier_test_support::pseudo_random(3 * 1024 * 1024 + 7, 9);
    write(&local, "media/random.bin", &random);
    write(&local, "media/a & b#1.txt", b"escaped");
    let video = has("ffmpeg");
    if video {
        make_video(&local.join("media/film.mkv"));
    }
    env.authed()
        .args(["upload", "media", "--to", "/"])
        .current_dir(&local)
        .assert()
        .success();
    let cache = env.home.path().join("cache");
    let (serve, url) = self::serve(
        &env,
        "http",
        "/media",
        &["--cache-dir", cache.to_str().unwrap()],
        None,
    );
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let index = http.get(&url).send().unwrap().text().unwrap();
    assert!(index.contains("random.bin"), "{index}");
    assert!(
        index.contains(">a &amp; b#1.txt<") && index.contains("href=\"a%20&amp;%20b%231.txt\""),
        "{index}"
    );
    let escaped = http.get(format!("{url}a%20&%20b%231.txt")).send().unwrap();
    assert_eq!(escaped.text().unwrap(), "escaped");
    let file = format!("{url}random.bin");
    let part = http
        .get(&file)
        .header("Range", "bytes=1048570-1048999")
        .send()
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1048570-1048999/{}", random.len()).as_str()
    );
    assert!(part.bytes().unwrap()[..] == random[1_048_570..1_049_000]);
    let tail = http.get(&file).header("Range", "bytes=-10").send().unwrap();
    assert!(tail.bytes().unwrap()[..] == random[random.len() - 10..]);
    let whole = http.get(&file).send().unwrap();
    assert_eq!(whole.status(), 200);
    assert!(whole.bytes().unwrap()[..] == random[..]);
    let head = http.head(&file).send().unwrap();
    assert_eq!(
        head.headers()["content-length"],
        random.len().to_string().as_str()
    );
    assert_eq!(
        http.get(&file)
            .header("Range", "bytes=99999999-")
            .send()
            .unwrap()
            .status(),
        416
    );
    assert_eq!(
        http.get(format!("{url}missing")).send().unwrap().status(),
        404
    );
    assert_eq!(http.put(&file).body("x").send().unwrap().status(), 405);
    if video {
        let duration = ffprobe_duration(&format!("{url}film.mkv"));
        assert!((119.0..121.0).contains(&duration));
        ffmpeg_seek(&format!("{url}film.mkv"));
    }
    let metrics = http
        .get(format!("{url}.metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("onefichier_vfs_refused_calls_total 0"),
        "{metrics}"
    );
    let closing = serve.stop_with("-INT", "stopped");
    assert_eq!(
        closing["stats"]["tokens"], 3,
        "one per file read: {closing}"
    );

    // With --redirect, files answer 302 to their download URL, which serves the bytes.
    let (serve, url) = self::serve(
        &env,
        "http",
        "/media",
        &["--redirect", "--cache-mode", "off"],
        None,
    );
    let moved = http.get(format!("{url}random.bin")).send().unwrap();
    assert_eq!(moved.status(), 302);
    let location = moved.headers()["location"].to_str().unwrap().to_owned();
    let direct = http
        .get(&location)
        .header("Range", "bytes=0-99")
        .send()
        .unwrap();
    assert!(direct.bytes().unwrap()[..] == random[..100]);
    serve.stop("stopped");

    // Beyond loopback, a user and password are required.
    let refused = env
        .authed()
        .args(["serve", "http", "/media", "--listen", "0.0.0.0:0"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(stderr.contains("--user"), "{stderr}");

    // TLS with the given certificate (a throwaway CA's), the credentials checked inside it.
    let ca = onefichier_test_support::tls::TestCa::new(&["127.0.0.1"]).unwrap();
    let (ca_pem, cert, key) = ca.write_to(env.home.path()).unwrap();
    let (serve, url) = self::serve(
        &env,
        "http",
        "/media",
        &[
            "--cache-mode",
            "off",
            "--user",
            "viewer",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        Some("tls secret"),
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let https = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&ca_pem).unwrap()).unwrap()])
        .build()
        .unwrap();
    let part = https
        .get(format!("{url}random.bin"))
        .basic_auth("viewer", Some("tls secret"))
        .header("Range", "bytes=0-99")
        .send()
        .unwrap();
    assert_eq!(part.status(), 206);
    assert!(part.bytes().unwrap()[..] == random[..100]);
    let anonymous = https.get(format!("{url}random.bin")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    let plain = url.replace("https://", "http://");
    assert!(
        http.get(&plain).send().is_err(),
        "plain HTTP is not answered on the TLS port"
    );
    serve.stop("stopped");
}

/// `litmus` on one group: (passed, run), and what it printed.
fn litmus(url: &str, group: &str, logs: &Path) -> (u32, u32, String) {
    // It writes its debug.log and child.log where it runs.
    let output = Command::new("litmus")
        .arg(url)
        .env("TESTS", group)
        .current_dir(logs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    // "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%"
    let summary = text
        .lines()
        .find(|line| line.contains(&format!("summary for `{group}'")))
        .unwrap_or_else(|| panic!("no summary for {group}: {text}"));
    let number = |after: &str| -> u32 {
        let rest = &summary[summary.find(after).unwrap() + after.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number("run:"), number("of"), text)
}

#[test]
#[allow(clippy::print_stderr)] // each group's count is said in the test log
fn serve_webdav_passes_litmus_and_its_writes_reach_the_account() {
    if !has("litmus") {
        return;
    }
    // Without limits: litmus sends about 290 calls, two minutes at the live service's pace
    // (measured: 0 refusals, in the benchmark's mount section); writes under the live limits
    // are the mount's test below.
    let env = Env::new(&[]);
    env.authed().args(["mkdir", "/dav"]).assert().success();
    let (serve, url) = self::serve(
        &env,
        "webdav",
        "/dav",
        &["--writes", "--cache-mode", "off"],
        None,
    );
    // Every test of every group (rclone 1.60's serve webdav passes 71 of 81 run).
    for (group, all) in [
        ("basic", 16),
        ("copymove", 13),
        ("props", 30),
        ("locks", 41),
        ("http", 4),
    ] {
        let (passed, run, text) = litmus(&url, group, env.home.path());
        eprintln!("litmus {group}: {passed} of {run}");
        assert!(passed >= all, "litmus {group}: {passed} of {run}\n{text}");
    }

    // What a client writes is on the account, as the CLI sees it.
    let http = reqwest::blocking::Client::new();
    let put = http
        .put(format!("{url}report.txt"))
        .body("written over WebDAV")
        .send()
        .unwrap();
    assert!(put.status().is_success(), "{put:?}");
    let moved = http
        .request(
            reqwest::Method::from_bytes(b"MOVE").unwrap(),
            format!("{url}report.txt"),
        )
        .header("Destination", format!("{url}renamed.txt"))
        .send()
        .unwrap();
    assert!(moved.status().is_success(), "{moved:?}");
    assert_eq!(
        files_of(&env.json(&["ls", "/dav"])),
        [("renamed.txt".to_owned(), 19)]
    );
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    env.authed()
        .args(["download", "/dav/renamed.txt", "-o", out.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(out.join("renamed.txt")).unwrap(),
        b"written over WebDAV"
    );
    // Read-only unless --writes: a PUT is refused. With --user, every request (the counters
    // too) needs the credentials.
    let closing = serve.stop("stopped");
    assert_eq!(closing["stats"]["refused"], 0, "{closing}");
    let (serve, url) = self::serve(
        &env,
        "webdav",
        "/dav",
        &["--cache-mode", "off", "--user", "kodi"],
        Some("open sesame"),
    );
    for path in ["renamed.txt", ".metrics"] {
        let anonymous = http.get(format!("{url}{path}")).send().unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
    }
    let wrong = http
        .get(format!("{url}renamed.txt"))
        .basic_auth("kodi", Some("guess"))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let http = reqwest::blocking::Client::builder()
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                "Basic a29kaTpvcGVuIHNlc2FtZQ==".parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let metrics = http.get(format!("{url}.metrics")).send().unwrap();
    assert!(
        metrics
            .text()
            .unwrap()
            .contains("onefichier_vfs_uploads_total 0"),
        "the counters, behind the credentials"
    );
    let refused = http.put(format!("{url}x.txt")).body("x").send().unwrap();
    assert_eq!(refused.status(), 403);
    let got = http.get(format!("{url}renamed.txt")).send().unwrap();
    assert_eq!(got.text().unwrap(), "written over WebDAV");
    serve.stop("stopped");
}

/// The names and sizes `1fichier ls --json` gives for `folder`.
fn stored(
    server: &onefichier_test_support::TestServer,
    key: &str,
    home: &Path,
    folder: &str,
) -> Vec<(String, u64)> {
    let text = crate::common::live_text(server, key, home, &["--json", "ls", folder]);
    files_of(&serde_json::from_str(&text).unwrap())
}

/// The names and sizes of the files of an `ls --json` answer.
fn files_of(listing: &Value) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["type"] == "file")
        .map(|entry| {
            (
                entry["name"].as_str().unwrap().to_owned(),
                entry["size"].as_u64().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_mount_with_writes_uploads_on_close_and_maps_changes_to_calls_under_the_live_limits() {
    if !fuse_usable() {
        return;
    }
    let (server, key, home) = live(false);
    crate::common::live_text(&server, &key, home.path(), &["mkdir", "/inbox"]);
    let mountpoint = home.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let mut command = crate::common::live_command(&server, &key, home.path());
    command
        .args(["--json", "mount", "/inbox", "--writes"])
        .arg(&mountpoint)
        .arg("--cache-dir")
        .arg(home.path().join("cache"));
    let mut mount = Running::start(command);
    mount.wait_for("mounted");

    // `cp` in: stored and verified once `close()` returns, and read back through the mount.
    let film = onefichier_test_support::pseudo_random(2 * 1024 * 1024 + 5, 4);
    let local = home.path().join("film.bin");
    std::fs::write(&local, &film).unwrap();
    // The writes are made by processes of their own: a handle open in this test process
    // would be flushed again whenever another test forks (the child's exec closes its copy),
    // and each such flush uploads what is written so far (correctly, but one upload more).
    let run = |program: &str, args: &[&std::ffi::OsStr]| {
        assert!(Command::new(program).args(args).status().unwrap().success());
    };
    run(
        "cp",
        &[local.as_os_str(), mountpoint.join("film.bin").as_os_str()],
    );
    assert_eq!(
        stored(&server, &key, home.path(), "/inbox"),
        [("film.bin".to_owned(), film.len() as u64)]
    );
    assert!(std::fs::read(mountpoint.join("film.bin")).unwrap() == film);

    // mkdir, a move with a new name, an overwrite (a new upload, the old one removed).
    std::fs::create_dir(mountpoint.join("shelf")).unwrap();
    std::fs::rename(
        mountpoint.join("film.bin"),
        mountpoint.join("shelf/movie.bin"),
    )
    .unwrap();
    run(
        "sh",
        &[
            "-c".as_ref(),
            "printf short > \"$1\"".as_ref(),
            "sh".as_ref(),
            mountpoint.join("shelf/movie.bin").as_os_str(),
        ],
    );
    assert_eq!(
        stored(&server, &key, home.path(), "/inbox/shelf"),
        [("movie.bin".to_owned(), 5)]
    );
    assert_eq!(
        std::fs::read(mountpoint.join("shelf/movie.bin")).unwrap(),
        b"short"
    );
    assert!(stored(&server, &key, home.path(), "/inbox").is_empty());

    // What the service cannot do fails with EPERM, and changes nothing.
    let eperm = |result: std::io::Result<()>| {
        assert_eq!(
            result.unwrap_err().raw_os_error(),
            Some(1),
            "EPERM expected"
        );
    };
    eperm(
        std::fs::OpenOptions::new()
            .append(true)
            .open(mountpoint.join("shelf/movie.bin"))
            .map(drop),
    );
    eperm(
        std::fs::OpenOptions::new()
            .write(true)
            .open(mountpoint.join("shelf/movie.bin"))
            .map(drop),
    );
    use std::os::unix::fs::PermissionsExt;
    eperm(std::fs::set_permissions(
        mountpoint.join("shelf/movie.bin"),
        std::fs::Permissions::from_mode(0o600),
    ));
    eperm(std::os::unix::fs::symlink("x", mountpoint.join("link")));
    let not_empty = std::fs::remove_dir(mountpoint.join("shelf")).unwrap_err();
    assert_eq!(not_empty.raw_os_error(), Some(39), "ENOTEMPTY: {not_empty}");

    // rm and rmdir.
    std::fs::remove_file(mountpoint.join("shelf/movie.bin")).unwrap();
    std::fs::remove_dir(mountpoint.join("shelf")).unwrap();
    let listed = crate::common::live_text(&server, &key, home.path(), &["ls", "/inbox"]);
    assert!(listed.trim().is_empty(), "{listed}");
    let closing = mount.stop("unmounted");
    assert_eq!(closing["stats"]["refused"], 0, "{closing}");
    assert_eq!(closing["stats"]["uploads"], 2, "{closing}");
    assert!(!mounted(&mountpoint));
}
