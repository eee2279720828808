//! The identity store's records as Vault answers them (OpenBao's
//! `handleEntityReadCommon`, `handleAliasReadCommon`, `handleGroupReadCommon`): field
//! names, `null` where OpenBao answers a nil list or map, RFC 3339 times.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::clock::rfc3339;
use crate::mounts::MountTable;

use super::graph::{self, Groups};
use super::records::{Alias, Group, GroupAlias};
use super::store::EntityRecord;

/// Sigil has no namespaces: every record is in Vault's root namespace.
const NAMESPACE: &str = "root";

/// A list, or `null` when empty (a nil slice in OpenBao).
fn list_or_null(v: &[String]) -> Json {
    if v.is_empty() { Json::Null } else { json!(v) }
}

/// A map, or `null` when empty (a nil map in OpenBao).
fn map_or_null(m: &BTreeMap<String, String>) -> Json {
    if m.is_empty() { Json::Null } else { json!(m) }
}

/// Adds `mount_type` and `mount_path` of the mount with `accessor`, when it exists.
fn mount_fields(obj: &mut serde_json::Map<String, Json>, table: &MountTable, accessor: &str) {
    if let Some(m) = table.by_accessor(accessor) {
        obj.insert("mount_type".into(), json!(m.type_name));
        obj.insert("mount_path".into(), json!(m.full_path()));
    }
}

/// An alias, as `identity/entity-alias/id/:id` reads it.
pub fn alias(a: &Alias, table: &MountTable) -> Json {
    let mut v = json!({
        "id": a.id,
        "canonical_id": a.canonical_id,
        "mount_accessor": a.mount_accessor,
        "metadata": map_or_null(&a.metadata),
        "custom_metadata": a.custom_metadata,
        "name": a.name,
        "merged_from_canonical_ids": Json::Null,
        "namespace_id": NAMESPACE,
        "local": false,
        "creation_time": rfc3339(a.created),
        "last_update_time": rfc3339(a.updated),
    });
    if let Json::Object(o) = &mut v {
        mount_fields(o, table, &a.mount_accessor);
    }
    v
}

/// An entity with its aliases and groups, as `identity/entity/id/:id` reads it.
pub fn entity(r: &EntityRecord, groups: &Groups, table: &MountTable) -> Json {
    let e = &r.entity.rec;
    let aliases: Vec<Json> = r
        .aliases
        .iter()
        .map(|a| {
            let mut v = alias(&a.rec, table);
            if let Json::Object(o) = &mut v {
                o.remove("namespace_id");
            }
            v
        })
        .collect();
    let (direct, inherited) = graph::entity_groups(groups, &e.id, &r.external_group_ids());
    let all: Vec<String> = direct.iter().chain(&inherited).cloned().collect();
    json!({
        "id": e.id,
        "name": e.name,
        "metadata": map_or_null(&e.metadata),
        "merged_entity_ids": Json::Null,
        "policies": e.policies,
        "disabled": e.disabled,
        "namespace_id": NAMESPACE,
        "creation_time": rfc3339(e.created),
        "last_update_time": rfc3339(e.updated),
        "aliases": aliases,
        "direct_group_ids": direct,
        "inherited_group_ids": inherited,
        "group_ids": all,
    })
}

/// A group, as `identity/group/id/:id` reads it: `members` are its member entities
/// ([`super::groups::read`]); `alias` is `{}` unless an external group has one.
pub fn group(g: &Group, groups: &Groups, members: &[String], table: &MountTable) -> Json {
    let alias = match &g.alias {
        Some(a) => {
            let mut v = alias(&group_alias_as_alias(g, a), table);
            if let Json::Object(o) = &mut v {
                for k in ["namespace_id", "custom_metadata", "local"] {
                    o.remove(k);
                }
            }
            v
        }
        None => json!({}),
    };
    json!({
        "id": g.id,
        "name": g.name,
        "policies": list_or_null(&g.policies),
        "member_entity_ids": list_or_null(members),
        "parent_group_ids": list_or_null(&graph::parents(groups, &g.id)),
        "metadata": map_or_null(&g.metadata),
        "creation_time": rfc3339(g.created),
        "last_update_time": rfc3339(g.updated),
        "modify_index": g.modify_index,
        "type": if g.external { "external" } else { "internal" },
        "namespace_id": NAMESPACE,
        "alias": alias,
        "member_group_ids": list_or_null(&g.member_group_ids),
    })
}

/// Group `g`'s alias `a` in the shape of an entity alias (OpenBao keeps both as one
/// `identity.Alias` and reads both with `handleAliasReadCommon`): its canonical ID is
/// the group's, it has no metadata.
pub fn group_alias_as_alias(g: &Group, a: &GroupAlias) -> Alias {
    Alias {
        id: a.id.clone(),
        canonical_id: g.id.clone(),
        mount_accessor: a.mount_accessor.clone(),
        name: a.name.clone(),
        created: a.created,
        updated: a.updated,
        ..Alias::default()
    }
}

/// An alias as LISTs of entities and groups name it in `key_info`: ID, name, mount
/// accessor, and the mount's type and path when it exists.
fn alias_entry(id: &str, name: &str, accessor: &str, table: &MountTable) -> Json {
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(id));
    o.insert("name".into(), json!(name));
    o.insert("mount_accessor".into(), json!(accessor));
    mount_fields(&mut o, table, accessor);
    Json::Object(o)
}

/// The `alias` entry of an external group in a group LIST's `key_info`.
pub fn group_alias_key_info(a: &GroupAlias, table: &MountTable) -> Json {
    alias_entry(&a.id, &a.name, &a.mount_accessor, table)
}

/// The `key_info` entry of an entity in a LIST (its name, and its aliases when any).
pub fn entity_key_info(r: &EntityRecord, table: &MountTable) -> Json {
    let mut v = json!({ "name": r.entity.rec.name });
    if !r.aliases.is_empty() {
        let aliases: Vec<Json> = r
            .aliases
            .iter()
            .map(|a| alias_entry(&a.rec.id, &a.rec.name, &a.rec.mount_accessor, table))
            .collect();
        v["aliases"] = json!(aliases);
    }
    v
}

/// The `key_info` entry of an alias in a LIST.
pub fn alias_key_info(a: &Alias, table: &MountTable) -> Json {
    let mut o = serde_json::Map::new();
    o.insert("canonical_id".into(), json!(a.canonical_id));
    o.insert("custom_metadata".into(), json!(a.custom_metadata));
    o.insert("local".into(), json!(false));
    o.insert("metadata".into(), map_or_null(&a.metadata));
    o.insert("mount_accessor".into(), json!(a.mount_accessor));
    o.insert("name".into(), json!(a.name));
    mount_fields(&mut o, table, &a.mount_accessor);
    Json::Object(o)
}
