//! AWS static roles (`{mount}/static-roles/:name`, `{mount}/static-creds/:name`; Vault's
//! AWS secrets engine API, "Static roles"): an existing IAM user whose access key Sigil
//! creates and rotates every `rotation_period` seconds (Vault's minimum: 1 minute).
//! Writing a new static role rotates at once (the user's own keys stay untouched).
//!
//! One item per role (partition [`Mount::static_roles_partition`], sort key the name)
//! holds the settings, the current key (its ID, and its secret sealed under the keyring
//! with associated data naming the mount, role and purpose), the rotation's
//! intermediate state, a revision `rev` that every write advances by one (each write is
//! a `Put` conditional on the revision read: two sweepers rotate once), and the
//! expiry-index attributes of the next thing due ([`crate::due::due_attrs`], no TTL), so
//! the sweeper hands the role to [`StaticRotate`] when due: never a scan.
//!
//! A rotation, step by step (each a conditional write; [`StaticStep`] names the
//! failpoints):
//!
//! 1. `ListAccessKeys`. A superseded key (`old`) still in its grace period is deleted
//!    (the current key is about to take its place). IAM allows two keys per user; when
//!    there are two others (the user's own keys, or the current key and one of the
//!    user's) Sigil refuses, leaves every key as it is, and says which keys are in the
//!    way.
//! 2. Intent: the key IDs listed (and the time) are stored before `CreateAccessKey`.
//! 3. `CreateAccessKey` ([`StaticStep::KeyCreated`]).
//! 4. The new key is stored, its secret sealed, as `pending`
//!    ([`StaticStep::PendingStored`]).
//! 5. Promotion: the pending key becomes current; the previous current key becomes
//!    `old`, kept working until `old_until` = now + [`grace_secs`]
//!    ([`StaticStep::Promoted`]).
//! 6. At `old_until`, the old key is deleted in IAM ([`StaticStep::OldDeleted`]) and
//!    then forgotten.
//!
//! A run (sweeper, `static-creds`) first settles what an interrupted rotation left:
//! an intent older than [`INTENT_STALE_SECS`] means `CreateAccessKey` may have created a
//! key whose secret was never stored; every key `ListAccessKeys` shows that is neither
//! in the intent's list nor the role's is deleted (its secret is lost: nobody can use
//! it). A pending key is promoted. So after any crash, the next run leaves one current
//! key, which `static-creds` returns, and no key Sigil created that it does not know.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};

use super::Mount;
use super::clients::EngineClients;
use super::iam::{IamApi, IamError, gone_ok};
use super::issue::{Failpoints, StaticStep};
use crate::due::{DueJob, DueOutcome, due_attrs};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::keyring::{Keyring, Sealed};
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, StoreError, Value, Write, new_item, query_sort_keys,
};

/// The last segment of the static roles' partition (`{prefix}/static-roles`), by which
/// [`StaticRotate`] recognises its items.
pub const PK_SUFFIX: &str = super::STATIC_ROLES_SEGMENT;
/// Partition-key prefix of the items [`StaticRotate`] is registered for (every AWS
/// mount's items start with it; only static roles carry due attributes).
pub const PK_PREFIX: &str = "aws/";
/// Vault's shortest `rotation_period`: 1 minute, in seconds.
pub const MIN_ROTATION_PERIOD: i64 = 60;
/// Longest grace period of a superseded key, seconds (1 hour): it keeps working this
/// long after a rotation, at most half the rotation period ([`grace_secs`]).
pub const MAX_GRACE_SECS: i64 = 3600;
/// Age in seconds after which a rotation's intent (step 2) counts as interrupted: the
/// same 5 minutes as a pending lease ([`crate::lease::PENDING_GRACE_SECS`]), far past
/// the bounded IAM calls of a live rotation.
pub const INTENT_STALE_SECS: i64 = crate::lease::PENDING_GRACE_SECS;
/// Seconds until a role whose rotation failed is tried again by the sweeper.
pub const RETRY_SECS: i64 = 60;
/// How often [`delete`] starts again when a rotation changed the role meanwhile.
pub const DELETE_ATTEMPTS: usize = 3;

