/* bench_runtime.c: `ttai-bench runtime`, the workflow runtime's figures:
 *
 *   (a) replay speed: a 10,000-event history replayed offline (ttai_replay:
 *       open the store read-only, read, decode, re-run the code), events/s,
 *       median of several passes;
 *   (b) resident memory per cached idle workflow: N counters started and left
 *       waiting, anonymous resident memory (RssAnon) before and after / N;
 *   (c) the time to resume N open idle workflows after a restart: closing the
 *       engine and opening it again (recovery scans every run, re-arms
 *       timers, re-dispatches activities) until it is ready for work;
 *   (d) a week of a 10-second monitor loop on the test environment's virtual
 *       clock (60,480 ticks, a continue-as-new every 300), in real seconds:
 *       the cost of one timer-driven workflow task end to end.
 *
 * The data directory defaults to /dev/shm when it exists: these figures are
 * about the runtime's CPU and memory, not about fsync (ttai-bench journal
 * measures durability costs).
 */
#include "bench_runtime.h"
#include "bench_dir.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workflows.h"

struct runtime_opts {
    const char *data;
    int json;
    long workflows;       /* for (c) */
    long cached;          /* for (b) */
    int passes;           /* for (a) */
};

/* A workflow whose history grows 13 events per iteration: ten markers and a
 * one-millisecond timer (TimerStarted, TimerFired, TaskCompleted). */
static void grower_run(struct ttai_wf *wf, void *state, struct ttai_payload input)
{
    (void)state;
    (void)input;
    for (int i = 0; i < 769; i++) {
        for (int m = 0; m < 10; m++)
            (void)ttai_wf_random(wf);
        ttai_wf_sleep(wf, 1);
    }
}

static int grower_iterations(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                             struct ttai_buf *answer, struct ttai_err *err)
{
    (void)state;
    (void)args;
    (void)err;
    ttai_buf_int(answer, (int64_t)ttai_wf_history_length(wf));
    return 0;
}

static const struct ttai_query_def grower_queries[] = {{"length", grower_iterations}, {NULL, NULL}};
static const struct ttai_workflow_def wf_grower = {"grower", grower_run, 0, NULL, grower_queries};

/* (d): every 10 s one tick, as a monitor waits for a stop signal with a
 * timeout; continues as new every 300 ticks with the count as input. */
struct ticker_state {
    int64_t ticks;
    bool stop;
};

static bool ticker_stop(const void *state, void *arg)
{
    (void)arg;
    return ((const struct ticker_state *)state)->stop;
}

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
            ttai_wf_complete(wf, (struct ttai_payload){0});
        s->ticks++;
    }
    struct ttai_buf next;
    ttai_buf_init(&next);
    ttai_buf_int(&next, s->ticks);
    struct ttai_payload p = ttai_wf_keep(wf, ttai_buf_payload(&next));
    ttai_buf_release(&next);
    ttai_wf_continue_as_new(wf, p);
}

static int ticker_ticks(const struct ttai_wf *wf, const void *state, struct ttai_payload args,
                        struct ttai_buf *answer, struct ttai_err *err)
{
    (void)wf;
    (void)args;
    (void)err;
    ttai_buf_int(answer, ((const struct ticker_state *)state)->ticks);
    return 0;
}

static const struct ttai_query_def ticker_queries[] = {{"ticks", ticker_ticks}, {NULL, NULL}};
static const struct ttai_workflow_def wf_ticker = {"ticker", ticker_run,
                                                   sizeof(struct ticker_state), NULL,
                                                   ticker_queries};
static const struct ttai_workflow_def *const bench_workflows[] = {&wf_grower, &wf_counter,
                                                                  &wf_ticker, NULL};
static const struct ttai_registry bench_registry = {bench_workflows, NULL};

static long rss_anon_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what, const struct ttai_err *err)
{
    fprintf(stderr, "ttai-bench runtime: %s: %s\n", what, err->msg);
    return 1;
}

