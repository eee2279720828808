//! Entity aliases: create, update, read, delete, list (OpenBao's
//! `internal/vault/identity/store_aliases.go`). An alias names an entity in one auth
//! mount; the pair (mount accessor, name) is unique across entities and an entity has
//! at most one alias per mount, both enforced by conditional writes in the alias's
//! transaction.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::{MountTable, Table};
use crate::store::{Cond, Item, Store, Write, new_item};

use super::entities::{self, new_entity};
use super::fields;
use super::keys;
use super::records::{self, Alias, Stored, TARGET, target};
use super::store::{self, Change, alias_delete_writes, commit};

/// The attribute of an alias-ID index item naming the alias's mount accessor.
const ACCESSOR: &str = "mount_accessor";

/// The fields of an alias write, as given (empty strings count as absent, as Vault).
#[derive(Clone, Debug, Default)]
pub struct AliasInput {
    /// The alias to update (from the path, or the body's `id`).
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `mount_accessor`.
    pub mount_accessor: Option<String>,
    /// `canonical_id` (or the older `entity_id`).
    pub canonical_id: Option<String>,
    /// `custom_metadata`.
    pub custom_metadata: Option<BTreeMap<String, String>>,
}

impl AliasInput {
    /// Reads the body's fields.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let s = |f: &str| -> Result<Option<String>, ApiError> {
            Ok(body.string(f)?.filter(|s| !s.is_empty()))
        };
        Ok(Self {
            id: s("id")?,
            name: s("name")?,
            mount_accessor: s("mount_accessor")?,
            canonical_id: match s("canonical_id")? {
                Some(c) => Some(c),
                None => s("entity_id")?,
            },
            custom_metadata: fields::metadata(body, "custom_metadata", "alias custom")?,
        })
    }
}

/// Refuses an accessor that names no auth mount: `invalid mount accessor "<x>"`.
fn check_mount(table: &MountTable, accessor: &str) -> Result<(), ApiError> {
    match table.by_accessor(accessor) {
        Some(m) if m.table == Table::Auth => Ok(()),
        _ => Err(ApiError::bad(format!(
            "invalid mount accessor {accessor:?}"
        ))),
    }
}

/// The alias with ID `id`: its index, then its record (two round trips).
pub async fn by_id(store: &dyn Store, id: &str) -> Result<Option<Stored<Alias>>, ApiError> {
    if !keys::valid_id(id) {
        return Ok(None);
    }
    let Some(ix) = store.get(&keys::alias_id(id)).await? else {
        return Ok(None);
    };
    let canonical = target(&ix)?;
    let accessor = crate::store::ItemExt::s(&ix, ACCESSOR)?;
    Ok(match store.get(&keys::alias(canonical, accessor)).await? {
        Some(item) => Some(records::decode(&item)?),
        None => None,
    })
}

/// The alias of `(mount_accessor, name)`.
pub async fn by_factors(
    store: &dyn Store,
    mount_accessor: &str,
    name: &str,
) -> Result<Option<Stored<Alias>>, ApiError> {
    match store.get(&keys::alias_factor(mount_accessor, name)).await? {
        Some(ix) => by_id(store, target(&ix)?).await,
        None => Ok(None),
    }
}

/// The alias-ID index item of `a`.
fn id_index(a: &Alias) -> Item {
    let mut item = new_item(&keys::alias_id(&a.id));
    item.insert(TARGET.into(), a.canonical_id.as_str().into());
    item.insert(ACCESSOR.into(), a.mount_accessor.as_str().into());
    item
}

/// The writes that create alias `a` (its record and its ID and factor indexes), each
/// on the condition that it does not exist yet: of two creates of one (mount
/// accessor, name), one transaction passes.
pub fn create_writes(a: &Alias) -> Result<Vec<Write>, ApiError> {
    Ok(vec![
        records::put(
            keys::alias(&a.canonical_id, &a.mount_accessor),
            "alias",
            a,
            None,
        )?,
        Write::Put {
            item: id_index(a),
            cond: Some(Cond::NotExists),
        },
        records::claim(
            keys::alias_factor(&a.mount_accessor, &a.name),
            &a.id,
            &[(keys::FACTOR_ENTITY_HINT, &a.canonical_id)],
        ),
    ])
}

