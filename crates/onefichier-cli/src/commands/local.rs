//! Commands that need no account: `hash`, `completions`, `man`.

use crate::cli::Cli;
use crate::output::Printer;
use anyhow::{Context, Result};
use clap::CommandFactory;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// Whirlpool of files, like `openssl dgst -whirlpool -r`; a folder's files are hashed in name
/// order, and what is not a regular file is listed on stderr with the reason.
pub(crate) async fn hash(files: &[PathBuf], printer: Printer) -> Result<()> {
    let walked = crate::local_tree::walk(files, true, false)?;
    let mut documents = Vec::new();
    for found in &walked.files {
        let file = &found.path;
        let digest = onefichier_client::hash_file(file)
            .await
            .with_context(|| format!("cannot read {}", file.display()))?;
        printer.line(format!("{digest} *{}", file.display()));
        documents.push(json!({"path": file, "whirlpool": digest}));
    }
    for (path, reason) in &walked.left_out {
        printer.note(format!(
            "not hashed: {} ({})",
            path.display(),
            reason.explain()
        ));
    }
    printer.document(&documents);
    Ok(())
}

// Both render into memory first: the generators panic or fail on a closed pipe, and standard
// output's failures are judged in one place (`output::stdout_outcome`).
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "1fichier", &mut script);
    crate::output::write_stdout(|out| out.write_all(&script));
    Ok(())
}

pub(crate) fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    crate::output::write_stdout(|out| out.write_all(&page));
    Ok(())
}
