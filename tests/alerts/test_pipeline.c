/* test_pipeline.c: the router carried by a workflow, as the TTAI
 * workflows use it: alerts arrive by signal, the router (in the state
 * block) admits them at the workflow's time, the admitted ones go out in
 * priority order through "deliver_alert", and the router travels across
 * continue-as-new packed in the next run's input. Engine restarts in
 * between must not change a single decision. */
#include "alerts_test.h"
#include "sink.h"

#define START_MS 1763900000000LL
#define MIN 60000LL
#define PENDING_MAX 8

/* ---- The workflow ------------------------------------------------------------------
 *
 * Input: nil, or {router: packed router, runs: n}. Signal "alerts": an
 * array of alerts. Query "stats": {admitted, duplicates, rate_limited,
 * tracked, runs}. Continues as new after every second batch. */

struct pipeline_state {
    struct alert_router router;
    struct ttai_payload pending[PENDING_MAX];    /* kept with ttai_wf_keep() */
    size_t pending_count;
    int batches;                                 /* in this run */
    int64_t runs;                                /* this run's number, from 1 */
};

static void on_alerts(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    struct pipeline_state *s = state;
    ASSERT(s->pending_count < PENDING_MAX);
    s->pending[s->pending_count++] = ttai_wf_keep(wf, args);
}

static int answer_stats(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                        struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    const struct pipeline_state *s = state;
    struct alert_router_stats st;
    alert_router_stats_get(&s->router, &st);
    ttai_buf_map(answer, 5);
    ttai_buf_str(answer, "admitted");
    ttai_buf_int(answer, (int64_t)st.admitted);
    ttai_buf_str(answer, "duplicates");
    ttai_buf_int(answer, (int64_t)st.duplicates);
    ttai_buf_str(answer, "rate_limited");
    ttai_buf_int(answer, (int64_t)st.rate_limited);
    ttai_buf_str(answer, "tracked");
    ttai_buf_int(answer, st.tracked);
    ttai_buf_str(answer, "runs");
    ttai_buf_int(answer, s->runs);
    return 0;
}

static bool has_pending(const void *state, void *arg)
{
    (void)arg;
    return ((const struct pipeline_state *)state)->pending_count > 0;
}

static void pipeline_start(struct pipeline_state *s, struct ttai_payload input)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    struct ttai_err err;
    ASSERT_OK(ttai_payload_unpack(&r, input, &o), (struct ttai_err *)NULL);
    const msgpack_object *packed = o.type == MSGPACK_OBJECT_MAP ? ttai_obj_get(&o, "router")
                                                                : NULL;
    if (packed != NULL) {
        ASSERT_OK(alert_router_unpack(&s->router, packed, &err), &err);
        ASSERT(ttai_obj_int(ttai_obj_get(&o, "runs"), &s->runs));
    } else {
        ASSERT_OK(alert_router_init(&s->router, NULL, &err), &err);
    }
    s->runs++;
    ttai_reader_release(&r);
}

/* Admits the batch's alerts and returns the delivery inputs of the
 * admitted ones, highest priority first, in memory of the run. Nothing
 * malloc'd survives the call (the deliveries block). */
static size_t pipeline_admit(struct ttai_wf *wf, struct pipeline_state *s,
                             struct ttai_payload batch, struct ttai_payload **inputs)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    ASSERT_OK(ttai_payload_unpack(&r, batch, &o), (struct ttai_err *)NULL);
    ASSERT(o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size <= 16);
    struct alert alerts[16];
    const struct alert *admitted[16];
    size_t count = 0, channels = 0;
    for (uint32_t i = 0; i < o.via.array.size; i++) {
        struct ttai_err err;
        ASSERT_OK(alert_unpack(&o.via.array.ptr[i], &alerts[i], &err), &err);
        if (alert_router_admit(&s->router, &alerts[i], ttai_wf_now(wf), NULL) == ALERT_ADMITTED) {
            admitted[count++] = &alerts[i];
            channels += alerts[i].channel_count > 0 ? alerts[i].channel_count : 1;
        }
    }
    alert_sort_by_priority(admitted, count);
    *inputs = ttai_wf_alloc(wf, (channels + 1) * sizeof(**inputs));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t k_max = admitted[i]->channel_count > 0 ? admitted[i]->channel_count : 1;
        for (size_t k = 0; k < k_max; k++) {
            struct ttai_buf in;
            ttai_buf_init(&in);
            ttai_buf_map(&in, 2);
            ttai_buf_str(&in, "channel");
            ttai_buf_str(&in, admitted[i]->channel_count > 0 ? admitted[i]->channels[k] : "hook");
            ttai_buf_str(&in, "alert");
            alert_pack(admitted[i], &in);
            (*inputs)[n++] = ttai_wf_keep(wf, ttai_buf_payload(&in));
            ttai_buf_release(&in);
        }
    }
    for (uint32_t i = 0; i < o.via.array.size; i++)
        alert_release(&alerts[i]);
    ttai_reader_release(&r);
    return n;
}

