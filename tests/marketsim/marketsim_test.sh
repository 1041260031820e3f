#!/usr/bin/env bash
# marketsim_test.sh: end-to-end tests of ttai-marketsim through HTTP with curl.
#
#   marketsim_test.sh MARKETSIM CASE
#
# Each case starts one or more simulators on free ports (--listen
# 127.0.0.1:0; the port is read from the "listening on" line), most on the
# virtual clock, drives them with curl and checks statuses and JSON (jq).
# Cases: basic, determinism, advance, force, news, portfolio, screener, analyses,
# errors, signals.
set -u
SIM=$1
CASE=$2
TMP=$(mktemp -d /tmp/marketsim-test-XXXXXX)
declare -A URL PIDS
FAILS=0
START=2026-01-05T14:30:00.000Z # the default virtual start

cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
check() { # check WHAT GOT WANT
    if [ "$2" != "$3" ]; then fail "$1: got '$2', want '$3'"; else echo "ok: $1"; fi
}
check_true() { # check_true WHAT JQ_RESULT
    check "$1" "$2" true
}

# start_sim NAME [flags...]: starts a simulator, sets URL[NAME] and PIDS[NAME].
start_sim() {
    local name=$1
    shift
    "$SIM" --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS[$name]=$!
    local port=
    for _ in $(seq 1 200); do
        port=$(grep -o '^listening on 127.0.0.1:[0-9]*$' "$TMP/$name.out" | sed 's/.*://')
        [ -n "$port" ] && break
        kill -0 "${PIDS[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        cat "$TMP/$name.err" >&2
        echo "FAIL: ttai-marketsim did not start" >&2
        exit 1
    fi
    URL[$name]=http://127.0.0.1:$port
}

# stop_sim NAME SIGNAL: signals the simulator and waits; the status goes to STOP_RC.
stop_sim() {
    kill "-$2" "${PIDS[$1]}"
    wait "${PIDS[$1]}"
    STOP_RC=$?
    unset "PIDS[$1]"
}

# req METHOD URL [BODY]: prints the status; the body goes to $TMP/body.
req() {
    local m=$1 url=$2 body=${3-}
    if [ -n "$body" ]; then
        curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$m" \
            -H 'Content-Type: application/json' --data-binary "$body" "$url"
    else
        curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$m" "$url"
    fi
}
jbody() { jq -c "$1" "$TMP/body"; }
jrbody() { jq -r "$1" "$TMP/body"; }
# post URL BODY: the response body of a POST that must answer 200.
post() {
    local status
    status=$(req POST "$1" "$2")
    [ "$status" = 200 ] || fail "POST $1 $2: status $status: $(cat "$TMP/body")"
    cat "$TMP/body"
}
set_time() { post "$1/admin/time" "{\"now\":\"$2\"}" >/dev/null; }
# expect_error WHAT METHOD URL BODY STATUS CODE
expect_error() {
    check "$1 status" "$(req "$2" "$3" "$4")" "$5"
    check "$1 code" "$(jrbody .error.code)" "$6"
    check_true "$1 message" "$(jbody '.error.message | type == "string" and length > 0')"
}

QUOTE_KEYS='["ask","bid","change","change_percent","forced","name","previous_close","price","symbol","timestamp","volume"]'
ARTICLE_KEYS='["article_id","headline","id","injected","published_at","sentiment","sentiment_score","significance","source","summary","symbol","symbols","title","url"]'

# ---- Cases -------------------------------------------------------------------------

