"""Scripted sequences: the same requests, in the same order, against Sigil and OpenBao.

A sequence is a list of steps; each step is one request whose two answers are compared
(compare.py). Steps run in order within a sequence and sequences in the order of
SEQUENCES, so later steps use what earlier ones created. Values that differ between the
servers (role IDs, secret IDs, tokens, accessors) are saved per server (`save`: name ->
dotted path in the answer) and used as `${name}` in later paths, bodies and tokens.

Names carry RUN (random per run), so the suite can run again on the same Sigil stack.
"""

import base64
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import EMPTY, NULL

RUN = uuid.uuid4().hex[:8]
ADMIN = "admin"  # the server's admin (root) token


@dataclass
class Step:
    id: str
    method: str
    path: str
    body: object = None
    token: object = ADMIN  # ADMIN, None (no token) or "${name}"
    headers: dict = field(default_factory=dict)
    save: dict = field(default_factory=dict)
    values: tuple = ()  # dotted paths whose values must be equal (structural values)
    # No OpenBao reference (the route is not in OpenBao 2.7): the reason, and the status
    # Sigil must answer (its documented behaviour). Such steps are checked, not compared.
    no_reference: str = ""
    sigil_status: int = 0


# --- keys for JWT and Kubernetes auth ----------------------------------------------------

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBKEY_PEM = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
ISSUER = "https://issuer.compat.example"


def _self_signed_ca():
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "compat-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(_KEY.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(_KEY, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


CA_PEM = _self_signed_ca()


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims):
    header = {"alg": "RS256", "typ": "JWT", "kid": "compat"}
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = _KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(sig)


_NOW = int(time.time())
JWT_OK = jwt({"iss": ISSUER, "sub": "repo:compat/app:ref:refs/heads/main", "aud": "compat",
              "iat": _NOW, "nbf": _NOW, "exp": _NOW + 3600})
JWT_WRONG_AUD = jwt({"iss": ISSUER, "sub": "someone", "aud": "other",
                     "iat": _NOW, "exp": _NOW + 3600})

# --- the sequences -----------------------------------------------------------------------

KV = f"compat-{RUN}"
POLICY = f"compat-{RUN}"
POLICY_HCL = 'path "secret/data/%s/*" { capabilities = ["read", "list"] }\n' % KV
ROLE = f"r-{RUN}"
MERGE = {"Content-Type": "application/merge-patch+json"}

kv = [
    Step("kv/config-write", "POST", "secret/config", {"max_versions": 20, "cas_required": False}),
    Step("kv/config-read", "GET", "secret/config"),
    Step("kv/write", "POST", f"secret/data/{KV}/app", {"data": {"user": "svc", "password": "p1"}}),
    Step("kv/write-cas", "POST", f"secret/data/{KV}/app",
         {"data": {"user": "svc", "password": "p2"}, "options": {"cas": 1}}),
    Step("kv/write-cas-mismatch", "POST", f"secret/data/{KV}/app",
         {"data": {"password": "p3"}, "options": {"cas": 1}}),
    Step("kv/write-put", "PUT", f"secret/data/{KV}/other", {"data": {"k": "v"}}),
    Step("kv/read", "GET", f"secret/data/{KV}/app"),
    Step("kv/read-version", "GET", f"secret/data/{KV}/app?version=1"),
    Step("kv/read-missing", "GET", f"secret/data/{KV}/missing"),
    Step("kv/list", "LIST", f"secret/metadata/{KV}/"),
    Step("kv/list-get", "GET", f"secret/metadata/{KV}/?list=true"),
    Step("kv/list-missing", "LIST", f"secret/metadata/{KV}-none/"),
    Step("kv/metadata-read", "GET", f"secret/metadata/{KV}/app"),
    Step("kv/metadata-write", "POST", f"secret/metadata/{KV}/app",
         {"max_versions": 5, "cas_required": False, "custom_metadata": {"team": "a"}}),
    Step("kv/metadata-read-custom", "GET", f"secret/metadata/{KV}/app"),
    Step("kv/delete-latest", "DELETE", f"secret/data/{KV}/app"),
    Step("kv/read-deleted", "GET", f"secret/data/{KV}/app"),
    Step("kv/undelete", "POST", f"secret/undelete/{KV}/app", {"versions": [2]}),
    Step("kv/delete-versions", "POST", f"secret/delete/{KV}/app", {"versions": [1]}),
    Step("kv/destroy", "POST", f"secret/destroy/{KV}/app", {"versions": [1]}),
    Step("kv/read-destroyed", "GET", f"secret/data/{KV}/app?version=1"),
    Step("kv/metadata-after-destroy", "GET", f"secret/metadata/{KV}/app"),
    # KV v2 JSON merge patch (vault kv patch), on its own secret so that the versions of
    # the others do not depend on it.
    Step("kv/patch-base", "POST", f"secret/data/{KV}/patched", {"data": {"a": "1", "b": "2"}}),
    Step("kv/patch", "PATCH", f"secret/data/{KV}/patched", {"data": {"b": None, "c": "3"}},
         headers=MERGE),
    Step("kv/patch-cas", "PATCH", f"secret/data/{KV}/patched",
         {"data": {"d": "4"}, "options": {"cas": 2}}, headers=MERGE),
    Step("kv/patch-cas-mismatch", "PATCH", f"secret/data/{KV}/patched",
         {"data": {"e": "5"}, "options": {"cas": 1}}, headers=MERGE),
    Step("kv/patch-missing", "PATCH", f"secret/data/{KV}/never-written", {"data": {"a": "1"}},
         headers=MERGE),
    Step("kv/patch-read", "GET", f"secret/data/{KV}/patched"),
    # Vault takes PATCH only as a JSON merge patch (415 for any other Content-Type).
    Step("kv/patch-json-content-type", "PATCH", f"secret/data/{KV}/patched",
         {"data": {"x": "1"}}),
    Step("kv/metadata-delete", "DELETE", f"secret/metadata/{KV}/app"),
    Step("kv/metadata-delete-other", "DELETE", f"secret/metadata/{KV}/other"),
    Step("kv/metadata-delete-patched", "DELETE", f"secret/metadata/{KV}/patched"),
    Step("kv/read-after-metadata-delete", "GET", f"secret/data/{KV}/app"),
]

TEMPLATED_HCL = """
path "secret/data/ci/{{identity.entity.aliases.auth_jwt_0000.metadata.repository}}/*" {
  capabilities = ["read"]
}
path "secret/data/people/{{ identity.entity.name }}/*" {
  capabilities = ["read", "update"]
}
path "secret/data/groups/{{identity.groups.names.builders.id}}" {
  capabilities = ["read"]
}
"""

policies = [
    Step("policy/acl-write", "PUT", f"sys/policies/acl/{POLICY}", {"policy": POLICY_HCL}),
    Step("policy/acl-write-post", "POST", f"sys/policies/acl/{POLICY}-b", {"policy": POLICY_HCL}),
    Step("policy/acl-read", "GET", f"sys/policies/acl/{POLICY}"),
    Step("policy/acl-list", "LIST", "sys/policies/acl"),
    Step("policy/acl-read-missing", "GET", f"sys/policies/acl/{POLICY}-none"),
    Step("policy/acl-write-bad", "PUT", f"sys/policies/acl/{POLICY}-bad", {"policy": "path {"}),
    Step("policy/acl-delete-default", "DELETE", "sys/policies/acl/default"),
    Step("policy/acl-delete", "DELETE", f"sys/policies/acl/{POLICY}-b"),
    # The legacy routes the Vault CLI's `policy` commands use (sys/policy).
    Step("policy/legacy-list", "GET", "sys/policy"),
    Step("policy/legacy-list-verb", "LIST", "sys/policy"),
    Step("policy/legacy-write-rules", "PUT", f"sys/policy/{POLICY}-c", {"rules": POLICY_HCL}),
    Step("policy/legacy-write-policy", "PUT", f"sys/policy/{POLICY}-d", {"policy": POLICY_HCL}),
    Step("policy/legacy-read", "GET", f"sys/policy/{POLICY}-c"),
    Step("policy/legacy-read-missing", "GET", f"sys/policy/{POLICY}-none"),
    Step("policy/legacy-delete", "DELETE", f"sys/policy/{POLICY}-c"),
    Step("policy/legacy-delete-d", "DELETE", f"sys/policy/{POLICY}-d"),
    # Identity templates in paths (resolved per entity at request time).
    Step("policy/templated-write", "PUT", f"sys/policies/acl/{POLICY}-tpl",
         {"policy": TEMPLATED_HCL, "allow_slashes_in_identity_templates": True}),
    Step("policy/templated-read", "GET", f"sys/policies/acl/{POLICY}-tpl",
         values=("data.policy", "data.allow_slashes_in_identity_templates",
                 "data.allow_wildcards_in_identity_templates")),
    Step("policy/templated-write-plain", "PUT", f"sys/policies/acl/{POLICY}-tpl",
         {"policy": TEMPLATED_HCL}),
    Step("policy/templated-read-plain", "GET", f"sys/policies/acl/{POLICY}-tpl",
         values=("data.allow_slashes_in_identity_templates",)),
    Step("policy/templated-write-unbalanced", "PUT", f"sys/policies/acl/{POLICY}-tpl2",
         {"policy": 'path "secret/data/{{identity.entity.id/*" { capabilities = ["read"] }'}),
    Step("policy/templated-read-unbalanced", "GET", f"sys/policies/acl/{POLICY}-tpl2"),
    Step("policy/templated-write-wildcards", "PUT", f"sys/policies/acl/{POLICY}-tpl3",
         {"policy": TEMPLATED_HCL, "allow_wildcards_in_identity_templates": True}),
    Step("policy/templated-delete", "DELETE", f"sys/policies/acl/{POLICY}-tpl"),
    Step("policy/templated-delete-3", "DELETE", f"sys/policies/acl/{POLICY}-tpl3"),
]

approle = [
    Step("approle/role-write", "POST", f"auth/approle/role/{ROLE}",
         {"token_policies": POLICY, "token_ttl": "10m", "token_max_ttl": "30m",
          "secret_id_num_uses": 10, "secret_id_ttl": "1h"}),
    Step("approle/role-read", "GET", f"auth/approle/role/{ROLE}"),
    Step("approle/role-list", "LIST", "auth/approle/role"),
    Step("approle/role-read-missing", "GET", f"auth/approle/role/{ROLE}-none"),
    Step("approle/role-id-read", "GET", f"auth/approle/role/{ROLE}/role-id",
         save={"role_id": "data.role_id"}),
    Step("approle/role-id-write", "POST", f"auth/approle/role/{ROLE}/role-id",
         {"role_id": f"role-id-{RUN}"}),
    Step("approle/role-id-reread", "GET", f"auth/approle/role/{ROLE}/role-id",
         save={"role_id": "data.role_id"}),
    Step("approle/secret-id", "POST", f"auth/approle/role/{ROLE}/secret-id",
         {"metadata": json.dumps({"ci": "compat"})},
         save={"secret_id": "data.secret_id", "secret_id_accessor": "data.secret_id_accessor"}),
    Step("approle/secret-id-empty-body", "POST", f"auth/approle/role/{ROLE}/secret-id", EMPTY,
         save={"secret_id2": "data.secret_id", "secret_id_accessor2": "data.secret_id_accessor"}),
    Step("approle/secret-id-null-body", "POST", f"auth/approle/role/{ROLE}/secret-id", NULL,
         save={"secret_id3": "data.secret_id", "secret_id_accessor3": "data.secret_id_accessor"}),
    Step("approle/secret-id-put-empty-object", "PUT", f"auth/approle/role/{ROLE}/secret-id", {},
         save={"secret_id4": "data.secret_id", "secret_id_accessor4": "data.secret_id_accessor"}),
    Step("approle/secret-id-list", "LIST", f"auth/approle/role/{ROLE}/secret-id"),
    Step("approle/secret-id-lookup", "POST", f"auth/approle/role/{ROLE}/secret-id/lookup",
         {"secret_id": "${secret_id}"}),
    Step("approle/secret-id-accessor-lookup", "POST",
         f"auth/approle/role/{ROLE}/secret-id-accessor/lookup",
         {"secret_id_accessor": "${secret_id_accessor}"}),
    Step("approle/login", "POST", "auth/approle/login",
         {"role_id": "${role_id}", "secret_id": "${secret_id4}"}, token=None,
         save={"client_token": "auth.client_token", "accessor": "auth.accessor"}),
    Step("approle/login-2", "POST", "auth/approle/login",
         {"role_id": "${role_id}", "secret_id": "${secret_id4}"}, token=None,
         save={"client_token2": "auth.client_token", "accessor2": "auth.accessor"}),
    # A secret ID with metadata: Vault copies it into the token's metadata.
    Step("approle/login-secret-id-metadata", "POST", "auth/approle/login",
         {"role_id": "${role_id}", "secret_id": "${secret_id}"}, token=None,
         save={"client_token3": "auth.client_token", "accessor3": "auth.accessor"}),
    Step("approle/login-bad-secret", "POST", "auth/approle/login",
         {"role_id": "${role_id}", "secret_id": "not-a-secret-id"}, token=None),
    Step("approle/login-token-reads-kv", "GET", f"secret/data/{KV}/missing", token="${client_token}"),
    Step("approle/login-token-denied", "GET", f"secret/data/{KV}-outside", token="${client_token}"),
    Step("approle/secret-id-destroy", "POST", f"auth/approle/role/{ROLE}/secret-id/destroy",
         {"secret_id": "${secret_id2}"}),
    Step("approle/secret-id-destroy-delete", "DELETE",
         f"auth/approle/role/{ROLE}/secret-id/destroy?secret_id=${{secret_id3}}"),
    Step("approle/secret-id-accessor-destroy-delete", "DELETE",
         f"auth/approle/role/{ROLE}/secret-id-accessor/destroy"
         f"?secret_id_accessor=${{secret_id_accessor}}"),
    Step("approle/secret-id-accessor-destroy", "POST",
         f"auth/approle/role/{ROLE}/secret-id-accessor/destroy",
         {"secret_id_accessor": "${secret_id_accessor4}"}),
    Step("approle/secret-id-lookup-destroyed", "POST", f"auth/approle/role/{ROLE}/secret-id/lookup",
         {"secret_id": "${secret_id2}"}),
]

