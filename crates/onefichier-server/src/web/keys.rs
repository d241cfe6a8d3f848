//! The API Manager: an account's keys, created, renamed, restricted, rotated and revoked in the
//! browser, and the history of those events.

use super::account::{fresh_proof, genuine, logged_in};
use super::session::{Login, Visitor};
use super::{Nav, message, render};
use crate::admin::{self, AdminError, KeyOptions, allow_list_text};
use crate::meta::{ApiKey, KeyScope};
use crate::state::{AppState, now};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ipnet::IpNet;
use onefichier_protocol::date;
use serde::Deserialize;

/// Events shown under the keys.
const HISTORY: i64 = 50;

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage {
    nav: Nav,
    keys: Vec<KeyRow>,
    events: Vec<EventRow>,
    new_key: Option<String>,
    new_key_label: String,
}

struct KeyRow {
    id: i64,
    label: String,
    prefix: String,
    scope: &'static str,
    folder: String,
    expires: String,
    created: String,
    rotated: String,
    last_used: String,
    allowed: String,
    allow_input: String,
}

struct EventRow {
    at: String,
    label: String,
    event: &'static str,
    detail: String,
    ip: Option<String>,
}

#[derive(Template)]
#[template(path = "revoke_key.html")]
struct RevokePage {
    nav: Nav,
    id: i64,
    label: String,
    prefix: String,
}

/// Fields of the key forms; absent fields are empty.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub(crate) struct KeyForm {
    csrf: String,
    action: String,
    label: String,
    allow_ip: String,
    scope: String,
    folder: String,
    expires_days: String,
    /// The password typed again when the session's proof is old ([`fresh_proof`]).
    confirm_password: String,
}

/// `GET /account/api-keys`.
pub(crate) async fn page(State(state): State<AppState>, visitor: Visitor) -> Response {
    let login = match logged_in(&visitor) {
        Ok(login) => login,
        Err(to_login) => return to_login,
    };
    keys_page(&state, login, visitor.nav(), None).await
}

/// The page, with the secret of a key just created or rotated (shown this once) and the
/// outcome of the last form.
async fn keys_page(
    state: &AppState,
    login: &Login,
    nav: Nav,
    new_key: Option<(String, String)>,
) -> Response {
    let account = &login.account;
    let listed = async {
        Ok::<_, crate::error::ApiError>((
            state.repo().keys(account.id).await?,
            state.repo().key_events(account.id, HISTORY).await?,
        ))
    };
    let (keys, events) = match listed.await {
        Ok(listed) => listed,
        Err(error) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                nav,
                "Server error",
                &format!("The keys cannot be read now ({})", error.code().text()),
            );
        }
    };
    let mut rows = Vec::with_capacity(keys.len());
    for key in keys {
        rows.push(key_row(state, account.id, key).await);
    }
    let (new_key_label, new_key) = match new_key {
        Some((label, secret)) => (label, Some(secret)),
        None => (String::new(), None),
    };
    let page = KeysPage {
        nav,
        keys: rows,
        events: events
            .into_iter()
            .map(|e| EventRow {
                at: date::format_unix_named(e.at),
                label: e.label,
                event: e.event.words(),
                detail: e.detail,
                ip: e.ip,
            })
            .collect(),
        new_key,
        new_key_label,
    };
    render(StatusCode::OK, &page)
}

async fn key_row(state: &AppState, account_id: i64, key: ApiKey) -> KeyRow {
    let when =
        |at: Option<i64>, none: &str| at.map_or_else(|| none.to_owned(), date::format_unix_named);
    let folder = match key.folder_id {
        None => "whole account".to_owned(),
        Some(id) => crate::domain::folders::folder_path(state, account_id, id)
            .await
            .map_or_else(|_| format!("folder {id}"), |path| format!("/{path}")),
    };
    let last_used = match (&key.last_used_at, &key.last_used_ip) {
        (Some(at), Some(ip)) => format!("{} from {ip}", date::format_unix_named(*at)),
        (at, _) => when(*at, "never"),
    };
    KeyRow {
        id: key.id,
        scope: match key.scope {
            KeyScope::Full => "full",
            KeyScope::Read => "read",
            KeyScope::Upload => "upload-only",
        },
        folder,
        expires: when(key.expires_at, "never"),
        created: date::format_unix_named(key.created_at),
        rotated: when(key.rotated_at, "never"),
        last_used,
        allowed: allow_list_text(&key.allow_ips),
        allow_input: key
            .allow_ips
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        label: key.label,
        prefix: key.prefix,
    }
}

/// Parses an allow-list typed in a form: addresses or CIDRs separated by commas or spaces.
fn parse_allow_list(text: &str) -> Result<Vec<IpNet>, String> {
    text.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{part:?} is not an address or network (CIDR)."))
        })
        .collect()
}

fn admin_error_words(error: &AdminError) -> String {
    match error {
        AdminError::Meta(_) => "The server failed; nothing was changed.".to_owned(),
        other => {
            let mut text = other.to_string();
            if let Some(first) = text.get(..1) {
                let upper = first.to_uppercase();
                text.replace_range(..1, &upper);
            }
            format!("{text}.")
        }
    }
}

