//! The group graph: a group's parents, an entity's direct and inherited groups, and
//! cycle detection (OpenBao's `detectCycleDFS`). Pure functions over the groups read
//! in one query.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{Group, Stored};

/// Every group, by ID.
pub type Groups = BTreeMap<String, Stored<Group>>;

/// The groups that list `id` as a member group, sorted.
pub fn parents(groups: &Groups, id: &str) -> Vec<String> {
    groups
        .values()
        .filter(|g| g.rec.member_group_ids.iter().any(|m| m == id))
        .map(|g| g.rec.id.clone())
        .collect()
}

/// The groups an entity belongs to: directly (internal groups listing it in
/// `member_entity_ids`, and the external groups of `external`, the IDs its aliases'
/// last logins mapped it to, [`super::records::Alias::groups`], those that still
/// exist and are external), and inherited (every ancestor of a direct group that is
/// not itself direct), each sorted.
pub fn entity_groups(
    groups: &Groups,
    entity_id: &str,
    external: &[String],
) -> (Vec<String>, Vec<String>) {
    let direct: Vec<String> = groups
        .values()
        .filter(|g| {
            if g.rec.external {
                external.contains(&g.rec.id)
            } else {
                g.rec.member_entity_ids.iter().any(|m| m == entity_id)
            }
        })
        .map(|g| g.rec.id.clone())
        .collect();
    let mut seen: BTreeSet<String> = direct.iter().cloned().collect();
    let mut inherited = BTreeSet::new();
    let mut todo = direct.clone();
    while let Some(id) = todo.pop() {
        for p in parents(groups, &id) {
            if seen.insert(p.clone()) {
                inherited.insert(p.clone());
                todo.push(p);
            }
        }
    }
    (direct, inherited.into_iter().collect())
}

/// Whether group `start` reaches `target` through member groups (itself included).
fn reaches(groups: &Groups, start: &str, target: &str, seen: &mut BTreeSet<String>) -> bool {
    if start == target {
        return true;
    }
    if !seen.insert(start.to_owned()) {
        return false;
    }
    groups.get(start).is_some_and(|g| {
        g.rec
            .member_group_ids
            .iter()
            .any(|m| reaches(groups, m, target, seen))
    })
}

/// The first member of `members` that would close a cycle if group `id` had them as
/// member groups: one that is `id`, or from which `id` is reachable.
pub fn first_cycle<'a>(groups: &Groups, id: &str, members: &'a [String]) -> Option<&'a String> {
    members
        .iter()
        .find(|m| reaches(groups, m, id, &mut BTreeSet::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str], &[&str])]) -> Groups {
        edges
            .iter()
            .map(|(id, groups, entities)| {
                (
                    (*id).to_owned(),
                    Stored {
                        rec: Group {
                            id: (*id).into(),
                            member_group_ids: groups.iter().map(|s| (*s).into()).collect(),
                            member_entity_ids: entities.iter().map(|s| (*s).into()).collect(),
                            ..Group::default()
                        },
                        rev: 1,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn external_groups_count_only_through_the_aliases_logins() {
        // ext is external and lists "e" by hand (never through the API; ignored);
        // top holds ext as member group.
        let mut g = graph(&[
            ("ext", &[], &["e"]),
            ("top", &["ext"], &[]),
            ("int", &[], &[]),
        ]);
        g.get_mut("ext").unwrap().rec.external = true;
        assert_eq!(entity_groups(&g, "e", &[]), (vec![], vec![]));
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            entity_groups(&g, "e", &ids(&["ext", "int", "gone"])),
            (ids(&["ext"]), ids(&["top"])),
            "an internal or missing group named by an alias is not joined"
        );
    }

    #[test]
    fn cycles_are_found_through_any_depth() {
        // a -> b -> c (a has member group b, b has c).
        let g = graph(&[("a", &["b"], &[]), ("b", &["c"], &[]), ("c", &[], &[])]);
        let m = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(first_cycle(&g, "c", &m(&["a"])), Some(&"a".to_owned()));
        assert_eq!(first_cycle(&g, "c", &m(&["x", "b"])), Some(&"b".to_owned()));
        assert_eq!(first_cycle(&g, "a", &m(&["a"])), Some(&"a".to_owned()));
        assert_eq!(first_cycle(&g, "a", &m(&["c"])), None);
        assert_eq!(first_cycle(&g, "new", &m(&["a", "b"])), None);
        assert_eq!(parents(&g, "b"), vec!["a".to_owned()]);
    }

    #[test]
    fn entities_inherit_every_ancestor_once() {
        // top -> mid -> leaf; the entity is in leaf and in top.
        let g = graph(&[
            ("top", &["mid"], &["e"]),
            ("mid", &["leaf"], &[]),
            ("leaf", &[], &["e"]),
            ("other", &[], &[]),
        ]);
        let (direct, inherited) = entity_groups(&g, "e", &[]);
        assert_eq!(direct, vec!["leaf".to_owned(), "top".to_owned()]);
        assert_eq!(inherited, vec!["mid".to_owned()]);
        assert_eq!(entity_groups(&g, "x", &[]), (vec![], vec![]));
    }
}