const A_USERNAME: &str = "username";
const A_PERIOD: &str = "rotation_period";
const A_KEY_ID: &str = "key_id";
const A_SECRET: &str = "secret";
const A_SECRET_V: &str = "secret_v";
const A_PENDING_ID: &str = "pending_key_id";
const A_PENDING: &str = "pending_secret";
const A_PENDING_V: &str = "pending_secret_v";
const A_OLD_ID: &str = "old_key_id";
const A_OLD_UNTIL: &str = "old_until";
const A_LISTED: &str = "creating_listed";
const A_CREATING_AT: &str = "creating_at";
const A_LAST: &str = "last_rotation";
const A_REV: &str = "rev";

/// How long a superseded key keeps working after a rotation, seconds: half the
/// rotation period, at most [`MAX_GRACE_SECS`]. It is over before the next rotation, so
/// the user has a free key slot again by then.
pub fn grace_secs(rotation_period: i64) -> i64 {
    (rotation_period / 2).min(MAX_GRACE_SECS)
}

/// A key Sigil created and stored: its ID and its secret, sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Access key ID (not secret).
    pub id: String,
    /// The secret access key, sealed under the keyring.
    pub secret: Sealed,
}

/// The superseded key, deleted at `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OldKey {
    /// Access key ID.
    pub id: String,
    /// Unix seconds after which it is deleted.
    pub until: i64,
}

/// A rotation's intent, written before `CreateAccessKey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creating {
    /// The user's key IDs listed just before (none of them is the new key).
    pub listed: Vec<String>,
    /// Unix seconds of the intent.
    pub at: i64,
}

/// One static role as stored. `Debug` shows key IDs, never a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticRole {
    /// The IAM user (exists before the role; never created or deleted by Sigil).
    pub username: String,
    /// Seconds between rotations (>= [`MIN_ROTATION_PERIOD`]).
    pub rotation_period: i64,
    /// The current key (absent until the first rotation completed).
    pub current: Option<StoredKey>,
    /// A new key stored before it became current.
    pub pending: Option<StoredKey>,
    /// The superseded key in its grace period.
    pub old: Option<OldKey>,
    /// A rotation's intent whose key is not stored yet.
    pub creating: Option<Creating>,
    /// Unix seconds of the last completed rotation (0: none).
    pub last_rotation: i64,
    /// Revision: advanced by every write (condition of the next).
    pub rev: i64,
}

impl std::fmt::Debug for StaticRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = |k: &Option<StoredKey>| k.as_ref().map(|k| k.id.clone());
        f.debug_struct("StaticRole")
            .field("username", &self.username)
            .field("rotation_period", &self.rotation_period)
            .field("current", &id(&self.current))
            .field("pending", &id(&self.pending))
            .field("old", &self.old)
            .field("creating", &self.creating)
            .field("rev", &self.rev)
            .finish_non_exhaustive()
    }
}

impl StaticRole {
    /// Unix seconds of the next rotation.
    pub fn next_rotation(&self) -> i64 {
        self.last_rotation + self.rotation_period
    }

    /// Vault's read: `name`, `username`, `rotation_period` (seconds). No key.
    pub fn to_json(&self, name: &str) -> Json {
        json!({
            "name": name,
            "username": self.username,
            "rotation_period": self.rotation_period,
        })
    }

    /// When the sweeper must look at the role next (Unix seconds): an intent once it
    /// is stale, a pending key at once, else the next rotation or the old key's end,
    /// whichever comes first (at once when no key was ever stored).
    fn due_at(&self, now: i64) -> i64 {
        if let Some(c) = &self.creating {
            return c.at + INTENT_STALE_SECS;
        }
        if self.pending.is_some() || self.current.is_none() {
            return now;
        }
        let next = self.next_rotation();
        self.old.as_ref().map_or(next, |o| next.min(o.until))
    }

