//! Public links: a file's `https://SITE/?ID`, as answers and pages print it, and back.

use crate::config::PublicNames;
use crate::error::{ApiError, ApiResult};
use crate::meta::{FileRecord, ListedFile};
use onefichier_protocol::date;
use onefichier_protocol::file::FileItem;
use onefichier_protocol::ids::{self, LinkId};
use onefichier_protocol::lenient::Flag;

/// The public link of a file: `SCHEME://SITE/?ID`.
pub(crate) fn link_url(names: &PublicNames, file: &FileRecord) -> String {
    link_of(names, file.domain, &file.link_id)
}

/// The public link of a link id: on this server's site host, or, when the site host is one of
/// 1fichier's names (the compatibility harness), on the file's domain as the service prints it.
pub(crate) fn link_of(names: &PublicNames, domain: i64, link_id: &str) -> String {
    if names.is_1fichier() {
        let domain = ids::domain_name(domain).unwrap_or(ids::DOMAINS[0]);
        format!("https://{domain}/?{link_id}")
    } else {
        format!("{}/?{link_id}", names.site_url())
    }
}

/// The link id in a `url` field, or a refusal naming the field.
pub(crate) fn parse_link(url: &str) -> ApiResult<LinkId> {
    LinkId::from_link(url)
        .map_err(|_| ApiError::invalid(format!("url {url:?} is not a download link")))
}

/// A file as listings show it.
pub(crate) fn file_item(names: &PublicNames, file: ListedFile) -> FileItem {
    FileItem {
        url: link_of(names, file.domain, &file.link_id),
        filename: file.name,
        size: u64::try_from(file.size).unwrap_or(0),
        date: date::format_unix(file.created_at),
        checksum: file.whirlpool,
        content_type: file.content_type,
        pass: Flag(file.has_pass),
        acl: Flag(file.has_acl),
        cdn: Flag(file.cdn),
    }
}
