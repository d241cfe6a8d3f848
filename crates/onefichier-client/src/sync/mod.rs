//! One-way mirrors between a local folder and a remote one: scan both sides (each remote
//! folder listed once, local files hashed only where sizes meet, through the hash cache), plan
//! ([`plan::plan`], pure), then apply. Modification times travel in the remote files'
//! descriptions ([`onefichier_protocol::date::mtime_tag`]); since listings hold no
//! descriptions, the times this machine wrote or read are remembered beside the hash cache, and
//! a file whose time is unknown costs one `file/info` the first time only. Applying is idempotent: a sync stopped anywhere (even
//! killed) and run again plans only what is left, since what completed is on the destination
//! with its bytes and the plan compares Whirlpools.
//!
//! ```no_run
//! # async fn example(client: &onefichier_client::Client) -> onefichier_client::Result<()> {
//! use onefichier_client::hash_cache::HashCache;
//! use onefichier_client::sync::{self, Filters, PlanOptions, SyncOptions};
//! use std::sync::Arc;
//!
//! let filters = Filters::new(&[], &["*.tmp".into()])?;
//! let cache = HashCache::open().await;
//! let mut local = sync::scan_local("photos".as_ref(), &filters, true)?;
//! let remote = sync::scan_remote(client, "/backups/photos", &filters, false, &cache).await?;
//! sync::hash_needed(&mut local, &remote.tree, &cache).await?;
//! let plan = sync::plan(&local.tree, &remote.tree, &PlanOptions { delete: true });
//! let done = sync::upload(client, &local, remote, &plan, &SyncOptions::default(), &cache,
//!                         Arc::new(onefichier_client::NoProgress)).await;
//! # Ok(()) }
//! ```

mod apply;
pub mod plan;
pub(crate) mod times;

pub use apply::{SyncOptions, download, restore_known_time, tag_new_uploads, upload};
pub use plan::{Action, Done, FileState, Plan, PlanOptions, Tree, needs_whirlpool, plan};
pub use times::TIMES_FILE;

use crate::Client;
use crate::error::{Error, ErrorKind, Result, io};
use crate::hash_cache::HashCache;
use crate::local::{LeftOut, safe_component};
use crate::transfer::split;
use ignore::Match;
use ignore::overrides::{Override, OverrideBuilder};
pub use jiff::Timestamp;
use onefichier_protocol::file::FileItem;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const OP: &str = "sync";

/// The file of gitignore rules a local tree may hold in any folder, as `.gitignore`.
pub const IGNORE_FILE: &str = ".1fichierignore";

/// `--include` and `--exclude` globs (gitignore syntax), applied to paths relative to the
/// roots of both sides: an excluded path is neither sent nor deleted. With any include glob,
/// only files matching one are taken (folders are still walked).
pub struct Filters {
    globs: Override,
}

impl Filters {
    /// The filters of these globs.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let mut builder = OverrideBuilder::new("");
        let bad = |glob: &str, e: ignore::Error| {
            Error::new(ErrorKind::Config, OP, format!("bad glob {glob:?}: {e}"))
        };
        for glob in include {
            builder.add(glob).map_err(|e| bad(glob, e))?;
        }
        for glob in exclude {
            builder.add(&format!("!{glob}")).map_err(|e| bad(glob, e))?;
        }
        Ok(Self {
            globs: builder.build().map_err(|e| bad("", e))?,
        })
    }

    /// Whether a path (relative, `/`-separated) takes part in the sync.
    pub fn admits(&self, path: &str, is_dir: bool) -> bool {
        !matches!(self.globs.matched(path, is_dir), Match::Ignore(_))
    }
}

/// A local tree as scanned.
#[derive(Debug, Clone)]
pub struct LocalSide {
    /// Its root folder.
    pub root: PathBuf,
    /// What it holds.
    pub tree: Tree,
    /// What a source tree cannot send, with the reason (relative paths).
    pub left_out: Vec<(String, LeftOut)>,
}

