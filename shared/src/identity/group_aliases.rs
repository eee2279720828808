//! Group aliases and external group membership (OpenBao's
//! `internal/vault/identity/store_group_aliases.go`, and
//! `RefreshExternalGroupMembershipsByEntityID` in `store_util.go`).
//!
//! An external group has at most one alias: its name in one mount, matched against
//! the group names a login presents (a JWT role's `groups_claim` values). Sigil keeps
//! the alias inside its group's record, so every group alias change is a change of
//! the group graph: it commits on the condition that the graph's version is
//! unchanged ([`super::store::Graph::bump`]), which also keeps (mount accessor, name)
//! unique across group aliases (names compared case-insensitively, as OpenBao).
//!
//! Membership: OpenBao adds a login's entity to the external groups its group aliases
//! name, and removes it from this mount's other external groups, writing the groups'
//! `member_entity_ids`. Sigil records the same set on the entity's alias in that
//! mount ([`super::records::Alias::groups`]): a login changes only its own alias (one
//! conditional write in the login's transaction, never the group record shared by
//! every member), and the graph's version is bumped by administrators only, so a warm
//! login can check it without contention ([`super::login`]). Reads answer the groups'
//! `member_entity_ids` from the aliases.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::MountTable;
use crate::store::{Store, StoreError};

use super::fields;
use super::graph::Groups;
use super::groups::rewrite;
use super::keys;
use super::records::{self, Group, GroupAlias, Stored};
use super::store::{self, Change, Graph, commit};

/// The fields of a group alias write, as given (empty strings count as absent).
#[derive(Clone, Debug, Default)]
pub struct GroupAliasInput {
    /// The alias to update (from the path, or the body's `id`).
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `mount_accessor`.
    pub mount_accessor: Option<String>,
    /// `canonical_id`: the external group to hold the alias.
    pub canonical_id: Option<String>,
}

impl GroupAliasInput {
    /// Reads the body's fields.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let s = |f: &str| -> Result<Option<String>, ApiError> {
            Ok(body.string(f)?.filter(|s| !s.is_empty()))
        };
        Ok(Self {
            id: s("id")?,
            name: s("name")?,
            mount_accessor: s("mount_accessor")?,
            canonical_id: s("canonical_id")?,
        })
    }
}

/// The group holding the alias with ID `id`.
fn holder<'a>(groups: &'a Groups, id: &str) -> Option<&'a Stored<Group>> {
    groups
        .values()
        .find(|g| g.rec.alias.as_ref().is_some_and(|a| a.id == id))
}

/// The group whose alias is `(mount_accessor, name)` (name case-insensitive).
fn by_factors<'a>(groups: &'a Groups, accessor: &str, name: &str) -> Option<&'a Stored<Group>> {
    groups.values().find(|g| {
        g.rec
            .alias
            .as_ref()
            .is_some_and(|a| a.mount_accessor == accessor && keys::same_name(&a.name, name))
    })
}

