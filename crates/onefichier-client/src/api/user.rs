use crate::Client;
use crate::error::Result;
use crate::governor::Budget;
use onefichier_protocol::Endpoint;
use onefichier_protocol::user::{InfoRequest, UserInfo};
use std::time::Duration;

impl Client {
    /// `user/info.cgi`: the account. The answer is cached (and shared with other processes
    /// using the key) for the `user/info` budget, once per 5 minutes on the live service.
    pub async fn user_info(&self) -> Result<UserInfo> {
        // While the budget runs, another task or process may be fetching the answer: wait in
        // short steps and take it when it appears.
        let governor = &self.inner.governor;
        let mut announced = false;
        loop {
            if let Some(cached) = governor.cached_user_info().await
                && let Ok(info) = serde_json::from_value(cached)
            {
                return Ok(info);
            }
            match governor.try_acquire(Budget::UserInfo).await {
                None => break,
                Some((duration, reason)) => {
                    // Said once: the loop looks again every half second.
                    if !announced {
                        governor.announce(&crate::wait::Wait {
                            reason,
                            duration,
                            operation: Endpoint::UserInfo.path(),
                        })?;
                        announced = true;
                    }
                    tokio::time::sleep(duration.min(Duration::from_millis(500))).await;
                }
            }
        }
        // The user/info budget is spent above; the call itself pays only the pacing. Its
        // window then starts again from the answer, or is given back if the call was never
        // counted, as every call's is (`Client::send`).
        let info: UserInfo = match self
            .call(Endpoint::UserInfo, Budget::Call, &InfoRequest::default())
            .await
        {
            Ok(info) => {
                governor.settle(Budget::UserInfo).await;
                info
            }
            Err(error) => {
                if crate::client::not_executed(&error) {
                    governor.release(Budget::UserInfo).await;
                }
                return Err(error);
            }
        };
        if !self.budgets().user_info_interval.is_zero()
            && let Ok(value) = serde_json::to_value(&info)
        {
            self.inner.governor.store_user_info(value).await;
        }
        Ok(info)
    }

    /// `user/info.cgi` with settings: sets the preferences present in `settings`.
    pub async fn set_user_info(&self, settings: &InfoRequest) -> Result<UserInfo> {
        let info: UserInfo = self
            .call(Endpoint::UserInfo, Budget::UserInfo, settings)
            .await?;
        self.inner.governor.forget_user_info().await;
        Ok(info)
    }
}