/// Scans the local tree under `root` (none yet: an empty tree). Symbolic links are not
/// followed; `.1fichierignore` files and the filters leave paths out. As a `source`, empty
/// files (the service refuses them), links and special files are left out with the reason; as
/// a destination, the partial files of interrupted downloads are not part of the tree.
pub fn scan_local(root: &Path, filters: &Filters, source: bool) -> Result<LocalSide> {
    let mut side = LocalSide {
        root: root.to_owned(),
        tree: Tree::default(),
        left_out: Vec::new(),
    };
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::Config,
                OP,
                format!("{} is not a folder", root.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source => return Ok(side),
        Err(e) => return Err(io(OP, &root.display().to_string(), e)),
    }
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .sort_by_file_name(std::cmp::Ord::cmp)
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                OP,
                format!("cannot walk {}: {e}", root.display()),
            )
        })?;
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let Some(path) = relative_text(relative) else {
            side.left_out
                .push((relative.to_string_lossy().into_owned(), LeftOut::Special));
            continue;
        };
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if !filters.admits(&path, kind.is_dir()) {
            continue;
        }
        if kind.is_dir() {
            side.tree.folders.insert(path);
        } else if kind.is_file() {
            side.admit_file(path, &entry, source)?;
        } else if source {
            let reason = if kind.is_symlink() {
                LeftOut::Symlink
            } else {
                LeftOut::Special
            };
            side.left_out.push((path, reason));
        }
    }
    Ok(side)
}

impl LocalSide {
    /// Takes in a regular file met by the walk, unless it is a sync's own (a partial download
    /// at a destination, a times file) or empty at a source (the service refuses those: left
    /// out and said).
    fn admit_file(&mut self, path: String, entry: &ignore::DirEntry, source: bool) -> Result<()> {
        let meta = entry
            .metadata()
            .map_err(|e| Error::new(ErrorKind::Io, OP, format!("{path}: {e}")))?;
        if (!source && is_partial(&path)) || times::is_times_file(&path) {
            return Ok(());
        }
        if source && meta.len() == 0 {
            self.left_out.push((path, LeftOut::Empty));
            return Ok(());
        }
        let state = FileState {
            size: meta.len(),
            whirlpool: None,
            modified: meta.modified().ok().and_then(whole_seconds),
        };
        self.tree.files.insert(path, state);
        Ok(())
    }
}

/// A local modification time as the remote side keeps it: whole seconds (the precision
/// sides are compared at, as rsync and rclone do for stores that keep seconds).
pub fn whole_seconds(time: std::time::SystemTime) -> Option<Timestamp> {
    let exact = Timestamp::try_from(time).ok()?;
    Timestamp::from_second(exact.as_second()).ok()
}

/// A download's partial file or its piece map (see [`crate::transfer::download::part_path`]),
/// or a piece of a file stored in parts on its way to being appended.
fn is_partial(path: &str) -> bool {
    path.ends_with(".part")
        || path.ends_with(".part.pieces")
        || split::role(plan::name(path)).is_some()
}