    /// The key IDs the role knows (current, pending, old).
    fn known(&self) -> Vec<&str> {
        [
            self.current.as_ref().map(|k| k.id.as_str()),
            self.pending.as_ref().map(|k| k.id.as_str()),
            self.old.as_ref().map(|k| k.id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

fn key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.static_roles_partition(), name)
}

fn aad<'a>(m: Mount<'a>, name: &'a str) -> [&'a str; 4] {
    ["aws", m.prefix, name, "static-secret-key"]
}

fn sealed(item: &Item, a: &str, v: &str) -> Result<Sealed, StoreError> {
    Ok(Sealed {
        key_version: u32::try_from(item.n(v)?).map_err(|_| StoreError::Malformed(v.to_owned()))?,
        ciphertext: item.b(a)?.to_vec(),
    })
}

fn stored_key(item: &Item, id: &str, a: &str, v: &str) -> Result<Option<StoredKey>, StoreError> {
    match item.get(id).and_then(Value::as_str) {
        Some(i) => Ok(Some(StoredKey {
            id: i.to_owned(),
            secret: sealed(item, a, v)?,
        })),
        None => Ok(None),
    }
}

fn from_item(item: &Item) -> Result<StaticRole, StoreError> {
    Ok(StaticRole {
        username: item.s(A_USERNAME)?.to_owned(),
        rotation_period: item.n(A_PERIOD)?,
        current: stored_key(item, A_KEY_ID, A_SECRET, A_SECRET_V)?,
        pending: stored_key(item, A_PENDING_ID, A_PENDING, A_PENDING_V)?,
        old: match item.get(A_OLD_ID).and_then(Value::as_str) {
            Some(id) => Some(OldKey {
                id: id.to_owned(),
                until: item.n(A_OLD_UNTIL)?,
            }),
            None => None,
        },
        creating: match item.get(A_CREATING_AT) {
            Some(_) => Some(Creating {
                listed: item.strings(A_LISTED)?,
                at: item.n(A_CREATING_AT)?,
            }),
            None => None,
        },
        last_rotation: item.n(A_LAST).unwrap_or(0),
        rev: item.n(A_REV)?,
    })
}

fn to_item(k: &Key, r: &StaticRole, now: i64) -> Item {
    let mut item = new_item(k);
    let mut set = |a: &str, v: Value| {
        item.insert(a.to_owned(), v);
    };
    set(A_USERNAME, r.username.as_str().into());
    set(A_PERIOD, Value::N(r.rotation_period));
    set(A_LAST, Value::N(r.last_rotation));
    set(A_REV, Value::N(r.rev));
    for (k, id, a, v) in [
        (&r.current, A_KEY_ID, A_SECRET, A_SECRET_V),
        (&r.pending, A_PENDING_ID, A_PENDING, A_PENDING_V),
    ] {
        if let Some(k) = k {
            set(id, k.id.as_str().into());
            set(a, Value::B(k.secret.ciphertext.clone()));
            set(v, k.secret.key_version.into());
        }
    }
    if let Some(o) = &r.old {
        set(A_OLD_ID, o.id.as_str().into());
        set(A_OLD_UNTIL, Value::N(o.until));
    }
    if let Some(c) = &r.creating {
        set(A_LISTED, c.listed.clone().into());
        set(A_CREATING_AT, Value::N(c.at));
    }
    for (a, v) in due_attrs(&k.pk, r.due_at(now)) {
        set(a, v);
    }
    item
}

/// Reads a static role.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<StaticRole>, ApiError> {
    let item = store.get(&key(m, name)).await?;
    Ok(item.as_ref().map(from_item).transpose()?)
}

/// Static role names.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.static_roles_partition())).await?)
}

