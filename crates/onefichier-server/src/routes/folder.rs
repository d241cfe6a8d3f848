//! `folder/*.cgi`.

use crate::auth::Caller;
use crate::domain::fields::{check_name, check_password, looks_like_email};
use crate::domain::links::file_item;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::limits::Listing;
use crate::meta::{Folder, GroupShare, MetaError, SentBetween};
use crate::policy::{FolderView, changeable_folder, folder_view, own_folder};
use crate::secrets::random_id;
use crate::state::{AppState, now};
use axum::extract::State;
use axum::{Extension, Json};
use onefichier_protocol::folder::{
    LsRequest, LsResponse, MkdirRequest, MkdirResponse, MvRequest, MvResponse, RmRequest, Share,
    ShareRequest, ShareResponse, SubFolder,
};
use onefichier_protocol::ids::ROOT_FOLDER;
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::{ErrorCode, Status, StatusResponse, date};

/// Length of public share ids (`/dir/ID`).
const SHARE_ID_LEN: usize = 10;

/// Most groupware shares on one folder.
const MAX_SHARES: usize = 100;

fn required_folder(id: Option<i64>) -> ApiResult<i64> {
    match id {
        None => Err(ApiError::invalid("folder_id is required")),
        Some(ROOT_FOLDER) => Err(ApiError::invalid("the root folder cannot be changed")),
        Some(id) => Ok(id),
    }
}

fn exists_or(error: MetaError, name: &str) -> ApiError {
    match error {
        MetaError::Conflict => ApiError::detail(ErrorCode::FolderExists, name),
        other => other.into(),
    }
}

/// `folder/ls.cgi`.
pub(crate) async fn ls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<LsRequest>,
) -> ApiResult<Json<LsResponse>> {
    if req.sharing_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "listing another user's share",
        ));
    }
    let account_id = caller.account.id;
    let folder_id = req.folder_id.unwrap_or(ROOT_FOLDER);
    if folder_id < 0 {
        return Err(ApiError::detail(
            ErrorCode::FolderNotFound,
            format!("folder_id {folder_id}"),
        ));
    }
    let (view, folder) = folder_view(&state, &caller, folder_id).await?;
    state
        .limiter()
        .check_listing(account_id, folder_id, Listing::Folders)
        .await?;
    let (count, size) = match view {
        FolderView::PathToRoot(_) => (0, 0),
        FolderView::Own => state.repo().folder_usage(account_id, folder_id).await?,
    };
    let sub_folders = sub_folders_seen(&state, account_id, folder_id, view).await?;
    let items = if req.files.is_some_and(|f| f.0) && caller.sees_links() && view == FolderView::Own
    {
        Some(listed_items(&state, account_id, folder_id).await?)
    } else {
        None
    };
    let head = FolderHead::of(&state, &caller, folder.as_ref(), view).await?;
    Ok(Json(LsResponse {
        status: Status::Ok,
        folder_id,
        name: head.name,
        create_date: head.create_date,
        pass: Flag(head.pass),
        shared: head.shared,
        shares: head.shares,
        user: None,
        rw: None,
        hide_links: None,
        files: u64::try_from(count).unwrap_or(0),
        // The live service sends null for a folder without files.
        size: (count > 0).then(|| u64::try_from(size).unwrap_or(0)),
        sub_folders,
        items,
    }))
}

/// The sub-folders of a listing: all of them, or on the path down to a key's root only the
/// one that leads there.
async fn sub_folders_seen(
    state: &AppState,
    account_id: i64,
    folder_id: i64,
    view: FolderView,
) -> ApiResult<Vec<SubFolder>> {
    let mut sub_folders = state.repo().sub_folders(account_id, folder_id).await?;
    if let FolderView::PathToRoot(root) = view {
        let mut toward_root = Vec::new();
        for sub in sub_folders {
            if state.repo().folder_within(account_id, root, sub.id).await? {
                toward_root.push(sub);
            }
        }
        sub_folders = toward_root;
    }
    Ok(sub_folders
        .into_iter()
        .map(|f| SubFolder {
            id: f.id,
            create_date: date::format_unix(f.created_at),
            pass: Flag(f.share_pass_hash.is_some()),
            name: f.name,
        })
        .collect())
}

