/* test_runtime.c: the workflow runtime on a virtual clock: samples, timers,
 * signals around continue-as-new, queries, restart, non-determinism. Every
 * test also replays the recorded history offline and compares queries. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "workflows.h"

#include "../harness/gate_workflow.h"
#include "../harness/harness.h"


static char dir[512];
static struct ttai_err err;
#define T0 1763900000000LL /* 2025-11-23T12:13:20Z */

/* ---- Test-only workflows -------------------------------------------------------- */

/* An integer payload that lives as long as the run. */
static struct ttai_payload int_payload(struct ttai_wf *wf, int64_t v)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_int(&out, v);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    return p;
}

struct ticker_state {
    int64_t ticks;
    bool stop;
};

static bool ticker_stop(const void *state, void *arg)
{
    (void)arg;
    return ((const struct ticker_state *)state)->stop;
}

/* Every 10 s: one tick; continues as new every 300 ticks. */
static void ticker_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    struct ticker_state *s = state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0)
        ttai_obj_int(&o, &s->ticks);
    ttai_reader_release(&r);
    for (int i = 0; i < 300; i++) {
        if (ttai_wf_await(wf, ticker_stop, NULL, 10000))
            ttai_wf_complete(wf, int_payload(wf, s->ticks));
        s->ticks++;
    }
    ttai_wf_continue_as_new(wf, int_payload(wf, s->ticks));
}

static void ticker_stop_signal(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct ticker_state *)state)->stop = true;
}

static int ticker_ticks(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                        struct ttai_buf *answer, struct ttai_err *e)
{
    (void)wf;
    (void)args;
    (void)e;
    ttai_buf_int(answer, ((const struct ticker_state *)state)->ticks);
    return 0;
}

/* A query that tries to start a timer: must be refused. */
static int ticker_bad_query(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                            struct ttai_buf *answer, struct ttai_err *e)
{
    (void)state;
    (void)args;
    (void)answer;
    struct ttai_future *f = ttai_wf_timer_start((struct ttai_wf *)wf, 1000);
    const struct ttai_result *res = ttai_future_result(f);
    return ttai_errf(e, res->rc, "timer from query: %s", res->error_message);
}

static const struct ttai_signal_def ticker_signals[] = {{"stop", ticker_stop_signal}, {NULL, NULL}};
static const struct ttai_query_def ticker_queries[] = {
    {"ticks", ticker_ticks}, {"bad", ticker_bad_query}, {NULL, NULL}};
static const struct ttai_workflow_def wf_ticker = {"ticker", ticker_run,
                                                   sizeof(struct ticker_state), ticker_signals,
                                                   ticker_queries};

/* "hello" as it would be if its code changed: a timer before the activity. */
static void hello_changed_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    ttai_wf_sleep(wf, 1000);
    ttai_wf_complete(wf, (struct ttai_payload){NULL, 0});
}
static const struct ttai_workflow_def wf_hello_changed = {"hello", hello_changed_run, 0, NULL, NULL};

/* "hello" evolved safely with a version marker. */
static void hello_patched_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    if (ttai_wf_patched(wf, "sleep-first"))
        ttai_wf_sleep(wf, 1000);
    struct ttai_activity_opts opts = {.start_to_close_ms = 10000};
    struct ttai_result res;
    if (ttai_wf_activity(wf, "greet", input, &opts, &res) != 0)
        ttai_wf_fail(wf, res.error_type, res.error_message);
    ttai_wf_complete(wf, res.value);
}
static const struct ttai_workflow_def wf_hello_patched = {"hello", hello_patched_run, 0, NULL, NULL};

/* Sleeps until cancelled, then reports itself canceled. */
static void sleeper_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    for (;;)
        if (ttai_wf_sleep(wf, 3600 * 1000) == TTAI_ECANCELED)
            ttai_wf_canceled(wf);
}
static const struct ttai_workflow_def wf_sleeper = {"sleeper", sleeper_run, 0, NULL, NULL};

/* Flaky activity: fails twice, then succeeds. Counts attempts per key. */
static int flaky_activity(struct ttai_activity_ctx *ctx, struct ttai_payload input,
                          struct ttai_buf *out)
{
    (void)input;
    if (ttai_activity_attempt(ctx) < 3)
        return ttai_activity_fail(ctx, "Flaky", true, "attempt %u fails",
                                  ttai_activity_attempt(ctx));
    ttai_buf_int(out, ttai_activity_attempt(ctx));
    return 0;
}
static const struct ttai_activity_def act_flaky = {"flaky", flaky_activity};

static void retrier_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_activity_opts opts = {.start_to_close_ms = 1000, .retry_initial_ms = 1000};
    struct ttai_result res;
    if (ttai_wf_activity(wf, "flaky", input, &opts, &res) != 0)
        ttai_wf_fail(wf, res.error_type, res.error_message);
    ttai_wf_complete(wf, res.value);
}
static const struct ttai_workflow_def wf_retrier = {"retrier", retrier_run, 0, NULL, NULL};

/* Issues markers until the history is long: records when the runtime first
 * suggested continue-as-new. */
struct spinner_state {
    int64_t suggested_at;
};

static void spinner_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)input;
    struct spinner_state *s = state;
    for (int64_t i = 0;; i++) {
        if (s->suggested_at == 0 && ttai_wf_continue_as_new_suggested(wf))
            s->suggested_at = (int64_t)ttai_wf_history_length(wf);
        (void)ttai_wf_random(wf);
        if (i % 1000 == 999)
            ttai_wf_sleep(wf, 1);
    }
}

static int spinner_suggested(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                             struct ttai_buf *answer, struct ttai_err *e)
{
    (void)wf;
    (void)args;
    (void)e;
    ttai_buf_int(answer, ((const struct spinner_state *)state)->suggested_at);
    return 0;
}

static const struct ttai_query_def spinner_queries[] = {{"suggested", spinner_suggested},
                                                        {NULL, NULL}};
static const struct ttai_workflow_def wf_spinner = {"spinner", spinner_run,
                                                    sizeof(struct spinner_state), NULL,
                                                    spinner_queries};

/* Awaits a "go" signal (optionally after a delay that ignores
 * cancellation or a sleep that does not, and with a timeout), then awaits a "done" signal as
 * clean-up code would, and completes with what each await returned:
 * {"first": "OK" | "ECANCELED" | "ETIMEDOUT", "canceled": bool,
 * "second": bool}. */
struct awaiter_state {
    bool go, done;
};

static bool awaiter_go(const void *state, void *arg)
{
    (void)arg;
    return ((const struct awaiter_state *)state)->go;
}

static bool awaiter_done(const void *state, void *arg)
{
    (void)arg;
    return ((const struct awaiter_state *)state)->done;
}

static void awaiter_go_signal(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct awaiter_state *)state)->go = true;
}

static void awaiter_done_signal(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct awaiter_state *)state)->done = true;
}

