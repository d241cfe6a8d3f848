//! Async SDK for the 1fichier API v1.
//!
//! A [`Client`] drives an account with an API key, against the live service
//! (`https://api.1fichier.com/v1`) or any compatible server (`ONEFICHIER_API_URL`):
//!
//! * a typed method for every endpoint, plus [`Client::resolve_folder`] and [`Client::mkdir_p`]
//!   for paths such as `/backups/2026`;
//! * one classifier for every way the API says "no" ([`ErrorKind`], with the catalogue's hint),
//!   and retries with backoff that wait out flood locks instead of hammering;
//! * a governor that keeps every call within the service's budgets, shared by all tasks and, via
//!   a small locked file, by every process using the same key;
//! * uploads and downloads that stream in constant memory, resume, and verify Whirlpool;
//!   [`Client::upload_files`] sends small files up to a hundred to a request;
//! * [`Client::list_folder`] returns a folder's files whole, past the 5,000 a listing holds;
//! * [`sync`] mirrors a local tree to a remote one or back, planning before it changes anything.
//!
//! ```no_run
//! # async fn example() -> Result<(), onefichier_client::Error> {
//! use onefichier_client::{Client, NoProgress, UploadOptions};
//! use std::sync::Arc;
//!
//! let client = Client::from_env()?; // ONEFICHIER_API_KEY, ONEFICHIER_API_URL
//! let folder = client.mkdir_p("/backups/2026").await?;
//! let uploaded = client
//!     .upload_file("disk.img".as_ref(), &UploadOptions::into_folder(folder), Arc::new(NoProgress))
//!     .await?;
//! println!("{} ({} bytes, Whirlpool checked)", uploaded.link, uploaded.size);
//! # Ok(()) }
//! ```
//!
//! Errors carry what a user needs:
//!
//! ```
//! use onefichier_client::{ErrorKind, classify};
//!
//! let error = classify("file/ls.cgi", 403, None,
//!     br#"{"status":"KO","message":"Flood detected: IP Locked #374"}"#, true).unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::Locked);
//! assert!(error.is_temporary());
//! ```

#![deny(missing_docs)]

mod api;
mod body;
mod classify;
mod client;
mod error;
pub mod existing;
mod governor;
pub mod hash_cache;
mod listing_cache;
pub mod local;
mod paths;
pub mod private_files;
mod progress;
mod redact;
pub mod sync;
pub mod transfer;
mod transport;
pub mod wait;
pub mod walk;

pub use classify::{DEFAULT_LOCK_WAIT, classify, parse_retry_after};
pub use client::{Client, ClientBuilder, DEFAULT_API_URL, RetryConfig, default_state_dir, env};
pub use error::{Error, ErrorKind, Result};
pub use governor::Budgets;
pub use onefichier_protocol as protocol;
pub use progress::{NoProgress, Reporter, TransferId};
pub use redact::RedactedUrl;
pub use transfer::download::{DownloadOptions, Downloaded, Expected};
pub use transfer::hash_file;
pub use transfer::ranged::RangeBody;
pub use transfer::upload::{BATCH_FILE_MAX, BATCH_MAX_FILES, UploadOptions, Uploaded};
pub use transport::HttpService;
pub use wait::{Wait, WaitObserver, WaitReason};
