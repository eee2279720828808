//! Pins `Debug` of every type that holds a secret (issue "Audit log, one error model, and
//! hostile-input hardening": secrets never reach logs, errors, `Debug` output or panics).
//! Each case builds the type around a known marker and checks that neither `{:?}` nor
//! `{:#?}` shows it. A new secret-bearing type gets a case here.

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::SecretString;
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::key::AuditKey;
use crate::auth_aws::iam_request::{IamLogin, StsRequest};
use crate::aws_engine::issue::Issued;
use crate::aws_engine::sts::StsCredentials;
use crate::crypto::{Plaintext, SealingKey};
use crate::http::envelope::{Envelope, Reply};
use crate::http::{ApiRequest, ApiResponse};
use crate::keyring::Sealed;
use crate::kms::{DataKey, GeneratedKey};
use crate::lease::{Lease, LeaseState};
use crate::token::{Limits, TokenParams, mint};

/// The marker every case hides; printable, so a leak shows up as text.
const MARK: &str = "SEKRET-MARKER-7f3a";

fn hidden(what: &str, value: &dyn std::fmt::Debug) {
    for out in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(!out.contains(MARK), "{what} shows its secret: {out}");
        // Hex and base64 forms of the bytes too (keys are printed that way if at all).
        assert!(!out.contains(&hex::encode(MARK)), "{what} shows hex: {out}");
    }
}

/// An active lease issued at `path` (no secret in it).
fn lease(path: &str, kind: &str) -> Lease {
    Lease {
        id: format!("{path}/x"),
        path: path.to_owned(),
        kind: kind.to_owned(),
        state: LeaseState::Active,
        issued_at: 0,
        expire_at: 60,
        max_expire_at: 60,
        renewable: true,
        token_hash: None,
        data: BTreeMap::new(),
        attempts: 0,
        last_error: None,
    }
}

fn mark_bytes() -> Vec<u8> {
    let mut b = MARK.as_bytes().to_vec();
    b.resize(32, b'!');
    b
}

#[test]
fn key_material_is_redacted() {
    hidden("DataKey", &DataKey::new(Zeroizing::new(mark_bytes())));
    hidden(
        "GeneratedKey",
        &GeneratedKey {
            plaintext: DataKey::new(Zeroizing::new(mark_bytes())),
            wrapped: vec![1, 2, 3],
            key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".to_owned(),
        },
    );
    hidden("Plaintext", &Plaintext::new(MARK.as_bytes().to_vec()));
    hidden("SealingKey", &SealingKey::new(&mark_bytes()).expect("key"));
    hidden(
        "Sealed",
        &Sealed {
            key_version: 1,
            ciphertext: MARK.as_bytes().to_vec(),
        },
    );
    hidden("AuditKey", &AuditKey::new(&mark_bytes()));
}

#[test]
fn tokens_and_credentials_are_redacted() {
    let mut minted = mint(
        &TokenParams::default(),
        Limits {
            default_ttl: 60,
            max_ttl: 60,
            batch: None,
        },
        1000,
    )
    .expect("mint");
    minted.token = SecretString::from(MARK.to_owned());
    hidden("Minted", &minted);

    let lease = lease("aws/creds/r", "aws.iam_user");
    hidden(
        "Issued",
        &Issued {
            lease,
            access_key: "AKIAEXAMPLE".to_owned(),
            secret_key: SecretString::from(MARK.to_owned()),
        },
    );
    hidden(
        "StsCredentials",
        &StsCredentials {
            access_key: "ASIAEXAMPLE".to_owned(),
            secret_key: SecretString::from(MARK.to_owned()),
            session_token: SecretString::from(MARK.to_owned()),
            expires_at: 60,
        },
    );
    hidden("SecretString", &SecretString::from(MARK.to_owned()));
}

#[test]
fn requests_and_responses_are_redacted() {
    hidden(
        "ApiRequest",
        &ApiRequest {
            method: "POST".to_owned(),
            path: "/v1/auth/approle/login".to_owned(),
            query: vec![("token".to_owned(), MARK.to_owned())],
            headers: vec![("x-vault-token".to_owned(), MARK.to_owned())],
            body: format!("{{\"secret_id\":\"{MARK}\"}}").into_bytes(),
            ..ApiRequest::default()
        },
    );
    let body = json!({"auth": {"client_token": MARK}, "data": {"password": MARK}});
    hidden(
        "ApiResponse",
        &ApiResponse {
            status: 200,
            body: Some(body.clone()),
        },
    );
    let envelope = Envelope {
        data: Some(body.clone()),
        auth: Some(body.clone()),
        top_level: body.as_object().cloned().unwrap_or_default(),
        ..Envelope::default()
    };
    hidden("Envelope", &envelope);
    hidden("Reply", &Reply::Envelope(200, envelope));
    hidden(
        "IamLogin",
        &IamLogin {
            method: "POST".to_owned(),
            url: "https://sts.amazonaws.com/".to_owned(),
            body: format!("Action=GetCallerIdentity&x={MARK}"),
            headers: vec![
                ("authorization".to_owned(), MARK.to_owned()),
                ("x-amz-security-token".to_owned(), MARK.to_owned()),
            ],
        },
    );
    hidden(
        "StsRequest",
        &StsRequest {
            url: Url::parse("https://sts.amazonaws.com/").expect("url"),
            body: format!("Action=GetCallerIdentity&x={MARK}"),
            headers: vec![(
                HeaderName::from_static("authorization"),
                HeaderValue::from_static(MARK),
            )],
        },
    );
}

