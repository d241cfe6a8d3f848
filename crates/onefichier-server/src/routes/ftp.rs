//! `ftp/*.cgi`: FTP sub-accounts and processing requests (records only: this server has no FTP
//! listener).

use crate::auth::Caller;
use crate::domain::fields::check_password;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::meta::MetaError;
use crate::policy::own_folder;
use crate::state::{AppState, now};
use axum::extract::State;
use axum::{Extension, Json};
use onefichier_protocol::ftp::{FtpUser, UserAddRequest, UserRmRequest, UsersLsResponse};
use onefichier_protocol::{ErrorCode, Status, StatusResponse, date};

/// `ftp/process.cgi`.
pub(crate) async fn process(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> ApiResult<Json<StatusResponse>> {
    state
        .repo()
        .request_ftp_process(caller.account.id, now())
        .await?;
    Ok(Json(StatusResponse::ok(Some(
        "FTP processing requested".to_owned(),
    ))))
}

/// `ftp/users/ls.cgi`.
pub(crate) async fn users_ls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> ApiResult<Json<UsersLsResponse>> {
    let items: Vec<FtpUser> = state
        .repo()
        .ftp_users(caller.account.id)
        .await?
        .into_iter()
        .map(|u| FtpUser {
            user: u.user,
            folder_id: u.folder_id,
            date: date::format_unix(u.created_at),
        })
        .collect();
    Ok(Json(UsersLsResponse {
        status: Status::Ok,
        count: items.len() as u64,
        items,
    }))
}

fn check_ftp_user(user: &str) -> ApiResult<()> {
    let ok = (3..=32).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "user must be 3 to 32 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// `ftp/users/add.cgi`.
pub(crate) async fn users_add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<UserAddRequest>,
) -> ApiResult<Json<StatusResponse>> {
    check_ftp_user(&req.user)?;
    check_password("pass", &req.pass)?;
    let folder_id = req.folder_id.unwrap_or(0);
    own_folder(&state, &caller, folder_id).await?;
    state
        .repo()
        .insert_ftp_user(
            caller.account.id,
            &req.user,
            &state.passwords().hash(&req.pass).await,
            folder_id,
            now(),
        )
        .await
        .map_err(|e| match e {
            MetaError::Conflict => ApiError::invalid(format!("user {:?} already exists", req.user)),
            other => other.into(),
        })?;
    Ok(Json(StatusResponse::ok(Some(format!(
        "FTP user {} created",
        req.user
    )))))
}

/// `ftp/users/rm.cgi`.
pub(crate) async fn users_rm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<UserRmRequest>,
) -> ApiResult<Json<StatusResponse>> {
    if state
        .repo()
        .delete_ftp_user(caller.account.id, &req.user)
        .await?
    {
        Ok(Json(StatusResponse::ok(Some(format!(
            "FTP user {} deleted",
            req.user
        )))))
    } else {
        Err(ApiError::detail(
            ErrorCode::ResourceNotFound,
            format!("FTP user {:?}", req.user),
        ))
    }
}
