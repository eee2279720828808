//! The sweeper: finds expired items through the expiry index and removes them
//! (DESIGN.md, "Storage": never a scan; reads proportional to what expired).
//!
//! The index is keyed by `"{hour}#{shard}"` and sorted by expiry time, so one query per
//! shard of each hour from the cursor up to now returns only expired items. A cursor
//! (`sys/sweeper` / `cursor`) records the oldest hour that may still hold some; it
//! advances past an hour once everything expired in it is gone. Every removal is
//! conditional on the item still being expired, so concurrent sweepers and renewals
//! are safe and an item is removed once.

use futures::StreamExt;

use crate::approle;
use crate::lease::{self, Revokers};
use crate::store::schema::{self, BUCKET_SECS, BUCKET_SHARDS};
use crate::store::{
    Cond, Index, ItemExt, Key, Query, SortCond, Store, StoreError, Value, Write, new_item,
};
use crate::token;

const CURSOR_PK: &str = "sys/sweeper";
const CURSOR_SK: &str = "cursor";
const A_HOUR: &str = "hour";
/// Most hours one run walks (the rest waits for the next run).
pub const MAX_HOURS_PER_RUN: i64 = 48;
/// Items removed at once.
pub const CONCURRENCY: usize = 8;
/// Index page size.
const PAGE: u32 = 100;
/// Seconds after an hour ends before the cursor may pass it: longer than any
/// function's timeout (Lambda's 900 s at most). Every writer files an item on the
/// index at its own "now" or later, so whatever a function still running writes lands
/// in an hour the cursor has not passed.
pub const SETTLE_SECS: i64 = 900;
/// The message of the line each run logs with its [`SweepReport`] as fields (JSON on
/// stdout, so CloudWatch Logs; `infra/template.yaml` turns its `irrevocable` field into
/// the `IrrevocableLeases` metric, and a test checks that the two agree).
pub const FINISHED: &str = "sweep finished";

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Expired tokens revoked.
    pub tokens: u64,
    /// Expired AppRole secret IDs deleted.
    pub secret_ids: u64,
    /// Expired wrapped responses deleted ([`crate::wrapping`]; their tokens expire
    /// as every token does).
    pub wrappings: u64,
    /// Expired (or abandoned pending) leases revoked.
    pub leases: u64,
    /// Due-time jobs run ([`crate::due`]: transit keys rotated on schedule).
    pub due_jobs: u64,
    /// Index entries that were already gone or no longer expired (or due).
    pub skipped: u64,
    /// Removals that failed (retried next run).
    pub failed: u64,
    /// Leases whose revocation failed for the last allowed time in this run: they are
    /// now irrevocable, off the expiry index, and wait for an operator
    /// (`sigil lease list -irrevocable`, `sys/leases/revoke-force`).
    pub irrevocable: u64,
    /// Index queries made.
    pub queries: u64,
    /// The cursor hour after the run.
    pub cursor_hour: i64,
    /// Items of disabled mounts deleted (and tokens and leases of theirs revoked) in
    /// this run ([`crate::mounts::cleanup`]).
    pub mount_items: u64,
    /// Disabled mounts whose items remain after this run.
    pub mounts_pending: u64,
    /// Leases the revocation jobs (tokens, revoke-prefix) went through in this run
    /// ([`crate::revocation::run`]).
    pub revocation_leases: u64,
    /// Revocation jobs still under way after this run.
    pub revocations_pending: u64,
}

fn cursor_key() -> Key {
    Key::new(CURSOR_PK, CURSOR_SK)
}

