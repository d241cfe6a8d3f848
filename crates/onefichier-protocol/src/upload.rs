//! Uploads: `upload/get_upload_server.cgi`, the node's `upload.cgi` form and its `end.pl` report.

use crate::lenient::{Flag, de_string, de_u64, de_vec, ser_int_as_string};
use serde::{Deserialize, Serialize};

/// `upload/get_upload_server.cgi` answer (no `status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadServer {
    /// Node host name (no scheme, no path).
    #[serde(default, deserialize_with = "de_string")]
    pub url: String,
    /// Fresh 10-character upload id, single use.
    #[serde(default, deserialize_with = "de_string")]
    pub id: String,
}

/// Form field names of `POST https://NODE/upload.cgi?id=ID`.
pub mod form {
    /// A file part (repeat for several, at most [`MAX_FILES`]).
    pub const FILE: &str = "file[]";
    /// Destination folder id (authenticated uploads).
    pub const DID: &str = "did";
    /// Domain id for the links.
    pub const DOMAIN: &str = "domain";
    /// Download password for the uploaded files.
    pub const DPASS: &str = "dpass";
    /// Notification address.
    pub const MAIL: &str = "mail";
    /// Contacts to notify.
    pub const MAILS: &str = "mails";
    /// Text of the contact notification (at most 2,000 characters).
    pub const MESSAGE: &str = "message";
    /// Recipient account of an unauthenticated upload ("incoming" folder).
    pub const USER: &str = "user";
    /// That account's password.
    pub const PASS: &str = "pass";
    /// Most file parts in one request.
    pub const MAX_FILES: usize = 500;
}

/// The per-file size limit of customer accounts: 300 GB.
pub const MAX_FILE_SIZE: u64 = 300_000_000_000;

/// One uploaded file in the `end.pl` JSON report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndLink {
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub download: String,
    /// Stored name.
    #[serde(default, deserialize_with = "de_string")]
    pub filename: String,
    /// Size in bytes: a **string** of digits on the wire.
    #[serde(
        default,
        deserialize_with = "de_u64",
        serialize_with = "ser_int_as_string"
    )]
    pub size: u64,
    /// Removal code; empty when the upload belongs to an account.
    #[serde(default, deserialize_with = "de_string")]
    pub remove: String,
    /// Whirlpool checksum.
    #[serde(default, deserialize_with = "de_string")]
    pub whirlpool: String,
}

/// `GET https://NODE/end.pl?xid=ID` with header `JSON: 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndReport {
    /// 1 when the files went to another user's incoming folder.
    #[serde(default)]
    pub incoming: Flag,
    /// The files.
    #[serde(default, deserialize_with = "de_vec")]
    pub links: Vec<EndLink>,
}
