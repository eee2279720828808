"""Every difference between Sigil and OpenBao that the suite accepts, in one place.

ALLOWED: differences that stay. Each entry names the steps it covers (step ids, `*`
globs), the difference paths it removes (compare.py's dotted paths, `*` globs; `status`
for the status line), what differs, and where it is documented: a section of
docs/api.md, or why there is nothing for Sigil to document (a field only OpenBao has).
An entry that no longer removes anything fails test_allowed_entries_are_used.

PENDING: what Sigil does not do yet (routes, PATCH, bodies) or does differently without
documenting it. One entry per failing step, with the answers observed; the step is an
xfail(strict=True): once Sigil answers like OpenBao the step passes, the xfail fails,
and the entry must go.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Allowed:
    steps: tuple
    paths: tuple
    what: str
    doc: str


@dataclass(frozen=True)
class Pending:
    step: str
    sigil: str  # Sigil's answer, observed
    openbao: str  # OpenBao's answer
    what: str


ROLE_READS = ("approle/role-read", "jwt/role-read", "kubernetes/role-read")
TOKEN_AUTH = ("approle/login*", "jwt/login", "token/renew*")
TOKEN_LOOKUPS = ("token/lookup*", "jwt/login-token-lookup")

ALLOWED = [
    Allowed(("*",), ("mount_type",),
            "Sigil's envelope carries `mount_type` (Vault's envelope since 1.13); OpenBao "
            "dropped it",
            "docs/api.md, introduction (Responses use Vault's envelope ... `mount_type`)"),
    Allowed(ROLE_READS, ("data.policies", "data.period"),
            "role reads also answer the deprecated aliases `policies` and `period`, as "
            "Vault does; OpenBao removed them",
            "docs/api.md, Routes: auth/approle/role/:name (`token_policies` (`policies`), "
            "`token_period` (`period`)); auth.md for jwt and kubernetes roles"),
    Allowed(ROLE_READS, ("data.token_strictly_bind_ip",),
            "OpenBao-only role field (goes with token_bound_cidrs, which Sigil refuses)",
            "docs/api.md, Deliberate differences: Tokens (`token_bound_cidrs` refused)"),
    Allowed(("approle/role-read",), ("data.secret_id_bound_cidrs",),
            "unset secret_id_bound_cidrs: Sigil answers [] where OpenBao answers null",
            "not documented (an empty list where Go marshals a nil slice; reported)"),
    Allowed(("jwt/role-read",),
            ("data.callback_mode", "data.oauth2_metadata", "data.oidc_disable_confirmation",
             "data.token_policies_template_claims", "data.user_claim_json_pointer",
             "data.allowed_redirect_uris", "data.oidc_scopes", "data.claim_mappings"),
            "OIDC browser-flow and OpenBao-only role fields are absent; unset "
            "allowed_redirect_uris/oidc_scopes/claim_mappings answer []/{} instead of null",
            "docs/api.md, Deliberate differences: JWT/OIDC and Kubernetes auth (JWT roles "
            "only, no browser OIDC flow); docs/auth.md"),
    Allowed(("jwt/config-read",), ("data.status", "data.override_allowed_server_names"),
            "OpenBao-only JWT config fields (config status, TLS server-name override)",
            "none needed: not in Vault's API (OpenBao extension)"),
    Allowed(("kubernetes/role-read",), ("data.bound_service_account_namespace_selector",),
            "namespace label selectors are not supported (Sigil does no TokenReview / "
            "namespace lookup)",
            "docs/api.md, Deliberate differences: JWT/OIDC and Kubernetes auth; docs/auth.md"),
    Allowed(("kv/config-read", "kv/metadata-*"),
            ("data.metadata_cas_required", "data.current_metadata_version"),
            "OpenBao-only KV v2 metadata check-and-set fields",
            "none needed: not in Vault's API (OpenBao extension)"),
    Allowed(("kv/metadata-*",), ("data.effective_max_versions",),
            "Sigil's metadata also answers effective_max_versions (the limit in force)",
            "docs/api.md, Routes: :mount/metadata/:path (`max_versions`, `versions`, ...)"),
    Allowed(("policy/acl-read",),
            ("data.version", "data.modified", "data.cas_required",
             "data.allow_slashes_in_identity_templates",
             "data.allow_wildcards_in_identity_templates"),
            "OpenBao-only policy fields (policy versions and check-and-set, identity "
            "templating); Sigil answers `name` and `policy` as Vault",
            "none needed: not in Vault's API (OpenBao extension)"),
    Allowed(("quota/read",), ("data.inheritable",),
            "`inheritable` concerns namespaces, which Sigil does not have",
            "docs/api.md, Rate-limit quotas (differences from Vault)"),
    Allowed(TOKEN_AUTH, ("auth.identity_policies",),
            "Sigil's auth block carries identity_policies: null; OpenBao omits it when empty",
            "not documented (no identity store; reported)"),
    Allowed(TOKEN_LOOKUPS, ("data.period",),
            "token lookups answer period: null for a non-periodic token; OpenBao omits it",
            "not documented (reported)"),
    Allowed(("kubernetes/config-read",),
            ("data.jwks_url", "data.jwks_ca_pem", "data.oidc_discovery_url",
             "data.oidc_discovery_ca_pem", "data.token_reviewer_jwt_set"),
            "Sigil verifies service-account tokens itself (keys from pem_keys, a JWKS URL "
            "or OIDC discovery) and never calls TokenReview: it answers those key sources "
            "and has no token_reviewer_jwt (refused)",
            "docs/api.md, Routes: auth/:k8s-mount/config; Deliberate differences: JWT/OIDC "
            "and Kubernetes auth (no TokenReview call)"),
    Allowed(("leases/irrevocable-list",), ("status",),
            "Sigil lists irrevocable leases with LIST (its documented form); OpenBao "
            "answers 404 to LIST (its form is GET, see PENDING leases/irrevocable)",
            "docs/api.md, Routes: LIST sys/leases?type=irrevocable"),
]

PENDING = [
    # KV v2 JSON merge patch (`vault kv patch`)
    Pending("kv/patch", "405 unsupported operation", "200 (version metadata)",
            "PATCH secret/data/:path with application/merge-patch+json"),
    Pending("kv/patch-cas", "405", "200", "PATCH with options.cas"),
    Pending("kv/patch-cas-mismatch", "405", "400 (check-and-set mismatch)", "PATCH, wrong cas"),
    Pending("kv/patch-missing", "405", "404 {errors: []}", "PATCH of a secret never written"),
    Pending("kv/patch-read", "200, data still {a, b}", "200, data {a, c, d}",
            "the read after the patches shows they did not apply"),
    # legacy policy routes (vault policy read/write/list/delete)
    Pending("policy/legacy-list", "404 no handler", "200 {keys, policies} (top level and data)",
            "GET sys/policy"),
    Pending("policy/legacy-write-rules", "404", "200, warning `'rules' is deprecated`",
            "PUT sys/policy/:name {rules}"),
    Pending("policy/legacy-write-policy", "404", "204", "PUT sys/policy/:name {policy}"),
    Pending("policy/legacy-read", "404", "200 {name, rules, ...} (top level and data)",
            "GET sys/policy/:name"),
    Pending("policy/legacy-delete", "404", "204", "DELETE sys/policy/:name"),
    Pending("policy/legacy-delete-d", "404", "204", "DELETE sys/policy/:name"),
    # AppRole
    Pending("approle/secret-id-null-body", "400 failed to parse JSON input: body must be a "
            "JSON object", "200", "POST with the body `null` (Vault takes it as no body)"),
    Pending("approle/login-secret-id-metadata", "200, auth.metadata lacks the secret ID's "
            "metadata", "200, auth.metadata {ci, role_name}",
            "Vault copies a secret ID's metadata into the token's metadata"),
    Pending("approle/secret-id-destroy-delete", "400 missing secret_id", "204",
            "DELETE with secret_id as a query parameter (Vault reads DELETE parameters "
            "from the query string)"),
    Pending("approle/secret-id-accessor-destroy-delete", "400 missing secret_id_accessor",
            "204", "DELETE with secret_id_accessor as a query parameter"),
    Pending("approle/secret-id-lookup-destroyed", "404 {errors: []}", "204 (no body)",
            "lookup of an unknown secret ID"),
    Pending("jwt/role-read", "200, bound_claims {sub: [\"repo:compat/*\"]}",
            "200, bound_claims {sub: \"repo:compat/*\"}",
            "bound_claims values are read back as lists where a string was written"),
    Pending("kubernetes/login-garbage", "400 error validating token: token is malformed",
            "403 permission denied", "Kubernetes login with a malformed service-account "
            "token (Vault's kubernetes method answers 403; docs/api.md's 400 rule is written "
            "for JWT logins)"),
    # tokens and capabilities
    Pending("token/lookup-get", "400 missing token", "200",
            "GET auth/token/lookup?token=... (Vault reads GET parameters from the query)"),
    Pending("token/capabilities-self", "200, per-path keys only in data, plus "
            "data.capabilities", "200, per-path keys at top level and in data, no "
            "`capabilities` for several paths", "capabilities-self with several paths"),
    Pending("token/capabilities-self-one", "200, keys only in data",
            "200, {capabilities, <path>} at top level and in data",
            "capabilities-self with one `path`"),
    Pending("token/capabilities", "404 no handler", "200 {capabilities, <path>} (top level "
            "and data)", "POST sys/capabilities {token, paths}"),
    Pending("token/capabilities-accessor", "404 no handler", "200 {capabilities, <path>}",
            "POST sys/capabilities-accessor {accessor, paths}"),
    Pending("leases/revoke-in-path", "404 no handler", "204",
            "PUT sys/leases/revoke/:lease_id (the form `bao lease revoke` sends)"),
    Pending("leases/renew-in-path", "404 no handler", "400 lease not found",
            "PUT sys/leases/renew/:lease_id"),
    Pending("leases/irrevocable", "405 unsupported operation", "200 {lease_count, leases}",
            "GET sys/leases?type=irrevocable (Vault's method; Sigil documents LIST)"),
    # system routes the CLI uses
    Pending("sys/health", "200 without cluster_id, with performance_standby",
            "200 with cluster_id (string), no performance_standby", "sys/health body"),
    Pending("sys/seal-status", "404 no handler", "200 (no envelope)", "GET sys/seal-status"),
    Pending("sys/leader", "404 no handler", "200 {ha_enabled} (no envelope)", "GET sys/leader"),
    Pending("sys/audit", "404 no handler", "200 {stdout/: {...}} (top level and data)",
            "GET sys/audit"),
    Pending("mounts/list", "404 no handler", "200 mounts (top level and data)", "GET sys/mounts"),
    Pending("mounts/enable-kv2", "404", "204", "POST sys/mounts/team-a {type: kv, options}"),
    Pending("mounts/list-after-enable", "404", "200", "GET sys/mounts"),
    Pending("mounts/tune-read", "404", "200", "GET sys/mounts/team-a/tune"),
    Pending("mounts/tune-write", "404", "204", "POST sys/mounts/team-a/tune"),
    Pending("mounts/tune-reread", "404", "200", "GET sys/mounts/team-a/tune"),
    Pending("mounts/kv-write-new-mount", "404 no handler", "200",
            "KV v2 write on a mount enabled through sys/mounts"),
    Pending("mounts/ui-mounts", "404", "200 {auth, secret}", "GET sys/internal/ui/mounts"),
    Pending("mounts/ui-mount-secret", "404", "200 (mount entry + path)",
            "GET sys/internal/ui/mounts/secret/foo"),
    Pending("mounts/ui-mount-team-a", "404", "200", "GET sys/internal/ui/mounts/team-a/x/y"),
    Pending("mounts/ui-mount-unknown", "404 no handler", "403 preflight capability check",
            "GET sys/internal/ui/mounts/nowhere/x"),
    Pending("mounts/disable", "404", "204", "DELETE sys/mounts/team-a"),
    Pending("mounts/disable-again", "404", "204 (idempotent)", "DELETE sys/mounts/team-a"),
    Pending("auth-mounts/list", "404", "200 auth mounts (top level and data)", "GET sys/auth"),
    Pending("auth-mounts/enable-approle", "404", "204", "POST sys/auth/ci {type: approle}"),
    Pending("auth-mounts/list-after-enable", "404", "200", "GET sys/auth"),
    Pending("auth-mounts/ui-mount-approle", "404", "200",
            "GET sys/internal/ui/mounts/auth/approle/role"),
    Pending("auth-mounts/disable", "404", "204", "DELETE sys/auth/ci"),
]

PENDING_BY_STEP = {p.step: p for p in PENDING}
assert len(PENDING_BY_STEP) == len(PENDING), "one PENDING entry per step"
