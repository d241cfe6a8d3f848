//! Direct download URLs: the token a `get_token.cgi` call or a file page's form issues, and how
//! long it serves.

use crate::error::ApiResult;
use crate::meta::{DownloadToken, FileRecord, IpRestriction};
use crate::secrets::random_id;
use crate::state::{AppState, now};

/// A token must be used within 5 minutes.
const TOKEN_TTL: i64 = 300;

/// A started download may resume for 30 minutes.
const RESUME_WINDOW: i64 = 1800;

/// Token length.
const TOKEN_LEN: usize = 32;

/// How a direct URL may be used.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokenRules {
    /// Served inline rather than as an attachment.
    pub inline: bool,
    /// One connection at a time.
    pub single: bool,
    /// 0 none, 1 bound to the first address, 2 bound and single.
    pub restrict_ip: IpRestriction,
    /// An `http` URL rather than the server's scheme.
    pub no_ssl: bool,
}

/// Stores a new download token for `file` and returns its direct URL (valid 5 minutes, then 30
/// minutes of resumes). `issuer` is the key that asked, whose revocation ends the token.
pub(crate) async fn issue_direct_url(
    state: &AppState,
    file: &FileRecord,
    rules: TokenRules,
    issuer: Option<(i64, [u8; 32])>,
) -> ApiResult<String> {
    let token = DownloadToken {
        token: random_id(TOKEN_LEN, false),
        file_id: file.id,
        created_at: now(),
        first_used_at: None,
        inline: rules.inline || file.inline,
        single: rules.single || rules.restrict_ip == IpRestriction::BoundAndSingle,
        restrict_ip: rules.restrict_ip,
        bound_ip: None,
        issuer,
    };
    state.repo().insert_token(&token).await?;
    let names = &state.config().names;
    let scheme = if rules.no_ssl { "http" } else { names.scheme() };
    Ok(format!(
        "{scheme}://{}/dl/{}",
        names.download_host, token.token
    ))
}

/// Whether `token` still serves at `now`: within 5 minutes of its making, and once used, for
/// resumes within 30 minutes of its first use.
pub(crate) fn token_serves(token: &DownloadToken, now: i64) -> bool {
    match token.first_used_at {
        None => now - token.created_at <= TOKEN_TTL,
        Some(first) => now - first <= RESUME_WINDOW,
    }
}
