//! Cross-module tests: a table of (policies, path, capability, allowed) cases, many
//! taken from Vault's documentation and from Vault's own `vault/acl_test.go`, and
//! property tests against a naive model of Vault's matching rules.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use Capability::*;

fn policies(texts: &[&str]) -> Vec<Policy> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| parse(&format!("p{i}"), t).unwrap_or_else(|e| panic!("policy {i}: {e}")))
        .collect()
}

fn compile(policies: &[Policy]) -> Acl {
    Acl::new(&policies.iter().collect::<Vec<_>>())
}

// ---- policy sets ----

/// Vault docs, "Policy syntax": the detailed, commented policy.
const DOCS_DETAILED: &str = r#"
path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "secret/super-secret" {
  capabilities = ["deny"]
}
path "secret/restricted" {
  capabilities = ["create"]
  allowed_parameters = {
    "foo" = []
    "bar" = ["zip", "zap"]
  }
}
"#;

/// Vault docs: exact path, prefix globs.
const DOCS_GLOBS: &str = r#"
path "secret/foo" {
  capabilities = ["read"]
}
path "secret/bar/*" {
  capabilities = ["read"]
}
path "secret/zip-*" {
  capabilities = ["read"]
}
"#;

/// Vault docs: `+` segment wildcards.
const DOCS_PLUS: &str = r#"
path "secret/+/teamb" {
  capabilities = ["read"]
}
path "secret/+/+/teamb" {
  capabilities = ["read"]
}
"#;

/// Vault docs' priority example: "secret/*" outranks "secret/+/+/foo/*" (rule 3).
const DOCS_PRIORITY: &str = r#"
path "secret/*" {
  capabilities = ["read"]
}
path "secret/+/+/foo/*" {
  capabilities = ["update"]
}
path "secret/+/teamb/*" {
  capabilities = ["delete"]
}
path "secret/a/*" {
  capabilities = ["list"]
}
"#;

/// Priority rule 5: two rules matching the same paths with their first wildcard at the
/// same place, both ending (or not) in `*`, with as many `+` and of the same length: the
/// one that sorts higher wins. `+` (0x2B) sorts before letters, so `a/+/bb/+/*`
/// outranks `a/+/+/bb/*`. In two policies, so that their order is tried both ways.
const PRIORITY_LEXICAL_LOW: &str = r#"
path "a/+/+/bb/*" {
  capabilities = ["update"]
}
path "a/+/+/cc" {
  capabilities = ["create"]
}
"#;

const PRIORITY_LEXICAL_HIGH: &str = r#"
path "a/+/bb/+/*" {
  capabilities = ["read"]
}
path "a/+/cc/+" {
  capabilities = ["list"]
}
"#;

/// Vault's `acl_test.go` `aclPolicy` (without the newer `recover` capability).
const VAULT_ACL_POLICY: &str = r#"
name = "DeV"
path "dev/*" {
  policy = "sudo"
}
path "stage/*" {
  policy = "write"
}
path "stage/aws/*" {
  policy = "read"
  capabilities = ["update", "sudo"]
}
path "stage/aws/policy/*" {
  policy = "sudo"
}
path "prod/*" {
  policy = "read"
}
path "prod/aws/*" {
  policy = "deny"
}
path "sys/*" {
  policy = "deny"
}
path "foo/bar" {
  capabilities = ["read", "create", "sudo"]
}
path "baz/quux" {
  capabilities = ["read", "create", "patch"]
}
path "test/+/segment" {
  capabilities = ["read"]
}
path "+/segment/at/front" {
  capabilities = ["read"]
}
path "test/segment/at/end/+" {
  capabilities = ["read"]
}
path "test/segment/at/end/v2/+/" {
  capabilities = ["read"]
}
path "test/+/wildcard/+/*" {
  capabilities = ["read"]
}
path "test/+/wildcardglob/+/end*" {
  capabilities = ["read"]
}
path "1/2/*" {
  capabilities = ["create"]
}
path "1/2/+" {
  capabilities = ["read"]
}
path "1/2/+/+" {
  capabilities = ["update"]
}
"#;

/// Vault's `acl_test.go` `aclPolicy2` (layered on the one above).
const VAULT_ACL_POLICY2: &str = r#"
name = "OpS"
path "dev/hide/*" {
  policy = "deny"
}
path "stage/aws/policy/*" {
  policy = "deny"
  # This should have no effect
  capabilities = ["read", "update", "sudo"]
}
path "prod/*" {
  policy = "write"
}
path "sys/seal" {
  policy = "sudo"
}
path "foo/bar" {
  capabilities = ["deny"]
}
path "baz/quux" {
  capabilities = ["deny"]
}
"#;

/// KV v2: data and metadata paths.
const KV2: &str = r#"
path "secret/data/app/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/app/*" {
  capabilities = ["list", "read"]
}
path "secret/metadata/team" {
  capabilities = ["list"]
}
path "secret/data/+/shared" {
  capabilities = ["read"]
}
"#;

