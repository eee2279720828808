//! One simulated deployment: the store, IAM, KMS and clock every function shares, and
//! one app per function (as warm Lambda instances), over the simulated ports.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sigil::App;
use sigil::aws_engine::clients::EngineClients;
use sigil::aws_engine::iam::FakeIam;
use sigil::aws_engine::sts::FakeSts;
use sigil::clock::{Clock, ManualClock};
use sigil::database::port::FakeDatabase;
use sigil::http::{ApiRequest, ApiResponse};
use sigil::keyring::Keyring;
use sigil::kms::FakeKms;
use sigil::route::Function;
use sigil::store::Store;
use sigil::store::memory::MemoryStore;

use crate::ports::{FaultRates, Faults, SimDatabase, SimIam, SimStore};

/// Seconds since the epoch the simulated clock starts at (a fixed instant, so that a
/// seed replays the same hours).
pub const EPOCH: i64 = 1_780_000_000;

/// The AWS role every credential is issued for.
pub const ROLE: &str = "deploy";
/// The engine's lease TTL, seconds: longer than a revocation's claim, so that the
/// checks after a claim lapsed still find leases their expiry has not ended.
pub const LEASE_TTL: i64 = 240;
/// The engine's lease max TTL, seconds.
pub const LEASE_MAX: i64 = 600;
/// The AppRole role's name, and its role ID (fixed: the role written again after a
/// delete keeps it, so an old secret ID would be tried against the new role).
pub const APPROLE: &str = "app";
/// The AppRole role's role ID.
pub const ROLE_ID: &str = "sim-app";
/// The AppRole role's settings: its secret IDs allow two logins, its tokens two uses
/// and the policy that issues `aws/creds/deploy`.
pub fn approle_settings() -> Value {
    json!({
        "role_id": ROLE_ID,
        "secret_id_num_uses": crate::approle::SECRET_ID_USES,
        "token_num_uses": crate::approle::TOKEN_USES,
        "token_policies": "sim-issue",
        "token_ttl": 600,
    })
}

/// A deployment under simulation.
pub struct World {
    /// The items, shared by every function.
    pub memory: Arc<MemoryStore>,
    /// The IAM users.
    pub iam: Arc<FakeIam>,
    /// The database's users (dynamic credentials and the static role's user).
    pub db: Arc<FakeDatabase>,
    /// Time, in seconds.
    pub clock: Arc<ManualClock>,
    /// The fault source of the ports.
    pub faults: Arc<Faults>,
    apps: Vec<(Function, Arc<App>)>,
    /// Tokens minted at setup (each allowed everything), as presented.
    pub tokens: Vec<String>,
    /// A token no operation uses (nor revokes): the checks read with it.
    pub root: String,
    /// Secret IDs of the AppRole role generated at setup.
    pub secret_ids: Vec<String>,
}

/// A request to `path` (with `/v1/`) with `token` and a JSON body.
pub fn request(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> ApiRequest {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("x-vault-token".to_owned(), t.to_owned()));
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (
            p,
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        None => (path, Vec::new()),
    };
    ApiRequest {
        method: method.into(),
        path: path.into(),
        query,
        headers,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        request_id: "sim".into(),
        ..ApiRequest::default()
    }
}

