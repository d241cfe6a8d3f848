//! Files over the per-file limit (300 GB on the live service; a self-hosted server states its
//! own in its 413 answer): stored as parts below the limit, `NAME.1fsplit.001`, `.002`…, plus a
//! small manifest `NAME.1fsplit` (JSON: the parts' names, sizes and Whirlpools, the whole
//! file's size and Whirlpool). Parts are streamed from the source file, with no temporary copy;
//! each is a verified upload of its own, so an interrupted upload resumes with the first part
//! the folder lacks. A download fetches the parts in order, appends each to `NAME.part` (where
//! it resumes too) and checks the whole Whirlpool before the file takes its name.

use super::upload::Slice;
use crate::Client;
use crate::error::{Error, ErrorKind, Result, io};
use crate::progress::Reporter;
use crate::transfer::download::{DownloadOptions, Downloaded, Expected, part_path};
use crate::transfer::hash_file;
use crate::transfer::upload::{UploadOptions, Uploaded};
use onefichier_protocol::file::FileItem;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const OP: &str = "split";
/// What marks a manifest (`NAME.1fsplit`) and, followed by `.NNN`, its parts.
pub const MARK: &str = ".1fsplit";
const FORMAT: &str = "onefichier-split/1";

/// The manifest of a split file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `onefichier-split/1`.
    pub format: String,
    /// The whole file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its Whirlpool.
    pub whirlpool: String,
    /// The parts, in order.
    pub parts: Vec<Part>,
}

/// One part of a split file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Its remote name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// Its Whirlpool.
    pub whirlpool: String,
}

/// What a remote name is in a split set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The manifest of the file named so.
    Manifest(String),
    /// A part (1-based) of the file named so.
    Part(String, usize),
}

/// Whether a remote name belongs to a split set, and how.
pub fn role(remote_name: &str) -> Option<Role> {
    if let Some(name) = remote_name.strip_suffix(MARK) {
        return (!name.is_empty()).then(|| Role::Manifest(name.to_owned()));
    }
    let (base, number) = remote_name.rsplit_once('.')?;
    let name = base.strip_suffix(MARK)?;
    let index = (number.len() >= 3 && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| number.parse().ok())??;
    (!name.is_empty()).then(|| Role::Part(name.to_owned(), index))
}

/// One file of a folder as its owner knows it: a plain file, or a file stored in parts.
#[derive(Debug, Clone)]
pub struct Listed<'a> {
    /// The file's name (for a set, the whole file's).
    pub name: String,
    /// The file, or the manifest of a file stored in parts.
    pub item: &'a FileItem,
    /// The parts of a file stored in parts, first to last.
    pub parts: Option<Vec<&'a FileItem>>,
}

impl<'a> Listed<'a> {
    /// A file taken as it is listed.
    pub fn alone(item: &'a FileItem) -> Self {
        Self {
            name: item.filename.clone(),
            item,
            parts: None,
        }
    }

    /// Its size: for a set, the parts' total.
    pub fn size(&self) -> u64 {
        self.parts
            .as_ref()
            .map_or(self.item.size, |parts| parts.iter().map(|p| p.size).sum())
    }

    /// Its Whirlpool, when the listing gives it (a set's is inside its manifest).
    pub fn whirlpool(&self) -> Option<&'a str> {
        let item = self.item;
        Some(item.checksum.as_str()).filter(|c| self.parts.is_none() && !c.is_empty())
    }
}

/// A folder's files, one entry per file, in the order given: a manifest stands for its set
/// and the parts are not listed apart; parts without a manifest (an unfinished upload, which
/// the next upload resumes) are left out, and so is a synced folder's times file
/// ([`crate::sync::times::TIMES_FILE`]), the sync's bookkeeping rather than the owner's file.
pub fn gather<'a>(items: impl IntoIterator<Item = &'a FileItem>) -> Vec<Listed<'a>> {
    let items: Vec<&FileItem> = items
        .into_iter()
        .filter(|item| item.filename != crate::sync::times::TIMES_FILE)
        .collect();
    let mut parts_of: std::collections::HashMap<String, Vec<(usize, &FileItem)>> =
        std::collections::HashMap::new();
    for item in &items {
        if let Some(Role::Part(name, index)) = role(&item.filename) {
            parts_of.entry(name).or_default().push((index, item));
        }
    }
    items
        .into_iter()
        .filter_map(|item| match role(&item.filename) {
            Some(Role::Part(..)) => None,
            Some(Role::Manifest(name)) => Some(Listed {
                parts: Some(in_order(parts_of.remove(&name).unwrap_or_default())),
                name,
                item,
            }),
            None => Some(Listed::alone(item)),
        })
        .collect()
}

/// Parts by their number, first to last.
fn in_order(mut parts: Vec<(usize, &FileItem)>) -> Vec<&FileItem> {
    parts.sort_by_key(|(index, _)| *index);
    parts.into_iter().map(|(_, part)| part).collect()
}

/// The remote name of the part `index` (1-based) of the file `name`.
pub fn part_name(name: &str, index: usize) -> String {
    format!("{name}{MARK}.{index:03}")
}

