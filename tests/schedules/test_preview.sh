# test_preview.sh: `ttaictl schedule preview` runs without a daemon and
# prints the engine's fire times.
#
#   bash test_preview.sh TTAICTL
set -euo pipefail

ctl=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ttai-sched-preview.XXXXXX")
trap 'rm -rf "$work"' EXIT

# No daemon anywhere: an address nothing listens on.
export TTAI_ADDRESS=127.0.0.1:1
unset TTAI_NAMESPACE TTAI_TOKEN TZDIR

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run WANT_STATUS ARGS...: runs ttaictl; output in $work/out and $work/err.
run() {
    local want=$1 got=0
    shift
    "$ctl" "$@" >"$work/out" 2>"$work/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        fail "ttaictl $* exited $got, want $want; stdout: $(cat "$work/out"); stderr: $(cat "$work/err")"
    fi
}

# json_is EXPECTED: the JSON printed by the last run, compacted, is EXPECTED.
json_is() {
    local got
    got=$(jq -c . <"$work/out") || fail "not JSON: $(cat "$work/out")"
    [ "$got" = "$1" ] || fail "got $got, want $1"
}

err_has() {
    grep -qF -- "$1" "$work/err" || fail "stderr lacks '$1': $(cat "$work/err")"
}

out_has() {
    grep -qF -- "$1" "$work/out" || fail "stdout lacks '$1': $(cat "$work/out")"
}

ny=(--tz America/New_York)

# The worked example of docs/schedules.md: New York, spring forward.
run 0 schedule preview --cron '30 2 * * *' "${ny[@]}" --from 2026-03-07T00:00:00Z --count 3 \
    --output json
json_is '["2026-03-07T07:30:00Z","2026-03-08T07:00:00Z","2026-03-09T06:30:00Z"]'
run 0 schedule preview --cron '30 2 * * *' "${ny[@]}" --dst-gap skip --from 2026-03-07T00:00:00Z \
    --count 3 --output json
json_is '["2026-03-07T07:30:00Z","2026-03-09T06:30:00Z","2026-03-10T06:30:00Z"]'
# Fall back.
run 0 schedule preview --cron '30 1 * * *' "${ny[@]}" --from 2026-10-31T00:00:00Z --count 3 -o json
json_is '["2026-10-31T05:30:00Z","2026-11-01T05:30:00Z","2026-11-02T06:30:00Z"]'
run 0 schedule preview --cron '30 1 * * *' "${ny[@]}" --dst-repeat twice \
    --from 2026-10-31T00:00:00Z --count 4 --output=json
json_is '["2026-10-31T05:30:00Z","2026-11-01T05:30:00Z","2026-11-01T06:30:00Z","2026-11-02T06:30:00Z"]'

# Global flags before the command; --from with an offset.
run 0 --output json schedule preview --cron '35 9 * * 1-5' "${ny[@]}" --calendar XNYS \
    --from 2026-03-29T20:00:00-04:00 --count 5
json_is '["2026-03-30T13:35:00Z","2026-03-31T13:35:00Z","2026-04-01T13:35:00Z","2026-04-02T13:35:00Z","2026-04-06T13:35:00Z"]'

# UTC by default, ten fires by default.
run 0 schedule preview --cron '@hourly' --from 2026-01-01T00:00:00Z -o json
[ "$(jq length <"$work/out")" = 10 ] || fail "not ten fires: $(cat "$work/out")"
[ "$(jq -r '.[9]' <"$work/out")" = 2026-01-01T10:00:00Z ] || fail "tenth fire: $(cat "$work/out")"

# --from defaults to now: the next minute's start is after now and at most
# a minute away.
before=$(date -u +%s)
run 0 schedule preview --cron '* * * * *' --count 1 --output json
first=$(jq -r '.[0]' <"$work/out")
first_s=$(date -u -d "$first" +%s)
[ "$first_s" -gt "$before" ] && [ "$first_s" -le $((before + 61)) ] ||
    fail "first fire $first is not in the minute after $(date -u -d "@$before" +%FT%TZ)"

# The table: UTC, then the local wall time.
run 0 schedule preview --cron '30 2 * * *' "${ny[@]}" --from 2026-03-07T00:00:00Z --count 3
out_has 'FIRE TIME (UTC)'
out_has 'LOCAL TIME (America/New_York)'
out_has '2026-03-08T07:00:00Z  Sun 2026-03-08 03:00:00 EDT (-04:00)'
out_has '2026-03-07T07:30:00Z  Sat 2026-03-07 02:30:00 EST (-05:00)'
[ "$(wc -l <"$work/out")" -eq 4 ] || fail "want a header and three rows: $(cat "$work/out")"

# A spec that never fires: an empty list, and a note on stderr.
run 0 schedule preview --cron '0 0 30 2 *' --from 2026-01-01T00:00:00Z --output json
json_is '[]'
err_has 'no more fire times'

# Usage errors: exit 2, and the message names the flag.
run 2 schedule preview --cron '0 25 * * *'
err_has "bad value for '--cron': cron: field 2 (hour) '25': value out of range 0-23"
run 2 schedule preview --cron '* * * *'
err_has "'--cron'"
run 2 schedule preview --cron '* * * * *' --tz Mars/Olympus_Mons
err_has "bad value for '--tz': unknown time zone 'Mars/Olympus_Mons'"
run 2 schedule preview --cron '* * * * *' --tz ../../etc/passwd
err_has "'--tz'"
run 2 schedule preview --cron '* * * * *' --dst-gap later
err_has "bad value 'later' for '--dst-gap' (use shift or skip)"
run 2 schedule preview --cron '* * * * *' --dst-repeat thrice
err_has "bad value 'thrice' for '--dst-repeat' (use once or twice)"
run 2 schedule preview --cron '* * * * *' --calendar LSE
err_has "bad value 'LSE' for '--calendar' (use XNYS or none)"
run 2 schedule preview --cron '* * * * *' --from yesterday
err_has "bad value for '--from': bad time 'yesterday'"
run 2 schedule preview --cron '* * * * *' --count 0
err_has "bad value '0' for '--count'"
run 2 schedule preview --cron '* * * * *' --count 1001
err_has "bad value '1001' for '--count'"
run 2 schedule preview --cron '* * * * *' --output yaml
err_has "unknown output format 'yaml'"
run 2 schedule preview --cron '* * * * *' --bogus
err_has "unknown flag '--bogus' for 'schedule preview'"
run 2 schedule preview --cron
err_has "flag '--cron' needs a value"
run 2 schedule preview --tz UTC
err_has "'schedule preview' needs --cron"
run 2 schedule preview --cron '* * * * *' extra
err_has "unexpected argument 'extra'"

# An unknown subcommand, or none: named, with the known ones.
run 2 schedule frob --cron '* * * * *'
err_has "unknown subcommand 'frob' for 'schedule' (known: create, list, describe, update, pause, unpause, trigger, backfill, delete, preview)"
run 2 schedule
err_has "'schedule' needs a subcommand (known: create, list, describe, update, pause, unpause, trigger, backfill, delete, preview)"

# Help.
run 0 schedule --help
out_has 'preview'
run 0 schedule preview --help
out_has '--dst-gap'
out_has '--calendar'

# The workflow commands are untouched, even with an id named "schedule"
# (ttaid is not there: exit 3).
run 3 workflow describe --id schedule
run 2 workflow bogus
err_has "unknown subcommand 'bogus' for 'workflow'"

echo "ok sched_preview_cli"
