//! Every access rule, in one place: what a scoped API key may do (the scope rules, applied to
//! the decisions of the endpoint table, [`Endpoint::access`], and of the upload node,
//! [`onefichier_protocol::endpoint::NODE_UPLOAD`]), which files and folders are a caller's own
//! and inside the folder its key is confined to, and who may read another account's file
//! (password, access list). The router refuses a call before its handler runs; handlers, the
//! website's pages and the download node ask here for what depends on the request.

use crate::auth::Caller;
use crate::domain::links::parse_link;
use crate::error::{ApiError, ApiResult};
use crate::meta::{Account, Acl, FileRecord, Folder, KeyScope};
use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use onefichier_protocol::ids;
use onefichier_protocol::{Endpoint, ErrorCode, Grant, Need};
use std::net::IpAddr;

impl KeyScope {
    /// Whether a key of this scope may do what `need` names.
    pub fn allows(self, need: Need) -> bool {
        match self {
            KeyScope::Full => true,
            KeyScope::Read => matches!(need, Need::Browse | Need::Read),
            KeyScope::Upload => matches!(need, Need::Browse | Need::Upload),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeyScope::Full => "full-access",
            KeyScope::Read => "read-only",
            KeyScope::Upload => "upload-only",
        }
    }
}

impl Caller {
    /// Refuses what the key may not do (403 #632): a need its scope lacks, or account-wide
    /// business for a key confined to a folder.
    pub fn require(&self, grant: Grant) -> Result<(), ApiError> {
        if !self.key.scope.allows(grant.need) {
            return Err(self.refusal(grant.need.verb()));
        }
        if grant.account_wide && self.key.folder_id.is_some() {
            return Err(self.refusal("manage the account"));
        }
        Ok(())
    }

    /// Refuses a change made through `endpoint` (its table's `changing` decision, or the call's
    /// own when it has none).
    pub fn require_change(&self, endpoint: Endpoint) -> Result<(), ApiError> {
        let access = endpoint.access();
        self.require(access.changing.unwrap_or(access.call))
    }

    /// Whether answers may show this key download links and share URLs: only to keys that may
    /// read files (an upload-only key sees folders, never what would let it read).
    pub fn sees_links(&self) -> bool {
        self.key.scope.allows(Need::Read)
    }

    /// Refuses a folder outside the subtree the key is confined to (403 #632).
    pub async fn check_folder(&self, state: &AppState, folder_id: i64) -> Result<(), ApiError> {
        match self.key.folder_id {
            Some(root)
                if !state
                    .repo()
                    .folder_within(self.account.id, folder_id, root)
                    .await? =>
            {
                Err(ApiError::detail(
                    ErrorCode::KeyScope,
                    format!("this key is confined to folder {root}; folder {folder_id} is outside"),
                ))
            }
            _ => Ok(()),
        }
    }

    fn refusal(&self, verb: &str) -> ApiError {
        let scope = self.key.scope.describe();
        let described = match self.key.folder_id {
            Some(root) => format!("{scope}, folder-{root}-confined"),
            None => scope.to_owned(),
        };
        ApiError::detail(
            ErrorCode::KeyScope,
            format!("this {described} key may not {verb}"),
        )
    }
}

/// Middleware after [`crate::auth::require_key`]: refuses keys that the endpoint's table entry
/// does not admit.
pub async fn require_access(endpoint: Endpoint, req: Request, next: Next) -> Response {
    let refused = req
        .extensions()
        .get::<Caller>()
        .map(|caller| caller.require(endpoint.access().call));
    match refused {
        Some(Err(refusal)) => refusal.into_response(),
        _ => next.run(req).await,
    }
}

/// A file the caller owns, by link, inside the folder its key is confined to; another
/// account's file is "not found", never revealed.
pub(crate) async fn own_file(
    state: &AppState,
    caller: &Caller,
    url: &str,
) -> ApiResult<FileRecord> {
    let link = parse_link(url)?;
    match state.repo().file_by_link(link.as_str()).await? {
        Some(file) if file.account_id == Some(caller.account.id) => {
            caller.check_folder(state, file.folder_id).await?;
            Ok(file)
        }
        _ => Err(ApiError::detail(ErrorCode::ResourceNotFound, url)),
    }
}

