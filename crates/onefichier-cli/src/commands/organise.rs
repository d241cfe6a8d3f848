//! `mkdir`, `mv`, `cp`, `rename`, `rm`, `rmdir`.

use super::{Ctx, confirm};
use crate::remote::{self, split_path};
use anyhow::{Result, bail};
use onefichier_client::Client;
use onefichier_client::protocol::file::{CpRequest, MvRequest, RenameItem, RmFile};
use onefichier_client::protocol::folder;
use onefichier_client::walk::Walk;
use serde_json::json;

/// A name for a file or folder, checked here against the service's rules (plus `/`, `.`, `..`
/// and bidirectional controls, which our server refuses) before any call is spent on it.
fn checked_name(name: &str) -> Result<()> {
    if let Err(error) = onefichier_client::protocol::ids::check_name(name) {
        let hint = if name.contains('/') {
            " (a name is one component: to move, use `1fichier mv`)"
        } else {
            ""
        };
        return Err(BadName(format!("{name:?} cannot be a name: {error}{hint}")).into());
    }
    Ok(())
}

/// A name the service would refuse, caught before any call (exit code 2, like a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadName(String);

pub(crate) async fn mkdir(ctx: &Ctx, path: &str, parents: bool) -> Result<()> {
    for component in path.split('/').filter(|c| !c.is_empty()) {
        checked_name(component)?;
    }
    let client = ctx.client()?;
    let (id, created) = if parents {
        client.ensure_folder(path).await?
    } else {
        let (parent, name) = split_path(path);
        let parent_id = client.resolve_folder(&parent).await?;
        (client.folder_mkdir(&name, parent_id).await?.folder_id, true)
    };
    ctx.printer
        .document(&json!({"path": path, "folder_id": id, "created": created}));
    if created {
        ctx.printer.note(format!("created {path} (folder {id})"));
    } else {
        ctx.printer
            .note(format!("{path} exists already (folder {id})"));
    }
    Ok(())
}

/// Whether a non-link argument names a folder.
async fn folder_of(client: &Client, arg: &str) -> Option<i64> {
    if remote::is_link(arg) || arg.trim_matches('/').is_empty() {
        return None;
    }
    client.resolve_folder(arg).await.ok()
}

/// Where `mv` and `cp` put things, as `mv` does: into DEST when it is a folder; with one
/// source, to DEST's parent under DEST's last name when DEST does not exist.
enum Target {
    /// Into this folder, names kept.
    Into(i64),
    /// Into this folder under a new name.
    Renamed(i64, String),
}

async fn target(client: &Client, destination: &str, single: bool, parents: bool) -> Result<Target> {
    let missing = |e: &onefichier_client::Error| e.kind() == onefichier_client::ErrorKind::NotFound;
    match client.resolve_folder(destination).await {
        Ok(id) => return Ok(Target::Into(id)),
        Err(e) if !missing(&e) => return Err(e.into()),
        Err(_) => {}
    }
    let (parent, name) = split_path(destination);
    if single && !name.is_empty() {
        checked_name(&name)?;
        let parent_id = match client.resolve_folder(&parent).await {
            Ok(id) => id,
            Err(e) if missing(&e) && parents => client.mkdir_p(&parent).await?,
            Err(e) if missing(&e) => {
                bail!("no folder {parent} to put {name} in: create it, or say -p")
            }
            Err(e) => return Err(e.into()),
        };
        return Ok(Target::Renamed(parent_id, name));
    }
    if parents {
        return Ok(Target::Into(client.mkdir_p(destination).await?));
    }
    bail!("no folder {destination}: create it, or say -p")
}

pub(crate) async fn mv(
    ctx: &Ctx,
    sources: &[String],
    destination: &str,
    parents: bool,
) -> Result<()> {
    let client = ctx.client()?;
    let (target, rename) = match target(&client, destination, sources.len() == 1, parents).await? {
        Target::Into(id) => (id, None),
        Target::Renamed(id, name) => (id, Some(name)),
    };
    if let [single] = sources
        && let Some(folder_id) = folder_of(&client, single).await
    {
        client
            .folder_mv(&folder::MvRequest {
                folder_id: Some(folder_id),
                destination_folder_id: Some(target),
                rename: rename.clone(),
                ..Default::default()
            })
            .await?;
        ctx.printer
            .document(&json!({"moved": [single], "to": destination}));
        ctx.printer.note(match rename {
            Some(_) => format!("moved {single} to {destination}"),
            None => format!("moved {single} into {destination}"),
        });
        return Ok(());
    }
    let mut found = Vec::new();
    for source in sources {
        found.push(remote::file(&client, source, None).await?);
    }
    // A file stored in parts moves as a set; renamed, each of its stored files takes its own
    // name after the move.
    let set_renamed = rename.as_ref().filter(|_| found[0].split.is_some());
    let answer = client
        .file_mv(&MvRequest {
            urls: found.iter().flat_map(remote::RemoteFile::links).collect(),
            destination_folder_id: Some(target),
            rename: rename.clone().filter(|_| set_renamed.is_none()),
            ..Default::default()
        })
        .await?;
    if let Some(name) = set_renamed {
        rename_stored(&client, found[0].renamed(name)).await?;
    }
    ctx.printer
        .document(&json!({"moved": answer.urls, "to": destination}));
    ctx.printer.note(match rename {
        Some(_) => format!("moved {} to {destination}", sources[0]),
        None => format!(
            "moved {} into {destination}",
            crate::output::counted(found.len(), "file")
        ),
    });
    Ok(())
}

