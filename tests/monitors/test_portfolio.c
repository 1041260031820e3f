/* test_portfolio.c: PortfolioMonitor: P&L and margin levels, assignment
 * risk, concentration, the five-minute throttle, update_config, status and
 * continue-as-new carrying the configuration and the throttle. */
#include "mon_test.h"

#include "store.h"

void test_portfolio_pnl_margin(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_portfolio("{\"total_value\": 100000, \"day_pnl_percent\": -2.5, "
                   "\"margin_utilization\": 72.0, \"positions\": []}");
    mt_start("PortfolioMonitor", "portfolio-monitor",
             "{\"account_id\": \"default\", \"config\": {}, \"check_interval_minutes\": 1, "
             "\"notify_channels\": [\"discord\"]}");
    mt_settle();
    ASSERT_JSON(fake_input("fetch_portfolio", 0), "\"default\"");
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": ["
                "{\"type\": \"pnl_warning\", \"severity\": \"warning\", "
                "\"message\": \"Warning: Daily P&L at -2.5%\", \"details\": {\"pnl_percent\": -2.5}, "
                "\"channels\": [\"discord\"]},"
                "{\"type\": \"margin_warning\", \"severity\": \"warning\", "
                "\"message\": \"Warning: Margin utilization at 72%\", "
                "\"details\": {\"margin_utilization\": 72.0}, \"channels\": [\"discord\"]}], "
                "\"alert_type\": \"portfolio\"}");

    /* Critical levels are other types: not held back by the warnings. */
    fake_portfolio("{\"total_value\": 100000, \"day_pnl_percent\": -5.56, "
                   "\"margin_utilization\": 90.5, \"positions\": []}");
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    ASSERT_JSON(fake_input("route_alerts", 1),
                "{\"alerts\": ["
                "{\"type\": \"pnl_critical\", \"severity\": \"critical\", "
                "\"message\": \"CRITICAL: Daily P&L at -5.6%\", \"details\": {\"pnl_percent\": -5.56}, "
                "\"channels\": [\"discord\"]},"
                "{\"type\": \"margin_critical\", \"severity\": \"critical\", "
                "\"message\": \"CRITICAL: Margin utilization at 90%\", "
                "\"details\": {\"margin_utilization\": 90.5}, \"channels\": [\"discord\"]}], "
                "\"alert_type\": \"portfolio\"}");
    /* The same a minute later: throttled, nothing routed. */
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_portfolio"), 3);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    /* Healthy, or fields missing: nothing. */
    fake_portfolio("{\"total_value\": 100000, \"day_pnl_percent\": 1.0, "
                   "\"margin_utilization\": 10, \"positions\": []}");
    mt_advance(10 * MT_MINUTE);
    fake_portfolio("{}");
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    mt_check_replay("default", "portfolio-monitor", "get_status");
    mt_close();
}

#define POSITIONS                                                                             \
    "{\"total_value\": 100000, \"positions\": ["                                              \
    "{\"id\": \"p1\", \"symbol\": \"GOOGL\", \"option_type\": \"put\", \"strike\": 160, "    \
    " \"dte\": 2, \"quantity\": -1, \"underlying_price\": 148.0, \"itm\": true, "              \
    " \"market_value\": -1200},"                                                             \
    "{\"id\": \"p2\", \"symbol\": \"AMD\", \"option_type\": \"call\", \"strike\": 100, "     \
    " \"dte\": 1, \"quantity\": -2, \"underlying_price\": 104.0, \"market_value\": -900},"    \
    "{\"id\": \"p3\", \"symbol\": \"TSLA\", \"option_type\": \"put\", \"strike\": 300, "     \
    " \"dte\": 1, \"quantity\": 1, \"underlying_price\": 250.0, \"itm\": true},"              \
    "{\"id\": \"p4\", \"symbol\": \"F\", \"option_type\": \"put\", \"strike\": 10, "         \
    " \"dte\": 0, \"quantity\": -5, \"underlying_price\": 12.0, \"itm\": false},"             \
    "{\"id\": \"p5\", \"symbol\": \"BAC\", \"option_type\": \"put\", \"strike\": 40, "       \
    " \"dte\": 5, \"quantity\": -1, \"underlying_price\": 35.0, \"itm\": true},"              \
    "{\"id\": \"s1\", \"symbol\": \"NVDA\", \"position_type\": \"stock\", "                 \
    " \"market_value\": 30000},"                                                             \
    "{\"id\": \"s2\", \"symbol\": \"MSFT\", \"market_value\": 20000}]}"