tokens = [
    Step("token/lookup-self", "GET", "auth/token/lookup-self", token="${client_token}"),
    Step("token/lookup-self-post", "POST", "auth/token/lookup-self", EMPTY, token="${client_token}"),
    Step("token/lookup", "POST", "auth/token/lookup", {"token": "${client_token}"}),
    Step("token/lookup-get", "GET", "auth/token/lookup?token=${client_token}"),
    Step("token/lookup-accessor", "POST", "auth/token/lookup-accessor", {"accessor": "${accessor}"}),
    Step("token/renew-self", "POST", "auth/token/renew-self", {"increment": "15m"},
         token="${client_token}"),
    Step("token/renew", "POST", "auth/token/renew", {"token": "${client_token}", "increment": 600}),
    Step("token/lookup-after-renew", "POST", "auth/token/lookup", {"token": "${client_token}"}),
    Step("token/capabilities-self", "POST", "sys/capabilities-self",
         {"paths": [f"secret/data/{KV}/app", f"secret/data/{KV}-outside"]}, token="${client_token}"),
    Step("token/capabilities-self-one", "POST", "sys/capabilities-self",
         {"path": f"secret/data/{KV}/app"}, token="${client_token}"),
    Step("token/capabilities", "POST", "sys/capabilities",
         {"token": "${client_token}", "paths": [f"secret/data/{KV}/app"]}),
    Step("token/capabilities-accessor", "POST", "sys/capabilities-accessor",
         {"accessor": "${accessor}", "paths": [f"secret/data/{KV}/app"]}),
    Step("token/capabilities-unknown-token", "POST", "sys/capabilities",
         {"token": "sgl.not-a-token", "paths": [f"secret/data/{KV}/app"]}),
    Step("token/capabilities-accessor-unknown", "POST", "sys/capabilities-accessor",
         {"accessor": "not-an-accessor", "paths": [f"secret/data/{KV}/app"]}),
    Step("token/revoke-accessor", "POST", "auth/token/revoke-accessor", {"accessor": "${accessor2}"}),
    Step("token/lookup-revoked-by-accessor", "GET", "auth/token/lookup-self", token="${client_token2}"),
    Step("token/revoke", "POST", "auth/token/revoke", {"token": "${client_token3}"}),
    # Token creation: a child of the admin token and its lookup, a child's attempt its
    # policy does not grant, an orphan, a token that cannot be renewed, a bad type, and
    # the child revoked.
    Step("token/create", "POST", "auth/token/create",
         {"policies": [POLICY], "ttl": "10m", "display_name": "compat job", "meta": {"k": "v"}},
         save={"created": "auth.client_token"},
         values=("auth.orphan", "auth.policies", "auth.renewable", "auth.metadata")),
    Step("token/lookup-created", "POST", "auth/token/lookup", {"token": "${created}"},
         values=("data.orphan", "data.path", "data.display_name", "data.policies")),
    Step("token/create-by-child-denied", "POST", "auth/token/create", {"policies": [POLICY]},
         token="${created}"),
    # A TTL over the max is capped, with Vault's warning.
    Step("token/create-ttl-capped", "POST", "auth/token/create",
         {"policies": [POLICY], "ttl": "100000h"},
         values=("auth.lease_duration", "warnings")),
    # An empty policy list is no list: the parent's policies (here the admin's).
    Step("token/create-empty-policies", "POST", "auth/token/create",
         {"policies": [], "ttl": "5m"}, values=("auth.policies",)),
    Step("token/create-orphan", "POST", "auth/token/create-orphan", {"policies": [POLICY]},
         values=("auth.orphan", "auth.policies")),
    Step("token/create-not-renewable", "POST", "auth/token/create",
         {"policies": [POLICY], "renewable": False},
         save={"fixed": "auth.client_token"}, values=("auth.renewable",)),
    Step("token/renew-not-renewable", "POST", "auth/token/renew", {"token": "${fixed}"}),
    Step("token/create-bad-type", "POST", "auth/token/create", {"type": "nope"}),
    Step("token/role-write", "POST", f"auth/token/roles/{ROLE}-tr",
         {"allowed_policies": [POLICY], "orphan": True, "path_suffix": "rev1"}),
    Step("token/role-read", "GET", f"auth/token/roles/{ROLE}-tr",
         values=("data.allowed_policies", "data.orphan", "data.path_suffix", "data.token_type")),
    Step("token/role-read-missing", "GET", f"auth/token/roles/{ROLE}-none"),
    Step("token/role-list", "LIST", "auth/token/roles"),
    Step("token/accessors-list", "LIST", "auth/token/accessors"),
    Step("token/create-with-role", "POST", f"auth/token/create/{ROLE}-tr", EMPTY,
         save={"by_role": "auth.client_token"}, values=("auth.orphan", "auth.policies")),
    Step("token/lookup-by-role", "POST", "auth/token/lookup", {"token": "${by_role}"},
         values=("data.path", "data.orphan", "data.role")),
    Step("token/create-unknown-role", "POST", f"auth/token/create/{ROLE}-none", EMPTY),
    Step("token/role-delete", "DELETE", f"auth/token/roles/{ROLE}-tr"),
    # revoke-orphan: the token goes, its child lives on as an orphan; sudo is checked
    # by the handler (400), an unknown token is 400.
    Step("token/maker-policy", "PUT", f"sys/policies/acl/{POLICY}-maker",
         {"policy": 'path "auth/token/create" { capabilities = ["update"] }\n'
                    'path "auth/token/revoke-orphan" { capabilities = ["update"] }\n'}),
    Step("token/orphan-parent", "POST", "auth/token/create", {"policies": [f"{POLICY}-maker"]},
         save={"op_parent": "auth.client_token"}),
    Step("token/orphan-child", "POST", "auth/token/create", {"policies": [f"{POLICY}-maker"]},
         token="${op_parent}", save={"op_child": "auth.client_token"}),
    Step("token/revoke-orphan-no-sudo", "POST", "auth/token/revoke-orphan",
         {"token": "${op_child}"}, token="${op_parent}"),
    Step("token/revoke-orphan-missing", "POST", "auth/token/revoke-orphan", EMPTY),
    Step("token/revoke-orphan-unknown", "POST", "auth/token/revoke-orphan",
         {"token": "sgl.not-a-token"}),
    Step("token/revoke-orphan", "POST", "auth/token/revoke-orphan", {"token": "${op_parent}"}),
    Step("token/lookup-orphaned-parent", "POST", "auth/token/lookup", {"token": "${op_parent}"}),
    Step("token/lookup-orphaned-child", "POST", "auth/token/lookup", {"token": "${op_child}"},
         values=("data.orphan",)),
    Step("token/maker-policy-delete", "DELETE", f"sys/policies/acl/{POLICY}-maker"),
    # Periodic tokens: a renewal resets the TTL to the period whatever the increment;
    # an explicit max TTL caps it. Batch tokens: Vault's shapes and refusals.
    Step("token/create-periodic", "POST", "auth/token/create",
         {"policies": [POLICY], "period": "1h"},
         save={"periodic": "auth.client_token"},
         values=("auth.lease_duration", "auth.renewable")),
    Step("token/renew-periodic", "POST", "auth/token/renew",
         {"token": "${periodic}", "increment": "10s"},
         values=("auth.lease_duration", "auth.renewable")),
    Step("token/lookup-periodic", "POST", "auth/token/lookup", {"token": "${periodic}"},
         values=("data.period", "data.explicit_max_ttl", "data.renewable")),
    Step("token/create-periodic-capped", "POST", "auth/token/create",
         {"policies": [POLICY], "period": "1h", "explicit_max_ttl": "30m"},
         save={"capped": "auth.client_token"}, values=("auth.lease_duration",)),
    Step("token/renew-periodic-capped", "POST", "auth/token/renew",
         {"token": "${capped}", "increment": "1h"}),
    Step("token/create-batch", "POST", "auth/token/create",
         {"policies": [POLICY], "type": "batch", "ttl": "10m"},
         save={"batch": "auth.client_token"},
         values=("auth.token_type", "auth.renewable", "auth.orphan", "auth.accessor",
                 "auth.policies")),
    Step("token/lookup-batch", "POST", "auth/token/lookup", {"token": "${batch}"},
         values=("data.type", "data.renewable", "data.orphan", "data.accessor")),
    Step("token/renew-batch", "POST", "auth/token/renew", {"token": "${batch}"}),
    Step("token/revoke-batch", "POST", "auth/token/revoke", {"token": "${batch}"}),
    Step("token/create-by-batch", "POST", "auth/token/create", {"policies": [POLICY]},
         token="${batch}"),
    Step("token/create-batch-num-uses", "POST", "auth/token/create",
         {"type": "batch", "num_uses": 2}),
    Step("token/revoke-created", "POST", "auth/token/revoke", {"token": "${created}"}),
    Step("token/lookup-revoked-created", "POST", "auth/token/lookup", {"token": "${created}"}),
    Step("token/revoke-self", "POST", "auth/token/revoke-self", EMPTY, token="${client_token}"),
    Step("token/lookup-self-revoked", "GET", "auth/token/lookup-self", token="${client_token}"),
    Step("token/no-token", "GET", "auth/token/lookup-self", token=None),
    Step("token/bad-token", "GET", "auth/token/lookup-self", token="sgl.not-a-token"),
    Step("approle/role-delete", "DELETE", f"auth/approle/role/{ROLE}"),
    Step("policy/acl-delete-last", "DELETE", f"sys/policies/acl/{POLICY}"),
]

# Response wrapping: a wrapped secret ID (the CLI's `write -wrap-ttl=60s -f
# .../secret-id`) looked up without a token and unwrapped with the wrapping token as
# the client token, twice; a wrapped KV read and token creation unwrapped by a third
# party; sys/wrapping/wrap and rewrap; Vault's refusals.
WRAP = {"X-Vault-Wrap-TTL": "60s"}
wrapping = [
    Step("wrapping/role-write", "POST", f"auth/approle/role/{ROLE}-w",
         {"token_policies": "default", "token_ttl": "10m"}),
    Step("wrapping/secret-id", "POST", f"auth/approle/role/{ROLE}-w/secret-id", EMPTY,
         headers=WRAP, save={"wrapped_sid": "wrap_info.token"},
         values=("wrap_info.ttl", "wrap_info.creation_path", "data", "auth")),
    Step("wrapping/lookup", "POST", "sys/wrapping/lookup", {"token": "${wrapped_sid}"},
         token=None, values=("data.creation_ttl", "data.creation_path")),
    Step("wrapping/lookup-get", "GET", "sys/wrapping/lookup?token=${wrapped_sid}", token=None),
    Step("wrapping/unwrap", "POST", "sys/wrapping/unwrap", EMPTY, token="${wrapped_sid}"),
    Step("wrapping/unwrap-again", "POST", "sys/wrapping/unwrap", EMPTY, token="${wrapped_sid}"),
    Step("wrapping/unwrap-again-body", "POST", "sys/wrapping/unwrap",
         {"token": "${wrapped_sid}"}),
    Step("wrapping/lookup-used", "POST", "sys/wrapping/lookup", {"token": "${wrapped_sid}"},
         token=None),
    Step("wrapping/kv-write", "POST", f"secret/data/{KV}-wrapped",
         {"data": {"api_key": "wrapped-s3cret-compat"}}),
    Step("wrapping/kv-read", "GET", f"secret/data/{KV}-wrapped", headers=WRAP,
         save={"wrapped_kv": "wrap_info.token"}, values=("wrap_info.creation_path",)),
    Step("wrapping/kv-unwrap-third-party", "POST", "sys/wrapping/unwrap",
         {"token": "${wrapped_kv}"}, values=("data.data",)),
    Step("wrapping/token-create", "POST", "auth/token/create", {"policies": ["default"]},
         headers=WRAP, save={"wrapped_token": "wrap_info.token"},
         values=("wrap_info.creation_path",)),
    Step("wrapping/token-unwrap", "POST", "sys/wrapping/unwrap", {"token": "${wrapped_token}"},
         values=("auth.policies",)),
    Step("wrapping/wrap", "POST", "sys/wrapping/wrap", {"a": "b", "n": 1},
         headers={"X-Vault-Wrap-TTL": "5m"}, save={"wrapped_data": "wrap_info.token"},
         values=("wrap_info.ttl", "wrap_info.creation_path")),
    Step("wrapping/wrap-without-ttl", "POST", "sys/wrapping/wrap", {"a": "b"}),
    Step("wrapping/rewrap", "POST", "sys/wrapping/rewrap", {"token": "${wrapped_data}"},
         headers={"X-Vault-Wrap-TTL": "30"}, save={"rewrapped": "wrap_info.token"},
         values=("wrap_info.ttl", "wrap_info.creation_path")),
    Step("wrapping/unwrap-rewrapped-old", "POST", "sys/wrapping/unwrap",
         {"token": "${wrapped_data}"}),
    Step("wrapping/unwrap-rewrapped", "POST", "sys/wrapping/unwrap", EMPTY,
         token="${rewrapped}", values=("data",)),
    Step("wrapping/unwrap-no-token", "POST", "sys/wrapping/unwrap", EMPTY, token=None),
    Step("wrapping/unwrap-not-wrapping", "POST", "sys/wrapping/unwrap", EMPTY),
    Step("wrapping/bad-ttl-header", "GET", f"secret/data/{KV}-wrapped",
         headers={"X-Vault-Wrap-TTL": "soon"}),
    Step("wrapping/negative-ttl-header", "GET", f"secret/data/{KV}-wrapped",
         headers={"X-Vault-Wrap-TTL": "-5"}),
    Step("wrapping/zero-ttl-header", "GET", f"secret/data/{KV}-wrapped",
         headers={"X-Vault-Wrap-TTL": "0"}),
    Step("wrapping/policy-write-immutable", "PUT", "sys/policies/acl/response-wrapping",
         {"policy": 'path "x" { capabilities = ["read"] }'}),
    Step("wrapping/kv-delete", "DELETE", f"secret/metadata/{KV}-wrapped"),
    Step("wrapping/role-delete", "DELETE", f"auth/approle/role/{ROLE}-w"),
]

