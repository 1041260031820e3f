/* route.h: the "route_alerts" activity: the seed's route_alerts_activity.
 *
 * Monitors call it with {"alerts": [...], "alert_type": "price" | "news" |
 * "portfolio" | "screener" | "report"}, each alert in its workflow's own
 * shape (docs/monitors.md). The activity turns each into a canonical alert
 * (alert.h: id from alert_id/article_id/id, category from alert_type, the
 * whole original object as data), resolves its channels against the
 * process's channel configuration (channels that are not configured are
 * dropped; the configured "always" channels are added), and hands the
 * batch to the AlertRouter workflow of the caller's namespace by
 * signal-with-start (workflow id "alert-router", signal "route"). The
 * router deduplicates, so a retried attempt that signals twice delivers
 * once.
 */
#ifndef TTAI_ALERTS_ROUTE_H
#define TTAI_ALERTS_ROUTE_H

#include "ttai.h"

#define ALERT_ROUTER_WORKFLOW_ID "alert-router"
#define ALERT_ROUTER_TYPE "AlertRouter"

/* The engine the activity signals, and the channels every alert also
 * goes to (NULL-terminated, copied; NULL: none). Call before the engine
 * runs activities; eng NULL disconnects (the activity then fails,
 * retryably). */
int alert_route_configure(struct ttai_engine *eng, const char *const *always,
                          struct ttai_err *err) TTAI_MUST_CHECK;

extern const struct ttai_activity_def alert_route_def;   /* "route_alerts" */

#endif /* TTAI_ALERTS_ROUTE_H */
