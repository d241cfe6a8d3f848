//! Accounts in the browser: sign-up, log-in (with the second factor), log-out, password, TOTP.

// The early answer of a page is a whole `Response`; boxing it would gain nothing per request.
#![allow(clippy::result_large_err)]

use super::session::{Login, Visitor};
use super::{Nav, message, redirect, render};
use crate::admin::check_web_password;
use crate::config::SignupMode;
use crate::meta::{Admission, KeyEventKind, MetaError};
use crate::secrets::{hash_password, key_digest, random_id};
use crate::state::{AppState, now};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onefichier_protocol::size;
use serde::Deserialize;
use std::sync::OnceLock;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Where a log-in leads.
const HOME: &str = "/account/api-keys";
/// Recovery codes given when the second factor is turned on.
const RECOVERY_CODES: usize = 10;
/// The issuer name authenticator apps show.
const ISSUER: &str = "1fichier-server";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    email: String,
}

#[derive(Template)]
#[template(path = "login_totp.html")]
struct TotpLoginPage {
    nav: Nav,
    csrf: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    nav: Nav,
    csrf: String,
    email: String,
    invite: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    email: String,
    offer: String,
    used: String,
    totp_enabled: bool,
    recovery_left: i64,
    /// The inbox allowance in whole megabytes (0: closed).
    inbox_mb: i64,
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage {
    nav: Nav,
    secret: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    nav: Nav,
    codes: Vec<String>,
}

/// Fields of the account forms; absent fields are empty, and refused as such.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub(crate) struct AccountForm {
    csrf: String,
    email: String,
    password: String,
    current: String,
    invitation: String,
    code: String,
    /// The password typed again for a sensitive action ([`fresh_proof`]).
    confirm_password: String,
    /// The inbox allowance, in megabytes.
    inbox_mb: String,
}

/// The logged-in browser, or the page that sends it to the log-in form.
pub(crate) fn logged_in(visitor: &Visitor) -> Result<&Login, Response> {
    visitor.login.as_ref().ok_or_else(|| redirect("/login"))
}

/// The answer to a form that did not come from this site's own page (403).
pub(crate) fn forged(visitor: &Visitor) -> Response {
    message(
        StatusCode::FORBIDDEN,
        visitor.nav(),
        "Form refused",
        "This form did not come from this site's own page (or the page is too old): reload the page and send it again.",
    )
}

fn too_many(visitor: &Visitor) -> Response {
    message(
        StatusCode::TOO_MANY_REQUESTS,
        visitor.nav(),
        "Too many attempts",
        "Too many wrong passwords or codes from this address or for this account: wait a few minutes before trying again.",
    )
}

/// Whose password or code a guess is at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner<'a> {
    /// The account of this e-mail, if there is one (a log-in).
    Email(&'a str),
    /// This account.
    Account(i64),
}

/// Checks a secret (a password, a code) of an account within the guess limits of `item`
/// ([`crate::limits::Limiter::begin_account_guess`]): refused before checking when over them;
/// a wrong answer counts toward the address's flood lock, as API refusals do. When the account
/// is being guessed at from many addresses, its owner finds it in the audit list.
async fn limited_check(
    state: &AppState,
    visitor: &Visitor,
    (item, owner): (&str, Owner<'_>),
    check: impl Future<Output = Result<bool, MetaError>>,
) -> Result<bool, Response> {
    let Ok(admitted) = state.limiter().begin_account_guess(visitor.ip, item).await else {
        return Err(too_many(visitor));
    };
    if admitted.attack_began {
        note_attack(state, owner).await;
    }
    match check.await {
        Ok(true) => {
            state.limiter().right_guess(visitor.ip, item).await;
            Ok(true)
        }
        Ok(false) => {
            state.limiter().wrong_guess(visitor.ip).await;
            Ok(false)
        }
        Err(error) => Err(failed(visitor, error)),
    }
}

/// Writes in the account's audit list that its password is being guessed at from many
/// addresses (there is no e-mail to send).
async fn note_attack(state: &AppState, owner: Owner<'_>) {
    let account = match owner {
        Owner::Account(id) => Some(id),
        Owner::Email(email) => match state.repo().account_by_email(email).await {
            Ok(account) => account.map(|a| a.id),
            Err(error) => {
                tracing::error!(%error, "account lookup failed");
                None
            }
        },
    };
    let Some(account_id) = account else {
        return;
    };
    tracing::warn!(account = account_id, "many wrong passwords for one account");
    let event = crate::meta::KeyEvent {
        account_id,
        key_id: None,
        label: "Account".to_owned(),
        event: KeyEventKind::LoginAttack,
        detail: "Many wrong passwords or codes from several addresses in 15 minutes: addresses \
                 that failed are refused for a while; your right password still works from \
                 an address with no failures. Consider two-factor authentication."
            .to_owned(),
        ip: None,
        at: now(),
    };
    if let Err(error) = state.repo().insert_key_event(&event).await {
        tracing::error!(%error, "audit event not written");
    }
}

fn failed(visitor: &Visitor, error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "website action failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        visitor.nav(),
        "Server error",
        "The server failed; nothing was changed. Try again later.",
    )
}

