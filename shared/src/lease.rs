//! Leases: the record of every dynamic secret Sigil hands out (DESIGN.md, "Identity,
//! tokens, leases").
//!
//! A lease is written BEFORE the outside thing it stands for is created (state
//! `pending`, write-ahead), then marked `active`; revoking runs the engine's revocation
//! and deletes the record last. A crash between any two steps leaves a record the
//! sweeper finishes: pending leases are on the expiry index at `issued_at + PENDING_GRACE`,
//! active ones at their expiry. A failed revocation is retried with backoff (the lease
//! moves later on the index); after [`MAX_ATTEMPTS`] failures it becomes `irrevocable`,
//! leaves the expiry index and stays listed until an operator forces it.
//!
//! Items:
//! - `lease/{lease_id}` / `lease`: the lease;
//! - `token/{hash}` / `lease/{lease_id}`: the owning token's reference (revoking the
//!   token revokes its leases);
//! - `leases/{mount}` / `{lease_id}`: the mount's index, for `revoke-prefix` and lists;
//! - `leases/irrevocable` / `{lease_id}`: irrevocable leases, for operators.

use std::collections::BTreeMap;

use crate::crypto;
use crate::error::ApiError;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, SortCond, Store, StoreError, Update, Value, Write, new_item,
    query_sort_keys, schema,
};

/// Seconds a pending lease may stay pending before the sweeper finishes it (revokes
/// whatever its interrupted issue created).
pub const PENDING_GRACE_SECS: i64 = 300;
/// Failed revocations before a lease becomes irrevocable (Vault's 6).
pub const MAX_ATTEMPTS: i64 = 6;
/// Partition of irrevocable leases.
pub const IRREVOCABLE_PK: &str = "leases/irrevocable";

const A_PATH: &str = "path";
const A_KIND: &str = "kind";
const A_STATE: &str = "state";
const A_ISSUED: &str = "issued_at";
const A_EXPIRE: &str = "expire_at";
const A_MAX_EXPIRE: &str = "max_expire_at";
const A_RENEWABLE: &str = "renewable";
const A_TOKEN: &str = "token_hash";
const A_DATA: &str = "data";
const A_ATTEMPTS: &str = "attempts";
const A_ERROR: &str = "last_error";
const A_CLAIM: &str = "claimed_until";

/// Seconds a revocation holds its claim on a lease: concurrent revocations (two
/// sweepers, a sweeper and an operator) skip a claimed lease, so the engine runs once.
/// A revocation that dies holding a claim is retried after it lapses.
pub const CLAIM_SECS: i64 = 120;

/// Where a lease is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// Written ahead; the outside thing may or may not exist yet.
    Pending,
    /// Issued and handed out.
    Active,
    /// Revocation failed [`MAX_ATTEMPTS`] times; waits for an operator.
    Irrevocable,
}

impl LeaseState {
    fn as_str(self) -> &'static str {
        match self {
            LeaseState::Pending => "pending",
            LeaseState::Active => "active",
            LeaseState::Irrevocable => "irrevocable",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => LeaseState::Pending,
            "active" => LeaseState::Active,
            "irrevocable" => LeaseState::Irrevocable,
            _ => return Err(StoreError::Malformed("lease state".into())),
        })
    }
}

/// A lease record. `data` holds what revocation needs (e.g. an IAM user name), never a
/// secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// `{path}/{random}`, e.g. `aws/creds/deploy/Xy3...`.
    pub id: String,
    /// The path that issued it, e.g. `aws/creds/deploy`.
    pub path: String,
    /// The engine's kind of lease, e.g. `aws.iam_user`.
    pub kind: String,
    /// State.
    pub state: LeaseState,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds.
    pub expire_at: i64,
    /// Time renewals cannot pass, Unix seconds.
    pub max_expire_at: i64,
    /// Whether renew may extend it.
    pub renewable: bool,
    /// SHA-256 of the token that created it.
    pub token_hash: Option<String>,
    /// Engine data for revocation.
    pub data: BTreeMap<String, String>,
    /// Failed revocation attempts.
    pub attempts: i64,
    /// The last revocation error (a code, never a secret).
    pub last_error: Option<String>,
}

