//! JWT/OIDC login against a local OIDC issuer (HTTPS on loopback, keys made in the
//! test), through the real handlers over DynamoDB Local: GitHub-Actions-shaped tokens,
//! every refusal the issue lists, key rotation, and a flood of unknown key IDs.

use base64::Engine as _;
use serde_json::{Value, json};
use sigil::clock::Clock;
use sigil_tests::Fixture;
use sigil_tests::oidc::{Issuer, SigningKey};

const AUD: &str = "https://github.com/acme";

/// A fresh RSA private key as a PEM with `tag` (PKCS#8 `PRIVATE KEY`, or its label
/// swapped to PKCS#1's `RSA PRIVATE KEY`: refused by label before any parsing).
fn private_pem(tag: &str) -> String {
    use aws_lc_rs::encoding::AsDer;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).expect("pkcs8");
    pem::encode(&pem::Pem::new(tag, der.as_ref().to_vec()))
}

/// A 1024-bit RSA public key (PKCS#1 `RSA PUBLIC KEY`): a 2048-bit modulus cut in half.
fn weak_rsa_pem() -> String {
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let public = aws_lc_rs::signature::KeyPair::public_key(&kp);
    let mut n = public.modulus().big_endian_without_leading_zero()[..128].to_vec();
    n[127] |= 1;
    // SEQUENCE { INTEGER n (with a leading 0), INTEGER 65537 }
    let mut der = vec![0x30, 0x81, 0x89, 0x02, 0x81, 0x81, 0x00];
    der.extend_from_slice(&n);
    der.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
    pem::encode(&pem::Pem::new("RSA PUBLIC KEY", der))
}

async fn configure(f: &Fixture, issuer: &Issuer, mount: &str) {
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/auth/{mount}/config"),
            Some(&f.admin),
            Some(json!({
                "oidc_discovery_url": issuer.url,
                "oidc_discovery_ca_pem": issuer.ca_pem,
            })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

async fn role(f: &Fixture, mount: &str, name: &str, body: Value) {
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/auth/{mount}/role/{name}"),
            Some(&f.admin),
            Some(body),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

async fn login(f: &Fixture, mount: &str, role: &str, jwt: &str) -> (u16, Value) {
    f.call(
        "POST",
        &format!("/v1/auth/{mount}/login"),
        None,
        Some(json!({"role": role, "jwt": jwt})),
    )
    .await
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The deploy role of docs/auth.md's GitHub example.
fn deploy_role() -> Value {
    json!({
        "role_type": "jwt",
        "user_claim": "repository",
        "bound_audiences": AUD,
        "bound_claims_type": "glob",
        "bound_claims": {
            "sub": "repo:acme/*:ref:refs/heads/main",
            "repository_owner": "acme",
        },
        "claim_mappings": {"repository": "repository", "ref": "ref", "job_workflow_ref": "workflow"},
        "token_policies": "deploy",
        "token_ttl": "10m",
    })
}

#[tokio::test]
async fn github_actions_token_logs_in_and_reads_a_secret() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    configure(&f, &issuer, "github").await;
    role(&f, "github", "deploy", deploy_role()).await;
    f.policy(
        "deploy",
        r#"path "secret/data/deploy/*" { capabilities = ["read"] }"#,
    )
    .await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/deploy/db",
            Some(&f.admin),
            Some(json!({"data": {"password": "p4ss"}})),
        )
        .await;
    assert_eq!(s, 200);

    let now = f.clock.now();
    let jwt = issuer.mint(&issuer.github_claims("acme/api", "main", AUD, now));
    let (s, b) = login(&f, "github", "deploy", &jwt).await;
    assert_eq!(s, 200, "{b}");
    let auth = &b["auth"];
    assert_eq!(auth["policies"], json!(["default", "deploy"]));
    assert_eq!(auth["lease_duration"], 600);
    assert_eq!(auth["metadata"]["repository"], "acme/api");
    assert_eq!(auth["metadata"]["ref"], "refs/heads/main");
    assert_eq!(auth["metadata"]["role"], "deploy");
    assert_eq!(
        auth["metadata"]["workflow"],
        "acme/api/.github/workflows/deploy.yml@refs/heads/main"
    );
    let token = auth["client_token"].as_str().unwrap();
    let (s, b) = f
        .call("GET", "/v1/secret/data/deploy/db", Some(token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["data"]["password"], "p4ss");
    let (s, _) = f
        .call("GET", "/v1/secret/data/other", Some(token), None)
        .await;
    assert_eq!(s, 403, "the token is scoped by its policies");

    // Reads back as Vault shows roles and config.
    let (s, b) = f
        .call("GET", "/v1/auth/github/role/deploy", Some(&f.admin), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["bound_claims_type"], "glob");
    assert_eq!(b["data"]["token_policies"], json!(["deploy"]));
    let (s, b) = f
        .call("LIST", "/v1/auth/github/role", Some(&f.admin), None)
        .await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["deploy"])));
    let (s, b) = f
        .call("GET", "/v1/auth/github/config", Some(&f.admin), None)
        .await;
    assert_eq!(
        (s, &b["data"]["oidc_discovery_url"]),
        (200, &json!(issuer.url))
    );
}

