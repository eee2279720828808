//! The database engine under concurrency: dynamic credentials issued (issue function)
//! while leases are renewed, revoked and swept, and tokens revoked; a static role whose
//! `rotation_period` falls due during the schedule, rotated by hand (`rotate-role`,
//! admin) while the sweepers rotate it; the root password rotated (`rotate-root`). Every
//! database call may kill its operation, be refused before connecting, or commit and
//! lose its answer ([`crate::ports::SimDatabase`]).
//!
//! Checks:
//! - `db-creds-work` (when each answers): dynamic credentials handed out log in with the
//!   password they came with;
//! - `db-user-has-lease` (after the recovery): every database user Sigil created belongs
//!   to a lease still held (an irrevocable one): none is orphaned by a crash between the
//!   write-ahead lease and the user, or by a revocation that died;
//! - `static-creds-work` (after the recovery): the password `static-creds` returns logs
//!   in as the static role's user;
//! - `static-settled` (after the recovery): the static role holds no pending password
//!   and is not overdue;
//! - `db-root-usable` (after the recovery): the engine still logs in as root (a
//!   `rotate-root` that died between the database and the store settles on the password
//!   that works), shown by one more credential issued.

use std::sync::Arc;

use serde_json::{Value, json};
use sigil::clock::Clock;
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::{Issued, Shared};
use crate::world::{LEASE_MAX, LEASE_TTL, World, request};

/// The database mount's path.
pub const MOUNT: &str = "database";
/// The connection's name.
pub const DB: &str = "db";
/// The dynamic role.
pub const ROLE: &str = "dyn";
/// The static role, and the database user it manages (created before the role).
pub const STATIC_ROLE: &str = "svc";
/// The static role's user.
pub const STATIC_USER: &str = "svc_user";
/// The root password the database starts with.
pub const ROOT_PASSWORD: &str = "sim-root-password";
/// The static role's `rotation_period`, seconds: short enough to fall due during a
/// schedule's clock jumps.
pub const PERIOD: i64 = 40;

/// The path of `rest` on the mount, with `/v1/`.
fn path(rest: &str) -> String {
    format!("/v1/{MOUNT}/{rest}")
}

/// Enables the mount and writes the connection, the dynamic role and the static role
/// (rotated once at creation), faults off.
pub async fn setup(world: &World, root: &str) {
    for (p, body) in [
        (
            "/v1/sys/mounts/database".to_owned(),
            json!({"type": "database"}),
        ),
        (
            path(&format!("config/{DB}")),
            json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": "postgresql://{{username}}:{{password}}@db.sim:5432/app",
                "username": "root",
                "password": ROOT_PASSWORD,
                "allowed_roles": "*",
            }),
        ),
        (
            path(&format!("roles/{ROLE}")),
            json!({
                "db_name": DB,
                "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                "default_ttl": LEASE_TTL,
                "max_ttl": LEASE_MAX,
            }),
        ),
        (
            path(&format!("static-roles/{STATIC_ROLE}")),
            json!({"db_name": DB, "username": STATIC_USER, "rotation_period": PERIOD}),
        ),
    ] {
        let r = world
            .call(Function::Admin, request("POST", &p, Some(root), Some(body)))
            .await;
        assert!(r.status < 300, "setup {p}: {r:?}");
    }
}

/// The credential's username and password in an answer's `data`.
fn user_and_password(body: &Value) -> Option<(String, String)> {
    Some((
        body["data"]["username"].as_str()?.to_owned(),
        body["data"]["password"].as_str()?.to_owned(),
    ))
}

/// Builds a database operation: dynamic credentials (half), a static-creds read, a
/// `rotate-role` or a `rotate-root`.
pub fn build(
    rng: &mut fastrand::Rng,
    world: &Arc<World>,
    model: &Shared,
    token: String,
) -> crate::ops::Op {
    let w = world.clone();
    let m = model.clone();
    match rng.u32(0..10) {
        0..=4 => (
            "database creds".to_owned(),
            Box::pin(async move {
                let r = w
                    .call(
                        Function::Issue,
                        request("GET", &path(&format!("creds/{ROLE}")), Some(&token), None),
                    )
                    .await;
                if r.status != 200 {
                    return;
                }
                let body = r.body.unwrap_or_default();
                let mut m = m.borrow_mut();
                let answered = m.tick();
                let lease_id = body["lease_id"].as_str().unwrap_or_default().to_owned();
                let works = user_and_password(&body).is_some_and(|(user, password)| {
                    w.db.user(&user)
                        .is_some_and(|u| u.password.as_deref() == Some(password.as_str()))
                });
                // A revocation of the token racing the issue may remove the user
                // before the answer: only a token never sent to revocation is held
                // to it.
                if !works && !m.revoke_attempts.contains(&token) {
                    m.database.broken_creds.push(lease_id.clone());
                }
                m.leases.push(Issued {
                    lease_id,
                    token,
                    answered,
                });
            }),
        ),
        5 | 6 => admin_op(
            "static-creds",
            "GET",
            format!("static-creds/{STATIC_ROLE}"),
            w,
            token,
        ),
        7 | 8 => admin_op(
            "rotate-role",
            "POST",
            format!("rotate-role/{STATIC_ROLE}"),
            w,
            token,
        ),
        _ => admin_op("rotate-root", "POST", format!("rotate-root/{DB}"), w, token),
    }
}

