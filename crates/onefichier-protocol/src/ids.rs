//! Identifiers: download links, folder ids, upload ids, and the domain table.

use std::fmt;

/// The domains a file's link may use, by the id that `upload.cgi`'s `domain` and
/// `user/info`'s `default_domain` carry (reference §1.10).
pub const DOMAINS: [&str; 11] = [
    "1fichier.com",
    "alterupload.com",
    "cjoint.net",
    "desfichiers.com",
    "dfichiers.com",
    "megadl.fr",
    "mesfichiers.org",
    "piecejointe.net",
    "pjointe.com",
    "tenvoi.com",
    "dl4free.com",
];

/// The domain of a domain id, if the id is in the table.
pub fn domain_name(id: i64) -> Option<&'static str> {
    usize::try_from(id)
        .ok()
        .and_then(|i| DOMAINS.get(i).copied())
}

/// The id of a domain name, if it is in the table (case-insensitive).
pub fn domain_id(name: &str) -> Option<i64> {
    DOMAINS
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .and_then(|i| i64::try_from(i).ok())
}

/// The length of the ids this implementation generates for new files.
pub const NEW_LINK_ID_LEN: usize = 20;

/// A download-link id: 5 to 20 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(String);

/// The error for a string that is not a valid link or link id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a 1fichier download link: {0:?}")]
pub struct LinkError(String);

impl LinkId {
    /// Checks that `id` has the service's shape.
    pub fn new(id: &str) -> Result<Self, LinkError> {
        if (5..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(id.to_owned()))
        } else {
            Err(LinkError(id.to_owned()))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Extracts the id from a link: `https://HOST/?ID` (extra `&…` parameters ignored), the legacy
    /// `https://ID.1fichier.com/`, or a bare id.
    pub fn from_link(link: &str) -> Result<Self, LinkError> {
        let error = || LinkError(link.to_owned());
        let trimmed = link.trim();
        let Some(rest) = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
        else {
            return Self::new(trimmed).map_err(|_| error());
        };
        let (host, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(query) = tail.strip_prefix('?') {
            let id = query.split(['&', '#']).next().unwrap_or_default();
            return Self::new(id).map_err(|_| error());
        }
        // Legacy form: the id is the first label of a 1fichier host.
        let host = host.split(':').next().unwrap_or_default();
        match host.split_once('.') {
            Some((label, domain)) if tail.is_empty() && domain_id(domain).is_some() => {
                Self::new(label).map_err(|_| error())
            }
            _ => Err(error()),
        }
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A folder id: `0` is the root; `-1` means "every file" in `file/ls.cgi` only.
pub type FolderId = i64;

/// The root folder's id.
pub const ROOT_FOLDER: FolderId = 0;

/// `file/ls.cgi`'s "every file in the account" folder id.
pub const ALL_FILES: FolderId = -1;

/// The length of upload ids (`upload/get_upload_server.cgi`'s `id`, `end.pl`'s `xid`).
pub const UPLOAD_ID_LEN: usize = 10;

/// Whether `id` has the shape of an upload id: exactly 10 ASCII letters and digits.
pub fn is_upload_id(id: &str) -> bool {
    id.len() == UPLOAD_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Why a file or folder name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] characters.
    #[error("the name is longer than 250 characters")]
    TooLong,
    /// The name holds one of `\ < > " ' $` or a backquote.
    #[error("the name contains a forbidden character ({0:?})")]
    ForbiddenChar(char),
    /// The name starts or ends with a space.
    #[error("the name starts or ends with a space")]
    OuterSpace,
    /// The name holds a control character (NUL included).
    #[error("the name contains a control character")]
    Control,
    /// The name holds `/`: names are one path component.
    #[error("the name contains a slash: a name is one component, not a path")]
    Slash,
    /// The name is `.` or `..`.
    #[error("the names . and .. are reserved")]
    Dot,
    /// The name holds a bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069),
    /// which makes a name display as another (`exe.pdf` shown for `fdp.exe`).
    #[error("the name contains a bidirectional control character (U+{0:04X})")]
    Bidi(u32),
}

/// Bidirectional embeddings, overrides and isolates: refused in names, since they make a name
/// display as another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The longest name accepted, in characters.
pub const MAX_NAME_LEN: usize = 250;

/// Characters the service refuses in names.
pub const FORBIDDEN_NAME_CHARS: [char; 7] = ['\\', '<', '>', '"', '\'', '$', '`'];

/// Checks a file or folder name against the service's rules (reference §1.10), plus what makes
/// a name unsafe as one path component anywhere it is written: `/`, `.`, `..`, bidirectional
/// controls. Every place the server takes a name applies this one rule.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::Dot);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_NAME_CHARS.contains(c)) {
        return Err(NameError::ForbiddenChar(c));
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    if name.contains('/') {
        return Err(NameError::Slash);
    }
    if let Some(c) = name.chars().find(|&c| is_bidi_control(c)) {
        return Err(NameError::Bidi(u32::from(c)));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(NameError::OuterSpace);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_forms() {
        let id = "2zk52quqlm0cbjr93ri5";
        for link in [
            "https://1fichier.com/?2zk52quqlm0cbjr93ri5",
            "https://alterupload.com/?2zk52quqlm0cbjr93ri5&af=1",
            "http://127.0.0.1:8080/?2zk52quqlm0cbjr93ri5",
            "https://2zk52quqlm0cbjr93ri5.1fichier.com/",
            "2zk52quqlm0cbjr93ri5",
        ] {
            assert_eq!(LinkId::from_link(link).unwrap().as_str(), id, "{link}");
        }
        for bad in [
            "https://1fichier.com/?abc",
            "https://1fichier.com/?aaaaaaaaaaaaaaaaaaaaa",
            "https://1fichier.com/dir/abcdef",
            "ftp://x",
            "abc-def",
        ] {
            assert!(LinkId::from_link(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domain_table() {
        assert_eq!(domain_name(0), Some("1fichier.com"));
        assert_eq!(domain_name(10), Some("dl4free.com"));
        assert_eq!(domain_name(11), None);
        assert_eq!(domain_name(-1), None);
        assert_eq!(domain_id("MegaDL.fr"), Some(5));
    }

    #[test]
    fn names() {
        assert!(check_name("holiday photos 2026.tar").is_ok());
        assert!(check_name("été ünïcödé").is_ok());
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name(" a"), Err(NameError::OuterSpace));
        assert_eq!(check_name("a "), Err(NameError::OuterSpace));
        assert_eq!(check_name("a$b"), Err(NameError::ForbiddenChar('$')));
        assert_eq!(check_name("a`b"), Err(NameError::ForbiddenChar('`')));
        assert_eq!(check_name(&"x".repeat(251)), Err(NameError::TooLong));
        assert!(check_name(&"é".repeat(250)).is_ok());
        for escaping in ["..", ".", "/", "a/b", "../../x", "/etc/passwd"] {
            assert!(check_name(escaping).is_err(), "{escaping:?}");
        }
        assert!(check_name("..hidden").is_ok());
        assert_eq!(check_name("a\0b"), Err(NameError::Control));
        assert_eq!(check_name("a\\b"), Err(NameError::ForbiddenChar('\\')));
        assert_eq!(
            check_name("fdp\u{202E}fdp.exe"),
            Err(NameError::Bidi(0x202E))
        );
        assert_eq!(check_name("x\u{2068}y"), Err(NameError::Bidi(0x2068)));
        assert!(is_upload_id("Ab3dE5gH9k"));
        assert!(!is_upload_id("example_invalid"));
    }
}