/// The stored key of a lease.
pub fn lease_key(id: &str) -> Key {
    Key::new(format!("lease/{id}"), "lease")
}

fn mount_of(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

fn index_key(id: &str) -> Key {
    Key::new(format!("leases/{}", mount_of(id)), id)
}

fn token_ref_key(hash: &str, id: &str) -> Key {
    Key::new(format!("token/{hash}"), format!("lease/{id}"))
}

fn irrevocable_key(id: &str) -> Key {
    Key::new(IRREVOCABLE_PK, id)
}

/// A new lease ID under `path`: `{path}/{24 random base64url characters}`.
pub fn new_id(path: &str) -> Result<String, ApiError> {
    Ok(format!(
        "{path}/{}",
        crypto::random_b64(18).map_err(|_| ApiError::Internal)?
    ))
}

impl TryFrom<&Item> for Lease {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let data = item
            .map(A_DATA)?
            .into_iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k, s.to_owned()))
                    .ok_or_else(|| StoreError::Malformed("lease data".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: item
                .key()
                .pk
                .strip_prefix("lease/")
                .ok_or_else(|| StoreError::Malformed("lease key".into()))?
                .to_owned(),
            path: item.s(A_PATH)?.to_owned(),
            kind: item.s(A_KIND)?.to_owned(),
            state: LeaseState::parse(item.s(A_STATE)?)?,
            issued_at: item.n(A_ISSUED)?,
            expire_at: item.n(A_EXPIRE)?,
            max_expire_at: item.n(A_MAX_EXPIRE)?,
            renewable: item.flag(A_RENEWABLE)?,
            token_hash: item.get(A_TOKEN).and_then(Value::as_str).map(str::to_owned),
            data,
            attempts: item.n_opt(A_ATTEMPTS)?.unwrap_or(0),
            last_error: item.get(A_ERROR).and_then(Value::as_str).map(str::to_owned),
        })
    }
}

impl Lease {
    /// When the sweeper should look at it: pending leases after the grace period,
    /// active ones at expiry.
    fn due_at(&self) -> i64 {
        match self.state {
            LeaseState::Pending => self.issued_at.saturating_add(PENDING_GRACE_SECS),
            _ => self.expire_at,
        }
    }

    fn to_item(&self) -> Item {
        let key = lease_key(&self.id);
        let mut item = new_item(&key);
        item.insert(A_PATH.into(), self.path.clone().into());
        item.insert(A_KIND.into(), self.kind.clone().into());
        item.insert(A_STATE.into(), self.state.as_str().into());
        item.insert(A_ISSUED.into(), self.issued_at.into());
        item.insert(A_EXPIRE.into(), self.expire_at.into());
        item.insert(A_MAX_EXPIRE.into(), self.max_expire_at.into());
        item.insert(A_RENEWABLE.into(), self.renewable.into());
        if let Some(t) = &self.token_hash {
            item.insert(A_TOKEN.into(), t.clone().into());
        }
        item.insert(
            A_DATA.into(),
            Value::M(
                self.data
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::S(v.clone())))
                    .collect(),
            ),
        );
        item.insert(A_ATTEMPTS.into(), self.attempts.into());
        item.insert(A_CLAIM.into(), Value::N(0));
        if self.state != LeaseState::Irrevocable {
            for (k, v) in schema::expiry_attrs(&key.pk, self.due_at()) {
                item.insert(k.into(), v);
            }
        }
        item
    }

    /// The writes that record a new pending lease (write-ahead): the lease (only if
    /// absent), the mount index entry and the owning token's reference (only while the
    /// token exists, so a lease never outlives a concurrently revoked token unseen).
    pub fn pending_writes(&self) -> Vec<Write> {
        let mut writes = vec![
            Write::Put {
                item: self.to_item(),
                cond: Some(Cond::NotExists),
            },
            Write::Put {
                item: new_item(&index_key(&self.id)),
                cond: None,
            },
        ];
        if let Some(t) = &self.token_hash {
            writes.push(Write::Check {
                key: crate::token::token_key(t),
                cond: crate::token::unrevoked_cond(),
            });
            writes.push(Write::Put {
                item: new_item(&token_ref_key(t, &self.id)),
                cond: None,
            });
        }
        writes
    }

    /// The writes that delete the lease and its index entries.
    pub fn delete_writes(&self) -> Vec<Write> {
        let mut writes = vec![
            Write::Delete {
                key: lease_key(&self.id),
                cond: None,
            },
            Write::Delete {
                key: index_key(&self.id),
                cond: None,
            },
            Write::Delete {
                key: irrevocable_key(&self.id),
                cond: None,
            },
        ];
        if let Some(t) = &self.token_hash {
            writes.push(Write::Delete {
                key: token_ref_key(t, &self.id),
                cond: None,
            });
        }
        writes
    }
}

