//! The identity a request acts for: the token's entity, its aliases and every group it
//! belongs to (directly, or through the member groups of parent groups), as OpenBao's
//! `fetchEntityAndDerivedPolicies` (`internal/vault/request_handling.go`) finds them
//! when it judges a request. The entity's and its groups' policies are added to the
//! token's; a disabled entity's tokens, and tokens whose entity is gone, are refused
//! (403 `permission denied`, as OpenBao).
//!
//! Per process, each entity's identity is kept [`IdentityCache`]'s TTL (the policy
//! cache TTL, `SIGIL_POLICY_CACHE_TTL`, default 30 s): a change to an entity or a
//! group (a policy added, a member removed, an entity disabled) applies to its tokens
//! from the next request on once that TTL has passed. Refreshing one entity costs two
//! queries (the entity with its aliases; every group); a warm request none.
//!
//! [`RequestIdentity`] holds what identity templates name (Vault's
//! `identity.entity.*`, `identity.groups.*`), for the policy templating increment.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::ApiError;
use crate::policy::template::{AliasView, GroupView};
use crate::store::Store;

use super::graph;
use super::store;

/// An entity as a request sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityInfo {
    /// The entity's ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub metadata: BTreeMap<String, String>,
    /// Its policies.
    pub policies: Vec<String>,
    /// Whether its tokens are refused.
    pub disabled: bool,
}

/// One of the entity's aliases as a request sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AliasInfo {
    /// The alias's ID.
    pub id: String,
    /// Its name (a role ID, a `user_claim` value, ...).
    pub name: String,
    /// The metadata its last login set (JWT `claim_mappings`, ...).
    pub metadata: BTreeMap<String, String>,
    /// The metadata set through the API (`custom_metadata`).
    pub custom_metadata: BTreeMap<String, String>,
}

/// A group the entity belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group's ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub metadata: BTreeMap<String, String>,
    /// Its policies.
    pub policies: Vec<String>,
}

/// The identity a request acts for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestIdentity {
    /// The entity.
    pub entity: EntityInfo,
    /// Its aliases, by mount accessor (an entity has at most one per mount).
    pub aliases: BTreeMap<String, AliasInfo>,
    /// Every group it belongs to, direct and inherited, by ID.
    pub groups: BTreeMap<String, GroupInfo>,
}

impl RequestIdentity {
    /// The policies the identity adds to a token (Vault's `identity_policies`): the
    /// entity's and every group's, sorted, without duplicates.
    pub fn policies(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entity
            .policies
            .iter()
            .chain(self.groups.values().flat_map(|g| g.policies.iter()))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The identity of `entity_id` read from the store: `None` when the entity does
    /// not exist. Two queries.
    pub async fn load(store: &dyn Store, entity_id: &str) -> Result<Option<Self>, ApiError> {
        let Some(r) = store::entity(store, entity_id).await? else {
            return Ok(None);
        };
        let groups = store::groups(store).await?;
        Ok(Some(Self::of(&r, &groups)))
    }

    /// The identity of entity record `r` within `groups`.
    pub fn of(r: &store::EntityRecord, groups: &graph::Groups) -> Self {
        let e = &r.entity.rec;
        let (direct, inherited) = graph::entity_groups(groups, &e.id, &r.external_group_ids());
        Self {
            entity: EntityInfo {
                id: e.id.clone(),
                name: e.name.clone(),
                metadata: e.metadata.clone(),
                policies: e.policies.clone(),
                disabled: e.disabled,
            },
            aliases: r
                .aliases
                .iter()
                .map(|a| {
                    (
                        a.rec.mount_accessor.clone(),
                        AliasInfo {
                            id: a.rec.id.clone(),
                            name: a.rec.name.clone(),
                            metadata: a.rec.metadata.clone(),
                            custom_metadata: a.rec.custom_metadata.clone().unwrap_or_default(),
                        },
                    )
                })
                .collect(),
            groups: direct
                .iter()
                .chain(&inherited)
                .filter_map(|id| groups.get(id))
                .map(|g| {
                    (
                        g.rec.id.clone(),
                        GroupInfo {
                            id: g.rec.id.clone(),
                            name: g.rec.name.clone(),
                            metadata: g.rec.metadata.clone(),
                            policies: g.rec.policies.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl crate::policy::template::TemplateSource for RequestIdentity {
    fn entity_id(&self) -> &str {
        &self.entity.id
    }
    fn entity_name(&self) -> &str {
        &self.entity.name
    }
    fn entity_metadata(&self) -> &BTreeMap<String, String> {
        &self.entity.metadata
    }
    fn alias(&self, mount_accessor: &str) -> Option<AliasView<'_>> {
        self.aliases.get(mount_accessor).map(|a| AliasView {
            id: &a.id,
            name: &a.name,
            metadata: &a.metadata,
            custom_metadata: &a.custom_metadata,
        })
    }
    fn group_by_id(&self, id: &str) -> Option<GroupView<'_>> {
        self.groups.get(id).map(GroupInfo::view)
    }
    fn group_by_name(&self, name: &str) -> Option<GroupView<'_>> {
        self.groups
            .values()
            .find(|g| g.name == name)
            .map(GroupInfo::view)
    }
}

impl GroupInfo {
    fn view(&self) -> GroupView<'_> {
        GroupView {
            id: &self.id,
            name: &self.name,
            metadata: &self.metadata,
        }
    }
}

/// Most entities one process keeps; past it, the cache starts again empty.
pub const MAX_CACHED_ENTITIES: usize = 10_000;

struct Cached {
    identity: Option<Arc<RequestIdentity>>,
    fetched_at: i64,
}

/// Per process: each entity's [`RequestIdentity`], kept `ttl` seconds.
#[derive(Default)]
pub struct IdentityCache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for IdentityCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCache").finish_non_exhaustive()
    }
}

impl IdentityCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The identity a token with `entity_id` acts for, read no longer than `ttl`
    /// seconds before `now`. 403 when the entity is gone or disabled (OpenBao's
    /// refusal of such tokens).
    pub async fn for_token(
        &self,
        store: &dyn Store,
        entity_id: &str,
        now: i64,
        ttl: i64,
    ) -> Result<Arc<RequestIdentity>, ApiError> {
        let cached = self.entries.lock().ok().and_then(|m| {
            m.get(entity_id)
                .filter(|c| now - c.fetched_at < ttl)
                .map(|c| c.identity.clone())
        });
        let identity = match cached {
            Some(i) => i,
            None => {
                let i = RequestIdentity::load(store, entity_id).await?.map(Arc::new);
                if let Ok(mut m) = self.entries.lock() {
                    if m.len() >= MAX_CACHED_ENTITIES && !m.contains_key(entity_id) {
                        m.clear();
                    }
                    m.insert(
                        entity_id.to_owned(),
                        Cached {
                            identity: i.clone(),
                            fetched_at: now,
                        },
                    );
                }
                i
            }
        };
        match identity {
            Some(i) if !i.entity.disabled => Ok(i),
            Some(_) => {
                tracing::info!("request refused: the token's entity is disabled");
                Err(ApiError::PermissionDenied)
            }
            None => {
                tracing::info!("request refused: the token's entity does not exist");
                Err(ApiError::PermissionDenied)
            }
        }
    }
}
