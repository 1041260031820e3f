/* test_scheduled.c: the scheduled jobs: ScheduledScreener, DailyReport and
 * WeeklyReport, their activity inputs, alerts and results. */
#include "mon_test.h"

#include "store.h"

#define REC(sym, strike, roc)                                                                 \
    "{\"symbol\": \"" sym "\", \"best_strike\": " strike ", \"best_expiration\": "          \
    "\"2026-01-09\", \"weekly_roc\": " roc "}"
#define RECS                                                                                  \
    "[" REC("INTC", "22.5", "1.633") "," REC("F", "11", "1.2") "," REC("SOFI", "14.5", "1.1") \
    "," REC("BAC", "42.5", "0.9") "," REC("PLTR", "60", "0.805") "," REC("AMD", "95", "0.7")   \
    ", {\"symbol\": \"X\"}]"
#define SCREENER_ANSWER "{\"screener\": \"csp\", \"candidates_screened\": 15, \"recommendations\": " RECS "}"
#define MESSAGE                                                                               \
    "Found 7 opportunities:\\n  - INTC: $22.5 put, exp 2026-01-09, 1.63%/wk\\n"             \
    "  - F: $11 put, exp 2026-01-09, 1.20%/wk\\n  - SOFI: $14.5 put, exp 2026-01-09, 1.10%/wk\\n" \
    "  - BAC: $42.5 put, exp 2026-01-09, 0.90%/wk\\n  - PLTR: $60 put, exp 2026-01-09, 0.81%/wk\\n" \
    "  ... and 2 more"

void test_screener_output(void)
{
    mt_open(MT_FAKES, MT_T0 + 5 * MT_MINUTE);
    fake_screener(SCREENER_ANSWER);
    mt_start("ScheduledScreener", "morning-csp-scan",
             "{\"screener_id\": \"morning-csp\", \"screener_params\": {\"max_price\": 100, "
             "\"min_roc_weekly\": 0.5, \"max_picks\": 10}, \"notify_channels\": [\"discord\"]}");
    mt_settle();
    ASSERT_JSON(fake_input("run_screener", 0),
                "{\"max_price\": 100, \"min_roc_weekly\": 0.5, \"max_picks\": 10}");
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"type\": \"screener_results\", \"severity\": \"info\", "
                "\"title\": \"CSP Screener Results: morning-csp\", \"message\": \"" MESSAGE "\", "
                "\"screener_id\": \"morning-csp\", \"channels\": [\"discord\"], "
                "\"data\": " SCREENER_ANSWER "}], \"alert_type\": \"screener\"}");
    ASSERT_JSON(mt_result("morning-csp-scan"),
                "{\"screener_id\": \"morning-csp\", \"run_time\": \"2026-01-05T14:35:00.000Z\", "
                "\"candidates_screened\": 15, \"recommendations_count\": 7, "
                "\"recommendations\": " RECS "}");
    mt_check_replay("default", "morning-csp-scan", NULL);

    /* No channels, or nothing found: no notification. */
    mt_start("ScheduledScreener", "quiet", "{\"screener_id\": \"q\", \"screener_params\": {}}");
    fake_screener("{\"candidates_screened\": 3, \"recommendations\": []}");
    mt_start("ScheduledScreener", "empty", "{\"screener_id\": \"e\", \"notify_channels\": [\"discord\"]}");
    mt_settle();
    ASSERT_EQ(fake_calls("route_alerts"), 1);
    ASSERT_EQ(fake_calls("run_screener"), 3);
    ASSERT(mt_find_call("run_screener", "{}") >= 0);
    ASSERT_JSON(mt_result("empty"),
                "{\"screener_id\": \"e\", \"run_time\": \"2026-01-05T14:35:00.000Z\", "
                "\"candidates_screened\": 3, \"recommendations_count\": 0, \"recommendations\": []}");
    mt_check_replay("default", "quiet", NULL);
    mt_check_replay("default", "empty", NULL);

    /* Bad input, or the screener failing: the run fails. */
    mt_start("ScheduledScreener", "bad", "{\"screener_params\": {}}");
    fake_fail("run_screener", true);
    mt_start("ScheduledScreener", "down", "{\"screener_id\": \"d\"}");
    mt_settle();
    ASSERT_EQ(mt_status("default", "bad"), STORE_RUN_FAILED);
    ASSERT_EQ(mt_status("default", "down"), STORE_RUN_FAILED);
    ASSERT(strstr(mt_result("down"), "run_screener is down") != NULL);
    mt_check_replay("default", "down", NULL);
    mt_close();
}