/// Deletes a static role (idempotent; `false` when there was none), as Vault does:
/// the access keys Sigil created for it (current, pending, superseded, and the key of
/// an interrupted rotation, [`delete_stray`]) are deleted in IAM first, then the role,
/// conditional on the revision read (a rotation meanwhile: done again, at most
/// [`DELETE_ATTEMPTS`] times). Rotation stops; the user and its other keys stay. When
/// IAM fails, the role stays (503 or 400) and the delete can be repeated.
pub async fn delete(x: &Ctx<'_>, name: &str) -> Result<bool, ApiError> {
    for _ in 0..DELETE_ATTEMPTS {
        let Some(r) = read(x.store, x.mount, name).await? else {
            return Ok(false);
        };
        let user = r.username.as_str();
        if let Some(c) = &r.creating {
            let keys = match x.iam.list_access_keys(user).await {
                Err(IamError::NoSuchEntity) => Vec::new(),
                other => other.map_err(|e| iam_error(user, &e))?,
            };
            delete_stray(x, name, &r, c, &keys)
                .await
                .map_err(RunError::into_api)?;
        }
        for id in r.known() {
            gone_ok(x.iam.delete_access_key(user, id).await).map_err(|e| iam_error(user, &e))?;
        }
        let write = Write::Delete {
            key: key(x.mount, name),
            cond: Some(Cond::Eq(A_REV, Value::N(r.rev))),
        };
        match x.store.write(write).await {
            Ok(()) => {
                tracing::info!(role = name, "static role deleted with its access keys");
                return Ok(true);
            }
            Err(e) if e.is_condition() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RunError::Raced.into_api())
}

/// The engine's ports and the moment, as a rotation needs them.
pub struct Ctx<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Seals the secret keys.
    pub keyring: &'a Keyring,
    /// IAM, as the mount's root configuration says.
    pub iam: &'a dyn IamApi,
    /// Crash injection (production: never).
    pub failpoints: &'a dyn Failpoints,
    /// The mount.
    pub mount: Mount<'a>,
    /// Unix seconds.
    pub now: i64,
}

/// Why a run did not complete.
#[derive(Debug)]
enum RunError {
    /// IAM, storage or the keyring failed, or IAM's state forbids the step.
    Api(ApiError),
    /// Another writer changed the role first (or deleted it).
    Raced,
    /// Another run's rotation is under way (its intent is younger than
    /// [`INTENT_STALE_SECS`]).
    InProgress,
}

impl From<ApiError> for RunError {
    fn from(e: ApiError) -> Self {
        RunError::Api(e)
    }
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        RunError::Api(e.into())
    }
}

impl RunError {
    fn into_api(self) -> ApiError {
        match self {
            RunError::Api(e) => e,
            RunError::Raced => {
                ApiError::bad("the static role changed while it was rotated: try again")
            }
            RunError::InProgress => ApiError::bad(
                "a rotation of the static role is under way: try again in a few seconds",
            ),
        }
    }
}

/// IAM's answer as the client's error; the key ID and user name are not secret.
fn iam_error(user: &str, e: &IamError) -> ApiError {
    match e {
        IamError::Retryable(code) => {
            tracing::warn!(user, error = %code, "IAM unavailable for a static role");
            ApiError::Unavailable
        }
        IamError::NoSuchEntity => ApiError::bad(format!("IAM user {user:?} does not exist")),
        IamError::Failed(code) => {
            ApiError::bad(format!("AWS refused the static role's IAM call: {code}"))
        }
    }
}

fn crashed() -> RunError {
    tracing::error!("static rotation stopped by a failpoint (simulated crash)");
    RunError::Api(ApiError::Internal)
}

