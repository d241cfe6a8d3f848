//! Where a folder sits in its account's tree.

use crate::error::ApiResult;
use crate::state::AppState;
use onefichier_protocol::ids;

/// The `A/B` path of a folder (empty for the root).
pub(crate) async fn folder_path(
    state: &AppState,
    account_id: i64,
    mut id: i64,
) -> ApiResult<String> {
    let mut names = Vec::new();
    // Bounded so that a corrupt parent cycle cannot loop forever.
    for _ in 0..1000 {
        if id == ids::ROOT_FOLDER {
            break;
        }
        let Some(folder) = state.repo().folder(account_id, id).await? else {
            break;
        };
        names.push(folder.name);
        id = folder.parent_id;
    }
    names.reverse();
    Ok(names.join("/"))
}
