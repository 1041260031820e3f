/* ttaid_system.c: the TTAI system's settings and first boot (ttaid_system.h). */
#include "ttaid_system.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activities.h"
#include "alerts/channels.h"
#include "alerts/route.h"
#include "market/market.h"
#include "schedules.h"
#include "server.h"

#define ALWAYS_MAX 4

int ttaid_system_configure(struct ttai_engine *eng, const struct ttaid_system_cfg *cfg,
                           struct ttai_err *err)
{
    int rc = act_global_init(err);
    if (rc == 0 && cfg->market_url != NULL) {
        struct market_config mc = {.base_url = cfg->market_url};
        rc = market_configure(&mc, err);
    }
    if (rc == 0 && cfg->channels_file != NULL) {
        json_error_t je;
        json_t *channels = json_load_file(cfg->channels_file, 0, &je);
        if (channels == NULL)
            return ttai_errf(err, TTAI_EINVAL, "alert channels '%s': line %d: %s",
                             cfg->channels_file, je.line, je.text);
        rc = alert_channels_configure(channels, err);
        json_decref(channels);
    }
    if (rc != 0)
        return rc;
    /* "a,b" -> the channels every alert also goes to. By default the
     * console and the live stream (GET .../alerts, the web console's
     * alert page); ttaid connects the stream's sink. */
    char list[256];
    snprintf(list, sizeof(list), "%s", cfg->always ? cfg->always : "console,stream");
    const char *always[ALWAYS_MAX + 1];
    size_t n = 0;
    char *save = NULL;
    for (char *name = strtok_r(list, ", ", &save); name != NULL; name = strtok_r(NULL, ", ", &save)) {
        if (n == ALWAYS_MAX)
            return ttai_errf(err, TTAI_EINVAL, "alert-always: at most %d channels", ALWAYS_MAX);
        if (alert_channel_type(name) == NULL)
            return ttai_errf(err, TTAI_EINVAL, "alert-always: channel '%s' is not configured",
                             name);
        always[n++] = name;
    }
    always[n] = NULL;
    return alert_route_configure(eng, always, err);
}

/* The background workflows of seed 001 (scripts/start_background_workflows.py).
 * The news watcher starts with the simulator's main symbols rather than
 * none, so that a first run shows news. */
static const struct { const char *id, *type, *input; } monitors[] = {
    {"news-watcher", "NewsWatcher",
     "{\"initial_symbols\": [\"AAPL\", \"MSFT\", \"NVDA\", \"TSLA\", \"SPY\"],"
     " \"check_interval_minutes\": 5}"},
    {"price-alerts", "PriceAlert", "{\"initial_alerts\": [], \"check_interval_seconds\": 10}"},
    /* Seed 003's rule-tree alerts; one bar a minute suits its indicators. */
    {"rule-alerts", "RuleAlerts", "{\"alerts\": [], \"check_interval_seconds\": 60}"},
    {"portfolio-monitor", "PortfolioMonitor",
     "{\"account_id\": \"default\", \"config\": {}, \"check_interval_minutes\": 1,"
     " \"notify_channels\": [\"discord\"]}"},
};

/* The schedules of seed 001 (scripts/setup_schedules.py). */
static const struct { const char *id, *def; } schedules[] = {
    {"morning-csp-scan",
     "{\"spec\": {\"cron\": \"35 9 * * 1-5\", \"timezone\": \"America/New_York\"},"
     " \"action\": {\"workflow_type\": \"ScheduledScreener\", \"input\": {"
     "\"screener_id\": \"morning-csp\", \"screener_params\": {\"max_price\": 100,"
     " \"min_roc_weekly\": 0.5, \"max_picks\": 10}, \"notify_channels\": [\"discord\"]}}}"},
    {"afternoon-scan",
     "{\"spec\": {\"cron\": \"0 14 * * 1-5\", \"timezone\": \"America/New_York\"},"
     " \"action\": {\"workflow_type\": \"ScheduledScreener\", \"input\": {"
     "\"screener_id\": \"afternoon-opportunities\", \"screener_params\": {\"max_price\": 75,"
     " \"min_roc_weekly\": 0.6, \"max_picks\": 5}, \"notify_channels\": [\"discord\"]}}}"},
    {"daily-report",
     "{\"spec\": {\"cron\": \"30 16 * * 1-5\", \"timezone\": \"America/New_York\"},"
     " \"action\": {\"workflow_type\": \"DailyReport\", \"input\": {\"account_id\": \"default\","
     " \"notify_channels\": [\"email\", \"discord\"]}}}"},
    {"weekly-summary",
     "{\"spec\": {\"cron\": \"0 17 * * 5\", \"timezone\": \"America/New_York\"},"
     " \"action\": {\"workflow_type\": \"WeeklyReport\", \"input\": {\"account_id\": \"default\","
     " \"notify_channels\": [\"email\"]}}}"},
};

int ttaid_system_boot(struct ttai_engine *eng, const struct ttaid_system_cfg *cfg,
                      struct ttai_err *err)
{
    const char *ns = cfg->ns ? cfg->ns : "default";
    for (size_t i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++) {
        struct ttai_buf in;
        ttai_buf_init(&in);
        int rc = ttai_payload_from_json(monitors[i].input, strlen(monitors[i].input), &in, err);
        /* Open: kept. Closed (shut down on purpose): not restarted. */
        struct ttai_start_opts opts = {.id_conflict = TTAI_CONFLICT_USE_EXISTING,
                                       .id_reuse = TTAI_REUSE_REJECT};
        struct ttai_run_id run;
        if (rc == 0)
            rc = ttai_engine_start(eng, ns, monitors[i].type, monitors[i].id,
                                   ttai_buf_payload(&in), &opts, &run, err);
        ttai_buf_release(&in);
        if (rc == TTAI_EEXIST) {
            ttai_log(TTAI_LOG_INFO, "boot", "%s: closed earlier, not restarted", monitors[i].id);
        } else if (rc != 0) {
            return rc;
        } else {
            char rid[TTAI_RUN_ID_TEXT];
            ttai_log(TTAI_LOG_INFO, "boot", "%s: running (%s)", monitors[i].id,
                     ttai_run_id_format(&run, rid));
        }
    }
    for (size_t i = 0; i < sizeof(schedules) / sizeof(schedules[0]); i++) {
        json_t *def = json_loads(schedules[i].def, 0, NULL);
        TTAI_ASSERT(def != NULL);
        int rc = ttai_schedule_create(eng, ns, schedules[i].id, def, err);
        json_decref(def);
        if (rc == TTAI_EEXIST)
            ttai_log(TTAI_LOG_INFO, "boot", "schedule %s: exists, kept", schedules[i].id);
        else if (rc != 0)
            return rc;
        else
            ttai_log(TTAI_LOG_INFO, "boot", "schedule %s: created", schedules[i].id);
    }
    return 0;
}
