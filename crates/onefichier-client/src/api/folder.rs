use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::folder::{
    LsRequest, LsResponse, MkdirRequest, MkdirResponse, MvRequest, MvResponse, RmRequest,
    ShareRequest, ShareResponse,
};
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::{Endpoint, StatusResponse};

impl Client {
    /// `folder/ls.cgi`: a folder's details and sub-folders (and files with `files: 1`).
    pub async fn folder_ls(&self, request: &LsRequest) -> Result<LsResponse> {
        let folder = request.folder_id.unwrap_or(0);
        self.call(Endpoint::FolderLs, Budget::Listing(folder), request)
            .await
    }

    /// A folder's sub-folders and files in one call, cached while the folder's listing budget
    /// runs (the same folder may be listed once per 30 s on the live service).
    pub async fn list_folder(&self, folder_id: i64) -> Result<LsResponse> {
        if let Some(cached) = self.cached_listing(folder_id) {
            return Ok(cached);
        }
        let listing = self
            .folder_ls(&LsRequest {
                folder_id: Some(folder_id),
                files: Some(Flag(true)),
                ..LsRequest::default()
            })
            .await?;
        self.store_listing(folder_id, &listing);
        Ok(listing)
    }

    /// `folder/mkdir.cgi`: creates a folder in `parent` (0 = root).
    pub async fn folder_mkdir(&self, name: &str, parent: i64) -> Result<MkdirResponse> {
        let request = MkdirRequest {
            name: name.to_owned(),
            folder_id: Some(parent),
            sharing_user: None,
        };
        let answer = self
            .call(Endpoint::FolderMkdir, Budget::Call, &request)
            .await;
        self.invalidate_listings();
        answer
    }

    /// `folder/share.cgi`: public share and groupware shares.
    pub async fn folder_share(&self, request: &ShareRequest) -> Result<ShareResponse> {
        let answer = self
            .call(Endpoint::FolderShare, Budget::Call, request)
            .await;
        self.invalidate_listings();
        answer
    }

    /// `folder/mv.cgi`: moves and/or renames a folder.
    pub async fn folder_mv(&self, request: &MvRequest) -> Result<MvResponse> {
        let answer = self.call(Endpoint::FolderMv, Budget::Call, request).await;
        self.invalidate_listings();
        self.invalidate_paths();
        answer
    }

    /// `folder/rm.cgi`: deletes an empty folder.
    pub async fn folder_rm(&self, folder_id: i64) -> Result<StatusResponse> {
        let request = RmRequest {
            folder_id: Some(folder_id),
        };
        let answer = self.call(Endpoint::FolderRm, Budget::Call, &request).await;
        self.invalidate_listings();
        self.invalidate_paths();
        answer
    }
}
