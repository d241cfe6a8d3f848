//! Remote paths (`/backups/2026`) to folder ids, with a cache, and `mkdir -p`.

use crate::Client;
use crate::error::{Error, ErrorKind, Result};
use onefichier_protocol::ids::ROOT_FOLDER;

fn components(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

impl Client {
    /// The id of the folder at `path` (`/` or empty is the root, 0).
    pub async fn resolve_folder(&self, path: &str) -> Result<i64> {
        Ok(self.walk(path, false).await?.0)
    }

    /// The id of the folder at `path`, creating the missing folders (`mkdir -p`).
    pub async fn mkdir_p(&self, path: &str) -> Result<i64> {
        Ok(self.walk(path, true).await?.0)
    }

    /// [`Client::mkdir_p`], also telling whether any folder was created (`false`: the whole
    /// path existed already).
    pub async fn ensure_folder(&self, path: &str) -> Result<(i64, bool)> {
        self.walk(path, true).await
    }

    /// Remembers that the folder at `path` has id `id` (learnt from a listing or a mkdir).
    pub(crate) fn learn_path(&self, path: &str, id: i64) {
        let key: String = components(path).iter().map(|c| format!("/{c}")).collect();
        self.inner
            .paths
            .lock()
            .expect("path cache lock")
            .insert(key, id);
    }

    async fn walk(&self, path: &str, create: bool) -> Result<(i64, bool)> {
        let parts = components(path);
        let mut created = false;
        let mut id = ROOT_FOLDER;
        let mut walked = String::new();
        for part in parts {
            walked.push('/');
            walked.push_str(part);
            let cached = self
                .inner
                .paths
                .lock()
                .expect("path cache lock")
                .get(&walked)
                .copied();
            if let Some(known) = cached {
                id = known;
                continue;
            }
            let listing = self.list_folder(id).await?;
            let found = listing
                .sub_folders
                .iter()
                .find(|f| f.name == part)
                .map(|f| f.id);
            id = match (found, create) {
                (Some(child), _) => child,
                (None, true) => {
                    match self.folder_mkdir(part, id).await {
                        Ok(made) => {
                            created = true;
                            made.folder_id
                        }
                        // Created meanwhile by someone else: list again (folder_mkdir
                        // forgot the parent's kept listing).
                        Err(e) if e.kind() == ErrorKind::Conflict => self
                            .list_folder(id)
                            .await?
                            .sub_folders
                            .iter()
                            .find(|f| f.name == part)
                            .map(|f| f.id)
                            .ok_or(e)?,
                        Err(e) => return Err(e),
                    }
                }
                (None, false) => {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        "path",
                        format!("no folder {walked}"),
                    )
                    .with_hint("check the path, or create it (mkdir -p)"));
                }
            };
            self.inner
                .paths
                .lock()
                .expect("path cache lock")
                .insert(walked.clone(), id);
        }
        Ok((id, created))
    }
}

#[cfg(test)]
mod tests {
    use super::components;

    #[test]
    fn path_components() {
        assert!(components("/").is_empty());
        assert_eq!(components("/a//b/./c/"), ["a", "b", "c"]);
    }
}
