/* workflows.h: the workflow types built into ttai programs. */
#ifndef TTAI_WORKFLOWS_H
#define TTAI_WORKFLOWS_H

#include "ttai.h"

/* Samples (workflows/samples): hello, counter and bench_monitor (the W2
 * loop of ttai-bench e2e), with their activities. */
extern const struct ttai_workflow_def wf_hello;
extern const struct ttai_workflow_def wf_counter;
extern const struct ttai_workflow_def wf_bench_monitor;
extern const struct ttai_activity_def act_greet;
extern const struct ttai_activity_def act_bench_noop;
extern const struct ttai_registry wf_samples_registry;
/* The torture test's workload (samples/torture.c): activities with injected
 * failures that leave side effects in TTAI_SAMPLE_SINK, timers and
 * continue-as-new. */
extern const struct ttai_workflow_def wf_torture;
extern const struct ttai_activity_def act_sink_effect;

/* The TTAI system (workflows/ttai/, docs/monitors.md): continuous
 * monitors and scheduled jobs. They call the activities route_alerts,
 * fetch_quotes, check_news, fetch_portfolio, run_screener and
 * fetch_analysis_history by name; those live in activities/. */
extern const struct ttai_workflow_def wf_news_watcher;        /* "NewsWatcher" */
extern const struct ttai_workflow_def wf_price_alert;         /* "PriceAlert" */
extern const struct ttai_workflow_def wf_rule_alerts;         /* "RuleAlerts" */
extern const struct ttai_workflow_def wf_portfolio_monitor;   /* "PortfolioMonitor" */
extern const struct ttai_workflow_def wf_user_monitor;        /* "UserMonitor" */
extern const struct ttai_workflow_def wf_scheduled_screener;  /* "ScheduledScreener" */
extern const struct ttai_workflow_def wf_daily_report;        /* "DailyReport" */
extern const struct ttai_workflow_def wf_weekly_report;       /* "WeeklyReport" */
/* Alert routing (workflows/ttai/alert_router.c, docs/alerts.md): one per
 * namespace, fed by the route_alerts activity. */
extern const struct ttai_workflow_def wf_alert_router;        /* "AlertRouter" */
/* The TTAI types above, NULL-terminated. */
extern const struct ttai_workflow_def *const wf_ttai_workflows[];

/* Every built-in type (registry.c): what ttaid runs and ttai-history
 * replays. */
extern const struct ttai_registry wf_builtin_registry;

#endif
