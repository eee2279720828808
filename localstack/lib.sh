# shellcheck shell=bash
# Shared helpers for localstack/up, localstack/serve and localstack/down.
# Sourced, not run. Callers set `set -euo pipefail` themselves.
# shellcheck disable=SC2034  # the paths below are used by the scripts that source this

SIGIL_LS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SIGIL_LS_DIR/.." && pwd)"
CACHE="$(realpath -m "${SIGIL_CACHE:-$ROOT/.cache}")"
STATE="$ROOT/.sigil"
PIDS="$STATE/pids"
LOGS="$STATE/logs"
VENV="$CACHE/venv"
NPM_DIR="$CACHE/npm"
STACK_ENV="$STATE/stack.env"

# Every process we start carries this in its environment; `down` and the reuse checks
# only touch a tracked PID whose environment still holds it (guards against PID reuse).
OWNER_MARK="SIGILSTACK_OWNER=$ROOT"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# sha256 of the given files' contents (order matters), one hex string.
files_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Is PID alive and started by this checkout's scripts?
is_ours() {
    local pid="$1"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -r "/proc/$pid/environ" ]] || return 1
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "$OWNER_MARK"
}

# PID recorded in .sigil/pids/NAME.pid if that process is alive and ours, else nothing.
tracked_pid() {
    local f="$PIDS/$1.pid" pid
    [[ -f "$f" ]] || return 1
    pid="$(head -n1 "$f" 2>/dev/null || true)"
    if is_ours "$pid"; then printf '%s\n' "$pid"; else return 1; fi
}

