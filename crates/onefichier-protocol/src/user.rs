//! `user/info.cgi`: account details and settings.

use crate::envelope::{Status, de_opt_string, ok};
use crate::lenient::{Flag, StrFlag, de_int, de_opt_int, de_string, de_u64};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An account's offer. On the wire a digit string: `"0"` free, `"1"` Premium, `"2"` Access,
/// `"3"` Premium GOLD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Offer {
    /// Free registered account: no API access.
    #[default]
    Free,
    /// Premium.
    Premium,
    /// Access.
    Access,
    /// Premium GOLD.
    Gold,
}

impl Offer {
    /// The wire digit.
    pub fn code(self) -> u8 {
        match self {
            Self::Free => 0,
            Self::Premium => 1,
            Self::Access => 2,
            Self::Gold => 3,
        }
    }

    /// The offer of a wire digit.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Free),
            1 => Some(Self::Premium),
            2 => Some(Self::Access),
            3 => Some(Self::Gold),
            _ => None,
        }
    }

    /// The lower-case name used by command lines and storage.
    pub fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Premium => "premium",
            Self::Access => "access",
            Self::Gold => "gold",
        }
    }

    /// Whether this offer may hold API keys.
    pub fn is_customer(self) -> bool {
        !matches!(self, Self::Free)
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an unknown offer name.
#[derive(Debug, thiserror::Error)]
#[error("unknown offer {0:?}: expected free, premium, access or gold")]
pub struct OfferError(String);

impl FromStr for Offer {
    type Err = OfferError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "free" => Ok(Self::Free),
            "premium" => Ok(Self::Premium),
            "access" => Ok(Self::Access),
            "gold" => Ok(Self::Gold),
            _ => Err(OfferError(s.to_owned())),
        }
    }
}

impl Serialize for Offer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for Offer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = de_int(deserializer)?;
        Self::from_code(code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown offer code {code}")))
    }
}

/// `user/info.cgi` request: `{}` shows; any field present sets that preference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = user::InfoRequest))]
pub struct InfoRequest {
    /// FTP uploads: 0 automatic, 1 manual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp_mode: Option<Flag>,
    /// Destination folder of FTP uploads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub ftp_did: Option<i64>,
    /// E-mail a report after FTP processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp_report: Option<Flag>,
    /// E-mail a report after each remote upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru_report: Option<Flag>,
    /// Default domain id (0–10).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub default_domain: Option<i64>,
    /// Files per page in the web interface.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub page_limit: Option<i64>,
    /// Default download mode: 0 HTTPS, 1 HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_port: Option<Flag>,
    /// Same, for downloads of the account's own files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_port_files: Option<Flag>,
    /// Spend CDN credits on own downloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_cdn: Option<Flag>,
    /// Show the download menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_menu: Option<Flag>,
}

impl InfoRequest {
    /// Whether the request changes nothing (a plain "show").
    pub fn is_show(&self) -> bool {
        *self == Self::default()
    }
}

/// `user/info.cgi` answer. Field types follow what production clients decode: several flags
/// travel as strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Information.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
    /// Account e-mail.
    #[serde(default, deserialize_with = "de_string")]
    pub email: String,
    /// Offer.
    #[serde(default)]
    pub offer: Offer,
    /// Second factor: "0" none, "1" e-mail code, "2" authenticator app.
    #[serde(rename = "2fa", default, deserialize_with = "de_string")]
    pub two_factor: String,
    /// E-mail on removal.
    #[serde(default)]
    pub mail_rm: StrFlag,
    /// FTP mode.
    #[serde(default)]
    pub ftp_mode: StrFlag,
    /// FTP destination folder.
    #[serde(default, deserialize_with = "de_int")]
    pub ftp_did: i64,
    /// FTP report.
    #[serde(default)]
    pub ftp_report: StrFlag,
    /// Remote-upload report.
    #[serde(default)]
    pub ru_report: StrFlag,
    /// Default domain id.
    #[serde(default, deserialize_with = "de_int")]
    pub default_domain: i64,
    /// Files per page.
    #[serde(default, deserialize_with = "de_int")]
    pub page_limit: i64,
    /// Default download mode.
    #[serde(default)]
    pub default_port: StrFlag,
    /// Default download mode for own files.
    #[serde(default)]
    pub default_port_files: StrFlag,
    /// CDN credits in GB (a decimal string).
    #[serde(default, deserialize_with = "de_string")]
    pub cdn: String,
    /// Download menu.
    #[serde(default)]
    pub download_menu: StrFlag,
    /// Spend CDN credits on own downloads.
    #[serde(default)]
    pub use_cdn: StrFlag,
    /// End of the subscription (Paris time).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub subscription_end: Option<String>,
    /// Deprecated quota.
    #[serde(default, deserialize_with = "de_int")]
    pub default_quota: i64,
    /// Cold-storage quota included with the offer, in bytes.
    #[serde(default, deserialize_with = "de_int")]
    pub default_cold_storage_quota: i64,
    /// Hot storage used, in bytes.
    #[serde(default, deserialize_with = "de_u64")]
    pub hot_storage: u64,
    /// Cold storage used, in bytes.
    #[serde(default, deserialize_with = "de_u64")]
    pub cold_storage: u64,
    /// When the storage figures were computed.
    #[serde(default, deserialize_with = "de_string")]
    pub stats_date: String,
    /// Cold storage allowed, in bytes.
    #[serde(default, deserialize_with = "de_int")]
    pub allowed_cold_storage: i64,
    /// Hot storage available (negative = excess), in bytes.
    #[serde(default, deserialize_with = "de_int")]
    pub available_storage: i64,
    /// Cold storage available (negative = excess), in bytes.
    #[serde(default, deserialize_with = "de_int")]
    pub available_cold_storage: i64,
    /// Extra quota in TB.
    #[serde(default, deserialize_with = "de_int")]
    pub extended_quota: i64,
    /// End of the extra quota.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub extended_quota_end: Option<String>,
    /// Over quota.
    #[serde(default)]
    pub overquota: Flag,
    /// Uploads blocked (quota, abuse…).
    #[serde(default)]
    pub upload_forbidden: StrFlag,
}
