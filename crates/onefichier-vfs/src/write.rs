//! Writes, when the file system is opened with a spool folder (`--writes`).
//!
//! A file written through a front end is spooled to disk under a number of its own, shown in
//! its folder at once, and uploaded (verified, as `upload` does) when a writer closes it and no
//! other writer has it open. It stays a written file until its last handle is released: bytes
//! written after an upload (a forked process closing its copy of the handle makes the kernel
//! flush too) are uploaded again at the next close, in place of the first upload. Folders are made, moved, renamed and removed by their API calls at once. Each call's
//! answer patches the tree, so a write costs no listing. What the service cannot do fails
//! with its own error and a log line: changing a file's bytes after upload (a file is
//! replaced whole: upload, then removal of the old one, whose link changes), appending,
//! modes and owners. The service stores no empty file: an empty file written here is kept
//! here only, for as long as the file system runs.

use crate::tree::{Entry, Kind, Segment, file_inode, folder_inode};
use crate::{Error, Result, Vfs, now};
use bytes::Bytes;
use onefichier_client::protocol::file::{CpRequest, MvRequest, RenameItem, RmFile};
use onefichier_client::protocol::folder::MvRequest as FolderMvRequest;
use onefichier_client::transfer::split::{MARK, part_name};
use onefichier_client::{NoProgress, UploadOptions, Uploaded};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Inodes of files being written have this bit (and not the file bit): they are numbered in
/// order, as they have no link yet.
const WRITTEN_BIT: u64 = 1 << 62;

/// The files being written, and where their bytes wait.
pub(crate) struct Spool {
    dir: PathBuf,
    next: AtomicU64,
    files: Mutex<HashMap<u64, Arc<Written>>>,
    /// An inode the kernel or a client may still hold → the one that took its place: a written
    /// file's once uploaded, a replaced file's while its successor is written.
    aliases: Mutex<HashMap<u64, u64>>,
}

/// A file being written (or kept here only, when empty).
pub(crate) struct Written {
    inode: u64,
    path: PathBuf,
    /// Its folder's inode and its name.
    place: Mutex<(u64, String)>,
    /// The stored files its next upload replaces (removed once it is stored): the file it was
    /// written over, what had a name it was renamed to, its own earlier upload.
    replaces: Mutex<Vec<Arc<Entry>>>,
    /// The inode of its last upload, once there is one.
    uploaded: AtomicU64,
    size: AtomicU64,
    mtime: AtomicI64,
    writers: AtomicUsize,
    /// Written since its last upload.
    dirty: AtomicBool,
    /// The spool file; held by every write and by the upload, so none sees half of the other.
    file: tokio::sync::Mutex<tokio::fs::File>,
}

impl Written {
    pub(crate) fn entry(&self) -> Entry {
        let (_, name) = self.place.lock().clone();
        Entry {
            inode: self.inode,
            name,
            size: self.size.load(Ordering::SeqCst),
            mtime: self.mtime.load(Ordering::SeqCst),
            kind: Kind::File {
                segments: Vec::new(),
                whirlpool: None,
                manifest: None,
            },
        }
    }

    fn parent(&self) -> u64 {
        self.place.lock().0
    }

    fn spool_error(&self, error: &std::io::Error) -> Error {
        Error::Spool(format!("{}: {error}", self.path.display()))
    }
}