static void pipeline_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct pipeline_state *s = state;
    pipeline_start(s, input);
    for (;;) {
        if (!ttai_wf_await(wf, has_pending, NULL, -1))
            ttai_wf_canceled(wf); /* without a timeout: a cancellation request */
        struct ttai_payload batch = s->pending[0];
        memmove(s->pending, s->pending + 1, --s->pending_count * sizeof(s->pending[0]));
        struct ttai_payload *inputs;
        size_t n = pipeline_admit(wf, s, batch, &inputs);
        struct ttai_activity_opts opts = {.start_to_close_ms = 30000, .retry_initial_ms = 1000,
                                          .retry_backoff = 2.0};
        for (size_t i = 0; i < n; i++) {
            struct ttai_result res;
            (void)ttai_wf_activity(wf, "deliver_alert", inputs[i], &opts, &res); /* retried */
        }
        if (++s->batches == 2 && s->pending_count == 0) {
            struct ttai_buf next;
            ttai_buf_init(&next);
            ttai_buf_map(&next, 2);
            ttai_buf_str(&next, "router");
            alert_router_pack(&s->router, &next);
            ttai_buf_str(&next, "runs");
            ttai_buf_int(&next, s->runs);
            struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&next));
            ttai_buf_release(&next);
            ttai_wf_continue_as_new(wf, p);
        }
    }
}

static const struct ttai_signal_def pipeline_signals[] = {{"alerts", on_alerts}, {NULL, NULL}};
static const struct ttai_query_def pipeline_queries[] = {{"stats", answer_stats}, {NULL, NULL}};
static const struct ttai_workflow_def wf_pipeline = {"pipeline", pipeline_run,
                                                     sizeof(struct pipeline_state),
                                                     pipeline_signals, pipeline_queries};
static const struct ttai_workflow_def *const workflows[] = {&wf_pipeline, NULL};
static const struct ttai_registry registry = {workflows, alert_delivery_activities};

/* ---- The test -------------------------------------------------------------------------- */

static void signal_alerts(struct ttai_testenv *env, const char *json)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    struct ttai_err err;
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &b, &err), &err);
    ASSERT_OK(ttai_engine_signal(ttai_testenv_engine(env), "default", "p", NULL, "alerts",
                                 ttai_buf_payload(&b), &err), &err);
    ttai_buf_release(&b);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
}

static void expect_stats(struct ttai_testenv *env, const char *want_json)
{
    struct ttai_buf answer;
    ttai_buf_init(&answer);
    struct ttai_err err;
    ASSERT_OK(ttai_engine_query(ttai_testenv_engine(env), "default", "p", NULL, "stats",
                                (struct ttai_payload){NULL, 0}, &answer, &err), &err);
    char *text = test_payload_json(ttai_buf_payload(&answer));
    json_t *got = test_json(text), *want = test_json(want_json);
    ASSERT_JSON_EQ(got, want);
    json_decref(got);
    json_decref(want);
    ttai_free(text);
    ttai_buf_release(&answer);
}

static void restart(struct ttai_testenv *env)
{
    struct ttai_err err;
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);
}

/* The severity of the n-th alert the sink received. */
static const char *severity_at(struct sink *s, int n, char *out, size_t size)
{
    struct sink_request req;
    ASSERT(sink_request(s, "/hook", n, &req));
    json_t *j = test_json(req.body);
    snprintf(out, size, "%s", json_string_value(json_object_get(j, "severity")));
    json_decref(j);
    free(req.body);
    return out;
}