/// Reads a lease.
pub async fn get(store: &dyn Store, id: &str) -> Result<Option<Lease>, ApiError> {
    if id.is_empty() || id.len() > 512 {
        return Ok(None);
    }
    Ok(store
        .get(&lease_key(id))
        .await?
        .as_ref()
        .map(Lease::try_from)
        .transpose()?)
}

/// Marks a pending lease active with its engine `data` and final expiry. Fails (the
/// caller undoes what it created) when the lease is no longer pending, e.g. because
/// the sweeper finished it meanwhile.
pub async fn activate(store: &dyn Store, lease: &mut Lease) -> Result<(), StoreError> {
    lease.state = LeaseState::Active;
    store
        .write(Write::Put {
            item: lease.to_item(),
            cond: Some(Cond::Eq(
                A_STATE,
                Value::S(LeaseState::Pending.as_str().into()),
            )),
        })
        .await
}

pub use crate::ttl::Renewal;

/// Renews by Vault's rule: from now by `increment` (or the lease's original TTL when 0),
/// capped at the max TTL. 400 for a lease that is not renewable, not active or expired.
pub async fn renew(
    store: &dyn Store,
    lease: &Lease,
    increment: i64,
    now: i64,
) -> Result<Renewal, ApiError> {
    if lease.state != LeaseState::Active || lease.expire_at <= now {
        return Err(ApiError::bad("lease not found or lease is not renewable"));
    }
    if !lease.renewable {
        return Err(ApiError::bad("lease is not renewable"));
    }
    let wanted = if increment > 0 {
        increment
    } else {
        lease.expire_at - lease.issued_at
    };
    let Renewal { ttl, warnings } = crate::ttl::capped(wanted, now, lease.max_expire_at);
    let key = lease_key(&lease.id);
    let mut updates = vec![Update::Set(A_EXPIRE, Value::N(now + ttl))];
    updates.extend(schema::expiry_attrs(&key.pk, now + ttl).map(|(k, v)| Update::Set(k, v)));
    store
        .write(Write::Update {
            key,
            updates,
            cond: Some(Cond::And(vec![
                Cond::Eq(A_STATE, Value::S(LeaseState::Active.as_str().into())),
                Cond::Ge(A_EXPIRE, now + 1),
            ])),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("lease not found or lease is not renewable")
            } else {
                e.into()
            }
        })?;
    Ok(Renewal { ttl, warnings })
}

