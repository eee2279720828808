//! Tests of external groups, group aliases and the membership logins keep, against the
//! in-memory store: OpenBao's refusals (changing nothing), the alias's life with its
//! group and mount, joins and leaves as a login's group names change, hostile names,
//! and the cost of a repeated login.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::mounts::{MountTable, Table, initial_table};
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::token::{Limits, TokenParams};

use super::group_aliases::{self, GroupAliasInput};
use super::groups::{self, GroupInput};
use super::login::{LoginAt, issue};
use super::lookup::{self, By};
use super::request::IdentityCache;

const NOW: i64 = 1_700_000_000;
const LIMITS: Limits = Limits {
    default_ttl: 3600,
    max_ttl: 7200,
    batch: None,
};

fn table() -> MountTable {
    initial_table(&crate::config::Config::default())
}

fn accessor(t: &MountTable) -> String {
    t.get(Table::Auth, "approle/").unwrap().accessor.clone()
}

fn text(e: ApiError) -> String {
    assert_eq!(e.status(), 400, "{e}");
    e.to_string()
}

async fn group(s: &dyn Store, body: Json) -> Result<Option<Json>, ApiError> {
    let input = GroupInput::from_body(&serde_json::from_value(body).unwrap())?;
    groups::upsert(s, &input, NOW).await
}

