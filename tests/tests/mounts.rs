//! The mount table on DynamoDB Local: KV and auth mounts enabled, tuned and disabled at
//! run time, served by warm functions, refused at once when disabled, their items
//! deleted by the sweeper in bounded steps; bad input changes nothing.

use serde_json::{Value, json};
use sigil::route::Function;
use sigil_tests::oidc::SigningKey;
use sigil_tests::{Fixture, RawItem, request};

fn pk(i: &RawItem) -> String {
    i.get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The items of partitions starting with any of `prefixes`.
async fn items_under(f: &Fixture, prefixes: &[String]) -> Vec<String> {
    f.scan()
        .await
        .iter()
        .map(pk)
        .filter(|p| prefixes.iter().any(|x| p.starts_with(x.as_str())))
        .collect()
}

/// One request by the admin token to one function's app.
async fn send(
    f: &Fixture,
    app: &sigil::App,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> sigil::http::ApiResponse {
    app.handle(request(method, path, Some(&f.admin), body))
        .await
}

async fn mount_items(f: &Fixture) -> Vec<RawItem> {
    f.scan()
        .await
        .into_iter()
        .filter(|i| {
            let p = pk(i);
            p == "mounts" || p == "mount-cleanup"
        })
        .collect()
}

#[tokio::test]
async fn a_kv_mount_enabled_at_run_time_is_served_then_disabled_at_once() {
    let f = Fixture::new().await;
    // A warm issue function whose cached table predates the mount.
    let issue = f.app(Function::Issue);
    f.warm(&issue).await;
    let admin = f.app(Function::Admin);

    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/sys/mounts/team-a",
        Some(json!({"type": "kv", "options": {"version": "2"}, "description": "team A"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let (s, b) = f.call("GET", "/v1/sys/mounts", Some(&f.admin), None).await;
    assert_eq!(s, 200);
    let m = &b["data"]["team-a/"];
    assert_eq!(
        (
            m["type"].as_str(),
            m["options"]["version"].as_str(),
            m["description"].as_str()
        ),
        (Some("kv"), Some("2"), Some("team A")),
        "{b}"
    );
    assert!(m["accessor"].as_str().unwrap().starts_with("kv_"), "{m}");
    assert_eq!(
        b["team-a/"], b["data"]["team-a/"],
        "listed at the top level too"
    );
    assert_eq!(
        b["data"]["secret/"]["type"], "kv",
        "the environment's mount stays"
    );

    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/team-a/data/app/db",
        Some(json!({"data": {"password": "team-a-secret"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The warm function sees the new table's generation with the token and serves it.
    let r = send(&f, &issue, "GET", "/v1/team-a/data/app/db", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["data"]["data"]["password"], "team-a-secret");
    // Warm again: the token, the generation and the secret's items in one batch read
    // (the route's prefetch), no KMS.
    f.counter.reset();
    let r = send(&f, &issue, "GET", "/v1/team-a/data/app/db", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        f.counter.service_total("DynamoDB"),
        1,
        "{:?}",
        f.counter.snapshot()
    );
    assert_eq!(f.counter.service_total("KMS"), 0);
    // The CLI's preflight names the mount and its KV version.
    let (s, b) = f
        .call(
            "GET",
            "/v1/sys/internal/ui/mounts/team-a/app/db",
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["data"]["path"].as_str(),
            b["data"]["options"]["version"].as_str()
        ),
        (Some("team-a/"), Some("2"))
    );

    // Tune: lease TTLs and description; read back.
    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/sys/mounts/team-a/tune",
        Some(json!({"default_lease_ttl": "1h", "max_lease_ttl": "2h", "description": "A"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let (s, b) = f
        .call("GET", "/v1/sys/mounts/team-a/tune", Some(&f.admin), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            b["data"]["default_lease_ttl"].as_i64(),
            b["data"]["max_lease_ttl"].as_i64()
        ),
        (Some(3600), Some(7200)),
        "{b}"
    );
    // As the CLI sends flags it was not given: "" leaves a value as it is.
    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/sys/mounts/team-a/tune",
        Some(json!({"default_lease_ttl": "", "max_lease_ttl": "", "description": "B"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let (_, b) = f
        .call("GET", "/v1/sys/mounts/team-a/tune", Some(&f.admin), None)
        .await;
    assert_eq!(
        (
            b["data"]["max_lease_ttl"].as_i64(),
            b["data"]["description"].as_str()
        ),
        (Some(7200), Some("B")),
        "{b}"
    );

    // Disable: the warm issue function refuses the read at once.
    let r = send(&f, &admin, "DELETE", "/v1/sys/mounts/team-a", None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = send(&f, &issue, "GET", "/v1/team-a/data/app/db", None).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = send(&f, &admin, "DELETE", "/v1/sys/mounts/team-a", None).await;
    assert_eq!(r.status, 204, "disabling twice is fine, as in Vault");
    // Enabling the same path again waits for the sweeper.
    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/sys/mounts/team-a",
        Some(json!({"type": "kv-v2"})),
    )
    .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    f.sweep().await;
    let r = send(
        &f,
        &admin,
        "POST",
        "/v1/sys/mounts/team-a",
        Some(json!({"type": "kv-v2"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = send(&f, &issue, "GET", "/v1/team-a/data/app/db", None).await;
    assert_eq!(
        r.status, 404,
        "a new mount at the path has none of the old one's data"
    );
}

#[tokio::test]
async fn disabling_a_large_kv_mount_deletes_its_items_in_bounded_steps() {
    let f = Fixture::new().await;
    let admin = f.app(Function::Admin);
    let r = admin
        .handle(request(
            "POST",
            "/v1/sys/mounts/bulk",
            Some(&f.admin),
            Some(json!({"type": "kv-v2"})),
        ))
        .await;
    assert_eq!(r.status, 204);
    let (_, b) = f.call("GET", "/v1/sys/mounts", Some(&f.admin), None).await;
    let uuid = b["data"]["bulk/"]["uuid"].as_str().unwrap().to_owned();
    const SECRETS: usize = 150;
    for n in 0..SECRETS {
        let path = format!("/v1/bulk/data/team{}/svc{}/key{n}", n % 3, n % 7);
        let (s, _) = f
            .call(
                "POST",
                &path,
                Some(&f.admin),
                Some(json!({"data": {"v": n}})),
            )
            .await;
        assert_eq!(s, 200);
    }
    let ours = [
        format!("kv/{uuid}/"),
        format!("kvdir/{uuid}/"),
        format!("kv-config/{uuid}"),
    ];
    let before = items_under(&f, &ours).await.len();
    assert!(before >= 2 * SECRETS, "{before} items");
    let r = admin
        .handle(request(
            "DELETE",
            "/v1/sys/mounts/bulk",
            Some(&f.admin),
            None,
        ))
        .await;
    assert_eq!(r.status, 204);

    let sweeper = f.app(Function::Sweeper);
    const BUDGET: usize = 100;
    let mut steps = 0;
    let mut per_step = Vec::new();
    loop {
        f.counter.reset();
        let r = sigil::mounts::cleanup::step(
            sweeper.store.as_ref(),
            &sweeper.revokers,
            BUDGET,
            f.clock.now(),
        )
        .await
        .expect("step");
        let calls = f.counter.service_total("DynamoDB");
        per_step.push((r.items, calls));
        steps += 1;
        assert!(r.items <= BUDGET + 25, "step {steps} did {} items", r.items);
        // A query per secret's partition and per folder page, a transaction per 25
        // items, one read of the cleanup records and one cursor write.
        assert!(calls <= 100, "step {steps}: {calls} calls: {per_step:?}");
        if r.pending == 0 {
            break;
        }
        assert!(steps < 20, "not finished after {steps} steps: {per_step:?}");
    }
    println!("{before} items of {SECRETS} secrets deleted in {steps} steps: {per_step:?}");
    assert!(
        steps >= before / (BUDGET + 25),
        "bounded steps: {per_step:?}"
    );
    assert_eq!(items_under(&f, &ours).await, Vec::<String>::new());
    assert!(
        mount_items(&f)
            .await
            .iter()
            .all(|i| pk(i) != "mount-cleanup"),
        "the cleanup record is gone"
    );
}

#[tokio::test]
async fn bad_mount_requests_change_nothing() {
    let f = Fixture::new().await;
    // Store the table first, so "nothing written" compares stored items.
    let (s, _) = f
        .call(
            "POST",
            "/v1/sys/mounts/first",
            Some(&f.admin),
            Some(json!({"type": "kv-v2"})),
        )
        .await;
    assert_eq!(s, 204);
    let before = mount_items(&f).await;
    let cases = [
        ("POST", "/v1/sys/mounts/team-b", json!({"type": "kv"})),
        (
            "POST",
            "/v1/sys/mounts/team-b",
            json!({"type": "kv", "options": {"version": "1"}}),
        ),
        ("POST", "/v1/sys/mounts/team-b", json!({"type": "pki"})),
        ("POST", "/v1/sys/mounts/team-b", json!({})),
        ("POST", "/v1/sys/mounts/team-b", json!({"type": 7})),
        ("POST", "/v1/sys/mounts/sys", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/auth", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/identity", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/cubbyhole", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/a/b", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/secret", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/first", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/a%20b", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/mounts/a%2Fb", json!({"type": "kv-v2"})),
        (
            "POST",
            "/v1/sys/mounts/team-b",
            json!({"type": "kv-v2", "config": {"default_lease_ttl": "2h", "max_lease_ttl": "1h"}}),
        ),
        (
            "POST",
            "/v1/sys/mounts/team-b",
            json!({"type": "kv-v2", "config": {"max_lease_ttl": "100000h"}}),
        ),
        (
            "POST",
            "/v1/sys/mounts/team-b",
            json!({"type": "kv-v2", "config": 5}),
        ),
        ("POST", "/v1/sys/auth/token", json!({"type": "approle"})),
        ("POST", "/v1/sys/auth/ci", json!({"type": "github"})),
        ("POST", "/v1/sys/auth/ci", json!({"type": "kv-v2"})),
        ("POST", "/v1/sys/auth/jwt", json!({"type": "jwt"})),
        ("POST", "/v1/sys/auth/approle", json!({"type": "approle"})),
        ("DELETE", "/v1/sys/mounts/sys", json!({})),
        ("DELETE", "/v1/sys/auth/token", json!({})),
        (
            "POST",
            "/v1/sys/mounts/first/tune",
            json!({"max_lease_ttl": "-5s"}),
        ),
        (
            "POST",
            "/v1/sys/mounts/nothing/tune",
            json!({"max_lease_ttl": "1h"}),
        ),
        (
            "POST",
            "/v1/sys/mounts/sys/tune",
            json!({"max_lease_ttl": "1h"}),
        ),
    ];
    for (method, path, body) in cases {
        let (s, b) = f
            .call(method, path, Some(&f.admin), Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{method} {path} {body}: {b}");
        assert!(
            b["errors"][0].as_str().is_some_and(|e| !e.is_empty()),
            "{b}"
        );
    }
    // Dot segments never reach the handler.
    for path in ["/v1/sys/mounts/..", "/v1/sys/mounts/%2e%2e/x"] {
        let (s, _) = f
            .call("POST", path, Some(&f.admin), Some(json!({"type": "kv-v2"})))
            .await;
        assert_eq!(s, 400, "{path}");
    }
    assert_eq!(mount_items(&f).await, before, "nothing written");
    // Without sudo-free rights: a token of the default policy cannot enable mounts.
    let (role_id, secret_id) = f
        .approle("plain", json!({"token_policies": "default"}))
        .await;
    let plain = f.login(&role_id, &secret_id).await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/sys/mounts/mine",
            Some(&plain),
            Some(json!({"type": "kv-v2"})),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(mount_items(&f).await, before, "nothing written");
}

#[tokio::test]
async fn disabling_an_auth_mount_refuses_its_tokens_at_once_and_revokes_them() {
    let f = Fixture::new().await;
    let key = SigningKey::rsa("k1");
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/auth/ci-jwt",
            Some(&f.admin),
            Some(json!({"type": "jwt", "description": "CI"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f.call("GET", "/v1/sys/auth", Some(&f.admin), None).await;
    assert_eq!(s, 200);
    let accessor = b["data"]["ci-jwt/"]["accessor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(accessor.starts_with("auth_jwt_"), "{accessor}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/ci-jwt/config",
            Some(&f.admin),
            Some(json!({"jwt_validation_pubkeys": [key.public_pem]})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/ci-jwt/role/build",
            Some(&f.admin),
            Some(json!({"user_claim": "sub", "bound_audiences": "sigil", "token_policies": "default"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let now = f.clock.now();
    let jwt = key.sign(&json!({"sub": "build-1", "aud": "sigil", "iat": now, "exp": now + 300}));
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/ci-jwt/login",
            None,
            Some(json!({"role": "build", "jwt": jwt})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["path"], "auth/ci-jwt/login", "{b}");

    let (s, _) = f
        .call("DELETE", "/v1/sys/auth/ci-jwt", Some(&f.admin), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403, "refused at once");
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(&f.admin),
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(s, 403, "unknown to lookups too (Vault: 403 bad token)");
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/token/renew",
            Some(&f.admin),
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(s, 400, "and cannot be renewed");
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/ci-jwt/login",
            None,
            Some(json!({"role": "build", "jwt": jwt})),
        )
        .await;
    assert_eq!(s, 404, "no login through a disabled mount");
    let report = f.sweep().await;
    assert_eq!(report.mounts_pending, 0, "{report:?}");
    assert!(report.mount_items >= 3, "token, config, role: {report:?}");
    let left: Vec<String> = f
        .scan()
        .await
        .iter()
        .map(pk)
        .filter(|p| p.starts_with("token/") || p.starts_with("mount-tokens/auth/ci-jwt/"))
        .collect();
    // Only the admin token (bootstrap) and the approle-free fixture's tokens remain.
    assert!(left.len() <= 1, "{left:?}");
}

#[tokio::test]
async fn a_second_approle_mount_keeps_its_own_roles_and_tokens() {
    let f = Fixture::new().await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/auth/team-approle",
            Some(&f.admin),
            Some(json!({"type": "approle"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let base = "/v1/auth/team-approle";
    // The mount's TTLs bound its tokens.
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/auth/team-approle/tune",
            Some(&f.admin),
            Some(json!({"default_lease_ttl": "5m", "max_lease_ttl": "20m"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "POST",
            &format!("{base}/role/build"),
            Some(&f.admin),
            Some(json!({"token_policies": "default"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    // The environment's approle mount does not see it.
    let (s, _) = f
        .call("GET", "/v1/auth/approle/role/build", Some(&f.admin), None)
        .await;
    assert_eq!(s, 404);
    let (_, b) = f
        .call(
            "GET",
            &format!("{base}/role/build/role-id"),
            Some(&f.admin),
            None,
        )
        .await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = f
        .call(
            "POST",
            &format!("{base}/role/build/secret-id"),
            Some(&f.admin),
            None,
        )
        .await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    // Its credentials log in through it only.
    let creds = json!({"role_id": role_id, "secret_id": secret_id});
    let (s, _) = f
        .call("POST", "/v1/auth/approle/login", None, Some(creds.clone()))
        .await;
    assert_eq!(s, 400, "not a role of auth/approle/");
    let (s, b) = f
        .call("POST", &format!("{base}/login"), None, Some(creds))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["auth"]["lease_duration"], 300,
        "the mount's default TTL: {b}"
    );
    let token = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(
        (s, b["data"]["path"].as_str()),
        (200, Some("auth/team-approle/login"))
    );
    let (_, b) = f
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(&token),
            Some(json!({"increment": "2h"})),
        )
        .await;
    assert!(
        b["auth"]["lease_duration"].as_i64().unwrap() <= 1200,
        "capped by the mount's max TTL: {b}"
    );

    // A warm login function that read the table before the disable: its login
    // through the disabled mount writes nothing (the login's mount guard).
    let login = f.app(Function::Login);
    f.warm(&login).await;
    let (_, b) = f
        .call(
            "POST",
            &format!("{base}/role/build/secret-id"),
            Some(&f.admin),
            None,
        )
        .await;
    let second = json!({"role_id": role_id, "secret_id": b["data"]["secret_id"]});

    let (s, _) = f
        .call("DELETE", "/v1/sys/auth/team-approle", Some(&f.admin), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403);
    let tokens = |items: Vec<RawItem>| items.iter().filter(|i| pk(i).starts_with("token/")).count();
    let before = tokens(f.scan().await);
    let r = login
        .handle(request(
            "POST",
            &format!("{base}/login"),
            None,
            Some(second),
        ))
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(tokens(f.scan().await), before, "no token written");
    let report = f.sweep().await;
    assert_eq!(report.mounts_pending, 0, "{report:?}");
    let left: Vec<String> = f
        .scan()
        .await
        .iter()
        .map(pk)
        .filter(|p| p.starts_with("approle/") && p != "approle/roles")
        .collect();
    assert!(
        left.iter()
            .all(|p| !p.contains("/role/build") && !p.contains("secret_id")),
        "the mount's roles and secret IDs are gone: {left:?}"
    );
}

#[tokio::test]
async fn an_aws_mount_at_another_path_issues_under_its_own_settings_and_revokes_on_disable() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/mounts/team-aws",
            a,
            Some(json!({"type": "aws", "config": {"max_lease_ttl": "90s"}})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/sys/mounts", a, None).await;
    let uuid = b["data"]["team-aws/"]["uuid"].as_str().unwrap().to_owned();

    // Its own root configuration, lease settings and roles.
    let (s, b) = f
        .call(
            "POST",
            "/v1/team-aws/config/root",
            a,
            Some(json!({"region": "eu-west-1"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/aws/config/root", a, None).await;
    assert_eq!(b["data"]["region"], "", "aws/ keeps its own: {b}");
    let (_, b) = f.call("GET", "/v1/team-aws/config/root", a, None).await;
    assert_eq!(b["data"]["region"], "eu-west-1", "{b}");
    let (_, b) = f.call("GET", "/v1/team-aws/config/lease", a, None).await;
    assert_eq!(
        (&b["data"]["lease"], &b["data"]["lease_max"]),
        (&json!(90), &json!(90)),
        "defaults capped by the mount's max TTL: {b}"
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/team-aws/roles/deploy",
            a,
            Some(json!({
                "credential_type": "iam_user",
                "policy_document": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
                "user_path": "/sigil/",
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = f.call("GET", "/v1/aws/roles/deploy", a, None).await;
    assert_eq!(s, 404, "not a role of aws/");

    let before = f.iam_users("").await;
    let (s, b) = f.call("GET", "/v1/team-aws/creds/deploy", a, None).await;
    assert_eq!(s, 200, "{b}");
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    assert!(lease_id.starts_with("team-aws/creds/deploy/"), "{lease_id}");
    assert!(b["lease_duration"].as_i64().unwrap() <= 90, "{b}");
    let created: Vec<String> = f
        .iam_users("")
        .await
        .into_iter()
        .filter(|u| !before.contains(u))
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            a,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Disabled: nothing is served from it at once; the sweeper revokes its lease (the
    // IAM user goes) before its roles and configuration.
    let (s, _) = f.call("DELETE", "/v1/sys/mounts/team-aws", a, None).await;
    assert_eq!(s, 204);
    let (s, _) = f.call("GET", "/v1/team-aws/creds/deploy", a, None).await;
    assert_eq!(s, 404, "refused at once");
    let (s, _) = f.call("GET", "/v1/team-aws/roles/deploy", a, None).await;
    assert_eq!(s, 404);
    for op in ["renew", "lookup"] {
        let (s, b) = f
            .call(
                "PUT",
                &format!("/v1/sys/leases/{op}"),
                a,
                Some(json!({"lease_id": lease_id})),
            )
            .await;
        assert_eq!(s, 400, "{op} of a disabled mount's lease: {b}");
    }
    let report = f.sweep().await;
    assert_eq!(report.mounts_pending, 0, "{report:?}");
    let users = f.iam_users("").await;
    assert!(
        !users.contains(&created[0]),
        "the lease's IAM user is deleted: {users:?}"
    );
    let left = items_under(
        &f,
        &[
            format!("aws/{uuid}/"),
            "leases/team-aws".into(),
            format!("lease/{lease_id}"),
        ],
    )
    .await;
    assert!(left.is_empty(), "the mount's items are gone: {left:?}");
}
