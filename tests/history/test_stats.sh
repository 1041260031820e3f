# test_stats.sh: `ttai-history stats`, as a table and as JSON.
source "$(dirname "$0")/common.sh"

"$fixture" good "$work/data"
d=(--data "$work/data")
file_bytes=$(stat -c %s "$work/data/data.mdb")

run_tool 0 "${d[@]}" stats
has_line out "schema version  2"
has_line out "file bytes      $file_bytes"
count_lines out '^map bytes +[1-9][0-9]*$' 1
count_lines out '^hist +31 +[0-9]+$' 1
count_lines out '^run +6 +[0-9]+$' 1
count_lines out '^exec +4 +[0-9]+$' 1
count_lines out '^timer +1 +[0-9]+$' 1
count_lines out '^act +1 +[0-9]+$' 1
count_lines out '^sched +0 +0$' 1
count_lines out '^recent +0 +0$' 1       # a closed store merged them into hist
count_lines out '^Running +1$' 1
count_lines out '^ContinuedAsNew +2$' 2     # 2 runs, and 2 events
count_lines out '^WorkflowStarted +6$' 1
count_lines out '^TaskCompleted +9$' 1
count_lines out '^ActivityScheduled +3$' 1
count_lines out '^TimerStarted +2$' 1
count_lines out '^WorkflowFailed +1$' 1
count_lines out '^total +6$' 1
count_lines out '^total +31$' 1
count_lines out 'undecodable' 0

run_tool 0 "${d[@]}" stats --output json
json_is schema_version 2
json_is file_bytes "$file_bytes"
json_is tables.hist.entries 31
json_is tables.run.entries 6
json_is tables.timer.entries 1
json_is runs.total 6
json_is runs.by_status.Running 1
json_is runs.by_status.ContinuedAsNew 2
json_is runs.by_status.TimedOut 0
json_is events.total 31
json_is events.undecodable 0
json_is events.by_type.TaskCompleted 9
json_is events.by_type.ContinuedAsNew 2
json_is events.by_type.WorkflowCanceled 0

# An undecodable event is counted apart, and in the total.
"$fixture" corrupt decode "$work/decode"
run_tool 0 --data "$work/decode" stats --output json
json_is events.total 31
json_is events.undecodable 1
json_is events.by_type.ActivityFailed 0
echo "ok"
