//! Static roles (`{mount}/static-roles/:name`, OpenBao's `path_roles.go` static parts,
//! `path_creds_create.go` `static-creds`, `path_rotate_credentials.go` `rotate-role` and
//! `rotation.go`): an existing database user whose password Sigil rotates every
//! `rotation_period` seconds (OpenBao's minimum: 5), or at the times of a
//! `rotation_schedule` (cron, UTC) within an optional `rotation_window` (Vault 1.15+;
//! [`super::schedule`]), with `rotation_statements` (default [`DEFAULT_ROTATION`]).
//! Writing a new static role rotates its password at once, as OpenBao does.
//!
//! One item per static role (partition [`Mount::static_roles_partition`], sort key the
//! name) holds the settings, the current password sealed under the keyring (associated
//! data naming the mount, role and purpose), a revision `rev` every rotation step
//! advances by one (conditional writes on it: two sweepers rotate once), and the
//! expiry-index attributes of its next rotation ([`crate::due::due_attrs`], no TTL), so
//! the sweeper hands it to [`StaticRotate`] when due: never a scan.
//!
//! Crash safety (write-ahead, as [`super::config::rotate_root`]): a rotation seals the
//! new password and stores it as `pending` (and files the role as due now) before the
//! `ALTER ROLE`; afterwards the pending password becomes current and the next due time
//! is written. A run (sweeper, `static-creds`, `rotate-role`) that finds a pending
//! password logs in as the user with it, then with the current one, and keeps the one
//! that works ([`settle`]); a crash at any step leaves one working password. A pending
//! password that does not log in is dropped only once it is older than
//! [`super::IN_FLIGHT_SECS`] (until then its `ALTER ROLE` may still land: the role is
//! "being rotated", `static-creds` answers the current password, `rotate-role` refuses
//! and the sweeper looks again when the bound passes). A rotation the database refused
//! outright (a statement or authentication error: nothing changed) drops its pending
//! password at once.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};

use super::Mount;
use super::config::{
    self, ConnectionConfig, DbCallError, db_call_error, open_password, sealed_of, statement_list,
    with_root,
};
use super::failpoints::{Failpoints, Step, crashed};
use super::port::{DatabaseApi, DbError};
use super::roles::{MAX_STATEMENT_LEN, MAX_STATEMENTS};
use super::schedule::{MIN_WINDOW, Schedule};
use super::statements::{self, Kind, Values};
use crate::due::{DueJob, DueOutcome, due_attrs};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::keyring::{Keyring, Sealed};
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, StoreError, Update, Value, Write, new_item,
    query_sort_keys,
};

/// Partition-key prefix of the items [`StaticRotate`] handles (static roles only carry
/// due attributes under it).
pub const PK_PREFIX: &str = "database/";
/// OpenBao's default password change for PostgreSQL static roles.
pub const DEFAULT_ROTATION: &str = "ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}'";
/// OpenBao's shortest `rotation_period` (its queue tick), seconds.
pub const MIN_ROTATION_PERIOD: i64 = 5;
/// Seconds until a role whose rotation failed is tried again by the sweeper.
pub const RETRY_SECS: i64 = 60;

const A_DB: &str = "db_name";
const A_USERNAME: &str = "username";
const A_PERIOD: &str = "rotation_period";
const A_SCHEDULE: &str = "rotation_schedule";
const A_WINDOW: &str = "rotation_window";
const A_STATEMENTS: &str = "rotation_statements";
const A_PASSWORD: &str = "password";
const A_PASSWORD_V: &str = "password_v";
const A_PENDING: &str = "pending_password";
const A_PENDING_V: &str = "pending_password_v";
const A_PENDING_AT: &str = "pending_at";
const A_LAST: &str = "last_rotation";
const A_REV: &str = "rev";

