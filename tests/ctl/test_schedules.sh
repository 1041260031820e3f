# test_schedules.sh: `ttaictl schedule ...` against the real ttaid, on a
# temporary data directory and a free port: every subcommand, the flags
# that make a definition, usage errors (exit 2, nothing sent), errors ttaid
# reports (exit 1), an unreachable daemon (exit 3), namespaces and tokens.
#
#   bash test_schedules.sh TTAICTL FAKE_TTAID TTAID
source "$(dirname "$0")/common.sh"

ttaid=$1

# jq_out FILTER: the filter applied to stdout's JSON, compact.
jq_out() {
    jq -c "$1" "$work/out" || { cat "$work/out" >&2; fail "stdout is not JSON"; }
}

# out_is FILTER WANT: jq_out FILTER is WANT.
out_is() {
    local got
    got=$(jq_out "$1")
    [ "$got" = "$2" ] || fail "$1 of stdout is $got, want $2"
}

ttaid_start data

# Help: every subcommand, with its flags.
subs="create list describe update pause unpause trigger backfill delete preview"
run_ctl 0 schedule --help
for sub in $subs; do
    has out "  $sub "
done
for sub in $subs; do
    run_ctl 0 schedule "$sub" --help
    has out "usage: ttaictl [GLOBAL FLAGS] schedule $sub [FLAGS]"
    has out "--namespace NS"
    has out "Exit status"
    run_ctl 2 schedule "$sub" --bogus
    has err "unknown flag '--bogus' for 'schedule $sub'"
done
run_ctl 0 schedule create --help
for flag in --schedule-id --cron --tz --dst-gap --dst-repeat --calendar --workflow-type --input \
    --overlap --catchup-window --start-time --end-time --max-actions --paused --note; do
    has out "$flag "
done

# Usage errors: exit 2, the flag named, nothing sent (the list stays empty).
run_ctl 2 schedule create --cron '* * * * *' --workflow-type hello
has err "'schedule create' needs --schedule-id"
run_ctl 2 schedule create -s x --workflow-type hello
has err "'schedule create' needs --cron"
run_ctl 2 schedule create -s x --cron '* * * * *'
has err "'schedule create' needs --workflow-type"
run_ctl 2 schedule create -s x --cron '0 25 * * *' --workflow-type hello
has err "bad value for '--cron': cron: field 2 (hour) '25': value out of range 0-23"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --dst-gap later
has err "bad value 'later' for '--dst-gap'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --calendar LSE
has err "bad value 'LSE' for '--calendar'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --overlap sometimes
has err "bad value 'sometimes' for '--overlap' (use one of: skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all)"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --catchup-window -1
has err "bad value '-1' for '--catchup-window'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --max-actions 0
has err "bad value '0' for '--max-actions'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --max-actions none
has err "bad value 'none' for '--max-actions'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --start-time soon
has err "bad value for '--start-time'"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --input '{bad'
has err "flag '--input' is not valid JSON"
run_ctl 2 schedule create -s x --cron '* * * * *' --workflow-type hello --paused=yes
has err "flag '--paused' takes no value"
run_ctl 2 schedule update -s x
has err "'schedule update' needs a change"
run_ctl 2 schedule backfill -s x --start-time 2026-01-02T00:00:00Z --end-time 2026-01-01T00:00:00Z
has err "'--end-time' is before '--start-time'"
run_ctl 2 schedule backfill -s x --start-time 2026-01-02T00:00:00Z
has err "'schedule backfill' needs --end-time"
run_ctl 2 schedule describe
has err "'schedule describe' needs --schedule-id"
run_ctl 2 schedule describe -s x extra
has err "unexpected argument 'extra' for 'schedule describe'"
run_ctl 0 schedule list -o json
out_json_is '[]'