case_basic() {
    start_sim a --clock virtual
    local U=${URL[a]}
    check "healthz" "$(req GET "$U/healthz")" 200
    check "healthz body" "$(jbody '[.status, .clock, .now, .seed, (.symbols | length)]')" \
        "[\"ok\",\"virtual\",\"$START\",1,15]"
    check "content type" "$(grep -i '^content-type' "$TMP/headers" | tr -d '\r')" \
        "Content-Type: application/json"
    check "quotes" "$(req POST "$U/quotes" '{"symbols":["AAPL","MSFT","NOPE","AAPL"]}')" 200
    check "unknown symbols are left out" "$(jbody 'keys_unsorted')" '["AAPL","MSFT"]'
    check "quote fields" "$(jbody '.AAPL | keys')" "$QUOTE_KEYS"
    check "quote values" "$(jbody '.AAPL | [.symbol, .name, .timestamp, .forced]')" \
        "[\"AAPL\",\"Apple Inc.\",\"$START\",false]"
    check_true "bid < price < ask" "$(jbody '.AAPL | .bid < .price and .price < .ask')"
    check_true "change = price - previous_close" \
        "$(jbody '.AAPL | ((.price - .previous_close - .change) | fabs) < 0.005')"
    check_true "change_percent" \
        "$(jbody '.AAPL | ((.change / .previous_close * 100 - .change_percent) | fabs) < 0.006')"
    check_true "volume is a whole number" "$(jbody '.MSFT.volume | . >= 0 and floor == .')"
    check "GET quotes" "$(req GET "$U/quotes?symbols=SPY,F")" 200
    check "GET quotes keys" "$(jbody 'keys_unsorted')" '["SPY","F"]'
    check "all quotes" "$(req POST "$U/quotes" '{}')" 200
    check "all quotes count" "$(jbody 'length')" 15
    check "empty body" "$(req POST "$U/quotes")" 200
    check "empty body count" "$(jbody 'length')" 15
    start_sim b --clock virtual --symbols "AAPL,ZZZ,AAPL" --seed 3
    check "custom universe" "$(req GET "${URL[b]}/healthz")" 200
    check "custom universe symbols" "$(jbody '[.symbols, .seed]')" '[["AAPL","ZZZ"],3]'
    check "unknown ticker quote" "$(req POST "${URL[b]}/quotes" '{"symbols":["ZZZ"]}')" 200
    check_true "unknown ticker has a price" "$(jbody '.ZZZ.price > 0 and .ZZZ.name == "ZZZ"')"
}

case_determinism() {
    start_sim a --clock virtual --seed 7
    start_sim b --clock virtual --seed 7
    start_sim c --clock virtual --seed 8
    local A=${URL[a]} B=${URL[b]} C=${URL[c]} q0
    q0=$(post "$A/quotes" '{}')
    check "same seed, same quotes" "$(post "$B/quotes" '{}')" "$q0"
    [ "$(post "$C/quotes" '{}')" != "$q0" ] && echo "ok: another seed, other quotes" ||
        fail "seeds 7 and 8 gave the same quotes"
    for route in news portfolio screener; do
        check "same seed, same $route" "$(post "$B/$route" '{}')" "$(post "$A/$route" '{}')"
    done
    # The answer depends on the time only, not on the way there.
    for _ in $(seq 1 25); do post "$A/admin/advance" '{"seconds":3600}' >/dev/null; done
    set_time "$B" 2026-01-06T15:30:00Z
    check "advanced clock" "$(post "$A/admin/advance" '{"seconds":0}')" \
        '{"now":"2026-01-06T15:30:00.000Z"}'
    for route in quotes news portfolio screener; do
        check "path independent $route" "$(post "$B/$route" '{}')" "$(post "$A/$route" '{}')"
    done
    [ "$(post "$A/quotes" '{}')" != "$q0" ] && echo "ok: prices moved" || fail "prices did not move"
    set_time "$A" "$START"
    check "back in time, same quotes" "$(post "$A/quotes" '{}')" "$q0"
    check "repeated call, same quotes" "$(post "$A/quotes" '{}')" "$q0"
}

