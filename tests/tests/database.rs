//! The database secrets engine against the local stack's real PostgreSQL
//! (`SIGIL_POSTGRES_URL`, localstack/up): a dynamic user logs in and can do what its
//! creation statements grant and nothing more; revocation, and expiry plus one sweep,
//! drop it from `pg_roles` and close its sessions; after `rotate-root` the old root
//! password is refused and the engine still works; a crash after each step leaves no
//! user without a lease after the next sweep; hostile names and templates run nothing
//! unintended; a static role rotates on schedule (the sweeper after its period: the old
//! password is refused, `static-creds` logs in) and at once on `rotate-role`, and a
//! crash after each rotation step leaves one working password after the next sweep;
//! a static role on a cron `rotation_schedule` rotates at each schedule time, and one
//! whose `rotation_window` passed without a sweep waits for the next schedule time.
//! Over TLS (the stack's PostgreSQL has it on, with a test CA: `SIGIL_POSTGRES_CA`),
//! `sslmode=verify-full` with that CA as `tls_ca` issues users over an encrypted
//! session, and another CA, or `require` without a CA, is refused with nothing stored.
//! Each test has its own root user (a superuser it creates), table and
//! roles, so tests do not see each other's users.

use std::sync::Arc;

use serde_json::{Value, json};
use sigil::Function;
use sigil::database::engine::Engine;
use sigil::database::failpoints::{CrashAfter, Step};
use sigil_tests::{Fixture, request, unique};
use tokio_postgres::{Client, NoTls};

fn url() -> String {
    std::env::var("SIGIL_POSTGRES_URL")
        .expect("SIGIL_POSTGRES_URL (localstack/up writes it to .sigil/stack.env)")
}

/// `host:port/db` of the stack's URL.
fn host_part() -> String {
    url().split_once('@').expect("user@host").1.to_owned()
}

