//! Carrying out a plan: on the account (local → remote) or on the local disk (remote → local).
//! Every action gets its own outcome; one that fails does not stop the others, except that
//! what depends on a folder that could not be made fails with it.

use super::plan::{Action, Done, Plan, name, parent};
use super::{LocalSide, OP, RemoteSide, times};
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io};
use crate::hash_cache::{HashCache, Stamp};
use crate::local::is_inside;
use crate::progress::Reporter;
use crate::transfer::download::{DownloadOptions, Expected};
use crate::transfer::upload::UploadOptions;
use futures::StreamExt;
use jiff::Timestamp;
use onefichier_protocol::ErrorCode;
use onefichier_protocol::date::{self, mtime_tag};
use onefichier_protocol::file::{ChattrRequest, CpRequest, FileItem, MvRequest, RmFile};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to apply a plan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Transfers at once.
    pub parallel: usize,
    /// Instead of deleting or overwriting, move what would be lost here: a remote folder path
    /// for an upload, a local folder for a download (same relative paths below it).
    pub backup_dir: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            parallel: 4,
            backup_dir: None,
        }
    }
}

impl SyncOptions {
    /// Runs `parallel` transfers at once.
    pub fn with_parallel(mut self, parallel: usize) -> Self {
        self.parallel = parallel.max(1);
        self
    }

    /// Moves what would be deleted or overwritten under `dir` instead.
    pub fn with_backup_dir(mut self, dir: impl Into<String>) -> Self {
        self.backup_dir = Some(dir.into());
        self
    }
}

/// A plan's actions in the three stages both directions apply them in: one by one in plan
/// order (folders, duplicates, moves, times), then the copies (in parallel), then deletions.
struct Staged<'a> {
    first: Vec<&'a Action>,
    copies: Vec<&'a Action>,
    deletions: Vec<&'a Action>,
}

impl<'a> Staged<'a> {
    fn of(actions: &'a [Action]) -> Self {
        let mut staged = Self {
            first: Vec::new(),
            copies: Vec::new(),
            deletions: Vec::new(),
        };
        for action in actions {
            match action {
                Action::Copy { .. } => staged.copies.push(action),
                a if a.deletes() => staged.deletions.push(action),
                _ => staged.first.push(action),
            }
        }
        staged
    }
}

/// Records an action's outcome, told to the reporter first.
fn tell(done: &mut Vec<Done>, reporter: &dyn Reporter, action: &Action, result: Result<()>) {
    let outcome = Done {
        action: action.clone(),
        result,
    };
    reporter.action_done(&outcome);
    done.push(outcome);
}

/// Every action of `plan` failed with `error` (nothing could start).
fn all_failed(plan: &Plan, error: &Error, reporter: &dyn Reporter) -> Vec<Done> {
    let mut done = Vec::with_capacity(plan.actions.len());
    for action in &plan.actions {
        tell(&mut done, reporter, action, failed(error));
    }
    done
}

/// `error` again, for one more action that fails with it.
fn failed(error: &Error) -> Result<()> {
    Err(Error::new(error.kind(), OP, format!("{error}")))
}

/// Applies `plan` to the account: `local` is the source, `remote` the destination as scanned.
pub async fn upload(
    client: &Client,
    local: &LocalSide,
    mut remote: RemoteSide,
    plan: &Plan,
    options: &SyncOptions,
    cache: &HashCache,
    reporter: Arc<dyn Reporter>,
) -> Vec<Done> {
    let root_id = match remote.root_id {
        Some(id) => id,
        None => match client.mkdir_p(&remote.root).await {
            Ok(id) => id,
            Err(error) => return all_failed(plan, &error, &*reporter),
        },
    };
    remote.folder_ids.insert(String::new(), root_id);
    let actions = resent_when_in_parts(plan, local, &remote);
    // The link of every synced file as the sync leaves it, for the times files.
    let links: HashMap<String, String> = remote
        .files
        .iter()
        .map(|(path, item)| (path.clone(), item.url.clone()))
        .collect();
    let mut sync = UploadSync {
        client,
        local,
        remote,
        options,
        cache,
        reporter,
        links,
        done: Vec::with_capacity(plan.actions.len()),
    };
    let staged = Staged::of(&actions);
    for action in staged.first {
        let result = sync.apply_remotely(action).await;
        if result.is_err() {
            // Its file has no time this sync could vouch for.
            sync.links.remove(action_path(action));
        }
        sync.tell(action, result);
    }
    let replaced = sync.send_copies(&staged.copies).await;
    sync.remove_files(&replaced, &staged.deletions).await;
    sync.record_times().await;
    sync.remove_folders(&staged.deletions).await;
    sync.done
}

