use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::NoParameters;
use onefichier_protocol::vouchers::{CheckRequest, CheckResponse, LsResponse, UseRequest};
use onefichier_protocol::{Endpoint, StatusResponse};

impl Client {
    /// `vouchers/ls.cgi`: unused vouchers (resellers).
    pub async fn vouchers(&self) -> Result<LsResponse> {
        self.call(Endpoint::VouchersLs, Budget::Call, &NoParameters {})
            .await
    }

    /// `vouchers/check.cgi`: whether a voucher is valid, and what it buys.
    pub async fn voucher_check(&self, voucher: &str) -> Result<CheckResponse> {
        let request = CheckRequest {
            voucher: voucher.to_owned(),
        };
        self.call(Endpoint::VouchersCheck, Budget::Call, &request)
            .await
    }

    /// `vouchers/use.cgi`: applies a voucher to a user's account.
    pub async fn voucher_use(&self, voucher: &str, user_email: &str) -> Result<StatusResponse> {
        let request = UseRequest {
            voucher: voucher.to_owned(),
            user_email: user_email.to_owned(),
        };
        self.call(Endpoint::VouchersUse, Budget::Call, &request)
            .await
    }
}