/// Where the part `index` (0-based) of the file downloaded to `dest` is staged: the part's name
/// made from the destination's own name (`NAME.1fsplit.NNN`, as the remote part is named when
/// nothing is amiss), in its folder.
fn staged_part(dest: &Path, index: usize) -> PathBuf {
    let own = dest
        .file_name()
        .map_or_else(|| "download".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(part_name(&own, index + 1))
}

/// The Whirlpool of a whole file and of each of its parts of `part_size` bytes, in one read.
async fn hash_parts(path: &Path, part_size: u64) -> std::io::Result<(String, Vec<String>)> {
    use onefichier_protocol::checksum::Whirlpool;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let (mut whole, mut part) = (Whirlpool::new(), Whirlpool::new());
        let (mut in_part, mut parts) = (0u64, Vec::new());
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let room = usize::try_from(part_size - in_part).unwrap_or(usize::MAX);
            let wanted = buffer.len().min(room);
            let n = file.read(&mut buffer[..wanted])?;
            if n == 0 {
                break;
            }
            whole.update(&buffer[..n]);
            part.update(&buffer[..n]);
            in_part += n as u64;
            if in_part == part_size {
                parts.push(std::mem::take(&mut part).finalize_hex());
                in_part = 0;
            }
        }
        if in_part > 0 {
            parts.push(part.finalize_hex());
        }
        Ok((whole.finalize_hex(), parts))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The manifest's bytes: deterministic, so that a complete set is recognised by its checksum.
fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    serde_json::to_vec_pretty(manifest).expect("a manifest serialises")
}

/// The name a file is stored under: the options' name, else its own.
fn stored_name(path: &Path, options: &UploadOptions) -> Result<String> {
    match &options.name {
        Some(name) => Ok(name.clone()),
        None => path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| Error::new(ErrorKind::BadRequest, OP, "the file has no usable name")),
    }
}

impl Manifest {
    /// The manifest of a file of `size` bytes named `name`, cut into parts of `part_size`
    /// bytes whose Whirlpools are `part_hashes`.
    fn of(
        name: &str,
        size: u64,
        whirlpool: &str,
        part_size: u64,
        part_hashes: Vec<String>,
    ) -> Self {
        let parts = part_hashes
            .into_iter()
            .enumerate()
            .map(|(i, hash)| Part {
                name: part_name(name, i + 1),
                size: part_size.min(size - i as u64 * part_size),
                whirlpool: hash,
            })
            .collect();
        Self {
            format: FORMAT.to_owned(),
            name: name.to_owned(),
            size,
            whirlpool: whirlpool.to_owned(),
            parts,
        }
    }
}

impl Part {
    /// Whether `item` holds this part under its own name.
    fn is_stored_as(&self, item: &FileItem) -> bool {
        item.filename == self.name && self.same_bytes(item)
    }

    fn same_bytes(&self, item: &FileItem) -> bool {
        item.size == self.size && item.checksum.eq_ignore_ascii_case(&self.whirlpool)
    }

    /// This part among a folder's files. A part is known by its bytes; its name counts only
    /// between equal ones (a set renamed as a whole keeps its manifest, which names the parts
    /// as first stored).
    fn find_in<'a>(&self, siblings: &'a [FileItem]) -> Result<&'a FileItem> {
        siblings
            .iter()
            .filter(|i| self.same_bytes(i))
            .find(|i| i.filename == self.name)
            .or_else(|| siblings.iter().find(|i| self.same_bytes(i)))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    OP,
                    format!("the part {} is missing", self.name),
                )
            })
    }
}

/// Appends the file at `piece` to `whole`, flushed.
async fn append(piece: &Path, whole: &mut tokio::fs::File) -> std::io::Result<()> {
    let mut source = tokio::fs::File::open(piece).await?;
    tokio::io::copy(&mut source, whole).await?;
    tokio::io::AsyncWriteExt::flush(whole).await
}

