//! What the CLI prints: data on stdout (text or JSON), messages on stderr, one line per error
//! with the catalogue's hint, and stable exit codes per class of error.

use onefichier_client::ErrorKind;
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Exit codes, stable for scripts (documented in the README).
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: i32 = 0;
    /// Any other failure (bad input, local I/O, conflicts).
    pub(crate) const FAILURE: i32 = 1;
    /// Usage error (clap's code).
    pub(crate) const USAGE: i32 = 2;
    /// Authentication: no key, invalid key, address not allowed, not a customer.
    pub(crate) const AUTH: i32 = 3;
    /// Not found.
    pub(crate) const NOT_FOUND: i32 = 4;
    /// Not allowed: access list, password, locked owner, quota.
    pub(crate) const NOT_ALLOWED: i32 = 5;
    /// Rate limit or flood lock that outlasted the retries.
    pub(crate) const LIMIT: i32 = 6;
    /// File too large.
    pub(crate) const TOO_LARGE: i32 = 7;
    /// Network or server failure.
    pub(crate) const NETWORK: i32 = 8;
    /// Verification failed (size or Whirlpool mismatch).
    pub(crate) const VERIFICATION: i32 = 9;
    /// Interrupted (Ctrl-C); transfers can be resumed.
    pub(crate) const INTERRUPTED: i32 = 130;

    /// Every code with its meaning, for the man page.
    pub(crate) const ALL: &[(i32, &str)] = &[
        (OK, "Success."),
        (
            FAILURE,
            "Any other failure (bad input, local I/O, conflicts, some of several files).",
        ),
        (USAGE, "Usage error, or a name the service would refuse."),
        (
            AUTH,
            "Authentication: no key, invalid key, address not allowed, not a customer.",
        ),
        (NOT_FOUND, "Not found."),
        (
            NOT_ALLOWED,
            "Not allowed: access list, password, locked owner, quota.",
        ),
        (
            LIMIT,
            "Rate limit or flood lock that outlasted the retries or --max-wait.",
        ),
        (TOO_LARGE, "File too large."),
        (NETWORK, "Network or server failure."),
        (
            VERIFICATION,
            "Verification failed (size or Whirlpool mismatch).",
        ),
        (
            INTERRUPTED,
            "Interrupted (Ctrl-C); run the same command again to resume.",
        ),
    ];
}

/// The exit code of an SDK error.
pub(crate) fn exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidKey | ErrorKind::IpNotAllowed | ErrorKind::NotCustomer => exit::AUTH,
        ErrorKind::NotFound => exit::NOT_FOUND,
        ErrorKind::NotAllowed
        | ErrorKind::Password
        | ErrorKind::OwnerLocked
        | ErrorKind::QuotaExceeded
        | ErrorKind::Infected => exit::NOT_ALLOWED,
        ErrorKind::RateLimited | ErrorKind::Locked => exit::LIMIT,
        ErrorKind::TooLarge => exit::TOO_LARGE,
        ErrorKind::Transport
        | ErrorKind::Timeout
        | ErrorKind::Overloaded
        | ErrorKind::UnexpectedResponse
        | ErrorKind::Unsupported => exit::NETWORK,
        ErrorKind::Verification => exit::VERIFICATION,
        _ => exit::FAILURE,
    }
}

