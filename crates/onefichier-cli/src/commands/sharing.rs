//! `chattr`, `share`, `unshare`.

use super::Ctx;
use crate::cli::{ChattrArgs, ShareArgs};
use crate::remote;
use anyhow::{Result, bail};
use onefichier_client::protocol::file::{Acl, ChattrRequest};
use onefichier_client::protocol::folder::{Share, ShareRequest};
use onefichier_client::protocol::lenient::Flag;
use serde_json::json;

pub(crate) async fn chattr(ctx: &Ctx, args: ChattrArgs) -> Result<()> {
    let client = ctx.client()?;
    let mut urls = Vec::new();
    for file in &args.files {
        // A file stored in parts: the same attributes on every stored file of it.
        urls.extend(remote::file(&client, file, None).await?.links());
    }
    let acl = if args.clear_acl {
        Some(Acl::default())
    } else if args.acl_ip.is_empty()
        && args.acl_country.is_empty()
        && args.acl_email.is_empty()
        && !args.acl_premium
    {
        None
    } else {
        Some(Acl {
            ip: args.acl_ip,
            country: args.acl_country,
            email: args.acl_email,
            premium: Flag(args.acl_premium),
        })
    };
    let request = ChattrRequest {
        urls,
        filename: None,
        description: args.description,
        pass: args.password,
        no_ssl: args.no_ssl.map(|v| Flag(v.is_on())),
        inline: args.inline.map(|v| Flag(v.is_on())),
        cdn: args.cdn.map(|v| Flag(v.is_on())),
        acl,
    };
    let answer = client.file_chattr(&request).await?;
    ctx.printer.document(&json!({"updated": answer.urls}));
    ctx.printer.note(format!(
        "updated {}",
        crate::output::counted(args.files.len(), "file")
    ));
    Ok(())
}

fn parse_with(spec: &str) -> Result<Share> {
    let (email, mode) = spec.split_once(':').unwrap_or((spec, "ro"));
    let (rw, hide_links) = match mode {
        "ro" | "" => (false, false),
        "rw" => (true, false),
        "hide-links" => (false, true),
        other => bail!("--with {spec}: the mode is rw or hide-links, not {other:?}"),
    };
    Ok(Share {
        email: email.to_owned(),
        rw: Flag(rw),
        hide_links: Flag(hide_links),
    })
}

pub(crate) async fn share(ctx: &Ctx, args: ShareArgs) -> Result<()> {
    let client = ctx.client()?;
    let id = client.resolve_folder(&args.path).await?;
    let shares = if args.with.is_empty() {
        None
    } else {
        Some(
            args.with
                .iter()
                .map(|w| parse_with(w))
                .collect::<Result<Vec<_>>>()?,
        )
    };
    let answer = client
        .folder_share(&ShareRequest {
            folder_id: Some(id),
            share: Some(Flag(!args.no_public)),
            pass: args.password,
            shares,
        })
        .await?;
    ctx.printer
        .document(&json!({"path": args.path, "url": answer.url, "shared_with": args.with}));
    if let Some(url) = &answer.url {
        ctx.printer.line(url);
    } else {
        ctx.printer.note(format!("{} shared", args.path));
    }
    Ok(())
}

pub(crate) async fn unshare(ctx: &Ctx, path: &str) -> Result<()> {
    let client = ctx.client()?;
    let id = client.resolve_folder(path).await?;
    client
        .folder_share(&ShareRequest {
            folder_id: Some(id),
            share: Some(Flag(false)),
            pass: None,
            shares: Some(Vec::new()),
        })
        .await?;
    ctx.printer
        .document(&json!({"path": path, "shared": false}));
    ctx.printer.note(format!("{path} is no longer shared"));
    Ok(())
}