case_advance() {
    start_sim a --clock virtual
    local U=${URL[a]} p0 p1
    p0=$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.price)
    check "advance" "$(req POST "$U/admin/advance" '{"seconds":60}')" 200
    check "advance answer" "$(jbody .)" '{"now":"2026-01-05T14:31:00.000Z"}'
    check "fractional advance" "$(post "$U/admin/advance" '{"seconds":0.5}' | jq -r .now)" \
        2026-01-05T14:31:00.500Z
    check "quote timestamp" "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq -r .AAPL.timestamp)" \
        2026-01-05T14:31:00.500Z
    post "$U/admin/advance" '{"seconds":86400}' >/dev/null
    p1=$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.price)
    [ "$p0" != "$p1" ] && echo "ok: a day later the price moved ($p0 -> $p1)" ||
        fail "price stayed at $p0 for a day"
    check "time with offset" "$(post "$U/admin/time" '{"now":"2026-01-05T16:00:00-05:00"}')" \
        '{"now":"2026-01-05T21:00:00.000Z"}'
    check_true "at the close the change is zero" \
        "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq '.AAPL | .change == 0 and .price == .previous_close')"
    local close
    close=$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.price)
    set_time "$U" 2026-01-06T10:00:00Z
    check "previous close is the last 21:00 UTC price" \
        "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.previous_close)" "$close"
    check "no volume before the open" \
        "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.volume)" 0
    set_time "$U" 2026-01-06T16:00:00Z
    local v1 v2
    v1=$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.volume)
    set_time "$U" 2026-01-06T19:00:00Z
    v2=$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.volume)
    check_true "volume grows through the session" "$(jq -n "$v1 > 0 and $v2 > $v1")"
    start_sim r --clock real
    check "real clock" "$(req GET "${URL[r]}/healthz")" 200
    check "real clock name" "$(jrbody .clock)" real
    expect_error "advance on the real clock" POST "${URL[r]}/admin/advance" '{"seconds":1}' 409 conflict
    expect_error "time on the real clock" POST "${URL[r]}/admin/time" "{\"now\":\"$START\"}" 409 conflict
    check "forced quote on the real clock" \
        "$(post "${URL[r]}/admin/quote" '{"symbol":"AAPL","price":250,"hold":true}' | jq .price)" 250
}

case_force() {
    start_sim a --clock virtual
    start_sim b --clock virtual
    local U=${URL[a]}
    check "force" "$(req POST "$U/admin/quote" '{"symbol":"AAPL","price":123.4}')" 200
    check "force answer" "$(jbody '[.symbol, .price, .forced, .timestamp]')" \
        "[\"AAPL\",123.4,true,\"$START\"]"
    check "forced quote" "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq -c '.AAPL | [.price, .forced]')" \
        '[123.4,true]'
    post "$U/admin/advance" '{"seconds":3600}' >/dev/null
    check_true "the walk goes on from the forced price" \
        "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq '.AAPL.price | . != 123.4 and . > 111 and . < 136')"
    post "$U/admin/quote" '{"symbol":"MSFT","price":200,"hold":true}' >/dev/null
    post "$U/admin/advance" '{"seconds":86400}' >/dev/null
    check "held price" "$(post "$U/quotes" '{"symbols":["MSFT"]}' | jq .MSFT.price)" 200
    check "clear" "$(req POST "$U/admin/quote" '{"symbol":"AAPL","price":null}')" 200
    check "cleared quote" "$(jbody .forced)" false
    set_time "${URL[b]}" 2026-01-06T15:30:00Z
    check "cleared price is the walk" \
        "$(post "$U/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.price)" \
        "$(post "${URL[b]}/quotes" '{"symbols":["AAPL"]}' | jq .AAPL.price)"
    set_time "$U" "$START"
    set_time "${URL[b]}" "$START"
    check "before the force, the walk" \
        "$(post "$U/quotes" '{"symbols":["MSFT"]}' | jq .MSFT.price)" \
        "$(post "${URL[b]}/quotes" '{"symbols":["MSFT"]}' | jq .MSFT.price)"
    check "new symbol" "$(post "$U/admin/quote" '{"symbol":"ZZZZ","price":42}' | jq .price)" 42
    check "new symbol quoted" "$(post "$U/quotes" '{"symbols":["ZZZZ"]}' | jq .ZZZZ.price)" 42
    req GET "$U/healthz" >/dev/null
    check_true "new symbol in the universe" "$(jbody '.symbols | index("ZZZZ") != null')"
    # A crash of a holding moves the account's day P&L.
    local sym price
    post "$U/portfolio" '{}' >"$TMP/p0"
    sym=$(jq -r '[.positions[] | select(.position_type == "stock")][0].symbol' "$TMP/p0")
    price=$(jq "[.positions[] | select(.position_type == \"stock\")][0].current_price" "$TMP/p0")
    post "$U/admin/quote" "{\"symbol\":\"$sym\",\"price\":$(jq -n "$price / 2")}" >/dev/null
    post "$U/portfolio" '{}' >"$TMP/p1"
    check_true "day P&L below -2% after the crash" "$(jq '.day_pnl_percent <= -2' "$TMP/p1")"
    check_true "position at the forced price" \
        "$(jq --arg s "$sym" --argjson p "$price" '[.positions[] | select(.symbol == $s and .position_type == "stock")][0].current_price == (($p / 2) * 100 | round / 100)' "$TMP/p1")"
    expect_error "negative price" POST "$U/admin/quote" '{"symbol":"AAPL","price":-1}' 400 bad_request
    expect_error "price as text" POST "$U/admin/quote" '{"symbol":"AAPL","price":"1"}' 400 bad_request
    expect_error "missing price" POST "$U/admin/quote" '{"symbol":"AAPL"}' 400 bad_request
    expect_error "missing symbol" POST "$U/admin/quote" '{"price":1}' 400 bad_request
    expect_error "bad ticker" POST "$U/admin/quote" '{"symbol":"aapl","price":1}' 400 bad_request
    expect_error "bad hold" POST "$U/admin/quote" '{"symbol":"AAPL","price":1,"hold":1}' 400 bad_request
}