const TEAM_READ: &str = r#"
path "secret/data/shared/*" {
  capabilities = ["read"]
}
path "sys/policies/acl/*" {
  capabilities = ["read", "update", "sudo"]
}
"#;

const TEAM_WRITE: &str = r#"
path "secret/data/shared/*" {
  capabilities = ["update"]
}
path "secret/data/prod/*" {
  capabilities = ["deny"]
}
"#;

const DENY_ADMIN: &str = r#"
path "sys/policies/acl/*" {
  capabilities = ["deny"]
}
"#;

const BROAD: &str = r#"
path "secret/data/*" {
  capabilities = ["read"]
}
"#;

/// Each case: the policies a token holds, the request path, the capability the
/// operation needs, and whether it is allowed.
type Case = (&'static [&'static str], &'static str, Capability, bool);

const CASES: &[Case] = &[
    // Vault docs: detailed policy, deny overrides the broader glob.
    (&[DOCS_DETAILED], "secret/foo", Read, true),
    (&[DOCS_DETAILED], "secret/foo/bar", Patch, true),
    (&[DOCS_DETAILED], "secret/foo", Sudo, false),
    (&[DOCS_DETAILED], "secret/super-secret", Read, false),
    (&[DOCS_DETAILED], "secret/super-secret", List, false),
    (&[DOCS_DETAILED], "secret/super-secret/child", Read, true),
    (&[DOCS_DETAILED], "secret/restricted", Create, true),
    (&[DOCS_DETAILED], "secret/restricted", Read, false),
    (&[DOCS_DETAILED], "secret", Read, false),
    (&[DOCS_DETAILED], "other/foo", Read, false),
    // Vault docs: exact and prefix globs.
    (&[DOCS_GLOBS], "secret/foo", Read, true),
    (&[DOCS_GLOBS], "secret/food", Read, false),
    (&[DOCS_GLOBS], "secret/foo/bar", Read, false),
    (&[DOCS_GLOBS], "secret/bar/zip", Read, true),
    (&[DOCS_GLOBS], "secret/bar/zip/zap", Read, true),
    (&[DOCS_GLOBS], "secret/bars/zip", Read, false),
    (&[DOCS_GLOBS], "secret/bar", Read, false),
    (&[DOCS_GLOBS], "secret/zip-zap", Read, true),
    (&[DOCS_GLOBS], "secret/zip-zap/zong", Read, true),
    (&[DOCS_GLOBS], "secret/zip/zap", Read, false),
    (&[DOCS_GLOBS], "/secret/foo", Read, true),
    // Vault docs: `+`.
    (&[DOCS_PLUS], "secret/foo/teamb", Read, true),
    (&[DOCS_PLUS], "secret/foo/bar/teamb", Read, true),
    (&[DOCS_PLUS], "secret/teamb", Read, false),
    (&[DOCS_PLUS], "secret/foo/teamb/x", Read, false),
    (&[DOCS_PLUS], "secret/a/b/c/teamb", Read, false),
    (&[DOCS_PLUS], "secret/foo/teamb", Update, false),
    // Priority: "secret/*" beats "secret/+/+/foo/*" (more `+` segments lose) and
    // "secret/+/teamb/*"; "secret/a/*" beats "secret/+/teamb/*" (later first glob).
    (&[DOCS_PRIORITY], "secret/x/y/foo/z", Read, true),
    (&[DOCS_PRIORITY], "secret/x/y/foo/z", Update, false),
    (&[DOCS_PRIORITY], "secret/x/teamb/y", Read, true),
    (&[DOCS_PRIORITY], "secret/x/teamb/y", Delete, false),
    (&[DOCS_PRIORITY], "secret/a/teamb/y", List, true),
    (&[DOCS_PRIORITY], "secret/a/teamb/y", Read, false),
    // Priority rule 5 (lexical order) decides between otherwise equal rules.
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/bb/bb/z",
        Read,
        true,
    ),
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/bb/bb/z",
        Update,
        false,
    ),
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/cc/cc",
        List,
        true,
    ),
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/cc/cc",
        Create,
        false,
    ),
    // Where only the lower rule matches, it applies.
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/q/bb/z",
        Update,
        true,
    ),
    (
        &[PRIORITY_LEXICAL_LOW, PRIORITY_LEXICAL_HIGH],
        "a/x/q/bb/z",
        Read,
        false,
    ),
    // Vault's acl_test.go, TestACL_Single.
    (&[VAULT_ACL_POLICY], "root", Read, false),
    (&[VAULT_ACL_POLICY], "dev/foo", Read, true),
    (&[VAULT_ACL_POLICY], "dev/foo", Update, true),
    (&[VAULT_ACL_POLICY], "dev/foo", Sudo, true),
    (&[VAULT_ACL_POLICY], "stage/foo", Delete, true),
    (&[VAULT_ACL_POLICY], "stage/foo", Sudo, false),
    (&[VAULT_ACL_POLICY], "stage/aws/foo", List, true),
    (&[VAULT_ACL_POLICY], "stage/aws/foo", Update, true),
    (&[VAULT_ACL_POLICY], "stage/aws/foo", Sudo, true),
    (&[VAULT_ACL_POLICY], "stage/aws/policy/foo", Update, true),
    (&[VAULT_ACL_POLICY], "prod/foo", Delete, false),
    (&[VAULT_ACL_POLICY], "prod/foo", Update, false),
    (&[VAULT_ACL_POLICY], "prod/foo", Read, true),
    (&[VAULT_ACL_POLICY], "prod/foo", List, true),
    (&[VAULT_ACL_POLICY], "prod/aws/foo", Read, false),
    (&[VAULT_ACL_POLICY], "foo/bar", Read, true),
    (&[VAULT_ACL_POLICY], "foo/bar", List, false),
    (&[VAULT_ACL_POLICY], "foo/bar", Update, false),
    (&[VAULT_ACL_POLICY], "foo/bar", Create, true),
    (&[VAULT_ACL_POLICY], "baz/quux", Read, true),
    (&[VAULT_ACL_POLICY], "baz/quux", Create, true),
    (&[VAULT_ACL_POLICY], "baz/quux", Patch, true),
    (&[VAULT_ACL_POLICY], "baz/quux", List, false),
    (&[VAULT_ACL_POLICY], "baz/quux", Update, false),
    (&[VAULT_ACL_POLICY], "test/foo/bar/segment", Read, false),
    (&[VAULT_ACL_POLICY], "test/foo/segment", Read, true),
    (&[VAULT_ACL_POLICY], "test/bar/segment", Read, true),
    (&[VAULT_ACL_POLICY], "test/segment/at/frond", Read, false),
    (&[VAULT_ACL_POLICY], "test/segment/at/front", Read, true),
    (&[VAULT_ACL_POLICY], "test/segment/at/end/foo", Read, true),
    (&[VAULT_ACL_POLICY], "test/segment/at/end/foo/", Read, false),
    (
        &[VAULT_ACL_POLICY],
        "test/segment/at/end/v2/foo/",
        Read,
        true,
    ),
    (
        &[VAULT_ACL_POLICY],
        "test/segment/wildcard/at/foo/",
        Read,
        true,
    ),
    (
        &[VAULT_ACL_POLICY],
        "test/segment/wildcard/at/end",
        Read,
        true,
    ),
    (
        &[VAULT_ACL_POLICY],
        "test/segment/wildcard/at/end/",
        Read,
        true,
    ),
    (
        &[VAULT_ACL_POLICY],
        "test/x/wildcardglob/y/endless",
        Read,
        true,
    ),
    (
        &[VAULT_ACL_POLICY],
        "test/x/wildcardglob/y/fin",
        Read,
        false,
    ),
    (&[VAULT_ACL_POLICY], "1/2/3/4", Read, false),
    (&[VAULT_ACL_POLICY], "1/2/3", Read, true),
    (&[VAULT_ACL_POLICY], "1/2/3", Update, false),
    (&[VAULT_ACL_POLICY], "1/2/3/4", Update, true),
    (&[VAULT_ACL_POLICY], "1/2/3/4/5", Create, true),
    // Vault's acl_test.go, TestACL_Layered: deny across policies.
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "dev/foo",
        Update,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "dev/hide/foo",
        Read,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "dev/hide/foo",
        Update,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "stage/aws/foo",
        Sudo,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "stage/aws/policy/foo",
        Update,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "stage/aws/policy/foo",
        Sudo,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "prod/foo",
        Delete,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "prod/foo",
        Update,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "prod/aws/foo",
        Read,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "sys/status",
        Read,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "sys/seal",
        Update,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "sys/seal",
        Sudo,
        true,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "foo/bar",
        Read,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "foo/bar",
        Create,
        false,
    ),
    (
        &[VAULT_ACL_POLICY, VAULT_ACL_POLICY2],
        "baz/quux",
        Patch,
        false,
    ),
    // KV v2: data and metadata, list on a directory (trailing slash).
    (&[KV2], "secret/data/app/db", Read, true),
    (&[KV2], "secret/data/app/db", Create, true),
    (&[KV2], "secret/data/app/db", Delete, false),
    (&[KV2], "secret/metadata/app/db", Read, true),
    (&[KV2], "secret/metadata/app/", List, true),
    (&[KV2], "secret/metadata/app/team/", List, true),
    (&[KV2], "secret/metadata/app", List, false),
    (&[KV2], "secret/metadata/team/", List, true),
    (&[KV2], "secret/metadata/team/", Read, false),
    (&[KV2], "secret/metadata/", List, false),
    (&[KV2], "secret/data/other/db", Read, false),
    (&[KV2], "secret/data/ops/shared", Read, true),
    (&[KV2], "secret/data/app/shared", Update, true),
    (&[KV2], "secret/data/app/shared", Read, true),
    // Multi-policy unions and denies.
    (&[TEAM_READ, TEAM_WRITE], "secret/data/shared/x", Read, true),
    (
        &[TEAM_READ, TEAM_WRITE],
        "secret/data/shared/x",
        Update,
        true,
    ),
    (
        &[TEAM_READ, TEAM_WRITE],
        "secret/data/shared/x",
        Delete,
        false,
    ),
    (&[TEAM_READ], "secret/data/shared/x", Update, false),
    (&[BROAD, TEAM_WRITE], "secret/data/dev/x", Read, true),
    (&[BROAD, TEAM_WRITE], "secret/data/prod/x", Read, false),
    (
        &[TEAM_READ, DENY_ADMIN],
        "sys/policies/acl/app",
        Read,
        false,
    ),
    (
        &[TEAM_READ, DENY_ADMIN],
        "sys/policies/acl/app",
        Sudo,
        false,
    ),
    (&[TEAM_READ], "sys/policies/acl/app", Sudo, true),
    // The built-in default policy.
    (&[DEFAULT_POLICY], "auth/token/lookup-self", Read, true),
    (&[DEFAULT_POLICY], "auth/token/renew-self", Update, true),
    (&[DEFAULT_POLICY], "auth/token/revoke-self", Update, true),
    (&[DEFAULT_POLICY], "sys/capabilities-self", Update, true),
    (&[DEFAULT_POLICY], "sys/leases/lookup", Update, true),
    (&[DEFAULT_POLICY], "sys/leases/renew", Update, true),
    (&[DEFAULT_POLICY], "auth/token/lookup-self", Update, false),
    (&[DEFAULT_POLICY], "auth/token/create", Update, false),
    (&[DEFAULT_POLICY], "sys/leases/revoke", Update, false),
    (&[DEFAULT_POLICY], "secret/data/x", Read, false),
];

