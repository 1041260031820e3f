# test_cli.sh: help, version, flags and usage errors (exit status 2); none of
# them may send a request.
source "$(dirname "$0")/common.sh"

fake_start
subs="start execute signal signal-with-start query describe list show result cancel terminate"

run_ctl 0 --help
has out "usage: ttaictl"
has out "  workflow "
has out "--address HOST:PORT"
has out "TTAI_ADDRESS"
has out "Exit status"
has out "  schedule "
run_ctl 0 -h
has out "usage: ttaictl"
run_ctl 0 workflow --help
has out "usage: ttaictl [GLOBAL FLAGS] workflow SUBCOMMAND"
for sub in $subs; do
    has out "  $sub "
done
run_ctl 0 --version
has_line out "ttaictl 0.1.0"
run_ctl 0 workflow list --version
has_line out "ttaictl 0.1.0"

for sub in $subs; do
    run_ctl 0 workflow "$sub" --help
    has out "usage: ttaictl [GLOBAL FLAGS] workflow $sub [FLAGS]"
    has out "Exit status"
    has out "--namespace NS"
    run_ctl 0 --help workflow "$sub"       # help before the command
    has out "usage: ttaictl [GLOBAL FLAGS] workflow $sub [FLAGS]"
    run_ctl 0 workflow "$sub" -n ns -h     # help wins over missing flags
    has out "usage: ttaictl [GLOBAL FLAGS] workflow $sub [FLAGS]"
    # A bad flag names itself and the command.
    run_ctl 2 workflow "$sub" --foo
    has err "unknown flag '--foo' for 'workflow $sub'"
    run_ctl 2 workflow "$sub" --bar=1
    has err "unknown flag '--bar' for 'workflow $sub'"
done
run_ctl 0 workflow show --help
has out "--follow"
has out "--run-id RUN_ID"
run_ctl 0 workflow start --help
for flag in --type --id --input --id-conflict --id-reuse --execution-timeout --run-timeout; do
    has out "$flag "
done
run_ctl 0 workflow list --help
for flag in --status --type --limit; do
    has out "$flag "
done

# Missing required flags are named.
run_ctl 2 workflow start --id x
has err "'workflow start' needs --type"
run_ctl 2 workflow start --type hello
has err "'workflow start' needs --id"
run_ctl 2 workflow execute --id x
has err "'workflow execute' needs --type"
run_ctl 2 workflow signal --id x
has err "'workflow signal' needs --name"
run_ctl 2 workflow signal-with-start --id x --name s
has err "'workflow signal-with-start' needs --type"
run_ctl 2 workflow query --name q
has err "'workflow query' needs --id"
for sub in describe show result cancel terminate; do
    run_ctl 2 workflow "$sub"
    has err "'workflow $sub' needs --id"
    has err "see 'ttaictl workflow $sub --help'"
done

# Other usage errors.
run_ctl 2
has err "no command given"
run_ctl 2 frob
has err "unknown command 'frob'"
run_ctl 2 schedule frob
has err "unknown subcommand 'frob' for 'schedule' (known: create, list, describe, update, pause, unpause, trigger, backfill, delete, preview)"
run_ctl 2 workflow
has err "'workflow' needs a subcommand"
run_ctl 2 workflow frob
has err "unknown subcommand 'frob' for 'workflow'"
run_ctl 2 --bogus workflow list
has err "unknown flag '--bogus'"
run_ctl 2 workflow --id x describe   # a command flag before the subcommand
has err "unknown flag '--id' for 'workflow'"
run_ctl 2 workflow describe --id x extra
has err "unexpected argument 'extra' for 'workflow describe'"
run_ctl 2 workflow describe --id
has err "flag '--id' needs a value (ID)"
run_ctl 2 workflow show --id x --follow=yes
has err "flag '--follow' takes no value"
run_ctl 2 --output xml workflow list
has err "unknown output format 'xml'"
run_ctl 2 workflow start --type t --id x --input '{bad'
has err "flag '--input' is not valid JSON"
run_ctl 2 workflow start --type t --id x --input hello
has err "flag '--input' is not valid JSON"
run_ctl 2 workflow signal-with-start --type t --id x --name s --signal-input '[1,'
has err "flag '--signal-input' is not valid JSON"
run_ctl 2 workflow start --type t --id x --id-conflict maybe
has err "bad value 'maybe' for '--id-conflict' (use one of: fail, use_existing, terminate_existing)"
run_ctl 2 workflow start --type t --id x --id-reuse never
has err "bad value 'never' for '--id-reuse' (use one of: allow, reject, allow_failed_only)"
for d in 5 5x 0s -1s "" 1.5s s 10mm; do
    if [ -z "$d" ]; then
        run_ctl 2 workflow start --type t --id x --run-timeout=
        has err "flag '--run-timeout' needs a value"
        continue
    fi
    run_ctl 2 workflow start --type t --id x --run-timeout "$d"
    has err "bad duration '$d' for '--run-timeout' (use e.g. 30s, 5m, 2h, 1500ms)"