async fn new_group(s: &dyn Store, body: Json) -> String {
    group(s, body).await.unwrap().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn alias(s: &dyn Store, t: &MountTable, body: Json) -> Result<Option<Json>, ApiError> {
    let input = GroupAliasInput::from_body(&serde_json::from_value(body).unwrap())?;
    group_aliases::upsert(s, t, &input, NOW).await
}

async fn read(s: &dyn Store, id: &str) -> Json {
    groups::read(s, id, false, &table()).await.unwrap().unwrap()
}

#[tokio::test]
async fn external_groups_keep_their_type_and_refuse_members_set_by_hand() {
    let s = MemoryStore::new();
    let ext = new_group(&s, json!({"name": "ext", "type": "external"})).await;
    let int = new_group(&s, json!({"name": "int"})).await;
    let before = s.dump();
    let cases = [
        (
            json!({"name": "e2", "type": "external", "member_entity_ids": ["x"]}),
            "member entities can't be set manually for external groups",
        ),
        (
            json!({"id": ext, "member_group_ids": [int]}),
            "member groups can't be set for external groups",
        ),
        (
            json!({"id": ext, "type": "internal"}),
            "group type cannot be changed",
        ),
        (
            json!({"name": "int", "type": "external"}),
            "group type cannot be changed",
        ),
        (
            json!({"name": "x", "type": "bogus"}),
            "invalid group type \"bogus\"",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(
            text(group(&s, body.clone()).await.unwrap_err()),
            want,
            "{body}"
        );
    }
    assert_eq!(s.dump(), before, "refusals change nothing");
    // The same type, or none, is no change of type; an internal group may hold an
    // external one.
    assert_eq!(
        group(&s, json!({"id": ext, "type": "external", "policies": "p"}))
            .await
            .unwrap(),
        None
    );
    group(&s, json!({"id": int, "member_group_ids": [ext]}))
        .await
        .unwrap();
    let r = read(&s, &ext).await;
    assert_eq!(
        (&r["type"], &r["alias"], &r["parent_group_ids"]),
        (&json!("external"), &json!({}), &json!([int]))
    );
    assert_eq!(read(&s, &int).await["type"], json!("internal"));
}

#[tokio::test]
async fn group_aliases_follow_openbao_rules_and_go_with_their_group_and_mount() {
    let s = MemoryStore::new();
    let t = table();
    let acc = accessor(&t);
    let ext = new_group(&s, json!({"name": "ext", "type": "external"})).await;
    let int = new_group(&s, json!({"name": "int"})).await;
    let made = alias(
        &s,
        &t,
        json!({"name": "Dev", "mount_accessor": acc, "canonical_id": ext}),
    )
    .await
    .unwrap()
    .unwrap();
    let aid = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["canonical_id"], json!(ext));
    let r = read(&s, &ext).await;
    assert_eq!(r["alias"]["id"], json!(aid));
    assert_eq!(r["alias"]["name"], json!("Dev"));
    assert_eq!(r["alias"]["mount_path"], json!("auth/approle/"));
    let a = group_aliases::read(&s, &aid, &t).await.unwrap().unwrap();
    assert_eq!(
        (&a["canonical_id"], &a["mount_type"], &a["metadata"]),
        (&json!(ext), &json!("approle"), &Json::Null)
    );

    let before = s.dump();
    let refusals = [
        (json!({"mount_accessor": acc}), "missing alias name"),
        (json!({"name": "n"}), "missing mount_accessor"),
        (
            json!({"name": "n", "mount_accessor": "auth_nope_1"}),
            "invalid mount accessor \"auth_nope_1\"",
        ),
        (
            json!({"name": "DEV", "mount_accessor": acc}),
            "combination of mount and group alias name is already in use",
        ),
        (
            json!({"name": "n", "mount_accessor": acc, "canonical_id": int}),
            "alias can't be set on an internal group",
        ),
        (
            json!({"name": "n", "mount_accessor": acc, "canonical_id": "nope"}),
            "invalid group ID given in 'canonical_id'",
        ),
        (
            json!({"id": "nope", "name": "n", "mount_accessor": acc}),
            "invalid group alias ID",
        ),
    ];
    for (body, want) in refusals {
        assert_eq!(
            text(alias(&s, &t, body.clone()).await.unwrap_err()),
            want,
            "{body}"
        );
    }
    assert_eq!(s.dump(), before, "refusals change nothing");
    // Written again as it is: nothing to do (204).
    assert_eq!(
        alias(
            &s,
            &t,
            json!({"id": aid, "name": "Dev", "mount_accessor": acc})
        )
        .await
        .unwrap(),
        None
    );
    assert_eq!(s.dump(), before);

    // Without canonical_id, a new alias makes a new external group.
    let other = alias(&s, &t, json!({"name": "ops", "mount_accessor": acc}))
        .await
        .unwrap()
        .unwrap();
    let og = other["canonical_id"].as_str().unwrap().to_owned();
    let r = read(&s, &og).await;
    assert_eq!(r["type"], json!("external"));
    assert!(r["name"].as_str().unwrap().starts_with("group_"), "{r}");
    let found = lookup::group(&s, &By::Alias("OPS".into(), acc.clone()), &t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found["id"], json!(og));

    // Moved to ext: ext's alias is replaced (one alias per group), og has none.
    let oid = other["id"].as_str().unwrap().to_owned();
    alias(
        &s,
        &t,
        json!({"id": oid, "name": "ops", "mount_accessor": acc, "canonical_id": ext}),
    )
    .await
    .unwrap();
    assert_eq!(read(&s, &og).await["alias"], json!({}));
    assert_eq!(read(&s, &ext).await["alias"]["id"], json!(oid));
    let (keys, _) = group_aliases::list(&s, &t).await.unwrap();
    assert_eq!(keys, vec![oid.clone()]);

    // Deleting the group deletes its alias; a disabled mount's aliases go.
    groups::delete(&s, &ext, false, NOW).await.unwrap();
    assert!(group_aliases::list(&s, &t).await.unwrap().0.is_empty());
    assert!(group_aliases::read(&s, &oid, &t).await.unwrap().is_none());
    alias(
        &s,
        &t,
        json!({"name": "x", "mount_accessor": acc, "canonical_id": og}),
    )
    .await
    .unwrap();
    assert_eq!(group_aliases::remove_mount(&s, &acc, NOW).await.unwrap(), 1);
    assert_eq!(read(&s, &og).await["alias"], json!({}));
}

/// A login presenting `names` through `at` (as a JWT login with a `groups_claim`).
async fn login(s: &dyn Store, at: &LoginAt, names: &[&str]) -> String {
    let mut a = at.alias("repo", BTreeMap::new());
    a.groups = Some(names.iter().map(|n| (*n).to_owned()).collect());
    issue(s, at, &a, &TokenParams::default(), LIMITS, NOW)
        .await
        .unwrap()
        .entry
        .entity_id
}

#[tokio::test]
async fn logins_join_and_leave_external_groups_as_their_names_change() {
    let s = MemoryStore::new();
    let t = table();
    let acc = accessor(&t);
    let dev = new_group(
        &s,
        json!({"name": "dev", "type": "external", "policies": "dev-p"}),
    )
    .await;
    new_group(
        &s,
        json!({"name": "top", "policies": "top-p", "member_group_ids": [dev]}),
    )
    .await;
    let hostile = new_group(
        &s,
        json!({"name": "h", "type": "external", "policies": "h-p"}),
    )
    .await;
    for (name, g) in [("dev", &dev), ("a/*", &hostile)] {
        alias(
            &s,
            &t,
            json!({"name": name, "mount_accessor": acc, "canonical_id": g}),
        )
        .await
        .unwrap();
    }
    let at = LoginAt::unstored(&acc);
    let policies = |id: String, when: i64| {
        let s = &s;
        async move {
            IdentityCache::new()
                .for_token(s, &id, when, 30)
                .await
                .unwrap()
                .policies()
        }
    };

    let id = login(&s, &at, &["DEV", "unknown"]).await;
    assert_eq!(policies(id.clone(), NOW).await, ["dev-p", "top-p"]);
    assert_eq!(read(&s, &dev).await["member_entity_ids"], json!([id]));
    // Repeated with the same groups in a warm process: the transaction only.
    let before = s.calls();
    assert_eq!(login(&s, &at, &["dev"]).await, id);
    assert_eq!(s.calls() - before, 1, "no read for a repeated login");
    // Changed groups: the alias's update rides in the transaction, still no read.
    let before = s.calls();
    login(&s, &at, &["dev", "a/*"]).await;
    assert_eq!(s.calls() - before, 1, "no read for changed groups");
    assert_eq!(policies(id.clone(), NOW).await, ["dev-p", "h-p", "top-p"]);

    // Names are matched whole: no glob, no path, no traversal.
    for names in [
        &["*"][..],
        &["d*"],
        &["dev/"],
        &["../dev"],
        &["a/x"],
        &["a"],
    ] {
        login(&s, &at, names).await;
        assert!(policies(id.clone(), NOW).await.is_empty(), "{names:?}");
    }
    login(&s, &at, &["a/*"]).await;
    assert_eq!(policies(id.clone(), NOW).await, ["h-p"]);
    assert_eq!(read(&s, &dev).await["member_entity_ids"], Json::Null);

    // A login without groups leaves them; one without group support leaves them alone.
    login(&s, &at, &["dev"]).await;
    login(&s, &at, &[]).await;
    assert!(policies(id.clone(), NOW).await.is_empty());
    login(&s, &at, &["dev"]).await;
    let plain = at.alias("repo", BTreeMap::new());
    issue(&s, &at, &plain, &TokenParams::default(), LIMITS, NOW)
        .await
        .unwrap();
    assert_eq!(policies(id.clone(), NOW).await, ["dev-p", "top-p"]);

    // Moving the alias to another entity moves no membership (found by a hostile
    // check: the other entity gained the groups without a login).
    let y = match super::entities::upsert(
        &s,
        &super::entities::EntityInput {
            name: Some("y".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    {
        super::entities::Upserted::Created(d) => d["id"].as_str().unwrap().to_owned(),
        super::entities::Upserted::Updated => unreachable!(),
    };
    let a = super::aliases::by_factors(&s, &acc, "repo")
        .await
        .unwrap()
        .unwrap();
    super::aliases::upsert(
        &s,
        &t,
        &super::aliases::AliasInput {
            id: Some(a.rec.id.clone()),
            canonical_id: Some(y.clone()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    assert!(policies(y, NOW).await.is_empty(), "no groups moved");
    assert!(
        policies(id, NOW).await.is_empty(),
        "left until its next login"
    );
}

/// A warm process's cached group aliases are checked by version in the login's
/// transaction: an alias created in another process since is found at once.
#[tokio::test]
async fn a_warm_login_sees_a_group_alias_created_since() {
    let s = MemoryStore::new();
    let t = table();
    let acc = accessor(&t);
    let at = LoginAt::unstored(&acc);
    let id = login(&s, &at, &["late"]).await;
    login(&s, &at, &["late"]).await;
    let g = new_group(
        &s,
        json!({"name": "late", "type": "external", "policies": "late-p"}),
    )
    .await;
    alias(
        &s,
        &t,
        json!({"name": "late", "mount_accessor": acc, "canonical_id": g}),
    )
    .await
    .unwrap();
    assert_eq!(login(&s, &at, &["late"]).await, id);
    let i = IdentityCache::new()
        .for_token(&s, &id, NOW, 30)
        .await
        .unwrap();
    assert_eq!(i.policies(), ["late-p"]);
    assert!(i.groups.values().any(|g| g.name == "late"));
}