# KV v2 issues no lease, and OpenBao's aws engine would call real AWS: these cover the
# lease routes with leases that do not exist.
LEASE = f"aws/creds/compat-{RUN}/none"
leases = [
    Step("leases/lookup-unknown", "PUT", "sys/leases/lookup", {"lease_id": LEASE}),
    Step("leases/renew-unknown", "PUT", "sys/leases/renew", {"lease_id": LEASE, "increment": 60}),
    Step("leases/revoke-unknown", "PUT", "sys/leases/revoke", {"lease_id": LEASE}),
    # The CLI's `lease revoke` puts the lease ID in the path.
    Step("leases/revoke-in-path", "PUT", f"sys/leases/revoke/{LEASE}", EMPTY),
    Step("leases/renew-in-path", "PUT", f"sys/leases/renew/{LEASE}", {"increment": 60}),
    Step("leases/revoke-prefix", "PUT", f"sys/leases/revoke-prefix/aws/creds/compat-{RUN}", EMPTY),
    Step("leases/revoke-force", "PUT", f"sys/leases/revoke-force/aws/creds/compat-{RUN}", EMPTY),
    Step("leases/list-prefix-empty", "LIST", f"sys/leases/lookup/aws/creds/compat-{RUN}/"),
    Step("leases/irrevocable", "GET", "sys/leases?type=irrevocable"),
    Step("leases/irrevocable-list", "LIST", "sys/leases?type=irrevocable"),
]

system = [
    Step("sys/health", "GET", "sys/health", token=None),
    Step("sys/seal-status", "GET", "sys/seal-status", token=None),
    Step("sys/leader", "GET", "sys/leader", token=None),
    Step("sys/audit", "GET", "sys/audit"),
    Step("sys/audit-hash", "POST", "sys/audit-hash/stdout", {"input": "compat"}),
    Step("sys/audit-hash-put", "PUT", "sys/audit-hash/stdout", {"input": "compat"}),
    # Sigil has one built-in device (stdout/); OpenBao refuses API-enabled devices.
    Step("sys/audit-enable", "PUT", f"sys/audit/compat-{RUN}",
         {"type": "file", "options": {"file_path": "discard"}}),
    Step("sys/audit-after-enable", "GET", "sys/audit"),
    Step("sys/audit-disable", "DELETE", f"sys/audit/compat-{RUN}"),
    Step("quota/write", "POST", f"sys/quotas/rate-limit/compat-{RUN}",
         {"path": "auth/approle/", "rate": 1000, "interval": "1s"}),
    Step("quota/write-put", "PUT", f"sys/quotas/rate-limit/compat-{RUN}",
         {"path": "auth/approle/", "rate": 500, "interval": "2s", "block_interval": "5s"}),
    Step("quota/read", "GET", f"sys/quotas/rate-limit/compat-{RUN}"),
    Step("quota/list", "LIST", "sys/quotas/rate-limit"),
    Step("quota/delete", "DELETE", f"sys/quotas/rate-limit/compat-{RUN}"),
    Step("quota/read-missing", "GET", f"sys/quotas/rate-limit/compat-{RUN}"),
]

MOUNT_VALUES = ("*/.type", "*/.options.version", "data.*/.type", "data.*/.options.version")
TUNE_VALUES = ("default_lease_ttl", "max_lease_ttl", "description", "options.version",
               "data.default_lease_ttl", "data.max_lease_ttl", "data.description",
               "data.options.version")
# Mount paths carry RUN: Sigil refuses to enable a path again until the sweeper has
# deleted the items of the mount disabled there, so a rerun on the same stack needs new
# ones.
TEAM = f"team-{RUN}"
CI = f"ci-{RUN}"
mounts = [
    Step("mounts/list", "GET", "sys/mounts", values=MOUNT_VALUES),
    Step("mounts/read-secret", "GET", "sys/mounts/secret", values=("type", "options.version")),
    Step("mounts/enable-kv2", "POST", f"sys/mounts/{TEAM}",
         {"type": "kv", "options": {"version": "2"}, "description": "compat"}),
    Step("mounts/enable-taken", "POST", f"sys/mounts/{TEAM}",
         {"type": "kv", "options": {"version": "2"}}),
    Step("mounts/list-after-enable", "GET", "sys/mounts", values=MOUNT_VALUES),
    Step("mounts/read-new", "GET", f"sys/mounts/{TEAM}",
         values=("type", "options.version", "description")),
    Step("mounts/tune-read", "GET", f"sys/mounts/{TEAM}/tune", values=TUNE_VALUES),
    Step("mounts/tune-write", "POST", f"sys/mounts/{TEAM}/tune",
         {"default_lease_ttl": "1h", "max_lease_ttl": "2h", "description": "compat tuned"}),
    Step("mounts/tune-reread", "GET", f"sys/mounts/{TEAM}/tune", values=TUNE_VALUES),
    Step("mounts/tune-read-missing", "GET", f"sys/mounts/{TEAM}-none/tune"),
    Step("mounts/kv-write-new-mount", "POST", f"{TEAM}/data/x", {"data": {"k": "v"}}),
    Step("mounts/kv-read-new-mount", "GET", f"{TEAM}/data/x"),
    Step("mounts/ui-mounts", "GET", "sys/internal/ui/mounts",
         values=("data.secret.*/.type", "data.secret.*/.options.version", "data.auth.*/.type")),
    Step("mounts/ui-mount-secret", "GET", "sys/internal/ui/mounts/secret/foo",
         values=("data.type", "data.options.version", "data.path")),
    Step("mounts/ui-mount-team", "GET", f"sys/internal/ui/mounts/{TEAM}/x/y",
         values=("data.type", "data.options.version", "data.path")),
    Step("mounts/ui-mount-unknown", "GET", "sys/internal/ui/mounts/nowhere/x"),
    Step("mounts/disable", "DELETE", f"sys/mounts/{TEAM}"),
    Step("mounts/disable-again", "DELETE", f"sys/mounts/{TEAM}"),
    Step("mounts/kv-read-disabled-mount", "GET", f"{TEAM}/data/x"),
    # Deliberate differences: KV version 1, nested mount paths.
    Step("mounts/enable-kv1", "POST", f"sys/mounts/kv1-{RUN}", {"type": "kv"}),
    Step("mounts/disable-kv1", "DELETE", f"sys/mounts/kv1-{RUN}"),
    Step("mounts/enable-nested", "POST", f"sys/mounts/nest-{RUN}/kv",
         {"type": "kv", "options": {"version": "2"}}),
    Step("mounts/disable-nested", "DELETE", f"sys/mounts/nest-{RUN}/kv"),
    Step("mounts/enable-reserved", "POST", "sys/mounts/sys", {"type": "kv",
         "options": {"version": "2"}}),
    Step("mounts/disable-builtin", "DELETE", "sys/mounts/sys"),
    Step("mounts/enable-unknown-type", "POST", f"sys/mounts/bad-{RUN}", {"type": "nonesuch"}),
    Step("auth-mounts/list", "GET", "sys/auth", values=MOUNT_VALUES),
    Step("auth-mounts/read-approle", "GET", "sys/auth/approle", values=("type",)),
    # A second approle mount, with items of its own.
    Step("auth-mounts/enable-approle-second", "POST", f"sys/auth/{CI}-approle",
         {"type": "approle"}),
    Step("auth-mounts/disable-approle-second", "DELETE", f"sys/auth/{CI}-approle"),
    Step("auth-mounts/enable-jwt", "POST", f"sys/auth/{CI}",
         {"type": "jwt", "description": "compat"}),
    Step("auth-mounts/list-after-enable", "GET", "sys/auth", values=MOUNT_VALUES),
    Step("auth-mounts/read-jwt", "GET", f"sys/auth/{CI}", values=("type", "description")),
    Step("auth-mounts/tune-read", "GET", f"sys/auth/{CI}/tune", values=TUNE_VALUES),
    Step("auth-mounts/tune-write", "POST", f"sys/auth/{CI}/tune",
         {"default_lease_ttl": "30m", "max_lease_ttl": "1h", "description": "compat tuned"}),
    Step("auth-mounts/tune-reread", "GET", f"sys/auth/{CI}/tune", values=TUNE_VALUES),
    # `vault auth tune` sends its tune to sys/mounts/auth/:path/tune.
    Step("auth-mounts/tune-write-via-mounts", "POST", f"sys/mounts/auth/{CI}/tune",
         {"default_lease_ttl": "20m"}),
    Step("auth-mounts/tune-read-via-mounts", "GET", f"sys/mounts/auth/{CI}/tune",
         values=TUNE_VALUES),
    Step("auth-mounts/role-write-new-mount", "POST", f"auth/{CI}/role/r",
         {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["compat"]}),
    Step("auth-mounts/ui-mount-approle", "GET", "sys/internal/ui/mounts/auth/approle/role",
         values=("data.type", "data.path")),
    Step("auth-mounts/ui-mount-jwt", "GET", f"sys/internal/ui/mounts/auth/{CI}/role",
         values=("data.type", "data.path")),
    Step("auth-mounts/disable-token", "DELETE", "sys/auth/token"),
    Step("auth-mounts/disable", "DELETE", f"sys/auth/{CI}"),
    Step("auth-mounts/role-read-disabled-mount", "GET", f"auth/{CI}/role/r"),
]

AWS_ROLE = f"compat-{RUN}"
AWS_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
aws_secrets = [
    Step("aws/config-root-read-unset", "GET", "aws/config/root"),
    Step("aws/config-root-write", "POST", "aws/config/root", {"region": "us-east-1", "max_retries": 3}),
    Step("aws/config-root-read", "GET", "aws/config/root"),
    Step("aws/config-lease-write", "POST", "aws/config/lease", {"lease": "30m", "lease_max": "1h"}),
    Step("aws/config-lease-read", "GET", "aws/config/lease"),
    Step("aws/role-write-iam-user", "POST", f"aws/roles/{AWS_ROLE}",
         {"credential_type": "iam_user", "policy_document": AWS_POLICY}),
    Step("aws/role-write-assumed", "POST", f"aws/roles/{AWS_ROLE}-sts",
         {"credential_type": "assumed_role",
          "role_arns": ["arn:aws:iam::123456789012:role/compat"], "default_sts_ttl": "15m",
          "max_sts_ttl": "1h"}),
    Step("aws/role-read", "GET", f"aws/roles/{AWS_ROLE}"),
    Step("aws/role-read-assumed", "GET", f"aws/roles/{AWS_ROLE}-sts"),
    Step("aws/role-list", "LIST", "aws/roles"),
    Step("aws/role-read-missing", "GET", f"aws/roles/{AWS_ROLE}-none"),
    Step("aws/creds-unknown-role", "GET", f"aws/creds/{AWS_ROLE}-none"),
    Step("aws/creds-post-unknown-role", "POST", f"aws/creds/{AWS_ROLE}-none", {}),
    Step("aws/sts-unknown-role", "POST", f"aws/sts/{AWS_ROLE}-none", {"ttl": "15m"}),
    Step("aws/role-delete", "DELETE", f"aws/roles/{AWS_ROLE}"),
    # A second aws secrets mount: its own roles and configuration, its credentials
    # routed like aws/'s.
    Step("aws/enable-second-mount", "POST", f"sys/mounts/aws-{RUN}", {"type": "aws"}),
    Step("aws/second-mount-role-list-empty", "LIST", f"aws-{RUN}/roles"),
    Step("aws/second-mount-role-write", "POST", f"aws-{RUN}/roles/{AWS_ROLE}",
         {"credential_type": "iam_user", "policy_document": AWS_POLICY}),
    Step("aws/second-mount-role-read", "GET", f"aws-{RUN}/roles/{AWS_ROLE}"),
    Step("aws/second-mount-creds-unknown-role", "GET", f"aws-{RUN}/creds/{AWS_ROLE}-sts"),
    Step("aws/second-mount-disable", "DELETE", f"sys/mounts/aws-{RUN}"),
    Step("aws/second-mount-role-read-disabled", "GET", f"aws-{RUN}/roles/{AWS_ROLE}"),
    Step("aws/role-delete-sts", "DELETE", f"aws/roles/{AWS_ROLE}-sts"),
]

JWT_ROLE = f"compat-{RUN}"
TPL_POLICY = (
    'path "secret/data/tpl-%s/{{identity.entity.aliases.${jwt_acc}.metadata.repository}}/*" '
    '{ capabilities = ["read"] }\n' % RUN
)
# (repository claim, step name): the owner of compat/a, then hostile claims.
TPL_REPOS = [("compat/a", "a"), ("*", "star"), ("compat/*", "slash-star"), ("compat/+", "plus"),
             ("compat/a/../b", "dotdot")]


def tpl_jwt(repo):
    """A job token whose `repository` claim is `repo` (its own `sub`, so its own alias)."""
    return jwt({"iss": ISSUER, "sub": f"repo:{repo}:ref:refs/heads/main", "aud": "compat",
                "repository": repo, "iat": _NOW, "nbf": _NOW, "exp": _NOW + 3600})


# (groups claim, step name): a member (the alias's name in another case, and among
# unknown names), then claims that must match nothing.
GRP_LOGINS = [([f"dev-{RUN}"], "member"), ([f"DEV-{RUN}", "unknown"], "member-case"),
              (["*"], "star"), ([f"dev-{RUN}/.."], "dotdot"), ([f"dev-{RUN[:4]}*"], "glob"),
              ([], "none")]


def grp_jwt(name, groups):
    """A job token of its own repository (`compat/grp-<name>`) carrying `groups`."""
    return jwt({"iss": ISSUER, "sub": f"repo:compat/grp-{name}:ref:refs/heads/main",
                "aud": "compat", "groups": groups, "iat": _NOW, "nbf": _NOW,
                "exp": _NOW + 3600})


