//! Logins and the identity store on DynamoDB Local (issue 17, part 2): a login creates
//! the entity of its alias once and finds it after; the token carries `entity_id`
//! (login, lookup-self, lookup-accessor, children); the entity's and its groups'
//! policies apply at request time; a disabled entity's tokens are refused; concurrent
//! first logins make one entity; disabling an auth mount removes its aliases.

use std::sync::Arc;

use serde_json::{Value, json};
use sigil_tests::Fixture;
use sigil_tests::oidc::Issuer;

/// An AppRole role `name` with secret IDs of unlimited uses and `policies`: its role ID
/// and a secret ID.
async fn approle(f: &Fixture, name: &str, policies: &str) -> (String, String) {
    f.approle(
        name,
        json!({"token_policies": policies, "secret_id_num_uses": 0}),
    )
    .await
}

async fn entity(f: &Fixture, id: &str) -> Value {
    let (s, b) = f
        .admin_call("GET", &format!("identity/entity/id/{id}"), None)
        .await;
    assert_eq!(s, 200, "{b}");
    b["data"].clone()
}

async fn entity_ids(f: &Fixture) -> Vec<String> {
    let (s, b) = f.admin_call("LIST", "identity/entity/id", None).await;
    if s == 404 {
        return Vec::new();
    }
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b["data"]["keys"].clone()).expect("keys")
}