static void awaiter_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    int64_t delay_ms = 0, sleep_ms = 0, timeout_ms = -1;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_int(ttai_obj_get(&o, "delay_ms"), &delay_ms);
        ttai_obj_int(ttai_obj_get(&o, "sleep_ms"), &sleep_ms);
        ttai_obj_int(ttai_obj_get(&o, "timeout_ms"), &timeout_ms);
    }
    ttai_reader_release(&r);
    if (delay_ms > 0) {
        struct ttai_future *delay = ttai_wf_timer_start(wf, delay_ms);
        ttai_wf_wait_all(wf, &delay, 1); /* a cancellation does not end this */
    }
    if (sleep_ms > 0)
        (void)ttai_wf_sleep(wf, sleep_ms); /* a cancellation ends this */
    int first = ttai_wf_await_rc(wf, awaiter_go, NULL, timeout_ms);
    bool canceled = ttai_wf_cancel_requested(wf);
    bool second = ttai_wf_await(wf, awaiter_done, NULL, -1);
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_map(&out, 3);
    ttai_buf_str(&out, "first");
    ttai_buf_str(&out, ttai_rc_name(first));
    ttai_buf_str(&out, "canceled");
    ttai_buf_bool(&out, canceled);
    ttai_buf_str(&out, "second");
    ttai_buf_bool(&out, second);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, p);
}

/* A query that tries to wait: an await with and without a timeout, and a
 * wait for a timer it tried to start (refused: done at once). Answers what
 * each returned. */
static int awaiter_wait_query(const struct ttai_wf *wf, const void *state,
                              struct ttai_payload args, struct ttai_buf *answer,
                              struct ttai_err *e)
{
    (void)state;
    (void)args;
    (void)e;
    struct ttai_wf *w = (struct ttai_wf *)wf;
    int untimed = ttai_wf_await_rc(w, awaiter_go, NULL, -1);
    int timed = ttai_wf_await_rc(w, awaiter_go, NULL, 1000);
    struct ttai_future *f = ttai_wf_timer_start(w, 1000); /* refused: done */
    ttai_wf_wait_all(w, &f, 1);
    ttai_buf_map(answer, 3);
    ttai_buf_str(answer, "untimed");
    ttai_buf_str(answer, ttai_rc_name(untimed));
    ttai_buf_str(answer, "timed");
    ttai_buf_str(answer, ttai_rc_name(timed));
    ttai_buf_str(answer, "timer");
    ttai_buf_str(answer, ttai_rc_name(ttai_future_result(f)->rc));
    return 0;
}

static const struct ttai_signal_def awaiter_signals[] = {
    {"go", awaiter_go_signal}, {"done", awaiter_done_signal}, {NULL, NULL}};
static const struct ttai_query_def awaiter_queries[] = {{"wait", awaiter_wait_query},
                                                        {NULL, NULL}};
static const struct ttai_workflow_def wf_awaiter = {"awaiter", awaiter_run,
                                                    sizeof(struct awaiter_state), awaiter_signals,
                                                    awaiter_queries};

/* "waiter": a 60 s wait that a cancellation request does not end, as
 * awaits were before they ended on one (legacy: a timer and wait_all,
 * which record the same commands), and as an await. The upgrade test
 * records a history with the first and runs it on with the second. */
static bool never(const void *state, void *arg)
{
    (void)state;
    (void)arg;
    return false;
}

static void waiter_legacy_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    struct ttai_future *t = ttai_wf_timer_start(wf, 60000);
    ttai_wf_wait_all(wf, &t, 1);
    ttai_wf_complete(wf, int_payload(wf, 0));
}

static void waiter_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    int64_t t0 = ttai_wf_now(wf);
    (void)ttai_wf_await(wf, never, NULL, 60000);
    /* 0: it waited the full minute, as the legacy code; 1: ended sooner. */
    ttai_wf_complete(wf, int_payload(wf, ttai_wf_now(wf) - t0 < 60000));
}

static const struct ttai_workflow_def wf_waiter = {"waiter", waiter_run, 0, NULL, NULL};
static const struct ttai_workflow_def wf_waiter_legacy = {"waiter", waiter_legacy_run, 0, NULL,
                                                          NULL};

/* "greedy": its signal handler tries what a handler may not do (wait, or
 * issue a command) and keeps what each call gave; the run completes with
 * those once the signal came. */
struct greedy_state {
    bool tried;
    int activity, sleep, await, timer, timer_done;
    char activity_type[64], activity_message[64];
    uint64_t random;
    bool patched;
    char uuid[TTAI_RUN_ID_TEXT];
};

static void greedy_try(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)args;
    struct greedy_state *s = state;
    struct ttai_activity_opts opts = {.start_to_close_ms = 1000};
    struct ttai_result res;
    s->activity = ttai_wf_activity(wf, "flaky", (struct ttai_payload){0}, &opts, &res);
    snprintf(s->activity_type, sizeof(s->activity_type), "%s", res.error_type);
    snprintf(s->activity_message, sizeof(s->activity_message), "%s", res.error_message);
    s->sleep = ttai_wf_sleep(wf, 1000);
    s->await = ttai_wf_await_rc(wf, never, NULL, 1000);
    struct ttai_future *t = ttai_wf_timer_start(wf, 1000);
    ttai_wf_wait_all(wf, &t, 1);
    /* Refused futures are shared and read-only: these must not touch them. */
    ttai_wf_timer_cancel(wf, t);
    ttai_wf_activity_cancel(wf, t);
    (void)ttai_wf_wait_any(wf, &t, 1);
    s->timer = ttai_future_result(t)->rc;
    s->timer_done = ttai_future_done(t);
    s->random = ttai_wf_random(wf);
    ttai_wf_uuid(wf, s->uuid);
    s->patched = ttai_wf_patched(wf, "greedy");
    s->tried = true;
}

static bool greedy_tried(const void *state, void *arg)
{
    (void)arg;
    return ((const struct greedy_state *)state)->tried;
}

static void greedy_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)input;
    struct greedy_state *s = state;
    ttai_wf_await(wf, greedy_tried, NULL, -1);
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_map(&out, 9);
    ttai_buf_str(&out, "activity");
    ttai_buf_str(&out, ttai_rc_name(s->activity));
    ttai_buf_str(&out, "refused");
    char refused[160];
    snprintf(refused, sizeof(refused), "%s: %s", s->activity_type, s->activity_message);
    ttai_buf_str(&out, refused);
    ttai_buf_str(&out, "sleep");
    ttai_buf_str(&out, ttai_rc_name(s->sleep));
    ttai_buf_str(&out, "await");
    ttai_buf_str(&out, ttai_rc_name(s->await));
    ttai_buf_str(&out, "timer");
    ttai_buf_str(&out, ttai_rc_name(s->timer));
    ttai_buf_str(&out, "timer_done");
    ttai_buf_bool(&out, s->timer_done);
    ttai_buf_str(&out, "random");
    ttai_buf_int(&out, (int64_t)s->random);
    ttai_buf_str(&out, "uuid");
    ttai_buf_str(&out, s->uuid);
    ttai_buf_str(&out, "patched");
    ttai_buf_bool(&out, s->patched);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, p);
}

static const struct ttai_signal_def greedy_signals[] = {{"try", greedy_try}, {NULL, NULL}};
static const struct ttai_workflow_def wf_greedy = {"greedy", greedy_run,
                                                   sizeof(struct greedy_state), greedy_signals,
                                                   NULL};

static const struct ttai_workflow_def *const all_workflows[] = {
    &wf_hello, &wf_counter, &wf_ticker, &wf_sleeper, &wf_retrier, &wf_spinner, &wf_gate,
    &wf_awaiter, &wf_waiter, &wf_greedy, NULL};
static const struct ttai_activity_def *const all_activities[] = {&act_greet, &act_flaky, NULL};
static const struct ttai_registry registry = {all_workflows, all_activities};

/* ---- Helpers ---------------------------------------------------------------------- */

static struct ttai_payload json(struct ttai_buf *buf, const char *text)
{
    ttai_buf_reset(buf);
    ASSERT_OK(ttai_payload_from_json(text, strlen(text), buf, &err), &err);
    return ttai_buf_payload(buf);
}

