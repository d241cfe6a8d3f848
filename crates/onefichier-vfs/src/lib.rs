//! A 1fichier folder as a file system, for `1fichier mount` and `1fichier serve`:
//!
//! * the directory tree is kept in a SQLite file of the state folder, served while it is
//!   refreshed (after `dir_cache_time`), so a restart lists nothing that is still fresh; inode
//!   numbers derive from ids and names are those `download` gives (a file stored in parts is one
//!   file; duplicate names get ` (2)`);
//! * one download token per file, reused by every read, seek and reader for 25 minutes, renewed
//!   once if the download node refuses it: a seek costs no API call;
//! * a block cache on disk ([`CacheOptions`]) that keeps the heads and tails of files longest,
//!   so a second scan or probe reads nothing from the network;
//! * every read ends within `max_wait`: a budget, a flood lock or a dead server makes it fail
//!   (EIO in a mount) with a log line saying why, never hang.
//!
//! * with a spool folder ([`VfsOptions::writes`]), files are written, uploaded when closed, and
//!   folders made, moved and removed (see [`Vfs::create`]).
//!
//! The front ends ask by inode ([`Vfs::list`], [`Vfs::lookup`], [`Vfs::read`]) or by path
//! ([`Vfs::resolve`]).

#![deny(missing_docs)]

mod blocks;
mod read;
mod stats;
mod tokens;
mod tree;
mod write;

pub use blocks::{BLOCK_SIZE, HEAD_BLOCKS, MEMORY_ONLY_SIZE};
pub use stats::{Snapshot, Stats};
pub use tree::{Entry, Kind, ROOT_INODE, Segment};

use bytes::Bytes;
use onefichier_client::{Client, ErrorKind, RedactedUrl};
use parking_lot::Mutex;
use read::OpenFile;
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a file's read state (its read-ahead window, its whole-file check) is kept after its
/// last read: players close and reopen files.
const KEEP_WARM: Duration = Duration::from_secs(10);

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such entry.
    #[error("no such file or folder")]
    NotFound,
    /// A file where a folder was needed.
    #[error("not a folder")]
    NotAFolder,
    /// A folder where a file was needed.
    #[error("is a folder")]
    IsAFolder,
    /// A call or a download failed (the error says why, and until when for a lock).
    #[error(transparent)]
    Client(#[from] onefichier_client::Error),
    /// The bytes did not come within the longest wait allowed.
    #[error("{1}: no bytes within {0:?} (the server is slow, down, or the account is held back)")]
    TimedOut(Duration, String),
    /// A file read whole did not match its Whirlpool.
    #[error(
        "{0}: the bytes read do not match the listing's Whirlpool; the cached copy was dropped"
    )]
    Corrupt(String),
    /// A file's size changed on the server since it was listed.
    #[error("{0}: the file on the server is not the one listed; refresh the folder")]
    Changed(String),
    /// The tree's state file.
    #[error("the directory cache: {0}")]
    Cache(String),
    /// A change, on a file system opened without writes.
    #[error("the file system is read-only (writes need --writes)")]
    ReadOnly,
    /// What the service cannot do (the message says what, and what to do instead).
    #[error("{0}")]
    NotPermitted(String),
    /// The name is taken.
    #[error("the name is taken")]
    Exists,
    /// A folder that is not empty.
    #[error("the folder is not empty")]
    NotEmpty,
    /// The spool folder, where written files wait for their upload.
    #[error("the spool: {0}")]
    Spool(String),
}

impl Error {
    fn cache(error: impl std::fmt::Display) -> Self {
        Self::Cache(error.to_string())
    }