/// A file stored in parts is not moved or copied server-side (its parts and manifest carry its
/// name): it is sent again from the source (the parts already there under the new name are
/// not), and a move removes the old set.
fn resent_when_in_parts(plan: &Plan, local: &LocalSide, remote: &RemoteSide) -> Vec<Action> {
    plan.actions
        .iter()
        .flat_map(|action| match action {
            Action::Move { from, to } | Action::Duplicate { from, to }
                if remote.parts.contains_key(from) =>
            {
                let copy = Action::Copy {
                    path: to.clone(),
                    size: local.tree.files.get(to).map_or(0, |f| f.size),
                    replaces: false,
                };
                let removal = matches!(action, Action::Move { .. })
                    .then(|| Action::Delete { path: from.clone() });
                std::iter::once(copy).chain(removal).collect::<Vec<_>>()
            }
            _ => vec![action.clone()],
        })
        .collect()
}

/// The modification time of the local file at `path`, when known.
fn local_time(local: &LocalSide, path: &str) -> Option<Timestamp> {
    local.tree.files.get(path).and_then(|f| f.modified)
}

/// An upload sync under way: the sides, the links as they now are, the outcomes so far.
struct UploadSync<'a> {
    client: &'a Client,
    local: &'a LocalSide,
    remote: RemoteSide,
    options: &'a SyncOptions,
    cache: &'a HashCache,
    reporter: Arc<dyn Reporter>,
    links: HashMap<String, String>,
    done: Vec<Done>,
}