#define DAILY_PORTFOLIO                                                                       \
    "{\"total_value\": 172278.96, \"day_pnl\": -71.04, \"day_pnl_percent\": -0.04, "         \
    "\"position_count\": 3, \"buying_power\": 76282.97, \"positions\": ["                    \
    "{\"symbol\": \"NVDA\", \"position_type\": \"stock\", \"pnl_percent\": 4.9, "            \
    " \"notes\": \"long stock\"},"                                                          \
    "{\"symbol\": \"GOOGL\", \"dte\": 4, \"pnl_percent\": -3, "                             \
    " \"notes\": \"short put, 4 DTE, in the money\"},"                                      \
    "{\"symbol\": \"TSLA\", \"pnl_percent\": -25.0}]}"
#define DAILY_REPORT                                                                          \
    "# Daily Portfolio Report - 2026-01-05\\n\\n## Portfolio Summary\\n"                     \
    "- **Total Value:** $172,278.96\\n- **Day P&L:** $-71.04 (-0.04%)\\n"                    \
    "- **Open Positions:** 3\\n- **Buying Power:** $76,282.97\\n\\n## Today's Activity\\n"    \
    "- Analyzed 3 symbols\\n- 2 opportunities identified\\n\\n"                               \
    "## Positions Requiring Attention\\n- **GOOGL**: short put, 4 DTE, in the money\\n"      \
    "- **TSLA**: Review needed"

void test_daily_report_output(void)
{
    /* 16:30 in New York: 21:30 UTC. */
    mt_open(MT_FAKES, MT_T0 + 7 * MT_HOUR);
    fake_portfolio(DAILY_PORTFOLIO);
    fake_analyses("[{\"symbol\": \"AAPL\", \"recommendation\": \"select\"}, "
                  "{\"symbol\": \"MSFT\", \"recommendation\": \"skip\"}, "
                  "{\"symbol\": \"F\", \"recommendation\": \"select\"}]");
    mt_start("DailyReport", "daily-report",
             "{\"account_id\": \"default\", \"notify_channels\": [\"email\", \"discord\"]}");
    mt_settle();
    ASSERT_JSON(fake_input("fetch_portfolio", 0), "\"default\"");
    ASSERT_JSON(fake_input("fetch_analysis_history", 0), "{\"date\": \"2026-01-05\"}");
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"type\": \"daily_report\", \"severity\": \"info\", "
                "\"title\": \"Daily Report - 2026-01-05\", \"message\": \"" DAILY_REPORT "\", "
                "\"format\": \"markdown\", \"channels\": [\"email\", \"discord\"]}], "
                "\"alert_type\": \"report\"}");
    ASSERT_JSON(mt_result("daily-report"),
                "{\"report_date\": \"2026-01-05\", \"sent\": true, \"report\": \"" DAILY_REPORT "\"}");
    mt_check_replay("default", "daily-report", NULL);

    /* A quiet day with the defaults (account "default", e-mail). */
    fake_portfolio("{\"total_value\": 1234567.5, \"day_pnl\": 1000, \"positions\": []}");
    fake_analyses("[]");
    mt_start("DailyReport", "quiet", "{}");
    mt_settle();
    ASSERT_JSON(mt_result("quiet"),
                "{\"report_date\": \"2026-01-05\", \"sent\": true, \"report\": "
                "\"# Daily Portfolio Report - 2026-01-05\\n\\n## Portfolio Summary\\n"
                "- **Total Value:** $1,234,567.50\\n- **Day P&L:** $1,000.00 (0.00%)\\n"
                "- **Open Positions:** 0\\n- **Buying Power:** $0.00\\n\\n## Today's Activity\\n"
                "- No analyses run today\\n\\n## Positions Requiring Attention\\n- None\"}");
    json_t *routed = test_json(fake_input("route_alerts", 1));
    json_t *channels = json_object_get(json_array_get(json_object_get(routed, "alerts"), 0), "channels");
    ASSERT_EQ(json_array_size(channels), 1);
    ASSERT_STR_EQ(json_string_value(json_array_get(channels, 0)), "email");
    json_decref(routed);
    /* Routing down: the report fails (the seed raises). */
    fake_fail("route_alerts", true);
    mt_start("DailyReport", "undelivered", "{}");
    mt_settle();
    ASSERT_EQ(mt_status("default", "undelivered"), STORE_RUN_FAILED);
    mt_check_replay("default", "quiet", NULL);
    mt_check_replay("default", "undelivered", NULL);
    mt_close();
}

