#!/usr/bin/env bash
# system_test.sh: the TTAI system end to end: ttai-marketsim (virtual
# clock, so prices hold still), ttaid with --ttai-system on and Discord and
# Slack channels pointed at a loopback sink. Checks the delivered payloads,
# deduplication, the price rate limit and priority order, across a kill -9
# of ttaid.
#   system_test.sh TTAID MARKETSIM TTAICTL
set -euo pipefail
ttaid=$1 sim=$2 ctl=$3
dir=$(mktemp -d /tmp/ttai-system-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -20 "$dir"/ttaid*.log >&2 || true; exit 1; }

# The sink: each POST body becomes one line of $dir/<path>.jsonl.
cat > "$dir/sink.py" <<'PY'
import http.server, sys, os
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(os.path.join(d, self.path.strip('/') + '.jsonl'), 'ab') as f:
            f.write(body.replace(b'\n', b' ') + b'\n')
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(os.path.join(d, 'sink.port'), 'w').write(str(s.server_port))
s.serve_forever()
PY
python3 "$dir/sink.py" "$dir" & pids+=($!)
"$sim" --listen 127.0.0.1:0 --clock virtual > "$dir/sim.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$dir/sink.port" ] && grep -q listening "$dir/sim.log" && break; sleep 0.1; done
sink=$(cat "$dir/sink.port")
simaddr=$(grep -o 'listening on [0-9.:]*' "$dir/sim.log" | awk '{print $3}')
cat > "$dir/channels.json" <<JSON
{"discord": {"webhook_url": "http://127.0.0.1:$sink/discord"},
 "slack": {"webhook_url": "http://127.0.0.1:$sink/slack"}}
JSON

start_ttaid() { # log file
    "$ttaid" --data "$dir/data" --listen 127.0.0.1:0 --market-url "http://$simaddr" \
        --alert-channels "$dir/channels.json" --ttai-system on > "$1" 2>&1 &
    ttaid_pid=$!
    pids+=($ttaid_pid)
    for _ in $(seq 100); do grep -q "listening on" "$1" && break; sleep 0.1; done
    addr=$(grep -o 'listening on [0-9.:]*' "$1" | awk '{print $3}')
    [ -n "$addr" ] || fail "ttaid did not start"
}
add_alert() { # id target
    "$ctl" --address "$addr" workflow signal --id price-alerts --name add_alert --input \
        "{\"id\": \"$1\", \"symbol\": \"AAPL\", \"condition\": \"above\", \"target_price\": $2, \"channels\": [\"discord\", \"slack\"]}" >/dev/null
}
count() { grep -c "AAPL above" "$dir/$1.jsonl" 2>/dev/null || true; }
wait_count() { # channel n seconds
    for _ in $(seq $(($3 * 10))); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
    fail "$1: $(count "$1") deliveries, expected $2"
}
router() { "$ctl" --address "$addr" --output json workflow query --id alert-router --name get_status; }

start_ttaid "$dir/ttaid1.log"
add_alert a1 1
wait_count discord 1 30
wait_count slack 1 30
# The Discord embed and the Slack blocks of seed 001.
line=$(grep "AAPL above" "$dir/discord.jsonl" | head -1)
echo "$line" | jq -e '.embeds[0] | (.title == "Price") and (.fields[1].value == "Warning") and (.color == 16753920) and (.description | test("AAPL above \\$1.00"))' >/dev/null \
    || fail "discord body: $line"
line=$(grep "AAPL above" "$dir/slack.jsonl" | head -1)
echo "$line" | jq -e '(.blocks | length) >= 1 and (tostring | test("AAPL above"))' >/dev/null \
    || fail "slack body: $line"
# The same alert again: a duplicate within 5 minutes, not delivered.
add_alert a1 1
for _ in $(seq 150); do [ "$(router | jq .duplicates)" -ge 1 ] && break; sleep 0.1; done
[ "$(router | jq .duplicates)" -ge 1 ] || fail "no duplicate: $(router)"
[ "$(count discord)" -eq 1 ] || fail "duplicate delivered"

# kill -9, restart: the router's windows survive.
kill -9 "$ttaid_pid"
wait "$ttaid_pid" 2>/dev/null || true
start_ttaid "$dir/ttaid2.log"
add_alert a1 1
for _ in $(seq 150); do [ "$(router | jq .duplicates)" -ge 2 ] && break; sleep 0.1; done
[ "$(router | jq .duplicates)" -ge 2 ] || fail "no duplicate after restart: $(router)"
[ "$(count discord)" -eq 1 ] || fail "duplicate delivered after restart"
# Price alerts: 10 per 60 minutes. One went out; of 12 more, 9 do.
for t in 2 3 4 5 6 7 8 9 10 11 12 13; do add_alert "r$t" "$t"; done
wait_count discord 10 60
for _ in $(seq 150); do [ "$(router | jq .rate_limited)" -ge 3 ] && break; sleep 0.1; done
[ "$(router | jq .rate_limited)" -ge 3 ] || fail "rate limit: $(router)"
sleep 1
[ "$(count discord)" -eq 10 ] || fail "discord got $(count discord), expected 10"
[ "$(count slack)" -eq 10 ] || fail "slack got $(count slack), expected 10"
# Priority order: one batch of info, warning and critical alerts (as a
# check of the portfolio monitor hands over) is delivered critical first:
# the router schedules its deliveries in priority order, as the history shows.
now_ms=$(($(date +%s) * 1000))
batch="["
for sev in info warning critical; do
    batch+="{\"type\": \"prio_$sev\", \"category\": \"portfolio\", \"severity\": \"$sev\","
    batch+=" \"symbol\": \"SPY\", \"message\": \"prio $sev\", \"timestamp_ms\": $now_ms,"
    batch+=" \"channels\": [\"discord\"]},"
done
batch="${batch%,}]"
"$ctl" --address "$addr" workflow signal --id alert-router --name route --input "$batch" >/dev/null
for _ in $(seq 300); do [ "$(grep -c '"prio ' "$dir/discord.jsonl")" -ge 3 ] && break; sleep 0.1; done
[ "$(grep -c '"prio ' "$dir/discord.jsonl")" -eq 3 ] || fail "priority batch: $(grep -c '"prio ' "$dir/discord.jsonl") deliveries"
order=$("$ctl" --address "$addr" --output json workflow show --id alert-router |
    jq -c '[.. | objects | select(.type? == "ActivityScheduled") | tostring
            | capture("prio (?<s>[a-z]+)")? | .s]')
[ "$order" = '["critical","warning","info"]' ] || fail "priority order: $order"
echo "ok system"