/// `GET /login`.
pub(crate) async fn login_form(visitor: Visitor) -> Response {
    if visitor.login.is_some() {
        return redirect(HOME);
    }
    let (csrf, jar) = visitor.form_token();
    let page = LoginPage {
        nav: visitor.nav(),
        csrf,
        email: String::new(),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

/// A hash to verify against when the e-mail has no account, so that both cases take as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_id(24, false)))
}

/// `POST /login`: e-mail and password; the second factor next if the account has one.
pub(crate) async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    if !visitor.form_is_genuine(&form.csrf) {
        return forged(&visitor);
    }
    let email = form.email.trim();
    let item = format!("login:{}", email.to_lowercase());
    let mut found = None;
    let check = async {
        let Some(account) = state.repo().account_by_email(email).await? else {
            // As long as a real check, so that answers do not tell which e-mails have accounts.
            state.passwords().verify(&form.password, decoy_hash()).await;
            return Ok(false);
        };
        let credentials = state.repo().credentials(account.id).await?;
        let Some(hash) = credentials.password_hash.as_deref() else {
            state.passwords().verify(&form.password, decoy_hash()).await;
            return Ok(false);
        };
        let right = state.passwords().verify(&form.password, hash).await;
        found = Some((account, credentials));
        Ok(right)
    };
    match limited_check(&state, &visitor, (&item, Owner::Email(email)), check).await {
        Ok(true) => {}
        Ok(false) => {
            let (csrf, jar) = visitor.form_token();
            let page = LoginPage {
                nav: visitor.nav().with_error("Wrong e-mail or password."),
                csrf,
                email: email.to_owned(),
            };
            return (jar, render(StatusCode::UNAUTHORIZED, &page)).into_response();
        }
        Err(refusal) => return refusal,
    }
    let Some((account, credentials)) = found else {
        return failed(&visitor, "a right password without its account");
    };
    let pending = credentials.totp_enabled;
    match visitor.open_session(&state, account.id, pending).await {
        Ok(jar) => (jar, redirect(if pending { "/login/totp" } else { HOME })).into_response(),
        Err(error) => failed(&visitor, error),
    }
}

/// `GET /login/totp`.
pub(crate) async fn totp_form(visitor: Visitor) -> Response {
    let Some(pending) = &visitor.pending else {
        return redirect("/login");
    };
    let page = TotpLoginPage {
        nav: visitor.nav(),
        csrf: pending.csrf.clone(),
    };
    render(StatusCode::OK, &page)
}

/// `POST /login/totp`: a code of the authenticator app, or a recovery code.
pub(crate) async fn totp_login(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let Some(pending) = &visitor.pending else {
        return redirect("/login");
    };
    if !visitor.session_form_is_genuine(pending, &form.csrf) {
        return forged(&visitor);
    }
    let item = format!("totp:{}", pending.account_id);
    let check = second_factor(&state, pending.account_id, form.code.trim());
    match limited_check(
        &state,
        &visitor,
        (&item, Owner::Account(pending.account_id)),
        check,
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => {
            let page = TotpLoginPage {
                nav: visitor.nav().with_error("Wrong or already used code."),
                csrf: pending.csrf.clone(),
            };
            return render(StatusCode::UNAUTHORIZED, &page);
        }
        Err(refusal) => return refusal,
    }
    let completed = match state.repo().complete_session(&pending.digest).await {
        Ok(()) => state.repo().prove_session(&pending.digest, now()).await,
        Err(error) => Err(error),
    };
    match completed {
        Ok(()) => redirect(HOME),
        Err(error) => failed(&visitor, error),
    }
}

