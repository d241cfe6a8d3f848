//! The one place that knows how the API says "no": turns an HTTP status, its `Retry-After` and
//! its body into an [`Error`] with a kind, a retry class and the catalogue's hint.
//!
//! It reads both answer styles a client meets: the documented table (401, 403 "IP not allowed",
//! 413, 429 with `Retry-After`, 503) and what the live service is known to send (403 "Flood
//! detected … #374/#412", KO bodies on HTTP 200, HTML where JSON was expected, "No such user #93",
//! which must stop everything rather than be retried).

use crate::error::{Error, ErrorKind};
use onefichier_protocol::{RetryClass, ko_message, parse_message};
use std::time::Duration;

/// How long to wait for a lock whose answer gave no `Retry-After` (rclone waits 30 s too).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Classifies an answer. `Ok(())` means success; the caller then decodes the body.
pub fn classify(
    operation: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    expects_json: bool,
) -> Result<(), Error> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(message) = json.as_ref().and_then(ko_message) {
        return Err(from_message(operation, status, retry_after, &message));
    }
    if !(200..300).contains(&status) {
        return Err(from_status(operation, status, retry_after, body));
    }
    if expects_json && json.is_none() {
        let looks_html = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
        let message = if looks_html {
            "the server answered with an HTML page where JSON was expected"
        } else {
            "the server's answer is not JSON"
        };
        // Maintenance pages are HTML: worth a later try.
        return Err(
            Error::new(ErrorKind::UnexpectedResponse, operation, message)
                .with_status(status)
                .with_retry(RetryClass::Backoff, retry_after),
        );
    }
    Ok(())
}

