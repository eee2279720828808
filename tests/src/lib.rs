//! Test support for the end-to-end suite: the local stack's clients, fresh isolated
//! tables, in-process requests against the real adapters, and HTTP requests to the
//! functions under `cargo lambda watch`.
//!
//! The suite runs under `make test`, which starts the stack and exports its endpoints
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, ...) and `SIGIL_ADDR`.

pub mod oidc;
pub mod routes;

use std::sync::Arc;

use aws_config::SdkConfig;
use secrecy::ExposeSecret;
use serde_json::Value;
use sigil::App;
use sigil::aws::CallCounter;
use sigil::clock::{Clock, ManualClock, SystemClock};
use sigil::config::Config;
use sigil::http::ApiRequest;
use sigil::route::Function;

/// Fails with a clear message when the stack's variables are missing.
pub fn require_stack() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "the local stack is not configured: run the suite with `make test` \
         (or `localstack/up` and export the variables in .sigil/stack.env)"
    );
}

/// The SDK configuration from the environment (the local stack's endpoints).
pub async fn sdk() -> SdkConfig {
    require_stack();
    sigil::aws::sdk_config().await
}

/// A unique name with `prefix`.
pub fn unique(prefix: &str) -> String {
    let n = sigil::crypto::random_bytes(6)
        .map(hex_lower)
        .unwrap_or_default();
    format!("{prefix}-{n}")
}

fn hex_lower(b: Vec<u8>) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An isolated Sigil on the local stack: its own table and KMS key, initialized, with
/// an admin token, and a call counter on its AWS clients.
pub struct Fixture {
    /// Table name.
    pub table: String,
    /// KMS key alias.
    pub key_alias: String,
    /// SDK configuration.
    pub sdk: SdkConfig,
    /// Counts the apps' AWS calls.
    pub counter: CallCounter,
    /// An admin token.
    pub admin: String,
    /// The clock the apps use.
    pub clock: Arc<dyn Clock>,
    /// The JWT key cache the apps share, as one warm function's requests do.
    pub jwt_keys: Arc<sigil::jwt::cache::KeyCache>,
    /// The audit lines of every request the apps handled.
    pub audit: Arc<sigil::audit::MemorySink>,
    /// The KV v2 mounts the apps serve (`SIGIL_KV_MOUNTS`; default `secret`).
    pub kv_mounts: Vec<String>,
}