/// Whether `code` is the account's current TOTP code (each used once) or an unused recovery code.
async fn second_factor(state: &AppState, account_id: i64, code: &str) -> Result<bool, MetaError> {
    let credentials = state.repo().credentials(account_id).await?;
    let Some(secret) = credentials.totp_secret.filter(|_| credentials.totp_enabled) else {
        return Ok(false);
    };
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        return totp_accepts(state, account_id, &secret, code).await;
    }
    let normalised: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    state
        .repo()
        .use_recovery_code(
            account_id,
            &key_digest(&normalised.to_ascii_lowercase()),
            now(),
        )
        .await
}

/// Checks a TOTP code against the previous, current and next 30-second steps; a step's code is
/// accepted once (a code seen over a shoulder cannot be replayed).
async fn totp_accepts(
    state: &AppState,
    account_id: i64,
    secret: &str,
    code: &str,
) -> Result<bool, MetaError> {
    let Some(totp) = totp_for(secret, "account") else {
        return Ok(false);
    };
    let Some(step) = totp.check(code, u64::try_from(now()).unwrap_or(0)) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    state.repo().use_totp_step(account_id, step).await
}

/// The authenticator of a base32 secret: SHA-1, 6 digits, 30-second steps, one step of skew
/// (what every authenticator app supports).
fn totp_for(secret: &str, email: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(email)
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// `POST /logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Some(login) = &visitor.login
        && !visitor.session_form_is_genuine(&login.session, &form.csrf)
    {
        return forged(&visitor);
    }
    let jar = visitor.close_session(&state).await;
    (jar, redirect("/login")).into_response()
}

/// `GET /signup`.
pub(crate) async fn signup_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    let mode = state.config().web.signup;
    if mode == SignupMode::Closed {
        return closed(&visitor);
    }
    let (csrf, jar) = visitor.form_token();
    let page = SignupPage {
        nav: visitor.nav(),
        csrf,
        email: String::new(),
        invite: mode == SignupMode::Invite,
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

fn closed(visitor: &Visitor) -> Response {
    message(
        StatusCode::FORBIDDEN,
        visitor.nav(),
        "Sign-up is closed",
        "This server does not take new accounts here: ask its operator for one.",
    )
}

/// `POST /signup`: creates the account, then shows the log-in form saying what comes next.
pub(crate) async fn signup(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let mode = state.config().web.signup;
    if mode == SignupMode::Closed {
        return closed(&visitor);
    }
    if !visitor.form_is_genuine(&form.csrf) {
        return forged(&visitor);
    }
    let email = form.email.trim();
    let again = |error: &str| {
        let (csrf, jar) = visitor.form_token();
        let page = SignupPage {
            nav: visitor.nav().with_error(error),
            csrf,
            email: email.to_owned(),
            invite: mode == SignupMode::Invite,
        };
        (jar, render(StatusCode::BAD_REQUEST, &page)).into_response()
    };
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return again("That is not an e-mail address.");
    }
    if check_web_password(&form.password).is_err() {
        return again("A password has 10 to 256 characters.");
    }
    let invitation = key_digest(form.invitation.trim());
    let admission = match admission(&state, &visitor, mode, &invitation).await {
        Ok(admission) => admission,
        Err(refusal) => return refusal,
    };
    let hash = state.passwords().hash(&form.password).await;
    match state
        .repo()
        .create_web_account(email, &hash, admission, now())
        .await
    {
        Ok(Some(account)) => {
            if mode == SignupMode::Invite {
                state.limiter().right_guess(visitor.ip, "invitation").await;
            }
            tracing::info!(account = account.id, "account created on the website");
        }
        Ok(None) => {
            state.limiter().wrong_guess(visitor.ip).await;
            return again("This invitation code is unknown, used or expired.");
        }
        // Someone trying addresses: counted, and answered as a new account is.
        Err(MetaError::Conflict) => state.limiter().wrong_guess(visitor.ip).await,
        Err(error) => return failed(&visitor, error),
    }
    signup_received(&visitor, email)
}

