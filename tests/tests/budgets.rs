//! DESIGN.md's call budgets, counted by the interceptor on the real AWS clients:
//! a warm KV read makes 2 DynamoDB round trips (token, item) and 0 KMS calls; an
//! AppRole login at most 2 DynamoDB round trips.

use serde_json::json;
use sigil::route::Function;
use sigil_tests::{Fixture, request};

#[tokio::test]
async fn warm_kv_read_is_two_dynamodb_calls_and_no_kms() {
    let f = Fixture::new().await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/budget",
            Some(&f.admin),
            Some(json!({"data": {"k": "v"}})),
        )
        .await;
    assert_eq!(s, 200);
    f.policy(
        "reader",
        r#"path "secret/data/budget" { capabilities = ["read"] }"#,
    )
    .await;
    let (role_id, secret_id) = f
        .approle("reader", json!({"token_policies": "reader"}))
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let issue = f.app(Function::Issue);
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
        f.counter.reset();
        let resp = issue.handle(request("GET", path, Some(&token), None)).await;
        assert_eq!(resp.status, 200, "{:?}", resp.body);
        assert_eq!(
            f.counter.service_total("DynamoDB"),
            2,
            "{path}: {:?}",
            f.counter.snapshot()
        );
        assert_eq!(
            f.counter.service_total("KMS"),
            0,
            "{path}: {:?}",
            f.counter.snapshot()
        );
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
/// (one read: the role ID and secret ID), a warm KV read with it is exactly one
/// DynamoDB call (the item: the token is read from itself), and a tampered, truncated,
/// foreign or expired batch token gets the unknown token's 403.
#[tokio::test]
async fn a_batch_token_login_writes_nothing_and_a_kv_read_is_one_call() {
    let (f, clock) = Fixture::manual().await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/batch-budget",
            Some(&f.admin),
            Some(json!({"data": {"k": "v"}})),
        )
        .await;
    assert_eq!(s, 200);
    f.policy(
        "batch-reader",
        r#"path "secret/data/batch-budget" { capabilities = ["read"] }"#,
    )
    .await;
    let (role_id, secret_id) = f
        .approle(
            "batch",
            json!({"token_policies": "batch-reader", "token_type": "batch", "token_ttl": "60s"}),
        )
        .await;
    let login = f.app(Function::Login);
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