impl Fixture {
    /// A fresh table and key on the system clock.
    pub async fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock)).await
    }

    /// A fresh table and key; the apps read time from `clock`.
    pub async fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let sdk = sdk().await;
        let table = unique("sigil-test");
        let key_alias = format!("alias/{table}");
        sigil::aws::create_table(&sigil::aws::dynamodb_client(&sdk, None), &table)
            .await
            .expect("create table");
        sigil::aws::ensure_kms_key(&sigil::aws::kms_client(&sdk, None), &key_alias)
            .await
            .expect("create key");
        let mut f = Self {
            table,
            key_alias,
            sdk,
            counter: CallCounter::new(),
            admin: String::new(),
            clock,
            jwt_keys: Arc::new(sigil::jwt::cache::KeyCache::new(Arc::new(
                sigil::jwt::source::HttpJwksSource::new(),
            ))),
            audit: Arc::new(sigil::audit::MemorySink::new()),
            kv_mounts: Config::default().kv_mounts,
        };
        let app = f.app_uncounted(Function::Admin);
        sigil::bootstrap::init(
            app.store.as_ref(),
            &app.keyring,
            &f.key_alias,
            f.clock.now(),
        )
        .await
        .expect("init");
        let minted =
            sigil::bootstrap::admin_token(app.store.as_ref(), app.limits(), 3600, f.clock.now())
                .await
                .expect("admin token");
        f.admin = minted.token.expose_secret().to_owned();
        f
    }

    /// A manual clock starting now, and a fixture on it.
    pub async fn manual() -> (Self, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        (Self::with_clock(clock.clone()).await, clock)
    }

    /// The configuration of this fixture's apps.
    pub fn config(&self) -> Config {
        Config {
            table: self.table.clone(),
            kms_key_id: self.key_alias.clone(),
            jwt_mounts: vec!["jwt".into(), "github".into()],
            kv_mounts: self.kv_mounts.clone(),
            ..Config::default()
        }
    }

    /// A function's app over the real adapters, counted by [`Fixture::counter`].
    pub fn app(&self, function: Function) -> App {
        let mut app = sigil::aws::app_with(function, self.config(), &self.sdk, Some(&self.counter));
        app.clock = self.clock.clone();
        app.jwt_keys = self.jwt_keys.clone();
        app.audit = self.audit.clone();
        app
    }

    fn app_uncounted(&self, function: Function) -> App {
        let mut app = sigil::aws::app_with(function, self.config(), &self.sdk, None);
        app.clock = self.clock.clone();
        app.jwt_keys = self.jwt_keys.clone();
        app.audit = self.audit.clone();
        app
    }

    /// Makes `app` warm, as a function instance is after its first request: the audit
    /// key unwrapped, the mount table and the rate-limit quotas read.
    pub async fn warm(&self, app: &App) {
        app.keyring.audit_key().await.expect("audit key");
        app.mounts
            .reload(app.store.as_ref(), self.clock.now())
            .await
            .expect("mounts");
        app.quotas
            .get(
                app.store.as_ref(),
                self.clock.now(),
                app.config.policy_cache_ttl,
            )
            .await
            .expect("quotas");
    }

    /// Sends one request in-process to the function that serves it.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send(request(method, path, token, body)).await
    }

    /// Sends `method` `/v1/<path>` with the admin token.
    pub async fn admin_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, &format!("/v1/{path}"), Some(&self.admin), body)
            .await
    }

    /// [`Fixture::admin_call`] with a body, which must succeed (2xx): the answer.
    pub async fn admin_ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (s, b) = self.admin_call(method, path, Some(body)).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b
    }

    /// The accessor of the auth mount at `mount` (without the trailing `/`).
    pub async fn auth_accessor(&self, mount: &str) -> String {
        let (s, b) = self.admin_call("GET", "sys/auth", None).await;
        assert_eq!(s, 200, "{b}");
        b["data"][format!("{mount}/")]["accessor"]
            .as_str()
            .expect("accessor")
            .to_owned()
    }

    /// Makes the `jwt` mount trust `issuer` (OIDC discovery) and writes its role `ci`
    /// with `role`'s fields: the mount's accessor.
    pub async fn jwt_role_ci(&self, issuer: &oidc::Issuer, role: Value) -> String {
        let config = serde_json::json!({
            "oidc_discovery_url": issuer.url, "oidc_discovery_ca_pem": issuer.ca_pem,
        });
        self.admin_ok("POST", "auth/jwt/config", config).await;
        self.admin_ok("POST", "auth/jwt/role/ci", role).await;
        self.auth_accessor("jwt").await
    }

    /// A login with `jwt` as role `ci` of the `jwt` mount, which must succeed: its `auth`.
    pub async fn jwt_login_ci(&self, jwt: &str) -> Value {
        let body = serde_json::json!({"role": "ci", "jwt": jwt});
        let (s, b) = self
            .call("POST", "/v1/auth/jwt/login", None, Some(body))
            .await;
        assert_eq!(s, 200, "{b}");
        b["auth"].clone()
    }

    /// Sends a request made by hand (any method, path, headers or body bytes)
    /// in-process to the function that serves it (admin when none does).
    pub async fn send(&self, req: ApiRequest) -> (u16, Value) {
        let resp = self.handle(req).await;
        (resp.status, resp.body.unwrap_or(Value::Null))
    }

    /// Hands one request to the function that serves it (the admin function when no
    /// route matches), as API Gateway would.
    pub async fn handle(&self, req: ApiRequest) -> sigil::http::ApiResponse {
        let list = req.query_param("list") == Some("true");
        // API Gateway routes by path pattern; here the stored mount table (or the
        // environment's) says which function serves the path.
        let router = self.app_uncounted(Function::Admin);
        let table = match sigil::mounts::store::load(router.store.as_ref()).await {
            Ok(Some(t)) => t,
            _ => sigil::mounts::initial_table(&self.config()),
        };
        let function = sigil::route::resolve(&table, &req.method, req.path.as_str(), list)
            .map(|r| r.function())
            .unwrap_or(Function::Admin);
        self.app(function).handle(req).await
    }

    /// Serves this fixture's functions over plain HTTP on a free loopback port (for
    /// the `sigil` CLI); returns the address (`http://127.0.0.1:PORT`). The server
    /// lives as long as the test's runtime.
    pub async fn serve(self: Arc<Self>) -> String {
        use http_body_util::BodyExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let f = self.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let f = f.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes().to_vec())
                                    .unwrap_or_default();
                                let path_and_query =
                                    parts.uri.path_and_query().map_or("/", |p| p.as_str());
                                let mut api =
                                    request(parts.method.as_str(), path_and_query, None, None);
                                api.headers = parts
                                    .headers
                                    .iter()
                                    .filter_map(|(k, v)| {
                                        Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))
                                    })
                                    .collect();
                                api.body = body;
                                let resp = f.handle(api).await;
                                let bytes = resp
                                    .body
                                    .map(|b| b.to_string().into_bytes())
                                    .unwrap_or_default();
                                let out = hyper::Response::builder()
                                    .status(resp.status)
                                    .header("content-type", "application/json")
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from(
                                        bytes,
                                    )))
                                    .expect("response");
                                Ok::<_, std::convert::Infallible>(out)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// Every item of the table (a test-only scan), sorted by key.
    pub async fn scan(&self) -> Vec<RawItem> {
        scan_table(&self.sdk, &self.table).await
    }

    /// Puts `items` unconditionally with `BatchWriteItem` (25 a call, `concurrency`
    /// calls at once, unprocessed items sent again), uncounted: a fast loader for large
    /// test data. The items are stored exactly as the store would put them.
    pub async fn batch_put(&self, items: Vec<sigil::store::Item>, concurrency: usize) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use futures::StreamExt;
        let client = sigil::aws::dynamodb_client(&self.sdk, None);
        let requests: Vec<WriteRequest> = items
            .iter()
            .map(|i| {
                let put = PutRequest::builder()
                    .set_item(Some(sigil::aws::dynamo::to_attrs(i)))
                    .build()
                    .expect("put request");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let batches: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[_]>::to_vec).collect();
        futures::stream::iter(batches)
            .for_each_concurrent(concurrency, |mut batch| {
                let client = client.clone();
                async move {
                    for _ in 0..20 {
                        let out = client
                            .batch_write_item()
                            .request_items(&self.table, batch)
                            .send()
                            .await
                            .expect("BatchWriteItem");
                        batch = out
                            .unprocessed_items()
                            .and_then(|u| u.get(&self.table))
                            .cloned()
                            .unwrap_or_default();
                        if batch.is_empty() {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    panic!("BatchWriteItem kept items unprocessed");
                }
            })
            .await;
    }

    /// One sweep at the fixture clock's time, by a fresh sweeper app (which reads the
    /// current `aws/config/root`).
    pub async fn sweep(&self) -> sigil::sweeper::SweepReport {
        let app = self.app(Function::Sweeper);
        sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, self.clock.now())
            .await
            .expect("sweep")
    }

    /// Names of moto's IAM users starting with `prefix`.
    pub async fn iam_users(&self, prefix: &str) -> Vec<String> {
        let iam = sigil::aws::iam_client(&self.sdk, None);
        let out = iam.list_users().max_items(1000).send().await.unwrap();
        out.users()
            .iter()
            .map(|u| u.user_name().to_owned())
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    /// Creates the `iam_user` role `role` as the admin (an inline policy allowing
    /// `s3:ListBucket`, path `/sigil/`, a `team` tag) and sets the engine's leases to
    /// 60 s, at most 120 s. Its users are named `sigil-bootstrap-{role}-...`.
    pub async fn aws_iam_role(&self, role: &str) {
        let a = Some(self.admin.as_str());
        let (s, b) = self
            .call(
                "POST",
                &format!("/v1/aws/roles/{role}"),
                a,
                Some(serde_json::json!({
                    "credential_type": "iam_user",
                    "policy_document": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
                    "user_path": "/sigil/",
                    "iam_tags": {"team": "deploy"},
                })),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        let (s, b) = self
            .call(
                "POST",
                "/v1/aws/config/lease",
                a,
                Some(serde_json::json!({"lease": "60s", "lease_max": "120s"})),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }

    /// Issues AWS credentials of `role` with `token` (`GET aws/creds/:role`), asserting
    /// success; returns the response body.
    pub async fn creds(&self, role: &str, token: &str) -> Value {
        let (s, b) = self
            .call("GET", &format!("/v1/aws/creds/{role}"), Some(token), None)
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// Writes an ACL policy (HCL or JSON) as the admin.
    pub async fn policy(&self, name: &str, text: &str) {
        let (s, b) = self
            .call(
                "PUT",
                &format!("/v1/sys/policies/acl/{name}"),
                Some(&self.admin),
                Some(serde_json::json!({ "policy": text })),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }

    /// Creates an AppRole role and returns `(role_id, secret_id)`.
    pub async fn approle(&self, name: &str, role: Value) -> (String, String) {
        let (s, b) = self
            .call(
                "POST",
                &format!("/v1/auth/approle/role/{name}"),
                Some(&self.admin),
                Some(role),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        let (_, b) = self
            .call(
                "GET",
                &format!("/v1/auth/approle/role/{name}/role-id"),
                Some(&self.admin),
                None,
            )
            .await;
        let role_id = b["data"]["role_id"].as_str().expect("role_id").to_owned();
        let (_, b) = self
            .call(
                "POST",
                &format!("/v1/auth/approle/role/{name}/secret-id"),
                Some(&self.admin),
                None,
            )
            .await;
        let secret_id = b["data"]["secret_id"]
            .as_str()
            .expect("secret_id")
            .to_owned();
        (role_id, secret_id)
    }

    /// Logs in with AppRole; returns the token.
    pub async fn login(&self, role_id: &str, secret_id: &str) -> String {
        self.login_auth(role_id, secret_id).await["client_token"]
            .as_str()
            .expect("client_token")
            .to_owned()
    }

    /// Logs in with AppRole; returns the answer's `auth` (token, accessor, entity, ...).
    pub async fn login_auth(&self, role_id: &str, secret_id: &str) -> Value {
        let (s, b) = self
            .call(
                "POST",
                "/v1/auth/approle/login",
                None,
                Some(serde_json::json!({"role_id": role_id, "secret_id": secret_id})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["auth"].clone()
    }
}

/// A raw DynamoDB item.
pub type RawItem = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Every item of `table` (a test-only scan), sorted by key.
pub async fn scan_table(sdk: &SdkConfig, table: &str) -> Vec<RawItem> {
    let client = sigil::aws::dynamodb_client(sdk, None);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        out.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let key = |i: &RawItem, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    out.sort_by_key(|i| (key(i, "pk"), key(i, "sk")));
    out
}

/// Builds an in-process request (`path` may carry a query string).
pub fn request(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> ApiRequest {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let query = q
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(t) = token {
        headers.push(("x-vault-token".to_owned(), t.to_owned()));
    }
    ApiRequest {
        method: method.to_owned(),
        path: p.to_owned(),
        query,
        headers,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        remote_addr: Some("127.0.0.1".to_owned()),
        request_id: unique("req"),
        iam_caller_arn: None,
    }
}

/// The address of the functions under `cargo lambda watch`.
pub fn sigil_addr() -> String {
    std::env::var("SIGIL_ADDR").unwrap_or_else(|_| "http://127.0.0.1:8200".to_owned())
}

/// Fields whose values are secrets (or, like accessors and access key IDs, must not be
/// logged either): what [`seen_json`] records.
pub const SENSITIVE_FIELDS: &[&str] = &[
    "client_token",
    "accessor",
    "secret_id",
    "secret_id_accessor",
    "access_key",
    "secret_key",
    "security_token",
    "session_token",
    "jwt",
    "password",
    "token",
    "wrapped_accessor",
    "backup",
];

/// Records a secret the suite saw, for the log check in `make test`: appended as a line
/// to the file `SIGIL_SECRETS_SEEN` names (nothing when unset). `scripts/test` then
/// fails if any recorded value appears in the functions' log. Values under 8 bytes are
/// skipped (too short to tell from ordinary text).
pub fn seen(value: &str) {
    use std::io::Write;
    let Ok(path) = std::env::var("SIGIL_SECRETS_SEEN") else {
        return;
    };
    if value.len() < 8 || value.contains('\n') {
        return;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("SIGIL_SECRETS_SEEN is writable");
    // One write per line, so lines from tests running at once never interleave.
    f.write_all(format!("{value}\n").as_bytes())
        .expect("SIGIL_SECRETS_SEEN is writable");
}

/// Records (see [`seen`]) every string under a [`SENSITIVE_FIELDS`] key, at any depth
/// of `json`, and every value of a KV write's or read's `data.data`.
pub fn seen_json(json: &Value) {
    fn walk(v: &Value, sensitive: bool) {
        match v {
            Value::String(s) if sensitive => seen(s),
            Value::Object(o) => {
                for (k, v) in o {
                    walk(v, sensitive || SENSITIVE_FIELDS.contains(&k.as_str()));
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, sensitive)),
            _ => {}
        }
    }
    walk(json, false);
    if let Some(data) = json.pointer("/data/data") {
        walk(data, true);
    }
}

/// Sends one HTTP request to the running functions; returns status and JSON body
/// (`Null` when empty). Tokens, secret IDs, access keys and KV data in the request and
/// the response are recorded for the log check ([`seen_json`]).
pub async fn http(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, Value) {
    let client = sigil::http::client::builder().build().expect("HTTP client");
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = client.request(m, format!("{}{path}", sigil_addr()));
    if let Some(t) = token {
        seen(t);
        rb = rb.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        if let Ok(v) = serde_json::from_slice::<Value>(b) {
            seen_json(&v);
        }
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_vec());
    }
    let resp = rb
        .send()
        .await
        .expect("Sigil is not answering at SIGIL_ADDR: run under `make test`");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    seen_json(&json);
    (status, json)
}
