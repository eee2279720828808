//! `sigil-sim`: runs simulated schedules (`make sim SEEDS=N`) or replays one seed.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Deterministic simulation of Sigil's leases and tokens under concurrency and faults.
#[derive(Parser)]
#[command(name = "sigil-sim")]
struct Args {
    /// Replay this one seed, printing its operations and their fates.
    #[arg(long)]
    seed: Option<u64>,
    /// Schedules to run (seeds FROM, FROM+1, ...).
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let settings = sigil_sim::Settings::default();
    if let Some(seed) = args.seed {
        let o = sigil_sim::run(seed, settings);
        for (name, fate) in &o.trace {
            println!("{fate:?}\t{name}");
        }
        println!(
            "faults injected: {}, credentials issued: {}",
            o.faults, o.leases
        );
        for v in &o.violations {
            println!("VIOLATION {}: {}", v.invariant, v.detail);
        }
        return if o.violations.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let Some(end) = args.from.checked_add(args.seeds) else {
        eprintln!("--from + --seeds must stay below 2^64");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let mut by_invariant: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    let mut failed = 0u64;
    for seed in args.from..end {
        let o = sigil_sim::run(seed, settings);
        if !o.violations.is_empty() {
            failed += 1;
        }
        for v in &o.violations {
            let e = by_invariant.entry(v.invariant).or_insert((0, seed));
            if e.0 == 0 {
                println!(
                    "seed {seed}: {}: {} (replay: cargo run -p sigil-sim -- --seed {seed})",
                    v.invariant, v.detail
                );
            }
            e.0 += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} schedules in {secs:.1} s ({:.0}/s), {failed} with violations",
        args.seeds,
        args.seeds as f64 / secs
    );
    for (inv, (n, first)) in &by_invariant {
        println!("  {inv}: {n} violations, first at seed {first}");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