/// Creates or updates a group alias as OpenBao's `handleGroupAliasUpdateCommon`:
/// `name` (`missing alias name`) and `mount_accessor` (`missing mount_accessor`) are
/// required, the accessor must name a mount (`invalid mount accessor "<x>"`), the pair
/// must be free (`combination of mount and group alias name is already in use`).
/// `canonical_id` names an external group (`invalid group ID given in
/// 'canonical_id'`, `alias can't be set on an internal group`), whose alias it
/// replaces; without it a new alias makes a new external group (named
/// `group_<8 hex>`). An unknown `id` is `invalid group alias ID`. Answers `{"id",
/// "canonical_id"}`, or `None` (204) when nothing changes.
pub async fn upsert(
    store: &dyn Store,
    table: &MountTable,
    input: &GroupAliasInput,
    now: i64,
) -> Result<Option<Json>, ApiError> {
    commit(store, || async {
        let graph = store::graph(store).await?;
        let previous = match &input.id {
            Some(id) => match holder(&graph.groups, id) {
                Some(g) => Some(g.clone()),
                None => return Err(ApiError::bad("invalid group alias ID")),
            },
            None => None,
        };
        let Some(name) = &input.name else {
            return Err(ApiError::bad("missing alias name"));
        };
        let Some(accessor) = &input.mount_accessor else {
            return Err(ApiError::bad("missing mount_accessor"));
        };
        let old = previous.as_ref().and_then(|g| g.rec.alias.clone());
        if let (Some(p), Some(a)) = (&previous, &old)
            && a.name == *name
            && a.mount_accessor == *accessor
            && input.canonical_id.as_ref().is_none_or(|c| *c == p.rec.id)
        {
            return Ok(Change {
                writes: vec![],
                answer: None,
            });
        }
        let target = match &input.canonical_id {
            Some(cid) => match graph.groups.get(cid) {
                None => return Err(ApiError::bad("invalid group ID given in 'canonical_id'")),
                Some(g) if !g.rec.external => {
                    return Err(ApiError::bad("alias can't be set on an internal group"));
                }
                Some(g) => Some(g.clone()),
            },
            None => None,
        };
        if table.by_accessor(accessor).is_none() {
            return Err(ApiError::bad(format!(
                "invalid mount accessor {accessor:?}"
            )));
        }
        if let Some(g) = by_factors(&graph.groups, accessor, name)
            && g.rec.alias.as_ref().map(|a| &a.id) != old.as_ref().map(|a| &a.id)
        {
            return Err(ApiError::bad(
                "combination of mount and group alias name is already in use",
            ));
        }
        let alias = GroupAlias {
            id: match &old {
                Some(a) => a.id.clone(),
                None => fields::new_id()?,
            },
            name: name.clone(),
            mount_accessor: accessor.clone(),
            created: old.as_ref().map_or(now, |a| a.created),
            updated: now,
        };
        let mut writes = vec![graph.bump()];
        // The group that ends up holding the alias: the one named, else the one
        // holding it now, else a new external group.
        let group_id = match (target.as_ref(), previous.as_ref()) {
            (Some(t), Some(p)) if t.rec.id != p.rec.id => {
                writes.push(rewrite(p, now, |g| g.alias = None)?);
                writes.push(rewrite(t, now, |g| g.alias = Some(alias.clone()))?);
                t.rec.id.clone()
            }
            (Some(t), _) | (None, Some(t)) => {
                writes.push(rewrite(t, now, |g| g.alias = Some(alias.clone()))?);
                t.rec.id.clone()
            }
            (None, None) => {
                let g = Group {
                    id: fields::new_id()?,
                    name: fields::generated_name("group")?,
                    created: now,
                    updated: now,
                    modify_index: 1,
                    external: true,
                    alias: Some(alias.clone()),
                    ..Group::default()
                };
                writes.push(records::put(keys::group(&g.id), "group", &g, None)?);
                writes.push(records::claim(keys::group_name(&g.name), &g.id, &[]));
                g.id
            }
        };
        let answer = Some(json!({ "id": alias.id, "canonical_id": group_id }));
        Ok(Change { writes, answer })
    })
    .await
}

/// The ID of the group whose alias satisfies `matches` (one query).
pub async fn group_of(
    store: &dyn Store,
    matches: impl Fn(&GroupAlias) -> bool,
) -> Result<Option<String>, ApiError> {
    Ok(store::groups(store)
        .await?
        .into_values()
        .find(|g| g.rec.alias.as_ref().is_some_and(&matches))
        .map(|g| g.rec.id))
}

/// Reads the group alias `id` as OpenBao's `handleAliasReadCommon` answers it (the
/// shape of an entity alias; its `canonical_id` is the group's): one query.
pub async fn read(
    store: &dyn Store,
    id: &str,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    let groups = store::groups(store).await?;
    Ok(holder(&groups, id).and_then(|g| {
        let a = g.rec.alias.as_ref()?;
        Some(super::view::alias(
            &super::view::group_alias_as_alias(&g.rec, a),
            table,
        ))
    }))
}