/// A folder the caller owns, inside the folder its key is confined to; `None` for the root
/// (id 0).
pub(crate) async fn own_folder(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<Option<Folder>> {
    let folder = if id == ids::ROOT_FOLDER {
        None
    } else {
        match state.repo().folder(caller.account.id, id).await? {
            Some(folder) => Some(folder),
            None => {
                return Err(ApiError::detail(
                    ErrorCode::FolderNotFound,
                    format!("folder_id {id}"),
                ));
            }
        }
    };
    caller.check_folder(state, id).await?;
    Ok(folder)
}

/// How a caller sees a folder it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FolderView {
    /// Its own folder, inside the folder its key is confined to (if any): all of it.
    Own,
    /// A folder above the one its key is confined to (whose id this is): its name and the
    /// way down only, so that clients can still resolve paths from the root.
    PathToRoot(i64),
}

/// The folder `id` a caller lists (`None` for the root) and how it may see it; a folder neither
/// its own nor on the way down to its key's root is refused as [`own_folder`] refuses it.
pub(crate) async fn folder_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<(FolderView, Option<Folder>)> {
    let account_id = caller.account.id;
    if let Some(root) = caller.key.folder_id
        && !state.repo().folder_within(account_id, id, root).await?
        && state.repo().folder_within(account_id, root, id).await?
    {
        let folder = state.repo().folder(account_id, id).await?;
        return Ok((FolderView::PathToRoot(root), folder));
    }
    Ok((FolderView::Own, own_folder(state, caller, id).await?))
}

/// A folder the caller may change (move, remove, share): [`own_folder`], and not the folder its
/// key is confined to, which stays where its owner put it.
pub(crate) async fn changeable_folder(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<Option<Folder>> {
    if caller.key.folder_id == Some(id) {
        return Err(ApiError::detail(
            ErrorCode::KeyScope,
            format!("folder {id} is this key's root: it cannot move, share or remove it"),
        ));
    }
    own_folder(state, caller, id).await
}

/// Checks a file's password and access list for a caller who does not own it, and, for one who
/// does, the folder the key is confined to. Wrong passwords are limited per address and per file
/// (see [`crate::limits::Limiter::begin_guess`]).
pub(crate) async fn may_read(
    state: &AppState,
    file: &FileRecord,
    caller: &Caller,
    pass: Option<&str>,
) -> ApiResult<()> {
    if file.account_id == Some(caller.account.id) {
        return caller.check_folder(state, file.folder_id).await;
    }
    may_read_as(state, file, caller.ip, Some(&caller.account), pass).await
}

/// Checks a file's password and access list for a reader at `ip`: an account (an API caller, a
/// logged-in visitor) or nobody (an anonymous visitor of the file's page). Owners pass.
pub(crate) async fn may_read_as(
    state: &AppState,
    file: &FileRecord,
    ip: IpAddr,
    reader: Option<&Account>,
    pass: Option<&str>,
) -> ApiResult<()> {
    if reader.is_some_and(|account| file.account_id == Some(account.id)) {
        return Ok(());
    }
    if let Some(hash) = &file.pass_hash {
        let Some(given) = pass.filter(|p| !p.is_empty()) else {
            return Err(ApiError::new(ErrorCode::PasswordNotProvided));
        };
        let item = format!("file:{}", file.link_id);
        state.limiter().begin_guess(ip, &item).await?;
        if !state.passwords().verify(given, hash).await {
            state.limiter().wrong_guess(ip).await;
            return Err(ApiError::new(ErrorCode::InvalidPassword));
        }
        state.limiter().right_guess(ip, &item).await;
    }
    let (email, customer) =
        reader.map_or(("", false), |a| (a.email.as_str(), a.offer.is_customer()));
    if !acl_allows(&file.acl, ip, email, customer) {
        return Err(ApiError::new(ErrorCode::ResourceNotAllowed));
    }
    Ok(())
}

/// Whether an access list lets a caller in. Countries cannot be told from an address here, so a
/// country list refuses everyone it cannot vouch for.
pub(crate) fn acl_allows(acl: &Acl, ip: IpAddr, email: &str, is_customer: bool) -> bool {
    let ip_ok = acl.ip.is_empty()
        || acl.ip.iter().any(|range| {
            range.parse::<IpNet>().map_or_else(
                |_| range.parse::<IpAddr>().is_ok_and(|one| one == ip),
                |net| net.contains(&ip),
            )
        });
    let email_ok = acl.email.is_empty() || acl.email.iter().any(|e| e.eq_ignore_ascii_case(email));
    let premium_ok = !acl.premium || is_customer;
    let country_ok = acl.country.is_empty();
    ip_ok && email_ok && premium_ok && country_ok
}
