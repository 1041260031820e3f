# test_requests.sh: each workflow subcommand sends the right method, path,
# query and body; tokens, namespaces and addresses come from flags or the
# environment; global flags work before or after the subcommand.
source "$(dirname "$0")/common.sh"

fake_start
ns=/api/v1/namespaces/default

run_ctl 0 workflow start --type hello --id order-1
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows", "query": null,
             "body": {"type": "hello", "id": "order-1"}}'
run_ctl 0 workflow start --type hello --id order-2 --input '{"name": "ann", "n": [1, 2]}' \
    --id-conflict use_existing --id-reuse allow_failed_only \
    --execution-timeout 1h30m --run-timeout 1500ms
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows", "query": null,
             "body": {"type": "hello", "id": "order-2", "input": {"name": "ann", "n": [1, 2]},
                      "id_conflict": "use_existing", "id_reuse": "allow_failed_only",
                      "execution_timeout_ms": 5400000, "run_timeout_ms": 1500}}'
# Durations: every unit.
for pair in 30s:30000 5m:300000 2h:7200000 1500ms:1500 1d:86400000 1m30s:90000; do
    run_ctl 0 workflow start --type t --id "d-${pair%%:*}" --run-timeout "${pair%%:*}"
    has_line requests "$(sed -n 1p "$work/requests")"
    grep -qF "\"run_timeout_ms\":${pair#*:}" "$work/requests" ||
        fail "--run-timeout ${pair%%:*} did not send ${pair#*:} ms: $(cat "$work/requests")"
done

# execute: one request, a start that waits for the result (a table shows
# the ids of a workflow still running after a second; JSON waits longer).
run_ctl 0 workflow execute --type hello --id ex-1 --input '"bob"'
requests_count 1
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows",
             "query": "wait=result&timeout_ms=1000", "body": {"type": "hello", "id": "ex-1",
                                                              "input": "bob"}}'
run_ctl 0 workflow execute --type hello --id ex-2 -o json
requests_count 1
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows",
             "query": "wait=result&timeout_ms=30000", "body": {"type": "hello", "id": "ex-2"}}'
# Still running when the start answers: the result is long-polled.
run_ctl 0 workflow execute --type sleeper --id ex-3 --input 4
requests_count 2
request_is 1 '{"auth": null, "method": "POST", "path": "'$ns'/workflows",
               "query": "wait=result&timeout_ms=1000", "body": {"type": "sleeper", "id": "ex-3",
                                                                "input": 4}}'
request_is 2 '{"auth": null, "method": "GET", "path": "'$ns'/workflows/ex-3/result",
               "query": "wait=1&timeout_ms=30000", "body": null}'
has_line out "Workflow ID  ex-3"
has_line out 'Result  {"echo":4}'
empty err
# Attached to a running workflow (use_existing): stderr says so, the result is its.
run_ctl 0 workflow execute --type hello --id w-done --id-conflict use_existing -o json
out_json_is '"hello, world"'
has err "workflow 'w-done' was already started"

run_ctl 0 workflow signal --id w-run --name add --input 5
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/signals/add",
             "query": null, "body": {"input": 5}}'
run_ctl 0 workflow signal --id w-run --name add --run-id run-w-run
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/signals/add",
             "query": null, "body": {"run_id": "run-w-run"}}'

run_ctl 0 workflow signal-with-start --id w-new --name add --type counter --input '{"start": 1}' \
    --signal-input 2 --id-reuse reject --execution-timeout 2h
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-new/signal-with-start/add",
             "query": null, "body": {"type": "counter", "input": {"start": 1}, "signal_input": 2,
                                     "id_reuse": "reject", "execution_timeout_ms": 7200000}}'

run_ctl 0 workflow query --id w-run --name count
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/queries/count",
             "query": null, "body": {}}'
run_ctl 0 workflow query --id w-run --name count --input '["x"]' --run-id r1
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/queries/count",
             "query": null, "body": {"input": ["x"], "run_id": "r1"}}'

run_ctl 0 workflow describe --id w-done
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done", "query": null,
             "body": null}'
run_ctl 0 workflow describe --id w-done --run-id run-w-done
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done",
             "query": "run_id=run-w-done", "body": null}'

run_ctl 0 workflow result --id w-done
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done/result",
             "query": "wait=1&timeout_ms=30000", "body": null}'
# A long poll that ends with 202 (still running) is asked again.
run_ctl 0 workflow result --id w-slow
requests_count 2
request_is 2 '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-slow/result",
               "query": "wait=1&timeout_ms=30000", "body": null}'

run_ctl 0 workflow cancel --id w-run
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/cancel",
             "query": null, "body": {}}'
run_ctl 0 workflow cancel --id w-run --reason "no longer needed"
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/cancel",
             "query": null, "body": {"reason": "no longer needed"}}'
run_ctl 0 workflow terminate --id w-run --reason stuck
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/terminate",
             "query": null, "body": {"reason": "stuck"}}'
# --run-id: the result from that run; cancel and terminate only that run.
run_ctl 0 workflow result --id w-done --run-id run-w-done
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done/result",
             "query": "run_id=run-w-done&wait=1&timeout_ms=30000", "body": null}'
