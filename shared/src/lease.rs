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
/// Set on a pending lease whose revocation was asked for while its issue may still be
/// running: activation then fails (the issue undoes what it created) and the sweeper
/// revokes the lease after [`PENDING_GRACE_SECS`].
const A_DOOMED: &str = "revoke_requested_at";
/// When a revocation first claimed the lease: from then on it is never renewed (a
/// failed revocation releases its claim for the retry, not this).
const A_REVOKING: &str = "revocation_started_at";

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

/// The partition of the mount index holding lease IDs that start with `prefix`.
pub fn index_partition(prefix: &str) -> String {
    format!("leases/{}", mount_of(prefix))
}

fn index_key(id: &str) -> Key {
    Key::new(index_partition(id), id)
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
        item.insert(A_DATA.into(), data_value(&self.data));
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

/// Marks a pending lease active with its engine `data` and final expiry, at time `now`
/// (one conditional update: the claim and attempt count a concurrent revocation wrote
/// are kept). Fails (the caller undoes what it created) when the lease is no longer
/// pending, a revocation claimed it, or its revocation was asked for meanwhile.
///
/// The lease is filed on the expiry index at its expiry, or at `now` when the issue
/// took longer than the TTL: never at an hour the sweeper's cursor may have passed.
pub async fn activate(store: &dyn Store, lease: &mut Lease, now: i64) -> Result<(), StoreError> {
    let key = lease_key(&lease.id);
    let mut updates = vec![
        Update::Set(A_STATE, Value::S(LeaseState::Active.as_str().into())),
        Update::Set(A_EXPIRE, Value::N(lease.expire_at)),
        Update::Set(A_MAX_EXPIRE, Value::N(lease.max_expire_at)),
        Update::Set(A_DATA, data_value(&lease.data)),
    ];
    updates.extend(
        schema::expiry_attrs(&key.pk, lease.expire_at.max(now)).map(|(k, v)| Update::Set(k, v)),
    );
    store
        .write(Write::Update {
            key,
            updates,
            cond: Some(Cond::And(vec![
                Cond::Eq(A_STATE, Value::S(LeaseState::Pending.as_str().into())),
                Cond::Le(A_CLAIM, now),
                Cond::AttrAbsent(A_DOOMED),
            ])),
        })
        .await?;
    lease.state = LeaseState::Active;
    Ok(())
}

fn data_value(data: &BTreeMap<String, String>) -> Value {
    Value::M(
        data.iter()
            .map(|(k, v)| (k.clone(), Value::S(v.clone())))
            .collect(),
    )
}

/// Whether a revocation started on the lease item and its claim lapsed (the revocation
/// died): the sweeper then revokes the lease whatever its expiry.
pub fn claim_lapsed(item: &Item, now: i64) -> bool {
    item.n_opt(A_CLAIM)
        .ok()
        .flatten()
        .is_some_and(|c| c > 0 && c <= now)
}

/// Whether a revocation holds the lease item's claim at `now`.
pub fn claim_held(item: &Item, now: i64) -> bool {
    item.n_opt(A_CLAIM).ok().flatten().is_some_and(|c| c > now)
}

/// Whether the revocation of a pending lease was asked for ([`A_DOOMED`]).
pub fn revoke_requested(item: &Item) -> bool {
    item.contains_key(A_DOOMED)
}

pub use crate::ttl::Renewal;

/// What a renewal by `increment` would grant (Vault's rule, as [`renew`]) without
/// recording it: the engine's hook runs with it first.
pub fn renewal(lease: &Lease, increment: i64, now: i64) -> Result<Renewal, ApiError> {
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
    Ok(crate::ttl::capped(wanted, now, lease.max_expire_at))
}

/// Renews by Vault's rule: from now by `increment` (or the lease's original TTL when 0),
/// capped at the max TTL. 400 for a lease that is not renewable, not active or expired.
pub async fn renew(
    store: &dyn Store,
    lease: &Lease,
    increment: i64,
    now: i64,
) -> Result<Renewal, ApiError> {
    let Renewal { ttl, warnings } = renewal(lease, increment, now)?;
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
                // A lease whose revocation started is not renewed.
                Cond::AttrAbsent(A_REVOKING),
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
/// [`MAX_ATTEMPTS`] failures (off the expiry index, onto the irrevocable list). One
/// conditional update (on the attempt count read, so two revocations cannot both
/// count one failure); the revocation's claim is released, so the next attempt is due
/// at the backoff. Returns the new state.
pub async fn record_failure(
    store: &dyn Store,
    lease: &Lease,
    error_code: &str,
    now: i64,
) -> Result<LeaseState, StoreError> {
    let attempts = lease.attempts + 1;
    let key = lease_key(&lease.id);
    let error: String = error_code.chars().take(200).collect();
    let mut updates = vec![
        Update::Set(A_ATTEMPTS, Value::N(attempts)),
        Update::Set(A_ERROR, Value::S(error)),
        Update::Set(A_CLAIM, Value::N(0)),
    ];
    let mut writes = Vec::new();
    let state = if attempts >= MAX_ATTEMPTS {
        updates.push(Update::Set(
            A_STATE,
            Value::S(LeaseState::Irrevocable.as_str().into()),
        ));
        updates.extend([schema::EXP_BUCKET, schema::EXP_AT, schema::TTL].map(Update::Remove));
        writes.push(Write::Put {
            item: new_item(&irrevocable_key(&lease.id)),
            cond: None,
        });
        LeaseState::Irrevocable
    } else {
        let due = now + (60i64 << (attempts - 1).min(10));
        // The due time is the index position (and, for a pending lease, what the
        // sweeper compares with: issued_at + grace).
        match lease.state {
            LeaseState::Pending => {
                updates.push(Update::Set(A_ISSUED, Value::N(due - PENDING_GRACE_SECS)))
            }
            _ => updates.push(Update::Set(A_EXPIRE, Value::N(due))),
        }
        updates.extend(schema::expiry_attrs(&key.pk, due).map(|(k, v)| Update::Set(k, v)));
        lease.state
    };
    writes.insert(
        0,
        Write::Update {
            key,
            updates,
            cond: Some(Cond::Eq(A_ATTEMPTS, Value::N(lease.attempts))),
        },
    );
    store.transact(writes).await?;
    Ok(state)
}

/// Lease IDs of a mount under `prefix` (a lease ID prefix such as `aws/creds/deploy/`),
/// in order, starting after the ID `after` (when given), at most `limit`. Returns the
/// IDs and whether more follow.
pub async fn list_prefix(
    store: &dyn Store,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<String>, bool), ApiError> {
    let partition = index_partition(prefix);
    let mut ids = Vec::new();
    let mut start = after.map(|a| new_item(&Key::new(&partition, a)));
    loop {
        let mut q = Query::partition(partition.clone());
        q.sort = SortCond::Prefix(prefix.to_owned());
        q.limit = Some((limit - ids.len()).min(1000) as u32 + 1);
        q.start = start.take();
        let page = store.query(&q).await?;
        for i in &page.items {
            if ids.len() == limit {
                return Ok((ids, true));
            }
            ids.push(i.key().sk);
        }
        match page.next {
            Some(n) if ids.len() < limit => start = Some(n),
            _ => return Ok((ids, false)),
        }
    }
}

/// The children of `prefix` (a folder ending in `/`) in the lease index, as Vault's
/// `LIST sys/leases/lookup/:prefix/` answers them: a lease directly under it by the
/// last part of its ID, a deeper one by its first folder (`dev/`), each once, in
/// order, at most `limit`, starting after the key `after` (a folder key skips its
/// whole folder). A folder is read once: after its first lease the walk jumps past it,
/// so a folder of many leases costs one item, not all of them. Returns the keys and
/// whether more remain.
pub async fn list_children(
    store: &dyn Store,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<String>, bool), ApiError> {
    let partition = index_partition(prefix);
    // The sort key just past `key`: past every lease in it when it is a folder.
    let past = |key: &str| {
        if key.ends_with('/') {
            format!("{prefix}{key}{}", char::MAX)
        } else {
            format!("{prefix}{key}")
        }
    };
    let mut keys: Vec<String> = Vec::new();
    let mut start = after.map(|a| new_item(&Key::new(&partition, past(a))));
    loop {
        let mut q = Query::partition(partition.clone());
        q.sort = SortCond::Prefix(prefix.to_owned());
        q.limit = Some(100);
        q.start = start.take();
        let page = store.query(&q).await?;
        let mut jump = None;
        for i in &page.items {
            let id = i.key().sk;
            let Some(rest) = id.strip_prefix(prefix) else {
                continue;
            };
            let key = match rest.split_once('/') {
                Some((dir, _)) => format!("{dir}/"),
                None => rest.to_owned(),
            };
            if keys.len() == limit {
                return Ok((keys, true));
            }
            let folder = key.ends_with('/');
            keys.push(key);
            if folder {
                jump = keys
                    .last()
                    .map(|k| new_item(&Key::new(&partition, past(k))));
                break;
            }
        }
        match (jump, page.next) {
            (Some(j), _) => start = Some(j),
            (None, Some(n)) => start = Some(n),
            (None, None) => return Ok((keys, false)),
        }
    }
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

    /// Found by a fresh user's check (stop 22): LIST answered whole remaining paths
    /// (`creds/dev/<id>`); Vault answers the prefix's children: leases by their last
    /// part, deeper ones by their first folder.
    #[tokio::test]
    async fn listing_answers_children_as_folders() {
        let store = MemoryStore::new();
        for id in [
            "aws/creds/dev/1",
            "aws/creds/dev/2",
            "aws/creds/ops/1",
            "aws/sts/x/1",
        ] {
            store.transact(lease(id, 0).pending_writes()).await.unwrap();
        }
        let list = |prefix: &'static str, after: Option<&'static str>, limit: usize| {
            let store = &store;
            async move { list_children(store, prefix, after, limit).await.unwrap() }
        };
        assert_eq!(
            list("aws/", None, 10).await,
            (vec!["creds/".into(), "sts/".into()], false)
        );
        assert_eq!(
            list("aws/creds/", None, 10).await,
            (vec!["dev/".into(), "ops/".into()], false)
        );
        assert_eq!(
            list("aws/creds/dev/", None, 10).await,
            (vec!["1".into(), "2".into()], false)
        );
        assert_eq!(
            list("aws/creds/", None, 1).await,
            (vec!["dev/".into()], true)
        );
        assert_eq!(
            list("aws/creds/", Some("dev/"), 10).await,
            (vec!["ops/".into()], false)
        );
        assert_eq!(
            list("aws/creds/dev/", Some("1"), 10).await,
            (vec!["2".into()], false)
        );
        assert_eq!(list("aws/nope/", None, 10).await, (vec![], false));
    }

    #[tokio::test]
    async fn no_lease_is_filed_under_a_token_whose_revocation_started() {
        let store = MemoryStore::new();
        let m = crate::token::mint(
            &crate::token::TokenParams::default(),
            crate::token::Limits {
                default_ttl: 600,
                max_ttl: 600,
                batch: None,
            },
            0,
        )
        .unwrap();
        store.transact(m.writes()).await.unwrap();
        let mut before = lease("aws/creds/deploy/before", 0);
        before.token_hash = Some(m.entry.hash.clone());
        store.transact(before.pending_writes()).await.unwrap();
        store
            .write(crate::token::revoking_write(&m.entry.hash, 1, Cond::Exists))
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
        activate(&store, &mut l, 0).await.unwrap();
        assert!(
            activate(&store, &mut l.clone(), 0).await.is_err(),
            "activates once"
        );
        let r = renew(&store, &l, 1000, 10).await.unwrap();
        assert_eq!((r.ttl, r.warnings.len()), (290, 1));
        assert_eq!(
            list_prefix(&store, "aws/creds/", None, 10).await.unwrap(),
            (vec![l.id.clone()], false)
        );
        assert!(
            list_prefix(&store, "aws/creds/other/", None, 10)
                .await
                .unwrap()
                .0
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
        activate(&store, &mut l, 0).await.unwrap();
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

    /// Moves the outside thing's own expiry to `expire_at` (Unix seconds) before a
    /// renewal is recorded (the database engine's `VALID UNTIL`). Default: nothing
    /// outside expires by itself.
    async fn renew(&self, _lease: &Lease, _expire_at: i64) -> Result<(), RevokeError> {
        Ok(())
    }
}

/// The engines' hooks the sweeper and the lease routes call: revokers by lease kind,
/// and the engines' due-time jobs ([`crate::due`]: scheduled rotations), which the
/// sweeper runs from the same index walk as expired leases.
#[derive(Clone, Default)]
pub struct Revokers {
    by_kind: BTreeMap<String, std::sync::Arc<dyn Revoker>>,
    due: crate::due::DueJobs,
}

impl std::fmt::Debug for Revokers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revokers")
            .field("kinds", &self.by_kind.keys().collect::<Vec<_>>())
            .field("due", &self.due)
            .finish()
    }
}

impl Revokers {
    /// No engines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the engine's renewal hook ([`Revoker::renew`]) of `lease`'s kind, if any.
    pub async fn renew(&self, lease: &Lease, expire_at: i64) -> Result<(), RevokeError> {
        match self.by_kind.get(&lease.kind) {
            Some(r) => r.renew(lease, expire_at).await,
            None => Ok(()),
        }
    }

    /// Adds the revoker of leases of `kind`.
    pub fn with(mut self, kind: &str, revoker: std::sync::Arc<dyn Revoker>) -> Self {
        self.by_kind.insert(kind.to_owned(), revoker);
        self
    }

    /// Adds the due-time job of items whose partition key starts with `pk_prefix`.
    pub fn with_due(
        mut self,
        pk_prefix: &str,
        job: std::sync::Arc<dyn crate::due::DueJob>,
    ) -> Self {
        self.due = self.due.with(pk_prefix, job);
        self
    }

    /// The engines' due-time jobs.
    pub fn due(&self) -> &crate::due::DueJobs {
        &self.due
    }

    /// Revokes `lease`: the engine first, then the record (last, so a failure leaves a
    /// lease to retry). On an engine failure the lease is rescheduled or made
    /// irrevocable ([`record_failure`]) and the error returned; `force` deletes the
    /// record anyway (Vault's `revoke-force`).
    ///
    /// A revocation first claims the lease for [`CLAIM_SECS`] (one conditional update
    /// that also moves the lease to the claim's end on the expiry index): a concurrent
    /// revocation finds it claimed and skips it ([`Revocation::Skipped`]), and if the
    /// claimant dies the sweeper finds the lease again when the claim lapses.
    ///
    /// A pending lease younger than [`PENDING_GRACE_SECS`] may belong to an issue still
    /// running, which could create its user after the engine's revocation ran: it is
    /// only marked ([`Revocation::Deferred`]). Its activation then fails, the issue
    /// undoes what it created, and the sweeper revokes the lease after the grace.
    pub async fn revoke(
        &self,
        store: &dyn Store,
        lease: &Lease,
        now: i64,
        force: bool,
    ) -> Result<Revocation, RevokeOutcome> {
        let fresh;
        let mut lease = lease;
        if lease.state == LeaseState::Pending
            && lease.issued_at.saturating_add(PENDING_GRACE_SECS) > now
        {
            match request_revocation(store, lease, now).await {
                Ok(()) => return Ok(Revocation::Deferred),
                Err(e) if e.is_condition() => {
                    // Activated (or gone) meanwhile: revoke what is there now.
                    match get(store, &lease.id).await {
                        Ok(Some(l)) if l.state != LeaseState::Pending => {
                            fresh = l;
                            lease = &fresh;
                        }
                        Ok(_) => return Ok(Revocation::Skipped),
                        Err(_) => return Err(RevokeOutcome::Store(e)),
                    }
                }
                Err(e) => return Err(RevokeOutcome::Store(e)),
            }
        }
        // Claim first, conditionally: if another revocation holds the lease (or it is
        // already gone), this one has nothing to do.
        let key = lease_key(&lease.id);
        let until = now.saturating_add(CLAIM_SECS);
        let mut updates = vec![
            Update::Set(A_CLAIM, Value::N(until)),
            Update::Set(A_REVOKING, Value::N(now)),
        ];
        if lease.state != LeaseState::Irrevocable {
            updates.extend(schema::expiry_attrs(&key.pk, until).map(|(k, v)| Update::Set(k, v)));
        }
        let claim = store
            .write(Write::Update {
                key,
                updates,
                cond: Some(Cond::Le(A_CLAIM, now)),
            })
            .await;
        match claim {
            Ok(()) => {}
            Err(e) if e.is_condition() => return Ok(Revocation::Skipped),
            Err(e) => return Err(RevokeOutcome::Store(e)),
        }
        let result = match self.by_kind.get(&lease.kind) {
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
        Ok(Revocation::Done)
    }
}

/// Marks a young pending lease for revocation ([`A_DOOMED`]): conditional on it still
/// being pending.
async fn request_revocation(store: &dyn Store, lease: &Lease, now: i64) -> Result<(), StoreError> {
    store
        .write(Write::Update {
            key: lease_key(&lease.id),
            updates: vec![Update::Set(A_DOOMED, Value::N(now))],
            cond: Some(Cond::Eq(
                A_STATE,
                Value::S(LeaseState::Pending.as_str().into()),
            )),
        })
        .await
}

/// What [`Revokers::revoke`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The engine revoked it and the record is gone.
    Done,
    /// Nothing: another revocation holds its claim, or it is already gone.
    Skipped,
    /// A young pending lease, marked: it can no longer be activated, and the sweeper
    /// revokes it after [`PENDING_GRACE_SECS`].
    Deferred,
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
        activate(&store, &mut l, 0).await.unwrap();
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
            activate(&store, &mut l, 0).await.unwrap();
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
        assert!(
            list_prefix(&store, "t/", None, 10)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }

    /// The race the simulator found (seed 76822 of the first increment): an operator
    /// revoked a pending lease while its issue ran; the revocation deleted the record,
    /// the issue then created the user and died before its undo: a user with no lease.
    /// Now a young pending lease is only marked; its activation fails (the issue
    /// undoes), and the sweeper revokes it after the grace.
    #[tokio::test]
    async fn revoking_a_young_pending_lease_defers_to_the_sweeper() {
        let store = MemoryStore::new();
        crate::sweeper::init_cursor(&store, 0).await.unwrap();
        let slow = Arc::new(Slow(AtomicU32::new(0)));
        let revokers = Revokers::new().with("slow", slow.clone());
        let l = test_lease("t/creds/r/x", "slow");
        store.transact(l.pending_writes()).await.unwrap();
        assert_eq!(
            revokers.revoke(&store, &l, 10, false).await.unwrap(),
            Revocation::Deferred
        );
        assert_eq!(slow.0.load(Ordering::SeqCst), 0, "the engine waits");
        assert!(
            activate(&store, &mut l.clone(), 11).await.is_err(),
            "the issue cannot hand it out"
        );
        let r = crate::sweeper::sweep(&store, &revokers, PENDING_GRACE_SECS)
            .await
            .unwrap();
        assert_eq!(r.leases, 1, "{r:?}");
        assert_eq!(slow.0.load(Ordering::SeqCst), 1);
        assert!(get(&store, &l.id).await.unwrap().is_none());
    }

    /// Finding 8: activation and failure recording update their own fields under a
    /// condition; they no longer replace the item from an earlier read (which reset a
    /// concurrent revocation's claim, letting a second revocation run the engine).
    #[tokio::test]
    async fn activation_and_failures_keep_what_others_wrote() {
        let store = MemoryStore::new();
        let l = test_lease("t/creds/r/x", "slow");
        store.transact(l.pending_writes()).await.unwrap();
        // A revocation (after the grace) claims the pending lease.
        store
            .write(Write::Update {
                key: lease_key(&l.id),
                updates: vec![Update::Set(A_CLAIM, Value::N(1_000))],
                cond: None,
            })
            .await
            .unwrap();
        assert!(activate(&store, &mut l.clone(), 900).await.is_err());
        let item = store.get(&lease_key(&l.id)).await.unwrap().unwrap();
        assert_eq!(item.n(A_CLAIM).unwrap(), 1_000, "the claim stands");
        // A failure recorded from a read taken before the revocation was requested
        // keeps the request.
        store
            .write(Write::Update {
                key: lease_key(&l.id),
                updates: vec![Update::Set(A_DOOMED, Value::N(950))],
                cond: None,
            })
            .await
            .unwrap();
        record_failure(&store, &l, "Throttling", 960).await.unwrap();
        let item = store.get(&lease_key(&l.id)).await.unwrap().unwrap();
        assert!(revoke_requested(&item));
        assert_eq!(item.n(A_ATTEMPTS).unwrap(), 1);
        assert!(
            record_failure(&store, &l, "Throttling", 961).await.is_err(),
            "a stale attempt count is refused"
        );
    }

    /// Found by the simulator (seed 1180): a revocation claimed an active lease and
    /// died; once its claim lapsed, a renewal pushed the lease's expiry (and its place
    /// on the expiry index) out, so the lease outlived its token's revocation.
    #[tokio::test]
    async fn a_lease_whose_revocation_started_is_not_renewed() {
        let store = MemoryStore::new();
        let mut l = test_lease("t/creds/r/x", "slow");
        l.expire_at = 1_000;
        l.max_expire_at = 2_000;
        store.transact(l.pending_writes()).await.unwrap();
        activate(&store, &mut l, 0).await.unwrap();
        renew(&store, &l, 100, 400).await.unwrap();
        // A revocation claims it (at 500) and dies.
        store
            .write(Write::Update {
                key: lease_key(&l.id),
                updates: vec![
                    Update::Set(A_CLAIM, Value::N(500 + CLAIM_SECS)),
                    Update::Set(A_REVOKING, Value::N(500)),
                ],
                cond: None,
            })
            .await
            .unwrap();
        assert!(renew(&store, &l, 100, 510).await.is_err(), "claimed");
        assert!(
            renew(&store, &l, 100, 500 + CLAIM_SECS + 1).await.is_err(),
            "the claim lapsed, the revocation stands"
        );
    }

    #[tokio::test]
    async fn a_lapsed_claim_is_taken_over() {
        let store = MemoryStore::new();
        let slow = Arc::new(Slow(AtomicU32::new(0)));
        let revokers = Revokers::new().with("slow", slow.clone());
        let mut l = test_lease("t/creds/r/x", "slow");
        store.transact(l.pending_writes()).await.unwrap();
        activate(&store, &mut l, 0).await.unwrap();
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