/// How a sign-up may be admitted, within the address's budgets: a sign-up costs a password
/// hash, so each address has a budget of them (counted as password attempts), and going past
/// it counts toward its flood lock, before any hashing; invitation codes are guessed like
/// passwords, under the same limits.
async fn admission<'a>(
    state: &AppState,
    visitor: &Visitor,
    mode: SignupMode,
    invitation: &'a [u8; 32],
) -> Result<Admission<'a>, Response> {
    let limiter = state.limiter();
    let signups = format!("signup:{}", visitor.ip);
    if limiter.begin_guess(visitor.ip, &signups).await.is_err() {
        limiter.wrong_guess(visitor.ip).await;
        return Err(too_many(visitor));
    }
    match mode {
        SignupMode::Invite => {
            if limiter.begin_guess(visitor.ip, "invitation").await.is_err() {
                return Err(too_many(visitor));
            }
            Ok(Admission::Invitation(invitation))
        }
        _ => Ok(Admission::Open(state.config().web.signup_offer)),
    }
}

/// The same answer whether the address was free or had an account already, so that sign-up
/// tells nobody which addresses have accounts: the log-in form, saying what comes next.
fn signup_received(visitor: &Visitor, email: &str) -> Response {
    let (csrf, jar) = visitor.form_token();
    let page = LoginPage {
        nav: visitor.nav().with_notice(format!(
            "Sign-up received for {email}. If this address had no account, it has one now: log \
             in with the password you just chose. If it had one already, log in with that \
             account's password (the operator resets a forgotten one)."
        )),
        csrf,
        email: email.to_owned(),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

/// `GET /account`.
pub(crate) async fn overview(State(state): State<AppState>, visitor: Visitor) -> Response {
    account_page(&state, &visitor, visitor.nav()).await
}

async fn account_page(state: &AppState, visitor: &Visitor, nav: Nav) -> Response {
    let login = match logged_in(visitor) {
        Ok(login) => login,
        Err(to_login) => return to_login,
    };
    let id = login.account.id;
    let facts = async {
        Ok::<_, MetaError>((
            state.repo().storage_used(id).await?,
            state.repo().credentials(id).await?,
            state.repo().recovery_codes_left(id).await?,
        ))
    };
    let (used, credentials, recovery_left) = match facts.await {
        Ok(facts) => facts,
        Err(error) => return failed(visitor, error),
    };
    let page = AccountPage {
        nav,
        email: login.account.email.clone(),
        offer: login.account.offer.to_string(),
        used: size::human(u64::try_from(used).unwrap_or(0)),
        totp_enabled: credentials.totp_enabled,
        recovery_left,
        inbox_mb: login.account.inbox_allowance / MB,
    };
    render(StatusCode::OK, &page)
}

/// A megabyte, the unit of the inbox allowance on the page.
const MB: i64 = 1_000_000;

/// `POST /account/inbox`: how many megabytes uploads sent by others (`user=E-MAIL`) may occupy
/// in the Incoming folder; 0 takes none.
pub(crate) async fn inbox(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let account_id = match genuine(&visitor, &form.csrf) {
        Ok(login) => login.account.id,
        Err(refusal) => return refusal,
    };
    let Some(mb) = form
        .inbox_mb
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|mb| (0..=1_000_000_000).contains(mb))
    else {
        let nav = visitor
            .nav()
            .with_error("The inbox allowance is a whole number of megabytes, 0 to turn it off.");
        return account_page(&state, &visitor, nav).await;
    };
    if let Err(error) = state.repo().set_inbox_allowance(account_id, mb * MB).await {
        return failed(&visitor, error);
    }
    // The page shows the account as this request read it: with the allowance just set.
    if let Some(login) = visitor.login.as_mut() {
        login.account.inbox_allowance = mb * MB;
    }
    let notice = if mb == 0 {
        "Uploads from others are off.".to_owned()
    } else {
        format!("Uploads from others may fill up to {mb} MB of your Incoming folder.")
    };
    account_page(&state, &visitor, visitor.nav().with_notice(notice)).await
}

/// The logged-in browser whose form is genuine, or the answer refusing it.
pub(crate) fn genuine<'a>(visitor: &'a Visitor, token: &str) -> Result<&'a Login, Response> {
    let login = logged_in(visitor)?;
    if visitor.session_form_is_genuine(&login.session, token) {
        Ok(login)
    } else {
        Err(forged(visitor))
    }
}

