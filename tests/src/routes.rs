//! Every route Sigil serves, as sample requests and as the backends' route names: the deployment-template test checks the template's routes with them, the
//! audit test that every route writes its audit lines.

/// Requests covering every route Sigil serves, with each method it takes, Vault's LIST
/// verb and its `GET ?list=true` form (the flag), and trailing-slash folder paths.
pub fn samples() -> Vec<(&'static str, &'static str, bool)> {
    let mut s = vec![
        ("GET", "/v1/sys/health", false),
        ("POST", "/v1/auth/approle/login", false),
        ("PUT", "/v1/auth/approle/login", false),
        ("LIST", "/v1/auth/approle/role", false),
        ("GET", "/v1/auth/approle/role", true),
        ("LIST", "/v1/auth/approle/role/", false),
        ("GET", "/v1/auth/approle/role/web", false),
        ("POST", "/v1/auth/approle/role/web", false),
        ("DELETE", "/v1/auth/approle/role/web", false),
        ("GET", "/v1/auth/approle/role/web/role-id", false),
        ("POST", "/v1/auth/approle/role/web/role-id", false),
        ("POST", "/v1/auth/approle/role/web/secret-id", false),
        ("LIST", "/v1/auth/approle/role/web/secret-id", false),
        ("GET", "/v1/auth/approle/role/web/secret-id", true),
        ("POST", "/v1/auth/approle/role/web/secret-id/lookup", false),
        ("POST", "/v1/auth/approle/role/web/secret-id/destroy", false),
        (
            "DELETE",
            "/v1/auth/approle/role/web/secret-id/destroy",
            false,
        ),
        (
            "POST",
            "/v1/auth/approle/role/web/secret-id-accessor/lookup",
            false,
        ),
        (
            "POST",
            "/v1/auth/approle/role/web/secret-id-accessor/destroy",
            false,
        ),
        (
            "DELETE",
            "/v1/auth/approle/role/web/secret-id-accessor/destroy",
            false,
        ),
        ("POST", "/v1/auth/token/create", false),
        ("POST", "/v1/auth/token/create-orphan", false),
        ("POST", "/v1/auth/token/create/ci", false),
        ("LIST", "/v1/auth/token/roles", false),
        ("LIST", "/v1/auth/token/accessors", false),
        ("GET", "/v1/auth/token/accessors", true),
        ("GET", "/v1/auth/token/roles", true),
        ("GET", "/v1/auth/token/roles/ci", false),
        ("POST", "/v1/auth/token/roles/ci", false),
        ("DELETE", "/v1/auth/token/roles/ci", false),
        ("GET", "/v1/auth/token/lookup-self", false),
        ("POST", "/v1/auth/token/lookup-self", false),
        ("GET", "/v1/auth/token/lookup", false),
        ("POST", "/v1/auth/token/lookup", false),
        ("POST", "/v1/auth/token/lookup-accessor", false),
        ("POST", "/v1/auth/token/renew-self", false),
        ("PUT", "/v1/auth/token/renew", false),
        ("POST", "/v1/auth/token/revoke-self", false),
        ("POST", "/v1/auth/token/revoke", false),
        ("POST", "/v1/auth/token/revoke-accessor", false),
        ("POST", "/v1/auth/token/revoke-orphan", false),
        ("PUT", "/v1/sys/leases/lookup", false),
        ("PUT", "/v1/sys/leases/renew", false),
        ("PUT", "/v1/sys/leases/revoke", false),
        (
            "PUT",
            "/v1/sys/leases/revoke-prefix/aws/creds/deploy",
            false,
        ),
        ("PUT", "/v1/sys/leases/revoke-force/aws/creds/deploy", false),
        ("LIST", "/v1/sys/leases/lookup/aws/creds/deploy/", false),
        ("GET", "/v1/sys/leases/lookup/aws/creds/deploy/", true),
        ("LIST", "/v1/sys/leases", false),
        ("GET", "/v1/sys/leases", true),
        ("GET", "/v1/secret/data/app/db", false),
        ("HEAD", "/v1/secret/data/app/db", false),
        ("POST", "/v1/secret/data/app/db", false),
        ("PUT", "/v1/secret/data/app", false),
        ("DELETE", "/v1/secret/data/app/db", false),
        ("GET", "/v1/secret/metadata/app/db", false),
        ("HEAD", "/v1/secret/metadata/app", false),
        ("POST", "/v1/secret/metadata/app/db", false),
        ("PUT", "/v1/secret/metadata/app", false),
        ("DELETE", "/v1/secret/metadata/app/db", false),
        ("LIST", "/v1/secret/metadata/app", false),
        ("LIST", "/v1/secret/metadata/app/", false),
        ("GET", "/v1/secret/metadata/app/", true),
        ("LIST", "/v1/secret/metadata/", false),
        ("GET", "/v1/secret/metadata/", true),
        ("GET", "/v1/secret/metadata", true),
        ("POST", "/v1/secret/metadata", false),
        ("PUT", "/v1/secret/metadata", false),
        ("DELETE", "/v1/secret/metadata", false),
        ("POST", "/v1/secret/delete/app/db", false),
        ("POST", "/v1/secret/undelete/app/db", false),
        ("POST", "/v1/secret/destroy/app/db", false),
        ("GET", "/v1/secret/config", false),
        ("POST", "/v1/secret/config", false),
        ("LIST", "/v1/sys/policies/acl", false),
        ("GET", "/v1/sys/policies/acl", true),
        ("GET", "/v1/sys/policies/acl/app", false),
        ("PUT", "/v1/sys/policies/acl/app", false),
        ("DELETE", "/v1/sys/policies/acl/app", false),
        ("POST", "/v1/sys/capabilities-self", false),
        ("POST", "/v1/sys/wrapping/wrap", false),
        ("PUT", "/v1/sys/wrapping/wrap", false),
        ("POST", "/v1/sys/wrapping/unwrap", false),
        ("PUT", "/v1/sys/wrapping/unwrap", false),
        ("POST", "/v1/sys/wrapping/lookup", false),
        ("GET", "/v1/sys/wrapping/lookup", false),
        ("POST", "/v1/sys/wrapping/rewrap", false),
        ("POST", "/v1/sys/audit-hash/stdout", false),
        ("PUT", "/v1/sys/audit-hash/stdout", false),
        ("LIST", "/v1/sys/quotas/rate-limit", false),
        ("GET", "/v1/sys/quotas/rate-limit", true),
        ("GET", "/v1/sys/quotas/rate-limit/logins", false),
        ("POST", "/v1/sys/quotas/rate-limit/logins", false),
        ("PUT", "/v1/sys/quotas/rate-limit/logins", false),
        ("DELETE", "/v1/sys/quotas/rate-limit/logins", false),
        ("GET", "/v1/aws/creds/deploy", false),
        ("POST", "/v1/aws/creds/deploy", false),
        ("POST", "/v1/aws/sts/deploy", false),
        ("PUT", "/v1/aws/sts/deploy", false),
        ("LIST", "/v1/aws/roles", false),
        ("GET", "/v1/aws/roles", true),
        ("GET", "/v1/aws/roles/deploy", false),
        ("POST", "/v1/aws/roles/deploy", false),
        ("DELETE", "/v1/aws/roles/deploy", false),
        ("LIST", "/v1/aws/static-roles", false),
        ("GET", "/v1/aws/static-roles", true),
        ("GET", "/v1/aws/static-roles/legacy", false),
        ("POST", "/v1/aws/static-roles/legacy", false),
        ("DELETE", "/v1/aws/static-roles/legacy", false),
        ("GET", "/v1/aws/static-creds/legacy", false),
        ("GET", "/v1/aws/config/lease", false),
        ("POST", "/v1/aws/config/lease", false),
        ("GET", "/v1/aws/config/root", false),
        ("POST", "/v1/aws/config/root", false),
        ("POST", "/v1/auth/jwt/login", false),
        ("PUT", "/v1/auth/jwt/login", false),
        ("GET", "/v1/auth/jwt/config", false),
        ("POST", "/v1/auth/jwt/config", false),
        ("LIST", "/v1/auth/jwt/role", false),
        ("GET", "/v1/auth/jwt/role", true),
        ("GET", "/v1/auth/jwt/role/deploy", false),
        ("POST", "/v1/auth/jwt/role/deploy", false),
        ("DELETE", "/v1/auth/jwt/role/deploy", false),
        ("POST", "/v1/auth/kubernetes/login", false),
        ("POST", "/v1/auth/kubernetes/config", false),
        ("GET", "/v1/auth/kubernetes/role/api", false),
        ("POST", "/v1/auth/aws/login", false),
        ("GET", "/v1/auth/aws/config/client", false),
        ("POST", "/v1/auth/aws/config/client", false),
        ("DELETE", "/v1/auth/aws/config/client", false),
        ("GET", "/v1/auth/aws/config/identity", false),
        ("POST", "/v1/auth/aws/config/identity", false),
        ("LIST", "/v1/auth/aws/role", false),
        ("GET", "/v1/auth/aws/role/ci", false),
        ("POST", "/v1/auth/aws/role/ci", false),
        ("DELETE", "/v1/auth/aws/role/ci", false),
        ("GET", "/v1/sys/seal-status", false),
        ("GET", "/v1/sys/leader", false),
        ("GET", "/v1/sys/mounts", false),
        ("GET", "/v1/sys/mounts/team-a", false),
        ("POST", "/v1/sys/mounts/team-a", false),
        ("DELETE", "/v1/sys/mounts/team-a", false),
        ("GET", "/v1/sys/mounts/team-a/tune", false),
        ("POST", "/v1/sys/mounts/team-a/tune", false),
        ("GET", "/v1/sys/auth", false),
        ("GET", "/v1/sys/auth/ci", false),
        ("POST", "/v1/sys/auth/ci", false),
        ("DELETE", "/v1/sys/auth/ci", false),
        ("GET", "/v1/sys/auth/ci/tune", false),
        ("POST", "/v1/sys/auth/ci/tune", false),
        ("GET", "/v1/sys/mounts/auth/ci/tune", false),
        ("POST", "/v1/sys/mounts/auth/ci/tune", false),
        ("GET", "/v1/sys/internal/ui/mounts", false),
        ("GET", "/v1/sys/internal/ui/mounts/secret/app/db", false),
        ("GET", "/v1/sys/audit", false),
        ("POST", "/v1/identity/entity", false),
        ("LIST", "/v1/identity/entity/id", false),
        ("GET", "/v1/identity/entity/id", true),
        ("GET", "/v1/identity/entity/id/e1", false),
        ("POST", "/v1/identity/entity/id/e1", false),
        ("DELETE", "/v1/identity/entity/id/e1", false),
        ("LIST", "/v1/identity/entity/name", false),
        ("GET", "/v1/identity/entity/name/web", false),
        ("PUT", "/v1/identity/entity/name/web", false),
        ("DELETE", "/v1/identity/entity/name/web", false),
        ("POST", "/v1/identity/entity-alias", false),
        ("LIST", "/v1/identity/entity-alias/id", false),
        ("GET", "/v1/identity/entity-alias/id/a1", false),
        ("POST", "/v1/identity/entity-alias/id/a1", false),
        ("DELETE", "/v1/identity/entity-alias/id/a1", false),
        ("POST", "/v1/identity/group", false),
        ("LIST", "/v1/identity/group/id", false),
        ("GET", "/v1/identity/group/id/g1", false),
        ("POST", "/v1/identity/group/id/g1", false),
        ("DELETE", "/v1/identity/group/id/g1", false),
        ("LIST", "/v1/identity/group/name", false),
        ("GET", "/v1/identity/group/name/ops", false),
        ("POST", "/v1/identity/group/name/ops", false),
        ("DELETE", "/v1/identity/group/name/ops", false),
        ("POST", "/v1/identity/group-alias", false),
        ("LIST", "/v1/identity/group-alias/id", false),
        ("GET", "/v1/identity/group-alias/id/ga1", false),
        ("POST", "/v1/identity/group-alias/id/ga1", false),
        ("DELETE", "/v1/identity/group-alias/id/ga1", false),
        ("POST", "/v1/identity/lookup/entity", false),
        ("POST", "/v1/identity/lookup/group", false),
        ("PUT", "/v1/sys/audit/file", false),
        ("DELETE", "/v1/sys/audit/file", false),
        ("GET", "/v1/sys/leases", false),
        ("PUT", "/v1/sys/leases/renew/aws/creds/deploy/abc", false),
        ("PUT", "/v1/sys/leases/revoke/aws/creds/deploy/abc", false),
        ("GET", "/v1/sys/policy", false),
        ("LIST", "/v1/sys/policy", false),
        ("GET", "/v1/sys/policy/app", false),
        ("PUT", "/v1/sys/policy/app", false),
        ("DELETE", "/v1/sys/policy/app", false),
        ("POST", "/v1/sys/capabilities", false),
        ("POST", "/v1/sys/capabilities-accessor", false),
        ("PATCH", "/v1/secret/data/app/db", false),
        ("GET", "/v1/auth/kubernetes/config", false),
        ("LIST", "/v1/auth/kubernetes/role", false),
        ("POST", "/v1/auth/kubernetes/role/api", false),
        ("DELETE", "/v1/auth/kubernetes/role/api", false),
        ("GET", "/v1/secret/metadata", false),
        ("LIST", "/v1/transit/keys", false),
        ("GET", "/v1/transit/keys", true),
        ("LIST", "/v1/transit/keys/", false),
        ("GET", "/v1/transit/keys/k", false),
        ("POST", "/v1/transit/keys/k", false),
        ("PUT", "/v1/transit/keys/k", false),
        ("DELETE", "/v1/transit/keys/k", false),
        ("POST", "/v1/transit/keys/k/config", false),
        ("POST", "/v1/transit/keys/k/rotate", false),
        ("POST", "/v1/transit/keys/k/trim", false),
        ("POST", "/v1/transit/keys/k/import", false),
        ("POST", "/v1/transit/keys/k/import_version", false),
        ("GET", "/v1/transit/wrapping_key", false),
        ("GET", "/v1/transit/backup/k", false),
        ("POST", "/v1/transit/restore", false),
        ("POST", "/v1/transit/restore/k", false),
        ("GET", "/v1/transit/export/encryption-key/k", false),
        ("GET", "/v1/transit/export/signing-key/k/latest", false),
        ("POST", "/v1/transit/encrypt/k", false),
        ("PUT", "/v1/transit/encrypt/k", false),
        ("POST", "/v1/transit/decrypt/k", false),
        ("POST", "/v1/transit/rewrap/k", false),
        ("POST", "/v1/transit/datakey/plaintext/k", false),
        ("POST", "/v1/transit/datakey/wrapped/k", false),
        ("POST", "/v1/transit/hmac/k", false),
        ("POST", "/v1/transit/hmac/k/sha2-512", false),
        ("POST", "/v1/transit/sign/k", false),
        ("POST", "/v1/transit/sign/k/sha2-256", false),
        ("POST", "/v1/transit/verify/k", false),
        ("POST", "/v1/transit/verify/k/sha2-256", false),
        ("POST", "/v1/transit/random", false),
        ("POST", "/v1/transit/random/16", false),
        ("POST", "/v1/transit/random/platform/16", false),
        ("POST", "/v1/transit/hash", false),
        ("POST", "/v1/transit/hash/sha2-512", false),
        ("GET", "/v1/database/creds/readonly", false),
        ("LIST", "/v1/database/config", false),
        ("GET", "/v1/database/config", true),
        ("GET", "/v1/database/config/pg", false),
        ("POST", "/v1/database/config/pg", false),
        ("DELETE", "/v1/database/config/pg", false),
        ("POST", "/v1/database/reset/pg", false),
        ("POST", "/v1/database/rotate-root/pg", false),
        ("LIST", "/v1/database/roles", false),
        ("GET", "/v1/database/roles", true),
        ("GET", "/v1/database/roles/readonly", false),
        ("POST", "/v1/database/roles/readonly", false),
        ("DELETE", "/v1/database/roles/readonly", false),
        ("LIST", "/v1/database/static-roles", false),
        ("GET", "/v1/database/static-roles", true),
        ("GET", "/v1/database/static-roles/legacy", false),
        ("POST", "/v1/database/static-roles/legacy", false),
        ("DELETE", "/v1/database/static-roles/legacy", false),
        ("GET", "/v1/database/static-creds/legacy", false),
        ("POST", "/v1/database/rotate-role/legacy", false),
    ];
    s.sort();
    s
}