done
run_ctl 2 workflow start --type t --id x --execution-timeout 3y
has err "bad duration '3y' for '--execution-timeout'"
run_ctl 2 workflow list --status sleeping
has err "bad value 'sleeping' for '--status'"
run_ctl 2 workflow list --limit -3
has err "bad value '-3' for '--limit'"
run_ctl 2 workflow list --limit ten
has err "bad value 'ten' for '--limit'"
run_ctl 2 --address nowhere workflow list
has err "bad address 'nowhere' (use HOST:PORT"
TTAI_ADDRESS=http://x:1/ run_ctl 2 workflow list
has err "bad address 'http://x:1/'"
for bad in 127.0.0.1:99999 :7431 127.0.0.1: 127.0.0.1:0 127.0.0.1:80x; do
    run_ctl 2 --address "$bad" workflow list
    has err "bad address '$bad' (use HOST:PORT with a port from 1 to 65535"
done
# Messages quote what they were given with its control characters as '?'.
run_ctl 2 --address $'x\x1b[31m:1:' workflow list
lacks err $'\x1b'
has err "bad address 'x?[31m:1:'"
run_ctl 2 --token $'admin\r\nX-Foo: bar' workflow describe --id x
has err "the token holds a control character"
# Text that is not UTF-8 is refused naming its flag (it could not be sent as JSON).
run_ctl 2 workflow start --type hello --id $'bad\xffutf'
has err "'--id' is not UTF-8 text"
run_ctl 2 workflow cancel --id c-1 --reason $'r\xff'
has err "'--reason' is not UTF-8 text"
run_ctl 2 -n $'n\xff' workflow list
has err "'--namespace' is not UTF-8 text"
# A path over the limit says so, not "out of memory".
run_ctl 2 workflow describe --id "$(head -c 20000 /dev/zero | tr '\0' a)"
has err "its path would be over 8192 bytes"
lacks err "out of memory"
# JSON that is valid but large, and \u0000 (payloads may hold it): no
# misleading hint, and a NUL is accepted.
run_ctl 2 workflow start --type t --id x --input 18446744073709551615
lacks err "a string needs quotes"
run_ctl 2 workflow start --type t --id x --input '{"a": }'
lacks err "a string needs quotes"
# ttaid takes no \u0000 in a request: refused here, said plainly.
run_ctl 2 workflow start --type t --id x --input '"a\u0000b"'
has err "flag '--input' holds \u0000 (a NUL character), which ttaid does not take"
lacks err "JSON_ALLOW_NUL"

# A usage error never reaches the daemon.
: >"$work/requests"
"$ctl" workflow start --type t --id x --bogus >/dev/null 2>&1 || true
"$ctl" workflow list --limit ten >/dev/null 2>&1 || true
[ ! -s "$work/requests" ] || { cat "$work/requests" >&2; fail "a usage error sent a request"; }

echo "ok"
