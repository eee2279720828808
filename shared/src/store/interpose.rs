//! Tests: a store that runs another request once, at a chosen port call of the request
//! under test (after it read, before it wrote), to pin one interleaving of a race
//! exactly.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::future::BoxFuture;

use super::memory::MemoryStore;
use super::{Cond, Item, Key, Page, Query, Store, StoreError, Write};

/// The port call before which the other request runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// The first `transact`.
    Transact,
    /// The first `query`.
    Query,
    /// The first single-item `write`.
    Write,
}

type Hook = Box<dyn FnOnce(Arc<MemoryStore>) -> BoxFuture<'static, ()> + Send>;

/// A [`MemoryStore`] that runs `hook` (given the inner store) once, right before the
/// first call of kind `at`.
pub struct Interpose {
    inner: Arc<MemoryStore>,
    at: Call,
    hook: Mutex<Option<Hook>>,
}

impl Interpose {
    /// Wraps `inner`.
    pub fn new(
        inner: Arc<MemoryStore>,
        at: Call,
        hook: impl FnOnce(Arc<MemoryStore>) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> Self {
        Self {
            inner,
            at,
            hook: Mutex::new(Some(Box::new(hook))),
        }
    }

    /// Whether the hook ran.
    pub fn fired(&self) -> bool {
        self.hook.lock().unwrap().is_none()
    }

    async fn before(&self, call: Call) {
        if call != self.at {
            return;
        }
        let hook = self.hook.lock().unwrap().take();
        if let Some(h) = hook {
            h(self.inner.clone()).await;
        }
    }
}

#[async_trait]
impl Store for Interpose {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.get_many(keys).await
    }
    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.before(Call::Write).await;
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.before(Call::Transact).await;
        self.inner.transact(writes).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.before(Call::Query).await;
        self.inner.query(query).await
    }
    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError> {
        self.before(Call::Write).await;
        self.inner.take(key, cond).await
    }
}