case_news() {
    start_sim a --clock virtual
    local U=${URL[a]}
    check "news" "$(req POST "$U/news" '{"symbols":["AAPL","MSFT"]}')" 200
    cp "$TMP/body" "$TMP/n0"
    check_true "some articles" "$(jbody 'length > 0')"
    check "article fields" "$(jbody '[.[] | keys] | unique')" "[$ARTICLE_KEYS]"
    check_true "only the symbols asked" "$(jbody 'all(.[]; .symbol == "AAPL" or .symbol == "MSFT")')"
    check_true "id = article_id, title = headline" \
        "$(jbody 'all(.[]; .id == .article_id and .title == .headline and .symbols == [.symbol])')"
    check_true "newest first, none in the future" \
        "$(jbody "[.[].published_at] | . == (sort | reverse) and all(.[]; . <= \"$START\")")"
    check_true "sentiment and significance" \
        "$(jbody 'all(.[]; (.sentiment | IN("positive","negative","neutral")) and .significance >= 0 and .significance <= 1 and .sentiment_score >= -1 and .sentiment_score <= 1)')"
    check_true "unique ids" "$(jbody '[.[].article_id] | length == (unique | length)')"
    check "stable" "$(post "$U/news" '{"symbols":["AAPL","MSFT"]}')" "$(cat "$TMP/n0")"
    post "$U/admin/advance" '{"seconds":21600}' >/dev/null
    check "news since" "$(req POST "$U/news" "{\"symbols\":[\"AAPL\",\"MSFT\"],\"since\":\"$START\"}")" 200
    check_true "new articles appear" "$(jbody "length > 0 and all(.[]; .published_at > \"$START\")")"
    check_true "with new ids" \
        "$(jq -n --slurpfile old "$TMP/n0" --slurpfile new "$TMP/body" '($old[0] | map(.article_id)) as $o | all($new[0][]; .article_id as $i | $o | index($i) == null)')"
    local all two
    all=$(post "$U/news" '{"limit":1000}' | jq length)
    check_true "default limit" "$(post "$U/news" '{}' | jq "length == ([$all, 100] | min)")"
    two=$(post "$U/news" '{}' | jq -c '[.[0:2][] | .article_id]')
    check_true "exclude_ids" "$(post "$U/news" "{\"limit\":1000,\"exclude_ids\":$two}" |
        jq "length == $all - 2 and ([.[].article_id] | index($two[0]) == null)")"
    check_true "significance_threshold" \
        "$(post "$U/news" '{"significance_threshold":0.7}' | jq 'length > 0 and all(.[]; .significance >= 0.7)')"
    check "limit" "$(post "$U/news" '{"limit":3}' | jq length)" 3
    check "GET news" "$(req GET "$U/news?symbols=AAPL&limit=2")" 200
    check "GET news answer" "$(jbody '[length, (map(.symbol) | unique)]')" '[2,["AAPL"]]'
    # Injected articles.
    check "inject" "$(req POST "$U/admin/news" '{"symbol":"AAPL","headline":"Apple recalls a product","significance":0.95,"sentiment":"negative"}')" 201
    check "injected article" "$(jbody '[.article_id, .symbols, .title, .sentiment, .significance, .injected, .published_at]')" \
        '["inj-1",["AAPL"],"Apple recalls a product","negative",0.95,true,"2026-01-05T20:30:00.000Z"]'
    check "injected is newest" "$(post "$U/news" '{"symbols":["AAPL"]}' | jq -r '.[0].article_id')" inj-1
    check "not for other symbols" \
        "$(post "$U/news" '{"symbols":["MSFT"]}' | jq '[.[].article_id] | index("inj-1")')" null
    check "future article" "$(req POST "$U/admin/news" '{"article_id":"later","symbols":["MSFT","NVDA"],"title":"Later","published_at":"2026-01-05T21:00:00Z"}')" 201
    check "not yet published" "$(post "$U/news" '{"symbols":["NVDA"]}' | jq '[.[].article_id] | index("later")')" null
    post "$U/admin/advance" '{"seconds":1800}' >/dev/null
    check "published" "$(post "$U/news" '{"symbols":["NVDA"]}' | jq -r '.[0].article_id')" later
    expect_error "repeated id" POST "$U/admin/news" '{"article_id":"later","symbol":"AAPL","title":"x"}' 409 conflict
    expect_error "no headline" POST "$U/admin/news" '{"symbol":"AAPL"}' 400 bad_request
    expect_error "no symbol" POST "$U/admin/news" '{"title":"x"}' 400 bad_request
    expect_error "bad sentiment" POST "$U/admin/news" '{"symbol":"AAPL","title":"x","sentiment":"meh"}' 400 bad_request
    expect_error "bad since" POST "$U/news" '{"since":"yesterday"}' 400 bad_request
    expect_error "bad limit" POST "$U/news" '{"limit":0}' 400 bad_request
    expect_error "bad exclude_ids" POST "$U/news" '{"exclude_ids":[1]}' 400 bad_request
}

