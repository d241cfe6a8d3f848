//! Kept listings patched after this client's own changes, so that the next `ls` of a folder it
//! changed costs no listing (the service lets a folder be listed once per 30 s): files removed,
//! moved, renamed, copied or re-flagged, folders removed, moved or renamed. Whatever cannot be
//! patched for sure (a file not in any kept listing) drops that one listing, never all of them.

use crate::Client;
use onefichier_protocol::file::FileItem;
use onefichier_protocol::folder::{LsResponse, SubFolder};
use std::collections::{HashMap, HashSet};

fn recount(listing: &mut LsResponse) {
    if let Some(items) = &listing.items {
        listing.files = items.len() as u64;
        let size: u64 = items.iter().map(|item| item.size).sum();
        listing.size = (!items.is_empty()).then_some(size);
    }
}

impl Client {
    /// Takes the files of these links out of every kept listing; returns them, by link.
    pub(crate) fn unlist_files(&self, links: &HashSet<&str>) -> HashMap<String, FileItem> {
        let mut taken = HashMap::new();
        self.inner.listings.patch_every(|_, listing| {
            let Some(items) = listing.items.as_mut() else {
                return false;
            };
            let before = items.len();
            items.retain(|item| {
                let gone = links.contains(item.url.as_str());
                if gone {
                    taken.insert(item.url.clone(), item.clone());
                }
                !gone
            });
            let changed = items.len() != before;
            if changed {
                recount(listing);
            }
            changed
        });
        taken
    }

    /// The files of these links as kept listings show them, by link (those no kept listing
    /// has are missing).
    pub(crate) fn kept_files(&self, links: &HashSet<&str>) -> HashMap<String, FileItem> {
        let mut found = HashMap::new();
        self.inner.listings.patch_every(|_, listing| {
            for item in listing.items.iter().flatten() {
                if links.contains(item.url.as_str()) {
                    found.insert(item.url.clone(), item.clone());
                }
            }
            false
        });
        found
    }

    /// Adds files to the kept listing of `folder`, if one is kept; with `complete` false (some
    /// file was not known), the listing is dropped instead.
    pub(crate) fn list_files(&self, folder: i64, items: Vec<FileItem>, complete: bool) {
        if !complete {
            self.inner.listings.forget(folder);
            return;
        }
        self.inner.listings.patch(folder, |listing| {
            if let Some(kept) = listing.items.as_mut() {
                kept.extend(items);
                recount(listing);
            }
        });
    }

    /// Changes, in every kept listing, the files `change` says it changed.
    pub(crate) fn relist_files(&self, mut change: impl FnMut(&mut FileItem) -> bool) {
        self.inner.listings.patch_every(|_, listing| {
            let mut changed = false;
            for item in listing.items.iter_mut().flatten() {
                changed |= change(item);
            }
            changed
        });
    }

    /// Takes folder `id` out of the kept listings of its parent; returns its entry and the
    /// parent's id, when a kept listing had it.
    pub(crate) fn unlist_folder(&self, id: i64) -> Option<(i64, SubFolder)> {
        let mut taken = None;
        self.inner.listings.patch_every(|parent, listing| {
            let before = listing.sub_folders.len();
            listing.sub_folders.retain(|sub| {
                if sub.id == id {
                    taken = Some((parent, sub.clone()));
                }
                sub.id != id
            });
            listing.sub_folders.len() != before
        });
        taken
    }

    /// Adds a folder to the kept listing of `parent` (drops that listing when the entry is not
    /// known).
    pub(crate) fn list_folder_entry(&self, parent: i64, entry: Option<SubFolder>) {
        match entry {
            Some(entry) => self.inner.listings.patch(parent, |listing| {
                listing.sub_folders.push(entry);
            }),
            None => self.inner.listings.forget(parent),
        }
    }
}