# All descendants of PID (children first discovered breadth-first), from /proc.
descendants() {
    local root="$1" p stat rest ppid
    local -A kids=()
    for p in /proc/[0-9]*; do
        stat="$(cat "$p/stat" 2>/dev/null)" || continue
        rest="${stat##*) }"            # drop "pid (comm) " (comm may hold spaces)
        ppid="$(cut -d' ' -f2 <<<"$rest")"
        kids[$ppid]+="${p#/proc/} "
    done
    local queue=("$root") cur c
    while ((${#queue[@]})); do
        cur="${queue[0]}"; queue=("${queue[@]:1}")
        for c in ${kids[$cur]:-}; do
            printf '%s\n' "$c"
            queue+=("$c")
        done
    done
}

# Stop tracked processes: each one's whole process group, plus any descendants that
# moved to groups of their own (cargo lambda watch runs each function in a separate
# group). SIGTERM to all at once, SIGKILL to what is left after GRACE seconds.
# Usage: stop_trees GRACE PID...
stop_trees() {
    local grace="$1" p i alive; shift
    local -a all=() kids
    for p in "$@"; do
        mapfile -t kids < <(descendants "$p")
        all+=("$p" "${kids[@]}")
    done
    for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for p in "${all[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for ((i = 0; i < grace * 20; i++)); do
        alive=0
        for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1 && break; done
        ((alive)) || return 0
        sleep 0.05
    done
    for p in "$@"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

# Processes still carrying our OWNER_MARK (e.g. functions orphaned by a watch that was
# killed with SIGKILL), other than this shell.
marked_orphans() {
    local p pid
    for p in /proc/[0-9]*; do
        pid="${p#/proc/}"
        [[ "$pid" == "$$" || "$pid" == "${BASHPID:-}" ]] && continue
        tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "$OWNER_MARK" && printf '%s\n' "$pid"
    done
    return 0
}

# Start a command detached in its own session / process group, logging to
# .sigil/logs/NAME.log and recording the PID in .sigil/pids/NAME.pid (also left in
# STARTED_PID; do not call this in a command substitution).
# Usage: start_bg NAME WORKDIR CMD [ARGS...]
start_bg() {
    local name="$1" dir="$2"; shift 2
    mkdir -p "$PIDS" "$LOGS"
    local log="$LOGS/$name.log"
    : >"$log"
    (
        cd "$dir" || exit 1
        exec 8>&- 9>&-    # never hand the up/serve lock fds to a long-lived process
        export "${OWNER_MARK?}"
        # setsid: new session and process group, no controlling terminal (no SIGHUP).
        exec setsid "$@" </dev/null >>"$log" 2>&1
    ) &
    STARTED_PID=$!
    printf '%s\n' "$STARTED_PID" >"$PIDS/$name.pid"
}

# Print the last lines of a log to stderr.
log_tail() {
    local log="$1" n="${2:-40}"
    if [[ -s "$log" ]]; then
        say "---- last $n lines of $log ----"
        tail -n "$n" "$log" >&2
        say "----"
    else
        say "($log is empty)"
    fi
}

# Wait until CHECK (a function name) succeeds, at most TIMEOUT seconds. If PID is given
# and the process dies meanwhile, fail at once. On failure print the log tail and exit.
# Usage: wait_healthy WHAT TIMEOUT LOG PID|"" CHECK [ARGS...]
wait_healthy() {
    local what="$1" timeout="$2" log="$3" pid="$4"; shift 4
    local deadline=$((SECONDS + timeout))
    while :; do
        if "$@"; then return 0; fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            [[ -n "$log" ]] && log_tail "$log"
            die "$what exited before becoming healthy (pid $pid)"
        fi
        if ((SECONDS >= deadline)); then
            [[ -n "$log" ]] && log_tail "$log"
            die "$what not healthy after ${timeout}s"
        fi
        sleep 0.2
    done
}

# --- health checks --------------------------------------------------------------------

# A signed-looking header: DynamoDB Local and moto only parse it (any signature is fine).
_fake_auth() {
    printf 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/%s/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000' "$1"
}

# DynamoDB answers ListTables with a TableNames list.
dynamodb_healthy() {
    local url="$1" out
    out="$(curl -sS -m 3 -X POST "$url/" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'X-Amz-Date: 20240101T000000Z' \
        -H "$(_fake_auth dynamodb)" \
        -d '{}' 2>/dev/null)" || return 1
    [[ "$out" == *TableNames* ]]
}

# KMS answers ListKeys with a Keys list.
kms_healthy() {
    local url="$1" out
    out="$(curl -sS -m 3 -X POST "$url/" \
        -H 'Content-Type: application/x-amz-json-1.1' \
        -H 'X-Amz-Target: TrentService.ListKeys' \
        -H 'X-Amz-Date: 20240101T000000Z' \
        -H "$(_fake_auth kms)" \
        -d '{}' 2>/dev/null)" || return 1
    [[ "$out" == *'"Keys"'* ]]
}

localstack_healthy() {
    local out
    out="$(curl -sS -m 3 "$1/_localstack/health" 2>/dev/null)" || return 1
    [[ "$out" == *'"services"'* ]]
}

# Something answers HTTP on URL (any status code).
http_answers() {
    local code
    code="$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null)" || true
    [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

# Is a TCP port on 127.0.0.1 accepting connections?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- tool venvs -------------------------------------------------------------------------

# Makes $CACHE/NAME a Python venv holding the pinned packages of REQUIREMENTS (a pip
# requirements file), installing only when that file changed since the last install.
# Prints the venv's path. Used for the deployment tools (infra/requirements-*.txt).
# Usage: tool_venv NAME REQUIREMENTS
tool_venv() {
    local dir="$CACHE/$1" req="$2" stamp want
    stamp="$dir/.sigil-stamp"
    want="$(files_hash "$req")"
    if [[ -x "$dir/bin/python" && -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    command -v python3 >/dev/null || die "python3 is needed (Debian: apt-get install python3 python3-venv)"
    say "installing $(grep -cvE '^[[:space:]]*(#|$)' "$req") pinned Python packages from ${req#"$ROOT"/} into $dir ..."
    [[ -x "$dir/bin/python" ]] || python3 -m venv "$dir" >&2
    rm -f "$stamp"
    "$dir/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
    printf '%s\n' "$want" >"$stamp"
    printf '%s\n' "$dir"
}
