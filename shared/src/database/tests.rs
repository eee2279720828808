//! The database engine through the request pipeline on in-memory ports and the fake
//! database: issue, renew, revoke; a crash after each step is finished by one sweep;
//! root rotation, including a crash between its steps; config reads never show the
//! root password; hostile statements and templates are refused.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::failpoints::{CrashAfter, Step};
use super::port::FakeDatabase;
use super::revoke::{DbRevoker, KIND_DB_USER};
use crate::app::App;
use crate::clock::ManualClock;
use crate::http::ApiRequest;
use crate::keyring::Keyring;
use crate::kms::FakeKms;
use crate::lease::Revokers;
use crate::route::Function;
use crate::store::memory::MemoryStore;
use crate::token::Limits;

const NOW: i64 = 1_700_000_000;
const ROOT_PW: &str = "root-SEKRET-pw";

struct Env {
    store: Arc<MemoryStore>,
    keyring: Arc<Keyring>,
    clock: Arc<ManualClock>,
    db: Arc<FakeDatabase>,
    root: String,
}

impl Env {
    async fn new() -> Env {
        let store = Arc::new(MemoryStore::new());
        let keyring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        keyring.add_version("k", 0).await.unwrap();
        keyring.ensure_audit_key("k", 0).await.unwrap();
        crate::sweeper::init_cursor(store.as_ref(), NOW)
            .await
            .unwrap();
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits, 7200, NOW)
            .await
            .unwrap();
        let db = Arc::new(FakeDatabase::new());
        db.set_root_password(ROOT_PW);
        let env = Env {
            store,
            keyring,
            clock: Arc::new(ManualClock::new(NOW)),
            db,
            root: root.token.expose_secret().to_owned(),
        };
        let (s, b) = env
            .call("POST", "sys/mounts/database", json!({"type": "database"}))
            .await;
        assert_eq!(s, 204, "{b}");
        env
    }

    fn app_with(&self, failpoints: Arc<dyn super::failpoints::Failpoints>) -> App {
        let engine = super::engine::Engine {
            db: self.db.clone(),
            failpoints,
        };
        let revoker = DbRevoker::new(self.store.clone(), self.keyring.clone(), &engine);
        let rotate = super::static_roles::StaticRotate::new(self.keyring.clone(), &engine);
        App {
            keyring: self.keyring.clone(),
            revokers: Arc::new(
                Revokers::new()
                    .with(KIND_DB_USER, Arc::new(revoker))
                    .with_due(super::static_roles::PK_PREFIX, Arc::new(rotate)),
            ),
            database: Arc::new(engine),
            ..App::in_memory(Function::Admin, self.store.clone(), self.clock.clone())
        }
    }

    fn app(&self) -> App {
        self.app_with(Arc::new(super::failpoints::NoFailpoints))
    }

    async fn call_on(&self, app: &App, method: &str, path: &str, body: Value) -> (u16, Value) {
        let (table, _) = app.mounts.reload(self.store.as_ref(), NOW).await.unwrap();
        let function = crate::route::resolve(&table, method, &format!("/v1/{path}"), false)
            .map(|r| r.function())
            .unwrap_or(Function::Admin);
        let app = App {
            function,
            ..self.app_like(app)
        };
        let resp = app
            .handle(ApiRequest {
                method: method.into(),
                path: format!("/v1/{path}"),
                headers: vec![("x-vault-token".to_owned(), self.root.clone())],
                body: if body.is_null() {
                    Vec::new()
                } else {
                    body.to_string().into_bytes()
                },
                request_id: "req-1".into(),
                ..ApiRequest::default()
            })
            .await;
        (resp.status, resp.body.unwrap_or(Value::Null))
    }

    fn app_like(&self, app: &App) -> App {
        App {
            keyring: app.keyring.clone(),
            revokers: app.revokers.clone(),
            database: app.database.clone(),
            ..App::in_memory(Function::Admin, self.store.clone(), self.clock.clone())
        }
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.call_on(&self.app(), method, path, body).await
    }

    async fn configure(&self) {
        let (s, b) = self
            .call(
                "POST",
                "database/config/pg",
                json!({
                    "plugin_name": "postgresql-database-plugin",
                    "connection_url": "postgresql://{{username}}:{{password}}@db.internal:5432/app?sslmode=disable",
                    "username": "root",
                    "password": ROOT_PW,
                    "allowed_roles": "ro",
                }),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        let (s, b) = self
            .call(
                "POST",
                "database/roles/ro",
                json!({
                    "db_name": "pg",
                    "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";",
                    "default_ttl": "1h",
                    "max_ttl": "2h",
                }),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }

    async fn sweep(&self) -> crate::sweeper::SweepReport {
        let app = self.app();
        crate::sweeper::sweep(self.store.as_ref(), &app.revokers, self.clock.now())
            .await
            .unwrap()
    }

    async fn leases(&self) -> usize {
        self.store
            .dump()
            .iter()
            .filter(|i| crate::store::ItemExt::key(*i).pk.starts_with("lease/"))
            .count()
    }
}

use crate::clock::Clock;

#[tokio::test]
async fn creds_issue_renew_and_revoke_a_user() {
    let env = Env::new().await;
    env.configure().await;
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    let user = b["data"]["username"].as_str().unwrap().to_owned();
    let password = b["data"]["password"].as_str().unwrap().to_owned();
    assert!(user.starts_with("v-bootstra-ro-"), "{user}");
    assert_eq!(password.len(), 24);
    assert_eq!(
        (b["lease_duration"].as_i64(), b["renewable"].as_bool()),
        (Some(3600), Some(true))
    );
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    assert!(lease_id.starts_with("database/creds/ro/"), "{lease_id}");
    let created = env.db.user(&user).expect("the user exists").created_by;
    assert_eq!(
        created[0],
        format!(
            "CREATE ROLE \"{user}\" WITH LOGIN PASSWORD '{password}' VALID UNTIL '{}'",
            super::statements::expiration(NOW + 3600 + 5)
        )
    );

    env.clock.advance(600);
    let (s, b) = env
        .call(
            "PUT",
            "sys/leases/renew",
            json!({"lease_id": lease_id, "increment": "1h"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        env.db.user(&user).unwrap().updated_by,
        [format!(
            "ALTER ROLE \"{user}\" VALID UNTIL '{}'",
            super::statements::expiration(NOW + 600 + 3600 + 5)
        )]
    );

    let (s, b) = env
        .call("PUT", "sys/leases/revoke", json!({"lease_id": lease_id}))
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(env.db.users().is_empty(), "the user is dropped");
    assert_eq!(env.leases().await, 0);
}

#[tokio::test]
async fn an_issue_whose_user_name_is_taken_drops_nobody_and_leaves_no_lease() {
    // Found by a hostile check: the undo of a refused CREATE ROLE dropped the user of
    // that name, which was someone else's.
    let env = Env::new().await;
    env.configure().await;
    env.db.add_user("victim", "victims-password");
    let (s, b) = env
        .call(
            "POST",
            "database/config/pg",
            json!({"username_template": "victim"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let calls = env.db.calls().len();
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("42710"), "{b}");
    assert!(env.db.user("victim").is_some(), "the other user survives");
    assert_eq!(env.db.calls()[calls..], ["new_user"], "no drop attempted");
    assert_eq!(
        env.leases().await,
        0,
        "no lease left for the sweeper to drop it"
    );
    env.sweep().await;
    assert!(env.db.user("victim").is_some());
}

#[tokio::test]
async fn an_expired_user_is_dropped_by_one_sweep() {
    let env = Env::new().await;
    env.configure().await;
    let (s, _) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(env.db.users().len(), 1);
    env.clock.advance(3601);
    assert_eq!(env.sweep().await.leases, 1);
    assert!(env.db.users().is_empty());
}

#[tokio::test]
async fn a_crash_after_any_step_leaves_no_user_after_the_sweep() {
    let env = Env::new().await;
    env.configure().await;
    for step in [Step::LeaseWritten, Step::UserCreated] {
        let app = env.app_with(Arc::new(CrashAfter(step)));
        let (s, b) = env
            .call_on(&app, "GET", "database/creds/ro", Value::Null)
            .await;
        assert_eq!(s, 500, "{step:?}: {b}");
    }
    assert_eq!(env.db.users().len(), 1, "the second crash left a user");
    // A revocation that dies after dropping its user leaves the lease: finished later.
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    let app = env.app_with(Arc::new(CrashAfter(Step::UserDropped)));
    let (s, _) = env
        .call_on(
            &app,
            "PUT",
            "sys/leases/revoke",
            json!({"lease_id": lease_id}),
        )
        .await;
    assert_eq!(s, 503);
    assert_eq!(env.db.users().len(), 1);
    assert_eq!(env.leases().await, 3);

    env.clock.advance(crate::lease::PENDING_GRACE_SECS + 60 + 1);
    let r = env.sweep().await;
    assert_eq!(r.leases, 3, "{r:?}");
    assert!(
        env.db.users().is_empty(),
        "no database user without a lease"
    );
    assert_eq!(env.leases().await, 0, "no lease left");
}

#[tokio::test]
async fn rotate_root_leaves_a_password_only_sigil_knows() {
    let env = Env::new().await;
    env.configure().await;
    let (s, b) = env
        .call("POST", "database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 204, "{b}");
    let calls_before = env.db.calls().len();
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "the engine works with the new root password: {b}");
    assert_eq!(env.db.calls().len(), calls_before + 1);

    // A crash after the database changed, before storage promoted the new password:
    // the next call finds the current one refused, the pending one works, promotes it.
    let app = env.app_with(Arc::new(CrashAfter(Step::RootAltered)));
    let (s, _) = env
        .call_on(&app, "POST", "database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 500);
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    let cfg = super::config::read(env.store.as_ref(), mount(&env).await.as_mount(), "pg")
        .await
        .unwrap()
        .unwrap();
    assert!(cfg.pending_password.is_none(), "promoted");
}

#[tokio::test]
async fn a_root_rotation_left_pending_holds_off_another_until_it_cannot_land() {
    let env = Env::new().await;
    env.db.set_root_password(ROOT_PW);
    env.configure().await;
    let root = || env.db.root_password().unwrap();
    let pending = || async {
        super::config::read(env.store.as_ref(), mount(&env).await.as_mount(), "pg")
            .await
            .unwrap()
            .unwrap()
            .pending_password
    };
    // Died after storing the pending password: its ALTER ROLE may still be on its way.
    let app = env.app_with(Arc::new(CrashAfter(Step::RootPendingStored)));
    let (s, _) = env
        .call_on(&app, "POST", "database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 500);
    assert!(pending().await.is_some());
    // A second rotation would overwrite the pending password (lost if the first one's
    // ALTER ROLE lands): refused, and nothing changes.
    let (s, b) = env
        .call("POST", "database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("under way"), "{b}");
    assert_eq!(root(), ROOT_PW);
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "the current password still works: {b}");
    // A connection update keeps the pending password.
    let (s, b) = env
        .call(
            "POST",
            "database/config/pg",
            json!({"allowed_roles": "ro,other"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(pending().await.is_some(), "kept by the update");
    // Once no function can still be running it, the pending password is dropped and
    // the rotation goes ahead.
    env.at(NOW + super::IN_FLIGHT_SECS);
    let (s, b) = env
        .call("POST", "database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(pending().await.is_none());
    assert_ne!(root(), ROOT_PW);
    let (s, b) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "{b}");
}

struct MountOf(String);
impl MountOf {
    fn as_mount(&self) -> super::Mount<'_> {
        super::Mount {
            prefix: &self.0,
            name: "database",
        }
    }
}

async fn mount(env: &Env) -> MountOf {
    let app = env.app();
    let (t, _) = app.mounts.reload(env.store.as_ref(), NOW).await.unwrap();
    let (m, _) = t.find("database/creds/x").unwrap();
    MountOf(m.storage.clone())
}

#[tokio::test]
async fn the_root_password_is_never_returned_and_the_url_cannot_hold_one() {
    let env = Env::new().await;
    env.configure().await;
    let (s, b) = env.call("GET", "database/config/pg", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    assert!(!b.to_string().contains(ROOT_PW), "{b}");
    assert_eq!(b["data"]["connection_details"]["username"], "root");
    assert_eq!(b["data"]["allowed_roles"], json!(["ro"]));
    let stored = format!("{:?}", env.store.dump());
    assert!(!stored.contains(ROOT_PW), "sealed in storage");
    let (s, b) = env
        .call(
            "POST",
            "database/config/other",
            json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": format!("postgres://root:{ROOT_PW}@db:5432/app"),
                "verify_connection": false,
            }),
        )
        .await;
    assert_eq!(s, 400);
    assert!(!b.to_string().contains(ROOT_PW), "{b}");
    // A refused login names no password either.
    let (s, b) = env
        .call(
            "POST",
            "database/config/pg",
            json!({"password": "wrong-SEKRET"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(!b.to_string().contains("SEKRET"), "{b}");
    let (s, _) = env.call("GET", "database/creds/ro", Value::Null).await;
    assert_eq!(s, 200, "a refused write changed nothing");
    // A repeated parameter means one thing to libpq and another to other drivers
    // (found by a hostile check: `sslmode=disable&sslmode=verify-full` went plain).
    let (s, b) = env
        .call(
            "POST",
            "database/config/pg",
            json!({"connection_url": "postgresql://{{username}}:{{password}}@db:5432/app?sslmode=disable&sslmode=verify-full"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("twice"), "{b}");
}

#[tokio::test]
async fn hostile_statements_and_templates_are_refused() {
    let env = Env::new().await;
    env.configure().await;
    for body in [
        json!({"db_name": "pg", "creation_statements": "CREATE ROLE {{name}}; {{password}} {{oops}}"}),
        json!({"db_name": "pg", "creation_statements": "CREATE ROLE '{{name}}"}),
        json!({"db_name": "pg", "revocation_statements": "ALTER ROLE {{name}} PASSWORD '{{password}}'"}),
        json!({"creation_statements": "CREATE ROLE {{name}}"}),
    ] {
        let (s, b) = env.call("POST", "database/roles/bad", body.clone()).await;
        assert_eq!(s, 400, "{body}: {b}");
    }
    let (s, b) = env
        .call(
            "POST",
            "database/config/pg",
            json!({"username_template": "{{ .RoleName | exec }}"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = env.call("GET", "database/roles/bad", Value::Null).await;
    assert_eq!(s, 404, "nothing stored: {b}");
    let (s, b) = env.call("GET", "database/creds/nope", Value::Null).await;
    assert_eq!(
        (s, b["errors"][0].as_str()),
        (400, Some("unknown role: nope"))
    );
}

// Static roles: an existing user whose password Sigil rotates.

const SVC_PW: &str = "svc-original-pw";

impl Env {
    /// The connection allows `svc` too, and the database has user `svc`.
    async fn static_setup(&self) {
        self.configure().await;
        let (s, b) = self
            .call(
                "POST",
                "database/config/pg",
                json!({"allowed_roles": ["ro", "svc"]}),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        self.db.add_user("svc", SVC_PW);
    }

    async fn write_svc(&self, app: &App) -> (u16, Value) {
        self.call_on(
            app,
            "POST",
            "database/static-roles/svc",
            json!({"db_name": "pg", "username": "svc", "rotation_period": "1h"}),
        )
        .await
    }

    /// Moves the clock to `t`.
    fn at(&self, t: i64) {
        self.clock.advance(t - self.clock.now());
    }

    /// The password the database has for `svc`.
    fn svc_pw(&self) -> String {
        self.db.user("svc").unwrap().password.unwrap()
    }

    async fn static_creds(&self) -> Value {
        let (s, b) = self
            .call("GET", "database/static-creds/svc", Value::Null)
            .await;
        assert_eq!(s, 200, "{b}");
        b["data"].clone()
    }

    async fn static_role(&self) -> super::static_roles::StaticRole {
        super::static_roles::read(self.store.as_ref(), mount(self).await.as_mount(), "svc")
            .await
            .unwrap()
            .unwrap()
    }
}

#[tokio::test]
async fn a_static_role_is_rotated_when_written_and_creds_return_the_working_password() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_svc(&env.app()).await;
    assert_eq!(s, 204, "{b}");
    let pw = env.svc_pw();
    assert_ne!(pw, SVC_PW, "rotated at once, as OpenBao");
    let d = env.static_creds().await;
    assert_eq!(d["username"], "svc");
    assert_eq!(d["password"], pw.as_str());
    assert_eq!(d["rotation_period"], 3600);
    assert_eq!(d["ttl"], 3600);
    assert_eq!(d["last_vault_rotation"], crate::clock::rfc3339(NOW));

    let (s, b) = env
        .call("GET", "database/static-roles/svc", Value::Null)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"],
        json!({
            "db_name": "pg",
            "username": "svc",
            "rotation_period": 3600,
            "rotation_statements": [],
            "credential_type": "password",
            "last_vault_rotation": crate::clock::rfc3339(NOW),
        })
    );
    assert!(
        !b.to_string().contains(&pw),
        "a read never shows the password"
    );
    let (s, b) = env.call("LIST", "database/static-roles", Value::Null).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["svc"])));

    // An update changes the period (and the schedule), not the password.
    let (s, b) = env
        .call(
            "POST",
            "database/static-roles/svc",
            json!({"rotation_period": 7200}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(env.svc_pw(), pw);
    assert_eq!(env.static_creds().await["ttl"], 7200);

    let (s, _) = env
        .call("DELETE", "database/static-roles/svc", Value::Null)
        .await;
    assert_eq!(s, 204);
    let (s, _) = env
        .call("GET", "database/static-roles/svc", Value::Null)
        .await;
    assert_eq!(s, 404);
    assert_eq!(env.svc_pw(), pw, "the user keeps its password");
}

impl Env {
    /// Writing static role `svc` with `body` answers 400 with `want` in its error.
    async fn static_write_refused(&self, body: Value, want: &str) {
        let (s, b) = self
            .call("POST", "database/static-roles/svc", body.clone())
            .await;
        assert_eq!(s, 400, "{body}: {b}");
        assert!(b.to_string().contains(want), "{body}: {b}");
    }
}

/// `body` with a `rotation_schedule` and, if given, a `rotation_window`.
fn with_schedule(body: &Value, schedule: Value, window: Option<Value>) -> Value {
    let mut b = body.clone();
    b["rotation_schedule"] = schedule;
    if let Some(w) = window {
        b["rotation_window"] = w;
    }
    b
}

#[tokio::test]
async fn bad_static_roles_are_refused_and_store_nothing() {
    let env = Env::new().await;
    env.static_setup().await;
    let base = json!({"db_name": "pg", "username": "svc", "rotation_period": 60});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let mut no_user = base.clone();
    no_user.as_object_mut().unwrap().remove("username");
    let mut no_period = base.clone();
    no_period.as_object_mut().unwrap().remove("rotation_period");
    for (body, want) in [
        (
            with("rotation_period", json!(4)),
            "rotation_period must be 5 seconds or more",
        ),
        (
            no_period.clone(),
            "one of rotation_schedule or rotation_period must be provided to create a static account",
        ),
        (no_user, "username is a required field"),
        (
            with("rotation_schedule", json!("0 * * * *")),
            "mutually exclusive fields rotation_period and rotation_schedule were both specified",
        ),
        (
            with("rotation_window", json!("2h")),
            "rotation_window is invalid with use of rotation_period",
        ),
        (
            with_schedule(&no_period, json!("@daily"), None),
            "could not parse rotation_schedule",
        ),
        (
            with_schedule(&no_period, json!("0 0 L * *"), None),
            "could not parse rotation_schedule",
        ),
        (
            with_schedule(&no_period, json!("0 0 * * *"), Some(json!(3599))),
            "rotation_window is invalid: rotation_window must be 3600 seconds or more",
        ),
        (
            with_schedule(&no_period, json!(""), Some(json!("1h"))),
            "one of rotation_schedule or rotation_period must be provided",
        ),
        (
            with(
                "rotation_statements",
                json!("ALTER ROLE \"{{name}}\" {{oops}}"),
            ),
            "rotation",
        ),
        (
            with("credential_type", json!("rsa_private_key")),
            "passwords only",
        ),
        (with("db_name", json!("nope")), "could not find database"),
        // The database has no such user: the first rotation fails, no role remains.
        (
            with("username", json!("ghost\"; DROP ROLE svc; --")),
            "does not exist",
        ),
    ] {
        env.static_write_refused(body, want).await;
    }
    let (s, b) = env.call("POST", "database/static-roles/ro", base).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("must be unique"), "{b}");
    let (s, _) = env.call("LIST", "database/static-roles", Value::Null).await;
    assert_eq!(s, 404, "no static role stored");
    assert_eq!(env.svc_pw(), SVC_PW, "nothing rotated");
}

#[tokio::test]
async fn the_sweeper_rotates_a_static_role_once_when_due_and_rotate_role_at_once() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_svc(&env.app()).await;
    assert_eq!(s, 204, "{b}");
    let first = env.svc_pw();
    env.at(NOW + 3599);
    assert_eq!(env.sweep().await.due_jobs, 0);
    assert_eq!(env.svc_pw(), first, "never early");
    env.at(NOW + 3600);
    let calls = env.db.calls().len();
    assert_eq!(env.sweep().await.due_jobs, 1);
    assert_eq!(
        env.db.calls()[calls..],
        ["update_user"],
        "a scheduled rotation is one database call (ALTER ROLE)"
    );
    let second = env.svc_pw();
    assert_ne!(second, first);
    let d = env.static_creds().await;
    assert_eq!(d["password"], second.as_str());
    assert_eq!(d["ttl"], 3600);
    assert_eq!(d["last_vault_rotation"], crate::clock::rfc3339(NOW + 3600));
    assert_eq!(env.sweep().await.due_jobs, 0, "rotated once");
    assert_eq!(env.svc_pw(), second);

    env.at(NOW + 4000);
    let (s, b) = env
        .call("POST", "database/rotate-role/svc", Value::Null)
        .await;
    assert_eq!(s, 204, "{b}");
    let third = env.svc_pw();
    assert_ne!(third, second);
    let d = env.static_creds().await;
    assert_eq!(
        (d["password"].as_str(), &d["ttl"]),
        (Some(third.as_str()), &json!(3600))
    );
    let (s, b) = env
        .call("POST", "database/rotate-role/none", Value::Null)
        .await;
    assert_eq!(s, 400, "{b}");
    // (No request after this: the root token ends at NOW + 7200.)
    env.at(NOW + 7200);
    assert_eq!(env.sweep().await.due_jobs, 0, "the old due time is void");
    assert_eq!(env.svc_pw(), third);
}

#[tokio::test]
async fn a_crash_after_each_static_rotation_step_leaves_one_working_password() {
    for step in [Step::StaticPendingStored, Step::StaticAltered] {
        // A crash in rotate-role, and in the first rotation of a new role.
        for on_create in [false, true] {
            let env = Env::new().await;
            env.static_setup().await;
            let crashing = env.app_with(Arc::new(CrashAfter(step)));
            let before = if on_create {
                let (s, _) = env.write_svc(&crashing).await;
                assert_eq!(s, 500, "{step:?}");
                SVC_PW.to_owned()
            } else {
                let (s, b) = env.write_svc(&env.app()).await;
                assert_eq!(s, 204, "{b}");
                let pw = env.svc_pw();
                let (s, _) = env
                    .call_on(&crashing, "POST", "database/rotate-role/svc", Value::Null)
                    .await;
                assert_eq!(s, 500, "{step:?}");
                pw
            };
            assert!(env.static_role().await.pending.is_some(), "{step:?}");
            let in_db = env.svc_pw();
            assert_eq!(
                in_db == before,
                step == Step::StaticPendingStored,
                "{step:?}"
            );
            // The next scheduled run (the pending write filed the role as due now).
            env.at(NOW + 1);
            let mut calls = env.db.calls().len();
            if step == Step::StaticPendingStored {
                // The pending password does not log in, but its ALTER ROLE may still
                // be on its way: nothing is dropped, nothing rotated, until the bound.
                let r = env.sweep().await;
                assert_eq!((r.due_jobs, r.skipped), (0, 1), "{on_create}");
                assert_eq!(env.db.calls()[calls..], ["verify"], "{on_create}");
                assert!(env.static_role().await.pending.is_some(), "{on_create}");
                assert_eq!(env.svc_pw(), before, "{on_create}");
                let (s, b) = env
                    .call("POST", "database/rotate-role/svc", Value::Null)
                    .await;
                assert_eq!(s, 400, "{b}");
                assert!(b.to_string().contains("under way"), "{b}");
                let (s, b) = env
                    .call("GET", "database/static-creds/svc", Value::Null)
                    .await;
                if on_create {
                    assert_eq!(s, 400, "no password yet: {b}");
                } else {
                    assert_eq!((s, &b["data"]["password"]), (200, &json!(before)), "{b}");
                }
                assert_eq!(env.svc_pw(), before, "{on_create}");
                env.at(NOW + super::IN_FLIGHT_SECS);
                calls = env.db.calls().len();
            }
            assert_eq!(env.sweep().await.due_jobs, 1, "{step:?} {on_create}");
            // Settling is one login as the user; a role never rotated is rotated too.
            let want: &[&str] = if on_create && step == Step::StaticPendingStored {
                &["verify", "update_user"]
            } else {
                &["verify"]
            };
            assert_eq!(env.db.calls()[calls..], *want, "{step:?} {on_create}");
            let r = env.static_role().await;
            assert!(r.pending.is_none(), "{step:?} {on_create}");
            let d = env.static_creds().await;
            assert_eq!(d["password"], env.svc_pw().as_str(), "{step:?} {on_create}");
            assert_ne!(env.svc_pw(), SVC_PW, "{step:?} {on_create}");
        }
    }
}

#[tokio::test]
async fn disabling_the_mount_removes_its_static_roles() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_svc(&env.app()).await;
    assert_eq!(s, 204, "{b}");
    let statics = |env: &Env| {
        env.store
            .dump()
            .iter()
            .filter(|i| crate::store::ItemExt::key(*i).pk.ends_with("/static-roles"))
            .count()
    };
    assert_eq!(statics(&env), 1);
    let (s, b) = env.call("DELETE", "sys/mounts/database", Value::Null).await;
    assert_eq!(s, 204, "{b}");
    env.sweep().await;
    assert_eq!(
        statics(&env),
        0,
        "no static role (and no due rotation) outlives its mount"
    );
}

/// 2023-11-14T22:13:20Z ([`NOW`]) is 40 s before 22:14 and 2800 s before 23:00.
const TO_23H: i64 = 2800;

impl Env {
    async fn write_scheduled(&self, schedule: &str, window: Option<i64>) -> (u16, Value) {
        let mut body = json!({"db_name": "pg", "username": "svc", "rotation_schedule": schedule});
        if let Some(w) = window {
            body["rotation_window"] = w.into();
        }
        self.call("POST", "database/static-roles/svc", body).await
    }
}

#[tokio::test]
async fn a_scheduled_static_role_rotates_at_each_schedule_time() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_scheduled("* * * * *", None).await;
    assert_eq!(s, 204, "{b}");
    let first = env.svc_pw();
    assert_ne!(first, SVC_PW, "rotated when written");
    let d = env.static_creds().await;
    assert_eq!(d["rotation_schedule"], "* * * * *");
    assert_eq!(d["ttl"], 40, "until the next minute");
    assert!(d.get("rotation_period").is_none() && d.get("rotation_window").is_none());
    let (s, b) = env
        .call("GET", "database/static-roles/svc", Value::Null)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["rotation_schedule"], "* * * * *");
    assert!(b["data"].get("rotation_period").is_none(), "{b}");

    env.at(NOW + 39);
    assert_eq!(env.sweep().await.due_jobs, 0, "never early");
    assert_eq!(env.svc_pw(), first);
    env.at(NOW + 40);
    assert_eq!(env.sweep().await.due_jobs, 1);
    let second = env.svc_pw();
    assert_ne!(second, first);
    let d = env.static_creds().await;
    assert_eq!((&d["password"], &d["ttl"]), (&json!(second), &json!(60)));
    assert_eq!(env.sweep().await.due_jobs, 0, "rotated once");
    // Three schedule times missed (no window): one rotation, then the next minute.
    env.at(NOW + 40 + 200);
    assert_eq!(env.sweep().await.due_jobs, 1);
    assert_eq!(env.static_creds().await["ttl"], 40);
}

#[tokio::test]
async fn a_rotation_missed_outside_its_window_waits_for_the_next_schedule_time() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_scheduled("0 23 * * *", Some(3600)).await;
    assert_eq!(s, 204, "{b}");
    let first = env.svc_pw();
    let d = env.static_creds().await;
    assert_eq!(
        (&d["ttl"], &d["rotation_window"]),
        (&json!(TO_23H), &json!(3600))
    );

    // The sweeper did not run from 23:00 to 00:00: the window closed.
    env.at(NOW + TO_23H + 3600);
    let report = env.sweep().await;
    assert_eq!((report.due_jobs, report.skipped), (0, 1), "{report:?}");
    assert_eq!(env.svc_pw(), first, "not rotated outside the window");
    let d = env.static_creds().await;
    assert_eq!(d["ttl"], 86_400 - 3600, "until 23:00 the next day");
    env.at(NOW + TO_23H + 3601);
    assert_eq!(
        env.sweep().await.skipped,
        0,
        "filed at the next schedule time"
    );

    // Inside the next window (late, but open): rotated.
    env.at(NOW + TO_23H + 86_400 + 3599);
    assert_eq!(env.sweep().await.due_jobs, 1);
    assert_ne!(env.svc_pw(), first);
    let r = env.static_role().await;
    assert_eq!(r.last_rotation, NOW + TO_23H + 86_400 + 3599);
    assert_eq!(
        r.next_rotation(r.last_rotation),
        NOW + TO_23H + 2 * 86_400,
        "the next schedule time after the rotation"
    );
}

#[tokio::test]
async fn switching_between_period_and_schedule_refiles_the_next_rotation() {
    let env = Env::new().await;
    env.static_setup().await;
    let (s, b) = env.write_svc(&env.app()).await;
    assert_eq!(s, 204, "{b}");
    let first = env.svc_pw();
    assert_eq!(env.static_creds().await["ttl"], 3600);

    // Refused updates change nothing.
    let before = env.static_role().await;
    for (body, want) in [
        (
            json!({"rotation_window": 7200}),
            "invalid with use of rotation_period",
        ),
        (
            json!({"rotation_schedule": "0 0 31 2 *"}),
            "could not parse rotation_schedule",
        ),
        (
            json!({"rotation_schedule": "0 23 * * *", "rotation_window": 60}),
            "must be 3600 seconds or more",
        ),
    ] {
        env.static_write_refused(body, want).await;
    }
    assert_eq!(env.static_role().await, before);

    // To a schedule: due at 23:00, before the period's NOW + 3600.
    let (s, b) = env.write_scheduled("0 23 * * *", None).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(env.svc_pw(), first, "an update does not rotate");
    let d = env.static_creds().await;
    assert_eq!(
        (&d["ttl"], d.get("rotation_period")),
        (&json!(TO_23H), None)
    );
    // A window alone updates a scheduled role's window.
    let (s, b) = env
        .call(
            "POST",
            "database/static-roles/svc",
            json!({"rotation_window": "2h"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(env.static_creds().await["rotation_window"], 7200);
    env.at(NOW + TO_23H);
    assert_eq!(env.sweep().await.due_jobs, 1, "rotated at 23:00");
    let second = env.svc_pw();
    assert_ne!(second, first);

    // Back to a period: schedule and window are gone, due a period after 23:00.
    let (s, b) = env
        .call(
            "POST",
            "database/static-roles/svc",
            json!({"rotation_period": 600}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let d = env.static_creds().await;
    assert_eq!(
        (&d["ttl"], &d["rotation_period"]),
        (&json!(600), &json!(600))
    );
    assert!(d.get("rotation_schedule").is_none() && d.get("rotation_window").is_none());
    env.at(NOW + TO_23H + 600);
    assert_eq!(env.sweep().await.due_jobs, 1);
    assert_ne!(env.svc_pw(), second);
}
