//! The AWS engine's lease lifecycle on in-memory ports: IAM throttling is retried by the
//! sweeper, and a sweep's cost follows the expired leases, not all leases.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::clients::EngineClients;
use super::iam::{FakeIam, IamApi, IamError, NewUser};
use super::revoke::{DATA_USER_NAME, IamUserRevoker, KIND_IAM_USER};
use super::sts::FakeSts;
use crate::lease::{self, Lease, LeaseState, Revokers};
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::sweeper::{init_cursor, sweep};

fn lease(n: usize, expire_at: i64) -> Lease {
    Lease {
        id: format!("aws/creds/deploy/{n:06}"),
        path: "aws/creds/deploy".into(),
        kind: KIND_IAM_USER.into(),
        state: LeaseState::Pending,
        issued_at: 0,
        expire_at,
        max_expire_at: expire_at + 3600,
        renewable: true,
        token_hash: None,
        data: BTreeMap::from([(DATA_USER_NAME.to_owned(), format!("sigil-u{n}"))]),
        attempts: 0,
        last_error: None,
    }
}

fn revoker(iam: &Arc<FakeIam>) -> Arc<IamUserRevoker> {
    Arc::new(IamUserRevoker::new(Arc::new(EngineClients::fixed(
        iam.clone(),
        Arc::new(FakeSts::new(0)),
    ))))
}

async fn active(store: &MemoryStore, iam: &FakeIam, n: usize, expire_at: i64) {
    let mut l = lease(n, expire_at);
    store.transact(l.pending_writes()).await.unwrap();
    iam.create_user(&NewUser {
        name: format!("sigil-u{n}"),
        ..NewUser::default()
    })
    .await
    .unwrap();
    iam.create_access_key(&format!("sigil-u{n}")).await.unwrap();
    lease::activate(store, &mut l, 0).await.unwrap();
}

#[tokio::test]
async fn throttled_revocations_are_retried_with_backoff() {
    let store = MemoryStore::new();
    let iam = Arc::new(FakeIam::new());
    init_cursor(&store, 0).await.unwrap();
    active(&store, &iam, 1, 60).await;
    let revokers = Revokers::new().with(KIND_IAM_USER, revoker(&iam));
    iam.script([Some(IamError::Retryable("Throttling".into()))]);
    let r = sweep(&store, &revokers, 61).await.unwrap();
    assert_eq!((r.leases, r.failed), (0, 1));
    let l = lease::get(&store, "aws/creds/deploy/000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (l.attempts, l.last_error.as_deref(), l.expire_at),
        (1, Some("Throttling"), 61 + 60)
    );
    assert_eq!(
        sweep(&store, &revokers, 62).await.unwrap().leases,
        0,
        "backing off"
    );
    let r = sweep(&store, &revokers, 121).await.unwrap();
    assert_eq!(r.leases, 1);
    assert!(iam.users().is_empty());
}

#[tokio::test]
async fn a_sweep_reads_what_expired_not_every_lease() {
    let store = MemoryStore::new();
    let iam = Arc::new(FakeIam::new());
    let now = 10 * 3600;
    init_cursor(&store, now - 3600).await.unwrap();
    for n in 0..10_000 {
        let expired = n % 100 == 0;
        let mut l = lease(
            n,
            if expired {
                now - 10
            } else {
                now + 3600 + (n as i64 % 7200)
            },
        );
        l.issued_at = now - 3600;
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(&store, &mut l, 0).await.unwrap();
    }
    let revokers = Revokers::new().with(KIND_IAM_USER, revoker(&iam));
    let before = store.calls();
    let r = sweep(&store, &revokers, now).await.unwrap();
    let calls = store.calls() - before;
    assert_eq!(r.leases, 100);
    // Per expired lease: a read, a claim and a delete; per hour bucket and shard: a
    // query; one query each for disabled mounts' cleanups, revocation jobs and revoked
    // auth paths; the cursor.
    assert!(
        calls <= 3 * 100 + r.queries + 4,
        "{calls} calls for 100 expired leases ({} queries)",
        r.queries
    );
    assert!(r.queries <= 3 * 4, "{} queries", r.queries);
    println!(
        "sweep of 100 expired among 10,000 leases: {calls} store calls, {} index queries",
        r.queries
    );
}

/// Issues an IAM user on fakes with `script` answering the first IAM calls; returns
/// the response status (or 200) and the IAM calls made.
async fn issue_with(store: &MemoryStore, script: Vec<Option<IamError>>) -> (u16, Vec<String>) {
    let iam = FakeIam::new();
    iam.script(script);
    issue_on(store, &iam).await
}