run_ctl 0 workflow cancel --id w-run --run-id run-w-run
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/cancel",
             "query": null, "body": {"run_id": "run-w-run"}}'
run_ctl 0 workflow terminate --id w-run -r run-w-run --reason stuck
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/w-run/terminate",
             "query": null, "body": {"reason": "stuck", "run_id": "run-w-run"}}'

# show: the pages of the history; --follow asks for the stream.
run_ctl 0 workflow show --id w-done
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done/history",
             "query": "from_event=1&page_size=1000", "body": null}'
run_ctl 0 workflow show --id w-done --run-id r9
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-done/history",
             "query": "run_id=r9&from_event=1&page_size=1000", "body": null}'
touch "$work/release"
run_ctl 0 workflow show --id w-run --follow
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/w-run/history",
             "query": "follow=1", "body": null}'

# list: filters, and pages followed up to --limit (the fake's pages hold 2).
run_ctl 0 workflow list
requests_count 3
request_is 1 '{"auth": null, "method": "GET", "path": "'$ns'/workflows", "query": "page_size=100",
               "body": null}'
request_is 3 '{"auth": null, "method": "GET", "path": "'$ns'/workflows",
               "query": "page_size=96&page_token=4", "body": null}'
run_ctl 0 workflow list --status running --type counter
request_is 1 '{"auth": null, "method": "GET", "path": "'$ns'/workflows",
             "query": "status=running&type=counter&page_size=100", "body": null}'
# Both filters: full pages even for a small --limit (ttaid looks at 20 runs
# per page_size), and only --limit kept.
run_ctl 0 -o json workflow list --status running --type counter --limit 1
request_is 1 '{"auth": null, "method": "GET", "path": "'$ns'/workflows",
             "query": "status=running&type=counter&page_size=100", "body": null}'
run_ctl 0 workflow list --limit 2
requests_count 1
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows", "query": "page_size=2",
             "body": null}'
run_ctl 0 -o json workflow list --limit 3
requests_count 2
request_is 2 '{"auth": null, "method": "GET", "path": "'$ns'/workflows",
               "query": "page_size=1&page_token=2", "body": null}'

# Ids and names are escaped in paths, query values in query strings.
run_ctl 1 workflow signal --id 'a b/c?' --name 'x&y' --address "$addr"
request_is '{"auth": null, "method": "POST", "path": "'$ns'/workflows/a%20b%2Fc%3F/signals/x%26y",
             "query": null, "body": {}}'
run_ctl 1 workflow describe --id 'a b/c?' --run-id 'r&1'
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/a%20b%2Fc%3F",
             "query": "run_id=r%261", "body": null}'
# "." and ".." are ids like any other: sent as %2E, not taken for the
# path's dot segments (which would name the list, or the namespace).
run_ctl 1 workflow describe --id .
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/%2E", "query": null, "body": null}'
run_ctl 1 workflow result --id ..
request_is '{"auth": null, "method": "GET", "path": "'$ns'/workflows/%2E%2E/result",
             "query": "wait=1&timeout_ms=30000", "body": null}'
run_ctl 1 -n .. workflow describe --id w
request_is '{"auth": null, "method": "GET", "path": "/api/v1/namespaces/%2E%2E/workflows/w",
             "query": null, "body": null}'
# An id with control characters is shown with '?' in the table.
run_ctl 0 workflow start --type hello --id $'ctl\x1b[31m\nid'
lacks out $'\x1b'
has out 'Workflow ID  ctl?[31m?id'

# Token, namespace and address: flags, environment, flags after the command.
run_ctl 0 --token s3cret workflow describe --id w-done
request_is '{"auth": "Bearer s3cret", "method": "GET", "path": "'$ns'/workflows/w-done",
             "query": null, "body": null}'
TTAI_TOKEN=fromenv run_ctl 0 workflow describe --id w-done
request_is '{"auth": "Bearer fromenv", "method": "GET", "path": "'$ns'/workflows/w-done",
             "query": null, "body": null}'
TTAI_TOKEN=fromenv run_ctl 0 workflow describe --id w-done --token flag
request_is '{"auth": "Bearer flag", "method": "GET", "path": "'$ns'/workflows/w-done",
             "query": null, "body": null}'
run_ctl 0 workflow describe --id w-done --namespace team-a
request_is '{"auth": null, "method": "GET", "path": "/api/v1/namespaces/team-a/workflows/w-done",
             "query": null, "body": null}'
TTAI_NAMESPACE=team-b run_ctl 0 workflow describe --id w-done
request_is '{"auth": null, "method": "GET", "path": "/api/v1/namespaces/team-b/workflows/w-done",
             "query": null, "body": null}'
TTAI_NAMESPACE=team-b run_ctl 0 -n team-c workflow describe --id w-done
request_is '{"auth": null, "method": "GET", "path": "/api/v1/namespaces/team-c/workflows/w-done",
             "query": null, "body": null}'
env -u TTAI_ADDRESS "$ctl" workflow describe --id w-done --address "$addr" >/dev/null ||
    fail "--address after the subcommand did not reach the fake"
env -u TTAI_ADDRESS "$ctl" --address="$addr" workflow describe --id w-done >/dev/null ||
    fail "--address= before the command did not reach the fake"

echo "ok"
