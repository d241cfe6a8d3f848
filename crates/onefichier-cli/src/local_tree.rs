//! Local trees, walked for `upload` and `hash`: regular files in a stable order, and what is
//! left out with the reason (empty files, which the service refuses; symbolic links, unless
//! followed; fifos, sockets and devices), so that nothing vanishes or fails a run silently.

use anyhow::{Context, Result};
pub(crate) use onefichier_client::local::LeftOut;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A regular file found under a walked root.
#[derive(Debug)]
pub(crate) struct Found {
    /// Its path.
    pub(crate) path: PathBuf,
    /// The root it was found under (the argument given).
    pub(crate) root: PathBuf,
    /// Its folder relative to the root (empty for the root itself or a file given by name).
    pub(crate) relative_dir: PathBuf,
}

/// Paths left out of a walk, with the reason.
pub(crate) type LeftOuts = Vec<(PathBuf, LeftOut)>;

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) files: Vec<Found>,
    pub(crate) left_out: LeftOuts,
}

/// Walks `roots`: a file is taken as it is (a link given by name is followed, as `cp` does); a
/// folder recursively, children in name order.
pub(crate) fn walk(roots: &[PathBuf], follow_symlinks: bool, skip_empty: bool) -> Result<Walk> {
    let mut out = Walk::default();
    for root in roots {
        let meta =
            std::fs::metadata(root).with_context(|| format!("cannot read {}", root.display()))?;
        if !meta.is_dir() {
            out.take(root, root, Path::new(""), &meta, skip_empty);
            continue;
        }
        let mut seen = HashSet::new();
        seen.insert(std::fs::canonicalize(root)?);
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let mut children: Vec<_> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("cannot read {}", dir.display()))?;
            children.sort_by_key(std::fs::DirEntry::file_name);
            // Reversed onto the stack, so folders are walked in name order too.
            let mut sub_dirs = Vec::new();
            for child in children {
                let path = child.path();
                let mut kind = child.file_type()?;
                let mut meta = child.metadata()?;
                if kind.is_symlink() {
                    if !follow_symlinks {
                        out.left_out.push((path, LeftOut::Symlink));
                        continue;
                    }
                    match std::fs::metadata(&path) {
                        Ok(target) => {
                            kind = target.file_type();
                            meta = target;
                        }
                        Err(_) => {
                            out.left_out.push((path, LeftOut::BrokenOrLoop));
                            continue;
                        }
                    }
                }
                if kind.is_dir() {
                    if seen.insert(std::fs::canonicalize(&path)?) {
                        sub_dirs.push(path);
                    } else {
                        out.left_out.push((path, LeftOut::BrokenOrLoop));
                    }
                } else {
                    let relative = dir.strip_prefix(root).unwrap_or(Path::new(""));
                    out.take(&path, root, relative, &meta, skip_empty);
                }
            }
            stack.extend(sub_dirs.into_iter().rev());
        }
    }
    Ok(out)
}

impl Walk {
    fn take(
        &mut self,
        path: &Path,
        root: &Path,
        relative_dir: &Path,
        meta: &std::fs::Metadata,
        skip_empty: bool,
    ) {
        if !meta.is_file() {
            self.left_out.push((path.to_path_buf(), LeftOut::Special));
        } else if skip_empty && meta.len() == 0 {
            self.left_out.push((path.to_path_buf(), LeftOut::Empty));
        } else {
            self.files.push(Found {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
                relative_dir: relative_dir.to_path_buf(),
            });
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn files_in_order_and_the_rest_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        std::fs::write(root.join("b/c/d.txt"), b"d").unwrap();
        std::fs::write(root.join("empty"), b"").unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("b/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("broken")).unwrap();

        let plain = walk(std::slice::from_ref(&root), false, true).unwrap();
        let names: Vec<_> = plain
            .files
            .iter()
            .map(|f| f.path.strip_prefix(&root).unwrap().to_owned())
            .collect();
        assert_eq!(names, [PathBuf::from("a.txt"), PathBuf::from("b/c/d.txt")]);
        assert_eq!(plain.files[1].relative_dir, PathBuf::from("b/c"));
        let reasons: Vec<_> = plain
            .left_out
            .iter()
            .map(|(p, r)| (p.file_name().unwrap().to_owned(), *r))
            .collect();
        assert!(reasons.contains(&("empty".into(), LeftOut::Empty)));
        assert!(reasons.contains(&("link".into(), LeftOut::Symlink)));
        assert!(reasons.contains(&("loop".into(), LeftOut::Symlink)));

        let followed = walk(std::slice::from_ref(&root), true, true).unwrap();
        assert_eq!(followed.files.len(), 3, "{followed:?}");
        let reasons: Vec<_> = followed
            .left_out
            .iter()
            .map(|(p, r)| (p.file_name().unwrap().to_owned(), *r))
            .collect();
        assert!(
            reasons.contains(&("loop".into(), LeftOut::BrokenOrLoop)),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&("broken".into(), LeftOut::BrokenOrLoop)),
            "{reasons:?}"
        );
    }
}
