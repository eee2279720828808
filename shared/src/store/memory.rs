//! An in-memory [`Store`] with DynamoDB's semantics, for unit tests and benchmarks.
//!
//! It counts calls like the call-counting interceptor does for the real adapter, and can
//! be told to fail the next call (to test error paths without hoping an emulator fails).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::value::item_key;
use super::{
    Cond, Index, Item, Key, Page, Query, SortCond, Store, StoreError, Update, Value, Write, schema,
};

/// Items by partition key, then by sort key: point reads and writes hash the partition
/// key (a B-tree over every key would compare long shared prefixes such as `token/`
/// a dozen times per lookup, and benchmarks would measure that), and a partition's
/// items are already in sort-key order for queries.
type Items = HashMap<String, BTreeMap<String, Item>>;

fn get<'a>(items: &'a Items, key: &Key) -> Option<&'a Item> {
    items.get(&key.pk).and_then(|part| part.get(&key.sk))
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<Items>,
    calls: AtomicU64,
    fail_next: Mutex<Option<StoreError>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Round trips made so far (every method call is one).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Makes the next call fail with `error`.
    pub fn fail_next(&self, error: StoreError) {
        *lock(&self.fail_next) = Some(error);
    }

    /// A new store holding a copy of every item, with its own call count (benchmarks
    /// start each sample from the same state, so the fake's growth is not measured).
    pub fn snapshot(&self) -> MemoryStore {
        MemoryStore {
            items: Mutex::new(lock(&self.items).clone()),
            ..MemoryStore::default()
        }
    }

    /// A copy of every item, in key order.
    pub fn dump(&self) -> Vec<Item> {
        let items = lock(&self.items);
        let mut parts: Vec<(&String, &BTreeMap<String, Item>)> = items.iter().collect();
        parts.sort_by_key(|(pk, _)| *pk);
        parts
            .into_iter()
            .flat_map(|(_, part)| part.values().cloned())
            .collect()
    }

    fn enter(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match lock(&self.fail_next).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether `cond` holds for the current item (`None` = absent).
pub(crate) fn holds(cond: &Cond, item: Option<&Item>) -> bool {
    match cond {
        Cond::Exists => item.is_some(),
        Cond::NotExists => item.is_none(),
        Cond::Eq(a, v) => item.and_then(|i| i.get(*a)) == Some(v),
        Cond::Ge(a, n) => item
            .and_then(|i| i.get(*a))
            .and_then(Value::as_n)
            .is_some_and(|x| x >= *n),
        Cond::Le(a, n) => item
            .and_then(|i| i.get(*a))
            .and_then(Value::as_n)
            .is_some_and(|x| x <= *n),
        Cond::AttrAbsent(a) => item.is_none_or(|i| !i.contains_key(*a)),
        Cond::And(cs) => cs.iter().all(|c| holds(c, item)),
        Cond::Or(cs) => cs.iter().any(|c| holds(c, item)),
    }
}

fn check(cond: Option<&Cond>, item: Option<&Item>) -> bool {
    cond.is_none_or(|c| holds(c, item))
}

fn apply(items: &mut Items, write: Write) {
    match write {
        Write::Put { item, .. } => {
            let key = item_key(&item);
            items.entry(key.pk).or_default().insert(key.sk, item);
        }
        Write::Update { key, updates, .. } => {
            let item = items
                .entry(key.pk.clone())
                .or_default()
                .entry(key.sk.clone())
                .or_insert_with(|| super::new_item(&key));
            for u in updates {
                match u {
                    Update::Set(a, v) => {
                        item.insert(a.to_owned(), v);
                    }
                    Update::Add(a, d) => {
                        let cur = item.get(a).and_then(Value::as_n).unwrap_or(0);
                        item.insert(a.to_owned(), Value::N(cur + d));
                    }
                    Update::Remove(a) => {
                        item.remove(a);
                    }
                }
            }
        }
        Write::Delete { key, .. } => {
            if let Some(part) = items.get_mut(&key.pk) {
                part.remove(&key.sk);
                if part.is_empty() {
                    items.remove(&key.pk);
                }
            }
        }
        Write::Check { .. } => {}
    }
}

/// DynamoDB refuses a write whose item would exceed 400 KB: so does the fake.
fn fits(items: &Items, write: &Write) -> Result<(), StoreError> {
    let size = match write {
        Write::Put { item, .. } => super::value::item_size(item),
        Write::Update { key, .. } => {
            let mut one = Items::new();
            if let Some(i) = get(items, key) {
                one.entry(key.pk.clone())
                    .or_default()
                    .insert(key.sk.clone(), i.clone());
            }
            apply(&mut one, write.clone());
            get(&one, key).map_or(0, super::value::item_size)
        }
        Write::Delete { .. } | Write::Check { .. } => 0,
    };
    if size > super::value::ITEM_MAX_BYTES {
        return Err(StoreError::Rejected(
            "Item size has exceeded the maximum allowed size".into(),
        ));
    }
    Ok(())
}

fn cond_of(write: &Write) -> Option<&Cond> {
    match write {
        Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => {
            cond.as_ref()
        }
        Write::Check { cond, .. } => Some(cond),
    }
}

fn sort_matches(sort: &SortCond, index: Index, item: &Item) -> bool {
    match (sort, index) {
        (SortCond::All, _) => true,
        (SortCond::Prefix(p), Index::Table) => item
            .get(schema::SK)
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with(p.as_str())),
        (SortCond::NumLe(n), Index::Expiry) => item
            .get(schema::EXP_AT)
            .and_then(Value::as_n)
            .is_some_and(|x| x <= *n),
        _ => false,
    }
}

