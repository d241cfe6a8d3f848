//! What a transfer does when its destination already holds a file of the same name. Identical
//! files (same size and Whirlpool; local hashes through the [`HashCache`]) are always left
//! alone; for other content the caller's [`Existing`] policy decides, and the default,
//! keep-both, never destroys anything. Decided before any transfer starts, so that a skipped
//! file costs no upload, token or listing.

use crate::error::{Result, io};
use crate::hash_cache::HashCache;
use crate::transfer::download::part_path;
use onefichier_protocol::file::FileItem;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const OP: &str = "existing";

/// What to do about a destination file of the same name with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Keep both: upload alongside it (the service allows equal names); download to
    /// `NAME (2).EXT`.
    #[default]
    KeepBoth,
    /// Upload, verify, then remove the older remote file(s) of that name; download, verify,
    /// then put the new file in place of the local one.
    Replace,
    /// Leave it and skip this file.
    Skip,
    /// Refuse this file.
    Fail,
}

/// What an upload does with one local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadDecision {
    /// Send it; then remove `replaces` (links of older files of its name).
    Send {
        /// Links to remove once the new file is verified.
        replaces: Vec<String>,
    },
    /// Leave it: `identical` (its bytes are there) or `exists` ([`Existing::Skip`]).
    Skip {
        /// The remote file's link.
        link: String,
        /// `identical` or `exists`.
        reason: &'static str,
    },
    /// Refused ([`Existing::Fail`]): the message says why.
    Refuse(String),
}

/// Decides for `local`, bound for a folder (`folder`, for messages) holding `remote`.
/// `force` sends even identical files.
pub async fn decide_upload(
    local: &Path,
    folder: &str,
    remote: &[FileItem],
    force: bool,
    policy: Existing,
    cache: &HashCache,
) -> Result<UploadDecision> {
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let what = local.display().to_string();
    let same_name: Vec<&FileItem> = remote.iter().filter(|i| i.filename == name).collect();
    let Some(first) = same_name.first() else {
        return Ok(UploadDecision::Send { replaces: vec![] });
    };
    if !force {
        let size = std::fs::metadata(local)
            .map_err(|e| io(OP, &what, e))?
            .len();
        if same_name.iter().any(|i| i.size == size) {
            let hash = cache.whirlpool(local).await.map_err(|e| io(OP, &what, e))?;
            if let Some(same) = same_name
                .iter()
                .find(|i| i.size == size && i.checksum.eq_ignore_ascii_case(&hash))
            {
                return Ok(UploadDecision::Skip {
                    link: same.url.clone(),
                    reason: "identical",
                });
            }
        }
    }
    Ok(match policy {
        Existing::KeepBoth => UploadDecision::Send { replaces: vec![] },
        Existing::Replace => UploadDecision::Send {
            replaces: same_name.iter().map(|i| i.url.clone()).collect(),
        },
        Existing::Skip => UploadDecision::Skip {
            link: first.url.clone(),
            reason: "exists",
        },
        Existing::Fail => UploadDecision::Refuse(format!(
            "{folder} already holds {name} ({}): say --existing keep-both, replace or skip",
            first.url
        )),
    })
}

/// What a download does with one remote file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadDecision {
    /// Fetch it to this path (keep-both may have chosen a free name).
    Fetch(PathBuf),
    /// Leave it: `identical` (the same bytes are there), `same-size` (no checksum to compare,
    /// and the sizes agree), or `exists` ([`Existing::Skip`]).
    Skip(&'static str),
    /// Refused: the message says why.
    Refuse(String),
}

/// A remote file bound for a local path.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    /// Where it goes.
    pub dest: &'a Path,
    /// Its size.
    pub size: u64,
    /// Its Whirlpool, when known.
    pub checksum: Option<&'a str>,
}

