//! What an upload (through the node, or fetched by a remote-upload job) stores.

use crate::meta::{Acl, FileRecord, NewBlob};
use crate::secrets::random_id;
use onefichier_protocol::ids::NEW_LINK_ID_LEN;

/// A new file of `blob`'s bytes named `name`, with a fresh link and no password, access list
/// or removal code (the caller sets those it has).
pub(crate) fn new_file(
    account_id: Option<i64>,
    folder_id: i64,
    name: String,
    content_type: String,
    blob: &NewBlob,
    (domain, now): (i64, i64),
) -> FileRecord {
    FileRecord {
        id: 0,
        link_id: random_id(NEW_LINK_ID_LEN, true),
        account_id,
        folder_id,
        name,
        size: blob.size,
        whirlpool: blob.whirlpool.clone(),
        content_type,
        created_at: now,
        description: String::new(),
        pass_hash: None,
        no_ssl: false,
        inline: false,
        cdn: false,
        acl: Acl::default(),
        domain,
        remove_code: None,
        blob_id: Some(blob.id.clone()),
    }
}
