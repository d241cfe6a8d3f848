//! The CLI's integration tests, one binary: every command as a user runs it (a separate
//! process against the real server on loopback), transcripts, hostile servers, split files,
//! sync, and the website in Chromium.

mod commands;
mod common;
mod hostile_names;
mod media;
mod snapshots;
mod split;
mod sync;
mod website;
