//! The sweeper's cost against DynamoDB Local, counted by the SDK interceptor
//! ([`sigil::aws::CallCounter`]): with 100 expired leases among 1,000 and among 10,000
//! live ones, one sweep makes the same number of DynamoDB reads, a small linear
//! function of the 100, and no scan (DESIGN.md, "Budgets": reads proportional to
//! expired leases, not to all leases).
//!
//! The leases are STS leases, whose revocation only removes the record, so the counts
//! are storage cost alone. The expired ones are issued through the real write-ahead
//! path (pending, then activated); the live ones are loaded with `BatchWriteItem`,
//! each the very item the store puts for an active lease (`Lease::pending_writes` of an
//! active lease). Their mount-index and token entries are left out: the sweeper reads
//! only the expiry index and the lease items, and no live lease is read at all.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use sigil::Function;
use sigil::aws_engine::sts::KIND_STS;
use sigil::lease::{self, Lease, LeaseState};
use sigil::store::Write;
use sigil::store::schema::{BUCKET_SECS, BUCKET_SHARDS};
use sigil_tests::Fixture;

const EXPIRED: usize = 100;

/// An STS lease as `aws_engine::sts::issue_sts` records it.
fn sts_lease(token_hash: &str, state: LeaseState, expire_at: i64) -> Lease {
    let path = "aws/sts/cost".to_owned();
    Lease {
        id: lease::new_id(&path).unwrap(),
        path,
        kind: KIND_STS.into(),
        state,
        issued_at: expire_at - 3600,
        expire_at,
        max_expire_at: expire_at,
        renewable: false,
        token_hash: Some(token_hash.to_owned()),
        data: BTreeMap::from([(
            "role_arn".to_owned(),
            "arn:aws:iam::123456789012:role/deployer".to_owned(),
        )]),
        attempts: 0,
        last_error: None,
    }
}

/// What one sweep cost.
#[derive(Debug)]
struct Cost {
    calls: HashMap<String, u64>,
    queries: u64,
    hours: i64,
}

impl Cost {
    fn get(&self, op: &str) -> u64 {
        self.calls.get(op).copied().unwrap_or(0)
    }
    /// DynamoDB read calls: Query, GetItem, BatchGetItem, Scan.
    fn reads(&self) -> u64 {
        ["Query", "GetItem", "BatchGetItem", "Scan"]
            .iter()
            .map(|op| self.get(&format!("DynamoDB.{op}")))
            .sum()
    }
}

/// A fresh table with `live` live leases and [`EXPIRED`] expired ones, swept once;
/// returns the sweep's DynamoDB calls.
async fn sweep_cost(live: usize) -> Cost {
    let f = Fixture::new().await;
    let app = f.app(Function::Sweeper);
    let store = app.store.as_ref();
    // The fixture's init set the sweeper's cursor to this hour; the sweep runs two
    // hours and a half later, so it walks three hours of buckets.
    let cursor_hour = f.clock.now().div_euclid(BUCKET_SECS);
    let now = (cursor_hour + 2) * BUCKET_SECS + 1800;
    // The leases' owner lives past the sweep; the fixture's one-hour admin token would
    // expire before it (and its removal would be counted), so it goes now.
    let owner = sigil::bootstrap::admin_token(store, app.limits(), 7 * 86_400, f.clock.now())
        .await
        .unwrap();
    let hash = owner.entry.hash.clone();
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&f.admin), None)
        .await;
    assert_eq!(s, 204);

    let started = Instant::now();
    let mut first_expired = None;
    for i in 0..EXPIRED {
        // Expired over the last 90 minutes, within the walked hours.
        let mut l = sts_lease(&hash, LeaseState::Pending, now - 1 - (i as i64 * 37) % 5399);
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(store, &mut l, 0).await.unwrap();
        first_expired.get_or_insert(l.id);
    }
    let mut first_live = None;
    let items: Vec<_> = (0..live)
        .map(|i| {
            // Live for up to two days, some in the hour being swept (the key condition
            // leaves those out).
            let l = sts_lease(
                &hash,
                LeaseState::Active,
                now + 1 + (i as i64 * 7919) % 172_800,
            );
            first_live.get_or_insert(l.id.clone());
            match l.pending_writes().into_iter().next() {
                Some(Write::Put { item, .. }) => item,
                other => panic!("the lease write is a put: {other:?}"),
            }
        })
        .collect();
    f.batch_put(items, 8).await;
    println!(
        "setup: {EXPIRED} expired + {live} live leases in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    f.counter.reset();
    let started = Instant::now();
    let report = sigil::sweeper::sweep(store, &app.revokers, now)
        .await
        .unwrap();
    let took = started.elapsed();
    let cost = Cost {
        calls: f.counter.snapshot(),
        queries: report.queries,
        hours: now.div_euclid(BUCKET_SECS) - cursor_hour + 1,
    };
    println!(
        "sweep over {live} live: {report:?} in {:.2} s; calls {:?}",
        took.as_secs_f64(),
        cost.calls
    );
    assert_eq!(
        (report.leases, report.skipped, report.failed),
        (EXPIRED as u64, 0, 0),
        "every expired lease revoked, and no live one even looked at"
    );
    assert_eq!(report.cursor_hour, now.div_euclid(BUCKET_SECS));
    let gone = lease::get(store, &first_expired.unwrap()).await.unwrap();
    let kept = lease::get(store, &first_live.unwrap()).await.unwrap();
    assert!(gone.is_none() && kept.is_some());
    cost
}

#[tokio::test]
async fn a_sweep_reads_what_expired_not_every_lease() {
    let small = sweep_cost(1_000).await;
    let large = sweep_cost(10_000).await;
    let e = EXPIRED as u64;
    for cost in [&small, &large] {
        let h = u64::try_from(cost.hours).unwrap();
        assert_eq!(cost.get("DynamoDB.Scan"), 0, "never a scan");
        // The expiry index's queries, one of the disabled mounts' cleanup records, one
        // of the revocation jobs and one of the revoked auth paths.
        assert_eq!(cost.get("DynamoDB.Query"), cost.queries + 3);
        // Queries: one page per (hour, shard) bucket walked, plus one per 100 items in
        // a bucket (the page size): at most 4H + E/100.
        assert!(
            cost.queries <= u64::from(BUCKET_SHARDS) * h + e / 100,
            "{cost:?}"
        );
        // GetItem: the cursor, and each expired lease (read before it is revoked).
        assert_eq!(cost.get("DynamoDB.GetItem"), 1 + e, "{cost:?}");
        // Reads = 1 + E + queries + 3 <= 4 + 4H + 1.01 E: no term in the live leases.
        assert!(
            cost.reads() <= 4 + u64::from(BUCKET_SHARDS) * h + e + e / 100,
            "{cost:?}"
        );
        // Writes: a claim and a delete transaction per lease, and the cursor.
        assert_eq!(cost.get("DynamoDB.UpdateItem"), e, "{cost:?}");
        assert_eq!(cost.get("DynamoDB.TransactWriteItems"), e, "{cost:?}");
        assert_eq!(cost.get("DynamoDB.PutItem"), 1, "{cost:?}");
    }
    assert_eq!(
        small.reads(),
        large.reads(),
        "ten times the live leases, the same reads"
    );
    println!(
        "DynamoDB reads for {EXPIRED} expired leases: {} with 1,000 live, {} with 10,000 live",
        small.reads(),
        large.reads()
    );
}