impl UploadSync<'_> {
    fn tell(&mut self, action: &Action, result: Result<()>) {
        tell(&mut self.done, &*self.reporter, action, result);
    }

    /// One action of the first stage on the account: a folder made, a file copied or moved
    /// server-side, a time set.
    async fn apply_remotely(&mut self, action: &Action) -> Result<()> {
        let (client, remote) = (self.client, &mut self.remote);
        match action {
            Action::MakeFolder { path } => {
                let parent_id = folder_of(remote, path)?;
                let made = client.folder_mkdir(name(path), parent_id).await?;
                client.learn_path(&remote.remote_path(path), made.folder_id);
                remote.folder_ids.insert(path.clone(), made.folder_id);
                Ok(())
            }
            Action::Duplicate { from, to } => {
                let request = CpRequest {
                    urls: vec![remote.files[from].url.clone()],
                    folder_id: Some(folder_of(remote, to)?),
                    rename: renamed(from, to),
                    ..CpRequest::default()
                };
                let copied = client.file_cp(&request).await?;
                let copy = copied.urls.first().ok_or_else(|| {
                    Error::new(
                        ErrorKind::UnexpectedResponse,
                        OP,
                        format!("the copy to {to} returned no link"),
                    )
                })?;
                self.links.insert(to.clone(), copy.to_url.clone());
                let time = local_time(self.local, to);
                retag(client, self.cache, &copy.to_url, time).await
            }
            Action::Move { from, to } => {
                let url = remote.files[from].url.clone();
                let request = MvRequest {
                    urls: vec![url.clone()],
                    destination_folder_id: Some(folder_of(remote, to)?),
                    rename: renamed(from, to),
                    ..MvRequest::default()
                };
                client.file_mv(&request).await?;
                self.links.remove(from);
                self.links.insert(to.clone(), url.clone());
                retag(client, self.cache, &url, local_time(self.local, to)).await
            }
            Action::SetTime { path } => {
                let time = local_time(self.local, path);
                retag(client, self.cache, &remote.files[path].url, time).await
            }
            Action::Copy { .. } | Action::Delete { .. } | Action::DeleteFolder { .. } => {
                unreachable!("copies and deletions come later")
            }
        }
    }

    /// Sends the copies: the files of one folder together (small ones share requests),
    /// folders in parallel. Returns the copies that replaced a file, whose older file goes
    /// only now that the new one is verified.
    async fn send_copies(&mut self, copies: &[&Action]) -> Vec<Action> {
        let mut by_folder: BTreeMap<i64, Vec<&Action>> = BTreeMap::new();
        for &action in copies {
            match folder_of(&self.remote, action_path(action)) {
                Ok(folder) => by_folder.entry(folder).or_default().push(action),
                Err(e) => self.tell(action, failed(&e)),
            }
        }
        let sender = FolderSender {
            client: self.client,
            local: self.local,
            cache: self.cache,
            reporter: &self.reporter,
        };
        let sent: Vec<Vec<(Option<String>, Done)>> = futures::stream::iter(by_folder)
            .map(|(folder, actions)| sender.send(folder, actions))
            .buffer_unordered(self.options.parallel.max(1))
            .collect()
            .await;
        let mut replaced = Vec::new();
        for (link, outcome) in sent.into_iter().flatten() {
            let path = action_path(&outcome.action).to_owned();
            match link {
                Some(link) => {
                    if matches!(outcome.action, Action::Copy { replaces: true, .. }) {
                        replaced.push(outcome.action.clone());
                    }
                    self.links.insert(path, link);
                }
                None => {
                    self.links.remove(&path);
                }
            }
            self.done.push(outcome);
        }
        replaced
    }

    /// Removes replaced files, then deleted ones (each with its parts, if stored so).
    async fn remove_files(&mut self, replaced: &[Action], deletions: &[&Action]) {
        let removed: Vec<&Action> = replaced
            .iter()
            .chain(
                deletions
                    .iter()
                    .copied()
                    .filter(|a| matches!(a, Action::Delete { .. })),
            )
            .collect();
        let goners: Vec<(String, String)> = removed
            .iter()
            .flat_map(|action| {
                let path = action_path(action);
                self.remote
                    .links_of(path)
                    .into_iter()
                    .map(move |link| (link, path.to_owned()))
            })
            .collect();
        let removal_errors = remove_remote(self.client, &goners, self.options).await;
        for action in removed {
            let error = removal_errors.get(action_path(action));
            if matches!(action, Action::Delete { .. }) {
                self.links.remove(action_path(action));
                self.tell(action, error.map_or(Ok(()), failed));
            } else if let Some(e) = error {
                // The new file is there; only the older one of that name could not go.
                let result = Err(Error::new(
                    e.kind(),
                    OP,
                    format!("sent, but the older file could not be removed: {e}"),
                ));
                self.tell(action, result);
            }
        }
    }

    /// Writes the times file of every synced folder.
    async fn record_times(&self) {
        let synced_folders: BTreeSet<&str> = std::iter::once("")
            .chain(self.local.tree.folders.iter().map(String::as_str))
            .collect();
        let time = |path: &str| local_time(self.local, path);
        let recorded = times::record(
            self.client,
            self.cache,
            &self.remote,
            &synced_folders,
            &self.links,
            time,
        )
        .await;
        if let Err(error) = recorded {
            tracing::warn!(%error, "the times files were not all written: the next restore reads the files' descriptions instead");
        }
    }

    /// Removes the folders that went away (with their times files), deepest first.
    async fn remove_folders(&mut self, deletions: &[&Action]) {
        let gone_folders: Vec<&str> = deletions
            .iter()
            .filter_map(|action| match action {
                Action::DeleteFolder { path } => Some(path.as_str()),
                _ => None,
            })
            .collect();
        let times_gone = times::remove_in(self.client, &self.remote, &gone_folders).await;
        for &action in deletions {
            if let Action::DeleteFolder { path } = action {
                let result = match (self.remote.folder_ids.get(path), &times_gone) {
                    (Some(_), Err(e)) => failed(e),
                    (Some(&id), Ok(())) => self.client.folder_rm(id).await.map(drop),
                    (None, _) => Ok(()),
                };
                self.tell(action, result);
            }
        }
    }
}

/// Sends the copies of one folder and says how each went.
struct FolderSender<'a> {
    client: &'a Client,
    local: &'a LocalSide,
    cache: &'a HashCache,
    reporter: &'a Arc<dyn Reporter>,
}