async fn connect_as(user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let mut cfg: tokio_postgres::Config = format!("postgres://{}", host_part()).parse().unwrap();
    cfg.user(user).password(password);
    let (client, conn) = cfg.connect(NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

async fn admin() -> Client {
    let (client, conn) = tokio_postgres::connect(&url(), NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn roles_like(prefix: &str) -> Vec<String> {
    admin()
        .await
        .query(
            "SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1",
            &[&prefix],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A test's world: a fixture with a database mount, a root superuser of its own, a
/// table with one row, a connection `pg` and a role `{role}` that may read the table.
struct World {
    f: Fixture,
    clock: Arc<sigil::clock::ManualClock>,
    root_user: String,
    root_password: String,
    table: String,
    role: String,
}

impl World {
    async fn new() -> World {
        let (f, clock) = Fixture::manual().await;
        let tag = unique("db").replace('-', "_");
        let root_user = format!("root_{tag}");
        let root_password = format!("pw-{tag}");
        let table = format!("t_{tag}");
        let a = admin().await;
        a.batch_execute(&format!(
            "CREATE ROLE \"{root_user}\" SUPERUSER LOGIN PASSWORD '{root_password}';
             CREATE TABLE \"{table}\" (v text); INSERT INTO \"{table}\" VALUES ('row-1');"
        ))
        .await
        .unwrap();
        let w = World {
            f,
            clock,
            root_user,
            root_password,
            table,
            role: format!("r{}", &tag[3..11]),
        };
        let (s, b) = w
            .call(
                "POST",
                "/v1/sys/mounts/database",
                json!({"type": "database"}),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        w.configure(json!({})).await;
        let (s, b) = w
            .call(
                "POST",
                &format!("/v1/database/roles/{}", w.role),
                json!({
                    "db_name": "pg",
                    "creation_statements": [format!(
                        "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}'; GRANT SELECT ON \"{}\" TO \"{{{{name}}}}\";",
                        w.table
                    )],
                    "default_ttl": "10m",
                    "max_ttl": "1h",
                }),
            )
            .await;
        assert_eq!(s, 204, "{b}");
        w
    }

    async fn configure(&self, extra: Value) {
        let (s, b) = self.write_config("pg", extra).await;
        assert_eq!(s, 204, "{b}");
    }

    /// Writes connection `name` as the test's root user (plain TCP unless `extra`
    /// says otherwise).
    async fn write_config(&self, name: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!("postgres://{{{{username}}}}:{{{{password}}}}@{}?sslmode=disable", host_part()),
            "username": self.root_user,
            "password": self.root_password,
            "allowed_roles": "*",
            "username_template": "{{ printf \"%s_%s\" .RoleName (random 8) }}",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.call("POST", &format!("/v1/database/config/{name}"), body)
            .await
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let body = (!body.is_null()).then_some(body);
        self.f.call(method, path, Some(&self.f.admin), body).await
    }

    async fn creds(&self) -> (String, String, String) {
        let (s, b) = self
            .call(
                "GET",
                &format!("/v1/database/creds/{}", self.role),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        sigil_tests::seen_json(&b);
        (
            b["data"]["username"].as_str().unwrap().to_owned(),
            b["data"]["password"].as_str().unwrap().to_owned(),
            b["lease_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes a lease through `sys/leases/revoke` (204).
    async fn revoke(&self, lease_id: &str) {
        let (s, b) = self
            .call(
                "PUT",
                "/v1/sys/leases/revoke",
                json!({"lease_id": lease_id}),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }

    /// The user's session can read the table and not write it.
    async fn can_read_only(&self, user: &str, password: &str) -> Client {
        let c = connect_as(user, password).await.expect("the user logs in");
        let row = c
            .query_one(&format!("SELECT v FROM \"{}\"", self.table), &[])
            .await
            .expect("SELECT is granted");
        assert_eq!(row.get::<_, String>(0), "row-1");
        let err = c
            .batch_execute(&format!("INSERT INTO \"{}\" VALUES ('x')", self.table))
            .await
            .expect_err("INSERT is not granted");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
        );
        c
    }
}

async fn session_closed(c: &Client) -> bool {
    c.simple_query("SELECT 1").await.is_err()
}

#[tokio::test]
async fn creds_log_in_do_what_is_granted_and_revocation_drops_them() {
    let w = World::new().await;
    let (user, password, lease_id) = w.creds().await;
    assert!(user.starts_with(&format!("{}_", w.role)), "{user}");
    let session = w.can_read_only(&user, &password).await;
    assert_eq!(roles_like(&user).await, std::slice::from_ref(&user));

    w.clock.advance(60);
    let (s, b) = w
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            json!({"lease_id": lease_id, "increment": "30m"}),
        )
        .await;
    assert_eq!((s, b["lease_duration"].as_i64()), (200, Some(1800)), "{b}");
    let valid: String = admin()
        .await
        .query_one(
            "SELECT to_char(rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM pg_roles WHERE rolname = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    let expected = sigil::database::statements::expiration(
        sigil::clock::Clock::now(w.clock.as_ref()) + 1800 + 5,
    );
    assert_eq!(format!("{valid}+0000"), expected, "renew moved VALID UNTIL");

    w.revoke(&lease_id).await;
    assert!(roles_like(&user).await.is_empty(), "gone from pg_roles");
    assert!(session_closed(&session).await, "its session is closed");
    assert!(connect_as(&user, &password).await.is_err());
}

#[tokio::test]
async fn an_expired_user_is_dropped_by_one_sweep() {
    let w = World::new().await;
    let (user, password, _) = w.creds().await;
    let session = w.can_read_only(&user, &password).await;
    w.clock.advance(601);
    let report = w.f.sweep().await;
    assert_eq!(report.leases, 1, "{report:?}");
    assert!(roles_like(&user).await.is_empty(), "gone from pg_roles");
    assert!(session_closed(&session).await, "its session is closed");
}

#[tokio::test]
async fn after_rotate_root_the_old_password_is_refused_and_the_engine_works() {
    let w = World::new().await;
    let (s, b) = w
        .call("POST", "/v1/database/rotate-root/pg", Value::Null)
        .await;
    assert_eq!(s, 204, "{b}");
    let err = connect_as(&w.root_user, &w.root_password)
        .await
        .expect_err("the old root password is refused");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    let (user, password, lease_id) = w.creds().await;
    w.can_read_only(&user, &password).await;
    w.revoke(&lease_id).await;
    assert!(roles_like(&user).await.is_empty());
    let (_, b) = w.call("GET", "/v1/database/config/pg", Value::Null).await;
    assert!(!b.to_string().contains(&w.root_password), "{b}");
}

#[tokio::test]
async fn a_crash_after_each_step_leaves_no_user_after_one_sweep() {
    let w = World::new().await;
    for step in [Step::LeaseWritten, Step::UserCreated] {
        let mut issue = w.f.app(Function::Issue);
        issue.database = Arc::new(Engine {
            db: Arc::new(sigil::adapters::postgres::Postgres),
            failpoints: Arc::new(CrashAfter(step)),
        });
        let resp = issue
            .handle(request(
                "GET",
                &format!("/v1/database/creds/{}", w.role),
                Some(&w.f.admin),
                None,
            ))
            .await;
        assert_eq!(resp.status, 500, "{step:?}: {:?}", resp.body);
    }
    let prefix = format!("{}_", w.role);
    assert_eq!(
        roles_like(&prefix).await.len(),
        1,
        "the second crash left a user"
    );
    // A revocation that dies right after dropping its user: the lease remains.
    let (user, _, lease_id) = w.creds().await;
    let mut revoke = w.f.app(Function::Revoke);
    let engine = Engine {
        db: Arc::new(sigil::adapters::postgres::Postgres),
        failpoints: Arc::new(CrashAfter(Step::UserDropped)),
    };
    revoke.revokers = Arc::new(sigil::lease::Revokers::new().with(
        sigil::database::revoke::KIND_DB_USER,
        Arc::new(sigil::database::revoke::DbRevoker::new(
            revoke.store.clone(),
            revoke.keyring.clone(),
            &engine,
        )),
    ));
    let resp = revoke
        .handle(request(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(&w.f.admin),
            Some(json!({"lease_id": lease_id})),
        ))
        .await;
    assert_eq!(resp.status, 503, "{:?}", resp.body);
    assert!(roles_like(&user).await.is_empty());

    w.clock.advance(sigil::lease::PENDING_GRACE_SECS + 61);
    let report = w.f.sweep().await;
    assert_eq!(report.leases, 3, "{report:?}");
    assert!(
        roles_like(&prefix).await.is_empty(),
        "no database user without a lease"
    );
    let leases =
        w.f.scan()
            .await
            .iter()
            .filter(|i| i["pk"].as_s().unwrap().starts_with("lease/"))
            .count();
    assert_eq!(leases, 0, "no lease left");
}

#[tokio::test]
async fn hostile_names_and_templates_run_nothing_unintended() {
    let w = World::new().await;
    // A user name with quotes, a semicolon, a comment and a placeholder's text: it
    // becomes one role of exactly that name; the table survives.
    w.configure(json!({
        "username_template": "{{ printf \"%s\\\";DROP TABLE %s;--'{{password}}\" .RoleName \"x\" }}"
    }))
    .await;
    let (s, b) = w
        .call(
            "POST",
            &format!("/v1/database/roles/{}", w.role),
            json!({
                "creation_statements": [format!(
                    "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}'; COMMENT ON ROLE \"{{{{name}}}}\" IS 'a;b {{{{name}}}}'; GRANT SELECT ON \"{}\" TO {{{{name}}}};",
                    w.table
                )],
            }),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (user, password, lease_id) = w.creds().await;
    assert_eq!(
        user,
        format!("{}\";DROP TABLE x;--'{{{{password}}}}", w.role)
    );
    w.can_read_only(&user, &password).await;
    let comment: String = admin()
        .await
        .query_one(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        comment,
        format!("a;b {user}"),
        "one statement, the value as text"
    );
    w.revoke(&lease_id).await;
    assert!(roles_like(&user).await.is_empty());

    // Statements that would paste a value where it cannot be escaped, or name an
    // unknown placeholder, are refused when written.
    for stmt in [
        "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}' -- {{oops}}",
        "CREATE ROLE {{name}} WITH PASSWORD E'{{password}}",
    ] {
        let (s, b) = w
            .call(
                "POST",
                "/v1/database/roles/hostile",
                json!({"db_name": "pg", "creation_statements": [stmt]}),
            )
            .await;
        assert_eq!(s, 400, "{stmt}: {b}");
    }
    // A dollar-quoted body takes plain values only: the hostile user name is refused
    // at issue, and nothing is left behind.
    let (s, b) = w
        .call(
            "POST",
            "/v1/database/roles/dollar",
            json!({"db_name": "pg", "creation_statements": ["DO $$ BEGIN EXECUTE 'CREATE ROLE {{name}}'; END $$"]}),
        )
        .await;
    assert_eq!(s, 204, "a plain-placeholder dollar body is accepted: {b}");
    let (s, b) = w
        .call("GET", "/v1/database/creds/dollar", Value::Null)
        .await;
    assert_eq!(s, 400, "{b}");
    let tables: i64 = admin()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = $1",
            &[&w.table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "the table is still there");
}

impl World {
    /// A database user `svc_{tag}` that logs in with `orig-pw`, and a static role of
    /// the same name rotating it every 10 minutes (the fixture's token lasts an hour).
    /// Returns the name.
    async fn static_role(&self) -> String {
        self.static_role_with(json!({"rotation_period": "10m"}))
            .await
    }

    /// `static-creds/:name`'s password, which must log in and read the table.
    async fn static_password(&self, name: &str) -> String {
        let d = self.static_creds(name).await;
        assert_eq!(d["username"], name);
        let pw = d["password"].as_str().unwrap().to_owned();
        let c = connect_as(name, &pw).await.expect("static-creds logs in");
        c.query_one(&format!("SELECT v FROM \"{}\"", self.table), &[])
            .await
            .expect("the user's grants are untouched");
        pw
    }
}

impl World {
    /// Static role `name`, just written, was rotated when written, is not rotated by a
    /// sweep `due - 1` seconds later and is by one `due` seconds later, once: the old
    /// password is then refused. Returns the new password.
    async fn rotated_by_a_sweep_after(&self, name: &str, due: i64) -> String {
        assert!(refused(name, "orig-pw").await, "rotated when written");
        let first = self.static_password(name).await;
        self.clock.advance(due - 1);
        assert_eq!(self.f.sweep().await.due_jobs, 0, "never early");
        assert_eq!(self.static_password(name).await, first);
        self.clock.advance(1);
        let report = self.f.sweep().await;
        assert_eq!(report.due_jobs, 1, "{report:?}");
        assert!(
            refused(name, &first).await,
            "the old password stops working"
        );
        let second = self.static_password(name).await;
        assert_ne!(second, first);
        assert_eq!(self.f.sweep().await.due_jobs, 0, "rotated once");
        second
    }
}

async fn refused(user: &str, password: &str) -> bool {
    connect_as(user, password)
        .await
        .is_err_and(|e| e.code() == Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD))
}

#[tokio::test]
async fn a_static_role_rotates_on_schedule_and_rotate_role_at_once() {
    let w = World::new().await;
    let name = w.static_role().await;
    let second = w.rotated_by_a_sweep_after(&name, 600).await;

    let (s, b) = w
        .call(
            "POST",
            &format!("/v1/database/rotate-role/{name}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(refused(&name, &second).await);
    let third = w.static_password(&name).await;
    assert_ne!(third, second);
}

#[tokio::test]
async fn a_crash_after_each_static_rotation_step_leaves_one_working_password() {
    let w = World::new().await;
    let name = w.static_role().await;
    for step in [Step::StaticPendingStored, Step::StaticAltered] {
        let before = w.static_password(&name).await;
        let mut app = w.f.app(Function::Admin);
        app.database = Arc::new(Engine {
            db: Arc::new(sigil::adapters::postgres::Postgres),
            failpoints: Arc::new(CrashAfter(step)),
        });
        let resp = app
            .handle(request(
                "POST",
                &format!("/v1/database/rotate-role/{name}"),
                Some(&w.f.admin),
                None,
            ))
            .await;
        assert_eq!(resp.status, 500, "{step:?}: {:?}", resp.body);
        assert_eq!(
            refused(&name, &before).await,
            step == Step::StaticAltered,
            "{step:?}"
        );
        // The next scheduled run settles it (the pending write filed the role due; a
        // pending password that does not log in waits until its ALTER ROLE cannot land).
        w.clock.advance(if step == Step::StaticPendingStored {
            sigil::database::IN_FLIGHT_SECS
        } else {
            1
        });
        let report = w.f.sweep().await;
        assert_eq!(report.due_jobs, 1, "{step:?}: {report:?}");
        let after = w.static_password(&name).await;
        assert_eq!(
            after == before,
            step == Step::StaticPendingStored,
            "{step:?}"
        );
    }
}

impl World {
    /// A database user `svc_{tag}` that logs in with `orig-pw`, and a static role of
    /// the same name on `rotation` (extra fields of the write). Returns the name.
    async fn static_role_with(&self, rotation: Value) -> String {
        let name = format!("svc_{}", &self.table[2..]);
        admin()
            .await
            .batch_execute(&format!(
                "CREATE ROLE \"{name}\" LOGIN PASSWORD 'orig-pw'; GRANT SELECT ON \"{}\" TO \"{name}\";",
                self.table
            ))
            .await
            .unwrap();
        let mut body = json!({"db_name": "pg", "username": name});
        body.as_object_mut()
            .unwrap()
            .extend(rotation.as_object().unwrap().clone());
        let (s, b) = self
            .call("POST", &format!("/v1/database/static-roles/{name}"), body)
            .await;
        assert_eq!(s, 204, "{b}");
        name
    }

    /// `static-creds/:name`'s data.
    async fn static_creds(&self, name: &str) -> Value {
        let (s, b) = self
            .call(
                "GET",
                &format!("/v1/database/static-creds/{name}"),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        sigil_tests::seen_json(&b);
        b["data"].clone()
    }

    /// A fresh admin token at the clock's time (the fixture's lasts an hour).
    async fn fresh_admin(&mut self) {
        let app = self.f.app(Function::Admin);
        let now = sigil::clock::Clock::now(self.clock.as_ref());
        let minted = sigil::bootstrap::admin_token(app.store.as_ref(), app.limits(), 3600, now)
            .await
            .expect("admin token");
        self.f.admin = secrecy::ExposeSecret::expose_secret(&minted.token).to_owned();
    }

    fn now(&self) -> i64 {
        sigil::clock::Clock::now(self.clock.as_ref())
    }
}

#[tokio::test]
async fn a_static_role_on_a_cron_schedule_rotates_at_each_schedule_time() {
    let w = World::new().await;
    let name = w
        .static_role_with(json!({"rotation_schedule": "* * * * *"}))
        .await;
    let d = w.static_creds(&name).await;
    let to_next_minute = 60 - w.now() % 60;
    assert_eq!(d["rotation_schedule"], "* * * * *");
    assert_eq!(d["ttl"], to_next_minute, "{d}");
    w.rotated_by_a_sweep_after(&name, to_next_minute).await;
    assert_eq!(w.static_creds(&name).await["ttl"], 60);
}

#[tokio::test]
async fn a_scheduled_rotation_that_missed_its_window_waits_for_the_next_schedule_time() {
    let mut w = World::new().await;
    // Daily, at the whole minute ten minutes from now (UTC), with a one-hour window.
    let at = (w.now() / 60 + 10) * 60;
    let schedule = format!("{} {} * * *", at / 60 % 60, at / 3600 % 24);
    let name = w
        .static_role_with(json!({"rotation_schedule": schedule, "rotation_window": "1h"}))
        .await;
    let first = w.static_password(&name).await;
    let d = w.static_creds(&name).await;
    assert_eq!(
        (&d["ttl"], &d["rotation_window"]),
        (&json!(at - w.now()), &json!(3600))
    );

    // No sweeper run from the schedule time to the end of its window.
    w.clock.advance(at + 3600 - w.now());
    let report = w.f.sweep().await;
    assert_eq!(report.skipped, 1, "{report:?}");
    assert!(
        !refused(&name, &first).await,
        "not rotated outside its window"
    );
    w.fresh_admin().await;
    assert_eq!(
        w.static_creds(&name).await["ttl"],
        86_400 - 3600,
        "until tomorrow's time"
    );
    w.clock.advance(1);
    let report = w.f.sweep().await;
    assert_eq!(
        report.skipped, 0,
        "filed at the next schedule time: {report:?}"
    );

    // Late inside the next window: rotated.
    w.clock.advance(86_400 - 3600 + 120 - 1);
    w.fresh_admin().await;
    let report = w.f.sweep().await;
    assert!(report.due_jobs >= 1, "{report:?}");
    assert!(
        refused(&name, &first).await,
        "the old password stops working"
    );
    let second = w.static_password(&name).await;
    assert_ne!(second, first);
    assert_eq!(
        w.static_creds(&name).await["ttl"],
        86_400 - 120,
        "tomorrow's time"
    );
}

impl World {
    /// Writing connection `name` with `extra` is refused with 400 naming each of
    /// `want`, and what is stored under `name` (or its absence) stays.
    async fn config_refused(&self, name: &str, extra: Value, want: &[&str]) {
        let path = format!("/v1/database/config/{name}");
        let before = self.call("GET", &path, Value::Null).await;
        let (s, b) = self.write_config(name, extra).await;
        assert_eq!(s, 400, "{b}");
        let e = b["errors"][0].as_str().unwrap();
        assert!(want.iter().all(|w| e.contains(w)), "{e}");
        assert!(!e.contains(&self.root_password), "{e}");
        let after = self.call("GET", &path, Value::Null).await;
        assert_eq!((after.0, &after.1["data"]), (before.0, &before.1["data"]));
    }
}

/// The stack's test CA (localstack/up: it signed the server's certificate for
/// 127.0.0.1 and localhost).
fn stack_ca() -> String {
    let path = std::env::var("SIGIL_POSTGRES_CA")
        .expect("SIGIL_POSTGRES_CA (localstack/up writes it to .sigil/stack.env)");
    std::fs::read_to_string(path).expect("the stack's CA")
}

/// A CA that did not sign the server's certificate.
fn other_ca() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sigil local test CA");
    params
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem()
}

/// A connection URL to the stack's PostgreSQL at `host` with `sslmode`.
fn tls_url(host: &str, sslmode: &str) -> String {
    let rest = host_part().replacen("127.0.0.1", host, 1);
    format!("postgres://{{{{username}}}}:{{{{password}}}}@{rest}?sslmode={sslmode}")
}

#[tokio::test]
async fn over_tls_verified_against_tls_ca_creds_work_and_a_wrong_ca_is_refused() {
    let w = World::new().await;
    // Each creation records how its session is encrypted.
    let seen = format!("{}_tls", w.table);
    admin()
        .await
        .batch_execute(&format!("CREATE TABLE \"{seen}\" (n serial, v text)"))
        .await
        .unwrap();
    let (s, b) = w
        .call(
            "POST",
            "/v1/database/roles/tls",
            json!({
                "db_name": "pg",
                "creation_statements": [
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                    format!("INSERT INTO \"{seen}\" (v) SELECT ssl::text || ' ' || coalesce(version, '-') FROM pg_stat_ssl WHERE pid = pg_backend_pid();"),
                ],
            }),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let sessions = || async {
        admin()
            .await
            .query(&format!("SELECT v FROM \"{seen}\" ORDER BY n"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };

    // verify-full against the stack's CA, by name and by IP address; `prefer` uses TLS
    // with a CA only.
    let ca = stack_ca();
    for (host, mode, tls_ca, want) in [
        ("localhost", "verify-full", ca.as_str(), "true TLSv1.3"),
        ("127.0.0.1", "verify-full", &ca, "true TLSv1.3"),
        ("127.0.0.1", "prefer", &ca, "true TLSv1.3"),
        ("127.0.0.1", "prefer", "", "false -"),
    ] {
        let (s, b) = w
            .write_config(
                "pg",
                json!({"connection_url": tls_url(host, mode), "tls_ca": tls_ca}),
            )
            .await;
        assert_eq!(s, 204, "{host} {mode}: {b}");
        let (s, b) = w.call("GET", "/v1/database/creds/tls", Value::Null).await;
        assert_eq!(s, 200, "{b}");
        let (user, password) = (&b["data"]["username"], &b["data"]["password"]);
        connect_as(user.as_str().unwrap(), password.as_str().unwrap())
            .await
            .expect("the user logs in");
        assert_eq!(sessions().await.last().unwrap(), want, "{host} {mode}");
    }
    let verified = json!({"connection_url": tls_url("127.0.0.1", "verify-full"), "tls_ca": ca});
    assert_eq!(w.write_config("pg", verified).await.0, 204);

    // A CA that did not sign the server's certificate: refused, nothing changes.
    for name in ["pg", "pg_other"] {
        let wrong =
            json!({"connection_url": tls_url("127.0.0.1", "verify-full"), "tls_ca": other_ca()});
        w.config_refused(name, wrong, &["certificate", "tls_ca"])
            .await;
    }
    // `require` verifies as `verify-full` does: without a CA it is refused.
    let no_ca = json!({"connection_url": tls_url("127.0.0.1", "require")});
    w.config_refused("pg_require", no_ca, &["no tls_ca"]).await;
    let (s, b) = w
        .write_config(
            "pg_require",
            json!({"connection_url": tls_url("127.0.0.1", "require"), "tls_ca": stack_ca()}),
        )
        .await;
    assert_eq!(s, 204, "{b}");

    // Stored unverified, a wrong CA fails issuing with the reason (400, not a 503).
    let (s, b) = w
        .write_config(
            "pg",
            json!({"connection_url": tls_url("127.0.0.1", "verify-full"), "tls_ca": other_ca(), "verify_connection": false}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = w.call("GET", "/v1/database/creds/tls", Value::Null).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("TLS certificate was refused"), "{b}");
    assert_eq!(sessions().await.len(), 4, "no creation");
}
