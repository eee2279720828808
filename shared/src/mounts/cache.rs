//! The mount table as a warm function keeps it.
//!
//! A function reads the table at most once per cache TTL (`SIGIL_POLICY_CACHE_TTL`)
//! for requests without a token (logins), so an enabled mount is served everywhere
//! within that time. Requests with a token read the table's generation in the same
//! round trip as the token ([`crate::token::lookup_with`]): when it differs from the
//! cached one, the table is read again before the request is routed, so a disabled
//! mount refuses every authenticated request at once.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::ApiError;
use crate::store::Store;

use super::MountTable;

/// The cached table, with when it was read and whether it came from the store.
#[derive(Clone, Debug)]
struct Cached {
    read_at: i64,
    table: Arc<MountTable>,
    stored: bool,
}

/// The mount table cache of one function.
#[derive(Debug)]
pub struct MountCache {
    initial: Arc<MountTable>,
    cached: Mutex<Option<Cached>>,
}

impl MountCache {
    /// A cache that serves `initial` (the environment's mounts) until the store holds
    /// a table.
    pub fn new(initial: MountTable) -> Self {
        Self {
            initial: Arc::new(initial),
            cached: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<Cached> {
        self.cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The table, read again from the store when the cached copy is older than `ttl`
    /// seconds (one query).
    pub async fn get(
        &self,
        store: &dyn Store,
        now: i64,
        ttl: i64,
    ) -> Result<Arc<MountTable>, ApiError> {
        match self.current() {
            Some(c) if now - c.read_at < ttl && now >= c.read_at => Ok(c.table),
            _ => Ok(self.reload(store, now).await?.0),
        }
    }

    /// The table and whether it is stored (`false`: the environment's, nothing
    /// written yet), read from the store now (one query). Mount changes start here.
    pub async fn reload(
        &self,
        store: &dyn Store,
        now: i64,
    ) -> Result<(Arc<MountTable>, bool), ApiError> {
        let (table, stored) = match super::store::load(store).await? {
            Some(t) => (Arc::new(t), true),
            None => (self.initial.clone(), false),
        };
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
            read_at: now,
            table: table.clone(),
            stored,
        });
        Ok((table, stored))
    }

    /// The table, read again when `generation` (as read with the caller's token; 0 when
    /// nothing is stored) is not the cached table's.
    pub async fn at_generation(
        &self,
        store: &dyn Store,
        generation: i64,
        now: i64,
        ttl: i64,
    ) -> Result<Arc<MountTable>, ApiError> {
        match self.current() {
            Some(c) if c.table.generation == generation => Ok(c.table),
            None if generation == 0 => self.get(store, now, ttl).await,
            _ => Ok(self.reload(store, now).await?.0),
        }
    }

    /// Whether the cached table came from the store.
    pub fn is_stored(&self) -> bool {
        self.current().is_some_and(|c| c.stored)
    }
}
