/* test_news.c: NewsWatcher: signals, status, deduplication and routing,
 * continue-as-new carrying the seen articles, and a simulated week. */
#include "mon_test.h"

#include "store.h"

void test_news_signals_and_status(void)
{
    mt_open(MT_FAKES, MT_T0);
    mt_start("NewsWatcher", "news-watcher",
             "{\"initial_symbols\": [\"AAPL\", \"MSFT\"], \"check_interval_minutes\": 5}");
    mt_settle();
    ASSERT_JSON(mt_query("news-watcher", "get_status"),
                "{\"symbols\": [\"AAPL\", \"MSFT\"], \"seen_articles\": 0, \"shutting_down\": false}");
    ASSERT_EQ(fake_calls("check_news"), 1);
    ASSERT_JSON(fake_input("check_news", 0),
                "{\"symbols\": [\"AAPL\", \"MSFT\"], \"significance_threshold\": 0.7, "
                "\"exclude_ids\": []}");

    mt_signal("news-watcher", "add_symbols", "[\"NVDA\", \"AAPL\"]");
    mt_settle();
    ASSERT_JSON(mt_query("news-watcher", "get_status"),
                "{\"symbols\": [\"AAPL\", \"MSFT\", \"NVDA\"], \"seen_articles\": 0, "
                "\"shutting_down\": false}");
    mt_signal("news-watcher", "remove_symbols", "[\"MSFT\"]");
    mt_settle();
    ASSERT_JSON(mt_query("news-watcher", "get_status"),
                "{\"symbols\": [\"AAPL\", \"NVDA\"], \"seen_articles\": 0, \"shutting_down\": false}");
    mt_signal("news-watcher", "update_symbols", "{\"symbols\": [\"TSLA\"]}");
    mt_settle();
    /* Signals do not wake the loop: the next check is on the interval. */
    ASSERT_EQ(fake_calls("check_news"), 1);
    mt_advance(5 * MT_MINUTE);
    ASSERT_EQ(fake_calls("check_news"), 2);
    ASSERT_EQ(fake_call_time("check_news", 1), MT_T0 + 5 * MT_MINUTE);
    ASSERT_JSON(fake_input("check_news", 1),
                "{\"symbols\": [\"TSLA\"], \"significance_threshold\": 0.7, \"exclude_ids\": []}");

    /* No symbols: no checks. */
    mt_signal("news-watcher", "update_symbols", "[]");
    mt_advance(15 * MT_MINUTE);
    ASSERT_EQ(fake_calls("check_news"), 2);
    mt_check_replay("default", "news-watcher", "get_status");

    mt_signal("news-watcher", "shutdown", NULL);
    mt_settle();
    ASSERT_EQ(mt_status("default", "news-watcher"), STORE_RUN_COMPLETED);
    ASSERT_JSON(mt_query("news-watcher", "get_status"),
                "{\"symbols\": [], \"seen_articles\": 0, \"shutting_down\": true}");
    mt_check_replay("default", "news-watcher", "get_status");

    /* A signal sent with the start applies after the input, not before. */
    mt_signal_with_start("NewsWatcher", "news-2", "{\"initial_symbols\": [\"AAPL\"]}",
                         "update_symbols", "[\"SPY\"]");
    mt_settle();
    ASSERT_JSON(mt_query("news-2", "get_status"),
                "{\"symbols\": [\"SPY\"], \"seen_articles\": 0, \"shutting_down\": false}");
    ASSERT_JSON(fake_input("check_news", 2),
                "{\"symbols\": [\"SPY\"], \"significance_threshold\": 0.7, \"exclude_ids\": []}");
    mt_check_replay("default", "news-2", "get_status");
    /* Cancellation ends the wait at once and closes the run as canceled. */
    mt_cancel("default", "news-2");
    mt_settle();
    ASSERT_EQ(mt_status("default", "news-2"), STORE_RUN_CANCELED);
    mt_check_replay("default", "news-2", "get_status");
    mt_close();
}

#define A1 "{\"article_id\": \"a1\", \"type\": \"news\", \"severity\": \"info\", \"symbol\": \"AAPL\", \"message\": \"AAPL: one\"}"
#define A2 "{\"article_id\": \"a2\", \"type\": \"news\", \"severity\": \"warning\", \"symbol\": \"AAPL\", \"message\": \"AAPL: two\", \"significance\": 0.95}"
#define A3 "{\"article_id\": \"a3\", \"type\": \"news\", \"severity\": \"info\", \"symbol\": \"MSFT\", \"message\": \"MSFT: three\"}"

