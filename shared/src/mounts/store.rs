//! The mount table's items and the writes that change it.
//!
//! Items, all in partition `mounts` (one query reads the whole table):
//! - sort key `~generation`: `n`, bumped by every change. Every change is one
//!   transaction conditioned on the generation it read, so two concurrent changes
//!   cannot both pass their overlap checks.
//! - sort key `m/{table}/{path}` (`m/secret/team-a/`, `m/auth/ci/`): one mount.
//!
//! Until the first change (or `sigil admin init`) no item exists and every function
//! serves the mounts of its environment ([`super::initial_table`]); the first change
//! stores those mounts and the change together.
//!
//! Disabling a mount deletes its entry (no request is served from it from then on) and
//! files a cleanup record, `mount-cleanup` / `{uuid}`, which the sweeper works
//! through in bounded steps ([`crate::mounts::cleanup`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::ApiError;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, Update, Value, Write, new_item, query_all,
};

use super::{BackendKind, MountEntry, MountTable, Table};

/// The mount table's partition.
pub const PK: &str = "mounts";
/// The generation item's sort key.
pub const SK_GENERATION: &str = "~generation";
/// The cleanup records' partition.
pub const CLEANUP_PK: &str = "mount-cleanup";

const A_N: &str = "n";
const A_PATH: &str = "path";
const A_TABLE: &str = "table";
const A_TYPE: &str = "type";
const A_ACCESSOR: &str = "accessor";
/// The attribute holding a stored entry's UUID.
pub(super) const A_UUID: &str = "uuid";
const A_DESCRIPTION: &str = "description";
const A_OPTIONS: &str = "options";
const A_DEFAULT_TTL: &str = "default_lease_ttl";
const A_MAX_TTL: &str = "max_lease_ttl";
const A_STORAGE: &str = "storage";
const A_CREATED: &str = "created_at";

/// The generation item's key.
pub fn generation_key() -> Key {
    Key::new(PK, SK_GENERATION)
}

/// The generation an item read at [`generation_key`] holds (0: no table stored).
pub fn generation_of(item: Option<&Item>) -> Result<i64, ApiError> {
    Ok(item.map(|i| i.n(A_N)).transpose()?.unwrap_or(0))
}

/// Sort-key prefix of a revoked auth path's record ([`super::revoked`]).
pub(super) const SK_REVOKED: &str = "r/";
/// Its attribute: when the revocation began (Unix seconds).
pub(super) const A_REVOKED_AT: &str = "created_at";

/// The `(prefix, created_at)` a revoked auth path's record holds, if `item` is one.
pub(super) fn revoked_of(item: &Item) -> Option<(String, i64)> {
    let prefix = item.key().sk.strip_prefix(SK_REVOKED)?.to_owned();
    Some((prefix, item.n(A_REVOKED_AT).ok()?))
}

/// The write that bumps the stored table's generation by one (the table must be
/// stored): with it in a transaction, a change reaches every function's next request.
pub fn bump_generation() -> Write {
    Write::Update {
        key: generation_key(),
        updates: vec![Update::Add(A_N, 1)],
        cond: Some(Cond::Exists),
    }
}

/// The key of a mount's entry in the stored table.
pub(super) fn entry_key(table: Table, path: &str) -> Key {
    Key::new(PK, format!("m/{}/{path}", table.name()))
}

/// The backend serving a Vault type name in a table, if Sigil has one.
pub fn kind_of(table: Table, type_name: &str) -> Option<BackendKind> {
    Some(match (table, type_name) {
        (Table::Secrets, "kv") => BackendKind::Kv,
        (Table::Secrets, "aws") => BackendKind::Aws,
        (Table::Secrets, "transit") => BackendKind::Transit,
        (Table::Secrets, "database") => BackendKind::Database,
        (Table::Auth, "approle") => BackendKind::AppRole,
        (Table::Auth, "jwt" | "oidc") => BackendKind::Jwt,
        (Table::Auth, "kubernetes") => BackendKind::Kubernetes,
        (Table::Auth, "aws") => BackendKind::AwsAuth,
        _ => return None,
    })
}