#[test]
fn table() {
    assert!(CASES.len() >= 40);
    for (i, (texts, path, cap, expected)) in CASES.iter().enumerate() {
        let set = policies(texts);
        let acl = compile(&set);
        assert_eq!(
            acl.allows(path, *cap),
            *expected,
            "case {i}: {cap} on {path:?} should be {}",
            if *expected { "allowed" } else { "denied" }
        );
        // Same answer with the policies in the other order.
        let reversed: Vec<Policy> = set.iter().rev().cloned().collect();
        assert_eq!(
            compile(&reversed).allows(path, *cap),
            *expected,
            "case {i}, reversed"
        );
        // `capabilities` agrees wherever the list fallback cannot apply.
        if !path.ends_with('/') {
            assert_eq!(acl.capabilities(path).contains(*cap), *expected, "case {i}");
        }
    }
}

#[test]
fn vault_segment_wildcard_priority() {
    // Vault's TestACL_SegmentWildcardPriority: the update rule wins each time.
    let cases = [
        (
            r#"path "+/*" { capabilities = ["read"] }
path "*" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
        (
            r#"path "+/*" { capabilities = ["read"] }
path "foo/+/*" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
        (
            r#"path "foo/+/+/*" { capabilities = ["read"] }
path "foo/+/bar/baz" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
        (
            r#"path "foo/+/+/baz" { capabilities = ["read"] }
path "foo/+/bar/baz" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
        (
            r#"path "foo/+/(ar/baz" { capabilities = ["read"] }
path "foo/(ar/+/baz" { capabilities = ["update"] }"#,
            "foo/(ar/(ar/baz",
        ),
        (
            r#"path "foo/bar/+/baz*" { capabilities = ["read"] }
path "foo/bar/+/baz" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
        (
            r#"path "foo/bar/+/b*" { capabilities = ["read"] }
path "foo/bar/+/ba*" { capabilities = ["update"] }"#,
            "foo/bar/bar/baz",
        ),
    ];
    for (i, (text, path)) in cases.into_iter().enumerate() {
        let acl = compile(&policies(&[text]));
        assert!(acl.allows(path, Update), "case {i}");
        assert!(!acl.allows(path, Read), "case {i}");
    }
}

#[test]
fn capabilities_report_and_list_fallback() {
    let acl = compile(&policies(&[VAULT_ACL_POLICY]));
    // Vault's testACLCapabilities.
    assert_eq!(acl.capabilities("dev").names(), ["deny"]);
    assert_eq!(
        acl.capabilities("dev/").names(),
        ["create", "read", "update", "delete", "list", "sudo"]
    );
    assert_eq!(
        acl.capabilities("stage/aws/test").names(),
        ["read", "update", "list", "sudo"]
    );
    // An exact rule without the slash answers a list of the directory.
    let acl = compile(&policies(&[
        "path \"secret/metadata/team\" {\n capabilities = [\"list\"]\n}\n",
    ]));
    assert!(acl.allows("secret/metadata/team/", List));
    assert!(!acl.allows("secret/metadata/team/", Read));
    assert_eq!(acl.capabilities("secret/metadata/team/").names(), ["list"]);
    assert_eq!(
        acl.operation_capabilities("secret/metadata/team/", true)
            .names(),
        ["list"]
    );
    assert!(
        acl.operation_capabilities("secret/metadata/team/", false)
            .is_empty()
    );
    // For a list, a glob matching the path without its slash is tried first.
    let acl = compile(&policies(&[
        "path \"a/b*\" {\n capabilities = [\"list\"]\n}\npath \"a/b/*\" {\n capabilities = [\"read\"]\n}\n",
    ]));
    assert!(acl.allows("a/b/", List));
    assert!(acl.allows("a/b/", Read));
}

#[test]
fn long_paths_and_shared_plus_prefixes() {
    // Many `+` rules sharing the text before their `+` (one trie slot), and paths with
    // more segments than the evaluator splits on the stack.
    let texts: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "path \"s/+/team-{i}/config\" {{\n capabilities = [\"read\"]\n}}\npath \"s/+/+/x{i}*\" {{\n capabilities = [\"list\"]\n}}\n"
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let acl = compile(&policies(&refs));
    assert!(acl.allows("s/prod/team-7/config", Read));
    assert!(!acl.allows("s/prod/team-7/config/more", Read));
    assert!(!acl.allows("s/prod/team-77/config", Read));
    assert!(acl.allows("s/a/b/x12345/deep", List));
    let deep = format!("s/a/b/x1/{}", vec!["d"; 60].join("/"));
    assert!(acl.allows(&deep, List));
    assert!(!acl.allows(&format!("s/a/b/y1/{}", vec!["d"; 60].join("/")), List));
    let acl = compile(&policies(&[
        "path \"a/+/+/b\" {\n capabilities = [\"read\"]\n}\n",
    ]));
    let long = format!("a/{}/b", vec!["x"; 60].join("/"));
    assert!(!acl.allows(&long, Read));
    assert!(acl.allows("a/x/y/b", Read));
}

#[test]
fn docs_worked_example() {
    // The table in docs/policies.md, "Worked example".
    let team = r#"
path "secret/*"          { capabilities = ["read"] }
path "secret/+/+/foo/*"  { capabilities = ["update"] }
path "secret/a/*"        { capabilities = ["list"] }
path "secret/+/teamb/*"  { capabilities = ["delete"] }
"#;
    let ops = r#"
path "secret/*"          { capabilities = ["create"] }
path "secret/a/secret"   { capabilities = ["deny"] }
"#;
    let acl = compile(&policies(&[team, ops]));
    let names = |p: &str| acl.capabilities(p).names();
    assert_eq!(names("secret/x"), ["create", "read"]);
    assert_eq!(names("secret/x/y/foo/z"), ["create", "read"]);
    assert_eq!(names("secret/x/teamb/y"), ["create", "read"]);
    assert_eq!(names("secret/a/teamb/y"), ["list"]);
    assert_eq!(names("secret/a/secret"), ["deny"]);
    assert!(acl.capabilities("secret/a/secret").is_empty());
    assert!(acl.capabilities("other/x").is_empty());
}

#[test]
fn root_acl() {
    for acl in [
        Acl::root(),
        Acl::new(&[&Policy {
            name: ROOT_POLICY_NAME.into(),
            rules: vec![],
        }]),
    ] {
        assert!(acl.is_root());
        assert_eq!(acl.capabilities("any/path"), Capabilities::all_root());
        assert!(acl.allows("sys/policies/acl/x", Sudo));
        assert!(!acl.allows("x", Deny));
        assert_eq!(acl.check_parameters("x", &serde_json::Map::new()), Ok(()));
    }
    assert!(!Acl::new(&[]).is_root());
    assert_eq!(Acl::new(&[]).capabilities("x"), Capabilities::NONE);
}

#[test]
fn parameter_constraints_through_the_acl() {
    let body = |v: serde_json::Value| match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    let set = policies(&[
        DOCS_DETAILED,
        r#"
path "auth/approle/role/+" {
  capabilities = ["create", "update"]
  required_parameters = ["token_ttl"]
  allowed_parameters = { "token_ttl" = ["1h", "2h"], "token_policies" = ["app-*"], "*" = [] }
  denied_parameters = { "token_no_default_policy" = [] }
}
path "secret/restricted" {
  capabilities = ["update"]
}
"#,
    ]);
    let acl = compile(&set);
    let role = "auth/approle/role/ci";
    assert!(
        acl.check_parameters(role, &body(json!({"token_ttl": "1h"})))
            .is_ok()
    );
    assert!(
        acl.check_parameters(
            role,
            &body(json!({"token_ttl": "1h", "token_policies": ["app-a", "app-b"], "x": 1}))
        )
        .is_ok()
    );
    assert!(
        acl.check_parameters(role, &body(json!({"token_ttl": "3h"})))
            .is_err()
    );
    assert!(
        acl.check_parameters(role, &body(json!({"token_policies": "app-a"})))
            .is_err(),
        "required"
    );
    assert!(
        acl.check_parameters(
            role,
            &body(json!({"token_ttl": "1h", "token_policies": ["app-a", "admin"]}))
        )
        .is_err()
    );
    assert!(
        acl.check_parameters(
            role,
            &body(json!({"token_ttl": "1h", "token_no_default_policy": false}))
        )
        .is_err()
    );
    // Docs: "secret/restricted" may only hold foo (any value) and bar (zip or zap); the
    // second policy's rule on the same path adds capabilities but keeps the constraints.
    assert!(acl.allows("secret/restricted", Update));
    let restricted = "secret/restricted";
    assert!(
        acl.check_parameters(restricted, &body(json!({"foo": 1, "bar": "zap"})))
            .is_ok()
    );
    assert!(
        acl.check_parameters(restricted, &body(json!({"bar": "zop"})))
            .is_err()
    );
    assert!(
        acl.check_parameters(restricted, &body(json!({"baz": 1})))
            .is_err()
    );
    // No constraints: Ok. No rule, or a deny rule: Err.
    assert!(
        acl.check_parameters("secret/foo", &body(json!({"any": 1})))
            .is_ok()
    );
    assert!(
        acl.check_parameters("nothing/here", &body(json!({})))
            .is_err()
    );
    assert!(
        acl.check_parameters("secret/super-secret", &body(json!({})))
            .is_err()
    );
}

#[test]
fn json_and_hcl_policies_mix() {
    let set = policies(&[
        r#"{"path": {"secret/data/a/*": {"capabilities": ["read"]}}}"#,
        "path \"secret/data/a/*\" {\n  capabilities = [\"list\"]\n}\n",
    ]);
    assert_eq!(
        compile(&set).capabilities("secret/data/a/x").names(),
        ["read", "list"]
    );
}

#[test]
fn acl_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Acl>();
}

// ---- property tests ----

/// A naive model of Vault's evaluation, straight from the documented rules: collect
/// every matching rule, exact first, else sort by priority. Used to check the indexed
/// implementation.
mod model {
    use super::*;

    pub fn matches(rule: &str, path: &str) -> bool {
        let (pattern, glob) = match rule.strip_suffix('*') {
            Some(p) => (p, true),
            None => (rule, false),
        };
        if !pattern.split('/').any(|s| s == "+") {
            return if glob {
                path.starts_with(pattern)
            } else {
                path == pattern
            };
        }
        let rule_segments: Vec<&str> = pattern.split('/').collect();
        let path_segments: Vec<&str> = path.split('/').collect();
        if path_segments.len() < rule_segments.len()
            || (!glob && path_segments.len() != rule_segments.len())
        {
            return false;
        }
        rule_segments.iter().enumerate().all(|(i, r)| {
            *r == "+"
                || *r == path_segments[i]
                || (glob && i == rule_segments.len() - 1 && path_segments[i].starts_with(r))
        })
    }

    fn key(rule: &str) -> (usize, bool, std::cmp::Reverse<usize>, usize, String) {
        let pattern = rule.strip_suffix('*').unwrap_or(rule);
        let first = rule.find(['+', '*']).unwrap_or(rule.len());
        let plus = pattern.split('/').filter(|s| *s == "+").count();
        (
            first,
            !rule.ends_with('*'),
            std::cmp::Reverse(plus),
            pattern.len(),
            pattern.to_owned(),
        )
    }

    /// Union of the capabilities of the identical rules at the winning path.
    pub fn capabilities(policies: &[Policy], path: &str) -> Capabilities {
        // Leading slashes are not part of a request path (Vault strips them).
        let path = path.trim_start_matches('/');
        let rules: Vec<&PathRule> = policies.iter().flat_map(|p| &p.rules).collect();
        let is_exact = |r: &str| !r.ends_with('*') && !r.split('/').any(|s| s == "+");
        let winner = rules
            .iter()
            .find(|r| is_exact(&r.path) && r.path == path)
            .map(|r| r.path.clone())
            .or_else(|| {
                rules
                    .iter()
                    .filter(|r| !is_exact(&r.path) && matches(&r.path, path))
                    .max_by_key(|r| key(&r.path))
                    .map(|r| r.path.clone())
            });
        let Some(winner) = winner else {
            return Capabilities::NONE;
        };
        let caps = rules
            .iter()
            .filter(|r| r.path == winner)
            .fold(Capabilities::NONE, |acc, r| acc.union(r.capabilities));
        if caps.is_deny() {
            Capabilities::NONE
        } else {
            caps
        }
    }
}

fn segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "ab", "c"])
}

fn rule_path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop_oneof![3 => segment(), 1 => Just("+")], 1..4),
        prop_oneof![Just(""), Just("*"), Just("/*")],
    )
        .prop_map(|(segments, tail)| {
            let mut path = segments.join("/");
            if path.ends_with('+') && tail == "*" {
                path.push('/');
            }
            path + tail
        })
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(Capability::ALL[..7].to_vec()), 1..4)
            .prop_map(|c| c.into_iter().collect::<Capabilities>()),
        1 => Just(Capabilities::from(Deny)),
    ]
}