/// Sort position of an item within a query: `(sort key, table key)`.
fn position(index: Index, item: &Item) -> (String, i64, Key) {
    match index {
        Index::Table => (
            item.get(schema::SK)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            0,
            item_key(item),
        ),
        Index::Expiry => (
            String::new(),
            item.get(schema::EXP_AT).and_then(Value::as_n).unwrap_or(0),
            item_key(item),
        ),
    }
}

/// What a query returns of an item: everything from the table, only the keys from the
/// `KEYS_ONLY` expiry index (as DynamoDB does).
fn project(index: Index, item: &Item) -> Item {
    match index {
        Index::Table => item.clone(),
        Index::Expiry => item
            .iter()
            .filter(|(k, _)| {
                [schema::PK, schema::SK, schema::EXP_BUCKET, schema::EXP_AT].contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.enter()?;
        Ok(get(&lock(&self.items), key).cloned())
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.enter()?;
        let items = lock(&self.items);
        Ok(keys.iter().map(|k| get(&items, k).cloned()).collect())
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.enter()?;
        let mut items = lock(&self.items);
        let key = write.key();
        if !check(cond_of(&write), get(&items, &key)) {
            return Err(StoreError::ConditionFailed);
        }
        fits(&items, &write)?;
        apply(&mut items, write);
        Ok(())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.enter()?;
        let mut items = lock(&self.items);
        let conditions: Vec<bool> = writes
            .iter()
            .map(|w| !check(cond_of(w), get(&items, &w.key())))
            .collect();
        if conditions.iter().any(|c| *c) {
            return Err(StoreError::TransactionCancelled { conditions });
        }
        for w in &writes {
            fits(&items, w)?;
        }
        for w in writes {
            apply(&mut items, w);
        }
        Ok(())
    }

    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError> {
        self.enter()?;
        let mut items = lock(&self.items);
        let current = get(&items, key).cloned();
        match current {
            Some(item) if holds(&cond, Some(&item)) => {
                apply(
                    &mut items,
                    Write::Delete {
                        key: key.clone(),
                        cond: None,
                    },
                );
                Ok(item)
            }
            _ => Err(StoreError::ConditionFailed),
        }
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.enter()?;
        let items = lock(&self.items);
        let part_attr = match query.index {
            Index::Table => schema::PK,
            Index::Expiry => schema::EXP_BUCKET,
        };
        // A table query reads just its partition, as DynamoDB does. The expiry index is
        // only queried by the sweeper: a filter will do.
        let candidates: Box<dyn Iterator<Item = &Item>> =
            match query.index {
                Index::Table => Box::new(
                    items
                        .get(&query.partition)
                        .into_iter()
                        .flat_map(|p| p.values()),
                ),
                Index::Expiry => Box::new(items.values().flat_map(|p| p.values()).filter(|i| {
                    i.get(part_attr).and_then(Value::as_str) == Some(&query.partition)
                })),
            };
        let mut hits: Vec<&Item> = candidates
            .filter(|i| sort_matches(&query.sort, query.index, i))
            .collect();
        hits.sort_by_key(|i| position(query.index, i));
        if !query.forward {
            hits.reverse();
        }
        if let Some(start) = &query.start {
            let at = position(query.index, start);
            hits.retain(|i| {
                let p = position(query.index, i);
                if query.forward { p > at } else { p < at }
            });
        }
        let limit = query.limit.map_or(usize::MAX, |l| l as usize);
        let more = hits.len() > limit;
        let page: Vec<Item> = hits
            .into_iter()
            .take(limit)
            .map(|i| project(query.index, i))
            .collect();
        let next = if more { page.last().cloned() } else { None };
        Ok(Page { items: page, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::new_item;

    /// `take` deletes and returns the item only when its condition holds; an absent
    /// item fails every condition that needs it; once taken, it is gone for the next.
    #[tokio::test]
    async fn take_is_a_conditional_delete_returning_the_item() {
        let store = MemoryStore::new();
        let key = Key::new("p", "s");
        let mut item = new_item(&key);
        item.insert("n".into(), Value::N(5));
        store
            .write(Write::Put {
                item: item.clone(),
                cond: None,
            })
            .await
            .unwrap();
        let at_least = |n| Cond::And(vec![Cond::Exists, Cond::Ge("n", n)]);
        assert!(matches!(
            store.take(&key, at_least(6)).await,
            Err(StoreError::ConditionFailed)
        ));
        assert!(
            store.get(&key).await.unwrap().is_some(),
            "a failed take keeps it"
        );
        assert_eq!(store.take(&key, at_least(5)).await.unwrap(), item);
        assert!(store.get(&key).await.unwrap().is_none());
        assert!(matches!(
            store.take(&key, at_least(0)).await,
            Err(StoreError::ConditionFailed)
        ));
        assert!(matches!(
            store.take(&key, Cond::Exists).await,
            Err(StoreError::ConditionFailed)
        ));
    }
}