/// The route names (`<backend>:<pattern>`) and operations Sigil serves, from the
/// backends' path tables: what the samples must cover.
pub fn every_route() -> Vec<(String, sigil::route::Operation)> {
    sigil::backend::all_routes()
        .into_iter()
        .flat_map(|(name, spec)| spec.ops.iter().map(move |o| (name.clone(), o.op)))
        .collect()
}

/// The default mount table (the environment's mounts of a default configuration).
pub fn default_table() -> sigil::mounts::MountTable {
    sigil::mounts::initial_table(&sigil::config::Config::default())
}

/// The default mount table plus mounts an operator enables at run time whose paths
/// the gateway's routes must tell apart: an AWS secrets engine at `team-aws/` (its
/// credentials go to the issue function), an AppRole method at `auth/creds/` (a
/// path of the shape `{mount}/creds/{role}` that is not an engine's) and a transit
/// engine at `transit/` (its operations go to the issue function, its keys to admin)
/// and a database engine at `database/` (its credentials go to the issue function).
pub fn routing_table() -> sigil::mounts::MountTable {
    use sigil::mounts::{BackendKind, Table};
    let mut t = default_table();
    for (path, table, kind) in [
        ("team-aws/", Table::Secrets, BackendKind::Aws),
        ("creds/", Table::Auth, BackendKind::AppRole),
    ] {
        let base = t
            .entries
            .iter()
            .find(|e| e.kind == kind && e.table == table)
            .expect("a default mount of this kind");
        let mut m = (**base).clone();
        m.path = path.into();
        m.accessor = format!("{}_0000000{}", m.type_name, t.entries.len() % 10);
        m.storage = format!("runtime/{path}");
        t.entries.push(std::sync::Arc::new(m));
    }
    let kv = t
        .entries
        .iter()
        .find(|e| e.kind == BackendKind::Kv)
        .expect("a KV mount");
    let mut transit = (**kv).clone();
    transit.path = "transit/".into();
    transit.type_name = "transit".into();
    transit.kind = BackendKind::Transit;
    transit.options.clear();
    transit.accessor = "transit_00000001".into();
    transit.storage = "runtime/transit".into();
    let mut database = transit.clone();
    database.path = "database/".into();
    database.type_name = "database".into();
    database.kind = BackendKind::Database;
    database.options.clear();
    database.accessor = "database_00000001".into();
    database.storage = "runtime/database".into();
    t.entries.push(std::sync::Arc::new(transit));
    t.entries.push(std::sync::Arc::new(database));
    t
}

/// Requests to the mounts [`routing_table`] adds.
pub fn runtime_mount_samples() -> Vec<(&'static str, &'static str, bool)> {
    vec![
        ("GET", "/v1/team-aws/creds/deploy", false),
        ("POST", "/v1/team-aws/creds/deploy", false),
        ("PUT", "/v1/team-aws/sts/deploy", false),
        ("GET", "/v1/team-aws/roles/deploy", false),
        ("LIST", "/v1/team-aws/roles", false),
        ("POST", "/v1/team-aws/config/root", false),
        ("POST", "/v1/auth/creds/login", false),
        ("LIST", "/v1/auth/creds/role", false),
        ("GET", "/v1/auth/creds/role", true),
        ("GET", "/v1/auth/creds/role/x/role-id", false),
    ]
}

/// Resolves a sample against [`routing_table`].
pub fn resolve(method: &str, path: &str, list: bool) -> sigil::route::Resolved {
    sigil::route::resolve(&routing_table(), method, path, list)
        .unwrap_or_else(|e| panic!("sample {method} {path} (list={list}) does not resolve: {e}"))
}
