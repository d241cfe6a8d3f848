//! `remote/*.cgi`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::meta::RemoteJob;
use crate::policy::own_folder;
use crate::state::{AppState, now};
use axum::extract::State;
use axum::{Extension, Json};
use onefichier_protocol::remote::{
    Info, InfoRequest, JobSummary, LsResponse, RequestRequest, RequestResponse, UrlResult,
    is_valid_header_value, normalize_header_name,
};
use onefichier_protocol::{ErrorCode, Status, date};
use std::collections::BTreeMap;

/// Most URLs in one job.
const MAX_URLS: usize = 100;

/// `remote/request.cgi`: the job runs in the background.
pub(crate) async fn request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<RequestRequest>,
) -> ApiResult<Json<RequestResponse>> {
    if req.urls.is_empty() || req.urls.len() > MAX_URLS {
        return Err(ApiError::invalid(format!(
            "urls must hold 1 to {MAX_URLS} URLs"
        )));
    }
    for url in &req.urls {
        let parsed =
            url::Url::parse(url).map_err(|e| ApiError::invalid(format!("{url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ApiError::invalid(format!("{url:?} is not an http(s) URL")));
        }
    }
    let mut headers = BTreeMap::new();
    for (name, value) in req.headers.unwrap_or_default() {
        let normalized = normalize_header_name(&name)
            .ok_or_else(|| ApiError::invalid(format!("header name {name:?}")))?;
        if !is_valid_header_value(&value) {
            return Err(ApiError::invalid(format!("header value of {normalized}")));
        }
        headers.insert(normalized, value);
    }
    let folder_id = req.folder_id.unwrap_or(0);
    own_folder(&state, &caller, folder_id).await?;
    let job = state
        .repo()
        .insert_remote_job(
            &RemoteJob {
                id: 0,
                account_id: caller.account.id,
                folder_id,
                urls: req.urls.clone(),
                headers: serde_json::to_string(&headers).expect("headers serialise"),
                request_date: now(),
                execution_date: None,
                result: "[]".to_owned(),
            },
            &crate::remote::lease(&state),
        )
        .await?;
    crate::remote::spawn(state.clone(), job.clone());
    Ok(Json(RequestResponse {
        status: Status::Ok,
        id: job.id,
        date: date::format_unix(job.request_date),
        urls: job.urls,
        headers,
        message: None,
    }))
}

/// `remote/ls.cgi`.
pub(crate) async fn ls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> ApiResult<Json<LsResponse>> {
    let mut jobs = state.repo().remote_jobs(caller.account.id).await?;
    if let Some(root) = caller.key.folder_id {
        let mut inside = Vec::with_capacity(jobs.len());
        for job in jobs {
            if state
                .repo()
                .folder_within(caller.account.id, job.folder_id, root)
                .await?
            {
                inside.push(job);
            }
        }
        jobs = inside;
    }
    let data = jobs
        .into_iter()
        .map(|job| JobSummary {
            id: job.id,
            request_date: date::format_unix(job.request_date),
            execution_date: job
                .execution_date
                .map(date::format_unix)
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(LsResponse {
        status: Status::Ok,
        data,
    }))
}

/// `remote/info.cgi`.
pub(crate) async fn info(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<InfoRequest>,
) -> ApiResult<Json<Info>> {
    let id = req.id.ok_or_else(|| ApiError::invalid("id is required"))?;
    let job = state
        .repo()
        .remote_job(caller.account.id, id)
        .await?
        .ok_or_else(|| ApiError::detail(ErrorCode::RemoteJobNotFound, format!("id {id}")))?;
    caller.check_folder(&state, job.folder_id).await?;
    let mut result: Vec<UrlResult> = serde_json::from_str(&job.result).unwrap_or_default();
    if !caller.sees_links() {
        // The fetched files' links would let a key that may not read files download them.
        for fetched in &mut result {
            fetched.download_link.clear();
        }
    }
    Ok(Json(Info {
        status: Status::Ok,
        id: job.id,
        request_date: date::format_unix(job.request_date),
        execution_date: job
            .execution_date
            .map(date::format_unix)
            .unwrap_or_default(),
        links: job.urls,
        result,
    }))
}
