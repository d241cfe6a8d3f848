//! Folder listings, kept while the service would refuse to list the folder again (30 s on the
//! live service): shared by the tasks of a process and, through private files beside the
//! governor's state, by every process using the same API URL and key, so that `ls X; ls X`
//! costs one listing. This client's own changes patch or drop what they touch, so a listing
//! served from here is never staler than what the service itself would let one see.

use onefichier_protocol::folder::LsResponse;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A listing and when it was read (Unix milliseconds).
#[derive(Clone, Serialize, Deserialize)]
struct Kept {
    at: u64,
    listing: LsResponse,
}

pub(crate) struct ListingCache {
    memory: Mutex<HashMap<i64, Kept>>,
    /// Where listings are shared with other processes (none: this process only).
    dir: Option<PathBuf>,
    /// How long a listing stays good: the folder-listing budget.
    validity: Duration,
    /// Never serve a kept listing (`--fresh`); listings read are still kept for others.
    fresh: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ListingCache {
    pub(crate) fn new(dir: Option<PathBuf>, validity: Duration, fresh: bool) -> Self {
        Self {
            memory: Mutex::new(HashMap::new()),
            dir,
            validity,
            fresh,
        }
    }

    /// Whether this run asked for everything anew (`--fresh`).
    pub(crate) fn fresh(&self) -> bool {
        self.fresh
    }

    fn file(&self, folder_id: i64) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{folder_id}.json")))
    }

    fn good(&self, kept: &Kept) -> bool {
        now_ms().saturating_sub(kept.at) < u64::try_from(self.validity.as_millis()).unwrap_or(0)
    }

    /// The folder's listing, if one was read (by this process or another) within its budget.
    pub(crate) fn get(&self, folder_id: i64) -> Option<LsResponse> {
        if self.fresh || self.validity.is_zero() {
            return None;
        }
        if let Some(kept) = self
            .memory
            .lock()
            .expect("listing cache lock")
            .get(&folder_id)
            && self.good(kept)
        {
            return Some(kept.listing.clone());
        }
        let text = std::fs::read(self.file(folder_id)?).ok()?;
        let kept: Kept = serde_json::from_slice(&text).ok()?;
        if !self.good(&kept) {
            return None;
        }
        let listing = kept.listing.clone();
        self.memory
            .lock()
            .expect("listing cache lock")
            .insert(folder_id, kept);
        Some(listing)
    }

    /// Keeps a listing just read.
    pub(crate) fn put(&self, folder_id: i64, listing: &LsResponse) {
        self.keep(
            folder_id,
            Kept {
                at: now_ms(),
                listing: listing.clone(),
            },
        );
    }

    fn keep(&self, folder_id: i64, kept: Kept) {
        if self.validity.is_zero() {
            return;
        }
        if let Some(path) = self.file(folder_id)
            && let Err(error) = write_private(&path, &kept)
        {
            tracing::debug!(%error, "listing not shared");
        }
        self.memory
            .lock()
            .expect("listing cache lock")
            .insert(folder_id, kept);
    }

    /// Changes a kept listing after this client changed the folder (it keeps its age: the
    /// service's own view is no older).
    pub(crate) fn patch(&self, folder_id: i64, change: impl FnOnce(&mut LsResponse)) {
        let kept = self
            .memory
            .lock()
            .expect("listing cache lock")
            .get(&folder_id)
            .cloned();
        let kept = kept.or_else(|| {
            let text = std::fs::read(self.file(folder_id)?).ok()?;
            serde_json::from_slice::<Kept>(&text).ok()
        });
        match kept {
            Some(mut kept) if self.good(&kept) => {
                change(&mut kept.listing);
                self.keep(folder_id, kept);
            }
            _ => self.forget(folder_id),
        }
    }

    /// Changes every kept listing that `change` says it changed (after a change made by link,
    /// whose folders are not named): each keeps its age.
    pub(crate) fn patch_every(&self, mut change: impl FnMut(i64, &mut LsResponse) -> bool) {
        let mut kept: HashMap<i64, Kept> = self.memory.lock().expect("listing cache lock").clone();
        if let Some(dir) = &self.dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for entry in entries.flatten() {
                let path = entry.path();
                let id = path
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .and_then(|stem| stem.parse::<i64>().ok());
                if let Some(id) = id
                    && !kept.contains_key(&id)
                    && let Ok(text) = std::fs::read(&path)
                    && let Ok(found) = serde_json::from_slice::<Kept>(&text)
                {
                    kept.insert(id, found);
                }
            }
        }
        for (id, mut listing) in kept {
            if self.good(&listing) && change(id, &mut listing.listing) {
                self.keep(id, listing);
            }
        }
    }

    /// Forgets one folder's listing.
    pub(crate) fn forget(&self, folder_id: i64) {
        self.memory
            .lock()
            .expect("listing cache lock")
            .remove(&folder_id);
        if let Some(path) = self.file(folder_id) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Forgets every listing (after a change whose folders are not known).
    pub(crate) fn forget_all(&self) {
        self.memory.lock().expect("listing cache lock").clear();
        if let Some(dir) = &self.dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Writes `kept` where other processes read it: owner-only, whole or not at all.
fn write_private(path: &std::path::Path, kept: &Kept) -> std::io::Result<()> {
    use std::io::Write;
    crate::private_files::create_private_dir(
        path.parent().expect("listing files live in a folder"),
    )?;
    let json = serde_json::to_vec(kept).map_err(std::io::Error::other)?;
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(&json)?;
    drop(file);
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(name: &str) -> LsResponse {
        LsResponse {
            name: name.to_owned(),
            ..LsResponse::default()
        }
    }

    #[test]
    fn listings_are_shared_through_files_while_their_budget_runs() {
        let dir = tempfile::tempdir().unwrap();
        let one = ListingCache::new(Some(dir.path().join("l")), Duration::from_secs(30), false);
        let other = ListingCache::new(Some(dir.path().join("l")), Duration::from_secs(30), false);
        one.put(7, &listing("seven"));
        assert_eq!(
            other.get(7).unwrap().name,
            "seven",
            "another process sees it"
        );
        other.patch(7, |l| l.name = "patched".to_owned());
        assert_eq!(
            ListingCache::new(Some(dir.path().join("l")), Duration::from_secs(30), false)
                .get(7)
                .unwrap()
                .name,
            "patched"
        );
        one.forget(7);
        assert!(
            ListingCache::new(Some(dir.path().join("l")), Duration::from_secs(30), false)
                .get(7)
                .is_none()
        );
        let fresh = ListingCache::new(Some(dir.path().join("l")), Duration::from_secs(30), true);
        one.put(8, &listing("eight"));
        assert!(
            fresh.get(8).is_none(),
            "--fresh never serves a kept listing"
        );
        let expired =
            ListingCache::new(Some(dir.path().join("l")), Duration::from_millis(1), false);
        std::thread::sleep(Duration::from_millis(5));
        assert!(expired.get(8).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("l/8.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
    }
}
