//! The identity store's records as Vault answers them (OpenBao's
//! `handleEntityReadCommon`, `handleAliasReadCommon`, `handleGroupReadCommon`): field
//! names, `null` where OpenBao answers a nil list or map, RFC 3339 times.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::clock::rfc3339;
use crate::mounts::MountTable;

use super::graph::{self, Groups};
use super::records::{Alias, Group};
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
    let (direct, inherited) = graph::entity_groups(groups, &e.id);
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

/// A group, as `identity/group/id/:id` reads it (internal groups have no alias: `{}`).
pub fn group(g: &Group, groups: &Groups) -> Json {
    json!({
        "id": g.id,
        "name": g.name,
        "policies": list_or_null(&g.policies),
        "member_entity_ids": list_or_null(&g.member_entity_ids),
        "parent_group_ids": list_or_null(&graph::parents(groups, &g.id)),
        "metadata": map_or_null(&g.metadata),
        "creation_time": rfc3339(g.created),
        "last_update_time": rfc3339(g.updated),
        "modify_index": g.modify_index,
        "type": "internal",
        "namespace_id": NAMESPACE,
        "alias": {},
        "member_group_ids": list_or_null(&g.member_group_ids),
    })
}

/// The `key_info` entry of an entity in a LIST (its name, and its aliases when any).
pub fn entity_key_info(r: &EntityRecord, table: &MountTable) -> Json {
    let mut v = json!({ "name": r.entity.rec.name });
    if !r.aliases.is_empty() {
        let aliases: Vec<Json> = r
            .aliases
            .iter()
            .map(|a| {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), json!(a.rec.id));
                o.insert("name".into(), json!(a.rec.name));
                o.insert("mount_accessor".into(), json!(a.rec.mount_accessor));
                mount_fields(&mut o, table, &a.rec.mount_accessor);
                Json::Object(o)
            })
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