/// Records a failed revocation: the lease moves later on the expiry index by an
/// exponential backoff (1, 2, 4 ... minutes), and becomes irrevocable after
/// [`MAX_ATTEMPTS`] failures. Returns the new state.
pub async fn record_failure(
    store: &dyn Store,
    lease: &Lease,
    error_code: &str,
    now: i64,
) -> Result<LeaseState, StoreError> {
    let attempts = lease.attempts + 1;
    let mut next = lease.clone();
    next.attempts = attempts;
    next.last_error = Some(error_code.chars().take(200).collect());
    let mut writes = Vec::new();
    if attempts >= MAX_ATTEMPTS {
        next.state = LeaseState::Irrevocable;
        writes.push(Write::Put {
            item: new_item(&irrevocable_key(&lease.id)),
            cond: None,
        });
    } else {
        let backoff = 60i64 << (attempts - 1).min(10);
        // The index position is the due time: push it into the future.
        match next.state {
            LeaseState::Pending => next.issued_at = now + backoff - PENDING_GRACE_SECS,
            _ => next.expire_at = now + backoff,
        }
    }
    let mut item = next.to_item();
    if let Some(e) = &next.last_error {
        item.insert(A_ERROR.into(), e.clone().into());
    }
    writes.insert(
        0,
        Write::Put {
            item,
            cond: Some(Cond::Eq(A_ATTEMPTS, Value::N(lease.attempts))),
        },
    );
    store.transact(writes).await?;
    Ok(next.state)
}

/// Lease IDs of a mount under `prefix` (a lease ID prefix such as `aws/creds/deploy/`).
pub async fn list_prefix(store: &dyn Store, prefix: &str) -> Result<Vec<String>, ApiError> {
    let mut q = Query::partition(format!("leases/{}", mount_of(prefix)));
    q.sort = SortCond::Prefix(prefix.to_owned());
    Ok(query_sort_keys(store, q).await?)
}

/// Irrevocable lease IDs.
pub async fn list_irrevocable(store: &dyn Store) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(IRREVOCABLE_PK)).await?)
}