impl FolderSender<'_> {
    /// Uploads `actions` (copies into `folder`), tags them with their times, and returns each
    /// outcome with the new file's link (none when it failed), told as the folder's files
    /// land, not when all have.
    async fn send(&self, folder: i64, actions: Vec<&Action>) -> Vec<(Option<String>, Done)> {
        let paths: Vec<PathBuf> = actions
            .iter()
            .map(|action| self.local.root.join(action_path(action)))
            .collect();
        let options = UploadOptions::into_folder(folder);
        let reporter = Arc::clone(self.reporter);
        let results = self.client.upload_files(&paths, &options, reporter).await;
        // New files have empty descriptions: one call tags all those of one time.
        let fresh: Vec<(String, Option<Timestamp>)> = actions
            .iter()
            .zip(&results)
            .filter_map(|(action, result)| {
                let uploaded = result.as_ref().ok()?;
                let time = local_time(self.local, action_path(action));
                Some((uploaded.link.clone(), time))
            })
            .collect();
        let tagged = tag_new_uploads(self.client, self.cache, &fresh).await;
        let mut outcomes = Vec::with_capacity(actions.len());
        for (action, result) in actions.into_iter().zip(results) {
            // The whole Whirlpool of a file sent in parts is inside its manifest: kept here so
            // that the next sync need not download the manifest to compare.
            if let Ok(uploaded) = &result
                && uploaded.parts > 0
            {
                self.cache
                    .remember_split(&uploaded.link, &uploaded.whirlpool)
                    .await;
            }
            let (link, result) = match result {
                Ok(uploaded) => match tagged.get(&uploaded.link) {
                    Some(e) => (None, Err(not_kept(e))),
                    None => (Some(uploaded.link), Ok(())),
                },
                Err(e) => (None, Err(e)),
            };
            let outcome = Done {
                action: action.clone(),
                result,
            };
            self.reporter.action_done(&outcome);
            outcomes.push((link, outcome));
        }
        outcomes
    }
}

/// A file sent whose modification time could not be tagged.
fn not_kept(error: &Error) -> Error {
    Error::new(
        error.kind(),
        OP,
        format!("sent, but its modification time was not kept: {error}"),
    )
}

/// The id of the folder holding `path`, if it exists (or was made).
fn folder_of(remote: &RemoteSide, path: &str) -> Result<i64> {
    remote.folder_ids.get(parent(path)).copied().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            OP,
            format!("{}: its folder could not be made", remote.remote_path(path)),
        )
    })
}

