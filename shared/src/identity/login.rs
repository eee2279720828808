//! Logins creating or finding the entity of their alias, as OpenBao's
//! `handleLoginRequest` (`internal/vault/request_handling.go`) calls
//! `CreateOrFetchEntity` (`internal/vault/identity/store_util.go`): the auth method
//! names its caller (the alias: mount accessor, name, metadata); the alias's entity is
//! found, or an entity named `entity_<8 hex>` is created with the alias; changed
//! metadata updates the alias; a disabled entity's login is refused (403).
//!
//! Cost: the resolution's writes go into the login's own token transaction, so
//! - a first login writes entity, alias, their indexes and the token in one
//!   transaction; the alias's factor index is claimed on the condition that it does
//!   not exist, so of concurrent first logins of one identity exactly one creates the
//!   entity and the others, computed again, find it;
//! - a later login in a process that has seen the alias (an [`AliasCache`] hit with
//!   the same metadata) reads nothing: its transaction carries two `ConditionCheck`s
//!   (alias and entity at the revisions cached), so a changed, moved or deleted alias,
//!   or a changed (e.g. disabled) entity, fails the transaction and the login is
//!   computed again from a fresh read;
//! - a login in a process that has not seen the alias reads its factor index item
//!   (AppRole: in the login's own batch read, its name being the role ID) and then
//!   the entity and alias in one batch read.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::ApiError;
use crate::mounts::guard;
use crate::store::{Cond, Item, Store, Value, Write};
use crate::token::{Limits, Minted, TokenParams};

use super::entities::{self, new_entity};
use super::records::{self, Alias, Entity, REV, Stored, target};
use super::{aliases, fields, keys};

/// How many aliases an [`AliasCache`] holds at most; past it, it starts again empty
/// (a login then costs its reads once more).
pub const MAX_CACHED_ALIASES: usize = 10_000;

/// The alias a login names its caller by (Vault's `logical.Alias`): the auth mount's
/// accessor, the name the method gives (AppRole: role ID; JWT: the `user_claim`
/// value; Kubernetes: service account UID or `namespace/name`; AWS IAM: the role's
/// `role_id`) and the metadata the method sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginAlias {
    /// The auth mount's accessor.
    pub mount_accessor: String,
    /// The alias name.
    pub name: String,
    /// The alias metadata.
    pub metadata: BTreeMap<String, String>,
}

/// What a process knows of an alias it resolved: its entity and the revisions a
/// login's `ConditionCheck`s must find.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Known {
    entity_id: String,
    entity_rev: i64,
    alias_rev: i64,
    metadata: BTreeMap<String, String>,
}

/// The entity a login acts for, and the writes that go into its token transaction.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The entity's ID (the token's `entity_id`).
    pub entity_id: String,
    /// Conditional writes: the entity and alias created, the alias updated, or two
    /// checks that they are as cached.
    pub writes: Vec<Write>,
    key: (String, String),
    known: Known,
}

/// Per process: alias (mount accessor, name case-folded) → its entity and
/// revisions, so a repeated login reads nothing for its identity.
#[derive(Debug, Default)]
pub struct AliasCache {
    known: Mutex<HashMap<(String, String), Known>>,
}

/// The key of `alias`'s factor index item: a login that knows the alias's name
/// before its first read reads it in that read, and hands it to
/// [`AliasCache::resolve`].
pub fn factor_key(alias: &LoginAlias) -> crate::store::Key {
    keys::alias_factor(&alias.mount_accessor, &alias.name)
}

fn cache_key(alias: &LoginAlias) -> (String, String) {
    (alias.mount_accessor.clone(), alias.name.to_lowercase())
}

/// The check that the record at `key` is still at revision `rev`.
fn at_rev(key: crate::store::Key, rev: i64) -> Write {
    Write::Check {
        key,
        cond: Cond::Eq(REV, Value::N(rev)),
    }
}