case_portfolio() {
    start_sim a --clock virtual
    local U=${URL[a]}
    check "portfolio" "$(req GET "$U/portfolio")" 200
    cp "$TMP/body" "$TMP/p0"
    check "account" "$(jbody '[.account_id, .as_of]')" "[\"default\",\"$START\"]"
    check "account fields" "$(jbody 'keys')" \
        '["account_id","as_of","buying_power","cash","day_pnl","day_pnl_percent","equity","margin_available","margin_used","margin_utilization","options_value","position_count","positions","stock_value","total_value","unrealized_pnl"]'
    check "position count" "$(jbody '[.position_count, (.positions | length)]')" '[8,8]'
    check_true "total = cash + stocks + options" \
        "$(jbody '((.cash + .stock_value + .options_value - .total_value) | fabs) < 0.02')"
    check_true "positions add up" \
        "$(jbody '(([.positions[].market_value] | add) - .stock_value - .options_value | fabs) < 0.05')"
    check_true "margin available" \
        "$(jbody '((.total_value - .margin_used - .margin_available) | fabs) < 0.02 and .buying_power == .margin_available')"
    check_true "the default book is quiet" "$(jq '.total_value as $t | .margin_utilization < 70
        and .day_pnl_percent > -2 and all(.positions[]; .market_value / $t * 100 < 20)' "$TMP/p0")"
    check "kinds" "$(jbody '[.positions[] | .position_type + ":" + (.option_type // "")] | group_by(.) | map([.[0], length])')" \
        '[["option:call",1],["option:put",3],["stock:",4]]'
    check "option fields" "$(jbody '[.positions[] | select(.position_type == "option") | keys] | unique')" \
        '[["average_cost","cost_basis","current_price","day_pnl","delta","dte","expiration","id","itm","iv","market_value","multiplier","notes","option_symbol","option_type","pnl_percent","position_delta","position_type","quantity","strike","symbol","underlying","underlying_price","unrealized_pnl"]]'
    check "stock fields" "$(jbody '[.positions[] | select(.position_type == "stock") | keys] | unique')" \
        '[["average_cost","cost_basis","current_price","day_pnl","id","market_value","notes","pnl_percent","position_type","quantity","symbol","unrealized_pnl"]]'
    check_true "option values" "$(jbody 'all(.positions[] | select(.position_type == "option");
        .symbol == .underlying and .quantity == -1 and .dte >= 0 and .strike > 0
        and (.expiration | strptime("%Y-%m-%d") | mktime | strftime("%u")) == "5"
        and (if .option_type == "put" then .delta <= 0 and .delta >= -1 else .delta >= 0 and .delta <= 1 end)
        and .itm == (if .option_type == "put" then .underlying_price < .strike else .underlying_price > .strike end))')"
    check "weekly put" "$(jbody '[.positions[] | select(.id | endswith("put-1w")) | [.expiration, .dte]][0]')" \
        '["2026-01-09",4]'
    set_time "$U" 2026-01-09T20:59:00Z
    check "expiry day" "$(post "$U/portfolio" '{}' | jq -c '[.positions[] | select(.id | endswith("put-1w")) | .dte][0]')" 0
    set_time "$U" 2026-01-09T21:30:00Z
    check "rolled" "$(post "$U/portfolio" '{}' | jq -c '[.positions[] | select(.id | endswith("put-1w")) | [.expiration, .dte]][0]')" \
        '["2026-01-16",7]'
    # A past moment: the same book as when it was now.
    check "as_of the start" "$(post "$U/portfolio" "{\"as_of\":\"$START\"}" | jq -c .)" "$(jq -c . "$TMP/p0")"
    expect_error "as_of in the future" POST "$U/portfolio" '{"as_of":"2030-01-01T00:00:00Z"}' 400 bad_request
    expect_error "as_of malformed" POST "$U/portfolio" '{"as_of":"last week"}' 400 bad_request
    set_time "$U" "$START"
    check "other account" "$(req POST "$U/portfolio" '{"account_id":"alice"}')" 200
    check "other account id" "$(jrbody .account_id)" alice
    [ "$(jbody .positions)" != "$(jq -c .positions "$TMP/p0")" ] && echo "ok: accounts have their own books" ||
        fail "alice has the default book"
    check "GET account" "$(req GET "$U/portfolio?account_id=alice")" 200
    check "GET account id" "$(jrbody .account_id)" alice
    check "set cash" "$(req POST "$U/admin/portfolio" '{"cash":0}')" 200
    check_true "margin critical without cash" "$(jbody '.cash == 0 and .margin_utilization > 85')"
    check "cash kept" "$(post "$U/portfolio" '{}' | jq .cash)" 0
    check "other account unchanged" "$(post "$U/portfolio" '{"account_id":"alice"}' | jq '.cash > 0')" true
    expect_error "bad account" POST "$U/portfolio" '{"account_id":5}' 400 bad_request
    expect_error "bad cash" POST "$U/admin/portfolio" '{"cash":-1}' 400 bad_request
}

