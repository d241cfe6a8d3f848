//! `folder/*.cgi`: details and sub-folders, create, share, move or rename, delete.

use crate::envelope::{Status, de_opt_string, ok};
use crate::file::FileItem;
use crate::lenient::{Flag, de_int, de_list, de_opt_int, de_opt_u64, de_string, de_u64, de_vec};
use serde::{Deserialize, Serialize};

/// `folder/ls.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = folder::LsRequest))]
pub struct LsRequest {
    /// Folder (0 or absent = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Owner of a share (required for the root of someone else's share).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sharing_user: Option<String>,
    /// Also list the folder's files in `items`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Flag>,
}

/// A groupware share of a folder with a registered user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    /// The user's e-mail.
    #[serde(default, deserialize_with = "de_string")]
    pub email: String,
    /// Write access.
    #[serde(default)]
    pub rw: Flag,
    /// Download links hidden (implies read-only).
    #[serde(default)]
    pub hide_links: Flag,
}

/// A sub-folder entry: keyed `id`, not `folder_id`, on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubFolder {
    /// Folder id.
    #[serde(default, deserialize_with = "de_int", alias = "folder_id")]
    pub id: i64,
    /// Name.
    #[serde(default, deserialize_with = "de_string")]
    pub name: String,
    /// Creation date (Paris time).
    #[serde(default, deserialize_with = "de_string")]
    pub create_date: String,
    /// Password protected (public share password).
    #[serde(default)]
    pub pass: Flag,
}

/// `folder/ls.cgi` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = folder::LsResponse))]
pub struct LsResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// This folder's id.
    #[serde(default, deserialize_with = "de_int")]
    pub folder_id: i64,
    /// Name (`Root` for 0).
    #[serde(default, deserialize_with = "de_string")]
    pub name: String,
    /// Creation date (absent for the root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub create_date: Option<String>,
    /// Public share password set.
    #[serde(default)]
    pub pass: Flag,
    /// Public share URL, when shared.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub shared: Option<String>,
    /// Groupware shares (owner's view).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_list"
    )]
    pub shares: Option<Vec<Share>>,
    /// Owner's e-mail, when the folder is shared with the caller.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub user: Option<String>,
    /// The caller's write right on a shared folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rw: Option<Flag>,
    /// Whether links are hidden from the caller on a shared folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_links: Option<Flag>,
    /// Number of files directly inside.
    #[serde(default, deserialize_with = "de_u64")]
    pub files: u64,
    /// Total bytes directly inside (`null` when empty on the live service).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub size: Option<u64>,
    /// Sub-folders.
    #[serde(default, deserialize_with = "de_vec")]
    pub sub_folders: Vec<SubFolder>,
    /// Files, when asked with `files: 1`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_list"
    )]
    pub items: Option<Vec<FileItem>>,
}

/// `folder/mkdir.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MkdirRequest {
    /// Name (at most 250 characters).
    #[serde(default, deserialize_with = "de_string")]
    pub name: String,
    /// Parent (0 or absent = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub folder_id: Option<i64>,
    /// Share owner, when creating in the root of a share.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub sharing_user: Option<String>,
}

/// `folder/mkdir.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MkdirResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// The new folder's id.
    #[serde(default, deserialize_with = "de_int")]
    pub folder_id: i64,
    /// Its name.
    #[serde(default, deserialize_with = "de_string")]
    pub name: String,
}

/// `folder/share.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    /// Folder.
    #[serde(default, deserialize_with = "de_opt_int")]
    pub folder_id: Option<i64>,
    /// Public share on (1) or off (0); absent leaves it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Flag>,
    /// Public share password (6+ characters); empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// Groupware shares, replacing the current ones; empty (or `0`) removes them all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_list"
    )]
    pub shares: Option<Vec<Share>>,
}

/// `folder/share.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareResponse {
    /// `OK`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Public folder URL, when shared publicly.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub url: Option<String>,
    /// Information.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
}

/// `folder/mv.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = folder::MvRequest))]
pub struct MvRequest {
    /// Folder to move or rename.
    #[serde(default, deserialize_with = "de_opt_int")]
    pub folder_id: Option<i64>,
    /// New parent (0 = root).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_int"
    )]
    pub destination_folder_id: Option<i64>,
    /// Owner of the destination share, when the destination is 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub destination_user: Option<String>,
    /// New name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub rename: Option<String>,
}

/// `folder/mv.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = folder::MvResponse))]
pub struct MvResponse {
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
    /// Name before.
    #[serde(default, deserialize_with = "de_string")]
    pub old_name: String,
    /// Name after.
    #[serde(default, deserialize_with = "de_string")]
    pub new_name: String,
}

/// `folder/rm.cgi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = folder::RmRequest))]
pub struct RmRequest {
    /// Folder to delete.
    #[serde(default, deserialize_with = "de_opt_int")]
    pub folder_id: Option<i64>,
}