    /// Whether the entry does not exist (ENOENT, 404), rather than failing to be read (EIO).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound => true,
            Self::Client(error) => error.kind() == ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// The result of VFS operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where read blocks are kept.
#[derive(Debug, Clone)]
pub enum CacheOptions {
    /// In a small memory buffer only ([`MEMORY_ONLY_SIZE`]).
    Memory,
    /// On disk under `dir`, at most `max_size` bytes, none older than `max_age`.
    Disk {
        /// The folder (created if missing).
        dir: PathBuf,
        /// Bytes kept at most.
        max_size: u64,
        /// Blocks older than this are removed.
        max_age: Option<Duration>,
    },
}

/// How the file system behaves.
#[derive(Debug, Clone)]
pub struct VfsOptions {
    /// How long a folder listing is served before it is read again (in the background).
    pub dir_cache_time: Duration,
    /// The block cache.
    pub cache: CacheOptions,
    /// The longest a read may wait for bytes that are not cached.
    pub max_wait: Duration,
    /// Where written files wait for their upload; `None` for a read-only file system.
    pub writes: Option<PathBuf>,
}

impl Default for VfsOptions {
    fn default() -> Self {
        Self {
            dir_cache_time: Duration::from_secs(3600),
            cache: CacheOptions::Memory,
            max_wait: Duration::from_secs(30),
            writes: None,
        }
    }
}

/// The file system of one remote folder. Cheap to clone.
#[derive(Clone)]
pub struct Vfs {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    client: Client,
    options: VfsOptions,
    tree: tree::Tree,
    tokens: tokens::Tokens,
    cache: blocks::BlockCache,
    stats: Stats,
    open: Mutex<HashMap<u64, Arc<OpenFile>>>,
    refreshing: Mutex<HashSet<u64>>,
    spool: Option<write::Spool>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Vfs {
    /// The file system of the folder at `remote_path` (`/` for the whole account), its tree
    /// kept in the client's state folder (in memory when the client keeps none).
    pub async fn open(client: Client, remote_path: &str, options: VfsOptions) -> Result<Self> {
        // The tree is kept per remote path, with the folder's id: a restart resolves nothing.
        let path = format!("/{}", remote_path.trim_matches('/'));
        let digest = sha2::Sha256::digest(path.as_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let state = client.state_file(&format!("tree-{name}"), "sqlite");
        let tree = tree::Tree::open(state.as_deref()).await?;
        if tree.entry(ROOT_INODE).is_none() {
            let id = client.resolve_folder(&path).await?;
            tree.set_root(id).await?;
        }
        let cache = match &options.cache {
            CacheOptions::Memory => blocks::BlockCache::in_memory(),
            CacheOptions::Disk {
                dir,
                max_size,
                max_age,
            } => blocks::BlockCache::on_disk(dir, *max_size, *max_age)
                .map_err(|e| Error::Cache(format!("{}: {e}", dir.display())))?,
        };
        let spool = options
            .writes
            .as_deref()
            .map(write::Spool::open)
            .transpose()?;
        let inner = Arc::new(Inner {
            spool,
            tokens: tokens::Tokens::new(client.clone()),
            client,
            options,
            tree,
            cache,
            stats: Stats::default(),
            open: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashSet::new()),
        });
        tokio::spawn(janitor(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The mounted folder.
    pub fn root(&self) -> Arc<Entry> {
        self.inner
            .tree
            .entry(ROOT_INODE)
            .expect("the root is always known")
    }

    /// The entry `inode`, as last listed (a file being written as it stands; an inode a
    /// written file took the place of, as what took it).
    pub fn entry(&self, inode: u64) -> Result<Arc<Entry>> {
        if let Some(spool) = &self.inner.spool {
            if let Some(written) = spool.written(inode) {
                return Ok(Arc::new(written.entry()));
            }
            if let Some(now) = spool.alias(inode) {
                return self.entry(now);
            }
        }
        self.inner.tree.entry(inode).ok_or(Error::NotFound)
    }

    /// Whether files can be written.
    pub fn writable(&self) -> bool {
        self.inner.spool.is_some()
    }

    /// The folder's entries: as kept, while fresh; as kept, with a new listing asked for in the
    /// background, once older than `dir_cache_time`; listed now if never listed.
    pub async fn list(&self, inode: u64) -> Result<Vec<Arc<Entry>>> {
        let mut entries = self.list_stored(inode).await?;
        if let Some(spool) = &self.inner.spool {
            // Files being written are shown in place of what they replace.
            let written = spool.written_in(inode);
            entries.retain(|entry| written.iter().all(|w| w.name != entry.name));
            entries.extend(written.into_iter().map(Arc::new));
        }
        Ok(entries)
    }

    async fn list_stored(&self, inode: u64) -> Result<Vec<Arc<Entry>>> {
        let inner = &self.inner;
        match inner.tree.children(inode) {
            Some((at, children)) => {
                let age = u64::try_from(now() - at).unwrap_or(0);
                if age >= inner.options.dir_cache_time.as_secs() {
                    self.refresh_in_background(inode);
                }
                Ok(children)
            }
            // Never listed: a lookup waits for it, as long as a read may.
            None => {
                tokio::time::timeout(inner.options.max_wait, self.refresh(inode))
                    .await
                    .map_err(|_| {
                        let name = self
                            .entry(inode)
                            .map_or_else(|_| String::new(), |e| e.name.clone());
                        Error::TimedOut(
                            inner.options.max_wait,
                            format!("the listing of folder {name:?}"),
                        )
                    })??;
                Ok(inner
                    .tree
                    .children(inode)
                    .map(|(_, c)| c)
                    .unwrap_or_default())
            }
        }
    }

    /// Lists the folder `inode` now.
    pub async fn refresh(&self, inode: u64) -> Result<()> {
        self.refresh_with(&self.inner.client, inode).await
    }

    /// Lists the folder `inode` with `client` (a background one lets reads go first).
    async fn refresh_with(&self, client: &Client, inode: u64) -> Result<()> {
        let entry = self.entry(inode)?;
        let Kind::Folder { id } = entry.kind else {
            return Err(Error::NotAFolder);
        };
        let at = now();
        let listing = client.list_folder(id).await?;
        self.inner.stats.count_listing();
        self.inner.tree.replace(inode, &listing, at).await
    }

    fn refresh_in_background(&self, inode: u64) {
        if !self.inner.refreshing.lock().insert(inode) {
            return;
        }
        let vfs = self.clone();
        tokio::spawn(async move {
            // Playback first: a reader waiting for a token goes before this listing.
            let background = vfs.inner.client.in_background();
            if let Err(error) = vfs.refresh_with(&background, inode).await {
                tracing::warn!(%error, inode, "a folder could not be listed again; its old listing is served");
            }
            vfs.inner.refreshing.lock().remove(&inode);
        });
    }

    /// The entry `name` of the folder `parent`.
    pub async fn lookup(&self, parent: u64, name: &str) -> Result<Arc<Entry>> {
        self.list(parent)
            .await?
            .into_iter()
            .find(|entry| entry.name == name)
            .ok_or(Error::NotFound)
    }

    /// The entry at `path` (`a/b/c`, relative to the mounted folder; empty for itself).
    pub async fn resolve(&self, path: &str) -> Result<Arc<Entry>> {
        let mut entry = self.root();
        for name in path.split('/').filter(|n| !n.is_empty()) {
            if !entry.is_folder() {
                return Err(Error::NotFound);
            }
            entry = self.lookup(entry.inode, name).await?;
        }
        Ok(entry)
    }

    /// Up to `len` bytes of the file `inode` from `offset`.
    pub async fn read(&self, inode: u64, offset: u64, len: u64) -> Result<Bytes> {
        if let Some(read) = self.read_written(inode, offset, len).await {
            return read;
        }
        let file = self.open_file(inode)?;
        self.inner.read(&file, offset, len).await
    }

    /// The bytes of a read that the block cache holds in memory, at once, or `None` when the
    /// read must go through [`Vfs::read`] (a front end answers these on its own thread).
    pub fn read_in_memory(&self, inode: u64, offset: u64, len: u64) -> Option<Bytes> {
        if let Some(spool) = &self.inner.spool
            && spool.written(inode).is_some()
        {
            return None;
        }
        let file = self.open_file(inode).ok()?;
        self.inner.read_in_memory(&file, offset, len)
    }

    /// Forgets the read state of a file that is gone.
    fn forget_reads(&self, inode: u64) {
        self.inner.open.lock().remove(&inode);
    }

    fn open_file(&self, inode: u64) -> Result<Arc<OpenFile>> {
        // By the entry's own inode: an inode a written file replaced reads the new file.
        let entry = self.entry(inode)?;
        let mut open = self.inner.open.lock();
        if let Some(file) = open.get(&entry.inode) {
            return Ok(Arc::clone(file));
        }
        let inode = entry.inode;
        let file = Arc::new(OpenFile::new(entry)?);
        open.insert(inode, Arc::clone(&file));
        Ok(file)
    }

    /// A direct download URL of the file (for `serve http --redirect`): the file's reused
    /// token. `None` for a file stored in parts, which has no single URL.
    pub async fn direct_url(&self, inode: u64) -> Result<Option<RedactedUrl>> {
        let entry = self.entry(inode)?;
        match &entry.kind {
            Kind::Folder { .. } => Err(Error::IsAFolder),
            Kind::File { segments, .. } if segments.len() == 1 => Ok(Some(
                self.inner
                    .tokens
                    .get(&segments[0].link, &self.inner.stats)
                    .await?,
            )),
            Kind::File { .. } => Ok(None),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Snapshot {
        self.inner.stats.snapshot(&self.inner.client)
    }

    /// Waits until the blocks read so far are all on disk (before the process stops: the cache
    /// writes behind the reads).
    pub async fn settle(&self) {
        self.inner.cache.settle().await;
    }

    /// Bytes in the block cache.
    pub fn cache_size(&self) -> u64 {
        self.inner.cache.size()
    }
}

/// Forgets the read state of files not read for [`KEEP_WARM`], and expires old blocks, until
/// the file system is dropped.
async fn janitor(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(KEEP_WARM / 2);
    let mut rounds = 0u64;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        inner.open.lock().retain(|_, file| {
            Arc::strong_count(file) > 1 || file.last_used.lock().elapsed() < KEEP_WARM
        });
        rounds += 1;
        if rounds.is_multiple_of(120) {
            let inner = Arc::clone(&inner);
            tokio::task::spawn_blocking(move || inner.cache.expire());
        }
    }
}
