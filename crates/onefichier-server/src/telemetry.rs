//! The operator's view: one access-log line per request, Prometheus metrics, and the health and
//! readiness probes.
//!
//! The access log names the route (`/dl/{token}`, never the token), the status, the time taken,
//! the bytes in and out and the account, never a key, token, password or query string.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use onefichier_protocol::ErrorCode;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Where a request's handler notes the account it served, for the access log.
#[derive(Debug, Clone, Default)]
pub struct AccountSlot(Arc<OnceLock<i64>>);

impl AccountSlot {
    /// Notes the account (the first note wins).
    pub fn set(&self, account_id: i64) {
        let _ = self.0.set(account_id);
    }
}

/// Notes `account_id` in the request's [`AccountSlot`], if the access log gave it one.
pub fn note_account(extensions: &axum::http::Extensions, account_id: i64) {
    if let Some(slot) = extensions.get::<AccountSlot>() {
        slot.set(account_id);
    }
}

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Request durations, in seconds: API calls take milliseconds, transfers minutes.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0, 3600.0,
];

/// Installs the process's metrics recorder (once; later calls do nothing). Without it, metrics
/// are not recorded and `/metrics` answers 404.
pub fn install_metrics() -> anyhow::Result<()> {
    if METRICS.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("onefichier_request_duration_seconds".to_owned()),
            &SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    let _ = METRICS.set(handle);
    Ok(())
}

/// Why a refused request was refused, for `onefichier_refusals_total`.
fn refusal_reason(status: StatusCode, code: Option<ErrorCode>) -> Option<&'static str> {
    let reason = match (status.as_u16(), code) {
        (
            _,
            Some(
                ErrorCode::FloodIpLocked
                | ErrorCode::FloodKeyLocked
                | ErrorCode::FloodUserLocked
                | ErrorCode::FloodDetected
                | ErrorCode::IpLocked,
            ),
        ) => "lock",
        (401, _) => "401",
        (403, _) => "403",
        (429, _) => "429",
        (503, _) => "503",
        _ => return None,
    };
    Some(reason)
}

/// Middleware around every request: the access-log line and the request metrics.
pub async fn access(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let bytes_in = content_length(req.headers());
    let slot = AccountSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let status = response.status();
    let seconds = started.elapsed().as_secs_f64();
    let bytes_out = content_length(response.headers()).max(
        http_body::Body::size_hint(response.body())
            .exact()
            .unwrap_or(0),
    );
    // Unknown paths share one label: what strangers send must not grow the metrics.
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let account = slot.0.get().copied();
    tracing::info!(
        target: "access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = (seconds * 1000.0).round() as u64,
        bytes_in,
        bytes_out,
        account,
        "request served"
    );
    if METRICS.get().is_some() {
        let status_label = status.as_u16().to_string();
        metrics::counter!("onefichier_requests_total", "route" => route.clone(), "status" => status_label)
            .increment(1);
        metrics::histogram!("onefichier_request_duration_seconds", "route" => route)
            .record(seconds);
        let code = response.extensions().get::<ErrorCode>().copied();
        if let Some(reason) = refusal_reason(status, code) {
            metrics::counter!("onefichier_refusals_total", "reason" => reason).increment(1);
        }
    }
    response
}

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `GET /health`: the process is alive (no store is asked).
pub async fn health() -> &'static str {
    "ok\n"
}

/// `GET /ready`: the metadata store and the blob store both answer (`503` naming the one that
/// does not, so a load balancer sends no traffic here meanwhile).
pub async fn ready(State(state): State<AppState>) -> Response {
    if let Err(error) = state.repo().ping().await {
        tracing::warn!(%error, "not ready: the metadata store does not answer");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metadata store unavailable\n",
        )
            .into_response();
    }
    if let Err(error) = state.blobs().ping().await {
        tracing::warn!(%error, "not ready: the blob store does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "blob store unavailable\n").into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}

/// `GET /metrics`: Prometheus text, for addresses in `--metrics-allow` only.
pub async fn metrics_page(
    State(state): State<AppState>,
    crate::extract::Peer(peer): crate::extract::Peer,
    headers: axum::http::HeaderMap,
) -> Response {
    let ip = crate::extract::client_ip_from(&headers, peer, &state.config().trusted_proxies);
    if !state
        .config()
        .metrics_allow
        .iter()
        .any(|net| net.contains(&ip))
    {
        return ApiError::detail(ErrorCode::ResourceNotFound, "/metrics").into_response();
    }
    let Some(handle) = METRICS.get() else {
        return ApiError::detail(ErrorCode::ResourceNotFound, "/metrics").into_response();
    };
    // Gauges read at scrape time.
    match state.repo().stored_bytes().await {
        Ok(bytes) => metrics::gauge!("onefichier_storage_used_bytes").set(bytes as f64),
        Err(error) => tracing::warn!(%error, "storage used not measured"),
    }
    metrics::gauge!("onefichier_transfers_in_flight")
        .set(state.limiter().transfers_in_flight() as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Counts bytes received into blobs (uploads, remote uploads).
pub fn bytes_in(count: u64) {
    metrics::counter!("onefichier_bytes_in_total").increment(count);
}

/// Counts bytes sent from blobs (downloads).
pub fn bytes_out(count: u64) {
    metrics::counter!("onefichier_bytes_out_total").increment(count);
}

/// Counts a run of the collector and what it removed.
pub fn collected(staging: usize, blobs: usize, sessions: u64) {
    metrics::counter!("onefichier_collector_runs_total").increment(1);
    metrics::counter!("onefichier_collected_total", "what" => "staging").increment(staging as u64);
    metrics::counter!("onefichier_collected_total", "what" => "blobs").increment(blobs as u64);
    metrics::counter!("onefichier_collected_total", "what" => "sessions").increment(sessions);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_apart() {
        assert_eq!(refusal_reason(StatusCode::OK, None), None);
        assert_eq!(refusal_reason(StatusCode::UNAUTHORIZED, None), Some("401"));
        assert_eq!(
            refusal_reason(
                StatusCode::TOO_MANY_REQUESTS,
                Some(ErrorCode::FloodIpLocked)
            ),
            Some("lock")
        );
        assert_eq!(
            refusal_reason(
                StatusCode::TOO_MANY_REQUESTS,
                Some(ErrorCode::TooManyRequests)
            ),
            Some("429")
        );
        assert_eq!(
            refusal_reason(StatusCode::SERVICE_UNAVAILABLE, None),
            Some("503")
        );
    }
}