impl Spool {
    /// The spool in `dir` (created owner-only: it holds the account's bytes before upload).
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        onefichier_client::private_files::create_private_dir(dir)
            .map_err(|e| Error::Spool(format!("{}: {e}", dir.display())))?;
        // Files left by a process that stopped before uploading them: never removed here.
        if let Ok(left) = std::fs::read_dir(dir) {
            for file in left.flatten() {
                tracing::warn!(
                    file = %file.path().display(),
                    "a file written through an earlier mount was never uploaded; it is kept there"
                );
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            next: AtomicU64::new(1),
            files: Mutex::new(HashMap::new()),
            aliases: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn written(&self, inode: u64) -> Option<Arc<Written>> {
        self.files.lock().get(&inode).cloned()
    }

    /// What `inode` stands for now, following replacements.
    pub(crate) fn alias(&self, inode: u64) -> Option<u64> {
        self.aliases.lock().get(&inode).copied()
    }

    /// The files written in the folder `parent`.
    pub(crate) fn written_in(&self, parent: u64) -> Vec<Entry> {
        self.files
            .lock()
            .values()
            .filter(|file| file.parent() == parent)
            .map(|file| file.entry())
            .collect()
    }

    async fn create(
        &self,
        parent: u64,
        name: &str,
        replaces: Option<Arc<Entry>>,
    ) -> Result<Arc<Written>> {
        let number = self.next.fetch_add(1, Ordering::SeqCst);
        let inode = WRITTEN_BIT | number;
        let path = self
            .dir
            .join(format!("{}-{number}.written", std::process::id()));
        let file = private_file(&path)
            .await
            .map_err(|e| Error::Spool(format!("{}: {e}", path.display())))?;
        let written = Arc::new(Written {
            inode,
            path,
            place: Mutex::new((parent, name.to_owned())),
            replaces: Mutex::new(Vec::new()),
            uploaded: AtomicU64::new(0),
            size: AtomicU64::new(0),
            mtime: AtomicI64::new(now()),
            writers: AtomicUsize::new(1),
            dirty: AtomicBool::new(true),
            file: tokio::sync::Mutex::new(file),
        });
        if let Some(old) = replaces {
            self.replace(&written, old);
        }
        self.files.lock().insert(inode, Arc::clone(&written));
        Ok(written)
    }

    /// Makes `written` replace the stored file `old` once uploaded: `old`'s inode shows the
    /// written file from now on.
    fn replace(&self, written: &Written, old: Arc<Entry>) {
        self.aliases.lock().insert(old.inode, written.inode);
        written.replaces.lock().push(old);
    }

    /// Forgets a written file and its spooled bytes; returns the stored files it was to
    /// replace, whose inodes are theirs again.
    async fn discard(&self, written: &Written) -> Vec<Arc<Entry>> {
        self.files.lock().remove(&written.inode);
        let replaced = std::mem::take(&mut *written.replaces.lock());
        {
            let mut aliases = self.aliases.lock();
            for old in &replaced {
                aliases.remove(&old.inode);
            }
        }
        let _ = tokio::fs::remove_file(&written.path).await;
        replaced
    }
}

async fn private_file(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

impl Vfs {
    fn spool(&self) -> Result<&Spool> {
        self.inner.spool.as_ref().ok_or(Error::ReadOnly)
    }

    /// Creates the file `name` in the folder `parent`, open for writing (an existing file of
    /// that name is replaced once the new one is uploaded). Returns its entry; its inode is
    /// the handle for [`Vfs::write`] and [`Vfs::close`].
    pub async fn create(&self, parent: u64, name: &str) -> Result<Arc<Entry>> {
        let spool = self.spool()?;
        check_name(name)?;
        let folder = self.entry(parent)?;
        if !folder.is_folder() {
            return Err(Error::NotAFolder);
        }
        let replaces = match self.find(parent, name).await? {
            Some(entry) if entry.is_folder() => return Err(Error::IsAFolder),
            Some(entry) => match spool.written(entry.inode) {
                // Written here and not uploaded yet: written again from the start.
                Some(written) => {
                    self.reopen(&written, true).await?;
                    return Ok(Arc::new(written.entry()));
                }
                None => Some(entry),
            },
            None => None,
        };
        let written = spool.create(parent, name, replaces).await?;
        Ok(Arc::new(written.entry()))
    }

    /// Opens the file `inode` for writing: a file being written as it is, or from its start
    /// (`truncate`); an uploaded file only from its start, as a new file that replaces it once
    /// uploaded (the service cannot change a stored file's bytes). Returns the inode to write to.
    pub async fn open_for_writing(&self, inode: u64, truncate: bool) -> Result<u64> {
        let spool = self.spool()?;
        // Through aliases: a replaced file's inode opens the file written in its place.
        let entry = self.entry(inode)?;
        if let Some(written) = spool.written(entry.inode) {
            self.reopen(&written, truncate).await?;
            return Ok(written.inode);
        }
        if entry.is_folder() {
            return Err(Error::IsAFolder);
        }
        if !truncate {
            return Err(stored_bytes_are_fixed(&entry.name));
        }
        let parent = self.parent_of(&entry)?;
        let name = entry.name.clone();
        let written = spool.create(parent, &name, Some(entry)).await?;
        Ok(written.inode)
    }

    /// Writes `data` at `offset` of a file open for writing.
    pub async fn write(&self, inode: u64, offset: u64, data: &[u8]) -> Result<()> {
        let written = self.written(inode)?;
        let mut file = written.file.lock().await;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| written.spool_error(&e))?;
        file.write_all(data)
            .await
            .map_err(|e| written.spool_error(&e))?;
        // tokio's file finishes a write in the background: the upload reads the path.
        file.flush().await.map_err(|e| written.spool_error(&e))?;
        written
            .size
            .fetch_max(offset + data.len() as u64, Ordering::SeqCst);
        written.mtime.store(now(), Ordering::SeqCst);
        written.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Sets the size of a file being written (a stored file can only be replaced whole).
    pub async fn set_size(&self, inode: u64, size: u64) -> Result<()> {
        let written = self.written(inode)?;
        let file = written.file.lock().await;
        file.set_len(size)
            .await
            .map_err(|e| written.spool_error(&e))?;
        written.size.store(size, Ordering::SeqCst);
        written.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Sets the modification time of a file being written (shown until it is uploaded; the
    /// service dates a file by its upload).
    pub fn set_mtime(&self, inode: u64, mtime: i64) -> Result<()> {
        self.written(inode)?.mtime.store(mtime, Ordering::SeqCst);
        Ok(())
    }

    /// Reads from a file being written, if `inode` is one.
    pub(crate) async fn read_written(
        &self,
        inode: u64,
        offset: u64,
        len: u64,
    ) -> Option<Result<Bytes>> {
        let written = self.inner.spool.as_ref()?.written(inode)?;
        let mut file = written.file.lock().await;
        let size = written.size.load(Ordering::SeqCst);
        let len = len.min(size.saturating_sub(offset));
        let mut buffer = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        let read = async {
            file.seek(std::io::SeekFrom::Start(offset)).await?;
            file.read_exact(&mut buffer).await
        };
        Some(
            read.await
                .map(|_| Bytes::from(buffer))
                .map_err(|e| written.spool_error(&e)),
        )
    }

    /// A writer releases the file: the last one uploads what is not uploaded yet, then the
    /// file is the stored one (a file closed without changes is not sent again; an empty one,
    /// or one whose upload failed, stays written). Returns once it is stored and checked, so a
    /// failed upload reaches the writer (the PUT's answer in WebDAV).
    pub async fn close(&self, inode: u64) -> Result<()> {
        let Some(spool) = &self.inner.spool else {
            return Ok(());
        };
        let Some(written) = spool.written(inode) else {
            return Ok(());
        };
        if written.writers.fetch_sub(1, Ordering::SeqCst) > 1 {
            return Ok(());
        }
        written.writers.store(0, Ordering::SeqCst);
        self.upload_written(&written).await?;
        let stored = written.uploaded.load(Ordering::SeqCst);
        if stored != 0 && !written.dirty.load(Ordering::SeqCst) {
            // What it "replaces" now is its own upload, which stays: it is the stored file.
            spool.discard(&written).await;
            spool.aliases.lock().insert(written.inode, stored);
        }
        Ok(())
    }

    /// A writer gives up (a transfer cut short): the last one drops what was written, and the
    /// file it would have replaced stays.
    pub async fn abandon(&self, inode: u64) {
        let Some(spool) = &self.inner.spool else {
            return;
        };
        let Some(written) = spool.written(inode) else {
            return;
        };
        if written.writers.fetch_sub(1, Ordering::SeqCst) <= 1 {
            tracing::warn!(
                name = written.entry().name,
                "a file whose writing was cut short is dropped"
            );
            spool.discard(&written).await;
        }
    }

    /// `close()` of a handle: uploads the file now unless other writers have it open, so that
    /// the writer learns whether it was stored. The file stays written until [`Vfs::close`].
    pub async fn flush(&self, inode: u64) -> Result<()> {
        match self.inner.spool.as_ref().and_then(|s| s.written(inode)) {
            Some(written) if written.writers.load(Ordering::SeqCst) <= 1 => {
                self.upload_written(&written).await
            }
            _ => Ok(()),
        }
    }

    fn written(&self, inode: u64) -> Result<Arc<Written>> {
        let spool = self.spool()?;
        spool.written(inode).ok_or_else(|| match self.entry(inode) {
            Ok(entry) if entry.is_folder() => Error::IsAFolder,
            Ok(entry) => stored_bytes_are_fixed(&entry.name),
            Err(error) => error,
        })
    }

    /// One more writer of a file being written, from its start if `truncate`.
    async fn reopen(&self, written: &Written, truncate: bool) -> Result<()> {
        if truncate {
            self.set_size(written.inode, 0).await?;
        }
        written.writers.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The entry `name` of `parent`, if there is one.
    async fn find(&self, parent: u64, name: &str) -> Result<Option<Arc<Entry>>> {
        match self.lookup(parent, name).await {
            Ok(entry) => Ok(Some(entry)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn upload_written(&self, written: &Arc<Written>) -> Result<()> {
        let spool = self.spool()?;
        // Held through the upload: no write lands in the middle of it.
        let _file = written.file.lock().await;
        if !written.dirty.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let (parent, name) = written.place.lock().clone();
        if written.size.load(Ordering::SeqCst) == 0 {
            tracing::info!(
                name,
                "an empty file is kept here only, while this runs: the service stores no empty file"
            );
            return Ok(());
        }
        let folder = self.entry(parent)?.folder_id().ok_or(Error::NotAFolder)?;
        let options = UploadOptions::into_folder(folder).named(&name);
        let uploaded = match self
            .inner
            .client
            .upload_file(&written.path, &options, Arc::new(NoProgress))
            .await
        {
            Ok(uploaded) => uploaded,
            Err(error) => {
                written.dirty.store(true, Ordering::SeqCst);
                tracing::warn!(%error, name, spooled = %written.path.display(), "a written file could not be uploaded; it stays spooled");
                return Err(error.into());
            }
        };
        self.inner.stats.count_upload(uploaded.size);
        let stored = self.stored_entry(parent, &name, &uploaded).await?;
        // What it replaces goes once it is stored; its own upload is what the next one
        // replaces, should more be written before it is released.
        let replaced = std::mem::take(&mut *written.replaces.lock());
        written.uploaded.store(stored.inode, Ordering::SeqCst);
        spool.replace(written, stored);
        for old in &replaced {
            let folder = self.inner.tree.parent(old.inode).unwrap_or(parent);
            self.remove_stored(folder, old).await?;
        }
        Ok(())
    }

    /// Puts an uploaded file into its folder's listing; returns its entry.
    async fn stored_entry(
        &self,
        parent: u64,
        name: &str,
        uploaded: &Uploaded,
    ) -> Result<Arc<Entry>> {
        if uploaded.parts > 0 {
            // Stored in parts: the folder's listing says how (one call).
            self.refresh(parent).await?;
            return self
                .inner
                .tree
                .entry(file_inode(&uploaded.link))
                .ok_or(Error::NotFound);
        }
        let entry = Entry {
            inode: file_inode(&uploaded.link),
            name: name.to_owned(),
            size: uploaded.size,
            mtime: now(),
            kind: Kind::File {
                segments: vec![Segment {
                    link: uploaded.link.clone(),
                    size: uploaded.size,
                }],
                whirlpool: Some(uploaded.whirlpool.to_ascii_lowercase()),
                manifest: None,
            },
        };
        self.inner
            .tree
            .patch(parent, &[], vec![entry.clone()])
            .await?;
        Ok(Arc::new(entry))
    }

    /// Removes an uploaded file (all its stored files) from the service and the tree.
    async fn remove_stored(&self, parent: u64, entry: &Entry) -> Result<()> {
        let files: Vec<RmFile> = entry
            .links()
            .into_iter()
            .map(|url| RmFile {
                url,
                ..RmFile::default()
            })
            .collect();
        self.inner.client.file_rm(&files).await?;
        self.forget_reads(entry.inode);
        self.inner
            .tree
            .patch(parent, &[entry.inode], Vec::new())
            .await
    }

    /// The folder an entry is listed in.
    fn parent_of(&self, entry: &Entry) -> Result<u64> {
        self.inner.tree.parent(entry.inode).ok_or(Error::NotFound)
    }

    /// Makes the folder `name` in `parent`.
    pub async fn mkdir(&self, parent: u64, name: &str) -> Result<Arc<Entry>> {
        self.spool()?;
        check_name(name)?;
        let folder = self.entry(parent)?.folder_id().ok_or(Error::NotAFolder)?;
        if self.find(parent, name).await?.is_some() {
            return Err(Error::Exists);
        }
        let made = self.inner.client.folder_mkdir(name, folder).await?;
        let entry = Entry {
            inode: folder_inode(made.folder_id),
            name: name.to_owned(),
            size: 0,
            mtime: now(),
            kind: Kind::Folder { id: made.folder_id },
        };
        let inode = entry.inode;
        self.inner.tree.patch(parent, &[], vec![entry]).await?;
        // Known to be empty: no listing needed.
        self.inner
            .tree
            .set_children(inode, Vec::new(), now())
            .await?;
        self.entry(inode)
    }

    /// Removes the empty folder `name` of `parent`.
    pub async fn rmdir(&self, parent: u64, name: &str) -> Result<()> {
        self.spool()?;
        let entry = self.lookup(parent, name).await?;
        if !entry.is_folder() {
            return Err(Error::NotAFolder);
        }
        if !self.list(entry.inode).await?.is_empty() {
            return Err(Error::NotEmpty);
        }
        self.rmdir_entry(parent, &entry).await
    }

    /// Removes the file `name` of `parent`.
    pub async fn unlink(&self, parent: u64, name: &str) -> Result<()> {
        self.spool()?;
        let entry = self.lookup(parent, name).await?;
        if entry.is_folder() {
            return Err(Error::IsAFolder);
        }
        self.unlink_entry(parent, &entry).await
    }

    /// Moves and/or renames `name` of `parent` to `new_name` of `new_parent`; what had that
    /// name there (a file, or an empty folder for a folder) is removed once the move is done.
    pub async fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
    ) -> Result<()> {
        let spool = self.spool()?;
        check_name(new_name)?;
        let entry = self.lookup(parent, name).await?;
        let to = self
            .entry(new_parent)?
            .folder_id()
            .ok_or(Error::NotAFolder)?;
        let target = self.find(new_parent, new_name).await?;
        if target.as_ref().is_some_and(|t| t.inode == entry.inode) {
            return Ok(());
        }
        if let Some(target) = &target {
            match (entry.is_folder(), target.is_folder()) {
                (false, true) => return Err(Error::IsAFolder),
                (true, false) => return Err(Error::NotAFolder),
                (true, true) if !self.list(target.inode).await?.is_empty() => {
                    return Err(Error::NotEmpty);
                }
                _ => {}
            }
        }
        if let Some(written) = spool.written(entry.inode) {
            // Not stored yet (or stored under its old name): it takes the new name and, once
            // uploaded, replaces the stored file that had it as well as what it replaced
            // already. Nothing is removed before its upload.
            *written.place.lock() = (new_parent, new_name.to_owned());
            let replaced = match target {
                Some(target) => match spool.written(target.inode) {
                    Some(other) => spool.discard(&other).await,
                    None => vec![target],
                },
                None => Vec::new(),
            };
            for old in replaced {
                spool.replace(&written, old);
            }
            if written.uploaded.load(Ordering::SeqCst) != 0 {
                // Its upload has the old name: sent again under the new one.
                written.dirty.store(true, Ordering::SeqCst);
            }
            return Ok(());
        }
        if let Some(id) = entry.folder_id() {
            let request = FolderMvRequest {
                folder_id: Some(id),
                destination_folder_id: (new_parent != parent).then_some(to),
                rename: (new_name != name).then(|| new_name.to_owned()),
                ..FolderMvRequest::default()
            };
            self.inner.client.folder_mv(&request).await?;
        } else {
            self.move_stored(&entry, (new_parent != parent).then_some(to), new_name)
                .await?;
        }
        self.inner
            .tree
            .patch(parent, &[entry.inode], Vec::new())
            .await?;
        self.inner
            .tree
            .patch(new_parent, &[], vec![entry.renamed(new_name)])
            .await?;
        match target {
            Some(target) if target.is_folder() => self.rmdir_entry(new_parent, &target).await,
            Some(target) => self.unlink_entry(new_parent, &target).await,
            None => Ok(()),
        }
    }

    async fn rmdir_entry(&self, parent: u64, folder: &Entry) -> Result<()> {
        let id = folder.folder_id().ok_or(Error::NotAFolder)?;
        self.inner.client.folder_rm(id).await?;
        self.inner
            .tree
            .patch(parent, &[folder.inode], Vec::new())
            .await
    }

    /// Removes a file: a stored one from the service; a written one from the spool, with the
    /// stored file it was to replace (the name stood for the new file).
    async fn unlink_entry(&self, parent: u64, file: &Entry) -> Result<()> {
        let spool = self.spool()?;
        let stored = match spool.written(file.inode) {
            Some(written) => spool.discard(&written).await,
            None => vec![Arc::new(file.clone())],
        };
        for old in &stored {
            let folder = self.inner.tree.parent(old.inode).unwrap_or(parent);
            self.remove_stored(folder, old).await?;
        }
        Ok(())
    }

    /// Moves an uploaded file's stored files (into `to`, when given) and names them after
    /// `name` (a file stored in parts: its manifest and each part).
    async fn move_stored(&self, entry: &Entry, to: Option<i64>, name: &str) -> Result<()> {
        let Kind::File {
            segments, manifest, ..
        } = &entry.kind
        else {
            return Err(Error::IsAFolder);
        };
        let renamed = name != entry.name;
        match manifest {
            None => {
                let link = &segments.first().ok_or(Error::NotFound)?.link;
                match to {
                    Some(folder) => {
                        let request = MvRequest {
                            urls: vec![link.clone()],
                            destination_folder_id: Some(folder),
                            rename: renamed.then(|| name.to_owned()),
                            ..MvRequest::default()
                        };
                        self.inner.client.file_mv(&request).await?;
                    }
                    None if renamed => {
                        let item = RenameItem {
                            url: link.clone(),
                            filename: name.to_owned(),
                        };
                        self.inner.client.file_rename(&[item]).await?;
                    }
                    None => {}
                }
            }
            Some(manifest) => {
                if let Some(folder) = to {
                    let request = MvRequest {
                        urls: entry.links(),
                        destination_folder_id: Some(folder),
                        ..MvRequest::default()
                    };
                    self.inner.client.file_mv(&request).await?;
                }
                if renamed {
                    let mut items = vec![RenameItem {
                        url: manifest.clone(),
                        filename: format!("{name}{MARK}"),
                    }];
                    items.extend(segments.iter().enumerate().map(|(index, part)| RenameItem {
                        url: part.link.clone(),
                        filename: part_name(name, index + 1),
                    }));
                    self.inner.client.file_rename(&items).await?;
                }
            }
        }
        Ok(())
    }

    /// Copies the file `name` of `parent` to `new_name` of `new_parent` (WebDAV's COPY): an
    /// uploaded file on the service (`file/cp`, a new link), a file written here as a new
    /// written file. What had that name there is replaced.
    pub async fn copy(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
    ) -> Result<()> {
        let spool = self.spool()?;
        check_name(new_name)?;
        let entry = self.lookup(parent, name).await?;
        if entry.is_folder() {
            return Err(Error::IsAFolder);
        }
        match spool.written(entry.inode) {
            Some(source) => self.copy_written(&source, new_parent, new_name).await,
            None => self.copy_stored(&entry, new_parent, new_name).await,
        }
    }

    /// A copy of a file still written here: a new written file with its bytes, uploaded.
    async fn copy_written(&self, source: &Written, new_parent: u64, new_name: &str) -> Result<()> {
        let copy = self.create(new_parent, new_name).await?;
        let copy = self.spool()?.written(copy.inode).ok_or(Error::NotFound)?;
        {
            let _source = source.file.lock().await;
            tokio::fs::copy(&source.path, &copy.path)
                .await
                .map_err(|e| copy.spool_error(&e))?;
            copy.size
                .store(source.size.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        self.close(copy.inode).await
    }

    /// A copy of a stored file: `file/cp` into the folder, then a rename when the name differs;
    /// a file of that name there is replaced once the copy exists.
    async fn copy_stored(&self, entry: &Entry, new_parent: u64, new_name: &str) -> Result<()> {
        let Kind::File {
            segments,
            whirlpool,
            manifest: None,
        } = &entry.kind
        else {
            return Err(Error::NotPermitted(format!(
                "{}: a file stored in parts is copied by downloading and uploading it",
                entry.name
            )));
        };
        let to = self
            .entry(new_parent)?
            .folder_id()
            .ok_or(Error::NotAFolder)?;
        let target = self.find(new_parent, new_name).await?;
        if target.as_ref().is_some_and(|t| t.is_folder()) {
            return Err(Error::IsAFolder);
        }
        let link = &segments.first().ok_or(Error::NotFound)?.link;
        let copied = self
            .inner
            .client
            .file_cp(&CpRequest {
                urls: vec![link.clone()],
                folder_id: Some(to),
                ..CpRequest::default()
            })
            .await?;
        let copy = copied
            .urls
            .into_iter()
            .next()
            .ok_or_else(|| Error::Cache("file/cp answered no copy".into()))?;
        if new_name != entry.name {
            let item = RenameItem {
                url: copy.to_url.clone(),
                filename: new_name.to_owned(),
            };
            self.inner.client.file_rename(&[item]).await?;
        }
        let stored = Entry {
            inode: file_inode(&copy.to_url),
            name: new_name.to_owned(),
            size: entry.size,
            mtime: now(),
            kind: Kind::File {
                segments: vec![Segment {
                    link: copy.to_url,
                    size: entry.size,
                }],
                whirlpool: whirlpool.clone(),
                manifest: None,
            },
        };
        self.inner.tree.patch(new_parent, &[], vec![stored]).await?;
        match target {
            Some(target) => self.unlink_entry(new_parent, &target).await,
            None => Ok(()),
        }
    }
}

/// Why a stored file cannot be opened for writing as it is.
fn stored_bytes_are_fixed(name: &str) -> Error {
    Error::NotPermitted(format!(
        "{name}: a stored file's bytes cannot change; write it whole (truncate it) instead"
    ))
}

/// Names the service and the front ends agree on.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::NotPermitted(format!("{name:?} is not a file name")));
    }
    Ok(())
}
