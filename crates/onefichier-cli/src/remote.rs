//! Remote arguments: paths such as `/docs/a.pdf` and links `https://…/?ID`, resolved to files
//! and folders of the account.

use anyhow::{Result, bail};
use onefichier_client::protocol::file::FileItem;
use onefichier_client::protocol::ids::LinkId;
use onefichier_client::protocol::public::LinkStatus;
use onefichier_client::{Client, ErrorKind};

/// A remote file.
#[derive(Debug, Clone)]
pub(crate) struct RemoteFile {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) size: u64,
    /// Whirlpool, when known (own files).
    pub(crate) checksum: Option<String>,
    /// Upload date (an API date), when known (own files).
    pub(crate) uploaded: Option<String>,
}

impl From<&FileItem> for RemoteFile {
    fn from(item: &FileItem) -> Self {
        Self {
            url: item.url.clone(),
            name: item.filename.clone(),
            size: item.size,
            checksum: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
            uploaded: Some(item.date.clone()).filter(|d| !d.is_empty()),
        }
    }
}

/// Whether an argument is a link rather than a path.
pub(crate) fn is_link(arg: &str) -> bool {
    arg.starts_with("https://") || arg.starts_with("http://")
}

/// Splits `/a/b/name` into (`/a/b`, `name`).
pub(crate) fn split_path(path: &str) -> (String, String) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, name)) => (
            if parent.is_empty() {
                "/".into()
            } else {
                parent.into()
            },
            name.into(),
        ),
        None => ("/".into(), trimmed.into()),
    }
}

/// The file an argument names.
pub(crate) async fn file(client: &Client, arg: &str, password: Option<&str>) -> Result<RemoteFile> {
    if is_link(arg) {
        LinkId::from_link(arg)?;
        return match client.file_info(arg, password).await {
            Ok(info) => Ok(RemoteFile {
                url: info.url,
                name: info.filename,
                size: info.size,
                checksum: Some(info.checksum).filter(|c| !c.is_empty()),
                uploaded: Some(info.date).filter(|d| !d.is_empty()),
            }),
            // Someone else's file: the bulk link check still gives its name and size.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotAllowed) => {
                let checked = client.check_links(&[arg.to_owned()]).await?;
                match checked.first().map(|c| &c.status) {
                    Some(LinkStatus::Found { filename, size }) => Ok(RemoteFile {
                        url: arg.to_owned(),
                        name: filename.clone(),
                        size: *size,
                        checksum: None,
                        uploaded: None,
                    }),
                    Some(LinkStatus::Private) => Ok(RemoteFile {
                        url: arg.to_owned(),
                        name: LinkId::from_link(arg)?.to_string(),
                        size: 0,
                        checksum: None,
                        uploaded: None,
                    }),
                    _ => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        };
    }
    let (parent, name) = split_path(arg);
    let folder = client.resolve_folder(&parent).await?;
    let listing = client.list_folder(folder).await?;
    let items = listing.items.unwrap_or_default();
    let matches: Vec<&FileItem> = items.iter().filter(|i| i.filename == name).collect();
    match matches.as_slice() {
        [one] => Ok(RemoteFile::from(*one)),
        [] => Err(onefichier_client_not_found(arg)),
        many => bail!(
            "{arg} names {} files (the service allows duplicate names): use a link, e.g. {}",
            many.len(),
            many[0].url
        ),
    }
}

fn onefichier_client_not_found(arg: &str) -> anyhow::Error {
    anyhow::Error::new(NotFound(format!("no file {arg}")))
}

/// A remote path that names nothing (exit code 4, like the API's "not found").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(pub(crate) String);