/// A token in the URL (Vault's old `auth/token/lookup/:token` form, which Sigil does not
/// route) reaches neither the 404 message nor the audit lines.
#[tokio::test]
async fn a_token_in_the_path_is_redacted_in_errors_and_audit_lines() {
    use std::sync::Arc;

    use crate::app::App;
    use crate::audit::MemorySink;
    use crate::keyring::Keyring;
    use crate::kms::FakeKms;
    use crate::route::Function;
    use crate::store::memory::MemoryStore;

    assert_eq!(
        crate::token::redact_tokens_in_path("/v1/auth/token/lookup/sgl.abc/x"),
        "/v1/auth/token/lookup/sgl.REDACTED/x"
    );
    let store = Arc::new(MemoryStore::new());
    let keyring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
    keyring.ensure_audit_key("k", 0).await.expect("audit key");
    let sink = Arc::new(MemorySink::new());
    let token = format!("sgl.{MARK}");
    for (function, method, path) in [
        (
            Function::Issue,
            "GET",
            format!("/v1/auth/token/lookup/{token}"),
        ),
        (
            Function::Revoke,
            "POST",
            format!("/v1/auth/token/revoke/{token}"),
        ),
        (Function::Issue, "GET", format!("/v2/{token}")),
    ] {
        let app = App {
            keyring: keyring.clone(),
            audit: sink.clone(),
            ..App::in_memory(
                function,
                store.clone(),
                Arc::new(crate::clock::ManualClock::new(1_000)),
            )
        };
        let resp = app
            .handle(ApiRequest {
                method: method.to_owned(),
                path: path.clone(),
                request_id: "r".to_owned(),
                ..ApiRequest::default()
            })
            .await;
        let body = resp.body.map(|b| b.to_string()).unwrap_or_default();
        assert!((400..500).contains(&resp.status), "{path}: {}", resp.status);
        assert!(!body.contains(MARK), "{path}: {body}");
    }
    let lines = sink.raw();
    assert_eq!(lines.len(), 6, "a request and a response line each");
    for line in lines {
        assert!(!line.contains(MARK), "{line}");
    }
}

#[test]
fn kv_requests_are_redacted() {
    let body: crate::http::params::Body = serde_json::from_value(
        json!({"data": {"password": MARK, MARK: "x"}, "options": {"cas": 1}}),
    )
    .expect("body");
    let req = crate::kv::WriteRequest::from_body(&body).expect("request");
    hidden("kv::WriteRequest", &req);
}

