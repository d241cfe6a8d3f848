//! `file/*.cgi`: listing, details, scan, delete, move, rename, copy, attributes.

use crate::envelope::{Status, de_opt_string, ok};
use crate::lenient::{Flag, de_int, de_opt_int, de_string, de_u64, de_vec};
use serde::{Deserialize, Deserializer, Serialize};

/// `file/ls.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::LsRequest))]
pub struct LsRequest {
    /// Folder to list: absent or 0 = root, -1 = every file in the account.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Owner of a share, when `folder_id` is 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sharing_user: Option<String>,
    /// Only files sent before this date (`YYYY-MM-DD HH:MM:SS`, Paris time).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sent_before: Option<String>,
    /// Only files sent after this date.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sent_after: Option<String>,
}

/// One file as `file/ls.cgi` and `folder/ls.cgi` list it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileItem {
    /// Download link, `https://DOMAIN/?ID`.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// File name.
    #[serde(default, deserialize_with = "de_string")]
    pub filename: String,
    /// Size in bytes.
    #[serde(default, deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date (Paris time).
    #[serde(default, deserialize_with = "de_string")]
    pub date: String,
    /// Whirlpool checksum (128 lowercase hex characters).
    #[serde(default, deserialize_with = "de_string")]
    pub checksum: String,
    /// MIME type; `content-type` on the wire, `content_type` accepted.
    #[serde(
        rename = "content-type",
        alias = "content_type",
        default,
        deserialize_with = "de_string"
    )]
    pub content_type: String,
    /// Whether the file is password protected.
    #[serde(default)]
    pub pass: Flag,
    /// Whether an access list restricts the file (a flag here, not the object).
    #[serde(default)]
    pub acl: Flag,
    /// Whether the file is flagged CDN.
    #[serde(default)]
    pub cdn: Flag,
}

/// `file/ls.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::LsResponse))]
pub struct LsResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of items.
    #[serde(default, deserialize_with = "de_u64")]
    pub count: u64,
    /// The files (at most 5,000).
    #[serde(default, deserialize_with = "de_vec")]
    pub items: Vec<FileItem>,
}

/// An access list: who may download a file (`file/info`, `file/chattr`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acl {
    /// Allowed IP ranges (CIDR).
    #[serde(default, deserialize_with = "de_vec")]
    pub ip: Vec<String>,
    /// Allowed countries (ISO 3166 alpha-2).
    #[serde(default, deserialize_with = "de_vec")]
    pub country: Vec<String>,
    /// Allowed registered users, by e-mail.
    #[serde(default, deserialize_with = "de_vec")]
    pub email: Vec<String>,
    /// Premium customers only.
    #[serde(default)]
    pub premium: Flag,
}

impl Acl {
    /// Whether the list restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.country.is_empty() && self.email.is_empty() && !self.premium.0
    }
}

/// Decodes an ACL that may arrive as an object, `null`, `0`, `""` or `[]` (all but an object mean
/// "no restriction").
pub fn de_acl<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Acl>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    match value {
        serde_json::Value::Object(_) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Array(items) if items.is_empty() => Ok(Some(Acl::default())),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(Acl::default())),
        serde_json::Value::String(s) if s.is_empty() || s == "0" => Ok(Some(Acl::default())),
        other => Err(serde::de::Error::custom(format!(
            "expected an acl object, got {other}"
        ))),
    }
}

/// `file/info.cgi` request (also the shape of a file reference elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::InfoRequest))]
pub struct InfoRequest {
    /// Download link.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub url: Option<String>,
    /// File password.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub pass: Option<String>,
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

/// `file/info.cgi` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// `OK` (the live service may leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// File name.
    #[serde(default, deserialize_with = "de_string")]
    pub filename: String,
    /// Size in bytes.
    #[serde(default, deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date (Paris time).
    #[serde(default, deserialize_with = "de_string")]
    pub date: String,
    /// Folder holding the file.
    #[serde(default, deserialize_with = "de_int")]
    pub folder_id: i64,
    /// Folder path, `A/B` (empty at the root).
    #[serde(default, deserialize_with = "de_string")]
    pub path: String,
    /// Whirlpool checksum.
    #[serde(default, deserialize_with = "de_string")]
    pub checksum: String,
    /// MIME type; `content_type` on the wire here, `content-type` accepted.
    #[serde(alias = "content-type", default, deserialize_with = "de_string")]
    pub content_type: String,
    /// Description.
    #[serde(default, deserialize_with = "de_string")]
    pub description: String,
    /// Password protected.
    #[serde(default)]
    pub pass: Flag,
    /// Served without TLS by default.
    #[serde(default)]
    pub no_ssl: Flag,
    /// Served inline.
    #[serde(default)]
    pub inline: Flag,
    /// Flagged CDN.
    #[serde(default)]
    pub cdn: Flag,
    /// Access list (empty when none).
    #[serde(default, deserialize_with = "de_acl_or_empty")]
    pub acl: Acl,
}

