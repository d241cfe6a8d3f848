//! What the server says about itself for packages and operators: its man pages, shell
//! completions, and every setting as an environment file. All three come from the clap
//! definitions, so none can miss an option.

use crate::args::Cli;
use anyhow::{Context, Result};
use clap::{Arg, CommandFactory};
use std::io::Write;
use std::path::Path;

/// The man page on `out`, or with `dir` one page per command written there.
pub(crate) fn man(dir: Option<&Path>, out: &mut impl Write) -> Result<()> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        }
        None => clap_mangen::Man::new(Cli::command()).render(out)?,
    }
    Ok(())
}

/// The completion script for `shell` on `out`.
pub(crate) fn completions(shell: clap_complete::Shell, out: &mut impl Write) {
    clap_complete::generate(shell, &mut Cli::command(), "1fichier-server", out);
}

const ENV_FILE_HEADER: &str = "\
# Settings of 1fichier-server, read by its service (systemd's EnvironmentFile=).
#
# Every option of `1fichier-server` and of `1fichier-server serve` may be given here as the
# variable named below; a value here wins over none on the command line, and the command
# line wins over this file. A line commented out shows the built-in default. Lists take
# commas. After a change: systemctl restart 1fichier-server.
#
# The packaged service sets ONEFICHIER_SERVER_DATA=/var/lib/1fichier-server itself
# (systemctl cat 1fichier-server); set it here only to move the data folder.
#
# This file may hold passwords (in ONEFICHIER_SERVER_META, ONEFICHIER_SERVER_SHARED_STATE,
# AWS_SECRET_ACCESS_KEY): keep it readable by root only, as the package installs it.
";

const ENV_FILE_OTHERS: &str = "\
# The S3 bucket of --blobs s3://BUCKET[/PREFIX]: its endpoint, region and credentials.
#AWS_ENDPOINT_URL=
#AWS_REGION=
#AWS_ACCESS_KEY_ID=
#AWS_SECRET_ACCESS_KEY=

# Which log lines are written (tracing's filter syntax).
#RUST_LOG=info,sqlx::postgres::notice=warn
";

/// Every setting with an environment variable, the global options' first, as an environment
/// file: each one's meaning as comments, then `#VARIABLE=default`.
pub(crate) fn env_file(out: &mut impl Write) -> Result<()> {
    let command = Cli::command();
    let serve = command
        .find_subcommand("serve")
        .context("the command line has no serve")?;
    out.write_all(ENV_FILE_HEADER.as_bytes())?;
    for (title, arguments) in [
        (
            "Where the state lives, and the logs",
            command.get_arguments(),
        ),
        ("serve", serve.get_arguments()),
    ] {
        writeln!(out, "\n# ==== {title} ====")?;
        for argument in arguments.filter(|argument| !argument.is_hide_set()) {
            if let Some(entry) = env_entry(argument) {
                writeln!(out, "\n{entry}")?;
            }
        }
    }
    writeln!(out, "\n# ==== Other variables ====\n")?;
    out.write_all(ENV_FILE_OTHERS.as_bytes())?;
    Ok(())
}

/// One setting's lines, or none for an option without a variable.
fn env_entry(argument: &Arg) -> Option<String> {
    let variable = argument.get_env()?.to_string_lossy().into_owned();
    let help = argument
        .get_long_help()
        .or(argument.get_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    let long = argument.get_long().unwrap_or(argument.get_id().as_str());
    // clap drops a help's closing full stop; here it ends a sentence before others.
    let stop = if help.ends_with(['.', ']']) { "" } else { "." };
    let mut text = format!("--{long}: {help}{stop}");
    let choices: Vec<String> = argument
        .get_possible_values()
        .iter()
        .filter(|value| !value.is_hide_set())
        .map(|value| value.get_name().to_owned())
        .collect();
    let takes_value = argument.get_action().takes_values();
    // A flag's "possible values" are true and false: said by its default.
    if takes_value && !choices.is_empty() {
        text.push_str(&format!(" One of: {}.", choices.join(", ")));
    }
    let default: Vec<String> = if takes_value {
        argument
            .get_default_values()
            .iter()
            .map(|value| value.to_string_lossy().into_owned())
            .collect()
    } else {
        vec!["false".to_owned()]
    };
    let mut lines = comment_lines(&text, 92);
    lines.push(format!("#{variable}={}", default.join(",")));
    Some(lines.join("\n"))
}

/// `text` as `# ` lines of at most `width` characters, broken between words.
fn comment_lines(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > width {
            lines.push(std::mem::replace(&mut line, String::from("#")));
        }
        line.push(' ');
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option of `serve` and every global one can be set from the environment file,
    /// under a variable of the server's own prefix, and appears in it once.
    #[test]
    fn the_environment_file_names_every_setting_once() {
        let mut file = Vec::new();
        env_file(&mut file).unwrap();
        let file = String::from_utf8(file).unwrap();
        let command = Cli::command();
        let serve = command.find_subcommand("serve").unwrap();
        let settings = command
            .get_arguments()
            .chain(serve.get_arguments())
            .filter(|argument| argument.get_long().is_some() && !argument.is_hide_set());
        let mut count = 0;
        for argument in settings {
            let name = argument.get_id();
            let variable = argument
                .get_env()
                .unwrap_or_else(|| panic!("--{name} has no environment variable"));
            let variable = variable.to_str().unwrap();
            assert!(
                variable.starts_with("ONEFICHIER_SERVER_") || variable == "ONEFICHIER_LOG_FORMAT",
                "{variable}"
            );
            let assignments = file
                .lines()
                .filter(|line| line.starts_with(&format!("#{variable}=")))
                .count();
            assert_eq!(assignments, 1, "{variable} in\n{file}");
            count += 1;
        }
        assert!(count > 30, "{count} settings");
        assert!(
            file.contains("\n#ONEFICHIER_SERVER_LISTEN=127.0.0.1:8080\n"),
            "{file}"
        );
        assert!(file.contains("One of: 1fichier, off.\n"), "{file}");
        assert!(file.contains("\n#ONEFICHIER_SERVER_DEV=false\n"), "{file}");
        assert!(file.lines().all(|line| line.len() <= 92), "{file}");
    }

    #[test]
    fn comments_break_between_words() {
        assert_eq!(
            comment_lines("one two three four", 10),
            ["# one two", "# three", "# four"]
        );
    }
}