/// Writes `next` (with `next.rev` advanced) if the stored revision is still `rev`.
async fn save(x: &Ctx<'_>, name: &str, rev: i64, next: &mut StaticRole) -> Result<(), RunError> {
    next.rev = rev + 1;
    let write = Write::Put {
        item: to_item(&key(x.mount, name), next, x.now),
        cond: Some(Cond::Eq(A_REV, Value::N(rev))),
    };
    match x.store.write(write).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition() => Err(RunError::Raced),
        Err(e) => Err(e.into()),
    }
}

/// The user's key IDs (`ListAccessKeys`).
async fn listed(x: &Ctx<'_>, user: &str) -> Result<Vec<String>, RunError> {
    Ok(x.iam
        .list_access_keys(user)
        .await
        .map_err(|e| iam_error(user, &e))?)
}

/// Refuses a user with two keys that are not Sigil's to delete (IAM's limit is two).
fn refuse_two_keys(user: &str, keys: &[String]) -> ApiError {
    ApiError::bad(format!(
        "IAM user {user:?} already has two access keys ({}) and neither is a superseded key of this static role: Sigil never creates a third nor deletes a key in use; delete one of them in IAM",
        keys.join(", ")
    ))
}

/// Settles what an interrupted rotation left (module docs), then deletes the old key
/// once its grace period is over. Returns the role as it is afterwards.
async fn settle(x: &Ctx<'_>, name: &str, mut r: StaticRole) -> Result<StaticRole, RunError> {
    let user = r.username.clone();
    if let Some(c) = r.creating.clone() {
        if x.now < c.at + INTENT_STALE_SECS {
            return Err(RunError::InProgress);
        }
        let keys = match x.iam.list_access_keys(&user).await {
            Err(IamError::NoSuchEntity) => Vec::new(),
            other => other.map_err(|e| iam_error(&user, &e))?,
        };
        delete_stray(x, name, &r, &c, &keys).await?;
        let rev = r.rev;
        r.creating = None;
        save(x, name, rev, &mut r).await?;
    }
    if r.pending.is_some() {
        promote(x, name, &mut r).await?;
    }
    if let Some(old) = r.old.clone()
        && x.now >= old.until
    {
        gone_ok(x.iam.delete_access_key(&user, &old.id).await).map_err(|e| iam_error(&user, &e))?;
        if x.failpoints.crash_after_static(StaticStep::OldDeleted) {
            return Err(crashed());
        }
        let rev = r.rev;
        r.old = None;
        save(x, name, rev, &mut r).await?;
        tracing::info!(role = name, key = %old.id, "superseded static key deleted");
    }
    Ok(r)
}

/// Deletes the key an interrupted rotation (intent `c`) created and never stored: the
/// one key in `keys` (the user's keys now) that was neither listed before the intent
/// nor is known to the role `r`. When more than one such key exists, Sigil cannot tell
/// its own from one the user's owner added meanwhile, and deletes neither (logged; a
/// later rotation then refuses while the user has two keys that are not Sigil's).
async fn delete_stray(
    x: &Ctx<'_>,
    name: &str,
    r: &StaticRole,
    c: &Creating,
    keys: &[String],
) -> Result<(), RunError> {
    let known = r.known();
    let strays: Vec<&String> = keys
        .iter()
        .filter(|k| !c.listed.contains(k) && !known.contains(&k.as_str()))
        .collect();
    match strays.as_slice() {
        [] => {}
        [k] => {
            tracing::warn!(role = name, key = %k, "an interrupted rotation's key was never stored: deleted");
            gone_ok(x.iam.delete_access_key(&r.username, k).await)
                .map_err(|e| iam_error(&r.username, &e))?;
        }
        many => {
            tracing::error!(role = name, keys = ?many, "keys appeared during an interrupted rotation: Sigil cannot tell its own from the owner's and deletes none");
        }
    }
    Ok(())
}

