//! `vouchers/*.cgi`: reseller vouchers.

use crate::envelope::{Status, de_opt_string, ok};
use crate::lenient::{de_string, de_u64, de_vec};
use serde::{Deserialize, Serialize};

/// An unused voucher.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Voucher {
    /// The code (32 characters).
    #[serde(default, deserialize_with = "de_string")]
    pub voucher: String,
    /// What it buys (e.g. `premium-30d`).
    #[serde(default, deserialize_with = "de_string")]
    pub service: String,
}

/// `vouchers/ls.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = vouchers::LsResponse))]
pub struct LsResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of vouchers.
    #[serde(default, deserialize_with = "de_u64")]
    pub count: u64,
    /// Unused vouchers.
    #[serde(default, deserialize_with = "de_vec")]
    pub data: Vec<Voucher>,
}

/// `vouchers/check.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRequest {
    /// The code.
    #[serde(default, deserialize_with = "de_string")]
    pub voucher: String,
}

/// `vouchers/check.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResponse {
    /// `OK` when valid.
    #[serde(default = "ok")]
    pub status: Status,
    /// What it buys.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub service: Option<String>,
}

/// `vouchers/use.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UseRequest {
    /// The code.
    #[serde(default, deserialize_with = "de_string")]
    pub voucher: String,
    /// The account that receives it.
    #[serde(default, deserialize_with = "de_string")]
    pub user_email: String,
}
