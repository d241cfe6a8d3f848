//! The website in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver). Sign up, create a key and use it with the CLI, narrow its allow-list (403),
//! rotate it (401 for the old secret), an upload-only key refused a delete, revoke, two-factor,
//! an anonymous download from a file's page (Whirlpool checked), a cross-site form refused, and
//! an uploaded HTML page opened by its logged-in owner that never runs as the site.
//! Every page is saved as a PNG in `target/website-screenshots/` for a reviewer to look at.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs); `ONEFICHIER_SKIP_BROWSER=1` skips it where they cannot be had, saying so.

use crate::common;

use common::live_cli;
use fantoccini::{Client, ClientBuilder, Locator};
use onefichier_test_support::{TestServer, server_binary};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use whirlpool::{Digest, Whirlpool};

const EMAIL: &str = "web@example.com";
/// What an attacker uploads: a page that, run as the site, takes the API Manager's form token
/// and creates a key for itself.
const ATTACK_PAGE: &str = r#"<!DOCTYPE html><html><head><title>invoice</title></head><body>
<script>
fetch('/account/api-keys', {credentials: 'include'})
  .then(r => r.text())
  .then(t => {
    const token = t.match(/name="csrf" value="([^"]+)"/)[1];
    const form = new URLSearchParams({csrf: token, action: 'create', label: 'stolen'});
    return fetch('/account/api-keys', {method: 'POST', body: form, credentials: 'include'});
  })
  .then(() => { document.title = 'pwned'; });
</script></body></html>"#;
const PASSWORD: &str = "correct horse battery";

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Option<Driver> {
    let port = free_port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if std::env::var_os("ONEFICHIER_SKIP_BROWSER").is_some() => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "SKIPPED: chromedriver cannot start ({error}) and ONEFICHIER_SKIP_BROWSER is set"
                );
            }
            return None;
        }
        Err(error) => panic!(
            "chromedriver cannot start ({error}): install Debian's chromium and chromium-driver \
             (.ci/run does), or set ONEFICHIER_SKIP_BROWSER=1 to skip the browser tests"
        ),
    };
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    for _ in 0..100 {
        if reqwest::get(&status)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {status}");
}

