# common.sh: sourced by every ttaictl test script.
#
#   bash test_X.sh TTAICTL FAKE_TTAID [ARGS...]
#
# Gives: $ctl, $fake, a scratch directory $work (removed on exit, with every
# process started here stopped), fake_start (a fake ttaid, whose address
# becomes TTAI_ADDRESS), ttaid_start (the real one), and the helpers below.
# Each helper fails the test with a message that shows what was seen.
set -euo pipefail

ctl=$1
fake=$2
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/ttaictl-test.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# No setting from the caller's environment may leak into a test.
unset TTAI_ADDRESS TTAI_NAMESPACE TTAI_TOKEN http_proxy HTTP_PROXY

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# fake_start: starts a fake ttaid on an ephemeral port; sets $port, $addr
# and TTAI_ADDRESS. Its request log is $work/requests; it holds followed
# streams until $work/release exists.
fake_start() {
    : >"$work/port"
    "$fake" "$work/requests" "$work/release" >"$work/port" 2>"$work/fake.err" &
    fake_pid=$!
    pids+=("$fake_pid")
    for _ in $(seq 200); do
        [ -s "$work/port" ] && break
        sleep 0.05
    done
    port=$(head -n1 "$work/port")
    [ -n "$port" ] || fail "the fake ttaid did not print its port"
    addr=127.0.0.1:$port
    export TTAI_ADDRESS=$addr
}

# ttaid_start NAME ARGS...: starts the real ttaid ($ttaid, which the script
# sets) on $work/NAME; sets TTAI_ADDRESS from its first log line
# ("listening on 127.0.0.1:PORT").
ttaid_start() {
    local name=$1
    shift
    "$ttaid" --data "$work/$name" --listen 127.0.0.1:0 "$@" 2>"$work/$name.log" &
    pids+=("$!")
    wait_for "$work/$name.log" 'listening on 127\.0\.0\.1:[0-9]+' 1
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/$name.log" | head -n1 | sed 's/.*://')
    export TTAI_ADDRESS=127.0.0.1:$port
}

# run_ctl STATUS ARGS...: runs ttaictl ARGS and fails unless it exits with
# STATUS. Its output is left in $work/out and $work/err; the request log is
# emptied first, so $work/requests holds what this run sent.
run_ctl() {
    local want=$1 got=0
    shift
    : >"$work/requests"
    "$ctl" "$@" >"$work/out" 2>"$work/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        fail "ttaictl $*: exit status $got, want $want"
    fi
}

# has FILE TEXT: FILE (out or err) contains the fixed string TEXT.
has() {
    grep -qF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "$1 lacks '$2'"; }
}

# lacks FILE TEXT: FILE does not contain TEXT.
lacks() {
    if grep -qF -- "$2" "$work/$1"; then cat "$work/$1" >&2; fail "$1 has '$2'"; fi
}

# has_line FILE LINE: FILE has a line that is exactly LINE.
has_line() {
    grep -qxF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "$1 lacks the line '$2'"; }
}

# empty FILE: FILE is empty.
empty() {
    [ ! -s "$work/$1" ] || { cat "$work/$1" >&2; fail "$1 is not empty"; }
}

# canon: stdin's JSON, compact with sorted keys.
canon() {
    "$fake" canon
}

# out_json_is WANT: stdout is one JSON document equal to WANT (any layout).
out_json_is() {
    local got want
    got=$(canon <"$work/out") || { cat "$work/out" >&2; fail "stdout is not JSON"; }
    want=$(printf '%s' "$1" | canon)
    [ "$got" = "$want" ] || fail "stdout is $got, want $want"
}

# request_is [N] WANT: request N (default: the only one) of the last run,
# as logged by the fake, equals WANT (JSON with auth, body, method, path, query).
request_is() {
    local n=1 count got want
    if [ $# -eq 2 ]; then n=$1; shift; fi
    count=$(wc -l <"$work/requests")
    [ "$count" -ge "$n" ] || { cat "$work/requests" >&2; fail "$count requests, want at least $n"; }
    got=$(sed -n "${n}p" "$work/requests")
    want=$(printf '%s' "$1" | canon)
    [ "$got" = "$want" ] || fail "request $n is
  $got
want
  $want"
}

# requests_count N: the last run sent N requests.
requests_count() {
    local count
    count=$(wc -l <"$work/requests")
    [ "$count" -eq "$1" ] || { cat "$work/requests" >&2; fail "$count requests, want $1"; }
}

# wait_for FILE REGEX COUNT: waits (up to 10 s) until FILE has COUNT lines
# matching REGEX.
wait_for() {
    for _ in $(seq 200); do
        [ "$(grep -cE -- "$2" "$1" || true)" -ge "$3" ] && return 0
        sleep 0.05
    done
    cat "$1" >&2
    fail "$1 did not get $3 lines matching '$2'"
}
