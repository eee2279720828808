"""Process CPU per request: Sigil's release function binaries against OpenBao's server.

`make bench-process` runs this (scripts/bench-process sets up the stack first). Each
Sigil function runs as it does in Lambda: the release binary polls a Lambda Runtime
API, here a small one served by this script on loopback, and gets API Gateway (HTTP
API, payload 2.0) events. OpenBao runs as `bao server -dev`, asked the same things over
one keep-alive HTTP connection. Rounds alternate between the two.

Measured per operation, for the server process only (the client is this script):
user and system CPU from /proc/PID/stat (clock ticks, summed over many requests),
syscalls per request (strace -c -f, a separate shorter phase, when strace exists),
RSS (VmRSS) after the run, and each Sigil function's cold start: spawn to its first
poll of the Runtime API, and to its first response.

Numbers vary with the machine; compare ratios from the same run.
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime and stime of `pid` (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RuntimeApi:
    """A Lambda Runtime API for one function process: `invoke` hands it an event and
    waits for its response."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.first_poll = None
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm the
            # body waits for the client's delayed ACK (40 ms a request).
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    self.send_error(404)
                    return
                if api.first_poll is None:
                    api.first_poll = time.monotonic()
                request_id, body = api.events.get()
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                )
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                ok = self.path.endswith("/response")
                api.responses.put((ok, payload))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event):
        self.events.put((str(uuid.uuid4()), event))
        ok, payload = self.responses.get(timeout=60)
        if not ok:
            raise RuntimeError(f"function error: {payload[:300]!r}")
        return json.loads(payload)


def api_event(method, path, token=None, body=None):
    """An API Gateway HTTP API (payload 2.0) event."""
    path, _, query = path.partition("?")
    headers = {"content-type": "application/json", "user-agent": "bench-process"}
    if token:
        headers["x-vault-token"] = token
    now = int(time.time() * 1000)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench-process",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "06/Dec/2026:00:00:00 +0000",
            "timeEpoch": now,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


