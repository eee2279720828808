#![allow(missing_docs)] // criterion's macros generate undocumented items

//! JWT login CPU with a cached JWKS and in-memory ports (issue budget: median under
//! 100 µs): an RS256 GitHub-Actions-shaped token against a glob-bound role, the login
//! finding its identity (entity and alias, issue 17): each sample's first login creates
//! the entity, the others find it in the process's alias cache. A second case carries 3
//! groups in a `groups_claim`, each a group alias of an external group on the mount
//! (`jwt_login_rs256_3_groups`): the process's cached group aliases map them, no read.
//! Run with `make bench`.

use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::encoding::AsDer;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use sigil::App;
use sigil::clock::{Clock, SystemClock};
use sigil::http::ApiRequest;
use sigil::jwt::cache::KeyCache;
use sigil::jwt::source::StaticJwksSource;
use sigil::keyring::Keyring;
use sigil::kms::FakeKms;
use sigil::route::Function;
use sigil::store::memory::MemoryStore;

const JWKS_URL: &str = "https://issuer.bench/.well-known/jwks";
const ISSUER: &str = "https://issuer.bench";
/// The groups of the grouped case: each an external group aliased by its name.
const GROUPS: [&str; 3] = ["platform", "deployers", "acme-admins"];

fn app(store: &Arc<MemoryStore>, keyring: &Arc<Keyring>, keys: &Arc<KeyCache>, f: Function) -> App {
    App {
        keyring: keyring.clone(),
        jwt_keys: keys.clone(),
        ..App::in_memory(f, store.clone(), Arc::new(SystemClock))
    }
}

fn req(path: &str, token: Option<&str>, body: Value) -> ApiRequest {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("x-vault-token".to_owned(), t.to_owned()));
    }
    ApiRequest {
        method: "POST".into(),
        path: path.into(),
        headers,
        body: body.to_string().into_bytes(),
        request_id: "bench".into(),
        ..ApiRequest::default()
    }
}

/// An RSA-2048 signing key and its JWK (kid `bench`).
fn rsa_key() -> (EncodingKey, Jwk) {
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).expect("pkcs8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk");
    jwk.common.key_id = Some("bench".into());
    (key, jwk)
}

/// A P-256 signing key and its JWK (kid `bench-ec`).
fn ec_key() -> (EncodingKey, Jwk) {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("ec");
    let key = EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk");
    jwk.common.key_id = Some("bench-ec".into());
    (key, jwk)
}

/// Parse, key lookup and signature and time-claim checks of one token, nothing else.
fn bench_verify(
    c: &mut Criterion,
    name: &str,
    jwt: &str,
    set: &sigil::jwt::keys::KeySet,
    now: i64,
) {
    c.bench_function(name, |b| {
        b.iter(|| {
            let parsed = sigil::jwt::verify::parse(jwt).expect("parse");
            sigil::jwt::verify::verify(
                &parsed,
                set,
                sigil::jwt::verify::ASYMMETRIC_ALGS,
                sigil::jwt::verify::Leeways::default(),
                now,
            )
            .expect("verify")
        })
    });
}

