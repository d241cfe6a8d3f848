//! The times file: one small JSON file per synced remote folder, `.1fichier-times.json`, that
//! holds the modification time of each of its files by link. Listings show no descriptions,
//! where each file's time is tagged ([`onefichier_protocol::date::mtime_tag`]), so without it
//! a restore would read every file's description (one `file/info` each) or trust times this
//! machine remembers from an earlier run, which another machine may have changed since. The
//! listing shows the times file's Whirlpool: a machine reads it again (one download) exactly
//! when it changed, and what it says outranks what the machine remembers.
//!
//! `sync` up writes it after applying a plan, only when its contents change (a new file, then
//! the old one removed); `sync` down reads it. Descriptions stay tagged too: they are what
//! `info` and other tools see, and what a file without an entry falls back on.

use super::plan::parent;
use super::{OP, RemoteSide};
use crate::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::hash_cache::HashCache;
use crate::transfer::upload::UploadOptions;
use jiff::Timestamp;
use onefichier_protocol::file::{FileItem, RmFile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// The times file's name, in every synced folder. A file of this name is never synced.
pub const TIMES_FILE: &str = ".1fichier-times.json";

const FORMAT: &str = "onefichier-times/1";

/// A times file's contents: Unix seconds by file link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Times {
    format: String,
    files: BTreeMap<String, i64>,
}

impl Times {
    pub(crate) fn new(files: BTreeMap<String, i64>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            files,
        }
    }

    /// The time of the file at `link`, if the file holds one.
    pub(crate) fn of(&self, link: &str) -> Option<Timestamp> {
        Timestamp::from_second(*self.files.get(link)?).ok()
    }

    pub(crate) fn entries(&self) -> &BTreeMap<String, i64> {
        &self.files
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes)
            .ok()
            .filter(|t: &Self| t.format == FORMAT)
    }
}

/// A folder's times file as listed, and what it says once read.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) item: FileItem,
    /// `None` until read, or when it is not a times file this client reads.
    pub(crate) times: Option<Times>,
}

/// Where a times file's contents are remembered: by its Whirlpool.
fn cache_key(whirlpool: &str) -> String {
    format!("times:{}", whirlpool.to_ascii_lowercase())
}

/// Reads a listed times file: from the cache (by its Whirlpool, which the listing shows), else
/// downloaded once. One that cannot be read is ignored (the descriptions still hold the times).
pub(crate) async fn read(client: &Client, cache: &HashCache, item: &FileItem) -> Option<Times> {
    let key = cache_key(&item.checksum);
    if !item.checksum.is_empty()
        && let Some(text) = cache.manifest(&key).await
        && let Some(times) = Times::parse(text.as_bytes())
    {
        return Some(times);
    }
    let scratch = std::env::temp_dir().join("onefichier-times");
    let bytes = match client
        .fetch_small(item, &scratch, Arc::new(crate::NoProgress))
        .await
    {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "a folder's times file could not be read: descriptions are read instead");
            return None;
        }
    };
    let times = Times::parse(&bytes)?;
    if !item.checksum.is_empty()
        && let Ok(text) = std::str::from_utf8(&bytes)
    {
        cache.remember_manifest(&key, text).await;
    }
    Some(times)
}

/// Uploads `times` as the times file of `folder_id`, and remembers it by its Whirlpool (the
/// next listing shows it: no download to read it back); returns its link.
pub(crate) async fn write(
    client: &Client,
    cache: &HashCache,
    folder_id: i64,
    times: &Times,
) -> Result<String> {
    let json = serde_json::to_string(times).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            OP,
            format!("cannot encode the times: {e}"),
        )
    })?;
    let sent = client
        .upload_small(
            json.as_bytes(),
            TIMES_FILE,
            &UploadOptions::into_folder(folder_id),
            Arc::new(crate::NoProgress),
        )
        .await;
    let uploaded = sent?;
    cache
        .remember_manifest(&cache_key(&uploaded.whirlpool), &json)
        .await;
    Ok(uploaded.link)
}

/// Whether `name` (a file's, at any depth) is the times file.
pub(crate) fn is_times_file(path: &str) -> bool {
    Path::new(path).file_name().and_then(|n| n.to_str()) == Some(TIMES_FILE)
}

/// After a sync up: writes the times file of each folder of the synced tree (`folders`, the
/// root `""` included) whose times changed. `links` holds the link of every synced file by
/// relative path as the sync left it, and `time_of` their times. Entries of files the sync did
/// not see (left out by its filters) stay while the folder lists them. The times files they
/// replace are removed.
pub(crate) async fn record(
    client: &Client,
    cache: &HashCache,
    remote: &RemoteSide,
    folders: &BTreeSet<&str>,
    links: &HashMap<String, String>,
    time_of: impl Fn(&str) -> Option<Timestamp>,
) -> Result<()> {
    let seen: HashSet<&str> = remote.files.values().map(|i| i.url.as_str()).collect();
    let mut by_folder: BTreeMap<&str, BTreeMap<String, i64>> =
        folders.iter().map(|f| (*f, BTreeMap::new())).collect();
    for (path, link) in links {
        if let (Some(entries), Some(time)) = (by_folder.get_mut(parent(path)), time_of(path)) {
            entries.insert(link.clone(), time.as_second());
        }
    }
    let mut superseded = Vec::new();
    let mut first_error = None;
    for (folder, mut entries) in by_folder {
        let old = remote.times.get(folder);
        let old_times = old.and_then(|listed| listed.times.as_ref());
        if let (Some(old_times), Some(listed)) = (old_times, remote.listed_links.get(folder)) {
            for (link, seconds) in old_times.entries() {
                if !seen.contains(link.as_str()) && listed.contains(link) {
                    entries.entry(link.clone()).or_insert(*seconds);
                }
            }
        }
        let times = Times::new(entries);
        if old_times == Some(&times) || (old.is_none() && times.entries().is_empty()) {
            continue;
        }
        let Some(&folder_id) = remote.folder_ids.get(folder) else {
            continue;
        };
        match write(client, cache, folder_id, &times).await {
            Ok(_) => superseded.extend(old.map(|listed| RmFile::link(&listed.item.url))),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    client.file_rm(&superseded).await?;
    first_error.map_or(Ok(()), Err)
}

/// Removes the times files of folders about to be deleted (a folder must be empty to go).
pub(crate) async fn remove_in(
    client: &Client,
    remote: &RemoteSide,
    folders: &[&str],
) -> Result<()> {
    let links: Vec<RmFile> = folders
        .iter()
        .filter_map(|folder| remote.times.get(*folder))
        .map(|listed| RmFile::link(&listed.item.url))
        .collect();
    client.file_rm(&links).await.map(drop)
}
