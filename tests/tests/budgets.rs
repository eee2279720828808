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
