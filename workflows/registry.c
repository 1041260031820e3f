/* registry.c: every workflow and activity type built into ttai programs
 * (ttaid, ttai-history replay). A type is added here once it exists.
 *
 * The TTAI workflows call activities that live in activities/ (market
 * data, alert routing); programs that run them combine this registry's
 * workflows with those activity lists. */
#include "workflows.h"

#include "alerts/channels.h"
#include "alerts/route.h"
#include "market/market.h"

const struct ttai_workflow_def *const wf_ttai_workflows[] = {
    &wf_news_watcher,
    &wf_price_alert,
    &wf_rule_alerts,
    &wf_portfolio_monitor,
    &wf_user_monitor,
    &wf_scheduled_screener,
    &wf_daily_report,
    &wf_weekly_report,
    &wf_alert_router,
    NULL,
};

static const struct ttai_workflow_def *const builtin_workflows[] = {
    &wf_hello,
    &wf_counter,
    &wf_bench_monitor,
    &wf_torture,
    &wf_news_watcher,
    &wf_price_alert,
    &wf_rule_alerts,
    &wf_portfolio_monitor,
    &wf_user_monitor,
    &wf_scheduled_screener,
    &wf_daily_report,
    &wf_weekly_report,
    &wf_alert_router,
    NULL,
};

static const struct ttai_activity_def *const builtin_activities[] = {
    &act_greet,
    &act_bench_noop,
    &act_sink_effect,
    /* activities/market: the data providers */
    &market_fetch_quotes_def,
    &market_check_news_def,
    &market_fetch_portfolio_def,
    &market_run_screener_def,
    &market_fetch_analysis_history_def,
    /* activities/alerts: routing and delivery */
    &alert_route_def,
    &alert_deliver_def,
    &alert_deliver_discord_def,
    &alert_deliver_slack_def,
    &alert_deliver_webhook_def,
    &alert_deliver_email_def,
    &alert_deliver_console_def,
    &alert_deliver_stream_def,
    NULL,
};

const struct ttai_registry wf_builtin_registry = {builtin_workflows, builtin_activities};
