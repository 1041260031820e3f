# test_errors.sh: exit status 1 for errors ttaid reports (with its code and
# message on stderr), 3 when ttaid cannot be reached; nothing on stdout.
source "$(dirname "$0")/common.sh"

fake_start

# 1: the server said no.
run_ctl 1 workflow describe --id nobody
has err "ttaictl: not_found: unknown workflow"
has err "hint: check the id and names (namespace 'default'"
empty out
run_ctl 1 workflow start --type hello --id dup -o json
has err "ttaictl: conflict: workflow 'dup' is running"
empty out
run_ctl 1 workflow start --type nope --id n-1
has err "ttaictl: not_found: unknown workflow type 'nope'"
run_ctl 1 workflow signal --id w-done --name add
has err "ttaictl: conflict: workflow is closed"
run_ctl 1 workflow signal --id nobody --name add
has err "not_found"
run_ctl 1 workflow query --id w-run --name nothing -o json
has err "ttaictl: not_found: unknown query name"
empty out
run_ctl 1 workflow query --id w-blocked --name count
has err "ttaictl: nondeterminism: run is blocked at event 7"
run_ctl 1 workflow cancel --id w-done
has err "ttaictl: conflict: workflow is closed"
run_ctl 1 workflow terminate --id nobody
has err "ttaictl: not_found"
run_ctl 1 workflow show --id nobody
has err "ttaictl: not_found"
run_ctl 1 workflow show --id nobody --follow -o json
has err "ttaictl: not_found"
empty out
run_ctl 1 workflow result --id nobody
has err "ttaictl: not_found"
run_ctl 1 --token bad workflow list
has err "ttaictl: unauthorized: unknown bearer token"
has err "hint: pass the token with --token or TTAI_TOKEN"
run_ctl 1 --namespace forbidden workflow list -o json
has err "ttaictl: forbidden: token not allowed namespace 'forbidden'"
has err "use another --token or --namespace"
empty out
run_ctl 1 workflow describe --id w-500
has err "ttaictl: ttaid answered HTTP 500"

# 1: the workflow did not complete; the failure goes to stderr.
run_ctl 1 workflow result --id w-fail -o json
has err "ttaictl: workflow 'w-fail' failed: ApplicationError: boom"
has err "ttaictl workflow show --id w-fail"
# The hint is a command to paste: the namespace when not the default.
run_ctl 1 -n other workflow result --id w-fail
has err "hint: see its history with: ttaictl -n other workflow show --id w-fail"
empty out

# 3: nothing listens. A socket bound to a port and not listening holds it,
# so that no other test's server takes it meanwhile, and refuses connects.
python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(3600)  # stopped by cleanup
' >"$work/port2" &
pids+=("$!")
for _ in $(seq 200); do [ -s "$work/port2" ] && break; sleep 0.05; done
closed=$(head -n1 "$work/port2")
[ -n "$closed" ] || fail "no port to leave closed"
for cmd in "workflow list" "workflow describe --id x" "workflow start --type t --id x" \
           "workflow show --id x --follow" "workflow result --id x" "workflow query --id x --name q"; do
    # shellcheck disable=SC2086
    run_ctl 3 --address "127.0.0.1:$closed" $cmd
    has err "ttaictl: cannot reach ttaid at 127.0.0.1:$closed: "
    has err "is it running? (ttaid --listen 127.0.0.1:$closed)"
    empty out
done
TTAI_ADDRESS=127.0.0.1:$closed run_ctl 3 workflow list
has err "cannot reach ttaid at 127.0.0.1:$closed"
# An address that does not resolve is unreachable too.
run_ctl 3 --address nosuchhost.invalid:7280 workflow list
has err "cannot reach ttaid at nosuchhost.invalid:7280"
echo "ok"
