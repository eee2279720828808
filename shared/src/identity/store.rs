//! Reading the identity store's records and committing changes to them: every change
//! is one transaction whose conditions (record revisions, index items absent, the
//! group graph's version) fail if anything it read has changed; the change is then
//! computed again from a fresh read, after a jittered pause, a bounded number of times.

use std::collections::BTreeMap;
use std::future::Future;

use crate::error::ApiError;
use crate::store::{
    Cond, Item, ItemExt, Query, SortCond, Store, StoreError, Update, Value, Write, query_all,
};

use super::keys;
use super::records::{self, Alias, Entity, Group, Stored, decode, kind, target};

/// How many times a change is computed at most: after a condition failed (another
/// writer got there first) it is computed again, after a jittered pause
/// ([`crate::backoff`]), so N writers racing on one record all land within N attempts
/// up to this bound; past it the request answers 503.
pub const ATTEMPTS: u32 = 12;

/// An entity with its aliases (sorted by mount accessor).
#[derive(Clone, Debug, PartialEq)]
pub struct EntityRecord {
    /// The entity.
    pub entity: Stored<Entity>,
    /// Its aliases.
    pub aliases: Vec<Stored<Alias>>,
}

impl EntityRecord {
    /// The external groups its aliases' last logins mapped it to (IDs, may repeat).
    pub fn external_group_ids(&self) -> Vec<String> {
        self.aliases
            .iter()
            .flat_map(|a| a.rec.groups.iter().cloned())
            .collect()
    }
}