/// `POST /account/api-keys`: creates a key and shows its secret once.
pub(crate) async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<KeyForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let route = ("/account/api-keys", "/account/api-keys");
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
    let refuse = |error: String| keys_page(&state, login, visitor.nav().with_error(error), None);
    let allow_ips = match parse_allow_list(&form.allow_ip) {
        Ok(list) => list,
        Err(error) => return refuse(error).await,
    };
    let scope = match form.scope.parse::<KeyScope>() {
        Ok(scope) => scope,
        Err(_) if form.scope.is_empty() => KeyScope::Full,
        Err(error) => return refuse(error).await,
    };
    let folder_id = match form.folder.trim() {
        "" | "/" => None,
        path => match admin::resolve_folder(state.repo(), &login.account.email, path).await {
            Ok(id) => Some(id),
            Err(error) => return refuse(admin_error_words(&error)).await,
        },
    };
    let expires_at = match form.expires_days.trim() {
        "" => None,
        days => match days.parse::<u32>() {
            Ok(days) if days > 0 => Some(now() + i64::from(days) * 86_400),
            _ => return refuse("Expiry: a whole number of days, 1 or more.".to_owned()).await,
        },
    };
    let options = KeyOptions {
        allow_ips,
        scope,
        folder_id,
        expires_at,
    };
    let label = form.label.trim();
    let ip = visitor.ip.to_string();
    match admin::create_account_key(state.repo(), &login.account, label, options, Some(&ip)).await {
        Ok((key, secret)) => {
            let nav = visitor
                .nav()
                .with_notice(format!("Key “{}” created.", key.label));
            keys_page(&state, login, nav, Some((key.label, secret))).await
        }
        Err(error) => refuse(admin_error_words(&error)).await,
    }
}

/// `GET /account/api-keys/ID/revoke`: asks before revoking.
pub(crate) async fn confirm_revoke(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Response {
    let login = match logged_in(&visitor) {
        Ok(login) => login,
        Err(to_login) => return to_login,
    };
    match state.repo().key(login.account.id, id).await {
        Ok(Some(key)) => render(
            StatusCode::OK,
            &RevokePage {
                nav: visitor.nav(),
                id,
                label: key.label,
                prefix: key.prefix,
            },
        ),
        _ => no_such_key(&visitor),
    }
}

fn no_such_key(visitor: &Visitor) -> Response {
    message(
        StatusCode::NOT_FOUND,
        visitor.nav(),
        "No such key",
        "This key does not exist or was revoked.",
    )
}

/// `POST /account/api-keys/ID`: `action` is `update` (label and allow-list), `rotate` or
/// `revoke`.
pub(crate) async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<KeyForm>,
) -> Response {
    let login = match genuine(&visitor, &form.csrf) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let key = match state.repo().key(login.account.id, id).await {
        Ok(Some(key)) => key,
        _ => return no_such_key(&visitor),
    };
    // Revoking only takes access away; a new secret or a wider allow-list gives it.
    if form.action != "revoke" {
        let action = format!("/account/api-keys/{id}");
        let route = (action.as_str(), "/account/api-keys");
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
    }
    let ip = visitor.ip.to_string();
    let account = &login.account;
    let outcome = match form.action.as_str() {
        "update" => match parse_allow_list(&form.allow_ip) {
            Ok(allow_ips) => admin::update_account_key(
                state.repo(),
                account,
                &key,
                form.label.trim(),
                allow_ips,
                Some(&ip),
            )
            .await
            .map(|()| (format!("Key “{}” saved.", form.label.trim()), None))
            .map_err(|e| admin_error_words(&e)),
            Err(error) => Err(error),
        },
        "rotate" => admin::rotate_account_key(state.repo(), account, &key.label, Some(&ip))
            .await
            .map(|secret| {
                (
                    format!(
                        "Key “{}” rotated: its old secret no longer works.",
                        key.label
                    ),
                    Some((key.label.clone(), secret)),
                )
            })
            .map_err(|e| admin_error_words(&e)),
        "revoke" => admin::revoke_account_key(state.repo(), account, &key.label, Some(&ip))
            .await
            .map(|()| (format!("Key “{}” revoked.", key.label), None))
            .map_err(|e| admin_error_words(&e)),
        _ => Err("Unknown action.".to_owned()),
    };
    match outcome {
        Ok((notice, new_key)) => {
            keys_page(&state, login, visitor.nav().with_notice(notice), new_key).await
        }
        Err(error) => keys_page(&state, login, visitor.nav().with_error(error), None).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_start_with_a_capital_and_leave_addresses_as_typed() {
        let words = super::admin_error_words(&crate::admin::AdminError::KeyExists {
            email: "demo@example.com".into(),
            label: "backup".into(),
        });
        assert_eq!(
            words,
            "The account demo@example.com already has a key labelled \"backup\"."
        );
    }

    use super::*;

    #[test]
    fn allow_lists_parse_as_typed() {
        assert_eq!(parse_allow_list("  ").unwrap(), Vec::<IpNet>::new());
        let list = parse_allow_list("203.0.113.7, 2001:db8::/32 10.0.0.0/8").unwrap();
        assert_eq!(
            list.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["203.0.113.7/32", "2001:db8::/32", "10.0.0.0/8"]
        );
        assert!(parse_allow_list("example.com").is_err());
    }
}