jwt_auth = [
    Step("jwt/config-write", "POST", "auth/jwt/config",
         {"jwt_validation_pubkeys": [PUBKEY_PEM], "bound_issuer": ISSUER,
          "jwt_supported_algs": ["RS256"]}),
    Step("jwt/config-read", "GET", "auth/jwt/config"),
    Step("jwt/role-write", "POST", f"auth/jwt/role/{JWT_ROLE}",
         {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["compat"],
          "bound_claims": {"sub": "repo:compat/*"}, "bound_claims_type": "glob",
          "token_policies": ["default"], "token_ttl": "10m"}),
    Step("jwt/role-read", "GET", f"auth/jwt/role/{JWT_ROLE}"),
    Step("jwt/role-list", "LIST", "auth/jwt/role"),
    Step("jwt/login", "POST", "auth/jwt/login", {"role": JWT_ROLE, "jwt": JWT_OK}, token=None,
         save={"jwt_token": "auth.client_token"}),
    Step("jwt/login-token-lookup", "GET", "auth/token/lookup-self", token="${jwt_token}"),
    Step("jwt/login-wrong-audience", "POST", "auth/jwt/login",
         {"role": JWT_ROLE, "jwt": JWT_WRONG_AUD}, token=None),
    Step("jwt/login-garbage", "POST", "auth/jwt/login", {"role": JWT_ROLE, "jwt": "x.y.z"}, token=None),
    # Identity templates (issue 17): one role and one templated policy for every
    # repository, resolved from the login's alias metadata on each server (each with its
    # own mount accessor, saved first).
    Step("jwt/tpl-accessor", "GET", "sys/auth", save={"jwt_acc": "data.jwt/.accessor"}),
    Step("jwt/tpl-policy", "PUT", f"sys/policies/acl/tpl-{RUN}",
         {"policy": TPL_POLICY, "allow_slashes_in_identity_templates": True}),
    Step("jwt/tpl-role", "POST", f"auth/jwt/role/tpl-{RUN}",
         {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["compat"],
          "claim_mappings": {"repository": "repository"}, "token_policies": [f"tpl-{RUN}"]}),
    Step("jwt/tpl-secret-a", "POST", f"secret/data/tpl-{RUN}/compat/a/db", {"data": {"k": "a"}}),
    Step("jwt/tpl-secret-b", "POST", f"secret/data/tpl-{RUN}/compat/b/db", {"data": {"k": "b"}}),
    *[step for repo, name in TPL_REPOS for step in (
        Step(f"jwt/tpl-login-{name}", "POST", "auth/jwt/login",
             {"role": f"tpl-{RUN}", "jwt": tpl_jwt(repo)}, token=None,
             save={f"tpl_{name}": "auth.client_token"}),
        Step(f"jwt/tpl-{name}-reads-a", "GET", f"secret/data/tpl-{RUN}/compat/a/db",
             token=f"${{tpl_{name}}}"),
        Step(f"jwt/tpl-{name}-reads-b", "GET", f"secret/data/tpl-{RUN}/compat/b/db",
             token=f"${{tpl_{name}}}"),
    )],
    # External groups from a groups_claim (issue 17): a group alias on the JWT mount
    # names the claim value; each login is another repository (another entity), so
    # Sigil's per-function identity cache plays no part.
    Step("jwt/grp-policy", "PUT", f"sys/policies/acl/grp-{RUN}",
         {"policy": f'path "secret/data/grp-{RUN}/*" {{ capabilities = ["read"] }}'}),
    Step("jwt/grp-parent-policy", "PUT", f"sys/policies/acl/grp-top-{RUN}",
         {"policy": f'path "secret/data/grp-top-{RUN}/*" {{ capabilities = ["read"] }}'}),
    Step("jwt/grp-secret", "POST", f"secret/data/grp-{RUN}/db", {"data": {"k": "g"}}),
    Step("jwt/grp-top-secret", "POST", f"secret/data/grp-top-{RUN}/db", {"data": {"k": "t"}}),
    Step("jwt/grp-group", "POST", "identity/group",
         {"name": f"grp-{RUN}", "type": "external", "policies": f"grp-{RUN}"},
         save={"jwt_gid": "data.id"}),
    Step("jwt/grp-parent", "POST", "identity/group",
         {"name": f"grp-top-{RUN}", "policies": f"grp-top-{RUN}",
          "member_group_ids": ["${jwt_gid}"]}, save={"jwt_gtop": "data.id"}),
    Step("jwt/grp-alias", "POST", "identity/group-alias",
         {"name": f"dev-{RUN}", "mount_accessor": "${jwt_acc}", "canonical_id": "${jwt_gid}"}),
    Step("jwt/grp-role", "POST", f"auth/jwt/role/grp-{RUN}",
         {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["compat"],
          "groups_claim": "groups", "token_policies": ["default"]}),
    *[step for groups, name in GRP_LOGINS for step in (
        Step(f"jwt/grp-login-{name}", "POST", "auth/jwt/login",
             {"role": f"grp-{RUN}", "jwt": grp_jwt(name, groups)}, token=None,
             save={f"grp_{name}": "auth.client_token"}),
        Step(f"jwt/grp-{name}-lookup-self", "GET", "auth/token/lookup-self",
             token=f"${{grp_{name}}}", values=("data.identity_policies",)),
        Step(f"jwt/grp-{name}-reads", "GET", f"secret/data/grp-{RUN}/db",
             token=f"${{grp_{name}}}"),
        Step(f"jwt/grp-{name}-reads-parent", "GET", f"secret/data/grp-top-{RUN}/db",
             token=f"${{grp_{name}}}"),
    )],
    Step("jwt/grp-group-read", "GET", "identity/group/id/${jwt_gid}",
         values=("data.alias.name", "data.alias.mount_type")),
    Step("jwt/grp-role-delete", "DELETE", f"auth/jwt/role/grp-{RUN}"),
    Step("jwt/grp-parent-delete", "DELETE", "identity/group/id/${jwt_gtop}"),
    Step("jwt/grp-group-delete", "DELETE", "identity/group/id/${jwt_gid}"),
    Step("jwt/grp-policy-delete", "DELETE", f"sys/policies/acl/grp-{RUN}"),
    Step("jwt/grp-parent-policy-delete", "DELETE", f"sys/policies/acl/grp-top-{RUN}"),
    Step("jwt/tpl-role-delete", "DELETE", f"auth/jwt/role/tpl-{RUN}"),
    Step("jwt/tpl-policy-delete", "DELETE", f"sys/policies/acl/tpl-{RUN}"),
    Step("jwt/role-delete", "DELETE", f"auth/jwt/role/{JWT_ROLE}"),
    Step("jwt/role-read-missing", "GET", f"auth/jwt/role/{JWT_ROLE}"),
]

K8S_ROLE = f"compat-{RUN}"
kubernetes_auth = [
    Step("kubernetes/config-write", "POST", "auth/kubernetes/config",
         {"kubernetes_host": "https://127.0.0.1:1", "pem_keys": [PUBKEY_PEM],
          "kubernetes_ca_cert": CA_PEM, "disable_iss_validation": True,
          "disable_local_ca_jwt": True}),
    Step("kubernetes/config-read", "GET", "auth/kubernetes/config"),
    Step("kubernetes/role-write", "POST", f"auth/kubernetes/role/{K8S_ROLE}",
         {"bound_service_account_names": ["app"], "bound_service_account_namespaces": ["prod-*"],
          "audience": "compat", "token_policies": ["default"], "token_ttl": 600}),
    Step("kubernetes/role-read", "GET", f"auth/kubernetes/role/{K8S_ROLE}"),
    Step("kubernetes/role-list", "LIST", "auth/kubernetes/role"),
    Step("kubernetes/login-garbage", "POST", "auth/kubernetes/login",
         {"role": K8S_ROLE, "jwt": "x.y.z"}, token=None),
    Step("kubernetes/role-delete", "DELETE", f"auth/kubernetes/role/{K8S_ROLE}"),
]

AWS_AUTH_ROLE = f"compat-{RUN}"
aws_auth = [
    Step("aws-auth/config-client-write", "POST", "auth/aws/config/client",
         {"sts_endpoint": "https://sts.us-east-1.amazonaws.com", "sts_region": "us-east-1",
          "iam_server_id_header_value": "compat.example"}),
    Step("aws-auth/config-client-read", "GET", "auth/aws/config/client"),
    Step("aws-auth/config-identity-read", "GET", "auth/aws/config/identity"),
    Step("aws-auth/config-identity-write", "POST", "auth/aws/config/identity",
         {"iam_alias": "full_arn", "iam_metadata": ["account_id", "client_arn"]}),
    Step("aws-auth/config-identity-bad-alias", "POST", "auth/aws/config/identity",
         {"iam_alias": "arn"}),
    Step("aws-auth/config-identity-reset", "POST", "auth/aws/config/identity",
         {"iam_alias": "role_id", "iam_metadata": "default"}),
    Step("aws-auth/role-write", "POST", f"auth/aws/role/{AWS_AUTH_ROLE}",
         {"auth_type": "iam", "bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/compat"],
          "resolve_aws_unique_ids": False, "token_policies": ["default"], "token_ttl": "10m"}),
    Step("aws-auth/role-read", "GET", f"auth/aws/role/{AWS_AUTH_ROLE}"),
    Step("aws-auth/role-list", "LIST", "auth/aws/role"),
    Step("aws-auth/login-unsigned", "POST", "auth/aws/login",
         {"role": AWS_AUTH_ROLE, "iam_http_request_method": "POST",
          "iam_request_url": base64.b64encode(b"https://sts.amazonaws.com/").decode(),
          "iam_request_body": base64.b64encode(
              b"Action=GetCallerIdentity&Version=2011-06-15").decode(),
          "iam_request_headers": base64.b64encode(b"{}").decode()}, token=None),
    Step("aws-auth/role-delete", "DELETE", f"auth/aws/role/{AWS_AUTH_ROLE}"),
    Step("aws-auth/enable-second-mount", "POST", f"sys/auth/aws-{RUN}", {"type": "aws"}),
    Step("aws-auth/disable-second-mount", "DELETE", f"sys/auth/aws-{RUN}"),
    Step("aws-auth/config-client-delete", "DELETE", "auth/aws/config/client"),
]


# --- transit ----------------------------------------------------------------------------

T = f"transit-{RUN}"
P = base64.b64encode(b"the quick brown fox").decode()
P2 = base64.b64encode(b"jumps over the lazy dog").decode()
CTX = base64.b64encode(b"tenant-7").decode()
AAD = base64.b64encode(b"order-42").decode()
KEY_SHAPE = ("data.type", "data.latest_version", "data.min_decryption_version",
             "data.min_encryption_version", "data.min_available_version", "data.derived",
             "data.exportable", "data.deletion_allowed", "data.supports_encryption",
             "data.supports_signing", "data.supports_derivation", "data.keys.*.name")
