/* test_market.c: the real market data activities against a loopback
 * provider: requests, the 60 s quote cache on an injected clock, the
 * article-to-alert mapping, error classification and configuration. */
#include "mon_test.h"

#include "market.h"
#include "market_server.h"
#include "store.h"

static int64_t clock_ms;

static int64_t test_clock(void *arg)
{
    (void)arg;
    return clock_ms;
}

/* Runs one activity through the "call" workflow; its result as JSON, or
 * the failure as "EIO: workflow ... failed: Type: message". */
static const char *call(const char *type, const char *input_json)
{
    static int seq;
    char id[32], input[4096];
    snprintf(id, sizeof(id), "call-%d", seq++);
    snprintf(input, sizeof(input), "{\"type\": \"%s\", \"input\": %s}", type, input_json);
    mt_start("call", id, input);
    mt_settle();
    mt_check_replay("default", id, NULL);
    return mt_result(id);
}

static struct msrv *setup(void)
{
    struct msrv *srv = msrv_start();
    char url[128];
    msrv_url(srv, url, sizeof(url));
    struct market_config cfg = {.base_url = url};
    struct ttai_err err = {0};
    ASSERT(market_configure(&cfg, &err) == 0);
    clock_ms = 1000000;
    market_set_clock(test_clock, NULL);
    mt_open(MT_MARKET, MT_T0);
    return srv;
}

static void teardown(struct msrv *srv)
{
    mt_close();
    struct ttai_err err = {0};
    ASSERT(market_configure(NULL, &err) == 0);
    market_set_clock(NULL, NULL);
    msrv_stop(srv);
}

