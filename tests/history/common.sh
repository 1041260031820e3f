# common.sh: sourced by every ttai-history test script.
#
#   bash test_X.sh TTAI_HISTORY HISTORY_FIXTURE HISTORY_JSON [ARGS...]
#
# Gives: $tool, $fixture, $json, a scratch directory $work (removed on
# exit), the fixture's run ids $R1..$R9, and the helpers below. Each helper
# fails the test with a message that shows what was seen.
set -euo pipefail

tool=$1
fixture=$2
json=$3
shift 3

work=$(mktemp -d "${TMPDIR:-/tmp}/ttai-history-test.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# The fixture's fixed run ids (see history_fixture.c).
for n in 1 2 3 4 5 6 9; do
    printf -v "R$n" '00000000-0000-4000-8000-00000000000%d' "$n"
done

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run_tool STATUS ARGS...: runs ttai-history ARGS and fails unless it exits
# with STATUS. Its output is left in $work/out and $work/err.
run_tool() {
    local want=$1 got=0
    shift
    "$tool" "$@" >"$work/out" 2>"$work/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        fail "ttai-history $*: exit status $got, want $want"
    fi
}

# has FILE TEXT: FILE (out or err) contains the fixed string TEXT.
has() {
    grep -qF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "$1 lacks '$2'"; }
}

# has_line FILE LINE: FILE has a line that is exactly LINE.
has_line() {
    grep -qxF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "$1 lacks the line '$2'"; }
}

# count_lines FILE REGEX WANT: FILE has WANT lines matching REGEX.
count_lines() {
    local got
    got=$(grep -cE -- "$2" "$work/$1" || true)
    [ "$got" -eq "$3" ] || { cat "$work/$1" >&2; fail "$1 has $got lines matching '$2', want $3"; }
}

# json_is PATH WANT: the JSON in $work/out has WANT at PATH (history_json).
json_is() {
    local got
    got=$("$json" "$1" <"$work/out") || { cat "$work/out" >&2; fail "no JSON value at '$1'"; }
    [ "$got" = "$2" ] || fail "JSON at '$1' is '$got', want '$2'"
}
