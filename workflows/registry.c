/* registry.c: every workflow and activity type built into ttai programs
 * (ttaid, ttai-history replay). A type is added here once it exists.
 *
 * The TTAI workflows call activities that live in activities/ (market
 * data, alert routing); programs that run them combine this registry's
 * workflows with those activity lists. */
#include "workflows.h"

const struct ttai_workflow_def *const wf_ttai_workflows[] = {
    &wf_news_watcher,
    &wf_price_alert,
    &wf_portfolio_monitor,
    &wf_user_monitor,
    &wf_scheduled_screener,
    &wf_daily_report,
    &wf_weekly_report,
    NULL,
};

static const struct ttai_workflow_def *const builtin_workflows[] = {
    &wf_hello,
    &wf_counter,
    &wf_news_watcher,
    &wf_price_alert,
    &wf_portfolio_monitor,
    &wf_user_monitor,
    &wf_scheduled_screener,
    &wf_daily_report,
    &wf_weekly_report,
    NULL,
};

static const struct ttai_activity_def *const builtin_activities[] = {
    &act_greet,
    NULL,
};

const struct ttai_registry wf_builtin_registry = {builtin_workflows, builtin_activities};
