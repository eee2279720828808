//! The storage port: one table of items addressed by `(pk, sk)`, with conditional
//! writes, transactions and queries (DESIGN.md, "Storage").
//!
//! Domain code builds [`Write`]s and [`Query`]s from this module only; the DynamoDB
//! adapter ([`crate::adapters::aws::dynamo::DynamoStore`]) and the in-memory fake ([`memory::MemoryStore`])
//! implement the same semantics, so every rule tested against the fake holds against
//! DynamoDB Local.

pub mod decode;
mod error;
#[cfg(test)]
pub mod interpose;
mod key;
pub mod memory;
pub mod prefetch;
pub mod schema;
mod value;

pub use error::StoreError;
pub use key::Key;
pub use value::{ITEM_MAX_BYTES, Item, ItemExt, Value, item_size, new_item};

use async_trait::async_trait;

/// A condition on the stored item a write applies to (DynamoDB condition expressions).
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// The item exists.
    Exists,
    /// The item does not exist.
    NotExists,
    /// The attribute exists and equals the value.
    Eq(&'static str, Value),
    /// The numeric attribute exists and is `>=` the value.
    Ge(&'static str, i64),
    /// The numeric attribute exists and is `<=` the value.
    Le(&'static str, i64),
    /// The attribute is absent (the item may or may not exist).
    AttrAbsent(&'static str),
    /// Every condition holds.
    And(Vec<Cond>),
    /// At least one condition holds (none given: never).
    Or(Vec<Cond>),
}

/// One change to the attributes of an existing (or new) item.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Set the attribute to the value.
    Set(&'static str, Value),
    /// Add the delta to a numeric attribute (absent counts as 0).
    Add(&'static str, i64),
    /// Remove the attribute.
    Remove(&'static str),
}

/// One write, optionally conditional.
#[derive(Clone, Debug)]
pub enum Write {
    /// Create or replace the whole item (its key is in the item's `pk`/`sk`).
    Put {
        /// The item, including `pk` and `sk`.
        item: Item,
        /// Condition on the item being replaced.
        cond: Option<Cond>,
    },
    /// Change some attributes; creates the item when it is absent and no condition stops it.
    Update {
        /// Which item.
        key: Key,
        /// The changes, applied in order.
        updates: Vec<Update>,
        /// Condition on the current item.
        cond: Option<Cond>,
    },
    /// Delete the item (a no-op when absent, unless the condition requires it).
    Delete {
        /// Which item.
        key: Key,
        /// Condition on the current item.
        cond: Option<Cond>,
    },
    /// Only check a condition (inside a transaction).
    Check {
        /// Which item.
        key: Key,
        /// The condition that must hold.
        cond: Cond,
    },
}

impl Write {
    /// The key this write addresses.
    pub fn key(&self) -> Key {
        match self {
            Write::Put { item, .. } => value::item_key(item),
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => {
                key.clone()
            }
        }
    }
}

/// The sort-key part of a [`Query`].
#[derive(Clone, Debug, PartialEq)]
pub enum SortCond {
    /// Every item in the partition.
    All,
    /// Sort keys starting with the prefix.
    Prefix(String),
    /// Numeric sort key `<=` the value (used on the expiry index).
    NumLe(i64),
}

/// Which key schema a query runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// The table itself, keyed by `pk` and `sk` (strongly consistent reads).
    Table,
    /// The expiry index, keyed by `exp_bucket` and `exp_at` (eventually consistent).
    Expiry,
}

/// A query over one partition.
#[derive(Clone, Debug)]
pub struct Query {
    /// Table or index.
    pub index: Index,
    /// The partition key value (`pk` on the table, `exp_bucket` on the expiry index).
    pub partition: String,
    /// Condition on the sort key.
    pub sort: SortCond,
    /// Ascending (`true`) or descending sort-key order.
    pub forward: bool,
    /// Most items to return in this page.
    pub limit: Option<u32>,
    /// Continue after this item (the previous page's `next`).
    pub start: Option<Item>,
}

impl Query {
    /// A forward query of a whole table partition.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: Index::Table,
            partition: pk.into(),
            sort: SortCond::All,
            forward: true,
            limit: None,
            start: None,
        }
    }
}

/// One page of query results.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The items, in sort-key order.
    pub items: Vec<Item>,
    /// Where the next page starts, when there may be more.
    pub next: Option<Item>,
}

/// Deletes `keys` (unconditionally) in transactions of up to 100 items, DynamoDB's
/// limit: one round trip per 100 keys. Not atomic across transactions: a failure
/// part-way leaves the keys of later transactions, so callers order `keys` so that
/// what remains can be deleted again.
pub async fn delete_keys(store: &dyn Store, keys: &[Key]) -> Result<(), StoreError> {
    for chunk in keys.chunks(100) {
        store
            .transact(
                chunk
                    .iter()
                    .map(|k| Write::Delete {
                        key: k.clone(),
                        cond: None,
                    })
                    .collect(),
            )
            .await?;
    }
    Ok(())
}

/// Deletes the item at `key`, unconditionally (idempotent: a missing item is deleted).
pub async fn delete_key(store: &dyn Store, key: Key) -> Result<(), StoreError> {
    store.write(Write::Delete { key, cond: None }).await
}

/// Reads the JSON document kept in attribute `attr` of the item at `key` (as
/// [`put_doc`] wrote it); `None` when there is no item. `what` names the document in the
/// error for one that does not decode (e.g. `aws role`).
pub async fn get_doc<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    key: &Key,
    attr: &str,
    what: &str,
) -> Result<Option<T>, StoreError> {
    let Some(item) = store.get(key).await? else {
        return Ok(None);
    };
    let json = item
        .get(attr)
        .map(Value::to_json)
        .unwrap_or(serde_json::Value::Null);
    serde_json::from_value(json)
        .map(Some)
        .map_err(|_| StoreError::Malformed(what.into()))
}

