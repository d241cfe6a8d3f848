//! Remote names to local paths. Whatever a server returns is untrusted: a share owner, or anyone
//! who uploads into an account's `Incoming` folder, chooses file and folder names. A remote name
//! becomes exactly one safe local path component, files of one name in one folder get distinct
//! local names, and every path is checked to lie inside the destination.

use onefichier_protocol::folder::{LsResponse, SubFolder};
use std::collections::HashSet;
use std::path::{Component, Path};

/// Whose file-name rules a local name must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Platform {
    /// Linux, macOS and other Unix: only `/` and NUL are impossible; control and bidirectional
    /// characters are replaced too, as they hide what a name is.
    Unix,
    /// Windows: also `< > : " | ? *`, trailing dots and spaces, and device names (`CON`, `NUL`,
    /// `COM1`…) with any extension.
    Windows,
}

impl Platform {
    /// The platform this program runs on.
    pub const fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else {
            Self::Unix
        }
    }
}

/// Longest local name in bytes (NAME_MAX of common file systems).
const MAX_COMPONENT_BYTES: usize = 255;

const WINDOWS_DEVICES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// `remote` as one safe path component on this platform; see [`safe_component_for`].
pub fn safe_component(remote: &str) -> String {
    safe_component_for(remote, Platform::current())
}

/// `remote` as one safe path component for `platform`: separators, NUL, control and
/// bidirectional characters become `_`; `.`, `..` and the empty name become `_`, `__` and `_`;
/// names are cut to 255 bytes keeping their extension. A name that needs none of this is
/// returned unchanged.
pub fn safe_component_for(remote: &str, platform: Platform) -> String {
    let windows = platform == Platform::Windows;
    let mut name: String = remote
        .chars()
        .map(|c| {
            let unsafe_anywhere = c == '/'
                || c == '\\'
                || c.is_control()
                || onefichier_protocol::ids::is_bidi_control(c);
            let unsafe_on_windows = windows && matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*');
            if unsafe_anywhere || unsafe_on_windows {
                '_'
            } else {
                c
            }
        })
        .collect();
    if windows {
        // Windows drops trailing dots and spaces, so `a.` would open `a`.
        let kept = name.trim_end_matches(['.', ' ']).len();
        if kept < name.len() {
            let cut = name.len() - kept;
            name.truncate(kept);
            name.push_str(&"_".repeat(cut));
        }
        let stem = name.split('.').next().unwrap_or_default().trim_end();
        if WINDOWS_DEVICES.iter().any(|d| d.eq_ignore_ascii_case(stem)) {
            name.insert(0, '_');
        }
    }
    match name.as_str() {
        "" | "." => "_".to_owned(),
        ".." => "__".to_owned(),
        _ => truncate_keeping_extension(name, MAX_COMPONENT_BYTES),
    }
}

fn truncate_keeping_extension(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => &name[dot..],
        _ => "",
    };
    let mut end = max - extension.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{extension}", &name[..end])
}

/// Whether `path` lies inside `root`: below it, reached only through plain names (no `..`, no
/// root or prefix), lexically, whatever the disk holds.
pub fn is_inside(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rest| {
        rest.components().next().is_some()
            && rest.components().all(|c| matches!(c, Component::Normal(_)))
    })
}

/// Local names for the entries of one remote folder, in order: each name made safe, and a name
/// already taken (a service folder may hold several files of one name, or two names may become
/// the same once made safe) gets ` (2)`, ` (3)`… before its extension. Give the entries in a
/// deterministic order (e.g. by date, then id) so that a second run picks the same names.
#[derive(Debug, Default)]
pub struct DistinctNames {
    taken: HashSet<String>,
}

impl DistinctNames {
    /// No name taken yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The local name for the next entry named `remote`.
    pub fn next(&mut self, remote: &str) -> String {
        let safe = safe_component(remote);
        if self.taken.insert(fold(&safe)) {
            return safe;
        }
        let (stem, extension) = match safe.rfind('.') {
            Some(dot) if dot > 0 => safe.split_at(dot),
            _ => (safe.as_str(), ""),
        };
        (2..)
            .map(|n| format!("{stem} ({n}){extension}"))
            .find(|candidate| self.taken.insert(fold(candidate)))
            .expect("some number is free")
    }
}

