#![allow(missing_docs)] // criterion's macros generate undocumented items

//! Policy evaluation (DESIGN.md budget: under 2 µs median to evaluate one path against
//! an ACL compiled from 100 policies x 20 rules). Run with
//! `cargo bench -p sigil --bench policy -- --warm-up-time 1 --measurement-time 3`.
//!
//! Each policy is a team's: exact KV paths, prefix globs over its own subtrees and
//! engine roles, a deny, and three `+` rules, two of which share their literal prefix
//! with every other team's (`secret/data/+/team-N/config`, `kv/+/team-N/*`) so a lookup
//! under `secret/data/` has 100 `+` candidates to rule out: the worst case for the index.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigil::policy::{Acl, Capability, Policy, parse};

const POLICIES: usize = 100;

fn policy_text(team: usize) -> String {
    let mut rules: Vec<(String, &str)> = Vec::new();
    // 9 exact rules.
    for app in 0..5 {
        rules.push((
            format!("secret/data/team-{team}/app-{app}/config"),
            r#"["read"]"#,
        ));
    }
    rules.push((
        format!("auth/approle/role/team-{team}"),
        r#"["read", "update"]"#,
    ));
    rules.push((
        format!("auth/approle/role/team-{team}/secret-id"),
        r#"["update"]"#,
    ));
    rules.push((format!("aws/creds/team-{team}-deploy"), r#"["read"]"#));
    rules.push((format!("sys/policies/acl/team-{team}"), r#"["read"]"#));
    // 7 prefix rules and a deny.
    rules.push((
        format!("secret/data/team-{team}/shared/*"),
        r#"["read", "create", "update"]"#,
    ));
    rules.push((
        format!("secret/metadata/team-{team}/*"),
        r#"["list", "read"]"#,
    ));
    rules.push((format!("secret/data/team-{team}/ci/*"), r#"["read"]"#));
    rules.push((format!("aws/sts/team-{team}-*"), r#"["update"]"#));
    rules.push((format!("database/creds/team-{team}-*"), r#"["read"]"#));
    rules.push((format!("transit/encrypt/team-{team}-*"), r#"["update"]"#));
    rules.push((format!("pki/issue/team-{team}-*"), r#"["update"]"#));
    rules.push((
        format!("secret/data/team-{team}/shared/root"),
        r#"["deny"]"#,
    ));
    // 3 `+` rules.
    rules.push((format!("secret/data/team-{team}/+/readonly"), r#"["read"]"#));
    rules.push((format!("secret/data/+/team-{team}/config"), r#"["read"]"#));
    rules.push((format!("kv/+/team-{team}/*"), r#"["read", "list"]"#));
    assert_eq!(rules.len(), 20);
    rules
        .iter()
        .map(|(path, caps)| format!("path \"{path}\" {{\n  capabilities = {caps}\n}}\n"))
        .collect()
}

fn policies() -> Vec<Policy> {
    (0..POLICIES)
        .map(|team| {
            parse(&format!("team-{team}"), &policy_text(team)).expect("bench policy parses")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = policies();
    let refs: Vec<&Policy> = set.iter().collect();

    c.bench_function("policy/parse one policy (20 rules)", |b| {
        let text = policy_text(42);
        b.iter(|| parse("team-42", black_box(&text)));
    });
    c.bench_function("policy/Acl::new 100 policies x 20 rules", |b| {
        b.iter(|| Acl::new(black_box(&refs)));
    });

    let acl = Acl::new(&refs);
    let cases = [
        ("exact", "secret/data/team-42/app-3/config", true),
        ("prefix", "secret/data/team-42/shared/db/password", true),
        ("plus", "secret/data/prod/team-42/config", true),
        ("no match", "secret/data/nobody/app/config", false),
        ("no match, other mount", "cubbyhole/some/thing", false),
    ];
    for (name, path, matches) in cases {
        assert_eq!(
            acl.allows(path, Capability::Read),
            matches,
            "{name}: {path}"
        );
        c.bench_function(&format!("policy/capabilities {name}"), |b| {
            b.iter(|| acl.capabilities(black_box(path)));
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
