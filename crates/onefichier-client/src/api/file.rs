use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::Endpoint;
use onefichier_protocol::file::{
    ChattrRequest, ChattrResponse, CpRequest, CpResponse, FileInfo, InfoRequest, LsRequest,
    LsResponse, MvRequest, MvResponse, RenameItem, RenameRequest, RenameResponse, RmFile,
    RmRequest, RmResponse, ScanRequest, ScanResponse,
};
use onefichier_protocol::ids::ALL_FILES;

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
        self.invalidate_listings();
        answer
    }

    /// `file/rm.cgi`: deletes files (a removal code is needed for anonymous uploads).
    pub async fn file_rm(&self, files: &[RmFile]) -> Result<RmResponse> {
        let request = RmRequest {
            files: files.to_vec(),
        };
        let answer = self.call(Endpoint::FileRm, Budget::Call, &request).await;
        self.invalidate_listings();
        answer
    }

    /// `file/mv.cgi`: moves files (links stay the same), optionally renaming one.
    pub async fn file_mv(&self, request: &MvRequest) -> Result<MvResponse> {
        let answer = self.call(Endpoint::FileMv, Budget::Call, request).await;
        self.invalidate_listings();
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
        self.invalidate_listings();
        answer
    }

    /// `file/cp.cgi`: copies (or imports) files; copies get new links.
    pub async fn file_cp(&self, request: &CpRequest) -> Result<CpResponse> {
        let answer = self.call(Endpoint::FileCp, Budget::Call, request).await;
        self.invalidate_listings();
        answer
    }

    /// `file/chattr.cgi`: changes the attributes present in `request`.
    pub async fn file_chattr(&self, request: &ChattrRequest) -> Result<ChattrResponse> {
        let answer = self.call(Endpoint::FileChattr, Budget::Call, request).await;
        // Listings show names and the password, access-list and CDN flags, not descriptions
        // or delivery settings: tagging a file's time keeps every kept listing good.
        let listed = request.filename.is_some()
            || request.pass.is_some()
            || request.cdn.is_some()
            || request.acl.is_some();
        if listed {
            self.invalidate_listings();
        }
        answer
    }
}