/// Removes (or moves under the backup folder) remote files: (link, relative path).
/// Returns the errors by relative path.
async fn remove_remote(
    client: &Client,
    goners: &[(String, String)],
    options: &SyncOptions,
) -> HashMap<String, Error> {
    let mut errors = HashMap::new();
    if let Some(backup) = &options.backup_dir {
        // One move per folder of the backup: names are kept.
        let mut by_folder: BTreeMap<&str, Vec<&(String, String)>> = BTreeMap::new();
        for goner in goners {
            by_folder.entry(parent(&goner.1)).or_default().push(goner);
        }
        for (folder, files) in by_folder {
            let target = if folder.is_empty() {
                backup.clone()
            } else {
                format!("{}/{folder}", backup.trim_end_matches('/'))
            };
            let moved = match client.mkdir_p(&target).await {
                Ok(id) => {
                    let request = MvRequest {
                        urls: files.iter().map(|f| f.0.clone()).collect(),
                        destination_folder_id: Some(id),
                        ..MvRequest::default()
                    };
                    client.file_mv(&request).await.map(drop)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = moved {
                for file in files {
                    errors.insert(file.1.clone(), Error::new(e.kind(), OP, e.to_string()));
                }
            }
        }
        return errors;
    }
    // One call per batch `file_rm` would make anyway: each failure names its own files.
    for chunk in goners.chunks(crate::api::file::REMOVALS_PER_CALL) {
        let links: Vec<RmFile> = chunk.iter().map(|g| RmFile::link(&g.0)).collect();
        if let Err(e) = client.file_rm(&links).await {
            for goner in chunk {
                errors.insert(goner.1.clone(), Error::new(e.kind(), OP, e.to_string()));
            }
        }
    }
    errors
}

/// Tags newly uploaded files (empty descriptions) with their modification times: one
/// `file/chattr` per distinct time. Returns the errors by link.
pub async fn tag_new_uploads(
    client: &Client,
    cache: &HashCache,
    files: &[(String, Option<Timestamp>)],
) -> HashMap<String, Error> {
    let mut by_time: BTreeMap<Timestamp, Vec<String>> = BTreeMap::new();
    if !client.has_key() {
        // Anonymous uploads have no owner whose attributes could be changed.
        return HashMap::new();
    }
    for (link, time) in files {
        if let Some(time) = time {
            by_time.entry(*time).or_default().push(link.clone());
        }
    }
    let mut errors = HashMap::new();
    // A key whose scope forbids changing files (an upload-only key) cannot tag: the times are
    // then kept in this machine's cache only, which is all such a key's owner can have.
    let mut may_tag = true;
    for (time, links) in by_time {
        if may_tag {
            let request = ChattrRequest {
                urls: links.clone(),
                description: Some(mtime_tag::with("", time)),
                ..ChattrRequest::default()
            };
            match client.file_chattr(&request).await {
                Ok(_) => {}
                Err(e) if e.code() == Some(ErrorCode::KeyScope) => may_tag = false,
                Err(e) => {
                    for link in links {
                        errors.insert(link, Error::new(e.kind(), OP, e.to_string()));
                    }
                    continue;
                }
            }
        }
        for link in &links {
            cache.remember_remote_time(link, time).await;
        }
    }
    errors
}

/// Sets an existing remote file's modification time, keeping the human text of its
/// description (read first: one `file/info`, then a `file/chattr` unless the tag is right).
async fn retag(
    client: &Client,
    cache: &HashCache,
    url: &str,
    time: Option<Timestamp>,
) -> Result<()> {
    let Some(time) = time else {
        return Ok(());
    };
    let info = client.file_info(url, None).await?;
    if mtime_tag::split(&info.description).1 != Some(time) {
        let request = ChattrRequest {
            urls: vec![url.to_owned()],
            description: Some(mtime_tag::with(&info.description, time)),
            ..ChattrRequest::default()
        };
        client.file_chattr(&request).await?;
    }
    cache.remember_remote_time(url, time).await;
    Ok(())
}

/// A remote file's modification time: remembered, else read from its description (one
/// `file/info`), else its upload date.
pub(super) async fn remote_time(
    client: &Client,
    cache: &HashCache,
    item: &FileItem,
) -> Result<Timestamp> {
    if !client.fresh_listings()
        && let Some(known) = cache.remote_time(&item.url).await
    {
        return Ok(known);
    }
    let info = client.file_info(&item.url, None).await?;
    let time = match mtime_tag::split(&info.description).1 {
        Some(tagged) => tagged,
        None => date::parse_unix(&item.date)
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH),
    };
    cache.remember_remote_time(&item.url, time).await;
    Ok(time)
}

/// Gives a file just downloaded the modification time its remote file had, without a call:
/// the time this machine wrote or read in its description, else its upload date (an API
/// date, `uploaded`). `sync` reads descriptions it does not know; a plain download does not
/// spend a call per file on it.
pub async fn restore_known_time(
    cache: &HashCache,
    url: &str,
    uploaded: &str,
    local: &Path,
) -> Result<()> {
    let time = match cache.remote_time(url).await {
        Some(known) => known,
        None => match date::parse_unix(uploaded)
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
        {
            Some(time) => time,
            None => return Ok(()),
        },
    };
    set_local_time(local, time).await
}

/// Gives a local file a modification time.
async fn set_local_time(path: &Path, time: Timestamp) -> Result<()> {
    let owned = path.to_owned();
    let nanos = time.as_nanosecond();
    let offset =
        std::time::Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).unwrap_or(u64::MAX));
    let when = if nanos >= 0 {
        std::time::UNIX_EPOCH + offset
    } else {
        std::time::UNIX_EPOCH - offset
    };
    tokio::task::spawn_blocking(move || {
        std::fs::File::options()
            .write(true)
            .open(&owned)?
            .set_modified(when)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, OP, e.to_string()))?
    .map_err(|e| io(OP, &path.display().to_string(), e))
}