/// Step 5: the pending key becomes current; the previous current key is kept until
/// its grace period ends.
async fn promote(x: &Ctx<'_>, name: &str, r: &mut StaticRole) -> Result<(), RunError> {
    let Some(new) = r.pending.take() else {
        return Ok(());
    };
    let rev = r.rev;
    if let Some(prev) = r.current.replace(new) {
        r.old = Some(OldKey {
            id: prev.id,
            until: x.now + grace_secs(r.rotation_period),
        });
    }
    r.last_rotation = x.now;
    save(x, name, rev, r).await?;
    if x.failpoints.crash_after_static(StaticStep::Promoted) {
        return Err(crashed());
    }
    tracing::info!(role = name, "static role access key rotated");
    Ok(())
}

/// One rotation of `r` (settled: no intent, no pending key), steps 1 to 5; `keys`:
/// the user's key IDs when just listed.
async fn rotate(
    x: &Ctx<'_>,
    name: &str,
    mut r: StaticRole,
    keys: Option<Vec<String>>,
) -> Result<StaticRole, RunError> {
    let user = r.username.clone();
    let mut keys = match keys {
        Some(k) => k,
        None => listed(x, &user).await?,
    };
    // A superseded key still in its grace when the next rotation comes (a shortened
    // period, a late run) goes first: the current key is about to become the superseded
    // one, and the role tracks one. It is also the only key Sigil frees a slot with.
    if let Some(old) = r.old.take()
        && keys.contains(&old.id)
    {
        gone_ok(x.iam.delete_access_key(&user, &old.id).await).map_err(|e| iam_error(&user, &e))?;
        keys.retain(|k| *k != old.id);
    }
    if keys.len() >= 2 {
        return Err(refuse_two_keys(&user, &keys).into());
    }
    let rev = r.rev;
    r.creating = Some(Creating {
        listed: keys,
        at: x.now,
    });
    save(x, name, rev, &mut r).await?;
    let created = match x.iam.create_access_key(&user).await {
        Ok(k) => k,
        Err(e) => {
            if matches!(e, IamError::Failed(_)) {
                // IAM refused (e.g. `LimitExceeded`: a key added meanwhile): no key was
                // created, so the intent goes at once (best effort; a stale intent is
                // settled the same way later).
                let rev = r.rev;
                r.creating = None;
                let _ = save(x, name, rev, &mut r).await;
            }
            return Err(iam_error(&user, &e).into());
        }
    };
    if x.failpoints.crash_after_static(StaticStep::KeyCreated) {
        return Err(crashed());
    }
    let secret = x
        .keyring
        .seal(
            &aad(x.mount, name),
            created.secret.expose_secret().as_bytes(),
        )
        .await
        .map_err(ApiError::from)?;
    let rev = r.rev;
    r.creating = None;
    r.pending = Some(StoredKey {
        id: created.id.clone(),
        secret,
    });
    if let Err(e) = save(x, name, rev, &mut r).await {
        // Another run settled this intent meanwhile (or the role was deleted): the new
        // key is known to no one but this run, so it goes.
        let _ = x.iam.delete_access_key(&user, &created.id).await;
        return Err(e);
    }
    if x.failpoints.crash_after_static(StaticStep::PendingStored) {
        return Err(crashed());
    }
    promote(x, name, &mut r).await?;
    Ok(r)
}

/// [`rotate`] of a role as read (no settling first), for tests that interleave runs.
#[cfg(test)]
pub(crate) async fn rotate_for_test(
    x: &Ctx<'_>,
    name: &str,
    r: StaticRole,
) -> Result<(), ApiError> {
    rotate(x, name, r, None)
        .await
        .map(drop)
        .map_err(RunError::into_api)
}

/// Reads the role, settles it, and rotates when `due` says so. `Ok(None)`: no such
/// role; otherwise the role afterwards and whether anything was written.
async fn run(
    x: &Ctx<'_>,
    name: &str,
    due: impl Fn(&StaticRole) -> bool,
) -> Result<Option<(StaticRole, bool)>, RunError> {
    let Some(r) = read(x.store, x.mount, name).await? else {
        return Ok(None);
    };
    let rev = r.rev;
    let r = settle(x, name, r).await?;
    if !due(&r) {
        let wrote = r.rev != rev;
        return Ok(Some((r, wrote)));
    }
    Ok(Some((rotate(x, name, r, None).await?, true)))
}

