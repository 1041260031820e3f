/* test_price.c: PriceAlert: above, below and crosses with the last price,
 * one-time and recurring alerts, signals and queries, templates, a routing
 * failure, and continue-as-new carrying the alerts and the last prices. */
#include "mon_test.h"

#include "store.h"

#define ALERTS_3                                                                          \
    "{\"check_interval_seconds\": 10, \"initial_alerts\": ["                              \
    "{\"id\": \"a1\", \"symbol\": \"AAPL\", \"condition\": \"above\", \"target_price\": 150.0},"  \
    "{\"id\": \"a2\", \"symbol\": \"AAPL\", \"condition\": \"below\", \"target_price\": 100, "    \
    " \"one_time\": false},"                                                               \
    "{\"id\": \"a3\", \"symbol\": \"MSFT\", \"condition\": \"above\", \"target_price\": 400.5, " \
    " \"channels\": [\"slack\", \"email\"]}]}"

void test_price_above_below_one_time(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 140);
    fake_quote("MSFT", 390);
    mt_start("PriceAlert", "price-alerts", ALERTS_3);
    mt_settle();
    ASSERT_EQ(fake_calls("fetch_quotes"), 1);
    ASSERT_JSON(fake_input("fetch_quotes", 0), "[\"AAPL\", \"MSFT\"]");
    ASSERT_EQ(fake_calls("route_alerts"), 0);
    ASSERT_JSON(mt_query("price-alerts", "get_alerts"),
                "[{\"id\": \"a1\", \"symbol\": \"AAPL\", \"condition\": \"above\", "
                "\"target_price\": 150.0, \"channels\": [\"discord\"]},"
                "{\"id\": \"a2\", \"symbol\": \"AAPL\", \"condition\": \"below\", "
                "\"target_price\": 100, \"channels\": [\"discord\"]},"
                "{\"id\": \"a3\", \"symbol\": \"MSFT\", \"condition\": \"above\", "
                "\"target_price\": 400.5, \"channels\": [\"slack\", \"email\"]}]");

    /* At the target counts as above; the one-time alert goes away. */
    fake_quote("AAPL", 150);
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"alert_id\": \"a1\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"above\", \"target_price\": 150.0, \"current_price\": 150.0, "
                "\"message\": \"AAPL above $150.00 (current: $150.00)\", "
                "\"channels\": [\"discord\"]}], \"alert_type\": \"price\"}");
    json_t *alerts = test_json(mt_query("price-alerts", "get_alerts"));
    ASSERT_EQ(json_array_size(alerts), 2);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(alerts, 0), "id")), "a2");
    json_decref(alerts);

    /* The recurring alert fires at every check while the price is low, and
     * both symbols' alerts can fire in one check, in alert order. */
    fake_quote("AAPL", 99.5);
    fake_quote("MSFT", 401);
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    ASSERT_JSON(fake_input("route_alerts", 1),
                "{\"alerts\": [{\"alert_id\": \"a2\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"below\", \"target_price\": 100, \"current_price\": 99.5, "
                "\"message\": \"AAPL below $100.00 (current: $99.50)\", \"channels\": [\"discord\"]},"
                "{\"alert_id\": \"a3\", \"symbol\": \"MSFT\", \"type\": \"price\", "
                "\"condition\": \"above\", \"target_price\": 400.5, \"current_price\": 401.0, "
                "\"message\": \"MSFT above $400.50 (current: $401.00)\", "
                "\"channels\": [\"slack\", \"email\"]}], \"alert_type\": \"price\"}");
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    ASSERT_JSON(fake_input("fetch_quotes", 3), "[\"AAPL\"]");
    /* A symbol without a quote checks nothing. */
    fake_quote("AAPL", 0);
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    ASSERT_JSON(mt_query("price-alerts", "get_status"),
                "{\"alerts\": 1, \"last_prices\": {\"AAPL\": 99.5, \"MSFT\": 401.0}, \"checks\": 5, "
                "\"rejected_alerts\": 0, \"shutting_down\": false}");
    mt_check_replay("default", "price-alerts", "get_alerts");
    mt_check_replay("default", "price-alerts", "get_status");
    mt_close();
}

