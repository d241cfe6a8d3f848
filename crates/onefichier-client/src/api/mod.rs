//! One typed method per v1 endpoint, grouped by the API's families.

mod download;
pub(crate) mod file;
mod folder;
mod ftp;
mod kept;
mod public;
mod remote;
mod upload;
mod user;
mod vouchers;