/* A provider with history: day d of January 2026 (as_of) has total value
 * 100,000 + 1,000 (d - 2), NVDA unrealized P&L 100 d, GOOGL -50 d. */
static char *portfolio_history(const char *as_of, const char *account)
{
    int day = 0;
    ASSERT(as_of != NULL && sscanf(as_of, "2026-01-%2dT", &day) == 1);
    ASSERT(strcmp(account, "default") == 0);
    char *text = malloc(1024);
    ASSERT(text != NULL);
    snprintf(text, 1024,
             "{\"account_id\": \"default\", \"as_of\": \"%s\", \"total_value\": %d, "
             "\"day_pnl\": 1000, \"day_pnl_percent\": 1.0, \"margin_utilization\": %d, "
             "\"positions\": [{\"id\": \"s1\", \"symbol\": \"NVDA\", \"unrealized_pnl\": %d}, "
             "{\"id\": \"o1\", \"symbol\": \"GOOGL\", \"unrealized_pnl\": %d, \"dte\": %d, "
             "\"notes\": \"short put\"}%s]}",
             as_of, 100000 + 1000 * (day - 2), 50 + day, 100 * day, -50 * day, 9 - day,
             day == 9 ? ", {\"id\": \"n1\", \"symbol\": \"F\", \"unrealized_pnl\": 50}" : "");
    return text;
}

/* A provider without history: always now's portfolio. */
static char *portfolio_now(const char *as_of, const char *account)
{
    (void)as_of;
    return portfolio_history("2026-01-09T22:00:05.000Z", account);
}

#define DAY(d, total, margin)                                                                  \
    "{\"date\": \"2026-01-0" d "\", \"total_value\": " total ", \"day_pnl\": 1000, "          \
    "\"day_pnl_percent\": 1.0, \"margin_utilization\": " margin "}"
#define WEEKLY_REPORT                                                                          \
    "# Weekly Portfolio Report - week ending 2026-01-09\\n\\n## Summary\\n"                    \
    "- **Start Value:** $100,000.00\\n- **End Value:** $107,000.00\\n"                         \
    "- **Week P&L:** $7,000.00 (7.00%)\\n- **Sum of Daily P&L:** $5,000.00\\n"                \
    "- **Peak Margin Utilization:** 59.0%\\n\\n## Daily\\n"                                    \
    "- 2026-01-05: $103,000.00 (day P&L $1,000.00, 1.00%)\\n"                                  \
    "- 2026-01-06: $104,000.00 (day P&L $1,000.00, 1.00%)\\n"                                  \
    "- 2026-01-07: $105,000.00 (day P&L $1,000.00, 1.00%)\\n"                                  \
    "- 2026-01-08: $106,000.00 (day P&L $1,000.00, 1.00%)\\n"                                  \
    "- 2026-01-09: $107,000.00 (day P&L $1,000.00, 1.00%)\\n\\n"                               \
    "## Best and Worst Positions\\n- Best: **NVDA** ($700.00)\\n- Worst: **GOOGL** ($-350.00)\\n\\n" \
    "## Positions Requiring Attention\\n- **GOOGL**: short put"