/// One static role as stored. `Debug` shows no password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticRole {
    /// The connection's name.
    pub db_name: String,
    /// The database user (exists before the role; never created or dropped by Sigil).
    pub username: String,
    /// Seconds between rotations (>= [`MIN_ROTATION_PERIOD`]); 0 when the role
    /// rotates on a schedule.
    pub rotation_period: i64,
    /// The cron schedule of rotations (UTC), instead of a period.
    pub rotation_schedule: Option<Schedule>,
    /// Seconds after each schedule time in which a rotation may start (>=
    /// [`MIN_WINDOW`]; 0: no window, a late rotation runs whenever it can).
    pub rotation_window: i64,
    /// Statements changing the password (`{{name}}`/`{{username}}`, `{{password}}`;
    /// empty: [`DEFAULT_ROTATION`]).
    pub rotation_statements: Vec<String>,
    /// The current password, sealed (absent before the first rotation completed).
    pub password: Option<Sealed>,
    /// A new password stored before the database was changed.
    pub pending: Option<Sealed>,
    /// Unix seconds the pending password was stored at (0: none).
    pub pending_at: i64,
    /// Unix seconds of the last completed rotation (0: none).
    pub last_rotation: i64,
    /// Revision: advanced by every write (condition of the next).
    pub rev: i64,
}

impl std::fmt::Debug for StaticRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticRole")
            .field("db_name", &self.db_name)
            .field("username", &self.username)
            .field("rotation_period", &self.rotation_period)
            .field(
                "rotation_schedule",
                &self.rotation_schedule.as_ref().map(Schedule::as_str),
            )
            .field("rotation_window", &self.rotation_window)
            .field("pending", &self.pending.is_some())
            .field("rev", &self.rev)
            .finish_non_exhaustive()
    }
}

impl StaticRole {
    /// Unix seconds of the next rotation as seen at `now` (Unix seconds): the last
    /// rotation plus the period; on a schedule, the first schedule time after the last
    /// rotation (0 before the first rotation: due at once), unless that time has
    /// passed and its `rotation_window` closed: then the rotation was missed and waits
    /// for the first schedule time after `now` (Vault's `rotation.go`).
    pub fn next_rotation(&self, now: i64) -> i64 {
        let Some(s) = &self.rotation_schedule else {
            return self.last_rotation + self.rotation_period;
        };
        if self.last_rotation == 0 {
            return 0;
        }
        // A valid schedule fires within 8 years (checked when written); the fallback
        // only re-checks a year later.
        let after = |t: i64| s.next_after(t).unwrap_or(now + 366 * 86_400);
        let t = after(self.last_rotation);
        if t <= now && !s.window_open(now, self.rotation_window) {
            after(now)
        } else {
            t
        }
    }

    /// Whether a scheduled rotation was missed at `now`: its schedule time passed
    /// with its window closed (the role waits for the next schedule time).
    pub fn missed(&self, now: i64) -> bool {
        self.rotation_schedule.is_some() && self.last_rotation > 0 && {
            let next = self.next_rotation(now);
            next > now && self.next_rotation(self.last_rotation) <= now
        }
    }

    /// The rotation settings as Vault answers them: `rotation_period` (seconds), or
    /// `rotation_schedule` and, when set, `rotation_window` (seconds).
    fn rotation_json(&self, v: &mut Json) {
        match &self.rotation_schedule {
            None => v["rotation_period"] = self.rotation_period.into(),
            Some(s) => {
                v["rotation_schedule"] = s.as_str().into();
                if self.rotation_window > 0 {
                    v["rotation_window"] = self.rotation_window.into();
                }
            }
        }
    }

    /// Unix seconds until which the pending password's `ALTER ROLE` may still land
    /// ([`super::IN_FLIGHT_SECS`] after it was stored).
    pub fn in_flight_until(&self) -> i64 {
        self.pending_at.saturating_add(super::IN_FLIGHT_SECS)
    }