void test_news_dedup_and_route(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_news("[" A1 "," A2 "]");
    mt_start("NewsWatcher", "nw", "{\"initial_symbols\": [\"AAPL\", \"MSFT\"], "
                                  "\"significance_threshold\": 0.8}");
    mt_settle();
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [" A1 "," A2 "], \"alert_type\": \"news\"}");

    /* a2 again and a new a3: only a3 goes out; the seen ids are excluded. */
    fake_news("[" A2 "," A3 ", {\"type\": \"news\", \"message\": \"no id\"}]");
    mt_advance(5 * MT_MINUTE);
    ASSERT_JSON(fake_input("check_news", 1),
                "{\"symbols\": [\"AAPL\", \"MSFT\"], \"significance_threshold\": 0.8, "
                "\"exclude_ids\": [\"a1\", \"a2\"]}");
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    ASSERT_JSON(fake_input("route_alerts", 1), "{\"alerts\": [" A3 "], \"alert_type\": \"news\"}");

    /* Nothing new: no routing. A failing provider costs one check. */
    fake_news("[" A3 "]");
    mt_advance(5 * MT_MINUTE);
    fake_fail("check_news", true);
    mt_advance(5 * MT_MINUTE);
    fake_fail("check_news", false);
    mt_advance(5 * MT_MINUTE);
    ASSERT_EQ(fake_calls("check_news"), 5);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    ASSERT_JSON(mt_query("nw", "get_status"),
                "{\"symbols\": [\"AAPL\", \"MSFT\"], \"seen_articles\": 3, \"shutting_down\": false}");

    /* A restart rebuilds the seen set by replay: a1 is still known. */
    mt_restart();
    fake_news("[" A1 "]");
    mt_advance(5 * MT_MINUTE);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    mt_check_replay("default", "nw", "get_status");
    mt_close();
}

/* Ids gen-FROM..gen-TO as a JSON array. */
static char *gen_ids(int from, int to)
{
    size_t size = 16 + (size_t)(to - from + 1) * 16;
    char *s = malloc(size);
    ASSERT(s != NULL);
    size_t n = (size_t)snprintf(s, size, "[");
    for (int i = from; i <= to; i++)
        n += (size_t)snprintf(s + n, size - n, "%s\"gen-%d\"", i > from ? "," : "", i);
    snprintf(s + n, size - n, "]");
    return s;
}

void test_news_continue_as_new_seen(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_news_generate(300);
    mt_start("NewsWatcher", "nw", "{\"initial_symbols\": [\"AAPL\"], \"check_interval_minutes\": 5}");
    mt_settle();
    const char *first = mt_run_id("default", "nw");
    /* Checks at 0, 5, 10, 15 minutes: 1,200 seen after the fourth, so the
     * run continues as new when its wait ends at 20 minutes. */
    mt_advance(15 * MT_MINUTE);
    ASSERT_EQ(fake_calls("check_news"), 4);
    ASSERT_JSON(mt_query("nw", "get_status"),
                "{\"symbols\": [\"AAPL\"], \"seen_articles\": 1200, \"shutting_down\": false}");
    ASSERT_STR_EQ(mt_run_id("default", "nw"), first);
    mt_check_replay("default", "nw", "get_status");
    /* Each answer held 300 new articles and the previous 300 again. */
    ASSERT_EQ(fake_calls("route_alerts"), 4);
    json_t *fourth = test_json(fake_input("route_alerts", 3));
    ASSERT_EQ(json_array_size(json_object_get(fourth, "alerts")), 300);
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_array_get(json_object_get(fourth, "alerts"), 0), "article_id")),
                  "gen-901");
    json_decref(fourth);

    mt_advance(5 * MT_MINUTE);
    ASSERT(strcmp(mt_run_id("default", "nw"), first) != 0);
    /* The new run checked at once, excluding the last 500 ids in the order
     * they were seen, and remembers them (plus the 300 it just saw). */
    ASSERT_EQ(fake_calls("check_news"), 5);
    ASSERT_EQ(fake_call_time("check_news", 4), MT_T0 + 20 * MT_MINUTE);
    char *ids = gen_ids(701, 1200);
    size_t size = strlen(ids) + 128;
    char *want = malloc(size);
    ASSERT(want != NULL);
    snprintf(want, size, "{\"symbols\": [\"AAPL\"], \"significance_threshold\": 0.7, "
                         "\"exclude_ids\": %s}", ids);
    ASSERT_JSON(fake_input("check_news", 4), want);
    free(want);
    free(ids);
    ASSERT_JSON(mt_query("nw", "get_status"),
                "{\"symbols\": [\"AAPL\"], \"seen_articles\": 800, \"shutting_down\": false}");
    /* The fifth answer repeated gen-901..1200 (carried: not routed) and
     * brought gen-1201..1500 (routed). */
    json_t *routed = test_json(fake_input("route_alerts", 4));
    json_t *alerts = json_object_get(routed, "alerts");
    ASSERT_EQ(json_array_size(alerts), 300);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(alerts, 0), "article_id")),
                  "gen-1201");
    json_decref(routed);
    mt_check_replay("default", "nw", "get_status");

    /* An article trimmed away (gen-1) is news again; a carried one is not. */
    fake_news_generate(0);
    fake_news("[{\"article_id\": \"gen-1\", \"message\": \"old\"}, "
              "{\"article_id\": \"gen-1200\", \"message\": \"kept\"}]");
    mt_advance(5 * MT_MINUTE);
    ASSERT_EQ(fake_calls("route_alerts"), 6);
    ASSERT_JSON(fake_input("route_alerts", 5),
                "{\"alerts\": [{\"article_id\": \"gen-1\", \"message\": \"old\"}], "
                "\"alert_type\": \"news\"}");
    mt_close();
}

