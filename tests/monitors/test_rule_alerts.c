/* test_rule_alerts.c: RuleAlerts: the rule-tree evaluator as a durable
 * monitor: indicators warm up over checks, re-arm modes hold across a
 * restart and across continue-as-new (the evaluator's state travels in the
 * input), refused alerts say why, and replay reproduces every run. */
#include "mon_test.h"

#include "store.h"

/* price crosses above its 3-bar SMA, at most once per 5 minutes. */
#define CROSS_SMA                                                                           \
    "{\"id\": \"x1\", \"symbol\": \"AAPL\", \"severity\": \"warning\", "                   \
    "\"channels\": [\"slack\"], \"rule\": {\"indicator\": \"price\", "                    \
    "\"operator\": \"crosses_above\", \"value\": {\"indicator\": \"sma\", \"period\": 3}}, " \
    "\"rearm\": {\"type\": \"crossing\", \"cooldown\": 300}}"

static size_t routed(void) { return fake_calls("route_alerts"); }

/* The first routed alert of the i-th route_alerts call, as a JSON object. */
static json_t *routed_alert(size_t i)
{
    json_t *in = test_json(fake_input("route_alerts", i));
    json_t *a = json_incref(json_array_get(json_object_get(in, "alerts"), 0));
    ASSERT_STR_EQ(json_string_value(json_object_get(in, "alert_type")), "price");
    json_decref(in);
    ASSERT(a != NULL);
    return a;
}

static void tick(double price)
{
    fake_quote("AAPL", price);
    mt_advance(MT_MINUTE);
}

void test_rule_alerts_sma_crossing(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("AAPL", 10);
    mt_start("RuleAlerts", "rule-alerts",
             "{\"check_interval_seconds\": 60, \"alerts\": [" CROSS_SMA "]}");
    mt_settle();
    /* Bars 10 11 12: the SMA has its first value on bar 3 (11); the price
     * is above it, but a crossing needs both sides on the bar before. */
    tick(11);
    tick(12);
    ASSERT_EQ(fake_calls("fetch_quotes"), 3);
    ASSERT_EQ(routed(), 0);
    /* 9: below the SMA (11); then 14: above it (35/3): a crossing. */
    tick(9);
    ASSERT_EQ(routed(), 0);
    tick(14);
    ASSERT_EQ(routed(), 1);
    json_t *a = routed_alert(0);
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "type")), "rule");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "category")), "price");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "severity")), "warning");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "symbol")), "AAPL");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "alert_id")), "x1");
    json_t *slack = json_pack("[s]", "slack");
    ASSERT_JSON_EQ(json_object_get(a, "channels"), slack);
    json_decref(slack);
    ASSERT(strstr(json_string_value(json_object_get(a, "message")), "crosses_above") != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(a, "timestamp_ms")), mt_now());
    json_decref(a);
    /* Down and up again within the cooldown: no second fire. */
    tick(8);
    tick(15);
    ASSERT_EQ(routed(), 1);
    /* The state survives a restart (replay rebuilds the evaluator): after
     * the cooldown, the next crossing fires. */
    mt_restart();
    tick(8);
    tick(8);
    tick(7);
    ASSERT_EQ(routed(), 1);
    tick(20);
    ASSERT_EQ(routed(), 2);
    json_t *alerts = test_json(mt_query("rule-alerts", "get_alerts"));
    json_t *st = json_object_get(json_array_get(alerts, 0), "state");
    ASSERT_EQ(json_integer_value(json_object_get(st, "fire_count")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(st, "last_fire_ms")), mt_now());
    ASSERT(json_is_true(json_object_get(st, "last_result")));
    json_decref(alerts);
    ASSERT_JSON(mt_query("rule-alerts", "get_status"),
                "{\"alerts\": 1, \"checks\": 11, \"fires\": 2, \"rejected_alerts\": 0, "
                "\"last_rejection\": null, \"shutting_down\": false}");
    mt_check_replay("default", "rule-alerts", "get_alerts");
    mt_check_replay("default", "rule-alerts", "get_status");
    mt_close();
}

