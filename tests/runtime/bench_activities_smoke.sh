#!/usr/bin/env bash
# ttai-bench activities on a small run: every workflow starts (through the
# asynchronous start), every activity completes (the benchmark waits for
# all of them, so a lost start hangs it into the test's timeout), and the
# figures are printed (a workflow has run at least one task per activity by
# the time its last activity ran), and the directory it made under --data is
# gone afterwards. No thresholds: the machine decides those.
set -euo pipefail
bench=$1
dir=$(mktemp -d /var/tmp/ttai-bench-smoke-XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$("$bench" activities --data "$dir" --workflows 300 --activities 4 --output json)
echo "$out"
echo "$out" | jq -e '.activities == 1200 and .workflows == 300 and .activities_per_s > 0
                     and .dispatch_p50_ms >= 0 and .tasks >= 1200' >/dev/null
"$bench" activities --data "$dir" --workflows 50 --activities 2 | grep -q 'until every start is durable'
# Each run measured in a directory of its own under --data, and removed it.
if [ -n "$(ls -A "$dir")" ]; then
    echo "ttai-bench activities left behind: $(ls -A "$dir")" >&2
    exit 1
fi
echo "ok bench activities smoke"