    /// OpenBao's read: `db_name`, `username`, `rotation_statements`,
    /// `rotation_period` (seconds) or Vault's `rotation_schedule` and
    /// `rotation_window` (seconds, when set), `credential_type`,
    /// `last_vault_rotation` (RFC 3339, once rotated).
    pub fn to_json(&self) -> Json {
        let mut v = json!({
            "db_name": self.db_name,
            "username": self.username,
            "rotation_statements": self.rotation_statements,
            "credential_type": "password",
        });
        self.rotation_json(&mut v);
        if self.last_rotation > 0 {
            v["last_vault_rotation"] = crate::clock::rfc3339(self.last_rotation).into();
        }
        v
    }

    fn statements(&self) -> Vec<String> {
        if self.rotation_statements.is_empty() {
            vec![DEFAULT_ROTATION.to_owned()]
        } else {
            self.rotation_statements.clone()
        }
    }
}

fn key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.static_roles_partition(), name)
}

fn aad<'a>(m: Mount<'a>, name: &'a str) -> [&'a str; 4] {
    ["database", m.prefix, name, "static-password"]
}

fn from_item(item: &Item) -> Result<StaticRole, ApiError> {
    let s = |a: &str| item.get(a).and_then(Value::as_str).unwrap_or("").to_owned();
    Ok(StaticRole {
        db_name: s(A_DB),
        username: s(A_USERNAME),
        rotation_period: item.n(A_PERIOD)?,
        rotation_schedule: match item.get(A_SCHEDULE).and_then(Value::as_str) {
            Some(text) => Some(Schedule::parse(text).map_err(|_| ApiError::Internal)?),
            None => None,
        },
        rotation_window: item.n(A_WINDOW).unwrap_or(0),
        rotation_statements: item.strings(A_STATEMENTS).unwrap_or_default(),
        password: sealed_of(item, A_PASSWORD, A_PASSWORD_V)?,
        pending: sealed_of(item, A_PENDING, A_PENDING_V)?,
        pending_at: item.n(A_PENDING_AT).unwrap_or(0),
        last_rotation: item.n(A_LAST).unwrap_or(0),
        rev: item.n(A_REV)?,
    })
}

/// Reads a static role.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<StaticRole>, ApiError> {
    match store.get(&key(m, name)).await? {
        Some(item) => Ok(Some(from_item(&item)?)),
        None => Ok(None),
    }
}

/// Static role names.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.static_roles_partition())).await?)
}

