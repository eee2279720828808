//! AppRole and tokens against DynamoDB Local: secret ID uses under concurrency, TTL caps,
//! revocation, and the errors bad input gets (which must write nothing).

use serde_json::json;
use sigil::route::Function;
use sigil_tests::{Fixture, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_logins_with_five_uses_yield_five_tokens() {
    let f = Fixture::new().await;
    let (role_id, _) = f.approle("burst", json!({"secret_id_num_uses": 5})).await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/burst/secret-id",
            Some(&f.admin),
            Some(json!({"num_uses": 5})),
        )
        .await;
    assert_eq!(s, 200);
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let logins = (0..20).map(|_| {
        let app = f.app(Function::Login);
        let body = json!({"role_id": role_id, "secret_id": secret_id});
        tokio::spawn(async move {
            app.handle(request("POST", "/v1/auth/approle/login", None, Some(body)))
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(logins)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    let refused = results
        .iter()
        .filter(|r| {
            r.status == 400 && r.body == Some(json!({"errors": ["invalid role or secret ID"]}))
        })
        .count();
    assert_eq!(
        ok.len(),
        5,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused, 15);
    let tokens: std::collections::HashSet<_> = ok
        .iter()
        .map(|r| {
            r.body.as_ref().unwrap()["auth"]["client_token"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tokens.len(), 5);
    let stored_tokens = f
        .scan()
        .await
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "token")
        .count();
    assert_eq!(stored_tokens, 6, "five logins plus the admin token");
}

#[tokio::test]
async fn renew_past_max_ttl_is_capped_and_expired_token_is_refused() {
    let (f, clock) = Fixture::manual().await;
    let (role_id, secret_id) = f
        .approle("ttl", json!({"token_ttl": 60, "token_max_ttl": 120}))
        .await;
    let token = f.login(&role_id, &secret_id).await;
    clock.advance(50);
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(&token),
            Some(json!({"increment": "1h"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["auth"]["lease_duration"], 70,
        "capped at max TTL: 120 - 50"
    );
    let (_, l) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(l["data"]["ttl"], 70);
    clock.advance(71);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(
        (s, b),
        (403, json!({"errors": ["permission denied"]})),
        "expired at max TTL"
    );
}

#[tokio::test]
async fn a_secret_id_of_another_role_does_not_log_in() {
    let f = Fixture::new().await;
    let (role_a, _) = f.approle("role-a", json!({})).await;
    let (_, secret_b) = f.approle("role-b", json!({})).await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/login",
            None,
            Some(json!({"role_id": role_a, "secret_id": secret_b})),
        )
        .await;
    assert_eq!(
        (s, b),
        (400, json!({"errors": ["invalid role or secret ID"]}))
    );
}

#[tokio::test]
async fn revoke_self_and_revoke_accessor() {
    let f = Fixture::new().await;
    let (role_id, _) = f.approle("rev", json!({})).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (_, b) = f
            .call(
                "POST",
                "/v1/auth/approle/role/rev/secret-id",
                Some(&f.admin),
                None,
            )
            .await;
        tokens.push(
            f.login(&role_id, b["data"]["secret_id"].as_str().unwrap())
                .await,
        );
    }
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&tokens[0]), None)
        .await;
    assert_eq!(s, 204);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&tokens[0]), None)
        .await;
    assert_eq!((s, b), (403, json!({"errors": ["permission denied"]})));
    let (_, l) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&tokens[1]), None)
        .await;
    let accessor = l["data"]["accessor"].as_str().unwrap().to_owned();
    // An accessor never authenticates.
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&accessor), None)
        .await;
    assert_eq!(s, 403);
    // Only admins may revoke by accessor.
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/revoke-accessor",
            Some(&tokens[1]),
            Some(json!({"accessor": accessor})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/revoke-accessor",
            Some(&f.admin),
            Some(json!({"accessor": accessor})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&tokens[1]), None)
        .await;
    assert_eq!(s, 403);
    let left: Vec<_> = f
        .scan()
        .await
        .iter()
        .map(|i| i["pk"].as_s().unwrap().clone())
        .filter(|p| p.starts_with("token/") || p.starts_with("accessor/"))
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the admin token and its accessor remain: {left:?}"
    );
}