case_screener() {
    start_sim a --clock virtual
    local U=${URL[a]}
    check "morning scan" "$(req POST "$U/screener" '{"max_price":100,"min_roc_weekly":0.5,"max_picks":10}')" 200
    check "answer" "$(jbody '[.screener, .as_of, .candidates_screened, .params.max_picks]')" \
        "[\"csp\",\"$START\",15,10]"
    check_true "found some" "$(jbody '.recommendations | length > 0 and length <= 10')"
    check "fields" "$(jbody '[.recommendations[] | keys] | unique')" \
        '[["annualized_return","ask","best_expiration","best_strike","bid","breakeven","collateral","delta","dte","iv","mid","name","option_symbol","premium","price","probability_otm","symbol","weekly_roc"]]'
    check_true "criteria hold" "$(jbody 'all(.recommendations[];
        .price <= 100 and .weekly_roc >= 0.5 and (.delta | fabs) <= 0.3 and (.delta | fabs) >= 0.05
        and .best_strike < .price and .probability_otm > 0 and .probability_otm < 1
        and .dte >= 1 and .dte <= 45 and .premium == .bid and .bid <= .mid and .mid <= .ask
        and (.best_expiration | strptime("%Y-%m-%d") | mktime | strftime("%u")) == "5")')"
    check_true "best first" "$(jbody '[.recommendations[].weekly_roc] | . == (sort | reverse)')"
    check_true "afternoon scan" \
        "$(post "$U/screener" '{"max_price":75,"min_roc_weekly":0.6,"max_picks":5}' | jq '.recommendations | length > 0 and length <= 5 and all(.[]; .price <= 75)')"
    check "symbols" "$(post "$U/screener" '{"symbols":["AAPL","NOPE"]}' | jq -c '[.candidates_screened, (.recommendations | map(.symbol))]')" \
        '[1,["AAPL"]]'
    check "GET screener" "$(req GET "$U/screener?max_price=50&max_picks=2")" 200
    check_true "GET screener answer" "$(jbody '.recommendations | length == 2 and all(.[]; .price <= 50)')"
    check "nothing" "$(post "$U/screener" '{"min_roc_weekly":99}' | jq '.recommendations')" '[]'
    expect_error "max_picks as text" POST "$U/screener" '{"max_picks":"ten"}' 400 bad_request
    expect_error "max_picks zero" POST "$U/screener" '{"max_picks":0}' 400 bad_request
    expect_error "max_picks fraction" POST "$U/screener" '{"max_picks":1.5}' 400 bad_request
    expect_error "symbols not a list" POST "$U/screener" '{"symbols":"AAPL"}' 400 bad_request
}

