//! `aws/config/root` in-process against DynamoDB Local and moto: write, read and
//! validation; and the engine's IAM and STS clients follow the configured endpoints and
//! retries on the issue, revoke and sweep paths (a dead endpoint fails cleanly and
//! leaves no lease and no user behind).

use serde_json::{Value, json};
use sigil_tests::{Fixture, unique};

/// An endpoint nothing listens on: connections are refused at once.
const DEAD: &str = "http://127.0.0.1:9";

/// An endpoint that accepts connections and never answers (a black hole): only the
/// engine's client timeouts end a call to it. The listener lives as long as the test.
fn black_hole() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://{addr}")
}

/// Fails the test (instead of hanging it) when a request does not end: a guard, not a
/// timing assertion; the engine's own timeouts are a few seconds.
async fn ends<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} never answered: the engine's calls have no timeout"))
}

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto) from the stack's env")
}

async fn set_root(f: &Fixture, body: Value) -> (u16, Value) {
    f.call("POST", "/v1/aws/config/root", Some(&f.admin), Some(body))
        .await
}

async fn get_root(f: &Fixture) -> Value {
    let (s, b) = f
        .call("GET", "/v1/aws/config/root", Some(&f.admin), None)
        .await;
    assert_eq!(s, 200, "{b}");
    b["data"].clone()
}

/// An `iam_user` role and an `assumed_role` role, named from `tag`.
async fn engine_roles(f: &Fixture, tag: &str) -> (String, String) {
    let role = unique(tag);
    f.aws_iam_role(&role).await;
    let sts_role = unique(&format!("{tag}-sts"));
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/roles/{sts_role}"),
            Some(&f.admin),
            Some(json!({"credential_type": "assumed_role", "role_arns": ["arn:aws:iam::123456789012:role/deployer"]})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    (role, sts_role)
}

async fn lease_records(f: &Fixture) -> usize {
    f.scan()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("lease/"))
        .count()
}