impl World {
    /// A deployment with the keyring, an AWS role, KV and `tokens` tokens, set up with
    /// faults off.
    pub async fn new(seed: u64, rates: FaultRates, tokens: usize) -> World {
        let memory = Arc::new(MemoryStore::new());
        let iam = Arc::new(FakeIam::new());
        let clock = Arc::new(ManualClock::new(EPOCH));
        let faults = Arc::new(Faults::new(seed ^ 0x5eed_fa17, rates));
        let store: Arc<dyn Store> = Arc::new(SimStore::new(memory.clone(), faults.clone()));
        let keyring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "sim"));
        let clients = Arc::new(EngineClients::fixed(
            Arc::new(SimIam::new(iam.clone(), faults.clone())),
            Arc::new(FakeSts::new(EPOCH)),
        ));
        let db = Arc::new(FakeDatabase::new());
        db.set_root_password(crate::database::ROOT_PASSWORD);
        db.add_user(crate::database::STATIC_USER, "initial");
        let database = Arc::new(sigil::database::engine::Engine::new(Arc::new(
            SimDatabase::new(db.clone(), faults.clone()),
        )));
        let revokers = Arc::new(sigil::app::standard_revokers(
            store.clone(),
            keyring.clone(),
            clients.clone(),
            &database,
            Arc::new(sigil::transit::KeyCache::new()),
        ));
        let apps = Function::ALL
            .into_iter()
            .map(|f| {
                let app = App {
                    store: store.clone(),
                    keyring: keyring.clone(),
                    revokers: revokers.clone(),
                    aws: clients.clone(),
                    database: database.clone(),
                    ..App::in_memory(f, memory.clone(), clock.clone())
                };
                (f, Arc::new(app))
            })
            .collect();
        let mut w = World {
            memory,
            iam,
            db,
            clock,
            faults,
            apps,
            tokens: Vec::new(),
            root: String::new(),
            secret_ids: Vec::new(),
        };
        w.setup(tokens).await;
        w
    }

    async fn setup(&mut self, tokens: usize) {
        let admin = self.app(Function::Admin);
        let now = self.clock.now();
        sigil::bootstrap::init(admin.store.as_ref(), &admin.keyring, "alias/sim", now)
            .await
            .expect("init");
        for _ in 0..=tokens {
            let minted =
                sigil::bootstrap::admin_token(admin.store.as_ref(), admin.limits(), 3600, now)
                    .await
                    .expect("token");
            self.tokens.push(minted.token.expose_secret().to_owned());
        }
        let root = self.tokens.remove(0);
        self.root = root.clone();
        for (path, body) in [
            (
                format!("/v1/aws/roles/{ROLE}"),
                json!({"credential_type": "iam_user", "policy_document": "{\"Version\":\"2012-10-17\"}"}),
            ),
            (
                "/v1/aws/config/lease".into(),
                json!({"lease": LEASE_TTL, "lease_max": LEASE_MAX}),
            ),
            (
                "/v1/sys/policies/acl/sim-issue".into(),
                json!({"policy": format!("path \"aws/creds/{ROLE}\" {{ capabilities = [\"read\"] }}")}),
            ),
            (
                format!("/v1/auth/approle/role/{APPROLE}"),
                approle_settings(),
            ),
        ] {
            let r = self
                .call(
                    Function::Admin,
                    request("POST", &path, Some(&root), Some(body)),
                )
                .await;
            assert!(r.status < 300, "setup {path}: {r:?}");
        }
        crate::transit::setup(self, &root).await;
        crate::database::setup(self, &root).await;
        for _ in 0..2 {
            let r = self
                .call(
                    Function::Admin,
                    request(
                        "POST",
                        &format!("/v1/auth/approle/role/{APPROLE}/secret-id"),
                        Some(&root),
                        None,
                    ),
                )
                .await;
            let id = r
                .body
                .as_ref()
                .and_then(|b| b["data"]["secret_id"].as_str());
            self.secret_ids
                .push(id.expect("setup: a secret ID").to_owned());
        }
    }

    /// How a trace names `token`: its index among the setup tokens, or "AppRole".
    pub fn token_name(&self, token: &str) -> String {
        self.tokens
            .iter()
            .position(|t| t == token)
            .map_or_else(|| "AppRole".to_owned(), |k| k.to_string())
    }

    /// The app of `function`.
    pub fn app(&self, function: Function) -> Arc<App> {
        self.apps
            .iter()
            .find(|(f, _)| *f == function)
            .map(|(_, a)| a.clone())
            .expect("every function has an app")
    }

    /// Sends `req` to the function that serves it.
    pub async fn call(&self, function: Function, req: ApiRequest) -> ApiResponse {
        self.app(function).handle(req).await
    }
}