case_analyses() {
    start_sim a --clock virtual
    local U=${URL[a]}
    # 14:30 on the first day: the morning scan (14:35) has not run yet.
    check "before the scan" "$(post "$U/analyses" '{}' | jq -c .)" '[]'
    set_time "$U" 2026-01-05T16:00:00Z
    check "today" "$(req POST "$U/analyses" '{}')" 200
    cp "$TMP/body" "$TMP/a0"
    check "every symbol, once" "$(jbody '[length, (map(.symbol) | unique | length)]')" '[15,15]'
    check "fields" "$(jbody '[.[] | [.date, .analyzed_at, .strategy]] | unique')" \
        '[["2026-01-05","2026-01-05T14:35:00.000Z","csp"]]'
    # The selected ones are the morning screener's picks at the scan's time.
    post "$U/admin/time" '{"now":"2026-01-05T14:35:00Z"}' >/dev/null
    check "select = the morning picks" \
        "$(jq -c '[.[] | select(.recommendation == "select") | .symbol] | sort' "$TMP/a0")" \
        "$(post "$U/screener" '{"max_price":100,"min_roc_weekly":0.5,"max_picks":10}' | jq -c '[.recommendations[].symbol] | sort')"
    check_true "the rest are rejected" "$(jq 'all(.[]; (.recommendation == "select") == has("weekly_roc") and (.recommendation == "select" or .recommendation == "reject"))' "$TMP/a0")"
    set_time "$U" 2026-01-07T12:00:00Z
    check "a past day, by GET" "$(req GET "$U/analyses?date=2026-01-05")" 200
    check "the same analyses" "$(jbody .)" "$(jq -c . "$TMP/a0")"
    expect_error "a future day" POST "$U/analyses" '{"date":"2026-01-08"}' 400 bad_request
    expect_error "not a date" POST "$U/analyses" '{"date":"Monday"}' 400 bad_request
    expect_error "date as a number" POST "$U/analyses" '{"date":20260105}' 400 bad_request
}

