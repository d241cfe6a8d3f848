use crate::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::governor::Budget;
use onefichier_protocol::file::{self, FileItem};
use onefichier_protocol::folder::{
    LsRequest, LsResponse, MkdirRequest, MkdirResponse, MvRequest, MvResponse, RmRequest,
    ShareRequest, ShareResponse, SubFolder,
};
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::{Endpoint, StatusResponse, date};
use std::collections::HashSet;

/// Most files a folder's listing may claim: beyond, the answer is not believed (a real folder
/// of the service holds far fewer; reading it would take a thousand listings).
const MAX_FOLDER_FILES: u64 = 5_000_000;
/// Most `file/ls` calls spent reading past a capped listing (5,000 files each on the service).
const MAX_READ_ON_CALLS: u32 = 1_000;

impl Client {
    /// `folder/ls.cgi`: a folder's details and sub-folders (and files with `files: 1`).
    pub async fn folder_ls(&self, request: &LsRequest) -> Result<LsResponse> {
        let folder = request.folder_id.unwrap_or(0);
        self.call(Endpoint::FolderLs, Budget::Listing(folder), request)
            .await
    }

    /// A folder's sub-folders and all its files, cached while the folder's listing budget runs
    /// (the same folder may be listed once per 30 s on the live service). One call, unless the
    /// folder holds more files than a listing returns (5,000 on the live service): then the
    /// rest is read through `file/ls` date windows, so that no file is silently left out.
    pub async fn list_folder(&self, folder_id: i64) -> Result<LsResponse> {
        if let Some(kept) = self.inner.listings.get(folder_id) {
            return Ok(kept);
        }
        let mut listing = self
            .folder_ls(&LsRequest {
                folder_id: Some(folder_id),
                files: Some(Flag(true)),
                ..LsRequest::default()
            })
            .await?;
        if let Some(items) = listing.items.as_mut() {
            self.read_on(folder_id, listing.files, items).await?;
        }
        self.inner.listings.put(folder_id, &listing);
        Ok(listing)
    }