/// A time as people read it here: this machine's time zone, named (`2026-12-04 19:05:07 CET`).
/// The API's own dates are Paris time without a zone; every time the CLI prints says its zone.
pub(crate) fn local_time(at: jiff::Timestamp) -> String {
    at.to_zoned_datetime(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// An API date (Paris time) as [`local_time`]; as given when it is not one.
pub(crate) fn local_api_date(api_date: &str) -> String {
    onefichier_client::protocol::date::parse_unix(api_date)
        .ok()
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map_or_else(|| api_date.to_owned(), local_time)
}

/// `count` and a noun in English, plural when it should be: "1 file", "3 files", "0 folders".
pub(crate) fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// How data is printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    pub(crate) progress: bool,
}

impl Printer {
    pub(crate) fn new(json: bool, quiet: bool, no_progress: bool) -> Self {
        Self {
            json,
            quiet,
            progress: !json && !quiet && !no_progress && std::io::stderr().is_terminal(),
        }
    }

    /// Prints a line of text data (nothing with --json or --quiet).
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        if !self.json && !self.quiet {
            write_stdout(|out| writeln!(out, "{}", printable(text.as_ref())));
        }
    }

    /// Prints the command's JSON document (with --json).
    pub(crate) fn document<T: Serialize>(&self, value: &T) {
        if self.json {
            write_stdout(|out| {
                serde_json::to_writer_pretty(&mut *out, value)?;
                writeln!(out)
            });
        }
    }

    /// Prints one JSON line (streams such as transfers, with --json).
    pub(crate) fn json_line<T: Serialize>(&self, value: &T) {
        if self.json {
            write_stdout(|out| {
                serde_json::to_writer(&mut *out, value)?;
                writeln!(out)
            });
        }
    }

    /// A message for the user on stderr (nothing with --quiet).
    pub(crate) fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", printable(text.as_ref()));
        }
    }
}

/// Text as it may reach a terminal: names come from the server, and a name holding terminal
/// controls (an escape sequence that sets the clipboard, moves the cursor, rewrites the line)
/// must not act. Control characters other than newline and tab, and the bidirectional overrides
/// that reorder what is shown, are written as `\xNN` / `\u{NNNN}`, as `ls` escapes them.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !acts(c) {
            shown.push(c);
        } else if u32::from(c) < 0x100 {
            shown.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            shown.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// The first failure writing standard output, kept so that the command's exit says so.
static STDOUT_FAILURE: std::sync::Mutex<Option<std::io::Error>> = std::sync::Mutex::new(None);

/// Writes data to standard output; after a first failure (a closed pipe, a full disk) nothing
/// more is written, and [`stdout_outcome`] reports it.
pub(crate) fn write_stdout(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) {
    let mut failure = STDOUT_FAILURE.lock().expect("stdout failure lock");
    if failure.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(error) = write(&mut out).and_then(|()| out.flush()) {
        *failure = Some(error);
    }
}

/// How writing standard output went: a reader that went away (`1fichier man | head`) is not an
/// error; anything else (a full disk) is, since the data is incomplete.
pub(crate) fn stdout_outcome() -> Result<(), std::io::Error> {
    write_stdout(|_| Ok(()));
    match STDOUT_FAILURE.lock().expect("stdout failure lock").take() {
        Some(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error),
        _ => Ok(()),
    }
}

/// A warning on stderr.
pub(crate) fn warn(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "warning: {}", printable(text));
}

/// `1.5 MB`-style sizes (decimal units, as `ls -h --si`).
pub(crate) use onefichier_client::protocol::size::human as human_size;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_in_names_are_shown_not_obeyed() {
        assert_eq!(printable("plain name.txt"), "plain name.txt");
        // OSC 52 (write the clipboard), a carriage return, C1 CSI, a bidi override.
        assert_eq!(
            printable("a\u{1b}]52;c;aGk=\u{7}b\rc\u{9b}d\u{202e}e"),
            "a\\x1b]52;c;aGk=\\x07b\\x0dc\\x9bd\\u{202e}e"
        );
        assert_eq!(printable("two\nlines\tand a tab"), "two\nlines\tand a tab");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500_000), "1.5 MB");
        assert_eq!(human_size(2_000_000_000_000), "2.0 TB");
    }

    #[test]
    fn exit_codes_per_class() {
        assert_eq!(exit_code(ErrorKind::InvalidKey), exit::AUTH);
        assert_eq!(exit_code(ErrorKind::Locked), exit::LIMIT);
        assert_eq!(exit_code(ErrorKind::Verification), exit::VERIFICATION);
        assert_eq!(exit_code(ErrorKind::TooLarge), exit::TOO_LARGE);
    }
}