static void runtime_usage(FILE *out)
{
    fprintf(out,
            "usage: ttai-bench runtime [--data DIR] [--workflows N] [--cached N] [--passes N]\n"
            "                          [--output table|json]\n"
            "\n"
            "Measures the workflow runtime: (a) replay speed of a 10,000-event history,\n"
            "(b) resident memory per cached idle workflow, (c) the time to resume N open\n"
            "idle workflows after a restart, (d) the real time of a week of a 10 s loop\n"
            "on the virtual clock.\n"
            "\n"
            "  --data DIR      where to make the temporary directory, removed afterwards\n"
            "                  (default: /dev/shm, or /tmp)\n"
            "  --workflows N   open idle workflows for (c) (default 100000)\n"
            "  --cached N      idle workflows held in the cache for (b) (default 10000)\n"
            "  --passes N      replay passes for (a), the median is reported (default 9)\n"
            "  --output FMT    table (default) or json\n");
}

static int runtime_parse(int argc, char **argv, struct runtime_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},      {"workflows", required_argument, NULL, 'w'},
        {"passes", required_argument, NULL, 'p'},    {"output", required_argument, NULL, 'o'},
        {"cached", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    o->workflows = 100000;
    o->cached = 10000;
    o->passes = 9;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'w': o->workflows = strtol(optarg, NULL, 10); break;
        case 'c': o->cached = strtol(optarg, NULL, 10); break;
        case 'p': o->passes = atoi(optarg); break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                fprintf(stderr, "ttai-bench runtime: --output must be table or json\n");
                return 2;
            }
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 'h': runtime_usage(stdout); return 1;
        default: runtime_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ttai-bench runtime: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->workflows < 1 || o->passes < 1 || o->cached < 1) {
        fprintf(stderr, "ttai-bench runtime: --workflows and --passes must be positive\n");
        return 2;
    }
    return 0;
}

/* (a) */
static int measure_replay(const char *dir, int passes, double *events_per_s, uint64_t *events)
{
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, dir, &bench_registry, 1763900000000LL, &err) != 0)
        return fail("open", &err);
    if (ttai_engine_start(ttai_testenv_engine(env), "bench", "grower", "grower-1",
                          (struct ttai_payload){0}, NULL, NULL, &err) != 0)
        return fail("start", &err);
    if (ttai_testenv_advance(env, 10000) != 0)
        return fail("advance", &err);
    struct ttai_run_info info;
    if (ttai_engine_describe(ttai_testenv_engine(env), "bench", "grower-1", NULL, &info, &err) != 0)
        return fail("describe", &err);
    ttai_testenv_close(env);
    *events = info.history_length;
    double *rates = calloc((size_t)passes, sizeof(double));
    for (int p = 0; p < passes; p++) {
        int64_t t0 = ttai_mono_ns();
        if (ttai_replay(dir, &bench_registry, "bench", "grower-1", NULL, 0, NULL,
                        (struct ttai_payload){0}, NULL, &err) != 0) {
            free(rates);
            return fail("replay", &err);
        }
        rates[p] = (double)*events / ((double)(ttai_mono_ns() - t0) / 1e9);
    }
    qsort(rates, (size_t)passes, sizeof(double), cmp_double);
    *events_per_s = rates[passes / 2];
    free(rates);
    return 0;
}

/* Starts n idle counters; with a cache of cache_max. */
static int start_idle(struct ttai_testenv *env, const char *prefix, long n, struct ttai_err *err)
{
    struct ttai_buf in;
    ttai_buf_init(&in);
    ttai_buf_map(&in, 1);
    ttai_buf_str(&in, "every");
    ttai_buf_int(&in, 1000);
    int rc = 0;
    for (long i = 0; rc == 0 && i < n; i++) {
        char id[48];
        snprintf(id, sizeof(id), "%s-%ld", prefix, i);
        rc = ttai_engine_start(ttai_testenv_engine(env), "bench", "counter", id,
                               ttai_buf_payload(&in), NULL, NULL, err);
        if (rc == 0 && i % 256 == 255)
            rc = ttai_testenv_settle(env);
    }
    ttai_buf_release(&in);
    return rc == 0 ? ttai_testenv_settle(env) : rc;
}

