//! Rules of the service shared by its doors (the v1 API, the website, the upload and download
//! node) and by the background jobs: what a link looks like, how fields are checked, how a
//! direct URL is issued, where a folder sits. Handlers parse, call here or [`crate::policy`]
//! for who may do what, and answer; nothing here knows HTTP routes or pages.

pub(crate) mod downloads;
pub(crate) mod fields;
pub(crate) mod folders;
pub(crate) mod links;
pub(crate) mod uploads;
