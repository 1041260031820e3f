/* alert_router.c: the AlertRouter workflow, one per namespace (workflow id
 * "alert-router"): seed 001's NotificationRouter, AlertRateLimiter and
 * AlertPrioritizer as durable workflow state.
 *
 * Monitors hand their alerts to the activity "route_alerts"
 * (activities/alerts/route.c), which resolves each alert's channels and
 * signals this workflow ("route", an array of canonical alerts). The
 * workflow admits each alert through the router (deduplication and rate
 * limits at the workflow's deterministic time), sorts the admitted ones by
 * priority and schedules one "deliver_alert" per alert and channel without
 * waiting for it: every delivery retries on its own, so a channel that is
 * down delays only its own deliveries. The router travels across
 * continue-as-new in the next run's input, so its windows hold across
 * restarts and run boundaries alike.
 *
 * Input: nil, or {"router": packed router, "delivered": n, "failed": n}.
 * Signals: "route" (array of alerts), "shutdown". Query: "get_status".
 */
#include "alerts/alert.h"
#include "alerts/router.h"
#include "workflows.h"

#include <string.h>

#define PENDING_INITIAL 64    /* signalled batches waiting: the queue grows as needed */
#define BATCH_ALERTS_MAX 64   /* alerts read from one batch */
#define OUTSTANDING_MAX 256   /* deliveries in flight */
#define CAN_AFTER_BATCHES 500 /* continue as new after this many batches */

struct router_state {
    struct alert_router router;
    /* Batches signalled and not yet routed, oldest first from pending_head.
     * A signal is acknowledged once durable, so the queue never drops one:
     * it grows (workflow memory, released with the run, which continues as
     * new after CAN_AFTER_BATCHES batches). */
    struct ttai_payload *pending;
    size_t pending_head, pending_count, pending_cap;
    struct ttai_future *outstanding[OUTSTANDING_MAX];
    size_t outstanding_count;
    int64_t batches;                  /* in this run */
    int64_t delivered, failed;        /* over every run */
    int64_t dropped;                  /* batches refused: malformed */
    bool shutdown;
};

static void on_route(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    struct router_state *s = state;
    if (s->pending_head + s->pending_count == s->pending_cap) {
        size_t cap = s->pending_count * 2 > PENDING_INITIAL ? s->pending_count * 2
                                                             : PENDING_INITIAL;
        struct ttai_payload *grown = ttai_wf_alloc(wf, cap * sizeof(*grown));
        if (s->pending_count > 0)
            memcpy(grown, s->pending + s->pending_head, s->pending_count * sizeof(*grown));
        s->pending = grown;
        s->pending_head = 0;
        s->pending_cap = cap;
    }
    s->pending[s->pending_head + s->pending_count++] = ttai_wf_keep(wf, args);
}

static void on_shutdown(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct router_state *)state)->shutdown = true;
}

static int get_status(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                      struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct router_state *s = state;
    struct alert_router_stats st;
    alert_router_stats_get(&s->router, &st);
    ttai_buf_map(answer, 9);
    ttai_buf_str(answer, "admitted");
    ttai_buf_int(answer, (int64_t)st.admitted);
    ttai_buf_str(answer, "duplicates");
    ttai_buf_int(answer, (int64_t)st.duplicates);
    ttai_buf_str(answer, "rate_limited");
    ttai_buf_int(answer, (int64_t)st.rate_limited);
    ttai_buf_str(answer, "tracked");
    ttai_buf_int(answer, st.tracked);
    ttai_buf_str(answer, "delivered");
    ttai_buf_int(answer, s->delivered);
    ttai_buf_str(answer, "failed");
    ttai_buf_int(answer, s->failed);
    ttai_buf_str(answer, "in_flight");
    ttai_buf_int(answer, (int64_t)s->outstanding_count);
    ttai_buf_str(answer, "pending");
    ttai_buf_int(answer, (int64_t)s->pending_count);
    ttai_buf_str(answer, "dropped");
    ttai_buf_int(answer, s->dropped);
    return 0;
}

static bool has_work(const void *state, void *arg)
{
    (void)arg;
    const struct router_state *s = state;
    if (s->pending_count > 0 || s->shutdown)
        return true;
    for (size_t i = 0; i < s->outstanding_count; i++)
        if (ttai_future_done(s->outstanding[i]))
            return true;
    return false;
}

/* Counts and drops the deliveries that finished. */
static void reap(struct router_state *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->outstanding_count; i++) {
        struct ttai_future *f = s->outstanding[i];
        if (!ttai_future_done(f)) {
            s->outstanding[kept++] = f;
            continue;
        }
        if (ttai_future_result(f)->rc == 0)
            s->delivered++;
        else
            s->failed++;
    }
    s->outstanding_count = kept;
}

