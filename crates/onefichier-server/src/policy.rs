//! What a scoped API key may do: the scope rules, applied to the decisions of the endpoint table
//! ([`Endpoint::access`]) and of the upload node ([`onefichier_protocol::endpoint::NODE_UPLOAD`]).
//! The router refuses a call before its handler runs; handlers ask here for what depends on the
//! request (a setting changed, links shown, a folder aimed at).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::meta::KeyScope;
use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onefichier_protocol::{Endpoint, ErrorCode, Grant, Need};

impl KeyScope {
    /// Whether a key of this scope may do what `need` names.
    pub fn allows(self, need: Need) -> bool {
        match self {
            KeyScope::Full => true,
            KeyScope::Read => matches!(need, Need::Browse | Need::Read),
            KeyScope::Upload => matches!(need, Need::Browse | Need::Upload),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeyScope::Full => "full-access",
            KeyScope::Read => "read-only",
            KeyScope::Upload => "upload-only",
        }
    }
}

impl Caller {
    /// Refuses what the key may not do (403 #632): a need its scope lacks, or account-wide
    /// business for a key confined to a folder.
    pub fn require(&self, grant: Grant) -> Result<(), ApiError> {
        if !self.key.scope.allows(grant.need) {
            return Err(self.refusal(grant.need.verb()));
        }
        if grant.account_wide && self.key.folder_id.is_some() {
            return Err(self.refusal("manage the account"));
        }
        Ok(())
    }

    /// Refuses a change made through `endpoint` (its table's `changing` decision, or the call's
    /// own when it has none).
    pub fn require_change(&self, endpoint: Endpoint) -> Result<(), ApiError> {
        let access = endpoint.access();
        self.require(access.changing.unwrap_or(access.call))
    }

    /// Whether answers may show this key download links and share URLs: only to keys that may
    /// read files (an upload-only key sees folders, never what would let it read).
    pub fn sees_links(&self) -> bool {
        self.key.scope.allows(Need::Read)
    }

    /// Refuses a folder outside the subtree the key is confined to (403 #632).
    pub async fn check_folder(&self, state: &AppState, folder_id: i64) -> Result<(), ApiError> {
        match self.key.folder_id {
            Some(root)
                if !state
                    .repo()
                    .folder_within(self.account.id, folder_id, root)
                    .await? =>
            {
                Err(ApiError::detail(
                    ErrorCode::KeyScope,
                    format!("this key is confined to folder {root}; folder {folder_id} is outside"),
                ))
            }
            _ => Ok(()),
        }
    }

    fn refusal(&self, verb: &str) -> ApiError {
        let scope = self.key.scope.describe();
        let described = match self.key.folder_id {
            Some(root) => format!("{scope}, folder-{root}-confined"),
            None => scope.to_owned(),
        };
        ApiError::detail(
            ErrorCode::KeyScope,
            format!("this {described} key may not {verb}"),
        )
    }
}

/// Middleware after [`crate::auth::require_key`]: refuses keys that the endpoint's table entry
/// does not admit.
pub async fn require_access(endpoint: Endpoint, req: Request, next: Next) -> Response {
    let refused = req
        .extensions()
        .get::<Caller>()
        .map(|caller| caller.require(endpoint.access().call));
    match refused {
        Some(Err(refusal)) => refusal.into_response(),
        _ => next.run(req).await,
    }
}
