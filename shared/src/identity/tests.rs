//! Tests of the identity store's rules against the in-memory store: uniqueness, races
//! pinned with [`Interpose`], cascades, cycles, hostile names.

use std::sync::Arc;

use futures::FutureExt;
use serde_json::json;

use crate::error::ApiError;
use crate::mounts::{MountTable, Table, initial_table};
use crate::store::Store;
use crate::store::interpose::{Call, Interpose};
use crate::store::memory::MemoryStore;

use super::aliases::{self, AliasInput};
use super::entities::{self, EntityInput, Upserted};
use super::groups::{self, GroupInput};
use super::lookup::{self, By};

const NOW: i64 = 1_700_000_000;

fn table() -> MountTable {
    initial_table(&crate::config::Config::default())
}

fn approle(t: &MountTable) -> String {
    t.get(Table::Auth, "approle/").unwrap().accessor.clone()
}

fn named(name: &str) -> EntityInput {
    EntityInput {
        name: Some(name.into()),
        ..EntityInput::default()
    }
}

async fn create(s: &dyn Store, name: &str) -> String {
    match entities::upsert(s, &named(name), NOW).await.unwrap() {
        Upserted::Created(d) => d["id"].as_str().unwrap().to_owned(),
        Upserted::Updated => panic!("{name} existed"),
    }
}

fn text(e: ApiError) -> String {
    assert_eq!(e.status(), 400, "{e}");
    e.to_string()
}

#[tokio::test]
async fn entities_are_created_updated_and_named_uniquely() {
    let s = MemoryStore::new();
    let t = table();
    let a = create(&s, "a").await;
    // A name alone updates the entity holding it (Vault's create-or-update).
    let again = EntityInput {
        policies: Some(vec!["p".into()]),
        ..named("a")
    };
    assert_eq!(
        entities::upsert(&s, &again, NOW).await.unwrap(),
        Upserted::Updated
    );
    let b = create(&s, "b").await;
    let rename_onto_a = EntityInput {
        id: Some(b.clone()),
        ..named("a")
    };
    assert_eq!(
        text(entities::upsert(&s, &rename_onto_a, NOW).await.unwrap_err()),
        "entity name is already in use"
    );
    let unknown = EntityInput {
        id: Some("nope".into()),
        ..EntityInput::default()
    };
    assert_eq!(
        text(entities::upsert(&s, &unknown, NOW).await.unwrap_err()),
        "entity not found from id"
    );
    // Renaming frees the old name.
    let rename = EntityInput {
        id: Some(b.clone()),
        ..named("c")
    };
    entities::upsert(&s, &rename, NOW).await.unwrap();
    assert!(entities::read(&s, "b", true, &t).await.unwrap().is_none());
    let c = entities::read(&s, "c", true, &t).await.unwrap().unwrap();
    assert_eq!(c["id"], json!(b));
    let read_a = entities::read(&s, &a, false, &t).await.unwrap().unwrap();
    assert_eq!(read_a["policies"], json!(["p"]));
    assert_eq!(read_a["aliases"], json!([]));
    let (keys, info) = entities::list(&s, true, &t).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(info[&a]["name"], json!("a"));
    // A generated name has Vault's shape.
    let Upserted::Created(d) = entities::upsert(&s, &EntityInput::default(), NOW)
        .await
        .unwrap()
    else {
        panic!("created")
    };
    assert!(d["name"].as_str().unwrap().starts_with("entity_"));
    assert_eq!(d["aliases"], json!(null));
}

#[tokio::test]
async fn a_create_racing_another_of_the_same_name_updates_the_winner() {
    let inner = Arc::new(MemoryStore::new());
    // The other request creates "x" after this one found no "x", before it writes.
    let s = Interpose::new(inner.clone(), Call::Transact, |inner| {
        async move {
            create(inner.as_ref(), "x").await;
        }
        .boxed()
    });
    let got = entities::upsert(&s, &named("x"), NOW).await.unwrap();
    assert!(s.fired());
    assert_eq!(got, Upserted::Updated);
    let (keys, _) = entities::list(inner.as_ref(), true, &table())
        .await
        .unwrap();
    assert_eq!(keys, vec!["x".to_owned()]);
}

