//! Serialized `file/ls` answers, reused while the account's listing generation (see
//! `MetaRepo::listing_generation`) has not moved. A folder of thousands of files costs tens of
//! milliseconds to read and encode; a reused answer costs one indexed lookup.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;

/// What a listing answer depends on besides the account's files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListingKey {
    /// The account listed.
    pub account_id: i64,
    /// The folder, or `None` for every file.
    pub folder: Option<i64>,
    /// `sent_before`, Unix seconds.
    pub before: Option<i64>,
    /// `sent_after`, Unix seconds.
    pub after: Option<i64>,
    /// The most entries returned.
    pub limit: i64,
}

struct Entry {
    generation: i64,
    body: Bytes,
    /// When it was last used, in ticks of `Entries::clock`.
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<ListingKey, Entry>,
    clock: u64,
}

/// A bounded map of listing answers; the least recently used go first when it is full.
pub struct ListingCache {
    entries: Mutex<Entries>,
    capacity_bytes: usize,
}

impl ListingCache {
    /// A cache holding at most `capacity_bytes` of answers (0 turns it off).
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            entries: Mutex::default(),
            capacity_bytes,
        }
    }

    /// The answer stored for `key` at `generation`, if any.
    pub fn get(&self, key: &ListingKey, generation: i64) -> Option<Bytes> {
        let mut entries = self.entries.lock();
        entries.clock += 1;
        let now = entries.clock;
        let entry = entries.map.get_mut(key)?;
        if entry.generation != generation {
            entries.map.remove(key);
            return None;
        }
        entry.used = now;
        Some(entry.body.clone())
    }

    /// Stores the answer computed at `generation` (read before the listing itself, so a change
    /// racing with the listing makes the entry stale rather than wrong).
    pub fn put(&self, key: ListingKey, generation: i64, body: Bytes) {
        if body.len() > self.capacity_bytes / 4 {
            return;
        }
        let mut entries = self.entries.lock();
        entries.clock += 1;
        let now = entries.clock;
        entries.map.remove(&key);
        let mut held: usize = entries.map.values().map(|e| e.body.len()).sum();
        while held + body.len() > self.capacity_bytes {
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            held -= entries.map.remove(&oldest).map_or(0, |e| e.body.len());
        }
        entries.map.insert(
            key,
            Entry {
                generation,
                body,
                used: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(folder: i64) -> ListingKey {
        ListingKey {
            account_id: 1,
            folder: Some(folder),
            before: None,
            after: None,
            limit: 5000,
        }
    }

    #[test]
    fn an_answer_is_reused_only_at_its_generation() {
        let cache = ListingCache::new(1 << 20);
        cache.put(key(1), 7, Bytes::from_static(b"[1]"));
        assert_eq!(cache.get(&key(1), 7).as_deref(), Some(&b"[1]"[..]));
        assert_eq!(cache.get(&key(2), 7), None);
        assert_eq!(cache.get(&key(1), 8), None);
        assert_eq!(cache.get(&key(1), 7), None, "a stale entry is dropped");
    }

    #[test]
    fn the_least_recently_used_answers_go_first() {
        let cache = ListingCache::new(400);
        cache.put(key(1), 1, Bytes::from(vec![0; 100]));
        cache.put(key(2), 1, Bytes::from(vec![0; 100]));
        cache.put(key(3), 1, Bytes::from(vec![0; 100]));
        assert!(cache.get(&key(1), 1).is_some());
        cache.put(key(4), 1, Bytes::from(vec![0; 100]));
        cache.put(key(5), 1, Bytes::from(vec![0; 100]));
        assert!(cache.get(&key(1), 1).is_some());
        assert!(cache.get(&key(2), 1).is_none());
        assert!(cache.get(&key(5), 1).is_some());
        cache.put(key(6), 1, Bytes::from(vec![0; 101]));
        assert!(
            cache.get(&key(6), 1).is_none(),
            "larger than a quarter: not kept"
        );
    }
}
