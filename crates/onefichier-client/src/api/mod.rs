//! One typed method per v1 endpoint, grouped by the API's families.

mod download;
mod file;
mod folder;
mod ftp;
mod public;
mod remote;
mod upload;
mod user;
mod vouchers;