/// Checks the account's password again before a sensitive change, within the log-in limits.
async fn password_confirmed(
    state: &AppState,
    visitor: &Visitor,
    login: &Login,
    password: &str,
) -> Result<bool, Response> {
    let item = format!("login:{}", login.account.email.to_lowercase());
    let check = async {
        let credentials = state.repo().credentials(login.account.id).await?;
        Ok(match credentials.password_hash {
            Some(hash) => state.passwords().verify(password, &hash).await,
            None => false,
        })
    };
    limited_check(
        state,
        visitor,
        (&item, Owner::Account(login.account.id)),
        check,
    )
    .await
}

#[derive(Template)]
#[template(path = "confirm_password.html")]
struct ConfirmPasswordPage {
    nav: Nav,
    window_minutes: i64,
    action: String,
    back: String,
    /// The form's own fields, posted again with the password.
    fields: Vec<(String, String)>,
}

/// Lets a sensitive form through when the session's proof is fresh (`serve
/// --reconfirm-after-seconds`, as GitHub's "sudo mode": a session taken over, or a script
/// running in it, cannot create keys without the password), or when it carries the
/// right `confirm_password` (which renews the proof). Otherwise answers with a page that asks
/// for the password and posts the same form again to `action`; `back` is where "cancel" leads.
pub(crate) async fn fresh_proof(
    state: &AppState,
    visitor: &Visitor,
    login: &Login,
    confirm_password: &str,
    (action, back): (&str, &str),
    fields: &impl serde::Serialize,
) -> Result<(), Response> {
    let now = now();
    let window = state.config().web.reconfirm_after;
    if now - login.session.proved_at < window {
        return Ok(());
    }
    let mut nav = visitor.nav();
    if !confirm_password.is_empty() {
        match password_confirmed(state, visitor, login, confirm_password).await? {
            true => {
                return match state.repo().prove_session(&login.session.digest, now).await {
                    Ok(()) => Ok(()),
                    Err(error) => Err(failed(visitor, error)),
                };
            }
            false => nav = nav.with_error("Wrong password: nothing was changed."),
        }
    }
    // Secrets and the token are not echoed back: the page has its own token field.
    let fields = match serde_json::to_value(fields) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter(|(name, _)| {
                !["csrf", "confirm_password", "password", "current", "code"]
                    .contains(&name.as_str())
            })
            .filter_map(|(name, value)| value.as_str().map(|v| (name, v.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    let page = ConfirmPasswordPage {
        nav,
        window_minutes: (window / 60).max(1),
        action: action.to_owned(),
        back: back.to_owned(),
        fields,
    };
    Err(render(StatusCode::FORBIDDEN, &page))
}

/// `POST /account/password`: the current password, then the new one; other sessions end.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    match password_confirmed(&state, &visitor, login, &form.current).await {
        Ok(true) => {
            if let Err(error) = state
                .repo()
                .prove_session(&login.session.digest, now())
                .await
            {
                return failed(&visitor, error);
            }
        }
        Ok(false) => {
            let nav = visitor.nav().with_error("The current password is wrong.");
            return account_page(&state, &visitor, nav).await;
        }
        Err(refusal) => return refusal,
    }
    if check_web_password(&form.password).is_err() {
        let nav = visitor
            .nav()
            .with_error("A password has 10 to 256 characters.");
        return account_page(&state, &visitor, nav).await;
    }
    let hash = state.passwords().hash(&form.password).await;
    let id = login.account.id;
    let changed = async {
        state.repo().set_password(id, &hash).await?;
        state
            .repo()
            .delete_other_sessions(id, &login.session.digest)
            .await
    };
    if let Err(error) = changed.await {
        return failed(&visitor, error);
    }
    let nav = visitor
        .nav()
        .with_notice("Password changed; your other sessions have ended.");
    account_page(&state, &visitor, nav).await
}

/// `POST /account/totp/begin`: a new secret, shown as a QR code to scan and confirm.
pub(crate) async fn totp_begin(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    match state.repo().credentials(login.account.id).await {
        Ok(credentials) if credentials.totp_enabled => return redirect("/account"),
        Ok(_) => {}
        Err(error) => return failed(&visitor, error),
    }
    let route = ("/account/totp/begin", "/account");
    if let Err(ask) = fresh_proof(
        &state,
        &visitor,
        login,
        &form.confirm_password,
        route,
        &form,
    )
    .await
    {
        return ask;
    }
    let secret = Secret::from(rand::random::<[u8; 20]>()).to_base32();
    if let Err(error) = state
        .repo()
        .set_totp(login.account.id, Some(&secret), false)
        .await
    {
        return failed(&visitor, error);
    }
    let Some(totp) = totp_for(&secret, &login.account.email) else {
        return failed(&visitor, "TOTP secret refused");
    };
    let url = match totp.to_url() {
        Ok(url) => url,
        Err(error) => return failed(&visitor, error),
    };
    let qr_svg = match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .build(),
        Err(error) => return failed(&visitor, error),
    };
    // The renderer writes a standalone document; inline, only the <svg> element is wanted.
    let qr_svg = qr_svg
        .find("<svg")
        .map_or(qr_svg.clone(), |start| qr_svg[start..].to_owned());
    let page = TotpEnrolPage {
        nav: visitor.nav(),
        secret,
        qr_svg,
    };
    render(StatusCode::OK, &page)
}

