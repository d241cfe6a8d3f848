//! The directory tree: every folder listed so far and its entries, under the names `download`
//! gives them, kept in memory and in a SQLite file of the state folder so that a restart lists
//! nothing that is still fresh. Inode numbers derive from ids (a folder's id, a file's link), so
//! they are the same after a restart and never reused for something else.

use crate::{Error, Result};
use onefichier_client::local::named_entries;
use onefichier_protocol::folder::LsResponse;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The inode of the mounted folder (FUSE's root).
pub const ROOT_INODE: u64 = 1;
/// Files have this bit set; folders have their id plus 2 (0 is invalid, 1 is the root).
const FILE_BIT: u64 = 1 << 63;

/// One stored piece of a file's bytes: the file itself, or one part of a file stored in parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Its download link.
    pub link: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A folder, by its id.
    Folder {
        /// The folder's id.
        id: i64,
    },
    /// A file: its segments in order, and the whole file's Whirlpool when the listing gives it.
    File {
        /// The pieces whose bytes, one after the other, are the file's.
        segments: Vec<Segment>,
        /// The whole file's Whirlpool (lowercase hex), when known.
        whirlpool: Option<String>,
        /// For a file stored in parts, its manifest's link (moved, renamed and removed with
        /// the parts).
        #[serde(default)]
        manifest: Option<String>,
    },
}

/// A folder or file as the front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable across restarts.
    pub inode: u64,
    /// The name in its folder.
    pub name: String,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Unix seconds: the upload or creation date, which never changes, so scanners do not rescan.
    pub mtime: i64,
    /// Folder or file.
    pub kind: Kind,
}

impl Entry {
    /// Whether this is a folder.
    pub fn is_folder(&self) -> bool {
        matches!(self.kind, Kind::Folder { .. })
    }

    /// The folder's id, if this is a folder.
    pub fn folder_id(&self) -> Option<i64> {
        match self.kind {
            Kind::Folder { id } => Some(id),
            Kind::File { .. } => None,
        }
    }

    /// The links of every file the service stores for this one: the file, or a manifest and
    /// its parts. Empty for folders and for files not uploaded yet.
    pub fn links(&self) -> Vec<String> {
        match &self.kind {
            Kind::Folder { .. } => Vec::new(),
            Kind::File {
                segments, manifest, ..
            } => manifest
                .iter()
                .cloned()
                .chain(segments.iter().map(|s| s.link.clone()))
                .collect(),
        }
    }

    /// The same entry under another name.
    pub(crate) fn renamed(&self, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..self.clone()
        }
    }
}

/// The inode of the folder `id` (the mounted folder is [`ROOT_INODE`] whatever its id).
pub(crate) fn folder_inode(id: i64) -> u64 {
    u64::try_from(id).map_or(0, |id| id + 2) & !FILE_BIT
}

/// The inode of the file with this first link: a hash, as links are not numbers.
pub(crate) fn file_inode(link: &str) -> u64 {
    let digest = Sha256::digest(link.as_bytes());
    let bytes: [u8; 8] = digest[..8].try_into().expect("8 bytes");
    u64::from_le_bytes(bytes) | FILE_BIT
}

/// A listed folder: when it was listed (Unix seconds) and its entries' inodes in name order.
#[derive(Debug, Clone)]
struct Listed {
    at: i64,
    children: Vec<u64>,
}

#[derive(Default)]
struct State {
    entries: HashMap<u64, Arc<Entry>>,
    listed: HashMap<u64, Listed>,
}

/// What left the tree: entries no listing holds any more, and the listings of folders gone.
#[derive(Default)]
struct Pruned {
    entries: Vec<u64>,
    listed: Vec<u64>,
}

