//! External groups and group aliases on DynamoDB Local (issue 17, the JWT
//! `groups_claim` part): the group-alias routes with OpenBao's refusals (changing
//! nothing); a JWT login whose groups claim names a group alias joins that external
//! group and gets its (and its parent's) policies; a later login without it leaves it,
//! from the next request on within the policy cache TTL; hostile claim values match
//! only an alias of exactly that name; a repeated login with the same groups in a warm
//! function makes no extra DynamoDB round trip; disabling the mount removes its group
//! aliases.

use std::sync::Arc;

use serde_json::json;
use sigil::Function;
use sigil_tests::oidc::Issuer;
use sigil_tests::{Fixture, request};

/// A JWT mount trusting `issuer`, with role `ci` mapping the `groups` claim (its
/// tokens' own policy: `tpl`, which a test may write): the mount's accessor.
async fn jwt_role(f: &Fixture, issuer: &Issuer) -> String {
    let role = json!({
        "role_type": "jwt", "user_claim": "repository", "bound_audiences": "sigil",
        "groups_claim": "groups", "token_policies": "tpl",
    });
    f.jwt_role_ci(issuer, role).await
}

/// A JWT for repository `acme/api` carrying `groups`.
fn jwt(f: &Fixture, issuer: &Issuer, groups: &[&str]) -> String {
    let mut claims = issuer.github_claims("acme/api", "main", "sigil", f.clock.now());
    claims["groups"] = json!(groups);
    issuer.mint(&claims)
}

/// An external group `name` with `policies`, aliased `alias` in the mount `acc`: its ID.
async fn external(f: &Fixture, name: &str, policies: &str, alias: &str, acc: &str) -> String {
    let b = f
        .admin_ok(
            "POST",
            "identity/group",
            json!({"name": name, "type": "external", "policies": policies}),
        )
        .await;
    let id = b["data"]["id"].as_str().expect("id").to_owned();
    let b = f
        .admin_ok(
            "POST",
            "identity/group-alias",
            json!({"name": alias, "mount_accessor": acc, "canonical_id": id}),
        )
        .await;
    assert_eq!(b["data"]["canonical_id"], json!(id), "{b}");
    id
}