#[tokio::test]
async fn token_num_uses_is_enforced() {
    let f = Fixture::new().await;
    let (role_id, secret_id) = f.approle("uses", json!({"token_num_uses": 2})).await;
    let token = f.login(&role_id, &secret_id).await;
    for _ in 0..2 {
        let (s, _) = f
            .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
            .await;
        assert_eq!(s, 200);
    }
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn bad_input_gets_vault_errors_and_writes_nothing() {
    let f = Fixture::new().await;
    let (role_id, _) = f.approle("errs", json!({"secret_id_num_uses": 1})).await;
    let before = f.scan().await;
    let admin = Some(f.admin.as_str());
    // (method, path, token, body, status, message)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/auth/approle/login",
            None,
            b"{not json".to_vec(),
            400,
            "failed to parse JSON input",
        ),
        (
            "POST",
            "/v1/auth/approle/login",
            None,
            b"[1,2]".to_vec(),
            400,
            "failed to parse JSON input",
        ),
        (
            "POST",
            "/v1/auth/approle/login",
            None,
            json!({"role_id": role_id, "secret_id": "wrong"})
                .to_string()
                .into_bytes(),
            400,
            "invalid role or secret ID",
        ),
        (
            "POST",
            "/v1/auth/approle/login",
            None,
            json!({"role_id": "nope", "secret_id": "wrong"})
                .to_string()
                .into_bytes(),
            400,
            "invalid role or secret ID",
        ),
        (
            "POST",
            "/v1/auth/approle/login",
            None,
            json!({"secret_id": "x"}).to_string().into_bytes(),
            400,
            "missing role_id",
        ),
        (
            "GET",
            "/v1/no/such/route",
            admin,
            vec![],
            404,
            "no handler for route",
        ),
        (
            "POST",
            "/v1/secret/data/x",
            admin,
            b"{\"data\": ".to_vec(),
            400,
            "failed to parse JSON input",
        ),
        (
            "POST",
            "/v1/secret/data/x",
            admin,
            json!({"data": "str"}).to_string().into_bytes(),
            400,
            "\"data\" must be an object",
        ),
        (
            "POST",
            "/v1/secret/data/x",
            None,
            json!({"data": {}}).to_string().into_bytes(),
            403,
            "permission denied",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            json!({"token_ttl": "soon"}).to_string().into_bytes(),
            400,
            "invalid value for \"token_ttl\"",
        ),
        (
            "POST",
            "/v1/auth/approle/role/bad name",
            admin,
            vec![],
            400,
            "invalid role name",
        ),
        (
            "PATCH",
            "/v1/sys/policies/acl/x",
            admin,
            vec![],
            405,
            "unsupported operation",
        ),
        (
            "PATCH",
            "/v1/secret/data/x",
            admin,
            vec![],
            415,
            "application/merge-patch+json",
        ),
        (
            "GET",
            "/v1/secret/data/../../sys",
            admin,
            vec![],
            400,
            "path contains",
        ),
    ];
    let j = |v: serde_json::Value| v.to_string().into_bytes();
    let big = "a".repeat(300 * 1024);
    let many: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
    let more: Vec<Case> = vec![
        (
            "POST",
            "/v1/auth/token/revoke",
            admin,
            j(json!({})),
            400,
            "missing token",
        ),
        (
            "POST",
            "/v1/auth/token/revoke",
            admin,
            j(json!({"token": {"a": 1}})),
            400,
            "must be a string",
        ),
        (
            "POST",
            "/v1/auth/token/renew-self",
            admin,
            j(json!({"increment": i64::MAX})),
            400,
            "invalid value for \"increment\"",
        ),
        (
            "POST",
            "/v1/auth/token/renew-self",
            admin,
            j(json!({"increment": "106751991167300d"})),
            400,
            "invalid value for \"increment\"",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"token_period": i64::MAX})),
            400,
            "invalid value for \"token_period\"",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"secret_id_ttl": i64::MAX})),
            400,
            "invalid value for \"secret_id_ttl\"",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"token_policies": ["ROOT"]})),
            400,
            "cannot be granted",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"token_policies": ["r\u{043e}\u{043e}t"]})),
            400,
            "invalid policy name",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"token_policies": many})),
            400,
            "at most 64 policies",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs",
            admin,
            j(json!({"token_ttl": "x".repeat(100_000)})),
            400,
            "invalid value for \"token_ttl\"",
        ),
        (
            "POST",
            "/v1/auth/approle/role/errs/secret-id",
            admin,
            j(json!({"ttl": i64::MAX})),
            400,
            "invalid value for \"ttl\"",
        ),
        (
            "POST",
            "/v1/secret/data/big",
            admin,
            j(json!({"data": {"x": big}})),
            400,
            "exceeds",
        ),
    ];
    let cases: Vec<Case> = cases.into_iter().chain(more).collect();
    for (method, path, token, body, status, msg) in cases {
        let mut req = request(method, path, token, None);
        req.body = body;
        let function = sigil::route::resolve(
            &sigil::mounts::initial_table(&f.config()),
            method,
            path,
            false,
        )
        .map(|r| r.function())
        .unwrap_or(Function::Admin);
        let resp = f.app(function).handle(req).await;
        assert_eq!(resp.status, status, "{method} {path}: {:?}", resp.body);
        let errors = resp.body.as_ref().unwrap()["errors"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(errors.len(), 1, "{method} {path}");
        let shown = errors[0].as_str().unwrap();
        assert!(shown.contains(msg), "{method} {path}: {errors:?}");
        assert!(
            shown.len() <= 600,
            "{method} {path}: the error echoes its input"
        );
    }
    assert_eq!(f.scan().await, before, "bad input wrote nothing");
}

