/* route.c: the "route_alerts" activity (route.h). */
#include "route.h"

#include "alert.h"
#include "channels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ALWAYS_MAX 4

static pthread_mutex_t route_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ttai_engine *route_engine;
static char route_always[ALWAYS_MAX][ALERT_NAME_MAX + 1];
static size_t route_always_count;

int alert_route_configure(struct ttai_engine *eng, const char *const *always,
                          struct ttai_err *err)
{
    size_t n = 0;
    for (; always != NULL && always[n] != NULL; n++)
        if (n == ALWAYS_MAX || strlen(always[n]) == 0 || strlen(always[n]) > ALERT_NAME_MAX)
            return ttai_errf(err, TTAI_EINVAL, "route_alerts: at most %d channel names of 1 to "
                             "%d bytes", ALWAYS_MAX, ALERT_NAME_MAX);
    pthread_mutex_lock(&route_mu);
    route_engine = eng;
    for (size_t i = 0; i < n; i++)
        strcpy(route_always[i], always[i]);
    route_always_count = n;
    pthread_mutex_unlock(&route_mu);
    return 0;
}

static const char *str_member(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL && *v != '\0' ? v : NULL;
}

/* The severity a monitor left unsaid: price alerts are warnings (the
 * seed's prioritizer ranks them above news and reports). */
static const char *default_severity(const char *category)
{
    return category != NULL && strcmp(category, "price") == 0 ? "warning" : "info";
}

static void add_channel(struct alert *a, const char *name)
{
    for (size_t i = 0; i < a->channel_count; i++)
        if (strcmp(a->channels[i], name) == 0)
            return;
    if (a->channel_count < ALERT_CHANNELS_MAX)
        a->channels[a->channel_count++] = name;
}

/* Packs one monitor alert as a canonical alert into out. */
static int pack_alert(const json_t *raw, const char *category, int64_t now_ms,
                      struct ttai_buf *out, struct ttai_err *err)
{
    if (!json_is_object(raw))
        return ttai_errf(err, TTAI_EINVAL, "route_alerts: an alert is not an object");
    struct alert a;
    alert_init(&a);
    a.id = str_member(raw, "alert_id");
    if (a.id == NULL)
        a.id = str_member(raw, "article_id");
    if (a.id == NULL)
        a.id = str_member(raw, "id");
    a.type = str_member(raw, "type");
    a.category = category;
    a.severity = str_member(raw, "severity");
    if (a.severity == NULL)
        a.severity = default_severity(category);
    a.symbol = str_member(raw, "symbol");
    a.title = str_member(raw, "title");
    a.message = str_member(raw, "message");
    if (a.message == NULL)
        a.message = str_member(raw, "headline");
    a.timestamp_ms = now_ms;
    json_t *channels = json_object_get(raw, "channels");
    size_t i;
    json_t *c;
    json_array_foreach(channels, i, c) {
        const char *name = json_string_value(c);
        if (name != NULL && alert_channel_type(name) != NULL)
            add_channel(&a, name);
    }
    for (i = 0; i < route_always_count; i++)
        add_channel(&a, route_always[i]);
    /* The monitor's whole alert rides along as data, when it fits. */
    struct ttai_buf data;
    ttai_buf_init(&data);
    char *text = json_dumps(raw, JSON_COMPACT);
    if (text != NULL && ttai_payload_from_json(text, strlen(text), &data, NULL) == 0 &&
        ttai_buf_payload(&data).len <= ALERT_DATA_BYTES_MAX)
        a.data = ttai_buf_payload(&data);
    free(text);
    int rc = alert_check(&a, err);
    if (rc == 0)
        alert_pack(&a, out);
    ttai_buf_release(&data);
    return rc;
}

static int route_alerts(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                        struct ttai_buf *out)
{
    char *text = ttai_payload_to_json(input);
    json_t *in = text ? json_loads(text, 0, NULL) : NULL;
    ttai_free(text);
    json_t *alerts = json_object_get(in, "alerts");
    const char *category = str_member(in, "alert_type");
    if (!json_is_array(alerts)) {
        json_decref(in);
        return ttai_activity_fail(ctx, "AlertInvalid", false,
                                  "route_alerts: input needs {\"alerts\": [...], \"alert_type\"}");
    }
    struct ttai_buf batch;
    ttai_buf_init(&batch);
    struct ttai_err err = {0};
    int64_t now_ms = ttai_wall_ms();
    size_t count = json_array_size(alerts);
    pthread_mutex_lock(&route_mu);
    struct ttai_engine *eng = route_engine;
    ttai_buf_array(&batch, (uint32_t)count);
    int rc = 0;
    size_t i;
    json_t *raw;
    json_array_foreach(alerts, i, raw)
        if (rc == 0)
            rc = pack_alert(raw, category, now_ms, &batch, &err);
    pthread_mutex_unlock(&route_mu);
    json_decref(in);
    if (rc != 0) {
        ttai_buf_release(&batch);
        return ttai_activity_fail(ctx, "AlertInvalid", false, "%s", err.msg);
    }
    if (eng == NULL) {
        ttai_buf_release(&batch);
        return ttai_activity_fail(ctx, "AlertRouterUnavailable", true,
                                  "route_alerts: no engine to route through");
    }
    struct ttai_start_opts opts = {.id_conflict = TTAI_CONFLICT_USE_EXISTING};
    rc = ttai_engine_signal_with_start(eng, ttai_activity_namespace(ctx), ALERT_ROUTER_TYPE,
                                       ALERT_ROUTER_WORKFLOW_ID, (struct ttai_payload){NULL, 0},
                                       &opts, "route", ttai_buf_payload(&batch), NULL, &err);
    ttai_buf_release(&batch);
    if (rc != 0)
        return ttai_activity_fail(ctx, "AlertRouterUnavailable", true, "route_alerts: %s",
                                  err.msg);
    ttai_buf_map(out, 1);
    ttai_buf_str(out, "routed");
    ttai_buf_int(out, (int64_t)count);
    return 0;
}

const struct ttai_activity_def alert_route_def = {"route_alerts", route_alerts};