/// Deletes a static role (idempotent). The database user keeps its password, as in
/// OpenBao.
pub async fn delete(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<(), ApiError> {
    Ok(crate::store::delete_key(store, key(m, name)).await?)
}

fn sealed_updates(a: &'static str, v: &'static str, s: &Sealed) -> [Update; 2] {
    [
        Update::Set(a, Value::B(s.ciphertext.clone())),
        Update::Set(v, s.key_version.into()),
    ]
}

fn due_updates(pk: &str, at: i64) -> impl Iterator<Item = Update> {
    due_attrs(pk, at)
        .into_iter()
        .map(|(a, v)| Update::Set(a, v))
}

/// An update of the item at `k` conditional on its revision being `rev` (and moving
/// it to `rev + 1`); `Ok(false)` when another writer was first.
async fn update_at_rev(
    store: &dyn Store,
    k: &Key,
    rev: i64,
    updates: Vec<Update>,
) -> Result<bool, ApiError> {
    Ok(store_update_at_rev(store, k, rev, updates).await?)
}

/// [`update_at_rev`] with the storage's own error.
async fn store_update_at_rev(
    store: &dyn Store,
    k: &Key,
    rev: i64,
    mut updates: Vec<Update>,
) -> Result<bool, StoreError> {
    updates.push(Update::Set(A_REV, Value::N(rev + 1)));
    match store
        .write(Write::Update {
            key: k.clone(),
            updates,
            cond: Some(Cond::Eq(A_REV, Value::N(rev))),
        })
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The static role's settings from a write merged onto `old` (Vault's rules and
/// messages: `username` and one of `rotation_period` and `rotation_schedule` required
/// on create, the username never changes, the period at least
/// [`MIN_ROTATION_PERIOD`]).
fn settings(body: &Body, old: Option<StaticRole>) -> Result<StaticRole, ApiError> {
    let create = old.is_none();
    let mut r = old.unwrap_or_default();
    if let Some(v) = body.string("db_name")? {
        r.db_name = v;
    }
    if r.db_name.is_empty() {
        return Err(ApiError::bad("database name is a required field"));
    }
    let username = body.string("username")?.unwrap_or_default();
    if username.is_empty() && create {
        return Err(ApiError::bad(
            "username is a required field to create a static account",
        ));
    }
    if !create && !username.is_empty() && username != r.username {
        return Err(ApiError::bad("cannot update static account username"));
    }
    if username.len() > 63 || username.chars().any(char::is_control) {
        return Err(ApiError::bad("invalid \"username\""));
    }
    if create {
        r.username = username;
    }
    rotation(body, create, &mut r)?;
    if let Some(v) = statement_list(body, "rotation_statements")? {
        if v.len() > MAX_STATEMENTS || v.iter().any(|s| s.len() > MAX_STATEMENT_LEN) {
            return Err(ApiError::bad(
                "\"rotation_statements\": at most 50 statements of 16 KiB each",
            ));
        }
        statements::check(Kind::Rotation, &v)?;
        r.rotation_statements = v;
    }
    if let Some(t) = body.string("credential_type")?
        && t != "password"
    {
        return Err(ApiError::bad(
            "invalid credential_type: Sigil's database engine issues passwords only",
        ));
    }
    Ok(r)
}

/// `rotation_period`, or `rotation_schedule` with `rotation_window`, from a write onto
/// `r` (Vault 1.15+'s `pathStaticRoleCreateUpdate`: the two are mutually exclusive and
/// the one given replaces the other; a window needs a schedule and is at least
/// [`MIN_WINDOW`]). A window alone updates a scheduled role's window (Vault ignores
/// it).
fn rotation(body: &Body, create: bool, r: &mut StaticRole) -> Result<(), ApiError> {
    // Vault reads an empty schedule as none given.
    let schedule = body.string("rotation_schedule")?.filter(|s| !s.is_empty());
    let period = body.duration("rotation_period")?;
    let window = body.duration("rotation_window")?;
    match (period, schedule) {
        (Some(_), Some(_)) => Err(ApiError::bad(
            "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided",
        )),
        (None, None) if create => Err(ApiError::bad(
            "one of rotation_schedule or rotation_period must be provided to create a static account",
        )),
        (Some(p), None) => {
            if p < MIN_ROTATION_PERIOD {
                return Err(ApiError::bad(format!(
                    "rotation_period must be {MIN_ROTATION_PERIOD} seconds or more"
                )));
            }
            if window.is_some() {
                return Err(ApiError::bad(
                    "rotation_window is invalid with use of rotation_period",
                ));
            }
            r.rotation_period = p;
            r.rotation_schedule = None;
            r.rotation_window = 0;
            Ok(())
        }
        (None, schedule) => {
            if let Some(text) = schedule {
                let s = Schedule::parse(&text).map_err(|e| {
                    ApiError::bad(format!("could not parse rotation_schedule: {e}"))
                })?;
                r.rotation_schedule = Some(s);
                r.rotation_period = 0;
            }
            if let Some(w) = window {
                if r.rotation_schedule.is_none() {
                    return Err(ApiError::bad(
                        "rotation_window is invalid with use of rotation_period",
                    ));
                }
                if w < MIN_WINDOW {
                    return Err(ApiError::bad(format!(
                        "rotation_window is invalid: rotation_window must be {MIN_WINDOW} seconds or more"
                    )));
                }
                r.rotation_window = w;
            }
            Ok(())
        }
    }
}

/// The engine's ports and the moment, as a rotation needs them.
pub struct Ctx<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Seals the passwords.
    pub keyring: &'a Keyring,
    /// The database.
    pub db: &'a dyn DatabaseApi,
    /// Crash injection (production: never).
    pub failpoints: &'a dyn Failpoints,
    /// The mount.
    pub mount: Mount<'a>,
    /// Unix seconds.
    pub now: i64,
}

/// Writes a static role. A new role is stored and its password rotated at once (a
/// rotation that the database refuses removes the new role again: nothing half
/// written); an update changes the settings and files the next rotation at the last
/// one plus the new period, or at the new schedule's first time after it.
pub async fn write(x: &Ctx<'_>, name: &str, body: &Body) -> Result<(), ApiError> {
    if !crate::approle::valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    if super::roles::read(x.store, x.mount, name).await?.is_some() {
        return Err(ApiError::bad("Role and Static Role names must be unique"));
    }
    let old = read(x.store, x.mount, name).await?;
    let r = settings(body, old.clone())?;
    let cfg = connection(x, &r.db_name, name).await?;
    let k = key(x.mount, name);
    let Some(old) = old else {
        let mut item = new_item(&k);
        item.insert(A_DB.into(), r.db_name.as_str().into());
        item.insert(A_USERNAME.into(), r.username.as_str().into());
        item.insert(A_PERIOD.into(), Value::N(r.rotation_period));
        if let Some(s) = &r.rotation_schedule {
            item.insert(A_SCHEDULE.into(), s.as_str().into());
        }
        item.insert(A_WINDOW.into(), Value::N(r.rotation_window));
        item.insert(A_STATEMENTS.into(), r.rotation_statements.clone().into());
        item.insert(A_REV.into(), Value::N(0));
        item.extend(due_attrs(&k.pk, x.now).map(|(a, v)| (a.to_owned(), v)));
        store_new(x.store, item).await?;
        return match rotate(x, name, &r, &cfg).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // The database refused the first rotation: the role never existed.
                // (Unreachable, or storage failed: it stays pending and due; the
                // sweeper settles it.)
                if matches!(&e, RotateError::Db(d) if d.changed_nothing()) {
                    crate::store::delete_key(x.store, k).await?;
                }
                Err(e.into_api("error setting the static account's password"))
            }
        };
    };
    let mut updates = vec![
        Update::Set(A_DB, r.db_name.as_str().into()),
        Update::Set(A_PERIOD, Value::N(r.rotation_period)),
        Update::Set(A_WINDOW, Value::N(r.rotation_window)),
        Update::Set(A_STATEMENTS, r.rotation_statements.clone().into()),
        match &r.rotation_schedule {
            Some(s) => Update::Set(A_SCHEDULE, s.as_str().into()),
            None => Update::Remove(A_SCHEDULE),
        },
    ];
    // Between period and schedule, or a new period, schedule or window: the next
    // rotation is filed anew (now when it has passed).
    if old.pending.is_none() {
        updates.extend(due_updates(&k.pk, r.next_rotation(x.now).max(x.now)));
    }
    if update_at_rev(x.store, &k, old.rev, updates).await? {
        Ok(())
    } else {
        Err(ApiError::bad(
            "the static role changed while it was written: try again",
        ))
    }
}