impl AliasCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, key: &(String, String)) -> Option<Known> {
        self.known.lock().ok()?.get(key).cloned()
    }

    /// Resolves `alias` at `now`: from the cache when it holds the alias with the same
    /// metadata and `fresh` is false (no read), else from the store, starting from
    /// its factor index item: `factor` when the login read it already
    /// ([`factor_key`]), else read here. 403 when the entity is disabled. The metadata
    /// is the auth method's (bounded by the login's 16 KiB token), not checked
    /// against the API's metadata limits, as OpenBao.
    pub async fn resolve(
        &self,
        store: &dyn Store,
        alias: &LoginAlias,
        fresh: bool,
        factor: Option<Option<Item>>,
        now: i64,
    ) -> Result<Resolution, ApiError> {
        let key = cache_key(alias);
        if !fresh
            && let Some(k) = self.get(&key)
            && k.metadata == alias.metadata
        {
            return Ok(Resolution {
                entity_id: k.entity_id.clone(),
                writes: vec![
                    at_rev(keys::entity(&k.entity_id), k.entity_rev),
                    at_rev(
                        keys::alias(&k.entity_id, &alias.mount_accessor),
                        k.alias_rev,
                    ),
                ],
                key,
                known: k,
            });
        }
        let factor = match factor {
            Some(f) => f,
            None => store.get(&factor_key(alias)).await?,
        };
        let (writes, known) = match find(store, alias, factor).await? {
            Some((entity, found)) => {
                if entity.rec.disabled {
                    tracing::info!("login refused: the alias's entity is disabled");
                    return Err(ApiError::PermissionDenied);
                }
                let id = entity.rec.id.clone();
                let mut writes = vec![at_rev(keys::entity(&id), entity.rev)];
                let alias_rev = if found.rec.metadata == alias.metadata {
                    writes.push(at_rev(keys::alias(&id, &alias.mount_accessor), found.rev));
                    found.rev
                } else {
                    // As OpenBao: a login whose metadata changed updates the alias.
                    let updated = Alias {
                        metadata: alias.metadata.clone(),
                        updated: now,
                        ..found.rec.clone()
                    };
                    writes.push(records::put(
                        keys::alias(&id, &alias.mount_accessor),
                        "alias",
                        &updated,
                        Some(found.rev),
                    )?);
                    found.rev + 1
                };
                let known = Known {
                    entity_id: id,
                    entity_rev: entity.rev,
                    alias_rev,
                    metadata: alias.metadata.clone(),
                };
                (writes, known)
            }
            None => {
                let e = new_entity(None, now)?;
                let a = Alias {
                    id: fields::new_id()?,
                    canonical_id: e.id.clone(),
                    mount_accessor: alias.mount_accessor.clone(),
                    name: alias.name.clone(),
                    custom_metadata: None,
                    metadata: alias.metadata.clone(),
                    created: now,
                    updated: now,
                };
                let mut writes = entities::create_writes(&e)?;
                writes.extend(aliases::create_writes(&a)?);
                // Both are written as revision 1 ([`records::put`]).
                let known = Known {
                    entity_id: e.id,
                    entity_rev: 1,
                    alias_rev: 1,
                    metadata: alias.metadata.clone(),
                };
                (writes, known)
            }
        };
        Ok(Resolution {
            entity_id: known.entity_id.clone(),
            writes,
            key,
            known,
        })
    }

    /// Records a resolution whose writes were committed.
    pub fn committed(&self, r: &Resolution) {
        if let Ok(mut m) = self.known.lock() {
            if m.len() >= MAX_CACHED_ALIASES && !m.contains_key(&r.key) {
                m.clear();
            }
            m.insert(r.key.clone(), r.known.clone());
        }
    }

    /// Forgets `alias` (its resolution's transaction failed a condition).
    pub fn forget(&self, alias: &LoginAlias) {
        if let Ok(mut m) = self.known.lock() {
            m.remove(&cache_key(alias));
        }
    }
}

/// The entity and the alias of `(mount accessor, name)`, if any, from the factor
/// index item `factor` (as read): with the index's entity hint, one batch read of
/// entity and alias; without it (or a stale one), the alias ID index first.
async fn find(
    store: &dyn Store,
    alias: &LoginAlias,
    factor: Option<Item>,
) -> Result<Option<(Stored<Entity>, Stored<Alias>)>, ApiError> {
    let Some(factor) = factor else {
        return Ok(None);
    };
    let alias_id = target(&factor)?.to_owned();
    let pair = |entity_id: &str| {
        [
            keys::entity(entity_id),
            keys::alias(entity_id, &alias.mount_accessor),
        ]
    };
    if let Some(hint) = factor.get(keys::FACTOR_ENTITY_HINT).and_then(Value::as_str)
        && keys::valid_id(hint)
        && let Some(found) = entity_and_alias(store, &pair(hint), &alias_id).await?
    {
        return Ok(Some(found));
    }
    let Some(ix) = store.get(&keys::alias_id(&alias_id)).await? else {
        return Ok(None);
    };
    entity_and_alias(store, &pair(target(&ix)?), &alias_id).await
}