#[tokio::test]
async fn an_approle_login_creates_its_entity_once_and_its_tokens_carry_it() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (role_id, secret_id) = approle(&f, "ci", "ci").await;
    let acc = f.auth_accessor("approle").await;
    assert!(entity_ids(&f).await.is_empty());

    let first = f.login_auth(&role_id, &secret_id).await;
    let id = first["entity_id"].as_str().expect("entity_id").to_owned();
    assert!(!id.is_empty(), "{first}");
    let again = f.login_auth(&role_id, &secret_id).await;
    assert_eq!(again["entity_id"], json!(id), "the same entity");
    assert_eq!(entity_ids(&f).await, std::slice::from_ref(&id));

    // The entity shows its alias: the role ID, in the AppRole mount, with the
    // login's metadata (OpenBao's AppRole alias).
    let e = entity(&f, &id).await;
    assert!(e["name"].as_str().unwrap().starts_with("entity_"), "{e}");
    let alias = &e["aliases"][0];
    assert_eq!(alias["name"], json!(role_id));
    assert_eq!(alias["mount_accessor"], json!(acc));
    assert_eq!(alias["mount_type"], json!("approle"));
    assert_eq!(alias["metadata"], json!({"role_name": "ci"}));

    // lookup-self, lookup-accessor and a child token show it.
    let token = first["client_token"].as_str().unwrap();
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["entity_id"], json!(id));
    let (s, b) = f
        .admin_call(
            "POST",
            "auth/token/lookup-accessor",
            Some(json!({"accessor": first["accessor"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["entity_id"], json!(id));
    f.policy(
        "ci",
        r#"path "auth/token/create" { capabilities = ["update"] }"#,
    )
    .await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(token),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["entity_id"], json!(id), "a child inherits it");
    // The bootstrap token acts for no entity.
    let (_, b) = f.admin_call("GET", "auth/token/lookup-self", None).await;
    assert_eq!(b["data"]["entity_id"], json!(""));
}

#[tokio::test]
async fn group_policies_grant_until_the_entity_leaves_and_a_disabled_entity_is_refused() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (role_id, secret_id) = approle(&f, "app", "none").await;
    f.policy(
        "reader",
        r#"path "secret/data/team/*" { capabilities = ["read"] }"#,
    )
    .await;
    let (s, _) = f
        .admin_call(
            "POST",
            "secret/data/team/db",
            Some(json!({"data": {"k": "v"}})),
        )
        .await;
    assert_eq!(s, 200);
    let auth = f.login_auth(&role_id, &secret_id).await;
    let token = auth["client_token"].as_str().unwrap().to_owned();
    let id = auth["entity_id"].as_str().unwrap().to_owned();
    let read = || f.call("GET", "/v1/secret/data/team/db", Some(&token), None);
    assert_eq!(
        read().await.0,
        403,
        "the token's own policies do not grant it"
    );

    // A group holding the reader policy, reached through a parent group.
    let (s, b) = f
        .admin_call(
            "POST",
            "identity/group",
            Some(json!({"name": "leaf", "member_entity_ids": [id]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let leaf = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = f
        .admin_call(
            "POST",
            "identity/group",
            Some(json!({"name": "top", "policies": "reader", "member_group_ids": [leaf]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = read().await;
    assert_eq!(s, 200, "the parent group's policy applies: {b}");
    assert_eq!(b["data"]["data"], json!({"k": "v"}));

    // Out of the group: refused from the next request on (each request here is a
    // fresh function instance, so no cache TTL to wait for).
    let (s, b) = f
        .admin_call(
            "POST",
            &format!("identity/group/id/{leaf}"),
            Some(json!({"member_entity_ids": []})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(read().await.0, 403);

    // The entity's own policies apply too.
    let (s, b) = f
        .admin_call(
            "POST",
            &format!("identity/entity/id/{id}"),
            Some(json!({"policies": "reader"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(read().await.0, 200);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["identity_policies"], json!(["reader"]));
    assert_eq!(b["data"]["policies"], json!(["default", "none"]));

    // Disabled: every request with its tokens is refused, lookup-self included, and
    // so is a new login.
    let (s, b) = f
        .admin_call(
            "POST",
            &format!("identity/entity/id/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(read().await.0, 403);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/login",
            None,
            Some(json!({"role_id": role_id, "secret_id": secret_id})),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    assert_eq!(b["errors"], json!(["permission denied"]));
    let (s, _) = f
        .admin_call(
            "POST",
            &format!("identity/entity/id/{id}"),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(read().await.0, 200);
}

#[tokio::test]
async fn concurrent_first_logins_of_one_identity_make_one_entity() {
    sigil_tests::require_stack();
    let f = Arc::new(Fixture::new().await);
    let (role_id, secret_id) = approle(&f, "burst", "default").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (f, role_id, secret_id) = (f.clone(), role_id.clone(), secret_id.clone());
        tasks.push(tokio::spawn(async move {
            f.login_auth(&role_id, &secret_id).await["entity_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(entity_ids(&f).await, ids);
    let e = entity(&f, &ids[0]).await;
    assert_eq!(e["aliases"].as_array().unwrap().len(), 1, "{e}");
}

#[tokio::test]
async fn a_jwt_login_names_its_alias_by_user_claim_with_claim_mappings_as_metadata() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let role = json!({
        "role_type": "jwt", "user_claim": "repository", "bound_audiences": "sigil",
        "claim_mappings": {"repository": "repo", "ref": "git_ref"},
    });
    let acc = f.jwt_role_ci(&issuer, role).await;
    let now = f.clock.now();
    let login = |repo: &'static str, branch: &'static str| {
        let jwt = issuer.mint(&issuer.github_claims(repo, branch, "sigil", now));
        let f = &f;
        async move {
            let auth = f.jwt_login_ci(&jwt).await;
            auth["entity_id"].as_str().unwrap().to_owned()
        }
    };
    let a = login("acme/api", "main").await;
    let e = entity(&f, &a).await;
    let alias = &e["aliases"][0];
    assert_eq!(alias["name"], json!("acme/api"));
    assert_eq!(alias["mount_accessor"], json!(acc));
    assert_eq!(
        alias["metadata"],
        json!({"repo": "acme/api", "git_ref": "refs/heads/main", "role": "ci"})
    );
    // Changed claims update the alias; another repository is another entity.
    assert_eq!(login("acme/api", "dev").await, a);
    let e = entity(&f, &a).await;
    assert_eq!(
        e["aliases"][0]["metadata"]["git_ref"],
        json!("refs/heads/dev")
    );
    let b = login("acme/web", "main").await;
    assert_ne!(a, b);
    let (s, v) = f
        .admin_call(
            "POST",
            "identity/lookup/entity",
            Some(json!({"alias_name": "acme/web", "alias_mount_accessor": acc})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["id"], json!(b));
}

#[tokio::test]
async fn disabling_an_auth_mount_removes_its_aliases_and_keeps_the_entities() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let (s, b) = f
        .admin_call(
            "POST",
            "sys/auth/ci-approle",
            Some(json!({"type": "approle"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .admin_call("POST", "auth/ci-approle/role/r", Some(json!({})))
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f
        .admin_call("GET", "auth/ci-approle/role/r/role-id", None)
        .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = f
        .admin_call("POST", "auth/ci-approle/role/r/secret-id", None)
        .await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/ci-approle/login",
            None,
            Some(json!({"role_id": role_id, "secret_id": secret_id})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["auth"]["entity_id"].as_str().unwrap().to_owned();
    assert_eq!(
        entity(&f, &id).await["aliases"].as_array().unwrap().len(),
        1
    );

    let (s, b) = f.admin_call("DELETE", "sys/auth/ci-approle", None).await;
    assert_eq!(s, 204, "{b}");
    f.sweep().await;
    let e = entity(&f, &id).await;
    assert_eq!(e["aliases"], json!([]), "{e}");
    let (s, b) = f.admin_call("LIST", "identity/entity-alias/id", None).await;
    assert_eq!(s, 404, "no alias left: {b}");
}