/// `POST /account/totp/confirm`: the first code turns the second factor on; recovery codes are
/// shown once.
pub(crate) async fn totp_confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let id = login.account.id;
    let secret = match state.repo().credentials(id).await {
        Ok(credentials) => credentials.totp_secret,
        Err(error) => return failed(&visitor, error),
    };
    let Some(secret) = secret else {
        return redirect("/account");
    };
    let item = format!("totp:{id}");
    let check = totp_accepts(&state, id, &secret, form.code.trim());
    match limited_check(&state, &visitor, (&item, Owner::Account(id)), check).await {
        Ok(true) => {}
        Ok(false) => {
            let nav = visitor
                .nav()
                .with_error("That code is wrong: two-factor stays off. Set it up again.");
            return account_page(&state, &visitor, nav).await;
        }
        Err(refusal) => return refusal,
    }
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let code = random_id(10, true);
            format!("{}-{}", &code[..5], &code[5..])
        })
        .collect();
    let digests: Vec<[u8; 32]> = codes
        .iter()
        .map(|c| key_digest(&c.replace('-', "")))
        .collect();
    let enabled = async {
        state.repo().set_recovery_codes(id, &digests).await?;
        state.repo().set_totp(id, Some(&secret), true).await
    };
    if let Err(error) = enabled.await {
        return failed(&visitor, error);
    }
    let page = RecoveryCodesPage {
        nav: visitor.nav(),
        codes,
    };
    render(StatusCode::OK, &page)
}

/// `POST /account/totp/disable`: with the password.
pub(crate) async fn totp_disable(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AccountForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    match password_confirmed(&state, &visitor, login, &form.password).await {
        Ok(true) => {}
        Ok(false) => {
            let nav = visitor
                .nav()
                .with_error("Wrong password: two-factor stays on.");
            return account_page(&state, &visitor, nav).await;
        }
        Err(refusal) => return refusal,
    }
    let id = login.account.id;
    let disabled = async {
        state.repo().set_totp(id, None, false).await?;
        state.repo().set_recovery_codes(id, &[]).await
    };
    if let Err(error) = disabled.await {
        return failed(&visitor, error);
    }
    let nav = visitor
        .nav()
        .with_notice("Two-factor authentication is off.");
    account_page(&state, &visitor, nav).await
}