async fn store_new(store: &dyn Store, item: Item) -> Result<(), ApiError> {
    store
        .write(Write::Put {
            item,
            cond: Some(Cond::NotExists),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("the static role changed while it was written: try again")
            } else {
                e.into()
            }
        })
}

/// The connection a static role uses (it must exist and allow the role).
async fn connection(x: &Ctx<'_>, db_name: &str, role: &str) -> Result<ConnectionConfig, ApiError> {
    let cfg = config::read(x.store, x.mount, db_name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("could not find database {db_name:?}")))?;
    if !cfg.allows(role) {
        return Err(ApiError::bad(format!("{role:?} is not an allowed role")));
    }
    Ok(cfg)
}

/// Why a rotation did not complete.
#[derive(Debug)]
enum RotateError {
    /// The database (or storage, keyring) failed; a pending password may remain.
    Db(DbCallError),
    /// Another writer changed the role first.
    Raced,
}

impl From<ApiError> for RotateError {
    fn from(e: ApiError) -> Self {
        RotateError::Db(DbCallError::Api(e))
    }
}

impl RotateError {
    fn into_api(self, context: &str) -> ApiError {
        match self {
            RotateError::Db(e) => db_call_error(e, context),
            RotateError::Raced => {
                ApiError::bad("the static role changed while it was rotated: try again")
            }
        }
    }
}

