//! Website endpoints clients rely on: public folder listings and the bulk link check.

use crate::lenient::{Flag, de_string, de_u64};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One file of `GET /dir/ID?json=1` (a top-level JSON array of these).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirEntry {
    /// File name.
    #[serde(default, deserialize_with = "de_string")]
    pub filename: String,
    /// Download link.
    #[serde(default, deserialize_with = "de_string")]
    pub link: String,
    /// Size in bytes.
    #[serde(default, deserialize_with = "de_u64")]
    pub size: u64,
    /// Password protected.
    #[serde(default)]
    pub password: Flag,
    /// Access restricted.
    #[serde(default)]
    pub acl: Flag,
}

/// The most links one `check_links.pl` request may carry.
pub const MAX_CHECK_LINKS: usize = 100;

/// One answer line of `POST /check_links.pl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// Online: `url;filename;size`.
    Found {
        /// File name.
        filename: String,
        /// Size in bytes.
        size: u64,
    },
    /// Deleted: `url;;;NOT FOUND`.
    NotFound,
    /// Never existed: `url;;;BAD LINK`.
    BadLink,
    /// Online but access-controlled: `url;;;PRIVATE`.
    Private,
}

/// A link and its status, as one line of the check answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCheck {
    /// The link as sent.
    pub url: String,
    /// Its status.
    pub status: LinkStatus,
}

impl fmt::Display for LinkCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            LinkStatus::Found { filename, size } => write!(f, "{};{};{}", self.url, filename, size),
            LinkStatus::NotFound => write!(f, "{};;;NOT FOUND", self.url),
            LinkStatus::BadLink => write!(f, "{};;;BAD LINK", self.url),
            LinkStatus::Private => write!(f, "{};;;PRIVATE", self.url),
        }
    }
}

impl LinkCheck {
    /// Parses one answer line; `None` for a line of another shape.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim_end_matches(['\r', '\n']);
        let (url, rest) = line.split_once(';')?;
        let status = match rest {
            ";;NOT FOUND" => LinkStatus::NotFound,
            ";;BAD LINK" => LinkStatus::BadLink,
            ";;PRIVATE" => LinkStatus::Private,
            _ => {
                // The file name may itself contain ';', so the size is the last field.
                let (filename, size) = rest.rsplit_once(';')?;
                LinkStatus::Found {
                    filename: filename.to_owned(),
                    size: size.trim().parse().ok()?,
                }
            }
        };
        Some(Self {
            url: url.to_owned(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_lines_round_trip() {
        for line in [
            "https://1fichier.com/?abcde12345;a;b.txt;12",
            "https://1fichier.com/?abcde12345;;;NOT FOUND",
            "https://1fichier.com/?abcde12345;;;BAD LINK",
            "https://1fichier.com/?abcde12345;;;PRIVATE",
        ] {
            assert_eq!(LinkCheck::parse(line).unwrap().to_string(), line);
        }
        assert_eq!(LinkCheck::parse("garbage"), None);
    }
}
