//! `1fichier-server`: serve the API, and manage accounts, keys and vouchers.
// This binary's interface is its standard output: the listening address, new keys, listings.
#![allow(clippy::print_stdout)]

mod args;
mod commands;
mod docs;
mod serve;
mod storage;

use anyhow::{Context, Result};
use args::{Cli, Command, LogFormat};
use clap::Parser;
use storage::{create_private_dir, holds_shared_state, lock_data_dir, open_meta};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // What the binary says about itself needs no data folder (and must not create one).
    match &cli.command {
        Command::Man { dir } => return docs::man(dir.as_deref(), &mut std::io::stdout().lock()),
        Command::Completions { shell } => {
            docs::completions(*shell, &mut std::io::stdout().lock());
            return Ok(());
        }
        Command::EnvFile => return docs::env_file(&mut std::io::stdout().lock()),
        _ => {}
    }
    init_logging(cli.log_format);
    create_private_dir(&cli.data)
        .with_context(|| format!("cannot prepare the data folder {}", cli.data.display()))?;
    let _serving = match &cli.command {
        // Metadata is copied from a still instance: no server may change it meanwhile (bytes
        // never change once written, so --to-blobs alone may run beside the server).
        Command::Serve(_) if holds_shared_state(cli.meta.as_deref(), cli.blobs.as_deref()) => {
            Some(lock_data_dir(&cli.data)?)
        }
        Command::Migrate {
            to_meta: Some(_), ..
        } => Some(lock_data_dir(&cli.data)?),
        _ => None,
    };
    let repo = open_meta(&cli.data, cli.meta.as_deref()).await?;
    if let Command::Serve(args) = cli.command {
        return serve::serve(repo, &cli.data, cli.blobs.as_deref(), *args).await;
    }
    let repo = repo.as_ref();
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Serve(_)
        | Command::Man { .. }
        | Command::Completions { .. }
        | Command::EnvFile => {
            unreachable!("served or printed above")
        }
        Command::Account(command) => commands::account(repo, command, out).await,
        Command::Key(command) => commands::key(repo, command, out).await,
        Command::Invite(command) => commands::invite(repo, command, out).await,
        Command::Voucher(command) => commands::voucher(repo, command, out).await,
        Command::TestFile(command) => commands::test_file(repo, command, out).await,
        Command::Migrate { to_meta, to_blobs } => {
            commands::migrate(
                repo,
                &cli.data,
                cli.blobs.as_deref(),
                (to_meta, to_blobs),
                out,
            )
            .await
        }
    }
}

/// Log lines on standard error, as `--log-format` says; `RUST_LOG` filters them.
fn init_logging(format: LogFormat) {
    // PostgreSQL's notices (such as "relation … already exists, skipping" at each start-up's
    // migration check) are not news for an operator.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        // Colour codes only for a person at a terminal: a log file stays plain text.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}