class Function:
    """One Sigil function process under its own Runtime API."""

    def __init__(self, name, binary, env, first=None):
        """`first`: (method, path, token, body) of a request queued before the process
        starts, so its answer times a cold start (kept in `first_answer`)."""
        self.name = name
        self.api = RuntimeApi()
        if first:
            self.api.events.put((str(uuid.uuid4()), api_event(*first)))
        fenv = dict(env)
        fenv.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.api.port}",
            AWS_LAMBDA_FUNCTION_NAME=name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
            AWS_LAMBDA_LOG_STREAM_NAME="bench",
            RUST_LOG=env.get("RUST_LOG", "info"),
        )
        self.log = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([binary], env=fenv, stdout=self.log, stderr=self.log)
        self.first_response = None
        self.first_answer = None
        if first:
            ok_, payload = self.api.responses.get(timeout=60)
            self.first_response = time.monotonic()
            resp = json.loads(payload)
            body = resp.get("body")
            self.first_answer = (resp.get("statusCode", 0), json.loads(body) if body else None)

    def call(self, method, path, token=None, body=None):
        resp = self.api.invoke(api_event(method, path, token, body))
        if self.first_response is None:
            self.first_response = time.monotonic()
        status = resp.get("statusCode", 0)
        payload = resp.get("body")
        return status, json.loads(payload) if payload else None

    def cold_start_ms(self):
        poll = (self.api.first_poll - self.started) * 1000 if self.api.first_poll else None
        first = (self.first_response - self.started) * 1000 if self.first_response else None
        return poll, first

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Bao:
    """OpenBao's dev server, asked over one keep-alive connection."""

    def __init__(self, binary):
        self.port = free_port()
        self.token = "bench-root"
        self.proc = subprocess.Popen(
            [binary, "server", "-dev", f"-dev-root-token-id={self.token}",
             f"-dev-listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.conn = None
        for _ in range(100):
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.call("GET", "/v1/sys/health")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("OpenBao did not start")

    def call(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        data = json.dumps(body) if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = r.read()
        return r.status, json.loads(payload) if payload else None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ok(status, body, what):
    if status >= 300:
        raise RuntimeError(f"{what}: {status} {body}")
    return body


PLAINTEXT_1K = base64.b64encode(b"x" * 1024).decode()


def setup(call_admin, admin_token, secret_path):
    """The same setup on either server: a policy, an AppRole role, a secret, a transit
    mount with a key."""
    policy = ('path "secret/data/bench/*" { capabilities = ["read"] }\n'
              'path "transit/encrypt/bench" { capabilities = ["update"] }')
    ok(*call_admin("PUT", "/v1/sys/policies/acl/bench", admin_token, {"policy": policy}), "policy")
    status, body = call_admin("POST", "/v1/sys/mounts/transit", admin_token, {"type": "transit"})
    if status >= 300 and "already in use" not in json.dumps(body):  # a rerun on one stack
        raise RuntimeError(f"transit mount: {status} {body}")
    ok(*call_admin("POST", "/v1/transit/keys/bench", admin_token, {}), "transit key")
    ok(*call_admin("POST", "/v1/auth/approle/role/bench", admin_token,
                   {"token_policies": "bench", "token_ttl": "1h"}), "role")
    role_id = ok(*call_admin("GET", "/v1/auth/approle/role/bench/role-id", admin_token),
                 "role id")["data"]["role_id"]
    secret_id = ok(*call_admin("POST", "/v1/auth/approle/role/bench/secret-id", admin_token),
                   "secret id")["data"]["secret_id"]
    ok(*call_admin("POST", f"/v1/{secret_path}", admin_token,
                   {"data": {"password": "x" * 64}}), "kv put")
    return role_id, secret_id


def measure(pid, fn, n):
    """CPU (user, system) per call of `fn` over `n` calls, in microseconds."""
    u0, s0 = cpu_ticks(pid)
    for _ in range(n):
        fn()
    u1, s1 = cpu_ticks(pid)
    per = 1e6 / CLK_TCK / n
    return (u1 - u0) * per, (s1 - s0) * per


def syscalls(pid, fn, n):
    """Syscalls per call of `fn` (strace -c -f attached for `n` calls); None without
    strace or permission."""
    if not shutil.which("strace"):
        return None
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out.name, "-p", str(pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    for _ in range(n):
        fn()
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=10)
    text = open(out.name).read()
    os.unlink(out.name)
    # strace -c's table: fixed-width columns under "% time seconds usecs/call calls
    # errors syscall"; the "calls" column ends where its header does.
    total = None
    by_call = {}
    lines = text.splitlines()
    header = next((l for l in lines if "calls" in l and "syscall" in l), None)
    if header:
        end = header.index("calls") + len("calls")
        for line in lines:
            field = line[:end].split()
            if not field or not field[-1].isdigit():
                continue
            name = line.split()[-1]
            if name == "total":
                total = int(field[-1])
            else:
                by_call[name] = int(field[-1]) / n
    syscalls.last = sorted(by_call.items(), key=lambda kv: -kv[1])
    return None if total is None else total / n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", default="target/release")
    p.add_argument("--bao", default=".cache/venv/bin/bao")
    p.add_argument("-n", type=int, default=1000, help="requests per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--strace-n", type=int, default=100)
    p.add_argument("--only", help="run only the operations whose names contain this text "
                   "(e.g. --only lookup, to profile one operation with perf)")
    args = p.parse_args()
    env = dict(os.environ)
    admin_token = env["SIGIL_TOKEN"]

    binary = lambda name: os.path.join(args.bin_dir, name)
    fns = {"admin": Function("admin", binary("admin"), env,
                             first=("GET", "/v1/sys/policies/acl", admin_token, None))}
    role_id, secret_id = setup(fns["admin"].call, admin_token, "secret/data/bench/db")
    # Cold starts as a first request meets them: the event is waiting when the process
    # starts (the time to the answer includes unwrapping the keyring's keys from KMS).
    fns["login"] = Function("login", binary("login"), env, first=(
        "POST", "/v1/auth/approle/login", None, {"role_id": role_id, "secret_id": secret_id}))
    token = ok(*fns["login"].first_answer, "login")["auth"]["client_token"]
    fns["issue"] = Function("issue", binary("issue"), env,
                            first=("GET", "/v1/secret/data/bench/db", token, None))
    ok(*fns["issue"].first_answer, "first KV read")

    bao = None
    if os.path.exists(args.bao):
        bao = Bao(args.bao)
        ok(*bao.call("POST", "/v1/sys/auth/approle", bao.token, {"type": "approle"}), "enable")
        b_role, b_secret = setup(bao.call, bao.token, "secret/data/bench/db")
        b_token = ok(*bao.call("POST", "/v1/auth/approle/login", None,
                               {"role_id": b_role, "secret_id": b_secret}), "login")["auth"]["client_token"]

    def must(status_body):
        status, body = status_body
        if status >= 300:
            raise RuntimeError(f"{status} {body}")

    def refused(status_body):
        if status_body[0] != 403:
            raise RuntimeError(f"expected 403, got {status_body}")

    ops = {
        "KV v2 read": (
            lambda: must(fns["issue"].call("GET", "/v1/secret/data/bench/db", token)),
            fns["issue"],
            lambda: must(bao.call("GET", "/v1/secret/data/bench/db", b_token)),
        ),
        "AppRole login": (
            lambda: must(fns["login"].call("POST", "/v1/auth/approle/login", None,
                                           {"role_id": role_id, "secret_id": secret_id})),
            fns["login"],
            lambda: must(bao.call("POST", "/v1/auth/approle/login", None,
                                  {"role_id": b_role, "secret_id": b_secret})),
        ),
        # The floor: the Runtime API's two exchanges, routing, the audit lines and
        # the 403, with no storage call (OpenBao: its HTTP server and the same 403).
        "refused, no token": (
            lambda: refused(fns["issue"].call("GET", "/v1/secret/data/bench/db")),
            fns["issue"],
            lambda: refused(bao.call("GET", "/v1/secret/data/bench/db")),
        ),
        "transit encrypt, 1 KB": (
            lambda: must(fns["issue"].call("POST", "/v1/transit/encrypt/bench", token,
                                           {"plaintext": PLAINTEXT_1K})),
            fns["issue"],
            lambda: must(bao.call("POST", "/v1/transit/encrypt/bench", b_token,
                                  {"plaintext": PLAINTEXT_1K})),
        ),
        "token lookup-self": (
            lambda: must(fns["issue"].call("GET", "/v1/auth/token/lookup-self", token)),
            fns["issue"],
            lambda: must(bao.call("GET", "/v1/auth/token/lookup-self", b_token)),
        ),
    }
    rows = []
    breakdown = []
    for name, (sigil_op, fn, bao_op) in ops.items():
        if args.only and args.only not in name:
            continue
        for _ in range(50):  # warm both
            sigil_op()
            if bao:
                bao_op()
        s_tot, b_tot = [0.0, 0.0], [0.0, 0.0]
        for _ in range(args.rounds):
            u, s = measure(fn.proc.pid, sigil_op, args.n)
            s_tot[0] += u / args.rounds
            s_tot[1] += s / args.rounds
            if bao:
                u, s = measure(bao.proc.pid, bao_op, args.n)
                b_tot[0] += u / args.rounds
                b_tot[1] += s / args.rounds
        sc = syscalls(fn.proc.pid, sigil_op, args.strace_n)
        top = ", ".join(f"{k} {v:.1f}" for k, v in getattr(syscalls, "last", [])[:8])
        breakdown.append(f"{name}: Sigil's syscalls per request: {top}")
        bsc = syscalls(bao.proc.pid, bao_op, args.strace_n) if bao else None
        rows.append((name, s_tot, b_tot if bao else None, sc, bsc))

    print()
    print(f"Process CPU per request ({args.rounds} rounds x {args.n} requests, interleaved; "
          f"clock tick {1e6 / CLK_TCK:.0f} us)")
    print()
    print("| operation | Sigil us/request (user + sys) | OpenBao us/request (user + sys) | ratio | syscalls/request Sigil | OpenBao |")
    print("|---|---|---|---|---|---|")
    for name, s, b, sc, bsc in rows:
        st = s[0] + s[1]
        bt = (b[0] + b[1]) if b else None
        ratio = f"{st / bt:.2f}" if bt else "-"
        fmt_sc = f"{sc:.1f}" if sc is not None else "-"
        fmt_bsc = f"{bsc:.1f}" if bsc is not None else "-"
        bcol = f"{bt:.0f} ({b[0]:.0f} + {b[1]:.0f})" if b else "-"
        print(f"| {name} | {st:.0f} ({s[0]:.0f} + {s[1]:.0f}) | {bcol} | {ratio} | {fmt_sc} | {fmt_bsc} |")
    print()
    for line in breakdown:
        print(line)
    print()
    for name, fn in fns.items():
        poll, first = fn.cold_start_ms()
        print(f"{name}: cold start {poll:.1f} ms to first poll, {first:.1f} ms to first response; "
              f"RSS {rss_kb(fn.proc.pid) / 1024:.1f} MB")
    if bao:
        print(f"OpenBao: RSS {rss_kb(bao.proc.pid) / 1024:.1f} MB")
    for fn in fns.values():
        fn.stop()
    if bao:
        bao.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
