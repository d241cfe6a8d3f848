//! `download/get_token.cgi`: a temporary direct-download URL.

use crate::envelope::{Status, de_opt_string, ok};
use crate::lenient::{Flag, de_opt_int, de_string};
use serde::{Deserialize, Serialize};

/// `download/get_token.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetTokenRequest {
    /// Download link (unless `folder_id` + `filename`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub url: Option<String>,
    /// Serve inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<Flag>,
    /// Spend CDN credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<Flag>,
    /// CDN only: 0 none, 1 the URL may not change IP, 2 no sub-requests.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub restrict_ip: Option<i64>,
    /// No sub-requests (parallel or ranged connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single: Option<Flag>,
    /// File password.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub pass: Option<String>,
    /// Give an `http://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_ssl: Option<Flag>,
    /// With `filename`: a file in a share whose links are hidden.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Exact file name, with `folder_id`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub filename: Option<String>,
    /// Share owner, when `folder_id` is 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sharing_user: Option<String>,
}

/// `download/get_token.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetTokenResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Direct URL on a download node (opaque; carries the token, so never log it).
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// Information.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
}
