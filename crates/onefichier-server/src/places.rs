//! Places counted per key, each given back when its holder is dropped: the download streams of
//! a token (`single` tokens allow one) and the uploads without a key of an address.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// How many places each key holds now.
#[derive(Debug)]
pub struct Places<K: Hash + Eq> {
    taken: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq> Default for Places<K> {
    fn default() -> Self {
        Self {
            taken: Arc::default(),
        }
    }
}

impl<K: Hash + Eq + Clone> Places<K> {
    /// A place for `key`, unless it holds `max` already.
    pub fn take(&self, key: &K, max: usize) -> Option<Place<K>> {
        let mut taken = self.taken.lock();
        let count = taken.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Place {
            key: key.clone(),
            taken: Arc::clone(&self.taken),
        })
    }
}

/// One place of a key, held until dropped.
#[derive(Debug)]
pub struct Place<K: Hash + Eq> {
    key: K,
    taken: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq> Drop for Place<K> {
    fn drop(&mut self) {
        let mut taken = self.taken.lock();
        if let Some(count) = taken.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_key_and_given_back() {
        let places = Places::default();
        let first = places.take(&"a", 2).unwrap();
        let _second = places.take(&"a", 2).unwrap();
        assert!(places.take(&"a", 2).is_none());
        places.take(&"b", 2).unwrap();
        drop(first);
        places.take(&"a", 2).unwrap();
        assert!(
            places.taken.lock().get("b").is_none(),
            "an empty key is forgotten"
        );
    }
}
