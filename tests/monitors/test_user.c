/* test_user.c: UserMonitor (seed 000's per-user portfolio monitor): the
 * four rules, symbol filters, throttle, rule and position updates, status,
 * positions from the provider, and users isolated by namespace. */
#include "mon_test.h"

#include "store.h"

#define ALICE_INPUT                                                                           \
    "{\"positions\": [{\"id\": \"p1\", \"symbol\": \"AAPL\", \"delta\": 0.3},"              \
    "{\"id\": \"p2\", \"symbol\": \"AAPL\", \"delta\": -0.7, \"dte\": 2},"                  \
    "{\"symbol\": \"MSFT\"}],"                                                               \
    "\"alert_rules\": [{\"type\": \"price_above\", \"threshold\": 150},"                     \
    "{\"type\": \"price_below\", \"threshold\": 300, \"symbol\": \"MSFT\"},"                 \
    "{\"type\": \"delta_breach\", \"threshold\": 0.5},"                                      \
    "{\"type\": \"dte_warning\", \"threshold\": 3},"                                         \
    "{\"type\": \"volume_spike\", \"threshold\": 1}]}"

#define ALERT(sym, pos, rule, thr, value, msg)                                                 \
    "{\"type\": \"position_alert\", \"severity\": \"warning\", \"user_id\": \"alice\", "     \
    "\"symbol\": \"" sym "\", \"position_id\": " pos ", \"rule_type\": \"" rule "\", "        \
    "\"threshold\": " thr ", \"current_value\": " value ", "                                 \
    "\"timestamp\": \"2026-01-05T14:31:00.000Z\", \"message\": \"" msg "\", "                 \
    "\"channels\": [\"discord\"]}"

void test_user_rules(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 151);
    fake_quote("MSFT", 290);
    mt_start_ns("alice", "UserMonitor", "user-monitor", ALICE_INPUT);
    mt_settle();
    /* The first check is one interval after the start, as seed 000's alarm. */
    ASSERT_EQ(fake_calls("fetch_quotes"), 0);
    ASSERT_JSON(mt_query_ns("alice", "user-monitor", "get_status"),
                "{\"active\": true, \"user_id\": \"alice\", \"stats\": {\"checks_performed\": 0, "
                "\"alerts_triggered\": 0, \"last_check\": null}, \"position_count\": 3, "
                "\"rule_count\": 4, \"next_check_at\": \"2026-01-05T14:31:00.000Z\"}");
    mt_advance(MT_MINUTE);
    ASSERT_JSON(fake_input("fetch_quotes", 0),
                "{\"symbols\": [\"AAPL\", \"MSFT\"], \"user_id\": \"alice\"}");
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": ["
                ALERT("AAPL", "\"p1\"", "price_above", "150.0", "151.0",
                      "AAPL price $151.00 is above $150.00") ","
                ALERT("AAPL", "\"p2\"", "price_above", "150.0", "151.0",
                      "AAPL price $151.00 is above $150.00") ","
                ALERT("AAPL", "\"p2\"", "delta_breach", "0.5", "-0.7",
                      "AAPL delta -0.70 breaches 0.50") ","
                ALERT("AAPL", "\"p2\"", "dte_warning", "3.0", "2.0",
                      "AAPL position at 2 DTE (threshold 3)") ","
                ALERT("MSFT", "null", "price_above", "150.0", "290.0",
                      "MSFT price $290.00 is above $150.00") ","
                ALERT("MSFT", "null", "price_below", "300.0", "290.0",
                      "MSFT price $290.00 is below $300.00") "], \"alert_type\": \"portfolio\"}");
    ASSERT_JSON(mt_query_ns("alice", "user-monitor", "get_status"),
                "{\"active\": true, \"user_id\": \"alice\", \"stats\": {\"checks_performed\": 1, "
                "\"alerts_triggered\": 6, \"last_check\": \"2026-01-05T14:31:00.000Z\"}, "
                "\"position_count\": 3, \"rule_count\": 4, "
                "\"next_check_at\": \"2026-01-05T14:32:00.000Z\"}");

    /* A minute later the same conditions are throttled. */
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_quotes"), 2);
    ASSERT_EQ(fake_calls("route_alerts"), 1);

    /* New rules and positions: a DTE counted from the expiration date
     * (2026-01-07 is two days after the check's date). */
    mt_signal_ns("alice", "user-monitor", "update_rules",
                 "{\"alert_rules\": [{\"type\": \"dte_warning\", \"threshold\": 2}, "
                 "{\"type\": \"price_above\", \"threshold\": 200, \"symbol\": \"AAPL\"}]}");
    mt_signal_ns("alice", "user-monitor", "update_positions",
                 "[{\"id\": \"o1\", \"symbol\": \"AAPL\", \"expiration\": \"2026-01-07\"}]");
    mt_settle();
    ASSERT_JSON(mt_query_ns("alice", "user-monitor", "get_rules"),
                "[{\"type\": \"dte_warning\", \"threshold\": 2.0}, "
                "{\"type\": \"price_above\", \"threshold\": 200.0, \"symbol\": \"AAPL\"}]");
    mt_advance(MT_MINUTE);
    ASSERT_JSON(fake_input("fetch_quotes", 2), "{\"symbols\": [\"AAPL\"], \"user_id\": \"alice\"}");
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    json_t *routed = test_json(fake_input("route_alerts", 1));
    json_t *alert = json_array_get(json_object_get(routed, "alerts"), 0);
    ASSERT_EQ(json_array_size(json_object_get(routed, "alerts")), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(alert, "message")),
                  "AAPL position at 2 DTE (threshold 2)");
    ASSERT_STR_EQ(json_string_value(json_object_get(alert, "position_id")), "o1");
    json_decref(routed);
    mt_check_replay("alice", "user-monitor", "get_status");
    mt_check_replay("alice", "user-monitor", "get_rules");

    mt_signal_ns("alice", "user-monitor", "shutdown", NULL);
    mt_settle();
    ASSERT_EQ(mt_status("alice", "user-monitor"), STORE_RUN_COMPLETED);
    ASSERT_JSON(mt_query_ns("alice", "user-monitor", "get_status"),
                "{\"active\": false, \"user_id\": \"alice\", \"stats\": {\"checks_performed\": 3, "
                "\"alerts_triggered\": 7, \"last_check\": \"2026-01-05T14:33:00.000Z\"}, "
                "\"position_count\": 1, \"rule_count\": 2, \"next_check_at\": null}");
    mt_check_replay("alice", "user-monitor", "get_status");
    mt_close();
}