/// The files of a folder, as a listing shows them.
async fn listed_items(
    state: &AppState,
    account_id: i64,
    folder_id: i64,
) -> ApiResult<Vec<onefichier_protocol::file::FileItem>> {
    let files = state
        .repo()
        .listed_files(
            account_id,
            Some(folder_id),
            SentBetween::default(),
            state.limiter().max_listing(),
        )
        .await?;
    let names = &state.config().names;
    Ok(files.into_iter().map(|f| file_item(names, f)).collect())
}

/// What a listing says of the folder itself.
struct FolderHead {
    name: String,
    create_date: Option<String>,
    pass: bool,
    shared: Option<String>,
    shares: Option<Vec<Share>>,
}

impl FolderHead {
    async fn of(
        state: &AppState,
        caller: &Caller,
        folder: Option<&Folder>,
        view: FolderView,
    ) -> ApiResult<Self> {
        let Some(f) = folder else {
            return Ok(Self {
                name: "Root".to_owned(),
                create_date: None,
                pass: false,
                shared: None,
                shares: None,
            });
        };
        let mut head = Self {
            name: f.name.clone(),
            create_date: Some(date::format_unix(f.created_at)),
            pass: false,
            shared: None,
            shares: None,
        };
        if view == FolderView::Own {
            let shares: Vec<Share> = state
                .repo()
                .group_shares(f.id)
                .await?
                .into_iter()
                .map(|s| Share {
                    email: s.email,
                    rw: Flag(s.rw),
                    hide_links: Flag(s.hide_links),
                })
                .collect();
            head.pass = f.share_pass_hash.is_some();
            // A share URL lists the folder's download links: not for keys that cannot read.
            head.shared = f
                .share_id
                .as_deref()
                .filter(|_| caller.sees_links())
                .map(|id| share_url(state, id));
            head.shares = (!shares.is_empty()).then_some(shares);
        }
        Ok(head)
    }
}

fn share_url(state: &AppState, share_id: &str) -> String {
    format!("{}/dir/{share_id}", state.config().names.site_url())
}

/// `folder/mkdir.cgi`.
pub(crate) async fn mkdir(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<MkdirRequest>,
) -> ApiResult<Json<MkdirResponse>> {
    if req.sharing_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "creating folders in another user's share",
        ));
    }
    check_name("name", &req.name)?;
    let parent = req.folder_id.unwrap_or(ROOT_FOLDER);
    own_folder(&state, &caller, parent).await?;
    let folder = state
        .repo()
        .insert_folder(caller.account.id, parent, &req.name, now())
        .await
        .map_err(|e| exists_or(e, &req.name))?;
    Ok(Json(MkdirResponse {
        status: Status::Ok,
        folder_id: folder.id,
        name: folder.name,
    }))
}