static int64_t query_int(struct ttai_engine *eng, const char *wf, const char *name)
{
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    ASSERT_OK(ttai_engine_query(eng, "default", wf, NULL, name, (struct ttai_payload){0}, &ans,
                                &err), &err);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int64_t v = -1;
    ASSERT(ttai_payload_unpack(&r, ttai_buf_payload(&ans), &o) == 0);
    ASSERT(ttai_obj_int(&o, &v));
    ttai_reader_release(&r);
    ttai_buf_release(&ans);
    return v;
}

static char *result_json(struct ttai_engine *eng, const char *wf)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    ASSERT_OK(ttai_engine_result(eng, "default", wf, &out, &err), &err);
    char *s = ttai_payload_to_json(ttai_buf_payload(&out));
    ttai_buf_release(&out);
    return s;
}

/* A query's answer as JSON. */
static char *query_json(struct ttai_engine *eng, const char *wf, const char *name)
{
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    ASSERT_OK(ttai_engine_query(eng, "default", wf, NULL, name, (struct ttai_payload){0}, &ans,
                                &err), &err);
    char *s = ttai_payload_to_json(ttai_buf_payload(&ans));
    ttai_buf_release(&ans);
    return s;
}

static void signal_int(struct ttai_engine *eng, const char *wf, const char *name, int64_t v)
{
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_int(&b, v);
    ASSERT_OK(ttai_engine_signal(eng, "default", wf, NULL, name, ttai_buf_payload(&b), &err), &err);
    ttai_buf_release(&b);
}

/* Offline replay of the current run must succeed and answer the same. */
static void check_replay_query(const char *wf, const char *query, int64_t want)
{
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    ASSERT_OK(ttai_replay(dir, &registry, "default", wf, NULL, 0, query, (struct ttai_payload){0},
                          &ans, &err), &err);
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    int64_t v = -1;
    ASSERT(ttai_payload_unpack(&r, ttai_buf_payload(&ans), &o) == 0 && ttai_obj_int(&o, &v));
    ASSERT_EQ(v, want);
    ttai_reader_release(&r);
    ttai_buf_release(&ans);
}

/* ---- Tests -------------------------------------------------------------------------- */

static void test_hello(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "hello", "hello-1", json(&in, "\"ttai\""), NULL,
                                NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "hello-1");
    ASSERT(strcmp(res, "\"Hello, ttai!\"") == 0);
    ttai_free(res);
    /* Offline replay reproduces the commands. */
    ASSERT_OK(ttai_replay(dir, &registry, "default", "hello-1", NULL, 0, NULL,
                          (struct ttai_payload){0}, NULL, &err), &err);
    /* A conflicting start fails; use-existing returns the run. */
    ASSERT_EQ(ttai_engine_start(eng, "default", "hello", "hello-1", json(&in, "\"x\""),
                                &(struct ttai_start_opts){.id_reuse = TTAI_REUSE_REJECT}, NULL,
                                &err), TTAI_EEXIST);
    ASSERT_EQ(ttai_engine_start(eng, "default", "nope", "x", json(&in, "1"), NULL, NULL, &err),
              TTAI_ENOTFOUND);
    ttai_buf_release(&in);
}

static int fail_next_commit(void *arg)
{
    (void)arg;
    return EIO;
}

/* A start commits with the run's first task: one commit, and the history
 * holds the task's events before anything else ran. A start whose commit
 * fails leaves nothing behind, in the store or in the engine. */
static void test_start_with_first_task(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct store *store = ttai_engine_store(eng);
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct store_counters before, after;
    store_counters_get(store, &before);
    struct ttai_run_id run;
    ASSERT_OK(ttai_engine_start(eng, "default", "hello", "hello-fused", json(&in, "\"you\""), NULL,
                                &run, &err), &err);
    store_counters_get(store, &after);
    ASSERT_EQ(after.commits, before.commits + 1);
    ASSERT_EQ(after.batches, before.batches + 1);
    static const int want[] = {STORE_EV_WORKFLOW_STARTED, STORE_EV_TASK_COMPLETED,
                               STORE_EV_ACTIVITY_SCHEDULED};
    struct store_read *rd;
    ASSERT_OK(store_read_begin(store, &rd, &err), &err);
    for (uint64_t id = 1; id <= 3; id++) {
        struct store_event ev;
        ASSERT_OK(store_event_get(rd, &run, id, &ev, &err), &err);
        ASSERT_EQ(ev.type, want[id - 1]);
    }
    struct store_event none;
    ASSERT_EQ(store_event_get(rd, &run, 4, &none, &err), TTAI_ENOTFOUND);
    store_read_end(rd);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "hello-fused");
    ASSERT(strcmp(res, "\"Hello, you!\"") == 0);
    ttai_free(res);

    store_fault_set(store, fail_next_commit, NULL);
    ASSERT_EQ(ttai_engine_start(eng, "default", "hello", "hello-lost", json(&in, "\"x\""), NULL,
                                NULL, &err), TTAI_EIO);
    store_fault_set(store, NULL, NULL);
    ASSERT_OK(ttai_testenv_restart(env, &err), &err); /* the store latched the failure */
    eng = ttai_testenv_engine(env);
    struct ttai_run_info info;
    ASSERT_EQ(ttai_engine_describe(eng, "default", "hello-lost", NULL, &info, &err), TTAI_ENOTFOUND);
    ASSERT_OK(ttai_engine_start(eng, "default", "hello", "hello-lost", json(&in, "\"again\""), NULL,
                                NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    res = result_json(eng, "hello-lost");
    ASSERT(strcmp(res, "\"Hello, again!\"") == 0);
    ttai_free(res);
    ttai_buf_release(&in);
}

/* Starts of one id racing from several threads: each first task runs, one
 * start commits and the others are refused (before their commit, or by the
 * store's condition on the execution); a refused start leaves nothing
 * cached. */
#define RACERS 6
#define RACES 20
struct racer {
    struct ttai_engine *eng;
    pthread_barrier_t *go;
    const char *id;
    int rc;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    struct ttai_err e;
    pthread_barrier_wait(r->go);
    r->rc = ttai_engine_start(r->eng, "default", "sleeper", r->id, (struct ttai_payload){0}, NULL,
                              NULL, &e);
    return NULL;
}

static void test_racing_starts(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    struct ttai_engine_stats before, after;
    ttai_engine_stats_get(eng, &before);
    for (int race = 0; race < RACES; race++) {
        char id[32];
        snprintf(id, sizeof(id), "race-%d", race);
        pthread_barrier_t go;
        ASSERT(pthread_barrier_init(&go, NULL, RACERS) == 0);
        struct racer racers[RACERS];
        pthread_t threads[RACERS];
        for (int i = 0; i < RACERS; i++) {
            racers[i] = (struct racer){eng, &go, id, -1};
            ASSERT(pthread_create(&threads[i], NULL, racer_main, &racers[i]) == 0);
        }
        int won = 0;
        for (int i = 0; i < RACERS; i++) {
            ASSERT(pthread_join(threads[i], NULL) == 0);
            if (racers[i].rc == 0)
                won++;
            else
                ASSERT(racers[i].rc == TTAI_EEXIST || racers[i].rc == TTAI_ECONFLICT);
        }
        pthread_barrier_destroy(&go);
        ASSERT_EQ(won, 1);
        struct ttai_run_info info;
        ASSERT_OK(ttai_engine_describe(eng, "default", id, NULL, &info, &err), &err);
        ASSERT_EQ(info.history_length, 3); /* started, its task, the timer: once */
    }
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ttai_engine_stats_get(eng, &after);
    ASSERT_EQ(after.cached, before.cached + RACES);
    for (int race = 0; race < RACES; race++) {
        char id[32];
        snprintf(id, sizeof(id), "race-%d", race);
        ASSERT_OK(ttai_engine_terminate(eng, "default", id, NULL, "done racing", &err), &err);
    }
    ASSERT_OK(ttai_testenv_settle(env), &err);
}

static const char *gate_id;

static void *gate_starter(void *arg)
{
    struct ttai_err e;
    int rc = ttai_engine_start(arg, "default", "gate", gate_id, (struct ttai_payload){0}, NULL, NULL,
                               &e);
    return (void *)(intptr_t)rc;
}

static void start_durable(void *arg)
{
    atomic_store((atomic_bool *)arg, true);
}

/* The asynchronous start never waits for the engine lock: while another
 * thread holds it (here a start whose first task waits at a gate), begin
 * and end answer TTAI_EBUSY having done nothing, and work once it is free. */
static void test_async_start_busy(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    pthread_t holder;
    gate_id = "gate-1";
    ASSERT(pthread_create(&holder, NULL, gate_starter, eng) == 0);
    while (!atomic_load(&gate_entered))
        sched_yield();
    struct ttai_start_op *op = NULL;
    atomic_bool durable = false;
    ASSERT_EQ(ttai_engine_start_begin(eng, "default", "hello", "async-1", json(&in, "\"async\""), NULL,
                                      start_durable, &durable, &op, NULL, &err), TTAI_EBUSY);
    ASSERT(op == NULL && !atomic_load(&durable));
    atomic_store(&gate_open, true);
    void *held_rc;
    ASSERT(pthread_join(holder, &held_rc) == 0);
    ASSERT_EQ((int)(intptr_t)held_rc, 0);
    struct ttai_run_info info; /* the busy begin recorded nothing */
    ASSERT_EQ(ttai_engine_describe(eng, "default", "async-1", NULL, &info, &err), TTAI_ENOTFOUND);

    ASSERT_OK(ttai_engine_start_begin(eng, "default", "hello", "async-1", json(&in, "\"async\""),
                                      NULL, start_durable, &durable, &op, NULL, &err), &err);
    ASSERT(op != NULL);
    while (!atomic_load(&durable))
        sched_yield();
    /* Durable, not ended: a second gate holds the lock, end says busy. */
    atomic_store(&gate_entered, false);
    atomic_store(&gate_open, false);
    pthread_t second;
    gate_id = "gate-2";
    ASSERT(pthread_create(&second, NULL, gate_starter, eng) == 0);
    while (!atomic_load(&gate_entered))
        sched_yield();
    struct ttai_run_id run;
    ASSERT_EQ(ttai_engine_start_end(eng, op, false, &run, &err), TTAI_EBUSY);
    atomic_store(&gate_open, true);
    ASSERT(pthread_join(second, &held_rc) == 0);
    ASSERT_EQ((int)(intptr_t)held_rc, 0);
    ASSERT_OK(ttai_engine_start_end(eng, op, true, &run, &err), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "async-1", NULL, &info, &err), &err);
    ASSERT(ttai_run_id_eq(&info.run_id, &run));
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "async-1");
    ASSERT(strcmp(res, "\"Hello, async!\"") == 0);
    ttai_free(res);
    ttai_buf_release(&in);
}

