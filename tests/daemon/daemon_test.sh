#!/usr/bin/env bash
# daemon_test.sh: end-to-end tests of ttaid through its HTTP API with curl.
#
#   daemon_test.sh TTAID CASE [ARGS...]
#
# Each case starts ttaid on a temporary data directory and a free port
# (--listen 127.0.0.1:0; the port is read from the "listening on" log line),
# drives it with curl and checks statuses and JSON (jq). Cases: basic,
# shapes, activities, errors, tokens, stream, longpoll, sigterm, crash,
# fuzz, config, metrics, schedules, schedule_kill, alerts, time_travel; openapi ROUTES_DUMP SPEC
# CHECKER (docs/openapi.yaml against the route table and the running
# daemon); bench_smoke TTAI_BENCH (ttai-bench e2e on a small N).
set -u
TTAID=$1
CASE=$2
shift 2
TMP=$(mktemp -d /tmp/ttaid-test-XXXXXX)
PID=
PORT=
FAILS=0

cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID"; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
check() { # check WHAT GOT WANT
    if [ "$2" != "$3" ]; then fail "$1: got '$2', want '$3'"; else echo "ok: $1"; fi
}

# start_daemon [ttaid flags...]: starts ttaid on $TMP/data, sets PID, PORT, API.
start_daemon() {
    : > "$TMP/log"
    "$TTAID" --data "$TMP/data" --listen 127.0.0.1:0 "$@" 2>>"$TMP/log" &
    PID=$!
    for _ in $(seq 1 200); do
        PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/log" | head -1 | sed 's/.*://')
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$PORT" ]; then
        cat "$TMP/log" >&2
        echo "FAIL: ttaid did not start" >&2
        exit 1
    fi
    BASE=http://127.0.0.1:$PORT
    API=$BASE/api/v1/namespaces/default
}

stop_daemon() { # SIGTERM and wait; the exit status goes to STOP_RC
    kill -TERM "$PID"
    wait "$PID"
    STOP_RC=$?
    PID=
}

# req METHOD URL [BODY] [curl args...]: prints "STATUS BODY" on one line.
req() {
    local m=$1 url=$2 body=${3-}
    shift 3 2>/dev/null || shift $#
    if [ -n "$body" ]; then
        curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
            --data-binary "$body" "$@" "$url"
    else
        curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$url"
    fi
}
body() { cat "$TMP/body"; }
# settle URL FILTER WANT: POSTs {} to URL (a query) every 50 ms, for up to
# 10 s, until FILTER of its answer is WANT; the check that follows says
# whether it got there.
settle() {
    local _
    for _ in $(seq 200); do
        [ "$(req POST "$1" '{}' >/dev/null; jq -c "$2" "$TMP/body" 2>/dev/null)" = "$3" ] && return
        sleep 0.05
    done
}
jbody() { jq -c "$1" "$TMP/body"; }

# ---- Cases -------------------------------------------------------------------------