/// An operation that calls `rest` on the mount through the admin function and checks
/// nothing as it answers (the checks after the schedule judge what it did).
fn admin_op(
    name: &str,
    method: &'static str,
    rest: String,
    w: Arc<World>,
    token: String,
) -> crate::ops::Op {
    (
        format!("database {name}"),
        Box::pin(async move {
            let _ = w
                .call(
                    Function::Admin,
                    request(method, &path(&rest), Some(&token), None),
                )
                .await;
        }),
    )
}

/// What the database operations saw as they answered.
#[derive(Debug, Default)]
pub struct Log {
    /// Leases whose credentials did not log in when handed out.
    pub broken_creds: Vec<String>,
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// The checks after the recovery (faults off, every lease past its max TTL and swept).
/// Issues one more credential (`db-root-usable`), so it runs after every check that
/// counts leases.
pub async fn check(world: &World, log: &Log) -> Vec<Violation> {
    let mut out: Vec<Violation> = log
        .broken_creds
        .iter()
        .map(|id| {
            violation(
                "db-creds-work",
                format!("lease {id}: its credentials did not log in when handed out"),
            )
        })
        .collect();

    let owned: std::collections::BTreeSet<String> = crate::invariants::leases(world)
        .into_iter()
        .filter_map(|l| l.data.get(sigil::database::revoke::DATA_USERNAME).cloned())
        .collect();
    for user in world.db.users() {
        if user != STATIC_USER && !owned.contains(&user) {
            out.push(violation(
                "db-user-has-lease",
                format!("database user {user} has no lease"),
            ));
        }
    }

    let token = fresh_token(world).await;
    out.extend(static_creds_work(world, &token, "after the recovery").await);
    out.extend(static_settled(world).await);

    let r = world
        .call(
            Function::Issue,
            request("GET", &path(&format!("creds/{ROLE}")), Some(&token), None),
        )
        .await;
    if r.status != 200 {
        out.push(violation(
            "db-root-usable",
            format!("creds answered {} after the recovery", r.status),
        ));
    }
    out
}

/// A token allowed everything, minted now (the setup tokens may be revoked or expired).
async fn fresh_token(world: &World) -> String {
    let admin = world.app(Function::Admin);
    let minted = sigil::bootstrap::admin_token(
        admin.store.as_ref(),
        admin.limits(),
        3600,
        world.clock.now(),
    )
    .await
    .expect("a token for the checks");
    secrecy::ExposeSecret::expose_secret(&minted.token).to_owned()
}

/// `static-creds-work`: `static-creds` (which settles a rotation left pending) answers
/// the password the static role's user logs in with.
async fn static_creds_work(world: &World, token: &str, when: &str) -> Vec<Violation> {
    let r = world
        .call(
            Function::Admin,
            request(
                "GET",
                &path(&format!("static-creds/{STATIC_ROLE}")),
                Some(token),
                None,
            ),
        )
        .await;
    let served = r
        .body
        .as_ref()
        .and_then(|b| b["data"]["password"].as_str())
        .map(str::to_owned);
    let actual = world.db.user(STATIC_USER).and_then(|u| u.password);
    if r.status == 200 && served.is_some() && served == actual {
        return Vec::new();
    }
    vec![violation(
        "static-creds-work",
        format!(
            "{when}: static-creds answered {} with a password that {} log in",
            r.status,
            if served.is_some() && served == actual {
                "does"
            } else {
                "does not"
            }
        ),
    )]
}

/// Right after the schedule (faults off, no sweep): `static-creds` answers a password
/// that logs in, whatever rotation the schedule interrupted.
pub async fn check_after_schedule(world: &World) -> Vec<Violation> {
    let token = fresh_token(world).await;
    static_creds_work(world, &token, "after the schedule").await
}

/// `static-settled`: the stored role has no pending password and its next rotation is
/// in the future.
async fn static_settled(world: &World) -> Vec<Violation> {
    let app = world.app(Function::Admin);
    let now = world.clock.now();
    let table = app
        .mounts
        .reload(app.store.as_ref(), now)
        .await
        .expect("mount table")
        .0;
    let entry = table
        .get(sigil::mounts::Table::Secrets, &format!("{MOUNT}/"))
        .expect("the database mount")
        .clone();
    let mount = sigil::database::Mount {
        prefix: &entry.storage,
        name: entry.name(),
    };
    match sigil::database::static_roles::read(app.store.as_ref(), mount, STATIC_ROLE).await {
        Ok(Some(role)) if role.pending.is_none() && role.next_rotation(now) > now => Vec::new(),
        Ok(Some(role)) => vec![violation(
            "static-settled",
            format!(
                "static role: pending {}, next rotation {} s from now",
                role.pending.is_some(),
                role.next_rotation(now) - now
            ),
        )],
        other => vec![violation(
            "static-settled",
            format!("static role unreadable: {:?}", other.map(|r| r.is_some())),
        )],
    }
}