/// Sets the cursor to the current hour unless one exists (`sigil admin init`).
pub async fn init_cursor(store: &dyn Store, now: i64) -> Result<(), StoreError> {
    let mut item = new_item(&cursor_key());
    item.insert(A_HOUR.into(), Value::N(now.div_euclid(BUCKET_SECS)));
    match store
        .write(Write::Put {
            item,
            cond: Some(Cond::NotExists),
        })
        .await
    {
        Err(StoreError::ConditionFailed) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

enum Outcome {
    Token,
    SecretId,
    Wrapping,
    Lease,
    /// The revocation failed and the lease became irrevocable (it left the index).
    Irrevocable,
    /// An engine's due-time job ran.
    Due,
    /// An engine's due-time job panicked (counted as failed; the cursor moves on).
    Panicked,
    Skipped,
}

async fn remove(
    store: &dyn Store,
    revokers: &Revokers,
    key: Key,
    now: i64,
) -> Result<Outcome, StoreError> {
    if let Some(id) = key.pk.strip_prefix("lease/") {
        let Some(item) = store.get(&key).await? else {
            return Ok(Outcome::Skipped);
        };
        let l = lease::Lease::try_from(&item)?;
        // A revocation that died (its claim lapsed) is finished whatever the expiry.
        let due = lease::claim_lapsed(&item, now)
            || match l.state {
                lease::LeaseState::Pending => {
                    l.issued_at.saturating_add(lease::PENDING_GRACE_SECS) <= now
                }
                lease::LeaseState::Active => l.expire_at <= now,
                lease::LeaseState::Irrevocable => false,
            };
        if !due {
            return Ok(Outcome::Skipped);
        }
        return match revokers.revoke(store, &l, now, false).await {
            Ok(lease::Revocation::Done) => Ok(Outcome::Lease),
            // Claimed by another revocation: the claim moved the lease on the index
            // to the claim's end, where this or a later run finds it if that
            // revocation dies. Deferred: a young pending lease (not due here).
            Ok(lease::Revocation::Skipped | lease::Revocation::Deferred) => Ok(Outcome::Skipped),
            Err(lease::RevokeOutcome::Store(e)) => Err(e),
            Err(lease::RevokeOutcome::Failed { error, state }) => {
                tracing::warn!(lease = %id.split('/').take(3).collect::<Vec<_>>().join("/"), error = %error, state = ?state, "lease revocation failed");
                if state == lease::LeaseState::Irrevocable {
                    Ok(Outcome::Irrevocable)
                } else {
                    Err(StoreError::Unavailable("lease revocation failed".into()))
                }
            }
        };
    }
    if let Some(hash) = key.pk.strip_prefix("token/") {
        let Some(item) = store.get(&key).await? else {
            return Ok(Outcome::Skipped);
        };
        let entry = token::TokenEntry::try_from(&item)?;
        if entry.expire_at > now {
            return Ok(Outcome::Skipped);
        }
        // The revocation is recorded before anything goes (only if still expired: a
        // concurrent renewal wins); its job, worked below and by later runs, revokes
        // the leases and then deletes the token.
        return match crate::revocation::start_expired_token(store, hash, now).await {
            Ok(true) => Ok(Outcome::Token),
            Ok(false) => Ok(Outcome::Skipped),
            Err(_) => Err(StoreError::Unavailable("token revocation".into())),
        };
    }
    if key.pk.starts_with(crate::wrapping::PK_PREFIX) {
        return Ok(if crate::wrapping::sweep(store, &key, now).await? {
            Outcome::Wrapping
        } else {
            Outcome::Skipped
        });
    }
    // `approle/secret_id/{hash}`, or `approle/{uuid}/secret_id/{hash}` for a mount
    // enabled through the API.
    if key.pk.starts_with("approle/") && key.pk.contains("/secret_id/") {
        return Ok(if approle::sweep_secret(store, &key, now).await? {
            Outcome::SecretId
        } else {
            Outcome::Skipped
        });
    }
    if let Some(job) = revokers.due().find(&key) {
        // A job that panics (a bug, or an item no check foresaw) is logged and skipped:
        // retried, it would fail every run and hold the cursor, stopping every sweep.
        use futures::FutureExt;
        let run = std::panic::AssertUnwindSafe(job.run(store, &key, now)).catch_unwind();
        return Ok(match run.await {
            Ok(r) => match r? {
                crate::due::DueOutcome::Ran => Outcome::Due,
                crate::due::DueOutcome::Skipped => Outcome::Skipped,
            },
            Err(_) => {
                tracing::error!(partition = %key.pk, "a due-time job panicked; item skipped");
                Outcome::Panicked
            }
        });
    }
    Ok(Outcome::Skipped)
}

/// Removes the mount table's revoked-auth-path records whose revocation jobs are done
/// ([`crate::mounts::revoked`]).
async fn drop_finished_auth_records(store: &dyn Store) -> Result<(), crate::error::ApiError> {
    for (prefix, at) in crate::mounts::revoked::list(store).await? {
        if !crate::revocation::auth_jobs_under(store, &prefix).await? {
            crate::mounts::revoked::remove(store, &prefix, at).await?;
        }
    }
    Ok(())
}

/// One sweep at time `now`.
pub async fn sweep(
    store: &dyn Store,
    revokers: &Revokers,
    now: i64,
) -> Result<SweepReport, StoreError> {
    let now_hour = now.div_euclid(BUCKET_SECS);
    let cursor_item = store.get(&cursor_key()).await?;
    let start = match &cursor_item {
        Some(i) => i.n(A_HOUR)?,
        None => now_hour - MAX_HOURS_PER_RUN,
    };
    let mut report = SweepReport {
        cursor_hour: start,
        ..SweepReport::default()
    };
    let mut advance_to = start;
    let last = now_hour.min(start + MAX_HOURS_PER_RUN);
    for hour in start..=last {
        let mut hour_clean = true;
        for shard in 0..BUCKET_SHARDS {
            let mut q = Query {
                index: Index::Expiry,
                partition: schema::bucket_name(hour, shard),
                sort: SortCond::NumLe(now),
                forward: true,
                limit: Some(PAGE),
                start: None,
            };
            loop {
                report.queries += 1;
                let page = store.query(&q).await?;
                let results: Vec<Result<Outcome, StoreError>> = futures::stream::iter(
                    page.items
                        .iter()
                        .map(|i| remove(store, revokers, i.key(), now)),
                )
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
                for r in results {
                    match r {
                        Ok(Outcome::Token) => report.tokens += 1,
                        Ok(Outcome::SecretId) => report.secret_ids += 1,
                        Ok(Outcome::Wrapping) => report.wrappings += 1,
                        Ok(Outcome::Lease) => report.leases += 1,
                        Ok(Outcome::Irrevocable) => report.irrevocable += 1,
                        Ok(Outcome::Due) => report.due_jobs += 1,
                        Ok(Outcome::Panicked) => report.failed += 1,
                        Ok(Outcome::Skipped) => report.skipped += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, "sweep removal failed; retried next run");
                            report.failed += 1;
                            hour_clean = false;
                        }
                    }
                }
                match page.next {
                    Some(n) => q.start = Some(n),
                    None => break,
                }
            }
        }
        // Only whole past hours, settled, with nothing left behind move the cursor.
        let settled = (hour + 1) * BUCKET_SECS + SETTLE_SECS <= now;
        if settled && hour_clean && advance_to == hour {
            advance_to = hour + 1;
        }
    }
    if advance_to != start {
        let mut item = new_item(&cursor_key());
        item.insert(A_HOUR.into(), Value::N(advance_to));
        let cond = match &cursor_item {
            Some(_) => Cond::Eq(A_HOUR, Value::N(start)),
            None => Cond::NotExists,
        };
        match store
            .write(Write::Put {
                item,
                cond: Some(cond),
            })
            .await
        {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    report.cursor_hour = advance_to;
    // Disabled mounts' items, a bounded step per run; before the revocation jobs, so
    // the revocations it starts (its tokens') are worked in the same run. A failure
    // here is logged and retried next run; it does not fail the expiry sweep.
    match crate::mounts::cleanup::step(store, revokers, crate::mounts::cleanup::STEP_BUDGET, now)
        .await
    {
        Ok(r) => {
            report.mount_items = r.items as u64;
            report.mounts_pending = r.pending as u64;
        }
        Err(e) => {
            report.failed += 1;
            tracing::warn!(
                code = e.code(),
                "disabled mounts' cleanup failed; retried next run"
            );
        }
    }
    // Revocations too large for one request (token revocations, revoke-prefix), a
    // bounded step per run.
    match crate::revocation::run(store, revokers, crate::revocation::SWEEP_BUDGET, now).await {
        Ok(r) => {
            report.revocation_leases = r.leases as u64;
            report.revocations_pending = r.pending as u64;
        }
        Err(e) => {
            report.failed += 1;
            tracing::warn!(code = e.code(), "revocation jobs failed; retried next run");
        }
    }
    // Auth paths whose tokens are all marked now: their mount-table records go.
    if let Err(e) = drop_finished_auth_records(store).await {
        report.failed += 1;
        tracing::warn!(
            code = e.code(),
            "revoked auth paths not pruned; retried next run"
        );
    }
    tracing::info!(
        tokens = report.tokens,
        secret_ids = report.secret_ids,
        wrappings = report.wrappings,
        leases = report.leases,
        skipped = report.skipped,
        failed = report.failed,
        irrevocable = report.irrevocable,
        due_jobs = report.due_jobs,
        queries = report.queries,
        cursor_hour = report.cursor_hour,
        mount_items = report.mount_items,
        mounts_pending = report.mounts_pending,
        revocation_leases = report.revocation_leases,
        revocations_pending = report.revocations_pending,
        "{FINISHED}"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::token::{Limits, TokenParams};

    const LIMITS: Limits = Limits {
        default_ttl: 60,
        max_ttl: 600,
        batch: None,
    };

    #[tokio::test]
    async fn sweeps_only_expired_tokens_and_advances() {
        let store = MemoryStore::new();
        let t0 = 1_000_000 * BUCKET_SECS;
        init_cursor(&store, t0).await.unwrap();
        let short = token::mint(
            &TokenParams {
                ttl: 30,
                ..Default::default()
            },
            LIMITS,
            t0,
        )
        .unwrap();
        let long = token::mint(
            &TokenParams {
                ttl: 600,
                ..Default::default()
            },
            LIMITS,
            t0,
        )
        .unwrap();
        store.transact(short.writes()).await.unwrap();
        store.transact(long.writes()).await.unwrap();
        let r = sweep(&store, &Revokers::new(), t0 + 10).await.unwrap();
        assert_eq!(r.tokens, 0);
        let r = sweep(&store, &Revokers::new(), t0 + 31).await.unwrap();
        assert_eq!(r.tokens, 1);
        assert!(
            token::find(&store, &short.token, t0)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            token::find(&store, &long.token, t0 + 31)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .get(&token::accessor_key(&short.entry.accessor))
                .await
                .unwrap()
                .is_none()
        );
        let r = sweep(&store, &Revokers::new(), t0 + 2 * BUCKET_SECS)
            .await
            .unwrap();
        assert_eq!(r.tokens, 1);
        assert_eq!(
            r.cursor_hour,
            t0 / BUCKET_SECS + 1,
            "the hour just ended is not settled yet"
        );
        let r = sweep(&store, &Revokers::new(), t0 + 2 * BUCKET_SECS + SETTLE_SECS)
            .await
            .unwrap();
        assert_eq!(r.cursor_hour, t0 / BUCKET_SECS + 2);
        let left: Vec<_> = store.dump().into_iter().map(|i| i.key().pk).collect();
        assert_eq!(left, vec!["sys/sweeper"]);
    }

    #[tokio::test]
    async fn renewed_token_is_not_swept() {
        let store = MemoryStore::new();
        init_cursor(&store, 0).await.unwrap();
        let m = token::mint(
            &TokenParams {
                ttl: 30,
                ..Default::default()
            },
            LIMITS,
            0,
        )
        .unwrap();
        store.transact(m.writes()).await.unwrap();
        token::renew(&store, &m.entry, 300, 20).await.unwrap();
        let r = sweep(&store, &Revokers::new(), 100).await.unwrap();
        assert_eq!(r.tokens, 0);
        assert!(token::find(&store, &m.token, 100).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn failures_hold_the_cursor() {
        let store = MemoryStore::new();
        init_cursor(&store, 0).await.unwrap();
        let m = token::mint(
            &TokenParams {
                ttl: 30,
                ..Default::default()
            },
            LIMITS,
            0,
        )
        .unwrap();
        store.transact(m.writes()).await.unwrap();
        // Fail the token read inside the first removal (after the cursor read and query).
        let s = &store;
        let now = 2 * BUCKET_SECS + SETTLE_SECS;
        let cursor = s.get(&cursor_key()).await.unwrap();
        assert!(cursor.is_some());
        s.fail_next(StoreError::Throttled);
        assert!(
            sweep(s, &Revokers::new(), now).await.is_err(),
            "cursor read failed"
        );
        let r = sweep(s, &Revokers::new(), now).await.unwrap();
        assert_eq!((r.tokens, r.cursor_hour), (1, 2));
    }

    #[tokio::test]
    async fn sweeps_expired_and_abandoned_pending_leases() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};

        struct Count(AtomicU32);
        #[async_trait::async_trait]
        impl lease::Revoker for Count {
            async fn revoke(&self, _l: &lease::Lease) -> Result<(), lease::RevokeError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
        let store = MemoryStore::new();
        init_cursor(&store, 0).await.unwrap();
        let count = Arc::new(Count(AtomicU32::new(0)));
        let revokers = Revokers::new().with("k", count.clone());
        let base = lease::test_lease("x/creds/r/1", "k");
        let mut active = base.clone();
        store.transact(active.pending_writes()).await.unwrap();
        lease::activate(&store, &mut active, 0).await.unwrap();
        let pending = lease::Lease {
            id: "x/creds/r/2".into(),
            ..base
        };
        store.transact(pending.pending_writes()).await.unwrap();
        let r = sweep(&store, &revokers, 59).await.unwrap();
        assert_eq!(r.leases, 0);
        let r = sweep(&store, &revokers, 60).await.unwrap();
        assert_eq!(r.leases, 1, "the expired active lease");
        let r = sweep(&store, &revokers, lease::PENDING_GRACE_SECS)
            .await
            .unwrap();
        assert_eq!(
            r.leases, 1,
            "the pending lease abandoned by a crashed issue"
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        let left: Vec<_> = store.dump().into_iter().map(|i| i.key().pk).collect();
        assert_eq!(left, vec!["sys/sweeper"]);
    }

    /// A `MakeWriter` for tests: every log line into one shared buffer.
    #[derive(Clone, Default)]
    struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for LogBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_lease_out_of_attempts_becomes_irrevocable_and_the_run_logs_it() {
        struct Failing;
        #[async_trait::async_trait]
        impl lease::Revoker for Failing {
            async fn revoke(&self, _l: &lease::Lease) -> Result<(), lease::RevokeError> {
                Err(lease::RevokeError("AccessDenied".into()))
            }
        }
        let logs = LogBuffer::default();
        let writer = logs.clone();
        let _guard = tracing::subscriber::set_default(crate::telemetry::subscriber(
            crate::telemetry::filter("info"),
            move || writer.clone(),
        ));
        let store = MemoryStore::new();
        init_cursor(&store, 0).await.unwrap();
        let mut l = lease::test_lease("x/creds/r/1", "k");
        l.attempts = lease::MAX_ATTEMPTS - 1;
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(&store, &mut l, 0).await.unwrap();
        let revokers = Revokers::new().with("k", std::sync::Arc::new(Failing));

        let r = sweep(&store, &revokers, 60).await.unwrap();
        assert_eq!((r.irrevocable, r.failed, r.leases), (1, 0, 0), "{r:?}");
        assert_eq!(
            lease::list_irrevocable(&store).await.unwrap(),
            vec![l.id.clone()]
        );
        let r = sweep(&store, &revokers, 120).await.unwrap();
        assert_eq!(r.irrevocable, 0, "off the index: counted once");

        // The shape the deployment's metric filter reads (infra/template.yaml).
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let finished: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == FINISHED)
            .collect();
        assert_eq!(finished.len(), 2, "{text}");
        assert_eq!(finished[0]["level"], "INFO");
        assert_eq!(finished[0]["fields"]["irrevocable"], 1);
        assert_eq!(finished[1]["fields"]["irrevocable"], 0);
        assert_eq!(finished[0]["fields"]["failed"], 0);
    }

    /// A revoker whose call never returns: the function dies inside the engine call
    /// (the test drops the future), holding the lease's claim.
    struct Hangs;
    #[async_trait::async_trait]
    impl lease::Revoker for Hangs {
        async fn revoke(&self, _l: &lease::Lease) -> Result<(), lease::RevokeError> {
            std::future::pending().await
        }
    }

    struct Ok1(std::sync::atomic::AtomicU32);
    #[async_trait::async_trait]
    impl lease::Revoker for Ok1 {
        async fn revoke(&self, _l: &lease::Lease) -> Result<(), lease::RevokeError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    /// Dies (is dropped) at its first wait on something that never comes.
    async fn dies<F: std::future::Future>(f: F) {
        let mut f = std::pin::pin!(f);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(f.as_mut().poll(&mut cx).is_pending(), "it was to die");
    }

    /// Finding 1: a revocation that dies holding its claim (here a sweeper run; an
    /// operator's revoke-prefix or token revocation alike) skips nothing for good: the
    /// claim moved the lease on the expiry index to the claim's end, so a later run
    /// finds it even after the cursor passed its original hour.
    #[tokio::test]
    async fn a_revocation_that_died_holding_its_claim_is_finished() {
        let store = MemoryStore::new();
        let h = BUCKET_SECS;
        init_cursor(&store, 0).await.unwrap();
        let mut l = lease::test_lease("x/creds/r/1", "k");
        l.expire_at = h - 10;
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(&store, &mut l, 0).await.unwrap();
        // A sweep just before hour 0 settles claims it and dies in the engine call.
        let hangs = Revokers::new().with("k", std::sync::Arc::new(Hangs));
        let t1 = h + SETTLE_SECS - 5;
        dies(sweep(&store, &hangs, t1)).await;
        let ok = std::sync::Arc::new(Ok1(Default::default()));
        let revokers = Revokers::new().with("k", ok.clone());
        // Hour 0 settles; the claimed lease is skipped and the cursor moves on.
        let r = sweep(&store, &revokers, h + SETTLE_SECS).await.unwrap();
        assert_eq!((r.leases, r.cursor_hour), (0, 1), "{r:?}");
        let r = sweep(&store, &revokers, t1 + lease::CLAIM_SECS)
            .await
            .unwrap();
        assert_eq!(r.leases, 1, "found again when the claim lapsed: {r:?}");
        assert!(lease::get(&store, &l.id).await.unwrap().is_none());
    }

    /// Finding 1, second half: a lease activated after its expiry (an issue slower than
    /// the TTL) across an hour boundary. The cursor passes an hour only
    /// [`SETTLE_SECS`] after it ended, and activation files the lease at its own "now"
    /// at the earliest, so the lease is in an hour the cursor has not passed.
    #[tokio::test]
    async fn a_lease_activated_after_its_expiry_is_still_swept() {
        let store = MemoryStore::new();
        let h = BUCKET_SECS;
        init_cursor(&store, 0).await.unwrap();
        let mut l = lease::test_lease("x/creds/r/1", "k");
        l.issued_at = h - 20;
        l.expire_at = h - 10;
        store.transact(l.pending_writes()).await.unwrap();
        // A sweep runs while the issue does, just after hour 0 ended: the hour is not
        // settled, so the cursor stays (it used to move on, and the lease, filed at
        // its expiry in hour 0, was never queried again).
        let ok = std::sync::Arc::new(Ok1(Default::default()));
        let revokers = Revokers::new().with("k", ok.clone());
        let r = sweep(&store, &revokers, h + 1).await.unwrap();
        assert_eq!((r.leases, r.cursor_hour), (0, 0), "{r:?}");
        lease::activate(&store, &mut l, h + 5).await.unwrap();
        let r = sweep(&store, &revokers, h + SETTLE_SECS).await.unwrap();
        assert_eq!((r.leases, r.cursor_hour), (1, 1), "{r:?}");
    }

    /// Finding 4: the expired token's revocation is recorded (token marked, job filed)
    /// before anything is deleted; a run that dies part-way leaves the job, and a later
    /// run revokes the token's leases, then the token.
    #[tokio::test]
    async fn an_expired_tokens_revocation_survives_a_sweeper_that_dies() {
        let store = MemoryStore::new();
        init_cursor(&store, 0).await.unwrap();
        let m = token::mint(
            &TokenParams {
                ttl: 30,
                ..Default::default()
            },
            LIMITS,
            0,
        )
        .unwrap();
        store.transact(m.writes()).await.unwrap();
        let mut l = lease::test_lease("x/creds/r/1", "k");
        l.expire_at = 600;
        l.token_hash = Some(m.entry.hash.clone());
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(&store, &mut l, 0).await.unwrap();
        let hangs = Revokers::new().with("k", std::sync::Arc::new(Hangs));
        dies(sweep(&store, &hangs, 31)).await;
        assert!(
            token::find_by_hash(&store, &m.entry.hash, 31)
                .await
                .unwrap()
                .is_none(),
            "refused"
        );
        assert!(
            store
                .get(&token::token_key(&m.entry.hash))
                .await
                .unwrap()
                .is_some(),
            "kept until its leases are revoked"
        );
        let ok = std::sync::Arc::new(Ok1(Default::default()));
        let revokers = Revokers::new().with("k", ok.clone());
        let r = sweep(&store, &revokers, 31 + lease::CLAIM_SECS)
            .await
            .unwrap();
        assert_eq!(r.revocations_pending, 0, "{r:?}");
        assert_eq!(ok.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let left: Vec<_> = store.dump().into_iter().map(|i| i.key().pk).collect();
        assert_eq!(left, vec!["sys/sweeper"]);
    }
}
