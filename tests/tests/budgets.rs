//! DESIGN.md's call budgets, counted by the interceptor on the real AWS clients:
//! a warm KV read makes 1 DynamoDB round trip (the token, the mount table's generation
//! and the secret's items in one batch read) and 0 KMS calls; an AppRole login at
//! most 2 DynamoDB round trips.

use serde_json::json;
use sigil::route::Function;
use sigil_tests::{Fixture, request};

/// Writes `{"k": value}` at `secret/data/{path}` and a policy `{path}-reader` that
/// may read it.
async fn secret_with_reader(f: &Fixture, path: &str, value: &str) {
    let (s, _) = f
        .call(
            "POST",
            &format!("/v1/secret/data/{path}"),
            Some(&f.admin),
            Some(json!({"data": {"k": value}})),
        )
        .await;
    assert_eq!(s, 200);
    f.policy(
        &format!("{path}-reader"),
        &format!(r#"path "secret/data/{path}" {{ capabilities = ["read"] }}"#),
    )
    .await;
}

/// `secret/data/budget` at version 1 and a token (AppRole) that may read only it.
async fn budget_reader(f: &Fixture) -> String {
    secret_with_reader(f, "budget", "v1").await;
    let (role_id, secret_id) = f
        .approle("reader", json!({"token_policies": "budget-reader"}))
        .await;
    f.login(&role_id, &secret_id).await
}

#[tokio::test]
async fn warm_kv_read_is_one_dynamodb_call_and_no_kms() {
    let f = Fixture::new().await;
    let write = |v: &'static str| {
        f.call(
            "POST",
            "/v1/secret/data/budget",
            Some(&f.admin),
            Some(json!({"data": {"k": v}})),
        )
    };
    let token = budget_reader(&f).await;
    let issue = f.app(Function::Issue);
    let read = |path: &'static str| {
        let (f, issue, token) = (&f, &issue, &token);
        async move {
            f.counter.reset();
            let resp = issue.handle(request("GET", path, Some(token), None)).await;
            let body = resp.body.unwrap_or_default();
            (resp.status, body, f.counter.service_total("DynamoDB"))
        }
    };
    // Cold: the first request unwraps the audit key and the data key, and reads the
    // token's policies.
    f.counter.reset();
    let resp = issue
        .handle(request("GET", "/v1/secret/data/budget", Some(&token), None))
        .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(
        f.counter.service_total("KMS"),
        2,
        "two unwraps per cold start: the audit key and the data key"
    );
    for path in ["/v1/secret/data/budget", "/v1/secret/data/budget?version=1"] {
        let (status, body, calls) = read(path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["data"]["k"], "v1");
        assert_eq!(calls, 1, "{path}: {:?}", f.counter.snapshot());
        assert_eq!(
            f.counter.service_total("KMS"),
            0,
            "{path}: {:?}",
            f.counter.snapshot()
        );
    }
    // A new version written elsewhere (the admin function): the read after it still
    // answers the newest (its hint was stale: one more round trip), then one again.
    assert_eq!(write("v2").await.0, 200);
    let (status, body, calls) = read("/v1/secret/data/budget").await;
    assert_eq!((status, &body["data"]["data"]["k"]), (200, &json!("v2")));
    assert_eq!(calls, 2, "{:?}", f.counter.snapshot());
    let (status, body, calls) = read("/v1/secret/data/budget").await;
    assert_eq!((status, &body["data"]["data"]["k"]), (200, &json!("v2")));
    assert_eq!(calls, 1);
    // An old version, and one the metadata no longer has live.
    let (status, body, calls) = read("/v1/secret/data/budget?version=1").await;
    assert_eq!(
        (status, &body["data"]["data"]["k"], calls),
        (200, &json!("v1"), 1)
    );
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/delete/budget",
            Some(&f.admin),
            Some(json!({"versions": [2]})),
        )
        .await;
    assert_eq!(s, 204);
    let (status, body, _) = read("/v1/secret/data/budget").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["data"]["data"].is_null(), "{body}");
    assert_eq!(body["data"]["metadata"]["version"], 2);
}

