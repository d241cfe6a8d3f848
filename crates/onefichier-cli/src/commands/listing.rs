//! `ls`, `tree`, `info`.

use super::Ctx;
use crate::cli::LsArgs;
use crate::output::{counted, human_size, local_api_date, local_time};
use crate::remote;
use anyhow::Result;
use futures::future::BoxFuture;
use onefichier_client::Client;
use onefichier_client::hash_cache::HashCache;
use onefichier_client::protocol::date;
use onefichier_client::sync::Timestamp;
use onefichier_client::transfer::split;
use onefichier_client::wait::human_duration;
use onefichier_client::walk::Walk;
use serde::Serialize;
use serde_json::json;

/// One entry of `ls --json`.
#[derive(Debug, Serialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    date: String,
    /// The file's modification time, when this machine wrote or read it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whirlpool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<bool>,
    /// Stored in parts: `url` is the manifest's, `size` the parts' total.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    split: bool,
}

fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// What to list.
#[derive(Clone, Copy)]
struct Listing {
    recursive: bool,
    /// Parts and manifests of split files as they are.
    raw: bool,
}

fn collect<'a>(
    ctx: &'a Ctx,
    client: &'a Client,
    (path, id, depth): (String, i64, usize),
    how: Listing,
    walk: &'a mut Walk,
    out: &'a mut Vec<Entry>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let listing = client.list_folder(id).await?;
        if how.recursive && depth == 0 {
            announce_walk(ctx, client, &path, listing.sub_folders.len());
        }
        for folder in &listing.sub_folders {
            out.push(Entry {
                kind: "folder",
                path: join(&path, &folder.name),
                name: folder.name.clone(),
                id: Some(folder.id),
                url: None,
                size: None,
                date: folder.create_date.clone(),
                modified: None,
                whirlpool: None,
                password: Some(folder.pass.0),
                split: false,
            });
        }
        // A file stored in parts shows as one entry (unless asked for raw): its manifest
        // under the file's name, with the parts' total size (a synced folder's times file too
        // is shown raw only).
        let files = listing.items.as_deref().unwrap_or_default();
        let listed = if how.raw {
            files.iter().map(split::Listed::alone).collect()
        } else {
            split::gather(files)
        };
        for file in listed {
            out.push(Entry {
                kind: "file",
                path: join(&path, &file.name),
                url: Some(file.item.url.clone()),
                size: Some(file.size()),
                date: file.item.date.clone(),
                modified: None,
                // A set's Whirlpool is inside its manifest.
                whirlpool: file.parts.is_none().then(|| file.item.checksum.clone()),
                password: Some(file.item.pass.0),
                split: file.parts.is_some(),
                name: file.name,
                id: None,
            });
        }
        if how.recursive {
            for folder in listing.sub_folders {
                if walk.enter(folder.id, depth + 1)? {
                    let place = (join(&path, &folder.name), folder.id, depth + 1);
                    collect(ctx, client, place, how, walk, out).await?;
                }
            }
        }
        Ok(())
    })
}

/// A recursive listing costs one listing per folder, and the service spaces listings (one per
/// 3 s): before walking a large tree, say how long it will take at least (folders deeper down
/// add to it). No cheaper call learns a subtree in API v1; listings kept from the last 30 s are
/// free, so the walk may be quicker than said.
fn announce_walk(ctx: &Ctx, client: &Client, path: &str, sub_folders: usize) {
    let pace = client.budgets().listing_interval;
    let at_least = pace * u32::try_from(sub_folders).unwrap_or(u32::MAX);
    if at_least < std::time::Duration::from_secs(10) {
        return;
    }
    ctx.printer.note(format!(
        "listing {} below {path} (and any folders inside them) takes at least {}: \
         the service allows one listing per {}",
        counted(sub_folders, "folder"),
        human_duration(at_least),
        human_duration(pace),
    ));
}

pub(crate) async fn ls(ctx: &Ctx, args: &LsArgs) -> Result<()> {
    let client = ctx.client()?;
    let id = match client.resolve_folder(&args.path).await {
        Ok(id) => id,
        // Only when no folder has the name is a file looked for: no call spent otherwise.
        Err(error)
            if error.kind() == onefichier_client::ErrorKind::NotFound
                && remote::file(&client, &args.path, None).await.is_ok() =>
        {
            return Err(remote::NotFound(format!(
                "{} is a file, not a folder: `1fichier info {}` shows it",
                args.path, args.path
            ))
            .into());
        }
        Err(error) => return Err(error.into()),
    };
    let mut entries = Vec::new();
    let root = if args.path.is_empty() {
        "/".to_owned()
    } else {
        args.path.clone()
    };
    let how = Listing {
        recursive: args.recursive,
        raw: args.raw,
    };
    let mut walk = Walk::new();
    walk.enter(id, 0)?;
    let place = (root.clone(), id, 0);
    collect(ctx, &client, place, how, &mut walk, &mut entries).await?;
    // Modification times live in descriptions, which listings leave out: those this machine
    // wrote or read are known without a call.
    if entries.iter().any(|e| e.url.is_some()) {
        let cache = HashCache::open().await;
        for entry in &mut entries {
            if let Some(url) = &entry.url {
                entry.modified = cache.remote_time(url).await.map(|t| t.to_string());
            }
        }
    }
    ctx.printer
        .document(&json!({"path": root, "entries": entries}));
    for e in &entries {
        let shown = if args.recursive { &e.path } else { &e.name };
        let shown = if e.kind == "folder" {
            format!("{shown}/")
        } else {
            shown.clone()
        };
        if args.long {
            let size = e.size.map_or_else(|| "-".to_owned(), human_size);
            let locked = if e.password == Some(true) { "p" } else { "-" };
            // The modification time when known, else the upload date, in this machine's zone.
            let when = e
                .modified
                .as_deref()
                .and_then(|m| m.parse::<Timestamp>().ok())
                .map_or_else(|| local_api_date(&e.date), local_time);
            let line = format!(
                "{:<6} {locked} {:>10}  {when}  {shown}  {}",
                e.kind,
                size,
                e.url.as_deref().unwrap_or("")
            );
            ctx.printer.line(line.trim_end());
        } else {
            ctx.printer.line(shown);
        }
    }
    Ok(())
}