void test_rule_alerts_signals_and_refusals(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("MSFT", 400);
    fake_quote_volume("MSFT", 1000);
    mt_start("RuleAlerts", "rule-alerts", "{\"check_interval_seconds\": 60}");
    mt_settle();
    ASSERT_EQ(fake_calls("fetch_quotes"), 0);
    /* A misspelt key is refused, and get_status says where. */
    mt_signal("rule-alerts", "add_alert",
              "{\"id\": \"bad\", \"symbol\": \"MSFT\", \"rule\": {\"indicator\": \"price\", "
              "\"operator\": \">\", \"valeu\": 1}}");
    mt_signal("rule-alerts", "add_alert", "{\"id\": \"sev\", \"symbol\": \"MSFT\", "
              "\"severity\": \"loud\", \"rule\": {\"indicator\": \"price\", \"operator\": \">\", "
              "\"value\": 1}}");
    mt_settle();
    json_t *status = test_json(mt_query("rule-alerts", "get_status"));
    ASSERT_EQ(json_integer_value(json_object_get(status, "rejected_alerts")), 2);
    ASSERT_STR_EQ(json_string_value(json_object_get(status, "last_rejection")),
                  "add_alert 'sev': 'severity' is info, warning or critical");
    json_decref(status);
    mt_signal("rule-alerts", "add_alert",
              "{\"id\": \"bad\", \"symbol\": \"MSFT\", \"rule\": {\"indicator\": \"price\", "
              "\"operator\": \">\", \"valeu\": 1}}");
    mt_settle();
    status = test_json(mt_query("rule-alerts", "get_status"));
    ASSERT_STR_EQ(json_string_value(json_object_get(status, "last_rejection")),
                  "add_alert 'bad': rule.valeu: unknown key");
    json_decref(status);
    /* A volume spike (rvol(2) >= 3) held for 2 bars (persistence). */
    mt_signal("rule-alerts", "add_alert",
              "{\"id\": \"spike\", \"ticker\": \"MSFT\", \"rule\": {\"indicator\": \"rvol\", "
              "\"period\": 2, \"operator\": \">=\", \"value\": 3}, "
              "\"rearm\": {\"type\": \"persistence\", \"bars\": 2}}");
    mt_settle();
    /* Checks run on the interval: the first bar comes a minute later. No
     * state is shown before the alert's first evaluation. */
    ASSERT_EQ(fake_calls("fetch_quotes"), 0);
    ASSERT_JSON(mt_query("rule-alerts", "get_alerts"),
                "[{\"rule\": {\"indicator\": \"rvol\", \"period\": 2, \"operator\": \">=\", "
                "\"value\": 3}, \"rearm\": {\"type\": \"persistence\", \"bars\": 2}, "
                "\"id\": \"spike\", \"symbol\": \"MSFT\", "
                "\"severity\": \"info\", \"channels\": [\"discord\"]}]");
    mt_advance(MT_MINUTE);                 /* bar 1: 400, volume 1000 */
    ASSERT_EQ(fake_calls("fetch_quotes"), 1);
    fake_quote("MSFT", 401);
    mt_advance(MT_MINUTE);                 /* bar 2: rvol has no value before bar 3 */
    fake_quote_volume("MSFT", 3000);
    mt_advance(MT_MINUTE);                 /* bar 3: 3000 / 1000 = 3: true, 1 bar */
    ASSERT_EQ(routed(), 0);
    fake_quote_volume("MSFT", 6000);
    mt_advance(MT_MINUTE);                 /* bar 4: 6000 / 2000 = 3: true, 2 bars */
    ASSERT_EQ(routed(), 1);
    json_t *a = routed_alert(0);
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "alert_id")), "spike");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "severity")), "info");
    json_decref(a);
    fake_quote_volume("MSFT", 20000);
    mt_advance(MT_MINUTE);                 /* still true: persistence fires once per run */
    ASSERT_EQ(routed(), 1);
    /* rearm starts the alert over: two true bars again, then a fire. */
    mt_signal("rule-alerts", "rearm", "\"spike\"");
    fake_quote_volume("MSFT", 100000);
    mt_advance(MT_MINUTE);
    ASSERT_EQ(routed(), 1);
    fake_quote_volume("MSFT", 500000);
    mt_advance(MT_MINUTE);
    ASSERT_EQ(routed(), 2);
    /* remove_alert: no more checks; shutdown completes the run. */
    mt_signal("rule-alerts", "remove_alert", "{\"id\": \"spike\"}");
    size_t quotes = fake_calls("fetch_quotes");
    mt_advance(5 * MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_quotes"), quotes);
    ASSERT_JSON(mt_query("rule-alerts", "get_alerts"), "[]");
    mt_check_replay("default", "rule-alerts", "get_status");
    mt_signal("rule-alerts", "shutdown", "null");
    mt_settle();
    ASSERT_EQ(mt_status("default", "rule-alerts"), STORE_RUN_COMPLETED);
    mt_close();
}

/* A 20-bar SMA warmed up in one run keeps its value in the next: the
 * evaluator's state travels in the continue-as-new input. */
void test_rule_alerts_continue_as_new(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_quote("NVDA", 100);
    mt_start("RuleAlerts", "rule-alerts",
             "{\"check_interval_seconds\": 1, \"alerts\": [{\"id\": \"above\", "
             "\"symbol\": \"NVDA\", \"rule\": {\"indicator\": \"price\", \"operator\": \">\", "
             "\"value\": {\"indicator\": \"sma\", \"period\": 20}}, "
             "\"rearm\": {\"type\": \"crossing\"}}]}");
    mt_settle();
    const char *first_run = mt_keep(strdup(mt_run_id("default", "rule-alerts")));
    /* 1,000 checks end the run; the 1,001st bar is checked by the next. */
    mt_advance(999 * MT_SECOND);
    ASSERT_EQ(fake_calls("fetch_quotes"), 1000);
    ASSERT_EQ(routed(), 0);
    mt_advance(MT_SECOND);
    ASSERT(strcmp(mt_run_id("default", "rule-alerts"), first_run) != 0);
    ASSERT_EQ(fake_calls("fetch_quotes"), 1001);
    /* The SMA is warm in the new run: the first price above it fires at
     * once, which a cold 20-bar SMA could not do for 19 more bars. */
    fake_quote("NVDA", 101);
    mt_advance(MT_SECOND);
    ASSERT_EQ(routed(), 1);
    json_t *alerts = test_json(mt_query("rule-alerts", "get_alerts"));
    json_t *st = json_object_get(json_array_get(alerts, 0), "state");
    ASSERT_EQ(json_integer_value(json_object_get(st, "fire_count")), 1);
    json_decref(alerts);
    mt_check_replay("default", "rule-alerts", "get_alerts");
    mt_close();
}
