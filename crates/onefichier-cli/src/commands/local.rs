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

/// The man page. One page lists every command in place (no reference to pages that do not
/// exist), then the environment and the exit codes; `--dir` writes it as 1fichier.1 with one
/// page per command beside it (what the Debian package installs).
pub(crate) fn man(dir: Option<&std::path::Path>, printer: Printer) -> Result<()> {
    let page = main_page(dir.is_some())?;
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .and_then(|()| std::fs::write(dir.join("1fichier.1"), &page))
            .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        printer.note(format!("man pages written to {}", dir.display()));
        return Ok(());
    }
    crate::output::write_stdout(|out| out.write_all(&page));
    Ok(())
}

/// 1fichier(1): the synopsis and global options, every command with its purpose, the
/// environment and the exit codes. `with_pages`: each command's own page is written beside it.
fn main_page(with_pages: bool) -> Result<Vec<u8>> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let mut names = vec![sub.get_name().to_owned()];
        names.extend(
            sub.get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| format!("{} {}", sub.get_name(), c.get_name())),
        );
        page.extend_from_slice(
            format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff(&names.join(", ")),
                roff(&about)
            )
            .as_bytes(),
        );
    }
    page.extend_from_slice(if with_pages {
        b".PP\nEach command's options: \\fB1fichier COMMAND --help\\fR, or its own page, \\fB1fichier-COMMAND\\fR(1).\n"
    } else {
        b".PP\nEach command's options: \\fB1fichier COMMAND --help\\fR, or the pages of \\fB1fichier man --dir DIR\\fR.\n"
    });
    page.extend_from_slice(b".SH ENVIRONMENT\n");
    for (name, meaning) in crate::env_vars::ALL {
        page.extend_from_slice(format!(".TP\n\\fB{name}\\fR\n{}\n", roff(meaning)).as_bytes());
    }
    page.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::output::exit::ALL {
        page.extend_from_slice(format!(".TP\n\\fB{code}\\fR\n{}\n", roff(meaning)).as_bytes());
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// Text safe in a roff paragraph: backslashes doubled, a leading `.` or `'` escaped.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}