fn rule() -> impl Strategy<Value = PathRule> {
    (rule_path(), capabilities()).prop_map(|(path, capabilities)| PathRule {
        path,
        capabilities,
        required_parameters: vec![],
        allowed_parameters: Default::default(),
        denied_parameters: Default::default(),
        min_wrapping_ttl: 0,
        max_wrapping_ttl: 0,
    })
}

fn policy_set() -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(prop::collection::vec(rule(), 1..6), 1..5).prop_map(|sets| {
        sets.into_iter()
            .enumerate()
            .map(|(i, rules)| Policy {
                name: format!("p{i}"),
                rules,
            })
            .collect()
    })
}

fn request_path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "ab", "abc", "c", "x", ""]),
        1..5,
    )
    .prop_map(|s| s.join("/"))
}

/// The capabilities as seen through `allows` (no list fallback for non-list
/// operations, so comparable with the model for every path).
fn allowed_set(acl: &Acl, path: &str) -> Capabilities {
    Capability::ALL
        .into_iter()
        .filter(|c| *c != List && acl.allows(path, *c))
        .collect()
}

fn without_list(c: Capabilities) -> Capabilities {
    c.iter().filter(|c| *c != List).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_policies_round_trip_through_the_parser(set in policy_set()) {
        for p in &set {
            prop_assert_eq!(parse(&p.name, &p.to_string()), Ok(p.clone()));
        }
    }

    #[test]
    fn matches_the_model(set in policy_set(), paths in prop::collection::vec(request_path(), 1..8)) {
        let acl = compile(&set);
        for path in &paths {
            let expected = model::capabilities(&set, path);
            prop_assert_eq!(allowed_set(&acl, path), without_list(expected), "path {:?}", path);
            if !path.ends_with('/') {
                prop_assert_eq!(acl.capabilities(path), expected, "path {:?}", path);
            }
        }
    }

    #[test]
    fn adding_a_deny_never_grants_more(
        set in policy_set(),
        deny_path in rule_path(),
        into_existing in any::<bool>(),
        paths in prop::collection::vec(request_path(), 1..8),
    ) {
        let before = compile(&set);
        let mut after_set = set.clone();
        let deny = PathRule {
            path: deny_path,
            capabilities: Deny.into(),
            required_parameters: vec![],
            allowed_parameters: Default::default(),
            denied_parameters: Default::default(),
            min_wrapping_ttl: 0,
            max_wrapping_ttl: 0,
        };
        if into_existing {
            after_set[0].rules.push(deny);
        } else {
            after_set.push(Policy { name: "deny".into(), rules: vec![deny] });
        }
        let after = compile(&after_set);
        for path in &paths {
            let (b, a) = (before.capabilities(path), after.capabilities(path));
            prop_assert_eq!(a.union(b), b, "{:?} gained capabilities on {:?}", a, path);
            for c in Capability::ALL {
                prop_assert!(!after.allows(path, c) || before.allows(path, c));
            }
        }
    }

    #[test]
    fn policy_order_does_not_matter(
        (set, shuffled) in policy_set().prop_flat_map(|s| (Just(s.clone()), Just(s).prop_shuffle())),
        paths in prop::collection::vec(request_path(), 1..8),
    ) {
        let (a, b) = (compile(&set), compile(&shuffled));
        for path in &paths {
            prop_assert_eq!(a.capabilities(path), b.capabilities(path));
            prop_assert_eq!(allowed_set(&a, path), allowed_set(&b, path));
        }
    }

    #[test]
    fn unmatched_paths_are_denied(set in policy_set(), path in request_path()) {
        let rules: Vec<&PathRule> = set.iter().flat_map(|p| &p.rules).collect();
        let request = path.trim_start_matches('/');
        let list_trimmed = request.strip_suffix('/');
        let matched = rules.iter().any(|r| {
            model::matches(&r.path, request) || list_trimmed.is_some_and(|t| model::matches(&r.path, t))
        });
        if !matched {
            let acl = compile(&set);
            prop_assert_eq!(acl.capabilities(&path), Capabilities::NONE);
            prop_assert!(Capability::ALL.iter().all(|c| !acl.allows(&path, *c)));
        }
    }
}