void test_news_continue_as_new_iterations(void)
{
    mt_open(MT_FAKES, MT_T0);
    mt_start("NewsWatcher", "nw", "{\"initial_symbols\": [\"AAPL\", \"SPY\"], "
                                  "\"check_interval_minutes\": 2, \"significance_threshold\": 0.5}");
    mt_settle();
    const char *first = mt_run_id("default", "nw");
    mt_advance(199 * MT_MINUTE);
    ASSERT_STR_EQ(mt_run_id("default", "nw"), first);
    ASSERT_EQ(fake_calls("check_news"), 100);
    /* The 100th wait ends at 200 minutes: continue as new, same settings. */
    mt_advance(MT_MINUTE);
    ASSERT(strcmp(mt_run_id("default", "nw"), first) != 0);
    ASSERT_EQ(fake_calls("check_news"), 101);
    ASSERT_JSON(fake_input("check_news", 100),
                "{\"symbols\": [\"AAPL\", \"SPY\"], \"significance_threshold\": 0.5, "
                "\"exclude_ids\": []}");
    mt_advance(2 * MT_MINUTE);
    ASSERT_EQ(fake_calls("check_news"), 102);
    mt_check_replay("default", "nw", "get_status");
    mt_close();
}

/* A week of checks every 5 minutes: one new article per check (and the
 * previous one again), each routed exactly once, across continues-as-new. */
void test_news_week(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_news_generate(1);
    mt_start("NewsWatcher", "nw", "{\"initial_symbols\": [\"AAPL\"], \"check_interval_minutes\": 5}");
    mt_settle();
    mt_advance(7 * MT_DAY);
    size_t checks = fake_calls("check_news");
    /* At 0, 5, ..., 10,080 minutes. */
    ASSERT_EQ(checks, 7 * 24 * 12 + 1);
    ASSERT_EQ(fake_call_time("check_news", checks - 1), MT_T0 + 7 * MT_DAY);
    ASSERT_EQ(fake_calls("route_alerts"), checks);
    for (size_t i = 0; i < checks; i++) {
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"alerts\": [{\"article_id\": \"gen-%zu\", \"type\": \"news\", \"symbol\": "
                 "\"AAPL\", \"message\": \"AAPL: generated article %zu\"}], \"alert_type\": \"news\"}",
                 i + 1, i + 1);
        ASSERT_JSON(fake_input("route_alerts", i), want);
    }
    /* 2,017 checks: 20 runs of 100, then 17 checks into the 21st. */
    ASSERT_JSON(mt_query("nw", "get_status"),
                "{\"symbols\": [\"AAPL\"], \"seen_articles\": 517, \"shutting_down\": false}");
    mt_check_replay("default", "nw", "get_status");
    mt_close();
}