/// The answer to a write: the alias and its entity.
fn answer(a: &Alias) -> Option<Json> {
    Some(json!({ "id": a.id, "canonical_id": a.canonical_id }))
}

/// Creates or updates an alias as OpenBao's `pathAliasIDUpdate` and `handleAliasCreate`
/// / `handleAliasUpdate`. `None`: nothing changed (204).
pub async fn upsert(
    store: &dyn Store,
    table: &MountTable,
    input: &AliasInput,
    now: i64,
) -> Result<Option<Json>, ApiError> {
    commit(store, || async {
        if let Some(id) = &input.id {
            let Some(a) = by_id(store, id).await? else {
                return Err(ApiError::bad("invalid alias ID provided"));
            };
            if input.mount_accessor.is_none()
                && input.name.is_none()
                && input.canonical_id.is_none()
                && input.custom_metadata.is_none()
            {
                return Ok(Change {
                    writes: vec![],
                    answer: None,
                });
            }
            return update(store, table, input, a, now).await;
        }
        let (Some(accessor), Some(name)) = (&input.mount_accessor, &input.name) else {
            return Err(ApiError::bad(
                "'id' or 'mount_accessor' and 'name' must be provided",
            ));
        };
        check_mount(table, accessor)?;
        if let Some(a) = by_factors(store, accessor, name).await? {
            // As OpenBao: written again by its factors, an alias's custom metadata is
            // what the request gives (none given: none).
            let input = AliasInput {
                custom_metadata: Some(input.custom_metadata.clone().unwrap_or_default()),
                ..input.clone()
            };
            return update(store, table, &input, a, now).await;
        }
        create(store, input, accessor, name, now).await
    })
    .await
}

async fn create(
    store: &dyn Store,
    input: &AliasInput,
    accessor: &str,
    name: &str,
    now: i64,
) -> Result<Change<Option<Json>>, ApiError> {
    let mut writes = Vec::new();
    let canonical_id = match &input.canonical_id {
        Some(cid) => {
            let Some(r) = store::entity(store, cid).await? else {
                return Err(ApiError::bad("invalid canonical ID"));
            };
            if r.aliases.iter().any(|a| a.rec.mount_accessor == accessor) {
                return Err(ApiError::bad(
                    "Alias already exists for requested entity and mount accessor",
                ));
            }
            writes.push(Write::Check {
                key: keys::entity(cid),
                cond: Cond::Exists,
            });
            cid.clone()
        }
        None => {
            let e = new_entity(None, now)?;
            writes.extend(entities::create_writes(&e)?);
            e.id
        }
    };
    let a = Alias {
        id: fields::new_id()?,
        canonical_id,
        mount_accessor: accessor.to_owned(),
        name: name.to_owned(),
        custom_metadata: input.custom_metadata.clone(),
        metadata: BTreeMap::new(),
        groups: Vec::new(),
        created: now,
        updated: now,
    };
    writes.extend(create_writes(&a)?);
    Ok(Change {
        writes,
        answer: answer(&a),
    })
}

