use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::Endpoint;
use onefichier_protocol::NoParameters;
use onefichier_protocol::remote::{Info, InfoRequest, LsResponse, RequestRequest, RequestResponse};

impl Client {
    /// `remote/ls.cgi`: the account's remote-upload jobs.
    pub async fn remote_ls(&self) -> Result<LsResponse> {
        self.call(Endpoint::RemoteLs, Budget::Call, &NoParameters {})
            .await
    }

    /// `remote/info.cgi`: one job and its per-URL results.
    pub async fn remote_info(&self, id: i64) -> Result<Info> {
        let request = InfoRequest { id: Some(id) };
        self.call(Endpoint::RemoteInfo, Budget::Call, &request)
            .await
    }

    /// `remote/request.cgi`: asks the service to fetch URLs into the account.
    pub async fn remote_request(&self, request: &RequestRequest) -> Result<RequestResponse> {
        let answer = self
            .call(Endpoint::RemoteRequest, Budget::Call, request)
            .await;
        // The fetched files will land in the destination (the root unless named).
        self.inner.listings.forget(request.folder_id.unwrap_or(0));
        answer
    }
}
