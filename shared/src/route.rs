//! Routing: which route a request names, which operation it is (Vault's capabilities),
//! which function serves it, and what access it needs.
//!
//! This table is the one place routes are defined; the Lambda watch router in
//! `Cargo.toml` and the deployment template mirror it (and a test checks that).

use crate::config::Config;
use crate::error::ApiError;

/// Longest accepted request path, in bytes after decoding.
pub const MAX_PATH_BYTES: usize = 2048;

/// First path segments that cannot be KV mount names.
pub const RESERVED_MOUNTS: &[&str] = &["sys", "auth", "aws", "identity", "cubbyhole"];

/// The Lambda functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `login`: auth methods' login routes.
    Login,
    /// `issue`: reads (KV), credential issue, token and lease lookups.
    Issue,
    /// `renew`: token and lease renewal.
    Renew,
    /// `revoke`: token and lease revocation.
    Revoke,
    /// `admin`: configuration and writes.
    Admin,
    /// `sweeper`: scheduled cleanup (no HTTP routes).
    Sweeper,
}

impl Function {
    /// The function's (and its binary's) name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Login => "login",
            Function::Issue => "issue",
            Function::Renew => "renew",
            Function::Revoke => "revoke",
            Function::Admin => "admin",
            Function::Sweeper => "sweeper",
        }
    }
}

/// Vault's operations, which policies grant as capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET`
    Read,
    /// `LIST` or `GET ?list=true`
    List,
    /// `POST` / `PUT`
    Update,
    /// `DELETE`
    Delete,
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token needed (login, health).
    Public,
    /// A valid token whose policies grant the operation's capability on the path
    /// (and `sudo` where [`Resolved::needs_sudo`]).
    Acl,
}

/// The kind of an auth mount configured by name (`SIGIL_JWT_MOUNTS`,
/// `SIGIL_KUBERNETES_MOUNTS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// JWT/OIDC.
    Jwt,
    /// Kubernetes service accounts.
    Kubernetes,
}

impl AuthKind {
    /// Vault's mount type name (`jwt`, `kubernetes`).
    pub fn type_name(self) -> &'static str {
        match self {
            AuthKind::Jwt => "jwt",
            AuthKind::Kubernetes => "kubernetes",
        }
    }
}

/// A route with its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is named after its Vault path, given beside it
pub enum Route {
    /// `sys/health`
    Health,
    /// `auth/approle/login`
    ApproleLogin,
    /// `auth/approle/role` (LIST)
    ApproleRoles,
    /// `auth/approle/role/:name`
    ApproleRole { name: String },
    /// `auth/approle/role/:name/role-id`
    ApproleRoleId { name: String },
    /// `auth/approle/role/:name/secret-id`
    ApproleSecretId { name: String },
    /// `auth/approle/role/:name/secret-id/lookup`
    ApproleSecretIdLookup { name: String },
    /// `auth/approle/role/:name/secret-id/destroy`
    ApproleSecretIdDestroy { name: String },
    /// `auth/approle/role/:name/secret-id-accessor/lookup`
    ApproleAccessorLookup { name: String },
    /// `auth/approle/role/:name/secret-id-accessor/destroy`
    ApproleAccessorDestroy { name: String },
    /// `auth/token/lookup-self`
    TokenLookupSelf,
    /// `auth/token/lookup`
    TokenLookup,
    /// `auth/token/lookup-accessor`
    TokenLookupAccessor,
    /// `auth/token/renew-self`
    TokenRenewSelf,
    /// `auth/token/renew`
    TokenRenew,
    /// `auth/token/revoke-self`
    TokenRevokeSelf,
    /// `auth/token/revoke`
    TokenRevoke,
    /// `auth/token/revoke-accessor`
    TokenRevokeAccessor,
    /// `sys/leases/lookup`
    LeaseLookup,
    /// `sys/leases/renew`
    LeaseRenew,
    /// `sys/leases/revoke`
    LeaseRevoke,
    /// `sys/leases/revoke-prefix/:prefix`
    LeaseRevokePrefix { prefix: String },
    /// `sys/leases/revoke-force/:prefix`
    LeaseRevokeForce { prefix: String },
    /// `sys/leases/lookup/:prefix/` (LIST)
    LeaseList { prefix: String },
    /// `sys/leases` (LIST, `type=irrevocable`)
    Leases,
    /// `:mount/data/:path`
    KvData { mount: String, path: String },
    /// `:mount/metadata/:path`
    KvMetadata { mount: String, path: String },
    /// `:mount/delete/:path`
    KvDelete { mount: String, path: String },
    /// `:mount/undelete/:path`
    KvUndelete { mount: String, path: String },
    /// `:mount/destroy/:path`
    KvDestroy { mount: String, path: String },
    /// `:mount/config`
    KvConfig { mount: String },
    /// `sys/policies/acl` (LIST)
    Policies,
    /// `sys/policies/acl/:name`
    Policy { name: String },
    /// `sys/capabilities-self`
    CapabilitiesSelf,
    /// `sys/audit-hash/:device` (POST/PUT): the audit HMAC of `input`.
    AuditHash { device: String },
    /// `sys/quotas/rate-limit` (LIST)
    Quotas,
    /// `sys/quotas/rate-limit/:name`
    Quota { name: String },
    /// `aws/creds/:role`
    AwsCreds { role: String },
    /// `aws/sts/:role`
    AwsSts { role: String },
    /// `aws/roles` (LIST)
    AwsRoles,
    /// `aws/roles/:name`
    AwsRole { name: String },
    /// `aws/config/root`
    AwsConfigRoot,
    /// `aws/config/lease`
    AwsConfigLease,
    /// `auth/:mount/config` of a JWT or Kubernetes mount
    AuthConfig { mount: String, kind: AuthKind },
    /// `auth/:mount/role` (LIST) of a JWT or Kubernetes mount
    AuthRoles { mount: String, kind: AuthKind },
    /// `auth/:mount/role/:name` of a JWT or Kubernetes mount
    AuthRole {
        mount: String,
        kind: AuthKind,
        name: String,
    },
    /// `auth/:mount/login` of a JWT or Kubernetes mount
    AuthLogin { mount: String, kind: AuthKind },
    /// `auth/aws/login`
    AwsAuthLogin,
    /// `auth/aws/config/client`
    AwsAuthConfigClient,
    /// `auth/aws/role` (LIST)
    AwsAuthRoles,
    /// `auth/aws/role/:name`
    AwsAuthRole { name: String },
}

