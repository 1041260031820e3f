/* test_activities.c: the activity model through the engine, on a virtual
 * clock: retry policy timing, non-retryable errors, heartbeat timeouts with
 * the last details, cancellation of a heartbeating activity, start-to-close
 * timeouts, and a crash while an attempt runs (exactly one more attempt). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "workflows.h"

#include "../harness/harness.h"


static struct ttai_err err;
static char dir[512];
static char marker_path[600];

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- Activities ----------------------------------------------------------------- */

/* Fails attempts 1 and 2, succeeds on 3, returning its attempt number. */
static int flaky(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    (void)in;
    if (ttai_activity_attempt(ctx) < 3)
        return ttai_activity_fail(ctx, "Flaky", true, "attempt %u", ttai_activity_attempt(ctx));
    ttai_buf_int(out, ttai_activity_attempt(ctx));
    return 0;
}

static int bad_request(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    (void)in;
    (void)out;
    return ttai_activity_fail(ctx, "BadRequest", true, "the request is malformed");
}

/* Attempt 1 heartbeats "step-3" and then hangs until released; attempt 2
 * returns the details it inherited. */
static atomic_bool release_hung;

static int hangs_once(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    (void)in;
    if (ttai_activity_attempt(ctx) == 1) {
        struct ttai_buf d;
        ttai_buf_init(&d);
        ttai_buf_str(&d, "step-3");
        int rc = ttai_activity_heartbeat(ctx, ttai_buf_payload(&d));
        ttai_buf_release(&d);
        ASSERT_EQ(rc, 0);
        while (!atomic_load(&release_hung))
            nap_ms(5);
        return ttai_activity_fail(ctx, "Late", true, "released");
    }
    struct ttai_payload last = ttai_activity_last_details(ctx);
    ttai_buf_raw(out, last);
    return 0;
}

/* Heartbeats until told to stop. */
static atomic_bool spinner_saw_cancel;

static int spins(struct ttai_activity_ctx *ctx, struct ttai_payload in, struct ttai_buf *out)
{
    (void)in;
    (void)out;
    for (;;) {
        if (ttai_activity_heartbeat(ctx, (struct ttai_payload){0}) == TTAI_ECANCELED) {
            atomic_store(&spinner_saw_cancel, true);
            return ttai_activity_fail(ctx, "Canceled", false, "stopped on request");
        }
        nap_ms(2);
    }
}

/* Appends "attempt N" to the marker file, then (attempt 1) waits to be killed. */
static int records_attempts(struct ttai_activity_ctx *ctx, struct ttai_payload in,
                            struct ttai_buf *out)
{
    (void)in;
    FILE *f = fopen(marker_path, "a");
    ASSERT(f != NULL);
    fprintf(f, "attempt %u %s\n", ttai_activity_attempt(ctx), ttai_activity_idempotency_key(ctx));
    fclose(f);
    if (getenv("TTAI_TEST_CHILD") != NULL)
        for (;;)
            nap_ms(10); /* the parent kills this process now */
    ttai_buf_int(out, ttai_activity_attempt(ctx));
    return 0;
}

/* ---- One workflow that runs the activity named by its input ------------------- */

struct runner_state {
    bool cancel;
};

static void runner_cancel(struct ttai_wf *wf, void *state, struct ttai_payload args)
{
    (void)wf;
    (void)args;
    ((struct runner_state *)state)->cancel = true;
}

/* Wakes on the cancel signal or on the activity's outcome. */
static bool runner_wake(const void *state, void *arg)
{
    return ((const struct runner_state *)state)->cancel || ttai_future_done(arg);
}

