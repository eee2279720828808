//! Sigil's deterministic simulator: seeded schedules of concurrent operations over the
//! in-memory ports, faults at every port call, invariants checked after each schedule.
//!
//! One seed fixes everything: the operations and their parameters, the interleaving
//! (chosen by [`exec::Executor`], never the OS), which operation dies at which port call,
//! which calls fail, the clock, and the random bytes Sigil draws (tokens, lease IDs,
//! backoff jitter: `sigil::crypto::sim_random`). A failing seed replays with
//! `cargo run -p sigil-sim -- --seed N`.

pub mod approle;
pub mod database;
pub mod exec;
pub mod invariants;
pub mod kv;
pub mod ops;
pub mod ports;
pub mod transit;
pub mod tree;
pub mod world;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sigil::clock::Clock;
use sigil::route::Function;

use exec::{Chooser, Executor, Fate};
use invariants::Violation;
use ports::FaultRates;
use world::World;

/// What one schedule is made of.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Rounds of concurrent operations.
    pub rounds: usize,
    /// Operations per round (run concurrently).
    pub ops_per_round: usize,
    /// Tokens the operations use.
    pub tokens: usize,
    /// Chance, per 1,000 port calls, that the operation making it dies there.
    pub kill_per_mille: u32,
    /// Port faults.
    pub faults: FaultRates,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rounds: 3,
            ops_per_round: 6,
            tokens: 3,
            kill_per_mille: 15,
            faults: FaultRates {
                store_error: 15,
                store_applied_error: 10,
                iam_not_sent: 10,
                iam_throttled: 15,
                iam_applied_timeout: 15,
                db_not_sent: 10,
                db_applied_timeout: 15,
            },
        }
    }
}

/// The outcome of one schedule.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Broken invariants (empty: the schedule passed).
    pub violations: Vec<Violation>,
    /// Each operation with its fate, in order.
    pub trace: Vec<(String, Fate)>,
    /// Faults the ports injected.
    pub faults: u64,
    /// Credentials handed out.
    pub leases: usize,
}

struct SeededChooser {
    rng: fastrand::Rng,
    kill: u32,
}

impl Chooser for SeededChooser {
    fn pick(&mut self, n: usize) -> usize {
        self.rng.usize(0..n)
    }
    fn kill(&mut self, _name: &str) -> bool {
        self.rng.u32(0..1000) < self.kill
    }
}

/// Runs the schedule of `seed` and checks the invariants. Deterministic: the same seed
/// and settings give the same outcome.
pub fn run(seed: u64, settings: Settings) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let _random = sigil::crypto::sim_random::seeded(seed);
    rt.block_on(schedule(seed, settings))
}

async fn schedule(seed: u64, s: Settings) -> Outcome {
    let world = Arc::new(World::new(seed, s.faults, s.tokens).await);
    let model: ops::Shared = Rc::new(RefCell::new(ops::Model::default()));
    model.borrow_mut().approle.secrets = world
        .secret_ids
        .iter()
        .map(|s| approle::Secret {
            secret_id: s.clone(),
            made: approle::Span { began: 0, ended: 0 },
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut chooser = SeededChooser {
        rng: fastrand::Rng::with_seed(seed.rotate_left(17) ^ 0xc0ff_ee00),
        kill: s.kill_per_mille,
    };
    let mut outcome = Outcome::default();
    world.faults.set_on(true);
    for _ in 0..s.rounds {
        let mut ex = Executor::new();
        for _ in 0..s.ops_per_round {
            let kind = ops::pick_kind(&mut rng);
            let (name, fut) = ops::build(kind, &mut rng, &world, &model);
            ex.spawn(name, kind.timeout(), fut);
        }
        let clock = world.clock.clone();
        outcome
            .trace
            .extend(ex.run(&mut chooser, &move || clock.now()).await);
    }
    world.faults.set_on(false);
    outcome.faults = world.faults.injected.load(Ordering::Relaxed);
    outcome.leases = model.borrow().leases.len();

    let m = std::mem::take(&mut *model.borrow_mut());
    outcome
        .violations
        .extend(invariants::acknowledged_revokes_hold(&world, &m));
    outcome
        .violations
        .extend(invariants::revoked_tokens_refused(&world, &m).await);
    outcome
        .violations
        .extend(database::check_after_schedule(&world).await);
    outcome
        .violations
        .extend(kv::check(&world, &m.kv, &world.root).await);
    outcome.violations.extend(approle::check(&m.approle));
    outcome
        .violations
        .extend(invariants::one_entity_per_alias(&world));
    outcome.violations.extend(tree::check(&world, &m).await);
    let sweeper = world.app(Function::Sweeper);
    let sweep = || async {
        sigil::sweeper::sweep(sweeper.store.as_ref(), &sweeper.revokers, world.clock.now())
            .await
            .expect("a sweep without faults")
    };
    let revoked = invariants::revoked_hashes(&world, &m);
    sweep().await;
    outcome
        .violations
        .extend(invariants::no_lease_outlives_its_token(
            &world, &revoked, false,
        ));
    world.clock.advance(sigil::lease::CLAIM_SECS);
    sweep().await;
    outcome
        .violations
        .extend(invariants::no_lease_outlives_its_token(
            &world, &revoked, true,
        ));

    // Recovery: past every lease's max TTL and the pending grace, then sweeps until idle.
    world
        .clock
        .advance(world::LEASE_MAX + sigil::lease::PENDING_GRACE_SECS + 3600);
    for _ in 0..4 {
        sweep().await;
    }
    outcome
        .violations
        .extend(invariants::nothing_outlives_its_lease(&world, &m));
    outcome
        .violations
        .extend(invariants::expired_tokens_refused(&world, &m).await);
    outcome
        .violations
        .extend(transit::check(&world, &m.transit).await);
    outcome
        .violations
        .extend(database::check(&world, &m.database).await);
    outcome
}
