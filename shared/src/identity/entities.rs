//! Entities: create, update, read, delete, list (OpenBao's
//! `internal/vault/identity/store_entities.go`, `handleEntityUpdateCommon` and the
//! read, delete and list handlers). Names are unique through an index item written in
//! the entity's transaction; deleting an entity deletes its aliases and removes it from
//! every group, in one transaction.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::MountTable;
use crate::store::{Store, Write};

use super::fields;
use super::groups;
use super::keys;
use super::records::{self, Entity, Stored};
use super::store::{self, Change, EntityRecord, alias_delete_writes, commit};

/// The fields of an entity write, as given (`None`: unchanged, or the default for a
/// new entity).
#[derive(Clone, Debug, Default)]
pub struct EntityInput {
    /// The entity to update (from the path, or the body's `id`).
    pub id: Option<String>,
    /// The name (from the path of `entity/name/:name`, or the body).
    pub name: Option<String>,
    /// `policies`.
    pub policies: Option<Vec<String>>,
    /// `metadata`.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `disabled`.
    pub disabled: Option<bool>,
}

impl EntityInput {
    /// Reads the body's fields (`id` and `name` only when the path names neither).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        Ok(Self {
            id: body.string("id")?.filter(|s| !s.is_empty()),
            name: body.string("name")?.filter(|s| !s.is_empty()),
            policies: fields::policies(body)?,
            metadata: fields::metadata(body, "metadata", "entity")?,
            disabled: body.boolean("disabled")?,
        })
    }
}

/// What a write did.
#[derive(Clone, Debug, PartialEq)]
pub enum Upserted {
    /// A new entity: Vault answers `{"id", "name", "aliases": null}`.
    Created(Json),
    /// An existing entity changed: Vault answers 204.
    Updated,
}

/// The writes that create `e` (its record and its name).
pub fn create_writes(e: &Entity) -> Result<Vec<Write>, ApiError> {
    Ok(vec![
        records::put(keys::entity(&e.id), "entity", e, None)?,
        records::claim(keys::entity_name(&e.name), &e.id, &[]),
    ])
}

/// A new entity named `name` (generated when `None`), created at `now`.
pub fn new_entity(name: Option<String>, now: i64) -> Result<Entity, ApiError> {
    Ok(Entity {
        id: fields::new_id()?,
        name: match name {
            Some(n) => n,
            None => fields::generated_name("entity")?,
        },
        created: now,
        updated: now,
        ..Entity::default()
    })
}

/// Creates or updates an entity as OpenBao's `handleEntityUpdateCommon`: an `id` must
/// name an entity (`entity not found from id`); a `name` held by another entity than
/// the one named by `id` is refused (`entity name is already in use`); a `name` alone
/// updates the entity holding it, or creates one.
pub async fn upsert(
    store: &dyn Store,
    input: &EntityInput,
    now: i64,
) -> Result<Upserted, ApiError> {
    commit(store, || async {
        let mut current: Option<Stored<Entity>> = None;
        if let Some(id) = &input.id {
            match store::entity(store, id).await? {
                Some(r) => current = Some(r.entity),
                None => return Err(ApiError::bad("entity not found from id")),
            }
        }
        let holder = match &input.name {
            Some(name) => store::entity_id_by_name(store, name).await?,
            None => None,
        };
        if let Some(holder) = holder {
            match &current {
                None => current = store::entity(store, &holder).await?.map(|r| r.entity),
                Some(c) if c.rec.id == holder => {}
                Some(_) => return Err(ApiError::bad("entity name is already in use")),
            }
        }
        let mut writes = Vec::new();
        let (mut e, rev) = match current {
            Some(c) => (c.rec, Some(c.rev)),
            None => (new_entity(input.name.clone(), now)?, None),
        };
        let old_name = e.name.clone();
        if let Some(n) = &input.name {
            e.name.clone_from(n);
        }
        if let Some(p) = &input.policies {
            e.policies.clone_from(p);
        }
        if let Some(m) = &input.metadata {
            e.metadata.clone_from(m);
        }
        if let Some(d) = input.disabled {
            e.disabled = d;
        }
        e.updated = now;
        let answer = match rev {
            None => {
                writes.extend(create_writes(&e)?);
                Upserted::Created(json!({ "id": e.id, "name": e.name, "aliases": Json::Null }))
            }
            Some(rev) => {
                writes.push(records::put(keys::entity(&e.id), "entity", &e, Some(rev))?);
                if keys::entity_name(&old_name) != keys::entity_name(&e.name) {
                    writes.push(records::release(keys::entity_name(&old_name), &e.id));
                    writes.push(records::claim(keys::entity_name(&e.name), &e.id, &[]));
                }
                Upserted::Updated
            }
        };
        Ok(Change { writes, answer })
    })
    .await
}

/// Deletes the entity `id` (or, with `by_name`, named `id`) with its aliases, and
/// removes it from every group: one transaction. Nothing to delete is not an error.
pub async fn delete(store: &dyn Store, key: &str, by_name: bool, now: i64) -> Result<(), ApiError> {
    commit(store, || async {
        let found = if by_name {
            store::entity_by_name(store, key).await?
        } else {
            store::entity(store, key).await?
        };
        let Some(r) = found else {
            return Ok(Change {
                writes: vec![],
                answer: (),
            });
        };
        let e = &r.entity;
        let graph = store::graph(store).await?;
        let mut writes = vec![
            records::delete(keys::entity(&e.rec.id), e.rev),
            records::release(keys::entity_name(&e.rec.name), &e.rec.id),
        ];
        for a in &r.aliases {
            writes.extend(alias_delete_writes(a));
        }
        for g in graph.groups.values() {
            if g.rec.member_entity_ids.contains(&e.rec.id) {
                writes.push(groups::rewrite(g, now, |c| {
                    c.member_entity_ids.retain(|m| *m != e.rec.id)
                })?);
            }
        }
        // Always bumped: a group write that saw this entity must not commit after it.
        writes.push(graph.bump());
        Ok(Change { writes, answer: () })
    })
    .await
}

/// Reads the entity `id` (or named `id`) as Vault answers it, with its aliases and
/// groups: the entity query and the groups query run side by side.
pub async fn read(
    store: &dyn Store,
    key: &str,
    by_name: bool,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    let id = if by_name {
        match store::entity_id_by_name(store, key).await? {
            Some(id) => id,
            None => return Ok(None),
        }
    } else {
        key.to_owned()
    };
    let (found, groups) = futures::join!(store::entity(store, &id), store::groups(store));
    let Some(r) = found? else {
        return Ok(None);
    };
    Ok(Some(super::view::entity(&r, &groups?, table)))
}

/// LIST `identity/entity/id` (`by_name`: `identity/entity/name`): the keys and
/// Vault's `key_info` (by entity ID: the name and the aliases).
pub async fn list(
    store: &dyn Store,
    by_name: bool,
    table: &MountTable,
) -> Result<(Vec<String>, Json), ApiError> {
    let all: Vec<EntityRecord> = store::entities(store).await?;
    let keys = all
        .iter()
        .map(|r| {
            if by_name {
                r.entity.rec.name.clone()
            } else {
                r.entity.rec.id.clone()
            }
        })
        .collect();
    let info: serde_json::Map<String, Json> = all
        .iter()
        .map(|r| {
            (
                r.entity.rec.id.clone(),
                super::view::entity_key_info(r, table),
            )
        })
        .collect();
    Ok((keys, Json::Object(info)))
}
