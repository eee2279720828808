//! The whole request pipeline on in-memory ports, a fresh deployment per input: a request built from the input (a
//! method, a path made of a known route prefix and fuzzed text, query, body, with or
//! without an admin token) goes through `App::handle` in the function the input
//! names. Every answer must be a well-formed response: a status with Vault's error body
//! for 4xx/5xx. A panic anywhere in routing, authorization, parameter parsing or a
//! handler is a crash.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sigil::app::App;
use sigil::audit::{AuditError, AuditSink};
use sigil::clock::SystemClock;
use sigil::http::ApiRequest;
use sigil::keyring::Keyring;
use sigil::kms::FakeKms;
use sigil::route::Function;
use sigil::store::memory::MemoryStore;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "LIST", "PATCH", "HEAD", "get",
];
const FUNCTIONS: &[Function] = &[
    Function::Login,
    Function::Issue,
    Function::Renew,
    Function::Revoke,
    Function::Admin,
];
/// Route prefixes, so inputs reach handlers rather than stopping at 404.
const PREFIXES: &[&str] = &[
    "/v1/",
    "/v1/secret/data/",
    "/v1/secret/metadata/",
    "/v1/secret/config",
    "/v1/secret/delete/",
    "/v1/secret/undelete/",
    "/v1/secret/destroy/",
    "/v1/auth/approle/role/",
    "/v1/auth/approle/login",
    "/v1/auth/token/",
    "/v1/auth/jwt/config",
    "/v1/auth/jwt/role/",
    "/v1/auth/jwt/login",
    "/v1/auth/kubernetes/config",
    "/v1/auth/kubernetes/login",
    "/v1/auth/aws/config/client",
    "/v1/auth/aws/role/",
    "/v1/auth/aws/login",
    "/v1/aws/config/root",
    "/v1/aws/roles/",
    "/v1/aws/creds/",
    "/v1/aws/sts/",
    "/v1/sys/policies/acl/",
    "/v1/sys/leases/",
    "/v1/sys/quotas/rate-limit/",
    "/v1/sys/audit-hash/",
    "/v1/sys/capabilities-self",
    "/v1/sys/capabilities",
    "/v1/sys/mounts/",
    "/v1/sys/auth/",
    "/v1/sys/internal/ui/mounts/",
    "/v1/sys/policy/",
    "/v1/sys/audit/",
    "/v1/sys/seal-status",
];

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    function: u8,
    prefix: u8,
    rest: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    admin: bool,
}

/// Audit lines are dropped: the sink would grow without bound over a fuzzing run.
struct NullSink;

impl AuditSink for NullSink {
    fn write_line(&self, _line: &str) -> Result<(), AuditError> {
        Ok(())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A fresh in-memory deployment per input (each run is deterministic): the keyring
/// and audit key initialized, and an admin token. Returns the app serving `function`
/// and the token.
async fn deployment(function: Function) -> (App, String) {
    let store = Arc::new(MemoryStore::new());
    let keyring = Arc::new(Keyring::new(
        store.clone(),
        Arc::new(FakeKms::new()),
        "fuzz",
    ));
    sigil::bootstrap::init(store.as_ref(), &keyring, "alias/fuzz", 0)
        .await
        .expect("init");
    let app = App {
        keyring,
        audit: Arc::new(NullSink),
        ..App::in_memory(function, store.clone(), Arc::new(SystemClock))
    };
    let now = sigil::clock::Clock::now(&SystemClock);
    let minted = sigil::bootstrap::admin_token(store.as_ref(), app.limits(), 3600, now)
        .await
        .expect("admin token");
    let admin = secrecy::ExposeSecret::expose_secret(&minted.token).to_owned();
    (app, admin)
}

fuzz_target!(|input: Input| {
    let function = FUNCTIONS[usize::from(input.function) % FUNCTIONS.len()];
    runtime().block_on(async move {
        let (app, admin) = deployment(function).await;
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if input.admin {
            headers.push(("x-vault-token".to_owned(), admin));
        }
        let req = ApiRequest {
            method: METHODS[usize::from(input.method) % METHODS.len()].to_owned(),
            path: format!(
                "{}{}",
                PREFIXES[usize::from(input.prefix) % PREFIXES.len()],
                input.rest
            ),
            query: input.query,
            headers,
            body: input.body,
            request_id: "fuzz".to_owned(),
            ..ApiRequest::default()
        };
        let resp = app.handle(req).await;
        assert!((200..600).contains(&resp.status), "status {}", resp.status);
        if resp.status >= 400 {
            let errors = resp.body.as_ref().and_then(|b| b.get("errors"));
            assert!(
                errors.is_some_and(serde_json::Value::is_array),
                "an error without Vault's body: {}",
                resp.status
            );
        }
    });
});
