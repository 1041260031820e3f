# test_e2e.sh: ttaictl against the real ttaid, on a temporary data directory
# and a free port: hello and counter through every workflow subcommand,
# server errors, and namespace isolation with tokens.
#
#   bash test_e2e.sh TTAICTL FAKE_TTAID TTAID
source "$(dirname "$0")/common.sh"

ttaid=$1

ttaid_start data

# hello: execute, result, describe, show, list.
run_ctl 0 workflow execute --type hello --id h-1 --input '"ann"' -o json
out_json_is '"Hello, ann!"'
run_ctl 0 workflow execute --type hello --id h-2 --input '"bob"'
has out "Result  Hello, bob!"
run_ctl 0 workflow result --id h-1 -o json
out_json_is '"Hello, ann!"'
run_ctl 0 workflow describe --id h-1 -o json
canon <"$work/out" | grep -qF '"status":"completed"' || fail "h-1 is not completed: $(cat "$work/out")"
canon <"$work/out" | grep -qF '"blocked":null' || fail "h-1 has no blocked: null"
canon <"$work/out" | grep -qF '"type":"hello","workflow_id":"h-1"' || fail "describe h-1: $(cat "$work/out")"
run_ctl 0 workflow show --id h-1 -o json
canon <"$work/out" | grep -qF '"type":"WorkflowCompleted"' || fail "show h-1: $(cat "$work/out")"
run_ctl 0 workflow show --id h-1
has out "WorkflowStarted"
has out "WorkflowCompleted"
run_ctl 0 workflow list --type hello -o json
[ "$(canon <"$work/out" | grep -o '"workflow_id":"h-[12]"' | wc -l)" -eq 2 ] ||
    fail "list --type hello: $(cat "$work/out")"
run_ctl 0 workflow list --status completed --limit 1 -o json
[ "$(canon <"$work/out" | grep -o '"workflow_id"' | wc -l)" -eq 1 ] || fail "list --limit 1"
run_ctl 0 workflow list
has out "WORKFLOW ID"
has out "h-2"

# counter: start, signals, query, follow, stop, result.
run_ctl 0 workflow start --type counter --id c-1 --input '{"every": 100}' -o json
canon <"$work/out" | grep -qE '^\{"run_id":"[0-9a-f-]{36}","workflow_id":"c-1"\}$' ||
    fail "start c-1: $(cat "$work/out")"
run_ctl 0 workflow signal --id c-1 --name add --input 5
run_ctl 0 workflow signal --id c-1 --name add --input 7 -o json
run_ctl 0 workflow query --id c-1 --name value -o json
out_json_is '12'
"$ctl" -o json workflow show --id c-1 --follow >"$work/follow.out" 2>"$work/follow.err" &
follow_pid=$!
pids+=("$follow_pid")
wait_for "$work/follow.out" '"type":"SignalReceived"' 2
kill -0 "$follow_pid" 2>/dev/null || fail "show --follow ended while c-1 runs"
run_ctl 0 workflow signal --id c-1 --name stop
wait_for "$work/follow.out" '"type":"WorkflowCompleted"' 1
status=0
wait "$follow_pid" || status=$?
[ "$status" -eq 0 ] || { cat "$work/follow.err" >&2; fail "show --follow exited $status"; }
run_ctl 0 workflow result --id c-1 -o json
out_json_is '12'

# Continue-as-new: a followed run's stream ends with ContinuedAsNew, and
# stderr says how to follow the next run; result follows to the end.
run_ctl 0 workflow start --type counter --id c-can --input '{"every": 2}'
"$ctl" -o json workflow show --id c-can --follow >"$work/can.out" 2>"$work/can.err" &
can_pid=$!
pids+=("$can_pid")
wait_for "$work/can.out" '"type":"WorkflowStarted"' 1
run_ctl 0 workflow signal --id c-can --name add --input 4
run_ctl 0 workflow signal --id c-can --name add --input 6
status=0
wait "$can_pid" || status=$?
[ "$status" -eq 0 ] || { cat "$work/can.err" >&2; fail "show --follow over continue-as-new exited $status"; }
wait_for "$work/can.out" '"type":"ContinuedAsNew"' 1
grep -qF "workflow show --id c-can --follow" "$work/can.err" || fail "no note: $(cat "$work/can.err")"
run_ctl 0 workflow describe --id c-can -o json
canon <"$work/out" | grep -qF '"status":"running"' || fail "c-can: $(cat "$work/out")"
run_ctl 0 workflow signal --id c-can --name stop
run_ctl 0 workflow result --id c-can -o json
out_json_is '10'

# signal-with-start, then terminate and cancel.
run_ctl 0 workflow signal-with-start --id c-2 --name add --type counter --input '{"every": 100}' \
    --signal-input 3 -o json
run_ctl 0 workflow query --id c-2 --name value -o json
out_json_is '3'
run_ctl 0 workflow terminate --id c-2 --reason "test over"
run_ctl 0 workflow describe --id c-2 -o json
canon <"$work/out" | grep -qF '"status":"terminated"' || fail "c-2: $(cat "$work/out")"
run_ctl 1 workflow result --id c-2
has err "workflow 'c-2' terminated"
run_ctl 0 workflow start --type counter --id c-3 --input '{"every": 100}'
run_ctl 0 workflow cancel --id c-3 --reason "no longer needed"
# The counter waits for signals: the request ends the wait and the run closes canceled.
run_ctl 1 workflow result --id c-3
has err "workflow 'c-3' canceled"
run_ctl 0 workflow describe --id c-3 -o json
canon <"$work/out" | grep -qF '"status":"canceled"' || fail "c-3: $(cat "$work/out")"

# Errors ttaid reports: exit 1 with its code.
run_ctl 1 workflow describe --id nobody
has err "not_found"
run_ctl 1 workflow start --type nosuchtype --id n-1
has err "not_found"
run_ctl 0 workflow start --type counter --id c-4 --input '{"every": 100}'
run_ctl 1 workflow start --type counter --id c-4
has err "conflict"
run_ctl 0 workflow start --type counter --id c-4 --id-conflict use_existing -o json
run_ctl 1 workflow signal --id c-1 --name add --input 1   # closed
has err "conflict"
run_ctl 1 workflow query --id c-4 --name nosuchquery
has err "not_found"
run_ctl 0 workflow terminate --id c-4

# Namespace isolation with tokens.
ttaid_start tokens --token "tok-a:team-a" --token "tok-b:team-b"
run_ctl 0 --token tok-a -n team-a workflow execute --type hello --id t-1 --input '"x"' -o json
out_json_is '"Hello, x!"'
run_ctl 1 -n team-a workflow describe --id t-1
has err "unauthorized"
run_ctl 1 --token tok-b -n team-a workflow describe --id t-1
has err "forbidden"
TTAI_TOKEN=tok-b TTAI_NAMESPACE=team-b run_ctl 1 workflow describe --id t-1
has err "not_found"
TTAI_TOKEN=tok-a run_ctl 0 workflow describe --id t-1 --namespace team-a

echo "ok"
