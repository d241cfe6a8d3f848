//! Extractors whose rejections use the API's KO shape.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use ipnet::IpNet;
use onefichier_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A JSON body, checked as the service checks it: `Content-Type: application/json` required
/// ("Content-Type not JSON #24"), an empty body read as `{}`, anything else malformed refused
/// with a message naming the problem.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(ErrorCode::ContentTypeNotJson));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::RequestTooLarge)
            } else {
                ApiError::detail(ErrorCode::InvalidJson, rejection.body_text())
            }
        })?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &body
        };
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => {
                return Err(ApiError::detail(
                    ErrorCode::InvalidJson,
                    "expected an object",
                ));
            }
            Err(e) => return Err(ApiError::detail(ErrorCode::InvalidJson, e.to_string())),
        }
        serde_json::from_slice(body)
            .map(ApiJson)
            .map_err(|e| ApiError::detail(ErrorCode::InvalidJson, e.to_string()))
    }
}

/// The socket peer, when the server was started with connect info (always, in the binary).
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The caller's address: the socket peer, unless the peer is a trusted proxy, in which case the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &Request, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    client_ip_from(req.headers(), peer, trusted)
}

/// [`client_ip`] for handlers that hold the headers and the peer address separately.
pub fn client_ip_from(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip().to_canonical());
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.iter().any(|net| net.contains(*ip)))
        .or_else(|| forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// Whether the request reached a trusted proxy over HTTPS (`X-Forwarded-Proto: https` sent by
/// a proxy in `trusted`): the browser then speaks TLS even though this server does not.
pub fn forwarded_https(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpNet]) -> bool {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip().to_canonical());
    trusted.iter().any(|net| net.contains(&peer))
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(peer: &str, xff: Option<&str>) -> Request {
        let mut builder = Request::builder();
        if let Some(xff) = xff {
            builder = builder.header("x-forwarded-for", xff);
        }
        let mut req = builder.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let direct = request("127.0.0.5:1000", Some("9.9.9.9"));
        assert_eq!(
            client_ip(&direct, &trusted),
            "127.0.0.5".parse::<IpAddr>().unwrap()
        );
        let proxied = request("10.1.1.1:1000", Some("6.6.6.6, 9.9.9.9, 10.2.2.2"));
        assert_eq!(
            client_ip(&proxied, &trusted),
            "9.9.9.9".parse::<IpAddr>().unwrap()
        );
        let mapped = request("[::ffff:127.0.0.1]:1000", None);
        assert_eq!(
            client_ip(&mapped, &[]),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