void test_portfolio_assignment_concentration(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_portfolio(POSITIONS);
    mt_start("PortfolioMonitor", "pm", "{\"account_id\": \"acct-1\", \"notify_channels\": [\"slack\"]}");
    mt_settle();
    ASSERT_JSON(fake_input("fetch_portfolio", 0), "\"acct-1\"");
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": ["
                "{\"type\": \"assignment_risk\", \"severity\": \"warning\", \"symbol\": \"GOOGL\", "
                "\"message\": \"Assignment risk: short GOOGL put $160.00, 2 DTE, 7.5% in the money\", "
                "\"details\": {\"option_type\": \"put\", \"strike\": 160, \"dte\": 2, "
                "\"quantity\": -1, \"underlying_price\": 148.0}, \"channels\": [\"slack\"]},"
                "{\"type\": \"assignment_risk\", \"severity\": \"critical\", \"symbol\": \"AMD\", "
                "\"message\": \"Assignment risk: short AMD call $100.00, 1 DTE, 4.0% in the money\", "
                "\"details\": {\"option_type\": \"call\", \"strike\": 100, \"dte\": 1, "
                "\"quantity\": -2, \"underlying_price\": 104.0}, \"channels\": [\"slack\"]},"
                "{\"type\": \"concentration_warning\", \"severity\": \"warning\", \"symbol\": \"NVDA\", "
                "\"message\": \"Concentration warning: NVDA is 30.0% of portfolio\", "
                "\"details\": {\"position_percent\": 30.0}, \"channels\": [\"slack\"]}], "
                "\"alert_type\": \"portfolio\"}");

    /* Without the assignment check and with a higher limit, nothing goes
     * out once the throttle has let go (six minutes later). */
    mt_signal("pm", "update_config", "{\"check_assignment_risk\": false, "
                                     "\"max_position_percent\": 35}");
    mt_advance(6 * MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_portfolio"), 7);
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    /* A lower limit: MSFT at 20% passes 19.5%; NVDA was last sent at 0. */
    mt_signal("pm", "update_config", "{\"check_assignment_risk\": false, "
                                     "\"max_position_percent\": 19.5}");
    mt_advance(MT_MINUTE);
    ASSERT_EQ(fake_calls("route_alerts"), 2);
    json_t *routed = test_json(fake_input("route_alerts", 1));
    json_t *alerts = json_object_get(routed, "alerts");
    ASSERT_EQ(json_array_size(alerts), 2);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(alerts, 0), "symbol")), "NVDA");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(alerts, 1), "message")),
                  "Concentration warning: MSFT is 20.0% of portfolio");
    json_decref(routed);
    mt_check_replay("default", "pm", "get_status");
    mt_close();
}

void test_portfolio_throttle(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_portfolio("{\"day_pnl_percent\": -3, \"positions\": []}");
    mt_start("PortfolioMonitor", "pm", "{}");
    mt_settle();
    /* One alert per type and symbol per five minutes: at 0, then once more
     * than five minutes have passed (6, 12), never at exactly five. */
    mt_advance(13 * MT_MINUTE);
    ASSERT_EQ(fake_calls("fetch_portfolio"), 14);
    ASSERT_EQ(fake_calls("route_alerts"), 3);
    ASSERT_EQ(fake_call_time("route_alerts", 0), MT_T0);
    ASSERT_EQ(fake_call_time("route_alerts", 1), MT_T0 + 6 * MT_MINUTE);
    ASSERT_EQ(fake_call_time("route_alerts", 2), MT_T0 + 12 * MT_MINUTE);
    ASSERT_JSON(fake_input("route_alerts", 2),
                "{\"alerts\": [{\"type\": \"pnl_warning\", \"severity\": \"warning\", "
                "\"message\": \"Warning: Daily P&L at -3.0%\", \"details\": {\"pnl_percent\": -3}, "
                "\"channels\": [\"discord\"]}], \"alert_type\": \"portfolio\"}");
    mt_check_replay("default", "pm", "get_status");
    mt_close();
}

