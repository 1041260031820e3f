#!/usr/bin/env bash
# `ttai-history replay`: success, time travel with --until, a query's
# answer, non-determinism (exit 1, event id, expected and actual command),
# --all, JSON output and usage errors.
set -euo pipefail
tool=$1
fixture=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=1
"$fixture" "$dir/data" 2>/dev/null

fail() { echo "FAIL: $*" >&2; exit 1; }
run() { "$tool" --data "$dir/data" "$@" 2>"$dir/err"; }

out=$(run replay c --query value) || fail "replay c exited $?"
grep -q "through event 8: OK" <<<"$out" || fail "replay c: $out"
grep -qx "value: 6" <<<"$out" || fail "value at the end: $out"

# History of c: 1 WorkflowStarted, 2 TaskCompleted, 3 add 1, 4 TaskCompleted,
# 5 add 2, 6 TaskCompleted, 7 add 3, 8 TaskCompleted.
out=$(run replay c --until 4 --query value) || fail "until 4"
grep -qx "value: 1" <<<"$out" || fail "value at event 4: $out"
out=$(run replay c --until 5 --query value) || fail "until 5"
grep -qx "value: 3" <<<"$out" || fail "value at event 5 (signal delivered): $out"
out=$(run replay c --until 6 --query value) || fail "until 6"
grep -qx "value: 3" <<<"$out" || fail "value at event 6: $out"

out=$(run --output json replay c --query value) || fail "json"
grep -q '"answer": 6' <<<"$out" || fail "json answer: $out"
grep -q '"ok": true' <<<"$out" || fail "json ok: $out"

set +e
out=$(run replay odd); status=$?
set -e
[ "$status" -eq 1 ] || fail "replay odd exited $status"
grep -q "non-deterministic workflow code at event 3" <<<"$out" || fail "odd: $out"
grep -q "history has TimerStarted(seq 1)" <<<"$out" || fail "odd expected: $out"
grep -q "code issued nothing" <<<"$out" || fail "odd actual: $out"

set +e
out=$(run replay --all); status=$?
set -e
[ "$status" -eq 1 ] || fail "replay --all exited $status"
grep -q "^replayed 2 runs: 1 problem$" <<<"$out" || fail "--all summary: $out"
grep -q "^run .* (default/odd): non-deterministic" <<<"$out" || fail "--all problem line: $out"

set +e
run replay; status=$?
[ "$status" -eq 2 ] || fail "replay without an id exited $status"
run replay c --until x; status=$?
[ "$status" -eq 2 ] || fail "bad --until exited $status"
grep -q "until" "$dir/err" || fail "bad --until message: $(cat "$dir/err")"
run replay nope; status=$?
[ "$status" -eq 1 ] || fail "unknown workflow exited $status"
set -e
echo "ok replay tool"
