//! `ftp/*.cgi`: FTP sub-accounts and processing of FTP uploads.
//!
//! The reference knows the request fields but not the answers' shapes; this implementation
//! answers `ftp/users/ls.cgi` with `{"status","count","items":[{user, folder_id, date}]}` and
//! decodes `items`, `data` or `users`.

use crate::envelope::{Status, ok};
use crate::lenient::{de_int, de_opt_int, de_string, de_u64, de_vec};
use serde::{Deserialize, Serialize};

/// One FTP sub-account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FtpUser {
    /// User name.
    #[serde(default, deserialize_with = "de_string")]
    pub user: String,
    /// Where that user's uploads land.
    #[serde(default, deserialize_with = "de_int")]
    pub folder_id: i64,
    /// Creation date.
    #[serde(default, deserialize_with = "de_string")]
    pub date: String,
}

/// `ftp/users/ls.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsersLsResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of users.
    #[serde(default, deserialize_with = "de_u64")]
    pub count: u64,
    /// Users.
    #[serde(default, alias = "data", alias = "users", deserialize_with = "de_vec")]
    pub items: Vec<FtpUser>,
}

/// `ftp/users/add.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAddRequest {
    /// User name.
    #[serde(default, deserialize_with = "de_string")]
    pub user: String,
    /// Password.
    #[serde(default, deserialize_with = "de_string")]
    pub pass: String,
    /// Where that user's uploads land (0 or absent = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
}

/// `ftp/users/rm.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRmRequest {
    /// User name.
    #[serde(default, deserialize_with = "de_string")]
    pub user: String,
}