#[tokio::test]
async fn write_read_and_validation() {
    let f = Fixture::new().await;
    assert_eq!(
        get_root(&f).await,
        json!({"region": "", "iam_endpoint": "", "sts_endpoint": "", "max_retries": -1}),
        "no configuration: the function's own"
    );
    let good = json!({
        "region": "eu-west-1",
        "iam_endpoint": "https://iam.amazonaws.com",
        "sts_endpoint": "https://sts.eu-west-1.amazonaws.com",
        "max_retries": "3",
        "not_a_vault_field": true,
    });
    let (s, b) = set_root(&f, good).await;
    assert_eq!(s, 204, "{b}");
    let stored = json!({
        "region": "eu-west-1",
        "iam_endpoint": "https://iam.amazonaws.com",
        "sts_endpoint": "https://sts.eu-west-1.amazonaws.com",
        "max_retries": 3,
    });
    assert_eq!(get_root(&f).await, stored, "unknown fields are ignored");

    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    for (body, says) in [
        (
            json!({"region": "eu-west-1", "access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": secret}),
            "own role",
        ),
        (json!({"secret_key": secret}), "own role"),
        (json!({"region": "Europe"}), "region"),
        (json!({"region": "us-east-1; rm"}), "region"),
        (json!({"iam_endpoint": "iam.amazonaws.com"}), "iam_endpoint"),
        (json!({"iam_endpoint": "ftp://iam.example.com"}), "scheme"),
        (
            json!({"sts_endpoint": "https://admin:hunter2@sts.example.com"}),
            "credentials",
        ),
        (
            json!({"sts_endpoint": "https://sts.example.com/?X-Amz-Security-Token=t"}),
            "query",
        ),
        (json!({"max_retries": 99}), "max_retries"),
        (json!({"max_retries": -5}), "max_retries"),
        (json!({"max_retries": [1]}), "max_retries"),
        (
            json!({"username_template": "{{.DisplayName}}"}),
            "username_template",
        ),
        (json!({"region": 7}), "region"),
    ] {
        let (s, b) = set_root(&f, body.clone()).await;
        assert_eq!(s, 400, "{body}: {b}");
        let msg = b["errors"][0].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains(says), "{body}: {msg}");
        for leaked in [secret, "AKIAIOSFODNN7EXAMPLE", "hunter2"] {
            assert!(!msg.contains(leaked), "{msg}");
        }
        assert_eq!(
            get_root(&f).await,
            stored,
            "a refused write changes nothing"
        );
    }
    let (s, _) = f
        .call("DELETE", "/v1/aws/config/root", Some(&f.admin), None)
        .await;
    assert_eq!(s, 405);

    // A write replaces the configuration, as Vault's does.
    let (s, _) = set_root(&f, json!({"region": "us-west-2"})).await;
    assert_eq!(s, 204);
    assert_eq!(
        get_root(&f).await,
        json!({"region": "us-west-2", "iam_endpoint": "", "sts_endpoint": "", "max_retries": -1})
    );

    // ACL: reading the configuration does not grant changing it.
    f.policy(
        "aws-config-reader",
        r#"path "aws/config/*" { capabilities = ["read"] }"#,
    )
    .await;
    let (role_id, secret_id) = f
        .approle("cfg", json!({"token_policies": ["aws-config-reader"]}))
        .await;
    let reader = f.login(&role_id, &secret_id).await;
    let (s, _) = f
        .call("GET", "/v1/aws/config/root", Some(&reader), None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = f
        .call(
            "POST",
            "/v1/aws/config/root",
            Some(&reader),
            Some(json!({"iam_endpoint": "https://evil.example.com"})),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(get_root(&f).await["iam_endpoint"], "");
}

#[tokio::test]
async fn the_engine_follows_the_configured_endpoints() {
    let (f, clock) = Fixture::manual().await;
    let a = Some(f.admin.as_str());
    let (role, sts_role) = engine_roles(&f, "root").await;
    let prefix = format!("sigil-bootstrap-{role}-");
    let creds = format!("/v1/aws/creds/{role}");
    let sts = format!("/v1/aws/sts/{sts_role}");

    // Endpoints and region set explicitly (to moto): issuing works through them.
    let (s, b) = set_root(
        &f,
        json!({"region": "us-east-1", "iam_endpoint": moto(), "sts_endpoint": moto()}),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f.call("GET", &creds, a, None).await;
    assert_eq!(s, 200, "{b}");
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    let (s, b) = f.call("POST", &sts, a, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(f.iam_users(&prefix).await.len(), 1);
    assert_eq!(lease_records(&f).await, 2);

    // A dead IAM endpoint, no retries: a clean 503 after one attempt. The undo tries
    // to delete the user (an error never proves IAM did not apply a call) and cannot
    // reach IAM either, so the pending lease stays for the sweeper; no user was made.
    let (s, _) = set_root(
        &f,
        json!({"iam_endpoint": DEAD, "sts_endpoint": moto(), "max_retries": 0}),
    )
    .await;
    assert_eq!(s, 204);
    f.counter.reset();
    let (s, b) = f.call("GET", &creds, a, None).await;
    assert_eq!(s, 503, "{b}");
    assert!(!b.to_string().contains("127.0.0.1"), "{b}");
    let iam_calls: std::collections::BTreeMap<String, u64> = f
        .counter
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.starts_with("IAM."))
        .collect();
    assert_eq!(
        iam_calls,
        [("IAM.CreateUser", 1), ("IAM.ListAccessKeys", 1)]
            .map(|(k, n)| (k.to_owned(), n))
            .into(),
        "one attempt, then one undo attempt"
    );
    assert_eq!(lease_records(&f).await, 3, "the pending lease is kept");
    assert_eq!(f.iam_users(&prefix).await.len(), 1, "no orphaned user");

    // max_retries is honoured: two retries, three attempts.
    let (s, _) = set_root(&f, json!({"iam_endpoint": DEAD, "max_retries": 2})).await;
    assert_eq!(s, 204);
    f.counter.reset();
    let (s, _) = f.call("GET", &creds, a, None).await;
    assert_eq!(s, 503);
    assert_eq!(f.counter.snapshot().get("IAM.CreateUser"), Some(&3));
    assert_eq!(f.counter.snapshot().get("IAM.ListAccessKeys"), Some(&3));
    assert_eq!(lease_records(&f).await, 4);

    // A dead STS endpoint: 503 and no lease (STS is called before the lease is written).
    let (s, _) = set_root(
        &f,
        json!({"iam_endpoint": moto(), "sts_endpoint": DEAD, "max_retries": 0}),
    )
    .await;
    assert_eq!(s, 204);
    f.counter.reset();
    let (s, b) = f.call("POST", &sts, a, None).await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(f.counter.snapshot().get("STS.AssumeRole"), Some(&1));
    assert_eq!(lease_records(&f).await, 4);

    // Revocation follows the configuration too: the sweeper cannot reach the dead IAM
    // endpoint and keeps the lease (with its backoff); once the endpoint is fixed, it
    // deletes the user. (`sweep` uses a fresh app: a warm one re-reads the
    // configuration every 30 s.)
    let (s, _) = set_root(&f, json!({"iam_endpoint": DEAD, "max_retries": 0})).await;
    assert_eq!(s, 204);
    clock.advance(61);
    let r = f.sweep().await;
    assert_eq!((r.leases, r.failed), (0, 1), "{r:?}");
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            a,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!((s, &b["data"]["attempts"]), (200, &json!(1)), "{b}");
    assert_eq!(f.iam_users(&prefix).await.len(), 1);

    let (s, _) = set_root(&f, json!({"iam_endpoint": moto()})).await;
    assert_eq!(s, 204);
    clock.advance(61);
    let r = f.sweep().await;
    assert_eq!((r.leases, r.failed), (1, 0), "{r:?}");
    assert_eq!(f.iam_users(&prefix).await.len(), 0, "the user is gone");

    // The two pending leases of the failed issues, once past their grace: the sweeper
    // finds no user to delete and drops them (the STS lease is still live).
    clock.advance(sigil::lease::PENDING_GRACE_SECS);
    let r = f.sweep().await;
    assert_eq!((r.leases, r.failed), (2, 0), "{r:?}");
    assert_eq!(lease_records(&f).await, 1);
}

#[tokio::test]
async fn an_endpoint_that_never_answers_costs_a_503_not_a_hung_function() {
    let (f, clock) = Fixture::manual().await;
    let a = Some(f.admin.as_str());
    let (role, sts_role) = engine_roles(&f, "hole").await;
    let prefix = format!("sigil-bootstrap-{role}-");
    let hole = black_hole();

    // IAM never answers: CreateUser may have reached it, so the pending lease stays for
    // the sweeper, and the caller gets a clean 503.
    let (s, _) = set_root(&f, json!({"iam_endpoint": hole, "sts_endpoint": moto()})).await;
    assert_eq!(s, 204);
    let (s, b) = ends(
        "aws/creds",
        f.call("GET", &format!("/v1/aws/creds/{role}"), a, None),
    )
    .await;
    assert_eq!(s, 503, "{b}");
    assert!(!b.to_string().contains("127.0.0.1"), "{b}");
    assert_eq!(lease_records(&f).await, 1, "the pending lease is kept");

    // STS never answers: 503 and no lease (STS is called before any lease is written).
    let (s, _) = set_root(&f, json!({"iam_endpoint": moto(), "sts_endpoint": hole})).await;
    assert_eq!(s, 204);
    let (s, b) = ends(
        "aws/sts",
        f.call("POST", &format!("/v1/aws/sts/{sts_role}"), a, None),
    )
    .await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(lease_records(&f).await, 1);

    // The sweeper's revocation is bounded the same way; once IAM answers again, it
    // finishes the pending lease (no user was ever made).
    let (s, _) = set_root(&f, json!({"iam_endpoint": hole})).await;
    assert_eq!(s, 204);
    clock.advance(sigil::lease::PENDING_GRACE_SECS + 1);
    let r = ends("the sweeper", f.sweep()).await;
    assert_eq!((r.leases, r.failed), (0, 1), "{r:?}");
    let (s, _) = set_root(&f, json!({"iam_endpoint": moto()})).await;
    assert_eq!(s, 204);
    clock.advance(61);
    let r = f.sweep().await;
    assert_eq!((r.leases, r.failed), (1, 0), "{r:?}");
    assert_eq!(lease_records(&f).await, 0);
    assert_eq!(f.iam_users(&prefix).await.len(), 0, "no orphaned user");
}