/// A KV secret at `secret/data/<team>/db` and a policy `<team>` reading it.
async fn team_secret(f: &Fixture, team: &str) {
    f.policy(
        team,
        &format!(r#"path "secret/data/{team}/*" {{ capabilities = ["read"] }}"#),
    )
    .await;
    f.admin_ok(
        "POST",
        &format!("secret/data/{team}/db"),
        json!({"data": {"k": team}}),
    )
    .await;
}

#[tokio::test]
async fn group_alias_routes_follow_openbao_and_refusals_change_nothing() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let acc = f.auth_accessor("jwt").await;
    let int = f
        .admin_ok("POST", "identity/group", json!({"name": "int"}))
        .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ext = external(&f, "ext", "p", "Dev", &acc).await;

    // The group shows its alias; the alias reads as OpenBao's.
    let (s, g) = f
        .admin_call("GET", &format!("identity/group/id/{ext}"), None)
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["data"]["type"], json!("external"));
    let aid = g["data"]["alias"]["id"].as_str().expect("alias").to_owned();
    assert_eq!(g["data"]["alias"]["name"], json!("Dev"));
    let (s, a) = f
        .admin_call("GET", &format!("identity/group-alias/id/{aid}"), None)
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["canonical_id"], json!(ext));
    assert_eq!(a["data"]["mount_path"], json!("auth/jwt/"));
    let (s, l) = f.admin_call("LIST", "identity/group-alias/id", None).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["data"]["keys"], json!([aid]));

    // OpenBao's refusals, each 400 and changing nothing.
    let before = f.scan().await;
    let refusals = [
        (
            "identity/group",
            json!({"name": "e2", "type": "external", "member_entity_ids": ["x"]}),
            "member entities can't be set manually for external groups",
        ),
        (
            "identity/group",
            json!({"id": ext, "member_group_ids": [int]}),
            "member groups can't be set for external groups",
        ),
        (
            "identity/group",
            json!({"id": ext, "type": "internal"}),
            "group type cannot be changed",
        ),
        (
            "identity/group-alias",
            json!({"name": "dev", "mount_accessor": acc}),
            "combination of mount and group alias name is already in use",
        ),
        (
            "identity/group-alias",
            json!({"name": "x", "mount_accessor": acc, "canonical_id": int}),
            "alias can't be set on an internal group",
        ),
        (
            "identity/group-alias",
            json!({"name": "x", "mount_accessor": "auth_jwt_nope"}),
            "invalid mount accessor \"auth_jwt_nope\"",
        ),
    ];
    for (path, body, want) in refusals {
        let (s, b) = f.admin_call("POST", path, Some(body.clone())).await;
        assert_eq!((s, &b["errors"]), (400, &json!([want])), "{body}");
    }
    assert_eq!(f.scan().await, before, "refusals change nothing");

    // Renamed through its ID; deleting the group deletes its alias.
    let (s, b) = f
        .admin_call(
            "POST",
            &format!("identity/group-alias/id/{aid}"),
            Some(json!({"name": "ops", "mount_accessor": acc})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, a) = f
        .admin_call("GET", &format!("identity/group-alias/id/{aid}"), None)
        .await;
    assert_eq!(a["data"]["name"], json!("ops"));
    let (s, _) = f
        .admin_call("DELETE", &format!("identity/group/id/{ext}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .admin_call("GET", &format!("identity/group-alias/id/{aid}"), None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = f.admin_call("LIST", "identity/group-alias/id", None).await;
    assert_eq!(s, 404, "no group alias left");
}

#[tokio::test]
async fn a_jwt_groups_claim_joins_and_leaves_external_groups() {
    sigil_tests::require_stack();
    let (f, clock) = Fixture::manual().await;
    let issuer = Issuer::start().await;
    let acc = jwt_role(&f, &issuer).await;
    for team in ["dev", "top", "hostile"] {
        team_secret(&f, team).await;
    }
    let dev = external(&f, "dev", "dev", "dev", &acc).await;
    f.admin_ok(
        "POST",
        "identity/group",
        json!({"name": "top", "policies": "top", "member_group_ids": [dev]}),
    )
    .await;
    external(&f, "hostile", "hostile", "a/*", &acc).await;
    // A templated rule naming the group: it resolves only for its members.
    f.policy(
        "tpl",
        r#"path "secret/data/gt/{{identity.groups.names.dev.id}}/*" { capabilities = ["read"] }"#,
    )
    .await;
    let templated = format!("secret/data/gt/{dev}/db");
    f.admin_ok("POST", &templated, json!({"data": {"k": "t"}}))
        .await;
    let read_templated = |token: String| {
        let (f, path) = (&f, format!("/v1/{templated}"));
        async move { f.call("GET", &path, Some(&token), None).await.0 }
    };

    let login = |groups: &'static [&'static str]| {
        let jwt = jwt(&f, &issuer, groups);
        let f = &f;
        async move {
            let auth = f.jwt_login_ci(&jwt).await;
            auth["client_token"].as_str().unwrap().to_owned()
        }
    };
    // `app` answers as one warm function instance (its identity cache kept).
    let read = |app: Option<Arc<sigil::App>>, token: String, team: &'static str| {
        let f = &f;
        async move {
            let path = format!("/v1/secret/data/{team}/db");
            match app {
                Some(app) => {
                    app.handle(request("GET", &path, Some(&token), None))
                        .await
                        .status
                }
                None => f.call("GET", &path, Some(&token), None).await.0,
            }
        }
    };

    let token = login(&["dev", "unknown"]).await;
    for (team, want) in [("dev", 200), ("top", 200), ("hostile", 403)] {
        assert_eq!(read(None, token.clone(), team).await, want, "{team}");
    }
    assert_eq!(
        read_templated(token.clone()).await,
        200,
        "template of a member"
    );
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["identity_policies"], json!(["dev", "top"]));
    let (_, g) = f
        .admin_call("GET", &format!("identity/group/id/{dev}"), None)
        .await;
    assert_eq!(
        g["data"]["member_entity_ids"],
        json!([b["data"]["entity_id"]])
    );

    // A warm function has the entity's groups cached; a login without "dev" leaves
    // the group: fresh functions see it at once, the warm one within the TTL.
    let warm = Arc::new(f.app(Function::Issue));
    f.warm(&warm).await;
    assert_eq!(read(Some(warm.clone()), token.clone(), "dev").await, 200);
    login(&["other"]).await;
    assert_eq!(read(None, token.clone(), "dev").await, 403, "next request");
    assert_eq!(read(Some(warm.clone()), token.clone(), "dev").await, 200);
    clock.advance(f.config().policy_cache_ttl);
    assert_eq!(read(Some(warm.clone()), token.clone(), "dev").await, 403);
    assert_eq!(read(None, token.clone(), "top").await, 403);
    assert_eq!(
        read_templated(token.clone()).await,
        403,
        "template of a leaver"
    );

    // Hostile values match only an alias of exactly that name.
    for groups in [
        &["*"][..],
        &["d*"],
        &["dev/"],
        &["../dev"],
        &["a/x"],
        &["a"],
    ] {
        let t = login(groups).await;
        for team in ["dev", "hostile"] {
            assert_eq!(read(None, t.clone(), team).await, 403, "{groups:?} {team}");
        }
    }
    let t = login(&["a/*"]).await;
    assert_eq!(read(None, t.clone(), "hostile").await, 200);
    assert_eq!(read(None, t, "dev").await, 403);

    // Disabling the mount removes its group aliases; the groups stay.
    let (s, b) = f.admin_call("DELETE", "sys/auth/jwt", None).await;
    assert_eq!(s, 204, "{b}");
    f.sweep().await;
    let (s, _) = f.admin_call("LIST", "identity/group-alias/id", None).await;
    assert_eq!(s, 404, "no group alias left");
    let (_, g) = f
        .admin_call("GET", &format!("identity/group/id/{dev}"), None)
        .await;
    assert_eq!(g["data"]["alias"], json!({}));
}

/// A JWT login with 3 groups: the first in a function reads the group aliases (the
/// group graph's version and the groups); a repeated one with the same groups costs
/// what a login without groups costs (one read, one transaction); a changed group
/// costs no extra round trip either (the alias's update rides in the transaction).
#[tokio::test]
async fn a_repeated_login_with_groups_makes_no_extra_round_trip() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let acc = jwt_role(&f, &issuer).await;
    for g in ["g1", "g2", "g3", "g4"] {
        external(&f, g, g, g, &acc).await;
    }
    let app = f.app(Function::Login);
    f.warm(&app).await;
    let mut calls = Vec::new();
    for groups in [
        &["g1", "g2", "g3"][..],
        &["g1", "g2", "g3"],
        &["g1", "g2", "g4"],
    ] {
        let jwt = jwt(&f, &issuer, groups);
        f.counter.reset();
        let resp = app
            .handle(request(
                "POST",
                "/v1/auth/jwt/login",
                None,
                Some(json!({"role": "ci", "jwt": jwt})),
            ))
            .await;
        assert_eq!(resp.status, 200, "{:?}", resp.body);
        calls.push(f.counter.service_total("DynamoDB"));
    }
    assert_eq!(
        calls,
        [5, 2, 2],
        "first, repeated, changed: {:?}",
        f.counter.snapshot()
    );
}