fn from_message(
    operation: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    message: &str,
) -> Error {
    let parsed = parse_message(message);
    let (kind, retry, hint) = match parsed.code {
        Some(code) => (code.kind(), code.retry(), Some(code.hint())),
        None => by_status(status),
    };
    let retry_after = match retry {
        RetryClass::WaitForLock => Some(retry_after.unwrap_or(DEFAULT_LOCK_WAIT)),
        _ => retry_after,
    };
    let error = Error::new(kind, operation, message.to_owned())
        .with_code(parsed.code)
        .with_status(status)
        .with_retry(retry, retry_after);
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

fn by_status(status: u16) -> (ErrorKind, RetryClass, Option<&'static str>) {
    use onefichier_protocol::ErrorCode as C;
    let (kind, retry, code) = match status {
        401 => (
            ErrorKind::InvalidKey,
            RetryClass::Permanent,
            Some(C::InvalidApiKey),
        ),
        403 => (
            ErrorKind::NotAllowed,
            RetryClass::Permanent,
            Some(C::ResourceNotAllowed),
        ),
        404 | 410 => (
            ErrorKind::NotFound,
            RetryClass::Permanent,
            Some(C::ResourceNotFound),
        ),
        413 => (
            ErrorKind::TooLarge,
            RetryClass::Permanent,
            Some(C::FileTooLarge),
        ),
        429 => (
            ErrorKind::RateLimited,
            RetryClass::Backoff,
            Some(C::TooManyRequests),
        ),
        500..=599 => (
            ErrorKind::Overloaded,
            RetryClass::Backoff,
            Some(C::ServiceOverloaded),
        ),
        400..=499 => (ErrorKind::BadRequest, RetryClass::Permanent, None),
        _ => (ErrorKind::Unknown, RetryClass::Permanent, None),
    };
    (kind, retry, code.map(|c| c.hint()))
}

fn from_status(
    operation: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Error {
    let (kind, retry, hint) = by_status(status);
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.trim().chars().take(120).collect();
    let message = if snippet.is_empty() || snippet.starts_with('<') {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {snippet}")
    };
    let error = Error::new(kind, operation, message)
        .with_status(status)
        .with_retry(retry, retry_after);
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// Parses `Retry-After` (seconds, or an HTTP date).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    httpdate(value)
}

/// The time until an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`; RFC 9110's form is RFC
/// 2822's with the zone `GMT`); a date past is no wait.
fn httpdate(value: &str) -> Option<Duration> {
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// What the upload node's answer to `upload.cgi` says: a redirect (or page) to `end.pl` is an
/// acceptance; a refusal comes as the API's JSON, or as an HTML page with the message in its
/// `div.bloc2` (as the live node sends it), or as a bare 429/503 that still says when to come
/// back.
pub(crate) fn classify_node_answer(
    operation: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<(), Error> {
    let json_ko = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| onefichier_protocol::ko_message(&v))
        .is_some();
    if json_ko {
        classify(operation, status, retry_after, body, false)
    } else if matches!(status, 302 | 303 | 200) && !looks_like_refusal(body) {
        Ok(())
    } else if matches!(status, 429 | 503) {
        // A refusal without the API's shape still says when to come back.
        classify(operation, status, retry_after, body, false)
    } else {
        Err(node_refusal(operation, status, body))
    }
}

/// Whether a 200 answer of the node is its error page (`div.bloc2` with a message) rather than
/// a report.
fn looks_like_refusal(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("class=\"bloc2\"") && !text.contains("Moved") && !text.contains("premium")
}

fn node_refusal(operation: &'static str, status: u16, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body);
    let message = text
        .split("class=\"bloc2\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(|m| {
            m.replace("&#39;", "'")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    // "Ne peut ouvrir le fichier destination": the node's storage failed; a new node may work.
    let temporary = message.contains("Ne peut ouvrir") || status >= 500;
    let kind = match status {
        _ if temporary => ErrorKind::Overloaded,
        401 => ErrorKind::InvalidKey,
        403 => ErrorKind::NotAllowed,
        413 => ErrorKind::TooLarge,
        _ => ErrorKind::BadRequest,
    };
    let error = Error::new(kind, operation, message).with_status(status);
    if temporary {
        error.with_retry(onefichier_protocol::RetryClass::Backoff, None)
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_retry(status: u16, body: &str) -> (ErrorKind, RetryClass) {
        let error = classify("test", status, None, body.as_bytes(), true).unwrap_err();
        (error.kind(), error.retry_class())
    }

    #[test]
    fn documented_table() {
        assert_eq!(
            kind_and_retry(401, r#"{"status":"KO","message":"Invalid API key #91"}"#),
            (ErrorKind::InvalidKey, RetryClass::Permanent)
        );
        assert_eq!(
            kind_and_retry(403, r#"{"status":"KO","message":"IP not allowed #95"}"#),
            (ErrorKind::IpNotAllowed, RetryClass::Permanent)
        );
        assert_eq!(
            kind_and_retry(413, r#"{"status":"KO","message":"File too large #413"}"#),
            (ErrorKind::TooLarge, RetryClass::Permanent)
        );
        assert_eq!(
            kind_and_retry(429, r#"{"status":"KO","message":"Too many requests #429"}"#),
            (ErrorKind::RateLimited, RetryClass::Backoff)
        );
        assert_eq!(
            kind_and_retry(503, "<html>maintenance</html>"),
            (ErrorKind::Overloaded, RetryClass::Backoff)
        );
        let error = classify(
            "t",
            413,
            None,
            br#"{"status":"KO","message":"File too large #413"}"#,
            true,
        )
        .unwrap_err();
        assert_eq!(
            error.hint(),
            Some("split the file into parts below the limit")
        );
    }

    #[test]
    fn live_service_styles() {
        let flood = classify(
            "t",
            403,
            None,
            br#"{"message":"Flood detected: IP Locked #374","status":"KO"}"#,
            true,
        )
        .unwrap_err();
        assert_eq!(flood.kind(), ErrorKind::Locked);
        assert_eq!(flood.retry_class(), RetryClass::WaitForLock);
        assert_eq!(flood.retry_after(), Some(DEFAULT_LOCK_WAIT));
        assert_eq!(
            kind_and_retry(403, r#"{"status":"KO","message":"Flood detected #412"}"#).1,
            RetryClass::WaitForLock
        );
        assert_eq!(
            kind_and_retry(403, r#"{"status":"KO","message":"Something odd #186"}"#),
            (ErrorKind::NotAllowed, RetryClass::Permanent),
            "an unknown text is judged by its status"
        );
        assert_eq!(
            kind_and_retry(
                200,
                r#"{"status":"KO","message":"No file has been renamed #312"}"#
            ),
            (ErrorKind::NothingChanged, RetryClass::Permanent)
        );
        assert_eq!(
            kind_and_retry(200, r#"{"status":"KO","message":"No such user #93"}"#),
            (ErrorKind::InvalidKey, RetryClass::Permanent)
        );
        assert_eq!(
            kind_and_retry(200, "<!DOCTYPE html><html></html>"),
            (ErrorKind::UnexpectedResponse, RetryClass::Backoff)
        );
        assert!(classify("t", 200, None, br#"{"url":"up","id":"x"}"#, true).is_ok());
        assert!(classify("t", 302, None, b"", false).is_err());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(Some("7")), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(Some("soon")), None);
        let in_two_minutes = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&in_two_minutes)
            .unwrap();
        assert!(date.ends_with(" GMT"), "{date}");
        let wait = parse_retry_after(Some(&date)).unwrap();
        assert!(
            (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&wait),
            "{date}: {wait:?}"
        );
    }
}