case_errors() {
    start_sim a --clock virtual
    local U=${URL[a]}
    expect_error "malformed JSON" POST "$U/quotes" '{bad' 400 bad_request
    check "error is JSON" "$(grep -i '^content-type' "$TMP/headers" | tr -d '\r')" \
        "Content-Type: application/json"
    check "error shape" "$(jbody '.error | keys')" '["code","message"]'
    expect_error "not an object" POST "$U/quotes" '[1]' 400 bad_request
    expect_error "symbols not a list" POST "$U/quotes" '{"symbols":"AAPL"}' 400 bad_request
    expect_error "symbols not strings" POST "$U/quotes" '{"symbols":[1]}' 400 bad_request
    expect_error "unknown path" GET "$U/nope" "" 404 not_found
    expect_error "unknown admin path" POST "$U/admin/nope" '{}' 404 not_found
    expect_error "wrong method" DELETE "$U/quotes" "" 405 method_not_allowed
    check "allow header" "$(grep -i '^allow' "$TMP/headers" | tr -d '\r')" "Allow: GET, POST"
    expect_error "admin by GET" GET "$U/admin/advance" "" 405 method_not_allowed
    expect_error "query number out of range" GET "$U/news?limit=1e400" "" 400 bad_request
    expect_error "query text for a number" GET "$U/screener?max_picks=many" "" 400 bad_request
    expect_error "bad time" POST "$U/admin/time" '{"now":"yesterday"}' 400 bad_request
    expect_error "bad time date" POST "$U/admin/time" '{"now":"2026-13-01T00:00:00Z"}' 400 bad_request
    expect_error "time without zone" POST "$U/admin/time" '{"now":"2026-01-01T00:00:00"}' 400 bad_request
    expect_error "negative advance" POST "$U/admin/advance" '{"seconds":-5}' 400 bad_request
    expect_error "advance without seconds" POST "$U/admin/advance" '{}' 400 bad_request
    check "still serving" "$(req GET "$U/healthz")" 200
    check "clock unmoved" "$(jrbody .now)" "$START"
}

case_signals() {
    "$SIM" --help >"$TMP/help"
    check "--help" "$?" 0
    check_true "--help text" "$(grep -q -- '--clock real|virtual' "$TMP/help" && echo true)"
    "$SIM" --bogus 1 2>/dev/null
    check "unknown flag" "$?" 2
    "$SIM" --clock sometimes 2>/dev/null
    check "bad clock" "$?" 2
    "$SIM" --seed -1 2>/dev/null
    check "bad seed" "$?" 2
    "$SIM" --symbols aapl 2>/dev/null
    check "bad symbols" "$?" 2
    "$SIM" --listen 0.0.0.0:0 2>/dev/null
    check "non-loopback" "$?" 2
    "$SIM" --listen nowhere 2>/dev/null
    check "bad listen" "$?" 2
    "$SIM" --clock virtual --start soon 2>/dev/null
    check "bad start" "$?" 2
    start_sim a --clock virtual --start 2026-03-02T15:00:00Z
    check "start time" "$(req GET "${URL[a]}/healthz") $(jrbody .now)" "200 2026-03-02T15:00:00.000Z"
    check "one line on start" "$(wc -l <"$TMP/a.out" | tr -d ' ')" 1
    stop_sim a TERM
    check "SIGTERM exit" "$STOP_RC" 0
    start_sim b
    stop_sim b INT
    check "SIGINT exit" "$STOP_RC" 0
    check "port closed" "$(curl -s -o /dev/null -w '%{http_code}' "${URL[b]}/healthz")" 000
}

case_"$CASE"
# Every simulator still running stops cleanly: exit 0, and nothing from the
# sanitizers (leaks are reported at exit) on its stderr.
for name in "${!PIDS[@]}"; do
    stop_sim "$name" TERM
    check "$name stops on SIGTERM" "$STOP_RC" 0
    if grep -q 'Sanitizer\|runtime error' "$TMP/$name.err"; then
        cat "$TMP/$name.err" >&2
        fail "$name: sanitizer report"
    fi
done
if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
