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
        if meta.len() == file.size {
            match file.checksum {
                Some(sum) if verify => {
                    let hash = cache
                        .whirlpool(file.dest)
                        .await
                        .map_err(|e| io(OP, &what, e))?;
                    if hash.eq_ignore_ascii_case(sum) {
                        decisions.push(DownloadDecision::Skip("identical"));
                        continue;
                    }
                }
                _ => {
                    decisions.push(DownloadDecision::Skip("same-size"));
                    continue;
                }
            }
        }
        decisions.push(match policy {
            Existing::Replace => DownloadDecision::Fetch(file.dest.to_owned()),
            Existing::Skip => DownloadDecision::Skip("exists"),
            Existing::Fail => DownloadDecision::Refuse(format!(
                "{what} exists with other content: say --existing keep-both, replace or skip"
            )),
            Existing::KeepBoth => {
                let free = free_local_name(file.dest, &taken).await;
                taken.insert(free.clone());
                DownloadDecision::Fetch(free)
            }
        });
    }
    Ok(decisions)
}

/// `NAME (2).EXT`, `NAME (3).EXT`…: the first that neither exists nor is planned.
async fn free_local_name(dest: &Path, taken: &HashSet<PathBuf>) -> PathBuf {
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
        if !taken.contains(&candidate)
            && tokio::fs::symlink_metadata(&candidate).await.is_err()
            && tokio::fs::symlink_metadata(part_path(&candidate))
                .await
                .is_err()
        {
            return candidate;
        }
    }
    unreachable!("some number is free")
}
