//! Items read ahead of a handler: the pipeline reads the keys a route declares
//! ([`crate::backend::spec::OpSpec::prefetch`]) in the same round trip as the caller's
//! token, and the handler's store is a [`Prefetched`] over the real one, which answers
//! the first read of exactly those keys from memory.
//!
//! Each prefetched item answers one read: a handler that reads a key again (a retry
//! after a lost condition) reaches the store. A write to a prefetched key drops it, so
//! nothing the request wrote is read back stale.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{Cond, Item, Key, Page, Query, Store, StoreError, Write};

/// A [`Store`] that answers reads of prefetched keys from memory, once, and passes
/// every other call to `inner`.
pub struct Prefetched<'a> {
    inner: &'a dyn Store,
    items: Mutex<Vec<(Key, Option<Item>)>>,
}

impl<'a> Prefetched<'a> {
    /// `items`: the prefetched keys with what the store held (`None`: absent), read
    /// strongly consistently during this request.
    pub fn new(inner: &'a dyn Store, items: Vec<(Key, Option<Item>)>) -> Self {
        Self {
            inner,
            items: Mutex::new(items),
        }
    }

    /// Takes the prefetched answers for all of `keys`, or none: `None` unless every
    /// key was prefetched and not yet read.
    fn take_all(&self, keys: &[Key]) -> Option<Vec<Option<Item>>> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.is_empty() || !keys.iter().all(|k| items.iter().any(|(p, _)| p == k)) {
            return None;
        }
        Some(
            keys.iter()
                .map(|k| {
                    let at = items.iter().position(|(p, _)| p == k)?;
                    items.swap_remove(at).1
                })
                .collect(),
        )
    }

    fn forget(&self, key: &Key) {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(p, _)| p != key);
    }
}

#[async_trait]
impl Store for Prefetched<'_> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        match self.take_all(std::slice::from_ref(key)) {
            Some(mut got) => Ok(got.pop().flatten()),
            None => self.inner.get(key).await,
        }
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        match self.take_all(keys) {
            Some(got) => Ok(got),
            None => self.inner.get_many(keys).await,
        }
    }
    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.forget(&write.key());
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        for w in &writes {
            self.forget(&w.key());
        }
        self.inner.transact(writes).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError> {
        self.forget(key);
        self.inner.take(key, cond).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{Value, new_item};

    fn item(pk: &str, v: &str) -> Item {
        let mut i = new_item(&Key::new(pk, "s"));
        i.insert("v".into(), Value::S(v.into()));
        i
    }

    /// A prefetched key answers one read from memory (the store changed since is not
    /// seen by that read), the next read reaches the store, keys not prefetched always
    /// do, and a write drops the prefetched copy.
    #[tokio::test]
    async fn answers_each_prefetched_key_once() {
        let store = MemoryStore::new();
        let (a, b, c) = (Key::new("a", "s"), Key::new("b", "s"), Key::new("c", "s"));
        store
            .write(Write::Put {
                item: item("a", "new"),
                cond: None,
            })
            .await
            .unwrap();
        let p = Prefetched::new(
            &store,
            vec![(a.clone(), Some(item("a", "old"))), (b.clone(), None)],
        );
        // Not all prefetched: one store read of both.
        let got = p.get_many(&[a.clone(), c.clone()]).await.unwrap();
        assert_eq!(got[0], Some(item("a", "new")));
        assert_eq!(got[1], None);
        // Both prefetched: from memory, in the order asked.
        let got = p.get_many(&[b.clone(), a.clone()]).await.unwrap();
        assert_eq!(got, vec![None, Some(item("a", "old"))]);
        // Used up: the store answers.
        assert_eq!(p.get(&a).await.unwrap(), Some(item("a", "new")));
        // A write drops the prefetched copy.
        let p = Prefetched::new(&store, vec![(b.clone(), None)]);
        p.write(Write::Put {
            item: item("b", "written"),
            cond: None,
        })
        .await
        .unwrap();
        assert_eq!(p.get(&b).await.unwrap(), Some(item("b", "written")));
        assert!(p.get_many(&[]).await.unwrap().is_empty());
    }
}
