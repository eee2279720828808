//! Auth paths whose tokens are being revoked (`sys/leases/revoke-prefix/auth/...`),
//! kept in the mount table's partition so that every function refuses those tokens
//! from the next request on: the table's generation is read with every token, and a
//! change of it reloads the table ([`super::MountTable::token_revoked`]). A record
//! stays until the revocation's job has marked each of the tokens (the sweeper then
//! removes it, [`remove`]).
//!
//! Items: `mounts` / `r/{prefix}` with `created_at` (Unix seconds): tokens under the
//! prefix issued up to then are refused.

use crate::error::ApiError;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, SortCond, Store, Value, Write, new_item, query_all,
};

use super::store::{PK, bump_generation};

const SK_PREFIX: &str = "r/";
const A_CREATED: &str = "created_at";

fn key(prefix: &str) -> Key {
    Key::new(PK, format!("{SK_PREFIX}{prefix}"))
}

/// The `(prefix, created_at)` a stored item holds, if it is such a record.
pub fn from_item(item: &Item) -> Option<(String, i64)> {
    let prefix = item.key().sk.strip_prefix(SK_PREFIX)?.to_owned();
    Some((prefix, item.n(A_CREATED).ok()?))
}

/// Records that the tokens issued under `prefix` up to `now` are revoked, and bumps
/// the table's generation (one transaction; the table must be stored).
pub async fn record(store: &dyn Store, prefix: &str, now: i64) -> Result<(), ApiError> {
    let mut item = new_item(&key(prefix));
    item.insert(A_CREATED.into(), Value::N(now));
    store
        .transact(vec![bump_generation(), Write::Put { item, cond: None }])
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::Unavailable
            } else {
                e.into()
            }
        })
}

/// Removes the record of `prefix` made at `created_at` (a newer one stays), bumping
/// the generation. Idempotent.
pub async fn remove(store: &dyn Store, prefix: &str, created_at: i64) -> Result<(), ApiError> {
    match store
        .transact(vec![
            bump_generation(),
            Write::Delete {
                key: key(prefix),
                cond: Some(Cond::Eq(A_CREATED, Value::N(created_at))),
            },
        ])
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Every record (one query).
pub async fn list(store: &dyn Store) -> Result<Vec<(String, i64)>, ApiError> {
    let mut q = Query::partition(PK);
    q.sort = SortCond::Prefix(SK_PREFIX.to_owned());
    Ok(query_all(store, q)
        .await?
        .iter()
        .filter_map(from_item)
        .collect())
}