fn to_item(e: &MountEntry, now: i64) -> Item {
    let mut item = new_item(&entry_key(e.table, &e.path));
    item.insert(A_PATH.into(), e.path.as_str().into());
    item.insert(A_TABLE.into(), e.table.name().into());
    item.insert(A_TYPE.into(), e.type_name.as_str().into());
    item.insert(A_ACCESSOR.into(), e.accessor.as_str().into());
    item.insert(A_UUID.into(), e.uuid.as_str().into());
    item.insert(A_DESCRIPTION.into(), e.description.as_str().into());
    item.insert(
        A_OPTIONS.into(),
        Value::M(
            e.options
                .iter()
                .map(|(k, v)| (k.clone(), Value::S(v.clone())))
                .collect(),
        ),
    );
    item.insert(A_DEFAULT_TTL.into(), e.default_lease_ttl.into());
    item.insert(A_MAX_TTL.into(), e.max_lease_ttl.into());
    item.insert(A_STORAGE.into(), e.storage.as_str().into());
    item.insert(A_CREATED.into(), now.into());
    item
}

fn from_item(item: &Item) -> Result<MountEntry, ApiError> {
    let table = match item.s(A_TABLE)? {
        "secret" => Table::Secrets,
        "auth" => Table::Auth,
        _ => return Err(ApiError::Internal),
    };
    let type_name = item.s(A_TYPE)?.to_owned();
    let kind = kind_of(table, &type_name).ok_or(ApiError::Internal)?;
    let options: BTreeMap<String, String> = item
        .map(A_OPTIONS)?
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
        .collect();
    Ok(MountEntry {
        path: item.s(A_PATH)?.to_owned(),
        table,
        type_name,
        kind,
        accessor: item.s(A_ACCESSOR)?.to_owned(),
        uuid: item.s(A_UUID)?.to_owned(),
        description: item.s(A_DESCRIPTION)?.to_owned(),
        options,
        default_lease_ttl: item.n(A_DEFAULT_TTL)?,
        max_lease_ttl: item.n(A_MAX_TTL)?,
        storage: item.s(A_STORAGE)?.to_owned(),
        builtin: false,
    })
}

/// Reads the stored table (one query of one partition, a page per 1 MB): `None` when
/// nothing is stored yet (serve [`super::initial_table`]).
pub async fn load(store: &dyn Store) -> Result<Option<MountTable>, ApiError> {
    let items = query_all(store, Query::partition(PK)).await?;
    let mut generation = None;
    let mut entries: Vec<Arc<MountEntry>> = super::builtins().into_iter().map(Arc::new).collect();
    let mut revoked = Vec::new();
    for item in &items {
        if item.key().sk == SK_GENERATION {
            generation = Some(item.n(A_N)?);
        } else if let Some(r) = revoked_of(item) {
            revoked.push(r);
        } else {
            entries.push(Arc::new(from_item(item)?));
        }
    }
    Ok(generation.map(|generation| MountTable {
        entries,
        generation,
        revoked,
    }))
}