# create with every flag; the definition ttaid keeps is what was asked.
run_ctl 0 schedule create -s open --cron '35 9 * * 1-5' --tz America/New_York --dst-gap skip \
    --dst-repeat twice --calendar XNYS --workflow-type hello --input '"market"' \
    --overlap buffer_one --catchup-window 120 --start-time 2026-01-01T00:00:00Z \
    --end-time 2030-01-01T00:00:00Z --max-actions 5 --paused --note "not yet" -o json
out_is '.definition' '{"spec":{"cron":"35 9 * * 1-5","timezone":"America/New_York","dst_gap":"skip","dst_repeat":"twice","calendar":"XNYS"},"action":{"workflow_type":"hello","input":"market"},"policies":{"overlap":"buffer_one","catchup_window_s":120},"start_at":"2026-01-01T00:00:00Z","end_at":"2030-01-01T00:00:00Z","max_actions":5}'
out_is '.state | [.paused, .note, .remaining, .actions]' '[true,"not yet",5,0]'
out_is '.next_fires' '[]'
# A schedule that never fires by itself (its end is past): for trigger
# and backfill. The table output names it and its next fire.
run_ctl 0 schedule create --schedule-id noon --cron '0 12 * * *' --workflow-type hello \
    --input '"noon"' --end-time 2026-01-10T00:00:00Z
has_line out "Schedule ID  noon"
has_line out "Next fire    -"

# list and describe.
run_ctl 0 schedule list -o json
out_is '[.[] | [.schedule_id, .cron, .workflow_type, .paused, .actions]]' \
    '[["noon","0 12 * * *","hello",false,0],["open","35 9 * * 1-5","hello",true,0]]'
run_ctl 0 schedule list
has out "SCHEDULE ID"
has out "NEXT FIRE"
grep -qE '^open +35 9 \* \* 1-5 +hello +true +- +0$' "$work/out" || { cat "$work/out" >&2; fail "list row of open"; }
run_ctl 0 schedule describe -s open
has out "Time zone          America/New_York"
has out "Paused             yes"
has out "Note               not yet"
has out "Catch-up window    120s"
has out "Next fires:"
has out "Recent actions:"
run_ctl 0 schedule describe -s open -o json
out_is '[.schedule_id, .namespace]' '["open","default"]'

# update: the members given, the others kept; none clears.
run_ctl 0 schedule update -s open --cron '30 9 * * 1-5' --max-actions none --end-time none -o json
out_is '[.definition.spec.cron, .definition.spec.timezone, .definition.max_actions, .definition.end_at, .state.remaining, .state.note]' \
    '["30 9 * * 1-5","America/New_York",null,null,null,"not yet"]'
run_ctl 0 schedule update -s open --overlap skip --note "later"
has_line out "Schedule 'open' updated"
run_ctl 0 schedule describe -s open -o json
out_is '[.definition.policies.overlap, .state.note]' '["skip","later"]'

# pause and unpause, with notes.
run_ctl 0 schedule unpause -s open --note "go" -o json
out_is '[.state.paused, .state.note, (.next_fires | length)]' '[false,"go",10]'
out_is '.next_fires[0] | fromdateiso8601 | strftime("%M:%S")' '"30:00"'
run_ctl 0 schedule pause -s open --note "holiday"
has_line out "Schedule 'open' paused"
run_ctl 0 schedule describe -s open -o json
out_is '[.state.paused, .state.note, .next_fires]' '[true,"holiday",[]]'

# trigger: the workflow it started, which completes.
run_ctl 0 schedule trigger -s noon
has_line out "Schedule 'noon' triggered"
wid=$(sed -n 's/^Workflow ID  //p' "$work/out")
echo "$wid" | grep -qE '^noon-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' ||
    fail "trigger printed workflow id '$wid'"
run_ctl 0 workflow result --id "$wid" -o json
out_json_is '"Hello, noon!"'
# A trigger names its run after the current second, and a second trigger in
# that second is refused (it would start the same fire time again): wait
# for the next second first.
first_s=$(date -u -d "${wid#noon-}" +%s)
while [ "$(date -u +%s)" -le "$first_s" ]; do sleep 0.1; done
run_ctl 0 schedule trigger -s noon -o json
out_is '[.state.actions, (.state.recent | length)]' '[2,2]'