#[tokio::test]
async fn aliases_are_unique_per_mount_and_name_and_go_with_their_entity() {
    let s = MemoryStore::new();
    let t = table();
    let acc = approle(&t);
    let e = create(&s, "e").await;
    let input = |name: &str, cid: Option<&str>| AliasInput {
        name: Some(name.into()),
        mount_accessor: Some(acc.clone()),
        canonical_id: cid.map(str::to_owned),
        ..AliasInput::default()
    };
    let made = aliases::upsert(&s, &t, &input("role-1", Some(&e)), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made["canonical_id"], json!(e));
    let alias_id = made["id"].as_str().unwrap().to_owned();
    // One alias per mount per entity.
    assert_eq!(
        text(
            aliases::upsert(&s, &t, &input("role-2", Some(&e)), NOW)
                .await
                .unwrap_err()
        ),
        "Alias already exists for requested entity and mount accessor"
    );
    // The same (mount, name) again is an update of that alias (as OpenBao, its custom
    // metadata becomes the request's: `{}`), then nothing changes (204).
    let again = aliases::upsert(&s, &t, &input("role-1", None), NOW)
        .await
        .unwrap();
    assert_eq!(again.unwrap()["id"], json!(alias_id));
    assert_eq!(
        aliases::upsert(&s, &t, &input("role-1", None), NOW)
            .await
            .unwrap(),
        None
    );
    // Without canonical_id, a new alias gets a new entity.
    let other = aliases::upsert(&s, &t, &input("role-3", None), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(other["canonical_id"], json!(e));
    // Renaming onto a taken (mount, name) is refused.
    let clash = AliasInput {
        id: Some(other["id"].as_str().unwrap().into()),
        name: Some("role-1".into()),
        ..AliasInput::default()
    };
    assert_eq!(
        text(aliases::upsert(&s, &t, &clash, NOW).await.unwrap_err()),
        "alias with combination of mount accessor and name already exists"
    );
    // Unknown or non-auth accessors.
    let bad = AliasInput {
        mount_accessor: Some("auth_nope_1".into()),
        ..input("z", None)
    };
    assert_eq!(
        text(aliases::upsert(&s, &t, &bad, NOW).await.unwrap_err()),
        "invalid mount accessor \"auth_nope_1\""
    );
    let kv = t.get(Table::Secrets, "secret/").unwrap().accessor.clone();
    let bad = AliasInput {
        mount_accessor: Some(kv),
        ..input("z", None)
    };
    assert!(
        text(aliases::upsert(&s, &t, &bad, NOW).await.unwrap_err())
            .starts_with("invalid mount accessor")
    );
    assert_eq!(
        text(
            aliases::upsert(&s, &t, &input("z", Some("nope")), NOW)
                .await
                .unwrap_err()
        ),
        "invalid canonical ID"
    );
    assert_eq!(
        text(
            aliases::upsert(&s, &t, &AliasInput::default(), NOW)
                .await
                .unwrap_err()
        ),
        "'id' or 'mount_accessor' and 'name' must be provided"
    );
    // Lookups by alias find the entity; the entity read shows the alias with its mount.
    let by = By::Alias("role-1".into(), acc.clone());
    let found = lookup::entity(&s, &by, &t).await.unwrap().unwrap();
    assert_eq!(found["id"], json!(e));
    assert_eq!(found["aliases"][0]["mount_path"], json!("auth/approle/"));
    assert_eq!(found["aliases"][0]["id"], json!(alias_id));
    // Deleting the entity deletes its alias and frees (mount, name).
    entities::delete(&s, &e, false, NOW).await.unwrap();
    assert!(aliases::read(&s, &alias_id, &t).await.unwrap().is_none());
    assert!(lookup::entity(&s, &by, &t).await.unwrap().is_none());
    assert!(
        aliases::upsert(&s, &t, &input("role-1", None), NOW)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn moving_an_alias_keeps_its_indexes_right() {
    let s = MemoryStore::new();
    let t = table();
    let acc = approle(&t);
    let (e1, e2) = (create(&s, "e1").await, create(&s, "e2").await);
    let made = aliases::upsert(
        &s,
        &t,
        &AliasInput {
            name: Some("n".into()),
            mount_accessor: Some(acc.clone()),
            canonical_id: Some(e1.clone()),
            ..AliasInput::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    let moved = AliasInput {
        id: Some(id.clone()),
        canonical_id: Some(e2.clone()),
        ..AliasInput::default()
    };
    let got = aliases::upsert(&s, &t, &moved, NOW).await.unwrap().unwrap();
    assert_eq!(got["canonical_id"], json!(e2));
    assert_eq!(
        aliases::read(&s, &id, &t).await.unwrap().unwrap()["canonical_id"],
        json!(e2)
    );
    let e1_read = entities::read(&s, &e1, false, &t).await.unwrap().unwrap();
    assert_eq!(e1_read["aliases"], json!([]));
    aliases::delete(&s, &id).await.unwrap();
    assert!(
        lookup::entity(&s, &By::AliasId(id), &t)
            .await
            .unwrap()
            .is_none()
    );
}

async fn group(s: &dyn Store, name: &str, members: &[&str]) -> String {
    let input = GroupInput {
        name: Some(name.into()),
        member_group_ids: Some(members.iter().map(|m| (*m).to_owned()).collect()),
        ..GroupInput::default()
    };
    groups::upsert(s, &input, NOW).await.unwrap().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn groups_refuse_cycles_and_unknown_members() {
    let s = MemoryStore::new();
    let leaf = group(&s, "leaf", &[]).await;
    let mid = group(&s, "mid", &[&leaf]).await;
    let top = group(&s, "top", &[&mid]).await;
    let set = |id: &str, members: Vec<String>| GroupInput {
        id: Some(id.into()),
        member_group_ids: Some(members),
        ..GroupInput::default()
    };
    assert_eq!(
        text(
            groups::upsert(&s, &set(&leaf, vec![top.clone()]), NOW)
                .await
                .unwrap_err()
        ),
        format!("cyclic relationship detected for member group ID {top:?}")
    );
    assert_eq!(
        text(
            groups::upsert(&s, &set(&leaf, vec![leaf.clone()]), NOW)
                .await
                .unwrap_err()
        ),
        format!("member group ID {leaf:?} is same as the ID of the group")
    );
    assert_eq!(
        text(
            groups::upsert(&s, &set(&leaf, vec!["nope".into()]), NOW)
                .await
                .unwrap_err()
        ),
        "invalid member group ID \"nope\""
    );
    let bad_entity = GroupInput {
        id: Some(leaf.clone()),
        member_entity_ids: Some(vec!["a/b".into()]),
        ..GroupInput::default()
    };
    assert_eq!(
        text(groups::upsert(&s, &bad_entity, NOW).await.unwrap_err()),
        "invalid entity ID \"a/b\""
    );
    assert_eq!(
        text(
            groups::upsert(&s, &set("nope", vec![]), NOW)
                .await
                .unwrap_err()
        ),
        "invalid group ID"
    );
    // An entity in leaf inherits mid and top; deleting it empties leaf.
    let e = create(&s, "e").await;
    let join = GroupInput {
        id: Some(leaf.clone()),
        member_entity_ids: Some(vec![e.clone()]),
        ..GroupInput::default()
    };
    assert_eq!(groups::upsert(&s, &join, NOW).await.unwrap(), None);
    let read = entities::read(&s, &e, false, &table())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read["direct_group_ids"], json!([leaf]));
    assert_eq!(read["inherited_group_ids"].as_array().unwrap().len(), 2);
    entities::delete(&s, &e, false, NOW).await.unwrap();
    let leaf_read = groups::read(&s, &leaf, false, &table())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leaf_read["member_entity_ids"], json!(null));
    assert_eq!(leaf_read["parent_group_ids"], json!([mid]));
    // Deleting mid removes it from top's members.
    groups::delete(&s, "mid", true, NOW).await.unwrap();
    let top_read = groups::read(&s, &top, false, &table())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(top_read["member_group_ids"], json!(null));
    let mut names = groups::list(&s, true, &table()).await.unwrap().0;
    names.sort();
    assert_eq!(names, vec!["leaf".to_owned(), "top".to_owned()]);
}

#[tokio::test]
async fn a_cycle_made_by_two_racing_writes_is_refused() {
    let inner = Arc::new(MemoryStore::new());
    let a = group(inner.as_ref(), "a", &[]).await;
    let b = group(inner.as_ref(), "b", &[]).await;
    let (a2, b2) = (a.clone(), b.clone());
    // While "a gets member b" is between its read and its write, "b gets member a"
    // commits: the first must see it and refuse.
    let s = Interpose::new(inner.clone(), Call::Transact, move |inner| {
        async move {
            let input = GroupInput {
                id: Some(b2),
                member_group_ids: Some(vec![a2]),
                ..GroupInput::default()
            };
            groups::upsert(inner.as_ref(), &input, NOW).await.unwrap();
        }
        .boxed()
    });
    let input = GroupInput {
        id: Some(a.clone()),
        member_group_ids: Some(vec![b.clone()]),
        ..GroupInput::default()
    };
    let err = groups::upsert(&s, &input, NOW).await.unwrap_err();
    assert!(s.fired());
    assert_eq!(
        text(err),
        format!("cyclic relationship detected for member group ID {b:?}")
    );
}

#[tokio::test]
async fn hostile_names_are_stored_as_given() {
    let s = MemoryStore::new();
    let t = table();
    for name in ["a/b/../c", "ünï/cødé", "*", &"x".repeat(5_000)] {
        let id = create(&s, name).await;
        let read = entities::read(&s, name, true, &t).await.unwrap().unwrap();
        assert_eq!(
            (read["id"].as_str(), read["name"].as_str()),
            (Some(id.as_str()), Some(name))
        );
    }
    // IDs that cannot name a record find nothing.
    for id in ["", "a/alias/x", "../x"] {
        assert!(entities::read(&s, id, false, &t).await.unwrap().is_none());
        assert!(aliases::read(&s, id, &t).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn an_entity_read_is_one_query_beside_the_groups_query() {
    let s = MemoryStore::new();
    let t = table();
    let id = create(&s, "e").await;
    let before = s.calls();
    entities::read(&s, &id, false, &t).await.unwrap().unwrap();
    // The entity with its aliases (one query) and the groups (one query), side by side.
    assert_eq!(s.calls() - before, 2);
}

/// Found by a fresh user's check (stop 24): names were case-sensitive, so `E1` made a
/// second entity beside `e1` and lookups missed. OpenBao's identity store compares
/// entity, group and alias names case-insensitively by default, and so does Sigil.
#[tokio::test]
async fn names_are_one_name_whatever_their_case() {
    let s = MemoryStore::new();
    let t = table();
    let a = create(&s, "Deploy-Bot").await;
    assert_eq!(
        entities::upsert(&s, &named("deploy-bot"), NOW)
            .await
            .unwrap(),
        Upserted::Updated,
        "the same entity"
    );
    let read = entities::read(&s, "DEPLOY-BOT", true, &t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&read["id"], &read["name"]),
        (&json!(a), &json!("deploy-bot"))
    );
    let b = create(&s, "other").await;
    let onto_a = EntityInput {
        id: Some(b.clone()),
        ..named("DEPLOY-bot")
    };
    assert_eq!(
        text(entities::upsert(&s, &onto_a, NOW).await.unwrap_err()),
        "entity name is already in use"
    );
    // A rename that only changes case keeps the name's index.
    let recase = EntityInput {
        id: Some(b.clone()),
        ..named("OTHER")
    };
    entities::upsert(&s, &recase, NOW).await.unwrap();
    let read = entities::read(&s, "other", true, &t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&read["id"], &read["name"]), (&json!(b), &json!("OTHER")));
    let g = group(&s, "GA", &[]).await;
    let read = groups::read(&s, "ga", true, &table())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read["id"], json!(g));
}

mod logins {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::login::{LoginAt, issue};
    use crate::identity::request::IdentityCache;
    use crate::identity::store as istore;
    use crate::token::{Limits, TokenParams};

    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    async fn login(s: &dyn Store, at: &LoginAt, name: &str, m: &[(&str, &str)]) -> String {
        let alias = at.alias(name, meta(m));
        let params = TokenParams {
            path: "auth/approle/login".into(),
            ..TokenParams::default()
        };
        issue(s, at, &alias, &params, LIMITS, NOW)
            .await
            .unwrap()
            .entry
            .entity_id
    }

    async fn entity_count(s: &dyn Store) -> usize {
        istore::entities(s).await.unwrap().len()
    }

    /// A first login creates entity and alias in its token's transaction; a repeat in
    /// the same process reads nothing and finds the same entity; another process
    /// finds it with two reads; changed metadata updates the alias.
    #[tokio::test]
    async fn a_login_creates_its_entity_once_and_finds_it_after() {
        let s = MemoryStore::new();
        let at = LoginAt::unstored("auth_jwt_1");
        let before = s.calls();
        let id = login(&s, &at, "Repo-A", &[("repository", "acme/a")]).await;
        assert_eq!(s.calls() - before, 2, "the alias's index, one transaction");
        let r = istore::entity(&s, &id).await.unwrap().unwrap();
        assert!(
            r.entity.rec.name.starts_with("entity_"),
            "{}",
            r.entity.rec.name
        );
        assert_eq!(r.aliases.len(), 1);
        let a = &r.aliases[0].rec;
        assert_eq!(
            (a.name.as_str(), a.mount_accessor.as_str()),
            ("Repo-A", "auth_jwt_1")
        );
        assert_eq!(a.metadata, meta(&[("repository", "acme/a")]));

        let before = s.calls();
        assert_eq!(
            login(&s, &at, "Repo-A", &[("repository", "acme/a")]).await,
            id
        );
        assert_eq!(
            s.calls() - before,
            1,
            "a cached identity: the transaction only"
        );
        // Names are one name whatever their case, as OpenBao's identity store.
        assert_eq!(
            login(&s, &at, "repo-a", &[("repository", "acme/a")]).await,
            id
        );

        let other_process = LoginAt::unstored("auth_jwt_1");
        let before = s.calls();
        assert_eq!(
            login(&s, &other_process, "Repo-A", &[("repository", "acme/a")]).await,
            id
        );
        assert_eq!(
            s.calls() - before,
            3,
            "index, entity and alias, transaction"
        );

        assert_eq!(
            login(&s, &at, "Repo-A", &[("repository", "acme/b")]).await,
            id
        );
        let r = istore::entity(&s, &id).await.unwrap().unwrap();
        assert_eq!(r.aliases[0].rec.metadata, meta(&[("repository", "acme/b")]));
        assert_eq!(entity_count(&s).await, 1);
        // Another mount, same name: another alias, another entity.
        let at2 = LoginAt::unstored("auth_jwt_2");
        assert_ne!(login(&s, &at2, "Repo-A", &[]).await, id);
        assert_eq!(entity_count(&s).await, 2);
    }

    /// Two processes planning the first login of one identity at once: both plan a
    /// new entity; one transaction passes, the other fails on the alias's factor index
    /// and, computed again, finds the winner's entity. One entity, never two.
    #[tokio::test]
    async fn concurrent_first_logins_make_one_entity() {
        let s = MemoryStore::new();
        let (a, b) = (
            LoginAt::unstored("auth_approle_1"),
            LoginAt::unstored("auth_approle_1"),
        );
        let alias = a.alias("role-id-1", BTreeMap::new());
        let ra = a
            .aliases
            .resolve(&s, &alias, false, None, NOW)
            .await
            .unwrap();
        let rb = b
            .aliases
            .resolve(&s, &alias, false, None, NOW)
            .await
            .unwrap();
        assert_ne!(ra.entity_id, rb.entity_id, "both planned a new entity");
        s.transact(ra.writes.clone()).await.unwrap();
        let e = s.transact(rb.writes.clone()).await.unwrap_err();
        assert!(e.is_condition(), "{e}");
        assert_eq!(entity_count(&s).await, 1);
        assert_eq!(login(&s, &b, "role-id-1", &[]).await, ra.entity_id);
        assert_eq!(entity_count(&s).await, 1);
    }

    /// A disabled entity's login is refused, also when the process had it cached (its
    /// revision check fails, the login reads it again).
    #[tokio::test]
    async fn a_disabled_entitys_login_is_refused() {
        let s = MemoryStore::new();
        let at = LoginAt::unstored("auth_approle_1");
        let id = login(&s, &at, "r1", &[]).await;
        let off = EntityInput {
            id: Some(id.clone()),
            disabled: Some(true),
            ..EntityInput::default()
        };
        entities::upsert(&s, &off, NOW).await.unwrap();
        let alias = at.alias("r1", BTreeMap::new());
        let e = issue(&s, &at, &alias, &TokenParams::default(), LIMITS, NOW)
            .await
            .unwrap_err();
        assert_eq!(e, ApiError::PermissionDenied);
    }

    /// Request time: the entity's policies and those of its groups, direct and
    /// through parent groups, are the identity's; kept for the TTL, then read again.
    #[tokio::test]
    async fn group_policies_apply_within_the_cache_ttl() {
        let s = MemoryStore::new();
        let at = LoginAt::unstored("auth_approle_1");
        let id = login(&s, &at, "r1", &[]).await;
        let leaf = groups::upsert(
            &s,
            &GroupInput {
                name: Some("leaf".into()),
                policies: Some(vec!["leaf-p".into()]),
                member_entity_ids: Some(vec![id.clone()]),
                ..GroupInput::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        groups::upsert(
            &s,
            &GroupInput {
                name: Some("top".into()),
                policies: Some(vec!["top-p".into()]),
                member_group_ids: Some(vec![leaf.clone()]),
                ..GroupInput::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let cache = IdentityCache::new();
        let i = cache.for_token(&s, &id, NOW, 30).await.unwrap();
        assert_eq!(i.policies(), ["leaf-p", "top-p"]);
        assert_eq!(i.aliases["auth_approle_1"].name, "r1");
        assert_eq!(i.groups.len(), 2);

        // The entity leaves the leaf group: it keeps its policies until the TTL ends.
        groups::upsert(
            &s,
            &GroupInput {
                id: Some(leaf),
                member_entity_ids: Some(vec![]),
                ..GroupInput::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let before = s.calls();
        let i = cache.for_token(&s, &id, NOW + 29, 30).await.unwrap();
        assert_eq!(s.calls(), before, "a warm request reads nothing");
        assert_eq!(i.policies(), ["leaf-p", "top-p"]);
        let i = cache.for_token(&s, &id, NOW + 30, 30).await.unwrap();
        assert!(i.policies().is_empty(), "{:?}", i.policies());

        // Disabled, then deleted: refused from the next read on.
        let off = EntityInput {
            id: Some(id.clone()),
            disabled: Some(true),
            ..EntityInput::default()
        };
        entities::upsert(&s, &off, NOW).await.unwrap();
        let e = cache.for_token(&s, &id, NOW + 60, 30).await.unwrap_err();
        assert_eq!(e, ApiError::PermissionDenied);
        entities::delete(&s, &id, false, NOW).await.unwrap();
        let e = cache.for_token(&s, &id, NOW + 90, 30).await.unwrap_err();
        assert_eq!(e, ApiError::PermissionDenied);
    }
}
