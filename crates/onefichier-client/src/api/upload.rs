use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::Endpoint;
use onefichier_protocol::NoParameters;
use onefichier_protocol::upload::UploadServer;

impl Client {
    /// `upload/get_upload_server.cgi`: a node and a fresh single-use upload id (fetch one per
    /// upload). Works without a key (anonymous uploads).
    pub async fn upload_server(&self) -> Result<UploadServer> {
        self.call(
            Endpoint::UploadGetUploadServer,
            Budget::Call,
            &NoParameters {},
        )
        .await
    }
}
