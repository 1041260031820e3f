# test_concurrent.sh: verify (and list) while another process holds the store
# open read-write and commits to it.
source "$(dirname "$0")/common.sh"

"$fixture" good "$work/data"
"$fixture" writer "$work/data" "$work/ready" &
writer=$!
stop_writer() {
    kill -TERM "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    cleanup
}
trap stop_writer EXIT

for _ in $(seq 200); do
    [ -e "$work/ready" ] && break
    kill -0 "$writer" 2>/dev/null || fail "the writer exited early"
    sleep 0.05
done
[ -e "$work/ready" ] || fail "the writer did not get ready in 10 s"

# Each verify sees a consistent snapshot (no problems), and later ones see
# more runs: the writer really is committing meanwhile.
counts=()
for _ in 1 2 3 4; do
    run_tool 0 --data "$work/data" verify
    summary=$(tail -n 1 "$work/out")
    [[ "$summary" =~ ^verified\ ([0-9]+)\ runs,\ [0-9]+\ events:\ OK$ ]] \
        || fail "unexpected summary '$summary'"
    counts+=("${BASH_REMATCH[1]}")
    sleep 0.3
done
# The sound store's 6 runs and the writer's live-signals run are there from
# the start; live-N runs come on top.
[ "${counts[0]}" -ge 7 ] || fail "the first verify saw ${counts[0]} runs, want at least 7"
[ "${counts[3]}" -gt "${counts[0]}" ] || fail "run counts did not grow: ${counts[*]}"

run_tool 0 --data "$work/data" list --output json
n=$("$json" '#' <"$work/out")
[ "$n" -ge "${counts[3]}" ] || fail "list shows $n runs, fewer than verify saw (${counts[3]})"
run_tool 0 --data "$work/data" show live-signals --output json
json_is 0.type WorkflowStarted

kill -TERM "$writer"
status=0
wait "$writer" || status=$?
[ "$status" -eq 0 ] || fail "the writer exited with $status"
trap cleanup EXIT
run_tool 0 --data "$work/data" verify
echo "ok"