/// The new name, when a move or copy also renames.
fn renamed(from: &str, to: &str) -> Option<String> {
    (name(from) != name(to)).then(|| name(to).to_owned())
}

fn action_path(action: &Action) -> &str {
    match action {
        Action::MakeFolder { path }
        | Action::Copy { path, .. }
        | Action::SetTime { path }
        | Action::Delete { path }
        | Action::DeleteFolder { path } => path,
        Action::Move { to, .. } | Action::Duplicate { to, .. } => to,
    }
}

/// Applies `plan` to the local disk: `remote` is the source, `local` the destination as
/// scanned. Files land whole and verified (a `.part` file until then); paths always lie
/// inside the local root.
pub async fn download(
    client: &Client,
    remote: &RemoteSide,
    local: &LocalSide,
    plan: &Plan,
    options: &SyncOptions,
    cache: &HashCache,
    reporter: Arc<dyn Reporter>,
) -> Vec<Done> {
    let disk = LocalDisk {
        root: &local.root,
        backup_dir: options.backup_dir.as_deref(),
    };
    let mut done = Vec::with_capacity(plan.actions.len());
    if let Err(e) = tokio::fs::create_dir_all(disk.root).await {
        let error = io(OP, &disk.root.display().to_string(), e);
        return all_failed(plan, &error, &*reporter);
    }
    let staged = Staged::of(&plan.actions);
    for action in staged.first {
        let result = apply_locally(client, cache, remote, &disk, action).await;
        tell(&mut done, &*reporter, action, result);
    }
    let fetched: Vec<Done> = futures::stream::iter(staged.copies)
        .map(|action| {
            let reporter = Arc::clone(&reporter);
            let disk = &disk;
            async move {
                let Action::Copy { path, replaces, .. } = action else {
                    unreachable!("only copies are fetched");
                };
                let fetch = Fetch {
                    client,
                    cache,
                    remote,
                    disk,
                };
                let result = fetch.one(path, *replaces, Arc::clone(&reporter)).await;
                let outcome = Done {
                    action: action.clone(),
                    result,
                };
                // Said as each file lands, not when all have.
                reporter.action_done(&outcome);
                outcome
            }
        })
        .buffer_unordered(options.parallel.max(1))
        .collect()
        .await;
    done.extend(fetched);
    for action in staged.deletions {
        let result = disk.delete(action).await;
        tell(&mut done, &*reporter, action, result);
    }
    done
}

/// The local side of a download: paths under its root, and the backup folder.
struct LocalDisk<'a> {
    root: &'a Path,
    backup_dir: Option<&'a str>,
}

impl LocalDisk<'_> {
    /// The local path of `path`, refused when it would land outside the root.
    fn inside(&self, path: &str) -> Result<PathBuf> {
        let full = self.root.join(path);
        if is_inside(self.root, &full) {
            Ok(full)
        } else {
            Err(Error::new(
                ErrorKind::Config,
                OP,
                format!("{path} would land outside {}", self.root.display()),
            ))
        }
    }

    /// Where `path` goes instead of being deleted or overwritten, with a backup folder.
    fn backup(&self, path: &str) -> Option<PathBuf> {
        self.backup_dir.map(|dir| Path::new(dir).join(path))
    }

    /// Removes (or moves to the backup folder) a file, or removes an emptied folder.
    async fn delete(&self, action: &Action) -> Result<()> {
        match action {
            Action::Delete { path } => match (self.inside(path)?, self.backup(path)) {
                (full, Some(keep)) => move_local(&full, &keep).await,
                (full, None) => tokio::fs::remove_file(&full)
                    .await
                    .map_err(|e| io(OP, &full.display().to_string(), e)),
            },
            Action::DeleteFolder { path } => {
                let full = self.inside(path)?;
                tokio::fs::remove_dir(&full).await.map_err(|e| {
                    let what = format!(
                        "{} (it may hold files the filters leave out)",
                        full.display()
                    );
                    io(OP, &what, e)
                })
            }
            _ => unreachable!("only deletions"),
        }
    }
}

