#!/usr/bin/env bash
# ttai-bench activities on a small run: every workflow starts (through the
# asynchronous start), every activity completes (the benchmark waits for
# all of them, so a lost start hangs it into the test's timeout), and the
# figures are printed (a workflow has run at least one task per activity by
# the time its last activity ran). No thresholds: the machine decides those.
set -euo pipefail
bench=$1
dir=$(mktemp -d /var/tmp/ttai-bench-smoke-XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$("$bench" activities --data "$dir/data" --workflows 300 --activities 4 --output json)
echo "$out"
echo "$out" | jq -e '.activities == 1200 and .workflows == 300 and .activities_per_s > 0
                     and .dispatch_p50_ms >= 0 and .tasks >= 1200' >/dev/null
"$bench" activities --data "$dir/table" --workflows 50 --activities 2 | grep -q 'until every start is durable'
echo "ok bench activities smoke"