/// Reads the entity and alias at `keys` (one batch read): both, when the alias is
/// the one with ID `alias_id`.
async fn entity_and_alias(
    store: &dyn Store,
    keys: &[crate::store::Key; 2],
    alias_id: &str,
) -> Result<Option<(Stored<Entity>, Stored<Alias>)>, ApiError> {
    let mut found = store.get_many(keys).await?.into_iter();
    let (Some(Some(e)), Some(Some(a))) = (found.next(), found.next()) else {
        return Ok(None);
    };
    let (e, a): (Stored<Entity>, Stored<Alias>) = (records::decode(&e)?, records::decode(&a)?);
    Ok((a.rec.id == alias_id).then_some((e, a)))
}

/// Where a login happens: its auth mount (the guard its transaction carries,
/// [`crate::mounts::guard`], and its accessor, its aliases' `mount_accessor`) and the
/// process's alias cache.
#[derive(Clone, Debug)]
pub struct LoginAt {
    /// The mount guard.
    pub guard: Write,
    /// The auth mount's accessor.
    pub mount_accessor: String,
    /// The process's alias cache.
    pub aliases: Arc<AliasCache>,
}

impl LoginAt {
    /// A login through the environment's mount table (nothing stored yet:
    /// [`guard::nothing_stored`]) at the mount with `mount_accessor`, with an alias
    /// cache of its own.
    pub fn unstored(mount_accessor: &str) -> Self {
        Self {
            guard: guard::nothing_stored(),
            mount_accessor: mount_accessor.to_owned(),
            aliases: Arc::new(AliasCache::new()),
        }
    }

    /// The alias `name` with `metadata` in this login's mount.
    pub fn alias(&self, name: &str, metadata: BTreeMap<String, String>) -> LoginAlias {
        LoginAlias {
            mount_accessor: self.mount_accessor.clone(),
            name: name.to_owned(),
            metadata,
        }
    }
}

/// Mints the token a successful login earns, acting for the entity of `alias`, and
/// stores it with the identity's writes in one transaction behind the login's mount
/// guard (404 when the mount was disabled meanwhile). A transaction whose condition
/// failed (a concurrent first login of the same identity, an alias or entity changed
/// since cached) is computed again from a fresh read, up to
/// [`super::store::ATTEMPTS`] times (then 503). A batch token writes nothing unless
/// the identity must be created or updated.
pub async fn issue(
    store: &dyn Store,
    at: &LoginAt,
    alias: &LoginAlias,
    params: &TokenParams,
    limits: Limits,
    now: i64,
) -> Result<Minted, ApiError> {
    for attempt in 0..super::store::ATTEMPTS {
        if attempt > 0 {
            crate::backoff::pause(attempt).await;
        }
        let found = at
            .aliases
            .resolve(store, alias, attempt > 0, None, now)
            .await?;
        let params = TokenParams {
            entity_id: found.entity_id.clone(),
            ..params.clone()
        };
        let minted = crate::token::mint(&params, limits.clone(), now)?;
        let mut writes = minted.writes();
        let checks_only = found
            .writes
            .iter()
            .all(|w| matches!(w, Write::Check { .. }));
        if writes.is_empty() && checks_only {
            // A batch token for a known identity: nothing changes.
            return Ok(minted);
        }
        writes.extend(found.writes.iter().cloned());
        match store.transact(guard::behind(&at.guard, writes)).await {
            Ok(()) => {
                at.aliases.committed(&found);
                return Ok(minted);
            }
            Err(e) if guard::failed(&e) => {
                return Err(guard::login_error(e, &minted.entry.path));
            }
            Err(e) if e.is_condition() || e.is_retryable() => at.aliases.forget(alias),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}
