//! Identity templates through the real login path (issue 17, "Must show"): one JWT
//! role and one templated policy serve every repository of an organisation; a
//! repository's job reads its own path and is refused another's; hostile repository
//! claims (`*`, `A/*`, `A/../B`, ...) widen nothing; group templates follow group
//! membership. On DynamoDB Local, with a local OIDC issuer minting GitHub-shaped
//! tokens.

use serde_json::json;
use sigil_tests::Fixture;
use sigil_tests::oidc::Issuer;

/// A jwt mount trusting `issuer`, role `ci` (user_claim `repository`, the repository
/// mapped to alias metadata, policy `ci`), and the mount's accessor.
async fn github_setup(f: &Fixture, issuer: &Issuer) -> String {
    let role = json!({
        "role_type": "jwt", "user_claim": "repository", "bound_audiences": "sigil",
        "claim_mappings": {"repository": "repository"}, "token_policies": "ci",
    });
    f.jwt_role_ci(issuer, role).await
}

/// Logs in with a GitHub-shaped token whose `repository` claim is `repo`: the token.
async fn login(f: &Fixture, issuer: &Issuer, repo: &str) -> String {
    let mut claims = issuer.github_claims("acme/placeholder", "main", "sigil", f.clock.now());
    claims["repository"] = json!(repo);
    f.jwt_login_ci(&issuer.mint(&claims)).await["client_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn read(f: &Fixture, token: &str, path: &str) -> u16 {
    f.call("GET", &format!("/v1/secret/data/{path}"), Some(token), None)
        .await
        .0
}

#[tokio::test]
async fn one_role_and_one_templated_policy_serve_every_repository() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let acc = github_setup(&f, &issuer).await;
    let policy = format!(
        "path \"secret/data/ci/{{{{identity.entity.aliases.{acc}.metadata.repository}}}}/*\" {{\n  capabilities = [\"read\"]\n}}\n"
    );
    f.admin_ok(
        "PUT",
        "sys/policies/acl/ci",
        json!({"policy": policy, "allow_slashes_in_identity_templates": true}),
    )
    .await;
    for repo in ["acme/a", "acme/b", "acme/a/x", "acme"] {
        f.admin_ok(
            "POST",
            &format!("secret/data/ci/{repo}/db"),
            json!({"data": {"password": format!("pw-{repo}")}}),
        )
        .await;
    }

    let a = login(&f, &issuer, "acme/a").await;
    assert_eq!(read(&f, &a, "ci/acme/a/db").await, 200);
    assert_eq!(
        read(&f, &a, "ci/acme/a/x/db").await,
        200,
        "under its own path"
    );
    assert_eq!(read(&f, &a, "ci/acme/b/db").await, 403);
    assert_eq!(read(&f, &a, "ci/acme/db").await, 403);
    let b = login(&f, &issuer, "acme/b").await;
    assert_eq!(read(&f, &b, "ci/acme/b/db").await, 200);
    assert_eq!(read(&f, &b, "ci/acme/a/db").await, 403);

    // Hostile repository claims: each logs in (the role binds only the audience) and
    // reads nothing of the others'.
    for hostile in [
        "*",
        "acme/*",
        "acme/+",
        "+",
        "acme/a/../b",
        "acme/../acme/b",
        "..",
        "acme//b",
        "acme/b/",
        "/acme/b",
    ] {
        let t = login(&f, &issuer, hostile).await;
        for path in [
            "ci/acme/a/db",
            "ci/acme/b/db",
            "ci/acme/a/x/db",
            "ci/acme/db",
        ] {
            assert_eq!(
                read(&f, &t, path).await,
                403,
                "claim {hostile:?} read {path}"
            );
        }
    }

    // Without allow_slashes, "acme/a" does not resolve: the rule matches nothing.
    f.admin_ok("PUT", "sys/policies/acl/ci", json!({"policy": policy}))
        .await;
    let a = login(&f, &issuer, "acme/a").await;
    assert_eq!(read(&f, &a, "ci/acme/a/db").await, 403);
    let plain = login(&f, &issuer, "acme").await;
    assert_eq!(read(&f, &plain, "ci/acme/db").await, 200);
    assert_eq!(
        read(&f, &plain, "ci/acme/a/db").await,
        200,
        "acme/* is its own"
    );
}

#[tokio::test]
async fn group_templates_follow_membership() {
    sigil_tests::require_stack();
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    github_setup(&f, &issuer).await;
    f.admin_ok("PUT",
        "sys/policies/acl/ci",
        json!({"policy": "path \"secret/data/teams/{{identity.groups.names.builders.metadata.team}}/*\" {\n  capabilities = [\"read\"]\n}\npath \"secret/data/people/{{identity.entity.name}}\" {\n  capabilities = [\"read\"]\n}\n"}),
    )
    .await;
    f.admin_ok(
        "POST",
        "secret/data/teams/blue/db",
        json!({"data": {"k": "v"}}),
    )
    .await;
    let token = login(&f, &issuer, "acme-a").await;
    assert_eq!(read(&f, &token, "teams/blue/db").await, 403, "no group yet");
    let (_, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    let entity_id = b["data"]["entity_id"].as_str().unwrap().to_owned();
    let entity = f
        .admin_ok("GET", &format!("identity/entity/id/{entity_id}"), json!({}))
        .await;
    let name = entity["data"]["name"].as_str().unwrap().to_owned();
    f.admin_ok(
        "POST",
        &format!("secret/data/people/{name}"),
        json!({"data": {"k": "v"}}),
    )
    .await;
    assert_eq!(read(&f, &token, &format!("people/{name}")).await, 200);
    let group = f.admin_ok("POST",
        "identity/group",
        json!({"name": "builders", "metadata": {"team": "blue"}, "member_entity_ids": [entity_id]}),
    )
    .await;
    assert_eq!(read(&f, &token, "teams/blue/db").await, 200);
    let group_id = group["data"]["id"].as_str().unwrap();
    f.admin_ok(
        "POST",
        &format!("identity/group/id/{group_id}"),
        json!({"member_entity_ids": []}),
    )
    .await;
    assert_eq!(
        read(&f, &token, "teams/blue/db").await,
        403,
        "left the group"
    );
}
