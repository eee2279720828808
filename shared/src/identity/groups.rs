//! Internal groups: create, update, read, delete, list (OpenBao's
//! `internal/vault/identity/store_groups.go`, `handleGroupUpdateCommon`, and
//! `SanitizeAndUpsertGroup` in `store_util.go`). Every change to a group is checked
//! against the whole group graph and commits on the condition that the graph's
//! version is unchanged, so two concurrent changes cannot together make a cycle.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::MountTable;
use crate::store::Store;

use super::fields;
use super::graph;
use super::keys;
use super::records::{self, Group, Stored};
use super::store::{self, Change, commit};

/// OpenBao's text for a member group that would close a cycle.
pub const CYCLE: &str = "cyclic relationship detected for member group ID";

/// The fields of a group write, as given (`None`: unchanged, or empty for a new group).
#[derive(Clone, Debug, Default)]
pub struct GroupInput {
    /// The group to update (from the path, or the body's `id`).
    pub id: Option<String>,
    /// The name (from the path of `group/name/:name`, or the body).
    pub name: Option<String>,
    /// `policies`.
    pub policies: Option<Vec<String>>,
    /// `metadata`.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `member_entity_ids`.
    pub member_entity_ids: Option<Vec<String>>,
    /// `member_group_ids`.
    pub member_group_ids: Option<Vec<String>>,
    /// `type`: `Some(true)` for `external`, `Some(false)` for `internal`, `None` when
    /// not given (a new group is then internal).
    pub external: Option<bool>,
}

impl GroupInput {
    /// Reads the body's fields; `type` is `internal` or `external` (else OpenBao's
    /// `invalid group type "<t>"`).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let external = match body.string("type")?.as_deref() {
            None | Some("") => None,
            Some("internal") => Some(false),
            Some("external") => Some(true),
            Some(t) => return Err(ApiError::bad(format!("invalid group type {t:?}"))),
        };
        Ok(Self {
            external,
            id: body.string("id")?.filter(|s| !s.is_empty()),
            name: body.string("name")?.filter(|s| !s.is_empty()),
            policies: fields::policies(body)?,
            metadata: fields::metadata(body, "metadata", "group")?,
            member_entity_ids: fields::ids(body, "member_entity_ids")?,
            member_group_ids: fields::ids(body, "member_group_ids")?,
        })
    }
}

/// Creates or updates a group. `id` must name a group (`invalid group ID`); otherwise a
/// `name` updates the group holding it or creates one; a name held by another group is
/// refused (`group name is already in use`). A group's type is fixed at creation
/// (`group type cannot be changed`); an external group's members come from logins
/// (`member entities can't be set manually for external groups`, `member groups can't
/// be set for external groups`). Members must exist (`invalid entity ID "<id>"`,
/// `invalid member group ID "<id>"`) and member groups must not close a cycle.
/// `Some`: a new group, Vault's `{"id", "name"}`; `None`: updated (204).
pub async fn upsert(
    store: &dyn Store,
    input: &GroupInput,
    now: i64,
) -> Result<Option<Json>, ApiError> {
    commit(store, || async {
        let graph = store::graph(store).await?;
        let mut current: Option<Stored<Group>> = None;
        if let Some(id) = &input.id {
            match graph.groups.get(id) {
                Some(g) => current = Some(g.clone()),
                None => return Err(ApiError::bad("invalid group ID")),
            }
        }
        if let Some(name) = &input.name {
            if current.is_none() {
                current = graph
                    .groups
                    .values()
                    .find(|g| keys::same_name(&g.rec.name, name))
                    .cloned();
            }
            let holder = graph
                .groups
                .values()
                .find(|g| keys::same_name(&g.rec.name, name));
            if let (Some(h), Some(c)) = (holder, &current)
                && h.rec.id != c.rec.id
            {
                return Err(ApiError::bad("group name is already in use"));
            }
        }
        let (mut g, rev) = match current {
            Some(c) => (c.rec, Some(c.rev)),
            None => (
                Group {
                    id: fields::new_id()?,
                    name: match &input.name {
                        Some(n) => n.clone(),
                        None => fields::generated_name("group")?,
                    },
                    created: now,
                    external: input.external.unwrap_or(false),
                    ..Group::default()
                },
                None,
            ),
        };
        if input.external.is_some_and(|ext| ext != g.external) {
            return Err(ApiError::bad("group type cannot be changed"));
        }
        if g.external && input.member_entity_ids.is_some() {
            return Err(ApiError::bad(
                "member entities can't be set manually for external groups",
            ));
        }
        if g.external && input.member_group_ids.is_some() {
            return Err(ApiError::bad(
                "member groups can't be set for external groups",
            ));
        }
        let old_name = g.name.clone();
        if let Some(n) = &input.name {
            g.name.clone_from(n);
        }
        if let Some(p) = &input.policies {
            g.policies.clone_from(p);
        }
        if let Some(m) = &input.metadata {
            g.metadata.clone_from(m);
        }
        if let Some(ids) = &input.member_entity_ids {
            let exist = store::entities_exist(store, ids).await?;
            if let Some((id, _)) = ids.iter().zip(exist).find(|(_, ok)| !ok) {
                return Err(ApiError::bad(format!("invalid entity ID {id:?}")));
            }
            g.member_entity_ids.clone_from(ids);
        }
        if let Some(ids) = &input.member_group_ids {
            if let Some(id) = ids
                .iter()
                .find(|id| !graph.groups.contains_key(*id) && **id != g.id)
            {
                return Err(ApiError::bad(format!("invalid member group ID {id:?}")));
            }
            if ids.contains(&g.id) {
                return Err(ApiError::bad(format!(
                    "member group ID {:?} is same as the ID of the group",
                    g.id
                )));
            }
            if let Some(m) = graph::first_cycle(&graph.groups, &g.id, ids) {
                return Err(ApiError::bad(format!("{CYCLE} {m:?}")));
            }
            g.member_group_ids.clone_from(ids);
        }
        g.updated = now;
        g.modify_index += 1;
        let mut writes = vec![
            records::put(keys::group(&g.id), "group", &g, rev)?,
            graph.bump(),
        ];
        if rev.is_none() {
            writes.push(records::claim(keys::group_name(&g.name), &g.id, &[]));
        } else if keys::group_name(&old_name) != keys::group_name(&g.name) {
            writes.push(records::release(keys::group_name(&old_name), &g.id));
            writes.push(records::claim(keys::group_name(&g.name), &g.id, &[]));
        }
        let answer = rev.is_none().then(|| json!({ "id": g.id, "name": g.name }));
        Ok(Change { writes, answer })
    })
    .await
}