fn de_acl_or_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Acl, D::Error> {
    Ok(de_acl(deserializer)?.unwrap_or_default())
}

/// `file/scan.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanRequest {
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
}

/// `file/scan.cgi` answer: `OK` = clean; KO = a problem (an infected file is deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanResponse {
    /// `OK` or `KO`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Detail when KO.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
    /// Date of the scan, when the answer comes from the 6-hour cache.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub date: Option<String>,
}

/// A file to delete: its link and, for anonymous uploads, the removal code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmFile {
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// Removal code (anonymous uploads).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub code: Option<String>,
}

impl RmFile {
    /// A file of the caller's account, by its link (no removal code needed).
    pub fn link(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            code: None,
        }
    }
}

/// `file/rm.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::RmRequest))]
pub struct RmRequest {
    /// Files to delete.
    #[serde(default, deserialize_with = "de_vec")]
    pub files: Vec<RmFile>,
}

/// `file/rm.cgi` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of files deleted.
    #[serde(default, deserialize_with = "de_u64")]
    pub removed: u64,
    /// Links deleted.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
}

/// `file/mv.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::MvRequest))]
pub struct MvRequest {
    /// Links to move.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// Target folder (0 = root). Required by the service.
    #[serde(default, deserialize_with = "de_opt_int")]
    pub destination_folder_id: Option<i64>,
    /// Owner of the destination share, when the destination is 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub destination_user: Option<String>,
    /// New name (only with exactly one link).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub rename: Option<String>,
}

/// `file/mv.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = file::MvResponse))]
pub struct MvResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of files moved.
    #[serde(default, deserialize_with = "de_u64")]
    pub moved: u64,
    /// Links moved (unchanged by a move).
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// New name, when renamed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub filename: Option<String>,
}

/// One rename of `file/rename.cgi`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameItem {
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// New name.
    #[serde(default, deserialize_with = "de_string")]
    pub filename: String,
}

/// `file/rename.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameRequest {
    /// Renames to apply.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<RenameItem>,
}

/// One done rename.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Renamed {
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// Name before.
    #[serde(default, deserialize_with = "de_string")]
    pub old_filename: String,
    /// Name after.
    #[serde(default, deserialize_with = "de_string")]
    pub new_filename: String,
}

/// `file/rename.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of files renamed.
    #[serde(default, deserialize_with = "de_u64")]
    pub renamed: u64,
    /// What changed.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<Renamed>,
}

/// `file/cp.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CpRequest {
    /// Links to copy; other accounts' unrestricted files are imported.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// Destination folder (0 or absent = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Password of the source file(s).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub pass: Option<String>,
    /// Destination share owner, when `folder_id` is 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sharing_user: Option<String>,
    /// New name (only with one link).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub rename: Option<String>,
}

/// One done copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Copied {
    /// Source link.
    #[serde(default, deserialize_with = "de_string")]
    pub from_url: String,
    /// The copy's new link.
    #[serde(default, deserialize_with = "de_string")]
    pub to_url: String,
}

/// `file/cp.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CpResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of files copied.
    #[serde(default, deserialize_with = "de_u64")]
    pub copied: u64,
    /// Source and new links.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<Copied>,
    /// New name, when renamed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub filename: Option<String>,
}

/// `file/chattr.cgi` request: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChattrRequest {
    /// Files to change.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
    /// New name (one file only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub filename: Option<String>,
    /// New description (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New password, 6+ characters; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// Served without TLS by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_ssl: Option<Flag>,
    /// Served inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<Flag>,
    /// Flagged CDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<Flag>,
    /// New access list; an empty one removes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_acl"
    )]
    pub acl: Option<Acl>,
}

/// `file/chattr.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChattrResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Number of files changed.
    #[serde(default, deserialize_with = "de_u64")]
    pub updated: u64,
    /// Links changed.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
}
