//! `user/info.cgi`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::meta::Account;
use crate::policy::own_folder;
use crate::state::{AppState, now};
use axum::extract::State;
use axum::{Extension, Json};
use onefichier_protocol::lenient::{Flag, StrFlag};
use onefichier_protocol::user::{InfoRequest, UserInfo};
use onefichier_protocol::{Endpoint, Status, date, ids};

/// `user/info.cgi`: shows the account; any preference present in the request is set first.
pub(crate) async fn info(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<InfoRequest>,
) -> ApiResult<Json<UserInfo>> {
    state
        .limiter()
        .check_user_info(caller.ip, caller.account.id)
        .await?;
    let mut account = caller.account.clone();
    if !req.is_show() {
        caller.require_change(Endpoint::UserInfo)?;
        apply_settings(&state, &caller, &mut account, &req).await?;
        state
            .repo()
            .update_settings(account.id, &account.settings)
            .await?;
    }
    let used = state.repo().storage_used(account.id).await?;
    Ok(Json(user_info(&account, used)))
}

async fn apply_settings(
    state: &AppState,
    caller: &Caller,
    account: &mut Account,
    req: &InfoRequest,
) -> ApiResult<()> {
    let s = &mut account.settings;
    if let Some(domain) = req.default_domain {
        if ids::domain_name(domain).is_none() {
            return Err(ApiError::invalid(format!(
                "default_domain {domain} is not in 0..=10"
            )));
        }
        s.default_domain = domain;
    }
    if let Some(limit) = req.page_limit {
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::invalid("page_limit must be between 1 and 1000"));
        }
        s.page_limit = limit;
    }
    if let Some(did) = req.ftp_did {
        own_folder(state, caller, did).await?;
        s.ftp_did = did;
    }
    let flags: [(Option<Flag>, &mut bool); 7] = [
        (req.ftp_mode, &mut s.ftp_mode),
        (req.ftp_report, &mut s.ftp_report),
        (req.ru_report, &mut s.ru_report),
        (req.default_port, &mut s.default_port),
        (req.default_port_files, &mut s.default_port_files),
        (req.use_cdn, &mut s.use_cdn),
        (req.download_menu, &mut s.download_menu),
    ];
    for (value, field) in flags {
        if let Some(Flag(v)) = value {
            *field = v;
        }
    }
    Ok(())
}

/// CDN credits as the service shows them: gigabytes, as a decimal string.
fn cdn_gigabytes(bytes: i64) -> String {
    let whole = bytes / 1_000_000_000;
    let milli = (bytes % 1_000_000_000) / 1_000_000;
    if milli == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{milli:03}")
            .trim_end_matches('0')
            .to_owned()
    }
}

fn user_info(account: &Account, used: i64) -> UserInfo {
    let s = &account.settings;
    UserInfo {
        status: Status::Ok,
        message: None,
        email: account.email.clone(),
        offer: account.offer,
        two_factor: s.two_factor.to_string(),
        mail_rm: StrFlag(s.mail_rm),
        ftp_mode: StrFlag(s.ftp_mode),
        ftp_did: s.ftp_did,
        ftp_report: StrFlag(s.ftp_report),
        ru_report: StrFlag(s.ru_report),
        default_domain: s.default_domain,
        page_limit: s.page_limit,
        default_port: StrFlag(s.default_port),
        default_port_files: StrFlag(s.default_port_files),
        cdn: cdn_gigabytes(account.cdn_credits_bytes),
        download_menu: StrFlag(s.download_menu),
        use_cdn: StrFlag(s.use_cdn),
        subscription_end: account.subscription_end.map(date::format_unix),
        default_quota: 0,
        default_cold_storage_quota: account.cold_quota,
        hot_storage: u64::try_from(used).unwrap_or(0),
        cold_storage: 0,
        stats_date: date::format_unix(now()),
        allowed_cold_storage: account.cold_quota,
        available_storage: account.hot_quota - used,
        available_cold_storage: account.cold_quota,
        extended_quota: 0,
        extended_quota_end: None,
        overquota: Flag(used > account.hot_quota),
        upload_forbidden: StrFlag(account.upload_forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::cdn_gigabytes;

    #[test]
    fn cdn_credits_render_as_gigabytes() {
        assert_eq!(cdn_gigabytes(0), "0");
        assert_eq!(cdn_gigabytes(2_000_000_000), "2");
        assert_eq!(cdn_gigabytes(1_500_000_000), "1.5");
        assert_eq!(cdn_gigabytes(1_250_000_000), "1.25");
    }
}