void test_price_crosses(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 155);
    mt_start("PriceAlert", "pa", "{\"initial_alerts\": [{\"id\": \"x\", \"symbol\": \"AAPL\", "
                                 "\"condition\": \"crosses\", \"target_price\": 150, "
                                 "\"recurring\": true}]}");
    mt_settle();
    /* No last price yet: no cross. */
    ASSERT_EQ(fake_calls("route_alerts"), 0);
    fake_quote("AAPL", 149);
    mt_advance(10 * MT_SECOND);          /* 155 -> 149: down through 150 */
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"alert_id\": \"x\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"crosses\", \"target_price\": 150, \"current_price\": 149.0, "
                "\"message\": \"AAPL crosses $150.00 (current: $149.00)\", "
                "\"channels\": [\"discord\"]}], \"alert_type\": \"price\"}");
    fake_quote("AAPL", 148);
    mt_advance(10 * MT_SECOND);          /* stays below */
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    fake_quote("AAPL", 150);
    mt_advance(10 * MT_SECOND);          /* 148 -> 150: up to the target */
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    mt_advance(10 * MT_SECOND);          /* 150 -> 150: no move, no cross */
    fake_quote("AAPL", 151);
    mt_advance(10 * MT_SECOND);          /* 150 -> 151: from the target, not through it */
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    fake_quote("AAPL", 150);
    mt_advance(10 * MT_SECOND);          /* 151 -> 150: down to the target */
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    ASSERT_JSON(mt_query("pa", "get_alerts"),
                "[{\"id\": \"x\", \"symbol\": \"AAPL\", \"condition\": \"crosses\", "
                "\"target_price\": 150, \"channels\": [\"discord\"]}]");
    mt_check_replay("default", "pa", "get_status");
    mt_close();
}

void test_price_signals_and_template(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 140);
    /* add_alert with the start: applied after the (empty) input. */
    mt_signal_with_start("PriceAlert", "pa", "{}", "add_alert",
                         "{\"id\": \"t\", \"symbol\": \"AAPL\", \"condition\": \"below\", "
                         "\"target_price\": 120, \"message_template\": "
                         "\"{symbol} at {price:.2f}, {{target}} {target} ({condition}), {price}\"}");
    mt_settle();
    ASSERT_EQ(fake_calls("fetch_quotes"), 1);
    mt_signal("pa", "add_alert", "{\"id\": \"u\", \"symbol\": \"NVDA\", \"condition\": \"above\", "
                                 "\"target_price\": 10}");
    /* Refused: unknown condition, no id, no target. */
    mt_signal("pa", "add_alert", "{\"id\": \"bad\", \"symbol\": \"AAPL\", \"condition\": "
                                 "\"sideways\", \"target_price\": 1}");
    mt_signal("pa", "add_alert", "{\"symbol\": \"AAPL\", \"condition\": \"above\", "
                                 "\"target_price\": 1}");
    mt_signal("pa", "add_alert", "{\"id\": \"v\", \"symbol\": \"AAPL\", \"condition\": \"above\"}");
    mt_settle();
    ASSERT_JSON(mt_query("pa", "get_alerts"),
                "[{\"id\": \"t\", \"symbol\": \"AAPL\", \"condition\": \"below\", "
                "\"target_price\": 120, \"channels\": [\"discord\"]},"
                "{\"id\": \"u\", \"symbol\": \"NVDA\", \"condition\": \"above\", "
                "\"target_price\": 10, \"channels\": [\"discord\"]}]");
    /* Re-adding an id replaces the alert in place. */
    mt_signal("pa", "add_alert", "{\"id\": \"t\", \"symbol\": \"AAPL\", \"condition\": \"below\", "
                                 "\"target_price\": 139.5, \"message_template\": "
                                 "\"{symbol} at {price:.2f}, {{target}} {target} ({condition}), "
                                 "{price}\"}");
    mt_signal("pa", "remove_alert", "\"u\"");
    mt_signal("pa", "remove_alert", "{\"id\": \"missing\"}");
    mt_settle();
    ASSERT_JSON(mt_query("pa", "get_status"),
                "{\"alerts\": 1, \"last_prices\": {\"AAPL\": 140.0}, \"checks\": 1, "
                "\"rejected_alerts\": 3, \"shutting_down\": false}");
    fake_quote("AAPL", 139.25);
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"alert_id\": \"t\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"below\", \"target_price\": 139.5, \"current_price\": 139.25, "
                "\"message\": \"AAPL at 139.25, {target} 139.5 (below), 139.25\", "
                "\"channels\": [\"discord\"]}], \"alert_type\": \"price\"}");
    /* A template the seed could not format falls back to the default text. */
    mt_signal("pa", "add_alert", "{\"id\": \"w\", \"symbol\": \"AAPL\", \"condition\": \"below\", "
                                 "\"target_price\": 200, \"message_template\": \"{volume}!\"}");
    mt_advance(10 * MT_SECOND);
    json_t *routed = test_json(fake_input("route_alerts", 1));
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_array_get(json_object_get(routed, "alerts"), 0), "message")),
                  "AAPL below $200.00 (current: $139.25)");
    json_decref(routed);
    ASSERT_JSON(mt_query("pa", "get_alerts"), "[]");
    mt_check_replay("default", "pa", "get_status");
    mt_signal("pa", "shutdown", NULL);
    mt_settle();
    ASSERT_EQ(mt_status("default", "pa"), STORE_RUN_COMPLETED);
    mt_check_replay("default", "pa", "get_status");
    mt_close();
}