#[tokio::test]
async fn every_bad_token_is_refused_and_writes_nothing() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    configure(&f, &issuer, "jwt").await;
    role(&f, "jwt", "deploy", deploy_role()).await;
    role(
        &f,
        "jwt",
        "noaud",
        json!({"user_claim": "repository", "bound_subject": "repo:acme/api:ref:refs/heads/main"}),
    )
    .await;
    role(
        &f,
        "jwt",
        "teams",
        json!({"user_claim": "repository", "bound_audiences": AUD, "bound_claims": {"teams": ["admins", "sre"]}}),
    )
    .await;
    role(
        &f,
        "jwt",
        "numeric-user",
        json!({"user_claim": "run_number", "bound_audiences": AUD}),
    )
    .await;
    let now = f.clock.now();
    let good = issuer.github_claims("acme/api", "main", AUD, now);
    // Sanity: the good token works for each role it fits.
    assert_eq!(login(&f, "jwt", "deploy", &issuer.mint(&good)).await.0, 200);
    let before = f.scan().await;

    let with = |patch: Value| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let key = issuer.key();
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": key.kid})),
        b64(&good)
    );
    // HS256 with the issuer's public key as the HMAC secret (the key-confusion attack).
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(key.kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &good,
        &jsonwebtoken::EncodingKey::from_secret(key.public_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let stranger = SigningKey::rsa(&key.kid).sign(&good);
    let huge = issuer.mint(&with(json!({"padding": "x".repeat(17 * 1024)})));

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "deploy",
            issuer.mint(&with(
                json!({"exp": now - 600, "iat": now - 900, "nbf": now - 900}),
            )),
            "token is expired",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"nbf": now + 900, "exp": now + 1200}))),
            "token is not yet valid",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"exp": 1e308}))),
            "time claim that is not a number of seconds from 1970 to 9999",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"exp": u64::MAX}))),
            "time claim that is not a number of seconds from 1970 to 9999",
        ),
        (
            "deploy",
            issuer.mint(&with(
                json!({"iss": "https://token.actions.githubusercontent.com"}),
            )),
            "issuer",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"aud": "https://github.com/evil"}))),
            "audience",
        ),
        (
            "noaud",
            issuer.mint(&good),
            "audience claim found in JWT but no audiences bound to the role",
        ),
        ("deploy", alg_none, "algorithm that is not allowed"),
        ("deploy", hs256, "algorithm that is not allowed"),
        ("deploy", stranger, "signature could not be verified"),
        (
            "deploy",
            issuer.mint(&with(json!({"sub": "repo:acme/api:ref:refs/heads/dev"}))),
            "claim \"sub\" does not match",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"sub": "repo:evil/api:ref:refs/heads/main"}))),
            "claim \"sub\" does not match",
        ),
        (
            "teams",
            issuer.mint(&with(json!({"teams": ["dev", "ops"]}))),
            "claim \"teams\" does not match",
        ),
        (
            "numeric-user",
            issuer.mint(&with(json!({"run_number": 42}))),
            "claim \"run_number\" not found in token or is not a string",
        ),
        (
            "deploy",
            issuer.mint(&with(json!({"exp": null}))),
            "no \"exp\" claim",
        ),
        ("deploy", huge, "larger than 16 KiB"),
        ("deploy", "not.a.jwt".into(), "malformed"),
        ("deploy", String::new(), "missing jwt"),
        (
            "nosuchrole",
            issuer.mint(&good),
            "role \"nosuchrole\" could not be found",
        ),
    ];
    for (role_name, jwt, why) in cases {
        let (s, b) = login(&f, "jwt", role_name, &jwt).await;
        assert_eq!(s, 400, "{why}: {b}");
        let msg = b["errors"][0].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{why}: got {msg:?}");
        assert!(b.get("auth").is_none(), "{why}: no token");
    }
    assert_eq!(f.scan().await, before, "refused logins wrote nothing");
}

