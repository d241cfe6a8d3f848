//! Carrying out a plan: on the account (local → remote) or on the local disk (remote → local).
//! Every action gets its own outcome; one that fails does not stop the others, except that
//! what depends on a folder that could not be made fails with it.

use super::plan::{Action, Plan, name, parent};
use super::{LocalSide, OP, RemoteSide};
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io};
use crate::hash_cache::{HashCache, Stamp};
use crate::local::is_inside;
use crate::progress::Reporter;
use crate::transfer::download::{DownloadOptions, Expected};
use crate::transfer::upload::UploadOptions;
use futures::StreamExt;
use onefichier_protocol::file::{CpRequest, MvRequest, RmFile};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Links removed per `file/rm` call.
const REMOVALS_PER_CALL: usize = 100;

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

fn failed(action: &Action, error: &Error) -> Done {
    Done {
        action: action.clone(),
        result: Err(Error::new(error.kind(), OP, format!("{error}"))),
    }
}

/// Applies `plan` to the account: `local` is the source, `remote` the destination as scanned.
pub async fn upload(
    client: &Client,
    local: &LocalSide,
    mut remote: RemoteSide,
    plan: &Plan,
    options: &SyncOptions,
    reporter: Arc<dyn Reporter>,
) -> Vec<Done> {
    let mut done = Vec::with_capacity(plan.actions.len());
    let root_id = match remote.root_id {
        Some(id) => id,
        None => match client.mkdir_p(&remote.root).await {
            Ok(id) => id,
            Err(error) => return plan.actions.iter().map(|a| failed(a, &error)).collect(),
        },
    };
    remote.folder_ids.insert(String::new(), root_id);
    let mut copies: BTreeMap<i64, Vec<&Action>> = BTreeMap::new();
    let mut deletions: Vec<&Action> = Vec::new();
    for action in &plan.actions {
        let result = match action {
            Action::MakeFolder { path } => match folder_of(&remote, path) {
                Ok(parent_id) => match client.folder_mkdir(name(path), parent_id).await {
                    Ok(made) => {
                        client.learn_path(&remote.remote_path(path), made.folder_id);
                        remote.folder_ids.insert(path.clone(), made.folder_id);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Action::Duplicate { from, to } => match folder_of(&remote, to) {
                Ok(folder) => {
                    let request = CpRequest {
                        urls: vec![remote.files[from].url.clone()],
                        folder_id: Some(folder),
                        rename: renamed(from, to),
                        ..CpRequest::default()
                    };
                    client.file_cp(&request).await.map(drop)
                }
                Err(e) => Err(e),
            },
            Action::Move { from, to } => match folder_of(&remote, to) {
                Ok(folder) => {
                    let request = MvRequest {
                        urls: vec![remote.files[from].url.clone()],
                        destination_folder_id: Some(folder),
                        rename: renamed(from, to),
                        ..MvRequest::default()
                    };
                    client.file_mv(&request).await.map(drop)
                }
                Err(e) => Err(e),
            },
            Action::Copy { path, .. } => {
                match folder_of(&remote, path) {
                    Ok(folder) => copies.entry(folder).or_default().push(action),
                    Err(e) => done.push(failed(action, &e)),
                }
                continue;
            }
            Action::Delete { .. } | Action::DeleteFolder { .. } => {
                deletions.push(action);
                continue;
            }
        };
        done.push(Done {
            action: action.clone(),
            result,
        });
    }
    // Copies: the files of one folder go together (small ones share requests), folders in
    // parallel. What a copy replaces goes only once the new file is verified.
    let mut replaced: Vec<(&Action, String)> = Vec::new();
    let sent: Vec<Vec<(&Action, Result<()>)>> = futures::stream::iter(copies)
        .map(|(folder, actions)| {
            let reporter = Arc::clone(&reporter);
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
                actions
                    .into_iter()
                    .zip(results)
                    .map(|(action, result)| (action, result.map(drop)))
                    .collect()
            }
        })
        .buffer_unordered(options.parallel.max(1))
        .collect()
        .await;
    for (action, result) in sent.into_iter().flatten() {
        if let (
            Ok(()),
            Action::Copy {
                path,
                replaces: true,
                ..
            },
        ) = (&result, action)
        {
            replaced.push((action, remote.files[path].url.clone()));
        }
        done.push(Done {
            action: action.clone(),
            result,
        });
    }
    // What goes away: replaced files, then deleted ones, then folders, deepest first.
    let mut goners: Vec<(&Action, String, String)> = replaced
        .into_iter()
        .map(|(action, url)| (action, url, action_path(action).to_owned()))
        .collect();
    goners.extend(deletions.iter().filter_map(|action| match action {
        Action::Delete { path } => Some((*action, remote.files[path].url.clone(), path.clone())),
        _ => None,
    }));
    let removal_errors = remove_remote(client, &goners, options).await;
    for (action, _, _) in &goners {
        if matches!(action, Action::Delete { .. }) {
            done.push(Done {
                action: (*action).clone(),
                result: match removal_errors.get(action_path(action)) {
                    Some(e) => Err(Error::new(e.kind(), OP, e.to_string())),
                    None => Ok(()),
                },
            });
        } else if let Some(e) = removal_errors.get(action_path(action)) {
            // The new file is there; only the older one of that name could not go.
            done.push(Done {
                action: (*action).clone(),
                result: Err(Error::new(
                    e.kind(),
                    OP,
                    format!("sent, but the older file could not be removed: {e}"),
                )),
            });
        }
    }
    for action in deletions {
        if let Action::DeleteFolder { path } = action {
            let result = match remote.folder_ids.get(path) {
                Some(&id) => client.folder_rm(id).await.map(drop),
                None => Ok(()),
            };
            done.push(Done {
                action: action.clone(),
                result,
            });
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

/// Removes (or moves under the backup folder) remote files: (action, link, relative path).
/// Returns the errors by relative path.
async fn remove_remote(
    client: &Client,
    goners: &[(&Action, String, String)],
    options: &SyncOptions,
) -> HashMap<String, Error> {
    let mut errors = HashMap::new();
    if let Some(backup) = &options.backup_dir {
        // One move per folder of the backup: names are kept.
        let mut by_folder: BTreeMap<&str, Vec<&(&Action, String, String)>> = BTreeMap::new();
        for goner in goners {
            by_folder.entry(parent(&goner.2)).or_default().push(goner);
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
                        urls: files.iter().map(|f| f.1.clone()).collect(),
                        destination_folder_id: Some(id),
                        ..MvRequest::default()
                    };
                    client.file_mv(&request).await.map(drop)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = moved {
                for file in files {
                    errors.insert(file.2.clone(), Error::new(e.kind(), OP, e.to_string()));
                }
            }
        }
        return errors;
    }
    for chunk in goners.chunks(REMOVALS_PER_CALL) {
        let links: Vec<RmFile> = chunk.iter().map(|g| RmFile::link(&g.1)).collect();
        if let Err(e) = client.file_rm(&links).await {
            for goner in chunk {
                errors.insert(goner.2.clone(), Error::new(e.kind(), OP, e.to_string()));
            }
        }
    }
    errors
}

/// The new name, when a move or copy also renames.
fn renamed(from: &str, to: &str) -> Option<String> {
    (name(from) != name(to)).then(|| name(to).to_owned())
}

fn action_path(action: &Action) -> &str {
    match action {
        Action::MakeFolder { path }
        | Action::Copy { path, .. }
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
        return plan.actions.iter().map(|a| failed(a, &error)).collect();
    }
    let mut copies = Vec::new();
    let mut deletions = Vec::new();
    for action in &plan.actions {
        let result = match action {
            Action::MakeFolder { path } => match inside(path) {
                Ok(full) => tokio::fs::create_dir_all(&full)
                    .await
                    .map_err(|e| io(OP, &full.display().to_string(), e)),
                Err(e) => Err(e),
            },
            Action::Duplicate { from, to } => match (inside(from), inside(to)) {
                (Ok(from), Ok(to)) => copy_local(&from, &to).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Action::Move { from, to } => match (inside(from), inside(to)) {
                (Ok(from), Ok(to)) => move_local(&from, &to).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Action::Copy { .. } => {
                copies.push(action);
                continue;
            }
            Action::Delete { .. } | Action::DeleteFolder { .. } => {
                deletions.push(action);
                continue;
            }
        };
        done.push(Done {
            action: action.clone(),
            result,
        });
    }
    let fetched: Vec<Done> = futures::stream::iter(copies)
        .map(|action| {
            let reporter = Arc::clone(&reporter);
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
                    let mut download = DownloadOptions::default().expecting(Expected {
                        size: item.size,
                        whirlpool: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
                    });
                    download.segments = 1;
                    let got = client
                        .download_file(&item.url, &dest, &download, reporter)
                        .await?;
                    if got.verified
                        && let Some(stamp) = Stamp::of(&got.path)
                    {
                        cache.remember(&got.path, stamp, &got.whirlpool).await;
                    }
                    Ok(())
                }
                .await;
                Done {
                    action: action.clone(),
                    result,
                }
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
        done.push(Done {
            action: action.clone(),
            result,
        });
    }
    done
}

/// Renames `from` to `to`, creating `to`'s folder; refuses to overwrite.
async fn move_local(from: &Path, to: &Path) -> Result<()> {
    let what = to.display().to_string();
    if let Some(parent) = to.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io(OP, &what, e))?;
    }
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
    let what = to.display().to_string();
    if let Some(parent) = to.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io(OP, &what, e))?;
    }
    let temporary = crate::transfer::download::part_path(to);
    tokio::fs::copy(from, &temporary)
        .await
        .map_err(|e| io(OP, &what, e))?;
    tokio::fs::rename(&temporary, to)
        .await
        .map_err(|e| io(OP, &what, e))
}
