//! Carrying out a plan: on the account (local → remote) or on the local disk (remote → local).
//! Every action gets its own outcome; one that fails does not stop the others, except that
//! what depends on a folder that could not be made fails with it.

use super::plan::{Action, Plan, name, parent};
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

/// The outcome of one action.
#[derive(Debug)]
pub struct Done {
    /// The action.
    pub action: Action,
    /// How it went.
    pub result: Result<()>,
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
    let local_time = |path: &str| local.tree.files.get(path).and_then(|f| f.modified);
    let mut done = Vec::with_capacity(plan.actions.len());
    let root_id = match remote.root_id {
        Some(id) => id,
        None => match client.mkdir_p(&remote.root).await {
            Ok(id) => id,
            Err(error) => return all_failed(plan, &error, &*reporter),
        },
    };
    remote.folder_ids.insert(String::new(), root_id);
    // A file stored in parts is not moved or copied server-side (its parts and manifest carry
    // its name): it is sent again from the source (the parts already there under the new name
    // are not), and a move removes the old set.
    let actions: Vec<Action> = plan
        .actions
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
        .collect();
    // The link of every synced file as the sync leaves it, for the times files.
    let mut links: HashMap<String, String> = remote
        .files
        .iter()
        .map(|(path, item)| (path.clone(), item.url.clone()))
        .collect();
    let staged = Staged::of(&actions);
    for action in staged.first {
        let result: Result<()> = async {
            match action {
                Action::MakeFolder { path } => {
                    let parent_id = folder_of(&remote, path)?;
                    let made = client.folder_mkdir(name(path), parent_id).await?;
                    client.learn_path(&remote.remote_path(path), made.folder_id);
                    remote.folder_ids.insert(path.clone(), made.folder_id);
                    Ok(())
                }
                Action::Duplicate { from, to } => {
                    let request = CpRequest {
                        urls: vec![remote.files[from].url.clone()],
                        folder_id: Some(folder_of(&remote, to)?),
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
                    links.insert(to.clone(), copy.to_url.clone());
                    retag(client, cache, &copy.to_url, local_time(to)).await
                }
                Action::Move { from, to } => {
                    let url = remote.files[from].url.clone();
                    let request = MvRequest {
                        urls: vec![url.clone()],
                        destination_folder_id: Some(folder_of(&remote, to)?),
                        rename: renamed(from, to),
                        ..MvRequest::default()
                    };
                    client.file_mv(&request).await?;
                    links.remove(from);
                    links.insert(to.clone(), url.clone());
                    retag(client, cache, &url, local_time(to)).await
                }
                Action::SetTime { path } => {
                    retag(client, cache, &remote.files[path].url, local_time(path)).await
                }
                Action::Copy { .. } | Action::Delete { .. } | Action::DeleteFolder { .. } => {
                    unreachable!("copies and deletions come later")
                }
            }
        }
        .await;
        if result.is_err() {
            // Its file has no time this sync could vouch for.
            links.remove(action_path(action));
        }
        tell(&mut done, &*reporter, action, result);
    }
    let mut copies: BTreeMap<i64, Vec<&Action>> = BTreeMap::new();
    for action in staged.copies {
        let Action::Copy { path, .. } = action else {
            unreachable!("only copies")
        };
        match folder_of(&remote, path) {
            Ok(folder) => copies.entry(folder).or_default().push(action),
            Err(e) => tell(&mut done, &*reporter, action, failed(&e)),
        }
    }
    let deletions = staged.deletions;
    // Copies: the files of one folder go together (small ones share requests), folders in
    // parallel. What a copy replaces goes only once the new file is verified.
    let sent: Vec<Vec<(Option<String>, Done)>> = futures::stream::iter(copies)
        .map(|(folder, actions)| {
            let reporter = Arc::clone(&reporter);
            let teller = Arc::clone(&reporter);
            async move {
                let paths: Vec<PathBuf> = actions
                    .iter()
                    .map(|a| match a {
                        Action::Copy { path, .. } => local.root.join(path),
                        _ => unreachable!("only copies are grouped"),
                    })
                    .collect();
                let results = client
                    .upload_files(&paths, &UploadOptions::into_folder(folder), reporter)
                    .await;
                // New files have empty descriptions: one call tags all those of one time.
                let fresh: Vec<(String, Option<Timestamp>)> = actions
                    .iter()
                    .zip(&results)
                    .filter_map(|(action, result)| {
                        let uploaded = result.as_ref().ok()?;
                        Some((uploaded.link.clone(), local_time(action_path(action))))
                    })
                    .collect();
                let tagged = tag_new_uploads(client, cache, &fresh).await;
                let mut remembered = Vec::new();
                // Each outcome with the new file's link (none when it failed), said as each
                // folder's files land, not when all have.
                let outcomes: Vec<(Option<String>, Done)> = actions
                    .into_iter()
                    .zip(results)
                    .map(|(action, result)| {
                        if let Ok(uploaded) = &result
                            && uploaded.parts > 0
                        {
                            remembered.push((uploaded.link.clone(), uploaded.whirlpool.clone()));
                        }
                        let (link, result) = match result {
                            Ok(uploaded) => match tagged.get(&uploaded.link) {
                                Some(e) => (
                                    None,
                                    Err(Error::new(
                                        e.kind(),
                                        OP,
                                        format!(
                                            "sent, but its modification time was not kept: {e}"
                                        ),
                                    )),
                                ),
                                None => (Some(uploaded.link), Ok(())),
                            },
                            Err(e) => (None, Err(e)),
                        };
                        let outcome = Done {
                            action: action.clone(),
                            result,
                        };
                        teller.action_done(&outcome);
                        (link, outcome)
                    })
                    .collect();
                // The whole Whirlpool of a file sent in parts is inside its manifest: kept here
                // so that the next sync need not download the manifest to compare.
                for (link, whirlpool) in remembered {
                    cache.remember_split(&link, &whirlpool).await;
                }
                outcomes
            }
        })
        .buffer_unordered(options.parallel.max(1))
        .collect()
        .await;
    let mut replaced: Vec<Action> = Vec::new();
    for (link, outcome) in sent.into_iter().flatten() {
        let path = action_path(&outcome.action).to_owned();
        match link {
            Some(link) => {
                if matches!(outcome.action, Action::Copy { replaces: true, .. }) {
                    replaced.push(outcome.action.clone());
                }
                links.insert(path, link);
            }
            None => {
                links.remove(&path);
            }
        }
        done.push(outcome);
    }
    // What goes away: replaced files, then deleted ones (each with its parts, if stored so),
    // then folders, deepest first.
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
            remote
                .links_of(path)
                .into_iter()
                .map(move |link| (link, path.to_owned()))
        })
        .collect();
    let removal_errors = remove_remote(client, &goners, options).await;
    for action in removed {
        let error = removal_errors.get(action_path(action));
        if matches!(action, Action::Delete { .. }) {
            links.remove(action_path(action));
            let result = error.map_or(Ok(()), failed);
            tell(&mut done, &*reporter, action, result);
        } else if let Some(e) = error {
            // The new file is there; only the older one of that name could not go.
            let result = Err(Error::new(
                e.kind(),
                OP,
                format!("sent, but the older file could not be removed: {e}"),
            ));
            tell(&mut done, &*reporter, action, result);
        }
    }
    let synced_folders: BTreeSet<&str> = std::iter::once("")
        .chain(local.tree.folders.iter().map(String::as_str))
        .collect();
    if let Err(error) =
        times::record(client, cache, &remote, &synced_folders, &links, local_time).await
    {
        tracing::warn!(%error, "the times files were not all written: the next restore reads the files' descriptions instead");
    }
    let gone_folders: Vec<&str> = deletions
        .iter()
        .filter_map(|action| match action {
            Action::DeleteFolder { path } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    let times_gone = times::remove_in(client, &remote, &gone_folders).await;
    for action in deletions {
        if let Action::DeleteFolder { path } = action {
            let result = match (remote.folder_ids.get(path), &times_gone) {
                (Some(_), Err(e)) => failed(e),
                (Some(&id), Ok(())) => client.folder_rm(id).await.map(drop),
                (None, _) => Ok(()),
            };
            tell(&mut done, &*reporter, action, result);
        }
    }
    done
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
    let root = &local.root;
    let inside = |path: &str| -> Result<PathBuf> {
        let full = root.join(path);
        if is_inside(root, &full) {
            Ok(full)
        } else {
            Err(Error::new(
                ErrorKind::Config,
                OP,
                format!("{path} would land outside {}", root.display()),
            ))
        }
    };
    let backup = |path: &str| -> Option<PathBuf> {
        options
            .backup_dir
            .as_ref()
            .map(|dir| Path::new(dir).join(path))
    };
    let mut done = Vec::with_capacity(plan.actions.len());
    if let Err(e) = tokio::fs::create_dir_all(root).await {
        let error = io(OP, &root.display().to_string(), e);
        return all_failed(plan, &error, &*reporter);
    }
    let staged = Staged::of(&plan.actions);
    for action in staged.first {
        let result: Result<()> = async {
            match action {
                Action::MakeFolder { path } => {
                    let full = inside(path)?;
                    tokio::fs::create_dir_all(&full)
                        .await
                        .map_err(|e| io(OP, &full.display().to_string(), e))
                }
                Action::Duplicate { from, to } | Action::Move { from, to } => {
                    let (from, full) = (inside(from)?, inside(to)?);
                    if matches!(action, Action::Move { .. }) {
                        move_local(&from, &full).await?;
                    } else {
                        copy_local(&from, &full).await?;
                    }
                    restore_time(client, cache, remote, to, &full).await
                }
                Action::SetTime { path } => {
                    restore_time(client, cache, remote, path, &inside(path)?).await
                }
                Action::Copy { .. } | Action::Delete { .. } | Action::DeleteFolder { .. } => {
                    unreachable!("copies and deletions come later")
                }
            }
        }
        .await;
        tell(&mut done, &*reporter, action, result);
    }
    let (copies, deletions) = (staged.copies, staged.deletions);
    let fetched: Vec<Done> = futures::stream::iter(copies)
        .map(|action| {
            let reporter = Arc::clone(&reporter);
            let teller = Arc::clone(&reporter);
            async move {
                let Action::Copy { path, replaces, .. } = action else {
                    unreachable!("only copies are fetched");
                };
                let result = async {
                    let dest = inside(path)?;
                    if *replaces && let Some(keep) = backup(path) {
                        move_local(&dest, &keep).await?;
                    }
                    let item = &remote.files[path];
                    let got = match remote.parts.get(path) {
                        Some(parts) => {
                            client
                                .download_split(
                                    item,
                                    parts,
                                    &dest,
                                    &DownloadOptions::default(),
                                    reporter,
                                )
                                .await?
                        }
                        None => {
                            let mut download = DownloadOptions::default().expecting(Expected {
                                size: item.size,
                                whirlpool: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
                            });
                            download.segments = 1;
                            client
                                .download_file(&item.url, &dest, &download, reporter)
                                .await?
                        }
                    };
                    restore_time(client, cache, remote, path, &got.path).await?;
                    // After the time is set: the stamp includes it.
                    if got.verified
                        && let Some(stamp) = Stamp::of(&got.path)
                    {
                        cache.remember(&got.path, stamp, &got.whirlpool).await;
                    }
                    Ok(())
                }
                .await;
                let outcome = Done {
                    action: action.clone(),
                    result,
                };
                // Said as each file lands, not when all have.
                teller.action_done(&outcome);
                outcome
            }
        })
        .buffer_unordered(options.parallel.max(1))
        .collect()
        .await;
    done.extend(fetched);
    for action in deletions {
        let result = match action {
            Action::Delete { path } => match (inside(path), backup(path)) {
                (Ok(full), Some(keep)) => move_local(&full, &keep).await,
                (Ok(full), None) => tokio::fs::remove_file(&full)
                    .await
                    .map_err(|e| io(OP, &full.display().to_string(), e)),
                (Err(e), _) => Err(e),
            },
            Action::DeleteFolder { path } => match inside(path) {
                Ok(full) => tokio::fs::remove_dir(&full).await.map_err(|e| {
                    io(
                        OP,
                        &format!(
                            "{} (it may hold files the filters leave out)",
                            full.display()
                        ),
                        e,
                    )
                }),
                Err(e) => Err(e),
            },
            _ => unreachable!("only deletions"),
        };
        tell(&mut done, &*reporter, action, result);
    }
    done
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
