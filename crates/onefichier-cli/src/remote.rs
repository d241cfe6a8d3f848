//! Remote arguments: paths such as `/docs/a.pdf` and links `https://…/?ID`, resolved to files
//! and folders of the account.

use anyhow::{Result, bail};
use onefichier_client::protocol::file::FileItem;
use onefichier_client::protocol::ids::LinkId;
use onefichier_client::protocol::public::LinkStatus;
use onefichier_client::transfer::split;
use onefichier_client::{Client, ErrorKind};

/// A remote file: one stored file, or a file stored in parts (then `url` is its manifest's).
#[derive(Debug, Clone)]
pub(crate) struct RemoteFile {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) size: u64,
    /// Whirlpool, when known (own files; a file in parts has its own in its manifest).
    pub(crate) checksum: Option<String>,
    /// Upload date (an API date), when known (own files).
    pub(crate) uploaded: Option<String>,
    /// For a file stored in parts: its manifest and parts, as listed.
    pub(crate) split: Option<StoredInParts>,
}

/// A file stored in parts over the per-file limit (see `onefichier_client::transfer::split`).
#[derive(Debug, Clone)]
pub(crate) struct StoredInParts {
    pub(crate) manifest: FileItem,
    pub(crate) parts: Vec<FileItem>,
}

impl RemoteFile {
    /// Every stored file this file is: itself, or its manifest and parts.
    pub(crate) fn links(&self) -> Vec<String> {
        match &self.split {
            Some(set) => std::iter::once(&set.manifest)
                .chain(&set.parts)
                .map(|item| item.url.clone())
                .collect(),
            None => vec![self.url.clone()],
        }
    }

    /// How each stored file of this file is named once the file is called `name`.
    pub(crate) fn renamed(&self, name: &str) -> Vec<(String, String)> {
        match &self.split {
            Some(set) => {
                std::iter::once((set.manifest.url.clone(), format!("{name}{}", split::MARK)))
                    .chain(
                        set.parts
                            .iter()
                            .filter_map(|part| match split::role(&part.filename) {
                                Some(split::Role::Part(_, index)) => {
                                    Some((part.url.clone(), split::part_name(name, index)))
                                }
                                _ => None,
                            }),
                    )
                    .collect()
            }
            None => vec![(self.url.clone(), name.to_owned())],
        }
    }

    pub(crate) fn of_listed(listed: &split::Listed<'_>) -> Self {
        Self {
            name: listed.name.clone(),
            size: listed.size(),
            checksum: listed.whirlpool().map(str::to_owned),
            split: listed.parts.as_ref().map(|parts| StoredInParts {
                manifest: listed.item.clone(),
                parts: parts.iter().map(|part| (*part).clone()).collect(),
            }),
            ..Self::from(listed.item)
        }
    }
}

impl From<&FileItem> for RemoteFile {
    fn from(item: &FileItem) -> Self {
        Self {
            url: item.url.clone(),
            name: item.filename.clone(),
            size: item.size,
            checksum: Some(item.checksum.clone()).filter(|c| !c.is_empty()),
            uploaded: Some(item.date.clone()).filter(|d| !d.is_empty()),
            split: None,
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
            // The manifest of a file stored in parts stands for the whole file: its folder
            // (this key's own) holds the parts.
            Ok(info) if matches!(split::role(&info.filename), Some(split::Role::Manifest(_))) => {
                let listing = client.list_folder(info.folder_id).await?;
                let items = listing.items.unwrap_or_default();
                let set = split::gather(&items)
                    .iter()
                    .find(|listed| listed.item.url == info.url)
                    .map(RemoteFile::of_listed);
                set.ok_or_else(|| not_found(arg))
            }
            Ok(info) => Ok(RemoteFile {
                url: info.url,
                name: info.filename,
                size: info.size,
                checksum: Some(info.checksum).filter(|c| !c.is_empty()),
                uploaded: Some(info.date).filter(|d| !d.is_empty()),
                split: None,
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
                        split: None,
                    }),
                    Some(LinkStatus::Private) => Ok(RemoteFile {
                        url: arg.to_owned(),
                        name: LinkId::from_link(arg)?.to_string(),
                        size: 0,
                        checksum: None,
                        uploaded: None,
                        split: None,
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
    // A file stored in parts goes by its whole name; a name as stored (a part's, a
    // manifest's) still names that stored file.
    let gathered = split::gather(&items);
    let mut matches: Vec<RemoteFile> = gathered
        .iter()
        .filter(|listed| listed.name == name)
        .map(RemoteFile::of_listed)
        .collect();
    if matches.is_empty() {
        matches = items
            .iter()
            .filter(|i| i.filename == name)
            .map(RemoteFile::from)
            .collect();
    }
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(not_found(arg)),
        many => bail!(
            "{arg} names {} files (the service allows duplicate names): use a link, e.g. {}",
            many.len(),
            many[0].url
        ),
    }
}

fn not_found(arg: &str) -> anyhow::Error {
    anyhow::Error::new(NotFound(format!("no file {arg}")))
}

/// A remote path that names nothing (exit code 4, like the API's "not found").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(pub(crate) String);