#define ALERT_A "{\"type\":\"price\",\"severity\":\"info\",\"symbol\":\"AAPL\",\"message\":\"A up\"}"
#define ALERT_P "{\"type\":\"pnl_critical\",\"category\":\"portfolio\",\"severity\":\"critical\"," \
    "\"message\":\"P&L -5%\"}"
#define ALERT_M "{\"type\":\"margin_warning\",\"category\":\"portfolio\",\"severity\":\"warning\"," \
    "\"message\":\"margin 85%\"}"
#define MARGIN(n) "{\"type\":\"margin_warning\",\"category\":\"portfolio\",\"severity\":" \
    "\"warning\",\"message\":\"m" #n "\"}"

void test_pipeline_across_restart(void)
{
    struct sink *s = sink_start();
    char url[256], cfg[512];
    sink_url(s, "/hook", url, sizeof(url));
    snprintf(cfg, sizeof(cfg), "{\"hook\":{\"type\":\"webhook\",\"url\":\"%s\"}}", url);
    json_t *c = test_json(cfg);
    struct ttai_err err;
    ASSERT_OK(alert_channels_configure(c, &err), &err);
    json_decref(c);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/data", test_tmpdir());
    struct ttai_testenv *env;
    ASSERT_OK(ttai_testenv_open(&env, dir, &registry, START_MS, &err), &err);
    ASSERT_OK(ttai_engine_start(ttai_testenv_engine(env), "default", "pipeline", "p",
                                (struct ttai_payload){NULL, 0}, NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), (struct ttai_err *)NULL);

    /* Batch 1: three alerts and a repeat; out in priority order. */
    signal_alerts(env, "[" ALERT_A "," ALERT_P "," ALERT_M "," ALERT_A "]");
    ASSERT_EQ(sink_count(s, "/hook"), 3);
    char sev[32];
    ASSERT_STR_EQ(severity_at(s, 0, sev, sizeof(sev)), "critical");
    ASSERT_STR_EQ(severity_at(s, 1, sev, sizeof(sev)), "warning");
    ASSERT_STR_EQ(severity_at(s, 2, sev, sizeof(sev)), "info");
    expect_stats(env, "{\"admitted\":3,\"duplicates\":1,\"rate_limited\":0,\"tracked\":3,"
                      "\"runs\":1}");

    /* A restart rebuilds the router by replay: the repeats stay repeats. */
    restart(env);
    ASSERT_OK(ttai_testenv_advance(env, MIN), (struct ttai_err *)NULL);
    signal_alerts(env, "[" ALERT_P "," ALERT_A "," ALERT_M "]");
    ASSERT_EQ(sink_count(s, "/hook"), 3);
    /* That was the run's second batch: the router went on, packed, into run 2. */
    expect_stats(env, "{\"admitted\":3,\"duplicates\":4,\"rate_limited\":0,\"tracked\":3,"
                      "\"runs\":2}");

    /* Run 2, after another restart: the portfolio limit (5 an hour) still
     * counts the two portfolio alerts of batch 1. */
    restart(env);
    ASSERT_OK(ttai_testenv_advance(env, MIN), (struct ttai_err *)NULL);
    signal_alerts(env, "[" MARGIN(0) "," MARGIN(1) "," MARGIN(2) "," MARGIN(3) "," MARGIN(4)
                  "," MARGIN(5) "]");
    ASSERT_EQ(sink_count(s, "/hook"), 6);
    expect_stats(env, "{\"admitted\":6,\"duplicates\":4,\"rate_limited\":3,\"tracked\":6,"
                      "\"runs\":2}");

    /* Five minutes after batch 1, its alerts may go out again. */
    ASSERT_OK(ttai_testenv_advance(env, 3 * MIN - 1), (struct ttai_err *)NULL);
    signal_alerts(env, "[" ALERT_A "]");
    ASSERT_EQ(sink_count(s, "/hook"), 6);
    ASSERT_OK(ttai_testenv_advance(env, 1), (struct ttai_err *)NULL);
    signal_alerts(env, "[" ALERT_A "]");
    ASSERT_EQ(sink_count(s, "/hook"), 7);
    expect_stats(env, "{\"admitted\":7,\"duplicates\":5,\"rate_limited\":3,\"tracked\":7,"
                      "\"runs\":3}");
    ttai_testenv_close(env);
    sink_stop(s);
}