/* (b) */
static int measure_memory(const char *dir, long n, double *bytes_per_wf)
{
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, dir, &bench_registry, 1763900000000LL, &err) != 0)
        return fail("open", &err);
    if (ttai_testenv_redeploy(env, NULL, (size_t)n + 16, &err) != 0)
        return fail("redeploy", &err);
    long before = rss_anon_kib();
    if (start_idle(env, "mem", n, &err) != 0)
        return fail("start", &err);
    long after = rss_anon_kib();
    struct ttai_engine_stats st;
    ttai_engine_stats_get(ttai_testenv_engine(env), &st);
    ttai_testenv_close(env);
    if (st.cached < (size_t)n) {
        fprintf(stderr, "ttai-bench runtime: only %zu of %ld workflows stayed cached\n",
                st.cached, n);
        return 1;
    }
    *bytes_per_wf = (double)(after - before) * 1024.0 / (double)st.cached;
    return 0;
}

/* (c) */
static int measure_resume(const char *dir, long n, double *resume_s, double *setup_s)
{
    struct ttai_err err;
    struct ttai_testenv *env;
    int64_t t0 = ttai_mono_ns();
    if (ttai_testenv_open(&env, dir, &bench_registry, 1763900000000LL, &err) != 0)
        return fail("open", &err);
    if (start_idle(env, "idle", n, &err) != 0)
        return fail("start", &err);
    *setup_s = (double)(ttai_mono_ns() - t0) / 1e9;
    ttai_testenv_close(env);
    /* Resume: open (recovery) until the engine has nothing left to do. */
    int64_t t1 = ttai_mono_ns();
    if (ttai_testenv_open(&env, dir, &bench_registry, 1763900000000LL, &err) != 0 ||
        ttai_testenv_settle(env) != 0)
        return fail("restart", &err);
    *resume_s = (double)(ttai_mono_ns() - t1) / 1e9;
    /* Prove they are live: the first and the last answer a signal and a query. */
    int rc = 0;
    for (long i = 0; rc == 0 && i < n; i += n - 1 > 0 ? n - 1 : 1) {
        char id[48];
        snprintf(id, sizeof(id), "idle-%ld", i);
        struct ttai_buf b;
        ttai_buf_init(&b);
        ttai_buf_int(&b, 7);
        rc = ttai_engine_signal(ttai_testenv_engine(env), "bench", id, NULL, "add",
                                ttai_buf_payload(&b), &err);
        if (rc == 0)
            rc = ttai_testenv_settle(env);
        ttai_buf_reset(&b);
        if (rc == 0)
            rc = ttai_engine_query(ttai_testenv_engine(env), "bench", id, NULL, "value",
                                   (struct ttai_payload){0}, &b, &err);
        char *json = rc == 0 ? ttai_payload_to_json(ttai_buf_payload(&b)) : NULL;
        if (rc == 0 && (json == NULL || strcmp(json, "7") != 0))
            rc = ttai_errf(&err, TTAI_EIO, "%s answered %s, not 7", id, json ? json : "nothing");
        ttai_free(json);
        ttai_buf_release(&b);
    }
    ttai_testenv_close(env);
    return rc == 0 ? 0 : fail("signal and query after restart", &err);
}