fn jwt_login(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(MemoryStore::new());
    let keyring = Arc::new(Keyring::new(
        store.clone(),
        Arc::new(FakeKms::new()),
        "bench",
    ));
    let (key, jwk) = rsa_key();
    let source = Arc::new(StaticJwksSource::new());
    let jwk_doc = jwk.clone();
    source.set(JWKS_URL, json!({ "keys": [jwk] }).to_string());
    let keys = Arc::new(KeyCache::new(source.clone()));
    let now = SystemClock.now();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench".into());
    let jwt = jsonwebtoken::encode(
        &header,
        &json!({
            "iss": ISSUER, "aud": "https://github.com/acme",
            "sub": "repo:acme/api:ref:refs/heads/main", "repository": "acme/api",
            "repository_owner": "acme", "ref": "refs/heads/main",
            "job_workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
            "iat": now, "nbf": now, "exp": now + 86_400,
        }),
        &key,
    )
    .expect("sign");
    rt.block_on(async {
        keyring.add_version("alias/bench", 0).await.expect("keyring");
        keyring.ensure_audit_key("alias/bench", 0).await.expect("audit key");
        let admin_app = app(&store, &keyring, &keys, Function::Admin);
        let admin = sigil::bootstrap::admin_token(store.as_ref(), admin_app.limits(), 3600, now)
            .await
            .expect("admin");
        let admin = secrecy::ExposeSecret::expose_secret(&admin.token).to_owned();
        for (path, body) in [
            (
                "/v1/auth/jwt/config",
                json!({"jwks_url": JWKS_URL, "bound_issuer": ISSUER}),
            ),
            (
                "/v1/auth/jwt/role/deploy",
                json!({
                    "user_claim": "repository", "bound_audiences": "https://github.com/acme",
                    "bound_claims_type": "glob",
                    "bound_claims": {"sub": "repo:acme/*:ref:refs/heads/main", "repository_owner": "acme"},
                    "claim_mappings": {"repository": "repository", "ref": "ref"},
                    "token_policies": "deploy",
                }),
            ),
        ] {
            let resp = admin_app.handle(req(path, Some(&admin), body)).await;
            assert!(resp.status < 300, "{:?}", resp.body);
        }
        // Three external groups, aliased by name on the JWT mount, and a role mapping
        // the `groups` claim.
        let mounts = admin_app
            .handle(ApiRequest {
                method: "GET".into(),
                ..req("/v1/sys/auth", Some(&admin), json!({}))
            })
            .await;
        let body = mounts.body.expect("sys/auth");
        let accessor = body["data"]["jwt/"]["accessor"].as_str().expect("accessor");
        let role = json!({
            "user_claim": "repository", "bound_audiences": "https://github.com/acme",
            "groups_claim": "groups", "token_policies": "deploy",
        });
        let resp = admin_app
            .handle(req("/v1/auth/jwt/role/grouped", Some(&admin), role))
            .await;
        assert!(resp.status < 300, "{:?}", resp.body);
        for g in GROUPS {
            let body = json!({"name": g, "type": "external", "policies": g});
            let resp = admin_app
                .handle(req("/v1/identity/group", Some(&admin), body))
                .await;
            let id = resp.body.expect("group")["data"]["id"].clone();
            let body = json!({"name": g, "mount_accessor": accessor, "canonical_id": id});
            let resp = admin_app
                .handle(req("/v1/identity/group-alias", Some(&admin), body))
                .await;
            assert!(resp.status < 300, "{:?}", resp.body);
        }
    });
    let set =
        sigil::jwt::keys::KeySet::from_jwks(json!({ "keys": [jwk_doc] }).to_string().as_bytes())
            .expect("jwks");
    bench_verify(c, "jwt_verify_rs256_only", &jwt, &set, now);
    // For comparison: an issuer signing with ES256 (P-256) instead.
    let (ec_key, ec_jwk) = ec_key();
    let mut ec_header = Header::new(Algorithm::ES256);
    ec_header.kid = Some("bench-ec".into());
    let ec_jwt = jsonwebtoken::encode(
        &ec_header,
        &json!({"iss": ISSUER, "sub": "x", "iat": now, "exp": now + 86_400}),
        &ec_key,
    )
    .expect("sign");
    let ec_set =
        sigil::jwt::keys::KeySet::from_jwks(json!({ "keys": [ec_jwk] }).to_string().as_bytes())
            .expect("jwks");
    bench_verify(c, "jwt_verify_es256_only", &ec_jwt, &ec_set, now);
    // Built once: the loop measures handling a request, not building one.
    let request = req(
        "/v1/auth/jwt/login",
        None,
        json!({"role": "deploy", "jwt": jwt}),
    );
    // The login finds (first: creates) its entity.
    rt.block_on(async {
        let store = Arc::new(store.snapshot());
        let login = app(&store, &keyring, &keys, Function::Login);
        let resp = login.handle(request.clone()).await;
        let body = resp.body.expect("body");
        assert!(
            body["auth"]["entity_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{body}"
        );
    });
    let grouped = jsonwebtoken::encode(
        &header,
        &json!({
            "iss": ISSUER, "aud": "https://github.com/acme",
            "sub": "repo:acme/web:ref:refs/heads/main", "repository": "acme/web",
            "groups": GROUPS, "iat": now, "nbf": now, "exp": now + 86_400,
        }),
        &key,
    )
    .expect("sign");
    let grouped = req(
        "/v1/auth/jwt/login",
        None,
        json!({"role": "grouped", "jwt": grouped}),
    );
    let fetches_before = source.fetches();
    for (name, request) in [
        ("jwt_login_rs256_cached_jwks", &request),
        ("jwt_login_rs256_3_groups", &grouped),
    ] {
        c.bench_function(name, |b| {
            // Each sample starts from the configured store (and a fresh audit sink):
            // every login adds a token to the in-memory fake, and a store grown to a
            // million tokens measures the fake's maps and the allocator, not Sigil.
            b.iter_custom(|iters| {
                let store = Arc::new(store.snapshot());
                let login = app(&store, &keyring, &keys, Function::Login);
                let started = Instant::now();
                for _ in 0..iters {
                    rt.block_on(async {
                        let resp = login.handle(request.clone()).await;
                        assert_eq!(resp.status, 200, "{:?}", resp.body);
                    })
                }
                started.elapsed()
            })
        });
    }
    assert!(
        source.fetches() <= fetches_before + 1,
        "the JWKS is fetched once, then cached"
    );
}

criterion_group!(benches, jwt_login);
criterion_main!(benches);