#[test]
fn transit_key_material_is_redacted() {
    use crate::transit::key_type::KeyType;
    use crate::transit::material::Material;
    use crate::transit::policy::{CreateOptions, KeyPolicy, VersionMeta};
    use crate::transit::{KeyCache, Loaded};
    let aes = Material::from_parts(
        KeyType::Aes256Gcm96,
        Zeroizing::new(mark_bytes()),
        &mark_bytes(),
    )
    .expect("aes material");
    hidden("transit Material (aes)", &aes);
    let hmac = Material::from_parts(KeyType::Hmac, Zeroizing::new(mark_bytes()), &mark_bytes())
        .expect("hmac material");
    hidden("transit Material (hmac)", &hmac);
    let ed = Material::from_parts(
        KeyType::Ed25519,
        Zeroizing::new(mark_bytes()),
        &mark_bytes(),
    )
    .expect("ed25519 material");
    hidden("transit Material (ed25519)", &ed);
    let opts =
        CreateOptions::check("aes256-gcm96", false, false, false, false, 0, 0).expect("opts");
    let policy = KeyPolicy::new(
        "k",
        &opts,
        VersionMeta {
            created: 0,
            public_key: None,
        },
    );
    let loaded = Loaded::from_parts(policy, BTreeMap::from([(1, std::sync::Arc::new(aes))]));
    hidden("transit Loaded", &loaded);
    hidden("transit KeyCache", &KeyCache::new());
    // BYOK import: imported material, and every refusal of it, says nothing of it.
    use crate::transit::import::{kwp_unwrap, material_key};
    let (imported, _) = Material::import(KeyType::Aes256Gcm96, &mark_bytes()).expect("import");
    hidden("transit imported Material", &imported);
    for (kt, key) in [
        (KeyType::Aes128Gcm96, mark_bytes()),
        (KeyType::EcdsaP256, mark_bytes()),
        (KeyType::Ed25519, mark_bytes()),
        (KeyType::Rsa2048, mark_bytes()),
    ] {
        let e = material_key(kt, &key).expect_err("refused");
        hidden("transit import refusal", &e);
        assert!(!e.to_string().contains(MARK), "{e}");
    }
    let e = kwp_unwrap(&mark_bytes(), &[mark_bytes(), mark_bytes()].concat()).expect_err("bad");
    hidden("transit kwp refusal", &e);
    assert!(!e.to_string().contains(MARK), "{e}");
    // Restore: a parsed backup, and every refusal of one, says nothing of its keys.
    use crate::transit::b64;
    let mark64 = b64::encode(&mark_bytes());
    let backup = |policy: serde_json::Value| {
        b64::encode(&serde_json::to_vec(&json!({ "policy": policy })).expect("json"))
    };
    let entry = json!({"key": mark64, "hmac_key": mark64, "creation_time": 0});
    let good = json!({"name": "k", "type": 0, "latest_version": 1,
                      "min_decryption_version": 1, "keys": {"1": entry}});
    let restored = crate::transit::backup::parse(&backup(good.clone())).expect("restores");
    hidden("transit Restored", &restored);
    let mut refused = Vec::new();
    for (field, value) in [
        ("type", json!(8)),
        ("latest_version", json!(mark64)),
        ("name", json!(["x", mark64])),
    ] {
        let mut p = good.clone();
        p[field] = value;
        refused.push(p);
    }
    let mut p = good.clone();
    p["keys"]["1"]["creation_time"] = json!(mark64);
    refused.push(p);
    for p in refused {
        let e = crate::transit::backup::parse(&backup(p)).expect_err("refused");
        hidden("transit restore refusal", &e);
        let text = e.to_string();
        assert!(!text.contains(MARK) && !text.contains(&mark64), "{text}");
    }
}

#[test]
fn database_credentials_and_root_passwords_are_redacted() {
    use crate::database::config::ConnectionConfig;
    use crate::database::issue::Issued as DbIssued;
    use crate::database::port::Connection;
    use crate::database::statements::Values;

    hidden(
        "database Issued",
        &DbIssued {
            lease: lease("database/creds/r", "database.user"),
            username: "v-token-r-1".to_owned(),
            password: SecretString::from(MARK.to_owned()),
        },
    );
    hidden(
        "Connection",
        &Connection {
            url: SecretString::from(format!("postgres://root:{MARK}@db/app")),
            tls_ca: String::new(),
            name: "pg".to_owned(),
        },
    );
    hidden(
        "ConnectionConfig",
        &ConnectionConfig {
            password: Some(Sealed {
                key_version: 1,
                ciphertext: MARK.as_bytes().to_vec(),
            }),
            pending_password: Some(Sealed {
                key_version: 1,
                ciphertext: MARK.as_bytes().to_vec(),
            }),
            ..ConnectionConfig::default()
        },
    );
    hidden(
        "statement Values",
        &Values {
            username: "u",
            password: MARK,
            expiration: "",
        },
    );
    let sealed = Sealed {
        key_version: 1,
        ciphertext: MARK.as_bytes().to_vec(),
    };
    hidden(
        "AWS StaticRole",
        &crate::aws_engine::static_roles::StaticRole {
            current: Some(crate::aws_engine::static_roles::StoredKey {
                id: "AKIA1".to_owned(),
                secret: sealed.clone(),
            }),
            pending: Some(crate::aws_engine::static_roles::StoredKey {
                id: "AKIA2".to_owned(),
                secret: sealed.clone(),
            }),
            ..Default::default()
        },
    );
    hidden(
        "StaticRole",
        &crate::database::static_roles::StaticRole {
            password: Some(sealed.clone()),
            pending: Some(sealed),
            ..Default::default()
        },
    );
}

#[tokio::test]
async fn database_connection_errors_never_show_the_password() {
    use crate::adapters::postgres::Postgres;
    use crate::database::port::{Connection, DatabaseApi};

    // Nothing listens on loopback's port 9: refused at once, as are the others before
    // any connection.
    for (url, tls_ca) in [
        ("127.0.0.1:9/app?sslmode=disable", ""),
        ("127.0.0.1:9/app?sslmode=verify-full", ""),
        (
            "127.0.0.1:9/app?sslmode=verify-full",
            "-----BEGIN CERTIFICATE-----\nnot base64\n",
        ),
        ("[::1/app?sslmode=disable", ""),
    ] {
        let conn = Connection {
            url: SecretString::from(format!("postgres://root:{MARK}@{url}")),
            tls_ca: tls_ca.to_owned(),
            name: "pg".to_owned(),
        };
        let e = Postgres.verify(&conn).await.expect_err(url);
        hidden("DbError", &e);
        assert!(!e.to_string().contains(MARK), "{url}: {e}");
    }
}
