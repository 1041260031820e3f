# test_cli.sh: help, flags, errors and exit statuses of the command line.
source "$(dirname "$0")/common.sh"

"$fixture" good "$work/data"

run_tool 0 --help
has out "usage: ttai-history"
for cmd in list show stats verify; do
    has out "  $cmd "
done
has out "--data DIR"
run_tool 0 -h
has out "usage: ttai-history"

for cmd in list show stats verify; do
    run_tool 0 "$cmd" --help
    has out "usage: ttai-history [GLOBAL FLAGS] $cmd"
    has out "Exit status"
    run_tool 0 --help "$cmd"        # help before the command
    has out "usage: ttai-history [GLOBAL FLAGS] $cmd"
done
run_tool 0 show --help
has out "--namespace NS"
has out "--run RUN_ID"

# Usage errors exit 2 and name what is wrong.
run_tool 2 list --bogus
has err "unknown flag '--bogus' for 'list'"
run_tool 2 --bogus list
has err "unknown flag '--bogus'"
run_tool 2 --data "$work/data" verify --frobnicate=1
has err "unknown flag '--frobnicate' for 'verify'"
run_tool 2 --namespace x show order-1    # a command flag before the command
has err "unknown flag '--namespace'"
run_tool 2 frob
has err "unknown command 'frob'"
run_tool 2
has err "no command given"
run_tool 2 show
has err "'show' needs WORKFLOW_ID"
run_tool 2 list extra
has err "unexpected argument 'extra' for 'list'"
run_tool 2 show order-1 --run
has err "flag '--run' needs a value"
run_tool 2 list --help=yes
has err "flag '--help' takes no value"
run_tool 2 --output xml list
has err "unknown output format 'xml'"
run_tool 2 --data "$work/missing" list
has err "cannot open store: data directory '$work/missing' does not exist"
[ ! -e "$work/missing" ] || fail "a read-only open created the data directory"

# Global flags work after the command, in both spellings.
run_tool 0 list --data "$work/data" --output json
json_is '#' 6
run_tool 0 list --data="$work/data"
has out order-1

# --data defaults to ./ttai-data.
mkdir "$work/cwd"
"$fixture" good "$work/cwd/ttai-data"
(cd "$work/cwd" && "$tool" list) >"$work/out"
has out "$R1"

# Reading never changes the store.
sum_before=$(cksum <"$work/data/data.mdb")
run_tool 0 --data "$work/data" verify
run_tool 0 --data "$work/data" stats
run_tool 0 --data "$work/data" show order-1
[ "$(cksum <"$work/data/data.mdb")" = "$sum_before" ] || fail "data.mdb changed under ttai-history"
echo "ok"
