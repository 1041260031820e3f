/* screener.c: the ScheduledScreener workflow (seed 001's
 * ScheduledScreenerWorkflow), started by the morning-csp-scan and
 * afternoon-scan schedules.
 *
 * It runs the CSP screener (run_screener) with screener_params and, when
 * notify_channels is not empty and the screener recommends something,
 * routes one "screener" alert with the top five picks. The seed's separate
 * store_screener_results activity is replaced by the workflow's result,
 * which the engine keeps durably: it carries the recommendations besides
 * the seed's summary fields.
 *
 * Input: {"screener_id": "morning-csp", "screener_params": {...},
 *         "notify_channels": []}
 * Result: {"screener_id", "run_time", "candidates_screened",
 *          "recommendations_count", "recommendations"}
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

#include "monitor.h"

#define SCREENER_MESSAGE_MAX 2048
#define SCREENER_TOP 5

/* The seed's _format_results_message. */
static void format_message(const msgpack_object *recs, char *out, size_t size)
{
    uint32_t n = mon_is_array(recs) ? recs->via.array.size : 0;
    out[0] = '\0';
    if (n == 0) {
        mon_textf(out, size, "No opportunities found meeting criteria.");
        return;
    }
    mon_textf(out, size, "Found %u opportunities:", n);
    for (uint32_t i = 0; i < n && i < SCREENER_TOP; i++) {
        const msgpack_object *rec = &recs->via.array.ptr[i];
        char symbol[64], strike[48], exp[48], roc[48];
        mon_fmt_value(symbol, sizeof(symbol), mon_get(rec, "symbol"), "?");
        mon_fmt_value(strike, sizeof(strike), mon_get(rec, "best_strike"), "?");
        mon_fmt_value(exp, sizeof(exp), mon_get(rec, "best_expiration"), "?");
        mon_fmt_fixed(roc, sizeof(roc), mon_num(rec, "weekly_roc", 0), 2);
        mon_textf(out, size, "\n  - %s: $%s put, exp %s, %s%%/wk", symbol, strike, exp, roc);
    }
    if (n > SCREENER_TOP)
        mon_textf(out, size, "\n  ... and %u more", n - SCREENER_TOP);
}

static void scheduled_screener_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    char screener_id[MON_ID_MAX];
    struct mon_channels channels = {0};
    struct mon_doc doc;
    mon_doc_open(&doc, input);
    bool ok = mon_str(mon_get(&doc.root, "screener_id"), screener_id, sizeof(screener_id));
    const msgpack_object *channel_list = mon_get(&doc.root, "notify_channels");
    ok = ok && (channel_list == NULL || mon_channels_read(&channels, channel_list));
    struct ttai_buf b;
    ttai_buf_init(&b);
    const msgpack_object *params = mon_get(&doc.root, "screener_params");
    if (mon_is_map(params))
        mon_buf_object(&b, params);
    else
        ttai_buf_map(&b, 0);
    mon_doc_close(&doc);
    struct ttai_payload screener_input = mon_keep(wf, &b);
    if (!ok)
        ttai_wf_fail(wf, "BadInput",
                     "ScheduledScreener needs a screener_id string and notify_channels as an "
                     "array of channel names");

    struct ttai_result res;
    if (ttai_wf_activity(wf, MON_ACT_RUN_SCREENER, screener_input, &mon_opts_screener, &res) != 0)
        ttai_wf_fail(wf, res.error_type, res.error_message);
    struct ttai_payload result = res.value;
    char run_time[40];
    ttai_time_format(ttai_wf_now(wf), run_time, sizeof(run_time));

    mon_doc_open(&doc, result);
    const msgpack_object *recs = mon_get(&doc.root, "recommendations");
    uint32_t rec_count = mon_is_array(recs) ? recs->via.array.size : 0;
    struct mon_alerts alerts;
    mon_alerts_init(&alerts);
    if (channels.count > 0 && rec_count > 0) {
        char message[SCREENER_MESSAGE_MAX], title[128];
        format_message(recs, message, sizeof(message));
        snprintf(title, sizeof(title), "CSP Screener Results: %s", screener_id);
        struct ttai_buf *a = &alerts.items;
        ttai_buf_map(a, 7);
        mon_kv_str(a, "type", "screener_results");
        mon_kv_str(a, "severity", "info");
        mon_kv_str(a, "title", title);
        mon_kv_str(a, "message", message);
        mon_kv_str(a, "screener_id", screener_id);
        ttai_buf_str(a, "channels");
        mon_channels_pack(&channels, a);
        mon_kv_obj(a, "data", &doc.root);
        alerts.count = 1;
    }
    ttai_buf_init(&b);
    ttai_buf_map(&b, 5);
    mon_kv_str(&b, "screener_id", screener_id);
    mon_kv_str(&b, "run_time", run_time);
    const msgpack_object *screened = mon_get(&doc.root, "candidates_screened");
    if (screened != NULL)
        mon_kv_obj(&b, "candidates_screened", screened);
    else
        mon_kv_int(&b, "candidates_screened", 0);
    mon_kv_int(&b, "recommendations_count", rec_count);
    ttai_buf_str(&b, "recommendations");
    if (mon_is_array(recs))
        mon_buf_object(&b, recs);
    else
        ttai_buf_array(&b, 0);
    mon_doc_close(&doc);
    struct ttai_payload summary = mon_keep(wf, &b);

    /* As in the seed, a notification that cannot be sent fails the run. */
    if (mon_route(wf, "screener", &alerts) != 0)
        ttai_wf_fail(wf, "RouteFailed", "route_alerts failed for the screener results");
    ttai_wf_complete(wf, summary);
}

const struct ttai_workflow_def wf_scheduled_screener = {
    .type = "ScheduledScreener",
    .run = scheduled_screener_run,
};