void test_market_quotes_cache(void)
{
    struct msrv *srv = setup();
    msrv_price(srv, "AAPL", 184.37);
    msrv_price(srv, "MSFT", 410.5);
    ASSERT_JSON(call("fetch_quotes", "[\"AAPL\", \"MSFT\", \"NOPE\", \"AAPL\"]"),
                "{\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 184.37}, "
                "\"MSFT\": {\"symbol\": \"MSFT\", \"price\": 410.5}}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 1);
    ASSERT_JSON(msrv_last_body(srv, "/quotes"), "{\"symbols\": [\"AAPL\", \"MSFT\", \"NOPE\"]}");
    ASSERT_STR_EQ(msrv_last_user(srv), "");

    /* 59 s later: served from the cache, even though the price moved. */
    msrv_price(srv, "AAPL", 190);
    clock_ms += 59000;
    ASSERT_JSON(call("fetch_quotes", "[\"MSFT\", \"AAPL\"]"),
                "{\"MSFT\": {\"symbol\": \"MSFT\", \"price\": 410.5}, "
                "\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 184.37}}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 1);
    struct market_cache_stats stats;
    market_quote_cache_stats(&stats);
    ASSERT_EQ(stats.hits, 2);
    ASSERT_EQ(stats.misses, 3);
    ASSERT_EQ(stats.entries, 2);

    /* Only the missing symbol is asked for; the user is named. */
    msrv_price(srv, "NVDA", 120.25);
    ASSERT_JSON(call("fetch_quotes", "{\"symbols\": [\"AAPL\", \"NVDA\"], \"user_id\": \"alice\"}"),
                "{\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 184.37}, "
                "\"NVDA\": {\"symbol\": \"NVDA\", \"price\": 120.25}}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 2);
    ASSERT_JSON(msrv_last_body(srv, "/quotes"), "{\"symbols\": [\"NVDA\"]}");
    ASSERT_STR_EQ(msrv_last_user(srv), "alice");

    /* 60 s after it was fetched, AAPL is stale. */
    clock_ms += 1000;
    ASSERT_JSON(call("fetch_quotes", "[\"AAPL\", \"NVDA\"]"),
                "{\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 190.0}, "
                "\"NVDA\": {\"symbol\": \"NVDA\", \"price\": 120.25}}");
    ASSERT_JSON(msrv_last_body(srv, "/quotes"), "{\"symbols\": [\"AAPL\"]}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 3);
    /* No symbols: no request. */
    ASSERT_JSON(call("fetch_quotes", "[]"), "{}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 3);
    /* Malformed input fails for good. */
    ASSERT(strstr(call("fetch_quotes", "[\"AAPL\", 7]"), "MarketBadInput") != NULL);
    ASSERT(strstr(call("fetch_quotes", "{\"user_id\": \"x\"}"), "MarketBadInput") != NULL);
    teardown(srv);
}

void test_market_data_activities(void)
{
    struct msrv *srv = setup();
    msrv_news(srv, "[{\"id\": \"sim-1-AAPL-245499\", \"article_id\": \"sim-1-AAPL-245499\", "
                   "\"symbol\": \"AAPL\", \"symbols\": [\"AAPL\"], \"title\": \"Apple falls\", "
                   "\"headline\": \"Apple falls\", \"summary\": \"AAPL moved.\", \"source\": \"OFJ\", "
                   "\"url\": \"https://marketsim.invalid/news/x\", "
                   "\"published_at\": \"2026-01-05T06:25:05.000Z\", \"sentiment\": \"negative\", "
                   "\"sentiment_score\": -0.46, \"significance\": 0.92, \"injected\": false},"
                   "{\"id\": \"inj-1\", \"headline\": \"Only a headline\", \"significance\": 0.5}]");
    const char *news_input = "{\"symbols\": [\"AAPL\"], \"significance_threshold\": 0.7, "
                             "\"exclude_ids\": [\"a\"]}";
    ASSERT_JSON(call("check_news", news_input),
                "[{\"article_id\": \"sim-1-AAPL-245499\", \"type\": \"news\", \"severity\": \"warning\", "
                "\"symbol\": \"AAPL\", \"symbols\": [\"AAPL\"], \"title\": \"Apple falls\", "
                "\"message\": \"AAPL: Apple falls\", \"summary\": \"AAPL moved.\", \"source\": \"OFJ\", "
                "\"url\": \"https://marketsim.invalid/news/x\", "
                "\"published_at\": \"2026-01-05T06:25:05.000Z\", \"sentiment\": \"negative\", "
                "\"significance\": 0.92},"
                "{\"article_id\": \"inj-1\", \"type\": \"news\", \"severity\": \"info\", "
                "\"symbol\": null, \"symbols\": null, \"title\": \"Only a headline\", "
                "\"message\": \"Only a headline\", \"summary\": null, \"source\": null, \"url\": null, "
                "\"published_at\": null, \"sentiment\": null, \"significance\": 0.5}]");
    ASSERT_JSON(msrv_last_body(srv, "/news"), news_input);

    ASSERT_JSON(call("fetch_portfolio", "\"acct-7\""),
                "{\"account_id\": \"acct-7\", \"as_of\": \"2026-01-05T14:30:00.000Z\", "
                "\"total_value\": 1000, \"positions\": []}");
    ASSERT_JSON(msrv_last_body(srv, "/portfolio"), "{\"account_id\": \"acct-7\"}");
    ASSERT_JSON(call("fetch_portfolio", "{\"account_id\": \"b\", \"as_of\": \"2026-01-02T22:00:00.000Z\"}"),
                "{\"account_id\": \"b\", \"as_of\": \"2026-01-02T22:00:00.000Z\", "
                "\"total_value\": 1000, \"positions\": []}");
    ASSERT(strstr(call("fetch_portfolio", "12"), "MarketBadInput") != NULL);

    ASSERT_JSON(call("run_screener", "{\"max_price\": 100, \"min_roc_weekly\": 0.5}"),
                "{\"params\": {\"max_price\": 100, \"min_roc_weekly\": 0.5}, "
                "\"candidates_screened\": 1, \"recommendations\": []}");
    /* No analysis store at the provider (404): no analyses. */
    ASSERT_JSON(call("fetch_analysis_history", "{\"date\": \"2026-01-05\"}"), "[]");
    ASSERT_EQ(msrv_requests(srv, "/analyses"), 1);
    teardown(srv);
}

void test_market_errors_and_config(void)
{
    struct msrv *srv = setup();
    msrv_force(srv, 503, "{\"error\": \"busy\"}");
    ASSERT(strstr(call("fetch_quotes", "[\"AAPL\"]"), "Http5xx") != NULL);
    ASSERT(strstr(call("check_news", "{}"), "Http5xx") != NULL);
    msrv_force(srv, 400, "{\"error\": \"bad\"}");
    ASSERT(strstr(call("fetch_portfolio", "\"x\""), "Http4xx") != NULL);
    ASSERT(strstr(call("fetch_analysis_history", "{}"), "Http4xx") != NULL);
    msrv_force(srv, 200, "not json");
    ASSERT(strstr(call("fetch_quotes", "[\"AAPL\"]"), "MarketBadResponse") != NULL);
    ASSERT(strstr(call("run_screener", "{}"), "MarketBadResponse") != NULL);
    msrv_force(srv, 200, "{\"an\": \"object\"}");
    ASSERT(strstr(call("check_news", "{}"), "MarketBadResponse") != NULL);
    msrv_force(srv, 0, NULL);

    /* Not configured: final failure, no request. */
    struct ttai_err err = {0};
    ASSERT(market_configure(NULL, &err) == 0);
    int before = msrv_requests(srv, "/quotes");
    ASSERT(strstr(call("fetch_quotes", "[\"AAPL\"]"), "MarketConfig") != NULL);
    ASSERT_EQ(msrv_requests(srv, "/quotes"), before);

    /* The JSON form, and what it refuses. */
    char url[128], text[256];
    msrv_url(srv, url, sizeof(url));
    snprintf(text, sizeof(text), "{\"base_url\": \"%s\", \"timeout_ms\": 5000, "
                                 "\"quote_ttl_seconds\": 0}", url);
    json_t *cfg = test_json(text);
    ASSERT(market_configure_json(cfg, &err) == 0);
    json_decref(cfg);
    msrv_price(srv, "AAPL", 1.5);
    ASSERT_JSON(call("fetch_quotes", "[\"AAPL\"]"), "{\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 1.5}}");
    /* A TTL of 0 s disables the cache. */
    ASSERT_JSON(call("fetch_quotes", "[\"AAPL\"]"), "{\"AAPL\": {\"symbol\": \"AAPL\", \"price\": 1.5}}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), before + 2);
    const char *bad[] = {"{\"base_url\": \"ftp://x\"}", "{\"url\": \"http://x\"}",
                         "{\"base_url\": \"http://x\", \"timeout_ms\": -1}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = test_json(bad[i]);
        ASSERT_EQ(market_configure_json(cfg, &err), TTAI_EINVAL);
        json_decref(cfg);
    }
    teardown(srv);
}

/* A workflow on the real activities: PriceAlert through the loopback
 * provider, cached quotes and all. */
void test_market_price_alert_end_to_end(void)
{
    struct msrv *srv = setup();
    msrv_price(srv, "AAPL", 151);
    mt_start("PriceAlert", "price-alerts", "{\"initial_alerts\": [{\"id\": \"a\", \"symbol\": "
                                           "\"AAPL\", \"condition\": \"above\", \"target_price\": 150}]}");
    mt_settle();
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"alert_id\": \"a\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"above\", \"target_price\": 150, \"current_price\": 151.0, "
                "\"message\": \"AAPL above $150.00 (current: $151.00)\", "
                "\"channels\": [\"discord\"]}], \"alert_type\": \"price\"}");
    ASSERT_EQ(msrv_requests(srv, "/quotes"), 1);
    mt_check_replay("default", "price-alerts", "get_status");
    teardown(srv);
}
