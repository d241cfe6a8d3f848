//! Pages anyone with a link sees: a file's download page (the flow the service's website has and
//! downloaders scrape), removal links of anonymous uploads, and shared folders.

use super::session::Visitor;
use super::{Nav, message, render};
use crate::domain::downloads::{TokenRules, issue_direct_url};
use crate::error::ApiError;
use crate::meta::FileRecord;
use crate::policy::may_read_as;
use crate::secrets::{digests_equal, key_digest};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onefichier_protocol::ErrorCode;
use onefichier_protocol::date;
use onefichier_protocol::ids::LinkId;
use onefichier_protocol::size::human_fr as human_size_fr;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    api_url: String,
    site: String,
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    nav: Nav,
    link_id: String,
    name: String,
    date: String,
    /// Size and Whirlpool: only for visitors who may download the file.
    details: Option<(String, String)>,
    protected: bool,
    direct_url: Option<String>,
    /// The site is served over TLS: only then is "without SSL" a choice.
    offers_plain: bool,
}

#[derive(Template)]
#[template(path = "remove.html")]
struct RemovePage {
    nav: Nav,
    link_id: String,
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "dir.html")]
struct DirPage {
    nav: Nav,
    name: String,
    share_id: String,
    protected_form: bool,
    /// Link, name, size, upload date (Paris time, as the file page shows it).
    files: Vec<(String, String, String, String)>,
}

/// A file of a shared folder, as its page lists it.
pub(crate) struct SharedFile {
    pub(crate) link: String,
    pub(crate) name: String,
    pub(crate) size: u64,
    /// Upload time, Unix seconds.
    pub(crate) uploaded: i64,
}

/// The link id in a page's query (`/?ID`, `/?ID&lg=en`), if it is one.
fn link_in(query: Option<&str>) -> Option<LinkId> {
    let first = query?.split('&').next()?;
    LinkId::new(first).ok()
}

fn not_found(visitor: &Visitor) -> Response {
    message(
        StatusCode::NOT_FOUND,
        visitor.nav(),
        "File not found",
        "The requested file could not be found: it was removed, or the link is wrong.",
    )
}

/// A file's page; its size and Whirlpool only `for_reader`s, those who may download it (the
/// owner, anyone when the file is neither protected nor refused to them, whoever gave its
/// password), since a checksum tells whether a guess at a private file's content is right.
fn file_page(
    state: &AppState,
    file: &FileRecord,
    nav: Nav,
    direct_url: Option<String>,
    for_reader: bool,
) -> FilePage {
    FilePage {
        offers_plain: state.config().names.tls,
        nav,
        link_id: file.link_id.clone(),
        name: file.name.clone(),
        date: date::format_unix(file.created_at),
        details: for_reader.then(|| {
            (
                human_size_fr(u64::try_from(file.size).unwrap_or(0)),
                file.whirlpool.clone(),
            )
        }),
        protected: file.pass_hash.is_some(),
        direct_url,
    }
}

async fn find(state: &AppState, visitor: &Visitor, link: &str) -> Result<FileRecord, Response> {
    match state.repo().file_by_link(link).await {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(not_found(visitor)),
        Err(error) => Err(ApiError::from(error).into_response()),
    }
}

/// `GET /`: the home page, or with `?ID` the file's download page. The page is English
/// whatever `lg` or the `LG` cookie ask (downloaders ask for English).
pub(crate) async fn home_or_file(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(link) = link_in(query.as_deref()) else {
        let site = state.config().names.site_url();
        let page = HomePage {
            nav: visitor.nav(),
            api_url: format!("{site}/v1"),
            site,
        };
        return render(StatusCode::OK, &page);
    };
    match find(&state, &visitor, link.as_str()).await {
        Ok(file) => {
            // Without a password, this is only a check: no guess is counted.
            let reader = visitor.login.as_ref().map(|l| &l.account);
            let for_reader = may_read_as(&state, &file, visitor.ip, reader, None)
                .await
                .is_ok();
            render(
                StatusCode::OK,
                &file_page(&state, &file, visitor.nav(), None, for_reader),
            )
        }
        Err(answer) => answer,
    }
}

/// Fields of the download form, as the service's page has them.
/// (`did`, which the form also sends, chooses nothing here: unknown fields are ignored.)
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DownloadForm {
    dl_no_ssl: String,
    pass: String,
}