case_basic() {
    start_daemon
    check "start hello" "$(req POST "$API/workflows" '{"type":"hello","id":"h1","input":"World"}')" 201
    check "start answer has a run id" "$(jbody '.run_id | length')" 36
    check "result wait" "$(req GET "$API/workflows/h1/result?wait=1&timeout_ms=10000")" 200
    check "hello result" "$(jbody .)" '{"status":"completed","result":"Hello, World!"}'
    check "start counter" "$(req POST "$API/workflows" '{"type":"counter","id":"c1","input":{"every":3}}')" 201
    local total=0
    for i in 1 2 3 4 5 6 7; do
        check "signal add $i" "$(req POST "$API/workflows/c1/signals/add" "{\"input\":$i}")" 200
        total=$((total + i))
    done
    # The signals are durable; the runs apply them (and continue as new)
    # in their own time: wait for the sum, up to 10 s, then check it.
    settle "$API/workflows/c1/queries/value" .result $total
    check "query value" "$(req POST "$API/workflows/c1/queries/value" '{}')" 200
    check "query total" "$(jbody .result)" $total
    check "continued as new twice" \
        "$(req GET "$API/workflows?status=continued_as_new" && jbody '.workflows | length')" "2002"
    check "stop" "$(req POST "$API/workflows/c1/signals/stop" '{}')" 200
    check "counter result" "$(req GET "$API/workflows/c1/result?wait=1&timeout_ms=10000")" 200
    check "counter total" "$(jbody .result)" $total
    check "use_existing on a closed run starts anew" \
        "$(req POST "$API/workflows" '{"type":"hello","id":"h1","input":"Again","id_conflict":"use_existing"}')" 201
    check "signal-with-start new" \
        "$(req POST "$API/workflows/c2/signal-with-start/add" '{"type":"counter","input":{"every":100},"signal_input":5}')" 200
    check "signal-with-start existing" \
        "$(req POST "$API/workflows/c2/signal-with-start/add" '{"type":"counter","signal_input":6}')" 200
    settle "$API/workflows/c2/queries/value" .result 11
    req POST "$API/workflows/c2/queries/value" '' >/dev/null
    check "signal-with-start total" "$(jbody .result)" 11
    check "use_existing on a running one" \
        "$(req POST "$API/workflows" '{"type":"counter","id":"c2","id_conflict":"use_existing"}')" 200
    # signal-with-start's id_conflict: fail is refused (nothing recorded),
    # terminate_existing ends the running run and starts one with the signal.
    local c2_run c2_len
    req GET "$API/workflows/c2" >/dev/null
    c2_run=$(jbody .run_id)
    c2_len=$(jbody .history_length)
    check "signal-with-start fail refused" \
        "$(req POST "$API/workflows/c2/signal-with-start/add" '{"type":"counter","signal_input":1,"id_conflict":"fail"}')" 400
    check "signal-with-start fail: why" "$(jbody .error.message | grep -c "not 'fail'")" 1
    req GET "$API/workflows/c2" >/dev/null
    check "signal-with-start fail: nothing recorded" "$(jbody .run_id)/$(jbody .history_length)" "$c2_run/$c2_len"
    # A long-poll on the run that terminate_existing ends is answered by
    # that end, not carried over to the new run.
    curl -s -o "$TMP/c2lp" -w '%{http_code}' "$API/workflows/c2/result?wait=1&timeout_ms=20000" >"$TMP/c2lpcode" &
    local c2lp=$! parked=0 tries=0
    until [ "$parked" = 1 ] || [ $tries -ge 100 ]; do
        curl -s -o "$TMP/mp" "$BASE/metrics"
        parked=$(metric "$TMP/mp" ttai_http_long_polls_parked)
        sleep 0.05; tries=$((tries + 1))
    done
    check "signal-with-start terminate_existing" \
        "$(req POST "$API/workflows/c2/signal-with-start/add" '{"type":"counter","input":{"every":100},"signal_input":7,"id_conflict":"terminate_existing"}')" 200
    wait $c2lp
    check "a long-poll on the ended run gets its end" \
        "$(cat "$TMP/c2lpcode") $(jq -c '[.status, .failure.message]' "$TMP/c2lp")" \
        '200 ["terminated","terminated by a new start with the same id"]'
    check "signal-with-start terminate_existing: a new run" "$([ "$(jbody .run_id)" != "$c2_run" ] && echo new)" new
    req GET "$API/workflows/c2?run_id=$(echo "$c2_run" | tr -d '"')" >/dev/null
    check "signal-with-start terminate_existing: the old run" "$(jbody .status)" '"terminated"'
    req POST "$API/workflows/c2/queries/value" '' >/dev/null
    check "signal-with-start terminate_existing: the new run has the signal" "$(jbody .result)" 7
    # run_id on cancel and terminate: only that run, and only while it is
    # the open one; on result: from that run.
    local old_run
    old_run=$(echo "$c2_run" | tr -d '"')
    check "cancel a run it does not have" \
        "$(req POST "$API/workflows/c2/cancel" '{"run_id":"01a20ea4-2851-77a1-8259-2a882a4520d7"}')" 404
    check "cancel a run it does not have: message" "$(jbody .error.message)" \
        "\"workflow 'c2' has no run 01a20ea4-2851-77a1-8259-2a882a4520d7 in namespace 'default'\""
    check "cancel a closed run" "$(req POST "$API/workflows/c2/cancel" "{\"run_id\":\"$old_run\"}")" 409
    check "cancel a closed run: message" "$(jbody .error.message)" "\"workflow 'c2' is terminated\""
    check "terminate a closed run" "$(req POST "$API/workflows/c2/terminate" "{\"run_id\":\"$old_run\"}")" 409
    check "cancel with a bad run id" "$(req POST "$API/workflows/c2/cancel" '{"run_id":"x"}')" 400
    check "result of the terminated run" \
        "$(req GET "$API/workflows/c2/result?run_id=$old_run" && jbody '[.status, .failure.message]')" \
        '200["terminated","terminated by a new start with the same id"]'
    check "result of a run it does not have" \
        "$(req GET "$API/workflows/c2/result?run_id=01a20ea4-2851-77a1-8259-2a882a4520d7")" 404
    check "result with a bad run id" "$(req GET "$API/workflows/c2/result?run_id=x")" 400
    check "result of the open run" \
        "$(req GET "$API/workflows/c2/result?run_id=$(req GET "$API/workflows/c2" >/dev/null && jbody .run_id | tr -d '"')")" 202
    req GET "$API/workflows/c2/history" >/dev/null
    check "nothing recorded for the refusals" "$(jbody '[.events[].type] | map(select(. == "CancelRequested")) | length')" 0
    check "terminate with an unknown field" "$(req POST "$API/workflows/c2/terminate" '{"resaon":"x"}')" 400
    check "cancel" "$(req POST "$API/workflows/c2/cancel" '{"reason":"test"}')" 200
    check "cancel answer" "$(body)" '{}'
    # The counter waits for signals: the request ends its wait, and it closes canceled.
    req GET "$API/workflows/c2/result?wait=1&timeout_ms=5000" >/dev/null
    check "canceled result" "$(jbody '.status')" '"canceled"'
    check "canceled describe" "$(req GET "$API/workflows/c2")" 200
    check "canceled status" "$(jbody '.status')" '"canceled"'
    check "canceled history" "$(req GET "$API/workflows/c2/history")" 200
    check "cancel recorded" "$(jbody '[.events[].type] | map(select(. == "CancelRequested" or . == "WorkflowCanceled")) | join(",")')" \
        '"CancelRequested,WorkflowCanceled"'
    concurrent_starts
    check "start c3" "$(req POST "$API/workflows" '{"type":"counter","id":"c3"}')" 201
    check "terminate the open run by its id" \
        "$(req POST "$API/workflows/c3/terminate" "{\"reason\":\"done\",\"run_id\":$(jbody .run_id)}")" 200
    req GET "$API/workflows/c3/result" >/dev/null
    check "terminated result" "$(jbody '.status')" '"terminated"'
    check "healthz" "$(req GET "$BASE/healthz")" 200
    check "metrics" "$(req GET "$BASE/metrics")" 200
    check "metrics by status" "$(grep -c '^ttai_workflows{namespace="default",status="completed"} ' "$TMP/body")" 1
    check "metrics engine counters" "$(grep -c '^ttai_commits_total [0-9]' "$TMP/body")" 1
    check "metrics dispatch summary" "$(grep -c '^ttai_activity_dispatch_seconds_count' "$TMP/body")" 1
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# race ID POLICY N: N starts of one counter id sent at once with the
# id_conflict POLICY; their statuses, counted ("201:23 409:1 "), in $TMP/codes,
# their answers in $TMP/race-ID-*.
race() {
    local i pids=()
    for i in $(seq "$3"); do
        curl -s -o "$TMP/race-$1-$i" -w '%{http_code}\n' -X POST "$API/workflows" \
            --data-binary "{\"type\":\"counter\",\"id\":\"$1\",\"id_conflict\":\"$2\"}" \
            >> "$TMP/codes-$1" &
        pids+=($!)
    done
    wait "${pids[@]}" # not the daemon
    sort "$TMP/codes-$1" | uniq -c | awk '{printf "%s:%s ", $2, $1}' > "$TMP/codes"
}

# Starts of one id sent at once take turns: each is made against the run
# the one before it left, as if they had come one after the other.
concurrent_starts() {
    race rt terminate_existing 24
    check "terminate_existing at once: all started" "$(cat "$TMP/codes")" "201:24 "
    check "terminate_existing at once: runs" \
        "$(cat "$TMP"/race-rt-* | jq -r .run_id | sort -u | wc -l)" 24
    req GET "$API/workflows?page_size=200" >/dev/null
    check "terminate_existing at once: the last one runs" \
        "$(jbody '[.workflows[] | select(.workflow_id == "rt") | .status] | group_by(.) | map([.[0], length])')" \
        '[["running",1],["terminated",23]]'
    race ru use_existing 24
    check "use_existing at once: one started" "$(cat "$TMP/codes")" "200:23 201:1 "
    check "use_existing at once: one run" \
        "$(cat "$TMP"/race-ru-* | jq -r .run_id | sort -u | wc -l)" 1
    race rf fail 24
    check "fail at once: one started" "$(cat "$TMP/codes")" "201:1 409:23 "
    check "fail at once: the others' reason" \
        "$(cat "$TMP"/race-rf-* | jq -r 'select(.error) | .error.message' | sort -u)" \
        "workflow 'rf' is already running"
    check "terminate rf" "$(req POST "$API/workflows/rf/terminate" '{}')" 200
    check "signal-with-start refused by the reuse policy" \
        "$(req POST "$API/workflows/rf/signal-with-start/add" '{"type":"counter","signal_input":1,"id_reuse":"reject"}')" 409
    check "signal-with-start refused: why" "$(jbody .error.message)" \
        "\"workflow id 'rf' was used and the reuse policy refuses it\""
    for id in rt ru; do req POST "$API/workflows/$id/terminate" '{}' >/dev/null; done
}

# Follows a list's next_page_token from URL (which has a query) to null, or
# up to MAX+1 pages: the workflow ids in PAGED_IDS, the pages in PAGED_COUNT.
list_pages() {
    local url=$1 max=$2 token=""
    PAGED_IDS="" PAGED_COUNT=0
    while :; do
        req GET "$url${token:+&page_token=$token}" >/dev/null
        PAGED_IDS="$PAGED_IDS $(jq -r '[.workflows[].workflow_id] | join(" ")' "$TMP/body")"
        token=$(jq -r '.next_page_token // empty' "$TMP/body")
        PAGED_COUNT=$((PAGED_COUNT + 1))
        [ -z "$token" ] && break
        [ $PAGED_COUNT -gt "$max" ] && break
    done
}

case_shapes() {
    start_daemon
    for i in 1 2 3 4 5; do
        req POST "$API/workflows" "{\"type\":\"hello\",\"id\":\"s$i\",\"input\":\"n$i\"}" >/dev/null
    done
    req POST "$API/workflows" '{"type":"counter","id":"k1"}' >/dev/null
    req GET "$API/workflows/s5/result?wait=1" >/dev/null
    check "describe" "$(req GET "$API/workflows/k1")" 200
    check "describe keys" "$(jbody 'keys')" \
        '["activities","blocked","close_time","history_length","namespace","pending_activities","pending_timers","queries","run_id","signals","start_time","status","type","workflow_id"]'
    check "describe values" "$(jbody '[.namespace,.workflow_id,.type,.status,.close_time,.blocked,.activities]')" \
        '["default","k1","counter","running",null,null,[]]'
    check "declared names" "$(jbody '[.signals,.queries]')" '[["add","stop"],["value"]]'
    local run
    run=$(jq -r .run_id "$TMP/body")
    check "describe by run id" "$(req GET "$API/workflows/k1?run_id=$run")" 200
    check "list all" "$(req GET "$API/workflows" && jbody '.workflows | length')" 2006
    check "list newest first" "$(jbody '.workflows[0].workflow_id')" '"k1"'
    check "list by type" "$(req GET "$API/workflows?type=hello" && jbody '.workflows | length')" 2005
    check "list by status" "$(req GET "$API/workflows?status=running" && jbody '[.workflows[].workflow_id]')" '200["k1"]'
    # Both filters. k2 is a closed counter; 25 more hellos, all closed.
    local token
    req POST "$API/workflows" '{"type":"counter","id":"k2"}' >/dev/null
    req POST "$API/workflows/k2/signals/stop" '{}' >/dev/null
    for i in $(seq 6 30); do
        req POST "$API/workflows" "{\"type\":\"hello\",\"id\":\"s$i\",\"input\":\"n$i\"}" >/dev/null
    done
    for i in $(seq 1 30); do req GET "$API/workflows/s$i/result?wait=1" >/dev/null; done
    req GET "$API/workflows/k2/result?wait=1" >/dev/null
    check "running counters" \
        "$(req GET "$API/workflows?status=running&type=counter" && jbody '[[.workflows[].workflow_id], .next_page_token]')" \
        '200[["k1"],null]'
    check "completed counters" \
        "$(req GET "$API/workflows?type=counter&status=completed" && jbody '[[.workflows[].workflow_id], .next_page_token]')" \
        '200[["k2"],null]'
    check "completed hellos" \
        "$(req GET "$API/workflows?status=completed&type=hello" && jbody '[.workflows[] | [.type, .status]] | [length, unique]')" \
        '200[30,[["hello","completed"]]]'
    check "running hellos" "$(req GET "$API/workflows?status=running&type=hello" && jbody '[.workflows, .next_page_token]')" \
        '200[[],null]'
    # A page looks at 20 entries per item it may hold: with page_size=1 and
    # no failed hello among 30, the first page stops after 20 with a token
    # and is empty, the second looks at the other 10 and ends the list.
    check "failed hellos, page 1" \
        "$(req GET "$API/workflows?status=failed&type=hello&page_size=1" && jbody '[.workflows, (.next_page_token | type)]')" \
        '200[[],"string"]'
    token=$(jq -r .next_page_token "$TMP/body")
    check "failed hellos, page 2" \
        "$(req GET "$API/workflows?status=failed&type=hello&page_size=1&page_token=$token" && jbody '[.workflows, .next_page_token]')" \
        '200[[],null]'
    # Following the tokens of a list by both filters gives every match once.
    list_pages "$API/workflows?status=completed&type=hello&page_size=7" 10
    local cids=$PAGED_IDS cpages=$PAGED_COUNT
    check "completed hellos, pages of 7" "$cpages $(echo $cids | tr ' ' '\n' | sort -uV | tr '\n' ' ')" \
        "5 $(seq -f 's%g' 1 30 | tr '\n' ' ')"
    check "completed hellos, pages of 7, no repeat" "$(echo $cids | wc -w)" 30
    local long_type
    long_type=$(printf 'x%.0s' $(seq 300))
    check "bad type with a closed status" "$(req GET "$API/workflows?status=completed&type=$long_type")" 400
    check "bad type with running" "$(req GET "$API/workflows?status=running&type=$long_type")" 400
    # Pagination: 16 pages of 2, no duplicate, then null.
    list_pages "$API/workflows?page_size=2" 20
    local ids=$PAGED_IDS pages=$PAGED_COUNT
    check "pages" $pages 16
    check "paged ids" "$(echo $ids | tr ' ' '\n' | sort -V | tr '\n' ' ')" "k1 k2 $(seq -f 's%g' 1 30 | tr '\n' ' ')"
    check "history" "$(req GET "$API/workflows/s1/history")" 200
    check "history types" "$(jbody '[.events[].type]')" \
        '["WorkflowStarted","TaskCompleted","ActivityScheduled","ActivityCompleted","TaskCompleted","WorkflowCompleted"]'
    check "history event keys" "$(jbody '.events[0] | keys')" '["event_id","name","payload","time","type"]'
    check "history end" "$(jbody .next_event_id)" null
    check "history page" "$(req GET "$API/workflows/s1/history?page_size=2&from_event=3" && jbody '[.events[].event_id, .next_event_id]')" '200[3,4,5]'
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_errors() {
    start_daemon --max-body 1000
    req POST "$API/workflows" '{"type":"counter","id":"e1"}' >/dev/null
    check "malformed JSON" "$(req POST "$API/workflows" '{"type":')" 400
    check "error shape" "$(jbody '[.error.code, (.error.message | length > 0)]')" '["bad_request",true]'
    check "not an object" "$(req POST "$API/workflows" '[1,2]')" 400
    check "missing type" "$(req POST "$API/workflows" '{"id":"x"}')" 400
    check "mistyped id" "$(req POST "$API/workflows" '{"type":"hello","id":5}')" 400
    check "bad id_conflict" "$(req POST "$API/workflows" '{"type":"hello","id":"x","id_conflict":"maybe"}')" 400
    check "bad timeout" "$(req POST "$API/workflows" '{"type":"hello","id":"x","run_timeout_ms":-1}')" 400
    check "bad page_size" "$(req GET "$API/workflows?page_size=0")" 400
    check "bad status" "$(req GET "$API/workflows?status=sleepy")" 400
    check "bad page token" "$(req GET "$API/workflows?page_token=zzz")" 400
    check "bad run id" "$(req GET "$API/workflows/e1?run_id=nope")" 400
    local big
    big=$(head -c 2000 /dev/zero | tr '\0' 'a')
    check "body too large" "$(req POST "$API/workflows" "{\"type\":\"hello\",\"id\":\"big\",\"input\":\"$big\"}")" 413
    check "unknown type" "$(req POST "$API/workflows" '{"type":"nosuch","id":"x"}')" 404
    check "unknown type code" "$(jbody .error.code)" '"not_found"'
    check "unknown signal" "$(req POST "$API/workflows/e1/signals/nosuch" '{}')" 404
    check "unknown query" "$(req POST "$API/workflows/e1/queries/nosuch" '{}')" 404
    check "unknown workflow (signal)" "$(req POST "$API/workflows/nobody/signals/add" '{"input":1}')" 404
    check "unknown workflow (describe)" "$(req GET "$API/workflows/nobody")" 404
    check "unknown workflow (history)" "$(req GET "$API/workflows/nobody/history")" 404
    check "unknown workflow (result)" "$(req GET "$API/workflows/nobody/result")" 404
    check "unknown workflow (cancel)" "$(req POST "$API/workflows/nobody/cancel" '{}')" 404
    check "unknown route" "$(req GET "$BASE/api/v1/nothing")" 404
    # A name in the path is percent-encoded UTF-8: anything else is refused,
    # so that one name cannot be spelt two ways.
    check "malformed escape" "$(req GET "$BASE/api/v1/namespaces/a%zzb/workflows")" 400
    check "malformed escape: why" "$(jbody .error.message)" \
        "\"malformed path: a '%' is not followed by two hex digits\""
    check "escape cut short" "$(req POST "$API/workflows/e%1/signals/add" '{}')" 400
    check "escaped NUL" "$(req GET "$API/workflows/a%00b")" 400
    check "escaped NUL: why" "$(jbody .error.message)" '"malformed path: a name holds a NUL byte (%00)"'
    check "not UTF-8" "$(req GET "$API/workflows/%ff")" 400
    check "not UTF-8: why" "$(jbody .error.message)" '"malformed path: a name is not UTF-8 text"'
    check "an escape that decodes" "$(req GET "$API/workflows/%65%31")" 200
    check "unknown verb" "$(req GET "$API/workflows/e1/nothing")" 404
    check "wrong method" "$(req GET "$API/workflows/e1/signals/add")" 405
    check "wrong method code" "$(jbody .error.code)" '"method_not_allowed"'
    check "wrong method 2" "$(req DELETE "$API/workflows/e1")" 405
    check "wrong method: Allow" \
        "$(curl -s -o /dev/null -D - -X DELETE "$API/workflows" | tr -d '\r' | grep -i '^allow:')" \
        "Allow: POST, GET"
    # Methods no route serves, one libevent does not know among them, get
    # the same JSON 405 (not libevent's HTML 501).
    local m
    for m in OPTIONS TRACE FOO; do
        check "$m: 405" "$(req "$m" "$API/workflows")" 405
        check "$m: JSON" "$(jbody .error.message)" '"use POST or GET"'
    done
    # Switches take 1/true or 0/false; anything else is refused, not "off".
    check "wait=2" "$(req GET "$API/workflows/e1/result?wait=2")" 400
    check "wait=2: why" "$(jbody .error.message)" "\"parameter 'wait' must be 1 or true (0 or false: off)\""
    check "wait=0" "$(req GET "$API/workflows/e1/result?wait=0")" 202
    check "follow=yes" "$(req GET "$API/workflows/e1/history?follow=yes")" 400
    check "alerts follow=on" "$(req GET "$API/alerts?follow=on")" 400
    # Requests whose framing is in doubt: 400, and the connection closed
    # after it, so that what follows the body is never taken for a request
    # (here a terminate of e1). smuggle HEADERS BODY [METHOD] prints the
    # answers' count, the first one's status and its body.
    smuggle() {
        python3 - "$PORT" "$1" "$2" "${3:-POST}" <<'PY'
import socket, sys
inner = ("POST /api/v1/namespaces/default/workflows/e1/terminate HTTP/1.1\r\nHost: x\r\n"
         "Content-Length: 0\r\n\r\n")
body = sys.argv[3] + inner
head = (sys.argv[4] + " /api/v1/namespaces/default/workflows/e1/queries/value HTTP/1.1\r\nHost: x\r\n"
        + sys.argv[2].replace("LEN", str(len(body))) + "\r\n\r\n")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall((head + body).encode())
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
text = out.decode()
print(text.count("HTTP/1.1 "), text.split(" ")[1], text[text.find("\r\n\r\n") + 4:].strip())
PY
    }
    smuggle $'Content-Length: 2\r\nContent-Length: LEN' '{}' >"$TMP/smug"
    check "two Content-Lengths: one answer, 400" "$(head -1 "$TMP/smug" | cut -d' ' -f1-2)" "1 400"
    check "two Content-Lengths: why" "$(cut -d' ' -f3- "$TMP/smug" | jq -r .error.message)" \
        "more than one Content-Length header"
    # A body in a coding evhttp does not decode ("gzip, chunked"). Both
    # framings at once libevent refuses itself (its own 400 page), with the
    # same effect.
    local te chunked=$'2\r\n{}\r\n0\r\n\r\n'
    for te in "Transfer-Encoding: gzip, chunked" $'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked' \
              $'Transfer-Encoding: chunked\r\nContent-Length: 7'; do
        smuggle "$te" "$chunked" >"$TMP/smug"
        check "framing '${te//$'\r\n'/ + }': one answer, 400" "$(head -1 "$TMP/smug" | cut -d' ' -f1-2)" "1 400"
        case $te in *Content-Length*) continue ;; esac
        check "framing '${te//$'\r\n'/ + }': why" "$(cut -d' ' -f3- "$TMP/smug" | jq -r .error.message)" \
            "a Transfer-Encoding other than chunked (the only coding ttaid reads)"
    done
    # evhttp reads no body for HEAD, TRACE or a method it does not know:
    # such a request that declares one is refused the same way.
    local method
    for method in HEAD TRACE FOO; do
        smuggle 'Content-Length: LEN' '' "$method" >"$TMP/smug"
        check "$method with a body: one answer, 400" "$(head -1 "$TMP/smug" | cut -d' ' -f1-2)" "1 400"
        [ "$method" = HEAD ] && continue # headers only
        check "$method with a body: why" "$(cut -d' ' -f3- "$TMP/smug" | jq -r .error.message)" \
            "a body with a method that has none here (HEAD, TRACE or an unknown one)"
    done
    smuggle $'Transfer-Encoding: chunked' $'0\r\n\r\n' TRACE >"$TMP/smug"
    check "TRACE chunked: one answer, 400" "$(head -1 "$TMP/smug" | cut -d' ' -f1-2)" "1 400"
    check "framings: the rest not run" "$(req GET "$API/workflows/e1" && jbody .status)" '200"running"'
    # A chunked body alone is read.
    check "a chunked body" "$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
        -H 'Content-Type: application/json' --data-binary '{}' "$API/workflows/e1/queries/value")" 200
    check "unknown run of a known workflow" \
        "$(req GET "$API/workflows/e1?run_id=00000000-0000-0000-0000-000000000000")" 404
    check "unknown run: said so" "$(jbody .error.message)" \
        "\"workflow 'e1' has no run 00000000-0000-0000-0000-000000000000 in namespace 'default'\""
    check "unknown workflow with a run id" \
        "$(req GET "$API/workflows/nobody?run_id=00000000-0000-0000-0000-000000000000")" 404
    check "unknown workflow with a run id: said so" "$(jbody .error.message)" \
        "\"workflow 'nobody' not found in namespace 'default'\""
    check "duplicate key" "$(req POST "$API/workflows" '{"type":"hello","id":"dk1","id":"dk2"}')" 400
    check "duplicate key: why" "$(jbody .error.message | grep -c 'duplicate object key')" 1
    check "duplicate key: nothing started" "$(req GET "$API/workflows/dk2")/$(req GET "$API/workflows/dk1")" 404/404
    check "conflict: running" "$(req POST "$API/workflows" '{"type":"counter","id":"e1"}')" 409
    check "conflict code" "$(jbody .error.code)" '"conflict"'
    check "result running" "$(req GET "$API/workflows/e1/result")" 202
    check "result running body" "$(body)" '{"status":"running"}'
    # A field a call does not read is refused, not ignored.
    check "start: unknown field" \
        "$(req POST "$API/workflows" '{"type":"counter","id":"uf","id_confict":"use_existing"}')" 400
    check "start: unknown field named" "$(jbody .error.message)" "\"unknown field 'id_confict'\""
    check "signal: unknown field" "$(req POST "$API/workflows/e1/signals/add" '{"inptu":1}')" 400
    check "signal: unknown field named" "$(jbody .error.message)" "\"unknown field 'inptu'\""
    check "signal-with-start: unknown field" \
        "$(req POST "$API/workflows/e1/signal-with-start/add" '{"type":"counter","signal_input":1,"id":"e1"}')" 400
    check "signal-with-start: unknown field named" "$(jbody .error.message)" "\"unknown field 'id'\""
    check "query: unknown field" "$(req POST "$API/workflows/e1/queries/value" '{"until":2}')" 400
    check "query: unknown field named" "$(jbody .error.message)" "\"unknown field 'until'\""
    check "terminate" "$(req POST "$API/workflows/e1/terminate" '{}')" 200
    check "closed: signal" "$(req POST "$API/workflows/e1/signals/add" '{"input":1}')" 409
    check "closed: cancel" "$(req POST "$API/workflows/e1/cancel" '{}')" 409
    check "closed: terminate" "$(req POST "$API/workflows/e1/terminate" '{}')" 409
    check "reuse reject" "$(req POST "$API/workflows" '{"type":"counter","id":"e1","id_reuse":"reject"}')" 409
    # Nothing was recorded for the refused requests: e1 has one run, and
    # its history ends with the termination.
    req GET "$API/workflows" >/dev/null
    check "runs recorded" "$(jbody '[.workflows[].workflow_id]')" '["e1"]'
    check "history untouched" "$(req GET "$API/workflows/e1/history" && jbody '[.events[].type]')" \
        '200["WorkflowStarted","TaskCompleted","WorkflowTerminated"]'
    check "still healthy" "$(req GET "$BASE/healthz")" 200
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_tokens() {
    start_daemon --token alpha:a,b --token root:'*'
    local A=$BASE/api/v1/namespaces/a B=$BASE/api/v1/namespaces/c
    check "no token" "$(req GET "$A/workflows")" 401
    check "401 code" "$(jbody .error.code)" '"unauthorized"'
    check "unknown token" "$(req GET "$A/workflows" '' -H 'Authorization: Bearer nope')" 401
    check "allowed" "$(req POST "$A/workflows" '{"type":"counter","id":"t1"}' -H 'Authorization: Bearer alpha')" 201
    check "forbidden ns" "$(req POST "$B/workflows" '{"type":"counter","id":"t1"}' -H 'Authorization: Bearer alpha')" 403
    check "403 code" "$(jbody .error.code)" '"forbidden"'
    check "forbidden read" "$(req GET "$B/workflows/t1" '' -H 'Authorization: Bearer alpha')" 403
    check "wildcard" "$(req POST "$B/workflows" '{"type":"counter","id":"t1"}' -H 'Authorization: Bearer root')" 201
    check "namespaces isolate" "$(req GET "$BASE/api/v1/namespaces/b/workflows/t1" '' -H 'Authorization: Bearer alpha')" 404
    check "healthz open" "$(req GET "$BASE/healthz")" 200
    check "metrics need a token" "$(req GET "$BASE/metrics")" 401
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    # No token: refuse a non-loopback address.
    "$TTAID" --data "$TMP/data2" --listen 0.0.0.0:0 2>"$TMP/refuse"
    check "non-loopback refused" $? 2
    check "refusal says why" "$(grep -c 'non-loopback' "$TMP/refuse")" 1
    # A name is judged by what it resolves to, not by its text: one that
    # starts like a loopback address but resolves to none is refused.
    "$TTAID" --data "$TMP/data2" --listen 127.no-such-name.invalid:0 2>"$TMP/refuse"
    check "loopback-looking name refused" $? 2
    check "loopback-looking name: why" "$(grep -c 'non-loopback' "$TMP/refuse")" 1
    # localhost resolves to loopback addresses: served without a token.
    "$TTAID" --data "$TMP/data3" --listen localhost:0 >"$TMP/lh.out" 2>"$TMP/lh.err" &
    local lh=$!
    local waited=0
    while [ $waited -lt 100 ] && ! grep -q 'listening' "$TMP/lh.err" "$TMP/lh.out" 2>/dev/null; do
        sleep 0.05; waited=$((waited + 1))
    done
    check "localhost served" "$(grep -c 'listening' "$TMP/lh.err" "$TMP/lh.out" | awk -F: '{s += $2} END {print s}')" 1
    kill "$lh" 2>/dev/null
    wait "$lh" 2>/dev/null
}

case_stream() {
    start_daemon
    req POST "$API/workflows" '{"type":"counter","id":"f1","input":{"every":100}}' >/dev/null
    curl -s -N "$API/workflows/f1/history?follow=1" >"$TMP/sse" &
    local cpid=$!
    sleep 0.3
    for i in 1 2 3; do req POST "$API/workflows/f1/signals/add" "{\"input\":$i}" >/dev/null; done
    req POST "$API/workflows/f1/signals/stop" '{}' >/dev/null
    local ok=0
    for _ in $(seq 1 100); do
        kill -0 $cpid 2>/dev/null || { ok=1; break; }
        sleep 0.05
    done
    check "stream ends when the run closes" $ok 1
    check "stream content type" \
        "$(curl -s -o /dev/null -w '%{content_type}' "$API/workflows/f1/history?follow=1")" text/event-stream
    check "streamed signals" "$(grep -c '"type":"SignalReceived"' "$TMP/sse")" 4
    check "streamed close" "$(grep -c '"type":"WorkflowCompleted"' "$TMP/sse")" 1
    check "event lines" "$(grep -c '^event: history' "$TMP/sse")" "$(grep -c '^data: ' "$TMP/sse")"
    check "follow unknown" "$(req GET "$API/workflows/nobody/history?follow=1")" 404
    # A reconnecting EventSource (Last-Event-ID) on a run's stream goes on
    # after its last event; with nothing left of a closed run it gets 204,
    # which stops it. Without run_id the header is ignored (the current run
    # may be another).
    local last_id f1_run
    last_id=$(grep '^id: ' "$TMP/sse" | tail -1 | cut -d' ' -f2)
    f1_run=$(req GET "$API/workflows/f1" >/dev/null && jq -r .run_id "$TMP/body")
    check "Last-Event-ID at the end of a closed run" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Last-Event-ID: $last_id" "$API/workflows/f1/history?follow=1&run_id=$f1_run")" 204
    curl -s -N -H 'Last-Event-ID: 2' "$API/workflows/f1/history?follow=1&run_id=$f1_run" >"$TMP/sse-resume"
    check "Last-Event-ID: resumes after it" "$(grep '^id: ' "$TMP/sse-resume" | head -1)" "id: 3"
    check "Last-Event-ID: to the end" "$(grep -c '^id: ' "$TMP/sse-resume")" $((last_id - 2))
    curl -s -N -H "Last-Event-ID: $last_id" "$API/workflows/f1/history?follow=1" >"$TMP/sse-norun"
    check "Last-Event-ID without run_id: ignored" "$(grep '^id: ' "$TMP/sse-norun" | head -1)" "id: 1"
    # A client that leaves mid-stream does not hurt the daemon.
    req POST "$API/workflows" '{"type":"counter","id":"f2"}' >/dev/null
    timeout 0.3 curl -s -N "$API/workflows/f2/history?follow=1" >/dev/null
    req POST "$API/workflows/f2/signals/add" '{"input":1}' >/dev/null
    sleep 0.1
    check "alive after a client left" "$(req GET "$BASE/healthz")" 200
    # Its stream ends, the run still open, and stops counting.
    local open=
    for _ in $(seq 1 100); do
        curl -s "$BASE/metrics" >"$TMP/ms"
        open=$(metric "$TMP/ms" 'ttai_http_streams_open{kind="history"}')
        [ "$open" = 0 ] && break
        sleep 0.05
    done
    check "a left stream is ended" "$open" 0
    curl -s -N "$API/workflows/f2/history?follow=1" >"$TMP/sse-f2" &
    local f2=$!
    for _ in $(seq 1 100); do grep -q '^event: history' "$TMP/sse-f2" && break; sleep 0.05; done
    curl -s "$BASE/metrics" >"$TMP/ms"
    check "an open stream counts" "$(metric "$TMP/ms" 'ttai_http_streams_open{kind="history"}')" 1
    kill "$f2" 2>/dev/null
    wait "$f2" 2>/dev/null
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_longpoll() {
    start_daemon
    req POST "$API/workflows" '{"type":"counter","id":"l1","input":{"every":2}}' >/dev/null
    curl -s -o "$TMP/lp" -w '%{http_code}' "$API/workflows/l1/result?wait=1&timeout_ms=20000" >"$TMP/lpcode" &
    local cpid=$!
    sleep 0.3
    check "waiting" "$(kill -0 $cpid 2>/dev/null && echo yes)" yes
    for i in 1 2 3; do req POST "$API/workflows/l1/signals/add" "{\"input\":$i}" >/dev/null; done
    sleep 0.3
    check "still waiting across continue-as-new" "$(kill -0 $cpid 2>/dev/null && echo yes)" yes
    local t0 t1
    t0=$(date +%s%N)
    req POST "$API/workflows/l1/signals/stop" '{}' >/dev/null
    wait $cpid
    t1=$(date +%s%N)
    check "long-poll answer" "$(cat "$TMP/lpcode") $(cat "$TMP/lp")" '200 {"status":"completed","result":6}'
    check "woke promptly" "$(( (t1 - t0) / 1000000 < 1000 ))" 1
    # Long-polls parked on several workflows, two on one of them, one in
    # another namespace under the same workflow id: a close answers the
    # long-polls of its own workflow, all of them, and no other.
    local OTHER=$BASE/api/v1/namespaces/other w
    for w in p1 p2; do req POST "$API/workflows" "{\"type\":\"counter\",\"id\":\"$w\"}" >/dev/null; done
    req POST "$OTHER/workflows" '{"type":"counter","id":"p1"}' >/dev/null
    local lp1a lp1b lp2 lpo
    curl -s -o "$TMP/p1a" "$API/workflows/p1/result?wait=1&timeout_ms=20000" & lp1a=$!
    curl -s -o "$TMP/p1b" "$API/workflows/p1/result?wait=1&timeout_ms=20000" & lp1b=$!
    curl -s -o "$TMP/p2" "$API/workflows/p2/result?wait=1&timeout_ms=20000" & lp2=$!
    curl -s -o "$TMP/po" "$OTHER/workflows/p1/result?wait=1&timeout_ms=20000" & lpo=$!
    local parked=0
    for _ in $(seq 100); do
        curl -s -o "$TMP/mp" "$BASE/metrics"
        parked=$(metric "$TMP/mp" ttai_http_long_polls_parked)
        [ "$parked" = 4 ] && break
        sleep 0.05
    done
    check "four parked" "$parked" 4
    req POST "$API/workflows/p1/signals/stop" '{}' >/dev/null
    wait $lp1a $lp1b
    check "both long-polls of p1 answered" "$(cat "$TMP/p1a") $(cat "$TMP/p1b")" \
        '{"status":"completed","result":0} {"status":"completed","result":0}'
    sleep 0.2
    check "p2 and other/p1 still waiting" \
        "$(kill -0 $lp2 2>/dev/null && kill -0 $lpo 2>/dev/null && echo yes)" yes
    curl -s -o "$TMP/mp" "$BASE/metrics"
    check "two parked" "$(metric "$TMP/mp" ttai_http_long_polls_parked)" 2
    req POST "$API/workflows/p2/signals/add" '{"input":5}' >/dev/null
    req POST "$API/workflows/p2/signals/stop" '{}' >/dev/null
    req POST "$OTHER/workflows/p1/signals/stop" '{}' >/dev/null
    wait $lp2 $lpo
    check "p2 and other/p1 answered" "$(cat "$TMP/p2") $(cat "$TMP/po")" \
        '{"status":"completed","result":5} {"status":"completed","result":0}'
    curl -s -o "$TMP/mp" "$BASE/metrics"
    check "none parked" "$(metric "$TMP/mp" ttai_http_long_polls_parked)" 0
    req POST "$API/workflows" '{"type":"counter","id":"l2"}' >/dev/null
    check "timeout answers running" "$(req GET "$API/workflows/l2/result?wait=1&timeout_ms=200")" 202
    check "bad timeout" "$(req GET "$API/workflows/l2/result?wait=1&timeout_ms=x")" 400

    # Execute: a start with wait=result answers with the result.
    check "execute hello" "$(req POST "$API/workflows?wait=result" '{"type":"hello","id":"e1","input":"you"}')" 200
    check "execute answer" "$(jbody '[.status, .result, .workflow_id, .started]')" '["completed","Hello, you!","e1",true]'
    local run
    run=$(jq -r '.run_id' "$TMP/body")
    check "execute run id is the run's" \
        "$(req GET "$API/workflows/e1" && jbody '[.run_id, .status]')" "200[\"$run\",\"completed\"]"
    curl -s -o "$TMP/ex" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary '{"type":"counter","id":"e2","input":{"every":2}}' \
        "$API/workflows?wait=result&timeout_ms=20000" >"$TMP/excode" &
    cpid=$!
    local tries=0
    until [ "$(req GET "$API/workflows/e2")" = 200 ] || [ $tries -ge 100 ]; do sleep 0.05; tries=$((tries + 1)); done
    local first_run
    first_run=$(jbody '.run_id')
    for i in 1 2 3; do req POST "$API/workflows/e2/signals/add" "{\"input\":$i}" >/dev/null; done
    sleep 0.3
    check "execute waits across continue-as-new" "$(kill -0 $cpid 2>/dev/null && echo yes)" yes
    req POST "$API/workflows/e2/signals/stop" '{}' >/dev/null
    wait $cpid
    check "execute answer after signals" "$(cat "$TMP/excode") $(jq -c '[.status, .result, .workflow_id]' "$TMP/ex")" \
        '200 ["completed",6,"e2"]'
    check "execute names the last run" "$(jq -c '.run_id' "$TMP/ex" | grep -c -v -F "$first_run")" 1
    check "result from the first run follows continue-as-new" \
        "$(req GET "$API/workflows/e2/result?run_id=$(echo "$first_run" | tr -d '"')" && jbody '[.status, .result, .run_id]')" \
        "200[\"completed\",6,null]"
    # The answers an execute gets as its run closes, without a store read
    # (the closing event comes with the close), or when its first task
    # ended the workflow in the start's own commit (that close reaches the
    # loop before the start's answer): each is what a result read from the
    # store says, with the execute's ids added.
    same_as_result() { # same_as_result WHAT ID: the execute's answer in $TMP/body
        jq -c 'del(.workflow_id, .run_id, .started)' "$TMP/body" >"$TMP/exec_answer"
        check "$1: a result read says the same" \
            "$(req GET "$API/workflows/$2/result" && body | jq -c .)" "200$(cat "$TMP/exec_answer")"
    }
    check "execute, ended by its first task" \
        "$(req POST "$API/workflows?wait=result&timeout_ms=10000" '{"type":"bench_monitor","id":"e8","input":{"iterations":0}}')" 200
    check "execute, ended by its first task: answer" "$(jbody '[.status, .result, .workflow_id, .started]')" \
        '["completed",0,"e8",true]'
    same_as_result "execute, ended by its first task" e8
    check "execute, failed by its first task" \
        "$(req POST "$API/workflows?wait=result&timeout_ms=10000" '{"type":"bench_monitor","id":"e9","input":{}}')" 200
    check "execute, failed by its first task: answer" "$(jbody '[.status, .failure.type]')" '["failed","BadInput"]'
    same_as_result "execute, failed by its first task" e9
    check "execute, after an activity: answer" \
        "$(req POST "$API/workflows?wait=result" '{"type":"bench_monitor","id":"e10","input":{"iterations":2,"sleep_ms":1}}' && jbody '[.status, .result]')" \
        '200["completed",2]'
    same_as_result "execute, after an activity" e10
    local how want
    for how in cancel terminate; do
        curl -s -o "$TMP/exb" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data-binary "{\"type\":\"counter\",\"id\":\"e-$how\"}" \
            "$API/workflows?wait=result&timeout_ms=20000" >"$TMP/excode" &
        cpid=$!
        tries=0
        until [ "$(req GET "$API/workflows/e-$how")" = 200 ] || [ $tries -ge 100 ]; do sleep 0.05; tries=$((tries + 1)); done
        req POST "$API/workflows/e-$how/$how" '{"reason":"by the test"}' >/dev/null
        wait $cpid
        cp "$TMP/exb" "$TMP/body"
        # A canceled counter closes itself (the closing event comes with
        # the close); a terminated run is closed by the engine (read back).
        want='["canceled",""]'
        [ $how = terminate ] && want='["terminated","by the test"]'
        check "execute, $how while it waits" "$(cat "$TMP/excode") $(jbody '[.status, .failure.message]')" \
            "200 $want"
        same_as_result "execute, $how while it waits" "e-$how"
    done
    check "execute timeout" "$(req POST "$API/workflows?wait=result&timeout_ms=200" '{"type":"counter","id":"e3"}')" 202
    check "execute timeout answer" "$(jbody '[.status, .workflow_id, (.run_id | length)]')" '["running","e3",36]'
    check "execute conflict" "$(req POST "$API/workflows?wait=result" '{"type":"counter","id":"e3"}')" 409
    check "execute use_existing" "$(req POST "$API/workflows?wait=result&timeout_ms=100" '{"type":"counter","id":"e3","id_conflict":"use_existing"}')" 202
    check "execute use_existing answer" "$(jbody '[.status, .workflow_id, .started]')" '["running","e3",false]'
    check "execute unknown type" "$(req POST "$API/workflows?wait=result" '{"type":"nope","id":"e4"}')" 404
    check "nothing recorded" "$(req GET "$API/workflows/e4")" 404
    check "execute bad wait" "$(req POST "$API/workflows?wait=1" '{"type":"hello","id":"e5"}')" 400
    check "execute bad wait says so" "$(jbody '.error.message')" \
        "\"wait on a start must be 'result' (start, then wait for the result)\""
    check "execute bad timeout" "$(req POST "$API/workflows?wait=result&timeout_ms=x" '{"type":"hello","id":"e5"}')" 400
    check "nothing recorded for a bad wait" "$(req GET "$API/workflows/e5")" 404
    # Huge durations mean "never": they saturate instead of wrapping (an
    # overflow that UBSan stops the daemon on).
    local max=9223372036854775807
    check "execute, huge timeout" "$(req POST "$API/workflows?wait=result&timeout_ms=$max" '{"type":"hello","id":"e6","input":"big"}')" 200
    check "huge workflow timeouts" "$(req POST "$API/workflows" "{\"type\":\"hello\",\"id\":\"e7\",\"input\":\"x\",\"execution_timeout_ms\":$max,\"run_timeout_ms\":$max}")" 201
    check "long-poll, huge timeout" "$(req GET "$API/workflows/e7/result?wait=1&timeout_ms=$max" && jbody .result)" '200"Hello, x!"'
    # A counter's sum saturates: the signals are durable, and a sum that
    # overflowed would stop the daemon at every replay of the run.
    req POST "$API/workflows" '{"type":"counter","id":"big"}' >/dev/null
    req POST "$API/workflows/big/signals/add" "{\"input\":$max}" >/dev/null
    check "add past the top" "$(req POST "$API/workflows/big/signals/add" "{\"input\":$max}")" 200
    check "sum saturates" "$(req POST "$API/workflows/big/queries/value" '{}' && body)" "200{\"result\":$max}"
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    start_daemon --cache-size 1
    check "replayed after a restart" "$(req POST "$API/workflows/big/queries/value" '{}' && body)" "200{\"result\":$max}"
    # A HEAD answer has no body, also for an error, so that the next answer
    # on the connection is read right.
    printf 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        curl -s --max-time 5 telnet://127.0.0.1:"$PORT" 2>/dev/null | tr -d '\r' >"$TMP/raw" || true
    check "HEAD then GET on one connection: two answers, the error without its body" \
        "$(grep -c '^HTTP/1.1 ' "$TMP/raw") $(grep -c '"error"' "$TMP/raw")" "2 0"
    check "HEAD of an unknown path" "$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$API/nothing-here")" "404 0"
    # Long-polls whose clients gave up (a client timeout) are answered
    # within about a second, which frees their connections, instead of
    # holding a descriptor each for their hour; one still read is not.
    req POST "$API/workflows" '{"type":"counter","id":"ab"}' >/dev/null
    curl -s -o "$TMP/kept" -w '%{http_code}' "$API/workflows/ab/result?wait=1&timeout_ms=60000" >"$TMP/keptcode" &
    local kept=$!
    for i in 1 2 3; do curl -s -m 0.3 "$API/workflows/ab/result?wait=1&timeout_ms=3600000" >/dev/null & done
    curl -s -m 0.3 -X POST "$API/workflows?wait=result&timeout_ms=3600000" -d '{"type":"counter","id":"ab2"}' >/dev/null &
    sleep 0.4
    local parked waited=0
    while :; do
        curl -s -o "$TMP/mp" "$BASE/metrics"
        parked=$(metric "$TMP/mp" ttai_http_long_polls_parked)
        [ "$parked" = 1 ] || [ $waited -ge 50 ] && break
        sleep 0.1; waited=$((waited + 1))
    done
    check "abandoned long-polls answered, the read one kept" "$parked" 1
    check "the kept one still waits" "$(kill -0 $kept 2>/dev/null && echo yes)" yes
    req POST "$API/workflows/ab/signals/stop" '{}' >/dev/null
    wait $kept
    check "the kept one gets the result" "$(cat "$TMP/keptcode")" 200
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_sigterm() {
    start_daemon
    req POST "$API/workflows" '{"type":"counter","id":"g1"}' >/dev/null
    curl -s "$API/workflows/g1/result?wait=1" >/dev/null &
    curl -s -N "$API/workflows/g1/history?follow=1" >/dev/null &
    sleep 0.2
    stop_daemon
    check "exit 0 with a long-poll and a stream open" $STOP_RC 0
    check "stopped line" "$(grep -c 'stopped' "$TMP/log")" 1
    start_daemon
    check "restart: run still there" "$(req GET "$API/workflows/g1" && jbody .status)" '200"running"'
    kill -INT "$PID"
    wait "$PID"
    check "SIGINT exit" $? 0
    PID=
}

case_crash() {
    start_daemon
    req POST "$API/workflows" '{"type":"counter","id":"k","input":{"every":7}}' >/dev/null
    # A stream of signals from 4 clients; SIGKILL the daemon in the middle.
    for c in 1 2 3 4; do
        (
            acked=0 doubt=0
            for i in $(seq 1 250); do
                code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 5 \
                    -d "{\"input\":$c}" "$API/workflows/k/signals/add")
                if [ "$code" = 200 ]; then
                    acked=$((acked + c))
                elif [ $doubt = 0 ]; then
                    doubt=$c # in flight at the kill: durable or not, never acknowledged
                fi
            done
            echo $acked >"$TMP/acked.$c"
            echo $doubt >"$TMP/doubt.$c"
        ) &
    done
    sleep 1.5
    kill -KILL "$PID"
    wait "$PID" 2>/dev/null
    PID=
    wait
    local sum=0 doubt=0
    for c in 1 2 3 4; do
        sum=$((sum + $(cat "$TMP/acked.$c")))
        doubt=$((doubt + $(cat "$TMP/doubt.$c")))
    done
    echo "acknowledged total: $sum, in doubt (in flight at the kill): $doubt"
    check "some signals acknowledged" "$((sum > 0))" 1
    start_daemon
    # Every acknowledged signal counts; a request in flight at the kill may
    # or may not have become durable before it (its answer was lost).
    local got= ok=0
    for _ in $(seq 1 50); do
        req POST "$API/workflows/k/queries/value" '{}' >/dev/null
        got=$(jbody .result)
        if [ "$got" -ge "$sum" ] 2>/dev/null && [ "$got" -le $((sum + doubt)) ]; then ok=1; break; fi
        sleep 0.1
    done
    echo "total after restart: $got"
    check "acknowledged <= total <= acknowledged + in doubt" $ok 1
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_fuzz() {
    start_daemon --max-body 4096
    req POST "$API/workflows" '{"type":"counter","id":"z"}' >/dev/null
    local paths=("$API/workflows" "$API/workflows/z/signals/add" "$API/workflows/z/queries/value"
                 "$API/workflows/z/signal-with-start/add" "$API/workflows/z/cancel"
                 "$API/workflows/%00/signals/%ff" "$API/workflows/z/terminate/x/y/z"
                 "$BASE/api/v1/namespaces/%2F%2F/workflows")
    local n=0
    for i in $(seq 1 200); do
        local p=${paths[$((RANDOM % ${#paths[@]}))]}
        case $((i % 4)) in
        0) head -c $((RANDOM % 300)) /dev/urandom >"$TMP/fz" ;;
        1) printf '{"type":"counter","id":"z%d","input":%s}' $i "$(head -c 20 /dev/urandom | base64)" >"$TMP/fz" ;;
        2) printf '{"input":{"a":[1,2,{"b":%d}]},"run_id":"%s","type":%d}' $RANDOM "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" $RANDOM >"$TMP/fz" ;;
        3) printf '%s' "$(head -c 100 /dev/urandom | tr -dc '{}[]":,0-9a-z ')" >"$TMP/fz" ;;
        esac
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$TMP/fz" "$p")
        case $code in 200|201|400|404|405|409|413) n=$((n + 1)) ;; *) echo "unexpected $code for $p" ;; esac
    done
    # Raw garbage on the socket.
    for i in 1 2 3 4 5; do
        head -c 500 /dev/urandom | timeout 1 bash -c "cat > /dev/tcp/127.0.0.1/$PORT" 2>/dev/null
    done
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n' |
        timeout 1 bash -c "cat > /dev/tcp/127.0.0.1/$PORT" 2>/dev/null
    check "fuzz answers" $n 200
    check "alive after fuzz" "$(req GET "$BASE/healthz")" 200
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

case_config() {
    cat >"$TMP/ttaid.conf" <<EOF
# ttaid settings
data = $TMP/data
log_level = debug
log-format = json
max_body = 100
token = sekrit ns1, ns2
EOF
    : > "$TMP/log"
    "$TTAID" --config "$TMP/ttaid.conf" --listen 127.0.0.1:0 2>>"$TMP/log" &
    PID=$!
    for _ in $(seq 1 100); do
        PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/log" | head -1 | sed 's/.*://')
        [ -n "$PORT" ] && break
        sleep 0.05
    done
    BASE=http://127.0.0.1:$PORT
    check "json log lines" "$(head -1 "$TMP/log" | jq -r .event)" listen
    check "config token" "$(req GET "$BASE/api/v1/namespaces/ns2/workflows" '' -H 'Authorization: Bearer sekrit')" 200
    check "config max body" "$(req POST "$BASE/api/v1/namespaces/ns2/workflows" "{\"type\":\"hello\",\"id\":\"x\",\"input\":\"$(head -c 200 /dev/zero | tr '\0' a)\"}" -H 'Authorization: Bearer sekrit')" 413
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    TTAI_LOG_LEVEL=loud "$TTAID" --data "$TMP/d3" 2>/dev/null
    check "bad env value" $? 2
    "$TTAID" --data "$TMP/d3" --bogus 1 2>/dev/null
    check "bad flag" $? 2
    "$TTAID" --help >/dev/null
    check "help" $? 0
}

# ---- Metrics ------------------------------------------------------------------------

# metric FILE SERIES: the value of one series ("name" or "name{labels}"), or "absent".
metric() {
    awk -v s="$2" '$1 == s { print $2; found = 1; exit } END { if (!found) print "absent" }' "$1"
}

# The Prometheus text format, line by line: "# HELP name text", "# TYPE name
# kind" before the family's samples, then "name{labels} value" samples
# with a number. Prints one line per problem.
exposition_problems() {
    awk '
        /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { help[$3] = 1; next }
        /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/ {
            if ($3 in type) print "TYPE twice: " $3
            type[$3] = $4; next
        }
        /^#/ { print "bad comment: " $0; next }
        {
            if (NF != 2 || $2 !~ /^[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$/) { print "bad sample: " $0; next }
            name = $1; sub(/\{.*/, "", name)
            fam = name
            if (!(fam in type)) { sub(/_(bucket|sum|count)$/, "", fam) }
            if (!(fam in type)) print "sample without TYPE: " $0
            else if (!(fam in help)) print "sample without HELP: " $0
            else if (type[fam] == "counter" && $2 < 0) print "negative counter: " $0
        }' "$1"
}

# Every histogram: buckets cumulative, +Inf equal to _count.
histogram_problems() {
    awk '
        /_bucket\{/ {
            key = $1; sub(/,?le="[^"]*"/, "", key); sub(/_bucket/, "", key)
            if ((key in last) && $2 < last[key]) print "bucket decreases: " $0
            last[key] = $2
            if ($1 ~ /le="\+Inf"/) inf[key] = $2
            next
        }
        /_count[{ ]/ && !/^#/ {
            key = $1; sub(/_count/, "", key)
            if (key in last) { if (!(key in inf) || inf[key] != $2) print "+Inf bucket is not _count: " $0 }
        }' "$1"
}

case_metrics() {
    start_daemon
    # A known load: 3 hello workflows to the end, a counter with 2 signals
    # and a query, 2 requests answered 404.
    for i in 1 2 3; do req POST "$API/workflows" "{\"type\":\"hello\",\"id\":\"m$i\",\"input\":\"x\"}" >/dev/null; done
    for i in 1 2 3; do req GET "$API/workflows/m$i/result?wait=1&timeout_ms=10000" >/dev/null; done
    req POST "$API/workflows" '{"type":"counter","id":"mc"}' >/dev/null
    req POST "$API/workflows/mc/signals/add" '{"input":2}' >/dev/null
    req POST "$API/workflows/mc/signals/add" '{"input":3}' >/dev/null
    req POST "$API/workflows/mc/queries/value" '{}' >/dev/null
    check "unknown route" "$(req GET "$BASE/nothing")" 404
    check "unknown workflow" "$(req GET "$API/workflows/nobody")" 404
    check "metrics" "$(curl -s -o "$TMP/m1" -w '%{http_code} %{content_type}' "$BASE/metrics")" \
        "200 text/plain; version=0.0.4"
    check "exposition format" "$(exposition_problems "$TMP/m1")" ""
    check "histograms" "$(histogram_problems "$TMP/m1")" ""
    local fam
    for fam in ttai_workflows ttai_workflow_tasks_total ttai_replays_total ttai_replayed_events_total \
               ttai_cache_hits_total ttai_cache_evictions_total ttai_cached_runs ttai_polls_total \
               ttai_commits_total ttai_commit_batches_total ttai_commit_batches_refused_total \
               ttai_events_total ttai_commit_seconds_total ttai_store_map_grows_total \
               ttai_checkpoints_total ttai_checkpoint_seconds_total ttai_wal_bytes_total \
               ttai_recent_merges_total \
               ttai_wal_replayed_records \
               ttai_commit_group_batches_max ttai_store_map_bytes ttai_activity_dispatch_seconds \
               ttai_http_requests_total ttai_http_request_duration_seconds \
               ttai_http_worker_wait_seconds_total ttai_http_handler_seconds_total ttai_runs_closed_total \
               ttai_http_long_polls_parked ttai_http_streams_open \
               ttai_workflow_tasks_fused_total ttai_workflow_task_duration_seconds \
               ttai_commit_group_batches ttai_commit_duration_seconds ttai_activity_attempts_total \
               ttai_activity_failures_total ttai_activity_timeouts_total ttai_timers_fired_total \
               ttai_timer_lateness_seconds; do
        check "family $fam" "$(grep -c "^# TYPE $fam " "$TMP/m1")" 1
    done
    check "completed" "$(metric "$TMP/m1" 'ttai_workflows{namespace="default",status="completed"}')" 3
    check "running" "$(metric "$TMP/m1" 'ttai_workflows{namespace="default",status="running"}')" 1
    check "closes" "$(metric "$TMP/m1" ttai_runs_closed_total)" 3
    check "dispatches (one greet each)" "$(metric "$TMP/m1" ttai_activity_dispatch_seconds_count)" 3
    # Answered before this scrape: 4 starts, 3 results, 2 signals, 1 query
    # (2xx) and the two 404s; the scrape itself is not answered yet.
    check "2xx answers" "$(metric "$TMP/m1" 'ttai_http_requests_total{class="2xx"}')" 10
    check "4xx answers" "$(metric "$TMP/m1" 'ttai_http_requests_total{class="4xx"}')" 2
    check "starts timed" "$(metric "$TMP/m1" 'ttai_http_request_duration_seconds_count{route="start"}')" 4
    check "results timed" "$(metric "$TMP/m1" 'ttai_http_request_duration_seconds_count{route="result"}')" 3
    check "signals timed" "$(metric "$TMP/m1" 'ttai_http_request_duration_seconds_count{route="signal"}')" 2
    check "queries timed" "$(metric "$TMP/m1" 'ttai_http_request_duration_seconds_count{route="query"}')" 1
    check "workers ran the starts" \
        "$(awk '$1 == "ttai_http_handler_seconds_total{route=\"start\"}" { print ($2 > 0) }' "$TMP/m1")" 1
    check "tasks ran" "$(awk '$1 == "ttai_workflow_tasks_total" { print ($2 >= 7) }' "$TMP/m1")" 1
    check "commits" "$(awk '$1 == "ttai_commits_total" { print ($2 > 0) }' "$TMP/m1")" 1
    # The engine's distributions: a sample per task that committed (a task
    # may still be committing: at most one per task run), one per commit.
    check "task latencies" \
        "$(awk '$1 == "ttai_workflow_tasks_total" { t = $2 } $1 == "ttai_workflow_task_duration_seconds_count" { n = $2 }
                END { print (n >= 7 && n <= t) }' "$TMP/m1")" 1
    check "commit durations, one per commit" \
        "$(metric "$TMP/m1" ttai_commit_duration_seconds_count)" "$(metric "$TMP/m1" ttai_commits_total)"
    check "group sizes, one per commit" \
        "$(metric "$TMP/m1" ttai_commit_group_batches_count)" "$(metric "$TMP/m1" ttai_commits_total)"
    check "group sizes sum to the batches" \
        "$(metric "$TMP/m1" ttai_commit_group_batches_sum)" \
        "$(awk '$1 == "ttai_commit_batches_total" { b = $2 } $1 == "ttai_commit_batches_refused_total" { r = $2 }
                END { print b + r }' "$TMP/m1")"
    check "attempts (one greet each)" "$(metric "$TMP/m1" ttai_activity_attempts_total)" 3
    check "no failed attempts" "$(metric "$TMP/m1" ttai_activity_failures_total)" 0
    check "no timed out attempts" "$(metric "$TMP/m1" ttai_activity_timeouts_total)" 0
    check "no timers yet" "$(metric "$TMP/m1" ttai_timers_fired_total)" 0
    check "no timer lateness yet" "$(metric "$TMP/m1" ttai_timer_lateness_seconds_count)" 0
    # More work; no counter may go down.
    req POST "$API/workflows/mc/signals/stop" '{}' >/dev/null
    req GET "$API/workflows/mc/result?wait=1&timeout_ms=10000" >/dev/null
    req GET "$BASE/metrics" >/dev/null
    cp "$TMP/body" "$TMP/m2"
    check "completed after stop" "$(metric "$TMP/m2" 'ttai_workflows{namespace="default",status="completed"}')" 4
    check "the first scrape counted" "$(metric "$TMP/m2" 'ttai_http_request_duration_seconds_count{route="metrics"}')" 1
    local down
    down=$(awk 'NR == FNR {
                    if ($0 ~ /^# TYPE / && ($4 == "counter" || $4 == "histogram")) c[$3] = 1
                    if ($1 !~ /^#/) v[$1] = $2
                    next
                }
                $1 !~ /^#/ {
                    n = $1; sub(/\{.*/, "", n)
                    if (!(n in c)) sub(/_(bucket|sum|count)$/, "", n)
                    if ((n in c) && ($1 in v) && $2 < v[$1]) print $1
                }' "$TMP/m1" "$TMP/m2")
    check "counters and histograms never go down" "$down" ""
    # Two iterations of an activity and a 1 ms timer: the attempt, timer
    # and task series move.
    req POST "$API/workflows" '{"type":"bench_monitor","id":"mb","input":{"iterations":2,"sleep_ms":1}}' >/dev/null
    check "bench_monitor result" "$(req GET "$API/workflows/mb/result?wait=1&timeout_ms=10000")" 200
    req GET "$BASE/metrics" >/dev/null
    cp "$TMP/body" "$TMP/m3"
    check "histograms after more work" "$(histogram_problems "$TMP/m3")" ""
    check "timers fired" "$(metric "$TMP/m3" ttai_timers_fired_total)" 2
    check "timer lateness samples" "$(metric "$TMP/m3" ttai_timer_lateness_seconds_count)" 2
    check "attempts counted" "$(metric "$TMP/m3" ttai_activity_attempts_total)" 5
    check "more task latencies" \
        "$(awk 'NR == FNR { if ($1 == "ttai_workflow_task_duration_seconds_count") a = $2; next }
                $1 == "ttai_workflow_task_duration_seconds_count" { print ($2 >= a + 3) }' "$TMP/m2" "$TMP/m3")" 1
    check "more commit durations" \
        "$(awk 'NR == FNR { if ($1 == "ttai_commit_duration_seconds_count") a = $2; next }
                $1 == "ttai_commit_duration_seconds_count" { print ($2 > a) }' "$TMP/m2" "$TMP/m3")" 1
    # A namespace is any text: '"', '\' and a line break are escaped in its
    # label, which would otherwise break the scrape (or add a series).
    check "odd namespace" "$(req POST "$BASE/api/v1/namespaces/a%22b%5Cc%0Ad/workflows" \
        '{"type":"counter","id":"odd"}')" 201
    curl -s -o "$TMP/m4" "$BASE/metrics"
    check "odd namespace: exposition format" "$(exposition_problems "$TMP/m4")" ""
    check "odd namespace: escaped label" \
        "$(grep -cF 'ttai_workflows{namespace="a\"b\\c\nd",status=' "$TMP/m4")" 7
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# ---- Pending activities in describe ----------------------------------------------------

case_activities() {
    # A PriceAlert whose quote service is not there: its fetch_quotes
    # activity fails to connect and backs off between attempts.
    start_daemon --market-url http://127.0.0.1:1
    req POST "$API/workflows" '{"type":"PriceAlert","id":"pa","input":{"initial_alerts":[{"id":"a1","symbol":"AAPL","condition":"above","target_price":1}],"check_interval_seconds":60}}' >/dev/null
    local state=
    for _ in $(seq 1 100); do
        req GET "$API/workflows/pa" >/dev/null
        state=$(jq -r '.activities[0].state // empty' "$TMP/body")
        [ "$state" = backing_off ] && break
        sleep 0.05
    done
    check "a pending activity backs off" "$state" backing_off
    check "pending activity keys" "$(jbody '.activities[0] | keys')" \
        '["attempt","heartbeat_details","last_failure","last_heartbeat_time","next_attempt_time","scheduled_time","seq","started_time","state","type"]'
    check "pending activity" "$(jbody '.activities[0] | [.seq, .type, .attempt >= 2, .started_time, .heartbeat_details]')" \
        '[1,"fetch_quotes",true,null,null]'
    check "its times" "$(jbody '.activities[0] | [.scheduled_time, .next_attempt_time] | map(test("^[0-9-]+T[0-9:.]+Z$"))')" '[true,true]'
    check "its last failure" "$(jbody '.activities[0].last_failure | [.type, (.message | contains("127.0.0.1:1"))]')" \
        '["HttpConnect",true]'
    check "the count agrees" "$(jbody '[.pending_activities, (.activities | length)]')" '[1,1]'
    check "a list has no activities key" "$(req GET "$API/workflows" && jbody '.workflows[0] | has("activities")')" 200false
    req POST "$API/workflows/pa/terminate" '{}' >/dev/null
    check "closed: none" "$(req GET "$API/workflows/pa" && jbody .activities)" '200[]'
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# ---- Schedules ----------------------------------------------------------------------------

# epoch TIME: seconds since the epoch of an RFC 3339 time.
epoch() { date -u -d "$1" +%s; }

# sched_ids PREFIX: the workflow ids that start with PREFIX- (one page of
# up to 1000 runs of type hello), one a line, sorted.
sched_ids() {
    curl -s "$API/workflows?type=hello&page_size=1000" "${@:2}" |
        jq -r --arg p "$1-" '.workflows[].workflow_id | select(startswith($p))' | sort
}

# wait_result WORKFLOW_ID: waits for the workflow to close; prints its result.
wait_result() {
    curl -s "$API/workflows/$1/result?wait=1&timeout_ms=10000" | jq -c .
}

case_schedules() {
    start_daemon
    local S=$API/schedules every='{"schedule_id":"every","spec":{"cron":"* * * * * *"},"action":{"workflow_type":"hello","input":"tick"}}'
    # Refusals, before the schedule that fires every second is made (the
    # checks of its first fires below read its last 10 actions): nothing is
    # recorded.
    check "no id" "$(req POST "$S" '{"spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"}}')" 400
    check "no id message" "$(jbody .error.message)" "\"field 'schedule_id' is required\""
    check "bad cron" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"0 25 * * *"},"action":{"workflow_type":"hello"}}')" 400
    check "bad cron message" "$(jbody .error.message)" "\"cron: field 2 (hour) '25': value out of range 0-23\""
    check "cron that never fires" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"0 0 30 2 *"},"action":{"workflow_type":"hello"}}')" 400
    check "cron that never fires: message" "$(jbody '.error.message | endswith("the schedule would never fire")')" true
    check "no cron" "$(req POST "$S" '{"schedule_id":"bad","action":{"workflow_type":"hello"}}')" 400
    check "no cron message names the field" "$(jbody '.error.message | contains("spec.cron")')" true
    check "bad overlap" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"policies":{"overlap":"sometimes"}}')" 400
    check "bad overlap message" "$(jbody '.error.message | contains("policies.overlap")')" true
    check "bad catch-up window" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"policies":{"catchup_window_s":-1}}')" 400
    check "bad max_actions" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"max_actions":0}')" 400
    check "bad start_at" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"start_at":"soon"}')" 400
    check "start_at after end_at" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"start_at":"2030-01-01T00:00:00Z","end_at":"2029-01-01T00:00:00Z"}')" 400
    check "start_at after end_at message" "$(jbody .error.message)" '"schedule: start_at is after end_at"'
    check "unknown field" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"polices":{}}')" 400
    check "unknown field message" "$(jbody .error.message)" "\"unknown field 'polices'\""
    check "unknown inner field" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *","zone":"UTC"},"action":{"workflow_type":"hello"}}')" 400
    check "unknown inner field message" "$(jbody .error.message)" "\"unknown field 'spec.zone'\""
    check "mistyped paused" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"hello"},"paused":"yes"}')" 400
    check "unknown type" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *"},"action":{"workflow_type":"nosuch"}}')" 404
    check "unknown type message" "$(jbody .error.message)" "\"schedule: unknown workflow type 'nosuch'\""
    check "unknown zone" "$(req POST "$S" '{"schedule_id":"bad","spec":{"cron":"* * * * *","timezone":"Mars/Olympus_Mons"},"action":{"workflow_type":"hello"}}')" 404
    check "malformed JSON" "$(req POST "$S" '{"schedule_id":')" 400
    check "no body" "$(req POST "$S" '')" 400
    check "unknown schedule" "$(req GET "$S/nobody")" 404
    check "unknown schedule code" "$(jbody .error.code)" '"not_found"'
    check "wrong method" "$(req PUT "$S/every" '{}')" 405
    # Create, with the defaults filled in.
    check "create" "$(req POST "$S" "$every")" 201
    check "created" "$(jbody '[.schedule_id, .namespace, .definition.spec, .definition.policies, .state.paused, .state.actions]')" \
        '["every","default",{"cron":"* * * * * *","timezone":"UTC","dst_gap":"shift","dst_repeat":"once","calendar":"none"},{"overlap":"skip","catchup_window_s":60},false,0]'
    local created_s
    created_s=$(( $(jq .state.created_ms "$TMP/body") / 1000 ))
    check "next fires: the 10 seconds after creation" \
        "$(jq -c --argjson c "$created_s" '[.next_fires[] | fromdateiso8601 - $c]' "$TMP/body")" '[1,2,3,4,5,6,7,8,9,10]'
    check "exists" "$(req POST "$S" "$every")" 409
    check "exists code" "$(jbody .error.code)" '"conflict"'
    # A schedule that never fires by itself (its end is past): for trigger,
    # backfill, update and delete.
    check "create daily" "$(req POST "$S" '{"schedule_id":"daily","spec":{"cron":"0 12 * * *"},"action":{"workflow_type":"hello","input":"day"},"end_at":"2026-01-10T00:00:00Z"}')" 201
    check "daily has no next fire" "$(jbody '[.next_fires, .definition.end_at]')" '[[],"2026-01-10T00:00:00Z"]'
    check "list" "$(req GET "$S" && jbody '[.schedules[] | [.schedule_id, .cron, .workflow_type, .paused]]')" \
        '200[["daily","0 12 * * *","hello",false],["every","* * * * * *","hello",false]]'
    check "list: daily's next fire" "$(jbody '.schedules[0].next_fire')" null
    # Fires: every second, each a hello workflow that completes.
    local actions=0
    for _ in $(seq 1 100); do
        req GET "$S/every" >/dev/null
        actions=$(jq .state.actions "$TMP/body")
        [ "$actions" -ge 2 ] && break
        sleep 0.05
    done
    check "fired" "$((actions >= 2))" 1
    local first
    first=$(jq -r '.state.recent[0].workflow_id' "$TMP/body")
    check "first fire's workflow" "$first" "every-$(date -u -d "@$((created_s + 1))" +%FT%TZ)"
    check "its result" "$(wait_result "$first")" '{"status":"completed","result":"Hello, tick!"}'
    check "recent action" "$(req GET "$S/every" && jbody '.state.recent[0] | [.nominal_time, .outcome]')" \
        "200[\"$(date -u -d "@$((created_s + 1))" +%FT%TZ)\",\"completed\"]"
    # Pause with a note: nothing fires, and nothing is caught up after.
    check "pause" "$(req POST "$S/every/pause" '{"note":"maintenance"}')" 200
    check "paused" "$(jbody '[.state.paused, .state.note, .next_fires]')" '[true,"maintenance",[]]'
    local paused_s unpause_s before
    paused_s=$(date -u +%s)
    before=$(jq .state.actions "$TMP/body")
    check "list: paused" "$(req GET "$S" && jbody '.schedules[1] | [.paused, .next_fire]')" '200[true,null]'
    sleep 2.5
    check "nothing while paused" "$(req GET "$S/every" && jbody .state.actions)" "200$before"
    unpause_s=$(date -u +%s)
    check "unpause" "$(req POST "$S/every/unpause" '{"note":"back"}')" 200
    check "unpaused" "$(jbody '[.state.paused, .state.note, .state.missed_catchup, (.next_fires | length)]')" '[false,"back",0,10]'
    check "the first fire after unpausing" "$(jbody '.next_fires[0] | fromdateiso8601 > '"$unpause_s")" true
    check "pause: unknown schedule" "$(req POST "$S/nobody/pause" '{}')" 404
    check "pause: mistyped note" "$(req POST "$S/every/pause" '{"note":5}')" 400
    check "pause: unknown field" "$(req POST "$S/every/pause" '{"reason":"x"}')" 400
    # Trigger: a workflow named after now, which completes.
    local t0
    t0=$(date -u +%s)
    check "trigger" "$(req POST "$S/daily/trigger" '')" 200
    local tid
    tid=$(jq -r '.state.recent[-1].workflow_id' "$TMP/body")
    check "triggered workflow id" "$(echo "$tid" | grep -cE '^daily-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$')" 1
    local tt
    tt=$(epoch "${tid#daily-}")
    check "nominal time is now" "$((tt >= t0 && tt <= t0 + 2))" 1
    check "triggered workflow completes" "$(wait_result "$tid")" '{"status":"completed","result":"Hello, day!"}'
    check "trigger: unknown schedule" "$(req POST "$S/nobody/trigger" '')" 404
    # Backfill a past range: one workflow per fire time.
    check "backfill" "$(req POST "$S/daily/backfill" '{"start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-05T23:59:59Z","overlap":"allow_all"}')" 200
    check "backfill count" "$(body)" '{"fire_count":5,"already_started":0}'
    local d
    for d in 1 2 3 4 5; do
        check "backfilled day $d" "$(wait_result "daily-2026-01-0${d}T12:00:00Z")" '{"status":"completed","result":"Hello, day!"}'
    done
    check "backfilled workflows" "$(sched_ids daily | grep -c '^daily-2026-01-')" 5
    check "backfill counted" "$(req GET "$S/daily" && jbody .state.actions)" 2006
    check "backfill again" "$(req POST "$S/daily/backfill" '{"start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-06T23:59:59Z","overlap":"allow_all"}')" 200
    check "backfill again: only the missing day" "$(body)" '{"fire_count":1,"already_started":5}'
    check "backfill again counted once" "$(req GET "$S/daily" && jbody .state.actions)" 2007
    check "backfill: too many fire times" "$(req POST "$S/daily/backfill" '{"start_time":"1990-01-01T00:00:00Z","end_time":"2025-01-01T00:00:00Z"}')" 400
    check "backfill: too many says so" "$(jbody '.error.message | contains("nothing was taken")')" true
    check "backfill: end before start" "$(req POST "$S/daily/backfill" '{"start_time":"2026-01-05T00:00:00Z","end_time":"2026-01-01T00:00:00Z"}')" 400
    check "backfill: bad time" "$(req POST "$S/daily/backfill" '{"start_time":"yesterday","end_time":"2026-01-01T00:00:00Z"}')" 400
    check "backfill: bad time names the field" "$(jbody '.error.message | startswith("field '"'"'start_time'"'"'")')" true
    check "backfill: no end" "$(req POST "$S/daily/backfill" '{"start_time":"2026-01-01T00:00:00Z"}')" 400
    check "backfill: bad overlap" "$(req POST "$S/daily/backfill" '{"start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-02T00:00:00Z","overlap":"x"}')" 400
    check "backfill: unknown schedule" "$(req POST "$S/nobody/backfill" '{"start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-02T00:00:00Z"}')" 404
    check "refused backfills started nothing" "$(req GET "$S/daily" && jbody .state.actions)" 2007
    # Update: members merged, counters kept; a bad update changes nothing.
    check "update" "$(req POST "$S/daily/update" '{"spec":{"timezone":"America/New_York"},"max_actions":3}')" 200
    check "updated" "$(jbody '[.definition.spec.cron, .definition.spec.timezone, .definition.max_actions, .state.remaining, .state.actions]')" \
        '["0 12 * * *","America/New_York",3,3,7]'
    check "update: bad cron" "$(req POST "$S/daily/update" '{"spec":{"cron":"61 * * * *"}}')" 400
    check "update: start past the end" "$(req POST "$S/daily/update" '{"start_at":"2027-01-01T00:00:00Z"}')" 400
    check "update: unknown field" "$(req POST "$S/daily/update" '{"schedule_id":"other"}')" 400
    check "update: unknown schedule" "$(req POST "$S/nobody/update" '{}')" 404
    check "update: no body" "$(req POST "$S/daily/update" '')" 400
    check "not updated" "$(req GET "$S/daily" && jbody .definition.spec.cron)" '200"0 12 * * *"'
    # Counters: every fire of "every" is a workflow, a skip or a miss.
    req POST "$S/every/pause" '{}' >/dev/null
    local ids every_actions
    every_actions=$(jbody .state.actions)
    ids=$(sched_ids every)
    check "every's workflows are its actions" "$(echo "$ids" | grep -c .)" "$every_actions"
    check "no workflow twice" "$(echo "$ids" | uniq -d | grep -c .)" 0
    check "nothing missed" "$(jbody .state.missed_catchup)" 0
    local in_pause=0 id t
    for id in $ids; do
        t=$(epoch "${id#every-}")
        [ "$t" -gt "$paused_s" ] && [ "$t" -le "$unpause_s" ] && in_pause=$((in_pause + 1))
        [ "$t" -gt "$created_s" ] || fail "$id is not after the creation ($created_s)"
    done
    check "no workflow for a second spent paused" $in_pause 0
    # Delete: the schedule goes, its workflows stay.
    check "delete" "$(req DELETE "$S/daily")" 200
    check "delete answer" "$(body)" '{}'
    check "deleted" "$(req GET "$S/daily")" 404
    check "delete again" "$(req DELETE "$S/daily")" 404
    check "its workflows stay" "$(req GET "$API/workflows/daily-2026-01-01T12:00:00Z" && jbody .status)" '200"completed"'
    check "list after delete" "$(req GET "$S" && jbody '[.schedules[].schedule_id]')" '200["every"]'
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    start_daemon --token alpha:a --token beta:b --token root:'*'
    S=$API/schedules # the new port
    local A=$BASE/api/v1/namespaces/a B=$BASE/api/v1/namespaces/b
    local ha=(-H 'Authorization: Bearer alpha') hb=(-H 'Authorization: Bearer beta')
    # After a restart: still there, paused, with its counters.
    check "restart: kept" "$(req GET "$S/every" '' -H 'Authorization: Bearer root' && jbody '[.state.paused, .state.actions]')" \
        "200[true,$every_actions]"
    check "restart: a token of other namespaces" "$(req GET "$S/every" '' "${ha[@]}")" 403
    local x='{"schedule_id":"x","spec":{"cron":"0 0 1 1 *"},"action":{"workflow_type":"hello","input":"x"}}'
    # Namespaces: the same id in two namespaces; tokens as for workflows.
    check "create in a" "$(req POST "$A/schedules" "$x" "${ha[@]}")" 201
    check "create in b" "$(req POST "$B/schedules" "$x" "${hb[@]}")" 201
    check "namespace b" "$(jbody .namespace)" '"b"'
    check "no token" "$(req GET "$A/schedules")" 401
    check "other namespace's token" "$(req GET "$A/schedules/x" '' "${hb[@]}")" 403
    check "other namespace's token (create)" "$(req POST "$A/schedules" "$x" "${hb[@]}")" 403
    check "other namespace's token (delete)" "$(req DELETE "$A/schedules/x" '' "${hb[@]}")" 403
    check "list of a" "$(req GET "$A/schedules" '' "${ha[@]}" && jbody '[.schedules[] | [.namespace, .schedule_id]]')" '200[["a","x"]]'
    check "trigger in a" "$(req POST "$A/schedules/x/trigger" '' "${ha[@]}")" 200
    tid=$(jq -r '.state.recent[-1].workflow_id' "$TMP/body")
    check "its workflow is in a" "$(req GET "$A/workflows/$tid" '' "${ha[@]}")" 200
    check "not in b" "$(req GET "$B/workflows/$tid" '' "${hb[@]}")" 404
    check "b's schedule untouched" "$(req GET "$B/schedules/x" '' "${hb[@]}" && jbody .state.actions)" 2000
    check "delete in b" "$(req DELETE "$B/schedules/x" '' "${hb[@]}")" 200
    check "a's stays" "$(req GET "$A/schedules/x" '' "${ha[@]}")" 200
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# A schedule firing every second; SIGKILL just after a fire; restart on the
# same data: no fire twice, none lost (within the catch-up window).
case_schedule_kill() {
    start_daemon
    local S=$API/schedules
    check "create" "$(req POST "$S" '{"schedule_id":"tick","spec":{"cron":"* * * * * *"},"action":{"workflow_type":"hello","input":"k"}}')" 201
    local created_s
    created_s=$(( $(jq .state.created_ms "$TMP/body") / 1000 ))
    local seen=0
    for _ in $(seq 1 200); do
        seen=$(sched_ids tick | grep -c .)
        [ "$seen" -ge 2 ] && break
        sleep 0.02
    done
    check "fires before the kill" "$((seen >= 2))" 1
    kill -KILL "$PID"
    wait "$PID" 2>/dev/null
    PID=
    local killed_s
    killed_s=$(date -u +%s)
    sleep 1.5 # fires due while it is down: caught up after the restart
    start_daemon
    S=$API/schedules # the new port
    local now_s
    now_s=$(date -u +%s)
    sleep 3
    check "describe after the restart" "$(req GET "$S/tick")" 200
    # The last fire processed is the one before the next: the counters hold
    # every nominal second from the creation to it.
    local last_s actions skipped missed
    last_s=$(( $(jq -r '.next_fires[0] | fromdateiso8601' "$TMP/body") - 1 ))
    actions=$(jq .state.actions "$TMP/body")
    skipped=$(jq .state.skipped_overlap "$TMP/body")
    missed=$(jq .state.missed_catchup "$TMP/body")
    echo "created $created_s, killed $killed_s, restarted $now_s, last fire $last_s: actions $actions, skipped $skipped, missed $missed"
    check "fires after the restart" "$((last_s > now_s))" 1
    check "every second accounted for" "$((actions + skipped + missed))" "$((last_s - created_s))"
    check "nothing missed (within the catch-up window)" "$missed" 0
    local ids
    ids=$(sched_ids tick)
    check "no workflow twice" "$(echo "$ids" | uniq -d | grep -c .)" 0
    local id t counted=0 bad=0
    for id in $ids; do
        t=$(epoch "${id#tick-}")
        if [ "$t" -le "$last_s" ]; then counted=$((counted + 1)); fi
        [ "$t" -gt "$created_s" ] || bad=$((bad + 1))
    done
    check "one workflow per action" "$counted" "$actions"
    check "no workflow before the creation" $bad 0
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# ---- OpenAPI ------------------------------------------------------------------------

case_openapi() {
    local dump=$1 spec=$2 checker=$3
    "$dump" >"$TMP/routes"
    check "route table" $? 0
    # The checker catches a difference in either direction (static checks).
    python3 "$checker" "$spec" "$TMP/routes" >/dev/null 2>&1
    check "static check of the real files" $? 0
    { cat "$TMP/routes"; echo "GET /api/v1/namespaces/{ns}/extra extra"; } >"$TMP/routes+"
    python3 "$checker" "$spec" "$TMP/routes+" >/dev/null 2>&1
    check "a route missing from the spec fails" $? 1
    sed 's|^  /healthz:$|  /healthy:|' "$spec" >"$TMP/spec-renamed.yaml"
    python3 "$checker" "$TMP/spec-renamed.yaml" "$TMP/routes" >/dev/null 2>&1
    check "a spec path the daemon lacks fails" $? 1
    sed 's|operationId: cancel$|operationId: cancel_it|' "$spec" >"$TMP/spec-opid.yaml"
    python3 "$checker" "$TMP/spec-opid.yaml" "$TMP/routes" >/dev/null 2>&1
    check "an operationId other than the route's name fails" $? 1
    start_daemon
    python3 "$checker" "$spec" "$TMP/routes" "$BASE"
    check "spec against the daemon" $? 0
    # A field the daemon sends that the spec does not describe fails too.
    sed '/^        pending_timers:$/,+2d' "$spec" >"$TMP/spec-field.yaml"
    python3 "$checker" "$TMP/spec-field.yaml" "$TMP/routes" "$BASE" >/dev/null 2>"$TMP/field.err"
    check "an undocumented field fails" $? 1
    check "it is named" "$(grep -c "property 'pending_timers' is not documented" "$TMP/field.err" | awk '{ print ($1 > 0) }')" 1
    check "nothing else fails" "$(grep '^FAIL' "$TMP/field.err" | grep -vc pending_timers)" 0
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# ---- ttai-bench e2e ---------------------------------------------------------------------

# check_figures FILE: every headline figure of ttai-bench e2e's JSON is a
# positive number (W2 may be missing only for want of its workflow type).
check_figures() {
    local key
    for key in w1.per_s w1.p50_ms w1.p99_ms w1_two_requests.per_s w1_two_requests.p50_ms \
        w1_two_requests.p99_ms w3.p50_ms w3.p99_ms; do
        check "$key positive" "$(jq ".$key | type == \"number\" and . > 0" "$1")" true
    done
    if [ "$(jq -r '.w2.error // empty' "$1")" = "ttaid has no 'bench_monitor' workflow type" ]; then
        echo "note: W2 not measured: ttaid has no bench_monitor workflow type yet"
        check "w2.iterations_per_s is null" "$(jq '.w2.iterations_per_s' "$1")" null
    else
        check "w2.iterations_per_s positive" \
            "$(jq '.w2.iterations_per_s | type == "number" and . > 0' "$1")" true
    fi
}

case_bench_smoke() {
    local bench=$1
    # Its own daemon: the ttaid next to ttai-bench, on a temporary directory.
    "$bench" e2e --n 200 --output json >"$TMP/e2e.json" 2>"$TMP/e2e.err"
    check "e2e exit" $? 0
    cat "$TMP/e2e.err" >&2
    check "e2e JSON" "$(jq -c '[.w1.workflows, .w1.concurrency, .w1.requests_per_workflow, .w1_two_requests.workflows, .w1_two_requests.requests_per_workflow, .w3.rounds, .daemon_started]' "$TMP/e2e.json")" \
        '[200,64,1,200,2,500,true]'
    check_figures "$TMP/e2e.json"
    # A running daemon (--address): the workflows of both W1 forms land in it.
    start_daemon
    "$bench" e2e --n 100 --concurrency 8 --address "127.0.0.1:$PORT" >"$TMP/e2e.txt" 2>"$TMP/e2e.err"
    check "e2e --address exit" $? 0
    cat "$TMP/e2e.err" >&2
    check "table lines" "$(grep -c -e '^W1 hello workflows (100, 8 in flight) ' -e '^   the same, start then result (2 requests) ' -e '^W3 signal-then-query round trips (500) ' "$TMP/e2e.txt")" 3
    check "hello runs in the daemon" \
        "$(req GET "$BASE/api/v1/namespaces/bench/workflows?type=hello&page_size=1000" && jbody '.workflows | length')" \
        200200
    check "the counter was stopped" \
        "$(req GET "$BASE/api/v1/namespaces/bench/workflows?type=counter" && jbody '[.workflows[].status]')" \
        '200["completed"]'
    # --parked: long-polls waiting throughout on counters of their own, each
    # answered by its counter's close at the end (the benchmark checks it),
    # with the token when one is given.
    "$bench" e2e --n 100 --concurrency 8 --parked 40 --address "127.0.0.1:$PORT" --output json \
        >"$TMP/e2e.json" 2>"$TMP/e2e.err"
    check "e2e --parked exit" $? 0
    cat "$TMP/e2e.err" >&2
    check "parked in the report" "$(jq .parked "$TMP/e2e.json")" 40
    check "parked counters started and stopped" \
        "$(req GET "$BASE/api/v1/namespaces/bench/workflows?type=counter&page_size=1000" &&
           jbody '[.workflows[] | select(.workflow_id | test("-park-")) | .status] | [length, unique]')" \
        '200[40,["completed"]]'
    curl -s -o "$TMP/mp" "$BASE/metrics"
    check "none left parked" "$(metric "$TMP/mp" ttai_http_long_polls_parked)" 0
    check "bad --parked" "$("$bench" e2e --parked -1 >/dev/null 2>"$TMP/e2e.err"; echo $?)" 2
    check "bad --parked says so" "$(grep -c "bad value '-1' for --parked" "$TMP/e2e.err")" 1
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    # Its HTTP client sends the bearer token, and says so when refused.
    start_daemon --token "bt:bench"
    "$bench" e2e --n 20 --concurrency 4 --parked 5 --address "127.0.0.1:$PORT" --token bt >/dev/null 2>"$TMP/e2e.err"
    check "e2e --token exit" $? 0
    "$bench" e2e --n 20 --address "127.0.0.1:$PORT" >/dev/null 2>"$TMP/e2e.err"
    check "e2e without the token exit" $? 1
    check "e2e without the token says 401" "$(grep -c 'HTTP 401' "$TMP/e2e.err")" 1
    stop_daemon
    check "sigterm exit" $STOP_RC 0
    "$bench" e2e --n 20 --address "127.0.0.1:$PORT" >/dev/null 2>"$TMP/e2e.err"
    check "e2e unreachable exit" $? 1
    check "e2e unreachable says so" "$(grep -c "cannot reach ttaid at 127.0.0.1:$PORT" "$TMP/e2e.err")" 1
    check "bad flag" "$("$bench" e2e --n zero >/dev/null 2>&1; echo $?)" 2
    # Stopped by SIGTERM mid-run: it stops its daemon, removes its directory
    # and dies of the signal.
    mkdir "$TMP/bd"
    "$bench" e2e --n 1000000 --data "$TMP/bd" >/dev/null 2>"$TMP/e2e.err" &
    local bpid=$! blog=""
    for _ in $(seq 200); do
        blog=$(ls "$TMP"/bd/*/ttaid.log 2>/dev/null | head -1)
        [ -n "$blog" ] && grep -q 'listening on' "$blog" && break
        sleep 0.05
    done
    check "bench daemon up" "$(grep -c 'listening on' "$blog")" 1
    sleep 0.3
    kill -TERM $bpid
    wait $bpid
    check "bench stopped by SIGTERM" $? 143
    check "bench says so" "$(grep -c 'stopping, and removing what this run made' "$TMP/e2e.err")" 1
    check "its directory is gone" "$(ls -A "$TMP/bd")" ""
    check "its daemon is gone" "$(pgrep -f "ttaid --data $TMP/bd" || echo none)" none
}

# The live alert stream: an alert delivered to the "stream" channel arrives
# on an open stream of its namespace only, and stays in the recent list.
case_alerts() {
    start_daemon --token "tok:default,other"
    local auth=(-H 'Authorization: Bearer tok')
    check "no token" "$(req GET "$API/alerts")" 401
    check "empty" "$(req GET "$API/alerts" '' "${auth[@]}")" 200
    check "empty list" "$(body)" '{"alerts":[]}'
    check "bad recent" "$(req GET "$API/alerts?recent=x" '' "${auth[@]}")" 400
    check "recent too large" "$(req GET "$API/alerts?recent=100000" '' "${auth[@]}")" 400
    curl -s -N "${auth[@]}" "$API/alerts?follow=1" >"$TMP/sse" &
    local c1=$!
    curl -s -N "${auth[@]}" "$BASE/api/v1/namespaces/other/alerts?follow=1" >"$TMP/sse-other" &
    local c2=$!
    for _ in $(seq 1 100); do
        grep -q '^: alerts of namespace default' "$TMP/sse" 2>/dev/null &&
            grep -q '^: alerts of namespace other' "$TMP/sse-other" 2>/dev/null && break
        sleep 0.05
    done
    check "streams open" "$(grep -c '^: alerts of namespace' "$TMP/sse" "$TMP/sse-other" | cut -d: -f2 | tr -d '\n')" 11
    check "router" "$(req POST "$API/workflows" '{"type":"AlertRouter","id":"alert-router"}' "${auth[@]}")" 201
    local alert='{"input":[{"type":"price","severity":"critical","symbol":"AAPL","message":"AAPL above 150","timestamp_ms":1795400000000,"channels":["stream"]}]}'
    check "route an alert" "$(req POST "$API/workflows/alert-router/signals/route" "$alert" "${auth[@]}")" 200
    for _ in $(seq 1 200); do grep -q '^data: ' "$TMP/sse" && break; sleep 0.05; done
    check "the alert arrives" "$(grep '^data: ' "$TMP/sse" | sed 's/^data: //' | jq -c '[.type,.symbol,.severity,.namespace]')" \
        '["price","AAPL","critical","default"]'
    check "event lines" "$(grep -c '^event: alert' "$TMP/sse") $(grep -c '^id: 1$' "$TMP/sse")" "1 1"
    check "not in another namespace" "$(grep -c '^data: ' "$TMP/sse-other")" 0
    kill "$c1" "$c2" 2>/dev/null
    wait "$c1" "$c2" 2>/dev/null
    check "recent list" "$(req GET "$API/alerts" '' "${auth[@]}" && jbody '[.alerts[].symbol]')" '200["AAPL"]'
    check "other namespace list" "$(req GET "$BASE/api/v1/namespaces/other/alerts" '' "${auth[@]}" && jbody '.alerts | length')" 2000
    check "recent=0" "$(req GET "$API/alerts?recent=0" '' "${auth[@]}" && jbody '.alerts | length')" 2000
    # A new stream starts with the recent alerts; Last-Event-ID resumes after it.
    timeout 1 curl -s -N "${auth[@]}" "$API/alerts?follow=1" >"$TMP/sse2"
    check "recent on a new stream" "$(grep -c '^data: ' "$TMP/sse2")" 1
    timeout 1 curl -s -N "${auth[@]}" -H 'Last-Event-ID: 1' "$API/alerts?follow=1" >"$TMP/sse3"
    check "resumed after the last id" "$(grep -c '^data: ' "$TMP/sse3")" 0
    check "delivery completed" "$(req POST "$API/workflows/alert-router/queries/get_status" '{}' "${auth[@]}" && jbody '.result.delivered')" 2001
    # A closed stream frees its slot: with all 64 taken a 65th is refused;
    # once their clients close, a new one is served at once (the refusal
    # first asks the streams' sockets, not waiting for the 1 s tick).
    local slots=() i open
    for i in $(seq 1 64); do
        curl -s -N "${auth[@]}" "$API/alerts?follow=1&recent=0" >"$TMP/slot-$i" &
        slots+=($!)
    done
    for _ in $(seq 1 200); do
        open=$(cat "$TMP"/slot-* | grep -c '^: alerts of namespace')
        [ "$open" = 64 ] && break
        sleep 0.05
    done
    check "64 streams open" "$open" 64
    curl -s "${auth[@]}" "$BASE/metrics" >"$TMP/ms"
    check "64 streams counted" "$(metric "$TMP/ms" 'ttai_http_streams_open{kind="alerts"}')" 64
    check "a 65th refused" "$(req GET "$API/alerts?follow=1" '' "${auth[@]}" --max-time 5)" 503
    kill "${slots[@]}" 2>/dev/null
    wait "${slots[@]}" 2>/dev/null
    check "served once the others closed" \
        "$(curl -s -N --max-time 1 -o "$TMP/slot-new" -w '%{http_code}' "${auth[@]}" "$API/alerts?follow=1&recent=0")" 200
    check "its stream opened" "$(grep -c '^: alerts of namespace default' "$TMP/slot-new")" 1
    check "alive" "$(req GET "$BASE/healthz")" 200
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# Time travel: a query as of an event, from a replay of the history.
case_time_travel() {
    start_daemon
    req POST "$API/workflows" '{"type":"counter","id":"tt","input":{"every":100}}' >/dev/null
    local i k=0
    # One signal per workflow task: wait for its TaskCompleted before the next.
    for i in 2 3 10; do
        req POST "$API/workflows/tt/signals/add" "{\"input\":$i}" >/dev/null
        k=$((k + 1))
        for _ in $(seq 1 200); do
            req GET "$API/workflows/tt" >/dev/null
            [ "$(jbody .history_length)" -ge $((2 + 2 * k)) ] && break
            sleep 0.02
        done
    done
    check "history" "$(req GET "$API/workflows/tt/history" && jbody '[.events[].type] | join(",")')" \
        '200"WorkflowStarted,TaskCompleted,SignalReceived,TaskCompleted,SignalReceived,TaskCompleted,SignalReceived,TaskCompleted"'
    local want=(x 0 0 2 2 5 5 15 15)
    for i in 1 2 3 4 5 6 7 8; do
        check "total at event $i" "$(req POST "$API/workflows/tt/queries/value" "{\"until_event\":$i}" && jbody .result)" "200${want[$i]}"
    done
    check "past the end" "$(req POST "$API/workflows/tt/queries/value" '{"until_event":999}' && jbody .result)" 20015
    check "now" "$(req POST "$API/workflows/tt/queries/value" '{}' && jbody .result)" 20015
    local run
    run=$(req GET "$API/workflows/tt" >/dev/null && jq -r .run_id "$TMP/body")
    check "with run_id" "$(req POST "$API/workflows/tt/queries/value" "{\"until_event\":3,\"run_id\":\"$run\"}" && jbody .result)" 2002
    check "nothing recorded" "$(req GET "$API/workflows/tt" && jbody .history_length)" 2008
    check "until 0" "$(req POST "$API/workflows/tt/queries/value" '{"until_event":0}')" 400
    check "until a string" "$(req POST "$API/workflows/tt/queries/value" '{"until_event":"3"}')" 400
    check "until message" "$(jbody .error.message)" "\"field 'until_event' must be an event id (an integer from 1)\""
    check "unknown workflow" "$(req POST "$API/workflows/nobody/queries/value" '{"until_event":3}')" 404
    check "unknown query" "$(req POST "$API/workflows/tt/queries/nosuch" '{"until_event":3}')" 404
    req POST "$API/workflows" '{"type":"counter","id":"tt2"}' >/dev/null
    local other
    other=$(req GET "$API/workflows/tt2" >/dev/null && jq -r .run_id "$TMP/body")
    check "another workflow's run" "$(req POST "$API/workflows/tt/queries/value" "{\"until_event\":1,\"run_id\":\"$other\"}")" 404
    stop_daemon
    check "sigterm exit" $STOP_RC 0
}

# Out of file descriptors: the listener pauses instead of spinning on
# accept() (which logged a libevent line per failure, 100,000 a second),
# says so once in the daemon's format, and serves again once descriptors
# are free.
case_fd_limit() {
    start_daemon
    prlimit --nofile=48 --pid "$PID"
    # hold PORT PID SECONDS FLAG: opens connections until refused, writes
    # FLAG, holds them SECONDS, closes them, and prints the daemon's CPU
    # ticks (1/100 s) over the hold.
    cat >"$TMP/hold.py" <<'PY'
import socket, sys, time
port, pid, secs, flag = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
def ticks():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
held = []
for _ in range(80):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=1))
    except OSError:
        break
time.sleep(0.2)
t0 = ticks()
open(flag, "w").close()
time.sleep(secs)
try:
    print(ticks() - t0)
except OSError:
    print("gone")
for c in held:
    c.close()
PY
    local spent
    spent=$(python3 "$TMP/hold.py" "$PORT" "$PID" 1.5 "$TMP/held1")
    sleep 0.3
    # Spinning on accept() took about a core (150 ticks in 1.5 s) here.
    check "no spinning while out of descriptors" "$([ "$spent" -lt 50 ] && echo yes || echo "no: $spent ticks")" yes
    check "accept failures logged once" "$(grep -c 'event=accept' "$TMP/log")" 1
    check "the log line says what to do" "$(grep -c 'raise the open-file limit' "$TMP/log")" 1
    check "no raw libevent lines" "$(grep -vc '^time=' "$TMP/log")" 0
    check "served again" "$(req GET "$BASE/healthz")" 200
    check "starts again" "$(req POST "$API/workflows" '{"type":"hello","id":"fd1","input":"x"}')" 201
    # Stopped while out of descriptors (the listener paused): a clean exit.
    python3 "$TMP/hold.py" "$PORT" "$PID" 1.5 "$TMP/held2" >/dev/null &
    local holder=$!
    for _ in $(seq 1 100); do [ -f "$TMP/held2" ] && break; sleep 0.02; done
    stop_daemon
    check "sigterm exit while out of descriptors" $STOP_RC 0
    wait "$holder" 2>/dev/null
}

"case_$CASE" "$@"
if [ $FAILS -ne 0 ]; then
    echo "$FAILS check(s) failed" >&2
    [ -f "$TMP/log" ] && tail -20 "$TMP/log" >&2
    exit 1
fi
echo "all checks passed"