/// Collects entities and aliases from items of the entities partition, in order.
fn collect(items: &[Item]) -> Result<Vec<EntityRecord>, StoreError> {
    let mut out: Vec<EntityRecord> = Vec::new();
    for item in items {
        match kind(item) {
            "entity" => out.push(EntityRecord {
                entity: decode(item)?,
                aliases: Vec::new(),
            }),
            "alias" => {
                let a: Stored<Alias> = decode(item)?;
                match out.last_mut() {
                    Some(e) if e.entity.rec.id == a.rec.canonical_id => e.aliases.push(a),
                    _ => {
                        return Err(StoreError::Malformed(
                            "identity alias without entity".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The entity `id` with its aliases: one query (`None`: no such entity, or an ID
/// that names none).
pub async fn entity(store: &dyn Store, id: &str) -> Result<Option<EntityRecord>, StoreError> {
    if !keys::valid_id(id) {
        return Ok(None);
    }
    let mut q = Query::partition(keys::ENTITIES);
    q.sort = SortCond::Prefix(keys::entity_prefix(id));
    Ok(collect(&query_all(store, q).await?)?.pop())
}

/// Every entity with its aliases, sorted by ID: one paged query.
pub async fn entities(store: &dyn Store) -> Result<Vec<EntityRecord>, StoreError> {
    collect(&query_all(store, Query::partition(keys::ENTITIES)).await?)
}

/// What an index item points to (`None`: the key is free).
pub async fn index(store: &dyn Store, key: &crate::store::Key) -> Result<Option<Item>, StoreError> {
    store.get(key).await
}

/// The ID of the entity named `name`.
pub async fn entity_id_by_name(
    store: &dyn Store,
    name: &str,
) -> Result<Option<String>, StoreError> {
    index(store, &keys::entity_name(name))
        .await?
        .map(|i| target(&i).map(str::to_owned))
        .transpose()
}

/// The entity named `name`, with its aliases (two round trips).
pub async fn entity_by_name(
    store: &dyn Store,
    name: &str,
) -> Result<Option<EntityRecord>, StoreError> {
    match entity_id_by_name(store, name).await? {
        Some(id) => entity(store, &id).await,
        None => Ok(None),
    }
}

/// Which entities of `ids` exist: one batch read per 100.
pub async fn entities_exist(store: &dyn Store, ids: &[String]) -> Result<Vec<bool>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let keys: Vec<_> = chunk
            .iter()
            .map(|id| keys::entity(if keys::valid_id(id) { id } else { "-" }))
            .collect();
        let found = store.get_many(&keys).await?;
        out.extend(
            chunk
                .iter()
                .zip(found)
                .map(|(id, f)| keys::valid_id(id) && f.is_some()),
        );
    }
    Ok(out)
}

/// The group graph: every group, by ID, and the graph's version it was read at.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// The version a change must find unchanged (0 before the first change).
    pub version: i64,
    /// Every group.
    pub groups: BTreeMap<String, Stored<Group>>,
}

/// Every group, without the version (for reads): one paged query.
pub async fn groups(store: &dyn Store) -> Result<BTreeMap<String, Stored<Group>>, StoreError> {
    query_all(store, Query::partition(keys::GROUPS))
        .await?
        .iter()
        .map(|i| decode::<Group>(i).map(|g| (g.rec.id.clone(), g)))
        .collect()
}

/// The group graph for a change: the version first, then the groups, so a change
/// committed after the version was read makes the change's condition fail.
pub async fn graph(store: &dyn Store) -> Result<Graph, StoreError> {
    let version = match store.get(&keys::groups_version()).await? {
        Some(i) => i.n("n")?,
        None => 0,
    };
    Ok(Graph {
        version,
        groups: groups(store).await?,
    })
}

impl Graph {
    /// The write that bumps the graph's version, on the condition it is unchanged.
    pub fn bump(&self) -> Write {
        Write::Update {
            key: keys::groups_version(),
            updates: vec![Update::Add("n", 1)],
            cond: Some(version_is(self.version)),
        }
    }
}

/// The condition that the group graph's version is still `version` (0: never changed).
fn version_is(version: i64) -> Cond {
    if version == 0 {
        Cond::AttrAbsent("n")
    } else {
        Cond::Eq("n", Value::N(version))
    }
}

/// The check that the group graph's version is still `version`: a login whose
/// external groups were computed from the graph at that version carries it.
pub fn version_check(version: i64) -> Write {
    Write::Check {
        key: keys::groups_version(),
        cond: version_is(version),
    }
}

/// The outcome of computing a change: writes to commit, and the answer once they are.
pub struct Change<T> {
    /// One transaction (empty: nothing to write).
    pub writes: Vec<Write>,
    /// The answer.
    pub answer: T,
}

/// Computes a change with `plan` from a fresh read and commits it; when a condition
/// fails (a concurrent writer), computes it again, up to [`ATTEMPTS`] times. `plan`'s
/// own errors (Vault's 400s) end it at once.
pub async fn commit<T, F, Fut>(store: &dyn Store, mut plan: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Change<T>, ApiError>>,
{
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            crate::backoff::pause(attempt).await;
        }
        let change = plan().await?;
        if change.writes.is_empty() {
            return Ok(change.answer);
        }
        match store.transact(change.writes).await {
            Ok(()) => return Ok(change.answer),
            Err(e) if e.is_condition() || e.is_retryable() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// The writes that delete an alias (its record and both its indexes).
pub fn alias_delete_writes(a: &Stored<Alias>) -> Vec<Write> {
    vec![
        records::delete(
            keys::alias(&a.rec.canonical_id, &a.rec.mount_accessor),
            a.rev,
        ),
        records::release(keys::alias_id(&a.rec.id), &a.rec.canonical_id),
        records::release(
            keys::alias_factor(&a.rec.mount_accessor, &a.rec.name),
            &a.rec.id,
        ),
    ]
}

/// Removes the aliases of the auth mount with `mount_accessor` (it was disabled; as
/// OpenBao, its entities stay), each with its indexes in one transaction, at most
/// `budget` of them. Reads the entities partition (every entity and alias, paged).
/// Returns how many were removed and whether none is left. An alias changed
/// concurrently is left for the next call.
pub async fn remove_mount_aliases(
    store: &dyn Store,
    mount_accessor: &str,
    budget: usize,
) -> Result<(usize, bool), ApiError> {
    let mine: Vec<Stored<Alias>> = entities(store)
        .await?
        .into_iter()
        .flat_map(|r| r.aliases)
        .filter(|a| a.rec.mount_accessor == mount_accessor)
        .collect();
    let mut removed = 0;
    for a in mine.iter().take(budget) {
        match store.transact(alias_delete_writes(a)).await {
            Ok(()) => removed += 1,
            Err(e) if e.is_condition() || e.is_retryable() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((removed, removed == mine.len()))
}
