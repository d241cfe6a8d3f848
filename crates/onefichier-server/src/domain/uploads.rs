//! What an upload (through the node, fetched by a remote-upload job, or copied from another
//! file) stores.

use crate::meta::{Acl, FileRecord, NewBlob};
use crate::secrets::random_id;
use onefichier_protocol::ids::NEW_LINK_ID_LEN;

/// The bytes a new file holds: its blob, their size and Whirlpool, and their type.
pub(crate) struct Content {
    pub blob_id: Option<String>,
    pub size: i64,
    pub whirlpool: String,
    pub content_type: String,
}

impl Content {
    /// A blob just stored, of `content_type`.
    pub(crate) fn of_blob(blob: &NewBlob, content_type: String) -> Self {
        Self {
            blob_id: Some(blob.id.clone()),
            size: blob.size,
            whirlpool: blob.whirlpool.clone(),
            content_type,
        }
    }

    /// The bytes of an existing file (a copy shares them).
    pub(crate) fn of_file(file: &FileRecord) -> Self {
        Self {
            blob_id: file.blob_id.clone(),
            size: file.size,
            whirlpool: file.whirlpool.clone(),
            content_type: file.content_type.clone(),
        }
    }
}

/// A new file named `name` holding `content`, with a fresh link and no password, access list
/// or removal code (the caller sets those it has).
pub(crate) fn new_file(
    account_id: Option<i64>,
    folder_id: i64,
    name: String,
    content: Content,
    (domain, now): (i64, i64),
) -> FileRecord {
    FileRecord {
        id: 0,
        link_id: random_id(NEW_LINK_ID_LEN, true),
        account_id,
        folder_id,
        name,
        size: content.size,
        whirlpool: content.whirlpool,
        content_type: content.content_type,
        created_at: now,
        description: String::new(),
        pass_hash: None,
        no_ssl: false,
        inline: false,
        cdn: false,
        acl: Acl::default(),
        domain,
        remove_code: None,
        blob_id: content.blob_id,
    }
}
