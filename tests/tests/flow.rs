//! The first end-to-end flow, in-process against the real adapters on the local stack:
//! AppRole login, KV v2 write/read with envelope encryption, token renew and revoke.

use serde_json::json;
use sigil_tests::Fixture;

#[tokio::test]
async fn approle_kv_token_lifecycle() {
    let f = Fixture::new().await;
    f.policy(
        "app",
        r#"path "secret/data/app/*" { capabilities = ["read"] }"#,
    )
    .await;
    let (role_id, secret_id) = f
        .approle(
            "web",
            json!({"token_policies": "app", "token_ttl": "10m", "token_max_ttl": "30m"}),
        )
        .await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/secret/data/app/db",
            Some(&f.admin),
            Some(json!({"data": {"password": "hunter2"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["version"], 1);

    let token = f.login(&role_id, &secret_id).await;
    assert!(token.starts_with("sgl."));
    let (s, b) = f
        .call("GET", "/v1/secret/data/app/db", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["data"]["password"], "hunter2");
    assert_eq!(b["data"]["metadata"]["version"], 1);

    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["policies"], json!(["app", "default"]));
    assert_eq!(b["data"]["meta"]["role_name"], "web");

    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(&token),
            Some(json!({"increment": "1h"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let granted = b["auth"]["lease_duration"].as_i64().unwrap();
    assert!(
        (1790..=1800).contains(&granted),
        "capped at max TTL: {granted}"
    );
    assert!(b["warnings"][0].as_str().unwrap().contains("max_ttl"));

    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&token), None)
        .await;
    assert_eq!(s, 204);
    let (s, b) = f
        .call("GET", "/v1/secret/data/app/db", Some(&token), None)
        .await;
    assert_eq!((s, b), (403, json!({"errors": ["permission denied"]})));
}
