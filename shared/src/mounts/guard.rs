//! A login's mount guard: the condition, checked in the login's own transaction, that
//! its auth mount is still enabled.
//!
//! A login carries no token, so it is routed with a mount table up to the cache TTL
//! old ([`super::cache`]). Without a guard, a login through a mount disabled within
//! that time would still mint a token (refused from its first use, but written). The
//! guard makes the disable final for logins too: the token's writes and the guard are
//! one transaction, so a login either sees its mount enabled or writes nothing.

use crate::error::ApiError;
use crate::store::{Cond, StoreError, Write};

use super::store::{A_UUID, entry_key, generation_key};
use super::{MountEntry, MountTable};

/// The guard of a login through `entry`, routed with `table`: the stored entry still
/// has this mount's UUID; or, for the environment's table (generation 0: nothing
/// stored), that nothing is stored yet (any change, a disable included, stores the
/// table first). One `ConditionCheck`: no extra round trip.
pub fn enabled(table: &MountTable, entry: &MountEntry) -> Write {
    if table.generation == 0 {
        nothing_stored()
    } else {
        Write::Check {
            key: entry_key(entry.table, &entry.path),
            cond: Cond::Eq(A_UUID, entry.uuid.as_str().into()),
        }
    }
}

/// The guard of a login routed with the environment's table: no table is stored.
pub fn nothing_stored() -> Write {
    Write::Check {
        key: generation_key(),
        cond: Cond::NotExists,
    }
}

/// `writes` behind `guard`: the guard first, so that a failed transaction tells
/// whether it was the guard ([`failed`]).
pub fn behind(guard: &Write, writes: Vec<Write>) -> Vec<Write> {
    std::iter::once(guard.clone()).chain(writes).collect()
}

/// Whether a transaction built by [`behind`] failed on its guard: the mount was
/// disabled (or replaced) since the function read its table.
pub fn failed(e: &StoreError) -> bool {
    matches!(e, StoreError::TransactionCancelled { conditions } if conditions.first() == Some(&true))
}

/// The error of a guarded login transaction: 404 for `path` (as a request to a mount
/// that does not exist) when the guard failed, else the storage error's.
pub fn login_error(e: StoreError, path: &str) -> ApiError {
    if failed(&e) {
        tracing::info!("login refused: its auth mount was disabled");
        ApiError::no_route(path)
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::mounts::Table;
    use crate::mounts::store::{Change, apply, ensure_stored, load};
    use crate::store::Store;
    use crate::store::memory::MemoryStore;

    /// Whether a login's transaction (a stand-in write behind the guard) lands.
    async fn lands(store: &MemoryStore, guard: &Write) -> Result<(), bool> {
        let item = crate::store::new_item(&crate::store::Key::new("login", "token"));
        store
            .transact(behind(guard, vec![Write::Put { item, cond: None }]))
            .await
            .map_err(|e| failed(&e))
    }

    #[tokio::test]
    async fn a_login_lands_only_while_its_mount_is_enabled() {
        let store = MemoryStore::new();
        let initial = crate::mounts::initial_table(&Config::default());
        let approle = initial.get(Table::Auth, "approle/").unwrap().clone();
        // The environment's table, nothing stored: the guard holds until a table is.
        let env_guard = enabled(&initial, &approle);
        assert_eq!(lands(&store, &env_guard).await, Ok(()));
        assert!(ensure_stored(&store, &initial, 1).await.unwrap());
        assert_eq!(
            lands(&store, &env_guard).await,
            Err(true),
            "a table was stored since: the function must read it"
        );
        // The stored table: holds while the entry is there, with this mount's UUID.
        let stored = load(&store).await.unwrap().unwrap();
        let guard = enabled(&stored, &approle);
        assert_eq!(lands(&store, &guard).await, Ok(()));
        apply(
            &store,
            &stored,
            true,
            Change::Disable(Table::Auth, "approle/".into()),
            2,
        )
        .await
        .unwrap();
        assert_eq!(lands(&store, &guard).await, Err(true), "disabled");
        let e = login_error(
            store
                .transact(behind(&guard, Vec::new()))
                .await
                .unwrap_err(),
            "auth/approle/login",
        );
        assert_eq!(e.status(), 404);
        // Enabled again at the same path: a new UUID, so the old guard still fails.
        let now = load(&store).await.unwrap().unwrap();
        let mut again = (*approle).clone();
        again.uuid = "another-uuid".into();
        apply(&store, &now, true, Change::Enable(again), 3)
            .await
            .unwrap();
        assert_eq!(lands(&store, &guard).await, Err(true), "replaced");
    }
}