#[tokio::test]
async fn bind_secret_id_false_logs_in_with_the_role_id_from_the_bound_cidrs_only() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    // Vault requires some constraint on a role without bound secret IDs; Sigil refuses
    // token_bound_cidrs, so secret_id_bound_cidrs is the one left.
    let before = f.scan().await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/open",
            a,
            Some(json!({"bind_secret_id": false, "token_policies": "default"})),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("at least one constraint should be enabled on the role"),
        "{b}"
    );
    assert_eq!(f.scan().await, before, "the refused role was not written");

    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/open",
            a,
            Some(json!({
                "bind_secret_id": false,
                "secret_id_bound_cidrs": ["127.0.0.0/8"],
                "token_ttl": "5m",
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/auth/approle/role/open", a, None).await;
    assert_eq!(b["data"]["bind_secret_id"], false, "{b}");
    let (_, b) = f
        .call("GET", "/v1/auth/approle/role/open/role-id", a, None)
        .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();

    // From inside the CIDR (the fixture's requests come from 127.0.0.1): role ID alone.
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/login",
            None,
            Some(json!({ "role_id": role_id })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["lease_duration"], 300);
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200);

    // From outside it: refused like a wrong secret ID.
    let login = f.app(Function::Login);
    let mut outside = request(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(json!({ "role_id": role_id })),
    );
    outside.remote_addr = Some("10.1.2.3".into());
    let resp = login.handle(outside).await;
    assert_eq!(
        (resp.status, resp.body),
        (400, Some(json!({"errors": ["invalid role or secret ID"]})))
    );

    // Turning bind_secret_id off needs the constraint on an existing role too.
    let (bound_id, _) = f.approle("bound", json!({})).await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/approle/role/bound",
            a,
            Some(json!({"bind_secret_id": false})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/login",
            None,
            Some(json!({ "role_id": bound_id })),
        )
        .await;
    assert_eq!(
        (s, b),
        (400, json!({"errors": ["invalid role or secret ID"]})),
        "a role that binds secret IDs needs one"
    );
}

/// `auth/token/create` and `create-orphan` (issue "Token store", first increment):
/// Vault's policy-subset rule, orphans and periods only with sudo, and the token tree:
/// revoking a token refuses its descendants at once (depth 3) and the sweeper removes
/// them; an orphan survives.
#[tokio::test]
async fn created_tokens_form_a_tree_that_dies_with_its_root() {
    let f = Fixture::new().await;
    let create = |token: String, body: serde_json::Value| {
        let f = &f;
        async move {
            f.call("POST", "/v1/auth/token/create", Some(&token), Some(body))
                .await
        }
    };
    let client_token =
        |b: &serde_json::Value| b["auth"]["client_token"].as_str().unwrap().to_owned();
    f.policy(
        "maker",
        r#"path "auth/token/create" { capabilities = ["update"] }"#,
    )
    .await;
    f.policy("extra", r#"path "secret/*" { capabilities = ["read"] }"#)
        .await;

    let (s, b) = create(
        f.admin.clone(),
        json!({"policies": ["maker", "extra"], "ttl": "1h", "display_name": "ci job"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["orphan"], false, "{b}");
    assert_eq!(b["auth"]["policies"], json!(["default", "extra", "maker"]));
    let child = client_token(&b);

    // A policy that does not exist is granted with Vault's warning.
    let (s, b) = create(f.admin.clone(), json!({"policies": ["ghost"]})).await;
    assert_eq!(
        (s, &b["warnings"]),
        (200, &json!(["Policy \"ghost\" does not exist"])),
        "{b}"
    );
    let ghost = client_token(&b);
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/revoke",
            Some(&f.admin),
            Some(json!({"token": ghost})),
        )
        .await;
    assert_eq!(s, 204);

    // Not sudo: a subset of its own policies, no orphans, no periods.
    let (s, b) = create(child.clone(), json!({"policies": ["maker", "root"]})).await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("child policies must be subset of parent"))
    );
    let (s, b) = create(child.clone(), json!({"no_parent": true})).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = create(child.clone(), json!({"period": "1h"})).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create-orphan",
            Some(&child),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 403, "create-orphan needs its own grant: {b}");

    let (s, b) = create(child.clone(), json!({"policies": ["maker"]})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["policies"], json!(["default", "maker"]));
    let grandchild = client_token(&b);
    let (s, b) = create(grandchild.clone(), json!({"no_default_policy": true})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["policies"], json!(["maker"]));
    let (s, b) = create(grandchild.clone(), json!({"renewable": false})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["renewable"], false);
    let great = client_token(&b);
    let (s, b) = f
        .call("POST", "/v1/auth/token/renew-self", Some(&great), None)
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("lease is not renewable"))
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create-orphan",
            Some(&f.admin),
            Some(json!({"policies": ["extra"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["orphan"], true);
    let orphan = client_token(&b);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&great), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["data"]["orphan"],
            &b["data"]["path"],
            &b["data"]["policies"]
        ),
        (
            &json!(false),
            &json!("auth/token/create"),
            &json!(["default", "maker"])
        )
    );

    // Revoking the child refuses its subtree at once; the parent and the orphan live.
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&child), None)
        .await;
    assert_eq!(s, 204);
    for t in [&child, &grandchild, &great] {
        let (s, _) = f
            .call("GET", "/v1/auth/token/lookup-self", Some(t), None)
            .await;
        assert_eq!(s, 403);
    }
    let (s, _) = create(grandchild.clone(), json!({})).await;
    assert_eq!(s, 403, "a refused token creates nothing");
    for t in [&f.admin, &orphan] {
        let (s, _) = f
            .call("GET", "/v1/auth/token/lookup-self", Some(t), None)
            .await;
        assert_eq!(s, 200);
    }
    // The sweeper finishes the descendants' revocations.
    for _ in 0..3 {
        f.sweep().await;
    }
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(&f.admin),
            Some(json!({"token": great})),
        )
        .await;
    assert_eq!(s, 403, "gone (Vault: 403 bad token): {b}");
    // Only the admin token and the orphan remain, with their accessors: no entry, and
    // no reference under a parent, is left of the revoked subtree.
    let left: Vec<_> = f
        .scan()
        .await
        .iter()
        .map(|i| i["pk"].as_s().unwrap().clone())
        .filter(|p| p.starts_with("token/") || p.starts_with("accessor/"))
        .collect();
    assert_eq!(left.len(), 4, "{left:?}");
}