/// A folder's sub-folders and files, each with its local name ([`named_entries`]).
pub type NamedEntries<'a> = (
    Vec<(String, &'a SubFolder)>,
    Vec<(String, crate::transfer::split::Listed<'a>)>,
);

/// A remote folder's entries under the local names every command gives them (`download`, a
/// mount, the media servers): sub-folders first, by name then id, then the files by name, date
/// and link, a file stored in parts as one file ([`crate::transfer::split::gather`]), each name
/// made distinct by [`DistinctNames`]. The order is fixed so that a name never moves between runs.
pub fn named_entries(listing: &LsResponse) -> NamedEntries<'_> {
    let mut names = DistinctNames::new();
    let mut folders: Vec<&SubFolder> = listing.sub_folders.iter().collect();
    folders.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let folders = folders
        .into_iter()
        .map(|folder| (names.next(&folder.name), folder))
        .collect();
    let mut items: Vec<_> = listing.items.iter().flatten().collect();
    items.sort_by(|a, b| (&a.filename, &a.date, &a.url).cmp(&(&b.filename, &b.date, &b.url)));
    let files = crate::transfer::split::gather(items)
        .into_iter()
        .map(|listed| (names.next(&listed.name), listed))
        .collect();
    (folders, files)
}

/// Names compared as the local file system compares them: without case on Windows and macOS.
fn fold(name: &str) -> String {
    if cfg!(any(windows, target_os = "macos")) {
        name.to_lowercase()
    } else {
        name.to_owned()
    }
}

/// Why a path was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    /// An empty file: the service refuses them.
    Empty,
    /// A symbolic link, not followed (`--follow-symlinks` follows them).
    Symlink,
    /// A link that leads nowhere, or back into a folder already walked.
    BrokenOrLoop,
    /// A fifo, socket or device.
    Special,
}

impl LeftOut {
    /// The reason as a stable word, for `--json`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Symlink => "symlink",
            Self::BrokenOrLoop => "broken-or-loop",
            Self::Special => "special",
        }
    }

    /// The reason for people.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Empty => "empty: the service refuses empty files",
            Self::Symlink => "symbolic link: say --follow-symlinks to follow links",
            Self::BrokenOrLoop => "link to nothing, or back into a folder already walked",
            Self::Special => "not a regular file (fifo, socket or device)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_component() {
        for (remote, unix) in [
            ("../x", ".._x"),
            ("/etc/x", "_etc_x"),
            ("a/b", "a_b"),
            ("..", "__"),
            (".", "_"),
            ("", "_"),
            ("a\0b", "a_b"),
            ("a\\b", "a_b"),
            ("exe\u{202E}fdp.pdf", "exe_fdp.pdf"),
            ("con", "con"),
            ("trailing. ", "trailing. "),
            ("photo.jpg", "photo.jpg"),
            ("été 2026", "été 2026"),
        ] {
            let local = safe_component_for(remote, Platform::Unix);
            assert_eq!(local, unix, "{remote:?}");
            assert_eq!(Path::new(&local).components().count(), 1);
            assert!(matches!(
                Path::new(&local).components().next(),
                Some(Component::Normal(_))
            ));
        }
        for (remote, windows) in [
            ("con", "_con"),
            ("CON.txt", "_CON.txt"),
            ("com1 .tar.gz", "_com1 .tar.gz"),
            ("trailing. ", "trailing__"),
            ("...", "___"),
            ("a:b?.txt", "a_b_.txt"),
            ("console", "console"),
        ] {
            assert_eq!(safe_component_for(remote, Platform::Windows), windows);
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.tar.gz", "é".repeat(200));
        let local = safe_component_for(&long, Platform::Unix);
        assert!(local.len() <= 255);
        assert!(local.ends_with(".gz"));
    }

    #[test]
    fn inside_is_lexical() {
        let root = Path::new("/dest");
        assert!(is_inside(root, Path::new("/dest/a/b")));
        assert!(!is_inside(root, Path::new("/dest")));
        assert!(!is_inside(root, Path::new("/dest/../etc")));
        assert!(!is_inside(root, Path::new("/dest/a/../../etc")));
        assert!(!is_inside(root, Path::new("/etc/x")));
        assert!(is_inside(Path::new("dest"), Path::new("dest/./x")));
    }

    #[test]
    fn same_names_get_numbers() {
        let mut names = DistinctNames::new();
        assert_eq!(names.next("disk.img"), "disk.img");
        assert_eq!(names.next("disk.img"), "disk (2).img");
        assert_eq!(names.next("disk.img"), "disk (3).img");
        assert_eq!(names.next("a/b"), "a_b");
        assert_eq!(names.next("a_b"), "a_b (2)");
        assert_eq!(names.next(".."), "__");
        assert_eq!(names.next(".hidden"), ".hidden");
        assert_eq!(names.next(".hidden"), ".hidden (2)");
    }
}
