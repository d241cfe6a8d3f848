//! Walking a remote folder tree. Listings are the server's word: a folder may list itself or
//! an ancestor (a cycle), or nest without end. Every walk (download, sync, `ls -R`, `tree`,
//! `rmdir --recursive`) enters folders through one [`Walk`], which skips a folder already
//! walked and stops with a clear error past a depth or a count no real account reaches.

use crate::error::{Error, ErrorKind, Result};
use std::collections::HashSet;

/// Deepest folder a walk enters below its root (the live service nests far less).
pub const MAX_DEPTH: usize = 256;
/// Most folders one walk enters.
pub const MAX_FOLDERS: usize = 1_000_000;

/// The folders a walk has entered.
#[derive(Debug, Default)]
pub struct Walk {
    entered: HashSet<i64>,
}

impl Walk {
    /// A new walk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to walk folder `id`, found `depth` levels below the walk's root (0 for the root):
    /// `false` for a folder this walk entered already (a cycle, or one folder listed twice), an
    /// error past [`MAX_DEPTH`] or [`MAX_FOLDERS`].
    pub fn enter(&mut self, id: i64, depth: usize) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                "walk",
                format!(
                    "the server lists folders more than {MAX_DEPTH} levels deep: stopped there"
                ),
            ));
        }
        if self.entered.len() >= MAX_FOLDERS && !self.entered.contains(&id) {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                "walk",
                format!("the server lists more than {MAX_FOLDERS} folders: stopped there"),
            ));
        }
        let new = self.entered.insert(id);
        if !new {
            tracing::warn!(
                folder_id = id,
                "a folder listed twice (or in a cycle) is walked once"
            );
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_walked_once_and_depth_is_bounded() {
        let mut walk = Walk::new();
        assert!(walk.enter(7, 0).unwrap());
        assert!(walk.enter(8, 1).unwrap());
        assert!(!walk.enter(7, 2).unwrap(), "a folder that lists its parent");
        assert!(walk.enter(9, MAX_DEPTH).unwrap());
        let too_deep = walk.enter(10, MAX_DEPTH + 1).unwrap_err();
        assert_eq!(too_deep.kind(), ErrorKind::UnexpectedResponse);
    }
}