/// `relative` with `/` between components, if it is text.
fn relative_text(relative: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

/// Hashes (through the cache) the local files whose Whirlpool the plan needs.
pub async fn hash_needed(side: &mut LocalSide, other: &Tree, cache: &HashCache) -> Result<()> {
    for path in needs_whirlpool(&side.tree, other) {
        let local = side.root.join(&path);
        let whirlpool = cache
            .whirlpool(&local)
            .await
            .map_err(|e| io(OP, &local.display().to_string(), e))?;
        if let Some(file) = side.tree.files.get_mut(&path) {
            file.whirlpool = Some(whirlpool);
        }
    }
    Ok(())
}

/// Fills in the modification times of remote files that this machine wrote or read before.
async fn recall_times(side: &mut RemoteSide, cache: &HashCache) {
    for (path, item) in &side.files {
        if let Some(known) = cache.remote_time(&item.url).await
            && let Some(file) = side.tree.files.get_mut(path)
        {
            file.modified = Some(known);
        }
    }
}

/// A remote tree as listed.
#[derive(Debug, Clone)]
pub struct RemoteSide {
    /// Its root path (`/backups/photos`).
    pub root: String,
    /// What it holds.
    pub tree: Tree,
    /// Remote files left out: a second file of a name already taken (the service allows
    /// several), or a name no local file may have (`..`, `a/b`): (path, reason).
    pub left_out: Vec<(String, &'static str)>,
    /// The root's id, when it exists.
    root_id: Option<i64>,
    /// Folder ids by relative path.
    folder_ids: HashMap<String, i64>,
    /// The listed files by relative path (for a file stored in parts, its manifest).
    files: HashMap<String, FileItem>,
    /// The parts of files stored in parts, by relative path.
    parts: HashMap<String, Vec<FileItem>>,
    /// The times files, by the relative path of their folder.
    times: HashMap<String, times::Listed>,
    /// Every file link each folder lists, filtered out or not, by relative path.
    listed_links: HashMap<String, HashSet<String>>,
}

impl RemoteSide {
    /// The file at a relative path, as listed.
    pub fn file(&self, path: &str) -> Option<&FileItem> {
        self.files.get(path)
    }

    /// The links of the file at a relative path: one, or a manifest and its parts.
    fn links_of(&self, path: &str) -> Vec<String> {
        let parts = self.parts.get(path).into_iter().flatten();
        self.files
            .get(path)
            .into_iter()
            .chain(parts)
            .map(|item| item.url.clone())
            .collect()
    }

    fn remote_path(&self, relative: &str) -> String {
        let root = self.root.trim_end_matches('/');
        if relative.is_empty() {
            if root.is_empty() {
                "/".into()
            } else {
                root.into()
            }
        } else {
            format!("{root}/{relative}")
        }
    }
}

/// `name` inside the folder at `prefix` (the root: empty).
fn child_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

impl RemoteSide {
    /// Takes in the files of one listing (the folder at `prefix`) that the filters admit: a
    /// file stored in parts counts as one file, under its manifest; unsafe and duplicate names
    /// are left out and said.
    fn admit_files(&mut self, filters: &Filters, prefix: &str, items: &[FileItem]) {
        for listed in split::gather(items) {
            let (size, whirlpool) = (
                listed.size(),
                listed.whirlpool().map(str::to_ascii_lowercase),
            );
            let split::Listed { name, item, parts } = listed;
            let path = child_path(prefix, &name);
            if safe_component(&name) != name {
                self.left_out.push((path, "unsafe-name"));
                continue;
            }
            if !filters.admits(&path, false) {
                continue;
            }
            if self.tree.files.contains_key(&path) || self.tree.folders.contains(&path) {
                self.left_out.push((path, "duplicate-name"));
                continue;
            }
            self.tree.files.insert(
                path.clone(),
                FileState {
                    size,
                    whirlpool,
                    modified: None,
                },
            );
            if let Some(parts) = parts {
                self.parts
                    .insert(path.clone(), parts.into_iter().cloned().collect());
            }
            self.files.insert(path, item.clone());
        }
    }
}

/// Lists the remote tree under `root`, each folder once (listings the client keeps are used),
/// and teaches the client the folders' paths. What listings do not show comes from `cache`:
/// the modification times this machine knows, and the whole Whirlpool of files stored in parts
/// (read from their manifests the first time). A missing root is an empty destination, but an
/// error for a `source` (an empty source would ask to delete everything).
pub async fn scan_remote(
    client: &Client,
    root: &str,
    filters: &Filters,
    source: bool,
    cache: &HashCache,
) -> Result<RemoteSide> {
    let mut side = RemoteSide {
        root: root.to_owned(),
        tree: Tree::default(),
        left_out: Vec::new(),
        root_id: None,
        folder_ids: HashMap::new(),
        files: HashMap::new(),
        parts: HashMap::new(),
        times: HashMap::new(),
        listed_links: HashMap::new(),
    };
    let root_id = match client.resolve_folder(root).await {
        Ok(id) => id,
        Err(e) if e.kind() == ErrorKind::NotFound && !source => return Ok(side),
        Err(e) => return Err(e),
    };
    side.root_id = Some(root_id);
    side.folder_ids.insert(String::new(), root_id);
    let mut walk = crate::walk::Walk::new();
    walk.enter(root_id, 0)?;
    let mut queue = VecDeque::from([(String::new(), root_id, 0)]);
    // Times files are read while the walk waits between listings (the service spaces them).
    let mut times_reads = tokio::task::JoinSet::new();
    while let Some((prefix, id, depth)) = queue.pop_front() {
        let listing = client.list_folder(id).await?;
        for folder in &listing.sub_folders {
            let path = child_path(&prefix, &folder.name);
            if safe_component(&folder.name) != folder.name {
                side.left_out.push((path, "unsafe-name"));
                continue;
            }
            if !filters.admits(&path, true) || !walk.enter(folder.id, depth + 1)? {
                continue;
            }
            client.learn_path(&side.remote_path(&path), folder.id);
            side.folder_ids.insert(path.clone(), folder.id);
            side.tree.folders.insert(path.clone());
            queue.push_back((path, folder.id, depth + 1));
        }
        let mut items = listing.items.unwrap_or_default();
        side.listed_links.insert(
            prefix.clone(),
            items.iter().map(|i| i.url.clone()).collect(),
        );
        if let Some(at) = items.iter().position(|i| i.filename == TIMES_FILE) {
            let item = items.swap_remove(at);
            let (client, cache, folder, listed) =
                (client.clone(), cache.clone(), prefix.clone(), item.clone());
            times_reads.spawn(async move {
                let times = times::read(&client, &cache, &listed).await;
                (folder, times)
            });
            side.times
                .insert(prefix.clone(), times::Listed { item, times: None });
        }
        side.admit_files(filters, &prefix, &items);
    }
    // `--fresh` trusts nothing remembered: times come from the service (times files, else
    // descriptions).
    if !client.fresh_listings() {
        recall_times(&mut side, cache).await;
    }
    while let Some(read) = times_reads.join_next().await {
        if let Ok((folder, times)) = read
            && let Some(listed) = side.times.get_mut(&folder)
        {
            listed.times = times;
        }
    }
    apply_times(&mut side, cache).await;
    resolve_parts(client, &mut side, cache).await?;
    Ok(side)
}

/// Fills in the modification times the folders' times files (read) hold: they outrank what this
/// machine remembers (another machine may have changed them since), and are remembered in
/// turn for plain downloads.
async fn apply_times(side: &mut RemoteSide, cache: &HashCache) {
    for (path, item) in &side.files {
        let time = side
            .times
            .get(plan::parent(path))
            .and_then(|listed| listed.times.as_ref())
            .and_then(|times| times.of(&item.url));
        if let Some(time) = time
            && let Some(file) = side.tree.files.get_mut(path)
        {
            file.modified = Some(time);
            cache.remember_remote_time(&item.url, time).await;
        }
    }
}

/// Fills in the whole Whirlpool of files stored in parts: remembered, or read from their
/// manifests (a download each, the first time only).
async fn resolve_parts(client: &Client, side: &mut RemoteSide, cache: &HashCache) -> Result<()> {
    let scratch = std::env::temp_dir().join("onefichier-manifest");
    for path in side.parts.keys() {
        let manifest = &side.files[path];
        let whirlpool = match cache.split_whirlpool(&manifest.url).await {
            Some(known) => known,
            None => {
                let read = client
                    .read_manifest(manifest, &scratch, Arc::new(crate::NoProgress))
                    .await?;
                cache.remember_split(&manifest.url, &read.whirlpool).await;
                read.whirlpool
            }
        };
        if let Some(file) = side.tree.files.get_mut(path) {
            file.whirlpool = Some(whirlpool.to_ascii_lowercase());
        }
    }
    Ok(())
}

/// Paths that are a file on one side and a folder on the other: a sync cannot decide for
/// the user which one to keep.
pub fn conflicts(source: &Tree, dest: &Tree) -> Vec<String> {
    let mut found: Vec<String> = source
        .files
        .keys()
        .filter(|path| dest.folders.contains(*path))
        .chain(
            source
                .folders
                .iter()
                .filter(|path| dest.files.contains_key(*path)),
        )
        .cloned()
        .collect();
    found.sort();
    found
}