/// One rotation of `r` (read with no pending password): a new password sealed and
/// stored as pending (the role filed as due now, so a crash is settled by the next
/// sweeper run), `ALTER ROLE` through the root connection, then the pending password
/// made current with `last_rotation = now` and the next due time. Returns the new
/// revision.
async fn rotate(
    x: &Ctx<'_>,
    name: &str,
    r: &StaticRole,
    cfg: &ConnectionConfig,
) -> Result<i64, RotateError> {
    let k = key(x.mount, name);
    let new = super::username::random_alnum(24).map_err(|_| ApiError::Internal)?;
    let sealed = x
        .keyring
        .seal(&aad(x.mount, name), new.as_bytes())
        .await
        .map_err(ApiError::from)?;
    let mut pending = sealed_updates(A_PENDING, A_PENDING_V, &sealed).to_vec();
    pending.push(Update::Set(A_PENDING_AT, Value::N(x.now)));
    pending.extend(due_updates(&k.pk, x.now));
    if !update_at_rev(x.store, &k, r.rev, pending).await? {
        return Err(RotateError::Raced);
    }
    if x.failpoints.crash_after(Step::StaticPendingStored) {
        return Err(crashed().into());
    }
    let pw = cfg.statement_password(&new)?;
    let queries = statements::render(
        Kind::Rotation,
        &r.statements(),
        &Values {
            username: &r.username,
            password: pw.expose_secret(),
            expiration: "",
        },
    )?;
    let user = r.username.as_str();
    match with_root(x.store, x.keyring, x.mount, &r.db_name, cfg, |conn| {
        let queries = &queries;
        async move { x.db.update_user(&conn, user, queries).await }
    })
    .await
    {
        Ok(()) => {}
        Err(e) => {
            if e.changed_nothing() {
                // Nothing changed in the database: the pending password goes (best
                // effort; otherwise it is dropped when its bound passes).
                let mut drop = pending_removal().to_vec();
                drop.extend(due_updates(&k.pk, r.next_rotation(x.now).max(x.now)));
                let _ = update_at_rev(x.store, &k, r.rev + 1, drop).await;
            }
            return Err(RotateError::Db(e));
        }
    }
    if x.failpoints.crash_after(Step::StaticAltered) {
        return Err(crashed().into());
    }
    let mut confirm = sealed_updates(A_PASSWORD, A_PASSWORD_V, &sealed).to_vec();
    confirm.extend(pending_removal());
    confirm.push(Update::Set(A_LAST, Value::N(x.now)));
    let rotated = StaticRole {
        last_rotation: x.now,
        ..r.clone()
    };
    confirm.extend(due_updates(&k.pk, rotated.next_rotation(x.now)));
    if !update_at_rev(x.store, &k, r.rev + 1, confirm).await? {
        return Err(RotateError::Raced);
    }
    tracing::info!(role = name, "static role password rotated");
    Ok(r.rev + 2)
}

/// The updates that remove a pending password.
fn pending_removal() -> [Update; 3] {
    [
        Update::Remove(A_PENDING),
        Update::Remove(A_PENDING_V),
        Update::Remove(A_PENDING_AT),
    ]
}

