/* samples.c: the sample workflows used by tests and demos.
 *
 *   hello   - input: a JSON string name; runs the activity "greet" that
 *             builds "Hello, <name>!", and returns it.
 *   counter - input {"every": N}; signal "add" (integer) adds to the total;
 *             query "value" answers the total; every N adds it continues as
 *             new carrying the total; signal "stop" completes it with the
 *             total as its result.
 *   bench_monitor - input {"iterations": N, "sleep_ms": M}: N times, runs
 *             the no-op activity "bench_noop" and then sleeps M ms (a
 *             durable timer); completes with N. The loop of a monitor,
 *             reduced to its engine costs (ttai-bench e2e, W2).
 */
#include "workflows.h"

#include <stdio.h>
#include <string.h>

/* ---- hello ------------------------------------------------------------------- */

static int greet_activity(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                          struct ttai_buf *out)
{
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    char name[128];
    int rc = ttai_payload_unpack(&r, input, &o);
    if (rc != 0 || !ttai_obj_strcpy(&o, name, sizeof(name))) {
        ttai_reader_release(&r);
        return ttai_activity_fail(ctx, "BadInput", false, "greet needs a string name");
    }
    ttai_reader_release(&r);
    char greeting[160];
    snprintf(greeting, sizeof(greeting), "Hello, %s!", name);
    ttai_buf_str(out, greeting);
    return 0;
}

static void hello_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_activity_opts opts = {.start_to_close_ms = 10000};
    struct ttai_result res;
    if (ttai_wf_activity(wf, "greet", input, &opts, &res) != 0)
        ttai_wf_fail(wf, res.error_type, res.error_message);
    ttai_wf_complete(wf, res.value);
}

/* ---- counter ------------------------------------------------------------------ */

struct counter_state {
    int64_t total;
    int64_t every;        /* continue as new after this many adds */
    int64_t adds;         /* adds in this run */
    bool stop;
};

static void counter_add(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    struct counter_state *s = state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int64_t v;
    if (ttai_payload_unpack(&r, args, &o) == 0 && ttai_obj_int(&o, &v)) {
        /* Saturating: a signal is durable before it is applied, so a sum
         * that overflowed would fail every replay of the run. */
        s->total = ttai_add_sat(s->total, v);
        s->adds++;
    }
    ttai_reader_release(&r);
}

static void counter_stop(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct counter_state *)state)->stop = true;
}

static int counter_value(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                         struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    ttai_buf_int(answer, ((const struct counter_state *)state)->total);
    return 0;
}

static bool counter_wake(const void *state, void *arg)
{
    (void)arg;
    const struct counter_state *s = state;
    return s->stop || (s->every > 0 && s->adds >= s->every);
}

static void counter_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct counter_state *s = state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_int(ttai_obj_get(&o, "every"), &s->every);
        /* Signals that arrived with the start were handled before this
         * runs: add the carried total to theirs, do not overwrite it. */
        int64_t carried = 0;
        if (ttai_obj_int(ttai_obj_get(&o, "total"), &carried))
            s->total = ttai_add_sat(s->total, carried);
    }
    ttai_reader_release(&r);
    /* Without a timeout the wait ends when the condition holds, or for a
     * cancellation request. */
    int woke = ttai_wf_await_rc(wf, counter_wake, NULL, -1);
    struct ttai_buf out;
    ttai_buf_init(&out);
    if (s->stop) {
        ttai_buf_int(&out, s->total);
        struct ttai_payload result = ttai_wf_keep(wf, ttai_buf_payload(&out));
        ttai_buf_release(&out);
        ttai_wf_complete(wf, result);
    }
    if (woke == TTAI_ECANCELED)
        ttai_wf_canceled(wf);
    /* Canceled too when the request came with the add that continues the
     * run as new (the new run would not have it). Runs recorded before the
     * counter did this continued as new: the patch keeps them replaying
     * (docs/workflows.md, "Versioning"). */
    if (ttai_wf_cancel_requested(wf) && ttai_wf_patched(wf, "counter-cancel"))
        ttai_wf_canceled(wf);
    ttai_buf_map(&out, 2);
    ttai_buf_str(&out, "every");
    ttai_buf_int(&out, s->every);
    ttai_buf_str(&out, "total");
    ttai_buf_int(&out, s->total);
    struct ttai_payload next = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_continue_as_new(wf, next);
}

/* ---- bench_monitor ------------------------------------------------------------- */

static int bench_noop_activity(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                               struct ttai_buf *out)
{
    (void)ctx;
    (void)input;
    (void)out;
    return 0;
}

static void bench_monitor_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int64_t iterations = -1, sleep_ms = 0;
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_int(ttai_obj_get(&o, "iterations"), &iterations);
        ttai_obj_int(ttai_obj_get(&o, "sleep_ms"), &sleep_ms);
    }
    ttai_reader_release(&r);
    if (iterations < 0 || sleep_ms < 0)
        ttai_wf_fail(wf, "BadInput",
                     "bench_monitor needs {\"iterations\": N >= 0, \"sleep_ms\": M >= 0}");
    struct ttai_activity_opts opts = {.start_to_close_ms = 10000};
    for (int64_t i = 0; i < iterations; i++) {
        struct ttai_result res;
        if (ttai_wf_activity(wf, "bench_noop", (struct ttai_payload){NULL, 0}, &opts, &res) != 0)
            ttai_wf_fail(wf, res.error_type, res.error_message);
        if (ttai_wf_sleep(wf, sleep_ms) != 0)
            ttai_wf_canceled(wf);
    }
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_int(&out, iterations);
    struct ttai_payload result = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, result);
}

/* ---- Registry ------------------------------------------------------------------ */

static const struct ttai_signal_def counter_signals[] = {
    {"add", counter_add},
    {"stop", counter_stop},
    {NULL, NULL},
};

static const struct ttai_query_def counter_queries[] = {
    {"value", counter_value},
    {NULL, NULL},
};

const struct ttai_workflow_def wf_hello = {.type = "hello", .run = hello_run};

const struct ttai_workflow_def wf_counter = {
    .type = "counter",
    .run = counter_run,
    .state_size = sizeof(struct counter_state),
    .signals = counter_signals,
    .queries = counter_queries,
};

const struct ttai_workflow_def wf_bench_monitor = {.type = "bench_monitor",
                                                   .run = bench_monitor_run};

const struct ttai_activity_def act_greet = {.type = "greet", .run = greet_activity};
const struct ttai_activity_def act_bench_noop = {.type = "bench_noop", .run = bench_noop_activity};

static const struct ttai_workflow_def *const sample_workflows[] = {&wf_hello, &wf_counter,
                                                                   &wf_bench_monitor, NULL};
static const struct ttai_activity_def *const sample_activities[] = {&act_greet, &act_bench_noop,
                                                                    NULL};

const struct ttai_registry wf_samples_registry = {sample_workflows, sample_activities};