/// AppRole role names are case-insensitive, as in Vault: `ROLE` and `role` are one role.
#[tokio::test]
async fn approle_role_names_are_case_insensitive() {
    let f = Fixture::new().await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/MixedCase",
            Some(&f.admin),
            Some(json!({"token_ttl": "5m"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "GET",
            "/v1/auth/approle/role/mixedcase",
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!((s, &b["data"]["token_ttl"]), (200, &json!(300)), "{b}");
    let (s, b) = f
        .call("LIST", "/v1/auth/approle/role", Some(&f.admin), None)
        .await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["mixedcase"])), "{b}");
}

/// Token roles (`auth/token/roles/:name`, `auth/token/create/:role`): a token without
/// sudo creates, through a role, tokens with the role's policies (beyond its own), on
/// the role's path (with its suffix), orphans when the role says so; a revoke-prefix of
/// that path revokes them.
#[tokio::test]
async fn token_roles_widen_and_bound_what_a_token_creates() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    f.policy(
        "fanout",
        r#"path "auth/token/create/ci" { capabilities = ["update"] }"#,
    )
    .await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/roles/ci",
            a,
            Some(
                json!({"allowed_policies": ["step"], "allowed_policies_glob": ["team-*"],
                        "disallowed_policies": ["admin"], "orphan": true,
                        "path_suffix": "rev1", "token_explicit_max_ttl": "2h"}),
            ),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f.call("GET", "/v1/auth/token/roles/ci", a, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["data"]["allowed_policies"],
            &b["data"]["orphan"],
            &b["data"]["renewable"]
        ),
        (&json!(["step"]), &json!(true), &json!(true))
    );
    let (s, b) = f.call("LIST", "/v1/auth/token/roles", a, None).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["ci"])));
    let (s, _) = f.call("GET", "/v1/auth/token/roles/none", a, None).await;
    assert_eq!(s, 404);

    let (_, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            a,
            Some(json!({"policies": ["fanout"]})),
        )
        .await;
    let maker = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let create = |body: serde_json::Value| {
        let f = &f;
        let maker = maker.clone();
        async move {
            f.call("POST", "/v1/auth/token/create/ci", Some(&maker), Some(body))
                .await
        }
    };
    let (s, b) = create(json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["policies"], json!(["default", "step"]));
    assert_eq!(b["auth"]["orphan"], true);
    let step = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, b) = create(json!({"policies": ["team-blue"]})).await;
    assert_eq!(
        (s, &b["auth"]["policies"]),
        (200, &json!(["default", "team-blue"]))
    );
    let (s, _) = create(json!({"policies": ["admin"]})).await;
    assert_eq!(s, 400, "outside the role");
    let (s, b) = f
        .call("POST", "/v1/auth/token/create/nope", a, Some(json!({})))
        .await;
    assert_eq!(s, 400, "unknown role: {b}");
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&step), None)
        .await;
    assert_eq!(
        (
            s,
            &b["data"]["path"],
            &b["data"]["explicit_max_ttl"],
            &b["data"]["role"]
        ),
        (
            200,
            &json!("auth/token/create/ci/rev1"),
            &json!(7200),
            &json!("ci")
        ),
        "{b}"
    );

    // Revoking the role's revision revokes its tokens; the maker lives.
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/revoke-prefix/auth/token/create/ci/rev1",
            a,
            None,
        )
        .await;
    assert!(s == 204 || s == 202, "{s} {b}");
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&step), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/create/ci",
            Some(&maker),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "the maker lives");
    // LIST auth/token/accessors (sudo): the live tokens' accessors, the revoked ones'
    // not; a token without sudo is refused.
    let (s, b) = f.call("LIST", "/v1/auth/token/accessors", a, None).await;
    assert_eq!(s, 200, "{b}");
    let listed: Vec<String> = serde_json::from_value(b["data"]["keys"].clone()).unwrap();
    let accessor_of = |t: String| {
        let f = &f;
        async move {
            let (_, b) = f
                .call("GET", "/v1/auth/token/lookup-self", Some(&t), None)
                .await;
            b["data"]["accessor"].as_str().map(str::to_owned)
        }
    };
    let mine = accessor_of(maker.clone()).await.unwrap();
    let admin_accessor = accessor_of(f.admin.clone()).await.unwrap();
    assert!(
        listed.contains(&mine) && listed.contains(&admin_accessor),
        "{listed:?}"
    );
    assert!(accessor_of(step.clone()).await.is_none(), "revoked");
    let (s, _) = f
        .call("LIST", "/v1/auth/token/accessors", Some(&maker), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = f.call("DELETE", "/v1/auth/token/roles/ci", a, None).await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/create/ci",
            Some(&maker),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 400, "the role is gone");
}