/// `folder/share.cgi`: public share on or off (with an optional password) and the groupware
/// shares, which a list replaces and an empty list removes.
pub(crate) async fn share(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<ShareRequest>,
) -> ApiResult<Json<ShareResponse>> {
    let id = required_folder(req.folder_id)?;
    let pass_hash = match req.pass.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(pass) => {
            check_password("pass", pass)?;
            Some(Some(state.passwords().hash(pass).await))
        }
    };
    let shares = req
        .shares
        .as_ref()
        .map(|shares| {
            if shares.len() > MAX_SHARES {
                return Err(ApiError::invalid(format!("at most {MAX_SHARES} shares")));
            }
            shares
                .iter()
                .map(|s| {
                    if !looks_like_email(&s.email) {
                        return Err(ApiError::invalid(format!(
                            "shares: {:?} is not an e-mail",
                            s.email
                        )));
                    }
                    if s.email.eq_ignore_ascii_case(&caller.account.email) {
                        return Err(ApiError::invalid(
                            "shares: a folder is not shared with its owner",
                        ));
                    }
                    Ok(GroupShare {
                        email: s.email.clone(),
                        // Hidden links imply read-only.
                        rw: s.rw.0 && !s.hide_links.0,
                        hide_links: s.hide_links.0,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?;
    let Some(folder) = changeable_folder(&state, &caller, id).await? else {
        return Err(ApiError::invalid("the root folder cannot be shared"));
    };
    let public = match req.share {
        Some(Flag(true)) => Some(
            folder
                .share_id
                .clone()
                .unwrap_or_else(|| random_id(SHARE_ID_LEN, false)),
        ),
        Some(Flag(false)) => None,
        None => folder.share_id.clone(),
    };
    let pass = match (&public, pass_hash) {
        (None, _) => None,
        (Some(_), Some(new)) => new,
        (Some(_), None) => folder.share_pass_hash.clone(),
    };
    state
        .repo()
        .set_public_share(caller.account.id, id, public.as_deref(), pass.as_deref())
        .await?;
    if let Some(shares) = &shares {
        state.repo().set_group_shares(id, shares).await?;
    }
    Ok(Json(ShareResponse {
        status: Status::Ok,
        url: public
            .as_deref()
            .map(|share_id| share_url(&state, share_id)),
        message: None,
    }))
}

/// `folder/mv.cgi`: moves and/or renames; a folder never moves into itself or its descendants.
pub(crate) async fn mv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<MvRequest>,
) -> ApiResult<Json<MvResponse>> {
    let id = required_folder(req.folder_id)?;
    if req.destination_user.is_some() {
        return Err(ApiError::detail(
            ErrorCode::NotImplemented,
            "moving into another user's share",
        ));
    }
    if req.rename.is_none() && req.destination_folder_id.is_none() {
        return Err(ApiError::invalid(
            "give destination_folder_id, rename or both",
        ));
    }
    if let Some(name) = &req.rename {
        check_name("rename", name)?;
    }
    let Some(folder) = changeable_folder(&state, &caller, id).await? else {
        return Err(ApiError::invalid("the root folder cannot be moved"));
    };
    let parent = req.destination_folder_id.unwrap_or(folder.parent_id);
    own_folder(&state, &caller, parent).await?;
    // Walk up from the destination: meeting the folder itself would make a cycle.
    let mut cursor = parent;
    while cursor != ROOT_FOLDER {
        if cursor == id {
            return Err(ApiError::invalid(
                "a folder cannot move into itself or a sub-folder",
            ));
        }
        cursor = state
            .repo()
            .folder(caller.account.id, cursor)
            .await?
            .map_or(ROOT_FOLDER, |f| f.parent_id);
    }
    let new_name = req.rename.clone().unwrap_or_else(|| folder.name.clone());
    if new_name == folder.name && parent == folder.parent_id {
        return Err(ApiError::new(ErrorCode::SameName));
    }
    state
        .repo()
        .move_folder(caller.account.id, id, parent, &new_name)
        .await
        .map_err(|e| exists_or(e, &new_name))?;
    Ok(Json(MvResponse {
        status: Status::Ok,
        message: None,
        old_name: folder.name,
        new_name,
    }))
}

/// `folder/rm.cgi`: only empty folders; delete or move their content first.
pub(crate) async fn rm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<RmRequest>,
) -> ApiResult<Json<StatusResponse>> {
    let id = required_folder(req.folder_id)?;
    changeable_folder(&state, &caller, id).await?;
    let (files, _) = state.repo().folder_usage(caller.account.id, id).await?;
    let subs = state.repo().sub_folders(caller.account.id, id).await?;
    if files > 0 || !subs.is_empty() {
        return Err(ApiError::detail(
            ErrorCode::FolderNotEmpty,
            format!("{files} file(s), {} folder(s)", subs.len()),
        ));
    }
    state.repo().delete_folder(caller.account.id, id).await?;
    Ok(Json(StatusResponse::ok(Some("Folder deleted".to_owned()))))
}
