//! Revocations too large for one request: a token's (its children, each revoked by a
//! job of its own, and all the leases it created) and a lease prefix's (`sys/leases/revoke-prefix`, `revoke-force`). DESIGN.md's budget: an
//! operation over many items returns within a function's timeout, the rest is done in
//! bounded sweeper steps.
//!
//! A revocation is recorded first, as a job, in the same transaction that makes it
//! take effect (for a token: the mark that makes it authenticate nothing). Then it is
//! worked in [`step`]s of a bounded number of leases, resuming after the last lease
//! reference or ID done: a few by the request that asked ([`INLINE_BUDGET`]), the rest
//! by the sweeper ([`run`], [`SWEEP_BUDGET`] per run). A step that dies is redone from
//! the job's cursor; every lease revocation in it is claimed and idempotent
//! ([`crate::lease::Revokers::revoke`]).
//!
//! Items: `sys/revocations` / `token/{hash}`, `prefix/{lease ID prefix}`,
//! `tokens/{auth path prefix}`, `orphan/{hash}` or `reroot/{cut}/{hash}`, with
//! `created_at` (Unix seconds), `after` (the cursor) and `force`.

use futures::StreamExt;

use crate::error::ApiError;
use crate::lease::{self, Revocation, RevokeOutcome, Revokers};
use crate::store::{
    Cond, Item, ItemExt, Key, Query, SortCond, Store, Update, Value, Write, new_item,
};
use crate::token;

/// The partition of revocation jobs.
pub const JOBS_PK: &str = "sys/revocations";
/// Leases a request revokes itself before it answers (the rest: the sweeper). About
/// five IAM calls each: a few seconds, within an API function's 15 s timeout.
pub const INLINE_BUDGET: usize = 16;
/// Leases one sweeper run revokes across all jobs (at [`CONCURRENCY`] at a time, about
/// a minute of IAM calls: within the sweeper's 240 s timeout).
pub const SWEEP_BUDGET: usize = 1000;
/// Lease revocations run at once.
pub const CONCURRENCY: usize = 8;
/// Leases read per query.
const PAGE: usize = 25;

const A_CREATED: &str = "created_at";
/// The sort key prefix of reroot jobs (`reroot/{cut}/{hash}`).
const REROOT: &str = "reroot/";
const A_AFTER: &str = "after";
const A_FORCE: &str = "force";

/// What a job revokes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every lease a token created, then the token.
    Token {
        /// SHA-256 of the token.
        hash: String,
    },
    /// Every lease whose ID starts with `prefix` (a folder, ending in `/`) and that was
    /// issued before the job began; `force` deletes a lease whose engine fails.
    Prefix {
        /// The lease ID prefix.
        prefix: String,
        /// Vault's `revoke-force`.
        force: bool,
    },
    /// Every token an auth method issued through a path under `prefix` (a folder,
    /// e.g. `auth/approle/` or `auth/approle/login/`, as Vault's token lease IDs are
    /// the creating path and the token's ID): revoke-prefix on an auth path. Walks the
    /// auth mount's token index ([`token::mount_index_partitions`]); each token becomes
    /// a revocation of its own (its leases and children with it).
    Auth {
        /// The path prefix, ending in `/`.
        prefix: String,
    },
    /// `auth/token/revoke-orphan`: every lease the token created, then the token; its
    /// children live on as orphans. Each child gets a [`Target::Reroot`] job; the
    /// token's entry (marked [`token::A_ORPHANED`], where its descendants' ancestor
    /// checks stop) goes only once every reroot under it is done.
    Orphan {
        /// SHA-256 of the token.
        hash: String,
    },
    /// Takes `cut` and every ancestor above it off the token `hash`'s recorded
    /// ancestors, then starts the same for each of its children.
    Reroot {
        /// SHA-256 of the token rewritten.
        hash: String,
        /// SHA-256 of the token revoked by `revoke-orphan`.
        cut: String,
    },
}

/// A revocation under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// What it revokes.
    pub target: Target,
    /// When it began (Unix seconds): a prefix job leaves leases issued later alone.
    pub created_at: i64,
    /// The last lease reference (token) or lease ID (prefix) done.
    pub after: Option<String>,
}

impl Job {
    fn key(&self) -> Key {
        Key::new(
            JOBS_PK,
            match &self.target {
                Target::Token { hash } => format!("token/{hash}"),
                Target::Prefix { prefix, .. } => format!("prefix/{prefix}"),
                Target::Auth { prefix } => format!("tokens/{prefix}"),
                Target::Orphan { hash } => format!("orphan/{hash}"),
                Target::Reroot { hash, cut } => format!("{REROOT}{cut}/{hash}"),
            },
        )
    }

    fn to_item(&self) -> Item {
        let mut item = new_item(&self.key());
        item.insert(A_CREATED.into(), Value::N(self.created_at));
        if let Target::Prefix { force: true, .. } = self.target {
            item.insert(A_FORCE.into(), Value::Bool(true));
        }
        item
    }

