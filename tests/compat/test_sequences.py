"""Runs the sequences (sequences.py) against Sigil and OpenBao and compares each step's
two answers (compare.py), less the allowed differences (allowed.py)."""

import fnmatch
import re
from pathlib import Path

import pytest

from allowed import ALLOWED, PENDING_BY_STEP
from compare import compare
from conftest import send
from sequences import ALL_STEPS, SEQUENCES, SERVER_VARS, prepare_database, run_steps

USED = set()  # indexes of ALLOWED entries that removed a difference
RAN = set()  # step ids compared


@pytest.fixture(scope="session")
def exchanges(servers):
    """{step id: {"sigil": (status, body), "openbao": (status, body)}}; every sequence
    runs once per session, on each server, in order."""
    out = {}
    prepare_database()
    ctx = {name: dict(SERVER_VARS.get(name, {})) for name in ("sigil", "openbao")}
    for steps in SEQUENCES.values():
        results = {name: run_steps(srv, steps, ctx[name], send) for name, srv in servers.items()}
        for step in steps:
            out[step.id] = {name: res.get(step.id) for name, res in results.items()}
    return out


def remaining(step_id, diffs):
    left = []
    for path, msg in diffs:
        hit = False
        for i, entry in enumerate(ALLOWED):
            if any(fnmatch.fnmatchcase(step_id, s) for s in entry.steps) and any(
                fnmatch.fnmatchcase(path, p) for p in entry.paths
            ):
                USED.add(i)
                hit = True
        if not hit:
            left.append((path, msg))
    return left


def _params():
    for step in ALL_STEPS:
        marks = []
        pending = PENDING_BY_STEP.get(step.id)
        if pending:
            marks.append(pytest.mark.xfail(
                strict=True,
                reason=f"PENDING: {pending.what} (sigil: {pending.sigil}; openbao: {pending.openbao})",
            ))
        yield pytest.param(step, id=step.id, marks=marks)


@pytest.mark.parametrize("step", list(_params()))
def test_step(step, exchanges):
    got = exchanges[step.id]
    if step.no_reference:
        status = got["sigil"][0]
        assert status == step.sigil_status, (
            f"{step.method} {step.path}: Sigil answered {status}, expected {step.sigil_status} "
            f"(no OpenBao reference: {step.no_reference}); body {got['sigil'][1]!r:.300}"
        )
        return
    RAN.add(step.id)
    diffs = remaining(step.id, compare(got["sigil"], got["openbao"], step.values))
    assert not diffs, (
        f"{step.method} {step.path}: sigil {got['sigil'][0]}, openbao {got['openbao'][0]}\n"
        + "\n".join(f"  {p}: {m}" for p, m in diffs)
        + f"\n  sigil:   {got['sigil'][1]!r:.600}\n  openbao: {got['openbao'][1]!r:.600}"
    )


def test_pending_entries_name_steps():
    ids = {s.id for s in ALL_STEPS}
    stale = sorted(set(PENDING_BY_STEP) - ids)
    assert not stale, f"PENDING names no step: {stale}"


def test_allowed_entries_are_used():
    if RAN != {s.id for s in ALL_STEPS if not s.no_reference}:
        pytest.skip("only with the whole sequence suite")
    unused = [ALLOWED[i] for i in range(len(ALLOWED)) if i not in USED]
    assert not unused, "allowed differences that no step shows any more (remove them):\n" + "\n".join(
        f"  {a.steps} {a.paths}: {a.what}" for a in unused
    )


# docs/api.md's route table: every (method, route) must be exercised by some step.
MOUNT_NAMES = {":mount": "secret", ":jwt-mount": "jwt", ":k8s-mount": "kubernetes",
               ":transit-mount": "transit-(byok-)?[0-9a-f]+", ":database-mount": "database-[0-9a-f]+"}
EQUIVALENT = {"POST": {"POST", "PUT"}, "PUT": {"POST", "PUT"}}


def documented_routes():
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    routes = []
    for line in text.splitlines():
        m = re.match(r"^\| ([A-Z, ]+) \| (.+?) \| \w+ \|", line)
        if not m:
            continue
        methods = [x.strip() for x in m.group(1).split(",")]
        for path in re.findall(r"`([^`]+)`", m.group(2)):
            routes.append((methods, path))
    return routes


def route_regex(path):
    path = path.split("?")[0]
    parts = []
    for seg in path.strip("/").split("/"):
        if seg in MOUNT_NAMES:
            parts.append(MOUNT_NAMES[seg])
        elif seg in (":path", ":prefix", ":folder", ":lease_id"):
            parts.append(".+")
        elif seg.startswith(":"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(seg))
    tail = "/" if path.endswith("/") else ""
    return re.compile("^" + "/".join(parts) + tail + "$")


def test_every_documented_route_is_exercised():
    routes = documented_routes()
    assert len(routes) > 40, "docs/api.md's route table was not found"
    missing = []
    for methods, path in routes:
        rx = route_regex(path)
        for method in methods:
            ok = EQUIVALENT.get(method, {method})
            if not any(s.method in ok and rx.match(s.path.split("?")[0]) for s in ALL_STEPS):
                missing.append(f"{method} {path}")
    assert not missing, "routes of docs/api.md no step exercises:\n  " + "\n  ".join(missing)
