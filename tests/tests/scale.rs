//! Revocations at scale against DynamoDB Local and moto (the issue "Crash and
//! concurrency correctness": long operations are bounded). Not part of `make test`:
//! they load tens of thousands of items and take minutes; `make scale` runs them.
//!
//! - `revoke-prefix` over 20,000 leases answers after a bounded amount of work (counted
//!   DynamoDB calls, independent of the number of leases), and the sweeper finishes
//!   the job in a bounded number of runs (counted).
//! - A token owning 1,000 IAM-user leases (real moto users) is refused at once on
//!   revoke; the request revokes a bounded number of them, the sweeper the rest.
//! - A token with 10,000 child tokens is refused at once on revoke, its children too;
//!   the sweeper revokes the tree in a bounded number of runs (counted).
//!
//! Wall times are printed, not asserted: a function's timeout is 15 s (API) and 240 s
//! (sweeper); the numbers go in the notes.

use std::collections::BTreeMap;
use std::time::Instant;

use sigil::Function;
use sigil::aws_engine::revoke::{DATA_USER_NAME, KIND_IAM_USER};
use sigil::aws_engine::sts::KIND_STS;
use sigil::lease::{self, Lease, LeaseState};
use sigil::revocation::{INLINE_BUDGET, SWEEP_BUDGET};
use sigil::store::Write;
use sigil_tests::{Fixture, unique};

/// An active lease at `path` owned by `token_hash`, as the engines record it.
fn active(
    path: &str,
    kind: &str,
    token_hash: &str,
    now: i64,
    data: BTreeMap<String, String>,
) -> Lease {
    Lease {
        id: lease::new_id(path).unwrap(),
        path: path.to_owned(),
        kind: kind.into(),
        state: LeaseState::Active,
        issued_at: now - 60,
        expire_at: now + 3600,
        max_expire_at: now + 7200,
        renewable: true,
        token_hash: Some(token_hash.to_owned()),
        data,
        attempts: 0,
        last_error: None,
    }
}

/// The items a lease's write-ahead transaction puts (lease, mount index entry, token
/// reference), for the bulk loader.
fn items(l: &Lease) -> Vec<sigil::store::Item> {
    l.pending_writes()
        .into_iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } => Some(item),
            _ => None,
        })
        .collect()
}

fn dynamo_calls(f: &Fixture) -> u64 {
    f.counter
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("DynamoDB."))
        .map(|(_, n)| n)
        .sum()
}

/// A fixture, and a token that owns the leases (a day long: it outlives the test).
async fn fixture() -> (Fixture, sigil::token::Minted) {
    let f = Fixture::new().await;
    let app = f.app(Function::Admin);
    let owner =
        sigil::bootstrap::admin_token(app.store.as_ref(), app.limits(), 86_400, f.clock.now())
            .await
            .unwrap();
    (f, owner)
}

/// Sweeps until no revocation job is pending; returns the runs it took.
async fn sweeps_until_done(f: &Fixture, limit: usize) -> usize {
    for run in 1..=limit {
        let started = Instant::now();
        let r = f.sweep().await;
        println!(
            "sweep {run}: {} leases by revocation jobs, {} pending, {:.1} s",
            r.revocation_leases,
            r.revocations_pending,
            started.elapsed().as_secs_f64()
        );
        if r.revocations_pending == 0 {
            return run;
        }
    }
    panic!("revocations still pending after {limit} sweeps");
}

