//! The identity store on DynamoDB Local: entities, aliases, groups and lookups through
//! the API, with Vault's statuses, shapes and texts; concurrent creates of one name
//! make one entity; refused writes leave nothing behind; policies apply.

use std::sync::Arc;

use serde_json::{Value, json};
use sigil_tests::{Fixture, RawItem};

fn pk(i: &RawItem) -> String {
    i.get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The keys of every identity item, sorted.
async fn identity_items(f: &Fixture) -> Vec<String> {
    let mut v: Vec<String> = f
        .scan()
        .await
        .iter()
        .filter(|i| pk(i).starts_with("identity/"))
        .map(|i| {
            let sk = i
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let rev = i
                .get("rev")
                .and_then(|v| v.as_n().ok())
                .cloned()
                .unwrap_or_default();
            format!("{} {sk} {rev}", pk(i))
        })
        .collect();
    v.sort();
    v
}

async fn admin(f: &Fixture, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    f.call(method, &format!("/v1/{path}"), Some(&f.admin), body)
        .await
}

fn error(v: &Value) -> &str {
    v["errors"][0].as_str().unwrap_or_default()
}

fn approle_accessor(mounts: &Value) -> String {
    mounts["data"]["approle/"]["accessor"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn entities_are_created_read_updated_listed_and_deleted() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (s, v) = admin(
        &f,
        "POST",
        "identity/entity",
        Some(json!({
            "name": "ci-runner", "policies": ["Deploy", "deploy"], "metadata": {"team": "ci"},
        })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["data"]["name"], json!("ci-runner"));
    assert_eq!(v["data"]["aliases"], json!(null));

    let (s, v) = admin(&f, "GET", &format!("identity/entity/id/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    let d = &v["data"];
    assert_eq!(d["policies"], json!(["deploy"]));
    assert_eq!(d["metadata"], json!({"team": "ci"}));
    assert_eq!(
        (d["disabled"].clone(), d["aliases"].clone()),
        (json!(false), json!([]))
    );
    assert!(d["creation_time"].as_str().unwrap().ends_with('Z'));

    // Writing a name that exists updates that entity: 204.
    let (s, _) = admin(
        &f,
        "POST",
        "identity/entity/name/ci-runner",
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, v) = admin(&f, "GET", "identity/entity/name/ci-runner", None).await;
    assert_eq!(
        (v["data"]["id"].as_str(), v["data"]["disabled"].clone()),
        (Some(id.as_str()), json!(true))
    );
    // Writing a new name creates an entity (create-on-write).
    let (s, v) = admin(&f, "POST", "identity/entity/name/team%2Fa", Some(json!({}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = admin(&f, "POST", "identity/entity/name/a/b", Some(json!({}))).await;
    assert_eq!((s, v["data"]["name"].as_str()), (200, Some("a/b")), "{v}");

    let (s, v) = admin(&f, "LIST", "identity/entity/id", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["keys"].as_array().unwrap().len(), 3);
    assert_eq!(v["data"]["key_info"][&id]["name"], json!("ci-runner"));
    let (_, v) = admin(&f, "LIST", "identity/entity/name", None).await;
    assert!(
        v["data"]["keys"]
            .as_array()
            .unwrap()
            .contains(&json!("a/b"))
    );

    // Errors, with Vault's texts.
    let (s, v) = admin(
        &f,
        "POST",
        "identity/entity/id/no-such-id",
        Some(json!({"policies": "x"})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "entity not found from id"));
    let (s, v) = admin(
        &f,
        "POST",
        &format!("identity/entity/id/{id}"),
        Some(json!({"name": "a/b"})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "entity name is already in use"));
    let (s, v) = admin(
        &f,
        "POST",
        "identity/entity",
        Some(json!({"policies": ["root"]})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "policies cannot contain root"));
    let (s, _) = admin(&f, "GET", "identity/entity/id/no-such-id", None).await;
    assert_eq!(s, 404);

    let (s, _) = admin(&f, "DELETE", &format!("identity/entity/id/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = admin(&f, "DELETE", &format!("identity/entity/id/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = admin(&f, "GET", "identity/entity/name/ci-runner", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_entity() {
    sigil_tests::require_stack();
    let f = Arc::new(Fixture::new().await);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                admin(
                    &f,
                    "POST",
                    "identity/entity",
                    Some(json!({"name": "racer", "metadata": {"n": i.to_string()}})),
                )
                .await
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            200 => created.push(v["data"]["id"].as_str().unwrap().to_owned()),
            204 => {}
            other => panic!("{other}: {v}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one create wins");
    let (_, v) = admin(&f, "LIST", "identity/entity/name", None).await;
    assert_eq!(v["data"]["keys"], json!(["racer"]));
    let (_, v) = admin(&f, "GET", "identity/entity/name/racer", None).await;
    assert_eq!(v["data"]["id"].as_str(), Some(created[0].as_str()));
}

#[tokio::test]
async fn aliases_are_unique_and_go_with_their_entity() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (_, mounts) = admin(&f, "GET", "sys/auth", None).await;
    let acc = approle_accessor(&mounts);
    let (_, v) = admin(&f, "POST", "identity/entity", Some(json!({"name": "svc"}))).await;
    let eid = v["data"]["id"].as_str().unwrap().to_owned();

    let (s, v) = admin(
        &f,
        "POST",
        "identity/entity-alias",
        Some(json!({
            "name": "role-id-1", "mount_accessor": acc, "canonical_id": eid,
            "custom_metadata": {"repo": "a"},
        })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["canonical_id"], json!(eid));
    let aid = v["data"]["id"].as_str().unwrap().to_owned();

    let (s, v) = admin(&f, "GET", &format!("identity/entity-alias/id/{aid}"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["data"]["mount_path"].as_str(),
            v["data"]["mount_type"].as_str(),
            v["data"]["custom_metadata"].clone()
        ),
        (Some("auth/approle/"), Some("approle"), json!({"repo": "a"}))
    );
    let (_, v) = admin(&f, "GET", &format!("identity/entity/id/{eid}"), None).await;
    assert_eq!(v["data"]["aliases"][0]["id"], json!(aid));

    let before = identity_items(&f).await;
    for (body, want) in [
        (
            json!({"name": "x", "mount_accessor": "auth_approle_nope"}),
            "invalid mount accessor \"auth_approle_nope\"",
        ),
        (
            json!({"name": "x", "mount_accessor": acc, "canonical_id": eid}),
            "Alias already exists for requested entity and mount accessor",
        ),
        (
            json!({"name": "x", "mount_accessor": acc, "canonical_id": "no-such"}),
            "invalid canonical ID",
        ),
        (
            json!({"name": "x"}),
            "'id' or 'mount_accessor' and 'name' must be provided",
        ),
    ] {
        let (s, v) = admin(&f, "POST", "identity/entity-alias", Some(body)).await;
        assert_eq!((s, error(&v)), (400, want));
    }
    let (s, v) = admin(
        &f,
        "POST",
        "identity/entity-alias/id/no-such",
        Some(json!({"name": "y"})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "invalid alias ID provided"));
    assert_eq!(
        identity_items(&f).await,
        before,
        "refused writes change nothing"
    );

    // A second alias of another entity may not take (mount, name).
    let (_, v) = admin(
        &f,
        "POST",
        "identity/entity-alias",
        Some(json!({"name": "other", "mount_accessor": acc})),
    )
    .await;
    let other = v["data"]["id"].as_str().unwrap().to_owned();
    let (s, v) = admin(
        &f,
        "POST",
        &format!("identity/entity-alias/id/{other}"),
        Some(json!({"name": "role-id-1"})),
    )
    .await;
    assert_eq!(
        (s, error(&v)),
        (
            400,
            "alias with combination of mount accessor and name already exists"
        )
    );

    let (s, v) = admin(&f, "LIST", "identity/entity-alias/id", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["key_info"][&aid]["canonical_id"], json!(eid));

    // Deleting the entity deletes its alias and its indexes.
    let (s, _) = admin(&f, "DELETE", &format!("identity/entity/id/{eid}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = admin(&f, "GET", &format!("identity/entity-alias/id/{aid}"), None).await;
    assert_eq!(s, 404);
    let left = identity_items(&f).await;
    assert!(
        !left.iter().any(|k| k.contains(&eid) || k.contains(&aid)),
        "{left:?}"
    );
    let (s, _) = admin(
        &f,
        "DELETE",
        &format!("identity/entity-alias/id/{other}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = admin(&f, "LIST", "identity/entity-alias/id", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn groups_nest_without_cycles_and_lookups_find_records() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (_, v) = admin(
        &f,
        "POST",
        "identity/entity",
        Some(json!({"name": "member"})),
    )
    .await;
    let eid = v["data"]["id"].as_str().unwrap().to_owned();
    let (s, v) = admin(
        &f,
        "POST",
        "identity/group",
        Some(json!({"name": "leaf", "member_entity_ids": [eid], "policies": "a,B"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let leaf = v["data"]["id"].as_str().unwrap().to_owned();
    let (_, v) = admin(
        &f,
        "POST",
        "identity/group",
        Some(json!({"name": "top", "member_group_ids": [leaf]})),
    )
    .await;
    let top = v["data"]["id"].as_str().unwrap().to_owned();

    let before = identity_items(&f).await;
    let (s, v) = admin(
        &f,
        "POST",
        &format!("identity/group/id/{leaf}"),
        Some(json!({"member_group_ids": [top]})),
    )
    .await;
    assert_eq!(
        (s, error(&v).to_owned()),
        (
            400,
            format!("cyclic relationship detected for member group ID {top:?}")
        )
    );
    let (s, v) = admin(
        &f,
        "POST",
        "identity/group/name/top",
        Some(json!({"member_entity_ids": ["no-such"]})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "invalid entity ID \"no-such\""));
    let (s, v) = admin(
        &f,
        "POST",
        "identity/group",
        Some(json!({"name": "leaf-2", "member_group_ids": ["no-such"]})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "invalid member group ID \"no-such\""));
    let (s, v) = admin(
        &f,
        "POST",
        &format!("identity/group/id/{top}"),
        Some(json!({"name": "leaf"})),
    )
    .await;
    assert_eq!((s, error(&v)), (400, "group name is already in use"));
    assert_eq!(
        identity_items(&f).await,
        before,
        "refused writes change nothing"
    );

    let (s, v) = admin(&f, "GET", &format!("identity/group/id/{leaf}"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["parent_group_ids"], json!([top]));
    assert_eq!(v["data"]["policies"], json!(["a", "b"]));
    assert_eq!(v["data"]["type"], json!("internal"));
    let (_, v) = admin(&f, "GET", "identity/group/name/top", None).await;
    assert_eq!(v["data"]["member_group_ids"], json!([leaf]));
    let (_, v) = admin(&f, "LIST", "identity/group/name", None).await;
    assert_eq!(v["data"]["keys"].as_array().unwrap().len(), 2);

    // Lookups: found (with inherited groups), not found (204), bad requests.
    let (s, v) = admin(
        &f,
        "POST",
        "identity/lookup/entity",
        Some(json!({"name": "member"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["data"]["direct_group_ids"].clone(),
            v["data"]["inherited_group_ids"].clone()
        ),
        (json!([leaf]), json!([top]))
    );
    let (s, _) = admin(
        &f,
        "POST",
        "identity/lookup/entity",
        Some(json!({"id": "no-such"})),
    )
    .await;
    assert_eq!(s, 204);
    let (s, v) = admin(
        &f,
        "POST",
        "identity/lookup/group",
        Some(json!({"name": "top"})),
    )
    .await;
    assert_eq!((s, v["data"]["id"].as_str()), (200, Some(top.as_str())));
    let (s, v) = admin(&f, "POST", "identity/lookup/group", Some(json!({}))).await;
    assert_eq!((s, error(&v)), (400, "query parameter not supplied"));

    // Deleting a group removes it from its parents.
    let (s, _) = admin(&f, "DELETE", "identity/group/name/leaf", None).await;
    assert_eq!(s, 204);
    let (_, v) = admin(&f, "GET", &format!("identity/group/id/{top}"), None).await;
    assert_eq!(v["data"]["member_group_ids"], json!(null));
}

#[tokio::test]
async fn identity_is_built_in_and_policed() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (_, v) = admin(&f, "GET", "sys/mounts", None).await;
    assert_eq!(v["data"]["identity/"]["type"], json!("identity"));
    let (s, _) = admin(&f, "DELETE", "sys/mounts/identity", None).await;
    assert_eq!(s, 400);
    // A token that may only read entities cannot write them.
    f.policy(
        "entity-reader",
        "path \"identity/entity/*\" { capabilities = [\"read\", \"list\"] }",
    )
    .await;
    let (_, v) = admin(
        &f,
        "POST",
        "auth/token/create",
        Some(json!({"policies": ["entity-reader"]})),
    )
    .await;
    let token = v["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, _) = f
        .call(
            "POST",
            "/v1/identity/entity",
            Some(&token),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = f
        .call(
            "POST",
            "/v1/identity/entity/name/x",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 403);
    let (_, _) = admin(&f, "POST", "identity/entity", Some(json!({"name": "x"}))).await;
    let (s, v) = f
        .call("GET", "/v1/identity/entity/name/x", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = f
        .call("GET", "/v1/identity/group/name/x", Some(&token), None)
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn hostile_input_is_refused_whole_or_stored_as_given() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (_, v) = admin(&f, "POST", "identity/entity", Some(json!({"name": "base"}))).await;
    let eid = v["data"]["id"].as_str().unwrap().to_owned();
    let before = identity_items(&f).await;
    // An entity too large for one item: 400, and neither the record nor its name index.
    let huge = "n".repeat(450_000);
    let (s, v) = admin(&f, "POST", "identity/entity", Some(json!({ "name": huge }))).await;
    assert_eq!((s, error(&v)), (400, "the request is too large to store"));
    // Metadata breaking Vault's rules, a non-object, wrong types.
    for (body, want) in [
        (
            json!({"metadata": {"vault-x": "1"}}),
            "invalid entity metadata: failed to load metadata pair (\"vault-x\", \"1\"): key prefix \"vault-\" is reserved for internal use",
        ),
        (
            json!({"metadata": ["a"]}),
            "failed to parse metadata: invalid key pair \"a\"",
        ),
        (
            json!({"disabled": "maybe"}),
            "invalid value for \"disabled\": must be a boolean",
        ),
    ] {
        let (s, v) = admin(&f, "POST", &format!("identity/entity/id/{eid}"), Some(body)).await;
        assert_eq!((s, error(&v)), (400, want));
    }
    // IDs that cannot be Sigil's find nothing.
    for id in ["%2e%2e", "x%2Fy", &"z".repeat(300)] {
        let (s, _) = admin(&f, "GET", &format!("identity/entity/id/{id}"), None).await;
        assert!(s == 404 || s == 400, "{id}: {s}");
    }
    let (s, v) = admin(
        &f,
        "POST",
        "identity/lookup/entity",
        Some(json!({"alias_name": "a", "alias_mount_accessor": "auth_x\u{0}y"})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(
        identity_items(&f).await,
        before,
        "refused writes change nothing"
    );
    // Names with slashes, dots and unicode are names like any other.
    for name in ["a/../b", "ünï/cødé", "*", "+"] {
        let (s, v) = admin(&f, "POST", "identity/group", Some(json!({ "name": name }))).await;
        assert_eq!(s, 200, "{name}: {v}");
        let (s, v) = admin(
            &f,
            "POST",
            "identity/lookup/group",
            Some(json!({ "name": name })),
        )
        .await;
        assert_eq!((s, v["data"]["name"].as_str()), (200, Some(name)));
    }
}