/// A headless Chromium with a fresh profile, and where its screenshots go.
struct Browser {
    client: Client,
    shots: PathBuf,
    taken: usize,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &Driver) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session");
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/website-screenshots");
        // This run's pages only.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            client,
            shots,
            taken: 0,
            _profile: profile,
        }
    }

    /// Saves the page as `NN-name.png`.
    async fn shot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).unwrap();
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks what sends a form or follows a link, and waits for the next page to be loaded
    /// (a click returns before the browser has navigated).
    async fn submit(&self, css: &str) {
        self.client
            .execute("window.__onefichierOld = true; return true;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        for _ in 0..200 {
            let loaded = self
                .client
                .execute(
                    "return window.__onefichierOld === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after clicking {css}");
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Logs in with the e-mail and password (and the second factor, if asked).
    async fn log_in(&self, base: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", EMAIL).await;
        self.fill("#password", PASSWORD).await;
        self.submit("form.card button[type=submit]").await;
    }

    /// The id of the key row labelled `label` on the API Manager page.
    async fn key_id(&self, label: &str) -> String {
        let rows = self
            .client
            .find_all(Locator::Css("table.keys tbody tr[id^=key-]"))
            .await
            .unwrap();
        for row in rows {
            let heading = row
                .find(Locator::Css("th"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if heading == label {
                let id = row.attr("id").await.unwrap().unwrap();
                return id.trim_start_matches("key-").to_owned();
            }
        }
        panic!("no key row labelled {label}: {}", self.source().await);
    }
}

/// The CLI against the server, with a key from the environment (never argv), the live budgets.
fn cli(server: &TestServer, key: &str, home: &Path, args: &[&str]) -> (i32, String, String) {
    let output = live_cli(server, key, home, args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn admin_keys(server: &TestServer) -> String {
    server.admin(&["key", "list", "--email", EMAIL]).unwrap()
}

/// A page on another origin (another port of 127.0.0.1: same site, other origin) whose form
/// posts to the server's API Manager, as a hostile site would.
async fn hostile_site(target: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let page = format!(
        "<!DOCTYPE html><html><body><form method=\"post\" action=\"{target}/account/api-keys\">\
         <input name=\"csrf\" value=\"guessed\"><input name=\"action\" value=\"create\">\
         <input name=\"label\" value=\"planted\"><button id=\"go\">Win a prize</button>\
         </form></body></html>"
    );
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_website_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    // The live service's limits, as users get them.
    let mut server = TestServer::new(server_binary()).unwrap();
    server
        .start(&["--limits", "1fichier", "--signup", "open"])
        .unwrap();
    let base = server.base_url();
    let home = tempfile::tempdir().unwrap();
    let mut browser = Browser::open(&driver).await;

    // Sign up: the answer is the log-in form, saying what comes next (the same answer whether
    // the address had an account); logging in lands in the API Manager.
    browser.goto(&format!("{base}/signup")).await;
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", PASSWORD).await;
    browser.shot("signup").await;
    browser.submit("form.card button[type=submit]").await;
    assert!(
        browser.source().await.contains("Sign-up received for"),
        "{}",
        browser.source().await
    );
    browser.shot("signed-up").await;
    browser.fill("#password", PASSWORD).await;
    browser.submit("form.card button[type=submit]").await;
    assert_eq!(
        browser.path().await,
        "/account/api-keys",
        "{}",
        browser.source().await
    );
    browser.shot("api-manager-empty").await;

    // Create a key: its secret is shown once, and works with the CLI.
    browser.fill("#label", "laptop").await;
    browser.submit("form.card button[type=submit]").await;
    let laptop = browser.text("#new-key").await;
    assert_eq!(laptop.len(), 32, "{laptop}");
    browser.shot("key-created").await;
    let document = home.path().join("report.txt");
    std::fs::write(&document, b"quarterly figures\n".repeat(1000)).unwrap();
    let (code, out, err) = cli(
        &server,
        &laptop,
        home.path(),
        &["--json", "upload", document.to_str().unwrap(), "/docs"],
    );
    assert_eq!(code, 0, "{err}");
    let link = out
        .split('"')
        .find(|part| part.starts_with(&format!("{base}/?")))
        .unwrap_or_else(|| panic!("a link on the server's own address: {out}"))
        .to_owned();
    browser.goto(&format!("{base}/account/api-keys")).await;
    assert!(
        !browser.source().await.contains(&laptop),
        "the secret is never shown again"
    );

    // An uploaded page asked for inline, opened by its logged-in owner: were it to run as the
    // site, its script would read the API Manager's token and create a key. It never runs: the
    // bytes come from another origin, as an attachment, sandboxed.
    let attack = home.path().join("invoice.html");
    std::fs::write(&attack, ATTACK_PAGE).unwrap();
    let (code, out, err) = cli(
        &server,
        &laptop,
        home.path(),
        &["--json", "upload", attack.to_str().unwrap(), "/docs"],
    );
    assert_eq!(code, 0, "{err}");
    let attack_link = out
        .split('"')
        .find(|part| part.starts_with(&format!("{base}/?")))
        .unwrap_or_else(|| panic!("a link: {out}"))
        .to_owned();
    let token = server
        .post(
            Some(&laptop),
            "download/get_token.cgi",
            json!({"url": attack_link, "inline": 1}),
        )
        .await
        .unwrap();
    let direct = token.json["url"].as_str().unwrap().to_owned();
    assert!(!direct.starts_with(&base), "another origin: {direct}");
    let on_the_site = format!("{base}/dl/{}", direct.rsplit('/').next().unwrap());
    for url in [&on_the_site, &direct] {
        browser.goto(url).await;
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let title = browser.client.title().await.unwrap_or_default();
        assert_ne!(title, "pwned", "the uploaded page ran ({url})");
    }
    browser.shot("uploaded-page-not-run").await;
    let keys = admin_keys(&server);
    assert!(!keys.contains("stolen"), "{keys}");
    browser.goto(&format!("{base}/account/api-keys")).await;
    assert!(!browser.source().await.contains("stolen"));

    // Narrow its allow-list: the CLI gets 403; widen it again.
    let id = browser.key_id("laptop").await;
    browser.fill(&format!("#allow-{id}"), "203.0.113.7").await;
    browser
        .submit(&format!(
            "form[action='/account/api-keys/{id}'] input[value=update] ~ button"
        ))
        .await;
    assert!(browser.source().await.contains("203.0.113.7/32"));
    browser.shot("allow-list-narrowed").await;
    let (code, _, err) = cli(&server, &laptop, home.path(), &["link", &link]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("IP not allowed"), "{err}");
    browser.fill(&format!("#allow-{id}"), "127.0.0.1").await;
    browser
        .submit(&format!(
            "form[action='/account/api-keys/{id}'] input[value=update] ~ button"
        ))
        .await;
    let (code, out, err) = cli(&server, &laptop, home.path(), &["link", &link]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/dl/"), "{out}");

    // Rotate: the old secret gets 401 at once, the new one works.
    browser
        .submit(&format!(
            "form[action='/account/api-keys/{id}'] input[value=rotate] ~ button"
        ))
        .await;
    let rotated = browser.text("#new-key").await;
    assert_ne!(rotated, laptop);
    browser.shot("key-rotated").await;
    let (code, _, err) = cli(&server, &laptop, home.path(), &["link", &link]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("Invalid API key"), "{err}");
    let (code, _, err) = cli(&server, &rotated, home.path(), &["link", &link]);
    assert_eq!(code, 0, "{err}");

    // An upload-only key: it may upload, but a delete is refused.
    browser.fill("#label", "backup").await;
    browser.click("input[name=scope][value=upload]").await;
    browser.fill("#folder", "/docs").await;
    browser
        .submit("form.card input[value=create] ~ button[type=submit]")
        .await;
    let backup = browser.text("#new-key").await;
    browser.shot("upload-only-key").await;
    let (code, _, err) = cli(&server, &backup, home.path(), &["rm", "--yes", &link]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("scope"), "{err}");
    let (code, out, err) = cli(&server, &rotated, home.path(), &["info", &link]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("report.txt"), "the file is still there: {out}");

    // Revoke, after a confirmation page.
    browser.goto(&format!("{base}/account/api-keys")).await;
    let backup_id = browser.key_id("backup").await;
    browser
        .submit(&format!("a[href='/account/api-keys/{backup_id}/revoke']"))
        .await;
    browser.shot("revoke-confirmation").await;
    browser.submit("#confirm-revoke").await;
    assert!(browser.source().await.contains("revoked"));
    browser.shot("history").await;
    let (code, _, err) = cli(&server, &backup, home.path(), &["mkdir", "/docs/more"]);
    assert_eq!(code, 3, "{err}");
    let keys = admin_keys(&server);
    assert!(
        keys.contains("laptop") && !keys.contains("backup"),
        "{keys}"
    );

    // Two-factor: enrol with the code an app would show, then log in with it.
    browser.goto(&format!("{base}/account")).await;
    browser.shot("account").await;
    browser
        .submit("form[action='/account/totp/begin'] button")
        .await;
    let secret = browser.text("#totp-secret").await;
    browser.shot("totp-enrol").await;
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    browser.fill("#code", &totp.generate(now).to_string()).await;
    browser.submit("form.card button[type=submit]").await;
    let codes = browser.text("#recovery-codes").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    browser.shot("recovery-codes").await;
    browser.submit("nav form button").await;
    assert_eq!(browser.path().await, "/login");
    browser.log_in(&base).await;
    assert_eq!(browser.path().await, "/login/totp");
    browser.shot("login-second-factor").await;
    // The code of this step was used at enrolment: it cannot be replayed; the next one works.
    browser.fill("#code", &totp.generate(now).to_string()).await;
    browser.submit("form.card button[type=submit]").await;
    assert!(
        browser
            .source()
            .await
            .contains("Wrong or already used code")
    );
    browser
        .fill("#code", &totp.generate(now + 30).to_string())
        .await;
    browser.submit("form.card button[type=submit]").await;
    assert_eq!(browser.path().await, "/account/api-keys");

    // A cross-site form is refused, and plants nothing.
    let hostile = hostile_site(&base).await;
    browser.goto(&hostile).await;
    browser.submit("#go").await;
    assert!(browser.source().await.contains("Form refused"));
    browser.shot("cross-site-refused").await;
    assert!(!admin_keys(&server).contains("planted"));

    // On a phone-width screen.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.goto(&format!("{base}/account/api-keys")).await;
    browser.shot("api-manager-phone").await;
    browser.goto(&link).await;
    browser.shot("file-page-phone").await;
    browser.client.set_window_size(1280, 1000).await.unwrap();

    // An anonymous visitor downloads from the file's page; the bytes match its Whirlpool.
    browser.goto(&format!("{base}/account")).await;
    browser.submit("nav form button").await;
    browser.goto(&link).await;
    assert_eq!(browser.text("td.normal").await, "report.txt");
    let shown = browser.text("code.hash").await;
    browser.shot("file-page").await;
    browser.submit("#dlb").await;
    let direct = browser
        .client
        .find(Locator::Css("a.ok"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    browser.shot("file-direct-link").await;
    let bytes = reqwest::get(&direct).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], &std::fs::read(&document).unwrap()[..]);
    assert_eq!(hex::encode(Whirlpool::digest(&bytes)), shown);

    browser.client.close().await.unwrap();
}