/// Writes `doc` as the JSON document in attribute `attr` of a new item at `key`,
/// replacing any item there (unconditional).
pub async fn put_doc<T: serde::Serialize>(
    store: &dyn Store,
    key: &Key,
    attr: &str,
    doc: &T,
) -> Result<(), StoreError> {
    let json = serde_json::to_value(doc).map_err(|_| StoreError::Malformed(attr.into()))?;
    let mut item = new_item(key);
    item.insert(attr.into(), Value::from_json(&json));
    store.write(Write::Put { item, cond: None }).await
}

/// Every item a query matches, following pages (one round trip per page).
pub async fn query_all(store: &dyn Store, mut query: Query) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    loop {
        let page = store.query(&query).await?;
        items.extend(page.items);
        match page.next {
            Some(n) => query.start = Some(n),
            None => return Ok(items),
        }
    }
}

/// The sort keys of every item a query matches (see [`query_all`]).
pub async fn query_sort_keys(store: &dyn Store, query: Query) -> Result<Vec<String>, StoreError> {
    Ok(query_all(store, query)
        .await?
        .iter()
        .map(|i| value::item_key(i).sk)
        .collect())
}

/// The storage port.
#[async_trait]
pub trait Store: Send + Sync {
    /// Read one item (strongly consistent). One round trip.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Read several items (strongly consistent), in the order of `keys`. One round trip
    /// for up to 100 keys.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;
    /// Apply one write. [`StoreError::ConditionFailed`] when its condition does not hold.
    async fn write(&self, write: Write) -> Result<(), StoreError>;
    /// Apply up to 100 writes atomically (all or none), on distinct items.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// One page of a query.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;
    /// Deletes the item at `key` only if `cond` holds, and returns it as it was: one
    /// atomic step (DynamoDB `DeleteItem` with a condition and `ReturnValues=ALL_OLD`),
    /// so of several concurrent takes of one item exactly one gets it.
    /// [`StoreError::ConditionFailed`] when the condition does not hold (an absent item
    /// fails any condition that needs it to exist). One round trip.
    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError>;
}
