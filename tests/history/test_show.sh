# test_show.sh: `ttai-history show`, as a table and as JSON.
source "$(dirname "$0")/common.sh"

"$fixture" good "$work/data"
d=(--data "$work/data")

# The table: a header about the run, then one row per event in id order.
run_tool 0 "${d[@]}" show order-1
has_line out "workflow        default/order-1"
has_line out "run             $R1"
has_line out "status          Completed"
has_line out "closed          2026-01-05T10:01:02.010Z"
has_line out "events          12"
want="WorkflowStarted TaskCompleted ActivityScheduled ActivityFailed ActivityCompleted"
want="$want TaskCompleted MarkerRecorded TimerStarted TimerFired SignalReceived"
want="$want TaskCompleted WorkflowCompleted"
got=$(awk '$1 ~ /^[0-9]+$/ { printf "%s%s", sep, $3; sep = " " }' "$work/out")
[ "$got" = "$want" ] || fail "event types are '$got', want '$want'"
got=$(awk '$1 ~ /^[0-9]+$/ { printf "%s%s", sep, $1; sep = " " }' "$work/out")
[ "$got" = "1 2 3 4 5 6 7 8 9 10 11 12" ] || fail "event ids are '$got'"
has out 'name=OrderWorkflow payload={"order": "A-1", "qty": 3} exec_timeout_ms=3600000'
has out 'name=charge_card seq=1 payload={"amount": 42.5, "currency": "EUR"}'
has out '"max_attempts": 5, "non_retryable": ["InvalidCard"]'
has out 'seq=1 attempt=1 failure_type=CardDeclined failure_message="card declined"'
has out 'seq=1 attempt=2 payload={"charge_id": "ch_1"}'
has out 'seq=3 fire_time=2026-01-05T10:01:01.610Z'
has out 'name=note payload_hex=c1c1c1'          # not msgpack: hex
has out 'WorkflowCompleted        payload="shipped"'

# JSON: an array of events.
run_tool 0 "${d[@]}" show order-1 --output json
json_is '#' 12
json_is 0.event_id 1
json_is 0.type WorkflowStarted
json_is 0.time 2026-01-05T10:00:00.000Z
json_is 0.payload.order A-1
json_is 0.payload.qty 3
json_is 2.opts.max_attempts 5
json_is 2.opts.non_retryable.0 InvalidCard
json_is 3.failure_type CardDeclined
json_is 3.failure_message "card declined"
json_is 7.fire_time 2026-01-05T10:01:01.610Z
json_is 9.payload_hex c1c1c1
json_is 9.payload_bytes 3
json_is 11.event_id 12
json_is 11.type WorkflowCompleted
json_is 11.payload shipped

# Without --run: the current run, here the last of a continue-as-new chain.
run_tool 0 "${d[@]}" show screener --output json
json_is '#' 3
json_is 0.continued_from "$R4"
json_is 2.type WorkflowCompleted
json_is 2.payload.matches 7
run_tool 0 "${d[@]}" show screener --run "$R3"
has_line out "run             $R3"
has_line out "continued as    $R4"
has out "ContinuedAsNew           payload={\"page\": 2} continued_as=$R4"

# Another namespace; an open run.
run_tool 0 "${d[@]}" show report-1 --namespace tenant-b
has out 'failure_type=ActivityError failure_message="fetch_news timed out"'
run_tool 0 "${d[@]}" show monitor-1
has_line out "status          Running"
has_line out "closed          -"

# What is not there exits 1; what cannot be meant exits 2.
run_tool 1 "${d[@]}" show report-1
has err "workflow 'report-1' in namespace 'default': not found"
run_tool 1 "${d[@]}" show order-1 --run "$R6"
has err "run '$R6' belongs to workflow 'report-1' in namespace 'tenant-b'"
run_tool 1 "${d[@]}" show order-1 --run "$R9"
has err "run '$R9': not found"
run_tool 2 "${d[@]}" show order-1 --run not-a-uuid
has err "invalid run id 'not-a-uuid'"

# Odd and hostile payloads print within bounds: JSON where they are one
# msgpack value JSON can hold (tagged where it cannot), else hex.
"$fixture" payloads "$work/payloads"
run_tool 0 --data "$work/payloads" show payloads --output json
json_is '#' 8
json_is 1.payload_hex ddffffffff                  # claims 2^32-1 items in 5 bytes
json_is 2.payload_hex "$(printf '91%.0s' $(seq 40))c0"  # nested deeper than 32
json_is 3.payload '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]'
json_is 4.payload '{"1":{"bin":2,"hex":"0102"},"f":"NaN","u":1.8446744073709552e19,"s":{"str":1,"hex":"ff"},"{\"str\":1,\"hex\":\"fe\"}":7}'
json_is 5.payload '{"ext":5,"hex":"07"}'
json_is 6.payload_hex 0102                        # two values, not one
json_is 7.payload "$(printf 'x%.0s' $(seq 300))"   # whole in JSON
run_tool 0 --data "$work/payloads" show payloads
has out 'name=odd payload={"1": {"bin": 2, "hex": "0102"}, "f": "NaN"'
has_line out "     8  2026-01-05T10:00:00.000Z  SignalReceived           name=odd payload=\"$(printf 'x%.0s' $(seq 119))..."

# An event that does not decode is shown as such, the rest still are; exit 1.
"$fixture" corrupt decode "$work/decode"
run_tool 1 --data "$work/decode" show order-1
count_lines out '^ +4  -  +\(unreadable\) +event 4: event is not a msgpack map$' 1
count_lines out '^ +5  2026-01-05T10:00:01.600Z  ActivityCompleted ' 1
has err "history of run '$R1' has events that cannot be read"
run_tool 1 --data "$work/decode" show order-1 --output json
json_is '#' 12
json_is 3.event_id 4
json_is 3.error "event 4: event is not a msgpack map"
json_is 4.type ActivityCompleted
echo "ok"