/* (d) */
static int measure_week(const char *dir, double *week_s)
{
    struct ttai_err err;
    struct ttai_testenv *env;
    if (ttai_testenv_open(&env, dir, &bench_registry, 1763900000000LL, &err) != 0)
        return fail("open", &err);
    struct ttai_engine *eng = ttai_testenv_engine(env);
    struct ttai_buf b;
    ttai_buf_init(&b);
    ttai_buf_int(&b, 0);
    int rc = ttai_engine_start(eng, "bench", "ticker", "week", ttai_buf_payload(&b), NULL, NULL,
                               &err);
    if (rc == 0)
        rc = ttai_testenv_settle(env);
    int64_t t0 = ttai_mono_ns();
    if (rc == 0)
        rc = ttai_testenv_advance(env, 7LL * 24 * 3600 * 1000);
    *week_s = (double)(ttai_mono_ns() - t0) / 1e9;
    ttai_buf_reset(&b);
    if (rc == 0)
        rc = ttai_engine_query(eng, "bench", "week", NULL, "ticks", (struct ttai_payload){0}, &b,
                               &err);
    char *json = rc == 0 ? ttai_payload_to_json(ttai_buf_payload(&b)) : NULL;
    if (rc == 0 && (json == NULL || strcmp(json, "60480") != 0))
        rc = ttai_errf(&err, TTAI_EIO, "a week ticked %s times, not 60480", json ? json : "no");
    ttai_free(json);
    ttai_buf_release(&b);
    ttai_testenv_close(env);
    return rc == 0 ? 0 : fail("a week of ticks", &err);
}

int bench_runtime_main(int argc, char **argv)
{
    struct runtime_opts o = {0};
    int rc = runtime_parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    /* Replay and memory are CPU figures: RAM (/dev/shm) by default. */
    char base[PATH_MAX], dir_a[PATH_MAX + 16], dir_b[PATH_MAX + 16];
    const char *parent = o.data != NULL ? o.data : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    if (!bench_dir_make(parent, "ttai-bench-runtime", base, sizeof(base))) {
        fprintf(stderr, "ttai-bench runtime: cannot make a directory in '%s': %s\n", parent,
                strerror(errno));
        return 1;
    }
    snprintf(dir_a, sizeof(dir_a), "%s/replay", base);
    snprintf(dir_b, sizeof(dir_b), "%s/idle", base);
    double replay_eps = 0, per_wf = 0, resume_s = 0, setup_s = 0;
    uint64_t events = 0;
    rc = measure_replay(dir_a, o.passes, &replay_eps, &events);
    char dir_c[PATH_MAX + 16];
    snprintf(dir_c, sizeof(dir_c), "%s/resume", base);
    if (rc == 0)
        rc = measure_memory(dir_b, o.cached, &per_wf);
    if (rc == 0)
        rc = measure_resume(dir_c, o.workflows, &resume_s, &setup_s);
    char dir_d[PATH_MAX + 16];
    snprintf(dir_d, sizeof(dir_d), "%s/week", base);
    double week_s = 0;
    if (rc == 0)
        rc = measure_week(dir_d, &week_s);
    bench_dir_remove(base);
    if (rc != 0)
        return rc;
    if (o.json) {
        printf("{\"replay_events_per_s\": %.0f, \"replay_history_events\": %llu, "
               "\"idle_workflow_bytes\": %.0f, \"resume_workflows\": %ld, \"resume_s\": %.3f, "
               "\"week_of_ticks_s\": %.3f}\n",
               replay_eps, (unsigned long long)events, per_wf, o.workflows, resume_s, week_s);
        return 0;
    }
    printf("ttai-bench runtime (data under %s)\n", base);
    printf("  %-46s %14.0f events/s  (%llu-event history, median of %d)\n",
           "(a) replay", replay_eps, (unsigned long long)events, o.passes);
    printf("  %-46s %14.0f bytes     (RssAnon over %ld workflows)\n",
           "(b) resident memory per cached idle workflow", per_wf, o.cached);
    printf("  %-46s %14.3f s         (%ld workflows; setup took %.1f s)\n",
           "(c) resume after restart", resume_s, o.workflows, setup_s);
    printf("  %-46s %14.3f s         (60,480 virtual 10 s ticks)\n",
           "(d) a week of a 10 s monitor loop", week_s);
    return 0;
}