#[test]
fn json_duplicate_keys_are_refused_not_dropped() {
    for text in [
        r#"{"path": {"secret/*": {"capabilities": ["deny"]}, "secret/*": {"capabilities": ["read"]}}}"#,
        r#"{"path": {"secret/*": {"capabilities": ["deny"], "capabilities": ["read"]}}}"#,
        r#"{"path": {"a": {"capabilities": ["deny"]}}, "path": {"b": {"capabilities": ["read"]}}}"#,
    ] {
        let e = crate::policy::parse("dup", text).unwrap_err();
        assert!(e.to_string().contains("duplicate key"), "{e}");
    }
}

#[test]
fn grants_under_names_the_mounts_a_policy_reaches() {
    let p = parse(
        "ui",
        r#"
path "+/data/app/*" { capabilities = ["read"] }
path "auth/ci/role/*" { capabilities = ["read"] }
path "tea*" { capabilities = ["list"] }
path "secret/data/x" { capabilities = ["deny"] }
"#,
    )
    .unwrap();
    let acl = Acl::new(&[&p]);
    // `+/data/app/*` could name a path under any one-segment mount, `sys/` included
    // (matching is by pattern, as Vault's); never under `auth/<name>/`.
    for reached in ["secret/", "team-a/", "sys/", "auth/ci/", "tea/"] {
        assert!(acl.grants_under(reached), "{reached}");
    }
    for hidden in ["auth/approle/", "auth/jwt/", "auth/token/", "auth/ci-2/"] {
        assert!(!acl.grants_under(hidden), "{hidden}");
    }
    let only_deny = parse("d", r#"path "secret/*" { capabilities = ["deny"] }"#).unwrap();
    assert!(!Acl::new(&[&only_deny]).grants_under("secret/"));
    assert!(Acl::root().grants_under("anything/"));
}

/// Vault's `AllowOperation` wrapping rules, as OpenBao answers them (checked against
/// `bao server -dev`: a `min_wrapping_ttl = "60s"` path refuses an unwrapped request and
/// one wrapped for 30s, allows 60s and 121s; `max_wrapping_ttl = 120` refuses an
/// unwrapped request and 121s, allows 30s to 120s).
#[test]
fn wrapping_ttl_bounds() {
    let acl = compile(&policies(&[r#"
path "secret/data/min" {
  capabilities = ["read"]
  min_wrapping_ttl = "60s"
}
path "secret/data/max" {
  capabilities = ["read"]
  max_wrapping_ttl = 120
}
path "secret/data/both/*" {
  capabilities = ["read", "list"]
  min_wrapping_ttl = 10
  max_wrapping_ttl = 20
}
path "secret/data/free" {
  capabilities = ["read"]
}
"#]));
    let ok = |path: &str, ttl: i64| acl.check_wrapping(path, false, ttl).is_ok();
    for (ttl, allowed) in [
        (0, false),
        (30, false),
        (59, false),
        (60, true),
        (121, true),
    ] {
        assert_eq!(ok("secret/data/min", ttl), allowed, "min, {ttl}");
    }
    for (ttl, allowed) in [(0, false), (1, true), (30, true), (120, true), (121, false)] {
        assert_eq!(ok("secret/data/max", ttl), allowed, "max, {ttl}");
    }
    for (ttl, allowed) in [(0, false), (9, false), (10, true), (20, true), (21, false)] {
        assert_eq!(ok("secret/data/both/x", ttl), allowed, "both, {ttl}");
    }
    assert!(ok("secret/data/free", 0) && ok("secret/data/free", 999));
    // No rule: nothing to check here (the capability check refuses).
    assert!(ok("other/path", 0));
    // The list fallback finds the same rule for a folder.
    assert!(acl.check_wrapping("secret/data/both/", true, 0).is_err());
    assert!(
        Acl::root()
            .check_wrapping("secret/data/min", false, 0)
            .is_ok()
    );
}

/// Identical paths merge to the lesser of each bound (Vault prefers the shorter
/// lifetime); bounds that then cross refuse every request; a deny drops them.
#[test]
fn wrapping_ttl_bounds_merge() {
    let acl = compile(&policies(&[
        "path \"p\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = 100\n  max_wrapping_ttl = 300\n}\n",
        "path \"p\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = 50\n  max_wrapping_ttl = 200\n}\n",
    ]));
    assert!(acl.check_wrapping("p", false, 50).is_ok());
    assert!(acl.check_wrapping("p", false, 49).is_err());
    assert!(acl.check_wrapping("p", false, 200).is_ok());
    assert!(acl.check_wrapping("p", false, 201).is_err());
    let crossed = compile(&policies(&[
        "path \"p\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = 100\n}\n",
        "path \"p\" {\n  capabilities = [\"read\"]\n  max_wrapping_ttl = 50\n}\n",
    ]));
    for ttl in [0, 49, 50, 75, 100, 101] {
        assert!(crossed.check_wrapping("p", false, ttl).is_err(), "{ttl}");
    }
    let denied = compile(&policies(&[
        "path \"p\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = 100\n}\n",
        "path \"p\" {\n  capabilities = [\"deny\"]\n}\n",
    ]));
    assert!(denied.check_wrapping("p", false, 0).is_ok());
    assert!(denied.capabilities("p").is_empty());
}