pub(crate) async fn tree(ctx: &Ctx, path: &str) -> Result<()> {
    let client = ctx.client()?;
    let id = client.resolve_folder(path).await?;
    let mut entries = Vec::new();
    let how = Listing {
        recursive: true,
        raw: false,
    };
    let mut walk = Walk::new();
    walk.enter(id, 0)?;
    collect(
        ctx,
        &client,
        (path.to_owned(), id, 0),
        how,
        &mut walk,
        &mut entries,
    )
    .await?;
    ctx.printer
        .document(&json!({"path": path, "entries": entries}));
    ctx.printer.line(path);
    let base_depth = path.trim_end_matches('/').matches('/').count();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for e in sorted {
        let depth = e.path.matches('/').count() - base_depth;
        let suffix = if e.kind == "folder" { "/" } else { "" };
        ctx.printer
            .line(format!("{}{}{suffix}", "  ".repeat(depth), e.name));
    }
    Ok(())
}

pub(crate) async fn info(ctx: &Ctx, file: &str) -> Result<()> {
    let client = ctx.client()?;
    let found = match remote::file(&client, file, None).await {
        Ok(found) => found,
        Err(error)
            if error.downcast_ref::<remote::NotFound>().is_some()
                && !remote::is_link(file)
                && client.resolve_folder(file).await.is_ok() =>
        {
            return Err(remote::NotFound(format!(
                "{file} is a folder, not a file: `1fichier ls {file}` lists it"
            ))
            .into());
        }
        Err(error) => return Err(error),
    };
    let mut info = client.file_info(&found.url, None).await?;
    // A file stored in parts is shown whole: its name, size and Whirlpool (from its manifest),
    // with its manifest's link and its parts.
    let mut stored_in_parts = None;
    if let Some(set) = &found.split {
        let near = std::env::temp_dir().join("onefichier-info");
        let manifest = client
            .read_manifest(
                &set.manifest,
                &near,
                std::sync::Arc::new(onefichier_client::NoProgress),
            )
            .await?;
        info.filename = found.name.clone();
        info.size = found.size;
        info.checksum = manifest.whirlpool;
        stored_in_parts = Some(
            set.parts
                .iter()
                .map(|part| json!({"url": part.url, "filename": part.filename, "size": part.size}))
                .collect::<Vec<_>>(),
        );
    }
    match &stored_in_parts {
        Some(parts) => {
            let mut document = serde_json::to_value(&info)?;
            document["parts"] = json!(parts);
            ctx.printer.document(&document);
        }
        None => ctx.printer.document(&info),
    }
    describe_file(ctx, &info, stored_in_parts.as_ref().map(Vec::len));
    Ok(())
}

/// `info`'s text: one field a line; `parts`, for a file stored in parts, how many.
fn describe_file(
    ctx: &Ctx,
    info: &onefichier_client::protocol::file::FileInfo,
    parts: Option<usize>,
) {
    let p = &ctx.printer;
    p.line(format!("Name:        {}", info.filename));
    p.line(format!("Link:        {}", info.url));
    p.line(format!(
        "Size:        {} ({} bytes)",
        human_size(info.size),
        info.size
    ));
    if let Some(parts) = parts {
        p.line(format!(
            "Stored in:   {parts} parts over the per-file limit (the link is its manifest's; \
             `1fichier download` reassembles it)"
        ));
    }
    p.line(format!("Uploaded:    {}", local_api_date(&info.date)));
    p.line(format!("Folder:      /{}", info.path));
    p.line(format!("Whirlpool:   {}", info.checksum));
    p.line(format!("Type:        {}", info.content_type));
    // The description's machine tag is shown as the time it holds, apart from human text.
    let (human, modified) = date::mtime_tag::split(&info.description);
    if let Some(modified) = modified {
        p.line(format!("Modified:    {}", local_time(modified)));
    }
    if !human.is_empty() {
        p.line(format!("Description: {human}"));
    }
    let flags: Vec<&str> = [
        (info.pass.0, "password"),
        (info.inline.0, "inline"),
        (info.no_ssl.0, "no-ssl"),
        (info.cdn.0, "cdn"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    p.line(format!(
        "Attributes:  {}",
        if flags.is_empty() {
            "-".to_owned()
        } else {
            flags.join(", ")
        }
    ));
    if !info.acl.is_empty() {
        p.line(format!(
            "Access list: ip {:?}, country {:?}, email {:?}, premium only: {}",
            info.acl.ip, info.acl.country, info.acl.email, info.acl.premium.0
        ));
    }
}