impl State {
    /// Forgets the `candidates` (entries that just left a listing) that no listed folder holds
    /// any more, and with a folder gone its listing and, likewise, what was in it.
    fn prune(&mut self, mut candidates: Vec<u64>) -> Pruned {
        let mut pruned = Pruned::default();
        while let Some(inode) = candidates.pop() {
            let held = self
                .listed
                .values()
                .any(|listed| listed.children.contains(&inode));
            if inode == ROOT_INODE || held || self.entries.remove(&inode).is_none() {
                continue;
            }
            pruned.entries.push(inode);
            if let Some(listed) = self.listed.remove(&inode) {
                pruned.listed.push(inode);
                candidates.extend(listed.children);
            }
        }
        pruned
    }
}

/// The tree: what is known of the mounted folder, in memory and (unless in memory only) on disk.
pub(crate) struct Tree {
    state: Mutex<State>,
    db: Option<SqlitePool>,
}

const SCHEMA: [&str; 2] = [
    "create table if not exists listed (
        inode integer primary key not null,
        at integer not null,
        children text not null
    )",
    "create table if not exists entries (
        inode integer primary key not null,
        entry text not null
    )",
];

impl Tree {
    /// The tree kept in `file` (created when missing; in memory only without one).
    pub(crate) async fn open(file: Option<&Path>) -> Result<Self> {
        let db = match file {
            // Owner-only: it names the account's files and holds their links.
            Some(file) => Some(
                onefichier_client::private_files::open_sqlite(file, &SCHEMA)
                    .await
                    .map_err(|e| Error::Cache(format!("{}: {e}", file.display())))?,
            ),
            None => None,
        };
        let mut state = State::default();
        if let Some(db) = &db {
            load(db, &mut state).await?;
        }
        Ok(Self {
            state: Mutex::new(state),
            db,
        })
    }

    /// Makes the folder `id` the root (an empty tree's first step).
    pub(crate) async fn set_root(&self, id: i64) -> Result<()> {
        let root = Entry {
            inode: ROOT_INODE,
            name: String::new(),
            size: 0,
            mtime: 0,
            kind: Kind::Folder { id },
        };
        if let Some(db) = &self.db {
            store_entry(db, &root).await?;
        }
        self.state.lock().entries.insert(ROOT_INODE, Arc::new(root));
        Ok(())
    }

    pub(crate) fn entry(&self, inode: u64) -> Option<Arc<Entry>> {
        self.state.lock().entries.get(&inode).cloned()
    }

    /// The listed folder that holds `inode`.
    pub(crate) fn parent(&self, inode: u64) -> Option<u64> {
        let state = self.state.lock();
        state
            .listed
            .iter()
            .find(|(_, listed)| listed.children.contains(&inode))
            .map(|(folder, _)| *folder)
    }

    /// The folder's entries and when they were listed, if it ever was.
    pub(crate) fn children(&self, inode: u64) -> Option<(i64, Vec<Arc<Entry>>)> {
        let state = self.state.lock();
        let listed = state.listed.get(&inode)?;
        let children = listed
            .children
            .iter()
            .filter_map(|child| state.entries.get(child).cloned())
            .collect();
        Some((listed.at, children))
    }

    /// Takes a new listing of the folder `inode` (read at `at`, Unix seconds) in place of the
    /// old one, in memory and on disk.
    pub(crate) async fn replace(&self, inode: u64, listing: &LsResponse, at: i64) -> Result<()> {
        self.set_children(inode, entries_of(listing), at).await
    }

    /// Makes `entries` the folder's whole contents, as listed at `at`.
    pub(crate) async fn set_children(
        &self,
        inode: u64,
        entries: Vec<Entry>,
        at: i64,
    ) -> Result<()> {
        let children: Vec<u64> = entries.iter().map(|e| e.inode).collect();
        let pruned = {
            let mut state = self.state.lock();
            for entry in &entries {
                state.entries.insert(entry.inode, Arc::new(entry.clone()));
            }
            let old = state.listed.insert(
                inode,
                Listed {
                    at,
                    children: children.clone(),
                },
            );
            let gone = old
                .map(|old| old.children)
                .unwrap_or_default()
                .into_iter()
                .filter(|child| !children.contains(child))
                .collect();
            state.prune(gone)
        };
        self.store(Some((inode, at, &children)), &entries, &pruned)
            .await
    }

