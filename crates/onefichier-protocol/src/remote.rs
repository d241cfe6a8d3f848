//! `remote/*.cgi`: server-side fetches of URLs into the account.

use crate::envelope::{Status, de_opt_string, ok};
use crate::lenient::{de_int, de_opt_int, de_string, de_vec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One job in `remote/ls.cgi`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobSummary {
    /// Job id.
    #[serde(default, deserialize_with = "de_int")]
    pub id: i64,
    /// When it was requested.
    #[serde(default, deserialize_with = "de_string")]
    pub request_date: String,
    /// When it ran; empty while it has not.
    #[serde(default, deserialize_with = "de_string")]
    pub execution_date: String,
}

/// `remote/ls.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = remote::LsResponse))]
pub struct LsResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Jobs.
    #[serde(default, deserialize_with = "de_vec")]
    pub data: Vec<JobSummary>,
}

/// `remote/info.cgi` request; the id is accepted as a number or a string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = remote::InfoRequest))]
pub struct InfoRequest {
    /// Job id.
    #[serde(default, deserialize_with = "de_opt_int")]
    pub id: Option<i64>,
}

/// The outcome of one URL of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UrlResult {
    /// `OK` or `KO`.
    #[serde(default = "ok")]
    pub status: Status,
    /// The fetched URL.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// The new file's link, when OK.
    #[serde(default, deserialize_with = "de_string")]
    pub download_link: String,
    /// Detail, when KO.
    #[serde(default, deserialize_with = "de_string")]
    pub message: String,
}

/// `remote/info.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Info {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Job id.
    #[serde(default, deserialize_with = "de_int")]
    pub id: i64,
    /// When it was requested.
    #[serde(default, deserialize_with = "de_string")]
    pub request_date: String,
    /// When it ran; empty while it has not.
    #[serde(default, deserialize_with = "de_string")]
    pub execution_date: String,
    /// Requested URLs.
    #[serde(default, deserialize_with = "de_vec")]
    pub links: Vec<String>,
    /// Per-URL outcomes.
    #[serde(default, deserialize_with = "de_vec")]
    pub result: Vec<UrlResult>,
}

/// `remote/request.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestRequest {
    /// URLs to fetch.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// Destination folder (0 or absent = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Extra headers for the fetches (name → value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// `remote/request.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// New job id.
    #[serde(default, deserialize_with = "de_int")]
    pub id: i64,
    /// Request date.
    #[serde(default, deserialize_with = "de_string")]
    pub date: String,
    /// Accepted URLs.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// Headers as stored (names in Title-Case).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Information.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
}

/// Normalises a header name to Title-Case words (`content-type` → `Content-Type`), or `None`
/// when it holds anything but letters, digits and `-`.
pub fn normalize_header_name(name: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    Some(
        name.split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                })
            })
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// Whether a header value uses only the documented characters: letters, digits, space and tab
/// (not at either end) and `-_+=%?,'"/`.
pub fn is_valid_header_value(value: &str) -> bool {
    !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " \t-_+=%?,'\"/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rules() {
        assert_eq!(
            normalize_header_name("content-type").unwrap(),
            "Content-Type"
        );
        assert_eq!(normalize_header_name("COOKIE").unwrap(), "Cookie");
        assert_eq!(normalize_header_name("x y"), None);
        assert!(is_valid_header_value("sid=1"));
        assert!(!is_valid_header_value(" sid"));
        assert!(!is_valid_header_value("a;b"));
    }
}