/// `auth/token/revoke-orphan` (issue "Token store"), with Vault's answers: sudo is
/// checked by the handler (400), an unknown token is 400; the token is refused at once,
/// its children and grandchildren live on as orphans, and revoking the old parent
/// leaves them alone.
#[tokio::test]
async fn revoke_orphan_revokes_the_token_and_orphans_its_children() {
    let f = Fixture::new().await;
    let client_token =
        |b: &serde_json::Value| b["auth"]["client_token"].as_str().unwrap().to_owned();
    f.policy(
        "maker",
        r#"path "auth/token/create" { capabilities = ["update"] }
path "auth/token/revoke-orphan" { capabilities = ["update"] }"#,
    )
    .await;
    let create = |token: String| {
        let f = &f;
        async move {
            let (s, b) = f
                .call(
                    "POST",
                    "/v1/auth/token/create",
                    Some(&token),
                    Some(json!({"policies": ["maker"]})),
                )
                .await;
            assert_eq!(s, 200, "{b}");
            client_token(&b)
        }
    };
    let top = create(f.admin.clone()).await;
    // Vault: a lookup naming no token (or an empty one) looks up the caller's.
    for body in [json!({}), json!({"token": ""})] {
        let (s, b) = f
            .call("POST", "/v1/auth/token/lookup", Some(&f.admin), Some(body))
            .await;
        assert_eq!((s, &b["data"]["id"]), (200, &json!(f.admin)), "{b}");
    }
    let middle = create(top.clone()).await;
    let child = create(middle.clone()).await;
    let grandchild = create(child.clone()).await;
    let orphan = |token: String| {
        let f = &f;
        async move {
            let (s, b) = f
                .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
                .await;
            (s, b["data"]["orphan"].clone())
        }
    };
    let revoke_orphan = |by: String, token: String| {
        let f = &f;
        async move {
            f.call(
                "POST",
                "/v1/auth/token/revoke-orphan",
                Some(&by),
                Some(json!({"token": token})),
            )
            .await
        }
    };

    let (s, b) = revoke_orphan(top.clone(), middle.clone()).await;
    assert_eq!(
        (s, &b["errors"][0]),
        (
            400,
            &json!("root or sudo privileges required to revoke and orphan")
        ),
        "update without sudo"
    );
    assert_eq!(orphan(middle.clone()).await.0, 200, "nothing changed");
    let (s, b) = revoke_orphan(f.admin.clone(), "s.nosuchtoken".into()).await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("token to revoke not found"))
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/revoke-orphan",
            Some(&f.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!((s, &b["errors"][0]), (400, &json!("missing token ID")));

    let (s, b) = revoke_orphan(f.admin.clone(), middle.clone()).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(orphan(middle.clone()).await.0, 403, "revoked at once");
    assert_eq!(orphan(child.clone()).await, (200, json!(true)));
    assert_eq!(orphan(grandchild.clone()).await, (200, json!(false)));
    let (s, _) = revoke_orphan(f.admin.clone(), middle.clone()).await;
    assert_eq!(s, 400, "gone");

    // The old parent's revocation no longer reaches them.
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&top), None)
        .await;
    assert_eq!(s, 204);
    f.sweep().await;
    assert_eq!(orphan(child.clone()).await, (200, json!(true)));
    assert_eq!(orphan(grandchild.clone()).await.0, 200);
    // The grandchild still dies with its (new root) parent.
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&child), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(orphan(grandchild).await.0, 403);
}