/// `POST /?ID`: checks the password and access list as `get_token` does, then answers with the
/// direct link ("Click here to download", `a.ok`). The form needs no session, as downloaders
/// post it without one; its guesses are limited like API passwords.
pub(crate) async fn file_post(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
    Form(form): Form<DownloadForm>,
) -> Response {
    let Some(link) = link_in(query.as_deref()) else {
        return not_found(&visitor);
    };
    if let Err(refusal) = state.limiter().check_ip(visitor.ip).await {
        state.limiter().record_refusal(visitor.ip).await;
        return refusal.into_response();
    }
    let file = match find(&state, &visitor, link.as_str()).await {
        Ok(file) => file,
        Err(answer) => return answer,
    };
    let reader = visitor.login.as_ref().map(|l| &l.account);
    let pass = Some(form.pass.as_str());
    if let Err(refusal) = may_read_as(&state, &file, visitor.ip, reader, pass).await {
        let (status, text) = match refusal.code() {
            ErrorCode::PasswordNotProvided => (
                StatusCode::FORBIDDEN,
                "This file is protected by a password: type it to download.",
            ),
            ErrorCode::InvalidPassword => (StatusCode::FORBIDDEN, "Wrong password."),
            ErrorCode::ResourceNotAllowed => {
                return message(
                    StatusCode::FORBIDDEN,
                    visitor.nav(),
                    "Download refused",
                    "The owner of this file does not allow you to download it (access list by address, country, user or customers only).",
                );
            }
            _ => return refusal.into_response(),
        };
        let page = file_page(&state, &file, visitor.nav().with_error(text), None, false);
        return render(status, &page);
    }
    let rules = TokenRules {
        no_ssl: form.dl_no_ssl == "on",
        ..TokenRules::default()
    };
    match issue_direct_url(&state, &file, rules, None).await {
        Ok(url) => render(
            StatusCode::OK,
            &file_page(&state, &file, visitor.nav(), Some(url), true),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

/// The file of a removal link, when its code is right (compared in constant time; wrong codes
/// are limited like passwords).
async fn removable(
    state: &AppState,
    visitor: &Visitor,
    link: &str,
    code: &str,
) -> Result<FileRecord, Response> {
    let item = format!("remove:{link}");
    if state
        .limiter()
        .begin_guess(visitor.ip, &item)
        .await
        .is_err()
    {
        return Err(message(
            StatusCode::TOO_MANY_REQUESTS,
            visitor.nav(),
            "Too many attempts",
            "Too many wrong removal codes: wait a few minutes.",
        ));
    }
    let file = match LinkId::new(link) {
        Ok(link) => find(state, visitor, link.as_str()).await?,
        Err(_) => return Err(not_found(visitor)),
    };
    let right = file
        .remove_code
        .as_deref()
        .is_some_and(|stored| digests_equal(&key_digest(stored), &key_digest(code)));
    if !right {
        state.limiter().wrong_guess(visitor.ip).await;
        return Err(not_found(visitor));
    }
    state.limiter().right_guess(visitor.ip, &item).await;
    Ok(file)
}

/// `GET /remove/ID/CODE`: asks to confirm.
pub(crate) async fn remove_get(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((link, code)): Path<(String, String)>,
) -> Response {
    match removable(&state, &visitor, &link, &code).await {
        Ok(file) => render(
            StatusCode::OK,
            &RemovePage {
                nav: visitor.nav(),
                link_id: file.link_id,
                code,
                name: file.name,
            },
        ),
        Err(answer) => answer,
    }
}

/// Fields of the removal form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RemoveForm {
    force: String,
}

/// `POST /remove/ID/CODE` with `force=1`: removes the file.
pub(crate) async fn remove_post(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((link, code)): Path<(String, String)>,
    Form(form): Form<RemoveForm>,
) -> Response {
    let file = match removable(&state, &visitor, &link, &code).await {
        Ok(file) => file,
        Err(answer) => return answer,
    };
    if form.force != "1" {
        return remove_get(State(state), visitor, Path((link, code))).await;
    }
    match state.repo().delete_files(&[file.id]).await {
        Ok(freed) => {
            state.free_blobs(&freed).await;
            message(
                StatusCode::OK,
                visitor.nav(),
                "File removed",
                "The file has been destroyed.",
            )
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// The HTML page of a shared folder: its files or, with `None`, its password form.
pub(crate) fn dir_page(
    state: &AppState,
    name: &str,
    share_id: &str,
    files: Option<Vec<SharedFile>>,
) -> Response {
    let nav = Nav {
        signup_open: state.config().web.signup != crate::config::SignupMode::Closed,
        ..Nav::default()
    };
    let page = DirPage {
        nav,
        name: name.to_owned(),
        share_id: share_id.to_owned(),
        protected_form: files.is_none(),
        files: files
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                (
                    f.link,
                    f.name,
                    human_size_fr(f.size),
                    date::format_unix(f.uploaded),
                )
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}