/// The role's settings from a write merged onto `old`: `username` (an IAM user name,
/// required on create, never changed) and `rotation_period` (seconds or a duration
/// string, required on create, at least [`MIN_ROTATION_PERIOD`]).
fn settings(body: &Body, old: Option<StaticRole>) -> Result<StaticRole, ApiError> {
    let create = old.is_none();
    let mut r = old.unwrap_or_default();
    let username = body.string("username")?.unwrap_or_default();
    if create {
        if username.is_empty() {
            return Err(ApiError::bad("missing \"username\""));
        }
        // IAM's rule for user names: 1 to 64 of `[A-Za-z0-9+=,.@_-]`.
        let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if username.len() > 64 || !username.chars().all(ok) {
            return Err(ApiError::bad(
                "invalid \"username\": an IAM user name is 1 to 64 letters, digits or +=,.@_-",
            ));
        }
        r.username = username;
    } else if !username.is_empty() && username != r.username {
        return Err(ApiError::bad(
            "\"username\" of a static role cannot change: delete the role and create another",
        ));
    }
    match body.duration("rotation_period")? {
        None if create => return Err(ApiError::bad("missing \"rotation_period\"")),
        None => {}
        Some(p) if p < MIN_ROTATION_PERIOD => {
            return Err(ApiError::bad(format!(
                "\"rotation_period\" must be at least {MIN_ROTATION_PERIOD} seconds (1 minute)"
            )));
        }
        Some(p) => r.rotation_period = p,
    }
    Ok(r)
}

/// Writes a static role and returns it as read ([`StaticRole::to_json`], Vault's
/// answer). A new role is checked against IAM first (the user exists and has a free key
/// slot; else 400 and nothing is stored), stored, and rotated at once: its first key is
/// Sigil's. When that first rotation fails and left nothing to settle (IAM refused, or
/// was unreachable before an intent was stored), the role is removed again and the
/// error returned: nothing changed. An update changes the period (the next rotation is
/// the last one plus the new period).
pub async fn write(x: &Ctx<'_>, name: &str, body: &Body) -> Result<Json, ApiError> {
    if !crate::approle::valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let old = read(x.store, x.mount, name).await?;
    let k = key(x.mount, name);
    let mut r = settings(body, old.clone())?;
    if let Some(old) = old {
        // Only the period changes; everything else is as read.
        save(x, name, old.rev, &mut r)
            .await
            .map_err(RunError::into_api)?;
        return Ok(r.to_json(name));
    }
    let keys = listed(x, &r.username).await.map_err(RunError::into_api)?;
    if keys.len() >= 2 {
        return Err(refuse_two_keys(&r.username, &keys));
    }
    x.store
        .write(Write::Put {
            item: to_item(&k, &r, x.now),
            cond: Some(Cond::NotExists),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("the static role changed while it was written: try again")
            } else {
                e.into()
            }
        })?;
    let shown = r.to_json(name);
    match rotate(x, name, r, Some(keys)).await {
        Ok(_) => Ok(shown),
        Err(e) => {
            // A role with an intent or a key stays for the sweeper to settle; one with
            // neither goes (best effort: left, it is due now and the sweeper retries).
            if let Ok(Some(left)) = read(x.store, x.mount, name).await
                && left.creating.is_none()
                && left.pending.is_none()
                && left.current.is_none()
            {
                let _ = x
                    .store
                    .write(Write::Delete {
                        key: k,
                        cond: Some(Cond::Eq(A_REV, Value::N(left.rev))),
                    })
                    .await;
            }
            Err(e.into_api())
        }
    }
}