/// A resolved request: route, operation and the logical path (without `/v1/`), which
/// policies are written against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The route.
    pub route: Route,
    /// The operation.
    pub op: Operation,
    /// The logical path, e.g. `secret/data/app/db`.
    pub path: String,
}

impl Resolved {
    /// The function that serves this request.
    pub fn function(&self) -> Function {
        use Operation::*;
        use Route::*;
        match (&self.route, self.op) {
            (ApproleLogin | AuthLogin { .. } | AwsAuthLogin, _) => Function::Login,
            (KvData { .. }, Read) | (KvMetadata { .. }, Read | List) => Function::Issue,
            (TokenLookupSelf | TokenLookup | LeaseLookup | CapabilitiesSelf, _) => Function::Issue,
            (AwsCreds { .. } | AwsSts { .. }, _) => Function::Issue,
            (TokenRenewSelf | TokenRenew | LeaseRenew, _) => Function::Renew,
            (TokenRevokeSelf | TokenRevoke | TokenRevokeAccessor | LeaseRevoke, _)
            | (LeaseRevokePrefix { .. } | LeaseRevokeForce { .. }, _) => Function::Revoke,
            _ => Function::Admin,
        }
    }

    /// The access the route needs.
    pub fn access(&self) -> Access {
        match self.route {
            Route::Health | Route::ApproleLogin | Route::AuthLogin { .. } | Route::AwsAuthLogin => {
                Access::Public
            }
            _ => Access::Acl,
        }
    }

    /// Whether the route needs `sudo` on its path besides the operation's capability
    /// (Vault's root-protected paths among Sigil's routes).
    pub fn needs_sudo(&self) -> bool {
        matches!(
            self.route,
            Route::LeaseRevokePrefix { .. }
                | Route::LeaseRevokeForce { .. }
                | Route::LeaseList { .. }
                | Route::Leases
        )
    }

    /// Whether policies' parameter constraints apply: on reads and writes, as Vault's
    /// `AllowOperation`, except KV v2 data, which Vault exempts.
    pub fn checks_parameters(&self) -> bool {
        matches!(self.op, Operation::Update | Operation::Read)
            && !matches!(self.route, Route::KvData { .. })
    }