void test_user_namespaces(void)
{
    mt_open(MT_FAKES, MT_T0);
    /* One run in memory: each monitor is rebuilt by replay at every step. */
    mt_cache_max(1);
    fake_quote("AAPL", 151);
    fake_quote("MSFT", 290);
    /* The same workflow id in two namespaces: two users, two monitors. */
    mt_start_ns("alice", "UserMonitor", "user-monitor", ALICE_INPUT);
    mt_start_ns("bob", "UserMonitor", "user-monitor",
                "{\"positions\": [{\"id\": \"b1\", \"symbol\": \"MSFT\"}], \"alert_rules\": "
                "[{\"type\": \"price_below\", \"threshold\": 295}], \"check_interval_seconds\": 30, "
                "\"notify_channels\": [\"email\"]}");
    mt_advance(MT_MINUTE);
    ASSERT(mt_find_call("fetch_quotes", "{\"symbols\": [\"AAPL\", \"MSFT\"], \"user_id\": \"alice\"}") >= 0);
    ASSERT(mt_find_call("fetch_quotes", "{\"symbols\": [\"MSFT\"], \"user_id\": \"bob\"}") >= 0);
    /* Alice: 6 alerts once; Bob: checks at 30 and 60 s, one alert. */
    ASSERT_EQ(fake_calls("fetch_quotes"), 3);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    int bob = mt_find_call("route_alerts",
                        "{\"alerts\": [{\"type\": \"position_alert\", \"severity\": \"warning\", "
                        "\"user_id\": \"bob\", \"symbol\": \"MSFT\", \"position_id\": \"b1\", "
                        "\"rule_type\": \"price_below\", \"threshold\": 295.0, "
                        "\"current_value\": 290.0, \"timestamp\": \"2026-01-05T14:30:30.000Z\", "
                        "\"message\": \"MSFT price $290.00 is below $295.00\", "
                        "\"channels\": [\"email\"]}], \"alert_type\": \"portfolio\"}");
    ASSERT(bob >= 0);
    ASSERT_JSON(mt_query_ns("bob", "user-monitor", "get_status"),
                "{\"active\": true, \"user_id\": \"bob\", \"stats\": {\"checks_performed\": 2, "
                "\"alerts_triggered\": 1, \"last_check\": \"2026-01-05T14:31:00.000Z\"}, "
                "\"position_count\": 1, \"rule_count\": 1, "
                "\"next_check_at\": \"2026-01-05T14:31:30.000Z\"}");
    /* Stopping Alice's monitor leaves Bob's running. */
    mt_signal_ns("alice", "user-monitor", "shutdown", NULL);
    mt_advance(MT_MINUTE);
    ASSERT_EQ(mt_status("alice", "user-monitor"), STORE_RUN_COMPLETED);
    ASSERT_EQ(mt_status("bob", "user-monitor"), STORE_RUN_RUNNING);
    json_t *bob_status = test_json(mt_query_ns("bob", "user-monitor", "get_status"));
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(bob_status, "stats"),
                                                 "checks_performed")), 4);
    json_decref(bob_status);
    struct ttai_engine_stats stats;
    ttai_engine_stats_get(mt_engine(), &stats);
    ASSERT(stats.replays > 0);
    mt_check_replay("alice", "user-monitor", "get_status");
    mt_check_replay("bob", "user-monitor", "get_status");
    mt_close();
}

