//! `vouchers/*.cgi`: a reseller's vouchers, checked and applied to a user's account.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::{AppState, now};
use crate::vouchers::VoucherService;
use axum::extract::State;
use axum::{Extension, Json};
use onefichier_protocol::vouchers::{CheckRequest, CheckResponse, LsResponse, UseRequest, Voucher};
use onefichier_protocol::{ErrorCode, Status, StatusResponse};

/// `vouchers/ls.cgi`: the caller's unused vouchers.
pub(crate) async fn ls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> ApiResult<Json<LsResponse>> {
    let data: Vec<Voucher> = state
        .repo()
        .unused_vouchers(caller.account.id)
        .await?
        .into_iter()
        .map(|v| Voucher {
            voucher: v.code,
            service: v.service,
        })
        .collect();
    Ok(Json(LsResponse {
        status: Status::Ok,
        count: data.len() as u64,
        data,
    }))
}

/// `vouchers/check.cgi`: valid while unused.
pub(crate) async fn check(
    State(state): State<AppState>,
    Extension(_caller): Extension<Caller>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    match state.repo().voucher(req.voucher.trim()).await? {
        Some(v) if v.used_by.is_none() => Ok(Json(CheckResponse {
            status: Status::Ok,
            service: Some(v.service),
        })),
        _ => Err(ApiError::new(ErrorCode::VoucherInvalid)),
    }
}

/// `vouchers/use.cgi`: applies one of the caller's vouchers to `user_email`'s account.
pub(crate) async fn use_voucher(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<UseRequest>,
) -> ApiResult<Json<StatusResponse>> {
    let code = req.voucher.trim();
    let voucher = match state.repo().voucher(code).await? {
        Some(v) if v.used_by.is_none() && v.owner_id == caller.account.id => v,
        _ => return Err(ApiError::new(ErrorCode::VoucherInvalid)),
    };
    let service: VoucherService = voucher
        .service
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::VoucherInvalid))?;
    // An address without an account is counted toward the caller's flood lock and answered
    // as a voucher that cannot be used: trying addresses one by one with a voucher is slow,
    // and each hit spends the voucher.
    let Some(user) = state.repo().account_by_email(req.user_email.trim()).await? else {
        state.limiter().record_refusal(caller.ip).await;
        return Err(ApiError::detail(
            ErrorCode::VoucherInvalid,
            "it cannot be used for user_email",
        ));
    };
    let now = now();
    if !state.repo().mark_voucher_used(code, user.id, now).await? {
        return Err(ApiError::new(ErrorCode::VoucherInvalid));
    }
    let (offer, end) = service.apply(user.offer, user.subscription_end, now);
    state.repo().update_offer(user.id, offer, Some(end)).await?;
    Ok(Json(StatusResponse::ok(Some(format!(
        "Voucher applied: {} for {} days",
        offer, service.days
    )))))
}
