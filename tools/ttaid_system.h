/* ttaid_system.h: the TTAI system as ttaid runs it: the outside world's
 * settings (market data service, alert channels) and the first-boot set-up
 * of seed 001 (background monitors and schedules). */
#ifndef TTAI_TTAID_SYSTEM_H
#define TTAI_TTAID_SYSTEM_H

#include <stdbool.h>

#include "ttai.h"

struct ttaid_system_cfg {
    const char *market_url;        /* the data service (ttai-marketsim); NULL: none */
    const char *channels_file;     /* JSON channel configuration (docs/alerts.md); NULL: none */
    const char *always;            /* channels every alert also goes to, "a,b"; NULL: "console,stream" */
    bool boot;                     /* start the monitors and create the schedules */
    const char *ns;                /* where; NULL: "default" */
};

/* Configures the activities of activities/ (HTTP, market data, alert
 * channels, route_alerts on eng). Before the engine thread runs. */
int ttaid_system_configure(struct ttai_engine *eng, const struct ttaid_system_cfg *cfg,
                           struct ttai_err *err) TTAI_MUST_CHECK;

/* Idempotently starts news-watcher, price-alerts and portfolio-monitor
 * (a run that exists, open or closed, is left as it is) and creates the
 * four schedules of seed 001 (an existing one is kept). Reports what it
 * did through the log. */
int ttaid_system_boot(struct ttai_engine *eng, const struct ttaid_system_cfg *cfg,
                      struct ttai_err *err) TTAI_MUST_CHECK;

#endif /* TTAI_TTAID_SYSTEM_H */