/// Stores `initial` (the environment's mounts, [`super::initial_table`]) unless a
/// table is stored: one transaction. Returns whether it stored it (`sigil admin init`).
pub async fn ensure_stored(
    store: &dyn Store,
    initial: &MountTable,
    now: i64,
) -> Result<bool, ApiError> {
    let mut g = new_item(&generation_key());
    g.insert(A_N.into(), Value::N(initial.generation + 1));
    let mut writes = vec![Write::Put {
        item: g,
        cond: Some(Cond::NotExists),
    }];
    writes.extend(
        initial
            .entries
            .iter()
            .filter(|e| !e.builtin)
            .map(|e| Write::Put {
                item: to_item(e, now),
                cond: None,
            }),
    );
    match store.transact(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A change to the mount table.
#[derive(Clone, Debug)]
pub enum Change {
    /// Add a mount (its path must be free and not overlap another).
    Enable(MountEntry),
    /// Remove the mount at this path; its items are deleted by the sweeper.
    Disable(Table, String),
    /// Replace a mount's tunable fields (description, lease TTLs).
    Tune(MountEntry),
}

/// Applies `change` to `current` (the table as read, stored or initial) in one
/// transaction conditioned on its generation: 400 when the change does not fit the
/// table (a taken or overlapping path, an unknown mount), 503 (retry) when another
/// change landed since `current` was read. Returns the generation written.
pub async fn apply(
    store: &dyn Store,
    current: &MountTable,
    stored: bool,
    change: Change,
    now: i64,
) -> Result<i64, ApiError> {
    let mut writes = Vec::new();
    let next = current.generation + 1;
    if stored {
        writes.push(Write::Update {
            key: generation_key(),
            updates: vec![Update::Set(A_N, Value::N(next))],
            cond: Some(Cond::Eq(A_N, Value::N(current.generation))),
        });
    } else {
        // The first change stores the environment's mounts with it.
        let mut g = new_item(&generation_key());
        g.insert(A_N.into(), Value::N(next));
        writes.push(Write::Put {
            item: g,
            cond: Some(Cond::NotExists),
        });
        for e in current.entries.iter().filter(|e| !e.builtin) {
            if let Change::Disable(t, p)
            | Change::Tune(MountEntry {
                table: t, path: p, ..
            }) = &change
                && *t == e.table
                && *p == e.path
            {
                continue;
            }
            writes.push(Write::Put {
                item: to_item(e, now),
                cond: None,
            });
        }
    }
    match change {
        Change::Enable(entry) => {
            if let Some(taken) = current
                .entries
                .iter()
                .find(|e| e.table == entry.table && e.path == entry.path)
            {
                return Err(ApiError::bad(format!(
                    "path is already in use at {}",
                    taken.full_path()
                )));
            }
            writes.push(Write::Put {
                item: to_item(&entry, now),
                cond: Some(Cond::NotExists),
            });
        }
        Change::Disable(table, path) => {
            let entry = current
                .get(table, &path)
                .ok_or_else(|| ApiError::bad(format!("no mount at {path:?}")))?;
            if entry.builtin {
                return Err(ApiError::bad(format!(
                    "cannot unmount {:?}: it is built in",
                    entry.full_path()
                )));
            }
            if stored {
                writes.push(Write::Delete {
                    key: entry_key(table, &path),
                    cond: Some(Cond::Exists),
                });
            }
            writes.push(Write::Put {
                item: cleanup_item(entry, now),
                cond: None,
            });
        }
        Change::Tune(entry) => {
            if stored {
                writes.push(Write::Put {
                    item: to_item(&entry, now),
                    cond: Some(Cond::Exists),
                });
            } else {
                writes.push(Write::Put {
                    item: to_item(&entry, now),
                    cond: None,
                });
            }
        }
    }
    match store.transact(writes).await {
        Ok(()) => Ok(next),
        Err(e) if e.is_condition() => Err(ApiError::Unavailable),
        Err(e) => Err(e.into()),
    }
}

/// A disabled mount whose items remain to be deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleanup {
    /// The mount as it was.
    pub entry: MountEntry,
    /// Where the deletion stopped (backend-defined; empty: not started).
    pub cursor: String,
}

const A_CURSOR: &str = "cursor";

fn cleanup_item(entry: &MountEntry, now: i64) -> Item {
    let mut item = to_item(entry, now);
    item.insert("pk".into(), CLEANUP_PK.into());
    item.insert("sk".into(), entry.uuid.as_str().into());
    item.insert(A_CURSOR.into(), "".into());
    item
}

/// The disabled mounts whose items remain (one query).
pub async fn pending_cleanups(store: &dyn Store) -> Result<Vec<Cleanup>, ApiError> {
    query_all(store, Query::partition(CLEANUP_PK))
        .await?
        .iter()
        .map(|item| {
            Ok(Cleanup {
                entry: from_item(item)?,
                cursor: item.s(A_CURSOR).unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// Records how far a cleanup got; `None` deletes the record (the cleanup is done).
pub async fn save_cleanup(
    store: &dyn Store,
    uuid: &str,
    cursor: Option<&str>,
) -> Result<(), ApiError> {
    let key = Key::new(CLEANUP_PK, uuid);
    let write = match cursor {
        Some(c) => Write::Update {
            key,
            updates: vec![Update::Set(A_CURSOR, c.into())],
            cond: Some(Cond::Exists),
        },
        None => Write::Delete { key, cond: None },
    };
    store.write(write).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::memory::MemoryStore;

    fn kv(path: &str) -> MountEntry {
        MountEntry {
            path: path.into(),
            table: Table::Secrets,
            type_name: "kv".into(),
            kind: BackendKind::Kv,
            accessor: format!("kv_{path}"),
            uuid: format!("uuid-{path}"),
            description: String::new(),
            options: BTreeMap::from([("version".into(), "2".into())]),
            default_lease_ttl: 0,
            max_lease_ttl: 0,
            storage: format!("uuid-{path}"),
            builtin: false,
        }
    }

    #[tokio::test]
    async fn the_first_change_stores_the_environments_mounts_with_it() {
        let store = MemoryStore::new();
        let initial = super::super::initial_table(&Config::default());
        assert_eq!(load(&store).await.unwrap(), None);
        let g = apply(&store, &initial, false, Change::Enable(kv("team-a/")), 5)
            .await
            .unwrap();
        assert_eq!(g, 1);
        let t = load(&store).await.unwrap().unwrap();
        assert_eq!(t.generation, 1);
        assert_eq!(t.entries.len(), initial.entries.len() + 1);
        assert!(t.get(Table::Secrets, "team-a/").is_some());
        assert_eq!(
            t.get(Table::Secrets, "secret/"),
            initial.get(Table::Secrets, "secret/"),
            "the environment's mounts keep their accessors"
        );
        // A change computed from the old table loses to the one that landed: 503.
        let stale = apply(&store, &initial, false, Change::Enable(kv("team-b/")), 6).await;
        assert_eq!(stale, Err(ApiError::Unavailable));
        let stale = apply(&store, &initial, true, Change::Enable(kv("team-b/")), 6).await;
        assert_eq!(stale, Err(ApiError::Unavailable));
        assert!(
            load(&store)
                .await
                .unwrap()
                .unwrap()
                .get(Table::Secrets, "team-b/")
                .is_none()
        );
        // Taken paths and unknown mounts are 400, nothing written.
        let taken = apply(&store, &t, true, Change::Enable(kv("team-a/")), 7).await;
        assert_eq!(taken.map_err(|e| e.status()), Err(400));
        let unknown = apply(
            &store,
            &t,
            true,
            Change::Disable(Table::Secrets, "x/".into()),
            7,
        )
        .await;
        assert_eq!(unknown.map_err(|e| e.status()), Err(400));
        let builtin = apply(
            &store,
            &t,
            true,
            Change::Disable(Table::Secrets, "sys/".into()),
            7,
        )
        .await;
        assert_eq!(builtin.map_err(|e| e.status()), Err(400));
        assert_eq!(load(&store).await.unwrap().unwrap().generation, 1);
        assert!(pending_cleanups(&store).await.unwrap().is_empty());
        // Disabling files a cleanup record with the mount as it was.
        apply(
            &store,
            &t,
            true,
            Change::Disable(Table::Secrets, "team-a/".into()),
            8,
        )
        .await
        .unwrap();
        let t = load(&store).await.unwrap().unwrap();
        assert!(t.get(Table::Secrets, "team-a/").is_none());
        let pending = pending_cleanups(&store).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].entry, kv("team-a/"));
        save_cleanup(&store, "uuid-team-a/", None).await.unwrap();
        assert!(pending_cleanups(&store).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn init_stores_the_table_once() {
        let store = MemoryStore::new();
        let initial = super::super::initial_table(&Config::default());
        assert!(ensure_stored(&store, &initial, 1).await.unwrap());
        assert!(!ensure_stored(&store, &initial, 2).await.unwrap());
        let t = load(&store).await.unwrap().unwrap();
        assert_eq!(t.generation, 1);
        let mut a: Vec<_> = t.entries.iter().map(|e| e.full_path()).collect();
        let mut b: Vec<_> = initial.entries.iter().map(|e| e.full_path()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