impl Client {
    /// Uploads `path` as parts of at most `part_size` bytes plus a manifest into
    /// `options.folder_id`; parts (and a manifest) the folder already holds with the same
    /// bytes are not sent again. The result names the manifest's link and the whole file's
    /// size and Whirlpool.
    pub async fn upload_split(
        &self,
        path: &Path,
        options: &UploadOptions,
        part_size: u64,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Uploaded> {
        let what = path.display().to_string();
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| io(OP, &what, e))?
            .len();
        let name = stored_name(path, options)?;
        let part_size = part_size.max(1);
        let existing = self
            .list_folder(options.folder_id)
            .await?
            .items
            .unwrap_or_default();
        // One read gives the whole file's Whirlpool and each part's: enough to recognise a
        // complete set already there, and the parts of an interrupted upload.
        let (whirlpool, part_hashes) = hash_parts(path, part_size)
            .await
            .map_err(|e| io(OP, &what, e))?;
        let manifest_name = format!("{name}{MARK}");
        let complete = Manifest::of(&name, size, &whirlpool, part_size, part_hashes);
        let expected = manifest_bytes(&complete);
        let parts = complete.parts.len();
        if let Some(same) = existing.iter().find(|item| {
            item.filename == manifest_name
                && item.size == expected.len() as u64
                && item.checksum.eq_ignore_ascii_case(
                    &onefichier_protocol::checksum::Whirlpool::hex_digest(&expected),
                )
        }) {
            // The same file is stored already, whole: nothing to send.
            return Ok(Uploaded {
                link: same.url.clone(),
                name,
                size,
                whirlpool,
                remove_code: None,
                parts,
            });
        }
        // Parts are taken over only from an unfinished upload (no manifest yet): the parts of
        // another version may be removed when that version is replaced.
        let unfinished = !existing.iter().any(|item| item.filename == manifest_name);
        for (index, part) in complete.parts.iter().enumerate() {
            let there = existing.iter().any(|item| part.is_stored_as(item));
            if !(unfinished && there) {
                let slice = Slice {
                    path,
                    offset: index as u64 * part_size,
                    len: part.size,
                };
                let options = options.clone().named(&part.name);
                let reporter = Arc::clone(&reporter);
                self.upload_slice(slice, &part.name, &options, reporter)
                    .await?;
            }
        }
        // The manifest goes last: a set without one is an unfinished upload.
        let sent = self
            .upload_small(&expected, &manifest_name, options, Arc::clone(&reporter))
            .await;
        let link = sent?.link;
        Ok(Uploaded {
            link,
            name,
            size,
            whirlpool,
            remove_code: None,
            parts,
        })
    }

    /// Reads a manifest (downloaded beside `near`, then removed).
    pub async fn read_manifest(
        &self,
        manifest: &FileItem,
        near: &Path,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Manifest> {
        let text = self.fetch_small(manifest, near, reporter).await;
        serde_json::from_slice(&text?)
            .ok()
            .filter(|m: &Manifest| m.format == FORMAT)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UnexpectedResponse,
                    OP,
                    format!(
                        "{} is not a split manifest this client reads",
                        manifest.filename
                    ),
                )
            })
    }

    /// Downloads the split file whose manifest is `manifest` (its parts are among `siblings`,
    /// the files of its folder) to `dest`, resuming, and verifies the whole file.
    pub async fn download_split(
        &self,
        manifest: &FileItem,
        siblings: &[FileItem],
        dest: &Path,
        options: &DownloadOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Downloaded> {
        let what = dest.display().to_string();
        let plan = self
            .read_manifest(manifest, dest, Arc::clone(&reporter))
            .await?;
        let whole = part_path(dest);
        let mut done = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&whole)
            .await
            .map_err(|e| io(OP, &what, e))?;
        let mut offset = 0;
        for (index, part) in plan.parts.iter().enumerate() {
            let have = done.metadata().await.map_err(|e| io(OP, &what, e))?.len();
            if have >= offset + part.size {
                offset += part.size;
                continue;
            }
            // A part appended halfway when the last run stopped is appended again whole.
            done.set_len(offset).await.map_err(|e| io(OP, &what, e))?;
            let item = part.find_in(siblings)?;
            // The manifest's names are the server's word: a part is staged under a name of our
            // own beside the destination, never under its remote name (which could be
            // `../x` or absolute).
            let piece = staged_part(dest, index);
            let got = self
                .download_file(
                    &item.url,
                    &piece,
                    &options.clone().expecting(Expected {
                        size: part.size,
                        whirlpool: Some(part.whirlpool.clone()),
                    }),
                    Arc::clone(&reporter),
                )
                .await?;
            append(&got.path, &mut done)
                .await
                .map_err(|e| io(OP, &what, e))?;
            let _ = tokio::fs::remove_file(&got.path).await;
            offset += part.size;
        }
        drop(done);
        let hash = hash_file(&whole).await.map_err(|e| io(OP, &what, e))?;
        if offset != plan.size || !hash.eq_ignore_ascii_case(&plan.whirlpool) {
            let _ = tokio::fs::remove_file(&whole).await;
            return Err(Error::new(
                ErrorKind::Verification,
                OP,
                format!(
                    "{} does not reassemble into the file its manifest describes",
                    plan.name
                ),
            ));
        }
        tokio::fs::rename(&whole, dest)
            .await
            .map_err(|e| io(OP, &what, e))?;
        Ok(Downloaded {
            path: dest.to_owned(),
            size: plan.size,
            whirlpool: hash,
            verified: true,
            resumed_from: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_staged_under_names_of_our_own() {
        let dest = Path::new("/restore/big.bin");
        assert_eq!(
            staged_part(dest, 0),
            Path::new("/restore/big.bin.1fsplit.001")
        );
        assert_eq!(staged_part(dest, 11).parent(), dest.parent());
    }

    #[test]
    fn names_of_a_split_set() {
        assert_eq!(
            role("disk.img.1fsplit"),
            Some(Role::Manifest("disk.img".into()))
        );
        assert_eq!(
            role("disk.img.1fsplit.012"),
            Some(Role::Part("disk.img".into(), 12))
        );
        assert_eq!(part_name("disk.img", 3), "disk.img.1fsplit.003");
        assert_eq!(role("disk.img"), None);
        assert_eq!(role("disk.img.1fsplit.x"), None);
        assert_eq!(role(".1fsplit"), None);
    }
}
