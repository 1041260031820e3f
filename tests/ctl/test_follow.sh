# test_follow.sh: `workflow show --follow` prints each event as it arrives,
# keeps waiting while the stream is open, and exits 0 when it ends after
# the run's closing event; a stream that ends before it (ttaid stopping)
# exits 3.
#
# The fake sends w-run's first 2 events (with a comment and an event of
# another kind between them, which must be skipped), then holds the stream
# until $work/release exists, then sends 3 more (the last one closes the
# run) and ends it.
source "$(dirname "$0")/common.sh"

fake_start
T="2026-11-23T10:00:00.000Z"

# follow_check FORMAT ROW_REGEX: runs show --follow in the background and
# checks the events come one by one.
follow_check() {
    rm -f "$work/release"
    "$ctl" --output "$1" workflow show --id w-run --follow >"$work/follow.out" 2>"$work/follow.err" &
    local pid=$!
    pids+=("$pid")
    wait_for "$work/follow.out" "$2" 2
    sleep 0.3 # the stream is held: nothing more may come, and ttaictl must still be waiting
    [ "$(grep -cE -- "$2" "$work/follow.out")" -eq 2 ] || fail "events came before they were sent"
    kill -0 "$pid" 2>/dev/null || fail "ttaictl exited while the stream was open"
    touch "$work/release"
    local status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || { cat "$work/follow.err" >&2; fail "show --follow exited $status"; }
    [ "$(grep -cE -- "$2" "$work/follow.out")" -eq 5 ] || {
        cat "$work/follow.out" >&2
        fail "show --follow printed $(grep -cE -- "$2" "$work/follow.out") events, want 5"
    }
    [ ! -s "$work/follow.err" ] || { cat "$work/follow.err" >&2; fail "stderr is not empty"; }
}

follow_check table '^ +[0-9]+  '
grep -qxF "   ID  TIME                      TYPE                      DETAILS" "$work/follow.out" ||
    fail "no table header"
grep -qxF "    2  $T  ActivityScheduled         seq=1 name=greet" "$work/follow.out" ||
    fail "event 2 is not in the table: $(cat "$work/follow.out")"
grep -qxF "    4  $T  TaskCompleted             ref_event_id=3" "$work/follow.out" ||
    fail "event 4 is not in the table: $(cat "$work/follow.out")"

# JSON lines: one compact event per line, nothing else.
follow_check json '^\{"event_id":'
[ "$(wc -l <"$work/follow.out")" -eq 5 ] || fail "JSON lines: want exactly 5 lines"
want='{"event_id":1,"time":"'$T'","type":"WorkflowStarted","name":"hello","payload":"world"}'
[ "$(head -n1 "$work/follow.out")" = "$want" ] || fail "first JSON line: $(head -n1 "$work/follow.out")"
[ "$(sed -n 4p "$work/follow.out" | canon)" = '{"event_id":4,"ref_event_id":3,"time":"'$T'","type":"TaskCompleted"}' ] ||
    fail "fourth JSON line: $(sed -n 4p "$work/follow.out")"

# A stream that ends before the run closed: ttaid stopped, and the
# command says so (exit 3) instead of passing for a closed run.
run_ctl 3 workflow show --id w-cut --follow -o json
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "w-cut: want its 2 JSON lines"
has err "ended the stream before the run closed"

# A closed run's stream ends by itself after its events.
run_ctl 0 workflow show --id w-done --follow -o json
[ "$(wc -l <"$work/out")" -eq 5 ] || fail "w-done: want 5 JSON lines"
has out '"type":"WorkflowCompleted"'

# A killed ttaictl leaves the fake serving (it saw the connection close).
rm -f "$work/release"
"$ctl" workflow show --id w-run --follow >/dev/null 2>&1 &
pid=$!
wait_for "$work/requests" 'follow=1' 1
sleep 0.2
kill "$pid"
wait "$pid" 2>/dev/null || true
run_ctl 0 workflow describe --id w-run

echo "ok"
