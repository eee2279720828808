//! The identity store's records and how they are stored: each record is one item whose
//! `doc` attribute holds the record as JSON, with a `rev` number bumped by every write,
//! so an update is conditional on the revision it read (optimistic concurrency).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::{Cond, Item, ItemExt, Key, StoreError, Value, Write, new_item};

/// The attribute holding a record's JSON.
const DOC: &str = "doc";
/// The attribute holding a record's revision.
pub const REV: &str = "rev";
/// The attribute naming a record's kind (`entity`, `alias`, `group`).
const KIND: &str = "kind";

/// An entity: one machine (or person) that may log in through several auth mounts
/// (Vault's `identity.Entity`, less merges, MFA and namespaces).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Generated UUID.
    pub id: String,
    /// Unique name (generated `entity_<8 hex>` when none is given).
    pub name: String,
    /// Policies, lowercased, without duplicates, never `root`.
    pub policies: Vec<String>,
    /// Free key/value pairs ([`super::fields::metadata`]).
    pub metadata: BTreeMap<String, String>,
    /// Whether tokens of the entity are refused (at request time and at login, as
    /// OpenBao: 403 `permission denied`).
    pub disabled: bool,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last update, Unix seconds.
    pub updated: i64,
}

/// An entity alias: the entity's name in one auth mount (Vault's `identity.Alias`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    /// Generated UUID.
    pub id: String,
    /// The entity it belongs to.
    pub canonical_id: String,
    /// The auth mount's accessor.
    pub mount_accessor: String,
    /// The name the auth method knows the caller by (a role ID, a `sub`).
    pub name: String,
    /// Key/value pairs set through the API (`custom_metadata`); `None` until a
    /// request gives them (OpenBao answers `null` then, `{}` once set, even empty).
    pub custom_metadata: Option<BTreeMap<String, String>>,
    /// Key/value pairs the auth method set at the last login (Vault's alias
    /// `metadata`: JWT `claim_mappings`, the Kubernetes service account's names);
    /// empty for an alias written through the API.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The external groups the last login through this alias's mount mapped the
    /// caller to (group IDs, sorted): the entity's membership of external groups
    /// (OpenBao keeps it in the groups' `member_entity_ids`; see
    /// [`super::group_aliases`] for why Sigil keeps it here). Empty for aliases of
    /// methods without groups (AppRole, Kubernetes, AWS) and aliases written through
    /// the API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last update, Unix seconds.
    pub updated: i64,
}

/// A group (Vault's `identity.Group`): internal (members set through the API) or
/// external (members set by logins, through the group's alias). Member groups are
/// kept on the parent; a group's parents are found from the graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Generated UUID.
    pub id: String,
    /// Unique name (generated `group_<8 hex>` when none is given).
    pub name: String,
    /// Policies, lowercased, without duplicates, never `root`.
    pub policies: Vec<String>,
    /// Free key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Member entities, without duplicates.
    pub member_entity_ids: Vec<String>,
    /// Member groups, without duplicates; never a cycle.
    pub member_group_ids: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last update, Unix seconds.
    pub updated: i64,
    /// Number of writes since creation (Vault's `modify_index`).
    pub modify_index: i64,
    /// Whether the group is external (`type: external`; fixed at creation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The group's alias (external groups only; at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<GroupAlias>,
}

/// An external group's alias: the group's name in one auth mount, matched against
/// the group names a login presents (JWT `groups_claim` values). Its `canonical_id`
/// is the group holding it. (mount accessor, name) is unique across group aliases,
/// names compared case-insensitively as OpenBao.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupAlias {
    /// Generated UUID.
    pub id: String,
    /// The name (a `groups_claim` value).
    pub name: String,
    /// The mount's accessor.
    pub mount_accessor: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last update, Unix seconds.
    pub updated: i64,
}

/// A record as read, with the revision a conditional write must find.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<T> {
    /// The record.
    pub rec: T,
    /// Its revision.
    pub rev: i64,
}

fn malformed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Malformed(format!("identity record: {e}"))
}

/// Decodes a record item.
pub fn decode<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<Stored<T>, StoreError> {
    let rec = serde_json::from_str(item.s(DOC)?).map_err(malformed)?;
    Ok(Stored {
        rec,
        rev: item.n(REV)?,
    })
}

/// The item's kind (`entity`, `alias`, `group`), empty when absent.
pub fn kind(item: &Item) -> &str {
    item.get(KIND).and_then(Value::as_str).unwrap_or_default()
}

/// Writes `rec` at `key` as revision `rev + 1`, on the condition that the stored
/// revision is still `rev` (`None`: that no item exists).
pub fn put<T: Serialize>(
    key: Key,
    kind_name: &str,
    rec: &T,
    rev: Option<i64>,
) -> Result<Write, StoreError> {
    let doc = serde_json::to_string(rec).map_err(malformed)?;
    let mut item = new_item(&key);
    item.insert(KIND.into(), kind_name.into());
    item.insert(DOC.into(), doc.into());
    item.insert(REV.into(), (rev.unwrap_or(0) + 1).into());
    Ok(Write::Put {
        item,
        cond: Some(match rev {
            None => Cond::NotExists,
            Some(r) => Cond::Eq(REV, Value::N(r)),
        }),
    })
}

/// Deletes the record at `key` on the condition that its revision is still `rev`.
pub fn delete(key: Key, rev: i64) -> Write {
    Write::Delete {
        key,
        cond: Some(Cond::Eq(REV, Value::N(rev))),
    }
}

/// The attribute of an index item naming what it points to.
pub const TARGET: &str = "target";

/// An index item (`key` → `target`), written on the condition that it does not exist.
pub fn claim(key: Key, target: &str, extra: &[(&'static str, &str)]) -> Write {
    let mut item = new_item(&key);
    item.insert(TARGET.into(), target.into());
    for (k, v) in extra {
        item.insert((*k).into(), (*v).into());
    }
    Write::Put {
        item,
        cond: Some(Cond::NotExists),
    }
}

/// Releases an index item, on the condition that it still points to `target`.
pub fn release(key: Key, target: &str) -> Write {
    Write::Delete {
        key,
        cond: Some(Cond::Eq(TARGET, target.into())),
    }
}

/// What an index item points to.
pub fn target(item: &Item) -> Result<&str, StoreError> {
    item.s(TARGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_their_revision() {
        let e = Entity {
            id: "e1".into(),
            name: "n/ü".into(),
            policies: vec!["a".into()],
            ..Entity::default()
        };
        let Write::Put { item, cond } =
            put(super::super::keys::entity("e1"), "entity", &e, Some(3)).unwrap()
        else {
            panic!("a put");
        };
        assert_eq!(cond, Some(Cond::Eq(REV, Value::N(3))));
        let back: Stored<Entity> = decode(&item).unwrap();
        assert_eq!((back.rec, back.rev), (e, 4));
        assert_eq!(kind(&item), "entity");
    }
}
