"""An existing Vault client library (hvac, from PyPI) against Sigil, unchanged.

Runs under `make test`, which starts the functions on SIGIL_ADDR and exports an admin
token in SIGIL_TOKEN. The client does AppRole login, KV v2 write (with check-and-set)
and read, token lookup, renew and revoke, exactly as it would against Vault.
"""

import os
import uuid

import hvac
import hvac.exceptions
import pytest

ADDR = os.environ.get("SIGIL_ADDR", "http://127.0.0.1:8200")


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