/// The write that changes group `g` with `change` at `now` (a new `modify_index`), on
/// the condition that it is still the revision read.
pub fn rewrite(
    g: &Stored<Group>,
    now: i64,
    change: impl FnOnce(&mut Group),
) -> Result<crate::store::Write, ApiError> {
    let mut changed = g.rec.clone();
    change(&mut changed);
    changed.updated = now;
    changed.modify_index += 1;
    Ok(records::put(
        keys::group(&changed.id),
        "group",
        &changed,
        Some(g.rev),
    )?)
}

/// Deletes the group `key` (with `by_name`, named `key`) and removes it from its
/// parents' member groups, in one transaction. Nothing to delete is not an error.
pub async fn delete(store: &dyn Store, key: &str, by_name: bool, now: i64) -> Result<(), ApiError> {
    commit(store, || async {
        let graph = store::graph(store).await?;
        let found = graph.groups.values().find(|g| {
            if by_name {
                keys::same_name(&g.rec.name, key)
            } else {
                g.rec.id == key
            }
        });
        let Some(g) = found else {
            return Ok(Change {
                writes: vec![],
                answer: (),
            });
        };
        let mut writes = vec![
            records::delete(keys::group(&g.rec.id), g.rev),
            records::release(keys::group_name(&g.rec.name), &g.rec.id),
        ];
        for p in graph::parents(&graph.groups, &g.rec.id) {
            writes.push(rewrite(&graph.groups[&p], now, |c| {
                c.member_group_ids.retain(|m| *m != g.rec.id)
            })?);
        }
        writes.push(graph.bump());
        Ok(Change { writes, answer: () })
    })
    .await
}

/// The members of every external group (entity IDs, sorted), from the entities'
/// aliases ([`records::Alias::groups`]): one paged query of the entities partition,
/// made only when `groups` holds an external group.
pub async fn external_members(
    store: &dyn Store,
    groups: &graph::Groups,
) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !groups.values().any(|g| g.rec.external) {
        return Ok(out);
    }
    for r in store::entities(store).await? {
        for gid in fields::dedup(r.external_group_ids()) {
            if groups.get(&gid).is_some_and(|g| g.rec.external) {
                out.entry(gid).or_default().push(r.entity.rec.id.clone());
            }
        }
    }
    Ok(out)
}

/// A group's member entities: its `member_entity_ids`, or for an external group the
/// entities logins mapped to it.
fn members<'a>(g: &'a Group, external: &'a BTreeMap<String, Vec<String>>) -> &'a [String] {
    if g.external {
        external.get(&g.id).map_or(&[], Vec::as_slice)
    } else {
        &g.member_entity_ids
    }
}

/// Reads the group `key` (with `by_name`, named `key`) as Vault answers it: one query
/// (two for an external group: its members are found from the entities' aliases).
pub async fn read(
    store: &dyn Store,
    key: &str,
    by_name: bool,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    let groups = store::groups(store).await?;
    let found = groups.values().find(|g| {
        if by_name {
            keys::same_name(&g.rec.name, key)
        } else {
            g.rec.id == key
        }
    });
    let Some(g) = found else {
        return Ok(None);
    };
    let ext = if g.rec.external {
        external_members(store, &groups).await?
    } else {
        BTreeMap::new()
    };
    Ok(Some(super::view::group(
        &g.rec,
        &groups,
        members(&g.rec, &ext),
        table,
    )))
}

/// LIST `identity/group/id` (`by_name`: `identity/group/name`): the keys and Vault's
/// `key_info` (by group ID: name, member entity and parent group counts, and the
/// alias of an external group that has one).
pub async fn list(
    store: &dyn Store,
    by_name: bool,
    table: &MountTable,
) -> Result<(Vec<String>, Json), ApiError> {
    let groups = store::groups(store).await?;
    let ext = external_members(store, &groups).await?;
    let keys = groups
        .values()
        .map(|g| {
            if by_name {
                g.rec.name.clone()
            } else {
                g.rec.id.clone()
            }
        })
        .collect();
    let info: serde_json::Map<String, Json> = groups
        .values()
        .map(|g| {
            let mut v = json!({
                "name": g.rec.name,
                "num_member_entities": members(&g.rec, &ext).len(),
                "num_parent_groups": graph::parents(&groups, &g.rec.id).len(),
            });
            if let Some(a) = &g.rec.alias {
                v["alias"] = super::view::group_alias_key_info(a, table);
            }
            (g.rec.id.clone(), v)
        })
        .collect();
    Ok((keys, Json::Object(info)))
}