    /// Whether a write here tells creating from updating (Vault's existence check): KV v2
    /// secrets and metadata, AppRole and aws auth roles, the aws auth client
    /// configuration. Elsewhere a write needs `update`.
    pub fn has_existence_check(&self) -> bool {
        self.op == Operation::Update
            && matches!(
                self.route,
                Route::KvData { .. }
                    | Route::KvMetadata { .. }
                    | Route::ApproleRole { .. }
                    | Route::AuthRole { .. }
                    | Route::AwsAuthRole { .. }
                    | Route::AwsAuthConfigClient
            )
    }
}

fn op_of(method: &str, list_query: bool) -> Result<Operation, ApiError> {
    Ok(match method {
        "GET" | "HEAD" if list_query => Operation::List,
        "GET" | "HEAD" => Operation::Read,
        "LIST" => Operation::List,
        "POST" | "PUT" => Operation::Update,
        "DELETE" => Operation::Delete,
        _ => return Err(ApiError::MethodNotAllowed),
    })
}

/// Decodes and checks the path: it must start with `/v1/`, decode as UTF-8, hold no
/// control characters, no `.` or `..` segment and no empty segment (a trailing `/` is
/// allowed: Vault's LIST paths end in one). Returns the logical path without `/v1/`.
pub fn logical_path(raw: &str) -> Result<String, ApiError> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::bad("path is not valid UTF-8"))?;
    if decoded.len() > MAX_PATH_BYTES {
        return Err(ApiError::bad("path too long"));
    }
    if decoded.chars().any(char::is_control) {
        return Err(ApiError::bad("path contains control characters"));
    }
    let rest = decoded
        .strip_prefix("/v1/")
        .ok_or_else(|| ApiError::no_route(decoded.trim_start_matches('/')))?;
    if !clean_segments(rest) {
        return Err(ApiError::bad("path contains an empty, '.' or '..' segment"));
    }
    Ok(rest.to_owned())
}

/// Whether a logical path (no `/v1/`) has no empty, `.` or `..` segment; one trailing
/// `/` is allowed (Vault's LIST paths end in one).
pub fn clean_segments(path: &str) -> bool {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    !trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
}

/// Resolves a request to a route. 404 for unknown paths, 405 for known paths with a
/// method they do not take.
pub fn resolve(
    config: &Config,
    method: &str,
    raw_path: &str,
    list_query: bool,
) -> Result<Resolved, ApiError> {
    let mut path = logical_path(raw_path)?;
    let op = op_of(method, list_query)?;
    // Vault lists folders: a LIST path always ends in `/` (policies are written so).
    // Any other operation on a path ending in `/` names no item: refusing it keeps the
    // path the ACL sees identical to the item the handler acts on.
    if op == Operation::List {
        if !path.ends_with('/') {
            path.push('/');
        }
    } else if path.ends_with('/') {
        return Err(ApiError::no_route(&path));
    }
    let route = match_route(config, &path)?;
    check_method(&route, op)?;
    Ok(Resolved { route, op, path })
}

