//! End to end over HTTP: the real function binaries under `cargo lambda watch` (the Lambda
//! runtime loop, API Gateway v2 events), routed as in production, on the local stack.

use serde_json::{Value, json};
use sigil_tests::{http, unique};

fn admin() -> String {
    std::env::var("SIGIL_TOKEN").expect("SIGIL_TOKEN (an admin token): run under `make test`")
}

fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[tokio::test]
async fn full_flow_through_the_functions() {
    let admin = admin();
    let role = unique("http");
    let (s, h) = http("GET", "/v1/sys/health", None, None).await;
    assert_eq!((s, &h["sealed"]), (200, &json!(false)));

    let (s, b) = http(
        "POST",
        &format!("/v1/auth/approle/role/{role}"),
        Some(&admin),
        Some(&body(
            json!({"token_policies": [role.clone()], "token_ttl": "5m", "token_max_ttl": "10m"}),
        )),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = http(
        "GET",
        &format!("/v1/auth/approle/role/{role}/role-id"),
        Some(&admin),
        None,
    )
    .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = http(
        "POST",
        &format!("/v1/auth/approle/role/{role}/secret-id"),
        Some(&admin),
        None,
    )
    .await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let (s, b) = http(
        "LIST",
        &format!("/v1/auth/approle/role/{role}/secret-id"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (s, b["data"]["keys"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    let policy = format!(
        r#"path "secret/data/{role}/*" {{ capabilities = ["read"] }}
path "secret/metadata/{role}/*" {{ capabilities = ["list"] }}"#
    );
    let (s, b) = http(
        "PUT",
        &format!("/v1/sys/policies/acl/{role}"),
        Some(&admin),
        Some(&body(json!({"policy": policy}))),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let path = format!("/v1/secret/data/{role}/db");
    let (s, b) = http(
        "POST",
        &path,
        Some(&admin),
        Some(&body(json!({"data": {"password": "over-http"}}))),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = http(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(&body(json!({"role_id": role_id, "secret_id": secret_id}))),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();
    assert_eq!(b["auth"]["lease_duration"], 300);
    assert!(b["request_id"].as_str().is_some_and(|r| !r.is_empty()));

    let (s, b) = http("GET", &path, Some(&token), None).await;
    assert_eq!(
        (s, &b["data"]["data"]["password"]),
        (200, &json!("over-http")),
        "{b}"
    );
    let (s, b) = http(
        "LIST",
        &format!("/v1/secret/metadata/{role}/"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["db"])));
    let (s, b) = http(
        "GET",
        &format!("/v1/secret/metadata/{role}?list=true"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["db"])));

    // The app token is not an admin: writes and admin routes are refused.
    let (s, b) = http(
        "POST",
        &path,
        Some(&token),
        Some(&body(json!({"data": {"x": "y"}}))),
    )
    .await;
    assert_eq!((s, b), (403, json!({"errors": ["permission denied"]})));

    let (s, b) = http(
        "POST",
        "/v1/auth/token/renew-self",
        Some(&token),
        Some(&body(json!({"increment": "1h"}))),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let granted = b["auth"]["lease_duration"].as_i64().unwrap();
    assert!(
        (590..=600).contains(&granted),
        "capped at 10m max TTL: {granted}"
    );

    let (s, _) = http("POST", "/v1/auth/token/revoke-self", Some(&token), None).await;
    assert_eq!(s, 204);
    let (s, b) = http("GET", &path, Some(&token), None).await;
    assert_eq!((s, b), (403, json!({"errors": ["permission denied"]})));
}

#[tokio::test]
async fn errors_over_http_use_vaults_body() {
    let admin = admin();
    let (s, b) = http("GET", "/v1/secret/nothing-here/x", Some(&admin), None).await;
    assert_eq!(s, 404);
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("no handler for route"),
        "{b}"
    );
    let (s, b) = http(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(b"{\"role_id\": "),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("failed to parse JSON input"),
        "{b}"
    );
    let (s, b) = http(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(&body(json!({"role_id": "x", "secret_id": "y"}))),
    )
    .await;
    assert_eq!(
        (s, b),
        (400, json!({"errors": ["invalid role or secret ID"]}))
    );
    let (s, b) = http("GET", "/v1/auth/token/revoke-self", Some(&admin), None).await;
    assert_eq!((s, b), (405, json!({"errors": ["unsupported operation"]})));
    let (s, b) = http("GET", "/v1/secret/data/missing-secret", Some(&admin), None).await;
    assert_eq!((s, b), (404, json!({"errors": []})));
    let (s, _) = http(
        "GET",
        "/v1/secret/data/x",
        Some("sgl.not-a-real-token"),
        None,
    )
    .await;
    assert_eq!(s, 403);
    // (reqwest resolves a literal `%2e%2e` segment itself, per the URL standard; an
    // encoded slash hides the dot segment from it and reaches Sigil.)
    let (s, b) = http("GET", "/v1/secret/data/a%2F..%2Fb", Some(&admin), None).await;
    assert_eq!(s, 400, "{b}");
    // A body over 1 MiB: 413 from the function itself (which also audits it), nothing
    // written.
    let path = format!("/v1/secret/data/{}", unique("too-large"));
    let big = format!("{{\"data\": {{\"v\": \"{}\"}}}}", "x".repeat(1024 * 1024));
    let (s, b) = http("POST", &path, Some(&admin), Some(big.as_bytes())).await;
    assert_eq!((s, b), (413, json!({"errors": ["request body too large"]})));
    let (s, _) = http("GET", &path, Some(&admin), None).await;
    assert_eq!(s, 404, "nothing was written");
}

#[tokio::test]
async fn a_narrow_policy_is_enforced_by_every_function() {
    let admin = admin();
    let name = unique("narrow");
    let policy = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;
    let (s, _) = http(
        "PUT",
        &format!("/v1/sys/policies/acl/{name}"),
        Some(&admin),
        Some(&body(json!({"policy": policy}))),
    )
    .await;
    assert_eq!(s, 204);
    for (p, v) in [("app/db", "in-app"), ("other", "elsewhere")] {
        let (s, _) = http(
            "POST",
            &format!("/v1/secret/data/{p}"),
            Some(&admin),
            Some(&body(json!({"data": {"v": v}}))),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, _) = http(
        "POST",
        &format!("/v1/auth/approle/role/{name}"),
        Some(&admin),
        Some(&body(json!({"token_policies": [name.clone()]}))),
    )
    .await;
    assert_eq!(s, 204);
    let (_, b) = http(
        "GET",
        &format!("/v1/auth/approle/role/{name}/role-id"),
        Some(&admin),
        None,
    )
    .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = http(
        "POST",
        &format!("/v1/auth/approle/role/{name}/secret-id"),
        Some(&admin),
        None,
    )
    .await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let (_, b) = http(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(&body(json!({"role_id": role_id, "secret_id": secret_id}))),
    )
    .await;
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();

    let (s, b) = http("GET", "/v1/secret/data/app/db", Some(&token), None).await;
    assert_eq!((s, &b["data"]["data"]["v"]), (200, &json!("in-app")));
    let denied = json!({"errors": ["permission denied"]});
    let refused: [(&str, &str, Option<Value>); 8] = [
        ("GET", "/v1/secret/data/other", None),
        (
            "POST",
            "/v1/secret/data/app/db",
            Some(json!({"data": {"v": "x"}})),
        ),
        ("DELETE", "/v1/secret/data/app/db", None),
        ("GET", "/v1/secret/metadata/app/db", None),
        (
            "PUT",
            &format!("/v1/sys/policies/acl/{name}"),
            Some(json!({"policy": "path \"*\" { capabilities = [\"sudo\"] }"})),
        ),
        (
            "POST",
            &format!("/v1/auth/approle/role/{name}/secret-id"),
            None,
        ),
        (
            "POST",
            "/v1/auth/token/revoke-accessor",
            Some(json!({"accessor": "x"})),
        ),
        ("PUT", "/v1/sys/leases/revoke-prefix/secret", None),
    ];
    for (method, path, b) in refused {
        let raw = b.map(|b| b.to_string().into_bytes());
        let (s, resp) = http(method, path, Some(&token), raw.as_deref()).await;
        assert_eq!((s, &resp), (403, &denied), "{method} {path}");
    }
    // The default policy still lets the token manage itself.
    let (s, _) = http("GET", "/v1/auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(s, 200);
    let (s, b) = http(
        "POST",
        "/v1/sys/capabilities-self",
        Some(&token),
        Some(&body(
            json!({"paths": ["secret/data/app/x", "secret/data/other"]}),
        )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["secret/data/app/x"], json!(["read"]));
    assert_eq!(b["data"]["secret/data/other"], json!(["deny"]));

    // Changing the policy takes effect for the existing token (within the functions'
    // policy cache TTL, which `make test` sets to 2 s).
    let widened = r#"path "secret/data/*" { capabilities = ["read"] }"#;
    let (s, _) = http(
        "PUT",
        &format!("/v1/sys/policies/acl/{name}"),
        Some(&admin),
        Some(&body(json!({"policy": widened}))),
    )
    .await;
    assert_eq!(s, 204);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (s, b) = http("GET", "/v1/secret/data/other", Some(&token), None).await;
    assert_eq!(
        (s, &b["data"]["data"]["v"]),
        (200, &json!("elsewhere")),
        "{b}"
    );
    let (s, _) = http(
        "DELETE",
        &format!("/v1/sys/policies/acl/{name}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 204);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (s, _) = http("GET", "/v1/secret/data/app/db", Some(&token), None).await;
    assert_eq!(s, 403, "a deleted policy grants nothing");
}

/// An AWS static role through the admin function: its key comes back from
/// `static-creds` (recorded, so the log check in `make test` fails if the function logged
/// the secret key while rotating or serving it), and goes with the role.
#[tokio::test]
async fn aws_static_role_through_the_functions() {
    let admin = admin();
    let iam = sigil::aws::iam_client(&sigil_tests::sdk().await, None);
    let user = unique("http-static");
    iam.create_user().user_name(&user).send().await.unwrap();
    let role = unique("http-static");
    let path = format!("/v1/aws/static-roles/{role}");
    let (s, b) = http(
        "POST",
        &path,
        Some(&admin),
        Some(&body(json!({"username": user, "rotation_period": "1h"}))),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = http(
        "GET",
        &format!("/v1/aws/static-creds/{role}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["data"]["secret_key"]
            .as_str()
            .is_some_and(|k| k.len() > 8)
    );
    let (s, _) = http("DELETE", &path, Some(&admin), None).await;
    assert_eq!(s, 204);
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert!(
        keys.access_key_metadata().is_empty(),
        "the role's key is gone"
    );
}
