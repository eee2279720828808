"""An existing Vault client library (hvac, from PyPI) against Sigil, unchanged.

Runs under `make test`, which starts the functions on SIGIL_ADDR and exports an admin
token in SIGIL_TOKEN. The client does AppRole login, KV v2 write (with check-and-set)
and read, token lookup, renew and revoke, and the AWS secrets engine (IAM user and STS
credentials, lease renew and revoke), exactly as it would against Vault.

Every secret the client sees is recorded in SIGIL_SECRETS_SEEN (when set), which
`make test` then looks for in the functions' log.
"""

import os
import uuid

import hvac
import hvac.exceptions
import pytest

ADDR = os.environ.get("SIGIL_ADDR", "http://127.0.0.1:8200")
POLICY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


def seen(*values):
    """Records secrets for the log check (values under 8 characters are skipped)."""
    path = os.environ.get("SIGIL_SECRETS_SEEN")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        for v in values:
            if isinstance(v, str) and len(v) >= 8 and "\n" not in v:
                f.write(v + "\n")


@pytest.fixture(scope="module")
def admin():
    token = os.environ.get("SIGIL_TOKEN")
    assert token, "run under `make test` (SIGIL_TOKEN holds an admin token)"
    client = hvac.Client(url=ADDR, token=token)
    assert client.is_authenticated()
    return client


@pytest.fixture()
def role(admin):
    name = f"hvac-{uuid.uuid4().hex[:8]}"
    admin.sys.create_or_update_acl_policy(
        name=name, policy=f'path "secret/data/hvac/{name}" {{ capabilities = ["read"] }}'
    )
    assert name in admin.sys.list_acl_policies()["data"]["keys"]
    admin.auth.approle.create_or_update_approle(
        role_name=name,
        token_policies=[name],
        token_ttl="10m",
        token_max_ttl="30m",
        secret_id_num_uses=2,
    )
    role_id = admin.auth.approle.read_role_id(role_name=name)["data"]["role_id"]
    secret = admin.auth.approle.generate_secret_id(role_name=name, metadata={"ci": "hvac"})
    seen(secret["data"]["secret_id"], secret["data"]["secret_id_accessor"])
    yield name, role_id, secret["data"]["secret_id"]
    admin.auth.approle.delete_role(role_name=name)
    admin.sys.delete_acl_policy(name=name)


def test_approle_kv_renew_revoke(admin, role):
    name, role_id, secret_id = role
    path = f"hvac/{name}"
    written = admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"username": "svc", "password": "p4ss"}, cas=0, mount_point="secret"
    )
    assert written["data"]["version"] == 1
    with pytest.raises(hvac.exceptions.InvalidRequest):
        admin.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"password": "other"}, cas=0, mount_point="secret"
        )

    app = hvac.Client(url=ADDR)
    login = app.auth.approle.login(role_id=role_id, secret_id=secret_id)
    seen(login["auth"]["client_token"], login["auth"]["accessor"])
    assert login["auth"]["client_token"].startswith("sgl.")
    assert login["auth"]["metadata"]["role_name"] == name
    assert app.is_authenticated()

    read = app.secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"username": "svc", "password": "p4ss"}
    assert read["data"]["metadata"]["version"] == 1

    me = app.auth.token.lookup_self()["data"]
    assert me["policies"] == ["default", name]
    renewed = app.auth.token.renew_self(increment="1h")
    assert 0 < renewed["auth"]["lease_duration"] <= 1800
    assert renewed["warnings"], "capped at the role's max TTL, with a warning"

    app.auth.token.revoke_self()
    assert not app.is_authenticated()
    with pytest.raises(hvac.exceptions.Forbidden):
        app.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )


def test_wrong_secret_id_is_refused(role):
    _, role_id, _ = role
    app = hvac.Client(url=ADDR)
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        app.auth.approle.login(role_id=role_id, secret_id=str(uuid.uuid4()))
    assert "invalid role or secret ID" in str(err.value)
    assert not app.is_authenticated()


def test_secret_id_uses_are_enforced(role):
    _, role_id, secret_id = role
    for _ in range(2):
        hvac.Client(url=ADDR).auth.approle.login(role_id=role_id, secret_id=secret_id)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        hvac.Client(url=ADDR).auth.approle.login(role_id=role_id, secret_id=secret_id)