async fn update(
    store: &dyn Store,
    table: &MountTable,
    input: &AliasInput,
    old: Stored<Alias>,
    now: i64,
) -> Result<Change<Option<Json>>, ApiError> {
    let a = &old.rec;
    let name = input.name.clone().unwrap_or_else(|| a.name.clone());
    let accessor = input
        .mount_accessor
        .clone()
        .unwrap_or_else(|| a.mount_accessor.clone());
    let cm = match &input.custom_metadata {
        Some(m) => Some(m.clone()),
        None => a.custom_metadata.clone(),
    };
    let canonical = input
        .canonical_id
        .clone()
        .unwrap_or_else(|| a.canonical_id.clone());
    if name == a.name
        && accessor == a.mount_accessor
        && canonical == a.canonical_id
        && cm == a.custom_metadata
    {
        return Ok(Change {
            writes: vec![],
            answer: None,
        });
    }
    let Some(current) = store::entity(store, &a.canonical_id).await? else {
        return Err(ApiError::bad(
            "given alias is not associated with an entity",
        ));
    };
    if accessor != a.mount_accessor
        && canonical == a.canonical_id
        && current
            .aliases
            .iter()
            .any(|x| x.rec.mount_accessor == accessor)
    {
        return Err(ApiError::bad(
            "Alias cannot be updated as the entity already has an alias for the given 'mount_accessor' ",
        ));
    }
    if name != a.name || accessor != a.mount_accessor || cm != a.custom_metadata {
        check_mount(table, &accessor)?;
        if by_factors(store, &accessor, &name)
            .await?
            .is_some_and(|x| x.rec.id != a.id)
        {
            return Err(ApiError::bad(
                "alias with combination of mount accessor and name already exists",
            ));
        }
    }
    let mut writes = Vec::new();
    if canonical != a.canonical_id {
        let Some(target_entity) = store::entity(store, &canonical).await? else {
            return Err(ApiError::bad(
                "given 'canonical_id' is not associated with an entity",
            ));
        };
        if target_entity
            .aliases
            .iter()
            .any(|x| x.rec.mount_accessor == accessor)
        {
            return Err(ApiError::bad(
                "Alias cannot be updated as the given entity already has an alias for this mount ",
            ));
        }
        writes.push(Write::Check {
            key: keys::entity(&canonical),
            cond: Cond::Exists,
        });
    }
    let mut new = Alias {
        name,
        mount_accessor: accessor,
        canonical_id: canonical,
        custom_metadata: cm,
        updated: now,
        ..a.clone()
    };
    let moved = new.canonical_id != a.canonical_id || new.mount_accessor != a.mount_accessor;
    if moved || new.name != a.name {
        // The external groups a login mapped this alias's caller to are the old
        // entity's membership (OpenBao keeps them on that entity): they never move
        // with the alias to another entity, mount or name. The old entity leaves those
        // groups until its next login (fail-closed; docs/identity.md).
        new.groups.clear();
    }
    if moved {
        writes.push(records::delete(
            keys::alias(&a.canonical_id, &a.mount_accessor),
            old.rev,
        ));
        writes.push(records::put(
            keys::alias(&new.canonical_id, &new.mount_accessor),
            "alias",
            &new,
            None,
        )?);
        writes.push(Write::Put {
            item: id_index(&new),
            cond: Some(Cond::Eq(TARGET, a.canonical_id.as_str().into())),
        });
    } else {
        writes.push(records::put(
            keys::alias(&a.canonical_id, &a.mount_accessor),
            "alias",
            &new,
            Some(old.rev),
        )?);
    }
    if keys::alias_factor(&new.mount_accessor, &new.name)
        != keys::alias_factor(&a.mount_accessor, &a.name)
    {
        writes.push(records::release(
            keys::alias_factor(&a.mount_accessor, &a.name),
            &a.id,
        ));
        writes.push(records::claim(
            keys::alias_factor(&new.mount_accessor, &new.name),
            &a.id,
            &[(keys::FACTOR_ENTITY_HINT, &new.canonical_id)],
        ));
    }
    Ok(Change {
        writes,
        answer: answer(&new),
    })
}

/// Reads the alias `id` as Vault answers it.
pub async fn read(
    store: &dyn Store,
    id: &str,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    Ok(by_id(store, id)
        .await?
        .map(|a| super::view::alias(&a.rec, table)))
}

/// Deletes the alias `id` (its record and indexes, in one transaction). Nothing to
/// delete is not an error.
pub async fn delete(store: &dyn Store, id: &str) -> Result<(), ApiError> {
    commit(store, || async {
        let writes = match by_id(store, id).await? {
            Some(a) => alias_delete_writes(&a),
            None => vec![],
        };
        Ok(Change { writes, answer: () })
    })
    .await
}

/// LIST `identity/entity-alias/id`: alias IDs and Vault's `key_info`.
pub async fn list(store: &dyn Store, table: &MountTable) -> Result<(Vec<String>, Json), ApiError> {
    let mut keys = Vec::new();
    let mut info = serde_json::Map::new();
    for r in store::entities(store).await? {
        for a in &r.aliases {
            keys.push(a.rec.id.clone());
            info.insert(a.rec.id.clone(), super::view::alias_key_info(&a.rec, table));
        }
    }
    Ok((keys, Json::Object(info)))
}
