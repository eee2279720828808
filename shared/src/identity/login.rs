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
//! - a later login in a process that has seen the alias (an [`AliasCache`] hit)
//!   reads nothing: its transaction carries two `ConditionCheck`s (alias and entity
//!   at the revisions cached), or, when its metadata or external groups changed, the
//!   entity's check and the alias's update conditional on its cached revision; so a
//!   changed, moved or deleted alias, or a changed (e.g. disabled) entity, fails the
//!   transaction and the login is computed again from a fresh read;
//! - a login presenting group names (a JWT `groups_claim`) maps them through the
//!   group aliases, read once per process and kept; its transaction also checks
//!   that the group graph's version is the one they were read at, so a group alias
//!   created, moved or removed since makes the login computed again with a fresh
//!   read of them ([`super::group_aliases`]);
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
use super::group_aliases::AliasMap;
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
    /// The group names the login presents (Vault's `GroupAliases`: a JWT role's
    /// `groups_claim` values, empty when the role has none), matched against the
    /// mount's group aliases; `None` for methods without groups (AppRole,
    /// Kubernetes, AWS), whose logins leave external groups alone.
    pub groups: Option<Vec<String>>,
}

/// What a process knows of an alias it resolved: its entity, the alias record (its
/// metadata and external groups, [`Alias::groups`]) and the revisions a login's
/// conditions must find.
#[derive(Clone, Debug, PartialEq)]
struct Known {
    entity_id: String,
    entity_rev: i64,
    alias_rev: i64,
    alias: Alias,
}

impl Known {
    /// A login of `login` through this known alias, whose groups map to `groups`:
    /// the check of the entity at its revision, and the check of the alias at its
    /// revision when its metadata and groups are the same, else (as OpenBao: a login
    /// whose metadata or groups changed updates the alias; OpenBao writes the external
    /// groups' members) the alias updated on the condition of its revision. No read.
    fn login(
        &self,
        login: &LoginAlias,
        groups: Vec<String>,
        now: i64,
    ) -> Result<(Vec<Write>, Known), ApiError> {
        let id = &self.entity_id;
        let key = keys::alias(id, &login.mount_accessor);
        let mut writes = vec![at_rev(keys::entity(id), self.entity_rev)];
        if self.alias.metadata == login.metadata && self.alias.groups == groups {
            writes.push(at_rev(key, self.alias_rev));
            return Ok((writes, self.clone()));
        }
        let alias = Alias {
            metadata: login.metadata.clone(),
            groups,
            updated: now,
            ..self.alias.clone()
        };
        writes.push(records::put(key, "alias", &alias, Some(self.alias_rev))?);
        let known = Known {
            alias_rev: self.alias_rev + 1,
            alias,
            ..self.clone()
        };
        Ok((writes, known))
    }
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
/// revisions, and the group aliases as last read, so a repeated login reads nothing
/// for its identity.
#[derive(Debug, Default)]
pub struct AliasCache {
    known: Mutex<HashMap<(String, String), Known>>,
    group_aliases: Mutex<Option<Arc<AliasMap>>>,
}

/// The external groups a login maps its caller to, and the group graph version the
/// mapping was computed at (`None`: no group name given, nothing to check).
type Wanted = Option<(Vec<String>, Option<i64>)>;

/// The key of `alias`'s factor index item: a login that knows the alias's name
/// before its first read reads it in that read, and hands it to
/// [`AliasCache::resolve`].
pub fn factor_key(alias: &LoginAlias) -> crate::store::Key {
    keys::alias_factor(&alias.mount_accessor, &alias.name)
}

fn cache_key(alias: &LoginAlias) -> (String, String) {
    (alias.mount_accessor.clone(), super::keys::fold(&alias.name))
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

    /// The external groups `alias`'s group names map to ([`AliasMap::groups`]), from
    /// the group aliases cached unless `fresh` (then read: two round trips). `None`
    /// for a method without groups.
    async fn wanted(
        &self,
        store: &dyn Store,
        alias: &LoginAlias,
        fresh: bool,
    ) -> Result<Wanted, ApiError> {
        let Some(names) = &alias.groups else {
            return Ok(None);
        };
        if names.is_empty() {
            return Ok(Some((Vec::new(), None)));
        }
        let cached = if fresh {
            None
        } else {
            self.group_aliases.lock().ok().and_then(|m| m.clone())
        };
        let map = match cached {
            Some(m) => m,
            None => {
                let m = Arc::new(AliasMap::load(store).await?);
                if let Ok(mut slot) = self.group_aliases.lock() {
                    *slot = Some(m.clone());
                }
                m
            }
        };
        Ok(Some((
            map.groups(&alias.mount_accessor, names),
            Some(map.version),
        )))
    }

    /// Resolves `alias` at `now`: from the cache when it holds the alias and `fresh`
    /// is false (no read; changed metadata or groups update the alias conditional on
    /// its cached revision), else from the store, starting from its factor index item: `factor` when the login read it
    /// already ([`factor_key`]), else read here. 403 when the entity is disabled. The
    /// metadata is the auth method's (bounded by the login's 16 KiB token), not
    /// checked against the API's metadata limits, as OpenBao.
    ///
    /// External groups (OpenBao's `RefreshExternalGroupMembershipsByEntityID`): the
    /// login's group names are looked up as group aliases of its mount; the alias
    /// records the groups found (joined and left as they change, one conditional
    /// write), and the transaction checks the group graph's version the lookup used
    /// ([`super::store::version_check`]), so an alias created or removed meanwhile
    /// makes the login computed again.
    pub async fn resolve(
        &self,
        store: &dyn Store,
        alias: &LoginAlias,
        fresh: bool,
        factor: Option<Option<Item>>,
        now: i64,
    ) -> Result<Resolution, ApiError> {
        let key = cache_key(alias);
        let wanted = self.wanted(store, alias, fresh).await?;
        let version = wanted.as_ref().and_then(|w| w.1);
        // The groups the alias records after this login: those its names map to, or
        // (a method without groups) those it records.
        let groups = |a: &Alias| {
            wanted
                .as_ref()
                .map_or_else(|| a.groups.clone(), |w| w.0.clone())
        };
        let cached = if fresh { None } else { self.get(&key) };
        let (writes, known) = match cached {
            Some(k) => k.login(alias, groups(&k.alias), now)?,
            None => {
                let factor = match factor {
                    Some(f) => f,
                    None => store.get(&factor_key(alias)).await?,
                };
                match find(store, alias, factor).await? {
                    Some((entity, found)) => {
                        if entity.rec.disabled {
                            tracing::info!("login refused: the alias's entity is disabled");
                            return Err(ApiError::PermissionDenied);
                        }
                        let k = Known {
                            entity_id: entity.rec.id.clone(),
                            entity_rev: entity.rev,
                            alias_rev: found.rev,
                            alias: found.rec,
                        };
                        k.login(alias, groups(&k.alias), now)?
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
                            groups: wanted.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
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
                            alias: a,
                        };
                        (writes, known)
                    }
                }
            }
        };
        let mut writes = writes;
        writes.extend(version.map(super::store::version_check));
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
            groups: None,
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