/* What a ttai_engine_start_async callback reported. */
struct start_ended {
    int calls;
    int rc;
    bool started;
    struct ttai_run_id run;
    char msg[TTAI_ERR_MSG_MAX];
};

static void on_start_ended(void *arg, int rc, const struct ttai_run_id *run, bool started,
                           const struct ttai_err *e)
{
    struct start_ended *s = arg;
    s->calls++;
    s->rc = rc;
    s->started = started;
    if (run != NULL)
        s->run = *run;
    snprintf(s->msg, sizeof(s->msg), "%s", e != NULL ? e->msg : "");
}

/* Starts queued for the poller (ttaid's HTTP loop makes its starts this
 * way): made in the next round, each reported once, with what
 * ttai_engine_start would have returned. */
static void test_start_async(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct start_ended a = {0}, b = {0}, c = {0}, d = {0};
    /* The checks that need no store answer at once and queue nothing. */
    ASSERT_EQ(ttai_engine_start_async(eng, "default", "nope", "sa-0", json(&in, "1"), NULL,
                                      on_start_ended, &c, &err), TTAI_ENOTFOUND);
    ASSERT(strstr(err.msg, "unknown workflow type 'nope'") != NULL);
    ASSERT_EQ(ttai_engine_start_async(eng, "", "hello", "sa-0", json(&in, "1"), NULL,
                                      on_start_ended, &c, &err), TTAI_EINVAL);
    /* Two starts of one id queued together take turns: the second is
     * made in a later round, against the run the first made, and refused
     * as a start after it would be; nothing runs twice. */
    ASSERT_OK(ttai_engine_start_async(eng, "default", "counter", "sa-1", json(&in, "{}"), NULL,
                                      on_start_ended, &a, &err), &err);
    ASSERT_OK(ttai_engine_start_async(eng, "default", "counter", "sa-1", json(&in, "{}"), NULL,
                                      on_start_ended, &b, &err), &err);
    ASSERT(a.calls == 0 && b.calls == 0); /* nothing before a poll */
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(c.calls, 0);
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(a.rc, 0);
    ASSERT(a.started);
    ASSERT_EQ(b.calls, 1);
    ASSERT_EQ(b.rc, TTAI_EEXIST);
    ASSERT(strstr(b.msg, "workflow 'sa-1' is already running") != NULL);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "sa-1", NULL, &info, &err), &err);
    ASSERT(ttai_run_id_eq(&info.run_id, &a.run));
    ASSERT_EQ(info.history_length, 2); /* started, its first task: one start only */
    /* With terminate_existing each ends the run of the one before it. */
    struct start_ended t[3] = {{0}};
    struct ttai_start_opts term = {.id_conflict = TTAI_CONFLICT_TERMINATE};
    for (int i = 0; i < 3; i++)
        ASSERT_OK(ttai_engine_start_async(eng, "default", "counter", "sa-1", json(&in, "{}"),
                                          &term, on_start_ended, &t[i], &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    const struct ttai_run_id *ended[] = {&a.run, &t[0].run, &t[1].run};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(t[i].calls, 1);
        ASSERT_EQ(t[i].rc, 0);
        ASSERT(t[i].started);
        ASSERT_OK(ttai_engine_describe(eng, "default", "sa-1", ended[i], &info, &err), &err);
        ASSERT_EQ(info.status, STORE_RUN_TERMINATED);
    }
    ASSERT_OK(ttai_engine_describe(eng, "default", "sa-1", NULL, &info, &err), &err);
    ASSERT(ttai_run_id_eq(&info.run_id, &t[2].run));
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    ASSERT_OK(ttai_engine_terminate(eng, "default", "sa-1", NULL, "test over", &err), &err);
    /* use_existing on a running workflow: the running run, no commit. */
    struct ttai_run_id running;
    ASSERT_OK(ttai_engine_start(eng, "default", "counter", "sa-2", json(&in, "{}"), NULL, &running,
                                &err), &err);
    struct ttai_start_opts use = {.id_conflict = TTAI_CONFLICT_USE_EXISTING};
    ASSERT_OK(ttai_engine_start_async(eng, "default", "counter", "sa-2", json(&in, "{}"), &use,
                                      on_start_ended, &d, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(d.calls, 1);
    ASSERT_EQ(d.rc, 0);
    ASSERT(!d.started);
    ASSERT(ttai_run_id_eq(&d.run, &running));
    /* Starts answered without a commit hold nothing up: queued together,
     * all are answered in one settle. */
    struct start_ended u[4] = {{0}};
    for (int i = 0; i < 4; i++)
        ASSERT_OK(ttai_engine_start_async(eng, "default", "counter", "sa-2", json(&in, "{}"),
                                          &use, on_start_ended, &u[i], &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(u[i].calls, 1);
        ASSERT_EQ(u[i].rc, 0);
        ASSERT(!u[i].started);
        ASSERT(ttai_run_id_eq(&u[i].run, &running));
    }
    ASSERT_OK(ttai_engine_terminate(eng, "default", "sa-2", NULL, "test over", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* A start refused by a condition is made again in a later round.
     * Here the ticker's stop closes the run in the same round as the
     * start that would terminate it: the start's condition (the run is
     * running) refuses it, and made again it starts a new run. */
    struct ttai_run_id stopped;
    ASSERT_OK(ttai_engine_start(eng, "default", "ticker", "sa-4", json(&in, "{}"), NULL, &stopped,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "sa-4", "stop", 0);
    struct start_ended again = {0};
    ASSERT_OK(ttai_engine_start_async(eng, "default", "ticker", "sa-4", json(&in, "{}"), &term,
                                      on_start_ended, &again, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(again.calls, 1);
    ASSERT_EQ(again.rc, 0);
    ASSERT(again.started && !ttai_run_id_eq(&again.run, &stopped));
    ASSERT_OK(ttai_engine_describe(eng, "default", "sa-4", &stopped, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_COMPLETED); /* stopped, not terminated by the start */
    ASSERT_OK(ttai_engine_terminate(eng, "default", "sa-4", NULL, "test over", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* The same at close: answered (TTAI_ECLOSED) rather than left queued. */
    ASSERT_OK(ttai_engine_start(eng, "default", "ticker", "sa-3", json(&in, "{}"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "sa-3", "stop", 0);
    struct start_ended r = {0};
    ASSERT_OK(ttai_engine_start_async(eng, "default", "ticker", "sa-3", json(&in, "{}"), &term,
                                      on_start_ended, &r, &err), &err);
    int polled = ttai_engine_poll(eng, NULL); /* the round with both, not finished */
    ASSERT(polled > 0);
    ASSERT_EQ(r.calls, 0);
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    ASSERT_EQ(r.calls, 1);
    ASSERT_EQ(r.rc, TTAI_ECLOSED);
    ttai_buf_release(&in);
}

static void test_counter(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct ttai_run_id first;
    ASSERT_OK(ttai_engine_start(eng, "default", "counter", "c1", json(&in, "{\"every\": 3}"),
                                NULL, &first, &err), &err);
    ASSERT_EQ(ttai_engine_start(eng, "default", "counter", "c1", json(&in, "{}"), NULL, NULL,
                                &err), TTAI_EEXIST);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    for (int i = 1; i <= 7; i++) {
        signal_int(eng, "c1", "add", i);
        /* Some signals land while a continue-as-new is pending. */
        if (i % 2 == 0)
            ASSERT_OK(ttai_testenv_settle(env), &err);
    }
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_EQ(query_int(eng, "c1", "value"), 28);
    check_replay_query("c1", "value", 28);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "c1", NULL, &info, &err), &err);
    ASSERT(!ttai_run_id_eq(&info.run_id, &first)); /* continued as new */
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    /* Unknown signal or query: refused, nothing recorded. */
    struct ttai_buf b;
    ttai_buf_init(&b);
    ASSERT_EQ(ttai_engine_signal(eng, "default", "c1", NULL, "nope", (struct ttai_payload){0},
                                 &err),
              TTAI_ENOTFOUND);
    ASSERT_EQ(ttai_engine_query(eng, "default", "c1", NULL, "nope", (struct ttai_payload){0}, &b,
                                &err), TTAI_ENOTFOUND);
    struct ttai_run_info after;
    ASSERT_OK(ttai_engine_describe(eng, "default", "c1", NULL, &after, &err), &err);
    ASSERT_EQ(after.history_length, info.history_length);
    ASSERT_EQ(ttai_engine_signal(eng, "default", "missing", NULL, "add", (struct ttai_payload){0},
                                 &err), TTAI_ENOTFOUND);
    signal_int(eng, "c1", "stop", 0);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "c1");
    ASSERT(strcmp(res, "28") == 0);
    ttai_free(res);
    ttai_buf_release(&b);
    ttai_buf_release(&in);
}

static void test_timers_and_restart(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "ticker", "t1", json(&in, "0"), NULL, NULL, &err),
              &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* One virtual hour: 360 ticks across a continue-as-new at 300. */
    ASSERT_OK(ttai_testenv_advance(env, 3600 * 1000), &err);
    ASSERT_EQ(query_int(ttai_testenv_engine(env), "t1", "ticks"), 360);
    check_replay_query("t1", "ticks", 360);
    /* A query may not issue commands. */
    struct ttai_buf b;
    ttai_buf_init(&b);
    ASSERT_EQ(ttai_engine_query(eng, "default", "t1", NULL, "bad", (struct ttai_payload){0}, &b,
                                &err), TTAI_EPERM);
    /* Restart: the run is rebuilt by replay and its timer re-armed. */
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_EQ(query_int(eng, "t1", "ticks"), 360);
    ASSERT_OK(ttai_testenv_advance(env, 600 * 1000), &err);
    ASSERT_EQ(query_int(eng, "t1", "ticks"), 420);
    ASSERT_OK(ttai_engine_signal(eng, "default", "t1", NULL, "stop", (struct ttai_payload){0},
                                 &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "t1");
    ASSERT(strcmp(res, "420") == 0);
    ttai_free(res);
    ttai_buf_release(&b);
    ttai_buf_release(&in);
}

/* A week of a 10-second monitor loop: 60,480 ticks across 201
 * continues-as-new, on the virtual clock (the real time it takes is printed,
 * never asserted: ttai-bench runtime has the figure). */
static void test_week_of_ticks(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "ticker", "week", json(&in, "0"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    int64_t t0 = ttai_mono_ns();
    ASSERT_OK(ttai_testenv_advance(env, 7LL * 24 * 3600 * 1000), &err);
    double secs = (double)(ttai_mono_ns() - t0) / 1e9;
    ASSERT_EQ(query_int(eng, "week", "ticks"), 7 * 24 * 360);
    check_replay_query("week", "ticks", 7 * 24 * 360);
    ASSERT_OK(ttai_engine_signal(eng, "default", "week", NULL, "stop", (struct ttai_payload){0},
                                 &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "week");
    ASSERT(strcmp(res, "60480") == 0);
    ttai_free(res);
    fprintf(stderr, "a week of 10 s ticks: %.2f s real time\n", secs);
    ttai_buf_release(&in);
}

static void test_retry_and_cancel(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "retrier", "r1", json(&in, "null"), NULL, NULL,
                                &err), &err);
    /* Attempt 1 fails now, attempt 2 after 1 s, attempt 3 after 2 s more. */
    ASSERT_OK(ttai_testenv_advance(env, 5000), &err);
    char *res = result_json(eng, "r1");
    ASSERT(strcmp(res, "3") == 0);
    ttai_free(res);
    ASSERT_OK(ttai_engine_start(eng, "default", "sleeper", "s1", json(&in, "null"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "s1", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "s1", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_CANCELED);
    ASSERT_EQ(info.pending_timers, 0);
    ASSERT_OK(ttai_engine_start(eng, "default", "sleeper", "s2", json(&in, "null"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_terminate(eng, "default", "s2", NULL, "by test", &err), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "s2", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_TERMINATED);
    ASSERT_EQ(info.pending_timers, 0);
    ttai_buf_release(&in);
}

/* Calls fn on every event of a workflow's current run. */
static void history_walk(struct ttai_engine *eng, const char *wf,
                         void (*fn)(const struct store_event *ev, void *arg), void *arg)
{
    struct store_read *rd;
    ASSERT_OK(store_read_begin(ttai_engine_store(eng), &rd, &err), &err);
    struct ttai_run_id run;
    ASSERT_OK(store_exec_get(rd, "default", wf, &run, &err), &err);
    struct store_iter it;
    ASSERT_OK(store_hist_iter_init(&it, rd, &run, 1, &err), &err);
    struct store_event ev;
    int rc;
    while ((rc = store_hist_iter_next(&it, &ev, &err)) == 1)
        fn(&ev, arg);
    ASSERT_EQ(rc, 0);
    store_iter_release(&it);
    store_read_end(rd);
}

struct type_count {
    int type, n;
};

static void count_one(const struct store_event *ev, void *arg)
{
    struct type_count *c = arg;
    c->n += ev->type == c->type;
}

/* The events of a workflow's current run of one type. */
static int count_events(struct ttai_engine *eng, const char *wf, int type)
{
    struct type_count c = {type, 0};
    history_walk(eng, wf, count_one, &c);
    return c.n;
}

struct names {
    char text[512];
    size_t used;
};

static void name_one(const struct store_event *ev, void *arg)
{
    struct names *n = arg;
    if (ev->type == STORE_EV_MARKER_RECORDED && n->used < sizeof(n->text))
        n->used += (size_t)snprintf(n->text + n->used, sizeof(n->text) - n->used, "%.*s ",
                                    (int)ev->name.len, (const char *)ev->name.data);
}

/* The names of a workflow's current run's markers, each followed by a space. */
static char *marker_names(struct ttai_engine *eng, const char *wf)
{
    struct names n = {"", 0};
    history_walk(eng, wf, name_one, &n);
    return ttai_strndup(n.text, strlen(n.text));
}

/* ttai_wf_await and cancellation: a run's first request ends the await in
 * progress (cancelling its timer) or the next one, once; the condition
 * wins a tie and the request goes to the next await; later awaits and
 * requests end nothing more. */
static void test_await_and_cancel(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct ttai_run_info info;
    char *markers;
    static const char *const ended = "{\"first\":\"ECANCELED\",\"canceled\":true,\"second\":true}";
    static const struct {
        const char *id, *input;
        int timers_started; /* TimerStarted events at the end */
    } cases[] = {
        {"aw-1", "{}", 0},                                   /* no timeout */
        {"aw-2", "{\"timeout_ms\": 60000}", 1},             /* its timer is cancelled */
        {"aw-3", "{\"delay_ms\": 1000, \"timeout_ms\": 60000}", 1}, /* requested before the await */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *id = cases[i].id;
        ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", id, json(&in, cases[i].input), NULL,
                                    NULL, &err), &err);
        ASSERT_OK(ttai_testenv_settle(env), &err);
        ASSERT_OK(ttai_engine_cancel(eng, "default", id, NULL, "test", &err), &err);
        ASSERT_OK(ttai_testenv_advance(env, 2000), &err); /* past aw-3's delay */
        /* The first await returned; the second waits for "done". */
        ASSERT_OK(ttai_engine_describe(eng, "default", id, NULL, &info, &err), &err);
        ASSERT_EQ(info.status, STORE_RUN_RUNNING);
        ASSERT_EQ(info.pending_timers, 0);
        ASSERT_OK(ttai_engine_cancel(eng, "default", id, NULL, "again", &err), &err);
        ASSERT_OK(ttai_testenv_settle(env), &err);
        ASSERT_OK(ttai_engine_describe(eng, "default", id, NULL, &info, &err), &err);
        ASSERT_EQ(info.status, STORE_RUN_RUNNING); /* the first request only */
        signal_int(eng, id, "done", 1);
        ASSERT_OK(ttai_testenv_settle(env), &err);
        char *res = result_json(eng, id);
        if (strcmp(res, ended) != 0) {
            fprintf(stderr, "FAIL: %s: %s\n", id, res);
            exit(1);
        }
        ttai_free(res);
        ASSERT_EQ(count_events(eng, id, STORE_EV_TIMER_STARTED), cases[i].timers_started);
        ASSERT_EQ(count_events(eng, id, STORE_EV_TIMER_CANCELED), i == 1 ? 1 : 0);
        markers = marker_names(eng, id);
        ASSERT(strcmp(markers, "engine:await-cancel ") == 0);
        ttai_free(markers);
    }
    /* A signal and the request delivered in one task to a waiting await:
     * the condition wins, and the request ends the next await at once. */
    ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", "aw-4", json(&in, "{}"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "aw-4", "go", 1);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "aw-4", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "aw-4");
    ASSERT(strcmp(res, "{\"first\":\"OK\",\"canceled\":true,\"second\":false}") == 0);
    ttai_free(res);
    /* A sleep that returned TTAI_ECANCELED reported the request: the
     * awaits after it wait for their conditions. */
    ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", "aw-5",
                                json(&in, "{\"sleep_ms\": 60000}"), NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "aw-5", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "aw-5", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    signal_int(eng, "aw-5", "go", 1);
    signal_int(eng, "aw-5", "done", 1);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    res = result_json(eng, "aw-5");
    ASSERT(strcmp(res, "{\"first\":\"OK\",\"canceled\":true,\"second\":true}") == 0);
    ttai_free(res);
    markers = marker_names(eng, "aw-5");
    ASSERT(strcmp(markers, "") == 0);
    ttai_free(markers);
    /* A timeout, then the request: it ends the next await that waits. */
    ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", "aw-6",
                                json(&in, "{\"timeout_ms\": 1000}"), NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 2000), &err);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "aw-6", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    res = result_json(eng, "aw-6");
    ASSERT(strcmp(res, "{\"first\":\"ETIMEDOUT\",\"canceled\":false,\"second\":false}") == 0);
    ttai_free(res);
    ASSERT_EQ(count_events(eng, "aw-6", STORE_EV_TIMER_FIRED), 1);
    /* A query cannot wait: its awaits return TTAI_EPERM at once, also with
     * a request that no await has reported yet (aw-8 waits in its delay). */
    ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", "aw-8",
                                json(&in, "{\"delay_ms\": 1000, \"timeout_ms\": 60000}"), NULL,
                                NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    static const char *const refused =
        "{\"untimed\":\"EPERM\",\"timed\":\"EPERM\",\"timer\":\"EPERM\"}";
    for (int asked = 0; asked < 2; asked++) {
        if (asked)
            ASSERT_OK(ttai_engine_cancel(eng, "default", "aw-8", NULL, "test", &err), &err);
        ASSERT_OK(ttai_testenv_settle(env), &err);
        char *got = query_json(eng, "aw-8", "wait");
        if (strcmp(got, refused) != 0) {
            fprintf(stderr, "FAIL: aw-8 query (request %d): %s\n", asked, got);
            exit(1);
        }
        ttai_free(got);
    }
    ASSERT_OK(ttai_testenv_advance(env, 2000), &err); /* the await ends on the request */
    signal_int(eng, "aw-8", "done", 1);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    res = result_json(eng, "aw-8");
    ASSERT(strcmp(res, "{\"first\":\"ECANCELED\",\"canceled\":true,\"second\":true}") == 0);
    ttai_free(res);
    /* The sample counter: a request that comes with the add that would
     * continue it as new ends it canceled, with its total. */
    ASSERT_OK(ttai_engine_start(eng, "default", "counter", "aw-c", json(&in, "{\"every\": 2}"),
                                NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "aw-c", "add", 1);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "aw-c", "add", 2);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "aw-c", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "aw-c", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_CANCELED);
    ASSERT_EQ(query_int(eng, "aw-c", "value"), 3);
    markers = marker_names(eng, "aw-c");
    ASSERT(strcmp(markers, "patch:counter-cancel ") == 0);
    ttai_free(markers);
    ttai_buf_release(&in);
}

/* The await's timer: the last TimerStarted of a run. */
struct timer_seen {
    uint64_t seq, last_event_id;
    int64_t fire_ms;
};

static void timer_seen_one(const struct store_event *ev, void *arg)
{
    struct timer_seen *t = arg;
    t->last_event_id = ev->event_id;
    if (ev->type == STORE_EV_TIMER_STARTED) {
        t->seq = ev->seq;
        t->fire_ms = ev->fire_ms;
    }
}

/* The request and the await's timeout delivered in one task: the request
 * wins. ttaid's engine threads get there when the timer fires and the
 * request comes while the run's previous task is committing (each is then
 * appended alone); the test environment, which commits inline, always runs
 * the request's task first. So the two are written as the engine appends
 * them, TimerFired and its timer's removal then CancelRequested, while the
 * engine does not know, and a restart runs the task that takes both. */
static void test_await_cancel_with_timeout(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "awaiter", "aw-7",
                                json(&in, "{\"timeout_ms\": 60000}"), NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ttai_buf_release(&in);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "aw-7", NULL, &info, &err), &err);
    ASSERT_EQ(info.pending_timers, 1);
    struct timer_seen t = {0};
    history_walk(eng, "aw-7", timer_seen_one, &t);
    ASSERT(t.seq > 0 && t.fire_ms > ttai_testenv_now(env));
    struct store_batch *b = store_batch_new();
    ASSERT(b != NULL);
    struct store_event fired = {.type = STORE_EV_TIMER_FIRED, .time_ms = t.fire_ms,
                                .seq = t.seq, .fire_ms = t.fire_ms};
    struct store_event request = {.type = STORE_EV_CANCEL_REQUESTED, .time_ms = t.fire_ms,
                                  .failure_message = {(const uint8_t *)"test", 4}};
    ASSERT_OK(store_batch_require_run_status(b, &info.run_id, STORE_RUN_RUNNING), NULL);
    ASSERT_OK(store_batch_require_last_event(b, &info.run_id, t.last_event_id), NULL);
    ASSERT_OK(store_batch_append(b, &info.run_id, &fired, &err), &err);
    ASSERT_OK(store_batch_del_timer(b, t.fire_ms, &info.run_id, t.seq), NULL);
    ASSERT_OK(store_batch_append(b, &info.run_id, &request, &err), &err);
    ASSERT_OK(store_commit(ttai_engine_store(eng), b, &err), &err);
    store_batch_free(b);
    ASSERT_OK(ttai_testenv_restart(env, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* The first await ended on the request; the second waits for "done". */
    ASSERT_OK(ttai_engine_describe(eng, "default", "aw-7", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    ASSERT_EQ(info.pending_timers, 0);
    signal_int(eng, "aw-7", "done", 1);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "aw-7");
    if (strcmp(res, "{\"first\":\"ECANCELED\",\"canceled\":true,\"second\":true}") != 0) {
        fprintf(stderr, "FAIL: aw-7: %s\n", res);
        exit(1);
    }
    ttai_free(res);
    ASSERT_EQ(count_events(eng, "aw-7", STORE_EV_TIMER_FIRED), 1);
    char *markers = marker_names(eng, "aw-7");
    ASSERT(strcmp(markers, "engine:await-cancel ") == 0);
    ttai_free(markers);
}

/* A history recorded when awaits went on waiting after a cancellation
 * request (the legacy "waiter" records the same commands as "waiter"
 * did then) replays and runs on unchanged under the new await; a new run
 * ends on the request. */
static void test_await_cancel_upgrade(struct ttai_testenv *env)
{
    static const struct ttai_workflow_def *const legacy_wfs[] = {&wf_waiter_legacy, NULL};
    static const struct ttai_registry legacy = {legacy_wfs, NULL};
    ASSERT_OK(ttai_testenv_redeploy(env, &legacy, 0, &err), &err);
    struct ttai_engine *eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_engine_start(eng, "default", "waiter", "wt-old", (struct ttai_payload){0},
                                NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "wt-old", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_testenv_redeploy(env, &registry, 0, &err), &err); /* the upgrade */
    eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "wt-old", NULL, &info, &err), &err);
    ASSERT(!info.blocked);
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    ASSERT_EQ(info.pending_timers, 1);
    ASSERT_OK(ttai_engine_start(eng, "default", "waiter", "wt-new", (struct ttai_payload){0},
                                NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_cancel(eng, "default", "wt-new", NULL, "test", &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "wt-new");
    ASSERT(strcmp(res, "1") == 0);
    ttai_free(res);
    ASSERT_OK(ttai_testenv_advance(env, 61000), &err);
    res = result_json(eng, "wt-old");
    ASSERT(strcmp(res, "0") == 0);
    ttai_free(res);
    char *markers = marker_names(eng, "wt-old");
    ASSERT(strcmp(markers, "") == 0);
    ttai_free(markers);
}

/* Live non-determinism: a changed "counter" blocks the open run, describe
 * says why, and the run resumes when the original code returns. */
static int64_t changed_counter_answer(void)
{
    return 0;
}

static void counter_changed_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    ttai_wf_sleep(wf, 5000); /* the original code waits for signals: no timer */
}

/* A signal handler neither waits nor issues commands: each try is refused
 * at once (before, the sleep yielded from outside the run's coroutine and
 * crashed), nothing is recorded for it, and the run replays (replay_all). */
static void test_signal_handler_limits(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_engine_start(eng, "default", "greedy", "greedy-1", (struct ttai_payload){0},
                                NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "greedy-1", "try", 1);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    char *res = result_json(eng, "greedy-1");
    static const char *const want =
        "{\"activity\":\"EPERM\",\"refused\":\"SignalCommand: a signal handler cannot "
        "schedule activities\",\"sleep\":\"EPERM\",\"await\":\"EPERM\",\"timer\":\"EPERM\","
        "\"timer_done\":true,\"random\":0,\"uuid\":\"\",\"patched\":false}";
    if (strcmp(res, want) != 0) {
        fprintf(stderr, "FAIL: greedy-1: %s\n", res);
        exit(1);
    }
    ttai_free(res);
    ASSERT_EQ(count_events(eng, "greedy-1", STORE_EV_ACTIVITY_SCHEDULED), 0);
    ASSERT_EQ(count_events(eng, "greedy-1", STORE_EV_TIMER_STARTED), 0);
    ASSERT_EQ(count_events(eng, "greedy-1", STORE_EV_MARKER_RECORDED), 0);
    ASSERT_EQ(count_events(eng, "greedy-1", STORE_EV_SIGNAL_RECEIVED), 1);
}

static void test_live_nondeterminism_and_eviction(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_engine_start(eng, "default", "counter", "c-nd", json(&in, "{\"every\": 100}"),
                                NULL, NULL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    signal_int(eng, "c-nd", "add", 5);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* Deploy changed code: the run cannot be replayed. */
    static struct ttai_workflow_def changed;
    changed = wf_counter;
    changed.run = counter_changed_run;
    static const struct ttai_workflow_def *changed_wfs[] = {&changed, NULL};
    static const struct ttai_registry changed_reg = {changed_wfs, NULL};
    ASSERT_OK(ttai_testenv_redeploy(env, &changed_reg, 0, &err), &err);
    eng = ttai_testenv_engine(env);
    signal_int(eng, "c-nd", "add", 6); /* accepted and durable, not yet processed */
    ASSERT_OK(ttai_testenv_settle(env), &err);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "c-nd", NULL, &info, &err), &err);
    ASSERT(info.blocked);
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    ASSERT(strstr(info.blocked_reason, "TimerStarted") != NULL);
    ASSERT(info.blocked_event_id > 0);
    struct ttai_buf ans;
    ttai_buf_init(&ans);
    ASSERT_EQ(ttai_engine_query(eng, "default", "c-nd", NULL, "value", (struct ttai_payload){0},
                                &ans, &err), TTAI_ENONDET);
    ASSERT_EQ(changed_counter_answer(), 0);
    /* The fixed (original) code is deployed again, with a cache of 2 runs:
     * the run resumes, sees both signals, and evictions rebuild by replay. */
    ASSERT_OK(ttai_testenv_redeploy(env, &registry, 2, &err), &err);
    eng = ttai_testenv_engine(env);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "c-nd", NULL, &info, &err), &err);
    ASSERT(!info.blocked);
    ASSERT_EQ(query_int(eng, "c-nd", "value"), 11);
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof(id), "c-ev-%d", i);
        ASSERT_OK(ttai_engine_start(eng, "default", "counter", id, json(&in, "{\"every\": 100}"),
                                    NULL, NULL, &err), &err);
        ASSERT_OK(ttai_testenv_settle(env), &err);
        signal_int(eng, id, "add", i);
    }
    ASSERT_OK(ttai_testenv_settle(env), &err);
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof(id), "c-ev-%d", i);
        ASSERT_EQ(query_int(eng, id, "value"), i);
    }
    ASSERT_EQ(query_int(eng, "c-nd", "value"), 11);
    struct ttai_engine_stats st;
    ttai_engine_stats_get(eng, &st);
    ASSERT(st.evictions > 0);
    ASSERT(st.cached <= 2);
    ttai_buf_release(&ans);
    ttai_buf_release(&in);
}

static void test_timeouts_and_history_limit(struct ttai_testenv *env)
{
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf in;
    ttai_buf_init(&in);
    struct ttai_start_opts opts = {.run_timeout_ms = 30000};
    ASSERT_OK(ttai_engine_start(eng, "default", "sleeper", "timeout-1", json(&in, "null"), &opts,
                                NULL, &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 29000), &err);
    struct ttai_run_info info;
    ASSERT_OK(ttai_engine_describe(eng, "default", "timeout-1", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_RUNNING);
    ASSERT_OK(ttai_testenv_advance(env, 2000), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "timeout-1", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_TIMED_OUT);
    ASSERT_EQ(info.pending_timers, 0);
    /* An execution timeout spans continue-as-new. */
    struct ttai_start_opts exec = {.execution_timeout_ms = 45 * 60 * 1000};
    ASSERT_OK(ttai_engine_start(eng, "default", "ticker", "timeout-2", json(&in, "0"), &exec, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 3600 * 1000), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "timeout-2", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_TIMED_OUT);
    ASSERT(info.history_length < 2000); /* a continued run timed out */
    /* The history limit. */
    ASSERT_OK(ttai_engine_start(eng, "default", "spinner", "spin", json(&in, "null"), NULL, NULL,
                                &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 100), &err);
    ASSERT_OK(ttai_engine_describe(eng, "default", "spin", NULL, &info, &err), &err);
    ASSERT_EQ(info.status, STORE_RUN_TERMINATED);
    ASSERT(info.history_length >= TTAI_HISTORY_LIMIT);
    ttai_buf_release(&in);
}

static void test_nondeterminism(void)
{
    /* hello-1 was recorded by the original code above. */
    static const struct ttai_workflow_def *const changed[] = {&wf_hello_changed, NULL};
    static const struct ttai_registry changed_reg = {changed, NULL};
    int rc = ttai_replay(dir, &changed_reg, "default", "hello-1", NULL, 0, NULL,
                         (struct ttai_payload){0}, NULL, &err);
    ASSERT_EQ(rc, TTAI_ENONDET);
    ASSERT(strstr(err.msg, "ActivityScheduled") != NULL);
    ASSERT(strstr(err.msg, "TimerStarted") != NULL);
    ASSERT(strstr(err.msg, "event 3") != NULL);
    /* The patched code replays the old history on its old path. */
    static const struct ttai_workflow_def *const patched[] = {&wf_hello_patched, NULL};
    static const struct ttai_activity_def *const acts[] = {&act_greet, NULL};
    static const struct ttai_registry patched_reg = {patched, acts};
    ASSERT_OK(ttai_replay(dir, &patched_reg, "default", "hello-1", NULL, 0, NULL,
                          (struct ttai_payload){0}, NULL, &err), &err);
}

/* Every stored run replays with the code that wrote it (replay --all). */
static void test_replay_all(void)
{
    struct store *store;
    struct store_opts so = {.dir = dir, .read_only = true};
    ASSERT_OK(store_open(&store, &so, &err), &err);
    struct store_read *rd;
    ASSERT_OK(store_read_begin(store, &rd, &err), &err);
    struct store_iter it;
    ASSERT_OK(store_run_iter_init(&it, rd, &err), &err);
    struct store_run run;
    int runs = 0;
    while (store_run_iter_next(&it, &run, &err) == 1) {
        int rc = ttai_replay(dir, &registry, run.ns, run.workflow_id, &run.run_id, 0, NULL,
                             (struct ttai_payload){0}, NULL, &err);
        if (rc != 0) {
            fprintf(stderr, "FAIL: replay of %s: %s\n", run.workflow_id, err.msg);
            exit(1);
        }
        runs++;
    }
    store_iter_release(&it);
    store_read_end(rd);
    store_close(store);
    fprintf(stderr, "replayed %d runs\n", runs);
    ASSERT(runs > 15); /* every test above left runs: the walk saw them */
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/ttai-runtime-XXXXXX", base);
    ASSERT(mkdtemp(dir) != NULL);
    struct ttai_testenv *env;
    ASSERT_OK(ttai_testenv_open(&env, dir, &registry, T0, &err), &err);
    test_hello(env);
    test_start_with_first_task(env);
    test_racing_starts(env);
    test_async_start_busy(env);
    test_start_async(env);
    test_counter(env);
    test_timers_and_restart(env);
    test_week_of_ticks(env);
    test_retry_and_cancel(env);
    test_await_and_cancel(env);
    test_await_cancel_with_timeout(env);
    test_await_cancel_upgrade(env);
    test_signal_handler_limits(env);
    test_live_nondeterminism_and_eviction(env);
    test_timeouts_and_history_limit(env);
    ttai_testenv_close(env);
    test_replay_all();
    test_nondeterminism();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT(system(cmd) == 0);
    printf("ok runtime\n");
    return 0;
}