void test_weekly_report_output(void)
{
    /* Friday 2026-01-09, 17:00 in New York (22:00 UTC). */
    mt_open(MT_FAKES, MT_T0 + 4 * MT_DAY + 7 * MT_HOUR + 30 * MT_MINUTE);
    fake_portfolio_fn(portfolio_history);
    mt_start("WeeklyReport", "weekly-summary", "{\"account_id\": \"default\", \"notify_channels\": [\"email\"]}");
    mt_settle();
    /* Now, the four weekdays before, and the previous Friday: no weekend. */
    ASSERT_EQ(fake_calls("fetch_portfolio"), 6);
    const char *days[] = {"02", "05", "06", "07", "08", "09"};
    for (size_t i = 0; i < 6; i++) {
        char want[128];
        snprintf(want, sizeof(want),
                 "{\"account_id\": \"default\", \"as_of\": \"2026-01-%sT22:00:00.000Z\"}", days[i]);
        ASSERT(mt_find_call("fetch_portfolio", want) >= 0);
    }
    ASSERT_JSON(mt_result("weekly-summary"),
                "{\"account_id\": \"default\", \"week_ending\": \"2026-01-09\", "
                "\"run_time\": \"2026-01-09T22:00:00.000Z\", \"history\": true, \"days\": ["
                DAY("5", "103000", "55") "," DAY("6", "104000", "56") "," DAY("7", "105000", "57") ","
                DAY("8", "106000", "58") "," DAY("9", "107000", "59") "], "
                "\"start_value\": 100000.0, \"end_value\": 107000.0, \"week_pnl\": 7000.0, "
                "\"week_pnl_percent\": 7.0, \"sum_day_pnl\": 5000.0, "
                "\"max_margin_utilization\": 59.0, "
                "\"best_position\": {\"id\": \"s1\", \"symbol\": \"NVDA\", \"pnl_change\": 700.0}, "
                "\"worst_position\": {\"id\": \"o1\", \"symbol\": \"GOOGL\", \"pnl_change\": -350.0}, "
                "\"attention\": [{\"symbol\": \"GOOGL\", \"notes\": \"short put\"}], "
                "\"sent\": true, \"report\": \"" WEEKLY_REPORT "\"}");
    ASSERT_JSON(fake_input("route_alerts", 0),
                "{\"alerts\": [{\"type\": \"weekly_report\", \"severity\": \"info\", "
                "\"title\": \"Weekly Report - week ending 2026-01-09\", \"message\": \""
                WEEKLY_REPORT "\", \"format\": \"markdown\", \"channels\": [\"email\"]}], "
                "\"alert_type\": \"report\"}");
    mt_check_replay("default", "weekly-summary", NULL);

    /* A provider that ignores as_of: only the current snapshot counts. */
    fake_portfolio_fn(portfolio_now);
    mt_start("WeeklyReport", "weekly-2", "{}");
    mt_settle();
    json_t *res = test_json(mt_result("weekly-2"));
    ASSERT(json_is_false(json_object_get(res, "history")));
    ASSERT_EQ(json_array_size(json_object_get(res, "days")), 1);
    ASSERT(json_is_null(json_object_get(res, "start_value")));
    ASSERT(json_is_null(json_object_get(res, "week_pnl")));
    ASSERT(json_is_null(json_object_get(res, "best_position")));
    ASSERT(strstr(json_string_value(json_object_get(res, "report")),
                  "- **Week P&L:** n/a (no snapshot of 2026-01-02)") != NULL);
    json_decref(res);
    mt_check_replay("default", "weekly-2", NULL);

    /* The current snapshot failing fails the report. */
    fake_fail("fetch_portfolio", true);
    mt_start("WeeklyReport", "weekly-3", "{}");
    mt_settle();
    ASSERT_EQ(mt_status("default", "weekly-3"), STORE_RUN_FAILED);
    mt_check_replay("default", "weekly-3", NULL);
    mt_close();
}