#define DEFAULT_CONFIG(margin_warning)                                                        \
    "{\"daily_loss_warning\": 2.0, \"daily_loss_critical\": 5.0, \"margin_warning\": "       \
    margin_warning ", \"margin_critical\": 85.0, \"check_assignment_risk\": true, "          \
    "\"assignment_risk_dte\": 3, \"max_position_percent\": 20.0}"

void test_portfolio_config_status_continue_as_new(void)
{
    mt_open(MT_FAKES, MT_T0);
    fake_portfolio("{\"margin_utilization\": 55, \"positions\": []}");
    mt_start("PortfolioMonitor", "pm", "{\"check_interval_minutes\": 1}");
    /* A start commits with the run's first task, so a query right after it
     * sees the configuration the code built from its input, never the
     * seed's initial None (as a Temporal query waits for the first task). */
    ASSERT_JSON(mt_query("pm", "get_status"),
                "{\"config\": " DEFAULT_CONFIG("70.0") ", \"shutting_down\": false}");
    mt_settle();
    ASSERT_JSON(mt_query("pm", "get_status"),
                "{\"config\": " DEFAULT_CONFIG("70.0") ", \"shutting_down\": false}");
    ASSERT_EQ(fake_calls("route_alerts"), 0);
    /* Fields the update lacks take their defaults (the seed's
     * PortfolioMonitorConfig(**config)). */
    mt_signal("pm", "update_config", "{\"margin_warning\": 50, \"daily_loss_warning\": 1}");
    mt_signal("pm", "update_config", "{\"margin_warning\": 50}");
    mt_settle();
    ASSERT_JSON(mt_query("pm", "get_status"),
                "{\"config\": " DEFAULT_CONFIG("50.0") ", \"shutting_down\": false}");
    const char *first = mt_run_id("default", "pm");
    /* Alerts at 1, 7, ..., 97 minutes; the 100th wait ends at 100: continue
     * as new. The carried throttle holds the alert back until 103. */
    mt_advance(104 * MT_MINUTE);
    ASSERT(strcmp(mt_run_id("default", "pm"), first) != 0);
    size_t n = fake_calls("route_alerts");
    ASSERT_EQ(n, 18);
    ASSERT_EQ(fake_call_time("route_alerts", 0), MT_T0 + MT_MINUTE);
    ASSERT_EQ(fake_call_time("route_alerts", n - 2), MT_T0 + 97 * MT_MINUTE);
    ASSERT_EQ(fake_call_time("route_alerts", n - 1), MT_T0 + 103 * MT_MINUTE);
    ASSERT_JSON(fake_input("route_alerts", n - 1),
                "{\"alerts\": [{\"type\": \"margin_warning\", \"severity\": \"warning\", "
                "\"message\": \"Warning: Margin utilization at 55%\", "
                "\"details\": {\"margin_utilization\": 55}, \"channels\": [\"discord\"]}], "
                "\"alert_type\": \"portfolio\"}");
    ASSERT_JSON(mt_query("pm", "get_status"),
                "{\"config\": " DEFAULT_CONFIG("50.0") ", \"shutting_down\": false}");
    mt_check_replay("default", "pm", "get_status");
    mt_signal("pm", "shutdown", NULL);
    mt_settle();
    ASSERT_EQ(mt_status("default", "pm"), STORE_RUN_COMPLETED);
    ASSERT_JSON(mt_query("pm", "get_status"),
                "{\"config\": " DEFAULT_CONFIG("50.0") ", \"shutting_down\": true}");
    mt_check_replay("default", "pm", "get_status");
    mt_close();
}