/// Whether `password` logs the static role's user in (through the connection's URL
/// with the user's name and password in it).
async fn logs_in(
    x: &Ctx<'_>,
    cfg: &ConnectionConfig,
    name: &str,
    r: &StaticRole,
    password: &SecretString,
) -> Result<bool, DbCallError> {
    let as_user = ConnectionConfig {
        username: r.username.clone(),
        ..cfg.clone()
    };
    match x
        .db
        .verify(&config::connection(&as_user, name, Some(password)))
        .await
    {
        Ok(()) => Ok(true),
        Err(DbError::Auth(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Settles a pending password left by an interrupted rotation: the pending password
/// becomes current (rotated now) when the user logs in with it; otherwise, once it is
/// older than [`super::IN_FLIGHT_SECS`], it is dropped (the `ALTER ROLE` never ran)
/// and the role stays due, so the next run rotates it. Returns the role as it is
/// afterwards: still pending when its rotation may be under way.
async fn settle(
    x: &Ctx<'_>,
    name: &str,
    r: StaticRole,
    cfg: &ConnectionConfig,
) -> Result<StaticRole, RotateError> {
    let Some(pending) = r.pending.clone() else {
        return Ok(r);
    };
    let a = aad(x.mount, name);
    let pw = open_password(x.keyring, &a, Some(&pending))
        .await?
        .ok_or(ApiError::Internal)?;
    let k = key(x.mount, name);
    let works = logs_in(x, cfg, name, &r, &pw)
        .await
        .map_err(RotateError::Db)?;
    if !works && x.now < r.in_flight_until() {
        return Ok(r);
    }
    let mut next = r.clone();
    next.pending = None;
    next.pending_at = 0;
    next.rev = r.rev + 1;
    let updates = if works {
        next.password = Some(pending.clone());
        next.last_rotation = x.now;
        let mut u = sealed_updates(A_PASSWORD, A_PASSWORD_V, &pending).to_vec();
        u.push(Update::Set(A_LAST, Value::N(x.now)));
        u.extend(due_updates(&k.pk, next.next_rotation(x.now)));
        tracing::info!(
            role = name,
            "a pending static password worked and is now current"
        );
        u
    } else {
        tracing::info!(
            role = name,
            "a pending static password was never set: dropped"
        );
        // Filed at its real next rotation again (due now when that has passed, as
        // for a role whose first rotation never completed).
        due_updates(&k.pk, r.next_rotation(x.now).max(x.now)).collect()
    };
    let mut updates = updates;
    updates.extend(pending_removal());
    if update_at_rev(x.store, &k, r.rev, updates).await? {
        Ok(next)
    } else {
        Err(RotateError::Raced)
    }
}

/// Reads the role, settles a pending password, and rotates when `due` says so (never
/// while a rotation may be under way: the role comes back still pending).
/// `Ok(None)`: no such role; otherwise the role afterwards and whether anything was
/// written (settled or rotated).
async fn run(
    x: &Ctx<'_>,
    name: &str,
    due: impl Fn(&StaticRole) -> bool,
) -> Result<Option<(StaticRole, bool)>, RotateError> {
    let Some(r) = read(x.store, x.mount, name).await? else {
        return Ok(None);
    };
    let cfg = connection(x, &r.db_name, name).await?;
    let had_pending = r.pending.is_some();
    let r = settle(x, name, r, &cfg).await?;
    let settled = had_pending && r.pending.is_none();
    if r.pending.is_some() || !due(&r) {
        return Ok(Some((r, settled)));
    }
    rotate(x, name, &r, &cfg).await?;
    let r = read(x.store, x.mount, name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Some((r, true)))
}

/// The refusal while a rotation may be under way (400, as OpenBao's other rotation
/// conflicts), saying when to try again.
fn under_way(r: &StaticRole, now: i64) -> ApiError {
    ApiError::bad(format!(
        "a rotation of this static role is under way: try again shortly (it is settled within {} seconds at most)",
        (r.in_flight_until() - now).max(1)
    ))
}

/// `rotate-role/:name`: rotates now (after settling an interrupted rotation).
pub async fn rotate_now(x: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    match run(x, name, |_| true).await {
        Ok(Some((r, _))) if r.pending.is_some() => Err(under_way(&r, x.now)),
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ApiError::bad("no static role found for role name")),
        Err(e) => Err(e.into_api("unable to rotate the static role's credentials")),
    }
}

/// `static-creds/:name`: the current password (after settling an interrupted
/// rotation; a role whose first rotation never completed is rotated now), with
/// `last_vault_rotation` (RFC 3339), `rotation_period` (or `rotation_schedule` and
/// `rotation_window`) and `ttl` (seconds until the next rotation), as Vault answers.
pub async fn creds(x: &Ctx<'_>, name: &str) -> Result<Json, ApiError> {
    let (r, _) = run(x, name, |r| r.password.is_none())
        .await
        .map_err(|e| e.into_api("unable to read the static role's credentials"))?
        .ok_or_else(|| ApiError::bad(format!("unknown role: {name}")))?;
    if r.password.is_none() {
        return Err(under_way(&r, x.now));
    }
    let pw = open_password(x.keyring, &aad(x.mount, name), r.password.as_ref())
        .await?
        .ok_or(ApiError::Internal)?;
    let mut v = json!({
        "username": r.username,
        "password": pw.expose_secret(),
        "last_vault_rotation": crate::clock::rfc3339(r.last_rotation),
        "ttl": (r.next_rotation(x.now) - x.now).max(0),
    });
    r.rotation_json(&mut v);
    Ok(v)
}

/// The sweeper's job for static roles: settles and rotates a role once its next
/// rotation is due. A failure files the role again [`RETRY_SECS`] later (logged), so
/// one broken database never holds the sweeper's cursor.
pub struct StaticRotate {
    keyring: Arc<Keyring>,
    db: Arc<dyn DatabaseApi>,
    failpoints: Arc<dyn Failpoints>,
}

impl StaticRotate {
    /// A job over the function's keyring and the engine's ports.
    pub fn new(keyring: Arc<Keyring>, engine: &super::engine::Engine) -> Self {
        Self {
            keyring,
            db: engine.db.clone(),
            failpoints: engine.failpoints.clone(),
        }
    }
}

#[async_trait::async_trait]
impl DueJob for StaticRotate {
    async fn run(&self, store: &dyn Store, key: &Key, now: i64) -> Result<DueOutcome, StoreError> {
        let Some(prefix) = key
            .pk
            .strip_prefix(PK_PREFIX)
            .and_then(|s| s.strip_suffix("/static-roles"))
        else {
            return Ok(DueOutcome::Skipped);
        };
        let x = Ctx {
            store,
            keyring: &self.keyring,
            db: self.db.as_ref(),
            failpoints: self.failpoints.as_ref(),
            mount: Mount { prefix, name: "" },
            now,
        };
        match run(&x, &key.sk, |r| r.next_rotation(now) <= now).await {
            Ok(Some((r, _))) if r.pending.is_some() => {
                // Its rotation may be under way: look again when that has passed.
                crate::due::postpone(store, key, r.in_flight_until()).await?;
                Ok(DueOutcome::Skipped)
            }
            Ok(Some((_, true))) => Ok(DueOutcome::Ran),
            Ok(Some((r, false))) if r.missed(now) => {
                // Outside its window: filed at the next schedule time instead, so the
                // sweeper's cursor can pass it (conditional on the revision read: a
                // rotation meanwhile filed its own time).
                let next = r.next_rotation(now);
                tracing::info!(role = %key.sk, next_rotation = next, "static rotation window missed: waiting for the next schedule time");
                store_update_at_rev(store, key, r.rev, due_updates(&key.pk, next).collect())
                    .await?;
                Ok(DueOutcome::Skipped)
            }
            Ok(_) | Err(RotateError::Raced) => Ok(DueOutcome::Skipped),
            Err(e) => {
                let e = e.into_api("static rotation");
                tracing::warn!(role = %key.sk, error = %e, retry_in_secs = RETRY_SECS, "static role not rotated on schedule");
                crate::due::postpone(store, key, now + RETRY_SECS).await?;
                Ok(DueOutcome::Skipped)
            }
        }
    }
}