/// Batch tokens from the token store (issue "Token store"): `type=batch` makes a child
/// that lives only while its parent does, a token role with `token_type=batch` makes
/// orphans, Vault's role rules refuse a batch role that is not an orphan or is
/// renewable, and `revoke`/`revoke-orphan` of a batch token answer Vault's 400.
#[tokio::test]
async fn batch_tokens_from_the_token_store() {
    let f = Fixture::new().await;
    let client_token =
        |b: &serde_json::Value| b["auth"]["client_token"].as_str().unwrap().to_owned();
    f.policy(
        "maker",
        r#"path "auth/token/create" { capabilities = ["update"] }"#,
    )
    .await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(&f.admin),
            Some(json!({"policies": ["maker"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let parent = client_token(&b);
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(&parent),
            Some(json!({"type": "batch", "ttl": "10m"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["auth"]["token_type"],
            &b["auth"]["orphan"],
            &b["auth"]["renewable"]
        ),
        (&json!("batch"), &json!(false), &json!(false)),
        "{b}"
    );
    let batch = client_token(&b);
    // An operator asks for a batch token's capabilities as for a service token's.
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/capabilities",
            Some(&f.admin),
            Some(json!({"token": batch, "paths": ["auth/token/create", "secret/data/x"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["auth/token/create"], json!(["update"]), "{b}");
    assert_eq!(b["data"]["secret/data/x"], json!(["deny"]), "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(&parent),
            Some(json!({"type": "batch", "num_uses": 3})),
        )
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("batch tokens cannot have \"num_uses\" set"))
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(&batch),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("batch tokens cannot create more tokens"))
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(&f.admin),
            Some(json!({"token": batch})),
        )
        .await;
    assert_eq!((s, &b["data"]["type"]), (200, &json!("batch")), "{b}");
    for path in ["/v1/auth/token/revoke", "/v1/auth/token/revoke-orphan"] {
        let (s, b) = f
            .call("POST", path, Some(&f.admin), Some(json!({"token": batch})))
            .await;
        assert_eq!(
            (s, &b["errors"][0]),
            (400, &json!("batch tokens cannot be revoked")),
            "{path}"
        );
    }
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/renew",
            Some(&f.admin),
            Some(json!({"token": batch})),
        )
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("batch tokens cannot be renewed"))
    );
    // It dies with its parent.
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&parent), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&batch), None)
        .await;
    assert_eq!(s, 403);

    // Token roles: Vault's rules, then orphans of the batch type.
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/roles/b",
            Some(&f.admin),
            Some(json!({"token_type": "batch"})),
        )
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (
            400,
            &json!("'token_type' cannot be 'batch' when role is set to generate non-orphan tokens")
        )
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/roles/b",
            Some(&f.admin),
            Some(json!({"token_type": "batch", "orphan": true, "renewable": false, "allowed_policies": ["maker"]})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call("GET", "/v1/auth/token/roles/b", Some(&f.admin), None)
        .await;
    assert_eq!((s, &b["data"]["token_type"]), (200, &json!("batch")), "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create/b",
            Some(&f.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["auth"]["token_type"],
            &b["auth"]["orphan"],
            &b["auth"]["policies"]
        ),
        (&json!("batch"), &json!(true), &json!(["default", "maker"])),
        "{b}"
    );
    let t = client_token(&b);
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&t), None)
        .await;
    assert_eq!(
        (s, &b["data"]["path"]),
        (200, &json!("auth/token/create/b")),
        "{b}"
    );
}

