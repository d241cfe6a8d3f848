//! The website over plain HTTP (the browser test, with Chromium, is the CLI crate's
//! `website.rs`): sign-up modes, log-in limits that feed the flood lock, server-side sessions and
//! their cookies, CSRF and origin checks, the download page's form flow (password, access list),
//! removal links, shared folder pages, and the headers every page carries.

use onefichier_test_support::{Browser, TestServer};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;

const PASSWORD: &str = "a long enough password";

/// A browser without JavaScript: keeps cookies, shows redirects instead of following them.
fn browser() -> Browser {
    Browser::default()
}

/// The value of the hidden `csrf` field of a page.
fn csrf(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field: {page}"))
        + 19;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn get(client: &Browser, url: &str) -> (StatusCode, HeaderMap, String) {
    let answer = client.send(client.get(url)).await.unwrap();
    let (status, headers) = (answer.status(), answer.headers().clone());
    (status, headers, answer.text().await.unwrap())
}

async fn post(
    client: &Browser,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let answer = client.send(client.post(url).form(form)).await.unwrap();
    let (status, headers) = (answer.status(), answer.headers().clone());
    (status, headers, answer.text().await.unwrap())
}

fn location(headers: &HeaderMap) -> &str {
    headers[LOCATION].to_str().unwrap()
}

/// A server started with `serve … ARGS`.
fn started(args: &[&str]) -> TestServer {
    let mut server = TestServer::in_process().unwrap();
    server.start(args).unwrap();
    server
}

/// A server that takes open sign-ups, without rate limits.
fn open_signup_server() -> TestServer {
    started(&["--limits", "off", "--signup", "open"])
}

/// An open-sign-up server without rate limits or flood locks, with `extra` flags.
fn open_signup_server_with(extra: &[&str]) -> TestServer {
    let mut args = vec![
        "--limits",
        "off",
        "--signup",
        "open",
        "--lock-after",
        "1000",
    ];
    args.extend_from_slice(extra);
    started(&args)
}

/// Signs up, then logs in from the page sign-up answers with (the log-in form, whether the
/// address was free or not); returns the log-in's status and where it leads.
async fn sign_up(client: &Browser, base: &str, email: &str) -> (StatusCode, String) {
    let (_, _, form) = get(client, &format!("{base}/signup")).await;
    let token = csrf(&form);
    let (status, _, page) = post(
        client,
        &format!("{base}/signup"),
        &[("csrf", &token), ("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Sign-up received for"), "{page}");
    let (status, headers, body) = post(
        client,
        &format!("{base}/login"),
        &[
            ("csrf", &csrf(&page)),
            ("email", email),
            ("password", PASSWORD),
        ],
    )
    .await;
    let landed = headers
        .get(LOCATION)
        .map_or(body, |l| l.to_str().unwrap().to_owned());
    (status, landed)
}

async fn log_in(client: &Browser, base: &str, email: &str, password: &str) -> StatusCode {
    let (status, _, form) = get(client, &format!("{base}/login")).await;
    if status != StatusCode::OK {
        return status;
    }
    let token = csrf(&form);
    post(
        client,
        &format!("{base}/login"),
        &[("csrf", &token), ("email", email), ("password", password)],
    )
    .await
    .0
}

#[tokio::test]
async fn sign_up_is_closed_open_or_by_invitation() {
    let mut closed = TestServer::in_process().unwrap();
    closed.start(&["--limits", "off"]).unwrap();
    let (status, _, page) = get(&browser(), &format!("{}/signup", closed.base_url())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Sign-up is closed"), "{page}");

    let mut invite = TestServer::in_process().unwrap();
    let code = invite
        .admin(&["invite", "create", "--offer", "access"])
        .unwrap();
    invite
        .start(&["--limits", "off", "--signup", "invite"])
        .unwrap();
    let base = invite.base_url();
    let signup = |client: Browser, email: &'static str, code: String| {
        let base = base.clone();
        async move {
            let (_, _, form) = get(&client, &format!("{base}/signup")).await;
            assert!(form.contains("name=\"invitation\""), "{form}");
            let token = csrf(&form);
            post(
                &client,
                &format!("{base}/signup"),
                &[
                    ("csrf", &token),
                    ("email", email),
                    ("password", PASSWORD),
                    ("invitation", &code),
                ],
            )
            .await
        }
    };
    let (status, _, page) = signup(browser(), "x@example.com", "wrong".to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("invitation code is unknown"), "{page}");
    let (status, _, page) = signup(browser(), "y@example.com", code.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Sign-up received for y@example.com"),
        "{page}"
    );
    let (status, _, page) = signup(browser(), "z@example.com", code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an invitation works once");
    assert!(page.contains("invitation code is unknown"), "{page}");
    let accounts = invite.admin(&["account", "list"]).unwrap();
    assert!(accounts.contains("y@example.com\taccess"), "{accounts}");
    assert!(!accounts.contains("z@example.com"), "{accounts}");
}

#[tokio::test]
async fn sessions_live_on_the_server_and_their_cookies_are_strict() {
    let server = open_signup_server();
    let base = server.base_url();
    let client = browser();
    let answer = client
        .send(client.get(format!("{base}/login")))
        .await
        .unwrap();
    let form_cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Strict"));
    let (_, landed) = sign_up(&client, &base, "me@example.com").await;
    assert_eq!(landed, "/account/api-keys");

    // The session cookie is HttpOnly and SameSite=Strict; the page is not cached.
    let (status, headers, page) = get(&client, &format!("{base}/account/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!page.contains("<script>"), "no inline script");

    // A second browser logs in; changing the password in the first ends the second's session.
    let other = browser();
    assert_eq!(
        log_in(&other, &base, "me@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let (_, _, account) = get(&client, &format!("{base}/account")).await;
    let token = csrf(&account);
    let (status, _, page) = post(
        &client,
        &format!("{base}/account/password"),
        &[
            ("csrf", &token),
            ("current", PASSWORD),
            ("password", "another long password"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Password changed"), "{page}");
    let (status, headers, _) = get(&other, &format!("{base}/account/api-keys")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/login");
    // The first is still in; logging out ends it on the server.
    let (status, _, _) = get(&client, &format!("{base}/account/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post(&client, &format!("{base}/logout"), &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = get(&client, &format!("{base}/account/api-keys")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forms_need_their_token_and_this_origin() {
    let server = open_signup_server();
    let base = server.base_url();
    let client = browser();
    sign_up(&client, &base, "me@example.com").await;
    let (_, _, page) = get(&client, &format!("{base}/account/api-keys")).await;
    let token = csrf(&page);
    let create = |token: String, origin: Option<&'static str>| {
        let client = client.clone();
        let url = format!("{base}/account/api-keys");
        async move {
            let mut request = client.post(url).form(&[
                ("csrf", token.as_str()),
                ("action", "create"),
                ("label", "script"),
            ]);
            if let Some(origin) = origin {
                request = request.header(ORIGIN, origin);
            }
            let answer = client.send(request).await.unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    };
    let (status, page) = create(String::new(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token");
    assert!(page.contains("Form refused"));
    let (status, _) = create("X".repeat(32), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong token");
    let (status, _) = create(token.clone(), Some("http://127.0.0.1:1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another origin");
    assert!(
        !server
            .admin(&["key", "list", "--email", "me@example.com"])
            .unwrap()
            .contains("script")
    );
    let (status, page) = create(token, None).await;
    assert_eq!(status, StatusCode::OK);
    let secret = page
        .split("id=\"new-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    // The key works, and its first use is recorded with the address.
    let info = server
        .post(Some(&secret), "user/info.cgi", json!({}))
        .await
        .unwrap();
    assert_eq!(info.status, 200, "{}", info.text);
    let (_, _, page) = get(&client, &format!("{base}/account/api-keys")).await;
    assert!(page.contains("used from a new address"), "{page}");
    assert!(!page.contains(&secret), "the secret is shown once");
}

#[tokio::test]
async fn wrong_passwords_are_limited_and_feed_the_flood_lock() {
    let mut server = TestServer::in_process().unwrap();
    server
        .start(&["--signup", "open", "--lock-after", "8"])
        .unwrap();
    let base = server.base_url();
    sign_up(&browser(), &base, "me@example.com").await;
    let client = browser();
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(log_in(&client, &base, "me@example.com", "not the password").await);
    }
    // Each wrong password is a refusal of the address: the eighth locks it.
    assert_eq!(statuses[..8], [StatusCode::UNAUTHORIZED; 8], "{statuses:?}");
    assert_eq!(
        statuses[8..],
        [StatusCode::TOO_MANY_REQUESTS; 3],
        "{statuses:?}"
    );
    // The right password waits too, while the lock lasts.
    assert_eq!(
        log_in(&client, &base, "me@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The wrong passwords counted toward the address's flood lock: the API refuses it too.
    let locked = server.post(None, "user/info.cgi", json!({})).await.unwrap();
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.text.contains("Flood detected"), "{}", locked.text);
}

#[tokio::test]
async fn the_download_page_checks_passwords_and_access_lists() {
    let mut server = TestServer::in_process().unwrap();
    let key = server
        .account_with_key("owner@example.com", "premium")
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let base = server.base_url();
    let (_, report) = server
        .upload(Some(&key), &[("plan.pdf", b"the plan".to_vec())], &[])
        .await
        .unwrap();
    let _ = report;
    let listing = server
        .post(Some(&key), "file/ls.cgi", json!({}))
        .await
        .unwrap();
    let link = listing.json["items"][0]["url"].as_str().unwrap().to_owned();
    let checksum = listing.json["items"][0]["checksum"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(link.starts_with(&format!("{base}/?")), "{link}");
    let chattr = server
        .post(
            Some(&key),
            "file/chattr.cgi",
            json!({"urls": [link], "pass": "secret1"}),
        )
        .await
        .unwrap();
    assert_eq!(chattr.status, 200, "{}", chattr.text);

    let visitor = browser();
    let (status, _, page) = get(&visitor, &format!("{link}&lg=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<td class=\"normal\">plan.pdf</td>"),
        "{page}"
    );
    assert!(page.contains("method=\"post\"") && page.contains("name=\"pass\""));
    // A site on plain HTTP offers no "without SSL" choice.
    assert!(!page.contains("without SSL"), "{page}");
    // The size and Whirlpool of a protected file are for those who may download it.
    assert!(
        !page.contains(&checksum) && !page.contains("Whirlpool"),
        "{page}"
    );
    let (status, _, page) = post(&visitor, &link, &[("did", "0"), ("pass", "wrong1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Wrong password"), "{page}");
    let (status, _, page) = post(
        &visitor,
        &link,
        &[("did", "0"), ("pass", "secret1"), ("dl_no_ssl", "on")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let direct = page
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|url| url.contains("/dl/"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("a direct link: {page}"));
    assert!(page.contains("class=\"ok"), "{page}");
    assert!(page.contains(&checksum), "the password was given: {page}");
    let (status, _, bytes) = get(&visitor, &direct).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, "the plan");

    // An access list that leaves the visitor out: a clear refusal, no link.
    let chattr = server
        .post(
            Some(&key),
            "file/chattr.cgi",
            json!({"urls": [link], "pass": "", "acl": {"ip": ["203.0.113.0/24"]}}),
        )
        .await
        .unwrap();
    assert_eq!(chattr.status, 200, "{}", chattr.text);
    let (status, _, page) = post(&visitor, &link, &[("did", "0")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("does not allow you"), "{page}");
    assert!(!page.contains("/dl/"));
}

#[tokio::test]
async fn anonymous_uploads_are_removed_with_their_link() {
    let mut server = TestServer::in_process().unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let base = server.base_url();
    let (id, _) = server
        .upload(None, &[("draft.txt", b"draft".to_vec())], &[])
        .await
        .unwrap();
    let (_, headers, report) = server
        .fetch(&format!("{base}/end.pl?xid={id}"), None)
        .await
        .unwrap();
    // Removal codes are never kept by a cache.
    assert_eq!(headers["cache-control"], "no-store");
    let report = String::from_utf8(report).unwrap();
    let remove = report
        .split("href=\"")
        .find_map(|rest| rest.split('"').next().filter(|u| u.contains("/remove/")))
        .unwrap_or_else(|| panic!("a removal link: {report}"))
        .to_owned();
    let link = report
        .split("href=\"")
        .find_map(|rest| rest.split('"').next().filter(|u| u.contains("/?")))
        .unwrap()
        .to_owned();
    let visitor = browser();
    let wrong = format!("{}WRONG", remove.trim_end_matches('/'));
    assert_eq!(get(&visitor, &wrong).await.0, StatusCode::NOT_FOUND);
    let (status, headers, page) = get(&visitor, &remove).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(page.contains("name=\"force\" value=\"1\""), "{page}");
    let (status, _, page) = post(&visitor, &remove, &[("force", "1")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The file has been destroyed"), "{page}");
    assert_eq!(get(&visitor, &link).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shared_folders_have_a_page_with_their_password_form() {
    let mut server = TestServer::in_process().unwrap();
    let key = server
        .account_with_key("owner@example.com", "premium")
        .unwrap();
    server.start(&["--limits", "off"]).unwrap();
    let made = server
        .post(
            Some(&key),
            "folder/mkdir.cgi",
            json!({"name": "holiday & sea"}),
        )
        .await
        .unwrap();
    let folder = made.json["folder_id"].as_i64().unwrap();
    server
        .upload(
            Some(&key),
            &[("beach.jpg", b"sand".to_vec())],
            &[("did", &folder.to_string())],
        )
        .await
        .unwrap();
    let shared = server
        .post(
            Some(&key),
            "folder/share.cgi",
            json!({"folder_id": folder, "share": 1, "pass": "secret1"}),
        )
        .await
        .unwrap();
    let url = shared.json["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&server.base_url()), "{url}");
    let visitor = browser();
    let (status, _, page) = get(&visitor, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("holiday &#38; sea"), "escaped: {page}");
    assert!(page.contains("type=\"password\" name=\"pass\""), "{page}");
    assert!(!page.contains("beach.jpg"));
    let (status, _, page) = post(&visitor, &url, &[("pass", "secret1")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("beach.jpg"), "{page}");
    assert!(page.contains(&format!("{}/?", server.base_url())), "{page}");
}

#[tokio::test]
async fn two_factor_recovery_codes_and_the_operators_reset() {
    let server = open_signup_server();
    let base = server.base_url();
    let client = browser();
    sign_up(&client, &base, "me@example.com").await;
    let (_, _, account) = get(&client, &format!("{base}/account")).await;
    let token = csrf(&account);
    let (_, _, enrol) = post(
        &client,
        &format!("{base}/account/totp/begin"),
        &[("csrf", &token)],
    )
    .await;
    assert!(
        enrol.contains("<svg"),
        "the QR code is drawn on the page: {enrol}"
    );
    let secret = enrol
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, _, codes) = post(
        &client,
        &format!("{base}/account/totp/confirm"),
        &[("csrf", &token), ("code", &totp.generate(now).to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let recovery: Vec<String> = codes
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{codes}");

    // A log-in now asks for the second factor; a recovery code works once.
    let second = browser();
    let in_two_steps = |client: Browser, code: String| {
        let base = base.clone();
        async move {
            log_in(&client, &base, "me@example.com", PASSWORD).await;
            let (status, headers, page) = get(&client, &format!("{base}/account/api-keys")).await;
            assert_eq!(
                (status, location(&headers)),
                (StatusCode::SEE_OTHER, "/login"),
                "{page}"
            );
            let (_, _, form) = get(&client, &format!("{base}/login/totp")).await;
            post(
                &client,
                &format!("{base}/login/totp"),
                &[("csrf", &csrf(&form)), ("code", &code)],
            )
            .await
            .0
        }
    };
    assert_eq!(
        in_two_steps(second, recovery[0].clone()).await,
        StatusCode::SEE_OTHER
    );
    let third = browser();
    assert_eq!(
        in_two_steps(third, recovery[0].clone()).await,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );

    // The operator turns it off for an owner who lost everything: a password is enough again.
    server
        .admin(&["account", "reset-two-factor", "--email", "me@example.com"])
        .unwrap();
    let fourth = browser();
    log_in(&fourth, &base, "me@example.com", PASSWORD).await;
    let (status, _, _) = get(&fourth, &format!("{base}/account/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
}

/// A browser whose requests come, through a trusted proxy, from `address`.
fn browser_at(address: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    Browser::with_headers(headers)
}

#[tokio::test]
async fn strangers_guessing_from_many_addresses_cannot_lock_the_owner_out() {
    let server = open_signup_server_with(&["--trusted-proxy", "127.0.0.1/32"]);
    let base = server.base_url();
    let owner = browser_at("198.51.100.7");
    sign_up(&owner, &base, "me@example.com").await;
    // 30 wrong passwords from ten addresses, three each (well within each address's pace).
    for attempt in 0..30 {
        let stranger = browser_at(&format!("203.0.113.{}", attempt % 10 + 1));
        let status = log_in(&stranger, &base, "me@example.com", "a wrong guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The account is under attack: an address that failed is refused, even with the right
    // password; the owner's address, which never failed, gets in.
    let stranger = browser_at("203.0.113.1");
    assert_eq!(
        log_in(&stranger, &base, "me@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let owner = browser_at("198.51.100.7");
    assert_eq!(
        log_in(&owner, &base, "me@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // The owner is told, in the audit list.
    let (_, _, page) = get(&owner, &format!("{base}/account/api-keys")).await;
    assert!(page.contains("password under attack"), "{page}");
    assert!(page.contains("Many wrong passwords"), "{page}");
}

/// A page with its form tokens blanked out, to compare two answers.
fn without_tokens(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                part[part.find('"').unwrap()..].to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("name=\"csrf\" value=\"")
}

#[tokio::test]
async fn sign_up_tells_nobody_which_addresses_have_accounts_and_has_a_budget() {
    let server = open_signup_server_with(&[]);
    let base = server.base_url();
    let attempt = |email: &'static str, password: &'static str| {
        let base = base.clone();
        async move {
            let client = browser();
            let (_, _, form) = get(&client, &format!("{base}/signup")).await;
            post(
                &client,
                &format!("{base}/signup"),
                &[
                    ("csrf", &csrf(&form)),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await
        }
    };
    let (first_status, _, first) = attempt("me@example.com", PASSWORD).await;
    let (again_status, _, again) = attempt("me@example.com", "another long password").await;
    assert_eq!(
        (first_status, again_status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(without_tokens(&first), without_tokens(&again));
    assert!(
        first.contains("Sign-up received for me@example.com"),
        "{first}"
    );
    // The account kept its own password.
    assert_eq!(
        log_in(&browser(), &base, "me@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        log_in(&browser(), &base, "me@example.com", "another long password").await,
        StatusCode::UNAUTHORIZED
    );
    // One address signs up a few times a minute at most: then 429, before any hashing.
    let emails = [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
        "e@example.com",
        "f@example.com",
        "g@example.com",
        "h@example.com",
        "i@example.com",
        "j@example.com",
    ];
    let mut statuses = Vec::new();
    for email in emails {
        statuses.push(attempt(email, PASSWORD).await.0);
    }
    let refused = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .unwrap_or_else(|| panic!("no budget: {statuses:?}"));
    assert!(
        statuses[refused..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let accounts = server.admin(&["account", "list"]).unwrap();
    assert!(!accounts.contains(emails[refused]), "{accounts}");
}

#[tokio::test]
async fn sensitive_actions_ask_for_the_password_again_once_the_proof_is_old() {
    // A window long enough for two requests in a row on a loaded machine, short enough to wait.
    let server = open_signup_server_with(&["--reconfirm-after-seconds", "5"]);
    let base = server.base_url();
    let client = browser();
    sign_up(&client, &base, "me@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    let keys = format!("{base}/account/api-keys");
    let (_, _, page) = get(&client, &keys).await;
    let token = csrf(&page);
    // A session whose proof is old (a script riding it, a taken-over browser) creates nothing.
    let (status, _, ask) = post(&client, &keys, &[("csrf", &token), ("label", "laptop")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(ask.contains("Confirm your password"), "{ask}");
    assert!(ask.contains("name=\"label\" value=\"laptop\""), "{ask}");
    assert!(!ask.contains("id=\"new-key\""), "{ask}");
    let confirm = |password: &'static str| {
        let (client, keys, token) = (client.clone(), keys.clone(), csrf(&ask));
        async move {
            post(
                &client,
                &keys,
                &[
                    ("csrf", token.as_str()),
                    ("label", "laptop"),
                    ("confirm_password", password),
                ],
            )
            .await
        }
    };
    let (status, _, page) = confirm("not my password").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Wrong password"), "{page}");
    let (status, _, page) = confirm(PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"new-key\""), "{page}");
    // Proved again: the next sensitive action goes through at once.
    let (status, _, page) = post(&client, &keys, &[("csrf", &token), ("label", "phone")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"new-key\""), "{page}");
    // Turning two-factor on asks too, once the proof is old again.
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    let (status, _, page) = post(
        &client,
        &format!("{base}/account/totp/begin"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Confirm your password"), "{page}");
}

#[tokio::test]
async fn uploads_from_strangers_fit_an_inbox_the_owner_controls() {
    let server = open_signup_server_with(&[]);
    let base = server.base_url();
    let client = browser();
    sign_up(&client, &base, "me@example.com").await;
    let send = |to: &'static str, size: usize| {
        let server = &server;
        async move {
            server
                .upload(None, &[("gift.bin", vec![7u8; size])], &[("user", to)])
                .await
                .unwrap()
                .1
        }
    };
    assert_eq!(send("me@example.com", 1000).await.status, 302);
    let nobody = send("nobody@example.com", 1000).await;
    assert_eq!(nobody.status, 403, "{}", nobody.text);
    let set = |mb: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let (_, _, page) = get(&client, &format!("{base}/account")).await;
            post(
                &client,
                &format!("{base}/account/inbox"),
                &[("csrf", &csrf(&page)), ("inbox_mb", mb)],
            )
            .await
        }
    };
    // Off: answered exactly as an address without an account.
    let (status, _, page) = set("0").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Uploads from others are off"), "{page}");
    let closed = send("me@example.com", 1000).await;
    assert_eq!((closed.status, &closed.text), (nobody.status, &nobody.text));
    // One megabyte: a file past what is left is refused the same way; a small one fits.
    set("1").await;
    let over = send("me@example.com", 1_200_000).await;
    assert_eq!((over.status, &over.text), (nobody.status, &nobody.text));
    assert_eq!(send("me@example.com", 500_000).await.status, 302);
}

#[tokio::test]
async fn session_cookies_are_secure_behind_a_tls_proxy() {
    let server = started(&["--limits", "off", "--trusted-proxy", "127.0.0.1/32"]);
    let login = format!("{}/login", server.base_url());
    let cookie = |proto: Option<&'static str>| {
        let login = login.clone();
        async move {
            let browser = browser();
            let mut request = browser.get(&login);
            if let Some(proto) = proto {
                request = request.header("x-forwarded-proto", proto);
            }
            let answer = browser.send(request).await.unwrap();
            answer.headers()[SET_COOKIE].to_str().unwrap().to_owned()
        }
    };
    assert!(cookie(Some("https")).await.contains("Secure"));
    assert!(!cookie(Some("http")).await.contains("Secure"));
    assert!(!cookie(None).await.contains("Secure"));
    // A proxy that is not trusted is not believed.
    let untrusted = started(&["--limits", "off"]);
    let browser = browser();
    let answer = browser
        .send(
            browser
                .get(format!("{}/login", untrusted.base_url()))
                .header("x-forwarded-proto", "https"),
        )
        .await
        .unwrap();
    assert!(
        !answer.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}

#[tokio::test]
async fn an_unknown_path_is_a_page_for_a_browser_and_json_for_a_program() {
    let server = started(&["--limits", "off"]);
    let client = browser();
    let page = client
        .send(
            client
                .get(format!("{}/no/such/page", server.base_url()))
                .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        )
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("Page not found"));
    let (status, _, body) = get(&client, &format!("{}/no/such/page", server.base_url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"status\":\"KO\""), "{body}");
    // The API's own paths answer as the API does, whatever the client accepts.
    let api = client
        .send(
            client
                .post(format!("{}/v1/no/such.cgi", server.base_url()))
                .header("Accept", "text/html"),
        )
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(api.text().await.unwrap().contains("KO"));
}