/// A read refused by policy prefetches the secret with the token and drops it: the
/// refusal is Vault's 403 with nothing of the secret in it.
#[tokio::test]
async fn a_refused_kv_read_returns_nothing_it_prefetched() {
    let f = Fixture::new().await;
    secret_with_reader(&f, "other", "prefetched-but-refused").await;
    let token = budget_reader(&f).await;
    let issue = f.app(Function::Issue);
    for path in ["/v1/secret/data/other?version=1", "/v1/secret/data/other"] {
        let resp = issue.handle(request("GET", path, Some(&token), None)).await;
        assert_eq!(resp.status, 403, "{path}");
        let body = resp.body.unwrap_or_default().to_string();
        assert!(!body.contains("prefetched-but-refused"), "{body}");
        assert!(body.contains("permission denied"), "{body}");
    }
}

#[tokio::test]
async fn approle_login_is_at_most_two_dynamodb_calls() {
    let f = Fixture::new().await;
    for (name, role) in [
        ("unlimited", json!({})),
        ("limited", json!({"secret_id_num_uses": 3})),
        ("last-use", json!({"secret_id_num_uses": 1})),
    ] {
        let (role_id, secret_id) = f.approle(name, role).await;
        let login = f.app(Function::Login);
        // Warm: audit key and quotas are read once per process, at its first request.
        f.warm(&login).await;
        f.counter.reset();
        let resp = login
            .handle(request(
                "POST",
                "/v1/auth/approle/login",
                None,
                Some(json!({"role_id": role_id, "secret_id": secret_id})),
            ))
            .await;
        assert_eq!(resp.status, 200, "{name}");
        assert!(
            f.counter.service_total("DynamoDB") <= 2,
            "{name}: {:?}",
            f.counter.snapshot()
        );
        assert_eq!(f.counter.service_total("KMS"), 0, "{name}");
    }
}

/// Batch tokens (issue "Token store"): an AppRole login that issues one writes nothing
/// once its identity exists (one read: the role ID, the secret ID and the alias's
/// index; issue 17: the identity's first login writes it), a warm KV read with it is exactly one
/// DynamoDB call (the item: the token is read from itself), and a tampered, truncated,
/// foreign or expired batch token gets the unknown token's 403.
#[tokio::test]
async fn a_batch_token_login_writes_nothing_and_a_kv_read_is_one_call() {
    let (f, clock) = Fixture::manual().await;
    secret_with_reader(&f, "batch-budget", "v").await;
    let (role_id, secret_id) = f
        .approle(
            "batch",
            json!({"token_policies": "batch-budget-reader", "token_type": "batch", "token_ttl": "60s"}),
        )
        .await;
    let login = f.app(Function::Login);
    f.warm(&login).await;
    let go = || {
        login.handle(request(
            "POST",
            "/v1/auth/approle/login",
            None,
            Some(json!({"role_id": role_id, "secret_id": secret_id})),
        ))
    };
    // The identity's first login writes its entity and alias (one transaction).
    f.counter.reset();
    assert_eq!(go().await.status, 200);
    assert_eq!(
        f.counter.service_total("DynamoDB"),
        2,
        "{:?}",
        f.counter.snapshot()
    );
    f.counter.reset();
    let resp = go().await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let calls = f.counter.snapshot();
    assert_eq!(
        f.counter.service_total("DynamoDB"),
        1,
        "one read, no write: {calls:?}"
    );
    let body = resp.body.clone().unwrap();
    assert_eq!(body["auth"]["token_type"], "batch", "{body}");
    assert_eq!(body["auth"]["accessor"], "", "{body}");
    assert_eq!(body["auth"]["renewable"], false, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sglb."), "{token}");

    let issue = f.app(Function::Issue);
    let read = |t: String| {
        let issue = &issue;
        async move {
            issue
                .handle(request(
                    "GET",
                    "/v1/secret/data/batch-budget",
                    Some(&t),
                    None,
                ))
                .await
        }
    };
    assert_eq!(read(token.clone()).await.status, 200, "cold");
    f.counter.reset();
    let resp = read(token.clone()).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(
        f.counter.service_total("DynamoDB"),
        1,
        "{:?}",
        f.counter.snapshot()
    );
    assert_eq!(f.counter.service_total("KMS"), 0);

    let unknown = read("sgl.unknown-token".into()).await;
    let mut flipped = token.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(flipped).unwrap(),
        token[..token.len() - 3].to_owned(),
        "sglb.".to_owned(),
        format!("{token}{}", "A".repeat(9000)),
    ] {
        let resp = read(bad).await;
        assert_eq!((resp.status, &resp.body), (403, &unknown.body));
    }
    // Its lookup, and Vault's refusals.
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["data"]["type"],
            &b["data"]["orphan"],
            &b["data"]["accessor"]
        ),
        (&json!("batch"), &json!(true), &json!(""))
    );
    let (s, b) = f
        .call("POST", "/v1/auth/token/renew-self", Some(&token), None)
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("batch tokens cannot be renewed"))
    );
    let (s, b) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&token), None)
        .await;
    assert_eq!(
        (s, &b["errors"][0]),
        (400, &json!("batch tokens cannot be revoked"))
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 403, "the default policy does not grant create: {b}");
    // Expired: refused as unknown.
    clock.advance(61);
    let resp = read(token).await;
    assert_eq!((resp.status, &resp.body), (403, &unknown.body));
}