# backfill: one workflow per fire time of the range.
run_ctl 0 schedule backfill -s noon --start-time 2026-01-01T00:00:00Z \
    --end-time 2026-01-03T23:59:59Z --overlap allow_all
has_line out "Schedule 'noon' backfilled: 3 fire times taken, 0 already started"
for day in 01 02 03; do
    run_ctl 0 workflow result --id "noon-2026-01-${day}T12:00:00Z" -o json
    out_json_is '"Hello, noon!"'
done
run_ctl 0 schedule backfill -s noon --start-time 2026-01-04T00:00:00-05:00 \
    --end-time 2026-01-04T23:59:59-05:00 --overlap allow_all -o json
out_json_is '{"already_started":0,"fire_count":1}'
# The same range again: its fire time ran, nothing starts twice.
run_ctl 0 schedule backfill -s noon --start-time 2026-01-04T00:00:00-05:00 \
    --end-time 2026-01-04T23:59:59-05:00 --overlap allow_all -o json
out_json_is '{"already_started":1,"fire_count":0}'
run_ctl 0 schedule describe -s noon -o json
out_is '.state.actions' '6'

# Errors ttaid reports: exit 1, with its code and a hint.
run_ctl 1 schedule describe -s nobody
has err "not_found: no schedule 'nobody' in namespace 'default'"
has err "see 'ttaictl schedule list'"
run_ctl 1 schedule create -s noon --cron '* * * * *' --workflow-type hello
has err "conflict: schedule 'noon' exists"
run_ctl 1 schedule create -s x --cron '* * * * *' --workflow-type nosuch
has err "not_found: schedule: unknown workflow type 'nosuch'"
run_ctl 1 schedule create -s x --cron '* * * * *' --workflow-type hello --tz Mars/Olympus_Mons
has err "not_found"
has err "Mars/Olympus_Mons"
run_ctl 1 schedule pause -s nobody
has err "not_found"
run_ctl 1 schedule backfill -s nobody --start-time 2026-01-01T00:00:00Z --end-time 2026-01-02T00:00:00Z
has err "not_found"

# delete: gone, its workflows stay.
run_ctl 0 schedule delete -s noon
has_line out "Schedule 'noon' deleted"
run_ctl 1 schedule delete -s noon
has err "not_found"
run_ctl 0 schedule delete -s open -o json
out_json_is '{}'
run_ctl 0 workflow describe --id noon-2026-01-01T12:00:00Z -o json
out_is '.status' '"completed"'
run_ctl 0 schedule list -o json
out_json_is '[]'

# ttaid not there: exit 3.
run_ctl 3 --address 127.0.0.1:1 schedule list
has err "cannot reach ttaid at 127.0.0.1:1"

# Namespaces and tokens.
ttaid_start tokens --token "tok-a:team-a" --token "tok-b:team-b"
run_ctl 0 --token tok-a -n team-a schedule create -s s --cron '0 0 1 1 *' --workflow-type hello
run_ctl 0 --token tok-b -n team-b schedule create -s s --cron '0 0 1 1 *' --workflow-type hello
run_ctl 1 -n team-a schedule describe -s s
has err "unauthorized"
run_ctl 1 --token tok-b -n team-a schedule describe -s s
has err "forbidden"
run_ctl 1 --token tok-b -n team-a schedule delete -s s
has err "forbidden"
TTAI_TOKEN=tok-a TTAI_NAMESPACE=team-a run_ctl 0 schedule list -o json
out_is '[.[] | [.namespace, .schedule_id]]' '[["team-a","s"]]'
run_ctl 0 --token tok-b -n team-b schedule delete -s s
run_ctl 0 --token tok-a -n team-a schedule describe -s s -o json
out_is '.namespace' '"team-a"'

echo "ok"
