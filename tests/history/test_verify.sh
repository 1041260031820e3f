# test_verify.sh KIND: `ttai-history verify` on the sound store (KIND good)
# or on one with exactly one violation (see history_fixture.c): the exit
# status, the one problem line and the summary.
source "$(dirname "$0")/common.sh"

kind=$1
events=31
case "$kind" in
good) line="" ;;
gap) line="run $R1 (default/order-1): event 3 is missing"; events=30 ;;
noclose) line="run $R6 (tenant-b/report-1): Failed run has no close event"; events=30 ;;
decode) line="run $R1 (default/order-1): cannot decode event 4: event is not a msgpack map" ;;
timer) line="run $R1 (default/order-1): Completed run still has timer seq 9 firing at 2026-01-05T10:01:30.000Z" ;;
orphan) line="run $R9 (?/?): timer seq 1 firing at 2026-01-05T10:01:30.000Z belongs to no run" ;;
link) line="run $R3 (default/screener): next run $R4 does not point back (its previous run is none)" ;;
exec) line="run $R9 (default/order-1): execution record points at a missing run" ;;
*) fail "unknown kind '$kind'" ;;
esac

if [ "$kind" = good ]; then
    "$fixture" good "$work/data"
    run_tool 0 --data "$work/data" verify
    has_line out "verified 6 runs, 31 events: OK"
    count_lines out . 1
    run_tool 0 --data "$work/data" verify --output json
    json_is ok true
    json_is problem_count 0
    json_is runs 6
    json_is events 31
    json_is problems '[]'
    echo "ok"
    exit 0
fi

"$fixture" corrupt "$kind" "$work/data"
run_tool 1 --data "$work/data" verify
has_line out "$line"
count_lines out '^run ' 1
has_line out "verified 6 runs, $events events: 1 problem"

run_tool 1 --data "$work/data" verify --output json
json_is ok false
json_is problem_count 1
json_is events "$events"
json_is problems.0.problem "${line#*): }"
echo "ok"