void test_price_route_failure_keeps_alert(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 151);
    fake_fail("route_alerts", true);
    mt_start("PriceAlert", "pa", "{\"initial_alerts\": [{\"id\": \"a\", \"symbol\": \"AAPL\", "
                                 "\"condition\": \"above\", \"target_price\": 150}]}");
    /* The fake fails for good (not retryable): the checks at 0 and 10 s
     * route and fail; the one-time alert stays, and the loop goes on. */
    mt_advance(16 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    ASSERT_EQ(fake_call_time("route_alerts", 1), MT_T0 + 10 * MT_SECOND);
    ASSERT_JSON(mt_query("pa", "get_alerts"),
                "[{\"id\": \"a\", \"symbol\": \"AAPL\", \"condition\": \"above\", "
                "\"target_price\": 150, \"channels\": [\"discord\"]}]");
    fake_fail("route_alerts", false);
    mt_advance(10 * MT_SECOND);          /* the check at 20 s routes */
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    ASSERT_EQ(fake_call_time("route_alerts", 2), MT_T0 + 20 * MT_SECOND);
    ASSERT_JSON(mt_query("pa", "get_alerts"), "[]");

    /* A failing quote provider costs its checks (30 and 40 s) and nothing
     * else. */
    fake_fail("fetch_quotes", true);
    mt_signal("pa", "add_alert", "{\"id\": \"b\", \"symbol\": \"AAPL\", \"condition\": \"above\", "
                                 "\"target_price\": 150}");
    mt_advance(20 * MT_SECOND);
    ASSERT_EQ(fake_calls("fetch_quotes"), 5);
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    fake_fail("fetch_quotes", false);
    mt_advance(10 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 4);
    ASSERT_EQ(fake_call_time("route_alerts", 3), MT_T0 + 50 * MT_SECOND);
    mt_check_replay("default", "pa", "get_alerts");
    mt_check_replay("default", "pa", "get_status");
    mt_close();
}

void test_price_continue_as_new(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 149);
    fake_quote("MSFT", 300);
    mt_start("PriceAlert", "pa",
             "{\"initial_alerts\": [{\"id\": \"c\", \"symbol\": \"AAPL\", \"condition\": "
             "\"crosses\", \"target_price\": 150.0, \"one_time\": false, \"channels\": "
             "[\"webhook\"], \"message_template\": \"{symbol} crossed {target}\"},"
             "{\"id\": \"m\", \"symbol\": \"MSFT\", \"condition\": \"above\", "
             "\"target_price\": 500}], \"check_interval_seconds\": 10}");
    mt_settle();
    const char *first = mt_run_id("default", "pa");
    /* Checks at 0, 10, ..., 9,990 s: 1,000 in the first run. */
    mt_advance(9999 * MT_SECOND);
    ASSERT_STR_EQ(mt_run_id("default", "pa"), first);
    ASSERT_JSON(mt_query("pa", "get_status"),
                "{\"alerts\": 2, \"last_prices\": {\"AAPL\": 149.0, \"MSFT\": 300.0}, "
                "\"checks\": 1000, \"rejected_alerts\": 0, \"shutting_down\": false}");
    mt_check_replay("default", "pa", "get_status");
    /* The cross spans the continue-as-new: the new run knows 149. */
    fake_quote("AAPL", 151);
    mt_advance(MT_SECOND);
    ASSERT(strcmp(mt_run_id("default", "pa"), first) != 0);
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_EQ(fake_call_time("route_alerts", 0), MT_T0 + 10000 * MT_SECOND);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"alert_id\": \"c\", \"symbol\": \"AAPL\", \"type\": \"price\", "
                "\"condition\": \"crosses\", \"target_price\": 150.0, \"current_price\": 151.0, "
                "\"message\": \"AAPL crossed 150.0\", \"channels\": [\"webhook\"]}], "
                "\"alert_type\": \"price\"}");
    ASSERT_JSON(mt_query("pa", "get_alerts"),
                "[{\"id\": \"c\", \"symbol\": \"AAPL\", \"condition\": \"crosses\", "
                "\"target_price\": 150.0, \"channels\": [\"webhook\"]},"
                "{\"id\": \"m\", \"symbol\": \"MSFT\", \"condition\": \"above\", "
                "\"target_price\": 500, \"channels\": [\"discord\"]}]");
    ASSERT_JSON(mt_query("pa", "get_status"),
                "{\"alerts\": 2, \"last_prices\": {\"AAPL\": 151.0, \"MSFT\": 300.0}, "
                "\"checks\": 1, \"rejected_alerts\": 0, \"shutting_down\": false}");
    mt_check_replay("default", "pa", "get_alerts");
    mt_check_replay("default", "pa", "get_status");
    mt_close();
}
