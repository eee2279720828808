#![allow(missing_docs)] // criterion's macros generate undocumented items

//! Broker CPU of a `database/creds/:role` issue with in-memory ports and the fake
//! database (the database's own time excluded): routing, token and policy check, role
//! and connection reads, the root password opened from the keyring, the user name
//! template, statement rendering, the write-ahead lease (pending, then active) and the
//! response. Also counts store calls per issue. `cargo bench -p sigil --bench database`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sigil::App;
use sigil::clock::SystemClock;
use sigil::database::engine::Engine;
use sigil::database::port::FakeDatabase;
use sigil::http::ApiRequest;
use sigil::keyring::Keyring;
use sigil::kms::FakeKms;
use sigil::route::Function;
use sigil::store::memory::MemoryStore;

fn app(store: &Arc<MemoryStore>, keyring: &Arc<Keyring>, db: &Arc<Engine>, f: Function) -> App {
    App {
        keyring: keyring.clone(),
        database: db.clone(),
        ..App::in_memory(f, store.clone(), Arc::new(SystemClock))
    }
}

fn req(method: &str, path: &str, token: &str, body: Option<Value>) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path: path.into(),
        headers: vec![("x-vault-token".to_owned(), token.to_owned())],
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

fn database(c: &mut Criterion) {
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
    let db = Arc::new(Engine::new(Arc::new(FakeDatabase::new())));
    let admin = rt.block_on(async {
        keyring.add_version("alias/bench", 0).await.expect("keyring");
        keyring
            .ensure_audit_key("alias/bench", 0)
            .await
            .expect("audit key");
        let a = app(&store, &keyring, &db, Function::Admin);
        let admin = sigil::bootstrap::admin_token(
            store.as_ref(),
            a.limits(),
            3600,
            sigil::clock::Clock::now(&SystemClock),
        )
        .await
        .expect("admin");
        let admin = secrecy::ExposeSecret::expose_secret(&admin.token).to_owned();
        for (path, body) in [
            ("/v1/sys/mounts/database", json!({"type": "database"})),
            (
                "/v1/database/config/pg",
                json!({
                    "plugin_name": "postgresql-database-plugin",
                    "connection_url": "postgres://{{username}}:{{password}}@db:5432/app",
                    "username": "root",
                    "password": "root-password",
                    "allowed_roles": "*",
                }),
            ),
            (
                "/v1/database/roles/ro",
                json!({
                    "db_name": "pg",
                    "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";",
                }),
            ),
        ] {
            call(&a, req("POST", path, &admin, Some(body))).await;
        }
        admin
    });
    let issue = app(&store, &keyring, &db, Function::Issue);
    let creds = req("GET", "/v1/database/creds/ro", &admin, None);
    rt.block_on(call(&issue, creds.clone()));
    let before = store.calls();
    rt.block_on(call(&issue, creds.clone()));
    println!(
        "database/creds issue: {} store calls (warm function)",
        store.calls() - before
    );
    c.bench_function("database_creds_issue", |b| {
        b.iter(|| rt.block_on(call(&issue, creds.clone())))
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default();
    targets = database
);
criterion_main!(benches);