/// Issues an IAM user on `iam`; returns the status (or 200) and the IAM calls made.
async fn issue_on(store: &dyn crate::store::Store, iam: &FakeIam) -> (u16, Vec<String>) {
    use super::issue::{NoFailpoints, issue_iam_user};
    use super::roles::{AwsRole, CredentialType, LeaseConfig};
    use crate::token::{Limits, TokenParams, mint};
    let limits = Limits {
        default_ttl: 600,
        max_ttl: 600,
        batch: None,
    };
    let caller = mint(&TokenParams::default(), limits, 0).unwrap();
    store.transact(caller.writes()).await.unwrap();
    let role = AwsRole {
        credential_type: CredentialType::IamUser,
        policy_arns: vec![],
        policy_document: "{}".into(),
        iam_groups: vec![],
        iam_tags: BTreeMap::new(),
        permissions_boundary_arn: String::new(),
        user_path: "/".into(),
        role_arns: vec![],
        default_sts_ttl: 0,
        max_sts_ttl: 0,
    };
    let cfg = LeaseConfig {
        lease: 60,
        lease_max: 600,
    };
    let r = issue_iam_user(
        store,
        super::Mount::DEFAULT,
        iam,
        &NoFailpoints,
        "deploy",
        &role,
        cfg,
        &caller.entry,
        0,
    )
    .await;
    (r.map_or_else(|e| e.status(), |_| 200), iam.calls())
}

fn lease_items(store: &MemoryStore) -> usize {
    store
        .dump()
        .iter()
        .filter(|i| crate::store::ItemExt::key(*i).pk.starts_with("lease/"))
        .count()
}

#[tokio::test]
async fn a_failed_create_user_is_undone_then_the_lease_goes() {
    // IAM refused the call: the undo finds no user (NoSuchEntity is success) and the
    // pending lease goes at once.
    let store = MemoryStore::new();
    let (status, calls) = issue_with(
        &store,
        vec![Some(IamError::Retryable(
            "IAM refused the connection".into(),
        ))],
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(calls[0], "CreateUser");
    assert_eq!(lease_items(&store), 0, "the pending lease is gone at once");

    // When the outcome is unknown (a timeout) and IAM stays unreachable, the undo
    // cannot confirm the user is absent: the pending lease stays for the sweeper.
    let store = MemoryStore::new();
    let unreachable = || Some(IamError::Retryable("IAM unreachable".into()));
    let (status, calls) = issue_with(&store, vec![unreachable(), unreachable()]).await;
    assert_eq!(status, 503);
    assert_eq!(calls, ["CreateUser", "ListAccessKeys"]);
    assert_eq!(lease_items(&store), 1);
}

/// Finding 9 of the simulation issue: the SDK retries a `CreateUser` whose first
/// attempt timed out after IAM applied it; the retry's connection is refused. The
/// error says "never sent", but the user exists: the undo must still delete it.
#[tokio::test]
async fn a_create_user_applied_then_refused_on_retry_is_undone() {
    let store = MemoryStore::new();
    let iam = FakeIam::new();
    iam.create_applied_then(IamError::Retryable("IAM refused the connection".into()));
    let (status, calls) = issue_on(&store, &iam).await;
    assert_eq!(status, 503);
    assert!(
        iam.users().is_empty(),
        "the user IAM created was left behind ({calls:?})"
    );
    assert_eq!(lease_items(&store), 0, "user gone, lease gone");
}

/// Found by a fresh user's check (stop 22): when the caller's token was revoked while
/// its IAM user was being made, the lease could not be activated and the client was
/// told "AWS refused the role's IAM settings: LeaseActivation". The user is taken back
/// and the client told the truth: its token is revoked (403).
#[tokio::test]
async fn a_token_revoked_during_its_issue_gets_403_and_no_user() {
    use crate::store::interpose::{Call, Interpose};
    use std::sync::Arc;
    let memory = Arc::new(MemoryStore::new());
    // The first single write is the lease's activation, after the user was made.
    let racing = Interpose::new(memory.clone(), Call::Write, |inner| {
        Box::pin(async move {
            let hash = inner
                .dump()
                .iter()
                .map(crate::store::ItemExt::key)
                .find(|k| k.sk == "token")
                .and_then(|k| k.pk.strip_prefix("token/").map(str::to_owned))
                .unwrap();
            let mut job = crate::revocation::start_token(inner.as_ref(), &hash, 0)
                .await
                .unwrap()
                .unwrap();
            crate::revocation::step(inner.as_ref(), &Revokers::new(), &mut job, 16, 0)
                .await
                .unwrap();
        })
    });
    let iam = FakeIam::new();
    let (status, calls) = issue_on(&racing, &iam).await;
    assert!(racing.fired());
    assert_eq!(status, 403, "{calls:?}");
    assert!(iam.users().is_empty(), "the user is taken back: {calls:?}");
}
