//! The simulator in CI: a fixed budget of seeded schedules, zero invariant violations,
//! and every schedule replays exactly.

use sigil_sim::{Settings, run};

/// Schedules per CI run (`make sim SEEDS=N` runs more).
const CI_SCHEDULES: u64 = 2000;

/// Invariants the simulator breaks today, each with the finding of the issue
/// "Crash and concurrency correctness" it confirms. They are reported, not failed on,
/// until their fix lands; every other invariant must hold in every schedule.
const PENDING: &[(&str, &str)] = &[(
    "lease-outlives-token",
    "findings 1 and 3: a token revoke skips a lease another revocation claimed and \
     answers 204; when that revocation died, the lease waits for its claim to lapse \
     and a sweeper to reach its hour (replay: cargo run -p sigil-sim -- --seed 34). \
     Finding 2's race (a lease filed after the revoke listed the token's leases) is \
     fixed: the revoke marks the token first",
)];

#[test]
fn a_seed_replays_exactly() {
    for seed in [1, 7, 42] {
        let a = run(seed, Settings::default());
        let b = run(seed, Settings::default());
        assert_eq!(
            a.trace, b.trace,
            "seed {seed}: the same operations and fates"
        );
        assert_eq!(a.faults, b.faults, "seed {seed}: the same faults");
        assert_eq!(a.violations, b.violations, "seed {seed}");
    }
}

#[test]
fn schedules_keep_every_invariant() {
    let mut failures = Vec::new();
    let mut leases = 0;
    let mut faults = 0;
    let mut pending = 0;
    for seed in 0..CI_SCHEDULES {
        let o = run(seed, Settings::default());
        leases += o.leases;
        faults += o.faults;
        for v in o.violations {
            if PENDING.iter().any(|(inv, _)| *inv == v.invariant) {
                pending += 1;
                continue;
            }
            failures.push(format!(
                "seed {seed}: {}: {} (replay: cargo run -p sigil-sim -- --seed {seed})",
                v.invariant, v.detail
            ));
        }
    }
    println!(
        "{CI_SCHEDULES} schedules: {leases} credentials issued, {faults} faults injected, \
         {pending} violations of pending invariants ({PENDING:?})"
    );
    assert!(
        leases > CI_SCHEDULES as usize,
        "the schedules issue credentials"
    );
    assert!(faults > CI_SCHEDULES, "the schedules inject faults");
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