/// One action of the first stage on the local disk: a folder made, a file duplicated or moved,
/// a time restored.
async fn apply_locally(
    client: &Client,
    cache: &HashCache,
    remote: &RemoteSide,
    disk: &LocalDisk<'_>,
    action: &Action,
) -> Result<()> {
    match action {
        Action::MakeFolder { path } => {
            let full = disk.inside(path)?;
            tokio::fs::create_dir_all(&full)
                .await
                .map_err(|e| io(OP, &full.display().to_string(), e))
        }
        Action::Duplicate { from, to } | Action::Move { from, to } => {
            let (from, full) = (disk.inside(from)?, disk.inside(to)?);
            if matches!(action, Action::Move { .. }) {
                move_local(&from, &full).await?;
            } else {
                copy_local(&from, &full).await?;
            }
            restore_time(client, cache, remote, to, &full).await
        }
        Action::SetTime { path } => {
            restore_time(client, cache, remote, path, &disk.inside(path)?).await
        }
        Action::Copy { .. } | Action::Delete { .. } | Action::DeleteFolder { .. } => {
            unreachable!("copies and deletions come later")
        }
    }
}

/// What fetching one file of a download sync needs.
struct Fetch<'a> {
    client: &'a Client,
    cache: &'a HashCache,
    remote: &'a RemoteSide,
    disk: &'a LocalDisk<'a>,
}

impl Fetch<'_> {
    /// Fetches the remote file at `path` (whole or from its parts), verified, with its time;
    /// the file it replaces goes to the backup folder first, when there is one.
    async fn one(&self, path: &str, replaces: bool, reporter: Arc<dyn Reporter>) -> Result<()> {
        let dest = self.disk.inside(path)?;
        if replaces && let Some(keep) = self.disk.backup(path) {
            move_local(&dest, &keep).await?;
        }
        let item = &self.remote.files[path];
        let options = DownloadOptions::default();
        let got = match self.remote.parts.get(path) {
            Some(parts) => {
                let client = self.client;
                client
                    .download_split(item, parts, &dest, &options, reporter)
                    .await?
            }
            None => {
                let mut download = options.expecting(Expected {
                    size: item.size,
                    whirlpool: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
                });
                download.segments = 1;
                self.client
                    .download_file(&item.url, &dest, &download, reporter)
                    .await?
            }
        };
        restore_time(self.client, self.cache, self.remote, path, &got.path).await?;
        // After the time is set: the stamp includes it.
        if got.verified
            && let Some(stamp) = Stamp::of(&got.path)
        {
            self.cache.remember(&got.path, stamp, &got.whirlpool).await;
        }
        Ok(())
    }
}

/// Gives `local` the modification time of the remote file at `path` it mirrors: as scanned
/// (its folder's times file, or remembered), else read from its description.
async fn restore_time(
    client: &Client,
    cache: &HashCache,
    remote: &RemoteSide,
    path: &str,
    local: &Path,
) -> Result<()> {
    let time = match remote.tree.files.get(path).and_then(|f| f.modified) {
        Some(known) => known,
        None => remote_time(client, cache, &remote.files[path]).await?,
    };
    set_local_time(local, time).await
}

/// Creates the folder `path` goes in; returns `path` for messages.
async fn make_parent(path: &Path) -> Result<String> {
    let what = path.display().to_string();
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io(OP, &what, e))?;
    }
    Ok(what)
}

/// Renames `from` to `to`, creating `to`'s folder; refuses to overwrite.
async fn move_local(from: &Path, to: &Path) -> Result<()> {
    let what = make_parent(to).await?;
    if tokio::fs::try_exists(to).await.unwrap_or(true) {
        return Err(Error::new(
            ErrorKind::Conflict,
            OP,
            format!("{what} exists already: nothing was overwritten"),
        ));
    }
    tokio::fs::rename(from, to)
        .await
        .map_err(|e| io(OP, &what, e))
}

/// Copies `from` to `to` through a temporary file beside it, so that `to` is whole or absent.
async fn copy_local(from: &Path, to: &Path) -> Result<()> {
    let what = make_parent(to).await?;
    let temporary = crate::transfer::download::part_path(to);
    tokio::fs::copy(from, &temporary)
        .await
        .map_err(|e| io(OP, &what, e))?;
    tokio::fs::rename(&temporary, to)
        .await
        .map_err(|e| io(OP, &what, e))
}