static void runner_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    struct ttai_reader r;
    ttai_reader_init(&r);
    msgpack_object o;
    char type[64] = "";
    int64_t heartbeat_ms = 0, start_to_close_ms = 60000, max_attempts = 0;
    if (ttai_payload_unpack(&r, input, &o) == 0) {
        ttai_obj_strcpy(ttai_obj_get(&o, "activity"), type, sizeof(type));
        ttai_obj_int(ttai_obj_get(&o, "heartbeat_ms"), &heartbeat_ms);
        ttai_obj_int(ttai_obj_get(&o, "start_to_close_ms"), &start_to_close_ms);
        ttai_obj_int(ttai_obj_get(&o, "max_attempts"), &max_attempts);
    }
    ttai_reader_release(&r);
    static const char *const non_retryable[] = {"BadRequest", NULL};
    struct ttai_activity_opts opts = {.start_to_close_ms = start_to_close_ms,
                                      .heartbeat_ms = heartbeat_ms,
                                      .retry_initial_ms = 1000,
                                      .retry_backoff = 2.0,
                                      .retry_max_attempts = (uint32_t)max_attempts,
                                      .non_retryable = non_retryable};
    struct ttai_future *f = ttai_wf_activity_start(wf, type, (struct ttai_payload){0}, &opts);
    struct ttai_future *futures[] = {f};
    ttai_wf_await(wf, runner_wake, f, -1);
    if (!ttai_future_done(f)) {
        ttai_wf_activity_cancel(wf, f);
        ttai_wf_wait_any(wf, futures, 1);
    }
    const struct ttai_result *res = ttai_future_result(f);
    struct ttai_buf out;
    ttai_buf_init(&out);
    ttai_buf_map(&out, 4);
    ttai_buf_str(&out, "rc");
    ttai_buf_str(&out, ttai_rc_name(res->rc));
    ttai_buf_str(&out, "attempts");
    ttai_buf_int(&out, res->attempts);
    ttai_buf_str(&out, "error_type");
    ttai_buf_str(&out, res->error_type);
    ttai_buf_str(&out, "value");
    if (res->value.len)
        ttai_buf_raw(&out, res->value);
    else
        ttai_buf_nil(&out);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&out));
    ttai_buf_release(&out);
    ttai_wf_complete(wf, p);
}

static const struct ttai_signal_def runner_signals[] = {{"cancel", runner_cancel}, {NULL, NULL}};
static const struct ttai_workflow_def wf_runner = {"runner", runner_run,
                                                   sizeof(struct runner_state), runner_signals,
                                                   NULL};
static const struct ttai_activity_def a_flaky = {"flaky", flaky};
static const struct ttai_activity_def a_bad = {"bad_request", bad_request};
static const struct ttai_activity_def a_hangs = {"hangs_once", hangs_once};
static const struct ttai_activity_def a_spins = {"spins", spins};
static const struct ttai_activity_def a_records = {"records_attempts", records_attempts};
static const struct ttai_workflow_def *const workflows[] = {&wf_runner, NULL};
static const struct ttai_activity_def *const activities[] = {&a_flaky, &a_bad, &a_hangs, &a_spins,
                                                             &a_records, NULL};
static const struct ttai_registry registry = {workflows, activities};

/* ---- Helpers ---------------------------------------------------------------------- */

static void start(struct ttai_testenv *env, const char *id, const char *json)
{
    struct ttai_buf in;
    ttai_buf_init(&in);
    ASSERT_OK(ttai_payload_from_json(json, strlen(json), &in, &err), &err);
    ASSERT_OK(ttai_engine_start(ttai_testenv_engine(env), "default", "runner", id,
                                ttai_buf_payload(&in), NULL, NULL, &err), &err);
    ttai_buf_release(&in);
}

/* The workflow's result as JSON, or NULL while it runs. */
static char *result(struct ttai_testenv *env, const char *id)
{
    struct ttai_buf out;
    ttai_buf_init(&out);
    int rc = ttai_engine_result(ttai_testenv_engine(env), "default", id, &out, &err);
    char *json = rc == 0 ? ttai_payload_to_json(ttai_buf_payload(&out)) : NULL;
    ttai_buf_release(&out);
    ASSERT(rc == 0 || rc == TTAI_EBUSY);
    return json;
}

static void expect_result(struct ttai_testenv *env, const char *id, const char *want)
{
    char *got = result(env, id);
    if (got == NULL || strstr(got, want) == NULL) {
        fprintf(stderr, "FAIL: %s result %s lacks %s\n", id, got ? got : "(running)", want);
        exit(1);
    }
    ttai_free(got);
}

static void expect_running(struct ttai_testenv *env, const char *id)
{
    char *got = result(env, id);
    if (got != NULL) {
        fprintf(stderr, "FAIL: %s finished too early: %s\n", id, got);
        exit(1);
    }
}

/* ---- Tests ---------------------------------------------------------------------- */

