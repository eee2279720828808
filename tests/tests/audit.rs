//! The audit device end to end, in-process against DynamoDB Local and moto: every route
//! writes a request and a response line, no line carries a raw secret, `audit-hash`
//! finds a token's lines, and a failing device fails requests with nothing changed.

use serde_json::{Value, json};
use sigil_tests::routes::samples;
use sigil_tests::{Fixture, unique};

const APP_POLICY: &str =
    r#"path "secret/data/app/*" { capabilities = ["create", "read", "update"] }"#;

async fn audit_hash(f: &Fixture, input: &str) -> String {
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/audit-hash/stdout",
            Some(&f.admin),
            Some(json!({ "input": input })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["hash"], b["data"]["hash"], "{b}");
    b["hash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_writes_its_lines_and_no_line_holds_a_secret() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/policies/acl/app",
            a,
            Some(json!({ "policy": APP_POLICY })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (role_id, secret_id) = f.approle("web", json!({"token_policies": "app"})).await;
    let token = f.login(&role_id, &secret_id).await;
    let value = unique("kv-value");
    let (s, b) = f
        .call(
            "POST",
            "/v1/secret/data/app/db",
            Some(&token),
            Some(json!({"data": {"password": value, "pin": 987_654_321}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = f
        .call("GET", "/v1/secret/data/app/db", Some(&token), None)
        .await;
    assert_eq!((s, &b["data"]["data"]["password"]), (200, &json!(value)));
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    let accessor = b["data"]["accessor"].as_str().unwrap().to_owned();
    f.aws_iam_role("deploy").await;
    let (s, b) = f.call("GET", "/v1/aws/creds/deploy", a, None).await;
    assert_eq!(s, 200, "{b}");
    let access_key = b["data"]["access_key"].as_str().unwrap().to_owned();
    let secret_key = b["data"]["secret_key"].as_str().unwrap().to_owned();

    // audit-hash of the token and of its accessor find the token's lines.
    let token_hash = audit_hash(&f, &token).await;
    let accessor_hash = audit_hash(&f, &accessor).await;
    let kv_write: Vec<Value> = f
        .audit
        .lines()
        .into_iter()
        .filter(|l| {
            l["request"]["path"] == "secret/data/app/db" && l["request"]["method"] == "POST"
        })
        .collect();
    assert_eq!(kv_write.len(), 2, "{kv_write:#?}");
    for line in &kv_write {
        assert_eq!(line["auth"]["client_token"], json!(token_hash), "{line}");
        assert_eq!(line["auth"]["accessor"], json!(accessor_hash), "{line}");
        assert_eq!(
            line["auth"]["policies"],
            json!(["app", "default"]),
            "{line}"
        );
        assert_eq!(line["request"]["operation"], "update");
        assert_eq!(line["request"]["mount_point"], "secret/");
        assert_eq!(line["function"], "admin");
        assert_eq!(line["decision"], "allow");
    }
    assert_eq!(kv_write[1]["status"], 200);
    let issued = f
        .audit
        .lines()
        .into_iter()
        .find(|l| l["type"] == "response" && l["request"]["path"] == "aws/creds/deploy")
        .expect("the creds response line");
    assert!(
        issued["lease_id"]
            .as_str()
            .unwrap()
            .starts_with("aws/creds/deploy/"),
        "{issued}"
    );

    // Every route, with each method it takes, as admin with an empty body: most answer
    // 4xx, and every one writes exactly a request and a response line.
    for (method, path, list) in samples() {
        let path = if list {
            format!("{path}?list=true")
        } else {
            path.to_owned()
        };
        let before = f.audit.lines().len();
        let (status, _) = f.call(method, &path, a, None).await;
        let lines = f.audit.lines().split_off(before);
        assert_eq!(lines.len(), 2, "{method} {path}: {lines:#?}");
        assert_eq!(
            (&lines[0]["type"], &lines[1]["type"]),
            (&json!("request"), &json!("response"))
        );
        assert_eq!(
            lines[0]["request_id"], lines[1]["request_id"],
            "{method} {path}"
        );
        assert_eq!(lines[1]["status"], json!(status), "{method} {path}");
        assert_eq!(lines[0]["request"]["method"], method, "{method} {path}");
    }

    let raw = f.audit.raw().join("\n");
    for (what, secret) in [
        ("admin token", f.admin.as_str()),
        ("token", token.as_str()),
        ("accessor", accessor.as_str()),
        ("role ID", role_id.as_str()),
        ("secret ID", secret_id.as_str()),
        ("KV value", value.as_str()),
        ("KV number", "987654321"),
        ("access key", access_key.as_str()),
        ("secret key", secret_key.as_str()),
    ] {
        assert!(!raw.contains(secret), "the {what} is in the audit log");
    }
}

#[tokio::test]
async fn a_failing_audit_device_fails_requests_and_changes_nothing() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let (role_id, secret_id) = f
        .approle(
            "web",
            json!({"token_policies": "default", "secret_id_num_uses": 3, "token_num_uses": 3}),
        )
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let role = unique("deploy");
    f.aws_iam_role(&role).await;
    let creds = format!("/v1/aws/creds/{role}");
    let prefix = format!("sigil-bootstrap-{role}-");
    let before = f.scan().await;

    f.audit.set_failing(true);
    let login = json!({"role_id": role_id, "secret_id": secret_id});
    for (method, path, token, body) in [
        ("POST", "/v1/auth/approle/login", None, Some(login.clone())),
        (
            "POST",
            "/v1/secret/data/app",
            a,
            Some(json!({"data": {"k": "v"}})),
        ),
        (
            "PUT",
            "/v1/sys/policies/acl/p",
            a,
            Some(json!({"policy": APP_POLICY})),
        ),
        (
            "GET",
            "/v1/auth/token/lookup-self",
            Some(token.as_str()),
            None,
        ),
        (
            "POST",
            "/v1/auth/token/revoke-self",
            Some(token.as_str()),
            None,
        ),
        ("GET", creds.as_str(), a, None),
        ("POST", "/v1/auth/approle/role/web/secret-id", a, None),
        ("GET", "/v1/secret/data/nothing", Some("not-a-token"), None),
    ] {
        let (s, b) = f.call(method, path, token, body).await;
        assert_eq!(
            (s, &b),
            (500, &json!({"errors": ["internal error"]})),
            "{method} {path}"
        );
    }
    assert!(f.scan().await == before, "the table changed");
    assert!(
        f.iam_users(&prefix).await.is_empty(),
        "an IAM user was made"
    );

    // Once the device works again, the secret ID's two uses left and the token's three
    // are all there.
    f.audit.set_failing(false);
    for _ in 0..2 {
        let (s, b) = f
            .call("POST", "/v1/auth/approle/login", None, Some(login.clone()))
            .await;
        assert_eq!(s, 200, "{b}");
    }
    for _ in 0..3 {
        let (s, b) = f
            .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
            .await;
        assert_eq!(s, 200, "{b}");
    }
}
