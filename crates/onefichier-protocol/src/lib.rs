//! The 1fichier API v1 on the wire: request and response types for every endpoint, the upload
//! node's `end.pl` report, the public folder listing, and the error catalogue as data.
//!
//! Decoding is tolerant (`1` and `"1"`, `null`, missing `status`, unknown keys, both spellings of
//! `content-type`); encoding emits exactly the shapes the reference documents (sub-folders keyed
//! `id`, `end.pl` sizes as strings, `content-type` with a hyphen in listings).
//!
//! ```
//! use onefichier_protocol::{file, parse_message, ErrorKind};
//!
//! let answer: file::LsResponse = serde_json::from_str(
//!     r#"{"status":"OK","count":1,"items":[{"url":"https://1fichier.com/?abcde12345",
//!         "filename":"a.txt","size":"12","date":"2021-06-22 14:57:25",
//!         "checksum":"00","content-type":"text/plain","pass":0,"acl":"0","cdn":null}]}"#,
//! ).unwrap();
//! assert_eq!(answer.items[0].size, 12);
//!
//! assert_eq!(parse_message("Flood detected: IP Locked #412").kind(), ErrorKind::Locked);
//! ```

#![deny(missing_docs)]

pub mod checksum;
pub mod date;
pub mod download;
pub mod endpoint;
mod envelope;
mod error;
pub mod file;
pub mod folder;
pub mod ftp;
pub mod ids;
pub mod lenient;
#[cfg(feature = "openapi")]
mod openapi;
pub mod public;
pub mod range;
pub mod remote;
pub mod size;
pub mod upload;
pub mod user;
pub mod vouchers;

pub use endpoint::{Access, Endpoint, Grant, Need, NoParameters};
pub use envelope::{KoResponse, Status, StatusResponse, ko_message};
pub use error::{
    CATALOGUE, ErrorCode, ErrorEntry, ErrorKind, ParsedMessage, RetryClass, parse_message,
};