#[tokio::test]
#[ignore = "minutes: make scale"]
async fn revoke_prefix_over_20000_leases_is_bounded() {
    const N: usize = 20_000;
    let (f, owner) = fixture().await;
    let (app, now) = (f.app(Function::Admin), f.clock.now());
    let role = unique("scale");
    let path = format!("aws/sts/{role}");
    let started = Instant::now();
    let leases: Vec<Lease> = (0..N)
        .map(|_| active(&path, KIND_STS, &owner.entry.hash, now, BTreeMap::new()))
        .collect();
    f.batch_put(leases.iter().flat_map(items).collect(), 16)
        .await;
    println!(
        "setup: {N} leases in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    f.counter.reset();
    let started = Instant::now();
    let (s, b) = f
        .call(
            "PUT",
            &format!("/v1/sys/leases/revoke-prefix/{path}"),
            Some(&f.admin),
            None,
        )
        .await;
    let took = started.elapsed();
    let calls = dynamo_calls(&f);
    println!(
        "revoke-prefix over {N}: {s} in {:.2} s, {calls} DynamoDB calls",
        took.as_secs_f64()
    );
    assert_eq!(s, 202, "accepted, finished by the sweeper: {b}");
    // The request's work is bounded by its inline budget, not by N: per lease a get,
    // a claim and a delete; a few pages; the job's records.
    assert!(calls <= 3 * INLINE_BUDGET as u64 + 20, "{calls} calls");

    let runs = sweeps_until_done(&f, 40).await;
    let expected = (N - INLINE_BUDGET).div_ceil(SWEEP_BUDGET);
    println!("{N} leases: {runs} sweeper runs (budget {SWEEP_BUDGET} a run)");
    assert_eq!(runs, expected);
    for l in leases.iter().step_by(997) {
        assert!(
            lease::get(app.store.as_ref(), &l.id)
                .await
                .unwrap()
                .is_none()
        );
    }
    let (s, b) = f
        .call(
            "LIST",
            &format!("/v1/sys/leases/lookup/{path}/"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 404, "none left: {b}");
}

#[tokio::test]
#[ignore = "minutes: make scale"]
async fn a_token_owning_1000_iam_user_leases_is_refused_at_once_on_revoke() {
    const N: usize = 1_000;
    let (f, owner) = fixture().await;
    let now = f.clock.now();
    let token = {
        use secrecy::ExposeSecret;
        owner.token.expose_secret().to_owned()
    };
    let role = unique("owner");
    let prefix = format!("sigil-scale-{role}-");
    let iam = aws_sdk_iam::Client::new(&f.sdk);
    let started = Instant::now();
    let names: Vec<String> = (0..N).map(|i| format!("{prefix}{i:04}")).collect();
    futures::future::join_all(names.chunks(50).map(|chunk| {
        let iam = iam.clone();
        async move {
            for n in chunk {
                iam.create_user()
                    .user_name(n)
                    .send()
                    .await
                    .expect("CreateUser");
            }
        }
    }))
    .await;
    let leases: Vec<Lease> = names
        .iter()
        .map(|n| {
            active(
                &format!("aws/creds/{role}"),
                KIND_IAM_USER,
                &owner.entry.hash,
                now,
                BTreeMap::from([(DATA_USER_NAME.to_owned(), n.clone())]),
            )
        })
        .collect();
    f.batch_put(leases.iter().flat_map(items).collect(), 16)
        .await;
    println!(
        "setup: {N} IAM users and leases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(f.iam_users(&prefix).await.len(), N);

    f.counter.reset();
    let started = Instant::now();
    let (s, b) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&token), None)
        .await;
    let took = started.elapsed();
    let snapshot = f.counter.snapshot();
    let iam_deletes = snapshot.get("IAM.DeleteUser").copied().unwrap_or(0);
    println!(
        "revoke-self of a token with {N} IAM-user leases: {s} in {:.2} s, {} DynamoDB \
         calls, {iam_deletes} users deleted inline",
        took.as_secs_f64(),
        dynamo_calls(&f)
    );
    assert_eq!(s, 204, "{b}");
    assert_eq!(iam_deletes, INLINE_BUDGET as u64);
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403, "refused at once");
    let (s, _) = f
        .call("GET", &format!("/v1/aws/creds/{role}"), Some(&token), None)
        .await;
    assert_eq!(s, 403);

    let runs = sweeps_until_done(&f, 5).await;
    println!("{N} IAM-user leases: {runs} sweeper runs");
    assert_eq!(runs, (N - INLINE_BUDGET).div_ceil(SWEEP_BUDGET));
    assert!(f.iam_users(&prefix).await.is_empty(), "every user deleted");
}

/// The issue "Token store": a parent with 10,000 descendants is refused at once on
/// revoke (its children too: each lookup checks the ancestors), the call's work is
/// bounded, and the sweeper cleans the tree up in a bounded number of runs (counted).
#[tokio::test]
#[ignore = "minutes: make scale"]
async fn a_token_with_10000_descendants_is_refused_at_once() {
    const N: usize = 10_000;
    let (f, owner) = fixture().await;
    let app = f.app(Function::Admin);
    let now = f.clock.now();
    let token = {
        use secrecy::ExposeSecret;
        owner.token.expose_secret().to_owned()
    };
    let started = Instant::now();
    let mut children = Vec::with_capacity(N);
    let mut items = Vec::new();
    for _ in 0..N {
        let child = sigil::token::mint(
            &sigil::token::TokenParams {
                ancestors: vec![owner.entry.hash.clone()],
                path: "auth/token/create".into(),
                ..sigil::token::TokenParams::default()
            },
            app.limits(),
            now,
        )
        .unwrap();
        items.extend(child.writes().into_iter().filter_map(|w| match w {
            Write::Put { item, .. } => Some(item),
            _ => None,
        }));
        children.push(child);
    }
    f.batch_put(items, 16).await;
    println!(
        "setup: a token with {N} children in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    f.counter.reset();
    let started = Instant::now();
    let (s, b) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&token), None)
        .await;
    let took = started.elapsed();
    let calls = dynamo_calls(&f);
    println!(
        "revoke-self of a token with {N} children: {s} in {:.2} s, {calls} DynamoDB calls",
        took.as_secs_f64()
    );
    assert_eq!(s, 204, "{b}");
    assert!(calls <= 4 * INLINE_BUDGET as u64 + 20, "{calls} calls");
    for c in children.iter().step_by(1_999) {
        use secrecy::ExposeSecret;
        let (s, _) = f
            .call(
                "GET",
                "/v1/auth/token/lookup-self",
                Some(c.token.expose_secret()),
                None,
            )
            .await;
        assert_eq!(s, 403, "a child is refused at once");
    }
    let runs = sweeps_until_done(&f, 40).await;
    println!("{N} children: {runs} sweeper runs (budget {SWEEP_BUDGET} a run)");
    // Each child costs two units of the sweeper's budget: its start in the parent's
    // walk, and its own job's step.
    assert!(runs <= 2 * N / SWEEP_BUDGET + 3, "{runs} runs");
    for c in children.iter().step_by(997) {
        assert!(
            app.store
                .get(&sigil::token::token_key(&c.entry.hash))
                .await
                .unwrap()
                .is_none()
        );
    }
}