/// Deletes the group alias `id` (its group stays, without alias). Nothing to delete
/// is not an error.
pub async fn delete(store: &dyn Store, id: &str, now: i64) -> Result<(), ApiError> {
    commit(store, || async {
        let graph = store::graph(store).await?;
        let writes = match holder(&graph.groups, id) {
            Some(g) => vec![rewrite(g, now, |g| g.alias = None)?, graph.bump()],
            None => vec![],
        };
        Ok(Change { writes, answer: () })
    })
    .await
}

/// LIST `identity/group-alias/id`: alias IDs and OpenBao's `key_info` (the entity
/// alias shape: name, canonical ID, mount accessor, type and path, no metadata).
pub async fn list(store: &dyn Store, table: &MountTable) -> Result<(Vec<String>, Json), ApiError> {
    let mut keys = Vec::new();
    let mut info = serde_json::Map::new();
    for g in store::groups(store).await?.values() {
        if let Some(a) = &g.rec.alias {
            keys.push(a.id.clone());
            let as_alias = super::view::group_alias_as_alias(&g.rec, a);
            info.insert(a.id.clone(), super::view::alias_key_info(&as_alias, table));
        }
    }
    Ok((keys, Json::Object(info)))
}

/// Removes the group aliases of the mount with `mount_accessor` (it was disabled; the
/// groups stay), in one transaction. Returns how many were removed.
pub async fn remove_mount(
    store: &dyn Store,
    mount_accessor: &str,
    now: i64,
) -> Result<usize, ApiError> {
    commit(store, || async {
        let graph = store::graph(store).await?;
        let mine: Vec<&Stored<Group>> = graph
            .groups
            .values()
            .filter(|g| {
                g.rec
                    .alias
                    .as_ref()
                    .is_some_and(|a| a.mount_accessor == mount_accessor)
            })
            .collect();
        let mut writes = Vec::with_capacity(mine.len() + 1);
        for g in &mine {
            writes.push(rewrite(g, now, |g| g.alias = None)?);
        }
        if !writes.is_empty() {
            writes.push(graph.bump());
        }
        Ok(Change {
            writes,
            answer: mine.len(),
        })
    })
    .await
}

/// Every group alias, as logins match them: (mount accessor, case-folded name) →
/// the external group's ID, with the graph version it was read at (a login's
/// transaction checks it is unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AliasMap {
    /// The group graph's version.
    pub version: i64,
    by_factor: HashMap<(String, String), String>,
}

impl AliasMap {
    /// The map of `graph`'s group aliases.
    pub fn of(graph: &Graph) -> Self {
        let by_factor = graph
            .groups
            .values()
            .filter(|g| g.rec.external)
            .filter_map(|g| {
                let a = g.rec.alias.as_ref()?;
                Some((
                    (a.mount_accessor.clone(), super::keys::fold(&a.name)),
                    g.rec.id.clone(),
                ))
            })
            .collect();
        Self {
            version: graph.version,
            by_factor,
        }
    }

    /// Reads the map: the graph's version, then every group (two round trips).
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Self::of(&store::graph(store).await?))
    }

    /// The external groups `names` map to in the mount with `accessor` (group IDs,
    /// sorted, without duplicates): each name matches only the alias of exactly that
    /// name (case-insensitively, as OpenBao); a `*`, `/` or `..` in a name is a
    /// character like any other.
    pub fn groups(&self, accessor: &str, names: &[String]) -> Vec<String> {
        fields::dedup(
            names
                .iter()
                .filter_map(|n| {
                    self.by_factor
                        .get(&(accessor.to_owned(), super::keys::fold(n)))
                        .cloned()
                })
                .collect(),
        )
    }
}