/* The one pending activity of a workflow, as describe shows it. */
static struct ttai_pending_activity *pending_one(struct ttai_testenv *env, const char *id)
{
    struct ttai_pending_activity *list;
    size_t n;
    ASSERT_OK(ttai_engine_pending_activities(ttai_testenv_engine(env), "default", id, &list, &n,
                                             &err), &err);
    ASSERT_EQ(n, 1);
    return list;
}

static void test_retry_policy(struct ttai_testenv *env)
{
    /* Attempts at 0 s, 1 s (initial interval) and 3 s (x2 backoff). */
    int64_t t0 = ttai_testenv_now(env);
    start(env, "flaky", "{\"activity\": \"flaky\"}");
    ASSERT_OK(ttai_testenv_settle(env), &err);
    /* Backing off after attempt 1: describe shows attempt 2, the failure
     * and when it runs. */
    struct ttai_pending_activity *p = pending_one(env, "flaky");
    ASSERT(strcmp(p->state, "backing_off") == 0);
    ASSERT(strcmp(p->type, "flaky") == 0);
    ASSERT_EQ(p->attempt, 2);
    ASSERT_EQ(p->next_attempt_ms, t0 + 1000);
    ASSERT(strcmp(p->last_failure_type, "Flaky") == 0);
    ASSERT(strcmp(p->last_failure_message, "attempt 1") == 0);
    ttai_pending_activities_free(p, 1);
    ASSERT_OK(ttai_testenv_advance(env, 2500), &err);
    expect_running(env, "flaky");
    p = pending_one(env, "flaky");
    ASSERT_EQ(p->attempt, 3);
    ASSERT_EQ(p->next_attempt_ms, t0 + 3000);
    ASSERT(strcmp(p->last_failure_message, "attempt 2") == 0);
    ttai_pending_activities_free(p, 1);
    ASSERT_OK(ttai_testenv_advance(env, 1000), &err);
    expect_result(env, "flaky", "\"attempts\":3");
    expect_result(env, "flaky", "\"value\":3");
}

static void test_non_retryable(struct ttai_testenv *env)
{
    start(env, "bad", "{\"activity\": \"bad_request\"}");
    ASSERT_OK(ttai_testenv_settle(env), &err);
    expect_result(env, "bad", "\"attempts\":1");
    expect_result(env, "bad", "\"error_type\":\"BadRequest\"");
    start(env, "limited", "{\"activity\": \"flaky\", \"max_attempts\": 2}");
    ASSERT_OK(ttai_testenv_advance(env, 5000), &err);
    expect_result(env, "limited", "\"attempts\":2");
    expect_result(env, "limited", "\"rc\":\"EIO\"");
}

static void test_heartbeat_timeout(struct ttai_testenv *env)
{
    int64_t t0 = ttai_testenv_now(env);
    start(env, "hb", "{\"activity\": \"hangs_once\", \"heartbeat_ms\": 5000}");
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_testenv_advance(env, 4000), &err);
    expect_running(env, "hb");
    /* Running attempt 1: its heartbeat time and details. */
    struct ttai_pending_activity *p = pending_one(env, "hb");
    ASSERT(strcmp(p->state, "started") == 0);
    ASSERT_EQ(p->attempt, 1);
    ASSERT_EQ(p->last_heartbeat_ms, t0);
    char *details = ttai_payload_to_json((struct ttai_payload){p->heartbeat_details,
                                                               p->heartbeat_details_len});
    ASSERT(details != NULL && strcmp(details, "\"step-3\"") == 0);
    ttai_free(details);
    ttai_pending_activities_free(p, 1);
    /* The heartbeat timeout passes: attempt 1 is given up, attempt 2 runs
     * a second later with the details attempt 1 sent. */
    ASSERT_OK(ttai_testenv_advance(env, 3000), &err);
    expect_result(env, "hb", "\"attempts\":2");
    expect_result(env, "hb", "\"value\":\"step-3\"");
    atomic_store(&release_hung, true);
}