#[tokio::test]
async fn config_and_roles_refuse_bad_input() {
    let f = Fixture::new().await;
    let issuer = Issuer::start().await;
    let a = Some(f.admin.as_str());
    for (body, why) in [
        (json!({}), "no key source"),
        (json!({"jwks_url": "http://127.0.0.1:1/jwks"}), "plain http"),
        (
            json!({"oidc_discovery_url": issuer.url, "jwks_url": format!("{}/.well-known/jwks", issuer.url)}),
            "two key sources",
        ),
        (
            json!({"oidc_discovery_url": issuer.url, "oidc_discovery_ca_pem": issuer.ca_pem, "jwt_supported_algs": ["HS256"]}),
            "HMAC",
        ),
        (
            json!({"oidc_discovery_url": issuer.url}),
            "CA not trusted: TLS fails",
        ),
        (
            json!({"jwt_validation_pubkeys": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]}),
            "bad PEM",
        ),
        (
            json!({"jwt_validation_pubkeys": [issuer.key().public_pem, private_pem("PRIVATE KEY")]}),
            "PKCS#8 private key",
        ),
        (
            json!({"jwt_validation_pubkeys": [private_pem("RSA PRIVATE KEY")]}),
            "PKCS#1 private key",
        ),
        (
            json!({"jwt_validation_pubkeys": [issuer.ca_pem]}),
            "certificate",
        ),
        (
            json!({"jwt_validation_pubkeys": [weak_rsa_pem()]}),
            "RSA under 2048 bits",
        ),
        (
            json!({"oidc_discovery_url": issuer.url, "oidc_discovery_ca_pem": private_pem("PRIVATE KEY")}),
            "CA field oidc_discovery_ca_pem: a private key",
        ),
        (
            json!({"oidc_discovery_url": issuer.url, "oidc_discovery_ca_pem": format!("{}\n{}", issuer.ca_pem, private_pem("RSA PRIVATE KEY"))}),
            "CA field oidc_discovery_ca_pem: a certificate and a private key",
        ),
        (
            json!({"jwks_url": format!("{}/.well-known/jwks", issuer.url), "jwks_ca_pem": "-----BEGIN CERTIFICATE-----\nMIIAAAA=\n-----END CERTIFICATE-----"}),
            "CA field jwks_ca_pem: a malformed certificate",
        ),
        (
            json!({"jwks_url": format!("{}/.well-known/jwks", issuer.url), "jwks_ca_pem": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"}),
            "CA field jwks_ca_pem: no PEM block",
        ),
    ] {
        let (s, b) = f.call("POST", "/v1/auth/jwt/config", a, Some(body)).await;
        assert_eq!(s, 400, "{why}: {b}");
        let msg = b["errors"][0].as_str().unwrap_or_default();
        if !why.starts_with("CA field ")
            && ["private key", "certificate", "RSA under"]
                .iter()
                .any(|w| why.contains(w))
        {
            assert!(msg.contains("\"jwt_validation_pubkeys\""), "{why}: {msg}");
        }
        if let Some(field) = why
            .strip_prefix("CA field ")
            .and_then(|w| w.split(':').next())
        {
            assert!(msg.contains(&format!("\"{field}\"")), "{why}: {msg}");
        }
        assert!(!msg.contains("MII"), "{why}: no key material in {msg}");
    }
    let (s, _) = f.call("GET", "/v1/auth/jwt/config", a, None).await;
    assert_eq!(s, 404, "no config was stored");

    // Static PEM keys work too.
    let key = issuer.key();
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/jwt/config",
            a,
            Some(json!({"jwt_validation_pubkeys": [key.public_pem], "bound_issuer": issuer.url, "default_role": "deploy"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    for (body, why) in [
        (json!({"bound_audiences": AUD}), "no user_claim"),
        (json!({"user_claim": "sub"}), "no bound constraint"),
        (
            json!({"user_claim": "sub", "bound_subject": "x", "role_type": "oidc"}),
            "oidc",
        ),
        (
            json!({"user_claim": "sub", "bound_claims": {"a": {"deep": 1}}}),
            "nested value",
        ),
        (
            json!({"user_claim": "sub", "bound_subject": "x", "token_policies": "root"}),
            "root policy",
        ),
    ] {
        let (s, b) = f.call("POST", "/v1/auth/jwt/role/bad", a, Some(body)).await;
        assert_eq!(s, 400, "{why}: {b}");
    }
    let (s, _) = f.call("GET", "/v1/auth/jwt/role/bad", a, None).await;
    assert_eq!(s, 404, "no role was stored");
    role(&f, "jwt", "deploy", deploy_role()).await;
    // default_role: a login without a role uses it.
    let now = f.clock.now();
    let jwt = issuer.mint(&issuer.github_claims("acme/api", "main", AUD, now));
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/jwt/login",
            None,
            Some(json!({"jwt": jwt})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Management needs a token; login does not.
    let (s, _) = f.call("GET", "/v1/auth/jwt/role/deploy", None, None).await;
    assert_eq!(s, 403);
    let (s, _) = f.call("DELETE", "/v1/auth/jwt/role/deploy", a, None).await;
    assert_eq!(s, 204);
    let (s, _) = f.call("GET", "/v1/auth/jwt/role/deploy", a, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn key_rotation_needs_no_reconfiguration_and_unknown_kids_do_not_flood() {
    let (f, clock) = Fixture::manual().await;
    let issuer = Issuer::start().await;
    configure(&f, &issuer, "jwt").await;
    role(&f, "jwt", "deploy", deploy_role()).await;
    let now = clock.now();
    let claims = issuer.github_claims("acme/api", "main", AUD, now);
    let fetches_at_start = issuer.jwks_fetches();
    assert_eq!(
        login(&f, "jwt", "deploy", &issuer.mint(&claims)).await.0,
        200
    );
    assert_eq!(issuer.jwks_fetches(), fetches_at_start + 1, "fetched once");
    assert_eq!(
        login(&f, "jwt", "deploy", &issuer.mint(&claims)).await.0,
        200
    );
    assert_eq!(issuer.jwks_fetches(), fetches_at_start + 1, "then cached");

    // The issuer rotates to an EC key; a token signed with it logs in as soon as the
    // refetch interval allows one fetch.
    issuer.rotate(SigningKey::ec("k2"));
    clock.advance(11);
    let claims = issuer.github_claims("acme/api", "main", AUD, clock.now());
    let (s, b) = login(&f, "jwt", "deploy", &issuer.mint(&claims)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(issuer.jwks_fetches(), fetches_at_start + 2);

    // A flood of made-up kids: refused, and at most one fetch per interval.
    let key = issuer.key();
    for round in 0..3 {
        clock.advance(11);
        let claims = issuer.github_claims("acme/api", "main", AUD, clock.now());
        for i in 0..20 {
            let mut k = key.clone();
            k.kid = format!("bogus-{round}-{i}");
            let (s, _) = login(&f, "jwt", "deploy", &k.sign(&claims)).await;
            assert_eq!(s, 400);
        }
    }
    let flood_fetches = issuer.jwks_fetches() - (fetches_at_start + 2);
    assert!(
        flood_fetches <= 3,
        "60 unknown kids over 3 intervals made {flood_fetches} fetches"
    );
    // The real key still works throughout.
    let (s, _) = login(&f, "jwt", "deploy", &issuer.mint(&claims)).await;
    assert_eq!(s, 200);
}
