use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::Endpoint;
use onefichier_protocol::date;
use onefichier_protocol::file::FileItem;
use onefichier_protocol::file::{
    ChattrRequest, ChattrResponse, CpRequest, CpResponse, FileInfo, InfoRequest, LsRequest,
    LsResponse, MvRequest, MvResponse, RenameItem, RenameRequest, RenameResponse, RmFile,
    RmRequest, RmResponse, ScanRequest, ScanResponse,
};
use onefichier_protocol::ids::ALL_FILES;
use onefichier_protocol::lenient::Flag;
use std::collections::{HashMap, HashSet};

/// Files removed per `file/rm` call: a request of a bounded size whatever the caller asks.
pub(crate) const REMOVALS_PER_CALL: usize = 100;

impl Client {
    /// `file/ls.cgi`: the files of a folder (0 = root; -1 = every file, once an hour).
    pub async fn file_ls(&self, request: &LsRequest) -> Result<LsResponse> {
        let folder = request.folder_id.unwrap_or(0);
        let budget = if folder == ALL_FILES {
            Budget::AllFiles
        } else {
            Budget::Listing(folder)
        };
        self.call(Endpoint::FileLs, budget, request).await
    }

    /// `file/info.cgi`: a file's details.
    pub async fn file_info(&self, url: &str, pass: Option<&str>) -> Result<FileInfo> {
        let request = InfoRequest {
            url: Some(url.to_owned()),
            pass: pass.map(str::to_owned),
            ..InfoRequest::default()
        };
        self.call(Endpoint::FileInfo, Budget::Call, &request).await
    }

    /// `file/scan.cgi`: an antivirus scan; an infected file is deleted and this fails with
    /// [`crate::ErrorKind::Infected`].
    pub async fn file_scan(&self, url: &str) -> Result<ScanResponse> {
        let request = ScanRequest {
            url: url.to_owned(),
        };
        let answer = self.call(Endpoint::FileScan, Budget::Call, &request).await;
        if answer
            .as_ref()
            .is_err_and(|e| e.kind() == crate::ErrorKind::Infected)
        {
            self.unlist_files(&HashSet::from([url]));
        }
        answer
    }

    /// `file/rm.cgi`: deletes files (a removal code is needed for anonymous uploads), at most
    /// `REMOVALS_PER_CALL` (100) a call; the answers are summed. Stops at the first call that fails
    /// (the files of the calls before are deleted).
    pub async fn file_rm(&self, files: &[RmFile]) -> Result<RmResponse> {
        let mut total = RmResponse::default();
        for batch in files.chunks(REMOVALS_PER_CALL) {
            let request = RmRequest {
                files: batch.to_vec(),
            };
            let answer: RmResponse = match self.call(Endpoint::FileRm, Budget::Call, &request).await
            {
                Ok(answer) => answer,
                Err(error) => {
                    // Some may be gone: what is kept is no longer known to be right.
                    self.invalidate_listings();
                    return Err(error);
                }
            };
            self.unlist_files(&batch.iter().map(|f| f.url.as_str()).collect());
            total.removed += answer.removed;
            total.urls.extend(answer.urls);
        }
        Ok(total)
    }

    /// `file/mv.cgi`: moves files (links stay the same), optionally renaming one.
    pub async fn file_mv(&self, request: &MvRequest) -> Result<MvResponse> {
        let answer = self.call(Endpoint::FileMv, Budget::Call, request).await;
        if answer.is_err() {
            self.invalidate_listings();
            return answer;
        }
        let mut moved = self.unlist_files(&request.urls.iter().map(String::as_str).collect());
        if let Some(destination) = request.destination_folder_id
            && request.destination_user.is_none()
        {
            let complete = moved.len() == request.urls.len();
            let mut items: Vec<FileItem> = request
                .urls
                .iter()
                .filter_map(|url| moved.remove(url))
                .collect();
            if let (Some(name), [item]) = (&request.rename, items.as_mut_slice()) {
                item.filename.clone_from(name);
            }
            self.list_files(destination, items, complete);
        }
        answer
    }

    /// `file/rename.cgi`: renames files in place.
    pub async fn file_rename(&self, items: &[RenameItem]) -> Result<RenameResponse> {
        let request = RenameRequest {
            urls: items.to_vec(),
        };
        let answer = self
            .call(Endpoint::FileRename, Budget::Call, &request)
            .await;
        if answer.is_err() {
            self.invalidate_listings();
            return answer;
        }
        let names: HashMap<&str, &str> = items
            .iter()
            .map(|i| (i.url.as_str(), i.filename.as_str()))
            .collect();
        self.relist_files(|item| match names.get(item.url.as_str()) {
            Some(name) => {
                item.filename = (*name).to_owned();
                true
            }
            None => false,
        });
        answer
    }

    /// `file/cp.cgi`: copies (or imports) files; copies get new links.
    pub async fn file_cp(&self, request: &CpRequest) -> Result<CpResponse> {
        let answer = self.call(Endpoint::FileCp, Budget::Call, request).await;
        // Copies are new files of the destination (the root unless named); their sources, if a
        // kept listing has them, say what they are.
        let destination = request.folder_id.unwrap_or(0);
        let copied = match &answer {
            Ok(copied) => copied,
            Err(_) => {
                self.inner.listings.forget(destination);
                return answer;
            }
        };
        let known = self.kept_files(&copied.urls.iter().map(|c| c.from_url.as_str()).collect());
        let now = date::format_unix(jiff::Timestamp::now().as_second());
        let copies: Vec<FileItem> = copied
            .urls
            .iter()
            .filter_map(|c| {
                known.get(&c.from_url).map(|source| FileItem {
                    url: c.to_url.clone(),
                    date: now.clone(),
                    ..source.clone()
                })
            })
            .collect();
        let complete = copies.len() == copied.urls.len() && request.pass.is_none();
        self.list_files(destination, copies, complete);
        answer
    }

    /// `file/chattr.cgi`: changes the attributes present in `request`.
    pub async fn file_chattr(&self, request: &ChattrRequest) -> Result<ChattrResponse> {
        let answer = self.call(Endpoint::FileChattr, Budget::Call, request).await;
        if answer.is_err() {
            self.invalidate_listings();
            return answer;
        }
        // Listings show names and the password, access-list and CDN flags, not descriptions
        // or delivery settings: those are patched where kept.
        let links: HashSet<&str> = request.urls.iter().map(String::as_str).collect();
        self.relist_files(|item| {
            if !links.contains(item.url.as_str()) {
                return false;
            }
            if let Some(name) = &request.filename {
                item.filename.clone_from(name);
            }
            if let Some(pass) = &request.pass {
                item.pass = Flag(!pass.is_empty());
            }
            if let Some(cdn) = request.cdn {
                item.cdn = cdn;
            }
            if let Some(acl) = &request.acl {
                item.acl = Flag(!acl.is_empty());
            }
            true
        });
        answer
    }
}
