"""Every difference between Sigil and OpenBao that the suite accepts, in one place.

ALLOWED: differences that stay. Each entry names the steps it covers (step ids, `*`
globs), the difference paths it removes (compare.py's dotted paths, `*` globs; `status`
for the status line), what differs, and where it is documented: a section of
docs/api.md, or why there is nothing for Sigil to document (a field only OpenBao has).
An entry that no longer removes anything fails test_allowed_entries_are_used.

PENDING: what Sigil does not do yet or does differently without documenting it. One entry per failing step, with the answers observed; the step is an
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
TOKEN_AUTH = ("approle/login*", "jwt/login", "jwt/tpl-login-*", "jwt/grp-login-*", "token/renew*",
              "identity/login", "identity/login-again", "identity/login-2")
TOKEN_LOOKUPS = ("token/lookup*", "jwt/login-token-lookup", "jwt/grp-*-lookup-self",
                 "identity/login-lookup-self")
SECRET_LISTINGS = ("mounts/list", "mounts/list-after-enable", "mounts/ui-mounts")
AUTH_LISTINGS = ("auth-mounts/list", "auth-mounts/list-after-enable", "jwt/tpl-accessor")

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
    Allowed(("policy/acl-read", "policy/legacy-read", "policy/templated-read*"),
            ("version", "modified", "cas_required", "allow_slashes_in_identity_templates",
             "allow_wildcards_in_identity_templates",
             "data.version", "data.modified", "data.cas_required",
             "data.allow_slashes_in_identity_templates",
             "data.allow_wildcards_in_identity_templates"),
            "OpenBao-only policy fields (policy versions and check-and-set; the identity "
            "templating flags on sys/policy, which Sigil answers on sys/policies/acl); "
            "Sigil answers `name` and `policy` (`rules` on sys/policy) as Vault",
            "none needed: not in Vault's API (OpenBao extension)"),
    Allowed(("policy/templated-write-wildcards",), ("status",),
            "allow_wildcards_in_identity_templates=true is refused (400): a templated value "
            "holding `*` or `+` would widen the rule; OpenBao accepts it",
            "docs/policies.md, Differences from Vault"),
    Allowed(("quota/read",), ("data.inheritable",),
            "`inheritable` concerns namespaces, which Sigil does not have",
            "docs/api.md, Rate-limit quotas (differences from Vault)"),
    Allowed(TOKEN_AUTH, ("auth.identity_policies",),
            "Sigil's auth block carries identity_policies: null; OpenBao omits it when empty "
            "and lists the entity's and its groups' policies (e.g. an external group's, "
            "jwt/grp-login-member) when any: Sigil applies them from the next request on "
            "(lookup-self lists them)",
            "docs/api.md, Deliberate differences: Identity store"),
    Allowed(("identity/login-lookup-self", "jwt/grp-member*-lookup-self"),
            ("data.external_namespace_policies",),
            "OpenBao lists the identity policies of other namespaces beside "
            "identity_policies; Sigil has no namespaces",
            "none needed: namespaces are not in Sigil"),
    Allowed(("identity/alias-list",),
            ("data.key_info.{id}.metadata*", "data.key_info.{id}.custom_metadata"),
            "logins create aliases (issue 17); under make test the Sigil stack also holds "
            "those of the hvac suite's logins, run against Sigil only, whose metadata "
            "(e.g. role_name alone) no OpenBao alias has; such a record is reported against "
            "OpenBao's first record (IDs are random), whose custom_metadata may be set",
            "none needed: a test-setup difference, not Sigil's behaviour"),
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
    Allowed(("sys/health",), ("performance_standby",),
            "Sigil's sys/health answers performance_standby: false, as Vault does; OpenBao "
            "dropped the field (no performance standbys)",
            "none needed: Vault's own field, which OpenBao removed"),
    Allowed(("identity/group-unknown-member-entity", "identity/entity-bad-metadata"),
            ("status",),
            "a group member that does not exist and metadata breaking Vault's rules answer "
            "400 with OpenBao's text (`invalid entity ID \"<id>\"`, `invalid entity "
            "metadata: ...`); OpenBao answers 500 with the same text",
            "docs/api.md, Deliberate differences: Identity store"),
    Allowed(("jwt/tpl-star-reads-*", "jwt/tpl-plus-reads-*"), ("status",),
            "a templated rule whose value holds `*` or `+` matches nothing in Sigil (403 "
            "permission denied, as any request no rule grants); OpenBao refuses the whole "
            "request with 400 `Forbidden`",
            "docs/policies.md, Differences from Vault (identity templates)"),
    # Mounts (sys/mounts, sys/auth, sys/internal/ui/mounts).
    Allowed(SECRET_LISTINGS,
            ("cubbyhole/", "data.cubbyhole/", "data.secret.cubbyhole/"),
            "Sigil has no cubbyhole engine, so sys/mounts does not list cubbyhole/",
            "docs/api.md, Deliberate differences: Mounts (no cubbyhole/)"),
    Allowed(SECRET_LISTINGS + AUTH_LISTINGS,
            ("aws/", "data.aws/", "data.secret.aws/", "data.auth.aws/"),
            "Sigil's default aws/ secrets engine and auth/aws/ method have no counterpart "
            "in OpenBao, which ships no AWS plugin",
            "none needed: no reference (sequences.NO_AWS); docs/aws.md"),
    Allowed(("mounts/enable-kv1",), ("status",),
            "enabling kv without options.version=2 (KV version 1) is refused with 400: "
            "Sigil's KV engine is version 2 only; OpenBao mounts KV v1 (204)",
            "docs/api.md, Mounts (refused with 400: KV version 1); Deliberate differences: "
            "Mounts"),
    Allowed(("mounts/enable-nested", "mounts/disable-nested"), ("status",),
            "mount paths are one segment: enabling or disabling `nest-<run>/kv` answers "
            "400 (OpenBao: 204 and 204)",
            "docs/api.md, Deliberate differences: Mounts (one path segment deep)"),
    Allowed(("leases/irrevocable-list",), ("status",),
            "Sigil lists irrevocable leases with LIST (its documented form); OpenBao "
            "answers 404 to LIST (its form is GET, see PENDING leases/irrevocable)",
            "docs/api.md, Routes: LIST sys/leases?type=irrevocable"),
    Allowed(("transit/key-create-hmac-no-key-size", "transit/encrypt-batch-not-a-list",
             "transit/encrypt-batch-item-not-a-string", "transit/sign-version-too-new"),
            ("status",),
            "invalid requests OpenBao answers with 500 (an hmac key without key_size, a "
            "batch_input that is not a list of objects of strings, a sign request's version "
            "error): Sigil answers 400 with the same words",
            "docs/transit.md, Differences from Vault (Statuses)"),
    Allowed(("transit-byok/import-too-short", "transit-byok/import-not-an-import",
             "transit-byok/import-convergent",
             "transit-byok/import-auto-rotate-without-rotation",
             "transit-byok/import-no-ciphertext", "transit-byok/import-existing",
             "transit-byok/export-refused-raw-ecdsa"),
            ("status",),
            "BYOK refusals OpenBao answers with 500 (plain errors: a short or undecryptable "
            "ciphertext, convergent_encryption, auto_rotate_period without allow_rotation, no "
            "ciphertext, an existing key, an export format the key type has not): Sigil "
            "answers 400 with the same words",
            "docs/transit.md, Differences from Vault (Statuses)"),
    Allowed(("transit-byok/import-version-missing-key", "transit-byok/import-version-not-imported",
             "transit-byok/backup-not-exportable", "transit-byok/backup-no-plaintext-backup",
             "transit-byok/backup-missing", "transit-byok/restore-existing",
             "transit-byok/restore-existing-renamed", "transit-byok/restore-bad-base64",
             "transit-byok/restore-not-json"),
            ("status",),
            "import_version, backup and restore refusals OpenBao answers with 500 (plain "
            "errors: no such key, a key not imported, not exportable or without "
            "allow_plaintext_backup, an existing key without force, a backup that is not "
            "base64 or not JSON): Sigil answers 400 with the same words (JSON errors: "
            "their position only)",
            "docs/transit.md, Differences from Vault (Statuses)"),
    Allowed(("transit-byok/list-hides-wrapping-key", "transit-byok/list-keys"),
            ("status", "data.keys"),
            "OpenBao lists its wrapping key's prefix `import/` among a mount's keys once the "
            "wrapping key exists (so LIST answers 200 with only `import/`); Sigil keeps the "
            "wrapping key apart and never lists it",
            "docs/transit.md, BYOK: The wrapping key"),
]

# Mount entries (sys/mounts, sys/auth, sys/internal/ui/mounts): OpenBao's fields Sigil
# lacks. Vault answers them too.


PENDING: list[Pending] = []

PENDING_BY_STEP = {p.step: p for p in PENDING}
assert len(PENDING_BY_STEP) == len(PENDING), "one PENDING entry per step"