    /// Adds to `items` the files of the folder a capped listing left out, until there are
    /// `total`. The order of a capped answer is not documented, so the files sent after the
    /// newest one known are asked for first, then those sent before the oldest. Each window
    /// starts one second inside the known range (dates have whole seconds: files of that second
    /// may straddle the cut), and the files already known are dropped.
    async fn read_on(&self, folder_id: i64, total: u64, items: &mut Vec<FileItem>) -> Result<()> {
        if total > MAX_FOLDER_FILES {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                Endpoint::FolderLs.path(),
                format!(
                    "folder {folder_id} is said to hold {total} files, more than any folder this \
                     client reads ({MAX_FOLDER_FILES}): not listed"
                ),
            ));
        }
        let mut known: HashSet<String> = items.iter().map(|item| item.url.clone()).collect();
        let mut calls = 0;
        while (items.len() as u64) < total {
            // Each call brings new files or the reading stops; a server that trickles them
            // one by one is cut off all the same.
            calls += 1;
            if calls > MAX_READ_ON_CALLS {
                return Err(Error::new(
                    ErrorKind::UnexpectedResponse,
                    Endpoint::FileLs.path(),
                    format!(
                        "folder {folder_id}: {} of its {total} files after {MAX_READ_ON_CALLS} \
                         listings: stopped",
                        items.len()
                    ),
                ));
            }
            let seconds: Vec<i64> = items
                .iter()
                .filter_map(|item| date::parse_unix(&item.date).ok())
                .collect();
            let (Some(&oldest), Some(&newest)) = (seconds.iter().min(), seconds.iter().max())
            else {
                break;
            };
            let windows = [
                file::LsRequest {
                    folder_id: Some(folder_id),
                    sent_after: Some(date::format_unix(newest - 1)),
                    ..file::LsRequest::default()
                },
                file::LsRequest {
                    folder_id: Some(folder_id),
                    sent_before: Some(date::format_unix(oldest + 1)),
                    ..file::LsRequest::default()
                },
            ];
            let mut added = 0;
            for window in &windows {
                for item in self.file_ls(window).await?.items {
                    if known.insert(item.url.clone()) {
                        items.push(item);
                        added += 1;
                    }
                }
                if added > 0 {
                    break;
                }
            }
            if added == 0 {
                break;
            }
        }
        if (items.len() as u64) < total {
            // Only possible if more files than one listing returns share a second, or if the
            // count means something else than the listings: say so, keep what was found.
            tracing::warn!(
                folder_id,
                total,
                listed = items.len(),
                "the folder counts more files than its listings return"
            );
        }
        Ok(())
    }

    /// `folder/mkdir.cgi`: creates a folder in `parent` (0 = root).
    pub async fn folder_mkdir(&self, name: &str, parent: i64) -> Result<MkdirResponse> {
        let request = MkdirRequest {
            name: name.to_owned(),
            folder_id: Some(parent),
            sharing_user: None,
        };
        let answer = self
            .call::<_, MkdirResponse>(Endpoint::FolderMkdir, Budget::Call, &request)
            .await;
        match &answer {
            // The parent gains a sub-folder, and the new folder is known to be empty: neither
            // needs listing again.
            Ok(made) => {
                let created = date::format_unix(jiff::Timestamp::now().as_second());
                self.inner.listings.patch(parent, |listing| {
                    listing.sub_folders.push(SubFolder {
                        id: made.folder_id,
                        name: name.to_owned(),
                        create_date: created.clone(),
                        pass: Flag(false),
                    });
                });
                self.inner.listings.put(
                    made.folder_id,
                    &LsResponse {
                        folder_id: made.folder_id,
                        name: name.to_owned(),
                        create_date: Some(created),
                        items: Some(Vec::new()),
                        ..LsResponse::default()
                    },
                );
            }
            Err(_) => self.inner.listings.forget(parent),
        }
        answer
    }

    /// `folder/share.cgi`: public share and groupware shares.
    pub async fn folder_share(&self, request: &ShareRequest) -> Result<ShareResponse> {
        let answer = self
            .call(Endpoint::FolderShare, Budget::Call, request)
            .await;
        // The folder's own listing says how it is shared; its parent's shows the password flag.
        let folder = request.folder_id.unwrap_or(0);
        self.inner.listings.forget(folder);
        if let Some(pass) = &request.pass {
            let protected = !pass.is_empty();
            self.inner.listings.patch_every(|_, listing| {
                let mut changed = false;
                for sub in listing.sub_folders.iter_mut().filter(|s| s.id == folder) {
                    sub.pass = Flag(protected);
                    changed = true;
                }
                changed
            });
        }
        answer
    }

    /// `folder/mv.cgi`: moves and/or renames a folder.
    pub async fn folder_mv(&self, request: &MvRequest) -> Result<MvResponse> {
        let answer = self.call(Endpoint::FolderMv, Budget::Call, request).await;
        self.invalidate_paths();
        let Some(folder) = request.folder_id.filter(|_| answer.is_ok()) else {
            self.invalidate_listings();
            return answer;
        };
        let mut entry = self.unlist_folder(folder);
        let parent = entry.as_ref().map(|(parent, _)| *parent);
        if let (Some(name), Some((_, sub))) = (&request.rename, entry.as_mut()) {
            sub.name.clone_from(name);
        }
        let destination = match (request.destination_folder_id, parent) {
            (Some(to), _) if request.destination_user.is_none() => Some(to),
            (Some(_), _) => None,
            // Renamed in place: back into its parent.
            (None, Some(parent)) => Some(parent),
            (None, None) => None,
        };
        if let Some(destination) = destination {
            self.list_folder_entry(destination, entry.map(|(_, sub)| sub));
        }
        answer
    }

    /// `folder/rm.cgi`: deletes an empty folder.
    pub async fn folder_rm(&self, folder_id: i64) -> Result<StatusResponse> {
        let request = RmRequest {
            folder_id: Some(folder_id),
        };
        let answer = self.call(Endpoint::FolderRm, Budget::Call, &request).await;
        self.invalidate_paths();
        if answer.is_ok() {
            self.unlist_folder(folder_id);
            self.inner.listings.forget(folder_id);
        } else {
            self.invalidate_listings();
        }
        answer
    }
}
