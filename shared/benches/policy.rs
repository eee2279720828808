#![allow(missing_docs)] // criterion's macros generate undocumented items

//! Policy evaluation (DESIGN.md budget: under 2 µs median to evaluate one path against
//! an ACL compiled from 100 policies x 20 rules). Run with
//! `cargo bench -p sigil --bench policy -- --warm-up-time 1 --measurement-time 3`.
//!
//! Each policy is a team's: exact KV paths, prefix globs over its own subtrees and
//! engine roles, a deny, and three `+` rules, two of which share their literal prefix
//! with every other team's (`secret/data/+/team-N/config`, `kv/+/team-N/*`) so a lookup
//! under `secret/data/` has 100 `+` candidates to rule out: the worst case for the index.
//!
//! Templated policies (issue: under 2 µs to evaluate 100 policies): the same 100
//! policies with two identity-templated rules each, resolved for one entity; measured
//! are resolution plus compilation (once per entity and policy cache TTL) and a warm
//! request's whole evaluation through the function's `AclCache` (cache lookup by the
//! token's 100 policy names and entity, then the path).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigil::policies::{AclCache, StoredPolicy};
use sigil::policy::template::{Identity, IdentityAlias};
use sigil::policy::{Acl, Capability, Policy, parse};
use sigil::store::memory::MemoryStore;

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

/// A team's policy with two templated rules added.
fn templated_text(team: usize) -> String {
    format!(
        "{}path \"secret/data/ci/{{{{identity.entity.aliases.auth_jwt_1a2b.metadata.repository}}}}/*\" {{\n  capabilities = [\"read\"]\n}}\npath \"secret/data/people/{{{{identity.entity.name}}}}/team-{team}/*\" {{\n  capabilities = [\"read\", \"update\"]\n}}\n",
        policy_text(team)
    )
}

fn identity() -> Identity {
    Identity {
        entity_id: "6f0c8a51-7a52-4a2b-9c1e-0d6b3c2f9a10".into(),
        entity_name: "ci-octo-app".into(),
        aliases: vec![IdentityAlias {
            mount_accessor: "auth_jwt_1a2b".into(),
            name: "repo:octo-org/app:ref:refs/heads/main".into(),
            metadata: [("repository".to_owned(), "octo-org/app".to_owned())].into(),
            ..IdentityAlias::default()
        }],
        ..Identity::default()
    }
}

fn bench_templated(c: &mut Criterion) {
    let set: Vec<Policy> = (0..POLICIES)
        .map(|team| parse(&format!("team-{team}"), &templated_text(team)).expect("parses"))
        .collect();
    let who = identity();
    c.bench_function(
        "policy/templated resolve + compile 100 policies x 22 rules",
        |b| {
            b.iter(|| {
                let resolved: Vec<Policy> =
                    set.iter().map(|p| p.resolve(Some(&who), true)).collect();
                let refs: Vec<&Policy> = resolved.iter().collect();
                Acl::new(black_box(&refs))
            });
        },
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = MemoryStore::new();
    let names: Vec<String> = (0..POLICIES).map(|t| format!("team-{t}")).collect();
    rt.block_on(async {
        for (team, name) in names.iter().enumerate() {
            let stored = StoredPolicy {
                text: templated_text(team),
                allow_slashes_in_identity_templates: true,
            };
            sigil::policies::write(&store, name, &stored, 0)
                .await
                .expect("write");
        }
    });
    let cache = AclCache::new();
    let mut sorted = names.clone();
    sorted.sort();
    let path = "secret/data/ci/octo-org/app/deploy-key";
    let acl = rt
        .block_on(cache.acl_for(&store, &sorted, Some(&who), 0, 3600))
        .expect("acl");
    assert!(acl.allows(path, Capability::Read));
    assert!(!acl.allows("secret/data/ci/octo-org/other/deploy-key", Capability::Read));
    c.bench_function(
        "policy/templated warm request: AclCache::acl_for + capabilities",
        |b| {
            b.iter(|| {
                let acl = rt
                    .block_on(cache.acl_for(&store, black_box(&sorted), Some(&who), 1, 3600))
                    .expect("acl");
                acl.capabilities(black_box(path))
            });
        },
    );
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

criterion_group!(benches, bench, bench_templated);
criterion_main!(benches);
