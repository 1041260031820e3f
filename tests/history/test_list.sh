# test_list.sh: `ttai-history list`, as a table and as JSON.
source "$(dirname "$0")/common.sh"

"$fixture" good "$work/data"
d=(--data "$work/data")

run_tool 0 "${d[@]}" list
count_lines out '^NAMESPACE +WORKFLOW ID +RUN ID +TYPE +STATUS +EVENTS +START +CLOSE$' 1
count_lines out '^(default|tenant-b) ' 6
count_lines out "^default +order-1 +$R1 +OrderWorkflow +Completed +12 +2026-01-05T10:00:00.000Z +2026-01-05T10:01:02.010Z$" 1
count_lines out "^default +monitor-1 +$R2 +PriceMonitor +Running +4 +2026-01-05T10:02:00.000Z +-$" 1
count_lines out "^default +screener +00000000-0000-4000-8000-00000000000[345] +Screener " 3
count_lines out "^default +screener +$R4 +Screener +ContinuedAsNew +3 " 1
count_lines out "^tenant-b +report-1 +$R6 +DailyReport +Failed +6 " 1

run_tool 0 "${d[@]}" --output json list
json_is '#' 6
json_is 0.run_id "$R1"     # run id order
json_is 0.namespace default
json_is 0.workflow_id order-1
json_is 0.type OrderWorkflow
json_is 0.status Completed
json_is 0.events 12
json_is 0.start_time 2026-01-05T10:00:00.000Z
json_is 0.close_time 2026-01-05T10:01:02.010Z
json_is 1.status Running
json_is 1.close_time null
json_is 3.prev_run "$R3"
json_is 3.next_run "$R5"
json_is 4.next_run null
json_is 5.namespace tenant-b

# An empty store lists nothing.
"$fixture" empty "$work/empty"
run_tool 0 --data "$work/empty" list
count_lines out . 1
run_tool 0 --data "$work/empty" list --output json
json_is '#' 0
echo "ok"
