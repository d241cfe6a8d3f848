//! `whoami` / `account`.

use super::Ctx;
use crate::output::human_size;
use anyhow::Result;
use serde_json::json;

/// Warn when cold storage passes this share of its quota: files past it are deleted.
const COLD_WARNING: f64 = 0.9;

pub(crate) async fn whoami(ctx: &Ctx) -> Result<()> {
    let info = ctx.client()?.user_info().await?;
    let cold_used = info.cold_storage;
    let cold_allowed = u64::try_from(info.allowed_cold_storage).unwrap_or(0);
    let cold_share = if cold_allowed > 0 {
        cold_used as f64 / cold_allowed as f64
    } else {
        0.0
    };
    ctx.printer.document(&json!({
        "email": info.email,
        "offer": info.offer.name(),
        "subscription_end": info.subscription_end,
        "hot_storage_used": info.hot_storage,
        "hot_storage_available": info.available_storage,
        "cold_storage_used": cold_used,
        "cold_storage_allowed": cold_allowed,
        // A decimal string on the wire; a number here like the other amounts (null if unreadable).
        "cdn_credits_gb": info.cdn.trim().parse::<f64>().ok(),
        "upload_forbidden": info.upload_forbidden.0,
    }));
    let p = &ctx.printer;
    p.line(format!("Account:        {}", info.email));
    p.line(format!("Offer:          {}", info.offer));
    p.line(format!(
        "Subscription:   until {}",
        info.subscription_end.as_deref().unwrap_or("-")
    ));
    p.line(format!(
        "Hot storage:    {} used, {} available",
        human_size(info.hot_storage),
        human_size(u64::try_from(info.available_storage).unwrap_or(0))
    ));
    p.line(format!(
        "Cold storage:   {} of {}",
        human_size(cold_used),
        human_size(cold_allowed)
    ));
    p.line(format!("CDN credits:    {} GB", info.cdn));
    if cold_share >= COLD_WARNING {
        crate::output::warn(&format!(
            "cold storage is {:.0}% full: files past the quota are deleted",
            cold_share * 100.0
        ));
    }
    if info.upload_forbidden.0 {
        crate::output::warn("uploads are forbidden on this account");
    }
    Ok(())
}