def test_aws_iam_user_and_sts_credentials(admin):
    name = f"hvac-aws-{uuid.uuid4().hex[:8]}"
    admin.secrets.aws.create_or_update_role(
        name=name, credential_type="iam_user", policy_document=POLICY_DOCUMENT
    )
    role = admin.secrets.aws.read_role(name=name)["data"]
    assert role["credential_type"] == "iam_user"
    creds = admin.secrets.aws.generate_credentials(name=name)
    seen(creds["data"]["access_key"], creds["data"]["secret_key"])
    assert creds["data"]["access_key"] and creds["data"]["secret_key"]
    lease_id = creds["lease_id"]
    assert lease_id.startswith(f"aws/creds/{name}/") and creds["renewable"]
    renewed = admin.sys.renew_lease(lease_id=lease_id, increment=60)
    assert renewed["lease_id"] == lease_id and 0 < renewed["lease_duration"] <= 60
    assert admin.sys.read_lease(lease_id=lease_id)["data"]["id"] == lease_id
    admin.sys.revoke_lease(lease_id=lease_id)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        admin.sys.read_lease(lease_id=lease_id)

    sts = f"{name}-sts"
    arn = "arn:aws:iam::123456789012:role/hvac-deployer"
    admin.secrets.aws.create_or_update_role(
        name=sts, credential_type="assumed_role", role_arns=[arn], max_sts_ttl="2h"
    )
    session = admin.secrets.aws.generate_credentials(name=sts, endpoint="sts", ttl="15m")
    seen(
        session["data"]["access_key"],
        session["data"]["secret_key"],
        session["data"]["security_token"],
    )
    assert session["data"]["security_token"] and not session["renewable"]
    assert 0 < session["lease_duration"] <= 900
    admin.secrets.aws.delete_role(name=name)
    admin.secrets.aws.delete_role(name=sts)
    with pytest.raises(hvac.exceptions.InvalidPath):
        admin.secrets.aws.read_role(name=name)


def test_response_wrapping(admin, role):
    """A secret ID handed out wrapped, unwrapped once by a client holding no token,
    then used to log in; a KV read wrapped for a third party; a second unwrap refused."""
    name, role_id, _ = role
    wrapped = admin.auth.approle.generate_secret_id(role_name=name, wrap_ttl="60s")
    info = wrapped["wrap_info"]
    seen(info["token"], info["accessor"], info.get("wrapped_accessor"))
    assert wrapped["data"] is None and wrapped["auth"] is None
    assert info["ttl"] == 60
    assert info["creation_path"] == f"auth/approle/role/{name}/secret-id"
    assert info["wrapped_accessor"]

    lookup = hvac.Client(url=ADDR).adapter.post(
        "/v1/sys/wrapping/lookup", json={"token": info["token"]}
    )
    assert lookup["data"]["creation_ttl"] == 60

    receiver = hvac.Client(url=ADDR, token=info["token"])
    unwrapped = receiver.sys.unwrap()
    secret_id = unwrapped["data"]["secret_id"]
    seen(secret_id, unwrapped["data"]["secret_id_accessor"])
    assert unwrapped["data"]["secret_id_accessor"] == info["wrapped_accessor"]
    login = hvac.Client(url=ADDR).auth.approle.login(role_id=role_id, secret_id=secret_id)
    seen(login["auth"]["client_token"], login["auth"]["accessor"])
    with pytest.raises(hvac.exceptions.VaultError) as err:
        hvac.Client(url=ADDR, token=info["token"]).sys.unwrap()
    assert "wrapping token is not valid or does not exist" in str(err.value)

    # A KV read wrapped, unwrapped by a third party with its own token.
    path = f"hvac/{name}-wrapped"
    admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"api_key": "wrapped-s3cret-hvac"}, mount_point="secret"
    )
    kv = admin.read(f"secret/data/{path}", wrap_ttl="2m")
    seen(kv["wrap_info"]["token"], kv["wrap_info"]["accessor"])
    assert kv["wrap_info"]["ttl"] == 120 and "wrapped_accessor" not in kv["wrap_info"]
    opened = admin.sys.unwrap(token=kv["wrap_info"]["token"])
    assert opened["data"]["data"] == {"api_key": "wrapped-s3cret-hvac"}
    with pytest.raises(hvac.exceptions.InvalidRequest):
        admin.sys.unwrap(token=kv["wrap_info"]["token"])
    admin.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point="secret")
