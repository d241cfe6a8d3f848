//! `1fichier`: every operation of a 1fichier account from a terminal or a cron job.

mod cli;
mod commands;
mod credentials;
mod env_vars;
mod local_tree;
mod output;
mod private_file;
mod progress;
mod remote;
mod secret_input;
mod settings;

use clap::Parser;
use output::{Printer, exit};
use std::io::Write;

/// Prints one line saying what failed and the catalogue's hint; the cause chain with -v.
/// With `--json`, the line is a JSON `error` event, as waits are: `message`, `hint`, `causes`
/// and the `exit_code` it stands for.
pub(crate) fn report_error(error: &anyhow::Error, verbose: bool, json: bool) {
    let mut err = std::io::stderr().lock();
    let hint = error
        .downcast_ref::<onefichier_client::Error>()
        .and_then(onefichier_client::Error::hint);
    if json {
        let causes: Vec<String> = error.chain().skip(1).map(|c| c.to_string()).collect();
        let event = serde_json::json!({
            "event": "error", "message": error.to_string(), "hint": hint,
            "causes": causes, "exit_code": exit_code(error),
        });
        let _ = writeln!(err, "{event}");
        return;
    }
    match hint {
        Some(hint) => {
            let _ = writeln!(
                err,
                "error: {}: {hint}",
                output::printable(&error.to_string())
            );
        }
        None => {
            let _ = writeln!(err, "error: {}", output::printable(&error.to_string()));
        }
    }
    if verbose {
        for cause in error.chain().skip(1) {
            let _ = writeln!(
                err,
                "  caused by: {}",
                output::printable(&cause.to_string())
            );
        }
    }
}

/// Several files of one command failed; each was reported as it failed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} files failed (see above)")]
pub(crate) struct TransfersFailed {
    pub(crate) failed: usize,
    pub(crate) total: usize,
    /// The exit code of the first failure's class.
    pub(crate) exit_code: i32,
}

pub(crate) fn exit_code(error: &anyhow::Error) -> i32 {
    if let Some(failed) = error.downcast_ref::<TransfersFailed>() {
        return failed.exit_code;
    }
    if error.downcast_ref::<commands::NoKey>().is_some() {
        return exit::AUTH;
    }
    if let Some(e) = error.downcast_ref::<onefichier_client::Error>() {
        return output::exit_code(e.kind());
    }
    if error.downcast_ref::<remote::NotFound>().is_some() {
        return exit::NOT_FOUND;
    }
    if error
        .downcast_ref::<commands::NotConfirmedMarker>()
        .is_some()
        || error.downcast_ref::<commands::BadName>().is_some()
        || error.downcast_ref::<commands::Usage>().is_some()
    {
        return exit::USAGE;
    }
    exit::FAILURE
}

/// What Ctrl-C leaves behind, for the command interrupted.
fn interruption_note(command: &cli::Command) -> &'static str {
    match command {
        cli::Command::Download(_) | cli::Command::DlDir(_) => {
            ": partial downloads are kept as NAME.part; run the same command again to resume"
        }
        cli::Command::Upload(_) => {
            ": files reported as uploaded are stored and verified; an upload cut short stores \
             nothing (the service keeps no partial file); run the same command again: what is \
             there already is skipped"
        }
        cli::Command::Sync(_) => {
            ": what was reported done is done; run the same command again to finish (it plans \
             only what is left)"
        }
        _ => "",
    }
}

fn main() {
    let mut cli = cli::Cli::parse();
    if let Some(password) = cli.command.password_mut()
        && let Err(error) = secret_input::resolve_password_arg(password)
    {
        report_error(&error, false, cli.global.json);
        std::process::exit(exit::USAGE);
    }
    let verbose = cli.global.verbose;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_ansi(std::env::var_os(env_vars::NO_COLOR).is_none())
        .with_writer(std::io::stderr)
        .init();
    let printer = Printer::new(cli.global.json, cli.global.quiet, cli.global.no_progress);
    let interrupted = interruption_note(&cli.command);
    let stops_by_itself = cli.command.stops_on_signals();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let code = runtime.block_on(async {
        let interrupt = async {
            if stops_by_itself {
                std::future::pending::<()>().await;
            }
            let _ = tokio::signal::ctrl_c().await;
        };
        tokio::select! {
            result = commands::run(cli, printer) => match result {
                Ok(()) => exit::OK,
                Err(error) => {
                    report_error(&error, verbose > 0, printer.json);
                    exit_code(&error)
                }
            },
            () = interrupt => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "\ninterrupted{interrupted}");
                exit::INTERRUPTED
            }
        }
    });
    // Transfers in flight are abandoned as they are: .part files stay for the next run.
    runtime.shutdown_background();
    let code = match output::stdout_outcome() {
        Err(error) if code == exit::OK => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "error: cannot write to standard output: {error}"
            );
            exit::FAILURE
        }
        _ => code,
    };
    std::process::exit(code);
}