/// A pending lease for tests: path = the ID without its last segment, issued at 0,
/// expiring at 60, max 600, renewable, no owner, no data.
#[cfg(test)]
pub(crate) fn test_lease(id: &str, kind: &str) -> Lease {
    Lease {
        id: id.to_owned(),
        path: id.rsplit_once('/').map_or(id, |(p, _)| p).to_owned(),
        kind: kind.to_owned(),
        state: LeaseState::Pending,
        issued_at: 0,
        expire_at: 60,
        max_expire_at: 600,
        renewable: true,
        token_hash: None,
        data: BTreeMap::new(),
        attempts: 0,
        last_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn lease(id: &str, now: i64) -> Lease {
        Lease {
            id: id.into(),
            path: "aws/creds/deploy".into(),
            kind: "aws.iam_user".into(),
            state: LeaseState::Pending,
            issued_at: now,
            expire_at: now + 60,
            max_expire_at: now + 300,
            renewable: true,
            token_hash: None,
            data: BTreeMap::from([("user_name".into(), "sigil-deploy-x".into())]),
            attempts: 0,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn no_lease_is_filed_under_a_token_whose_revocation_started() {
        let store = MemoryStore::new();
        let m = crate::token::mint(
            &crate::token::TokenParams::default(),
            crate::token::Limits {
                default_ttl: 600,
                max_ttl: 600,
            },
            0,
        )
        .unwrap();
        store.transact(m.writes()).await.unwrap();
        let mut before = lease("aws/creds/deploy/before", 0);
        before.token_hash = Some(m.entry.hash.clone());
        store.transact(before.pending_writes()).await.unwrap();
        crate::token::mark_revoked(&store, &m.entry.hash, 1)
            .await
            .unwrap();
        // An issue that authenticated before the mark cannot file its lease after it.
        let mut after = lease("aws/creds/deploy/after", 1);
        after.token_hash = Some(m.entry.hash.clone());
        let e = store.transact(after.pending_writes()).await.unwrap_err();
        assert!(e.is_condition(), "{e}");
        assert!(
            get(&store, "aws/creds/deploy/after")
                .await
                .unwrap()
                .is_none()
        );
        // The token authenticates nothing from the mark on; the lease filed before is
        // found by the revocation's listing.
        assert!(
            crate::token::find_by_hash(&store, &m.entry.hash, 1)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            crate::token::renew(&store, &m.entry, 60, 1).await.is_err(),
            "nor renews"
        );
        let mut q = Query::partition(format!("token/{}", m.entry.hash));
        q.sort = SortCond::Prefix("lease/".into());
        assert_eq!(
            query_sort_keys(&store, q).await.unwrap(),
            ["lease/aws/creds/deploy/before"]
        );
    }

    #[tokio::test]
    async fn write_ahead_activate_renew_delete() {
        let store = MemoryStore::new();
        let mut l = lease("aws/creds/deploy/abc", 0);
        store.transact(l.pending_writes()).await.unwrap();
        assert!(
            store.transact(l.pending_writes()).await.is_err(),
            "written once"
        );
        assert_eq!(
            get(&store, &l.id).await.unwrap().unwrap().state,
            LeaseState::Pending
        );
        assert!(
            renew(&store, &l, 10, 1).await.is_err(),
            "pending leases do not renew"
        );
        activate(&store, &mut l).await.unwrap();
        assert!(
            activate(&store, &mut l.clone()).await.is_err(),
            "activates once"
        );
        let r = renew(&store, &l, 1000, 10).await.unwrap();
        assert_eq!((r.ttl, r.warnings.len()), (290, 1));
        assert_eq!(
            list_prefix(&store, "aws/creds/").await.unwrap(),
            vec![l.id.clone()]
        );
        assert!(
            list_prefix(&store, "aws/creds/other/")
                .await
                .unwrap()
                .is_empty()
        );
        store.transact(l.delete_writes()).await.unwrap();
        assert!(store.dump().is_empty());
    }

    #[tokio::test]
    async fn failures_back_off_then_irrevocable() {
        let store = MemoryStore::new();
        let mut l = lease("aws/creds/deploy/f", 0);
        store.transact(l.pending_writes()).await.unwrap();
        activate(&store, &mut l).await.unwrap();
        for n in 1..MAX_ATTEMPTS {
            let cur = get(&store, &l.id).await.unwrap().unwrap();
            assert_eq!(
                record_failure(&store, &cur, "Throttling", 100)
                    .await
                    .unwrap(),
                LeaseState::Active
            );
            let after = get(&store, &l.id).await.unwrap().unwrap();
            assert_eq!(after.attempts, n);
            assert_eq!(after.expire_at, 100 + (60 << (n - 1)));
        }
        let cur = get(&store, &l.id).await.unwrap().unwrap();
        assert_eq!(
            record_failure(&store, &cur, "AccessDenied", 100)
                .await
                .unwrap(),
            LeaseState::Irrevocable
        );
        assert_eq!(list_irrevocable(&store).await.unwrap(), vec![l.id.clone()]);
        let item = store.get(&lease_key(&l.id)).await.unwrap().unwrap();
        assert!(
            !item.contains_key(schema::EXP_BUCKET),
            "off the expiry index"
        );
        assert_eq!(item.get(A_ERROR), Some(&Value::S("AccessDenied".into())));
    }
}

/// Why an engine could not revoke (a stable code, never a secret).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("revocation failed: {0}")]
pub struct RevokeError(pub String);

/// An engine's revocation of its leases (the AWS engine deletes an IAM user, ...).
/// Must be idempotent: "already gone" is success.
#[async_trait::async_trait]
pub trait Revoker: Send + Sync {
    /// Removes what `lease` stands for outside Sigil.
    async fn revoke(&self, lease: &Lease) -> Result<(), RevokeError>;
}

/// The engines' revokers, by lease kind.
#[derive(Clone, Default)]
pub struct Revokers(BTreeMap<String, std::sync::Arc<dyn Revoker>>);

impl std::fmt::Debug for Revokers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Revokers {
    /// No engines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the revoker of leases of `kind`.
    pub fn with(mut self, kind: &str, revoker: std::sync::Arc<dyn Revoker>) -> Self {
        self.0.insert(kind.to_owned(), revoker);
        self
    }

    /// Revokes `lease`: the engine first, then the record (last, so a failure leaves a
    /// lease to retry). On an engine failure the lease is rescheduled or made
    /// irrevocable ([`record_failure`]) and the error returned; `force` deletes the
    /// record anyway (Vault's `revoke-force`). `Ok(false)`: another revocation holds
    /// the lease's claim, or it is already gone; nothing was done.
    pub async fn revoke(
        &self,
        store: &dyn Store,
        lease: &Lease,
        now: i64,
        force: bool,
    ) -> Result<bool, RevokeOutcome> {
        // Claim first, conditionally: if another revocation holds the lease (or it is
        // already gone), this one has nothing to do.
        let claim = store
            .write(Write::Update {
                key: lease_key(&lease.id),
                updates: vec![Update::Set(
                    A_CLAIM,
                    Value::N(now.saturating_add(CLAIM_SECS)),
                )],
                cond: Some(Cond::Le(A_CLAIM, now)),
            })
            .await;
        match claim {
            Ok(()) => {}
            Err(e) if e.is_condition() => return Ok(false),
            Err(e) => return Err(RevokeOutcome::Store(e)),
        }
        let result = match self.0.get(&lease.kind) {
            Some(r) => r.revoke(lease).await,
            None => Err(RevokeError(format!(
                "no engine for lease kind {:?}",
                lease.kind
            ))),
        };
        match result {
            Ok(()) => {}
            Err(e) if !force => {
                let state = record_failure(store, lease, &e.0, now)
                    .await
                    .map_err(RevokeOutcome::Store)?;
                return Err(RevokeOutcome::Failed { error: e, state });
            }
            Err(e) => {
                tracing::warn!(lease_kind = %lease.kind, error = %e, "forced revocation: engine error ignored")
            }
        }
        store
            .transact(lease.delete_writes())
            .await
            .map_err(RevokeOutcome::Store)?;
        Ok(true)
    }
}

/// Why a revocation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RevokeOutcome {
    /// The engine failed; the lease was rescheduled (or made irrevocable).
    #[error("{error}; lease is now {state:?}")]
    Failed {
        /// The engine's error.
        error: RevokeError,
        /// The lease's state after recording the failure.
        state: LeaseState,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RevokeOutcome> for ApiError {
    fn from(e: RevokeOutcome) -> Self {
        match e {
            RevokeOutcome::Failed { error, .. } => {
                tracing::warn!(error = %error, "lease revocation failed; retried by the sweeper");
                ApiError::Unavailable
            }
            RevokeOutcome::Store(s) => s.into(),
        }
    }
}

/// The `data` of a lease lookup (Vault's `sys/leases/lookup`).
pub fn lookup_json(lease: &Lease, now: i64) -> serde_json::Value {
    serde_json::json!({
        "id": lease.id,
        "issue_time": crate::clock::rfc3339(lease.issued_at),
        "expire_time": crate::clock::rfc3339(lease.expire_at),
        "last_renewal": null,
        "renewable": lease.renewable && lease.state == LeaseState::Active,
        "ttl": (lease.expire_at - now).max(0),
        "state": lease.state.as_str(),
        "attempts": lease.attempts,
    })
}

#[cfg(test)]
mod revoke_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use super::*;
    use crate::store::memory::MemoryStore;

    struct Flaky {
        fail: AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait::async_trait]
    impl Revoker for Flaky {
        async fn revoke(&self, _lease: &Lease) -> Result<(), RevokeError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                Err(RevokeError("Throttling".into()))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn revoke_runs_the_engine_then_deletes_and_retries_on_failure() {
        let store = MemoryStore::new();
        let flaky = Arc::new(Flaky {
            fail: AtomicBool::new(true),
            calls: AtomicU32::new(0),
        });
        let revokers = Revokers::new().with("test.kind", flaky.clone());
        let mut l = test_lease("test/creds/r/1", "test.kind");
        store.transact(l.pending_writes()).await.unwrap();
        activate(&store, &mut l).await.unwrap();
        let e = revokers.revoke(&store, &l, 100, false).await.unwrap_err();
        assert!(matches!(
            e,
            RevokeOutcome::Failed {
                state: LeaseState::Active,
                ..
            }
        ));
        let l = get(&store, &l.id).await.unwrap().unwrap();
        assert_eq!(l.attempts, 1, "the failure is recorded and the lease kept");
        flaky.fail.store(false, Ordering::SeqCst);
        revokers.revoke(&store, &l, 200, false).await.unwrap();
        assert!(
            store.dump().is_empty(),
            "record deleted after the engine succeeded"
        );
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
        let unknown = Lease {
            kind: "nope".into(),
            ..l
        };
        store.transact(unknown.pending_writes()).await.unwrap();
        revokers.revoke(&store, &unknown, 300, true).await.unwrap();
        assert!(
            store.dump().is_empty(),
            "forced revocation deletes without an engine"
        );
    }
}
#[cfg(test)]
mod claim_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::store::memory::MemoryStore;

    struct Slow(AtomicU32);

    #[async_trait::async_trait]
    impl Revoker for Slow {
        async fn revoke(&self, _lease: &Lease) -> Result<(), RevokeError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn two_sweepers_revoke_each_lease_once() {
        let store = MemoryStore::new();
        crate::sweeper::init_cursor(&store, 0).await.unwrap();
        for n in 0..20 {
            let mut l = test_lease(&format!("t/creds/r/{n:03}"), "slow");
            store.transact(l.pending_writes()).await.unwrap();
            activate(&store, &mut l).await.unwrap();
        }
        let slow = Arc::new(Slow(AtomicU32::new(0)));
        let revokers = Revokers::new().with("slow", slow.clone());
        let (a, b) = tokio::join!(
            crate::sweeper::sweep(&store, &revokers, 100),
            crate::sweeper::sweep(&store, &revokers, 100)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            slow.0.load(Ordering::SeqCst),
            20,
            "the engine ran once per lease"
        );
        assert!(a.leases + b.leases <= 20);
        assert!(list_prefix(&store, "t/").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_lapsed_claim_is_taken_over() {
        let store = MemoryStore::new();
        let slow = Arc::new(Slow(AtomicU32::new(0)));
        let revokers = Revokers::new().with("slow", slow.clone());
        let mut l = test_lease("t/creds/r/x", "slow");
        store.transact(l.pending_writes()).await.unwrap();
        activate(&store, &mut l).await.unwrap();
        // A revocation that claimed the lease and died.
        store
            .write(Write::Update {
                key: lease_key(&l.id),
                updates: vec![Update::Set(A_CLAIM, Value::N(100 + CLAIM_SECS))],
                cond: None,
            })
            .await
            .unwrap();
        revokers.revoke(&store, &l, 101, false).await.unwrap();
        assert_eq!(slow.0.load(Ordering::SeqCst), 0, "claimed by another");
        revokers
            .revoke(&store, &l, 100 + CLAIM_SECS, false)
            .await
            .unwrap();
        assert_eq!(slow.0.load(Ordering::SeqCst), 1);
        assert!(get(&store, &l.id).await.unwrap().is_none());
    }
}

/// Revokes every lease a token created (before the token itself goes, as Vault does).
/// A lease whose engine fails stays, rescheduled, for the sweeper; its failure does not
/// stop the token's revocation. Returns how many leases were revoked.
pub async fn revoke_owned(
    store: &dyn Store,
    revokers: &Revokers,
    token_hash: &str,
    now: i64,
) -> Result<usize, ApiError> {
    let mut q = Query::partition(format!("token/{token_hash}"));
    q.sort = SortCond::Prefix("lease/".into());
    let ids: Vec<String> = query_sort_keys(store, q)
        .await?
        .iter()
        .filter_map(|sk| sk.strip_prefix("lease/").map(str::to_owned))
        .collect();
    let mut revoked = 0;
    for id in ids {
        let Some(l) = get(store, &id).await? else {
            continue;
        };
        match revokers.revoke(store, &l, now, false).await {
            Ok(done) => revoked += usize::from(done),
            Err(RevokeOutcome::Store(e)) => return Err(e.into()),
            Err(e @ RevokeOutcome::Failed { .. }) => {
                tracing::warn!(error = %e, "lease of a revoked token left for the sweeper")
            }
        }
    }
    Ok(revoked)
}