static void test_start_to_close(struct ttai_testenv *env)
{
    atomic_store(&release_hung, false);
    start(env, "s2c", "{\"activity\": \"hangs_once\", \"start_to_close_ms\": 10000, "
                      "\"max_attempts\": 1}");
    ASSERT_OK(ttai_testenv_settle(env), &err);
    ASSERT_OK(ttai_testenv_advance(env, 11000), &err);
    expect_result(env, "s2c", "\"rc\":\"ETIMEDOUT\"");
    expect_result(env, "s2c", "\"error_type\":\"StartToClose\"");
    atomic_store(&release_hung, true);
}

static void test_cancel_heartbeating(struct ttai_testenv *env)
{
    start(env, "spin", "{\"activity\": \"spins\", \"heartbeat_ms\": 60000}");
    ASSERT_OK(ttai_testenv_settle(env), &err);
    expect_running(env, "spin");
    ASSERT_OK(ttai_engine_signal(ttai_testenv_engine(env), "default", "spin", NULL, "cancel",
                                 (struct ttai_payload){0}, &err), &err);
    ASSERT_OK(ttai_testenv_advance(env, 200), &err);
    char *done = NULL;
    for (int i = 0; i < 200 && (done = result(env, "spin")) == NULL; i++)
        ASSERT_OK(ttai_testenv_advance(env, 100), &err);
    ttai_free(done);
    ASSERT(atomic_load(&spinner_saw_cancel));
    expect_result(env, "spin", "\"rc\":\"ECANCELED\"");
}

/* A process killed while an attempt runs: after restart exactly one more
 * attempt runs, with the same idempotency key. */
static void test_crash_during_attempt(void)
{
    char crash_dir[600];
    snprintf(crash_dir, sizeof(crash_dir), "%s/crash", dir);
    snprintf(marker_path, sizeof(marker_path), "%s/attempts.txt", dir);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        setenv("TTAI_TEST_CHILD", "1", 1);
        struct ttai_testenv *env;
        if (ttai_testenv_open(&env, crash_dir, &registry, 1763900000000LL, &err) != 0)
            _exit(3);
        start(env, "crash", "{\"activity\": \"records_attempts\"}");
        if (ttai_testenv_settle(env) != 0) /* blocks in the activity: killed there */
            _exit(4);
        for (;;)
            nap_ms(10);
    }
    /* Wait until attempt 1 has recorded itself (its whole line: the file
     * exists as soon as fopen creates it, before the line is written),
     * then kill the process. */
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(marker_path, "r");
        char first[256] = "";
        bool recorded = f != NULL && fgets(first, sizeof(first), f) != NULL &&
                        strchr(first, '\n') != NULL;
        if (f != NULL)
            fclose(f);
        if (recorded)
            break;
        nap_ms(10);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ASSERT(WIFSIGNALED(status));
    struct ttai_testenv *env;
    ASSERT_OK(ttai_testenv_open(&env, crash_dir, &registry, 1763900000000LL, &err), &err);
    ASSERT_OK(ttai_testenv_settle(env), &err);
    expect_result(env, "crash", "\"value\":2");
    ttai_testenv_close(env);
    FILE *f = fopen(marker_path, "r");
    ASSERT(f != NULL);
    char line[2][256];
    int lines = 0;
    while (lines < 2 && fgets(line[lines], sizeof(line[0]), f) != NULL)
        lines++;
    char extra[256];
    ASSERT(fgets(extra, sizeof(extra), f) == NULL); /* no third attempt */
    fclose(f);
    ASSERT_EQ(lines, 2);
    ASSERT(strncmp(line[0], "attempt 1 crash/", 16) == 0);
    ASSERT(strncmp(line[1], "attempt 2 crash/", 16) == 0);
    ASSERT(strcmp(line[0] + 10, line[1] + 10) == 0); /* the same idempotency key */
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/ttai-activities-XXXXXX", base);
    ASSERT(mkdtemp(dir) != NULL);
    char data[600];
    snprintf(data, sizeof(data), "%s/data", dir);
    struct ttai_testenv *env;
    ASSERT_OK(ttai_testenv_open(&env, data, &registry, 1763900000000LL, &err), &err);
    test_retry_policy(env);
    test_non_retryable(env);
    test_heartbeat_timeout(env);
    test_start_to_close(env);
    test_cancel_heartbeating(env);
    ttai_testenv_close(env);
    test_crash_during_attempt();
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT(system(cmd) == 0);
    printf("ok activities\n");
    return 0;
}