void test_user_account_positions(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("GOOGL", 150);
    fake_portfolio("{\"account_id\": \"carol\", \"positions\": ["
                   "{\"id\": \"opt-GOOGL-put-1w\", \"symbol\": \"GOOGL\", \"option_type\": \"put\", "
                   "\"delta\": -0.62, \"dte\": 4}, {\"id\": \"stk-NVDA\", \"symbol\": \"NVDA\"}]}");
    mt_start_ns("carol", "UserMonitor", "um",
                "{\"account_id\": \"carol\", \"alert_rules\": [{\"type\": \"delta_breach\", "
                "\"threshold\": 0.5}], \"check_interval_seconds\": 60, \"throttle_minutes\": 0}");
    mt_advance(2 * MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_portfolio"), 2);
    ASSERT_JSON(fake_input("fetch_portfolio", 0), "{\"account_id\": \"carol\"}");
    ASSERT_JSON(fake_input("fetch_quotes", 0),
                "{\"symbols\": [\"GOOGL\", \"NVDA\"], \"user_id\": \"carol\"}");
    /* Without a throttle the alert repeats at every check, as in seed 000. */
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    json_t *routed = test_json(fake_input("route_alerts", 1));
    json_t *alert = json_array_get(json_object_get(routed, "alerts"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(alert, "message")),
                  "GOOGL delta -0.62 breaches 0.50");
    ASSERT_STR_EQ(json_string_value(json_object_get(alert, "position_id")), "opt-GOOGL-put-1w");
    json_decref(routed);
    /* The provider failing skips the check. */
    fake_fail("fetch_portfolio", true);
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_quotes"), 2);
    json_t *status = test_json(mt_query_ns("carol", "um", "get_status"));
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(status, "stats"),
                                                 "checks_performed")), 2);
    json_decref(status);
    mt_check_replay("carol", "um", "get_status");
    mt_cancel("carol", "um");
    mt_settle();
    ASSERT_EQ(mt_status("carol", "um"), STORE_RUN_CANCELED);
    mt_close();
}

/* 500 checks, then a continue-as-new carrying rules, positions, stats and
 * the throttle. */
void test_user_continue_as_new(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 151);
    mt_start_ns("dave", "UserMonitor", "um",
                "{\"positions\": [{\"id\": \"p\", \"symbol\": \"AAPL\", \"delta\": 0.9}], "
                "\"alert_rules\": [{\"type\": \"delta_breach\", \"threshold\": 0.5}], "
                "\"check_interval_seconds\": 10}");
    mt_settle();
    const char *first = mt_run_id("dave", "um");
    mt_advance(5000 * MT_SECOND);
    ASSERT(strcmp(mt_run_id("dave", "um"), first) != 0);
    /* Checks at 10 s, ..., 5,000 s; alerts every 310 s (throttle: more
     * than 5 minutes, on a 10 s grid). */
    ASSERT_EQ(fake_calls("fetch_quotes"), 500);
    ASSERT_JSON(mt_query_ns("dave", "um", "get_status"),
                "{\"active\": true, \"user_id\": \"dave\", \"stats\": {\"checks_performed\": 500, "
                "\"alerts_triggered\": 17, \"last_check\": \"2026-01-05T15:53:20.000Z\"}, "
                "\"position_count\": 1, \"rule_count\": 1, "
                "\"next_check_at\": \"2026-01-05T15:53:30.000Z\"}");
    ASSERT_EQ(fake_calls("route_alerts"), 17);
    mt_advance(310 * MT_SECOND);
    ASSERT_EQ(fake_calls("route_alerts"), 18);
    ASSERT_EQ(fake_call_time("route_alerts", 17), fake_call_time("route_alerts", 16) + 310 * MT_SECOND);
    mt_check_replay("dave", "um", "get_status");
    mt_check_replay("dave", "um", "get_rules");
    mt_close();
}