/// Decides, file by file and in order, what downloads do to the local side; `verify` compares
/// Whirlpools (else equal sizes count as the same file).
pub async fn decide_downloads(
    incoming: &[Incoming<'_>],
    verify: bool,
    policy: Existing,
    cache: &HashCache,
) -> Result<Vec<DownloadDecision>> {
    let mut taken: HashSet<PathBuf> = incoming.iter().map(|f| f.dest.to_owned()).collect();
    let mut decisions = Vec::with_capacity(incoming.len());
    for file in incoming {
        let Ok(meta) = tokio::fs::metadata(file.dest).await else {
            decisions.push(DownloadDecision::Fetch(file.dest.to_owned()));
            continue;
        };
        let what = file.dest.display().to_string();
        if meta.is_dir() {
            decisions.push(DownloadDecision::Refuse(format!(
                "{what} is a local folder: not replaced by a file"
            )));
            continue;
        }
        if let Some(reason) = already_there(file, file.dest, meta.len(), verify, cache).await? {
            decisions.push(DownloadDecision::Skip(reason));
            continue;
        }
        decisions.push(match policy {
            Existing::Replace => DownloadDecision::Fetch(file.dest.to_owned()),
            Existing::Skip => DownloadDecision::Skip("exists"),
            Existing::Fail => DownloadDecision::Refuse(format!(
                "{what} exists with other content: say --existing keep-both, replace or skip"
            )),
            Existing::KeepBoth => match keep_both_name(file, &taken, verify, cache).await? {
                // A copy kept earlier under one of the names keep-both gives holds these bytes.
                KeptName::There(reason) => DownloadDecision::Skip(reason),
                KeptName::Free(free) => {
                    taken.insert(free.clone());
                    DownloadDecision::Fetch(free)
                }
            },
        });
    }
    Ok(decisions)
}

/// Whether the local file at `path` (of `len` bytes) is `file` already: `identical` (same
/// Whirlpool), `same-size` (nothing to compare, and the sizes agree), else `None`.
async fn already_there(
    file: &Incoming<'_>,
    path: &Path,
    len: u64,
    verify: bool,
    cache: &HashCache,
) -> Result<Option<&'static str>> {
    if len != file.size {
        return Ok(None);
    }
    match file.checksum {
        Some(sum) if verify => {
            let hash = cache
                .whirlpool(path)
                .await
                .map_err(|e| io(OP, &path.display().to_string(), e))?;
            Ok(hash.eq_ignore_ascii_case(sum).then_some("identical"))
        }
        _ => Ok(Some("same-size")),
    }
}

/// Where keep-both puts a file whose name is taken.
enum KeptName {
    /// One of its names holds the file already.
    There(&'static str),
    /// The first free name.
    Free(PathBuf),
}

/// Walks `NAME (2).EXT`, `NAME (3).EXT`… in order: the first that holds the file already, or
/// else the first that neither exists nor is planned.
async fn keep_both_name(
    file: &Incoming<'_>,
    taken: &HashSet<PathBuf>,
    verify: bool,
    cache: &HashCache,
) -> Result<KeptName> {
    let dest = file.dest;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name.as_str(), ""),
    };
    for n in 2.. {
        let candidate = dest.with_file_name(format!("{stem} ({n}){extension}"));
        if taken.contains(&candidate) {
            continue;
        }
        match tokio::fs::symlink_metadata(&candidate).await {
            Ok(meta) if meta.is_file() => {
                if let Some(reason) =
                    already_there(file, &candidate, meta.len(), verify, cache).await?
                {
                    return Ok(KeptName::There(reason));
                }
            }
            Ok(_) => {}
            // A partial download of it is resumed by a run that plans it: not free either.
            Err(_)
                if tokio::fs::symlink_metadata(part_path(&candidate))
                    .await
                    .is_err() =>
            {
                return Ok(KeptName::Free(candidate));
            }
            Err(_) => {}
        }
    }
    unreachable!("some number is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use onefichier_protocol::checksum::Whirlpool;

    #[tokio::test]
    async fn keep_both_finds_a_copy_kept_earlier_under_a_numbered_name() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("notes.txt");
        std::fs::write(&dest, b"first version").unwrap();
        std::fs::write(dir.path().join("notes (2).txt"), b"second version").unwrap();
        let cache = HashCache::inactive();
        let decide = |bytes: &'static [u8]| {
            let checksum = Whirlpool::hex_digest(bytes);
            let dest = dest.clone();
            let cache = cache.clone();
            async move {
                let incoming = [Incoming {
                    dest: &dest,
                    size: bytes.len() as u64,
                    checksum: Some(&checksum),
                }];
                decide_downloads(&incoming, true, Existing::KeepBoth, &cache)
                    .await
                    .unwrap()
                    .remove(0)
            }
        };
        assert_eq!(
            decide(b"second version").await,
            DownloadDecision::Skip("identical")
        );
        assert_eq!(
            decide(b"first version").await,
            DownloadDecision::Skip("identical")
        );
        assert_eq!(
            decide(b"third version!").await,
            DownloadDecision::Fetch(dir.path().join("notes (3).txt"))
        );
    }
}