fn match_route(config: &Config, path: &str) -> Result<Route, ApiError> {
    let no_route = || ApiError::no_route(path);
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.split('/').collect();
    let name = |s: &str| s.to_owned();
    Ok(match segs.as_slice() {
        ["sys", "health"] => Route::Health,
        ["auth", "approle", "login"] => Route::ApproleLogin,
        ["auth", "approle", "role"] => Route::ApproleRoles,
        ["auth", "approle", "role", n] => Route::ApproleRole { name: name(n) },
        ["auth", "approle", "role", n, "role-id"] => Route::ApproleRoleId { name: name(n) },
        ["auth", "approle", "role", n, "secret-id"] => Route::ApproleSecretId { name: name(n) },
        ["auth", "approle", "role", n, "secret-id", "lookup"] => {
            Route::ApproleSecretIdLookup { name: name(n) }
        }
        ["auth", "approle", "role", n, "secret-id", "destroy"] => {
            Route::ApproleSecretIdDestroy { name: name(n) }
        }
        ["auth", "approle", "role", n, "secret-id-accessor", "lookup"] => {
            Route::ApproleAccessorLookup { name: name(n) }
        }
        [
            "auth",
            "approle",
            "role",
            n,
            "secret-id-accessor",
            "destroy",
        ] => Route::ApproleAccessorDestroy { name: name(n) },
        ["auth", "aws", "login"] => Route::AwsAuthLogin,
        ["auth", "aws", "config", "client"] => Route::AwsAuthConfigClient,
        ["auth", "aws", "role"] => Route::AwsAuthRoles,
        ["auth", "aws", "role", n] => Route::AwsAuthRole { name: name(n) },
        ["auth", m, rest @ ..] if auth_kind(config, m).is_some() && !rest.is_empty() => {
            let kind = auth_kind(config, m).ok_or_else(no_route)?;
            let mount = name(m);
            match rest {
                ["config"] => Route::AuthConfig { mount, kind },
                ["role"] => Route::AuthRoles { mount, kind },
                ["role", n] => Route::AuthRole {
                    mount,
                    kind,
                    name: name(n),
                },
                ["login"] => Route::AuthLogin { mount, kind },
                _ => return Err(no_route()),
            }
        }
        ["auth", "token", "lookup-self"] => Route::TokenLookupSelf,
        ["auth", "token", "lookup"] => Route::TokenLookup,
        ["auth", "token", "lookup-accessor"] => Route::TokenLookupAccessor,
        ["auth", "token", "renew-self"] => Route::TokenRenewSelf,
        ["auth", "token", "renew"] => Route::TokenRenew,
        ["auth", "token", "revoke-self"] => Route::TokenRevokeSelf,
        ["auth", "token", "revoke"] => Route::TokenRevoke,
        ["auth", "token", "revoke-accessor"] => Route::TokenRevokeAccessor,
        ["sys", "leases", "lookup"] => Route::LeaseLookup,
        ["sys", "leases", "lookup", rest @ ..] if !rest.is_empty() => Route::LeaseList {
            prefix: rest.join("/"),
        },
        ["sys", "leases"] => Route::Leases,
        ["sys", "leases", "revoke-force", rest @ ..] if !rest.is_empty() => {
            Route::LeaseRevokeForce {
                prefix: rest.join("/"),
            }
        }
        ["sys", "policies", "acl"] => Route::Policies,
        ["sys", "policies", "acl", n] => Route::Policy { name: name(n) },
        ["sys", "capabilities-self"] => Route::CapabilitiesSelf,
        ["sys", "audit-hash", d] => Route::AuditHash { device: name(d) },
        ["sys", "quotas", "rate-limit"] => Route::Quotas,
        ["sys", "quotas", "rate-limit", n] => Route::Quota { name: name(n) },
        ["aws", "creds", r] => Route::AwsCreds { role: name(r) },
        ["aws", "sts", r] => Route::AwsSts { role: name(r) },
        ["aws", "roles"] => Route::AwsRoles,
        ["aws", "roles", n] => Route::AwsRole { name: name(n) },
        ["aws", "config", "root"] => Route::AwsConfigRoot,
        ["aws", "config", "lease"] => Route::AwsConfigLease,
        ["sys", "leases", "renew"] => Route::LeaseRenew,
        ["sys", "leases", "revoke"] => Route::LeaseRevoke,
        ["sys", "leases", "revoke-prefix", rest @ ..] if !rest.is_empty() => {
            Route::LeaseRevokePrefix {
                prefix: rest.join("/"),
            }
        }
        [mount, "config"] if config.kv_mounts.iter().any(|m| m == mount) => {
            Route::KvConfig { mount: name(mount) }
        }
        [mount, kind, rest @ ..] if config.kv_mounts.iter().any(|m| m == mount) => {
            let mount = name(mount);
            // Keep a trailing slash on metadata paths: it marks a folder for LIST.
            let mut p = rest.join("/");
            if path.ends_with('/') && !p.is_empty() {
                p.push('/');
            }
            match (*kind, p.is_empty()) {
                ("metadata", _) => Route::KvMetadata { mount, path: p },
                (_, true) => return Err(no_route()),
                ("data", _) => Route::KvData { mount, path: p },
                ("delete", _) => Route::KvDelete { mount, path: p },
                ("undelete", _) => Route::KvUndelete { mount, path: p },
                ("destroy", _) => Route::KvDestroy { mount, path: p },
                _ => return Err(no_route()),
            }
        }
        _ => return Err(no_route()),
    })
}

/// The kind of auth mount `m` is, if it is a configured JWT or Kubernetes mount.
fn auth_kind(config: &Config, m: &str) -> Option<AuthKind> {
    if config.jwt_mounts.iter().any(|j| j == m) {
        Some(AuthKind::Jwt)
    } else if config.kubernetes_mounts.iter().any(|k| k == m) {
        Some(AuthKind::Kubernetes)
    } else {
        None
    }
}

