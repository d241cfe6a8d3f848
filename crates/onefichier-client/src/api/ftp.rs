use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::NoParameters;
use onefichier_protocol::ftp::{UserAddRequest, UserRmRequest, UsersLsResponse};
use onefichier_protocol::{Endpoint, StatusResponse};

impl Client {
    /// `ftp/process.cgi`: processes files uploaded by FTP (manual mode).
    pub async fn ftp_process(&self) -> Result<StatusResponse> {
        self.call(Endpoint::FtpProcess, Budget::Call, &NoParameters {})
            .await
    }

    /// `ftp/users/ls.cgi`: the FTP sub-accounts.
    pub async fn ftp_users(&self) -> Result<UsersLsResponse> {
        self.call(Endpoint::FtpUsersLs, Budget::Call, &NoParameters {})
            .await
    }

    /// `ftp/users/add.cgi`: creates an FTP sub-account.
    pub async fn ftp_user_add(&self, request: &UserAddRequest) -> Result<StatusResponse> {
        self.call(Endpoint::FtpUsersAdd, Budget::Call, request)
            .await
    }

    /// `ftp/users/rm.cgi`: deletes an FTP sub-account.
    pub async fn ftp_user_rm(&self, user: &str) -> Result<StatusResponse> {
        let request = UserRmRequest {
            user: user.to_owned(),
        };
        self.call(Endpoint::FtpUsersRm, Budget::Call, &request)
            .await
    }
}