/// Issue 17: a login's identity. The first login of an identity writes entity and
/// alias in the token's transaction (AppRole: its alias index is read in the login's
/// batch read; JWT: one read of it once the JWT is verified); a repeated login in the
/// same process makes no more round trips than a login made before identities (one
/// read, one transaction); a process that has not seen the identity reads it once
/// (the entity and alias in one batch read).
#[tokio::test]
async fn a_known_identity_costs_a_login_no_extra_round_trip() {
    let f = Fixture::new().await;
    let (role_id, secret_id) = f.approle("known", json!({})).await;
    let login = f.app(Function::Login);
    f.warm(&login).await;
    let body = json!({"role_id": role_id, "secret_id": secret_id});
    let mut calls = Vec::new();
    for app in [&login, &login, &f.app(Function::Login)] {
        f.warm(app).await;
        f.counter.reset();
        let resp = app
            .handle(request(
                "POST",
                "/v1/auth/approle/login",
                None,
                Some(body.clone()),
            ))
            .await;
        assert_eq!(resp.status, 200, "{:?}", resp.body);
        calls.push(f.counter.service_total("DynamoDB"));
    }
    assert_eq!(
        calls,
        [2, 2, 3],
        "approle: first, repeated, another process: {:?}",
        f.counter.snapshot()
    );

    let issuer = sigil_tests::oidc::Issuer::start().await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/jwt/config",
            Some(&f.admin),
            Some(json!({"oidc_discovery_url": issuer.url, "oidc_discovery_ca_pem": issuer.ca_pem})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/jwt/role/ci",
            Some(&f.admin),
            Some(json!({
                "role_type": "jwt", "user_claim": "repository", "bound_audiences": "sigil",
                "claim_mappings": {"repository": "repo"},
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let jwt = issuer.mint(&issuer.github_claims("acme/api", "main", "sigil", f.clock.now()));
    let login = f.app(Function::Login);
    f.warm(&login).await;
    let mut calls = Vec::new();
    for _ in 0..2 {
        f.counter.reset();
        let resp = login
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
        [3, 2],
        "jwt: first, repeated: {:?}",
        f.counter.snapshot()
    );
}