static void deliver(struct ttai_wf *wf, struct router_state *s, const struct alert *a,
                    const char *channel)
{
    static const struct ttai_activity_opts opts = {
        .start_to_close_ms = 30000, .retry_initial_ms = 1000, .retry_backoff = 2.0,
        .retry_max_interval_ms = 60000, .retry_max_attempts = 10};
    while (s->outstanding_count == OUTSTANDING_MAX) {
        (void)ttai_wf_wait_any(wf, s->outstanding, s->outstanding_count);
        reap(s);
    }
    struct ttai_buf in;
    ttai_buf_init(&in);
    ttai_buf_map(&in, 2);
    ttai_buf_str(&in, "channel");
    ttai_buf_str(&in, channel);
    ttai_buf_str(&in, "alert");
    alert_pack(a, &in);
    s->outstanding[s->outstanding_count++] =
        ttai_wf_activity_start(wf, "deliver_alert", ttai_buf_payload(&in), &opts);
    ttai_buf_release(&in);
}

/* Admits one batch and schedules the deliveries of what passed. */
static void route_batch(struct ttai_wf *wf, struct router_state *s, struct ttai_payload batch)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, batch, &o) != 0 || o.type != MSGPACK_OBJECT_ARRAY) {
        s->dropped++;
        ttai_reader_release(&r);
        return;
    }
    uint32_t n = o.via.array.size < BATCH_ALERTS_MAX ? o.via.array.size : BATCH_ALERTS_MAX;
    struct alert *alerts = ttai_wf_alloc(wf, (n + 1) * sizeof(*alerts));
    const struct alert **admitted = ttai_wf_alloc(wf, (n + 1) * sizeof(*admitted));
    size_t count = 0, valid = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct ttai_err err;
        if (alert_unpack(&o.via.array.ptr[i], &alerts[valid], &err) != 0) {
            alert_release(&alerts[valid]);
            continue;
        }
        if (alert_router_admit(&s->router, &alerts[valid], ttai_wf_now(wf), NULL) ==
            ALERT_ADMITTED)
            admitted[count++] = &alerts[valid];
        valid++;
    }
    ttai_reader_release(&r);
    alert_sort_by_priority(admitted, count);
    for (size_t i = 0; i < count; i++) {
        const struct alert *a = admitted[i];
        if (a->channel_count == 0)
            deliver(wf, s, a, "console");
        for (size_t k = 0; k < a->channel_count; k++)
            deliver(wf, s, a, a->channels[k]);
    }
    for (size_t i = 0; i < valid; i++)
        alert_release(&alerts[i]);
}

static void router_start(struct ttai_wf *wf, struct router_state *s, struct ttai_payload input)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    const msgpack_object *packed = NULL;
    if (input.len > 0 && ttai_payload_unpack(&r, input, &o) == 0 &&
        o.type == MSGPACK_OBJECT_MAP)
        packed = ttai_obj_get(&o, "router");
    struct ttai_err err;
    if (packed == NULL || alert_router_unpack(&s->router, packed, &err) != 0) {
        if (alert_router_init(&s->router, NULL, &err) != 0)
            ttai_wf_fail(wf, "RouterConfig", err.msg);
    }
    if (packed != NULL) {
        (void)ttai_obj_int(ttai_obj_get(&o, "delivered"), &s->delivered);
        (void)ttai_obj_int(ttai_obj_get(&o, "failed"), &s->failed);
    }
    ttai_reader_release(&r);
}

static void router_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct router_state *s = state;
    router_start(wf, s, input);
    for (;;) {
        (void)ttai_wf_await(wf, has_work, NULL, -1);
        reap(s);
        while (s->pending_count > 0) {
            struct ttai_payload batch = s->pending[s->pending_head++];
            s->pending_count--;
            route_batch(wf, s, batch);
            s->batches++;
        }
        s->pending_head = 0; /* drained: reuse the queue from its start */
        if (s->shutdown || ttai_wf_cancel_requested(wf)) {
            ttai_wf_wait_all(wf, s->outstanding, s->outstanding_count);
            reap(s);
            ttai_wf_complete(wf, (struct ttai_payload){NULL, 0});
        }
        bool long_history = s->batches >= CAN_AFTER_BATCHES ||
                            ttai_wf_continue_as_new_suggested(wf);
        if (long_history && s->outstanding_count == 0 && s->pending_count == 0) {
            struct ttai_buf next;
            ttai_buf_init(&next);
            ttai_buf_map(&next, 3);
            ttai_buf_str(&next, "router");
            alert_router_pack(&s->router, &next);
            ttai_buf_str(&next, "delivered");
            ttai_buf_int(&next, s->delivered);
            ttai_buf_str(&next, "failed");
            ttai_buf_int(&next, s->failed);
            struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&next));
            ttai_buf_release(&next);
            ttai_wf_continue_as_new(wf, p);
        }
    }
}

static const struct ttai_signal_def router_signals[] = {
    {"route", on_route}, {"shutdown", on_shutdown}, {NULL, NULL}};
static const struct ttai_query_def router_queries[] = {{"get_status", get_status}, {NULL, NULL}};
const struct ttai_workflow_def wf_alert_router = {"AlertRouter", router_run,
                                                  sizeof(struct router_state), router_signals,
                                                  router_queries};
