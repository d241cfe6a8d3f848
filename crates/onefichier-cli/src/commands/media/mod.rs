//! The media front ends, `mount`, `serve http` and `serve webdav`: each is a thin layer over
//! one [`onefichier_vfs::Vfs`], which does the listing, the tokens, the caching and the writes.

mod access;
#[cfg(target_os = "linux")]
mod fuse;
mod http;
mod webdav;

use super::Ctx;
use crate::cli::{CacheMode, MediaArgs, MountArgs, ServeCommand, WritesArgs};
use anyhow::{Context, Result};
use onefichier_vfs::{CacheOptions, Vfs, VfsOptions};
use std::time::Duration;

/// How long a read may wait for what is not cached when `--max-wait` is not given: players
/// and scanners give up on their own after about that long.
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(30);

/// Opens the file system the arguments describe (read-only without `writes`).
async fn open(ctx: &Ctx, args: &MediaArgs, writes: Option<&WritesArgs>) -> Result<Vfs> {
    let client = ctx.client()?;
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => directories::ProjectDirs::from("", "", "onefichier")
            .map(|dirs| dirs.cache_dir().join("blocks"))
            .context("cannot find the user's cache folder: give --cache-dir")?,
    };
    // Written files wait for their upload beside the blocks (the block index skips it).
    let spool = cache_dir.join("spool");
    let cache = match args.cache_mode {
        CacheMode::Off => CacheOptions::Memory,
        CacheMode::Full => CacheOptions::Disk {
            dir: cache_dir,
            max_size: args.cache_max_size,
            max_age: args.cache_max_age,
        },
    };
    let options = VfsOptions {
        dir_cache_time: args.dir_cache_time,
        cache,
        max_wait: ctx.settings.max_wait.unwrap_or(DEFAULT_MAX_WAIT),
        writes: writes.filter(|w| w.writes).map(|_| spool),
    };
    Vfs::open(client, &args.remote, options)
        .await
        .with_context(|| format!("cannot open {}", args.remote))
}

/// Once the front end stopped: lets the block cache finish writing, then says what the front
/// end did, on stderr and as a `--json` event.
async fn report(ctx: &Ctx, vfs: &Vfs, event: &str) {
    vfs.settle().await;
    let stats = vfs.stats();
    ctx.printer.json_line(&serde_json::json!({
        "event": event,
        "stats": stats,
        "cache_size": vfs.cache_size(),
    }));
    ctx.printer.note(format!(
        "{} API calls ({} download tokens, {} listings, {} refused); {} read from the network, {} from the cache ({} blocks)",
        stats.api_calls,
        stats.tokens,
        stats.listings,
        stats.refused,
        onefichier_client::protocol::size::human(stats.network_bytes),
        onefichier_client::protocol::size::human(stats.cache_bytes),
        stats.cache_hits,
    ));
}

/// Waits for Ctrl-C or SIGTERM.
async fn stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

pub(crate) async fn mount(ctx: &Ctx, args: MountArgs) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let vfs = open(ctx, &args.media, Some(&args.writes)).await?;
        fuse::run(ctx, vfs, &args).await
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (ctx, args);
        anyhow::bail!("mount needs FUSE on Linux; use `1fichier serve http` elsewhere")
    }
}

pub(crate) async fn serve(ctx: &Ctx, command: ServeCommand) -> Result<()> {
    match command {
        ServeCommand::Http(args) => {
            let vfs = open(ctx, &args.media, None).await?;
            http::run(ctx, vfs, &args).await
        }
        ServeCommand::Webdav(args) => {
            let vfs = open(ctx, &args.media, Some(&args.writes)).await?;
            webdav::run(ctx, vfs, &args).await
        }
    }
}
