//! Commands that need no account: `hash`, `completions`, `man`.

use crate::cli::Cli;
use crate::output::Printer;
use anyhow::{Context, Result};
use clap::CommandFactory;
use serde_json::json;
use std::path::PathBuf;

pub(crate) async fn hash(files: &[PathBuf], printer: Printer) -> Result<()> {
    let mut documents = Vec::new();
    for file in files {
        let digest = onefichier_client::hash_file(file)
            .await
            .with_context(|| format!("cannot read {}", file.display()))?;
        printer.line(format!("{digest} *{}", file.display()));
        documents.push(json!({"path": file, "whirlpool": digest}));
    }
    printer.document(&documents);
    Ok(())
}

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<()> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "1fichier",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub(crate) fn man() -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