    /// Patches the folder's listing with what one of our own calls did: `gone` left it,
    /// `added` came into it (folders before files, as listings give them). A folder never
    /// listed gets no listing (it would be partial); the added entries are known all the same.
    pub(crate) async fn patch(&self, inode: u64, gone: &[u64], added: Vec<Entry>) -> Result<()> {
        let (listed, pruned) = {
            let mut state = self.state.lock();
            for entry in &added {
                state.entries.insert(entry.inode, Arc::new(entry.clone()));
            }
            let state = &mut *state;
            let listed = state.listed.get_mut(&inode).map(|listed| {
                listed.children.retain(|child| !gone.contains(child));
                for entry in &added {
                    listed.children.retain(|child| *child != entry.inode);
                    let at = if entry.is_folder() {
                        listed
                            .children
                            .iter()
                            .position(|child| {
                                state.entries.get(child).is_none_or(|e| !e.is_folder())
                            })
                            .unwrap_or(listed.children.len())
                    } else {
                        listed.children.len()
                    };
                    listed.children.insert(at, entry.inode);
                }
                listed.clone()
            });
            let left = gone
                .iter()
                .copied()
                .filter(|child| added.iter().all(|entry| entry.inode != *child))
                .collect();
            (listed, state.prune(left))
        };
        let listing = listed
            .as_ref()
            .map(|listed| (inode, listed.at, &listed.children[..]));
        self.store(listing, &added, &pruned).await
    }

    /// Writes to disk what changed: a folder's listing (if it has one), entries known or
    /// renamed, and what was pruned; one transaction.
    async fn store(
        &self,
        listing: Option<(u64, i64, &[u64])>,
        entries: &[Entry],
        pruned: &Pruned,
    ) -> Result<()> {
        let Some(db) = &self.db else { return Ok(()) };
        let mut tx = db.begin().await.map_err(Error::cache)?;
        for entry in entries {
            store_entry(&mut *tx, entry).await?;
        }
        if let Some((inode, at, children)) = listing {
            sqlx::query("insert or replace into listed (inode, at, children) values (?, ?, ?)")
                .bind(inode as i64)
                .bind(at)
                .bind(serde_json::to_string(children).expect("inodes serialise"))
                .execute(&mut *tx)
                .await
                .map_err(Error::cache)?;
        }
        let deletes = [
            ("delete from entries where inode = ?", &pruned.entries),
            ("delete from listed where inode = ?", &pruned.listed),
        ];
        for (delete, inodes) in deletes {
            for inode in inodes {
                sqlx::query(delete)
                    .bind(*inode as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::cache)?;
            }
        }
        tx.commit().await.map_err(Error::cache)
    }
}

/// A folder's entries as every command names them (folders first, then files).
fn entries_of(listing: &LsResponse) -> Vec<Entry> {
    let (folders, files) = named_entries(listing);
    let mut entries = Vec::with_capacity(folders.len() + files.len());
    for (name, folder) in folders {
        entries.push(Entry {
            inode: folder_inode(folder.id),
            name,
            size: 0,
            mtime: unix(&folder.create_date),
            kind: Kind::Folder { id: folder.id },
        });
    }
    for (name, listed) in files {
        let segments: Vec<Segment> = match &listed.parts {
            None => vec![Segment {
                link: listed.item.url.clone(),
                size: listed.item.size,
            }],
            Some(parts) => parts
                .iter()
                .map(|part| Segment {
                    link: part.url.clone(),
                    size: part.size,
                })
                .collect(),
        };
        entries.push(Entry {
            inode: file_inode(&listed.item.url),
            name,
            size: listed.size(),
            mtime: unix(&listed.item.date),
            kind: Kind::File {
                segments,
                whirlpool: listed.whirlpool().map(str::to_ascii_lowercase),
                manifest: listed.parts.is_some().then(|| listed.item.url.clone()),
            },
        });
    }
    entries
}

