//! Secrets typed or piped in, never taken from the command line where `ps` shows them: API keys,
//! FTP passwords, and file or share passwords given as `--password -`.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal};

/// Reads a secret: without echo from the terminal (`prompt` shown), or one line of standard
/// input when `from_stdin` is set or standard input is not a terminal.
pub(crate) fn read_secret(prompt: &str, from_stdin: bool) -> Result<String> {
    let secret = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read standard input")?;
        line.trim().to_owned()
    } else {
        rpassword::prompt_password(prompt)
            .context("cannot read from the terminal")?
            .trim()
            .to_owned()
    };
    if secret.is_empty() {
        bail!("nothing was entered");
    }
    Ok(secret)
}

/// `--password -` asks for the password (see [`read_secret`]); a password written on the command
/// line works but is visible to other users, which earns a warning.
pub(crate) fn resolve_password_arg(password: &mut Option<String>) -> Result<()> {
    match password.as_deref() {
        Some("-") => *password = Some(read_secret("Password: ", false)?),
        // Empty removes a password (chattr): nothing secret to warn about.
        Some("") | None => {}
        Some(_) => crate::output::warn(
            "a password on the command line is visible to other users (ps); pass --password - to type or pipe it",
        ),
    }
    Ok(())
}
