#![allow(missing_docs)] // criterion's macros generate undocumented items

//! Broker CPU per request with in-memory ports (DESIGN.md budget: under 50 µs median for
//! login, KV read, renew and revoke). Run with `make bench`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sigil::App;
use sigil::clock::SystemClock;
use sigil::http::ApiRequest;
use sigil::keyring::Keyring;
use sigil::kms::FakeKms;
use sigil::route::Function;
use sigil::store::memory::MemoryStore;

fn app(store: &Arc<MemoryStore>, keyring: &Arc<Keyring>, function: Function) -> App {
    App {
        keyring: keyring.clone(),
        ..App::in_memory(function, store.clone(), Arc::new(SystemClock))
    }
}

fn req(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> ApiRequest {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("x-vault-token".to_owned(), t.to_owned()));
    }
    ApiRequest {
        method: method.into(),
        path: path.into(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        request_id: "bench".into(),
        ..ApiRequest::default()
    }
}

async fn call(app: &App, r: ApiRequest) -> Value {
    let resp = app.handle(r).await;
    assert!(resp.status < 300, "{:?}", resp.body);
    resp.body.unwrap_or(Value::Null)
}

fn requests(c: &mut Criterion) {
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
    let (admin, role_id) = rt.block_on(async {
        keyring
            .add_version("alias/bench", 0)
            .await
            .expect("keyring");
        keyring
            .ensure_audit_key("alias/bench", 0)
            .await
            .expect("audit key");
        let limits = app(&store, &keyring, Function::Admin).limits();
        let admin = sigil::bootstrap::admin_token(
            store.as_ref(),
            limits,
            3600,
            sigil::clock::Clock::now(&SystemClock),
        )
        .await
        .expect("admin");
        let admin = secrecy::ExposeSecret::expose_secret(&admin.token).to_owned();
        let a = app(&store, &keyring, Function::Admin);
        let policy = r#"path "secret/data/bench/*" { capabilities = ["read"] }"#;
        call(
            &a,
            req(
                "PUT",
                "/v1/sys/policies/acl/app",
                Some(&admin),
                Some(json!({ "policy": policy })),
            ),
        )
        .await;
        call(
            &a,
            req(
                "POST",
                "/v1/auth/approle/role/bench",
                Some(&admin),
                Some(json!({"token_policies": "app"})),
            ),
        )
        .await;
        call(
            &a,
            req(
                "POST",
                "/v1/secret/data/bench/db",
                Some(&admin),
                Some(json!({"data": {"password": "x".repeat(64)}})),
            ),
        )
        .await;
        let r = call(
            &a,
            req(
                "GET",
                "/v1/auth/approle/role/bench/role-id",
                Some(&admin),
                None,
            ),
        )
        .await;
        (
            admin,
            r["data"]["role_id"].as_str().expect("role id").to_owned(),
        )
    });
    let login = app(&store, &keyring, Function::Login);
    let issue = app(&store, &keyring, Function::Issue);
    let renew = app(&store, &keyring, Function::Renew);
    let revoke = app(&store, &keyring, Function::Revoke);
    let admin_app = app(&store, &keyring, Function::Admin);
    let new_secret = || {
        rt.block_on(async {
            let r = call(
                &admin_app,
                req(
                    "POST",
                    "/v1/auth/approle/role/bench/secret-id",
                    Some(&admin),
                    None,
                ),
            )
            .await;
            r["data"]["secret_id"]
                .as_str()
                .expect("secret id")
                .to_owned()
        })
    };
    let secret = new_secret();
    // Requests are built once where they do not change: the loops measure handling a
    // request, not building one.
    let login_req = req(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(json!({"role_id": role_id, "secret_id": secret})),
    );
    let mut tokens = Vec::new();

    c.bench_function("approle_login", |b| {
        b.iter(|| {
            let body = rt.block_on(call(&login, login_req.clone()));
            if tokens.len() < 20_000 {
                tokens.push(
                    body["auth"]["client_token"]
                        .as_str()
                        .expect("token")
                        .to_owned(),
                );
            }
        })
    });
    let token = tokens[0].clone();
    let kv_req = req("GET", "/v1/secret/data/bench/db", Some(&token), None);
    c.bench_function("kv_read", |b| {
        b.iter(|| rt.block_on(call(&issue, kv_req.clone())))
    });
    let renew_req = req(
        "POST",
        "/v1/auth/token/renew-self",
        Some(&token),
        Some(json!({"increment": "1h"})),
    );
    c.bench_function("token_renew_self", |b| {
        b.iter(|| rt.block_on(call(&renew, renew_req.clone())))
    });
    // Batch tokens (issue "Token store"): the same login and read with a role whose
    // tokens are batch tokens (the login writes nothing, the read opens the token).
    let (batch_role_id, batch_secret) = rt.block_on(async {
        call(
            &admin_app,
            req(
                "POST",
                "/v1/auth/approle/role/bench-batch",
                Some(&admin),
                Some(json!({"token_policies": "app", "token_type": "batch"})),
            ),
        )
        .await;
        let r = call(
            &admin_app,
            req(
                "GET",
                "/v1/auth/approle/role/bench-batch/role-id",
                Some(&admin),
                None,
            ),
        )
        .await;
        let s = call(
            &admin_app,
            req(
                "POST",
                "/v1/auth/approle/role/bench-batch/secret-id",
                Some(&admin),
                None,
            ),
        )
        .await;
        (
            r["data"]["role_id"].as_str().expect("role id").to_owned(),
            s["data"]["secret_id"]
                .as_str()
                .expect("secret id")
                .to_owned(),
        )
    });
    let batch_login_req = req(
        "POST",
        "/v1/auth/approle/login",
        None,
        Some(json!({"role_id": batch_role_id, "secret_id": batch_secret})),
    );
    let mut batch_token = String::new();
    c.bench_function("approle_login_batch", |b| {
        b.iter(|| {
            let body = rt.block_on(call(&login, batch_login_req.clone()));
            if batch_token.is_empty() {
                batch_token = body["auth"]["client_token"]
                    .as_str()
                    .expect("token")
                    .to_owned();
            }
        })
    });
    let kv_batch_req = req("GET", "/v1/secret/data/bench/db", Some(&batch_token), None);
    c.bench_function("kv_read_batch", |b| {
        b.iter(|| rt.block_on(call(&issue, kv_batch_req.clone())))
    });
    let mut next = tokens.into_iter().skip(1);
    c.bench_function("token_revoke_self", |b| {
        b.iter_batched(
            || {
                let t = next.next().unwrap_or_else(|| {
                    let body = rt.block_on(call(&login, login_req.clone()));
                    body["auth"]["client_token"]
                        .as_str()
                        .expect("token")
                        .to_owned()
                });
                req("POST", "/v1/auth/token/revoke-self", Some(&t), None)
            },
            |r| rt.block_on(call(&revoke, r)),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default();
    targets = requests
);
criterion_main!(benches);