fn check_method(route: &Route, op: Operation) -> Result<(), ApiError> {
    use Operation::*;
    use Route::*;
    let ok = match route {
        Health => op == Read,
        ApproleRoles => op == List,
        ApproleRole { .. } => matches!(op, Read | Update | Delete),
        ApproleRoleId { .. } => matches!(op, Read | Update),
        ApproleSecretId { .. } => matches!(op, Update | List),
        ApproleSecretIdDestroy { .. } | ApproleAccessorDestroy { .. } => {
            matches!(op, Update | Delete)
        }
        TokenLookupSelf => matches!(op, Read | Update),
        TokenLookup => matches!(op, Read | Update),
        KvData { .. } => matches!(op, Read | Update | Delete),
        KvMetadata { .. } => matches!(op, Read | List | Update | Delete),
        KvConfig { .. } => matches!(op, Read | Update),
        Policies
        | AwsRoles
        | AwsAuthRoles
        | LeaseList { .. }
        | Leases
        | AuthRoles { .. }
        | Quotas => op == List,
        AuthConfig { .. } => matches!(op, Read | Update),
        AuthRole { .. } => matches!(op, Read | Update | Delete),
        AwsAuthConfigClient | AwsAuthRole { .. } => matches!(op, Read | Update | Delete),
        AwsCreds { .. } => matches!(op, Read | Update),
        AwsSts { .. } => op == Update,
        AwsRole { .. } => matches!(op, Read | Update | Delete),
        AwsConfigRoot | AwsConfigLease => matches!(op, Read | Update),
        Policy { .. } | Quota { .. } => matches!(op, Read | Update | Delete),
        _ => op == Update,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: &str, path: &str) -> Result<Resolved, ApiError> {
        resolve(&Config::default(), method, path, false)
    }

    #[test]
    fn kv_routes_and_functions() {
        let g = r("GET", "/v1/secret/data/app/db").unwrap();
        assert_eq!(
            g.route,
            Route::KvData {
                mount: "secret".into(),
                path: "app/db".into()
            }
        );
        assert_eq!((g.function(), g.access()), (Function::Issue, Access::Acl));
        let p = r("POST", "/v1/secret/data/app/db").unwrap();
        assert_eq!((p.function(), p.access()), (Function::Admin, Access::Acl));
        assert!(
            !p.checks_parameters(),
            "KV v2 data ignores parameter constraints"
        );
        assert!(p.has_existence_check());
        assert!(
            !r("PUT", "/v1/sys/policies/acl/x")
                .unwrap()
                .has_existence_check()
        );
        let l = r("LIST", "/v1/secret/metadata/app/").unwrap();
        assert_eq!(
            l.route,
            Route::KvMetadata {
                mount: "secret".into(),
                path: "app/".into()
            }
        );
        assert_eq!(l.function(), Function::Issue);
        let l = resolve(&Config::default(), "GET", "/v1/secret/metadata/", true).unwrap();
        assert_eq!(l.op, Operation::List);
        let l = resolve(&Config::default(), "GET", "/v1/secret/metadata/app", true).unwrap();
        assert_eq!(
            (l.op, l.path.as_str()),
            (Operation::List, "secret/metadata/app/")
        );
        assert_eq!(
            r("PATCH", "/v1/secret/data/a"),
            Err(ApiError::MethodNotAllowed)
        );
        assert!(matches!(
            r("GET", "/v1/secret/data/"),
            Err(ApiError::NoRoute(_))
        ));
        assert!(matches!(
            r("GET", "/v1/other/data/x"),
            Err(ApiError::NoRoute(_))
        ));
    }

    #[test]
    fn hostile_paths_are_rejected() {
        for p in [
            "/v1/secret/data/../sys/x",
            "/v1/secret/data/%2e%2e/x",
            "/v1/secret/data/a//b",
            "/v1/secret/data/a%00b",
            "/v1/secret/data/./a",
            "/v1/secret/data/%ff",
        ] {
            assert!(matches!(r("GET", p), Err(ApiError::BadRequest(_))), "{p}");
        }
        assert!(matches!(
            r("GET", "/secret/data/x"),
            Err(ApiError::NoRoute(_))
        ));
        // A trailing slash names a folder: only LIST takes one, so the ACL always sees
        // the path of the item acted on.
        for (m, p) in [
            ("GET", "/v1/auth/approle/role/admin/"),
            ("POST", "/v1/auth/approle/role/admin/"),
            ("DELETE", "/v1/sys/policies/acl/victim/"),
            ("POST", "/v1/secret/config/"),
        ] {
            assert!(matches!(r(m, p), Err(ApiError::NoRoute(_))), "{m} {p}");
        }
    }

    #[test]
    fn token_and_lease_routes() {
        assert_eq!(
            r("GET", "/v1/auth/token/lookup-self").unwrap().function(),
            Function::Issue
        );
        assert_eq!(
            r("POST", "/v1/auth/token/renew-self").unwrap().function(),
            Function::Renew
        );
        assert_eq!(
            r("POST", "/v1/auth/token/revoke-self").unwrap().function(),
            Function::Revoke
        );
        assert_eq!(
            r("PUT", "/v1/sys/leases/renew").unwrap().function(),
            Function::Renew
        );
        let p = r("PUT", "/v1/sys/leases/revoke-prefix/aws/creds/deploy").unwrap();
        assert_eq!(
            p.route,
            Route::LeaseRevokePrefix {
                prefix: "aws/creds/deploy".into()
            }
        );
        assert!(p.needs_sudo());
        assert_eq!(
            r("POST", "/v1/sys/capabilities-self").unwrap().function(),
            Function::Issue
        );
        assert_eq!(
            r("POST", "/v1/sys/audit-hash/stdout").unwrap().function(),
            Function::Admin
        );
        assert_eq!(
            r("GET", "/v1/sys/audit-hash/stdout"),
            Err(ApiError::MethodNotAllowed)
        );
        assert_eq!(
            r("PUT", "/v1/sys/policies/acl/app").unwrap().function(),
            Function::Admin
        );
        assert_eq!(
            r("LIST", "/v1/sys/policies/acl").unwrap().route,
            Route::Policies
        );
        assert_eq!(
            r("POST", "/v1/auth/approle/login").unwrap().access(),
            Access::Public
        );
        assert_eq!(
            r("GET", "/v1/auth/approle/login"),
            Err(ApiError::MethodNotAllowed)
        );
    }

    #[test]
    fn aws_auth_routes() {
        let l = r("POST", "/v1/auth/aws/login").unwrap();
        assert_eq!(l.route, Route::AwsAuthLogin);
        assert_eq!(
            (l.function(), l.access()),
            (Function::Login, Access::Public)
        );
        assert_eq!(
            r("GET", "/v1/auth/aws/login"),
            Err(ApiError::MethodNotAllowed)
        );
        for (m, p) in [
            ("GET", "/v1/auth/aws/config/client"),
            ("POST", "/v1/auth/aws/config/client"),
            ("DELETE", "/v1/auth/aws/config/client"),
            ("GET", "/v1/auth/aws/role/ci"),
            ("PUT", "/v1/auth/aws/role/ci"),
            ("DELETE", "/v1/auth/aws/role/ci"),
            ("LIST", "/v1/auth/aws/role"),
        ] {
            let x = r(m, p).unwrap();
            assert_eq!(
                (x.function(), x.access()),
                (Function::Admin, Access::Acl),
                "{m} {p}"
            );
        }
        assert!(
            r("POST", "/v1/auth/aws/role/ci")
                .unwrap()
                .has_existence_check()
        );
        assert!(
            r("POST", "/v1/auth/aws/config/client")
                .unwrap()
                .has_existence_check()
        );
        assert_eq!(
            r("LIST", "/v1/auth/aws/role").unwrap().path,
            "auth/aws/role/"
        );
        assert_eq!(
            r("POST", "/v1/auth/aws/role"),
            Err(ApiError::MethodNotAllowed)
        );
        assert!(matches!(
            r("GET", "/v1/auth/aws/config"),
            Err(ApiError::NoRoute(_))
        ));
    }

    #[test]
    fn aws_config_root() {
        for m in ["GET", "POST", "PUT"] {
            let c = r(m, "/v1/aws/config/root").unwrap();
            assert_eq!(c.route, Route::AwsConfigRoot);
            assert_eq!((c.function(), c.access()), (Function::Admin, Access::Acl));
            assert!(!c.needs_sudo());
        }
        assert_eq!(
            r("DELETE", "/v1/aws/config/root"),
            Err(ApiError::MethodNotAllowed)
        );
    }
}