    fn from_item(item: &Item) -> Option<Self> {
        let sk = item.key().sk;
        let target = if let Some(hash) = sk.strip_prefix("token/") {
            Target::Token {
                hash: hash.to_owned(),
            }
        } else if let Some(prefix) = sk.strip_prefix("tokens/") {
            Target::Auth {
                prefix: prefix.to_owned(),
            }
        } else if let Some(hash) = sk.strip_prefix("orphan/") {
            Target::Orphan {
                hash: hash.to_owned(),
            }
        } else if let Some(rest) = sk.strip_prefix(REROOT) {
            let (cut, hash) = rest.split_once('/')?;
            Target::Reroot {
                hash: hash.to_owned(),
                cut: cut.to_owned(),
            }
        } else {
            Target::Prefix {
                prefix: sk.strip_prefix("prefix/")?.to_owned(),
                force: item.flag(A_FORCE).unwrap_or(false),
            }
        };
        Some(Self {
            target,
            created_at: item.n(A_CREATED).ok()?,
            after: item.get(A_AFTER).and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// Starts revoking the token `hash`: one transaction marks it (it authenticates
/// nothing from here on: [`token::revoking_write`]) and records the job. `Ok(None)`
/// when there is nothing to start: the token is gone, or a revocation of it already
/// began (its job finishes it).
pub async fn start_token(store: &dyn Store, hash: &str, now: i64) -> Result<Option<Job>, ApiError> {
    let unmarked = Cond::And(vec![Cond::Exists, Cond::AttrAbsent(token::A_REVOKED)]);
    start_token_if(store, hash, unmarked, now).await
}

/// The sweeper's start of an expired token's revocation: as [`start_token`], on the
/// condition that the token is still expired (a concurrent renewal wins). `false` when
/// the condition failed.
pub async fn start_expired_token(
    store: &dyn Store,
    hash: &str,
    now: i64,
) -> Result<bool, ApiError> {
    Ok(start_token_if(store, hash, Cond::Le("expire_at", now), now)
        .await?
        .is_some())
}

async fn start_token_if(
    store: &dyn Store,
    hash: &str,
    cond: Cond,
    now: i64,
) -> Result<Option<Job>, ApiError> {
    let job = Job {
        target: Target::Token {
            hash: hash.to_owned(),
        },
        created_at: now,
        after: None,
    };
    let writes = vec![
        token::revoking_write(hash, now, cond),
        Write::Put {
            item: job.to_item(),
            cond: None,
        },
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(Some(job)),
        Err(e) if e.is_condition() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts `auth/token/revoke-orphan` of `entry` (found live): one transaction marks it
/// revoked and [`token::A_ORPHANED`] (it authenticates nothing; its descendants'
/// ancestor checks stop at it, so they live on), takes its reference off its parent
/// (whose revocation then never reaches it), records the job, and holds each ancestor
/// that still counts to being unrevoked (a revocation of one that started first wins:
/// the token was refused already). `live`: how many ancestors count
/// ([`token::live_ancestors`]). `Ok(None)` when a condition failed (the caller reads
/// again).
pub async fn start_orphan(
    store: &dyn Store,
    entry: &token::TokenEntry,
    live: usize,
    now: i64,
) -> Result<Option<Job>, ApiError> {
    let job = Job {
        target: Target::Orphan {
            hash: entry.hash.clone(),
        },
        created_at: now,
        after: None,
    };
    let mut mark = token::revoking_write(
        &entry.hash,
        now,
        Cond::And(vec![Cond::Exists, Cond::AttrAbsent(token::A_REVOKED)]),
    );
    if let Write::Update { updates, .. } = &mut mark {
        updates.push(Update::Set(token::A_ORPHANED, Value::Bool(true)));
    }
    let mut writes = vec![
        mark,
        Write::Put {
            item: job.to_item(),
            cond: None,
        },
    ];
    if let Some(parent) = entry.ancestors.first() {
        writes.push(Write::Delete {
            key: token::child_key(parent, &entry.hash),
            cond: None,
        });
    }
    for a in entry.ancestors.iter().take(live) {
        writes.push(Write::Check {
            key: token::token_key(a),
            cond: token::unrevoked_cond(),
        });
    }
    match store.transact(writes).await {
        Ok(()) => Ok(Some(job)),
        Err(e) if e.is_condition() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records a reroot of `hash` below `cut` (kept as is if one is under way).
async fn start_reroot(store: &dyn Store, hash: &str, cut: &str, now: i64) -> Result<Job, ApiError> {
    let job = Job {
        target: Target::Reroot {
            hash: hash.to_owned(),
            cut: cut.to_owned(),
        },
        created_at: now,
        after: None,
    };
    match store
        .write(Write::Put {
            item: job.to_item(),
            cond: Some(Cond::NotExists),
        })
        .await
    {
        Err(e) if !e.is_condition() => Err(e.into()),
        _ => Ok(job),
    }
}

/// Takes `cut` and every ancestor recorded above it off the token `hash` (one
/// conditional update on the depth it read, retried if another reroot came first); a
/// token that is gone or no longer names `cut` is left alone.
async fn reroot_one(store: &dyn Store, hash: &str, cut: &str) -> Result<(), ApiError> {
    for _ in 0..5 {
        let Some(item) = store.get(&token::token_key(hash)).await? else {
            return Ok(());
        };
        let ancestors = match item.get(token::A_ANCESTORS) {
            Some(_) => item.strings(token::A_ANCESTORS)?,
            None => Vec::new(),
        };
        let Some(at) = ancestors.iter().position(|a| a == cut) else {
            return Ok(());
        };
        let depth = match item.get(token::A_DEPTH) {
            Some(_) => Cond::Eq(token::A_DEPTH, Value::N(item.n(token::A_DEPTH)?)),
            None => Cond::AttrAbsent(token::A_DEPTH),
        };
        let kept = ancestors[..at].to_vec();
        let mut updates = vec![Update::Set(token::A_DEPTH, Value::N(kept.len() as i64))];
        updates.push(if kept.is_empty() {
            Update::Remove(token::A_ANCESTORS)
        } else {
            Update::Set(token::A_ANCESTORS, kept.into())
        });
        match store
            .write(Write::Update {
                key: token::token_key(hash),
                updates,
                cond: Some(Cond::And(vec![Cond::Exists, depth])),
            })
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_condition() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Whether reroots below `cut` are still under way (one query).
async fn reroots_under(store: &dyn Store, cut: &str) -> Result<bool, ApiError> {
    jobs_under(store, &format!("{REROOT}{cut}/")).await
}

/// Consumes one use of the caller's token for the request at hand (Vault's use
/// counting, `TokenStore.UseToken`). A token without a use limit is returned as is,
/// with no write; with two or more uses left, one is spent ([`token::use_one`]). The
/// last use starts the token's revocation ([`start_token`]'s mark and job, in one
/// transaction conditional on that use being left, so concurrent requests cannot
/// overspend it): the request still runs, every other request is refused from then
/// on, no lease can be filed under the token any more, and the caller works the
/// returned job once the request is done, revoking the leases of earlier uses (Vault
/// revokes a token after its last request). The entry comes back with `num_uses`
/// [`token::REVOCATION_PENDING`] then. 403 when the last use went to another request.
pub async fn consume_use(
    store: &dyn Store,
    mut entry: token::TokenEntry,
    now: i64,
) -> Result<(token::TokenEntry, Option<Job>), ApiError> {
    for _ in 0..5 {
        match entry.num_uses {
            0 => return Ok((entry, None)),
            1 => {
                let last = Cond::And(vec![
                    Cond::Eq(token::A_USES, Value::N(1)),
                    Cond::AttrAbsent(token::A_REVOKED),
                ]);
                if let Some(job) = start_token_if(store, &entry.hash, last, now).await? {
                    entry.num_uses = token::REVOCATION_PENDING;
                    return Ok((entry, Some(job)));
                }
            }
            _ => match token::use_one(store, &entry.hash).await {
                Ok(()) => {
                    // As Vault's lookups during the request show it: this use counted.
                    entry.num_uses -= 1;
                    return Ok((entry, None));
                }
                Err(e) if e.is_condition() || e.is_retryable() => {}
                Err(e) => return Err(e.into()),
            },
        }
        entry = token::find_by_hash(store, &entry.hash, now)
            .await?
            .ok_or(ApiError::PermissionDenied)?;
    }
    Err(ApiError::Unavailable)
}

/// Starts revoking every lease under `prefix` (a folder ending in `/`) issued up to
/// `now`. Starting again restarts the walk (and takes in leases issued since).
pub async fn start_prefix(
    store: &dyn Store,
    prefix: &str,
    force: bool,
    now: i64,
) -> Result<Job, ApiError> {
    record(
        store,
        Target::Prefix {
            prefix: prefix.to_owned(),
            force,
        },
        now,
    )
    .await
}

/// Records a new job for `target` (replacing one under way: the walk starts over).
async fn record(store: &dyn Store, target: Target, now: i64) -> Result<Job, ApiError> {
    let job = Job {
        target,
        created_at: now,
        after: None,
    };
    store
        .write(Write::Put {
            item: job.to_item(),
            cond: None,
        })
        .await?;
    Ok(job)
}

/// Starts revoking every token issued through a path under `prefix` (a folder under
/// `auth/`), as [`start_prefix`] does for leases.
pub async fn start_auth(store: &dyn Store, prefix: &str, now: i64) -> Result<Job, ApiError> {
    let target = Target::Auth {
        prefix: prefix.to_owned(),
    };
    record(store, target, now).await
}

/// Whether a token revocation by auth path ([`start_auth`]) under `prefix` is still
/// under way (one query): the sweeper keeps the path's record in the mount table until
/// none is ([`crate::mounts::revoked`]).
pub async fn auth_jobs_under(store: &dyn Store, prefix: &str) -> Result<bool, ApiError> {
    jobs_under(store, &format!("tokens/{prefix}")).await
}

/// Whether any job's key starts with `sk_prefix` (one query of at most one item).
async fn jobs_under(store: &dyn Store, sk_prefix: &str) -> Result<bool, ApiError> {
    let mut q = Query::partition(JOBS_PK);
    q.sort = SortCond::Prefix(sk_prefix.to_owned());
    q.limit = Some(1);
    Ok(!store.query(&q).await?.items.is_empty())
}

/// Works `job` for [`INLINE_BUDGET`] leases on the request that started it; what is
/// left (or a step that failed) is the sweeper's, so an error is only logged.
pub async fn step_inline(store: &dyn Store, revokers: &Revokers, job: &mut Job, now: i64) {
    if let Err(e) = step(store, revokers, job, INLINE_BUDGET, now).await {
        tracing::warn!(code = e.code(), "revocation continues in the sweeper");
    }
}

/// What a step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Leases looked at (revoked, deferred, skipped or failed).
    pub leases: usize,
    /// Leases whose engine failed (rescheduled by [`lease::record_failure`]).
    pub failed: usize,
    /// Leases another revocation was working on (claimed): that revocation, or the
    /// sweeper once its claim lapses, finishes them.
    pub skipped: usize,
    /// Whether the job is finished (and gone).
    pub done: bool,
}

/// Works on `job` for at most `budget` leases, saving its cursor after each page. A
/// lease whose engine fails is left, rescheduled, to the sweeper's expiry pass; it does
/// not stop the job. The job ends when its walk does: a token's entry, accessor and
/// remaining references go with the job.
pub async fn step(
    store: &dyn Store,
    revokers: &Revokers,
    job: &mut Job,
    budget: usize,
    now: i64,
) -> Result<Progress, ApiError> {
    if let Target::Auth { prefix } = &job.target {
        let prefix = prefix.clone();
        return Box::pin(step_auth(store, revokers, job, &prefix, budget, now)).await;
    }
    let mut progress = Progress::default();
    let (partition, prefix) = match &job.target {
        // The token's partition: its children's references (`child/`) sort before
        // its leases' (`lease/`), then its own entry (skipped).
        Target::Token { hash } | Target::Orphan { hash } => {
            (format!("token/{hash}"), String::new())
        }
        Target::Prefix { prefix, .. } => (lease::index_partition(prefix), prefix.clone()),
        // The token first, then its children's references.
        Target::Reroot { hash, cut } => {
            if job.after.is_none() {
                reroot_one(store, hash, cut).await?;
            }
            (format!("token/{hash}"), token::CHILD_PREFIX.to_owned())
        }
        Target::Auth { .. } => unreachable!("worked by step_auth"),
    };
    loop {
        let room = budget.saturating_sub(progress.leases);
        if room == 0 {
            return Ok(progress);
        }
        let limit = room.min(PAGE);
        let mut q = Query::partition(partition.clone());
        q.sort = if prefix.is_empty() {
            SortCond::All
        } else {
            SortCond::Prefix(prefix.clone())
        };
        q.limit = Some(limit as u32);
        q.start = job
            .after
            .as_ref()
            .map(|a| new_item(&Key::new(&partition, a)));
        let page = store.query(&q).await?;
        let keys: Vec<String> = page.items.iter().map(|i| i.key().sk).collect();
        let target = &job.target;
        let created_at = job.created_at;
        let results: Vec<Result<Seen, ApiError>> = futures::stream::iter(keys.iter().cloned())
            .map(|sk| one(store, revokers, target, created_at, sk, now))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            progress.leases += 1;
            match r? {
                Seen::Revoked => {}
                Seen::Failed => progress.failed += 1,
                Seen::Skipped => progress.skipped += 1,
            }
        }
        if let Some(last) = keys.last() {
            job.after = Some(last.clone());
            save_cursor(store, job).await?;
        }
        if page.next.is_none() || keys.len() < limit {
            if let Target::Orphan { hash } = &job.target {
                // The token's entry, where its descendants' ancestor checks stop, stays
                // until every one of them no longer names it.
                let hash = hash.clone();
                let left = budget.saturating_sub(progress.leases);
                progress.leases += Box::pin(reroots(store, revokers, &hash, left, now)).await?;
                if reroots_under(store, &hash).await? {
                    return Ok(progress);
                }
            }
            finish(store, job).await?;
            progress.done = true;
            return Ok(progress);
        }
    }
}

/// Works the reroot jobs below `cut` for at most `budget` items (each costs at least
/// one); returns the items spent.
async fn reroots(
    store: &dyn Store,
    revokers: &Revokers,
    cut: &str,
    budget: usize,
    now: i64,
) -> Result<usize, ApiError> {
    let mut spent = 0;
    while spent < budget {
        let mut q = Query::partition(JOBS_PK);
        q.sort = SortCond::Prefix(format!("{REROOT}{cut}/"));
        q.limit = Some(PAGE as u32);
        let jobs: Vec<Job> = store
            .query(&q)
            .await?
            .items
            .iter()
            .filter_map(Job::from_item)
            .collect();
        if jobs.is_empty() {
            break;
        }
        for mut job in jobs {
            if spent >= budget {
                break;
            }
            let p = step(store, revokers, &mut job, budget - spent, now).await?;
            spent += p.leases.max(1);
        }
    }
    Ok(spent)
}

/// [`step`] for an [`Target::Auth`] job: walks the auth mount's token index, shard by
/// shard (the cursor is `{shard}:{last hash}`), starting the revocation of each token
/// whose creating path is under the prefix and that was issued before the job began,
/// and working that revocation within the budget left. A token revocation left to the
/// sweeper counts as skipped (the caller answers 202).
async fn step_auth(
    store: &dyn Store,
    revokers: &Revokers,
    job: &mut Job,
    prefix: &str,
    budget: usize,
    now: i64,
) -> Result<Progress, ApiError> {
    let mut progress = Progress::default();
    let Some(mount) = token::auth_mount_of(prefix) else {
        finish(store, job).await?;
        progress.done = true;
        return Ok(progress);
    };
    let shards: Vec<String> = token::mount_index_partitions(&mount).collect();
    let (mut shard, mut after) = match job.after.as_deref().and_then(|a| a.split_once(':')) {
        Some((s, h)) => (
            s.parse::<usize>().unwrap_or(0),
            (!h.is_empty()).then(|| h.to_owned()),
        ),
        None => (0, None),
    };
    while shard < shards.len() {
        let room = budget.saturating_sub(progress.leases);
        if room == 0 {
            return Ok(progress);
        }
        let limit = room.min(PAGE);
        let mut q = Query::partition(shards[shard].clone());
        q.limit = Some(limit as u32);
        q.start = after
            .as_ref()
            .map(|h| new_item(&Key::new(&shards[shard], h)));
        let page = store.query(&q).await?;
        let hashes: Vec<String> = page.items.iter().map(|i| i.key().sk).collect();
        for hash in &hashes {
            progress.leases += 1;
            let Some(item) = store.get(&token::token_key(hash)).await? else {
                continue;
            };
            let Ok(entry) = token::TokenEntry::try_from(&item) else {
                continue;
            };
            if format!("{}/", entry.path).starts_with(prefix) && entry.issued_at <= job.created_at {
                // The token is refused from here on; its own job revokes its leases
                // and children, here within the budget left, else in the sweeper.
                if let Some(mut t) = start_token(store, hash, now).await? {
                    let left = budget.saturating_sub(progress.leases);
                    let p = if left > 0 {
                        step(store, revokers, &mut t, left, now).await?
                    } else {
                        Progress::default()
                    };
                    progress.leases += p.leases;
                    progress.failed += p.failed;
                    progress.skipped += p.skipped + usize::from(!p.done);
                }
            }
        }
        if page.next.is_none() || hashes.len() < limit {
            shard += 1;
            after = None;
        } else {
            after = hashes.last().cloned();
        }
        job.after = Some(format!("{shard}:{}", after.clone().unwrap_or_default()));
        save_cursor(store, job).await?;
    }
    finish(store, job).await?;
    progress.done = true;
    Ok(progress)
}

/// What became of one lease of a job.
enum Seen {
    /// Revoked, gone already, left alone (issued after a prefix job began), or, if it
    /// was a young pending lease, marked so that it is never handed out.
    Revoked,
    /// Its engine failed: rescheduled.
    Failed,
    /// Claimed by another revocation.
    Skipped,
}

/// Revokes the lease of one reference or index entry.
async fn one(
    store: &dyn Store,
    revokers: &Revokers,
    target: &Target,
    created_at: i64,
    sk: String,
    now: i64,
) -> Result<Seen, ApiError> {
    let (id, force) = match target {
        Target::Reroot { cut, .. } => {
            if let Some(child) = sk.strip_prefix(token::CHILD_PREFIX) {
                start_reroot(store, child, cut, now).await?;
            }
            return Ok(Seen::Revoked);
        }
        Target::Orphan { hash } => {
            if let Some(child) = sk.strip_prefix(token::CHILD_PREFIX) {
                // The child lives on as an orphan: its ancestors are rewritten.
                start_reroot(store, child, hash, now).await?;
                return Ok(Seen::Revoked);
            }
            match sk.strip_prefix("lease/") {
                Some(id) => (id, false),
                None => return Ok(Seen::Revoked),
            }
        }
        Target::Token { .. } => {
            if let Some(child) = sk.strip_prefix(token::CHILD_PREFIX) {
                // The child is refused already (its ancestor is marked); its own
                // revocation job revokes its leases and children.
                start_token(store, child, now).await?;
                return Ok(Seen::Revoked);
            }
            match sk.strip_prefix("lease/") {
                Some(id) => (id, false),
                None => return Ok(Seen::Revoked),
            }
        }
        Target::Prefix { force, .. } => (sk.as_str(), *force),
        Target::Auth { .. } => return Ok(Seen::Revoked),
    };
    let Some(l) = lease::get(store, id).await? else {
        return Ok(Seen::Revoked);
    };
    if matches!(target, Target::Prefix { .. }) && l.issued_at > created_at {
        // Issued after the revocation began: not the caller's to revoke.
        return Ok(Seen::Revoked);
    }
    match revokers.revoke(store, &l, now, force).await {
        Ok(Revocation::Done | Revocation::Deferred) => Ok(Seen::Revoked),
        Ok(Revocation::Skipped) => Ok(Seen::Skipped),
        Err(RevokeOutcome::Store(e)) => Err(e.into()),
        Err(e @ RevokeOutcome::Failed { .. }) => {
            tracing::warn!(error = %e, "revocation job: a lease failed; retried by the sweeper");
            Ok(Seen::Failed)
        }
    }
}

async fn save_cursor(store: &dyn Store, job: &Job) -> Result<(), ApiError> {
    let Some(after) = &job.after else {
        return Ok(());
    };
    match store
        .write(Write::Update {
            key: job.key(),
            updates: vec![Update::Set(A_AFTER, Value::S(after.clone()))],
            cond: Some(Cond::Exists),
        })
        .await
    {
        // Finished by a concurrent step: nothing to save.
        Err(e) if e.is_condition() => Ok(()),
        r => Ok(r?),
    }
}

async fn finish(store: &dyn Store, job: &Job) -> Result<(), ApiError> {
    if let Target::Token { hash } | Target::Orphan { hash } = &job.target {
        let item = store.get(&token::token_key(hash)).await?;
        token::revoke_hash(store, hash, item.as_ref()).await?;
    }
    store
        .write(Write::Delete {
            key: job.key(),
            cond: None,
        })
        .await?;
    Ok(())
}

/// The jobs under way, oldest key first (at most 100 per call).
pub async fn pending(store: &dyn Store) -> Result<Vec<Job>, ApiError> {
    let mut q = Query::partition(JOBS_PK);
    q.limit = Some(100);
    let page = store.query(&q).await?;
    Ok(page.items.iter().filter_map(Job::from_item).collect())
}

/// What one sweeper run did to the revocation jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Leases looked at.
    pub leases: usize,
    /// Jobs finished.
    pub finished: usize,
    /// Jobs still under way.
    pub pending: usize,
}

/// The sweeper's share: steps over the pending jobs, `budget` leases in all, split
/// evenly so that one large job does not starve the others. Jobs come in pages of
/// 100, oldest key first, until the budget is spent; each step costs at least one
/// unit, so a run over many small jobs (a token tree's descendants) is bounded too.
/// `pending` in the report counts at most one page.
pub async fn run(
    store: &dyn Store,
    revokers: &Revokers,
    budget: usize,
    now: i64,
) -> Result<RunReport, ApiError> {
    let mut report = RunReport::default();
    let mut spent = 0;
    loop {
        let jobs = pending(store).await?;
        if jobs.is_empty() || spent >= budget {
            report.pending = jobs.len();
            return Ok(report);
        }
        let share = ((budget - spent) / jobs.len()).max(PAGE);
        let mut finished = 0;
        for mut job in jobs {
            if spent >= budget {
                break;
            }
            let p = step(store, revokers, &mut job, share, now).await?;
            report.leases += p.leases;
            spent += p.leases.max(1);
            if p.done {
                finished += 1;
            }
        }
        report.finished += finished;
        if finished == 0 {
            report.pending = pending(store).await?.len();
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::lease::{Lease, LeaseState, RevokeError, Revoker};
    use crate::store::memory::MemoryStore;
    use crate::token::{Limits, TokenParams};

    #[derive(Default)]
    struct Counting(AtomicU32);

    #[async_trait::async_trait]
    impl Revoker for Counting {
        async fn revoke(&self, _lease: &Lease) -> Result<(), RevokeError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// The limits every test token is minted with.
    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 3600,
        batch: None,
    };

    /// Mints a token with `params` at time 0 and stores it.
    async fn stored(store: &MemoryStore, params: TokenParams) -> crate::token::Minted {
        let m = crate::token::mint(&params, LIMITS, 0).unwrap();
        store.transact(m.writes()).await.unwrap();
        m
    }

    async fn token(store: &MemoryStore) -> crate::token::Minted {
        stored(store, TokenParams::default()).await
    }

    async fn active(store: &MemoryStore, id: &str, owner: Option<&str>, issued_at: i64) {
        let mut l = Lease {
            id: id.into(),
            path: id.rsplit_once('/').unwrap().0.into(),
            kind: "k".into(),
            state: LeaseState::Pending,
            issued_at,
            expire_at: issued_at + 3000,
            max_expire_at: issued_at + 3000,
            renewable: true,
            token_hash: owner.map(str::to_owned),
            data: BTreeMap::new(),
            attempts: 0,
            last_error: None,
        };
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(store, &mut l, issued_at).await.unwrap();
    }

    fn leases_left(store: &MemoryStore) -> usize {
        store
            .dump()
            .iter()
            .filter(|i| i.key().pk.starts_with("lease/"))
            .count()
    }

    async fn limited(store: &MemoryStore, num_uses: i64) -> crate::token::Minted {
        let params = TokenParams {
            num_uses,
            ..TokenParams::default()
        };
        stored(store, params).await
    }

    /// Finding 6: a use-limited token's last use deleted the token before the request
    /// ran (a lease request then failed with 403 having spent the use) and left the
    /// leases of its earlier uses to their own expiry. Now the last use starts the
    /// token's revocation, the request runs with the entry, and the job revokes every
    /// lease once it is done.
    #[tokio::test]
    async fn the_last_use_runs_then_revokes_the_token_and_its_leases() {
        let store = MemoryStore::new();
        let m = limited(&store, 2).await;
        let (first, job) = consume_use(&store, m.entry.clone(), 1).await.unwrap();
        assert_eq!(
            (first.num_uses, job.is_none()),
            (1, true),
            "shown after this use"
        );
        active(&store, "aws/creds/r/0001", Some(&m.entry.hash), 1).await;

        let again = crate::token::find_by_hash(&store, &m.entry.hash, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.num_uses, 1);
        let (last, job) = consume_use(&store, again.clone(), 2).await.unwrap();
        assert_eq!(last.num_uses, crate::token::REVOCATION_PENDING);
        let mut job = job.expect("the last use starts the revocation");
        assert!(
            crate::token::find_by_hash(&store, &m.entry.hash, 2)
                .await
                .unwrap()
                .is_none(),
            "no other request may use it"
        );
        assert_eq!(
            consume_use(&store, again, 2).await.unwrap_err(),
            ApiError::PermissionDenied,
            "a concurrent request that read it before cannot spend the last use again"
        );
        assert_eq!(
            crate::token::lease_refused(&last).status(),
            400,
            "a lease asked for on the last use gets Vault's answer"
        );

        let counting = Arc::new(Counting::default());
        let revokers = Revokers::new().with("k", counting.clone());
        let p = step(&store, &revokers, &mut job, INLINE_BUDGET, 3)
            .await
            .unwrap();
        assert!(p.done, "{p:?}");
        assert_eq!(
            counting.0.load(Ordering::SeqCst),
            1,
            "the earlier use's lease"
        );
        assert!(store.dump().is_empty(), "{:?}", store.dump());
    }

    /// Uses are never overspent: of many requests racing for a token's three uses,
    /// three run.
    #[tokio::test]
    async fn racing_requests_spend_each_use_once() {
        let store = MemoryStore::new();
        let m = limited(&store, 3).await;
        let results =
            futures::future::join_all((0..8).map(|_| consume_use(&store, m.entry.clone(), 1)))
                .await;
        let ran = results.iter().filter(|r| r.is_ok()).count();
        let last = results
            .iter()
            .filter(|r| matches!(r, Ok((_, Some(_)))))
            .count();
        assert_eq!((ran, last), (3, 1), "{results:?}");
    }

    async fn child_of(
        store: &MemoryStore,
        parent: &crate::token::TokenEntry,
    ) -> crate::token::Minted {
        let params = TokenParams {
            ancestors: std::iter::once(parent.hash.clone())
                .chain(parent.ancestors.iter().cloned())
                .collect(),
            ..TokenParams::default()
        };
        stored(store, params).await
    }

    /// The token tree (issue "Token store"): revoking a token refuses its whole subtree
    /// at once (each lookup checks the ancestors), no child can be filed under it from
    /// then on, and the revocation's steps start each child's revocation, which revokes
    /// the child's leases and children in turn.
    #[tokio::test]
    async fn revoking_a_token_refuses_and_revokes_its_subtree() {
        let store = MemoryStore::new();
        let root = token(&store).await;
        let child = child_of(&store, &root.entry).await;
        let grandchild = child_of(&store, &child.entry).await;
        let sibling = child_of(&store, &root.entry).await;
        for (n, owner) in [&child, &grandchild, &sibling].iter().enumerate() {
            active(
                &store,
                &format!("aws/creds/r/{n:04}"),
                Some(&owner.entry.hash),
                0,
            )
            .await;
        }
        let live = |h: String| {
            let store = &store;
            async move {
                crate::token::find_by_hash(store, &h, 10)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(live(grandchild.entry.hash.clone()).await);

        let mut job = start_token(&store, &child.entry.hash, 10)
            .await
            .unwrap()
            .unwrap();
        assert!(!live(child.entry.hash.clone()).await);
        assert!(
            !live(grandchild.entry.hash.clone()).await,
            "refused at once, with its parent"
        );
        assert!(live(root.entry.hash.clone()).await && live(sibling.entry.hash.clone()).await);
        let late = crate::token::mint(
            &TokenParams {
                ancestors: vec![child.entry.hash.clone(), root.entry.hash.clone()],
                ..TokenParams::default()
            },
            LIMITS,
            10,
        )
        .unwrap();
        assert!(
            store
                .transact(late.writes())
                .await
                .unwrap_err()
                .is_condition(),
            "no child is born under a token whose revocation started"
        );

        let counting = Arc::new(Counting::default());
        let revokers = Revokers::new().with("k", counting.clone());
        let p = step(&store, &revokers, &mut job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        assert!(p.done, "{p:?}");
        assert_eq!(
            counting.0.load(Ordering::SeqCst),
            1,
            "the child's own lease"
        );
        let r = run(&store, &revokers, 100, 11).await.unwrap();
        assert_eq!((r.finished, r.pending), (1, 0), "{r:?}");
        assert_eq!(counting.0.load(Ordering::SeqCst), 2, "and the grandchild's");
        assert_eq!(leases_left(&store), 1, "the sibling's lease stays");
        let tokens: Vec<String> = store
            .dump()
            .iter()
            .map(|i| i.key())
            .filter(|k| k.sk == "token")
            .map(|k| k.pk)
            .collect();
        assert_eq!(
            tokens,
            {
                let mut v = vec![
                    format!("token/{}", root.entry.hash),
                    format!("token/{}", sibling.entry.hash),
                ];
                v.sort();
                v
            },
            "the subtree's entries are gone"
        );
        let refs: Vec<String> = store
            .dump()
            .iter()
            .map(|i| i.key().sk)
            .filter(|sk| sk.starts_with(crate::token::CHILD_PREFIX))
            .collect();
        assert_eq!(
            refs,
            vec![format!("child/{}", sibling.entry.hash)],
            "no reference to a revoked child is left"
        );
    }

    /// `revoke-orphan` (issue "Token store"): the token and its leases go; its children
    /// and their subtrees authenticate throughout and end up orphans, untouched by a
    /// later revocation of the old root; a child born under the subtree during the
    /// rewrite is rewritten too, and one minted from a stale read of its parent is
    /// refused (its creation retries with a fresh read).
    #[tokio::test]
    async fn revoke_orphan_keeps_the_subtree_alive_as_orphans() {
        let store = MemoryStore::new();
        let root = token(&store).await;
        let x = child_of(&store, &root.entry).await;
        let c = child_of(&store, &x.entry).await;
        let g = child_of(&store, &c.entry).await;
        active(&store, "aws/creds/r/0001", Some(&x.entry.hash), 0).await;
        active(&store, "aws/creds/r/0002", Some(&c.entry.hash), 0).await;
        let find = |h: String| {
            let store = &store;
            async move { crate::token::find_by_hash(store, &h, 10).await.unwrap() }
        };
        let live = crate::token::live_ancestors(&store, &x.entry, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live, 1);
        let mut job = start_orphan(&store, &x.entry, live, 10)
            .await
            .unwrap()
            .unwrap();
        assert!(
            find(x.entry.hash.clone()).await.is_none(),
            "refused at once"
        );
        for t in [&c, &g] {
            assert!(find(t.entry.hash.clone()).await.is_some(), "lives on");
        }
        // Born under the subtree before its rewrite: rewritten with it.
        let late = child_of(&store, &g.entry).await;
        // Batch tokens under the subtree are never rewritten: one whose parent (`c`)
        // lives on lives on; one whose parent is `x` dies with it (Vault's rule).
        let batch = |parent: &crate::token::TokenEntry| crate::token::TokenEntry {
            batch: true,
            hash: format!("batch-under-{}", parent.hash),
            ancestors: std::iter::once(parent.hash.clone())
                .chain(parent.ancestors.iter().cloned())
                .collect(),
            ..c.entry.clone()
        };
        let (batch_of_c, batch_of_x) = (batch(&c.entry), batch(&x.entry));
        // A child minted from a read of `c` from before the rewrite cannot be filed
        // once `c` is rewritten.
        let stale = crate::token::mint(
            &TokenParams {
                ancestors: vec![
                    c.entry.hash.clone(),
                    x.entry.hash.clone(),
                    root.entry.hash.clone(),
                ],
                ..TokenParams::default()
            },
            LIMITS,
            10,
        )
        .unwrap();

        let counting = Arc::new(Counting::default());
        let revokers = Revokers::new().with("k", counting.clone());
        let p = step(&store, &revokers, &mut job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        assert!(p.done, "a small subtree is done inline: {p:?}");
        assert_eq!(counting.0.load(Ordering::SeqCst), 1, "only x's own lease");
        assert!(
            store
                .transact(stale.writes())
                .await
                .unwrap_err()
                .is_condition(),
            "a stale child is refused"
        );
        let c_now = find(c.entry.hash.clone()).await.unwrap();
        assert!(
            c_now.ancestors.is_empty(),
            "c is an orphan: {:?}",
            c_now.ancestors
        );
        let g_now = find(g.entry.hash.clone()).await.unwrap();
        assert_eq!(g_now.ancestors, vec![c.entry.hash.clone()]);
        let late_now = find(late.entry.hash.clone()).await.unwrap();
        assert_eq!(
            late_now.ancestors,
            vec![g.entry.hash.clone(), c.entry.hash.clone()]
        );
        assert!(pending(&store).await.unwrap().is_empty());
        assert!(
            store
                .get(&crate::token::token_key(&x.entry.hash))
                .await
                .unwrap()
                .is_none(),
            "x's entry is gone once nothing names it"
        );
        let batch_live = |e: &crate::token::TokenEntry| {
            let (store, e) = (&store, e.clone());
            async move {
                crate::token::live_ancestors(store, &e, 10)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(batch_live(&batch_of_c).await, "its parent lives on");
        assert!(!batch_live(&batch_of_x).await, "its parent was revoked");

        // Revoking the old root leaves the former subtree alone.
        let mut job = start_token(&store, &root.entry.hash, 11)
            .await
            .unwrap()
            .unwrap();
        step(&store, &revokers, &mut job, INLINE_BUDGET, 11)
            .await
            .unwrap();
        run(&store, &revokers, 100, 12).await.unwrap();
        for t in [&c, &g, &late] {
            assert!(find(t.entry.hash.clone()).await.is_some());
        }
        assert_eq!(leases_left(&store), 1, "c's lease stays");
    }

    /// A wide subtree under a revoke-orphan: the inline step leaves the rest to the
    /// sweeper, every child authenticates meanwhile, and the token's entry goes only
    /// after the last reroot.
    #[tokio::test]
    async fn a_wide_revoke_orphan_finishes_in_the_sweeper() {
        let store = MemoryStore::new();
        let root = token(&store).await;
        let x = child_of(&store, &root.entry).await;
        let mut kids = Vec::new();
        for _ in 0..60 {
            kids.push(child_of(&store, &x.entry).await);
        }
        let mut job = start_orphan(&store, &x.entry, 1, 10)
            .await
            .unwrap()
            .unwrap();
        let revokers = Revokers::new();
        let p = step(&store, &revokers, &mut job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        assert!(!p.done);
        // The old root goes meanwhile: the children stop at x.
        let mut root_job = start_token(&store, &root.entry.hash, 10)
            .await
            .unwrap()
            .unwrap();
        step(&store, &revokers, &mut root_job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        for k in &kids {
            assert!(
                crate::token::find_by_hash(&store, &k.entry.hash, 10)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        let mut runs = 0;
        while !pending(&store).await.unwrap().is_empty() {
            run(&store, &revokers, 50, 11).await.unwrap();
            runs += 1;
            assert!(runs < 10, "bounded");
        }
        for k in &kids {
            let e = crate::token::find_by_hash(&store, &k.entry.hash, 11)
                .await
                .unwrap()
                .unwrap();
            assert!(e.ancestors.is_empty());
        }
        assert!(
            store
                .dump()
                .iter()
                .all(|i| !i.key().pk.contains(&x.entry.hash)),
            "nothing of x is left"
        );
    }

    /// A tree of many descendants is refused at once and cleaned up in bounded sweeper
    /// runs (each run starts and finishes jobs within its budget).
    #[tokio::test]
    async fn a_wide_tree_is_cleaned_up_in_bounded_runs() {
        let store = MemoryStore::new();
        let root = token(&store).await;
        let mut children = Vec::new();
        for _ in 0..300 {
            children.push(child_of(&store, &root.entry).await);
        }
        let mut job = start_token(&store, &root.entry.hash, 10)
            .await
            .unwrap()
            .unwrap();
        for c in children.iter().step_by(37) {
            assert!(
                crate::token::find_by_hash(&store, &c.entry.hash, 10)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        let revokers = Revokers::new();
        step(&store, &revokers, &mut job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        let mut runs = 0;
        loop {
            runs += 1;
            let r = run(&store, &revokers, 100, 11).await.unwrap();
            if r.pending == 0 {
                break;
            }
            assert!(runs < 20, "{r:?}");
        }
        assert!(runs <= 8, "{runs} runs");
        let left: Vec<_> = store.dump().into_iter().map(|i| i.key().pk).collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Findings 2 and 3: a token owning many leases is refused at once, the request
    /// revokes a bounded number of them, the sweeper the rest (in bounded runs), and
    /// then the token's items go.
    #[tokio::test]
    async fn a_token_with_many_leases_is_refused_at_once_and_revoked_in_steps() {
        let store = MemoryStore::new();
        let m = token(&store).await;
        for n in 0..300 {
            active(
                &store,
                &format!("aws/creds/r/{n:04}"),
                Some(&m.entry.hash),
                0,
            )
            .await;
        }
        let counting = Arc::new(Counting::default());
        let revokers = Revokers::new().with("k", counting.clone());
        let mut job = start_token(&store, &m.entry.hash, 10)
            .await
            .unwrap()
            .expect("started");
        assert!(
            crate::token::find_by_hash(&store, &m.entry.hash, 10)
                .await
                .unwrap()
                .is_none(),
            "refused from the mark on"
        );
        assert!(
            start_token(&store, &m.entry.hash, 11)
                .await
                .unwrap()
                .is_none(),
            "a second revocation leaves it to the first"
        );
        let before = store.calls();
        let p = step(&store, &revokers, &mut job, INLINE_BUDGET, 10)
            .await
            .unwrap();
        assert_eq!((p.leases, p.done), (INLINE_BUDGET, false));
        let calls = store.calls() - before;
        assert!(calls <= 4 * INLINE_BUDGET as u64 + 4, "{calls} store calls");
        assert_eq!(counting.0.load(Ordering::SeqCst), INLINE_BUDGET as u32);

        let mut runs = 0;
        loop {
            runs += 1;
            let r = run(&store, &revokers, 100, 20).await.unwrap();
            if r.pending == 0 {
                break;
            }
            assert!(runs < 10, "{r:?}");
        }
        assert_eq!(runs, 3, "284 leases at 100 per run");
        assert_eq!(counting.0.load(Ordering::SeqCst), 300);
        assert_eq!(leases_left(&store), 0);
        let left: Vec<_> = store.dump().into_iter().map(|i| i.key().pk).collect();
        assert!(
            left.is_empty(),
            "token, accessor, references, job: {left:?}"
        );
    }

    /// Finding 3: revoke-prefix is a job; a lease issued after it began is not the
    /// caller's to revoke; the cursor resumes (no re-reading from the start).
    #[tokio::test]
    async fn a_prefix_job_resumes_and_leaves_later_leases() {
        let store = MemoryStore::new();
        for n in 0..60 {
            active(&store, &format!("aws/creds/r/{n:04}"), None, 0).await;
        }
        active(&store, "aws/creds/other/x", None, 0).await;
        let counting = Arc::new(Counting::default());
        let revokers = Revokers::new().with("k", counting.clone());
        let mut job = start_prefix(&store, "aws/creds/r/", false, 5)
            .await
            .unwrap();
        let p = step(&store, &revokers, &mut job, 25, 5).await.unwrap();
        assert!(!p.done);
        // Issued after the revocation began.
        active(&store, "aws/creds/r/9999", None, 6).await;
        let r = run(&store, &revokers, 25, 7).await.unwrap();
        assert_eq!((r.leases, r.pending), (25, 1));
        let r = run(&store, &revokers, 25, 8).await.unwrap();
        assert_eq!(r.finished, 1, "{r:?}");
        assert_eq!(counting.0.load(Ordering::SeqCst), 60);
        let (ids, _) = lease::list_prefix(&store, "aws/", None, 100).await.unwrap();
        assert_eq!(ids, ["aws/creds/other/x", "aws/creds/r/9999"]);
        assert!(pending(&store).await.unwrap().is_empty());
    }
}