/// A batch token names the auth mount that issued it: disabling the mount refuses it,
/// and enabling another mount at the same path does not bring it back (found by a
/// fresh user's check: the path alone was checked).
#[tokio::test]
async fn a_batch_token_does_not_outlive_its_mount() {
    let f = Fixture::new().await;
    let path = format!("ci-{}", sigil_tests::unique("b"));
    let enable = |kind: &'static str| {
        let (f, path) = (&f, path.clone());
        async move {
            let (s, b) = f
                .call(
                    "POST",
                    &format!("/v1/sys/auth/{path}"),
                    Some(&f.admin),
                    Some(json!({ "type": kind })),
                )
                .await;
            assert_eq!(s, 204, "{b}");
        }
    };
    enable("approle").await;
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/auth/{path}/role/b"),
            Some(&f.admin),
            Some(json!({"token_type": "batch", "token_policies": "default"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f
        .call(
            "GET",
            &format!("/v1/auth/{path}/role/b/role-id"),
            Some(&f.admin),
            None,
        )
        .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = f
        .call(
            "POST",
            &format!("/v1/auth/{path}/role/b/secret-id"),
            Some(&f.admin),
            None,
        )
        .await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/auth/{path}/login"),
            None,
            Some(json!({"role_id": role_id, "secret_id": secret_id})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let lookup = || {
        let (f, token) = (&f, token.clone());
        async move {
            f.call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
                .await
                .0
        }
    };
    assert_eq!(lookup().await, 200);
    let disable = || {
        let (f, path) = (&f, path.clone());
        async move {
            let (s, _) = f
                .call(
                    "DELETE",
                    &format!("/v1/sys/auth/{path}"),
                    Some(&f.admin),
                    None,
                )
                .await;
            assert_eq!(s, 204);
        }
    };
    disable().await;
    assert_eq!(lookup().await, 403, "its mount is gone");
    f.sweep().await;
    enable("approle").await;
    assert_eq!(lookup().await, 403, "another mount at its path");
    disable().await;
    f.sweep().await;
    enable("kubernetes").await;
    assert_eq!(lookup().await, 403, "another method at its path");
}
