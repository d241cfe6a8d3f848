use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use crate::redact::RedactedUrl;
use onefichier_protocol::Endpoint;
use onefichier_protocol::download::{GetTokenRequest, GetTokenResponse};

impl Client {
    /// `download/get_token.cgi`: a direct URL, valid 5 minutes, resumable for 30 once started.
    /// The URL carries a token: it is returned as a [`RedactedUrl`].
    pub async fn download_token(&self, request: &GetTokenRequest) -> Result<RedactedUrl> {
        let answer: GetTokenResponse = self
            .call(Endpoint::DownloadGetToken, Budget::Call, request)
            .await?;
        Ok(RedactedUrl::new(answer.url))
    }
}
