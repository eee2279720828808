//! Kubernetes login with projected service-account tokens, checked against the
//! cluster's OIDC issuer (a local HTTPS issuer standing in for the API server's
//! discovery endpoint), through the real handlers over DynamoDB Local.

use serde_json::{Value, json};
use sigil_tests::Fixture;
use sigil_tests::oidc::Issuer;

const AUD: &str = "sigil";

async fn login(f: &Fixture, role: &str, jwt: &str) -> (u16, Value) {
    f.call(
        "POST",
        "/v1/auth/kubernetes/login",
        None,
        Some(json!({"role": role, "jwt": jwt})),
    )
    .await
}

/// Configures `auth/kubernetes` with the cluster's issuer: discovery happens at the
/// issuer, trusting the cluster CA.
async fn configure(f: &Fixture, issuer: &Issuer) {
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/config",
            Some(&f.admin),
            Some(json!({
                "kubernetes_host": "https://kubernetes.default.svc",
                "kubernetes_ca_cert": issuer.ca_pem,
                "issuer": issuer.url,
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test]
async fn service_accounts_log_in_by_name_namespace_and_audience() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let a = Some(f.admin.as_str());
    configure(&f, &issuer).await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/role/api",
            a,
            Some(json!({
                "bound_service_account_names": ["api", "worker-*"],
                "bound_service_account_namespaces": "prod",
                "audience": AUD,
                "token_policies": "api",
                "token_ttl": "1h",
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let now = f.clock.now();

    for name in ["api", "worker-7"] {
        let jwt = issuer.mint(&issuer.service_account_claims("prod", name, AUD, now));
        let (s, b) = login(&f, "api", &jwt).await;
        assert_eq!(s, 200, "{name}: {b}");
        let auth = &b["auth"];
        assert_eq!(auth["policies"], json!(["api", "default"]));
        assert_eq!(auth["metadata"]["service_account_name"], name);
        assert_eq!(auth["metadata"]["service_account_namespace"], "prod");
        assert_eq!(auth["metadata"]["role"], "api");
        assert_eq!(auth["lease_duration"], 3600);
    }

    let before = f.scan().await;
    let mut lying = issuer.service_account_claims("prod", "api", AUD, now);
    lying["sub"] = json!("system:serviceaccount:kube-system:admin");
    let mut other_issuer = issuer.service_account_claims("prod", "api", AUD, now);
    other_issuer["iss"] = json!("https://kubernetes.default.svc.cluster.local");
    let cases = [
        (
            issuer.mint(&issuer.service_account_claims("dev", "api", AUD, now)),
            "not authorized",
        ),
        (
            issuer.mint(&issuer.service_account_claims("prod", "admin", AUD, now)),
            "not authorized",
        ),
        (
            issuer.mint(&issuer.service_account_claims(
                "prod",
                "api",
                "https://kubernetes.default.svc",
                now,
            )),
            "audience",
        ),
        (
            issuer.mint(&issuer.service_account_claims("prod", "api", AUD, now - 7200)),
            "expired",
        ),
        (
            issuer.mint(&lying),
            "not a Kubernetes service-account token",
        ),
        (issuer.mint(&other_issuer), "issuer"),
        (
            sigil_tests::oidc::SigningKey::rsa("k1")
                .sign(&issuer.service_account_claims("prod", "api", AUD, now)),
            "signature",
        ),
    ];
    for (jwt, why) in cases {
        let (s, b) = login(&f, "api", &jwt).await;
        assert_eq!(s, 403, "{why}: {b}");
        let msg = b["errors"][0].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{why}: got {msg:?}");
    }
    let (s, _) = login(
        &f,
        "nope",
        &issuer.mint(&issuer.service_account_claims("prod", "api", AUD, now)),
    )
    .await;
    assert_eq!(s, 400, "unknown role");
    assert_eq!(f.scan().await, before, "refused logins wrote nothing");

    // Roles need both bindings; configs need a key source.
    for body in [
        json!({"bound_service_account_names": "api"}),
        json!({"bound_service_account_namespaces": "prod"}),
    ] {
        let (s, _) = f
            .call("POST", "/v1/auth/kubernetes/role/bad", a, Some(body))
            .await;
        assert_eq!(s, 400);
    }
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/config",
            a,
            Some(json!({"kubernetes_host": "https://k"})),
        )
        .await;
    assert_eq!(s, 400, "no issuer, JWKS or keys");
    let (s, b) = f.call("GET", "/v1/auth/kubernetes/config", a, None).await;
    assert_eq!(
        (s, &b["data"]["issuer"]),
        (200, &json!(issuer.url)),
        "unchanged"
    );
}

#[tokio::test]
async fn pem_keys_work_without_any_fetch() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let a = Some(f.admin.as_str());
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/config",
            a,
            Some(json!({"pem_keys": [issuer.key().public_pem], "issuer": issuer.url})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/role/any",
            a,
            Some(json!({"bound_service_account_names": "*", "bound_service_account_namespaces": "*"})),
        )
        .await;
    assert_eq!(s, 204);
    let fetches = issuer.jwks_fetches();
    let jwt = issuer.mint(&issuer.service_account_claims("ci", "runner", AUD, f.clock.now()));
    let (s, b) = login(&f, "any", &jwt).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(issuer.jwks_fetches(), fetches, "static keys need no fetch");
}

/// Issue 17: a login's entity alias is named by the service account's UID (the
/// default), or `namespace/name` with `alias_name_source=serviceaccount_name`, with
/// OpenBao's alias metadata; a second login finds the same entity.
#[tokio::test]
async fn a_login_names_its_alias_by_service_account_uid_or_name() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let a = Some(f.admin.as_str());
    configure(&f, &issuer).await;
    for (role, source) in [("by-uid", None), ("by-name", Some("serviceaccount_name"))] {
        let mut body = json!({
            "bound_service_account_names": "api", "bound_service_account_namespaces": "prod",
            "audience": AUD,
        });
        if let Some(src) = source {
            body["alias_name_source"] = json!(src);
        }
        let (s, b) = f
            .call(
                "POST",
                &format!("/v1/auth/kubernetes/role/{role}"),
                a,
                Some(body),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }
    let (_, r) = f
        .call("GET", "/v1/auth/kubernetes/role/by-name", a, None)
        .await;
    assert_eq!(r["data"]["alias_name_source"], "serviceaccount_name");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/kubernetes/role/by-name",
            a,
            Some(json!({"alias_name_source": "pod_name"})),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["errors"][0],
        "invalid alias_name_source, must be one of: serviceaccount_uid, serviceaccount_name"
    );
    let jwt = issuer.mint(&issuer.service_account_claims("prod", "api", AUD, f.clock.now()));
    let claims = issuer.service_account_claims("prod", "api", AUD, 0);
    let uid = claims["kubernetes.io"]["serviceaccount"]["uid"]
        .as_str()
        .unwrap();
    let mut entities = Vec::new();
    for (role, alias_name) in [("by-uid", uid), ("by-uid", uid), ("by-name", "prod/api")] {
        let (s, b) = login(&f, role, &jwt).await;
        assert_eq!(s, 200, "{b}");
        let id = b["auth"]["entity_id"].as_str().unwrap().to_owned();
        let (s, e) = f
            .call("GET", &format!("/v1/identity/entity/id/{id}"), a, None)
            .await;
        assert_eq!(s, 200, "{e}");
        let alias = &e["data"]["aliases"][0];
        assert_eq!(alias["name"], alias_name);
        assert_eq!(alias["mount_type"], "kubernetes");
        assert_eq!(
            alias["metadata"],
            json!({
                "service_account_name": "api", "service_account_namespace": "prod",
                "service_account_secret_name": "", "service_account_uid": uid,
            })
        );
        entities.push(id);
    }
    assert_eq!(entities[0], entities[1], "the same entity again");
    assert_ne!(
        entities[0], entities[2],
        "another alias name, another entity"
    );
}
