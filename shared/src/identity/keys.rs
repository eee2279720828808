//! Where the identity store keeps its items in the one table (DESIGN.md, "Storage").
//!
//! - `identity/entities`: one partition holding every entity (sort key `{id}/`) and each
//!   entity's aliases (sort key `{id}/alias/{mount accessor}`), so an entity and its
//!   aliases are one query, a LIST of entities or aliases one paged query, and an entity
//!   holds at most one alias per auth mount (the alias item is written on the condition
//!   that it does not exist).
//! - `identity/groups`: every group (sort key `{id}`), so the group graph (members,
//!   parents, cycles) is one paged query; `identity/groups-version` is the graph's
//!   version, bumped by every change to it, so two concurrent changes cannot both pass
//!   a check made on the same graph.
//! - Uniqueness indexes, each written in the transaction of the record it indexes on
//!   the condition that it does not exist: entity names, group names, alias IDs and
//!   alias factors (mount accessor, name). Names are hashed (SHA-256) in keys, so a
//!   name of any length and any characters (slashes, unicode) makes a valid key.

use crate::crypto::sha256_hex;
use crate::store::Key;

/// The partition of entities and their aliases.
pub const ENTITIES: &str = "identity/entities";
/// The partition of groups.
pub const GROUPS: &str = "identity/groups";

/// Whether `id` can name a stored entity, alias or group: non-empty, without `/`
/// (IDs are generated UUIDs; anything else names nothing).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('/') && id.len() <= 64
}

/// The sort-key prefix of an entity's items (the entity, then its aliases).
pub fn entity_prefix(id: &str) -> String {
    format!("{id}/")
}

/// An entity's record.
pub fn entity(id: &str) -> Key {
    Key::new(ENTITIES, entity_prefix(id))
}

/// An entity's alias for one mount.
pub fn alias(canonical_id: &str, mount_accessor: &str) -> Key {
    Key::new(ENTITIES, format!("{canonical_id}/alias/{mount_accessor}"))
}

/// Whether two entity, group or alias names are the same name: case-insensitively,
/// as OpenBao's identity store compares them by default (it lowercases names in its
/// indexes unless configured case-sensitive).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || fold(a) == fold(b)
}

/// `name` lowercased as OpenBao's Go lowercases it (`strings.ToLower`: each character
/// mapped on its own, so `Σ` is always `σ` and `İ` is `i`), not by Unicode's
/// context-sensitive rules (`str::to_lowercase`: a final `ς`, `İ` as `i` + U+0307).
pub fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

/// A name as its indexes key it (see [`same_name`]).
fn folded(name: &str) -> String {
    fold(name)
}

/// The index of entity names: the entity ID a name belongs to (case-insensitive).
pub fn entity_name(name: &str) -> Key {
    Key::new(
        format!(
            "identity/entity-name/{}",
            sha256_hex(folded(name).as_bytes())
        ),
        "name",
    )
}

/// The index of alias IDs: the entity and mount an alias belongs to.
pub fn alias_id(id: &str) -> Key {
    Key::new(format!("identity/alias-id/{id}"), "alias")
}

/// The index of alias factors: the alias of `(mount_accessor, name)`, unique across
/// entities (Vault's `MemDBAliasByFactors`).
pub fn alias_factor(mount_accessor: &str, name: &str) -> Key {
    // Length-prefixed, so no (accessor, name) pair can spell another's material.
    let material = format!("{}:{mount_accessor}{}", mount_accessor.len(), folded(name));
    Key::new(
        format!("identity/alias-factor/{}", sha256_hex(material.as_bytes())),
        "alias",
    )
}

/// The attribute of an alias factor index item naming the alias's entity when the
/// factor was claimed (a hint for logins: an alias moved to another entity since is
/// found through its ID index).
pub const FACTOR_ENTITY_HINT: &str = "entity";

/// A group's record.
pub fn group(id: &str) -> Key {
    Key::new(GROUPS, id)
}

/// The index of group names: the group ID a name belongs to (case-insensitive).
pub fn group_name(name: &str) -> Key {
    Key::new(
        format!(
            "identity/group-name/{}",
            sha256_hex(folded(name).as_bytes())
        ),
        "name",
    )
}

/// The version of the group graph.
pub fn groups_version() -> Key {
    Key::new("identity/groups-version", "version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_hostile_names_stay_short_and_distinct() {
        let long = "x".repeat(100_000);
        assert!(entity_name(&long).pk.len() < 100);
        assert_ne!(entity_name("a/b"), entity_name("a_b"));
        // Names are one name whatever their case, as OpenBao's default.
        assert_eq!(entity_name("Deploy-Bot"), entity_name("deploy-bot"));
        assert_eq!(group_name("GA"), group_name("ga"));
        assert_eq!(alias_factor("m", "AL1"), alias_factor("m", "al1"));
        assert_ne!(alias_factor("M", "al1"), alias_factor("m", "al1"));
        assert!(same_name("Ünïcode", "üNÏCODE") && !same_name("a", "b"));
        assert_ne!(alias_factor("acc", "a\0b"), alias_factor("acc\0a", "b"));
        assert!(!valid_id("a/alias/x"));
        assert!(!valid_id(""));
        assert!(valid_id("3f9a0c2e-0000-4000-8000-000000000000"));
        // An entity's items share its prefix; another ID's never do.
        assert!(
            alias("e1", "auth_approle_1")
                .sk
                .starts_with(&entity_prefix("e1"))
        );
        assert!(!entity("e10").sk.starts_with(&entity_prefix("e1")));
    }
}

#[cfg(test)]
#[test]
fn names_fold_as_openbaos_go_does() {
    assert_eq!(fold("\u{130}x"), "ix");
    assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
    assert!(same_name("ΟΔΟΣ", "οδοσ"));
    assert!(!same_name("ΟΔΟΣ", "οδος"));
    assert!(same_name("\u{130}y", "iy"));
    assert!(!same_name("\u{130}x", "i\u{307}x"));
    assert_eq!(fold("Dev-Team_1"), "dev-team_1");
}