fn unix(date: &str) -> i64 {
    onefichier_protocol::date::parse_unix(date).unwrap_or(0)
}

async fn load(db: &SqlitePool, state: &mut State) -> Result<()> {
    for row in sqlx::query("select entry from entries")
        .fetch_all(db)
        .await
        .map_err(Error::cache)?
    {
        let text: String = row.get(0);
        if let Ok(entry) = serde_json::from_str::<Entry>(&text) {
            state.entries.insert(entry.inode, Arc::new(entry));
        }
    }
    for row in sqlx::query("select inode, at, children from listed")
        .fetch_all(db)
        .await
        .map_err(Error::cache)?
    {
        let (inode, at, children): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        if let Ok(children) = serde_json::from_str(&children) {
            state.listed.insert(inode as u64, Listed { at, children });
        }
    }
    Ok(())
}

async fn store_entry<'e>(db: impl sqlx::SqliteExecutor<'e>, entry: &Entry) -> Result<()> {
    sqlx::query("insert or replace into entries (inode, entry) values (?, ?)")
        .bind(entry.inode as i64)
        .bind(serde_json::to_string(entry).expect("an entry serialises"))
        .execute(db)
        .await
        .map_err(Error::cache)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> Entry {
        Entry {
            inode: file_inode(name),
            name: name.into(),
            size: 1,
            mtime: 0,
            kind: Kind::File {
                segments: vec![Segment {
                    link: name.into(),
                    size: 1,
                }],
                whirlpool: None,
                manifest: None,
            },
        }
    }

    fn folder(id: i64) -> Entry {
        Entry {
            inode: folder_inode(id),
            name: format!("folder {id}"),
            size: 0,
            mtime: 0,
            kind: Kind::Folder { id },
        }
    }

    #[tokio::test]
    async fn what_leaves_every_listing_leaves_the_tree_on_disk_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tree.sqlite");
        let tree = Tree::open(Some(&path)).await.unwrap();
        tree.set_root(1).await.unwrap();
        let (a, b, moved, inner) = (file("a"), file("b"), file("moved"), file("inner"));
        let (sub, other) = (folder(5), folder(6));
        let root_entries = vec![
            sub.clone(),
            other.clone(),
            a.clone(),
            b.clone(),
            moved.clone(),
        ];
        tree.set_children(ROOT_INODE, root_entries, 1)
            .await
            .unwrap();
        tree.set_children(sub.inode, vec![inner.clone()], 1)
            .await
            .unwrap();
        tree.set_children(other.inode, vec![], 1).await.unwrap();
        // `b` was removed, the subfolder with what it held too, and `moved` went to `other`.
        tree.set_children(other.inode, vec![moved.clone()], 2)
            .await
            .unwrap();
        tree.set_children(ROOT_INODE, vec![other.clone(), a.clone()], 2)
            .await
            .unwrap();
        drop(tree);
        let tree = Tree::open(Some(&path)).await.unwrap();
        for kept in [&a, &moved, &other] {
            assert!(tree.entry(kept.inode).is_some(), "{} stays", kept.name);
        }
        for gone in [&b, &sub, &inner] {
            assert!(
                tree.entry(gone.inode).is_none(),
                "{} is forgotten",
                gone.name
            );
        }
        assert!(
            tree.children(sub.inode).is_none(),
            "so is the folder's listing"
        );
        // Our own removal (a patch) likewise.
        tree.patch(other.inode, &[moved.inode], vec![])
            .await
            .unwrap();
        assert!(tree.entry(moved.inode).is_none());
    }

    #[test]
    fn inodes_are_stable_and_never_collide_between_folders_and_files() {
        assert_eq!(folder_inode(0), 2);
        assert_eq!(folder_inode(41), 43);
        let file = file_inode("https://1fichier.com/?abc");
        assert_eq!(file, file_inode("https://1fichier.com/?abc"));
        assert_ne!(file & FILE_BIT, 0);
        assert_eq!(folder_inode(i64::MAX) & FILE_BIT, 0);
    }
}