# Malformed ciphertexts: each must answer 400 as OpenBao does.
HOSTILE = [("prefix-only", "vault:"), ("no-prefix", "x"), ("no-version-field", "vault:v1"),
           ("version-not-a-number", "vault:vx:AAAA"),
           ("version-overflow", "vault:v99999999999999999999:AAAA"),
           ("v0-empty", "vault:v0:"), ("version-too-new", "vault:v99:abc"),
           ("version-negative", "vault:v-1:AAAA"), ("bad-base64", "vault:v1:!!"),
           ("unpadded-base64", "vault:v1:aGVsbG8"), ("truncated", "vault:v1:AAAA"),
           ("tampered", "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
           ("empty", "")]

transit = [
    Step("transit/enable", "POST", f"sys/mounts/{T}", {"type": "transit"}),
    Step("transit/key-create", "POST", f"{T}/keys/aes", EMPTY, values=KEY_SHAPE),
    Step("transit/key-create-again", "POST", f"{T}/keys/aes", {"type": "aes256-gcm96"}),
    Step("transit/key-create-aes128", "POST", f"{T}/keys/aes128", {"type": "aes128-gcm96"},
         values=KEY_SHAPE),
    Step("transit/key-create-chacha", "POST", f"{T}/keys/chacha", {"type": "chacha20-poly1305"},
         values=KEY_SHAPE),
    Step("transit/key-create-ed25519", "POST", f"{T}/keys/ed", {"type": "ed25519"},
         values=KEY_SHAPE),
    Step("transit/key-create-ecdsa", "POST", f"{T}/keys/ec", {"type": "ecdsa-p256"},
         values=KEY_SHAPE),
    Step("transit/key-create-ecdsa-p384", "POST", f"{T}/keys/ec384", {"type": "ecdsa-p384"},
         values=KEY_SHAPE),
    Step("transit/key-create-rsa", "POST", f"{T}/keys/rsa", {"type": "rsa-2048"},
         values=KEY_SHAPE),
    Step("transit/key-create-hmac", "POST", f"{T}/keys/mac", {"type": "hmac", "key_size": 32},
         values=KEY_SHAPE + ("data.key_size",)),
    Step("transit/key-create-convergent", "POST", f"{T}/keys/conv",
         {"derived": True, "convergent_encryption": True}, values=KEY_SHAPE + ("data.kdf",)),
    Step("transit/key-create-derived-ed25519", "POST", f"{T}/keys/edd",
         {"type": "ed25519", "derived": True}, values=KEY_SHAPE),
    Step("transit/key-create-options", "POST", f"{T}/keys/opts",
         {"exportable": True, "allow_plaintext_backup": True, "auto_rotate_period": "2h"},
         values=KEY_SHAPE + ("data.allow_plaintext_backup", "data.auto_rotate_period")),
    Step("transit/key-create-unknown-type", "POST", f"{T}/keys/bad", {"type": "nope"}),
    Step("transit/key-create-convergent-not-derived", "POST", f"{T}/keys/bad",
         {"convergent_encryption": True}),
    Step("transit/key-create-short-rotation", "POST", f"{T}/keys/bad",
         {"auto_rotate_period": "10m"}),
    Step("transit/key-create-key-size-not-hmac", "POST", f"{T}/keys/bad", {"key_size": 32}),
    Step("transit/key-create-hmac-key-size-small", "POST", f"{T}/keys/bad",
         {"type": "hmac", "key_size": 16}),
    Step("transit/key-create-hmac-no-key-size", "POST", f"{T}/keys/bad", {"type": "hmac"}),
    Step("transit/key-read", "GET", f"{T}/keys/aes", values=KEY_SHAPE),
    Step("transit/key-read-ed25519", "GET", f"{T}/keys/ed", values=KEY_SHAPE),
    Step("transit/key-read-ecdsa", "GET", f"{T}/keys/ec", values=KEY_SHAPE),
    Step("transit/key-read-rsa", "GET", f"{T}/keys/rsa", values=KEY_SHAPE),
    Step("transit/key-read-hmac", "GET", f"{T}/keys/mac", values=KEY_SHAPE),
    Step("transit/key-read-derived-ed25519", "GET", f"{T}/keys/edd", values=KEY_SHAPE),
    Step("transit/key-read-derived-ed25519-context", "GET", f"{T}/keys/edd?context={CTX}",
         values=KEY_SHAPE),
    Step("transit/key-read-missing", "GET", f"{T}/keys/missing"),
    Step("transit/key-list", "LIST", f"{T}/keys", values=("data.keys",)),
    Step("transit/key-list-get", "GET", f"{T}/keys?list=true", values=("data.keys",)),
    # Encryption.
    Step("transit/encrypt", "POST", f"{T}/encrypt/aes", {"plaintext": P},
         save={"ct1": "data.ciphertext"}, values=("data.key_version",)),
    Step("transit/encrypt-put", "PUT", f"{T}/encrypt/aes", {"plaintext": P2}),
    Step("transit/encrypt-aes128", "POST", f"{T}/encrypt/aes128", {"plaintext": P}),
    Step("transit/encrypt-chacha", "POST", f"{T}/encrypt/chacha", {"plaintext": P},
         save={"ct_chacha": "data.ciphertext"}),
    Step("transit/encrypt-rsa", "POST", f"{T}/encrypt/rsa", {"plaintext": P},
         save={"ct_rsa": "data.ciphertext"}),
    Step("transit/encrypt-aad", "POST", f"{T}/encrypt/aes",
         {"plaintext": P, "associated_data": AAD}, save={"ct_aad": "data.ciphertext"}),
    Step("transit/encrypt-upsert", "POST", f"{T}/encrypt/upserted", {"plaintext": P}),
    Step("transit/encrypt-upsert-derived", "POST", f"{T}/encrypt/upserted-derived",
         {"plaintext": P, "context": CTX}),
    Step("transit/key-read-upserted-derived", "GET", f"{T}/keys/upserted-derived",
         values=KEY_SHAPE),
    Step("transit/encrypt-upsert-signing-type", "POST", f"{T}/encrypt/upserted-ec",
         {"plaintext": P, "type": "ecdsa-p256"}),
    Step("transit/encrypt-convergent", "POST", f"{T}/encrypt/conv",
         {"plaintext": P, "context": CTX}, save={"ct_conv": "data.ciphertext"}),
    Step("transit/encrypt-convergent-no-context", "POST", f"{T}/encrypt/conv", {"plaintext": P}),
    Step("transit/encrypt-batch", "POST", f"{T}/encrypt/aes",
         {"batch_input": [{"plaintext": P, "reference": "a"}, {"plaintext": P2}]}),
    Step("transit/encrypt-batch-item-errors", "POST", f"{T}/encrypt/aes",
         {"batch_input": [{"plaintext": P, "reference": "ok"}, {"plaintext": "!!"},
                          {"plaintext": P, "key_version": 7}]}),
    Step("transit/encrypt-batch-empty", "POST", f"{T}/encrypt/aes", {"batch_input": []}),
    Step("transit/encrypt-batch-not-a-list", "POST", f"{T}/encrypt/aes", {"batch_input": "x"}),
    Step("transit/encrypt-batch-item-not-a-string", "POST", f"{T}/encrypt/aes",
         {"batch_input": [{"plaintext": 5}]}),
    Step("transit/encrypt-batch-context-mismatch", "POST", f"{T}/encrypt/aes",
         {"batch_input": [{"plaintext": P}, {"plaintext": P, "context": CTX}]}),
    Step("transit/encrypt-missing-plaintext", "POST", f"{T}/encrypt/aes", EMPTY),
    Step("transit/encrypt-bad-base64", "POST", f"{T}/encrypt/aes", {"plaintext": "aGVsbG8"}),
    Step("transit/encrypt-version-too-new", "POST", f"{T}/encrypt/aes",
         {"plaintext": P, "key_version": 2}),
    Step("transit/encrypt-version-negative", "POST", f"{T}/encrypt/aes",
         {"plaintext": P, "key_version": -1}),
    Step("transit/encrypt-signing-key", "POST", f"{T}/encrypt/ed", {"plaintext": P}),
    # Decryption, and hostile ciphertexts.
    Step("transit/decrypt", "POST", f"{T}/decrypt/aes", {"ciphertext": "${ct1}"},
         values=("data.plaintext",)),
    Step("transit/decrypt-chacha", "POST", f"{T}/decrypt/chacha", {"ciphertext": "${ct_chacha}"},
         values=("data.plaintext",)),
    Step("transit/decrypt-rsa", "POST", f"{T}/decrypt/rsa", {"ciphertext": "${ct_rsa}"},
         values=("data.plaintext",)),
    Step("transit/decrypt-aad", "POST", f"{T}/decrypt/aes",
         {"ciphertext": "${ct_aad}", "associated_data": AAD}, values=("data.plaintext",)),
    Step("transit/decrypt-aad-missing", "POST", f"{T}/decrypt/aes", {"ciphertext": "${ct_aad}"}),
    Step("transit/decrypt-convergent", "POST", f"{T}/decrypt/conv",
         {"ciphertext": "${ct_conv}", "context": CTX}, values=("data.plaintext",)),
    Step("transit/decrypt-batch", "POST", f"{T}/decrypt/aes",
         {"batch_input": [{"ciphertext": "${ct1}", "reference": "a"}, {"ciphertext": "vault:"},
                          {"ciphertext": "vault:v1:AAAA"}]}),
    Step("transit/decrypt-missing-key", "POST", f"{T}/decrypt/missing", {"ciphertext": "${ct1}"}),
    Step("transit/decrypt-signing-key", "POST", f"{T}/decrypt/ed", {"ciphertext": "${ct1}"}),
] + [Step(f"transit/decrypt-hostile-{name}", "POST", f"{T}/decrypt/aes", {"ciphertext": c})
     for name, c in HOSTILE] + [
    # Rotation, rewrap, configuration, trim, deletion.
    Step("transit/rotate", "POST", f"{T}/keys/aes/rotate", EMPTY, values=KEY_SHAPE),
    Step("transit/encrypt-v2", "POST", f"{T}/encrypt/aes", {"plaintext": P},
         values=("data.key_version",)),
    Step("transit/encrypt-old-version", "POST", f"{T}/encrypt/aes",
         {"plaintext": P, "key_version": 1}, values=("data.key_version",)),
    Step("transit/rewrap", "POST", f"{T}/rewrap/aes", {"ciphertext": "${ct1}"},
         save={"ct1_v2": "data.ciphertext"}, values=("data.key_version",)),
    Step("transit/rewrap-batch", "POST", f"{T}/rewrap/aes",
         {"batch_input": [{"ciphertext": "${ct1}", "reference": "r"}, {"ciphertext": "vault:"}]}),
    Step("transit/rewrap-missing-ciphertext", "POST", f"{T}/rewrap/aes", EMPTY),
    Step("transit/config-min-decryption", "POST", f"{T}/keys/aes/config",
         {"min_decryption_version": 2}, values=KEY_SHAPE),
    Step("transit/decrypt-too-old", "POST", f"{T}/decrypt/aes", {"ciphertext": "${ct1}"}),
    Step("transit/decrypt-rewrapped", "POST", f"{T}/decrypt/aes", {"ciphertext": "${ct1_v2}"},
         values=("data.plaintext",)),
    Step("transit/config-min-decryption-too-high", "POST", f"{T}/keys/aes/config",
         {"min_decryption_version": 9}),
    Step("transit/config-min-decryption-negative", "POST", f"{T}/keys/aes/config",
         {"min_decryption_version": -1}),
    Step("transit/config-min-encryption-below-decryption", "POST", f"{T}/keys/aes/config",
         {"min_encryption_version": 1}),
    Step("transit/config-min-encryption", "POST", f"{T}/keys/aes/config",
         {"min_encryption_version": 2}, values=KEY_SHAPE),
    Step("transit/config-min-decryption-zero", "POST", f"{T}/keys/aes/config",
         {"min_decryption_version": 0}),
    Step("transit/encrypt-below-min-encryption", "POST", f"{T}/encrypt/aes",
         {"plaintext": P, "key_version": 1}),
    Step("transit/trim-missing-version", "POST", f"{T}/keys/aes/trim", EMPTY),
    Step("transit/trim-too-high", "POST", f"{T}/keys/aes/trim", {"min_available_version": 3}),
    Step("transit/trim", "POST", f"{T}/keys/aes/trim", {"min_available_version": 2},
         values=KEY_SHAPE),
    Step("transit/trim-decrement", "POST", f"{T}/keys/aes/trim", {"min_available_version": 1}),
    Step("transit/trim-missing-key", "POST", f"{T}/keys/missing/trim",
         {"min_available_version": 1}),
    Step("transit/config-missing-key", "POST", f"{T}/keys/missing/config",
         {"deletion_allowed": True}),
    Step("transit/rotate-missing-key", "POST", f"{T}/keys/missing/rotate", EMPTY),
    Step("transit/delete-not-allowed", "DELETE", f"{T}/keys/chacha"),
    Step("transit/config-deletion-allowed", "POST", f"{T}/keys/chacha/config",
         {"deletion_allowed": True}, values=KEY_SHAPE),
    Step("transit/delete", "DELETE", f"{T}/keys/chacha"),
    Step("transit/delete-missing", "DELETE", f"{T}/keys/chacha"),
    # Data keys.
    Step("transit/datakey-plaintext", "POST", f"{T}/datakey/plaintext/aes", EMPTY,
         values=("data.key_version",)),
    Step("transit/datakey-wrapped", "POST", f"{T}/datakey/wrapped/aes", {"bits": 512}),
    Step("transit/datakey-bad-bits", "POST", f"{T}/datakey/plaintext/aes", {"bits": 100}),
    Step("transit/datakey-bad-kind", "POST", f"{T}/datakey/other/aes", EMPTY),
    Step("transit/datakey-missing-key", "POST", f"{T}/datakey/plaintext/missing", EMPTY),
    # HMAC.
    Step("transit/hmac", "POST", f"{T}/hmac/mac", {"input": P}, save={"mac": "data.hmac"}),
    Step("transit/hmac-sha512", "POST", f"{T}/hmac/aes/sha2-512", {"input": P},
         save={"mac512": "data.hmac"}),
    Step("transit/hmac-batch", "POST", f"{T}/hmac/mac",
         {"batch_input": [{"input": P, "reference": "a"}, {"input": "!"}, {}]}),
    Step("transit/hmac-missing-input", "POST", f"{T}/hmac/mac", EMPTY),
    Step("transit/hmac-bad-algorithm", "POST", f"{T}/hmac/mac/md5", {"input": P}),
    Step("transit/hmac-missing-key", "POST", f"{T}/hmac/missing", {"input": P}),
    Step("transit/verify-hmac", "POST", f"{T}/verify/mac", {"input": P, "hmac": "${mac}"},
         values=("data.valid",)),
    Step("transit/verify-hmac-sha512", "POST", f"{T}/verify/aes/sha2-512",
         {"input": P, "hmac": "${mac512}"}, values=("data.valid",)),
    Step("transit/verify-hmac-wrong-input", "POST", f"{T}/verify/mac",
         {"input": P2, "hmac": "${mac}"}, values=("data.valid",)),
    Step("transit/verify-hmac-batch", "POST", f"{T}/verify/mac",
         {"batch_input": [{"input": P, "hmac": "${mac}"}, {"input": P, "hmac": "x"}]}),
    Step("transit/verify-hmac-bad-base64", "POST", f"{T}/verify/mac",
         {"input": P, "hmac": "vault:v1:!!"}),
    Step("transit/verify-neither", "POST", f"{T}/verify/mac", {"input": P}),
    Step("transit/verify-both", "POST", f"{T}/verify/ed",
         {"input": P, "hmac": "${mac}", "signature": "vault:v1:AAAA"}),
    # Signatures.
    Step("transit/sign-ed25519", "POST", f"{T}/sign/ed", {"input": P},
         save={"sig_ed": "data.signature"}, values=("data.key_version",)),
    Step("transit/verify-ed25519", "POST", f"{T}/verify/ed",
         {"input": P, "signature": "${sig_ed}"}, values=("data.valid",)),
    Step("transit/verify-ed25519-wrong-input", "POST", f"{T}/verify/ed",
         {"input": P2, "signature": "${sig_ed}"}, values=("data.valid",)),
    Step("transit/verify-bad-prefix", "POST", f"{T}/verify/ed", {"input": P, "signature": "x"}),
    Step("transit/verify-version-too-new", "POST", f"{T}/verify/ed",
         {"input": P, "signature": "vault:v9:AAAA"}),
    Step("transit/sign-ed25519-batch", "POST", f"{T}/sign/ed",
         {"batch_input": [{"input": P, "reference": "a"}, {"input": "!"}, {"context": "x"}]}),
    Step("transit/verify-ed25519-batch", "POST", f"{T}/verify/ed",
         {"batch_input": [{"input": P, "signature": "${sig_ed}"},
                          {"input": P, "signature": "x"}]}),
    Step("transit/sign-derived-ed25519", "POST", f"{T}/sign/edd", {"input": P, "context": CTX},
         save={"sig_edd": "data.signature"}),
    Step("transit/verify-derived-ed25519", "POST", f"{T}/verify/edd",
         {"input": P, "context": CTX, "signature": "${sig_edd}"}, values=("data.valid",)),
    Step("transit/sign-ecdsa", "POST", f"{T}/sign/ec", {"input": P},
         save={"sig_ec": "data.signature"}),
    Step("transit/verify-ecdsa", "POST", f"{T}/verify/ec",
         {"input": P, "signature": "${sig_ec}"}, values=("data.valid",)),
    Step("transit/sign-ecdsa-jws-sha512", "POST", f"{T}/sign/ec/sha2-512",
         {"input": P, "marshaling_algorithm": "jws"}, save={"sig_ec_jws": "data.signature"}),
    Step("transit/verify-ecdsa-jws-sha512", "POST", f"{T}/verify/ec/sha2-512",
         {"input": P, "marshaling_algorithm": "jws", "signature": "${sig_ec_jws}"},
         values=("data.valid",)),
    Step("transit/verify-ecdsa-garbage", "POST", f"{T}/verify/ec",
         {"input": P, "signature": "vault:v1:AAAA"}),
    Step("transit/sign-ecdsa-p384-prehashed", "POST", f"{T}/sign/ec384",
         {"input": base64.b64encode(b"\x01" * 48).decode(), "prehashed": True,
          "hash_algorithm": "sha2-384"}, save={"sig_ec384": "data.signature"}),
    Step("transit/verify-ecdsa-p384-prehashed", "POST", f"{T}/verify/ec384",
         {"input": base64.b64encode(b"\x01" * 48).decode(), "prehashed": True,
          "hash_algorithm": "sha2-384", "signature": "${sig_ec384}"}, values=("data.valid",)),
    Step("transit/sign-rsa-pss", "POST", f"{T}/sign/rsa", {"input": P},
         save={"sig_rsa": "data.signature"}),
    Step("transit/verify-rsa-pss", "POST", f"{T}/verify/rsa",
         {"input": P, "signature": "${sig_rsa}"}, values=("data.valid",)),
    Step("transit/sign-rsa-pkcs1v15", "POST", f"{T}/sign/rsa/sha2-384",
         {"input": P, "signature_algorithm": "pkcs1v15"}, save={"sig_rsa15": "data.signature"}),
    Step("transit/verify-rsa-pkcs1v15", "POST", f"{T}/verify/rsa/sha2-384",
         {"input": P, "signature_algorithm": "pkcs1v15", "signature": "${sig_rsa15}"},
         values=("data.valid",)),
    Step("transit/sign-symmetric-key", "POST", f"{T}/sign/aes", {"input": P}),
    Step("transit/verify-symmetric-key", "POST", f"{T}/verify/aes",
         {"input": P, "signature": "vault:v1:AAAA"}),
    Step("transit/sign-bad-hash", "POST", f"{T}/sign/ec", {"input": P, "hash_algorithm": "md5"}),
    Step("transit/sign-bad-marshaling", "POST", f"{T}/sign/ec",
         {"input": P, "marshaling_algorithm": "der"}),
    Step("transit/sign-none-hash", "POST", f"{T}/sign/rsa", {"input": P, "hash_algorithm": "none"}),
    Step("transit/sign-missing-key", "POST", f"{T}/sign/missing", {"input": P}),
    Step("transit/sign-version-too-new", "POST", f"{T}/sign/ed", {"input": P, "key_version": 5}),
    # Random bytes and hashes.
    Step("transit/random", "POST", f"{T}/random", EMPTY),
    Step("transit/random-bytes", "POST", f"{T}/random/16", {"format": "hex"}),
    Step("transit/random-source", "POST", f"{T}/random/platform/8", EMPTY),
    Step("transit/random-seal", "POST", f"{T}/random/seal/8", EMPTY),
    Step("transit/random-zero", "POST", f"{T}/random/0", EMPTY),
    Step("transit/random-not-a-number", "POST", f"{T}/random/abc", EMPTY),
    Step("transit/random-bad-source", "POST", f"{T}/random/x/4", EMPTY),
    Step("transit/random-too-many", "POST", f"{T}/random/200000", EMPTY),
    Step("transit/random-bad-format", "POST", f"{T}/random", {"format": "base32"}),
    Step("transit/hash", "POST", f"{T}/hash", {"input": P}, values=("data.sum",)),
    Step("transit/hash-sha512-base64", "POST", f"{T}/hash/sha2-512",
         {"input": P, "format": "base64"}, values=("data.sum",)),
    Step("transit/hash-sha3", "POST", f"{T}/hash", {"input": P, "algorithm": "sha3-256"},
         values=("data.sum",)),
    Step("transit/hash-unknown", "POST", f"{T}/hash/md5", {"input": P}),
    Step("transit/hash-missing-input", "POST", f"{T}/hash", EMPTY),
    Step("transit/hash-bad-format", "POST", f"{T}/hash", {"input": P, "format": "base32"}),
    Step("transit/disable", "DELETE", f"sys/mounts/{T}"),
]


def approle_login_steps(step, name, role):
    """An AppRole role `{name}-{RUN}` (unlimited secret ID uses, `role`'s fields), its
    role ID and a secret ID, then a login: saves `{name}_role_id`, `{name}_secret`,
    `{name}_token` and `{name}_eid` (the token's entity)."""
    path = f"auth/approle/role/{name}-{RUN}"
    return [
        Step(f"identity/{step}-role", "POST", path, {**role, "secret_id_num_uses": 0}),
        Step(f"identity/{step}-role-id", "GET", f"{path}/role-id",
             save={f"{name}_role_id": "data.role_id"}),
        Step(f"identity/{step}-secret-id", "POST", f"{path}/secret-id",
             save={f"{name}_secret": "data.secret_id"}),
        Step(f"identity/{step}", "POST", "auth/approle/login",
             {"role_id": f"${{{name}_role_id}}", "secret_id": f"${{{name}_secret}}"},
             token=None,
             save={f"{name}_token": "auth.client_token", f"{name}_eid": "auth.entity_id"}),
    ]


# Identity store. Generated IDs differ between the servers: saved per server, compared by
# shape; error texts are compared (`errors` in values), with IDs in them read as <id>.
ENT = f"ent-{RUN}"
ALIAS = f"role-{RUN}"
ERR = ("errors",)
identity = [
    Step("identity/approle-accessor", "GET", "sys/auth/approle",
         save={"approle_acc": "data.accessor"}),
    Step("identity/entity-create", "POST", "identity/entity",
         {"name": ENT, "policies": ["Dev", "dev"], "metadata": {"team": "ci"}},
         save={"eid": "data.id"}, values=("data.name", "data.aliases")),
    Step("identity/entity-read-id", "GET", "identity/entity/id/${eid}",
         values=("data.name", "data.policies", "data.metadata", "data.disabled")),
    Step("identity/entity-read-name", "GET", f"identity/entity/name/{ENT}"),
    Step("identity/entity-update-id", "POST", "identity/entity/id/${eid}", {"disabled": True}),
    Step("identity/entity-update-name", "POST", f"identity/entity/name/{ENT}",
         {"metadata": {"team": "cd"}}),
    Step("identity/entity-reread", "GET", "identity/entity/id/${eid}",
         values=("data.disabled", "data.metadata")),
    Step("identity/entity-create-on-write", "POST", f"identity/entity/name/{ENT}-2",
         {"policies": "a"}, save={"eid2": "data.id"}, values=("data.name",)),
    Step("identity/entity-create-unicode", "POST", "identity/entity",
         {"name": f"{ENT}/ünï cødé"}, save={"eid3": "data.id"}, values=("data.name",)),
    Step("identity/entity-create-generated-name", "POST", "identity/entity", {},
         save={"eid5": "data.id"}),
    Step("identity/entity-list-id", "LIST", "identity/entity/id"),
    Step("identity/entity-list-name", "LIST", "identity/entity/name"),
    Step("identity/entity-name-in-use", "POST", "identity/entity/id/${eid2}", {"name": ENT},
         values=ERR),
    Step("identity/entity-unknown-id", "POST", "identity/entity/id/no-such-id",
         {"policies": "a"}, values=ERR),
    Step("identity/entity-root-policy", "POST", "identity/entity",
         {"name": f"{ENT}-3", "policies": ["root"]}, values=ERR),
    Step("identity/entity-read-missing", "GET", "identity/entity/id/no-such-id"),
    Step("identity/entity-read-name-missing", "GET", f"identity/entity/name/{ENT}-none"),
    Step("identity/alias-create", "POST", "identity/entity-alias",
         {"name": ALIAS, "mount_accessor": "${approle_acc}", "canonical_id": "${eid}",
          "custom_metadata": {"repo": "a"}}, save={"aid": "data.id"}),
    Step("identity/alias-read", "GET", "identity/entity-alias/id/${aid}",
         values=("data.name", "data.mount_path", "data.mount_type", "data.custom_metadata")),
    Step("identity/entity-read-with-alias", "GET", "identity/entity/id/${eid}",
         values=("data.aliases.*.name",)),
    Step("identity/alias-list", "LIST", "identity/entity-alias/id"),
    Step("identity/alias-same-mount", "POST", "identity/entity-alias",
         {"name": f"{ALIAS}-2", "mount_accessor": "${approle_acc}", "canonical_id": "${eid}"},
         values=ERR),
    Step("identity/alias-unknown-accessor", "POST", "identity/entity-alias",
         {"name": "x", "mount_accessor": "auth_approle_00000000"}, values=ERR),
    Step("identity/alias-unknown-canonical", "POST", "identity/entity-alias",
         {"name": f"x-{RUN}", "mount_accessor": "${approle_acc}", "canonical_id": "no-such-id"},
         values=ERR),
    Step("identity/alias-missing-fields", "POST", "identity/entity-alias", {"name": "x"},
         values=ERR),
    Step("identity/alias-create-new-entity", "POST", "identity/entity-alias",
         {"name": f"solo-{RUN}", "mount_accessor": "${approle_acc}"},
         save={"aid2": "data.id", "eid4": "data.canonical_id"}),
    Step("identity/alias-clash", "POST", "identity/entity-alias/id/${aid2}", {"name": ALIAS},
         values=ERR),
    Step("identity/alias-update", "POST", "identity/entity-alias/id/${aid2}",
         {"custom_metadata": {"k": "v"}}),
    Step("identity/alias-update-unchanged", "POST", "identity/entity-alias/id/${aid2}", {}),
    Step("identity/alias-update-unknown", "POST", "identity/entity-alias/id/no-such-id",
         {"name": "y"}, values=ERR),
    Step("identity/alias-rewrite-by-factors", "POST", "identity/entity-alias",
         {"name": ALIAS, "mount_accessor": "${approle_acc}"}),
    Step("identity/alias-reread", "GET", "identity/entity-alias/id/${aid}",
         values=("data.custom_metadata",)),
    Step("identity/lookup-entity-by-alias", "POST", "identity/lookup/entity",
         {"alias_name": ALIAS, "alias_mount_accessor": "${approle_acc}"},
         values=("data.name",)),
    Step("identity/lookup-entity-by-alias-id", "POST", "identity/lookup/entity",
         {"alias_id": "${aid}"}, values=("data.name",)),
    Step("identity/lookup-entity-by-id", "POST", "identity/lookup/entity", {"id": "${eid}"}),
    Step("identity/lookup-entity-by-name", "POST", "identity/lookup/entity",
         {"name": f"{ENT}/ünï cødé"}, values=("data.name",)),
    Step("identity/lookup-entity-missing", "POST", "identity/lookup/entity",
         {"name": f"{ENT}-none"}),
    Step("identity/lookup-entity-no-query", "POST", "identity/lookup/entity", {}, values=ERR),
    Step("identity/lookup-entity-conflict", "POST", "identity/lookup/entity",
         {"id": "${eid}", "name": ENT}, values=ERR),
    Step("identity/lookup-entity-half-alias", "POST", "identity/lookup/entity",
         {"alias_name": "x"}, values=ERR),
    Step("identity/group-create-leaf", "POST", "identity/group",
         {"name": f"leaf-{RUN}", "member_entity_ids": ["${eid}"], "policies": "A,b"},
         save={"gleaf": "data.id"}, values=("data.name",)),
    Step("identity/group-create-empty-name", "POST", "identity/group", {"name": ""},
         values=ERR),
    Step("identity/group-create-top", "POST", "identity/group",
         {"name": f"top-{RUN}", "member_group_ids": ["${gleaf}"]}, save={"gtop": "data.id"}),
    Step("identity/group-read-id", "GET", "identity/group/id/${gleaf}",
         values=("data.name", "data.policies", "data.type")),
    Step("identity/group-read-name", "GET", f"identity/group/name/top-{RUN}"),
    Step("identity/group-cycle", "POST", "identity/group/id/${gleaf}",
         {"member_group_ids": ["${gtop}"]}, values=ERR),
    Step("identity/group-update-name", "POST", f"identity/group/name/top-{RUN}",
         {"metadata": {"k": "v"}}),
    Step("identity/group-create-on-write", "POST", f"identity/group/name/mid-{RUN}",
         {"policies": ["p"]}, save={"gmid": "data.id"}),
    Step("identity/group-name-in-use", "POST", "identity/group/id/${gtop}",
         {"name": f"leaf-{RUN}"}, values=ERR),
    Step("identity/group-unknown-id", "POST", "identity/group/id/no-such-id",
         {"policies": "a"}, values=ERR),
    Step("identity/group-root-policy", "POST", "identity/group",
         {"name": f"g-{RUN}", "policies": "root"}, values=ERR),
    Step("identity/group-unknown-member-entity", "POST", "identity/group",
         {"name": f"g-{RUN}", "member_entity_ids": ["no-such-id"]}),
    # External groups and group aliases (issue 17): OpenBao's refusals and shapes.
    Step("identity/group-external", "POST", "identity/group",
         {"name": f"ext-{RUN}", "type": "external", "policies": "e"},
         save={"gext": "data.id"}, values=("data.name",)),
    Step("identity/group-external-read", "GET", "identity/group/id/${gext}",
         values=("data.type", "data.alias", "data.member_entity_ids")),
    Step("identity/group-external-members", "POST", "identity/group/id/${gext}",
         {"member_entity_ids": ["${eid}"]}, values=ERR),
    Step("identity/group-external-member-groups", "POST", "identity/group/id/${gext}",
         {"member_group_ids": ["${gleaf}"]}, values=ERR),
    Step("identity/group-external-type-change", "POST", "identity/group/id/${gext}",
         {"type": "internal"}, values=ERR),
    Step("identity/group-internal-type-change", "POST", "identity/group/id/${gleaf}",
         {"type": "external"}, values=ERR),
    Step("identity/group-bad-type", "POST", "identity/group",
         {"name": f"bad-{RUN}", "type": "other"}, values=ERR),
    Step("identity/group-alias-create", "POST", "identity/group-alias",
         {"name": f"dev-{RUN}", "mount_accessor": "${approle_acc}", "canonical_id": "${gext}"},
         save={"gaid": "data.id"}),
    Step("identity/group-alias-read", "GET", "identity/group-alias/id/${gaid}",
         values=("data.name", "data.mount_path", "data.mount_type", "data.metadata")),
    Step("identity/group-read-with-alias", "GET", "identity/group/id/${gext}",
         values=("data.alias.name", "data.alias.mount_type", "data.alias.mount_path")),
    Step("identity/group-alias-list", "LIST", "identity/group-alias/id"),
    Step("identity/group-alias-clash", "POST", "identity/group-alias",
         {"name": f"DEV-{RUN}", "mount_accessor": "${approle_acc}"}, values=ERR),
    Step("identity/group-alias-internal", "POST", "identity/group-alias",
         {"name": f"x-{RUN}", "mount_accessor": "${approle_acc}", "canonical_id": "${gleaf}"},
         values=ERR),
    Step("identity/group-alias-unknown-canonical", "POST", "identity/group-alias",
         {"name": f"x-{RUN}", "mount_accessor": "${approle_acc}",
          "canonical_id": "no-such-id"}, values=ERR),
    Step("identity/group-alias-unknown-accessor", "POST", "identity/group-alias",
         {"name": f"x-{RUN}", "mount_accessor": "auth_approle_00000000"}, values=ERR),
    Step("identity/group-alias-missing-name", "POST", "identity/group-alias",
         {"mount_accessor": "${approle_acc}"}, values=ERR),
    Step("identity/group-alias-missing-accessor", "POST", "identity/group-alias",
         {"name": f"x-{RUN}"}, values=ERR),
    Step("identity/group-alias-update-unknown", "POST", "identity/group-alias/id/no-such-id",
         {"name": "y", "mount_accessor": "${approle_acc}"}, values=ERR),
    Step("identity/group-alias-update", "POST", "identity/group-alias/id/${gaid}",
         {"name": f"ops-{RUN}", "mount_accessor": "${approle_acc}"}),
    Step("identity/group-alias-update-unchanged", "POST", "identity/group-alias/id/${gaid}",
         {"name": f"ops-{RUN}", "mount_accessor": "${approle_acc}"}),
    Step("identity/group-alias-reread", "GET", "identity/group-alias/id/${gaid}",
         values=("data.name",)),
    Step("identity/group-alias-new-group", "POST", "identity/group-alias",
         {"name": f"solo-{RUN}", "mount_accessor": "${approle_acc}"},
         save={"gaid2": "data.id", "gext2": "data.canonical_id"}),
    Step("identity/group-alias-new-group-read", "GET", "identity/group/id/${gext2}",
         values=("data.type", "data.alias.name")),
    Step("identity/lookup-group-by-alias", "POST", "identity/lookup/group",
         {"alias_name": f"OPS-{RUN}", "alias_mount_accessor": "${approle_acc}"},
         values=("data.name", "data.type")),
    Step("identity/lookup-group-by-alias-id", "POST", "identity/lookup/group",
         {"alias_id": "${gaid2}"}, values=("data.type", "data.alias.name")),
    Step("identity/group-alias-delete", "DELETE", "identity/group-alias/id/${gaid2}"),
    Step("identity/group-alias-read-deleted", "GET", "identity/group-alias/id/${gaid2}"),
    Step("identity/group-alias-delete-missing", "DELETE", "identity/group-alias/id/no-such-id"),
    Step("identity/group-without-alias", "GET", "identity/group/id/${gext2}",
         values=("data.alias",)),
    Step("identity/group-external-delete", "DELETE", "identity/group/id/${gext}"),
    Step("identity/group-alias-gone-with-group", "GET", "identity/group-alias/id/${gaid}"),
    Step("identity/group-external-delete-2", "DELETE", "identity/group/id/${gext2}"),
    Step("identity/entity-bad-metadata", "POST", "identity/entity",
         {"name": f"{ENT}-4", "metadata": {"bad key": "v"}}),
    Step("identity/group-list-id", "LIST", "identity/group/id"),
    Step("identity/group-list-name", "LIST", "identity/group/name"),
    Step("identity/entity-read-in-groups", "GET", "identity/entity/id/${eid}"),
    Step("identity/lookup-group-name", "POST", "identity/lookup/group", {"name": f"top-{RUN}"},
         values=("data.name",)),
    Step("identity/lookup-group-id", "POST", "identity/lookup/group", {"id": "${gleaf}"}),
    Step("identity/lookup-group-missing", "POST", "identity/lookup/group", {"id": "no-such-id"}),
    Step("identity/lookup-group-no-query", "POST", "identity/lookup/group", {}, values=ERR),
    Step("identity/group-delete-name", "DELETE", f"identity/group/name/top-{RUN}"),
    Step("identity/group-delete-id", "DELETE", "identity/group/id/${gleaf}"),
    Step("identity/group-delete-mid", "DELETE", "identity/group/id/${gmid}"),
    Step("identity/group-read-deleted", "GET", "identity/group/id/${gleaf}"),
    Step("identity/group-delete-missing", "DELETE", "identity/group/id/no-such-id"),
    Step("identity/alias-delete", "DELETE", "identity/entity-alias/id/${aid2}"),
    Step("identity/alias-read-deleted", "GET", "identity/entity-alias/id/${aid2}"),
    Step("identity/entity-delete-id", "DELETE", "identity/entity/id/${eid}"),
    Step("identity/alias-gone-with-entity", "GET", "identity/entity-alias/id/${aid}"),
    Step("identity/entity-delete-name", "DELETE", f"identity/entity/name/{ENT}-2"),
    Step("identity/entity-delete-missing", "DELETE", "identity/entity/id/no-such-id"),
    Step("identity/entity-delete-3", "DELETE", "identity/entity/id/${eid3}"),
    Step("identity/entity-delete-4", "DELETE", "identity/entity/id/${eid4}"),
    Step("identity/entity-delete-5", "DELETE", "identity/entity/id/${eid5}"),
    Step("identity/entity-read-deleted", "GET", f"identity/entity/name/{ENT}"),
    # Metadata as the CLI sends `metadata=team=platform`: Vault's TypeKVPairs.
    Step("identity/entity-metadata-kv-string", "POST", "identity/entity",
         {"name": f"{ENT}-kv", "metadata": "team=platform"}),
    Step("identity/entity-metadata-kv-read", "GET", f"identity/entity/name/{ENT}-kv"),
    Step("identity/entity-metadata-kv-list", "POST", f"identity/entity/name/{ENT}-kv",
         {"metadata": ["team=ci", "tier=1"]}),
    Step("identity/entity-metadata-kv-read-list", "GET", f"identity/entity/name/{ENT}-kv"),
    Step("identity/entity-metadata-kv-bad", "POST", f"identity/entity/name/{ENT}-kv",
         {"metadata": "novalue"}),
    Step("identity/entity-metadata-kv-delete", "DELETE", f"identity/entity/name/{ENT}-kv"),
    # Names are case-insensitive (OpenBao's default): the same entity and group.
    Step("identity/entity-case-create", "POST", "identity/entity", {"name": f"{ENT}-Case"}),
    Step("identity/entity-case-update", "POST", "identity/entity", {"name": f"{ENT}-case"}),
    Step("identity/entity-case-lookup", "POST", "identity/lookup/entity",
         {"name": f"{ENT}-CASE"}),
    Step("identity/entity-case-delete", "DELETE", f"identity/entity/name/{ENT}-CASE"),
    Step("identity/group-case-create", "POST", "identity/group", {"name": f"{ENT}-GCase"}),
    Step("identity/group-case-read", "GET", f"identity/group/name/{ENT}-gcase"),
    Step("identity/group-case-delete", "DELETE", f"identity/group/name/{ENT}-GCASE"),
    # Logins create or find their entity (issue 17, part 2): the token carries it, the
    # entity shows the login's alias, its groups' policies apply, a disabled entity's
    # token is refused. Each token's first request comes after the identity changes it
    # should see (Sigil's functions keep an identity for the policy cache TTL).
    *approle_login_steps("login", "idl", {"token_policies": "dev"}),
    Step("identity/login-entity-read", "GET", "identity/entity/id/${idl_eid}",
         values=("data.aliases.*.mount_type", "data.aliases.*.metadata",
                 "data.aliases.*.custom_metadata", "data.policies")),
    Step("identity/login-again", "POST", "auth/approle/login",
         {"role_id": "${idl_role_id}", "secret_id": "${idl_secret}"}, token=None,
         save={"idl_eid2": "auth.entity_id"}),
    Step("identity/login-again-same-entity", "POST", "identity/lookup/entity",
         {"id": "${idl_eid2}"}, values=("data.aliases.*.metadata",)),
    Step("identity/login-lookup-by-alias", "POST", "identity/lookup/entity",
         {"alias_name": "${idl_role_id}", "alias_mount_accessor": "${approle_acc}"},
         values=("data.aliases.*.metadata",)),
    Step("identity/login-group", "POST", "identity/group",
         {"name": f"idl-{RUN}", "policies": "grp-p", "member_entity_ids": ["${idl_eid}"]},
         save={"idl_group": "data.id"}),
    Step("identity/login-entity-policies", "POST", "identity/entity/id/${idl_eid}",
         {"policies": "ent-p"}),
    Step("identity/login-lookup-self", "GET", "auth/token/lookup-self", token="${idl_token}",
         save={"idl_eid_self": "data.entity_id"},
         values=("data.identity_policies", "data.policies")),
    Step("identity/login-entity-by-lookup-self", "GET", "identity/entity/id/${idl_eid_self}",
         values=("data.policies",)),
    # A second identity, disabled before its token's first request.
    *approle_login_steps("login-2", "idl2", {}),
    Step("identity/login-2-disable", "POST", "identity/entity/id/${idl2_eid}",
         {"disabled": True}),
    Step("identity/login-2-disabled-lookup-self", "GET", "auth/token/lookup-self",
         token="${idl2_token}"),
    Step("identity/login-2-disabled-login", "POST", "auth/approle/login",
         {"role_id": "${idl2_role_id}", "secret_id": "${idl2_secret}"}, token=None),
    Step("identity/login-group-delete", "DELETE", "identity/group/id/${idl_group}"),
    Step("identity/login-entity-delete", "DELETE", "identity/entity/id/${idl_eid}"),
    Step("identity/login-2-entity-delete", "DELETE", "identity/entity/id/${idl2_eid}"),
    Step("identity/login-role-delete", "DELETE", f"auth/approle/role/idl-{RUN}"),
    Step("identity/login-2-role-delete", "DELETE", f"auth/approle/role/idl2-{RUN}"),
]


NO_AWS = ("OpenBao 2.7 ships no AWS plugins: enabling `aws` (secrets or auth) answers 400 "
          "`plugin not found in the catalog: aws`, so there is no reference; Sigil's status "
          "is checked against docs/api.md instead")


def sigil_only(steps, reason, statuses):
    for step in steps:
        step.no_reference = reason
        step.sigil_status = statuses[step.id]


sigil_only(aws_secrets, NO_AWS, {
    "aws/config-root-read-unset": 200, "aws/config-root-write": 204, "aws/config-root-read": 200,
    "aws/config-lease-write": 204, "aws/config-lease-read": 200,
    "aws/role-write-iam-user": 204, "aws/role-write-assumed": 204, "aws/role-read": 200,
    "aws/role-read-assumed": 200, "aws/role-list": 200, "aws/role-read-missing": 404,
    "aws/creds-unknown-role": 400, "aws/creds-post-unknown-role": 400,
    "aws/sts-unknown-role": 400, "aws/role-delete": 204, "aws/role-delete-sts": 204,
    "aws/enable-second-mount": 204, "aws/second-mount-role-list-empty": 404,
    "aws/second-mount-role-write": 204, "aws/second-mount-role-read": 200,
    "aws/second-mount-creds-unknown-role": 400, "aws/second-mount-disable": 204,
    "aws/second-mount-role-read-disabled": 404,
})
sigil_only(aws_auth, NO_AWS, {
    "aws-auth/config-client-write": 204, "aws-auth/config-client-read": 200,
    "aws-auth/config-identity-read": 200, "aws-auth/config-identity-write": 204,
    "aws-auth/config-identity-bad-alias": 400, "aws-auth/config-identity-reset": 204,
    "aws-auth/role-write": 204, "aws-auth/role-read": 200, "aws-auth/role-list": 200,
    "aws-auth/login-unsigned": 400, "aws-auth/role-delete": 204,
    "aws-auth/config-client-delete": 204, "aws-auth/enable-second-mount": 204,
    "aws-auth/disable-second-mount": 204,
})

# --- transit BYOK: wrapping key, import refusals, export -----------------------------------
# (The import itself, with the same material on both servers, is test_transit_byok.py:
# its ciphertext depends on each server's own wrapping key.)

TB = f"transit-byok-{RUN}"
# 600 random-looking bytes: long enough to pass the length check, not a real import.
NOT_AN_IMPORT = base64.b64encode(bytes(range(256)) * 2 + bytes(88)).decode()
EXPORT_SHAPE = ("data.name", "data.type")

transit_byok = [
    Step("transit-byok/enable", "POST", f"sys/mounts/{TB}", {"type": "transit"}),
    Step("transit-byok/wrapping-key", "GET", f"{TB}/wrapping_key"),
    Step("transit-byok/wrapping-key-again", "GET", f"{TB}/wrapping_key"),
    Step("transit-byok/list-hides-wrapping-key", "LIST", f"{TB}/keys"),
    Step("transit-byok/read-wrapping-key-as-key", "GET", f"{TB}/keys/wrapping-key"),
    Step("transit-byok/import-too-short", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": base64.b64encode(b"short").decode()}),
    Step("transit-byok/import-not-an-import", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": NOT_AN_IMPORT}),
    Step("transit-byok/import-unknown-hash", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": NOT_AN_IMPORT, "hash_function": "MD5"}),
    Step("transit-byok/import-unknown-type", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": NOT_AN_IMPORT, "type": "nope"}),
    Step("transit-byok/import-convergent", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": NOT_AN_IMPORT, "convergent_encryption": True, "derived": True}),
    Step("transit-byok/import-auto-rotate-without-rotation", "POST", f"{TB}/keys/imp/import",
         {"ciphertext": NOT_AN_IMPORT, "auto_rotate_period": "2h"}),
    Step("transit-byok/import-no-ciphertext", "POST", f"{TB}/keys/imp/import", {}),
    Step("transit-byok/import-left-nothing", "GET", f"{TB}/keys/imp"),
    Step("transit-byok/key-create-exportable", "POST", f"{TB}/keys/exp",
         {"exportable": True}),
    Step("transit-byok/import-existing", "POST", f"{TB}/keys/exp/import",
         {"ciphertext": NOT_AN_IMPORT}),
    Step("transit-byok/key-create-not-exportable", "POST", f"{TB}/keys/nexp", EMPTY),
    Step("transit-byok/key-create-ed25519", "POST", f"{TB}/keys/ed",
         {"type": "ed25519", "exportable": True}),
    Step("transit-byok/key-create-ecdsa", "POST", f"{TB}/keys/ec",
         {"type": "ecdsa-p256", "exportable": True}),
    Step("transit-byok/key-create-rsa", "POST", f"{TB}/keys/rsa",
         {"type": "rsa-2048", "exportable": True}),
    Step("transit-byok/key-create-ed25519-not-exportable", "POST", f"{TB}/keys/nexped",
         {"type": "ed25519"}),
    Step("transit-byok/list-keys", "LIST", f"{TB}/keys", values=("data.keys",)),
] + [Step(f"transit-byok/export-{name}", "GET", f"{TB}/export/{path}", values=EXPORT_SHAPE)
     for name, path in [
         ("encryption-key", "encryption-key/exp"),
         ("encryption-key-v1", "encryption-key/exp/1"),
         ("encryption-key-latest", "encryption-key/exp/latest"),
         ("encryption-key-vprefix", "encryption-key/exp/v1"),
         ("hmac-key", "hmac-key/exp"),
         ("signing-key-ed25519", "signing-key/ed"),
         ("signing-key-ecdsa", "signing-key/ec"),
         ("signing-key-ecdsa-pem", "signing-key/ec?format=pem"),
         ("signing-key-rsa", "signing-key/rsa"),
         ("encryption-key-rsa", "encryption-key/rsa"),
         ("public-key-ed25519-not-exportable", "public-key/nexped"),
         ("public-key-ecdsa", "public-key/ec"),
         ("public-key-rsa", "public-key/rsa"),
         ("refused-not-exportable", "encryption-key/nexp"),
         ("refused-signing-of-aes", "signing-key/exp"),
         ("refused-encryption-of-ed25519", "encryption-key/ed"),
         ("refused-unknown-type", "nope/exp"),
         ("refused-bad-version", "encryption-key/exp/x"),
         ("refused-version-zero", "encryption-key/exp/0"),
         ("refused-version-missing", "encryption-key/exp/9"),
         ("refused-bad-format", "encryption-key/exp?format=bad"),
         ("refused-raw-ecdsa", "signing-key/ec?format=raw"),
         ("missing-key", "encryption-key/none"),
     ]] + [
    # import_version refusals (the import itself: test_transit_backup.py, same material).
    Step("transit-byok/import-version-missing-key", "POST", f"{TB}/keys/none/import_version",
         {"ciphertext": NOT_AN_IMPORT}),
    Step("transit-byok/import-version-not-imported", "POST", f"{TB}/keys/exp/import_version",
         {"ciphertext": NOT_AN_IMPORT}),
    # backup and restore (each server restores its own backup; cross-server restores:
    # test_transit_backup.py).
    Step("transit-byok/key-create-backupable", "POST", f"{TB}/keys/bk",
         {"exportable": True, "allow_plaintext_backup": True}),
    Step("transit-byok/backup-rotate", "POST", f"{TB}/keys/bk/rotate", EMPTY),
    Step("transit-byok/backup", "GET", f"{TB}/backup/bk", save={"bk_backup": "data.backup"}),
    Step("transit-byok/backup-read-info", "GET", f"{TB}/keys/bk",
         values=("data.backup_info.version", "data.latest_version")),
    Step("transit-byok/backup-not-exportable", "GET", f"{TB}/backup/nexp"),
    Step("transit-byok/backup-no-plaintext-backup", "GET", f"{TB}/backup/exp"),
    Step("transit-byok/backup-missing", "GET", f"{TB}/backup/none"),
    Step("transit-byok/restore-renamed", "POST", f"{TB}/restore/bk-copy",
         {"backup": "${bk_backup}"}),
    Step("transit-byok/restore-read", "GET", f"{TB}/keys/bk-copy",
         values=("data.name", "data.type", "data.latest_version", "data.exportable",
                 "data.allow_plaintext_backup", "data.restore_info.version",
                 "data.backup_info.version")),
    Step("transit-byok/restore-existing", "POST", f"{TB}/restore", {"backup": "${bk_backup}"}),
    Step("transit-byok/restore-existing-renamed", "POST", f"{TB}/restore/exp",
         {"backup": "${bk_backup}"}),
    Step("transit-byok/restore-force", "POST", f"{TB}/restore/exp",
         {"backup": "${bk_backup}", "force": True}),
    Step("transit-byok/restore-force-read", "GET", f"{TB}/keys/exp",
         values=("data.name", "data.latest_version", "data.allow_plaintext_backup")),
    Step("transit-byok/restore-no-backup", "POST", f"{TB}/restore", {}),
    Step("transit-byok/restore-bad-base64", "POST", f"{TB}/restore/x", {"backup": "!!"}),
    Step("transit-byok/restore-not-json", "POST", f"{TB}/restore/x",
         {"backup": base64.b64encode(b"not json").decode()}),
    Step("transit-byok/restore-left-nothing", "GET", f"{TB}/keys/x"),
    Step("transit-byok/disable", "DELETE", f"sys/mounts/{TB}"),
]


# --- database (PostgreSQL) ----------------------------------------------------------------
# Both servers' database engines talk to the local stack's PostgreSQL (SIGIL_POSTGRES_URL),
# each with a root superuser of its own (prepare_database creates them), so that one's
# rotate-root does not lock the other out.

DB = f"database-{RUN}"
_PG = os.environ.get("SIGIL_POSTGRES_URL", "postgres://postgres:x@127.0.0.1:8212/postgres")
PG_HOST = _PG.split("@", 1)[1]
DB_ROOTS = {name: (f"compat_root_{name}_{RUN}", f"root-pw-{name}-{uuid.uuid4().hex}")
            for name in ("sigil", "openbao")}
# Each server's static-role user (static-roles/svc rotates it).
DB_STATIC = {name: f"compat_static_{name}_{RUN}" for name in ("sigil", "openbao")}
SERVER_VARS = {name: {"db_root": u, "db_root_password": p, "db_static": DB_STATIC[name]}
               for name, (u, p) in DB_ROOTS.items()}
_CREATE = ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
           "VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO \"{{name}}\";")


def prepare_database():
    """Creates each server's root superuser (psql, the stack's superuser URL) and records
    the root passwords for the log check."""
    import subprocess

    sql = "".join(f"CREATE ROLE \"{u}\" SUPERUSER LOGIN PASSWORD '{p}';"
                  for u, p in DB_ROOTS.values())
    sql += "".join(f"CREATE ROLE \"{u}\" LOGIN PASSWORD 'static-initial';"
                   for u in DB_STATIC.values())
    subprocess.run(["psql", _PG, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   capture_output=True)
    path = os.environ.get("SIGIL_SECRETS_SEEN")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(DB_ROOTS["sigil"][1] + "\n")


DB_CONFIG = {
    "plugin_name": "postgresql-database-plugin",
    "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{PG_HOST}?sslmode=disable",
    "username": "${db_root}",
    "password": "${db_root_password}",
    "allowed_roles": "ro,other,svc",
}

database = [
    Step("database/enable", "POST", f"sys/mounts/{DB}", {"type": "database"}),
    Step("database/config-write", "POST", f"{DB}/config/pg", DB_CONFIG),
    Step("database/config-read", "GET", f"{DB}/config/pg",
         values=("data.plugin_name", "data.allowed_roles", "data.connection_details.connection_url")),
    Step("database/config-list", "LIST", f"{DB}/config"),
    Step("database/config-no-plugin", "POST", f"{DB}/config/bad",
         {"connection_url": DB_CONFIG["connection_url"]}),
    Step("database/config-missing", "GET", f"{DB}/config/nope"),
    Step("database/role-write", "POST", f"{DB}/roles/ro",
         {"db_name": "pg", "creation_statements": [_CREATE], "default_ttl": "10m",
          "max_ttl": "1h"}),
    Step("database/role-read", "GET", f"{DB}/roles/ro",
         values=("data.db_name", "data.creation_statements", "data.default_ttl",
                 "data.max_ttl", "data.credential_type")),
    Step("database/role-list", "LIST", f"{DB}/roles"),
    Step("database/role-no-db", "POST", f"{DB}/roles/nodb", {"creation_statements": [_CREATE]}),
    Step("database/role-missing", "GET", f"{DB}/roles/nope"),
    Step("database/creds", "GET", f"{DB}/creds/ro", save={"db_lease": "lease_id"},
         values=("lease_duration", "renewable")),
    Step("database/creds-unknown-role", "GET", f"{DB}/creds/nope"),
    Step("database/renew", "PUT", "sys/leases/renew",
         {"lease_id": "${db_lease}", "increment": "30m"}, values=("lease_duration",)),
    Step("database/revoke", "PUT", "sys/leases/revoke", {"lease_id": "${db_lease}"}),
    Step("database/reset", "POST", f"{DB}/reset/pg", EMPTY),
    Step("database/rotate-root", "POST", f"{DB}/rotate-root/pg", EMPTY),
    Step("database/creds-after-rotate", "GET", f"{DB}/creds/ro",
         save={"db_lease2": "lease_id"}),
    Step("database/revoke-after-rotate", "PUT", "sys/leases/revoke",
         {"lease_id": "${db_lease2}"}),
    Step("database/static-role-write", "POST", f"{DB}/static-roles/svc",
         {"db_name": "pg", "username": "${db_static}", "rotation_period": "1h"}),
    Step("database/static-role-read", "GET", f"{DB}/static-roles/svc",
         values=("data.db_name", "data.rotation_period", "data.rotation_statements",
                 "data.credential_type")),
    Step("database/static-role-list", "LIST", f"{DB}/static-roles"),
    Step("database/static-role-short-period", "POST", f"{DB}/static-roles/svc2",
         {"db_name": "pg", "username": "${db_static}", "rotation_period": 4}),
    Step("database/static-role-no-username", "POST", f"{DB}/static-roles/svc2",
         {"db_name": "pg", "rotation_period": "1h"}),
    Step("database/static-role-name-taken", "POST", f"{DB}/static-roles/ro",
         {"db_name": "pg", "username": "${db_static}", "rotation_period": "1h"}),
    Step("database/static-role-missing", "GET", f"{DB}/static-roles/nope"),
    Step("database/static-creds", "GET", f"{DB}/static-creds/svc",
         values=("data.rotation_period",)),
    Step("database/static-creds-unknown", "GET", f"{DB}/static-creds/nope"),
    Step("database/rotate-role", "POST", f"{DB}/rotate-role/svc", EMPTY),
    Step("database/rotate-role-unknown", "POST", f"{DB}/rotate-role/nope", EMPTY),
    Step("database/static-creds-after-rotate", "GET", f"{DB}/static-creds/svc",
         values=("data.rotation_period",)),
    Step("database/static-role-delete", "DELETE", f"{DB}/static-roles/svc"),
    Step("database/role-delete", "DELETE", f"{DB}/roles/ro"),
    Step("database/config-delete", "DELETE", f"{DB}/config/pg"),
]

SEQUENCES = {
    "kv": kv,
    "policies": policies,
    "approle": approle,
    "tokens": tokens,
    "wrapping": wrapping,
    "leases": leases,
    "system": system,
    "mounts": mounts,
    "aws_secrets": aws_secrets,
    "jwt_auth": jwt_auth,
    "kubernetes_auth": kubernetes_auth,
    "aws_auth": aws_auth,
    "transit": transit,
    "transit_byok": transit_byok,
    "identity": identity,
    "database": database,
}

ALL_STEPS = [s for steps in SEQUENCES.values() for s in steps]
assert len({s.id for s in ALL_STEPS}) == len(ALL_STEPS), "step ids must be unique"

# --- running ----------------------------------------------------------------------------

_VAR = re.compile(r"\$\{(\w+)\}")


def subst(value, ctx):
    if isinstance(value, str):
        return _VAR.sub(lambda m: str(ctx.get(m.group(1), f"missing-{m.group(1)}")), value)
    if isinstance(value, dict):
        return {k: subst(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [subst(v, ctx) for v in value]
    return value


def dig(body, dotted):
    for part in dotted.split("."):
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return body


def run_steps(server, steps, ctx, send):
    """Runs steps in order against one server; returns {step id: (status, body)}."""
    out = {}
    for step in steps:
        if step.no_reference and server.name == "openbao":
            continue
        if step.token == ADMIN:
            token = server.token
        elif step.token is None:
            token = None
        else:
            token = subst(step.token, ctx)
        status, body = send(server, step.method, subst(step.path, ctx), subst(step.body, ctx),
                            token=token, headers=step.headers)
        for name, dotted in step.save.items():
            value = dig(body, dotted)
            if value is not None:
                ctx[name] = value
        out[step.id] = (status, body)
    return out