/// `static-creds/:name`: the current key after settling an interrupted rotation (a
/// role whose first rotation never completed is rotated now; when settling fails, the
/// stored current key, which still works): Vault's `access_key`,
/// `secret_key` and `expiration` (RFC 3339: the next rotation, after which this key
/// keeps working for [`grace_secs`] more).
pub async fn creds(x: &Ctx<'_>, name: &str) -> Result<Json, ApiError> {
    let r = match run(x, name, |r| r.current.is_none()).await {
        Ok(r) => r.map(|(r, _)| r),
        // Another run is rotating, or settling failed (IAM unavailable): the current
        // key still works (a key is deleted only after it stopped being current).
        Err(e) => match read(x.store, x.mount, name).await? {
            Some(r) if r.current.is_some() => {
                tracing::warn!(role = name, error = ?e, "static role not settled; its current key served");
                Some(r)
            }
            _ => return Err(e.into_api()),
        },
    }
    .ok_or(ApiError::NotFound)?;
    let current = r.current.as_ref().ok_or(ApiError::Internal)?;
    let secret = x.keyring.open(&aad(x.mount, name), &current.secret).await?;
    let secret = SecretString::from(
        String::from_utf8(secret.expose().to_vec()).map_err(|_| ApiError::Integrity)?,
    );
    Ok(json!({
        "access_key": current.id,
        "secret_key": secret.expose_secret(),
        "expiration": crate::clock::rfc3339(r.next_rotation()),
    }))
}

/// The sweeper's job for static roles: settles, deletes a superseded key after its
/// grace period, and rotates once the next rotation is due. A failure files the role
/// again [`RETRY_SECS`] later (logged), so one broken user never holds the sweeper's
/// cursor.
pub struct StaticRotate {
    keyring: Arc<Keyring>,
    aws: Arc<EngineClients>,
    failpoints: Arc<dyn Failpoints>,
}

impl StaticRotate {
    /// A job over the function's keyring, the engine's clients and failpoints.
    pub fn new(
        keyring: Arc<Keyring>,
        aws: Arc<EngineClients>,
        failpoints: Arc<dyn Failpoints>,
    ) -> Self {
        Self {
            keyring,
            aws,
            failpoints,
        }
    }
}

/// The production job (no failpoints), as the functions register it for [`PK_PREFIX`].
pub fn due_job(keyring: Arc<Keyring>, aws: Arc<EngineClients>) -> Arc<dyn DueJob> {
    Arc::new(StaticRotate::new(
        keyring,
        aws,
        Arc::new(super::issue::NoFailpoints),
    ))
}

#[async_trait::async_trait]
impl DueJob for StaticRotate {
    async fn run(&self, store: &dyn Store, key: &Key, now: i64) -> Result<DueOutcome, StoreError> {
        let Some(prefix) = key
            .pk
            .strip_suffix(PK_SUFFIX)
            .and_then(|p| p.strip_suffix('/'))
        else {
            return Ok(DueOutcome::Skipped);
        };
        let mount = Mount { prefix, name: "" };
        let clients = self.aws.get(mount).await?;
        let x = Ctx {
            store,
            keyring: &self.keyring,
            iam: clients.iam.as_ref(),
            failpoints: self.failpoints.as_ref(),
            mount,
            now,
        };
        let due = |r: &StaticRole| r.current.is_none() || r.next_rotation() <= now;
        match run(&x, &key.sk, due).await {
            Ok(Some((_, true))) => Ok(DueOutcome::Ran),
            Ok(_) | Err(RunError::Raced | RunError::InProgress) => Ok(DueOutcome::Skipped),
            Err(RunError::Api(e)) => {
                tracing::warn!(role = %key.sk, error = %e, retry_in_secs = RETRY_SECS, "static role not rotated on schedule");
                crate::due::postpone(store, key, now + RETRY_SECS).await?;
                Ok(DueOutcome::Skipped)
            }
        }
    }
}
