//! One module per group of commands; `run` dispatches.

mod account;
mod auth;
mod jobs;
mod listing;
mod local;
mod media;
mod organise;
mod sharing;
mod sync;
mod transfer;

use crate::cli::{Cli, Command};
use crate::output::Printer;
use crate::settings::Settings;
use anyhow::Result;

/// What every command gets: resolved settings and the printer.
pub(crate) struct Ctx {
    pub(crate) settings: Settings,
    pub(crate) printer: Printer,
}

impl Ctx {
    pub(crate) fn client(&self) -> Result<onefichier_client::Client> {
        self.settings
            .client(std::sync::Arc::new(crate::progress::WaitNotes(
                self.printer,
            )))
    }
}

pub(crate) async fn run(cli: Cli, printer: Printer) -> Result<()> {
    // Local commands need no settings at all.
    match &cli.command {
        Command::Hash { files } => return local::hash(files, printer).await,
        Command::Completions { shell } => return local::completions(*shell),
        Command::Man { dir } => return local::man(dir.as_deref(), printer),
        _ => {}
    }
    let ctx = Ctx {
        settings: Settings::resolve(&cli.global)?,
        printer,
    };
    match cli.command {
        Command::Auth(command) => auth::run(&ctx, command).await,
        Command::Whoami => account::whoami(&ctx).await,
        Command::Ls(args) => listing::ls(&ctx, &args).await,
        Command::Tree { path } => listing::tree(&ctx, &path).await,
        Command::Info { file } => listing::info(&ctx, &file).await,
        Command::Upload(args) => transfer::upload(&ctx, args).await,
        Command::Download(args) => transfer::download(&ctx, args).await,
        Command::DlDir(args) => transfer::dl_dir(&ctx, &args).await,
        Command::Sync(args) => sync::sync(&ctx, args).await,
        Command::Link { file, password } => transfer::link(&ctx, &file, password.as_deref()).await,
        Command::Mkdir { path, parents } => organise::mkdir(&ctx, &path, parents).await,
        Command::Mv {
            sources,
            destination,
            parents,
        } => organise::mv(&ctx, &sources, &destination, parents).await,
        Command::Cp {
            sources,
            destination,
            password,
            parents,
        } => organise::cp(&ctx, &sources, &destination, password.as_deref(), parents).await,
        Command::Rename { target, name } => organise::rename(&ctx, &target, &name).await,
        Command::Rm { files, yes } => organise::rm(&ctx, &files, yes).await,
        Command::Rmdir {
            path,
            recursive,
            yes,
        } => organise::rmdir(&ctx, &path, recursive, yes).await,
        Command::Chattr(args) => sharing::chattr(&ctx, args).await,
        Command::Share(args) => sharing::share(&ctx, args).await,
        Command::Unshare { path } => sharing::unshare(&ctx, &path).await,
        Command::Remote(command) => jobs::remote(&ctx, command).await,
        Command::Scan { file } => jobs::scan(&ctx, &file).await,
        Command::Vouchers(command) => jobs::vouchers(&ctx, command).await,
        Command::Ftp(command) => jobs::ftp(&ctx, command).await,
        Command::Mount(args) => media::mount(&ctx, args).await,
        Command::Serve(command) => media::serve(&ctx, command).await,
        Command::Hash { .. } | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!()
        }
    }
}

pub(crate) use auth::NoKey;
pub(crate) use organise::BadName;
pub(crate) use organise::NotConfirmed as NotConfirmedMarker;
pub(crate) use sync::Usage;

/// Asks a yes/no question on the terminal; `false` when not on one.
pub(crate) fn confirm(question: &str) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return false;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}
