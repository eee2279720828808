//! The newest version of each secret this process has read: a hint that lets a read of
//! the newest version name its items up front ([`super::read_keys`]), so the pipeline
//! reads them with the caller's token in one round trip
//! ([`crate::store::prefetch`]). A stale hint costs the query the read would have made
//! anyway; it never changes an answer (the metadata read with it decides).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Secrets remembered at most; past it the map starts again empty (a warm function
/// reads few distinct secrets; this bounds memory, not correctness).
pub const CAPACITY: usize = 4096;

/// Newest version by `(mount storage prefix, path)`.
#[derive(Debug, Default)]
pub struct LatestVersions {
    map: Mutex<HashMap<(String, String), i64>>,
}

impl LatestVersions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The newest version of `mount`/`path` when last read here.
    pub fn get(&self, mount: &str, path: &str) -> Option<i64> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(mount.to_owned(), path.to_owned()))
            .copied()
    }

    /// Records `version` as the newest of `mount`/`path`.
    pub fn note(&self, mount: &str, path: &str, version: i64) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY && !map.contains_key(&(mount.to_owned(), path.to_owned())) {
            map.clear();
        }
        map.insert((mount.to_owned(), path.to_owned()), version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_stays_bounded() {
        let l = LatestVersions::new();
        assert_eq!(l.get("m", "a"), None);
        l.note("m", "a", 3);
        l.note("m", "a", 4);
        assert_eq!(l.get("m", "a"), Some(4));
        for i in 0..CAPACITY {
            l.note("m", &format!("p{i}"), 1);
        }
        assert!(l.map.lock().unwrap().len() <= CAPACITY);
        assert_eq!(l.get("m", &format!("p{}", CAPACITY - 1)), Some(1));
    }
}