/// Renames stored files: (link, new name).
async fn rename_stored(
    client: &Client,
    renames: Vec<(String, String)>,
) -> Result<onefichier_client::protocol::file::RenameResponse> {
    let items: Vec<RenameItem> = renames
        .into_iter()
        .map(|(url, filename)| RenameItem { url, filename })
        .collect();
    Ok(client.file_rename(&items).await?)
}

pub(crate) async fn cp(
    ctx: &Ctx,
    sources: &[String],
    destination: &str,
    password: Option<&str>,
    parents: bool,
) -> Result<()> {
    let client = ctx.client()?;
    let (target, rename) = match target(&client, destination, sources.len() == 1, parents).await? {
        Target::Into(id) => (id, None),
        Target::Renamed(id, name) => (id, Some(name)),
    };
    let mut found = Vec::new();
    for source in sources {
        found.push(remote::file(&client, source, password).await?);
    }
    let set_renamed = rename.as_ref().filter(|_| found[0].split.is_some());
    let answer = client
        .file_cp(&CpRequest {
            urls: found.iter().flat_map(remote::RemoteFile::links).collect(),
            folder_id: Some(target),
            pass: password.map(str::to_owned),
            rename: rename.clone().filter(|_| set_renamed.is_none()),
            ..Default::default()
        })
        .await?;
    // The copies of a set's stored files take the new name each in its own form.
    if let Some(name) = set_renamed {
        let copies: Vec<(String, String)> = found[0]
            .renamed(name)
            .into_iter()
            .filter_map(|(from, new_name)| {
                let copy = answer.urls.iter().find(|c| c.from_url == from)?;
                Some((copy.to_url.clone(), new_name))
            })
            .collect();
        rename_stored(&client, copies).await?;
    }
    ctx.printer.document(&json!({"copied": answer.urls}));
    for copy in &answer.urls {
        ctx.printer
            .line(format!("{} -> {}", copy.from_url, copy.to_url));
    }
    Ok(())
}

pub(crate) async fn rename(ctx: &Ctx, target: &str, name: &str) -> Result<()> {
    checked_name(name)?;
    let client = ctx.client()?;
    if let Some(folder_id) = folder_of(&client, target).await {
        let answer = client
            .folder_mv(&folder::MvRequest {
                folder_id: Some(folder_id),
                rename: Some(name.to_owned()),
                ..Default::default()
            })
            .await?;
        ctx.printer
            .document(&json!({"old_name": answer.old_name, "new_name": answer.new_name}));
        ctx.printer.note(format!(
            "renamed folder {} to {}",
            answer.old_name, answer.new_name
        ));
        return Ok(());
    }
    let file = remote::file(&client, target, None).await?;
    let answer = rename_stored(&client, file.renamed(name)).await?;
    ctx.printer.document(&answer.urls);
    ctx.printer.note(format!("renamed {} to {name}", file.name));
    Ok(())
}

pub(crate) async fn rm(ctx: &Ctx, files: &[String], yes: bool) -> Result<()> {
    let client = ctx.client()?;
    let mut found = Vec::new();
    for file in files {
        match remote::file(&client, file, None).await {
            Ok(file) => found.push(file),
            // Only when the file is not found is the folder looked for: no call spent otherwise.
            Err(error) if folder_of(&client, file).await.is_some() => {
                return Err(error.context(format!(
                    "{file} is a folder: remove it with `1fichier rmdir {file}` (--recursive for its content)"
                )));
            }
            Err(error) => return Err(error),
        }
    }
    if !yes {
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        if !confirm(&format!("Delete {}?", names.join(", "))) {
            bail!(NotConfirmed);
        }
    }
    // A file stored in parts goes with all its stored files.
    let links: Vec<RmFile> = found
        .iter()
        .flat_map(remote::RemoteFile::links)
        .map(RmFile::link)
        .collect();
    let answer = client.file_rm(&links).await?;
    ctx.printer.document(&json!({"removed": answer.urls}));
    ctx.printer.note(format!(
        "deleted {}",
        crate::output::counted(found.len(), "file")
    ));
    Ok(())
}

/// Deletion was not confirmed (no terminal, or the answer was no).
#[derive(Debug, thiserror::Error)]
#[error("not confirmed: pass --yes to delete without a question (required when not on a terminal)")]
pub(crate) struct NotConfirmed;

pub(crate) async fn rmdir(ctx: &Ctx, path: &str, recursive: bool, yes: bool) -> Result<()> {
    let client = ctx.client()?;
    let id = client.resolve_folder(path).await?;
    if id == 0 {
        bail!("the root folder cannot be deleted");
    }
    if recursive {
        if !yes && !confirm(&format!("Delete {path} and everything in it?")) {
            bail!(NotConfirmed);
        }
        delete_tree(&client, id, 0, &mut Walk::new()).await?;
    } else {
        client.folder_rm(id).await.map_err(|error| {
            let not_empty = error.code() == Some(onefichier_client::protocol::ErrorCode::FolderNotEmpty);
            let error = anyhow::Error::new(error);
            if not_empty {
                error.context(format!(
                    "{path} is not empty: `1fichier rmdir --recursive {path}` deletes it with everything in it"
                ))
            } else {
                error
            }
        })?;
    }
    ctx.printer.document(&json!({"removed": path}));
    ctx.printer.note(format!("deleted {path}"));
    Ok(())
}

fn delete_tree<'a>(
    client: &'a Client,
    id: i64,
    depth: usize,
    walk: &'a mut Walk,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let listing = client.list_folder(id).await?;
        for sub in &listing.sub_folders {
            if walk.enter(sub.id, depth + 1)? {
                delete_tree(client, sub.id, depth + 1, walk).await?;
            }
        }
        let files: Vec<RmFile> = listing
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| RmFile::link(i.url))
            .collect();
        client.file_rm(&files).await?;
        client.folder_rm(id).await?;
        Ok(())
    })
}
